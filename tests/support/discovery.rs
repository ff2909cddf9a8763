//! What kubectl reads to understand the test API server, all derived from
//! [`RESOURCES`] so that every kind the server holds is found by kubectl: `/version`,
//! the legacy discovery documents (`/api`, `/apis`, one resource list per group
//! version; kubectl 1.32 falls back to them when the server does not answer with the
//! aggregated form), the OpenAPI v3 documents kubectl reads before `create` and
//! `apply` to learn that the server checks fields itself (`fieldValidation` on each
//! kind's PATCH), and the `meta.k8s.io` Tables `kubectl get` prints.

use super::apiserver::{RESOURCES, Resource};
use serde_json::{Value, json};

/// The Kubernetes version the server answers to `/version`: the protocol it speaks.
pub const VERSION: (&str, &str) = ("1", "32");

/// The discovery or OpenAPI document at `path`, if it is one.
pub fn document(path: &str) -> Option<Value> {
    let path = path.trim_end_matches('/');
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    Some(match segs.as_slice() {
        ["version"] => json!({
            "major": VERSION.0, "minor": VERSION.1,
            "gitVersion": format!("v{}.{}.0", VERSION.0, VERSION.1),
            "gitCommit": "regauth-test-apiserver", "gitTreeState": "clean",
            "buildDate": "2026-11-23T00:00:00Z", "goVersion": "go1.23",
            "compiler": "gc", "platform": "linux/amd64"}),
        ["api"] => json!({"kind":"APIVersions","versions":["v1"],
            "serverAddressByClientCIDRs":[]}),
        ["apis"] => json!({"kind":"APIGroupList","apiVersion":"v1",
            "groups": groups().iter().map(|g| api_group(g)).collect::<Vec<_>>()}),
        ["apis", g] if groups().contains(g) => api_group(g),
        ["api", v] => resource_list("", v)?,
        ["apis", g, v] => resource_list(g, v)?,
        ["openapi", "v3"] => json!({"paths": group_versions().iter().map(|(g, v)| {
            let p = gv_path(g, v);
            (p.clone(), json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash=regauth-test")}))
        }).collect::<serde_json::Map<_, _>>()}),
        ["openapi", "v3", rest @ ..] => openapi_v3(&rest.join("/"))?,
        _ => return None,
    })
}

/// API groups other than the core group, in table order.
fn groups() -> Vec<&'static str> {
    let mut out = Vec::new();
    for r in RESOURCES {
        if !r.group.is_empty() && !out.contains(&r.group) {
            out.push(r.group);
        }
    }
    out
}

/// Every (group, version) served, in table order.
fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    for r in RESOURCES {
        if !out.contains(&(r.group, r.version)) {
            out.push((r.group, r.version));
        }
    }
    out
}

/// `api/v1` or `apis/G/V`, as OpenAPI v3 names its documents.
fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

