//! Support for the proxy tests: a `powerstrip-weave proxy` process on a private socket, the
//! docker CLI pointed at it (every call bounded), and a busybox test image made with
//! `docker import` (no registry needed).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::docker::{unique, CALL_TIMEOUT_SECS};
use crate::prereq;

/// The proxy binary: `POWERSTRIP_WEAVE_BIN`, else the static release build (`make static`).
pub fn binary() -> PathBuf {
    prereq::static_bin("powerstrip-weave")
}

/// Checks what every proxy test needs (root, a docker daemon, the binary); false = skip.
pub fn prerequisites() -> bool {
    prereq::require(
        prereq::is_root(),
        "root (the proxy socket copies the Docker socket's owner)",
    ) && prereq::require(
        prereq::docker_answers(),
        "a running Docker daemon (`docker info`)",
    ) && prereq::require(
        binary().is_file(),
        &format!(
            "{} (run `make static` or set POWERSTRIP_WEAVE_BIN)",
            binary().display()
        ),
    )
}

/// A scratch directory (tempfile's), removed on drop; `.0` is its path.
pub struct TempDir(pub PathBuf, tempfile::TempDir);

impl TempDir {
    /// Creates `$TMPDIR/<prefix>-<random>`.
    pub fn new(prefix: &str) -> TempDir {
        let dir = tempfile::Builder::new()
            .prefix(&format!("{prefix}-"))
            .tempdir()
            .expect("cannot create a temporary directory");
        TempDir(dir.path().to_path_buf(), dir)
    }

    /// A path inside the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.1.path().join(name)
    }
}

/// A running proxy, killed (by its own pid) when dropped.
pub struct Proxy {
    child: Child,
    /// What to put in `DOCKER_HOST` (`unix:///…/proxy.sock` or `tcp://…`).
    pub host: String,
    /// Where the proxy's stderr goes.
    pub log: PathBuf,
    dir: TempDir,
    /// The private volume container given when the caller named none, removed on drop.
    volume: Option<String>,
}

/// Bound on the proxy coming up.
const START_TIMEOUT: Duration = Duration::from_secs(15);

impl Proxy {
    /// Starts `powerstrip-weave proxy --listen unix://<tmp>/proxy.sock --no-events ARGS...`
    /// and waits (bounded) until the socket answers. `--no-events` because the daemon is
    /// shared: a proxy following every `start` would attach other tests' containers.
    pub fn start(args: &[&str]) -> Proxy {
        let dir = TempDir::new("proxy");
        let sock = dir.join("proxy.sock");
        let listen = format!("unix://{}", sock.display());
        let mut all = vec!["--listen", listen.as_str(), "--no-events"];
        all.extend_from_slice(args);
        Proxy::spawn(dir, listen.clone(), &all, |_| {
            std::os::unix::net::UnixStream::connect(&sock).is_ok()
        })
    }

    /// Starts the proxy with exactly `args` (which must include `--listen`), `host` being
    /// the DOCKER_HOST clients use; `ready` probes whether it is listening.
    pub fn start_with(host: &str, args: &[&str], ready: impl Fn(&str) -> bool) -> Proxy {
        Proxy::spawn(TempDir::new("proxy"), host.to_string(), args, ready)
    }

