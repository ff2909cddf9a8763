//! The command-line definition (clap) and its translation into validated settings.
//! Domain code never sees clap types: `args` holds them, `main` turns them into
//! the `commands` layer's inputs and maps every outcome to an exit code.

mod args;

use crate::commands;
pub use args::{Cli, Command, GlobalArgs, InventoryArgs, OutputFormat};
use args::{DryRun, ExtraVarsArgs, GrantCmd, KubeArgs, LinkFor, PullSecretCmd};
use args::{LoginCmd, SecretCmd, SecretCreateCmd};

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
            // YAML is only meaningful for commands printing objects, which handle it.
            OutputFormat::Text | OutputFormat::Yaml => crate::output::Format::Text,
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
    let exit = match result {
        Ok(exit) => exit,
        Err(failure) => {
            out.error(&failure.message);
            failure.exit
        }
    };
    // A Ctrl-C recorded during a section that finished its work (a write, a run that
    // wound down, a password script that died of it) still ends with 99.
    if crate::interrupt::interrupted() && exit != Exit::Interrupted {
        out.error("User interrupted execution");
        return Exit::Interrupted.into();
    }
    exit.into()
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
                load: load_options(&c.inv, None),
                mode,
                show_secrets: c.show_secrets,
            };
            commands::inventory::run(&settings, out)
        }
        Command::Validate(c) => {
            let source = validate_source(&c);
            let settings = commands::validate::Settings {
                load: load_options(&c.inv, Some(&c.extra)),
                checks: commands::validate::Checks {
                    registries: c.registries,
                    forks: usize::from(c.forks),
                    timeout: std::time::Duration::from_secs_f64(c.timeout),
                    retries: c.retries,
                    retry_delay: std::time::Duration::from_secs_f64(c.retry_delay),
                    certs_dir: certs_dir(&c.certs, global),
                },
                source,
                test_images: c.test_image,
                release_image: c.release_image,
                images: c.images,
            };
            commands::validate::run(&settings, out)
        }
        Command::Run(c) => commands::run(&run_settings(c, global)?, out),
        Command::Login(cmd) => {
            let settings = login_settings(cmd, global);
            crate::commands::login::run(&settings, out, &mut std::io::stdin().lock())
        }
        Command::Secret(SecretCmd::Create(cmd)) => commands::secret::run(
            &secret_create_settings(cmd, global),
            out,
            &mut std::io::stdin().lock(),
        ),
        Command::Secret(SecretCmd::Render(cmd)) => commands::secret::render(
            &commands::secret::RenderSettings {
                load: load_options(&cmd.inv, Some(&cmd.extra)),
                namespace: cmd.namespace,
                auth_host: commands::secret::AuthHostLookup {
                    include: cmd.include_auth_host,
                    certs_dir: certs_dir(&cmd.certs, global),
                },
                format: manifest_format(global),
            },
            out,
        ),
        Command::Secret(SecretCmd::Link(cmd)) => commands::secret::link(
            &commands::secret::LinkSettings {
                service_account: cmd.service_account,
                secret: cmd.secret,
                namespace: cmd.namespace,
                modes: cmd
                    .for_
                    .iter()
                    .map(|f| match f {
                        LinkFor::Pull => crate::cluster::LinkMode::Pull,
                        LinkFor::Mount => crate::cluster::LinkMode::Mount,
                    })
                    .collect(),
                dry_run: cmd.dry_run,
                kube: connect_options(&cmd.kube),
            },
            out,
        ),
        Command::Grant(GrantCmd::ImagePuller(cmd)) => commands::grant::image_puller(
            &commands::grant::ImagePullerSettings {
                who: match cmd.service_account {
                    Some(name) => crate::cluster::PullerSubject::ServiceAccount {
                        namespace: cmd.from_namespace,
                        name,
                    },
                    None => crate::cluster::PullerSubject::AllServiceAccounts {
                        namespace: cmd.from_namespace,
                    },
                },
                to_namespace: cmd.to_namespace,
                dry_run: cmd.dry_run,
                kube: connect_options(&cmd.kube),
            },
            out,
        ),
        Command::PullSecret(PullSecretCmd::Update(cmd)) => commands::pull_secret::update(
            &commands::pull_secret::UpdateSettings {
                // clap's groups make --from, or --registry with --username, present.
                source: match (cmd.from, cmd.registry) {
                    (Some(f), _) => commands::pull_secret::Source::File(f),
                    (None, registry) => commands::pull_secret::Source::Registry {
                        registry: registry.unwrap_or_default(),
                        username: cmd.username.unwrap_or_default(),
                    },
                },
                replace: cmd.replace,
                dry_run: cmd.dry_run,
                check: (!cmd.skip_check).then(|| commands::pull_secret::CheckSettings {
                    certs_dir: certs_dir(&cmd.check.certs, global),
                    timeout: std::time::Duration::from_secs_f64(cmd.check.timeout),
                    retries: cmd.check.retries,
                    retry_delay: std::time::Duration::from_secs_f64(cmd.check.retry_delay),
                }),
                wait: cmd.wait.then(|| commands::pull_secret::WaitOptions {
                    timeout: std::time::Duration::from_secs_f64(cmd.wait_timeout),
                    interval: std::time::Duration::from_secs_f64(cmd.wait_interval),
                }),
                kube: connect_options(&cmd.kube),
            },
            out,
            &mut std::io::stdin().lock(),
        ),
    }
}

