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
