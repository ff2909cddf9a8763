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

/// Options shared by every command.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// More detail on stderr: -v info, -vv debug, -vvv trace (RUST_LOG also works).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Output format for results on stdout.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Text, global = true)]
    pub output: OutputFormat,
    /// When to colour the output (NO_COLOR is honoured with auto).
    #[arg(long, value_enum, default_value_t = Color::Auto, global = true)]
    pub color: Color,
    /// Directory of per-registry CA directories (HOST[:PORT]/*.crt), instead of
    /// /etc/containers/certs.d and /etc/docker/certs.d.
    #[arg(long, value_name = "DIR", global = true)]
    pub certs_dir: Option<PathBuf>,
}

/// Result formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Lines for people.
    Text,
    /// JSON for programs.
    Json,
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

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse inventories exactly as ansible-inventory does.
    Inventory(InventoryCmd),
    /// Check every registry credential the inventory defines, from this host, in parallel.
    Validate(ValidateCmd),
}

/// `regauth validate`.
#[derive(Debug, Args)]
pub struct ValidateCmd {
    /// The inventory sources.
    #[command(flatten)]
    pub inv: InventoryArgs,
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
