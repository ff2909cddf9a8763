//! clap structures: the contract of SPEC.md ("flags may be added, not renamed").

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Validate and distribute container-registry credentials for OpenShift clusters.
#[derive(Debug, Parser)]
#[command(name = "regauth", version, about, propagate_version = true)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The heading global options are listed under in every command's help, apart from
/// the command's own.
const GLOBAL: &str = "Global options";

/// Options every command takes, before or after its name.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// More detail on stderr: -v info, -vv debug, -vvv trace (RUST_LOG also works).
    #[arg(short, long, action = clap::ArgAction::Count, global = true, help_heading = GLOBAL)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose", help_heading = GLOBAL)]
    pub quiet: bool,
    /// Results on stdout as text or json (`secret create` and `secret render` print
    /// their Kubernetes objects as YAML for text, and take -o yaml too).
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Text, global = true,
          help_heading = GLOBAL)]
    pub output: OutputFormat,
    /// When to colour the output (NO_COLOR is honoured with auto).
    #[arg(long, value_enum, default_value_t = Color::Auto, global = true, help_heading = GLOBAL)]
    pub color: Color,
    /// `--certs-dir` given before the command name (SPEC.md lists it with the global
    /// options); shown with the commands that contact registries, which take it too.
    #[arg(long, value_name = "DIR", hide = true)]
    pub certs_dir: Option<PathBuf>,
}

/// Registry CAs, for the commands that contact registries.
#[derive(Debug, Args, Clone)]
pub struct CertsArgs {
    /// Directory of per-registry CA directories (HOST[:PORT]/*.crt), instead of
    /// /etc/containers/certs.d and /etc/docker/certs.d.
    #[arg(long, value_name = "DIR")]
    pub certs_dir: Option<PathBuf>,
}

/// Result formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Lines for people.
    Text,
    /// JSON for programs.
    Json,
    /// YAML, for commands that print Kubernetes objects (`secret create`, `secret render`).
    #[value(hide = true)]
    Yaml,
}

/// Colour choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// Colour when stderr/stdout is a terminal and NO_COLOR is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// Where the inventory comes from, as ansible-playbook takes it.
#[derive(Debug, Args, Clone)]
pub struct InventoryArgs {
    /// Inventory file or directory (repeatable), INI or YAML, Ansible semantics.
    #[arg(short = 'i', long = "inventory", value_name = "INV", required = true)]
    pub inventory: Vec<PathBuf>,
    /// File holding the Ansible vault password.
    #[arg(
        long,
        value_name = "FILE",
        env = "ANSIBLE_VAULT_PASSWORD_FILE",
        hide_env_values = true
    )]
    pub vault_password_file: Option<PathBuf>,
}

/// `-e`, as ansible-playbook takes it.
#[derive(Debug, Clone, Args)]
pub struct ExtraVarsArgs {
    /// Extra variables, above every inventory variable, as ansible-playbook -e: `K=V ...`,
    /// a YAML/JSON mapping, or @FILE (YAML/JSON, vault-encrypted or with !vault values);
    /// repeatable, later wins. Secrets only in @FILE (argv is world-readable).
    #[arg(short = 'e', long = "extra-vars", value_name = "VARS")]
    pub extra_vars: Vec<String>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse inventories exactly as ansible-inventory does.
    Inventory(InventoryCmd),
    /// Check every registry credential the inventory defines, from this host, in parallel.
    Validate(ValidateCmd),
    /// Run a playbook: install.yml, upgrade.yml, registry_auth.yml or validate.yml.
    Run(RunCmd),
    /// Check a registry credential, then merge it into a Docker/Podman auth file.
    Login(LoginCmd),
    /// Kubernetes Secrets holding registry credentials.
    #[command(subcommand)]
    Secret(SecretCmd),
    /// Grant cluster roles (oc policy add-role-to-user/-group).
    #[command(subcommand)]
    Grant(GrantCmd),
    /// The OpenShift 4 global pull secret (openshift-config/pull-secret).
    #[command(subcommand)]
    PullSecret(PullSecretCmd),
}

/// Where the cluster is, as kubectl finds it: --kubeconfig, else KUBECONFIG, else
/// ~/.kube/config, else the in-cluster service account.
#[derive(Debug, Args, Clone)]
pub struct KubeArgs {
    /// Path to the kubeconfig file.
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use.
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
}

