//! A private dockerd for the tests that stop and start the daemon under a running proxy or
//! adapter (the shared system dockerd is never restarted): a one-host cluster of
//! `mk/cluster.sh` without swarm, so a dockerd in a network namespace of its own with its
//! own socket, state and cgroup, and the test images loaded. The proxy and the adapter run
//! in the test's own namespace and reach it with `--docker unix://<its socket>` (or
//! `DOCKER_HOST`): the bridge backend joins a container's network namespace through its
//! pid, which this process sees whatever namespace dockerd lives in, and plugs the host
//! end into a bridge here.
//!
//! Also: raw HTTP exchanges on a unix socket, timed and bounded, for the answers the CLI
//! would hide (status, body, how long it took), and a guard for a test's Linux bridge.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use crate::cluster::{self, Cluster, Options};
use crate::kit;
use crate::netns::short_unique;

/// Reference of the busybox app image loaded into the private daemon
/// (`tests/images/busybox.toml`).
pub const BUSYBOX: &str = cluster::BUSYBOX;

/// Checks root, the cluster script's tools, a dockerd binary and the image archives
/// (`make images`); `false` = skip (outside CI).
pub fn prerequisites() -> bool {
    cluster::prerequisites()
}

/// `weavewait:<version>`, as `make images` tags it (loaded into the private daemon).
pub fn weavewait_image() -> String {
    format!("weavewait:{}", kit::version())
}

/// A private dockerd, torn down (and the teardown verified) on drop.
pub struct PrivateDaemon {
    /// The one-host cluster it is.
    pub cluster: Cluster,
}

impl PrivateDaemon {
    /// Starts a dockerd of its own (`"live-restore": true` in its daemon.json when asked)
    /// and loads the busybox, weavewait and weavewait-example images into it.
    pub fn up(live_restore: bool) -> PrivateDaemon {
        let images = tempfile::tempdir().expect("temporary directory");
        let busybox = kit::build(Path::new("tests/images/busybox.toml"), images.path());
        let mut opts = Options::new(1);
        opts.swarm = false;
        opts.live_restore = live_restore;
        opts.images = vec![
            busybox.archive,
            kit::archive_path("weavewait"),
            kit::archive_path("weavewait-example"),
        ];
        let cluster = Cluster::up(&opts);
        eprintln!(
            "private dockerd {} (cluster {}, live-restore {live_restore}) up in {:.1} s",
            cluster.engine,
            cluster.id,
            cluster.up_time.as_secs_f64()
        );
        PrivateDaemon { cluster }
    }

    /// Its `DOCKER_HOST` (`unix:///…/h1/docker.sock`).
    pub fn host(&self) -> &str {
        &self.cluster.host(1).docker_host
    }

    /// Path of its socket.
    pub fn socket(&self) -> PathBuf {
        self.cluster.host(1).socket()
    }

    /// `docker ARGS…` against it, bounded, stdin closed.
    pub fn docker(&self, args: &[&str]) -> Output {
        self.cluster.docker(1, args)
    }

    /// `docker ARGS…` against it; panics unless it exits 0. Returns trimmed stdout.
    pub fn docker_ok(&self, args: &[&str]) -> String {
        self.cluster.docker_ok(1, args)
    }

    /// `docker inspect -f FORMAT NAME`.
    pub fn inspect(&self, name: &str, format: &str) -> String {
        self.docker_ok(&["inspect", "-f", format, name])
    }

    /// `docker logs NAME`, stdout and stderr together.
    pub fn logs(&self, name: &str) -> String {
        crate::output_text(&self.docker(&["logs", name]))
    }

    /// Stops dockerd (SIGTERM) and waits until it is gone; returns how long that took.
    pub fn stop(&self) -> Duration {
        self.cluster.stop_daemon(1)
    }

    /// Starts dockerd again and waits until it answers; returns how long that took.
    pub fn start(&self) -> Duration {
        self.cluster.start_daemon(1)
    }

