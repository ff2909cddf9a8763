//! Playbooks: YAML lists of steps from a fixed catalogue, strictly checked (an
//! unknown step, key or option is an error naming file and line), with Ansible-style
//! tags. The engine that runs them is `crate::run`.

use crate::exit::{Exit, HasExit};
use crate::inventory::yaml::{self, Kind, Node};
use crate::inventory::{Origin, Value};
use std::path::Path;
use std::time::Duration;

pub mod serial;
pub use serial::{Serial, SerialSpec};

/// A file the installer writes credentials into, on every host of a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthTarget {
    /// The container runtime's `<regauth_runtime_auth_dir>/config.json` (`/root/.docker`).
    Runtime,
    /// The node service's `<openshift_data_dir>/.docker/config.json`.
    Node,
    /// The master's `<openshift_data_dir>/.docker/config.json`.
    Master,
}

impl AuthTarget {
    /// The name used in playbooks and output.
    pub fn name(self) -> &'static str {
        match self {
            AuthTarget::Runtime => "runtime",
            AuthTarget::Node => "node",
            AuthTarget::Master => "master",
        }
    }
}

/// A number given literally or as `{{ inventory_variable }}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Count {
    /// A literal.
    Literal(usize),
    /// The value of an inventory variable (of the cluster's first host).
    Var(String),
}

/// What a step does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Check every registry credential from the control host.
    Validate {
        /// Stop the run before touching anything when a credential fails.
        stop_on_failure: bool,
    },
    /// Check every image the run will pull, once each, from the control host (the
    /// installer's `docker_image_availability` preflight).
    ImageAvailability {
        /// Stop the run before touching anything when an image is missing.
        stop_on_failure: bool,
        /// The release an upgrade run targets (replaces `openshift_release`).
        upgrade_target: Option<String>,
    },
    /// Merge the credentials into auth files on a group's hosts.
    AuthFiles {
        /// The inventory group.
        hosts: String,
        /// Which files (read and written together, one round trip each).
        files: Vec<AuthTarget>,
        /// Hosts per batch, as Ansible's `serial` (default: all, `--forks` at a time).
        serial: Option<SerialSpec>,
    },
    /// Create or update the installer's secrets in a namespace.
    ClusterSecrets {
        /// Namespace (the installer's: `openshift`).
        namespace: String,
    },
    /// Restart `<service_type>-node` on nodes, rolling.
    RestartNodes {
        /// Only hosts whose node file changed in this run.
        only_changed: bool,
        /// Hosts per batch, as Ansible's `serial`.
        serial: SerialSpec,
        /// Wait for the Node to report Ready (when a cluster is reachable).
        wait_ready: bool,
        /// How long to wait for Ready.
        ready_timeout: Duration,
    },
    /// Restart the master services, one master at a time.
    RestartMasters {
        /// Only hosts whose master file changed in this run.
        only_changed: bool,
    },
}

impl Action {
    /// The catalogue name.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Validate { .. } => "validate",
            Action::ImageAvailability { .. } => "image_availability",
            Action::AuthFiles { .. } => "auth_files",
            Action::ClusterSecrets { .. } => "cluster_secrets",
            Action::RestartNodes { .. } => "restart_nodes",
            Action::RestartMasters { .. } => "restart_masters",
        }
    }
}

/// One step of a playbook.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Its name, printed as Ansible prints a task.
    pub name: String,
    /// What it does.
    pub action: Action,
    /// Its tags.
    pub tags: Vec<String>,
    /// Ansible's `check_mode`: `Some(true)` never changes anything, whatever `--check` says.
    pub check_mode: Option<bool>,
    /// Where it is defined.
    pub origin: Origin,
}

impl Step {
    /// Whether `--tags`/`--skip-tags` select this step (Ansible: `all` and `always`).
    pub fn selected(&self, tags: &[String], skip: &[String]) -> bool {
        let has = |t: &String| self.tags.contains(t);
        if skip.iter().any(has) {
            return false;
        }
        tags.is_empty()
            || tags.iter().any(|t| t == "all" || has(t))
            || self.tags.iter().any(|t| t == "always")
    }
}

/// A loaded playbook.
#[derive(Debug, Clone)]
pub struct Playbook {
    /// Its name (the file stem), used for the retry file.
    pub name: String,
    /// Its steps, in order.
    pub steps: Vec<Step>,
}

/// A playbook that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct PlaybookError {
    /// Where.
    pub origin: Origin,
    /// What, and what to change.
    pub message: String,
}

impl HasExit for PlaybookError {
    fn exit(&self) -> Exit {
        Exit::Parse
    }
}

const ACTIONS: [&str; 6] = [
    "validate",
    "image_availability",
    "auth_files",
    "cluster_secrets",
    "restart_nodes",
    "restart_masters",
];