/// `--dry-run` as kubectl takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DryRun {
    /// Print what would be sent; contact no cluster.
    Client,
    /// Ask the API server to validate without persisting (dryRun=All).
    Server,
    /// Really apply.
    None,
}

/// `regauth grant ...`.
#[derive(Debug, Subcommand)]
pub enum GrantCmd {
    /// Let service accounts of one namespace pull images from another
    /// (ClusterRole system:image-puller, like oc policy add-role-to-user/-group).
    ImagePuller(GrantImagePullerCmd),
}

/// `regauth grant image-puller`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("who").required(true).args(["service_account", "all_service_accounts"])))]
pub struct GrantImagePullerCmd {
    /// Namespace of the service accounts that pull.
    #[arg(long, value_name = "NS")]
    pub from_namespace: String,
    /// One service account of --from-namespace.
    #[arg(long, value_name = "NAME")]
    pub service_account: Option<String>,
    /// Every service account of --from-namespace (group system:serviceaccounts:NS).
    #[arg(long)]
    pub all_service_accounts: bool,
    /// Namespace whose images may be pulled.
    #[arg(long, value_name = "NS")]
    pub to_namespace: String,
    /// Validate on the server without persisting.
    #[arg(long)]
    pub dry_run: bool,
    /// Cluster access.
    #[command(flatten)]
    pub kube: KubeArgs,
}

/// `regauth pull-secret ...`.
#[derive(Debug, Subcommand)]
pub enum PullSecretCmd {
    /// Add or replace registry credentials in openshift-config/pull-secret; the cluster
    /// rolls it out to every node.
    Update(PullSecretUpdateCmd),
}

/// `regauth pull-secret update`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["from", "registry"])))]
pub struct PullSecretUpdateCmd {
    /// A Docker config.json or Podman auth.json whose entries to use.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["registry", "username", "password_stdin"])]
    pub from: Option<PathBuf>,
    /// One registry (optionally with a repository path) to add.
    #[arg(long, value_name = "REGISTRY[/PATH]", requires_all = ["username", "password_stdin"])]
    pub registry: Option<String>,
    /// User name for --registry.
    #[arg(long, short = 'u', value_name = "USER")]
    pub username: Option<String>,
    /// Read the password for --registry from standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// Merge into the existing entries, leaving every other registry untouched (default).
    #[arg(long, conflicts_with = "replace")]
    pub append: bool,
    /// Make the given entries the whole pull secret.
    #[arg(long)]
    pub replace: bool,
    /// Show the masked diff and validate on the server, persisting nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Write without checking new or changed credentials against their registries.
    #[arg(long)]
    pub skip_check: bool,
    /// How each credential is checked.
    #[command(flatten)]
    pub check: CheckArgs,
    /// After writing, follow the Machine Config Operator's rollout until every
    /// MachineConfigPool is Updated on a newly rendered config.
    #[arg(long, conflicts_with = "dry_run")]
    pub wait: bool,
    /// Seconds --wait may take before failing with the machine counts.
    #[arg(long, value_name = "S", default_value_t = 1800.0, value_parser = positive_seconds, requires = "wait")]
    pub wait_timeout: f64,
    /// Seconds between two looks at the MachineConfigPools during --wait.
    #[arg(long, value_name = "S", default_value_t = 5.0, value_parser = positive_seconds, requires = "wait")]
    pub wait_interval: f64,
    /// Cluster access.
    #[command(flatten)]
    pub kube: KubeArgs,
}

/// `regauth validate`.
#[derive(Debug, Args)]
// -i is one credential source among several here; the group requires exactly one.
#[command(mut_arg("inventory", |a| a.required(false)))]
#[command(group(clap::ArgGroup::new("credentials").required(true)
    .args(["inventory", "authfile", "install_config", "from_cluster"])))]
