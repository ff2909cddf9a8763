//! `regauth inventory`: print inventories as ansible-inventory does.

use crate::exit::{Exit, Failure};
use crate::inventory::{self, LoadOptions, Secrets};
use crate::output::Output;

/// What to print.
#[derive(Debug, Clone)]
pub enum Mode {
    /// The whole inventory as JSON (`--list`).
    List,
    /// One host's variables (`--host`).
    Host(String),
    /// The group tree from a group (`--graph [GROUP]`).
    Graph(String),
}

/// Settings for `regauth inventory`.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Sources and vault password.
    pub load: LoadOptions,
    /// What to print.
    pub mode: Mode,
    /// Print secret values instead of masking them.
    pub show_secrets: bool,
}

/// Loads the inventory and prints it.
pub fn run(settings: &Settings, out: &Output) -> Result<Exit, Failure> {
    let inv = inventory::load(&settings.load).map_err(Failure::from_err)?;
    for w in inv.warnings() {
        out.warn(w);
    }
    let secrets = if settings.show_secrets {
        Secrets::Show
    } else {
        Secrets::Mask
    };
    match &settings.mode {
        Mode::List => out.data(&inv.list_json(secrets)),
        Mode::Host(h) => match inv.host_json(h, secrets) {
            Some(j) => out.data(&j),
            None => {
                return Err(Failure::new(
                    Exit::Usage,
                    format!(
                        "You must pass a single valid host to --host parameter: '{h}' is not in the inventory"
                    ),
                ));
            }
        },
        Mode::Graph(g) => match inv.graph(g) {
            Some(text) => out.data(&text),
            None => {
                return Err(Failure::new(
                    Exit::Usage,
                    format!("Pattern must be valid group name when using --graph: no group '{g}'"),
                ));
            }
        },
    }
    Ok(Exit::Ok)
}
