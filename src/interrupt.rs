//! SIGINT (Ctrl-C) for every command: ansible-playbook's exit 99, never a death by
//! signal, and never in the middle of a write. The handler is installed before `main`
//! runs (see `src/main.rs`); outside a `Deferred` section it ends the process at once
//! with 99 (nothing is half-done there: commands only read, wait or ask); inside one
//! it only records the interrupt, and the code in the section winds down at its next
//! check (`interrupted()`) and returns `Exit::Interrupted` itself.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static DEFERRED: AtomicUsize = AtomicUsize::new(0);

/// What the handler prints when it ends the process (the printer's error format).
const MESSAGE: &[u8] = b"ERROR! User interrupted execution\n";

extern "C" fn on_sigint(_: libc::c_int) {
    // Only atomics, write(2) and _exit(2): all async-signal-safe.
    INTERRUPTED.store(true, Ordering::SeqCst);
    if DEFERRED.load(Ordering::SeqCst) == 0 {
        // SAFETY: write and _exit are async-signal-safe; the buffer is static.
        unsafe {
            libc::write(2, MESSAGE.as_ptr().cast(), MESSAGE.len());
            libc::_exit(crate::exit::Exit::Interrupted as i32);
        }
    }
}

/// Installs the handler, unless SIGINT is ignored (`nohup`, a background job of a
/// non-interactive shell): then it stays ignored, as Python (and so Ansible) leaves it.
pub fn install() {
    // SAFETY: sigaction with a zeroed struct, a valid handler and an empty mask.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(libc::SIGINT, std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
        {
            return;
        }
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigint as *const () as libc::sighandler_t;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGINT, &sa, std::ptr::null_mut());
    }
}

/// True once a SIGINT has arrived.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// While alive, a SIGINT is only recorded: for code that checks `interrupted()` and
/// stops between units of work it leaves whole (a host's file, a local write).
#[must_use = "the section ends when the guard is dropped"]
pub struct Deferred(());

/// Starts a section in which SIGINT is recorded, not acted on.
pub fn defer() -> Deferred {
    DEFERRED.fetch_add(1, Ordering::SeqCst);
    Deferred(())
}

impl Drop for Deferred {
    fn drop(&mut self) {
        DEFERRED.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Resolves once a SIGINT has arrived (for `select!` against async work in a
/// `Deferred` section).
pub async fn wait() {
    while !interrupted() {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