pub struct ValidateCmd {
    /// The inventory sources.
    #[command(flatten)]
    pub inv: InventoryArgs,
    /// Check every entry of this Docker config.json, Podman auth.json or legacy .dockercfg.
    #[arg(long, value_name = "FILE")]
    pub authfile: Option<PathBuf>,
    /// Check an OpenShift 4 install-config.yaml: every pullSecret entry (trusting its
    /// additionalTrustBundle) and every imageContentSources/imageDigestSources mirror.
    #[arg(long, value_name = "FILE")]
    pub install_config: Option<PathBuf>,
    /// Check the cluster's global pull secret (openshift-config/pull-secret).
    #[arg(long)]
    pub from_cluster: bool,
    /// With --from-cluster: also every dockerconfigjson/dockercfg Secret of this namespace (repeatable).
    // `requires = "from_cluster"` would be met by the flag's default; conflicts are not.
    #[arg(short = 'n', long = "namespace", value_name = "NS",
          conflicts_with_all = ["inventory", "authfile", "install_config"])]
    pub namespaces: Vec<String>,
    /// With --from-cluster: also every dockerconfigjson/dockercfg Secret of every namespace.
    #[arg(short = 'A', long, conflicts_with_all = ["namespaces", "inventory", "authfile", "install_config"])]
    pub all_namespaces: bool,
    /// Check that credential by pulling IMAGE's manifest instead of logging in (KEY as the
    /// source writes it: `quay.io`, `reg:5000/team`; IMAGE with or without the host; repeatable).
    #[arg(long, value_name = "KEY=IMAGE")]
    pub test_image: Vec<String>,
    /// Can this release image be pulled? Tried through its mirrors in CRI-O's order
    /// (install-config's, or the cluster's ImageContentSourcePolicy/ImageDigestMirrorSet/
    /// ImageTagMirrorSet objects), then from its source.
    #[arg(long, value_name = "REF")]
    pub release_image: Option<String>,
    /// With -i: also check every image an install run would pull (the installer's
    /// docker_image_availability), once each, with the nodes' credentials.
    #[arg(long)]
    pub images: bool,
    /// Cluster access for --from-cluster.
    #[command(flatten)]
    pub kube: KubeArgs,
    /// Extra vars.
    #[command(flatten)]
    pub extra: ExtraVarsArgs,
    /// Check only this registry host (HOST[:PORT], repeatable).
    #[arg(long = "registry", value_name = "HOST")]
    pub registries: Vec<String>,
    /// Credentials checked at once (checks wait on the network, not the CPU).
    #[arg(short = 'f', long, value_name = "N", default_value_t = crate::registry::DEFAULT_FORKS,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub forks: u16,
    /// Seconds one attempt may take (the installer's skopeo timeout is 60).
    #[arg(long, value_name = "S", default_value_t = 60.0, value_parser = positive_seconds)]
    pub timeout: f64,
    /// Further attempts after a transient failure (unreachable, timeout, 5xx, 429).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub retries: u32,
    /// Seconds between attempts, unless the registry sends Retry-After.
    #[arg(long, value_name = "S", default_value_t = 5.0, value_parser = non_negative_seconds)]
    pub retry_delay: f64,
    /// Registry CAs.
    #[command(flatten)]
    pub certs: CertsArgs,
}

fn seconds(s: &str, min_exclusive: bool) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    let ok = v.is_finite() && v <= 86_400.0 && if min_exclusive { v > 0.0 } else { v >= 0.0 };
    if ok {
        Ok(v)
    } else {
        Err(format!("`{s}` is out of range"))
    }
}

fn positive_seconds(s: &str) -> Result<f64, String> {
    seconds(s, true)
}

fn non_negative_seconds(s: &str) -> Result<f64, String> {
    seconds(s, false)
}

/// `regauth inventory`.
#[derive(Debug, Args)]
pub struct InventoryCmd {
    /// The inventory sources.
    #[command(flatten)]
    pub inv: InventoryArgs,
    /// Print the whole inventory as ansible-inventory --list does (the default).
    #[arg(long, group = "mode")]
    pub list: bool,
    /// Print one host's merged variables.
    #[arg(long, value_name = "HOST", group = "mode")]
    pub host: Option<String>,
    /// Draw the group tree.
    #[arg(long, group = "mode")]
    pub graph: bool,
    /// Show secret values instead of masking them.
    #[arg(long)]
    pub show_secrets: bool,
    /// With --graph, the group to start from.
    #[arg(value_name = "GROUP", requires = "graph")]
    pub group: Option<String>,
}

