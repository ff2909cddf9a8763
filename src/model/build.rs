//! Builds the typed model from merged inventory variables, with the installer's
//! defaults and sanity rules. Errors name the file and line of the variable.

use super::{ClusterModel, DeploymentType, HostSpec, Proxies, RegistryCredential, SshTarget};
use crate::exit::{Exit, HasExit};
use crate::inventory::{Inventory, Origin, Value, Var, Vars};
use secrecy::{ExposeSecret, SecretString};

/// An inventory whose variables do not describe a usable cluster.
#[derive(Debug, thiserror::Error)]
#[error("{}{message}", origin.as_ref().map(|o| format!("{o}: ")).unwrap_or_default())]
pub struct ModelError {
    /// Where the offending variable was set, when there is one.
    pub origin: Option<Origin>,
    /// What is wrong and what to change.
    pub message: String,
}

impl HasExit for ModelError {
    fn exit(&self) -> Exit {
        Exit::Parse
    }
}

pub(super) fn err(var: Option<&Var>, message: impl Into<String>) -> ModelError {
    ModelError {
        origin: var.map(|v| v.origin.clone()),
        message: message.into(),
    }
}

/// Builds the cluster model from an inventory.
pub fn from_inventory(inv: &Inventory) -> Result<ClusterModel, ModelError> {
    let all_vars = inv.all_host_vars();
    // Cluster-wide settings come from the first OSEv3 host, as the installer's
    // first-master plays read them; an inventory without hosts uses `all`'s vars.
    let scope_host = ["OSEv3", "masters", "nodes", "all"]
        .iter()
        .find_map(|g| inv.group_hosts(g).first().map(|h| h.to_string()));
    let scope: Vars = match &scope_host {
        Some(h) => inv.host_vars(h).unwrap_or_default(),
        None => inv.all_group_vars(),
    };
    let deployment_type = deployment_type(&scope)?;
    let proxies = Proxies {
        http: opt_string(&scope, "openshift_http_proxy")?,
        https: opt_string(&scope, "openshift_https_proxy")?,
        no_proxy: match scope.get("openshift_no_proxy") {
            Some(Var {
                value: Value::List(items),
                ..
            }) => Some(
                items
                    .iter()
                    .filter_map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            _ => opt_string(&scope, "openshift_no_proxy")?,
        },
    };
    let restart_nodes_serial = match scope.get("openshift_restart_nodes_serial") {
        None => crate::playbook::Serial::hosts(1),
        Some(v) => crate::playbook::Serial::from_value(&v.value)
            .map_err(|m| err(Some(v), format!("openshift_restart_nodes_serial: {m}")))?,
    };

    let masters_set: Vec<&str> = inv.group_hosts("masters");
    let nodes_set: Vec<&str> = inv.group_hosts("nodes");
    let mut registries: Vec<RegistryCredential> = Vec::new();
    let mut specs = Vec::new();
    for (name, vars) in &all_vars {
        let is_master = masters_set.contains(&name.as_str());
        let is_node = nodes_set.contains(&name.as_str());
        if !is_master && !is_node && scope_host.as_deref() != Some(name) {
            continue;
        }
        let regs = host_registries(vars, deployment_type)?;
        for r in &regs {
            if !registries.iter().any(|x| same_credential(x, r)) {
                registries.push(r.clone());
            }
        }
        if is_master || is_node {
            specs.push(host_spec(
                name,
                vars,
                deployment_type,
                regs,
                is_master,
                is_node,
            )?);
        }
    }
    if scope_host.is_none() {
        registries = host_registries(&scope, deployment_type)?;
    }
    let nodes = specs.iter().filter(|s| s.is_node).cloned().collect();
    let masters = specs.iter().filter(|s| s.is_master).cloned().collect();
    Ok(ClusterModel {
        deployment_type,
        registries,
        proxies,
        nodes,
        masters,
        restart_nodes_serial,
    })
}

pub(super) fn same_credential(a: &RegistryCredential, b: &RegistryCredential) -> bool {
    a.host == b.host
        && a.user == b.user
        && a.password.expose_secret() == b.password.expose_secret()
        && a.test_image == b.test_image
        && a.tls_verify == b.tls_verify
        && a.test_login == b.test_login
}

fn deployment_type(vars: &Vars) -> Result<DeploymentType, ModelError> {
    match vars.get("openshift_deployment_type") {
        None => Ok(DeploymentType::Origin),
        Some(v) => match v.value.as_str() {
            Some("origin") => Ok(DeploymentType::Origin),
            Some("openshift-enterprise") => Ok(DeploymentType::Enterprise),
            _ => Err(err(
                Some(v),
                format!(
                    "openshift_deployment_type is {}: use 'origin' or 'openshift-enterprise'",
                    describe(&v.value)
                ),
            )),
        },
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Str(s) => format!("'{s}'"),
        Value::Vault(_) => "vault-encrypted".into(),
        other => format!("{other:?}"),
    }
}

fn int_of(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A plain string variable; Jinja templates are refused because regauth does not evaluate them.
pub(super) fn opt_string(vars: &Vars, key: &str) -> Result<Option<String>, ModelError> {
    match vars.get(key) {
        None => Ok(None),
        Some(v) => match &v.value {
            Value::Null => Ok(None),
            Value::Str(s) => no_template(v, key, s).map(|()| Some(s.clone())),
            Value::Int(i) => Ok(Some(i.to_string())),
            _ => Err(err(Some(v), format!("{key} must be a string"))),
        },
    }
}

fn no_template(var: &Var, key: &str, s: &str) -> Result<(), ModelError> {
    if s.contains("{{") || s.contains("{%") {
        return Err(err(
            Some(var),
            format!(
                "{key} is a Jinja template; regauth does not evaluate templates: give the value itself"
            ),
        ));
    }
    Ok(())
}

/// A secret variable: a string or a decrypted vault value.
fn secret_of(var: &Var, key: &str) -> Result<SecretString, ModelError> {
    match &var.value {
        Value::Str(s) => {
            no_template(var, key, s)?;
            Ok(SecretString::from(s.clone()))
        }
        Value::Int(i) => Ok(SecretString::from(i.to_string())),
        Value::Vault(v) => match &v.plaintext {
            Some(p) => Ok(p.clone()),
            None => Err(err(
                Some(var),
                format!(
                    "{key} is vault-encrypted: give --vault-password-file or set ANSIBLE_VAULT_PASSWORD_FILE"
                ),
            )),
        },
        _ => Err(err(Some(var), format!("{key} must be a string"))),
    }
}

/// Ansible's strict boolean conversion for module arguments (the installer hands
/// `test_login`/`tls_verify` to a module parameter of type bool).
pub fn ansible_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Int(1) => Some(true),
        Value::Int(0) => Some(false),
        Value::Float(f) if *f == 1.0 => Some(true),
        Value::Float(f) if *f == 0.0 => Some(false),
        Value::Str(s) => match s.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" | "on" | "1" | "true" | "t" => Some(true),
            "n" | "no" | "off" | "0" | "false" | "f" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn bool_var(vars: &Vars, key: &str, default: bool) -> Result<bool, ModelError> {
    match vars.get(key) {
        None => Ok(default),
        Some(v) => ansible_bool(&v.value).ok_or_else(|| {
            err(
                Some(v),
                format!("{key} is {}: use true or false", describe(&v.value)),
            )
        }),
    }
}

const REDHAT_REGISTRY: &str = "registry.redhat.io";

/// The registry credentials a host's variables define: oreg, then each additional entry.
fn host_registries(vars: &Vars, dt: DeploymentType) -> Result<Vec<RegistryCredential>, ModelError> {
    let tag = opt_string(vars, "openshift_image_tag")?.unwrap_or_else(|| "v3.11".into());
    let oreg_url = opt_string(vars, "oreg_url")?;
    let default_url = match dt {
        DeploymentType::Enterprise => "registry.redhat.io/openshift3/ose-${component}:${version}",
        DeploymentType::Origin => "quay.io/openshift/origin-${component}:${version}",
    };
    let url = oreg_url.clone().unwrap_or_else(|| default_url.to_string());
    let (oreg_host, image_part) = match url.split_once('/') {
        Some((h, rest)) => (h.to_string(), rest.to_string()),
        None => (url.clone(), String::new()),
    };
    let default_test_image = match dt {
        DeploymentType::Enterprise => image_part
            .replace("${component}", "pod")
            .replace("${version}", &tag),
        DeploymentType::Origin => "openshift/origin".to_string(),
    };
    let user_var = vars.get("oreg_auth_user");
    let password_var = vars.get("oreg_auth_password");
    // The installer's sanity check: registry.redhat.io needs credentials.
    if dt == DeploymentType::Enterprise
        && oreg_host == REDHAT_REGISTRY
        && (user_var.is_none() || password_var.is_none())
    {
        let missing = if user_var.is_none() {
            "oreg_auth_user"
        } else {
            "oreg_auth_password"
        };
        return Err(err(
            vars.get("oreg_url")
                .or(vars.get("openshift_deployment_type")),
            format!(
                "{missing} must be set: openshift-enterprise pulls from {REDHAT_REGISTRY}, which requires authentication (set oreg_auth_user and oreg_auth_password, or point oreg_url at your own registry)"
            ),
        ));
    }
    let mut out = Vec::new();
    if let Some(u) = user_var {
        let user = match &u.value {
            Value::Str(s) => {
                no_template(u, "oreg_auth_user", s)?;
                s.clone()
            }
            Value::Int(i) => i.to_string(),
            other => {
                return Err(err(
                    Some(u),
                    format!("oreg_auth_user must be a string, not {}", describe(other)),
                ));
            }
        };
        let pw = password_var.ok_or_else(|| {
            err(
                Some(u),
                "oreg_auth_user is set but oreg_auth_password is not: set both",
            )
        })?;
        out.push(RegistryCredential {
            host: oreg_host.clone(),
            user,
            password: secret_of(pw, "oreg_auth_password")?,
            test_login: bool_var(vars, "oreg_test_login", true)?,
            test_image: default_test_image.clone(),
            tls_verify: true,
            source: "oreg_auth_user".into(),
        });
    }
    if let Some(list) = vars.get("openshift_additional_registry_credentials") {
        let value = super::as_templated(&list.value);
        let items = match value.as_ref() {
            Value::List(items) => items,
            Value::Null => return Ok(out),
            Value::Str(s) => {
                return Err(err(
                    Some(list),
                    format!(
                        "openshift_additional_registry_credentials does not parse as a list of dicts: {}",
                        hint_literal(s)
                    ),
                ));
            }
            _ => {
                return Err(err(
                    Some(list),
                    "openshift_additional_registry_credentials must be a list of dicts",
                ));
            }
        };
        for (i, item) in items.iter().enumerate() {
            let source = format!("openshift_additional_registry_credentials[{i}]");
            let Value::Map(m) = item else {
                return Err(err(
                    Some(list),
                    format!("{source} must be a dict with host and password"),
                ));
            };
            let field = |k: &str| m.get(k);
            let text = |k: &str| -> Result<Option<String>, ModelError> {
                match field(k) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::Str(s)) => Ok(Some(s.clone())),
                    Some(Value::Int(n)) => Ok(Some(n.to_string())),
                    Some(other) => Err(err(
                        Some(list),
                        format!("{source}.{k} must be a string, not {}", describe(other)),
                    )),
                }
            };
            let host = text("host")?.filter(|h| !h.is_empty()).ok_or_else(|| {
                err(
                    Some(list),
                    format!("{source} has no 'host': add 'host':'registry.example.com[:port]'"),
                )
            })?;
            let password = match field("password") {
                Some(Value::Str(s)) => SecretString::from(s.clone()),
                Some(Value::Int(n)) => SecretString::from(n.to_string()),
                Some(Value::Vault(v)) => v.plaintext.clone().ok_or_else(|| {
                    err(
                        Some(list),
                        format!("{source}.password is vault-encrypted: give --vault-password-file"),
                    )
                })?,
                _ => {
                    return Err(err(
                        Some(list),
                        format!("{source} ({host}) has no 'password': add 'password':'...'"),
                    ));
                }
            };
            let flag = |k: &str| -> Result<bool, ModelError> {
                match field(k) {
                    None => Ok(true),
                    Some(v) => ansible_bool(v).ok_or_else(|| {
                        err(
                            Some(list),
                            format!("{source}.{k} is {}: use True or False", describe(v)),
                        )
                    }),
                }
            };
            out.push(RegistryCredential {
                user: text("user")?.unwrap_or_else(|| "openshift".into()),
                test_image: text("test_image")?.unwrap_or_else(|| default_test_image.clone()),
                test_login: flag("test_login")?,
                tls_verify: flag("tls_verify")?,
                password,
                host,
                source,
            });
        }
    }
    Ok(out)
}

