//! `regauth run PLAYBOOK`: runs a playbook's steps against the inventory's hosts, as
//! ansible-playbook would run the installer's plays: validation first (stopping
//! before anything is touched when a credential fails), auth files over one SSH
//! session per host (one exec per step reads, compares and writes), the cluster's
//! secrets, then rolling restarts of only what changed. Failed and unreachable hosts
//! drop out of later steps; the others carry on; the recap and exit code follow
//! Ansible's, with a retry file listing the hosts to rerun.

mod files;
mod images;
mod limit;
mod pool;
mod progress;
mod recap;
mod retry;

pub use recap::{CONTROL_HOST, HostStatus, Recap, Stats};

use crate::cluster;
use crate::exit::{Exit, Failure, HasExit};
use crate::inventory::{self, Inventory, LoadOptions};
use crate::model::{ClusterModel, HostSpec};
use crate::output::{Format, Output, Paint};
use crate::playbook::{self, Action, AuthTarget, Serial, SerialSpec, Step};
use crate::registry::{self, CheckOptions, Status, Trust, ValidateOptions};
use crate::ssh::{self, Session};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

/// How registry logins are checked in the validate step.
#[derive(Debug, Clone)]
pub struct RegistryChecks {
    /// `--certs-dir`.
    pub certs_dir: Option<PathBuf>,
    /// Limit per attempt.
    pub timeout: Duration,
    /// Further attempts after transient failures.
    pub retries: u32,
    /// Pause between attempts.
    pub retry_delay: Duration,
}

/// Settings for `regauth run`.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// The playbook file.
    pub playbook: PathBuf,
    /// Inventory sources and vault password.
    pub load: LoadOptions,
    /// `--check`: change nothing, report what would change.
    pub check: bool,
    /// `--diff`: show per-host differences, secrets masked.
    pub diff: bool,
    /// `--limit`.
    pub limit: Option<String>,
    /// `--tags`.
    pub tags: Vec<String>,
    /// `--skip-tags`.
    pub skip_tags: Vec<String>,
    /// `--forks`.
    pub forks: usize,
    /// Cluster access.
    pub kube: cluster::ConnectOptions,
    /// SSH settings.
    pub ssh: ssh::ConnectOptions,
    /// Registry checks.
    pub checks: RegistryChecks,
}

/// Runs a playbook.
pub fn run(settings: &RunSettings, out: &Output) -> Result<Exit, Failure> {
    // The engine stops between hosts and steps on its own (`interrupted()`), so a
    // Ctrl-C is only recorded for the whole run; the recap still prints.
    let _engine = crate::interrupt::defer();
    let inv = inventory::load(&settings.load).map_err(Failure::from_err)?;
    for w in inv.warnings() {
        out.warn(w);
    }
    let model = crate::model::from_inventory(&inv).map_err(Failure::from_err)?;
    let book = playbook::load(&settings.playbook).map_err(Failure::from_err)?;
    let limit =
        limit::select(&inv, settings.limit.as_deref()).map_err(|m| Failure::new(Exit::Usage, m))?;
    let budget = session_budget(settings.forks, out);
    // Blocking threads (DNS lookups) bounded by --forks, not tokio's default of 512.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(settings.forks.max(1))
        .enable_all()
        .build()
        .map_err(|e| Failure::new(Exit::Unexpected, format!("starting the async runtime: {e}")))?;
    let mut engine = Engine {
        s: settings,
        out,
        inv: &inv,
        model: &model,
        limit,
        recap: Recap::default(),
        dead: BTreeSet::new(),
        changed: BTreeMap::new(),
        sessions: pool::Pool::new(budget),
        planned: Mutex::new(HashMap::new()),
        kube: None,
        rt,
        report: Vec::new(),
        aborted: false,
        check: settings.check,
        bar: None,
    };
    // A `serial` that cannot be read stops the run before anything is touched.
    for step in &book.steps {
        let spec = match &step.action {
            Action::AuthFiles { serial, .. } => serial.as_ref(),
            Action::RestartNodes { serial, .. } => Some(serial),
            _ => None,
        };
        if let Some(Err(m)) = spec.map(|s| engine.serial(s)) {
            return Err(Failure::new(Exit::Parse, format!("{}: {m}", step.origin)));
        }
    }
    let check = if settings.check { " (check mode)" } else { "" };
    engine.banner(&format!("PLAY [{}]{check}", book.name));
    for step in book
        .steps
        .iter()
        .filter(|s| s.selected(&settings.tags, &settings.skip_tags))
    {
        if crate::interrupt::interrupted() || engine.aborted {
            break;
        }
        engine.step(step);
    }
    engine.close_sessions();
    engine.finish(&book.name)
}

