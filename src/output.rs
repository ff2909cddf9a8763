//! The one path to the terminal: data to stdout, people's messages and logs to
//! stderr, colours only where wanted. Nothing else in the crate prints.

use std::io::{IsTerminal, Write};

/// Result format chosen with `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Lines for people.
    Text,
    /// JSON for programs.
    Json,
}

/// Colour preference from `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorChoice {
    /// On a terminal and without NO_COLOR.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// A colour a status word may be painted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paint {
    /// Success.
    Green,
    /// Something changed.
    Yellow,
    /// Failure.
    Red,
    /// Skipped or informational.
    Cyan,
}

/// The printer every command writes through.
#[derive(Debug, Clone)]
pub struct Output {
    verbose: u8,
    quiet: bool,
    format: Format,
    color_out: bool,
    color_err: bool,
}

impl Output {
    /// Builds the printer from the global flags.
    pub fn new(verbose: u8, quiet: bool, format: Format, color: ColorChoice) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let pick = |tty: bool| match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => tty && !no_color,
        };
        Output {
            verbose,
            quiet,
            format,
            color_out: pick(std::io::stdout().is_terminal()),
            color_err: pick(std::io::stderr().is_terminal()),
        }
    }

    /// The chosen result format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// True when progress bars make sense (stderr is a terminal and not quiet).
    pub fn interactive(&self) -> bool {
        !self.quiet && std::io::stderr().is_terminal()
    }

    /// Installs the tracing subscriber: RUST_LOG wins, else the -v count.
    pub fn init_tracing(&self) {
        use tracing_subscriber::EnvFilter;
        let level = if self.quiet {
            "error"
        } else {
            match self.verbose {
                0 => "warn",
                1 => "info",
                2 => "debug",
                _ => "trace",
            }
        };
        // Third-party crates stay at warn below -vvv so -vv shows regauth's own steps.
        let default = if self.verbose >= 3 {
            level.to_string()
        } else {
            format!("warn,regauth={level}")
        };
        let filter =
            EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new(default));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(self.color_err)
            .with_target(self.verbose >= 2)
            .without_time()
            .try_init();
    }

    /// Paints `text` for stdout when colours are on.
    pub fn paint(&self, text: &str, paint: Paint) -> String {
        paint_if(self.color_out, text, paint)
    }

    /// Paints `text` for stderr when colours are on.
    pub fn paint_err(&self, text: &str, paint: Paint) -> String {
        paint_if(self.color_err, text, paint)
    }

    /// Writes result data to stdout.
    pub fn data(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        if !text.ends_with('\n') {
            let _ = out.write_all(b"\n");
        }
        let _ = out.flush();
    }

    /// Writes a pretty JSON value to stdout.
    pub fn json(&self, value: &serde_json::Value) {
        self.data(&crate::output::to_ansible_json(value));
    }

    /// A line of progress or status for people, on stderr (hidden by -q).
    pub fn status(&self, line: &str) {
        if !self.quiet {
            eprintln!("{line}");
        }
    }

    /// A warning on stderr, Ansible-style.
    pub fn warn(&self, msg: &str) {
        if !self.quiet {
            eprintln!("{} {msg}", self.paint_err("[WARNING]:", Paint::Yellow));
        }
    }

    /// An error on stderr (shown even with -q).
    pub fn error(&self, msg: &str) {
        eprintln!("{} {msg}", self.paint_err("ERROR!", Paint::Red));
    }
}

fn paint_if(on: bool, text: &str, paint: Paint) -> String {
    if !on {
        return text.to_string();
    }
    let code = match paint {
        Paint::Green => "32",
        Paint::Yellow => "33",
        Paint::Red => "31",
        Paint::Cyan => "36",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// JSON as Ansible's CLIs print it: keys sorted, four-space indent, non-ASCII kept.
pub fn to_ansible_json(value: &serde_json::Value) -> String {
    use serde::Serialize;
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    // serde_json's Map is a BTreeMap without `preserve_order`, so keys come out sorted.
    value
        .serialize(&mut ser)
        .expect("serialising a JSON value cannot fail");
    String::from_utf8(buf).expect("serde_json writes UTF-8")
}
