//! regauth: thin entry point; parsing, dispatch and exit codes live in the library.

fn main() -> std::process::ExitCode {
    regauth::cli::main()
}

/// The SIGINT handler goes in before `main` and Rust's runtime set-up: from the first
/// code of regauth's own that runs, a Ctrl-C means exit 99, not death by signal.
#[used]
#[unsafe(link_section = ".init_array")]
static INSTALL_SIGINT: extern "C" fn() = {
    extern "C" fn install() {
        regauth::interrupt::install();
    }
    install
};