struct Engine<'a> {
    s: &'a RunSettings,
    out: &'a Output,
    inv: &'a Inventory,
    model: &'a ClusterModel,
    limit: Option<BTreeSet<String>>,
    recap: Recap,
    dead: BTreeSet<String>,
    /// Remote paths changed (or that would change) in this run, per host: a service
    /// restarts when the file it reads changed, whichever step wrote it.
    changed: BTreeMap<String, BTreeSet<String>>,
    sessions: pool::Pool,
    /// Check mode's planned file contents per host and path (see `files::update`).
    planned: Mutex<HashMap<String, HashMap<String, Vec<u8>>>>,
    kube: Option<kube::Client>,
    rt: tokio::runtime::Runtime,
    report: Vec<serde_json::Value>,
    aborted: bool,
    /// Check mode for the step being run (`--check`, or the step's `check_mode`).
    check: bool,
    /// The current step's progress bar (terminals only; piped output gets the lines alone).
    bar: Option<progress::Progress>,
}

/// One host's outcome of a step.
struct Outcome {
    host: String,
    status: HostStatus,
    message: String,
    diff: String,
}

impl<'a> Engine<'a> {
    fn text(&self) -> bool {
        self.out.format() != Format::Json
    }

    fn banner(&self, title: &str) {
        if self.text() {
            let stars = "*".repeat(72usize.saturating_sub(title.len() + 1).max(3));
            self.out.data(&format!("\n{title} {stars}"));
        }
    }

    fn step(&mut self, step: &Step) {
        self.check = step.check_mode.unwrap_or(self.s.check);
        self.banner(&format!("TASK [{}]", step.name));
        self.bar = self.progress(step);
        let outcomes = match &step.action {
            Action::Validate { stop_on_failure } => self.validate(*stop_on_failure),
            Action::ImageAvailability {
                stop_on_failure,
                upgrade_target,
            } => self.image_availability(*stop_on_failure, upgrade_target.as_deref()),
            Action::AuthFiles {
                hosts,
                files,
                serial,
            } => self.auth_files(hosts, files, serial.as_ref()),
            Action::ClusterSecrets { namespace } => self.cluster_secrets(namespace),
            Action::RestartNodes {
                only_changed,
                serial,
                wait_ready,
                ready_timeout,
            } => self.restart_nodes(*only_changed, serial, *wait_ready, *ready_timeout),
            Action::RestartMasters { only_changed } => self.restart_masters(*only_changed),
        };
        if let Some(b) = self.bar.take() {
            b.finish();
        }
        let mut results = Vec::new();
        // Registry checks run on the control host, as the installer's would on localhost:
        // one recap entry for the step, never a retry-file line (nothing was touched).
        let on_control_host = matches!(
            step.action,
            Action::Validate { .. } | Action::ImageAvailability { .. }
        );
        if on_control_host {
            let worst = outcomes
                .iter()
                .map(|o| o.status)
                .fold(HostStatus::Ok, |acc, s| match (acc, s) {
                    (HostStatus::Failed, _) | (_, HostStatus::Failed) => HostStatus::Failed,
                    _ => HostStatus::Ok,
                });
            self.recap.record(CONTROL_HOST, worst);
        }
        for o in outcomes {
            if !on_control_host {
                self.recap.record(&o.host, o.status);
                if matches!(o.status, HostStatus::Failed | HostStatus::Unreachable) {
                    self.dead.insert(o.host.clone());
                }
            }
            self.print_outcome(&o);
            results.push(json!({"host": o.host, "status": o.status.word(), "message": o.message, "diff": o.diff}));
        }
        self.report.push(json!({"name": step.name, "action": step.action.kind(), "tags": step.tags, "check_mode": self.check, "results": results}));
    }

