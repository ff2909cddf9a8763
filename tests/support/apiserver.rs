//! A test API server speaking the Kubernetes REST protocol over HTTPS, for driving
//! regauth's kube-rs client exactly as a cluster would be reached: bearer-token auth,
//! namespaced secrets, serviceaccounts and rolebindings, cluster-scoped nodes,
//! `resourceVersion` with 409 on conflict, 404/409/422 `Status` bodies, `dryRun=All`,
//! and the apiserver's validation of dockerconfigjson/dockercfg secrets. Faults
//! (conflicts with a concurrent writer, 500s, forbidden resources) are injected per test.

#![allow(dead_code)]

use base64::Engine;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// One request the server saw.
#[derive(Debug, Clone)]
pub struct Seen {
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub uri: String,
    /// Whether it carried dryRun=All.
    pub dry_run: bool,
}

/// Everything the server holds; tests read and change it through `ApiServer::state`.
#[derive(Debug, Default)]
pub struct State {
    /// Objects by (resource, namespace or "", name).
    pub objects: BTreeMap<(String, String, String), Value>,
    /// Namespaces that exist.
    pub namespaces: BTreeSet<String>,
    /// Last resourceVersion handed out.
    pub rv: u64,
    /// Every request, in order.
    pub requests: Vec<Seen>,
    /// The next N updates lose a race: someone else writes first, then we answer 409.
    pub conflicts: usize,
    /// The next N requests fail with 500.
    pub failures: usize,
    /// (resource, namespace) pairs the token may not touch.
    pub forbidden: BTreeSet<(String, String)>,
    /// The simulated Machine Config Operator, once a test installs it (tests/support/mco.rs).
    pub mco: Option<super::mco::Mco>,
}

impl State {
    /// Requests that would change something (not counting dry runs).
    pub fn writes(&self) -> Vec<&Seen> {
        self.requests
            .iter()
            .filter(|r| r.method != "GET" && !r.dry_run)
            .collect()
    }

    /// An object, if present.
    pub fn get(&self, resource: &str, ns: &str, name: &str) -> Option<&Value> {
        self.objects.get(&(resource.into(), ns.into(), name.into()))
    }

    /// Puts an object straight into the store (test set-up), stamping metadata.
    pub fn put(&mut self, resource: &str, ns: &str, mut obj: Value) {
        self.rv += 1;
        let name = obj["metadata"]["name"]
            .as_str()
            .expect("object has a name")
            .to_string();
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        if !ns.is_empty() {
            obj["metadata"]["namespace"] = json!(ns);
        }
        // A replaced object keeps its uid and age, as in a real API server.
        if obj["metadata"]["uid"].as_str().is_none() {
            obj["metadata"]["uid"] = json!(format!("uid-{}", self.rv));
        }
        if obj["metadata"]["creationTimestamp"].as_str().is_none() {
            obj["metadata"]["creationTimestamp"] = json!(started());
        }
        self.objects.insert((resource.into(), ns.into(), name), obj);
    }
}

