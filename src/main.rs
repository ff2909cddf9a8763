//! regauth: thin entry point; parsing, dispatch and exit codes live in the library.

fn main() -> std::process::ExitCode {
    // glibc gives each busy thread its own malloc arena (up to 8 per core), and with
    // --forks threads each holding session buffers the arenas' free space added up:
    // two arenas cut peak RSS by 6-10 MB at 2,000 hosts (benches/scale.rs).
    // SAFETY: mallopt only sets an allocator parameter; no thread exists yet.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
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