    /// Its dockerd's pid (from its pidfile).
    pub fn dockerd_pid(&self) -> i32 {
        let file = self.cluster.dir.join("h1/docker.pid");
        std::fs::read_to_string(&file)
            .ok()
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("no dockerd pid in {}", file.display()))
    }

    /// Freezes dockerd (SIGSTOP) until the guard is dropped (SIGCONT): its socket still
    /// accepts connections (the kernel queues them), nothing answers. The whole process
    /// group of dockerd (its session: dockerd and the containerd it started) is stopped: when
    /// a member of a stopped, orphaned process group exits, the kernel continues the group.
    pub fn freeze(&self) -> Frozen {
        use nix::sys::signal::{kill, Signal};
        use nix::unistd::{getpgid, Pid};
        let pid = Pid::from_raw(self.dockerd_pid());
        let group = getpgid(Some(pid)).expect("dockerd's process group");
        // Never our own group.
        assert_ne!(
            group,
            getpgid(None).unwrap(),
            "dockerd shares the test's process group"
        );
        assert_eq!(group, pid, "dockerd leads its own session");
        let target = Pid::from_raw(-group.as_raw());
        kill(target, Signal::SIGSTOP).expect("SIGSTOP dockerd's process group");
        let frozen = Frozen(target);
        // The signal is delivered as each thread next runs: wait until all have stopped.
        let all_stopped = || {
            let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
                .into_iter()
                .flatten();
            tasks.filter_map(|t| t.ok()).all(|t| {
                std::fs::read_to_string(t.path().join("stat"))
                    .ok()
                    .and_then(|stat| stat.rsplit(") ").next().map(|r| r.starts_with('T')))
                    .unwrap_or(true)
            })
        };
        assert!(
            crate::netns::eventually(Duration::from_secs(5), all_stopped),
            "dockerd's threads did not all stop within 5 s"
        );
        frozen
    }

    /// What container `name` must keep across a live-restored dockerd restart (see
    /// [`Snapshot`]). Panics when it has no `ethwe` veth.
    pub fn snapshot(&self, name: &str) -> Snapshot {
        let state = self.inspect(
            name,
            "{{.State.Pid}} {{.State.Running}} {{.RestartCount}} {{.State.StartedAt}}",
        );
        let pid = state.split(' ').next().unwrap_or_default().to_string();
        Snapshot {
            name: name.to_string(),
            ethwe: ethwe_indexes(&pid),
            host_veth: link_index(&format!("vethwepl{pid}")),
            pid,
            state,
        }
    }

    /// Live-restore's promise after a dockerd restart, checked: every container of `before`
    /// untouched (same process, never restarted, one run, same veth on both ends), and the
    /// follower's log `follower_log` (`follower` names it: the proxy, the adapter) tells of
    /// no kill.
    pub fn assert_untouched(&self, before: &[Snapshot], follower: &str, follower_log: &str) {
        for snap in before {
            assert_eq!(
                &self.snapshot(&snap.name),
                snap,
                "{} was touched",
                snap.name
            );
            assert_eq!(
                self.logs(&snap.name).trim(),
                "RUN-1",
                "{} ran again",
                snap.name
            );
        }
        eprintln!(
            "live-restore: {} containers kept their process and their veth (ifindex) on both ends across the dockerd restart",
            before.len()
        );
        assert!(
            !follower_log.contains("so it never runs unnetworked"),
            "the {follower} killed something:\n{follower_log}"
        );
    }

    /// The last lines of its log, for failure messages.
    pub fn log_tail(&self) -> String {
        let log =
            std::fs::read_to_string(self.cluster.dir.join("h1/dockerd.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

/// A frozen dockerd (its process group), continued (SIGCONT) when dropped, also on a
/// failed test.
pub struct Frozen(nix::unistd::Pid);

impl Drop for Frozen {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(self.0, nix::sys::signal::Signal::SIGCONT);
    }
}

/// A running container as the host sees it: its process, Docker's state of it, and its
/// veth on both ends. Equal snapshots mean the container was not touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Container name.
    pub name: String,
    /// `State.Pid State.Running RestartCount State.StartedAt`.
    pub state: String,
    /// Host pid of its first process.
    pub pid: String,
    /// `ifindex` of `ethwe` inside, and of its peer (see [`ethwe_indexes`]).
    pub ethwe: (u32, u32),
    /// `ifindex` of the host end `vethwepl<pid>` here; `None` when absent.
    pub host_veth: Option<u32>,
}

/// A Linux bridge name unique to this test process and call (at most 15 bytes), deleted
/// (`ip link del`) on drop with every port still on it.
pub struct BridgeGuard(pub String);

impl BridgeGuard {
    /// A fresh name; the bridge itself is made by whoever attaches first.
    pub fn new() -> BridgeGuard {
        BridgeGuard(short_unique("pwb"))
    }

    /// The links plugged into the bridge (see [`bridge_ports`]).
    pub fn ports(&self) -> Vec<String> {
        bridge_ports(&self.0)
    }
}

impl Default for BridgeGuard {
    fn default() -> Self {
        BridgeGuard::new()
    }
}

impl Drop for BridgeGuard {
    fn drop(&mut self) {
        let _ = crate::netns::run("ip", &["link", "del", &self.0]);
    }
}

/// Names of the links plugged into Linux bridge `bridge` (`ip -o link show master
/// NAME`); empty when it has none or does not exist.
pub fn bridge_ports(bridge: &str) -> Vec<String> {
    let out = crate::netns::run("ip", &["-o", "link", "show", "master", bridge]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|n| n.split('@').next().unwrap_or(n).to_string())
        .collect()
}

/// The answer to one raw HTTP exchange.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// Status line and headers.
    pub head: String,
    /// The body as far as it came (not de-chunked), lossy UTF-8.
    pub body: String,
    /// From connecting to the end of the answer.
    pub elapsed: Duration,
}

