//! regauth: thin entry point; parsing, dispatch and exit codes live in the library.

fn main() -> std::process::ExitCode {
    regauth::cli::main()
}