/// A running test API server; stops when dropped.
pub struct ApiServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The bearer token it accepts.
    pub token: String,
    /// PEM of the CA that signed its certificate.
    pub ca_pem: String,
    state: Arc<Mutex<State>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ApiServer {
    /// Starts a server with the namespaces `openshift`, `openshift-config` and `default`.
    pub fn start() -> ApiServer {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let ca_key = rcgen::KeyPair::generate().expect("ca key");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca params");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "regauth test apiserver CA");
        let ca_cert = ca_params.self_signed(&ca_key).expect("ca cert");
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let key = rcgen::KeyPair::generate().expect("server key");
        let mut params =
            rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("params");
        params
            .subject_alt_names
            .push(rcgen::SanType::IpAddress("127.0.0.1".parse().unwrap()));
        let cert = params.signed_by(&key, &issuer).expect("server cert");
        let tls = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .expect("tls config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));

        let mut st = State::default();
        for ns in ["openshift", "openshift-config", "default"] {
            st.namespaces.insert(ns.into());
        }
        let state = Arc::new(Mutex::new(st));
        let token = format!("test-token-{}", std::process::id());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
        let st2 = state.clone();
        let tok2 = token.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                loop {
                    tokio::select! {
                        _ = &mut stop_rx => break,
                        accepted = listener.accept() => {
                            let Ok((tcp, _)) = accepted else { continue };
                            let acceptor = acceptor.clone();
                            let st = st2.clone();
                            let tok = tok2.clone();
                            tokio::spawn(async move {
                                let Ok(tls) = acceptor.accept(tcp).await else { return };
                                let svc = hyper::service::service_fn(move |req| {
                                    let st = st.clone();
                                    let tok = tok.clone();
                                    async move { Ok::<_, std::convert::Infallible>(handle(req, &st, &tok).await) }
                                });
                                let _ = hyper::server::conn::http1::Builder::new()
                                    .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                                    .await;
                            });
                        }
                    }
                }
            });
        });
        ApiServer {
            addr,
            token,
            ca_pem: ca_cert.pem(),
            state,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// Locks the server's state for reading or changing.
    pub fn state(&self) -> std::sync::MutexGuard<'_, State> {
        let mut st = self.state.lock().expect("state lock");
        super::mco::tick(&mut st);
        st
    }

    /// Writes a kubeconfig for this server into `dir` and returns its path.
    pub fn kubeconfig(&self, dir: &Path, token: &str) -> PathBuf {
        let ca = base64::engine::general_purpose::STANDARD.encode(&self.ca_pem);
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: https://127.0.0.1:{port}\n    certificate-authority-data: {ca}\ncontexts:\n- name: test\n  context:\n    cluster: test\n    user: admin\n    namespace: default\ncurrent-context: test\nusers:\n- name: admin\n  user:\n    token: {token}\n",
            port = self.addr.port()
        );
        let path = dir.join("kubeconfig");
        std::fs::File::create(&path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .expect("write kubeconfig");
        path
    }

    /// Adds a cluster-scoped mirror object: `kind` ImageContentSourcePolicy,
    /// ImageDigestMirrorSet or ImageTagMirrorSet, `spec` as the cluster stores it.
    pub fn put_mirror_object(&self, kind: &str, name: &str, spec: Value) {
        let (resource, api_version) = match kind {
            "ImageContentSourcePolicy" => (
                "imagecontentsourcepolicies",
                "operator.openshift.io/v1alpha1",
            ),
            "ImageDigestMirrorSet" => ("imagedigestmirrorsets", "config.openshift.io/v1"),
            "ImageTagMirrorSet" => ("imagetagmirrorsets", "config.openshift.io/v1"),
            other => panic!("not a mirror kind: {other}"),
        };
        let obj = json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": name}, "spec": spec});
        self.state().put(resource, "", obj);
    }

    /// Adds a namespace and a Secret in it (`type_` e.g. kubernetes.io/dockerconfigjson,
    /// `data` key to raw bytes, base64-encoded here).
    pub fn put_secret(&self, ns: &str, name: &str, type_: &str, data: &[(&str, &[u8])]) {
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut d = serde_json::Map::new();
        for (k, v) in data {
            d.insert(k.to_string(), json!(b64.encode(v)));
        }
        let mut st = self.state();
        st.namespaces.insert(ns.to_string());
        st.put(
            "secrets",
            ns,
            json!({"apiVersion":"v1","kind":"Secret","metadata":{"name":name},"type":type_,"data":d}),
        );
    }

    /// Adds a Node with the given Ready status.
    pub fn set_node_ready(&self, name: &str, ready: bool) {
        let mut st = self.state();
        let node = json!({"apiVersion":"v1","kind":"Node","metadata":{"name":name},
            "status":{"conditions":[{"type":"Ready","status": if ready {"True"} else {"False"}}]}});
        st.put("nodes", "", node);
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn status(code: u16, reason: &str, message: String, details: Value) -> Response<Full<Bytes>> {
    let body = json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
        "message":message,"reason":reason,"details":details,"code":code});
    respond(code, &body)
}

fn respond(code: u16, body: &Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(StatusCode::from_u16(code).expect("status"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("response")
}

/// One kind of object the server holds: where it lives in the REST tree and how
/// discovery lists it. Routing, discovery, OpenAPI and kubectl's tables all read
/// [`RESOURCES`], so a kind added there is served everywhere.
#[derive(Debug, Clone, Copy)]
pub struct Resource {
    /// API group; "" is the core group under `/api`.
    pub group: &'static str,
    /// API version within the group.
    pub version: &'static str,
    /// The path segment, also the first part of a key in [`State::objects`].
    pub plural: &'static str,
    /// The object kind (`Secret`).
    pub kind: &'static str,
    /// Whether objects live in a namespace.
    pub namespaced: bool,
    /// kubectl's short names (`sa`, `no`, `ns`).
    pub short_names: &'static [&'static str],
}

impl Resource {
    /// `v1` or `group/version`, as in an object's `apiVersion`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `/api/v1` or `/apis/group/version`.
    pub fn group_version_path(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        }
    }
}

