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

/// Checks what every proxy test needs (root, a docker daemon, the binary, the weavewait
/// archive the private volume containers are made from); false = skip.
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
    ) && prereq::require(
        std::env::var_os("WEAVEWAIT_IMAGE").is_some()
            || crate::kit::archive_path("weavewait").is_file(),
        "target/images/weavewait.tar (`make images`)",
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

/// Probes whether a proxy listens on its `DOCKER_HOST`.
type Ready = Box<dyn Fn(&str) -> bool + Send + Sync>;

/// A running proxy, killed (by its own pid) when dropped.
pub struct Proxy {
    child: Child,
    /// What to put in `DOCKER_HOST` (`unix:///…/proxy.sock` or `tcp://…`).
    pub host: String,
    /// Where the proxy's stderr goes (every run of it, appended).
    pub log: PathBuf,
    dir: TempDir,
    /// The private volume container given when the caller named none, removed on drop.
    volume: Option<String>,
    /// Everything after `proxy` on its command line, for [`Proxy::respawn`].
    args: Vec<String>,
    ready: Ready,
    /// Its environment besides the test's (`RUST_LOG` and what the caller gave).
    env: Vec<(String, String)>,
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
        Proxy::spawn(
            dir,
            listen.clone(),
            &all,
            move |_| std::os::unix::net::UnixStream::connect(&sock).is_ok(),
            &[],
        )
    }

    /// Starts the proxy with exactly `args` (which must include `--listen`), `host` being
    /// the DOCKER_HOST clients use; `ready` probes whether it is listening.
    pub fn start_with(
        host: &str,
        args: &[&str],
        ready: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> Proxy {
        Proxy::spawn(TempDir::new("proxy"), host.to_string(), args, ready, &[])
    }

    /// [`Proxy::start_with`] with `RUST_LOG=<rust_log>` instead of `info` (e.g. `debug`
    /// for what the proxy logs about each attach).
    pub fn start_logged(
        rust_log: &str,
        host: &str,
        args: &[&str],
        ready: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> Proxy {
        let dir = TempDir::new("proxy");
        Proxy::spawn(
            dir,
            host.to_string(),
            args,
            ready,
            &[("RUST_LOG", rust_log)],
        )
    }

    /// [`Proxy::start_with`] logging at `rust_log` (`RUST_LOG`, e.g. `debug`).
    pub fn start_logging(
        host: &str,
        args: &[&str],
        ready: impl Fn(&str) -> bool + Send + Sync + 'static,
        rust_log: &str,
    ) -> Proxy {
        Proxy::start_logged(rust_log, host, args, ready)
    }

    /// [`Proxy::start_with`] with `env` added to its environment (`RUST_LOG` is `info`
    /// unless `env` sets it; `POWERSTRIP_WEAVE_BOUNDS` sets small bounds for a test).
    pub fn start_env(
        env: &[(&str, &str)],
        host: &str,
        args: &[&str],
        ready: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> Proxy {
        Proxy::spawn(TempDir::new("proxy"), host.to_string(), args, ready, env)
    }

    fn spawn(
        dir: TempDir,
        host: String,
        args: &[&str],
        ready: impl Fn(&str) -> bool + Send + Sync + 'static,
        env: &[(&str, &str)],
    ) -> Proxy {
        let log = dir.join("proxy.log");
        // The weave hooks create a missing volume container at start-up: a private one per
        // proxy (from the weavewait image, which the start-up check requires) keeps tests
        // off the host's shared `weavewait`.
        let volume = (!args.contains(&"--no-weave") && !args.contains(&"--volume-container"))
            .then(|| unique("pw-vc"));
        let image = crate::adapter::weavewait_image();
        let mut all: Vec<&str> = args.to_vec();
        if let Some(v) = &volume {
            all.extend_from_slice(&["--volume-container", v, "--image", &image]);
        }
        let args: Vec<String> = all.iter().map(|s| s.to_string()).collect();
        let mut env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if !env.iter().any(|(k, _)| k == "RUST_LOG") {
            env.push(("RUST_LOG".into(), "info".into()));
        }
        let child = Proxy::launch(&args, &log, &env);
        let mut proxy = Proxy {
            child,
            host,
            log,
            dir,
            volume,
            args,
            ready: Box::new(ready),
            env,
        };
        proxy.wait_ready();
        proxy
    }

    fn launch(args: &[String], log: &Path, env: &[(String, String)]) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("cannot open the proxy log");
        Command::new(binary())
            .arg("proxy")
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary().display()))
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        while !(self.ready)(&self.host) {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the proxy exited ({status}) at start: {}", self.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "the proxy did not listen within {START_TIMEOUT:?}: {}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The proxy's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// True while the proxy process runs (it has not exited).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL to the proxy (its own pid), reaped: no clean-up of its own runs, its socket
    /// file stays behind as after a crash.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kills the proxy if it runs, then starts it again with the same arguments (its log
    /// appended) and waits until it listens.
    pub fn respawn(&mut self) {
        self.kill();
        self.child = Proxy::launch(&self.args, &self.log, &self.env);
        self.wait_ready();
    }

    /// SIGTERM to the proxy (its own pid), then waits at most `limit` for it to exit.
    /// Returns its exit status and how long it took, or `None` when it still ran (it is
    /// then killed).
    pub fn terminate(&mut self, limit: Duration) -> Option<(std::process::ExitStatus, Duration)> {
        let start = Instant::now();
        let pid = nix::unistd::Pid::from_raw(self.pid() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        while start.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some((status, start.elapsed()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
        None
    }

    /// Names of the proxy's threads (`/proc/PID/task/*/comm`).
    pub fn threads(&self) -> Vec<String> {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{}/task", self.pid())) else {
            return Vec::new();
        };
        tasks
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .map(|c| c.trim().to_string())
            .collect()
    }

    /// The proxy's peak resident set size so far (`VmHWM` of /proc/PID/status), in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        crate::netns::proc_status(self.pid(), "VmHWM")?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }

    /// The private volume container the proxy was given when the caller named none.
    pub fn volume_container(&self) -> Option<&str> {
        self.volume.as_deref()
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
                .env_remove("DOCKER_HOST")
                .output();
        }
    }
}

/// True when something accepts connections at `host` (`unix:///path` or
/// `tcp://host:port`): the usual readiness probe of [`Proxy::start_with`].
pub fn listens(host: &str) -> bool {
    if let Some(path) = host.strip_prefix("unix://") {
        return std::os::unix::net::UnixStream::connect(path).is_ok();
    }
    host.strip_prefix("tcp://")
        .is_some_and(|a| std::net::TcpStream::connect(a).is_ok())
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