fn login_settings(cmd: LoginCmd, global: &GlobalArgs) -> crate::commands::login::LoginSettings {
    use crate::commands::login::{LoginSettings, PasswordSource};
    LoginSettings {
        registry: cmd.registry,
        to: cmd.to,
        username: cmd.username,
        // clap's group makes exactly one of the two present.
        password: match cmd.auth_basic_file {
            Some(f) => PasswordSource::BasicFile(f),
            None => PasswordSource::Stdin,
        },
        skip_check: cmd.skip_check,
        tls_verify: cmd.tls_verify,
        certs_dir: certs_dir(&cmd.check.certs, global),
        timeout: std::time::Duration::from_secs_f64(cmd.check.timeout),
        retries: cmd.check.retries,
        retry_delay: std::time::Duration::from_secs_f64(cmd.check.retry_delay),
    }
}

/// `secret create` prints YAML unless `-o json` (text means YAML, as for `secret render`).
fn secret_create_settings(
    cmd: SecretCreateCmd,
    global: &GlobalArgs,
) -> crate::commands::secret::SecretCreateSettings {
    use crate::commands::secret::{SecretCreateSettings, SecretSource};
    SecretCreateSettings {
        name: cmd.name,
        namespace: cmd.namespace,
        // clap's group makes --from-file or --docker-username present.
        source: match (cmd.from_file, cmd.docker_username) {
            (Some(f), _) => SecretSource::File(f),
            (None, username) => SecretSource::Flags {
                server: cmd.docker_server,
                username: username.unwrap_or_default(),
                email: cmd.docker_email,
            },
        },
        mode: match cmd.dry_run {
            DryRun::Client => commands::secret::ApplyMode::Client,
            DryRun::Server => commands::secret::ApplyMode::Server,
            DryRun::None => commands::secret::ApplyMode::Apply,
        },
        kube: connect_options(&cmd.kube),
        format: manifest_format(global),
        auth_host: commands::secret::AuthHostLookup {
            include: cmd.include_auth_host,
            certs_dir: certs_dir(&cmd.certs, global),
        },
    }
}

/// `--certs-dir` after the command name, else before it.
fn certs_dir(certs: &args::CertsArgs, global: &GlobalArgs) -> Option<std::path::PathBuf> {
    certs.certs_dir.clone().or_else(|| global.certs_dir.clone())
}

/// The one credential source clap's group let through.
fn validate_source(c: &args::ValidateCmd) -> crate::sources::Source {
    use crate::sources::{Namespaces, Source};
    if let Some(f) = &c.authfile {
        Source::Authfile(f.clone())
    } else if let Some(f) = &c.install_config {
        Source::InstallConfig(f.clone())
    } else if c.from_cluster {
        Source::Cluster {
            kube: connect_options(&c.kube),
            namespaces: if c.all_namespaces {
                Namespaces::All
            } else {
                Namespaces::Some(c.namespaces.clone())
            },
        }
    } else {
        Source::Inventory
    }
}

/// Manifests print as YAML unless `-o json` (text means YAML).
fn manifest_format(global: &GlobalArgs) -> crate::commands::secret::ManifestFormat {
    use crate::commands::secret::ManifestFormat;
    match global.output {
        OutputFormat::Json => ManifestFormat::Json,
        OutputFormat::Text | OutputFormat::Yaml => ManifestFormat::Yaml,
    }
}

/// The inventory sources, vault password and extra vars as the domain takes them.
fn load_options(
    inv: &InventoryArgs,
    extra: Option<&ExtraVarsArgs>,
) -> crate::inventory::LoadOptions {
    crate::inventory::LoadOptions {
        sources: inv.inventory.clone(),
        vault_password_file: inv.vault_password_file.clone(),
        extra_vars: extra.map(|e| e.extra_vars.clone()).unwrap_or_default(),
    }
}

/// Cluster access as the cluster layer takes it.
fn connect_options(k: &KubeArgs) -> crate::cluster::ConnectOptions {
    crate::cluster::ConnectOptions {
        kubeconfig: k.kubeconfig.clone(),
        context: k.context.clone(),
    }
}

/// `regauth run`'s settings.
fn run_settings(
    c: args::RunCmd,
    global: &GlobalArgs,
) -> Result<crate::run::RunSettings, crate::exit::Failure> {
    let secs = |s: f64| std::time::Duration::from_secs_f64(s.max(0.0));
    Ok(crate::run::RunSettings {
        playbook: c.playbook,
        load: load_options(&c.inv, Some(&c.extra)),
        check: c.check,
        diff: c.diff,
        limit: c.limit,
        tags: c.tags,
        skip_tags: c.skip_tags,
        forks: usize::from(c.forks),
        kube: connect_options(&c.kube),
        ssh: crate::ssh::ConnectOptions {
            known_hosts: c
                .known_hosts
                .unwrap_or_else(crate::ssh::known_hosts::default_path),
            accept_new: c.accept_new_host_keys,
            connect_timeout: secs(c.timeout),
            timeout: secs(c.command_timeout),
            ..Default::default()
        },
        checks: crate::run::RegistryChecks {
            certs_dir: certs_dir(&c.certs, global),
            timeout: secs(c.registry_timeout),
            retries: c.retries,
            retry_delay: secs(c.retry_delay),
        },
    })
}