/// `regauth login`: like `podman login --authfile` / `oc registry login --to`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("password").required(true).args(["password_stdin", "auth_basic_file"])))]
pub struct LoginCmd {
    /// Registry to log in to, optionally with a repository path (podman's
    /// repository-scoped logins), e.g. quay.io/team; an https:// URL is reduced to its host.
    #[arg(long, value_name = "REGISTRY[/PATH]")]
    pub registry: String,
    /// Auth file to merge the credential into. Default: $REGISTRY_AUTH_FILE, else
    /// ${XDG_RUNTIME_DIR}/containers/auth.json, else ~/.config/containers/auth.json.
    #[arg(long, visible_alias = "authfile", value_name = "FILE")]
    pub to: Option<PathBuf>,
    /// User name (required with --password-stdin).
    #[arg(long, short = 'u', value_name = "USER")]
    pub username: Option<String>,
    /// Read the password from standard input (one trailing newline is dropped).
    #[arg(long)]
    pub password_stdin: bool,
    /// Read `user:password` from this file (the password may contain ':').
    #[arg(long, value_name = "FILE")]
    pub auth_basic_file: Option<PathBuf>,
    /// Write without checking the credential against the registry first.
    #[arg(long)]
    pub skip_check: bool,
    /// Verify the registry's TLS certificate when checking (--tls-verify=false to skip).
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set,
          num_args = 0..=1, default_missing_value = "true")]
    pub tls_verify: bool,
    /// How the credential is checked.
    #[command(flatten)]
    pub check: CheckArgs,
}

/// How `login` and `pull-secret update` check a credential before writing it.
#[derive(Debug, Args, Clone)]
pub struct CheckArgs {
    /// Seconds one check attempt may take (as validate).
    #[arg(long, value_name = "S", default_value_t = 60.0, value_parser = positive_seconds)]
    pub timeout: f64,
    /// Further check attempts after a transient failure (unreachable, timeout, 5xx, 429).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub retries: u32,
    /// Seconds between check attempts, unless the registry sends Retry-After.
    #[arg(long, value_name = "S", default_value_t = 5.0, value_parser = non_negative_seconds)]
    pub retry_delay: f64,
    /// Registry CAs.
    #[command(flatten)]
    pub certs: CertsArgs,
}

/// `regauth secret …`.
#[derive(Debug, Subcommand)]
pub enum SecretCmd {
    /// Create (or bring up to date) a registry-credential Secret, like `kubectl create
    /// secret docker-registry` or `oc create secret generic --from-file=.dockerconfigjson=F`.
    /// --dry-run (=client) prints it: YAML by default or with -o yaml, JSON with -o json.
    Create(SecretCreateCmd),
    /// Print the Secrets the cluster step would apply for an inventory, as a YAML
    /// stream (for GitOps); needs no cluster.
    Render(SecretRenderCmd),
    /// Add a secret to a service account, like `oc secrets link`.
    Link(SecretLinkCmd),
}

/// `regauth secret render`.
#[derive(Debug, Args)]
pub struct SecretRenderCmd {
    /// The inventory sources.
    #[command(flatten)]
    pub inv: InventoryArgs,
    /// Extra vars.
    #[command(flatten)]
    pub extra: ExtraVarsArgs,
    /// Namespace of the secrets (the installer uses openshift).
    #[arg(long, short = 'n', value_name = "NS", default_value = "openshift")]
    pub namespace: String,
    /// Also give each secret an entry, with the same credentials, for the host the
    /// registry's token service lives on when that is another host (e.g.
    /// sso.redhat.com); asks each registry's /v2/ (without credentials) to learn it.
    #[arg(long)]
    pub include_auth_host: bool,
    /// Registry CAs, for --include-auth-host.
    #[command(flatten)]
    pub certs: CertsArgs,
}

/// What a linked secret is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LinkFor {
    /// imagePullSecrets: pulling the pod's images.
    Pull,
    /// secrets: mountable by the pods.
    Mount,
}

/// `regauth secret link`.
#[derive(Debug, Args)]
pub struct SecretLinkCmd {
    /// The service account.
    pub service_account: String,
    /// The secret to link.
    pub secret: String,
    /// Namespace (default: the kubeconfig context's).
    #[arg(long, short = 'n', value_name = "NS")]
    pub namespace: Option<String>,
    /// What the secret is for: pull, mount or both (pull,mount); oc's default is mount.
    #[arg(
        long = "for",
        value_enum,
        value_delimiter = ',',
        default_value = "mount"
    )]
    pub for_: Vec<LinkFor>,
    /// Validate on the server without persisting.
    #[arg(long)]
    pub dry_run: bool,
    /// Cluster access.
    #[command(flatten)]
    pub kube: KubeArgs,
}