/// Every kind the server serves.
pub const RESOURCES: &[Resource] = &[
    Resource {
        group: "",
        version: "v1",
        plural: "namespaces",
        kind: "Namespace",
        namespaced: false,
        short_names: &["ns"],
    },
    Resource {
        group: "",
        version: "v1",
        plural: "nodes",
        kind: "Node",
        namespaced: false,
        short_names: &["no"],
    },
    Resource {
        group: "",
        version: "v1",
        plural: "secrets",
        kind: "Secret",
        namespaced: true,
        short_names: &[],
    },
    Resource {
        group: "",
        version: "v1",
        plural: "serviceaccounts",
        kind: "ServiceAccount",
        namespaced: true,
        short_names: &["sa"],
    },
    // Never any here: `kubectl describe node` lists a node's pods and everyone's events.
    Resource {
        group: "",
        version: "v1",
        plural: "pods",
        kind: "Pod",
        namespaced: true,
        short_names: &["po"],
    },
    Resource {
        group: "",
        version: "v1",
        plural: "events",
        kind: "Event",
        namespaced: true,
        short_names: &["ev"],
    },
    Resource {
        group: "rbac.authorization.k8s.io",
        version: "v1",
        plural: "rolebindings",
        kind: "RoleBinding",
        namespaced: true,
        short_names: &[],
    },
    // OpenShift's mirror objects, which CRI-O's registries.conf is rendered from.
    Resource {
        group: "operator.openshift.io",
        version: "v1alpha1",
        plural: "imagecontentsourcepolicies",
        kind: "ImageContentSourcePolicy",
        namespaced: false,
        short_names: &[],
    },
    Resource {
        group: "config.openshift.io",
        version: "v1",
        plural: "imagedigestmirrorsets",
        kind: "ImageDigestMirrorSet",
        namespaced: false,
        short_names: &["idms"],
    },
    Resource {
        group: "config.openshift.io",
        version: "v1",
        plural: "imagetagmirrorsets",
        kind: "ImageTagMirrorSet",
        namespaced: false,
        short_names: &["itms"],
    },
    // Moved by the simulated Machine Config Operator (tests/support/mco.rs).
    Resource {
        group: "machineconfiguration.openshift.io",
        version: "v1",
        plural: "machineconfigpools",
        kind: "MachineConfigPool",
        namespaced: false,
        short_names: &["mcp"],
    },
];

/// (resource, namespace or "" for cluster-scoped objects and all-namespace lists, name)
/// for an object path: `/api/v1/namespaces/NS/RES[/NAME]`, `/apis/G/V/RES[/NAME]`, ...
fn route(path: &str) -> Option<(&'static Resource, String, Option<String>)> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return None,
    };
    let (ns, plural, name) = match rest {
        ["namespaces", ns, plural] => (*ns, *plural, None),
        ["namespaces", ns, plural, name] => (*ns, *plural, Some(name.to_string())),
        [plural] => ("", *plural, None),
        [plural, name] => ("", *plural, Some(name.to_string())),
        _ => return None,
    };
    let res = RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)?;
    // A namespaced object is named inside its namespace; only its list may be
    // cluster-wide (`kubectl get secrets -A`). Cluster-scoped ones are never in one.
    if (ns.is_empty() && res.namespaced && name.is_some()) || (!ns.is_empty() && !res.namespaced) {
        return None;
    }
    Some((res, ns.to_string(), name))
}

/// Whether `obj` passes the list's `fieldSelector` and `labelSelector` (the equality
/// forms kubectl sends: `metadata.name=x`, `app=y,tier!=z`).
fn selected(obj: &Value, query: &str) -> bool {
    query.split('&').all(|kv| {
        let Some((k, v)) = kv.split_once('=') else {
            return true;
        };
        let v = percent_decode(v);
        match k {
            "fieldSelector" => v.split(',').filter(|t| !t.is_empty()).all(|term| {
                let (field, want, eq) = split_term(term);
                let got = match field {
                    "metadata.name" => obj["metadata"]["name"].as_str(),
                    "metadata.namespace" => obj["metadata"]["namespace"].as_str(),
                    "type" => obj["type"].as_str(),
                    _ => return true,
                };
                (got.unwrap_or_default() == want) == eq
            }),
            "labelSelector" => v.split(',').filter(|t| !t.is_empty()).all(|term| {
                let (label, want, eq) = split_term(term);
                (obj["metadata"]["labels"][label].as_str() == Some(want)) == eq
            }),
            _ => true,
        }
    })
}