    /// A bar counting the hosts of a host step, on a terminal only.
    fn progress(&self, step: &Step) -> Option<progress::Progress> {
        if !self.out.interactive() || !self.text() {
            return None;
        }
        let group = match &step.action {
            Action::AuthFiles { hosts, .. } => hosts.as_str(),
            Action::RestartNodes { .. } => "nodes",
            Action::RestartMasters { .. } => "masters",
            _ => return None,
        };
        Some(progress::Progress::new(self.hosts_of(group).len() as u64))
    }

    fn print_outcome(&self, o: &Outcome) {
        if !self.text() {
            return;
        }
        let (word, paint) = match o.status {
            HostStatus::Ok => ("ok", Paint::Green),
            HostStatus::Changed => ("changed", Paint::Yellow),
            HostStatus::Skipped => ("skipping", Paint::Cyan),
            HostStatus::Failed => ("fatal", Paint::Red),
            HostStatus::Unreachable => ("fatal", Paint::Red),
        };
        let msg = match o.status {
            HostStatus::Failed => format!(": FAILED! => {}", o.message),
            HostStatus::Unreachable => format!(": UNREACHABLE! => {}", o.message),
            _ if o.message.is_empty() => String::new(),
            _ => format!(" => {}", o.message),
        };
        self.out.data(&format!(
            "{}: [{}]{msg}",
            self.out.paint(word, paint),
            o.host
        ));
        if !o.diff.is_empty() {
            self.out.data(o.diff.trim_end());
        }
    }

