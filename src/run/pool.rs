//! SSH sessions kept between steps, at most a budget of them open at once.
//!
//! A session costs one descriptor and memory (about 30 KB: libssh2's zeroed ~81 KB
//! session object is mostly handed back when it is made and while it waits, see
//! `ssh/trim.rs`), so keeping one per host for the whole run made descriptors and
//! memory grow with the fleet. The budget comes from `--forks`, the descriptor
//! limit and a memory allowance; a host whose session had to be closed reconnects
//! when it is next needed (never a failure). When the pool is full the most recently
//! used idle session is closed: steps walk hosts in the same order, so keeping the
//! oldest ones means the next step finds the first hosts still connected instead of
//! evicting each session just before it is needed (what closing the least recently
//! used one would do on a repeated scan).

use crate::ssh::{Session, SshError};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

/// Sessions kept open at most for memory's sake, whatever the descriptor limit allows:
/// OpenShift 3.11's largest supported cluster, so such a run never reconnects (each
/// reconnect is a handshake that costs the node as much as the whole update). On 2,000
/// hosts peak RSS was 77 MB at --forks 50 and 81-87 MB at --forks 200 (benches/scale.rs);
/// before sessions gave back their zero pages, 800 sessions already took 110 MB.
const MEMORY_SESSIONS: usize = 2000;

/// Descriptors kept free for everything that is not an SSH session: the runtime,
/// registry and API connections, stdio, files, a key or agent socket per connect.
fn reserve(forks: usize, open_now: usize) -> usize {
    open_now + 32 + 2 * forks
}

/// How many sessions may be open at once with `forks` workers under a soft
/// descriptor limit of `limit` while `open_now` descriptors are in use.
pub fn budget(forks: usize, limit: u64, open_now: usize) -> usize {
    let fds = usize::try_from(limit)
        .unwrap_or(usize::MAX)
        .saturating_sub(reserve(forks, open_now));
    fds.min(MEMORY_SESSIONS.max(forks))
}

/// Descriptors this process has open now.
pub fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count().saturating_sub(1))
}

struct State {
    idle: HashMap<String, (u64, Session)>,
    /// Idle, in use and being connected.
    open: usize,
    tick: u64,
    connected: HashSet<String>,
}

/// The pool; shared by the workers of a step.
pub struct Pool {
    budget: usize,
    state: Mutex<State>,
    freed: Condvar,
    handshakes: AtomicUsize,
    reconnects: AtomicUsize,
}

impl Pool {
    /// A pool holding at most `budget` sessions (at least one).
    pub fn new(budget: usize) -> Pool {
        Pool {
            budget: budget.max(1),
            state: Mutex::new(State {
                idle: HashMap::new(),
                open: 0,
                tick: 0,
                connected: HashSet::new(),
            }),
            freed: Condvar::new(),
            handshakes: AtomicUsize::new(0),
            reconnects: AtomicUsize::new(0),
        }
    }

    /// The most sessions open at once.
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// (handshakes, of which reconnects of a host connected before in this run).
    pub fn counts(&self) -> (usize, usize) {
        (
            self.handshakes.load(Ordering::Relaxed),
            self.reconnects.load(Ordering::Relaxed),
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` with `host`'s session: its kept one, else a new one from `connect`.
    ///
    /// Running out of descriptors while connecting closes idle sessions and tries
    /// again while there are any to close; only then is it the host's error.
    pub fn with<T>(
        &self,
        host: &str,
        connect: impl Fn() -> Result<Session, SshError>,
        f: impl FnOnce(&Session) -> T,
    ) -> Result<T, SshError> {
        let kept = self.lock().idle.remove(host).map(|(_, s)| s);
        let session = match kept {
            Some(s) => s,
            None => self.open(host, connect)?,
        };
        let r = f(&session);
        // Its zero pages go back to the kernel while it waits (ssh/trim.rs).
        session.release_idle_memory();
        let mut st = self.lock();
        st.tick += 1;
        let tick = st.tick;
        st.idle.insert(host.to_string(), (tick, session));
        drop(st);
        self.freed.notify_one();
        Ok(r)
    }

    fn open(
        &self,
        host: &str,
        connect: impl Fn() -> Result<Session, SshError>,
    ) -> Result<Session, SshError> {
        loop {
            self.reserve();
            let again = self.lock().connected.contains(host);
            self.handshakes.fetch_add(1, Ordering::Relaxed);
            if again {
                self.reconnects.fetch_add(1, Ordering::Relaxed);
            }
            match connect() {
                Ok(s) => {
                    self.lock().connected.insert(host.to_string());
                    return Ok(s);
                }
                Err(e) => {
                    self.release();
                    if matches!(e, SshError::Exhausted { .. }) && self.close_one() {
                        tracing::debug!(
                            host,
                            "out of descriptors or memory: closed an idle session, retrying"
                        );
                        continue;
                    }
                    return Err(e);
                }
            }
        }
    }

    /// Takes a slot, closing an idle session or waiting for one to come back.
    fn reserve(&self) {
        let mut st = self.lock();
        loop {
            if st.open < self.budget {
                st.open += 1;
                return;
            }
            if let Some(victim) = Self::victim(&mut st) {
                // Keep the slot for us; the disconnect happens outside the lock.
                drop(st);
                drop(victim);
                return;
            }
            st = self.freed.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn release(&self) {
        self.lock().open -= 1;
        self.freed.notify_one();
    }

    /// Closes one idle session to free its descriptor; false when none is idle.
    fn close_one(&self) -> bool {
        let mut st = self.lock();
        match Self::victim(&mut st) {
            Some(s) => {
                st.open -= 1;
                drop(st);
                drop(s);
                true
            }
            None => false,
        }
    }

    /// Removes the most recently used idle session (see the module comment).
    fn victim(st: &mut State) -> Option<Session> {
        let host = st
            .idle
            .iter()
            .max_by_key(|(_, (tick, _))| *tick)
            .map(|(h, _)| h.clone())?;
        st.idle.remove(&host).map(|(_, s)| s)
    }

    /// Closes every idle session.
    pub fn close(&self) {
        let idle = std::mem::take(&mut self.lock().idle);
        self.lock().open -= idle.len();
        drop(idle);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_follows_descriptors_forks_and_memory() {
        // 1024 descriptors, 50 forks, 10 open: 1024 - (10 + 32 + 100).
        assert_eq!(budget(50, 1024, 10), 882.min(MEMORY_SESSIONS));
        assert_eq!(budget(10, 64, 10), 2);
        assert_eq!(budget(10, 40, 10), 0);
        assert_eq!(budget(50, 1 << 20, 10), MEMORY_SESSIONS);
        assert_eq!(budget(2000, 1 << 20, 10), 2000);
    }
}