fn api_group(group: &str) -> Value {
    let versions: Vec<Value> = group_versions()
        .iter()
        .filter(|(g, _)| *g == group)
        .map(|(g, v)| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
        .collect();
    json!({"kind":"APIGroup","apiVersion":"v1","name":group,
        "preferredVersion": versions[0].clone(), "versions": versions})
}

fn resource_list(group: &str, version: &str) -> Option<Value> {
    let resources: Vec<Value> = RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .map(|r| {
            json!({"name": r.plural, "singularName": r.kind.to_lowercase(),
                "namespaced": r.namespaced, "kind": r.kind, "shortNames": r.short_names,
                "verbs": ["create","delete","get","list","patch","update"]})
        })
        .collect();
    if resources.is_empty() {
        return None;
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(
        json!({"kind":"APIResourceList","apiVersion":"v1","groupVersion":gv,
        "resources":resources}),
    )
}

/// One group version's OpenAPI v3 document: each kind's PATCH operation with the
/// query parameters the server honours. kubectl looks for `fieldValidation` there to
/// decide that the server validates (then it sends `fieldValidation=Strict` instead
/// of validating against a schema itself).
fn openapi_v3(gv: &str) -> Option<Value> {
    let mut paths = serde_json::Map::new();
    for r in RESOURCES
        .iter()
        .filter(|r| gv_path(r.group, r.version) == gv)
    {
        let base = if r.namespaced {
            format!(
                "{}/namespaces/{{namespace}}/{}",
                r.group_version_path(),
                r.plural
            )
        } else {
            format!("{}/{}", r.group_version_path(), r.plural)
        };
        let param = |name: &str| json!({"name": name, "in": "query", "schema": {"type": "string"}});
        let op = |verb: &str, params: Vec<Value>| {
            json!({"operationId": format!("{verb}{}", r.kind),
                "parameters": params,
                "responses": {"200": {"description": "OK"}},
                "x-kubernetes-action": verb,
                "x-kubernetes-group-version-kind":
                    {"group": r.group, "version": r.version, "kind": r.kind}})
        };
        let write_params = || {
            ["dryRun", "fieldManager", "fieldValidation"]
                .iter()
                .map(|p| param(p))
                .collect::<Vec<_>>()
        };
        let mut patch_params = write_params();
        patch_params.push(param("force"));
        paths.insert(
            format!("{base}/{{name}}"),
            json!({"get": op("get", vec![]), "put": op("put", write_params()),
                "patch": op("patch", patch_params), "delete": op("delete", vec![param("dryRun")])}),
        );
        paths.insert(
            base,
            json!({"get": op("list", vec![param("fieldSelector"), param("labelSelector")]),
                "post": op("post", write_params())}),
        );
    }
    if paths.is_empty() {
        return None;
    }
    Some(json!({"openapi":"3.0.0",
        "info":{"title":"Kubernetes","version":format!("v{}.{}.0", VERSION.0, VERSION.1)},
        "paths": paths, "components": {"schemas": {}}}))
}

/// Top-level fields a kind's objects may have, for `fieldValidation=Strict`.
pub fn known_fields(res: &Resource) -> &'static [&'static str] {
    match res.kind {
        "Secret" => &["data", "stringData", "type", "immutable"],
        "ServiceAccount" => &[
            "secrets",
            "imagePullSecrets",
            "automountServiceAccountToken",
        ],
        "RoleBinding" => &["roleRef", "subjects"],
        _ => &["spec", "status"],
    }
}

/// The `meta.k8s.io/v1` Table `kubectl get` asks for (`Accept: ...;as=Table`), with
/// the columns a real API server prints for these kinds (Name and Age for others, as
/// for a custom resource without printer columns).
pub fn table(res: &Resource, items: &[Value], rv: u64, full_objects: bool) -> Value {
    type Cell = fn(&Value) -> Value;
    let mut cols: Vec<(&str, &str, Cell)> =
        vec![("Name", "string", |o| o["metadata"]["name"].clone())];
    match res.kind {
        "Secret" => cols.extend([
            ("Type", "string", (|o: &Value| o["type"].clone()) as Cell),
            ("Data", "integer", |o| {
                json!(o["data"].as_object().map_or(0, |m| m.len()))
            }),
        ]),
        "ServiceAccount" => cols.push(("Secrets", "integer", |o| {
            json!(o["secrets"].as_array().map_or(0, |a| a.len()))
        })),
        "Node" => cols.extend([
            (
                "Status",
                "string",
                (|o: &Value| {
                    let ready = o["status"]["conditions"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|c| c["type"] == "Ready" && c["status"] == "True");
                    json!(if ready { "Ready" } else { "NotReady" })
                }) as Cell,
            ),
            ("Roles", "string", |o| {
                let roles: Vec<&str> = o["metadata"]["labels"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter_map(|(k, _)| k.strip_prefix("node-role.kubernetes.io/"))
                    .collect();
                json!(if roles.is_empty() {
                    "<none>".to_string()
                } else {
                    roles.join(",")
                })
            }),
        ]),
        "Namespace" => cols.push(("Status", "string", |o| o["status"]["phase"].clone())),
        "RoleBinding" => cols.push(("Role", "string", |o| {
            json!(format!(
                "{}/{}",
                o["roleRef"]["kind"].as_str().unwrap_or_default(),
                o["roleRef"]["name"].as_str().unwrap_or_default()
            ))
        })),
        _ => {}
    }
    cols.push(("Age", "string", |o| {
        json!(age(o["metadata"]["creationTimestamp"]
            .as_str()
            .unwrap_or_default()))
    }));
    let rows: Vec<Value> = items
        .iter()
        .map(|o| {
            let object = if full_objects {
                o.clone()
            } else {
                json!({"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1",
                    "metadata": o["metadata"]})
            };
            json!({"cells": cols.iter().map(|(_, _, f)| f(o)).collect::<Vec<_>>(),
                "object": object})
        })
        .collect();
    json!({"kind":"Table","apiVersion":"meta.k8s.io/v1",
        "metadata":{"resourceVersion": rv.to_string()},
        "columnDefinitions": cols.iter().map(|(name, ty, _)| json!({
            "name": name, "type": ty, "format": if *name == "Name" { "name" } else { "" },
            "description": "", "priority": 0})).collect::<Vec<_>>(),
        "rows": rows})
}

/// kubectl's short age: `42s`, `5m`, `3h`, `12d`.
fn age(created: &str) -> String {
    use k8s_openapi::jiff::Timestamp;
    let Ok(t) = created.parse::<Timestamp>() else {
        return "<unknown>".into();
    };
    let s = (Timestamp::now().as_second() - t.as_second()).max(0);
    match s {
        0..120 => format!("{s}s"),
        120..7200 => format!("{}m", s / 60),
        7200..172800 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}
