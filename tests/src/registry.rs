//! A real image registry for the end-to-end tests: Debian's `docker-registry` (the CNCF
//! distribution registry), started on 127.0.0.1 at a free port with its own config and
//! storage in a temporary directory, and killed when the guard drops (also on panic).
//! Docker treats registries on 127.0.0.0/8 as insecure-allowed, so `docker pull` works
//! over plain HTTP; skopeo needs `--tls-verify=false` (see [`skopeo`]).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The registry binary Debian's `docker-registry` package installs.
pub const REGISTRY_BIN: &str = "docker-registry";

/// How long the registry may take to answer `GET /v2/` after start.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Runs `skopeo ARGS...` under `timeout` (120 s) with stdin closed; returns its output
/// whatever the status (124: the bound was hit).
pub fn skopeo(args: &[&str]) -> std::process::Output {
    Command::new("timeout")
        .args(["-k", "5", "120", "skopeo"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("cannot run `timeout skopeo`: is coreutils installed?")
}

/// Runs `skopeo ARGS...` and returns stdout; panics with stderr when it fails.
pub fn skopeo_ok(args: &[&str]) -> Vec<u8> {
    let out = skopeo(args);
    assert!(
        out.status.success(),
        "skopeo {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A running registry; `addr` is `127.0.0.1:<port>`.
pub struct Registry {
    /// `host:port` to put in image references, e.g. `127.0.0.1:41234/weavewait:latest`.
    pub addr: String,
    child: Child,
    dir: tempfile::TempDir,
}

impl Registry {
    /// True when the registry binary can be run (for `prereq::require`).
    pub fn available() -> bool {
        crate::prereq::command_works(REGISTRY_BIN, &["--version"])
    }

    /// Starts a registry with filesystem storage in a fresh temporary directory and
    /// waits (at most 20 s) until `GET /v2/` answers 200. Retries with another port when
    /// the chosen one was taken in between.
    ///
    /// Errors: the registry exited or did not answer in time; the text holds its log.
    pub fn start() -> Result<Registry, String> {
        let mut last = String::new();
        for _ in 0..3 {
            match Self::start_once() {
                Ok(r) => return Ok(r),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn start_once() -> Result<Registry, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("cannot find a free port: {e}"))?
            .port();
        let addr = format!("127.0.0.1:{port}");
        let storage = dir.path().join("storage");
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n",
                storage.display()
            ),
        )
        .map_err(|e| format!("{}: {e}", config.display()))?;
        let log = std::fs::File::create(dir.path().join("registry.log"))
            .map_err(|e| format!("registry log: {e}"))?;
        let child = Command::new(REGISTRY_BIN)
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| {
                format!("cannot run {REGISTRY_BIN}: {e} (Debian package docker-registry)")
            })?;
        let mut registry = Registry { addr, child, dir };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if registry.v2_status() == Some(200) {
                return Ok(registry);
            }
            if let Ok(Some(status)) = registry.child.try_wait() {
                return Err(format!("registry exited ({status}): {}", registry.log()));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "registry at {} did not answer GET /v2/ within {START_TIMEOUT:?}: {}",
                    registry.addr,
                    registry.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// HTTP status of `GET /v2/`, or `None` when nothing answers (bounded by 2 s).
    fn v2_status(&self) -> Option<u16> {
        let mut stream = TcpStream::connect(&self.addr).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        stream
            .set_write_timeout(Some(Duration::from_secs(2)))
            .ok()?;
        write!(stream, "GET /v2/ HTTP/1.0\r\nHost: {}\r\n\r\n", self.addr).ok()?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).ok()?;
        std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
    }

    /// The registry's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// Where the registry keeps its blobs and manifests.
    pub fn storage(&self) -> PathBuf {
        self.dir.path().join("storage")
    }

    /// `docker://<addr>/<repo_tag>` for skopeo.
    pub fn skopeo_ref(&self, repo_tag: &str) -> String {
        format!("docker://{}/{repo_tag}", self.addr)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
