//! The command-line definition (clap) and its translation into validated settings.
//! Domain code never sees clap types: `args` holds them, `main` turns them into
//! the `commands` layer's inputs and maps every outcome to an exit code.

mod args;

pub use args::{Cli, Command, GlobalArgs, InventoryArgs, OutputFormat};

use crate::exit::Exit;
use crate::output::{ColorChoice, Output};
use clap::Parser;
use std::process::ExitCode;

/// Parses the process arguments, runs the chosen command and returns its exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            let code = match e.kind() {
                ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => Exit::Ok,
                _ => Exit::Usage,
            };
            let _ = e.print();
            return code.into();
        }
    };
    let out = Output::new(
        cli.global.verbose,
        cli.global.quiet,
        match cli.global.output {
            OutputFormat::Text => crate::output::Format::Text,
            OutputFormat::Json => crate::output::Format::Json,
        },
        match cli.global.color {
            args::Color::Auto => ColorChoice::Auto,
            args::Color::Always => ColorChoice::Always,
            args::Color::Never => ColorChoice::Never,
        },
    );
    out.init_tracing();
    let result = dispatch(cli.command, &cli.global, &out);
    match result {
        Ok(exit) => exit.into(),
        Err(failure) => {
            out.error(&failure.message);
            failure.exit.into()
        }
    }
}

fn dispatch(
    command: Command,
    global: &GlobalArgs,
    out: &Output,
) -> Result<Exit, crate::exit::Failure> {
    use crate::commands;
    match command {
        Command::Inventory(c) => {
            let mode = match (c.host, c.graph) {
                (Some(h), _) => commands::inventory::Mode::Host(h),
                (None, true) => {
                    commands::inventory::Mode::Graph(c.group.unwrap_or_else(|| "all".into()))
                }
                (None, false) => commands::inventory::Mode::List,
            };
            let settings = commands::inventory::Settings {
                load: load_options(&c.inv),
                mode,
                show_secrets: c.show_secrets,
            };
            commands::inventory::run(&settings, out)
        }
        Command::Validate(c) => {
            let settings = commands::validate::Settings {
                load: load_options(&c.inv),
                checks: commands::validate::Checks {
                    registries: c.registries,
                    forks: usize::from(c.forks),
                    timeout: std::time::Duration::from_secs_f64(c.timeout),
                    retries: c.retries,
                    retry_delay: std::time::Duration::from_secs_f64(c.retry_delay),
                    certs_dir: global.certs_dir.clone(),
                },
            };
            commands::validate::run(&settings, out)
        }
    }
}

/// The inventory sources and vault password as the domain takes them.
fn load_options(inv: &InventoryArgs) -> crate::inventory::LoadOptions {
    crate::inventory::LoadOptions {
        sources: inv.inventory.clone(),
        vault_password_file: inv.vault_password_file.clone(),
    }
}