/// Sends `request` (a whole HTTP/1.1 request) on a connection of its own to the unix
/// socket `socket` and reads one answer; see [`Client::ask`].
pub fn exchange(socket: &Path, request: &str, limit: Duration) -> Result<Answer, String> {
    Client::connect(socket)?.ask(request, limit)
}

/// One client connection to a unix socket, kept alive across exchanges.
pub struct Client {
    stream: UnixStream,
    socket: PathBuf,
}

impl Client {
    /// Connects. Errors: nothing listens at `socket`.
    pub fn connect(socket: &Path) -> Result<Client, String> {
        let stream = UnixStream::connect(socket)
            .map_err(|e| format!("cannot connect to {}: {e}", socket.display()))?;
        Ok(Client {
            stream,
            socket: socket.to_path_buf(),
        })
    }

    /// Sends `request` and reads one answer (to its Content-Length, its last chunk, or the
    /// peer's close) for at most `limit`; `elapsed` counts from sending. Errors: writing,
    /// no status line, or the limit passed (naming what had come).
    pub fn ask(&mut self, request: &str, limit: Duration) -> Result<Answer, String> {
        let start = Instant::now();
        let socket = self.socket.display().to_string();
        self.stream
            .set_read_timeout(Some(limit))
            .map_err(|e| e.to_string())?;
        self.stream
            .write_all(request.as_bytes())
            .map_err(|e| format!("cannot send to {socket}: {e}"))?;
        let mut raw = Vec::new();
        let mut buf = [0u8; 8192];
        while !complete(&raw) {
            let n = self.stream.read(&mut buf).map_err(|e| {
                format!(
                    "no complete answer from {socket} within {limit:?} ({e}); got: {}",
                    String::from_utf8_lossy(&raw)
                )
            })?;
            if n == 0 {
                break;
            }
            raw.extend_from_slice(&buf[..n]);
            if start.elapsed() > limit {
                return Err(format!(
                    "no complete answer from {socket} within {limit:?}; got: {}",
                    String::from_utf8_lossy(&raw)
                ));
            }
        }
        let elapsed = start.elapsed();
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| format!("not an HTTP answer from {socket}: {text:?}"))?;
        Ok(Answer {
            status,
            head: head.to_string(),
            body: body.to_string(),
            elapsed,
        })
    }

    /// The connection itself (e.g. to keep reading a stream).
    pub fn stream(&mut self) -> &mut UnixStream {
        &mut self.stream
    }
}

/// True when `raw` holds a whole answer: its head and then as many body bytes as
/// Content-Length says, or the last chunk of a chunked body.
fn complete(raw: &[u8]) -> bool {
    let text = String::from_utf8_lossy(raw);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    };
    if let Some(len) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        return body.len() >= len;
    }
    if header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        return body.starts_with("0\r\n\r\n") || body.contains("\r\n0\r\n\r\n");
    }
    false
}

/// A request line plus `Host` (the connection stays alive), with a JSON body when given.
pub fn request(method: &str, target: &str, json: Option<&str>) -> String {
    let mut r = format!("{method} {target} HTTP/1.1\r\nHost: docker\r\n");
    match json {
        Some(b) => r.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{b}",
            b.len()
        )),
        None => r.push_str("Content-Length: 0\r\n\r\n"),
    }
    r
}

/// A request asking for a protocol switch, as the CLI sends attach and exec start.
pub fn upgrade_request(target: &str, json: Option<&str>) -> String {
    let body = json.unwrap_or("");
    format!(
        "POST {target} HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// `ifindex` of `ethwe` inside the network namespace of process `pid`, and of its veth
/// peer (`N: ethwe@ifM:` in `ip -o link`). Panics when there is no such veth.
pub fn ethwe_indexes(pid: &str) -> (u32, u32) {
    let out = crate::netns::run_ok(
        "nsenter",
        &["-t", pid, "-n", "ip", "-o", "link", "show", "ethwe"],
    );
    let (index, rest) = out.split_once(": ").expect("ip -o link output");
    let peer = rest
        .split_once("@if")
        .and_then(|(_, r)| r.split(':').next())
        .unwrap_or_else(|| panic!("ethwe of pid {pid} is not a veth: {out}"));
    (index.trim().parse().unwrap(), peer.parse().unwrap())
}

/// `ifindex` of link `name` in this process's network namespace; `None` when absent.
pub fn link_index(name: &str) -> Option<u32> {
    let out = crate::netns::run("ip", &["-o", "link", "show", name]);
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout)
        .split(':')
        .next()?
        .trim()
        .parse()
        .ok()
}