/// `a=b`, `a==b` or `a!=b` as (a, b, equal?).
fn split_term(term: &str) -> (&str, &str, bool) {
    if let Some((a, b)) = term.split_once("!=") {
        (a, b, false)
    } else if let Some((a, b)) = term.split_once("==") {
        (a, b, true)
    } else {
        let (a, b) = term.split_once('=').unwrap_or((term, ""));
        (a, b, true)
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                Ok(b) => {
                    out.push(b);
                    i += 3;
                    continue;
                }
                Err(_) => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A Namespace object for a name in [`State::namespaces`].
fn namespace_object(name: &str) -> Value {
    json!({"apiVersion":"v1","kind":"Namespace",
        "metadata":{"name":name,"uid":format!("uid-ns-{name}"),"creationTimestamp":started(),
            "labels":{"kubernetes.io/metadata.name":name}},
        "spec":{"finalizers":["kubernetes"]},"status":{"phase":"Active"}})
}

/// When objects put in at set-up (namespaces, nodes) were "created": the first time
/// this process asked, so kubectl shows them as old as the lab.
fn started() -> &'static str {
    static AT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    AT.get_or_init(now)
}

/// Now, as an object's `creationTimestamp`.
fn now() -> String {
    k8s_openapi::jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

async fn handle(
    req: Request<Incoming>,
    state: &Mutex<State>,
    token: &str,
) -> Response<Full<Bytes>> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let mut dry_run = query.split('&').any(|kv| kv == "dryRun=All");
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let authorized = header("authorization") == format!("Bearer {token}");
    // kubectl asks for lists and objects as meta.k8s.io Tables it prints as is.
    // Some(true): with the whole objects in the rows (`includeObject=Object`).
    let as_table = header("accept")
        .contains("as=Table")
        .then(|| query.contains("includeObject=Object"));
    let content_type = header("content-type");
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    // A delete carries its options (dryRun too) in a DeleteOptions body.
    if method == Method::DELETE
        && let Ok(opts) = serde_json::from_slice::<Value>(&body)
    {
        dry_run |= opts["dryRun"]
            .as_array()
            .is_some_and(|a| a.iter().any(|v| v == "All"));
    }
    let mut st = state.lock().expect("state lock");
    super::mco::tick(&mut st);
    st.requests.push(Seen {
        method: method.to_string(),
        uri: format!("{path}?{query}"),
        dry_run,
    });
    if !authorized {
        return status(401, "Unauthorized", "Unauthorized".into(), json!({}));
    }
    if st.failures > 0 {
        st.failures -= 1;
        return status(
            500,
            "InternalError",
            "Internal error occurred: injected".into(),
            json!({}),
        );
    }
    // kubectl's typed generators (`kubectl create namespace X`) send protobuf bodies.
    if content_type.starts_with("application/vnd.kubernetes.protobuf") {
        return status(
            415,
            "UnsupportedMediaType",
            "the test API server reads JSON bodies only: use a manifest (kubectl create -f / apply -f)".into(),
            json!({}),
        );
    }
    if method == Method::GET
        && let Some(doc) = super::discovery::document(&path)
    {
        return respond(200, &doc);
    }
    let Some((res, ns, name)) = route(&path) else {
        return status(
            404,
            "NotFound",
            format!("the server could not find the requested resource ({path})"),
            json!({}),
        );
    };
    let resource = res.plural.to_string();
    let kind = res.kind;
    if st.forbidden.contains(&(resource.clone(), ns.clone())) {
        let verb = match method {
            Method::GET if name.is_none() => "list",
            Method::GET => "get",
            Method::POST => "create",
            Method::PUT => "update",
            Method::PATCH => "patch",
            _ => "delete",
        };
        return status(
            403,
            "Forbidden",
            format!(
                "{resource} is forbidden: User \"system:serviceaccount:test:limited\" cannot {verb} resource \"{resource}\" in API group \"{}\" in the namespace \"{ns}\"",
                res.group
            ),
            json!({"kind":resource}),
        );
    }
    let not_found = |n: &str| {
        status(
            404,
            "NotFound",
            format!("{resource} \"{n}\" not found"),
            json!({"name":n,"kind":resource}),
        )
    };
    // Namespaces live in `State::namespaces`; they are listed, read, created and deleted.
    if resource == "namespaces" {
        return match (&method, &name) {
            (&Method::GET, None) => {
                let items: Vec<Value> = st
                    .namespaces
                    .iter()
                    .map(|n| namespace_object(n))
                    .filter(|o| selected(o, &query))
                    .collect();
                list_response(res, items, st.rv, as_table)
            }
            (&Method::GET | &Method::PATCH, Some(n)) if st.namespaces.contains(n) => {
                one_response(res, namespace_object(n), as_table)
            }
            (&Method::POST, None) => {
                let obj: Value = serde_json::from_slice(&body).unwrap_or_default();
                let Some(n) = obj["metadata"]["name"].as_str() else {
                    return status(
                        422,
                        "Invalid",
                        "Namespace \"\" is invalid: metadata.name: Required value".into(),
                        json!({}),
                    );
                };
                if st.namespaces.contains(n) {
                    return status(
                        409,
                        "AlreadyExists",
                        format!("namespaces \"{n}\" already exists"),
                        json!({"name":n,"kind":"namespaces"}),
                    );
                }
                if !dry_run {
                    st.namespaces.insert(n.to_string());
                }
                respond(201, &namespace_object(n))
            }
            (&Method::DELETE, Some(n)) if st.namespaces.contains(n) => {
                if !dry_run {
                    st.namespaces.remove(n);
                    st.objects.retain(|(_, ns, _), _| ns != n);
                }
                respond(200, &namespace_object(n))
            }
            (_, Some(n)) => not_found(n),
            _ => method_not_allowed(&method),
        };
    }
    if !ns.is_empty() && !st.namespaces.contains(&ns) && method != Method::GET {
        return status(
            404,
            "NotFound",
            format!("namespaces \"{ns}\" not found"),
            json!({"name":ns,"kind":"namespaces"}),
        );
    }
    let key = |n: &str| (resource.clone(), ns.clone(), n.to_string());
    match (&method, &name) {
        (&Method::GET, None) => {
            let items: Vec<Value> = st
                .objects
                .iter()
                .filter(|((r, n, _), _)| *r == resource && (ns.is_empty() || *n == ns))
                .map(|(_, v)| v.clone())
                .filter(|o| selected(o, &query))
                .collect();
            list_response(res, items, st.rv, as_table)
        }
        (&Method::GET, Some(n)) => match st.objects.get(&key(n)) {
            Some(v) => one_response(res, v.clone(), as_table),
            None => not_found(n),
        },
        (&Method::POST, None) => {
            let Ok(obj) = serde_json::from_slice::<Value>(&body) else {
                return status(400, "BadRequest", "body is not JSON".into(), json!({}));
            };
            let Some(n) = obj["metadata"]["name"].as_str().map(String::from) else {
                return status(
                    422,
                    "Invalid",
                    format!(
                        "{kind} \"\" is invalid: metadata.name: Required value: name or generateName is required"
                    ),
                    json!({}),
                );
            };
            if st.objects.contains_key(&key(&n)) {
                return status(
                    409,
                    "AlreadyExists",
                    format!("{resource} \"{n}\" already exists"),
                    json!({"name":n,"kind":resource}),
                );
            }
            store(&mut st, res, &ns, &n, obj, None, &query, 201)
        }
        (&Method::PUT, Some(n)) => {
            let Some(current) = st.objects.get(&key(n)).cloned() else {
                return not_found(n);
            };
            let Ok(obj) = serde_json::from_slice::<Value>(&body) else {
                return status(400, "BadRequest", "body is not JSON".into(), json!({}));
            };
            if st.conflicts > 0 && !dry_run {
                // Someone else wins the race: their change lands, ours gets a 409.
                st.conflicts -= 1;
                let mut theirs = current.clone();
                theirs["metadata"]["labels"]["someone-else"] = json!("was-here");
                st.put(&resource, &ns, theirs);
                return conflict(&resource, n);
            }
            let sent_rv = obj["metadata"]["resourceVersion"]
                .as_str()
                .map(String::from);
            if sent_rv.is_some()
                && sent_rv.as_deref() != current["metadata"]["resourceVersion"].as_str()
            {
                return conflict(&resource, n);
            }
            store(&mut st, res, &ns, n, obj, Some(&current), &query, 200)
        }
        (&Method::PATCH, Some(n)) => {
            let current = st.objects.get(&key(n)).cloned();
            let Ok(patch) = serde_json::from_slice::<Value>(&body) else {
                return status(400, "BadRequest", "patch is not JSON".into(), json!({}));
            };
            let server_side_apply = content_type.starts_with("application/apply-patch");
            let obj = match &current {
                // Server-side apply creates what is missing.
                None if server_side_apply => patch,
                None => return not_found(n),
                Some(cur) => match content_type.split(';').next().unwrap_or_default() {
                    "application/merge-patch+json" => merge_patch(cur.clone(), patch, false),
                    "application/strategic-merge-patch+json" | "application/apply-patch+yaml" => {
                        merge_patch(cur.clone(), patch, true)
                    }
                    other => {
                        return status(
                            415,
                            "UnsupportedMediaType",
                            format!(
                                "the body of the request was in an unknown format - accepted media types include: application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml (got {other:?})"
                            ),
                            json!({}),
                        );
                    }
                },
            };
            let code = if current.is_some() { 200 } else { 201 };
            store(&mut st, res, &ns, n, obj, current.as_ref(), &query, code)
        }
        (&Method::DELETE, Some(n)) => match st.objects.get(&key(n)).cloned() {
            Some(v) => {
                if !dry_run {
                    st.objects.remove(&key(n));
                }
                respond(200, &v)
            }
            None => not_found(n),
        },
        _ => method_not_allowed(&method),
    }
}

fn method_not_allowed(method: &Method) -> Response<Full<Bytes>> {
    status(
        405,
        "MethodNotAllowed",
        format!("{method} is not supported here"),
        json!({}),
    )
}

/// A list, or the Table kubectl asked for.
fn list_response(
    res: &Resource,
    items: Vec<Value>,
    rv: u64,
    as_table: Option<bool>,
) -> Response<Full<Bytes>> {
    if let Some(full) = as_table {
        return respond(200, &super::discovery::table(res, &items, rv, full));
    }
    respond(
        200,
        &json!({"apiVersion":res.api_version(),"kind":format!("{}List", res.kind),
            "metadata":{"resourceVersion":rv.to_string()},"items":items}),
    )
}

/// One object, or a one-row Table.
fn one_response(res: &Resource, obj: Value, as_table: Option<bool>) -> Response<Full<Bytes>> {
    if let Some(full) = as_table {
        let rv = obj["metadata"]["resourceVersion"]
            .as_str()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        return respond(200, &super::discovery::table(res, &[obj], rv, full));
    }
    respond(200, &obj)
}

/// Validates and (unless a dry run) stores a created, replaced or patched object.
#[allow(clippy::too_many_arguments)]
fn store(
    st: &mut State,
    res: &Resource,
    ns: &str,
    name: &str,
    mut obj: Value,
    current: Option<&Value>,
    query: &str,
    code: u16,
) -> Response<Full<Bytes>> {
    let dry_run = query.split('&').any(|kv| kv == "dryRun=All");
    // kubectl's default (`--validate=strict`) once OpenAPI says the server checks.
    if query.split('&').any(|kv| kv == "fieldValidation=Strict")
        && let Some(field) = obj.as_object().and_then(|m| {
            m.keys().find(|k| {
                !["apiVersion", "kind", "metadata"].contains(&k.as_str())
                    && !super::discovery::known_fields(res).contains(&k.as_str())
            })
        })
    {
        return status(
            400,
            "BadRequest",
            format!(
                "{kind} in version \"{v}\" cannot be handled as a {kind}: strict decoding error: unknown field \"{field}\"",
                kind = res.kind,
                v = res.version
            ),
            json!({}),
        );
    }
    if obj["metadata"]["name"].as_str().is_some_and(|n| n != name) {
        return status(
            400,
            "BadRequest",
            "the name of the object does not match the name on the URL".into(),
            json!({}),
        );
    }
    obj["metadata"]["name"] = json!(name);
    if let Err(msg) = normalize_and_validate(res.plural, &mut obj, current) {
        return status(
            422,
            "Invalid",
            format!("{} \"{name}\" is invalid: {msg}", res.kind),
            json!({"name":name,"kind":res.plural}),
        );
    }
    obj["apiVersion"] = json!(res.api_version());
    obj["kind"] = json!(res.kind);
    obj["metadata"]["creationTimestamp"] = match current {
        Some(cur) => cur["metadata"]["creationTimestamp"].clone(),
        None => json!(now()),
    };
    if let Some(uid) = current.map(|c| c["metadata"]["uid"].clone()) {
        obj["metadata"]["uid"] = uid;
    }
    if dry_run {
        if !ns.is_empty() {
            obj["metadata"]["namespace"] = json!(ns);
        }
        return respond(code, &obj);
    }
    st.put(res.plural, ns, obj);
    super::mco::on_write(st, res.plural, ns, name);
    let stored = st.objects[&(res.plural.to_string(), ns.to_string(), name.to_string())].clone();
    respond(code, &stored)
}

/// RFC 7386 merge patch. `strategic`: also what kubectl's strategic merge patches of
/// these kinds need: `$`-directives dropped, lists of named items (a ServiceAccount's
/// `secrets`, `imagePullSecrets`) merged by name instead of replaced.
fn merge_patch(mut target: Value, patch: Value, strategic: bool) -> Value {
    let Value::Object(p) = patch else {
        return patch;
    };
    if !target.is_object() {
        target = json!({});
    }
    let t = target.as_object_mut().expect("object");
    for (k, v) in p {
        if strategic && k.starts_with('$') {
            continue;
        }
        if v.is_null() {
            t.remove(&k);
        } else if strategic
            && matches!(k.as_str(), "secrets" | "imagePullSecrets")
            && let (Some(Value::Array(cur)), Value::Array(new)) = (t.get(&k), &v)
        {
            let mut merged = cur.clone();
            for item in new {
                match merged.iter_mut().find(|c| c["name"] == item["name"]) {
                    Some(c) => *c = merge_patch(c.clone(), item.clone(), true),
                    None => merged.push(item.clone()),
                }
            }
            t.insert(k, Value::Array(merged));
        } else {
            let cur = t.remove(&k).unwrap_or(Value::Null);
            t.insert(k, merge_patch(cur, v, strategic));
        }
    }
    target
}

fn conflict(resource: &str, n: &str) -> Response<Full<Bytes>> {
    status(
        409,
        "Conflict",
        format!(
            "Operation cannot be fulfilled on {resource} \"{n}\": the object has been modified; please apply your changes to the latest version and try again"
        ),
        json!({"name":n,"kind":resource}),
    )
}

/// stringData merged into data, then the apiserver's secret validation.
fn normalize_and_validate(
    resource: &str,
    obj: &mut Value,
    current: Option<&Value>,
) -> Result<(), String> {
    if resource != "secrets" {
        return Ok(());
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    if let Some(sd) = obj.get("stringData").and_then(Value::as_object).cloned() {
        for (k, v) in sd {
            obj["data"][k] = json!(b64.encode(v.as_str().unwrap_or_default()));
        }
        obj.as_object_mut().expect("object").remove("stringData");
    }
    let type_ = obj["type"].as_str().unwrap_or("Opaque").to_string();
    if let Some(cur) = current {
        let old = cur["type"].as_str().unwrap_or("Opaque");
        if old != type_ {
            return Err("type: Invalid value: field is immutable".into());
        }
    }
    let key = match type_.as_str() {
        "kubernetes.io/dockerconfigjson" => ".dockerconfigjson",
        "kubernetes.io/dockercfg" => ".dockercfg",
        _ => return Ok(()),
    };
    let Some(raw) = obj["data"][key].as_str() else {
        return Err(format!("data[{key}]: Required value"));
    };
    let bytes = b64
        .decode(raw)
        .map_err(|_| format!("data[{key}]: Invalid value: not base64"))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m))
            if key == ".dockerconfigjson" && !m.get("auths").is_some_and(Value::is_object) =>
        {
            Err(format!(
                "data[{key}]: Invalid value: \"<secret contents redacted>\": missing auths map"
            ))
        }
        Ok(Value::Object(_)) => Ok(()),
        _ => Err(format!(
            "data[{key}]: Invalid value: \"<secret contents redacted>\": invalid character looking for beginning of value"
        )),
    }
}