/// Reads and checks a playbook file.
pub fn load(path: &Path) -> Result<Playbook, PlaybookError> {
    let text = std::fs::read_to_string(path).map_err(|e| PlaybookError {
        origin: Origin::file(path),
        message: format!("cannot read playbook: {e}"),
    })?;
    let doc = yaml::parse(&text, path, None).map_err(|e| PlaybookError {
        origin: e.origin,
        message: e.message,
    })?;
    let err = |line: usize, message: String| PlaybookError {
        origin: Origin::at(path, line),
        message,
    };
    let Some(doc) = doc else {
        return Err(err(
            1,
            "the playbook is empty: list steps (see playbooks/registry_auth.yml)".into(),
        ));
    };
    let Kind::Seq(items) = doc.kind else {
        return Err(err(
            doc.line,
            "a playbook is a list of steps (- name: ...)".into(),
        ));
    };
    let mut steps = Vec::new();
    for item in items {
        let line = item.line;
        let Kind::Map(pairs) = item.kind else {
            return Err(err(
                line,
                "a step is a mapping with name, one action and tags".into(),
            ));
        };
        let mut name = None;
        let mut tags = Vec::new();
        let mut action = None;
        let mut check_mode = None;
        for (key, node) in pairs {
            match key.as_str() {
                "name" => {
                    name = Some(
                        scalar_string(&node)
                            .ok_or_else(|| err(node.line, "name must be a string".into()))?,
                    )
                }
                "tags" => {
                    tags = string_list(&node).ok_or_else(|| {
                        err(
                            node.line,
                            "tags must be a string or a list of strings".into(),
                        )
                    })?
                }
                "check_mode" => {
                    check_mode = Some(
                        match &node.kind {
                            Kind::Scalar(v) => crate::model::ansible_bool(v),
                            _ => None,
                        }
                        .ok_or_else(|| err(node.line, "check_mode must be true or false".into()))?,
                    )
                }
                k if ACTIONS.contains(&k) => {
                    if action.is_some() {
                        return Err(err(
                            node.line,
                            format!(
                                "a step has one action; '{k}' is a second one: split it into two steps"
                            ),
                        ));
                    }
                    action = Some(parse_action(k, &node, path)?);
                }
                other => {
                    return Err(err(
                        node.line,
                        format!(
                            "unknown key '{other}' in a step: use name, tags, check_mode and one of {}",
                            ACTIONS.join(", ")
                        ),
                    ));
                }
            }
        }
        let action = action.ok_or_else(|| {
            err(
                line,
                format!("step has no action: add one of {}", ACTIONS.join(", ")),
            )
        })?;
        let name = name.unwrap_or_else(|| action.kind().to_string());
        steps.push(Step {
            name,
            action,
            tags,
            check_mode,
            origin: Origin::at(path, line),
        });
    }
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("playbook")
        .to_string();
    Ok(Playbook { name, steps })
}

/// The variable of a plain `"{{ name }}"`.
fn template_var(s: &str) -> Option<String> {
    let var = s.trim().strip_prefix("{{")?.strip_suffix("}}")?.trim();
    (!var.is_empty() && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then(|| var.to_string())
}

fn scalar_string(n: &Node) -> Option<String> {
    match &n.kind {
        Kind::Scalar(Value::Str(s)) => Some(s.clone()),
        Kind::Scalar(Value::Int(i)) => Some(i.to_string()),
        _ => None,
    }
}

fn string_list(n: &Node) -> Option<Vec<String>> {
    match &n.kind {
        Kind::Scalar(Value::Str(s)) => Some(
            s.split(',')
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect(),
        ),
        Kind::Seq(items) => items.iter().map(scalar_string).collect(),
        _ => None,
    }
}

/// Options of one action, each read once; what is left over is an unknown option.
struct Options<'a> {
    pairs: Vec<(String, Node)>,
    action: &'a str,
    path: &'a Path,
    line: usize,
}