    /// Hosts of a group that are in the model, selected by --limit and still alive.
    fn hosts_of(&self, group: &str) -> Vec<&'a HostSpec> {
        let mut hosts = self.play_hosts(group);
        hosts.retain(|h| !self.dead.contains(&h.name));
        hosts
    }

    /// Hosts of a group that are in the model and selected by --limit, those failed in
    /// earlier steps included: Ansible cuts `serial` batches over these (a failed host
    /// keeps its place in its batch, is not run, and is no new failure of the batch).
    fn play_hosts(&self, group: &str) -> Vec<&'a HostSpec> {
        let mut by_name: HashMap<&str, &'a HostSpec> = HashMap::new();
        for h in self.model.nodes.iter().chain(&self.model.masters) {
            by_name.entry(h.name.as_str()).or_insert(h);
        }
        self.inv
            .group_hosts(group)
            .into_iter()
            .filter_map(|n| by_name.get(n).copied())
            .filter(|h| self.limit.as_ref().is_none_or(|l| l.contains(&h.name)))
            .collect()
    }

    /// Whether the file a service of this host reads changed in this run.
    fn file_changed(&self, h: &HostSpec, target: AuthTarget) -> bool {
        self.changed
            .get(&h.name)
            .is_some_and(|c| c.contains(&files::path_of(h, target)))
    }

    /// A `serial` option: literal, or its variable from the cluster's variables (extra
    /// vars above all, as in Ansible; unset: every host in one batch, Ansible's default).
    fn serial(&self, spec: &SerialSpec) -> Result<Serial, String> {
        let var = match spec {
            SerialSpec::Literal(s) => return Ok(s.clone()),
            SerialSpec::Var(v) => v,
        };
        if var == "openshift_restart_nodes_serial" {
            return Ok(self.model.restart_nodes_serial.clone());
        }
        let value = self
            .inv
            .hosts()
            .first()
            .and_then(|h| self.inv.host_vars(h))
            .and_then(|vars| vars.get(var).map(|x| x.value.clone()));
        match value {
            Some(v) => Serial::from_value(&v).map_err(|m| format!("{var}: {m}")),
            None => Ok(Serial::default()),
        }
    }

    /// How the control host's registry checks run (validate and image steps).
    fn registry_options(&self) -> ValidateOptions {
        let c = &self.s.checks;
        ValidateOptions {
            check: CheckOptions {
                trust: Trust::new(c.certs_dir.clone()),
                proxies: self.model.proxies.clone(),
                timeout: c.timeout,
                retries: c.retries,
                retry_delay: c.retry_delay,
                shared: Default::default(),
            },
            forks: self.s.forks.max(1),
        }
    }

    fn validate(&mut self, stop_on_failure: bool) -> Vec<Outcome> {
        let opts = self.registry_options();
        let results = self
            .rt
            .block_on(registry::validate_all(&self.model.registries, &opts));
        let mut failed = false;
        let outcomes = results
            .into_iter()
            .map(|r| {
                let status = match r.status {
                    Status::Ok => HostStatus::Ok,
                    Status::Skipped => HostStatus::Skipped,
                    Status::Failed => {
                        failed = true;
                        HostStatus::Failed
                    }
                };
                // As Ansible's lines read: `ok: [registry] => robot can pull IMAGE from
                // HOST` (the message names the user); a failure says who and why.
                let message = match r.status {
                    Status::Ok => r.message.clone(),
                    Status::Skipped => format!("{}: {}", r.user, r.message),
                    Status::Failed => format!("{}: {}: {}", r.user, r.reason.as_str(), r.message),
                };
                Outcome {
                    host: r.registry.clone(),
                    status,
                    message,
                    diff: String::new(),
                }
            })
            .collect();
        if failed && stop_on_failure {
            // Nothing has been touched yet: stop here, as the installer's sanity checks do.
            self.aborted = true;
            self.out.warn(
                "a registry credential failed: stopping before any host or secret is touched",
            );
        }
        outcomes
    }

    /// Runs `f` on each host with its pooled session (connecting on first use).
    fn on_hosts<T: Send>(
        &self,
        hosts: &[&'a HostSpec],
        forks: usize,
        f: impl Fn(&Session, &HostSpec) -> Result<T, files::FilesError> + Sync,
    ) -> Vec<(String, Result<T, files::FilesError>)> {
        let results = ssh::for_each_host(hosts, forks, |h| {
            if crate::interrupt::interrupted() {
                return Ok(Err(files::FilesError::Refused(
                    "interrupted before this host was started".into(),
                )));
            }
            let r = self.sessions.with(
                &h.name,
                || ssh::connect(&h.ssh, &self.s.ssh),
                |sess| f(sess, h),
            );
            if let Some(p) = &self.bar {
                p.done(matches!(r, Ok(Ok(_))));
            }
            r
        });
        results
            .into_iter()
            .map(|(h, r)| {
                (
                    h.name.clone(),
                    r.map_err(files::FilesError::from).and_then(|x| x),
                )
            })
            .collect()
    }

    fn outcome_of_error(host: String, e: &files::FilesError) -> Outcome {
        let status = match e {
            files::FilesError::Ssh(s) if s.exit() == Exit::Unreachable => HostStatus::Unreachable,
            _ => HostStatus::Failed,
        };
        Outcome {
            host,
            status,
            message: e.to_string(),
            diff: String::new(),
        }
    }

    fn auth_files(
        &mut self,
        group: &str,
        targets: &[AuthTarget],
        serial: Option<&SerialSpec>,
    ) -> Vec<Outcome> {
        let hosts = self.play_hosts(group);
        // Checked before the first step.
        let serial = serial.map_or_else(Serial::default, |s| self.serial(s).unwrap_or_default());
        let (check, diff) = (self.check, self.s.diff);
        let mut outcomes = Vec::new();
        for batch in serial.split(&hosts) {
            let chunk = self.alive(batch);
            let start = outcomes.len();
            let forks = self.s.forks.clamp(1, chunk.len().max(1));
            let update = |sess: &Session, h: &HostSpec| {
                let mut mine = self
                    .planned
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&h.name)
                    .unwrap_or_default();
                let r = files::update(sess, h, targets, check, diff, &mut mine);
                if let (Ok(files), Some(p)) = (&r, &self.bar)
                    && files.iter().any(|f| f.changed)
                {
                    p.changed();
                }
                self.planned
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(h.name.clone(), mine);
                r
            };
            for (host, r) in self.on_hosts(&chunk, forks, update) {
                match r {
                    Ok(results) => {
                        let changed: Vec<&files::FileResult> =
                            results.iter().filter(|f| f.changed).collect();
                        let entry = self.changed.entry(host.clone()).or_default();
                        for f in &changed {
                            entry.insert(f.path.clone());
                        }
                        let message = changed
                            .iter()
                            .map(|f| f.path.as_str())
                            .collect::<Vec<_>>()
                            .join(", ");
                        outcomes.push(Outcome {
                            host,
                            status: if changed.is_empty() {
                                HostStatus::Ok
                            } else {
                                HostStatus::Changed
                            },
                            message,
                            diff: changed.iter().map(|f| f.diff.as_str()).collect(),
                        });
                    }
                    Err(e) => outcomes.push(Self::outcome_of_error(host, &e)),
                }
            }
            if crate::interrupt::interrupted()
                || self.whole_batch_failed(batch.len(), &outcomes[start..])
            {
                break;
            }
        }
        outcomes
    }

    /// The hosts of a batch not failed in an earlier step.
    fn alive(&self, batch: &[&'a HostSpec]) -> Vec<&'a HostSpec> {
        let mut hosts = batch.to_vec();
        hosts.retain(|h| !self.dead.contains(&h.name));
        hosts
    }

    /// Ansible's end of a play: when every host of a batch failed or was unreachable
    /// (`PlaybookExecutor.run`: `len(batch) == failed_hosts_count`; a play without
    /// `serial` is one batch), neither the later batches nor any later play start.
    /// Says so and stops the run.
    fn whole_batch_failed(&mut self, batch: usize, outcomes: &[Outcome]) -> bool {
        let failed = outcomes
            .iter()
            .filter(|o| matches!(o.status, HostStatus::Failed | HostStatus::Unreachable))
            .count();
        if batch == 0 || failed < batch {
            return false;
        }
        self.aborted = true;
        self.out.warn(&format!(
            "every host of a batch failed ({failed} of {batch}): stopping here, as \
             ansible-playbook does; later batches and steps are not started"
        ));
        true
    }

    /// The cluster client: the kubeconfig kubectl would use, else the first master's
    /// admin.kubeconfig read over SSH (in memory only), as the installer runs `oc` there.
    fn cluster_client(&mut self) -> Result<kube::Client, String> {
        if let Some(c) = &self.kube {
            return Ok(c.clone());
        }
        let client = if self.s.kube.is_configured() {
            self.rt
                .block_on(cluster::connect(&self.s.kube))
                .map_err(|e| e.to_string())?
                .0
        } else {
            let master = self
                .model
                .masters
                .iter()
                .find(|m| !self.dead.contains(&m.name))
                .ok_or("no kubeconfig (--kubeconfig, KUBECONFIG, ~/.kube/config) and no reachable master to read one from")?;
            const ADMIN: &str = "/etc/origin/master/admin.kubeconfig";
            let text = {
                let r = self.on_hosts(&[master], 1, |sess, _| Ok(ssh::read_files(sess, &[ADMIN])?));
                let file = r
                    .into_iter()
                    .next()
                    .map(|(_, r)| r)
                    .ok_or("no master")?
                    .map_err(|e| e.to_string())?;
                match file.into_iter().next() {
                    Some(ssh::RemoteFile::Present { contents, .. }) => {
                        zeroize::Zeroizing::new(contents)
                    }
                    _ => {
                        return Err(format!(
                            "{}: {ADMIN} not found; give --kubeconfig, or --skip-tags cluster",
                            master.name
                        ));
                    }
                }
            };
            self.out.status(&format!(
                "using {ADMIN} of {} (read over SSH, kept in memory only)",
                master.name
            ));
            let text = String::from_utf8_lossy(&text).into_owned();
            let text = zeroize::Zeroizing::new(text);
            self.rt
                .block_on(cluster::connect_with_kubeconfig_text(
                    &text,
                    self.s.kube.context.clone(),
                ))
                .map_err(|e| e.to_string())?
                .0
        };
        self.kube = Some(client.clone());
        Ok(client)
    }

    fn cluster_secrets(&mut self, namespace: &str) -> Vec<Outcome> {
        let who = self
            .model
            .masters
            .first()
            .map(|m| m.name.clone())
            .unwrap_or_else(|| "localhost".into());
        let manifests =
            match cluster::manifest::installer_secrets(&self.model.registries, namespace) {
                Ok(m) => m,
                Err(e) => {
                    return vec![Outcome {
                        host: who,
                        status: HostStatus::Failed,
                        message: e.to_string(),
                        diff: String::new(),
                    }];
                }
            };
        let client = match self.cluster_client() {
            Ok(c) => c,
            Err(e) => {
                return vec![Outcome {
                    host: who,
                    status: HostStatus::Failed,
                    message: format!("{e} (skip this step with --skip-tags cluster)"),
                    diff: String::new(),
                }];
            }
        };
        let mut changed = Vec::new();
        let mut diffs = String::new();
        for m in &manifests {
            let spec = m.to_spec(namespace);
            match self
                .rt
                .block_on(cluster::ensure_secret(&client, &spec, self.check))
            {
                Ok((c, d)) => {
                    if c != cluster::Change::Unchanged {
                        changed.push(format!(
                            "secret/{} {}",
                            spec.name,
                            if c == cluster::Change::Created {
                                "created"
                            } else {
                                "updated"
                            }
                        ));
                        if self.s.diff {
                            diffs.push_str(&d);
                        }
                    }
                }
                Err(e) => {
                    return vec![Outcome {
                        host: who,
                        status: HostStatus::Failed,
                        message: format!("secret/{}: {e}", spec.name),
                        diff: diffs,
                    }];
                }
            }
        }
        vec![Outcome {
            host: who,
            status: if changed.is_empty() {
                HostStatus::Ok
            } else {
                HostStatus::Changed
            },
            message: changed.join(", "),
            diff: diffs,
        }]
    }

    fn restart_nodes(
        &mut self,
        only_changed: bool,
        serial: &SerialSpec,
        wait_ready: bool,
        timeout: Duration,
    ) -> Vec<Outcome> {
        let candidates: Vec<&'a HostSpec> = self.play_hosts("nodes");
        // Batches over all the step's nodes, as Ansible's `serial` play over them
        // (unchanged nodes are skipped inside their batch); checked before the first step.
        let serial = self.serial(serial).unwrap_or_default();
        let batches: Vec<(usize, Vec<&HostSpec>, Vec<&HostSpec>)> = serial
            .split(&candidates)
            .into_iter()
            .map(|b| {
                let (todo, rest) = self
                    .alive(b)
                    .into_iter()
                    .partition(|h| !only_changed || self.file_changed(h, AuthTarget::Node));
                (b.len(), todo, rest)
            })
            .collect();
        let client = if wait_ready && !self.check && batches.iter().any(|b| !b.1.is_empty()) {
            match self.cluster_client() {
                Ok(c) => Some(c),
                Err(e) => {
                    self.out
                        .warn(&format!("node readiness is not checked: {e}"));
                    None
                }
            }
        } else {
            None
        };
        let mut outcomes: Vec<Outcome> = Vec::new();
        for (size, batch, rest) in &batches {
            if crate::interrupt::interrupted() {
                break;
            }
            if let Some(p) = &self.bar {
                p.skipped(rest.len() as u64);
            }
            outcomes.extend(rest.iter().map(|h| Outcome {
                host: h.name.clone(),
                status: HostStatus::Skipped,
                message: "node credentials unchanged".into(),
                diff: String::new(),
            }));
            if self.check {
                if let Some(p) = &self.bar {
                    p.would_change(batch.len() as u64);
                }
                outcomes.extend(batch.iter().map(|h| Outcome {
                    host: h.name.clone(),
                    status: HostStatus::Changed,
                    message: format!("would run: {}", h.node_restart_command),
                    diff: String::new(),
                }));
                continue;
            }
            if batch.is_empty() {
                continue;
            }
            let start = outcomes.len();
            let ran = self.on_hosts(batch, self.s.forks, |sess, h| {
                let r = restart(sess, &h.node_restart_command);
                if let (Ok(()), Some(p)) = (&r, &self.bar) {
                    p.changed();
                }
                r
            });
            for (host, r) in ran {
                let o = match r {
                    Err(e) => Self::outcome_of_error(host, &e),
                    Ok(()) => match &client {
                        Some(c) => match self.rt.block_on(cluster::wait_node_ready(
                            c,
                            &host,
                            timeout,
                            Duration::from_secs(1),
                        )) {
                            Ok(()) => Outcome {
                                host,
                                status: HostStatus::Changed,
                                message: "restarted, Ready".into(),
                                diff: String::new(),
                            },
                            Err(e) => Outcome {
                                host,
                                status: HostStatus::Failed,
                                message: e.to_string(),
                                diff: String::new(),
                            },
                        },
                        None => Outcome {
                            host,
                            status: HostStatus::Changed,
                            message: "restarted (readiness not checked)".into(),
                            diff: String::new(),
                        },
                    },
                };
                outcomes.push(o);
            }
            if self.whole_batch_failed(*size, &outcomes[start..]) {
                break;
            }
        }
        outcomes
    }

    fn restart_masters(&mut self, only_changed: bool) -> Vec<Outcome> {
        let masters = self.hosts_of("masters");
        let mut outcomes = Vec::new();
        for h in masters {
            if crate::interrupt::interrupted() {
                break;
            }
            let changed = self.file_changed(h, AuthTarget::Master);
            if only_changed && !changed {
                if let Some(p) = &self.bar {
                    p.skipped(1);
                }
                outcomes.push(Outcome {
                    host: h.name.clone(),
                    status: HostStatus::Skipped,
                    message: "master credentials unchanged".into(),
                    diff: String::new(),
                });
                continue;
            }
            if self.check {
                if let Some(p) = &self.bar {
                    p.would_change(1);
                }
                outcomes.push(Outcome {
                    host: h.name.clone(),
                    status: HostStatus::Changed,
                    message: format!("would run: {}", h.master_restart_command),
                    diff: String::new(),
                });
                continue;
            }
            // One master at a time: the API stays served by the others.
            let start = outcomes.len();
            for (host, r) in self.on_hosts(&[h], 1, |sess, h| {
                let r = restart(sess, &h.master_restart_command);
                if let (Ok(()), Some(p)) = (&r, &self.bar) {
                    p.changed();
                }
                r
            }) {
                outcomes.push(match r {
                    Ok(()) => Outcome {
                        host,
                        status: HostStatus::Changed,
                        message: "restarted".into(),
                        diff: String::new(),
                    },
                    Err(e) => Self::outcome_of_error(host, &e),
                });
            }
            // The installer's master restarts are a `serial: 1` play: a master that
            // fails ends the run before the next one goes down too.
            if self.whole_batch_failed(1, &outcomes[start..]) {
                break;
            }
        }
        outcomes
    }

    fn close_sessions(&mut self) {
        let (handshakes, reconnects) = self.sessions.counts();
        tracing::info!(
            handshakes,
            reconnects,
            budget = self.sessions.budget(),
            "SSH sessions"
        );
        self.sessions.close();
    }

    fn finish(self, name: &str) -> Result<Exit, Failure> {
        let interrupted = crate::interrupt::interrupted();
        let failed = self.recap.failed_hosts();
        let retry = if failed.is_empty() {
            None
        } else {
            match retry::write(&self.s.playbook, &failed) {
                Ok(p) => Some(p),
                Err(e) => {
                    self.out.warn(&e);
                    None
                }
            }
        };
        if self.text() {
            // ansible-playbook's line and place: stdout, just before the recap.
            if let Some(p) = &retry {
                self.out
                    .data(&format!("\tto retry, use: --limit @{}", p.display()));
            }
            self.banner("PLAY RECAP");
            for line in self.recap.lines() {
                self.out.data(&line);
            }
        } else {
            self.out.json(&json!({
                "playbook": name,
                "check_mode": self.s.check,
                "steps": self.report,
                "stats": self.recap.hosts,
                "retry_file": retry.as_ref().map(|p| p.display().to_string()),
                "interrupted": interrupted,
            }));
        }
        if interrupted {
            return Ok(Exit::Interrupted);
        }
        Ok(self.recap.exit())
    }
}

/// Raises the descriptor limit and derives the session budget from it and `--forks`,
/// saying so when it holds fewer sessions than `--forks` would run at once.
fn session_budget(forks: usize, out: &Output) -> usize {
    let limit = ssh::raise_nofile_limit();
    let budget = pool::budget(forks.max(1), limit, pool::open_descriptors());
    if budget < forks {
        out.warn(&format!(
            "the descriptor limit ({limit}, `ulimit -n`) leaves room for {} SSH session(s) at \
             once, fewer than --forks {forks}: hosts are reached {} at a time (raise \
             `ulimit -n` or lower --forks)",
            budget.max(1),
            budget.max(1)
        ));
    }
    budget
}

/// Runs a restart command; a non-zero exit fails the host with the command's output.
fn restart(session: &Session, command: &str) -> Result<(), files::FilesError> {
    let r = ssh::run(session, command)?;
    if r.success() {
        return Ok(());
    }
    Err(files::FilesError::Refused(format!(
        "`{command}` failed (exit {:?}): {}",
        r.status,
        String::from_utf8_lossy(&r.output).trim()
    )))
}