    fn spawn(dir: TempDir, host: String, args: &[&str], ready: impl Fn(&str) -> bool) -> Proxy {
        let log = dir.join("proxy.log");
        // The weave hooks create a missing volume container at start-up: a private one per
        // proxy (from the busybox image) keeps tests off the host's shared `weavewait`.
        let volume = (!args.contains(&"--no-weave") && !args.contains(&"--volume-container"))
            .then(|| unique("pw-vc"));
        let mut all: Vec<&str> = args.to_vec();
        if let Some(v) = &volume {
            all.extend_from_slice(&["--volume-container", v, "--image", busybox_image()]);
        }
        let child = Command::new(binary())
            .arg("proxy")
            .args(&all)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("cannot create the proxy log"))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary().display()));
        let mut proxy = Proxy {
            child,
            host,
            log,
            dir,
            volume,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        while !ready(&proxy.host) {
            if let Ok(Some(status)) = proxy.child.try_wait() {
                panic!("the proxy exited ({status}) at start: {}", proxy.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "the proxy did not listen within {START_TIMEOUT:?}: {}",
                proxy.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        proxy
    }

    /// A path in the proxy's scratch directory (for adapters.yml, certificates…).
    pub fn scratch(&self) -> &Path {
        &self.dir.0
    }

    /// What the proxy logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `docker ARGS...` through the proxy, bounded, stdin closed.
    pub fn docker(&self, args: &[&str]) -> Output {
        docker_with(&[("DOCKER_HOST", &self.host)], args, None)
    }

    /// `docker ARGS...` through the proxy with `input` piped to its stdin.
    pub fn docker_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        docker_with(&[("DOCKER_HOST", &self.host)], args, Some(input))
    }

    /// `docker ARGS...` through the proxy; panics (with the proxy log) unless it exits 0.
    /// Returns trimmed stdout.
    pub fn docker_ok(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        self.check(args, &out);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Panics with both outputs and the proxy log when `out` is not a success.
    pub fn check(&self, args: &[&str], out: &Output) {
        assert!(
            out.status.success(),
            "docker {args:?} through the proxy failed ({}):\nstdout: {}\nstderr: {}\nproxy log: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log_text()
        );
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(v) = &self.volume {
            let _ = Command::new("timeout")
                .args([
                    "-k",
                    "5",
                    &CALL_TIMEOUT_SECS.to_string(),
                    "docker",
                    "rm",
                    "-f",
                    "-v",
                    v,
                ])
                .output();
        }
    }
}

/// `docker ARGS...` with extra environment, under `timeout` so a hang fails (exit 124).
pub fn docker_with(env: &[(&str, &str)], args: &[&str], input: Option<&[u8]>) -> Output {
    let mut cmd = Command::new("timeout");
    cmd.args(["-k", "5", &CALL_TIMEOUT_SECS.to_string(), "docker"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("cannot run `timeout docker`");
    if let Some(input) = input {
        let mut stdin = child.stdin.take().expect("piped stdin");
        let input = input.to_vec();
        // A writer thread, so a CLI that does not read cannot block the test.
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }
    child.wait_with_output().expect("cannot wait for docker")
}

/// Trimmed stdout of an output.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Stderr of an output.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// Name of the busybox test image.
pub const BUSYBOX: &str = "pw-proxy-busybox:latest";

/// Makes sure [`BUSYBOX`] exists: `docker import` of a root with the static busybox
/// (Debian `busybox-static`, `/bin/busybox`) and a symlink per applet. Returns its name.
pub fn busybox_image() -> &'static str {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let bb = Path::new("/bin/busybox");
        assert!(
            bb.is_file(),
            "/bin/busybox is missing: apt-get install busybox-static"
        );
        let dir = TempDir::new("bbroot");
        let root = dir.join("root");
        std::fs::create_dir_all(root.join("bin")).unwrap();
        std::fs::create_dir_all(root.join("tmp")).unwrap();
        std::fs::copy(bb, root.join("bin/busybox")).unwrap();
        let list = Command::new(bb).arg("--list").output().unwrap();
        for applet in String::from_utf8_lossy(&list.stdout).lines() {
            if applet != "busybox" && !applet.is_empty() {
                let _ = std::os::unix::fs::symlink("busybox", root.join("bin").join(applet));
            }
        }
        let tar = dir.join("root.tar");
        let st = Command::new("tar")
            .arg("-C")
            .arg(&root)
            .arg("-cf")
            .arg(&tar)
            .arg(".")
            .status()
            .unwrap();
        assert!(st.success(), "tar failed");
        let out = crate::docker::docker(&[
            "import",
            "-c",
            "CMD [\"/bin/sh\"]",
            &tar.to_string_lossy(),
            BUSYBOX,
        ]);
        assert!(
            out.status.success(),
            "docker import failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
    BUSYBOX
}
