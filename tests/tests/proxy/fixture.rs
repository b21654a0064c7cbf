//! A private network for one test: a volume container made from the weavewait image, a
//! Linux bridge name and its iptables FORWARD rule (both removed on drop), and proxies
//! following Docker's events with the native bridge backend and the firewall rule, as a
//! user runs them on a host whose FORWARD policy is DROP.

use std::os::unix::net::UnixStream;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use e2e::docker::{docker, docker_ok, unique, Cleanup};
use e2e::kit;
use e2e::prereq;
use e2e::proxy::{prerequisites, Proxy, TempDir};

/// The waiter as these tests spell it: the default file under another Entrypoint string,
/// so followers of other tests on the shared daemon (which attach only containers whose
/// Entrypoint starts with their own string) leave these tests' containers alone.
pub const WAITER: &str = "/home/weavewait/./wait-for-weave";

/// A waiter spelling no other test process uses (`/home/weavewait/././…/wait-for-weave`),
/// for followers that are not scoped by a label: they must not attach other tests'
/// containers, nor other tests' followers theirs.
pub fn unique_waiter() -> String {
    let dots = 3 + std::process::id() % 40;
    format!(
        "/home/weavewait/{}wait-for-weave",
        "./".repeat(dots as usize)
    )
}

/// One test's network.
pub struct Net {
    /// The volume container carrying the waiter.
    pub volume: String,
    /// The Linux bridge the proxies of [`Net::proxy`] plug containers into.
    pub bridge: String,
    /// `pw.test=<unique>`: the label the containers carry and the proxies are scoped to.
    pub label: String,
    /// Other bridges a test made (removed on drop too).
    pub more_bridges: Vec<String>,
    _cleanup: Cleanup,
}

impl Net {
    /// Checks the prerequisites (root, dockerd, the static binary, the weavewait archive,
    /// busybox for the app image) and creates the volume container; `None` means skip.
    pub fn setup() -> Option<Net> {
        if !prerequisites() {
            return None;
        }
        let archive = kit::archive_path("weavewait").is_file();
        if !prereq::require(archive, "target/images/weavewait.tar (`make images`)") {
            return None;
        }
        let waiter_image = kit::load_archive("weavewait");
        let mut cleanup = Cleanup::default();
        let volume = cleanup.add(unique("ww"));
        docker_ok(&["create", "--name", &volume, &waiter_image]);
        Some(Net {
            volume,
            bridge: bridge_name(),
            label: format!("pw.test={}", unique("net")),
            more_bridges: Vec::new(),
            _cleanup: cleanup,
        })
    }

    /// Another bridge name, removed with the net.
    pub fn another_bridge(&mut self) -> String {
        let b = bridge_name();
        self.more_bridges.push(b.clone());
        b
    }

    /// A proxy following events, scoped to [`Net::label`], with the bridge backend (unless
    /// `extra` gives another `--attach`) on [`Net::bridge`] (firewall rule on), [`WAITER`],
    /// plus `extra`; logging at `rust_log`.
    pub fn proxy(&self, extra: &[&str], rust_log: &str) -> NetProxy {
        let mut args = vec!["--label", &self.label];
        args.extend_from_slice(extra);
        self.proxy_with(&self.bridge, WAITER, &args, rust_log)
    }

    /// A proxy following events on `bridge` with `waiter`, plus `extra` (no label unless
    /// given); logging at `rust_log`.
    pub fn proxy_with(
        &self,
        bridge: &str,
        waiter: &str,
        extra: &[&str],
        rust_log: &str,
    ) -> NetProxy {
        let dir = TempDir::new("pw-net");
        let sock = dir.join("p.sock");
        let host = format!("unix://{}", sock.display());
        let mut args = vec![
            "--listen",
            &host,
            "--docker",
            "unix:///var/run/docker.sock",
            "--bridge",
            bridge,
            "--volume-container",
            &self.volume,
            "--waiter",
            waiter,
        ];
        if !extra.contains(&"--attach") {
            args.extend_from_slice(&["--attach", "bridge"]);
        }
        args.extend_from_slice(extra);
        let ready = move |_: &str| UnixStream::connect(&sock).is_ok();
        let proxy = Proxy::start_logging(&host, &args, ready, rust_log);
        NetProxy { proxy, _dir: dir }
    }
}

/// A proxy of a [`Net`] and the directory of its socket (removed after the proxy stops).
pub struct NetProxy {
    /// The proxy.
    pub proxy: Proxy,
    _dir: TempDir,
}

impl std::ops::Deref for NetProxy {
    type Target = Proxy;
    fn deref(&self) -> &Proxy {
        &self.proxy
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for bridge in std::iter::once(&self.bridge).chain(&self.more_bridges) {
            let _ = Command::new("ip").args(["link", "del", bridge]).output();
            let _ = Command::new("iptables")
                .args(["-w", "5", "-D", "FORWARD", "-i", bridge, "-o", bridge])
                .args(["-j", "ACCEPT"])
                .output();
        }
    }
}

/// A bridge name of at most 15 bytes, unique per process and call.
fn bridge_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("pwn{}x{n}", std::process::id() % 100_000)
}

/// The host ends (`vethwepl…`) that are ports of `bridge`.
pub fn ports_of(bridge: &str) -> usize {
    let out = Command::new("ip")
        .args(["-o", "link", "show", "master", bridge])
        .output()
        .expect("run ip");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("vethwepl"))
        .count()
}

/// `docker logs NAME`, stdout and stderr.
pub fn logs(name: &str) -> String {
    e2e::output_text(&docker(&["logs", name]))
}

/// Polls `cond` every 50 ms until it holds; panics naming `what` after `secs` seconds.
pub fn wait_until(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {secs} s: {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The lines of a proxy log at WARN or ERROR level.
pub fn warnings(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        .collect()
}