/// `regauth secret create`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["from_file", "docker_username"])))]
pub struct SecretCreateCmd {
    /// The Secret's name.
    pub name: String,
    /// The Secret's namespace (omitted from the manifest when not given, as kubectl does).
    #[arg(long, short = 'n', value_name = "NS")]
    pub namespace: Option<String>,
    /// A Docker config.json, Podman auth.json (type kubernetes.io/dockerconfigjson)
    /// or legacy .dockercfg (type kubernetes.io/dockercfg), taken verbatim.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["docker_server", "docker_email", "password_stdin"])]
    pub from_file: Option<PathBuf>,
    /// Registry server, written verbatim as the key (kubectl's default).
    #[arg(
        long,
        value_name = "SERVER",
        default_value = "https://index.docker.io/v1/"
    )]
    pub docker_server: String,
    /// User name for the registry.
    #[arg(long, value_name = "USER", requires = "password_stdin")]
    pub docker_username: Option<String>,
    /// Read the registry password from standard input (one trailing newline is dropped).
    #[arg(long)]
    pub password_stdin: bool,
    /// E-mail recorded in the entry, as kubectl's --docker-email.
    #[arg(long, value_name = "EMAIL")]
    pub docker_email: Option<String>,
    /// Also add an entry, with the same credentials, for the host --docker-server's
    /// token service lives on when that is another host (asks the server's /v2/,
    /// without credentials, to learn it).
    #[arg(long, conflicts_with = "from_file")]
    pub include_auth_host: bool,
    /// client: only print the manifest; server: let the API server validate it without
    /// persisting; none (default): apply it.
    #[arg(long, value_enum, value_name = "MODE", num_args = 0..=1, default_missing_value = "client", default_value = "none")]
    pub dry_run: DryRun,
    /// Cluster access (not needed with --dry-run=client).
    #[command(flatten)]
    pub kube: KubeArgs,
    /// Registry CAs, for --include-auth-host.
    #[command(flatten)]
    pub certs: CertsArgs,
}

/// `regauth run`: like ansible-playbook.
#[derive(Debug, Args)]
pub struct RunCmd {
    /// The playbook file (see playbooks/).
    pub playbook: PathBuf,
    /// The inventory sources.
    #[command(flatten)]
    pub inv: InventoryArgs,
    /// Change nothing; report what would change (servers still validate secrets with dryRun).
    #[arg(short = 'C', long)]
    pub check: bool,
    /// Show per-host differences of files and secrets, every secret value masked.
    #[arg(short = 'D', long)]
    pub diff: bool,
    /// Only these hosts: names, groups, globs, !exclusions, &intersections, or @RETRYFILE.
    #[arg(short = 'l', long, value_name = "PATTERN")]
    pub limit: Option<String>,
    /// Only steps with one of these tags.
    #[arg(short = 't', long, value_delimiter = ',', value_name = "TAGS")]
    pub tags: Vec<String>,
    /// Leave out steps with one of these tags (e.g. cluster when no API server is reachable).
    #[arg(long, value_delimiter = ',', value_name = "TAGS")]
    pub skip_tags: Vec<String>,
    /// Hosts worked on at once.
    #[arg(short = 'f', long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..))]
    pub forks: u16,
    /// Extra vars.
    #[command(flatten)]
    pub extra: ExtraVarsArgs,
    /// Cluster access.
    #[command(flatten)]
    pub kube: KubeArgs,
    /// known_hosts file to check host keys against (default ~/.ssh/known_hosts).
    #[arg(long, value_name = "FILE")]
    pub known_hosts: Option<PathBuf>,
    /// Record unknown hosts' keys (StrictHostKeyChecking=accept-new); changed keys are always refused.
    #[arg(long)]
    pub accept_new_host_keys: bool,
    /// SSH connection timeout in seconds.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub timeout: f64,
    /// Limit for each remote command in seconds.
    #[arg(long, default_value_t = 120.0, value_name = "SECONDS")]
    pub command_timeout: f64,
    /// Limit per registry check attempt in seconds.
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS")]
    pub registry_timeout: f64,
    /// Further attempts after a transient registry failure.
    #[arg(long, default_value_t = 3)]
    pub retries: u32,
    /// Seconds between registry attempts.
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS")]
    pub retry_delay: f64,
    /// Registry CAs.
    #[command(flatten)]
    pub certs: CertsArgs,
}
