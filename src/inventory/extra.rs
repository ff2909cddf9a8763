//! `-e` extra vars as ansible-playbook loads them (`utils/vars.py: load_extra_vars`):
//! `@FILE` (YAML or JSON, vault-encrypted whole or with `!vault` values), an inline
//! YAML/JSON mapping (an argument starting with `{` or `[`), or `key=value` words
//! (`parse_kv`); each must give a mapping, later arguments win key by key, and the
//! result sits above every inventory variable. One rule is regauth's own: a
//! secret-named key is refused inline, since every user of the host can read argv.

use super::data::{Var, Vars};
use super::error::{InventoryError, Origin};
use super::value::Value;
use super::yaml::{self, Kind};
use std::path::Path;
use std::sync::Arc;

/// Loads every `-e` argument in order; later ones replace earlier keys.
pub fn load(
    args: &[String],
    decrypt_file: &dyn Fn(&str, &Path) -> Result<String, InventoryError>,
    value_hook: Option<yaml::Decrypt<'_>>,
) -> Result<Vars, InventoryError> {
    let mut vars = Vars::new();
    for (i, arg) in args.iter().enumerate() {
        if arg.is_empty() {
            continue;
        }
        let cli: Arc<Path> = Arc::from(Path::new(&format!("<-e #{}>", i + 1)));
        let one = if let Some(file) = arg.strip_prefix('@') {
            from_file(Path::new(file), arg, decrypt_file, value_hook)?
        } else if arg.starts_with(['/', '.']) {
            return Err(InventoryError::usage(
                Origin::file(&cli),
                format!("Please prepend extra_vars filename '{arg}' with '@'"),
            ));
        } else if arg.starts_with(['[', '{']) {
            let doc = yaml::parse(arg, &cli, value_hook)?;
            let vars = mapping(doc, &cli, "inline YAML/JSON")?;
            refuse_inline_secrets(&vars, &cli)?;
            vars
        } else {
            let kv = super::splitter::parse_kv(arg)
                .map_err(|e| InventoryError::new(Origin::file(&cli), e))?;
            let vars: Vars = kv
                .into_iter()
                .map(|(k, v)| {
                    let var = Var {
                        value: Value::Str(v),
                        origin: Origin::file(&cli),
                    };
                    (k, var)
                })
                .collect();
            refuse_inline_secrets(&vars, &cli)?;
            vars
        };
        // combine_vars with hash_behaviour=replace: top-level keys override.
        for (k, v) in one {
            vars.insert(k, v);
        }
    }
    Ok(vars)
}

fn from_file(
    path: &Path,
    arg: &str,
    decrypt_file: &dyn Fn(&str, &Path) -> Result<String, InventoryError>,
    value_hook: Option<yaml::Decrypt<'_>>,
) -> Result<Vars, InventoryError> {
    let raw = std::fs::read_to_string(path).map_err(|e| {
        InventoryError::new(
            Origin::file(path),
            format!("cannot read extra vars file ({arg}): {e}"),
        )
    })?;
    let text = if crate::vault::is_vault(&raw) {
        zeroize::Zeroizing::new(decrypt_file(&raw, path)?)
    } else {
        zeroize::Zeroizing::new(raw)
    };
    let doc = yaml::parse(&text, path, value_hook)?;
    mapping(doc, path, arg)
}

/// The document's top-level mapping as variables with their lines; anything else is
/// Ansible's "could not be made into a dictionary" (an options error, exit 5).
fn mapping(doc: Option<yaml::Node>, file: &Path, what: &str) -> Result<Vars, InventoryError> {
    let file: Arc<Path> = Arc::from(file);
    match doc {
        Some(yaml::Node {
            kind: Kind::Map(pairs),
            ..
        }) => Ok(pairs
            .into_iter()
            .map(|(k, v)| {
                let origin = Origin::shared(file.clone(), v.line);
                (
                    k,
                    Var {
                        value: v.to_value(),
                        origin,
                    },
                )
            })
            .collect()),
        other => Err(InventoryError::usage(
            match other {
                Some(n) => Origin::shared(file, n.line),
                None => Origin::file(&file),
            },
            format!(
                "Invalid extra vars data supplied. '{what}' could not be made into a dictionary"
            ),
        )),
    }
}

/// A secret-named key anywhere in an inline argument is refused (argv is world-readable).
fn refuse_inline_secrets(vars: &Vars, cli: &Path) -> Result<(), InventoryError> {
    fn secret_key(v: &Value) -> Option<&str> {
        match v {
            Value::Map(m) => m.iter().find_map(|(k, v)| {
                if crate::redact::is_secret_name(k) {
                    Some(k.as_str())
                } else {
                    secret_key(v)
                }
            }),
            Value::List(items) => items.iter().find_map(secret_key),
            _ => None,
        }
    }
    let found = vars.iter().find_map(|(k, v)| {
        if crate::redact::is_secret_name(k) {
            Some(k.as_str())
        } else {
            secret_key(&v.value)
        }
    });
    match found {
        None => Ok(()),
        Some(k) => Err(InventoryError::usage(
            Origin::file(cli),
            format!(
                "{k} is a secret: secrets are not taken on the command line (argv is world-readable); \
                 put it in a YAML file (vault-encrypt it with ansible-vault) and pass -e @FILE"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_vault(_: &str, p: &Path) -> Result<String, InventoryError> {
        Err(InventoryError::new(Origin::file(p), "no vault here"))
    }

    fn load_args(args: &[&str]) -> Result<Vars, InventoryError> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        load(&args, &no_vault, None)
    }

    #[test]
    fn secrets_are_refused_inline_at_any_depth() {
        use crate::exit::HasExit;
        for arg in [
            "oreg_auth_password=x",
            "{\"oreg_auth_password\": \"x\"}",
            "{\"openshift_additional_registry_credentials\": [{\"host\": \"r\", \"password\": \"x\"}]}",
            "a=1 registry_token=x",
        ] {
            let e = load_args(&["a=1", arg]).unwrap_err();
            assert_eq!(e.exit(), crate::exit::Exit::Usage, "{arg}");
            let m = e.to_string();
            assert!(m.starts_with("<-e #2>: ") && m.contains("-e @FILE"), "{m}");
            assert!(
                !m.contains("\"x\"") && !m.contains("=x"),
                "echoes the value: {m}"
            );
        }
        assert!(load_args(&["oreg_auth_user=alice"]).is_ok());
    }

    #[test]
    fn later_wins_and_empty_is_skipped() {
        let v = load_args(&["a=1 b=2", "", "{a: 3}"]).unwrap();
        assert_eq!(v["a"].value, Value::Int(3));
        assert_eq!(v["b"].value, Value::Str("2".into()));
    }
}