impl Options<'_> {
    fn err(&self, line: usize, message: String) -> PlaybookError {
        PlaybookError {
            origin: Origin::at(self.path, line),
            message,
        }
    }

    fn take(&mut self, key: &str) -> Option<Node> {
        let i = self.pairs.iter().position(|(k, _)| k == key)?;
        Some(self.pairs.remove(i).1)
    }

    fn bool(&mut self, key: &str, default: bool) -> Result<bool, PlaybookError> {
        match self.take(key) {
            None => Ok(default),
            Some(n) => match &n.kind {
                Kind::Scalar(v) => crate::model::ansible_bool(v).ok_or_else(|| {
                    self.err(
                        n.line,
                        format!("{}.{key} must be true or false", self.action),
                    )
                }),
                _ => Err(self.err(
                    n.line,
                    format!("{}.{key} must be true or false", self.action),
                )),
            },
        }
    }

    fn string(&mut self, key: &str) -> Result<Option<String>, PlaybookError> {
        match self.take(key) {
            None => Ok(None),
            Some(n) => scalar_string(&n)
                .map(Some)
                .ok_or_else(|| self.err(n.line, format!("{}.{key} must be a string", self.action))),
        }
    }

    fn count(&mut self, key: &str) -> Result<Option<Count>, PlaybookError> {
        let Some(n) = self.take(key) else {
            return Ok(None);
        };
        let bad = || {
            self.err(
                n.line,
                format!(
                    "{}.{key} must be a number or \"{{{{ variable }}}}\"",
                    self.action
                ),
            )
        };
        match &n.kind {
            Kind::Scalar(Value::Int(i)) if *i >= 1 => Ok(Some(Count::Literal(*i as usize))),
            Kind::Scalar(Value::Str(s)) => {
                template_var(s).map(|v| Some(Count::Var(v))).ok_or_else(bad)
            }
            _ => Err(bad()),
        }
    }

    fn serial(&mut self, key: &str) -> Result<Option<SerialSpec>, PlaybookError> {
        let Some(n) = self.take(key) else {
            return Ok(None);
        };
        let bad = |m: String| self.err(n.line, format!("{}.{key}: {m}", self.action));
        if let Kind::Scalar(Value::Str(s)) = &n.kind
            && s.trim().starts_with("{{")
        {
            return template_var(s)
                .map(|v| Some(SerialSpec::Var(v)))
                .ok_or_else(|| bad("only a plain \"{{ variable }}\" is understood here".into()));
        }
        let value = n.to_value();
        Serial::from_value(&value)
            .map(|s| Some(SerialSpec::Literal(s)))
            .map_err(bad)
    }

    fn seconds(&mut self, key: &str, default: u64) -> Result<Duration, PlaybookError> {
        match self.count(key)? {
            None => Ok(Duration::from_secs(default)),
            Some(Count::Literal(n)) => Ok(Duration::from_secs(n as u64)),
            Some(Count::Var(_)) => Err(self.err(
                self.line,
                format!("{}.{key} must be a number of seconds", self.action),
            )),
        }
    }

    fn finish(self) -> Result<(), PlaybookError> {
        match self.pairs.first() {
            None => Ok(()),
            Some((k, n)) => {
                Err(self.err(n.line, format!("unknown option '{k}' for {}", self.action)))
            }
        }
    }
}