/// Says what is probably wrong with a credentials list that did not parse as a literal.
fn hint_literal(s: &str) -> String {
    let t = s.trim();
    if !t.starts_with('[') {
        return "it must start with '[' (e.g. [{'host':'r1.example.com','password':'p'}])".into();
    }
    let opens = t.matches(['[', '{']).count();
    let closes = t.matches([']', '}']).count();
    if opens != closes {
        return "brackets or braces are unbalanced".into();
    }
    if t.matches('\'').count() % 2 == 1 || t.matches('"').count() % 2 == 1 {
        return "a quote is not closed".into();
    }
    "check the quotes, commas and colons between entries (write it as a Python list of dicts on one line)".into()
}

fn host_spec(
    name: &str,
    vars: &Vars,
    dt: DeploymentType,
    registries: Vec<RegistryCredential>,
    is_master: bool,
    is_node: bool,
) -> Result<HostSpec, ModelError> {
    let get = |keys: &[&str]| -> Result<Option<String>, ModelError> {
        for k in keys {
            if let Some(v) = opt_string(vars, k)? {
                return Ok(Some(v));
            }
        }
        Ok(None)
    };
    let port = match vars.get("ansible_port").or(vars.get("ansible_ssh_port")) {
        None => 22,
        Some(v) => match int_of(&v.value) {
            Some(p) if (1..=65535).contains(&p) => p as u16,
            _ => {
                return Err(err(
                    Some(v),
                    format!("ansible_port of {name} must be a port number"),
                ));
            }
        },
    };
    let service_type = dt.service_type();
    let data_dir = get(&["openshift_data_dir"])?.unwrap_or_else(|| "/var/lib/origin".into());
    Ok(HostSpec {
        name: name.to_string(),
        ssh: SshTarget {
            address: get(&["ansible_host", "ansible_ssh_host"])?
                .unwrap_or_else(|| name.to_string()),
            port,
            user: get(&["ansible_user", "ansible_ssh_user"])?,
            key_file: get(&["ansible_ssh_private_key_file", "ansible_private_key_file"])?
                .map(Into::into),
            become_: bool_var(vars, "ansible_become", false)?,
            become_user: get(&["ansible_become_user"])?.unwrap_or_else(|| "root".into()),
        },
        data_dir,
        runtime_auth_dir: get(&["regauth_runtime_auth_dir"])?
            .unwrap_or_else(|| "/root/.docker".into()),
        node_restart_command: get(&["regauth_node_restart_command"])?
            .unwrap_or_else(|| format!("systemctl restart {service_type}-node")),
        master_restart_command: get(&["regauth_master_restart_command"])?.unwrap_or_else(|| {
            "/usr/local/bin/master-restart api && /usr/local/bin/master-restart controllers".into()
        }),
        registries,
        is_master,
        is_node,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{LoadOptions, load};
    use std::io::Write;

    fn model(ini: &str) -> Result<ClusterModel, String> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("hosts.ini");
        std::fs::File::create(&p)
            .unwrap()
            .write_all(ini.as_bytes())
            .unwrap();
        let inv = load(&LoadOptions {
            sources: vec![p],
            ..Default::default()
        })
        .map_err(|e| e.to_string())?;
        from_inventory(&inv).map_err(|e| e.to_string())
    }

    const BASE: &str = "[OSEv3:children]\nmasters\nnodes\n[masters]\nm1\n[nodes]\nm1\nn1 ansible_host=10.0.0.5 ansible_port=2222 ansible_user=cloud ansible_become=yes\n[OSEv3:vars]\n";

    #[test]
    fn installer_defaults() {
        let m = model(&format!(
            "{BASE}openshift_deployment_type=openshift-enterprise\noreg_url=reg.example.com:5000/openshift3/ose-${{component}}:${{version}}\noreg_auth_user=alice\noreg_auth_password='p#;: \"x'\nopenshift_additional_registry_credentials=[{{'host':'r1.example.com','password':'p1','test_login':'False'}},{{'host':'r2.example.com:5000','user':'12345678|robot','password':'tok','tls_verify':'False','test_image':'mongodb/mongodb'}}]\n"
        ))
        .unwrap();
        assert_eq!(m.deployment_type, DeploymentType::Enterprise);
        assert_eq!(m.registries.len(), 3);
        let o = &m.registries[0];
        assert_eq!(
            (o.host.as_str(), o.user.as_str(), o.test_image.as_str()),
            ("reg.example.com:5000", "alice", "openshift3/ose-pod:v3.11")
        );
        assert_eq!(o.password.expose_secret(), "p#;: \"x");
        let a = &m.registries[1];
        assert_eq!(
            (a.user.as_str(), a.test_login, a.tls_verify),
            ("openshift", false, true)
        );
        assert_eq!(a.test_image, "openshift3/ose-pod:v3.11");
        let b = &m.registries[2];
        assert_eq!(
            (b.user.as_str(), b.tls_verify, b.test_image.as_str()),
            ("12345678|robot", false, "mongodb/mongodb")
        );
        assert_eq!(b.source, "openshift_additional_registry_credentials[1]");
        assert_eq!(m.nodes.len(), 2);
        assert_eq!(m.masters.len(), 1);
        let n1 = &m.nodes[1];
        assert_eq!(
            n1.ssh,
            SshTarget {
                address: "10.0.0.5".into(),
                port: 2222,
                user: Some("cloud".into()),
                key_file: None,
                become_: true,
                become_user: "root".into()
            }
        );
        assert_eq!(
            n1.node_restart_command,
            "systemctl restart atomic-openshift-node"
        );
        assert_eq!(n1.data_dir, "/var/lib/origin");
    }

    #[test]
    fn errors_name_file_line_and_fix() {
        for (vars, line, what) in [
            (
                "openshift_deployment_type=okd\n",
                10,
                "use 'origin' or 'openshift-enterprise'",
            ),
            (
                "openshift_additional_registry_credentials=[{'password':'p'}]\n",
                10,
                "has no 'host'",
            ),
            (
                "openshift_additional_registry_credentials=[{'host':'r1'}]\n",
                10,
                "has no 'password'",
            ),
            (
                "openshift_additional_registry_credentials=[{'host':'r1','password':'p'\n",
                10,
                "unbalanced",
            ),
            (
                "openshift_additional_registry_credentials=[{'host':'r1','password':'p','tls_verify':'maybe'}]\n",
                10,
                "tls_verify",
            ),
            (
                "openshift_deployment_type=openshift-enterprise\n",
                10,
                "oreg_auth_user must be set",
            ),
            (
                "oreg_auth_user=a\noreg_auth_password=\"{{ lookup('env','P') }}\"\n",
                11,
                "Jinja",
            ),
        ] {
            let e = model(&format!("{BASE}{vars}")).unwrap_err();
            assert!(e.contains(&format!("hosts.ini:{line}:")), "{vars}: {e}");
            assert!(e.contains(what), "{vars}: {e}");
        }
    }

    /// openshift-ansible 3.11 on Ansible 2.9 read these JSON credentials as a list: its
    /// `Templar.template()` (lib/ansible/template/__init__.py, v2.9.27 lines 623-631)
    /// `safe_eval`s a result starting with `[`, and safe_eval.py's globals define
    /// `false`, `true` and `null`. The inventory keeps the string (corpus case 51);
    /// tests/safe_eval_corpus.rs checks the whole rule against 2.9's own code.
    #[test]
    fn json_credentials_as_ansible_2_9_templated_them() {
        let m = model(&format!(
            "{BASE}openshift_additional_registry_credentials=[{{\"host\": \"r.example.com\", \"password\": \"p\", \"test_login\": false}}, {{\"host\": \"m.example.com:5000\", \"user\": \"robot\", \"password\": \"t\", \"tls_verify\": false}}]\n"
        ))
        .unwrap();
        let r = &m.registries;
        assert_eq!(r.len(), 2);
        assert_eq!(
            (r[0].host.as_str(), r[0].test_login, r[0].tls_verify),
            ("r.example.com", false, true)
        );
        assert_eq!(r[0].user, "openshift");
        assert_eq!(
            (r[1].user.as_str(), r[1].tls_verify, r[1].test_login),
            ("robot", false, true)
        );
        assert_eq!(r[1].password.expose_secret(), "t");
        // What 2.9 left as a string (`no` is not a name safe_eval knows) stays an error.
        let e = model(&format!(
            "{BASE}openshift_additional_registry_credentials=[{{\"host\": \"r\", \"password\": \"p\", \"test_login\": no}}]\n"
        ))
        .unwrap_err();
        assert!(e.contains("does not parse as a list of dicts"), "{e}");
    }

    #[test]
    fn booleans_like_ansible() {
        for (s, b) in [
            ("'False'", false),
            ("false", false),
            ("no", false),
            ("0", false),
            ("yes", true),
            ("on", true),
            ("'True'", true),
            ("1", true),
        ] {
            let m = model(&format!(
                "{BASE}oreg_auth_user=u\noreg_auth_password=p\noreg_test_login={s}\n"
            ))
            .unwrap();
            assert_eq!(m.registries[0].test_login, b, "{s}");
        }
    }
}
