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
        obj["metadata"]["uid"] = json!(format!("uid-{}", self.rv));
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
        self.state.lock().expect("state lock")
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

/// (apiVersion, kind) for a resource.
fn kind_of(resource: &str) -> Option<(&'static str, &'static str)> {
    Some(match resource {
        "secrets" => ("v1", "Secret"),
        "serviceaccounts" => ("v1", "ServiceAccount"),
        "nodes" => ("v1", "Node"),
        "rolebindings" => ("rbac.authorization.k8s.io/v1", "RoleBinding"),
        _ => return None,
    })
}

async fn handle(
    req: Request<Incoming>,
    state: &Mutex<State>,
    token: &str,
) -> Response<Full<Bytes>> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let dry_run = query.split('&').any(|kv| kv == "dryRun=All");
    let authorized = req
        .headers()
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| h == format!("Bearer {token}"));
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let mut st = state.lock().expect("state lock");
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
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    // /api/v1/namespaces/NS[/RES[/NAME]], /apis/rbac.authorization.k8s.io/v1/namespaces/NS/rolebindings[/NAME], /api/v1/nodes[/NAME]
    let (ns, resource, name): (String, String, Option<String>) = match segs.as_slice() {
        ["api", "v1", "namespaces", ns] => {
            return if st.namespaces.contains(*ns) {
                respond(
                    200,
                    &json!({"apiVersion":"v1","kind":"Namespace","metadata":{"name":ns}}),
                )
            } else {
                status(
                    404,
                    "NotFound",
                    format!("namespaces \"{ns}\" not found"),
                    json!({"name":ns,"kind":"namespaces"}),
                )
            };
        }
        ["api", "v1", "namespaces", ns, res]
        | [
            "apis",
            "rbac.authorization.k8s.io",
            "v1",
            "namespaces",
            ns,
            res,
        ] => (ns.to_string(), res.to_string(), None),
        ["api", "v1", "namespaces", ns, res, name]
        | [
            "apis",
            "rbac.authorization.k8s.io",
            "v1",
            "namespaces",
            ns,
            res,
            name,
        ] => (ns.to_string(), res.to_string(), Some(name.to_string())),
        ["api", "v1", "nodes"] => (String::new(), "nodes".into(), None),
        ["api", "v1", "nodes", name] => (String::new(), "nodes".into(), Some(name.to_string())),
        _ => {
            return status(
                404,
                "NotFound",
                format!("the server could not find the requested resource ({path})"),
                json!({}),
            );
        }
    };
    let Some((api_version, kind)) = kind_of(&resource) else {
        return status(
            404,
            "NotFound",
            "the server could not find the requested resource".into(),
            json!({}),
        );
    };
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
                "{resource} is forbidden: User \"system:serviceaccount:test:limited\" cannot {verb} resource \"{resource}\" in API group \"\" in the namespace \"{ns}\""
            ),
            json!({"kind":resource}),
        );
    }
    let key = |n: &str| (resource.clone(), ns.clone(), n.to_string());
    let not_found = |n: &str| {
        status(
            404,
            "NotFound",
            format!("{resource} \"{n}\" not found"),
            json!({"name":n,"kind":resource}),
        )
    };
    match (&method, &name) {
        (&Method::GET, None) => {
            let items: Vec<Value> = st
                .objects
                .iter()
                .filter(|((r, n, _), _)| *r == resource && *n == ns)
                .map(|(_, v)| v.clone())
                .collect();
            respond(
                200,
                &json!({"apiVersion":api_version,"kind":format!("{kind}List"),
                "metadata":{"resourceVersion":st.rv.to_string()},"items":items}),
            )
        }
        (&Method::GET, Some(n)) => match st.objects.get(&key(n)) {
            Some(v) => respond(200, v),
            None => not_found(n),
        },
        (&Method::POST, None) => {
            if !ns.is_empty() && !st.namespaces.contains(&ns) {
                return status(
                    404,
                    "NotFound",
                    format!("namespaces \"{ns}\" not found"),
                    json!({"name":ns,"kind":"namespaces"}),
                );
            }
            let Ok(mut obj) = serde_json::from_slice::<Value>(&body) else {
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
            if let Err(msg) = normalize_and_validate(&resource, &mut obj, None) {
                return status(
                    422,
                    "Invalid",
                    format!("{kind} \"{n}\" is invalid: {msg}"),
                    json!({"name":n,"kind":resource}),
                );
            }
            obj["apiVersion"] = json!(api_version);
            obj["kind"] = json!(kind);
            obj["metadata"]["creationTimestamp"] = json!("2026-11-23T00:00:00Z");
            if dry_run {
                if !ns.is_empty() {
                    obj["metadata"]["namespace"] = json!(ns);
                }
                return respond(201, &obj);
            }
            st.put(&resource, &ns, obj);
            let stored = st.objects[&key(&n)].clone();
            respond(201, &stored)
        }
        (&Method::PUT, Some(n)) => {
            let Some(current) = st.objects.get(&key(n)).cloned() else {
                return not_found(n);
            };
            let Ok(mut obj) = serde_json::from_slice::<Value>(&body) else {
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
            if let Err(msg) = normalize_and_validate(&resource, &mut obj, Some(&current)) {
                return status(
                    422,
                    "Invalid",
                    format!("{kind} \"{n}\" is invalid: {msg}"),
                    json!({"name":n,"kind":resource}),
                );
            }
            obj["apiVersion"] = json!(api_version);
            obj["kind"] = json!(kind);
            obj["metadata"]["creationTimestamp"] = current["metadata"]["creationTimestamp"].clone();
            if dry_run {
                return respond(200, &obj);
            }
            st.put(&resource, &ns, obj);
            respond(200, &st.objects[&key(n)].clone())
        }
        (&Method::DELETE, Some(n)) => match st.objects.remove(&key(n)) {
            Some(_) => respond(
                200,
                &json!({"kind":"Status","apiVersion":"v1","status":"Success"}),
            ),
            None => not_found(n),
        },
        _ => status(
            405,
            "MethodNotAllowed",
            format!("{method} is not supported here"),
            json!({}),
        ),
    }
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
