//! The real docker CLI, driven with a bound on every call so a hang fails the test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// Docker's standard socket, the daemon's address when `DOCKER_HOST` is unset or empty.
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// The daemon under test, as the docker CLI and bollard find it: `DOCKER_HOST` when set
/// and not empty (`unix:///…` or `tcp://…`), else [`DEFAULT_HOST`]. `make test` points it
/// at each engine in turn (mk/e2e.sh), so anything a test starts against "the daemon"
/// takes its address from here, never a fixed path.
pub fn host() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| DEFAULT_HOST.to_string())
}

/// The path of the daemon's unix socket, or `None` when [`host`] is not `unix://…`.
pub fn socket() -> Option<PathBuf> {
    host().strip_prefix("unix://").map(PathBuf::from)
}

/// Upper bound for one docker CLI call, in seconds.
pub const CALL_TIMEOUT_SECS: u32 = 120;

/// Runs `docker ARGS...` under `timeout` (coreutils) with stdin closed and returns its
/// output, whatever the exit status. Exit status 124 means the bound was hit.
pub fn docker(args: &[&str]) -> Output {
    Command::new("timeout")
        .args(["-k", "5", &CALL_TIMEOUT_SECS.to_string(), "docker"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("cannot run `timeout docker`: is coreutils installed?")
}

/// Runs `docker ARGS...` and returns trimmed stdout; panics with stderr when it fails.
pub fn docker_ok(args: &[&str]) -> String {
    let out = docker(args);
    assert!(
        out.status.success(),
        "docker {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A name unique to this test process and call, e.g. `pw-waiter-1234-7`, so tests can run
/// in parallel and never touch containers they did not create.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "pw-{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// `docker load -i TAR`; panics when it fails.
pub fn load(tar: &Path) {
    docker_ok(&["load", "-i", &tar.to_string_lossy()]);
}

/// Containers removed (`docker rm -f -v`) when the guard drops, also when a test panics.
#[derive(Default)]
pub struct Cleanup {
    names: Vec<String>,
}

impl Cleanup {
    /// Registers a container name or id for removal and returns it.
    pub fn add(&mut self, name: impl Into<String>) -> String {
        let name = name.into();
        self.names.push(name.clone());
        name
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for name in self.names.iter().rev() {
            let _ = docker(&["rm", "-f", "-v", name]);
        }
    }
}