fn parse_action(kind: &str, node: &Node, path: &Path) -> Result<Action, PlaybookError> {
    let pairs = match &node.kind {
        Kind::Map(p) => p.clone(),
        Kind::Scalar(Value::Null) => Vec::new(),
        _ => {
            return Err(PlaybookError {
                origin: Origin::at(path, node.line),
                message: format!("{kind} takes a mapping of options (or nothing)"),
            });
        }
    };
    let mut o = Options {
        pairs,
        action: kind,
        path,
        line: node.line,
    };
    let action = match kind {
        "validate" => Action::Validate {
            stop_on_failure: o.bool("stop_on_failure", true)?,
        },
        "image_availability" => Action::ImageAvailability {
            stop_on_failure: o.bool("stop_on_failure", true)?,
            upgrade_target: o.string("upgrade_target")?,
        },
        "auth_files" => {
            let hosts = o
                .string("hosts")?
                .ok_or_else(|| o.err(node.line, "auth_files needs hosts: GROUP".into()))?;
            let files_node = o.take("files").ok_or_else(|| {
                o.err(
                    node.line,
                    "auth_files needs files: [runtime, node, master]".into(),
                )
            })?;
            let names = string_list(&files_node).ok_or_else(|| {
                o.err(
                    files_node.line,
                    "files must be a list of runtime, node, master".into(),
                )
            })?;
            let mut files = Vec::new();
            for n in names {
                files.push(match n.as_str() {
                    "runtime" => AuthTarget::Runtime,
                    "node" => AuthTarget::Node,
                    "master" => AuthTarget::Master,
                    other => {
                        return Err(o.err(
                            files_node.line,
                            format!("unknown auth file '{other}': use runtime, node or master"),
                        ));
                    }
                });
            }
            Action::AuthFiles {
                hosts,
                files,
                serial: o.serial("serial")?,
            }
        }
        "cluster_secrets" => Action::ClusterSecrets {
            namespace: o.string("namespace")?.unwrap_or_else(|| "openshift".into()),
        },
        "restart_nodes" => Action::RestartNodes {
            only_changed: o.bool("only_changed", true)?,
            serial: o
                .serial("serial")?
                .unwrap_or(SerialSpec::Var("openshift_restart_nodes_serial".into())),
            wait_ready: o.bool("wait_ready", true)?,
            ready_timeout: o.seconds("ready_timeout", 180)?,
        },
        "restart_masters" => Action::RestartMasters {
            only_changed: o.bool("only_changed", true)?,
        },
        _ => unreachable!("ACTIONS lists every kind"),
    };
    o.finish()?;
    Ok(action)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<Playbook, PlaybookError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pb.yml");
        std::fs::write(&p, text).unwrap();
        load(&p)
    }

    #[test]
    fn loads_the_catalogue() {
        let pb = load_text(
            "- name: check\n  validate: {}\n  tags: [validate]\n- name: files\n  auth_files: {hosts: nodes, files: [runtime, node], serial: 5}\n  tags: nodes,runtime\n- restart_nodes: {serial: \"{{ openshift_restart_nodes_serial }}\", ready_timeout: 60}\n",
        )
        .unwrap();
        assert_eq!(pb.name, "pb");
        assert_eq!(pb.steps.len(), 3);
        assert_eq!(pb.steps[1].tags, ["nodes", "runtime"]);
        assert_eq!(
            pb.steps[1].action,
            Action::AuthFiles {
                hosts: "nodes".into(),
                files: vec![AuthTarget::Runtime, AuthTarget::Node],
                serial: Some(SerialSpec::Literal(Serial::hosts(5)))
            }
        );
        assert_eq!(pb.steps[2].name, "restart_nodes");
        assert!(
            matches!(&pb.steps[2].action, Action::RestartNodes { serial: SerialSpec::Var(v), .. } if v == "openshift_restart_nodes_serial")
        );
        let pb = load_text("- image_availability: {stop_on_failure: false, upgrade_target: '3.11'}\n  tags: [validate, images]\n").unwrap();
        assert_eq!(
            pb.steps[0].action,
            Action::ImageAvailability {
                stop_on_failure: false,
                upgrade_target: Some("3.11".into())
            }
        );
    }

    #[test]
    fn serial_takes_what_ansible_takes() {
        let pb = load_text(
            "- restart_nodes: {serial: [1, \"10%\", \"50%\"]}\n- restart_nodes: {serial: \"20%\"}\n- auth_files: {hosts: nodes, files: [node], serial: 0}\n",
        )
        .unwrap();
        let sizes = |i: usize| match &pb.steps[i].action {
            Action::RestartNodes {
                serial: SerialSpec::Literal(s),
                ..
            }
            | Action::AuthFiles {
                serial: Some(SerialSpec::Literal(s)),
                ..
            } => s.batches(20),
            other => panic!("{other:?}"),
        };
        assert_eq!(sizes(0), [1, 2, 10, 7]);
        assert_eq!(sizes(1), [4, 4, 4, 4, 4]);
        assert_eq!(sizes(2), [20]);
    }

    #[test]
    fn strict_with_file_and_line() {
        for (text, line, what) in [
            ("- name: x\n  validat: {}\n", 2, "unknown key 'validat'"),
            (
                "- name: x\n  validate: {stop: true}\n",
                2,
                "unknown option 'stop'",
            ),
            (
                "- name: x\n  auth_files: {hosts: nodes, files: [runtime, dockerd]}\n",
                2,
                "unknown auth file 'dockerd'",
            ),
            (
                "- name: x\n  validate: {}\n  auth_files: {hosts: n, files: [node]}\n",
                3,
                "second one",
            ),
            ("- name: x\n", 1, "no action"),
            ("validate: {}\n", 1, "list of steps"),
            ("- restart_nodes: {serial: '{{ a | int }}'}\n", 1, "plain"),
            ("- restart_nodes: {serial: [1, {a: b}]}\n", 1, "serial"),
            ("- name: x\n  validate: [\n", 3, "YAML"),
        ] {
            let e = load_text(text).unwrap_err();
            assert_eq!(e.origin.line, Some(line), "{text:?}: {e}");
            assert!(e.message.contains(what), "{text:?}: {e}");
            assert_eq!(e.exit(), Exit::Parse);
        }
    }

    #[test]
    fn tags_select_like_ansible() {
        let pb = load_text(
            "- validate: {}\n  tags: [validate]\n- cluster_secrets: {}\n  tags: [cluster]\n",
        )
        .unwrap();
        let sel = |t: &[&str], s: &[&str]| -> Vec<&str> {
            let t: Vec<String> = t.iter().map(|x| x.to_string()).collect();
            let s: Vec<String> = s.iter().map(|x| x.to_string()).collect();
            pb.steps
                .iter()
                .filter(|st| st.selected(&t, &s))
                .map(|st| st.action.kind())
                .collect()
        };
        assert_eq!(sel(&[], &[]), ["validate", "cluster_secrets"]);
        assert_eq!(sel(&["cluster"], &[]), ["cluster_secrets"]);
        assert_eq!(sel(&[], &["cluster"]), ["validate"]);
    }
}
