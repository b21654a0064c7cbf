//! Simulated hosts for the multi-host tests: a guard over `mk/cluster.sh`, which builds
//! N network namespaces on a switch, one dockerd each, a swarm (host 1 the manager, the
//! others workers) and an attachable overlay network, and loads the images into every
//! daemon. The script is the one implementation (`make cluster-up` uses it too); this
//! module starts it, reads the cluster's description, drives each host's docker CLI with
//! a bound on every call, and tears the cluster down on drop, also when a test panics.
//!
//! A cluster is owned by the test process: should the process die without unwinding, the
//! next `up` (any test's, or `make cluster-up`) sweeps it.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::docker::CALL_TIMEOUT_SECS;
use crate::netns::output_bounded;
use crate::{kit, prereq};

/// Bound on `mk/cluster.sh up` as a whole (its own waits are bounded more tightly).
pub const UP_TIMEOUT: Duration = Duration::from_secs(300);
/// Bound on the teardown and on stopping or starting one host's dockerd.
pub const DOWN_TIMEOUT: Duration = Duration::from_secs(180);

/// The harness script, `<workspace>/mk/cluster.sh`.
pub fn script() -> PathBuf {
    prereq::workspace_root().join("mk/cluster.sh")
}

/// Checks what a cluster needs: root, the tools the script calls (`ip`, `nsenter`,
/// `unshare`, `flock`), a dockerd binary (`DOCKERD`, `ENGINE_DIR` or the system's), the
/// docker CLI, busybox for the test image, and the archives of `make images`. `false` =
/// skip (outside CI).
pub fn prerequisites() -> bool {
    let dockerd = std::env::var_os("DOCKERD")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("ENGINE_DIR").map(|d| PathBuf::from(d).join("dockerd")));
    let dockerd_ok = match dockerd {
        Some(p) => p.is_file(),
        None => prereq::command_works("dockerd", &["--version"]),
    };
    prereq::require(
        prereq::is_root(),
        "root (network namespaces, private dockerd)",
    ) && prereq::require(
        ["ip", "nsenter", "unshare", "flock"]
            .iter()
            .all(|t| prereq::command_works("which", &[t])),
        "ip, nsenter, unshare and flock (apt-get install iproute2 util-linux)",
    ) && prereq::require(
        dockerd_ok,
        "a dockerd binary (apt-get install docker.io, or DOCKERD=/path/dockerd or ENGINE_DIR=/dir)",
    ) && prereq::require(
        prereq::command_works("docker", &["--version"]),
        "the docker CLI (apt-get install docker.io)",
    ) && prereq::require(
        Path::new("/bin/busybox").is_file(),
        "/bin/busybox for the test image (apt-get install busybox-static)",
    ) && prereq::require(
        PRODUCT_IMAGES
            .iter()
            .all(|i| kit::archive_path(i).is_file()),
        "target/images/{weavewait,weavewait-example,powerstrip-weave}.tar (`make images`)",
    )
}

/// The product's images every host gets (`make images` archives).
pub const PRODUCT_IMAGES: [&str; 3] = ["weavewait", "weavewait-example", "powerstrip-weave"];

/// Reference of the busybox test image (tests/images/busybox.toml, tag `latest`), loaded
/// into every host; also the image of the script's per-host probe.
pub const BUSYBOX: &str = "pw-test-busybox:latest";

/// The archives a test cluster loads: the busybox test image built into `dir` with the
/// image kit (once, then `docker load`ed by every host), and the product's images.
pub fn test_images(dir: &Path) -> Vec<PathBuf> {
    let busybox = kit::build(Path::new("tests/images/busybox.toml"), dir);
    let mut all = vec![busybox.archive];
    all.extend(PRODUCT_IMAGES.iter().map(|i| kit::archive_path(i)));
    all
}

/// What to build.
#[derive(Debug, Clone)]
pub struct Options {
    /// Number of hosts, 1 to 32; host 1 is the swarm manager.
    pub hosts: usize,
    /// Name of the attachable overlay network.
    pub network: String,
    /// Its subnet (CIDR).
    pub subnet: String,
    /// Archives to `docker load` into every host.
    pub images: Vec<PathBuf>,
    /// Run the script's probe (a [`BUSYBOX`] container per host joins the network):
    /// needs the busybox archive in `images`.
    pub probe: bool,
    /// The process whose death makes the cluster stale (default: this one).
    pub owner: u32,
    /// Form a swarm with an attachable overlay (default). Without: daemons only, no
    /// network and no probe (`--no-swarm`).
    pub swarm: bool,
    /// `"live-restore": true` in every daemon.json (`--live-restore`; needs `swarm` off,
    /// as Docker refuses live-restore in swarm mode).
    pub live_restore: bool,
}

impl Options {
    /// `hosts` hosts, network `wnet` on 10.255.0.0/16, no images, no probe, owned by this
    /// process.
    pub fn new(hosts: usize) -> Options {
        Options {
            hosts,
            network: "wnet".into(),
            subnet: "10.255.0.0/16".into(),
            images: Vec::new(),
            probe: false,
            owner: std::process::id(),
            swarm: true,
            live_restore: false,
        }
    }
}

/// One simulated host.
#[derive(Debug, Clone)]
pub struct Host {
    /// 1-based; host 1 is the swarm manager.
    pub index: usize,
    /// Its dockerd, as a `DOCKER_HOST` value (`unix:///…/hN/docker.sock`).
    pub docker_host: String,
    /// Its address on the switch (198.18.0.N), the swarm's advertise and data-path address.
    pub addr: Ipv4Addr,
    /// Name of its network namespace (`pwc-<id>-hN`).
    pub netns: String,
}

impl Host {
    /// Path of its dockerd's socket (`docker_host` without `unix://`).
    pub fn socket(&self) -> PathBuf {
        PathBuf::from(
            self.docker_host
                .strip_prefix("unix://")
                .unwrap_or(&self.docker_host),
        )
    }
}

/// A running cluster, torn down (and the teardown verified) on drop.
pub struct Cluster {
    /// Cluster id (`[a-z0-9]`, at most 12).
    pub id: String,
    /// Its state directory.
    pub dir: PathBuf,
    /// The overlay network's name (empty without swarm).
    pub network: String,
    /// The overlay network's subnet (empty without swarm).
    pub subnet: String,
    /// Engine version of the daemons, e.g. `20.10.24+dfsg1`.
    pub engine: String,
    /// The hosts, in order.
    pub hosts: Vec<Host>,
    /// What `up` reported on stderr (its phases and their durations).
    pub up_log: String,
    /// How long `up` took.
    pub up_time: Duration,
    torn_down: bool,
}

/// A cluster id unique to this process and call: `t<pid hex>x<n>`.
fn next_id() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "t{:x}x{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Runs `mk/cluster.sh args…` (stdin closed, output collected) for at most `limit`;
/// panics when the limit passes.
pub fn run_script(args: &[&str], limit: Duration) -> Output {
    let child = Command::new("bash")
        .arg(script())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script().display()));
    output_bounded(child, limit, &format!("mk/cluster.sh {}", args.join(" ")))
}

/// What is left of cluster `id` (`mk/cluster.sh check`): one line per state directory,
/// network namespace, cgroup, mount or process; empty when nothing is.
pub fn leftovers(id: &str) -> Vec<String> {
    let out = run_script(&["check", id], DOWN_TIMEOUT);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// `mk/cluster.sh sweep`: tears down every cluster whose owner died. Returns the output
/// (what it swept, on stderr); panics when a teardown left something.
pub fn sweep() -> Output {
    let out = run_script(&["sweep"], DOWN_TIMEOUT);
    assert!(
        out.status.success(),
        "mk/cluster.sh sweep failed: {}",
        crate::output_text(&out)
    );
    out
}

/// The value of `KEY=VALUE` line `key` in `env`.
fn field<'a>(env: &'a str, key: &str) -> Option<&'a str> {
    env.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
}

impl Cluster {
    /// Builds a cluster (`mk/cluster.sh up`) and reads its description. Panics with the
    /// script's message (which names what did not come) when it fails; the script has
    /// then torn down what it made.
    pub fn up(opts: &Options) -> Cluster {
        let id = next_id();
        let hosts = opts.hosts.to_string();
        let owner = opts.owner.to_string();
        let mut args = vec![
            "up",
            "--id",
            &id,
            "--hosts",
            &hosts,
            "--network",
            &opts.network,
            "--subnet",
            &opts.subnet,
            "--owner",
            &owner,
        ];
        let images: Vec<String> = opts
            .images
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        for i in &images {
            args.extend(["--image", i.as_str()]);
        }
        args.push(if opts.probe {
            "--probe-image"
        } else {
            "--no-probe"
        });
        if opts.probe {
            args.push(BUSYBOX);
        }
        if !opts.swarm {
            args.push("--no-swarm");
        }
        if opts.live_restore {
            args.push("--live-restore");
        }
        // Armed before the script runs: whatever it made is torn down on every path.
        let mut cluster = Cluster {
            id: id.clone(),
            dir: PathBuf::new(),
            network: opts.network.clone(),
            subnet: opts.subnet.clone(),
            engine: String::new(),
            hosts: Vec::new(),
            up_log: String::new(),
            up_time: Duration::ZERO,
            torn_down: false,
        };
        let start = Instant::now();
        let out = run_script(&args, UP_TIMEOUT);
        cluster.up_time = start.elapsed();
        cluster.up_log = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success(),
            "mk/cluster.sh up failed ({}):\n{}",
            out.status,
            cluster.up_log
        );
        let env = String::from_utf8_lossy(&out.stdout).into_owned();
        let get = |key: &str| {
            field(&env, key)
                .unwrap_or_else(|| panic!("mk/cluster.sh up printed no {key}:\n{env}"))
                .to_string()
        };
        cluster.dir = PathBuf::from(get("PWC_DIR"));
        cluster.network = get("PWC_NETWORK");
        cluster.subnet = get("PWC_SUBNET");
        cluster.engine = get("PWC_ENGINE");
        cluster.hosts = (1..=opts.hosts)
            .map(|n| Host {
                index: n,
                docker_host: get(&format!("PWC_HOST_{n}")),
                addr: get(&format!("PWC_ADDR_{n}"))
                    .parse()
                    .expect("PWC_ADDR_N is an IPv4 address"),
                netns: get(&format!("PWC_NETNS_{n}")),
            })
            .collect();
        cluster
    }

    /// Host `n` (1-based).
    pub fn host(&self, n: usize) -> &Host {
        &self.hosts[n - 1]
    }

    /// `docker ARGS…` against host `n`'s dockerd, bounded by
    /// [`CALL_TIMEOUT_SECS`](crate::docker::CALL_TIMEOUT_SECS) (exit status 124 = the bound
    /// was hit), stdin closed.
    pub fn docker(&self, n: usize, args: &[&str]) -> Output {
        Command::new("timeout")
            .args(["-k", "5", &CALL_TIMEOUT_SECS.to_string(), "docker"])
            .args(["-H", &self.host(n).docker_host])
            .args(args)
            .env_remove("DOCKER_CONTEXT")
            .stdin(Stdio::null())
            .output()
            .expect("cannot run `timeout docker`")
    }

    /// `docker ARGS…` on host `n`; panics with its stderr unless it exits 0. Returns
    /// trimmed stdout.
    pub fn docker_ok(&self, n: usize, args: &[&str]) -> String {
        let out = self.docker(n, args);
        assert!(
            out.status.success(),
            "host {n}: docker {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Stops host `n`'s dockerd (SIGTERM, as a service manager does) and waits until it is
    /// gone. Returns how long that took.
    pub fn stop_daemon(&self, n: usize) -> Duration {
        self.script_ok(&["stop", &self.id, &n.to_string()])
    }

    /// Starts host `n`'s dockerd again with its first command line and waits until it
    /// answers and is back in the swarm. Returns how long that took.
    pub fn start_daemon(&self, n: usize) -> Duration {
        self.script_ok(&["start", &self.id, &n.to_string()])
    }

    /// Memory of every process of the cluster (daemons, containerd, shims, containers):
    /// the sum of their proportional set sizes, in KiB.
    pub fn memory_kib(&self) -> u64 {
        let out = run_script(&["mem", &self.id], DOWN_TIMEOUT);
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("mk/cluster.sh mem: {}", crate::output_text(&out)))
    }

    fn script_ok(&self, args: &[&str]) -> Duration {
        let start = Instant::now();
        let out = run_script(args, DOWN_TIMEOUT);
        assert!(
            out.status.success(),
            "mk/cluster.sh {} failed: {}",
            args.join(" "),
            crate::output_text(&out)
        );
        start.elapsed()
    }

    /// Tears the cluster down and verifies that nothing is left (`mk/cluster.sh down`).
    /// Returns the script's report and the time taken, or its report of what is left.
    pub fn down(mut self) -> Result<(String, Duration), String> {
        self.torn_down = true;
        let start = Instant::now();
        let out = run_script(&["down", &self.id], DOWN_TIMEOUT);
        let report = crate::output_text(&out);
        if out.status.success() {
            Ok((report, start.elapsed()))
        } else {
            Err(report)
        }
    }

    /// Containers on this cluster's hosts removed when the guard drops.
    pub fn containers(&self) -> Containers<'_> {
        Containers {
            cluster: self,
            names: Vec::new(),
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.torn_down {
            return;
        }
        let out = run_script(&["down", &self.id], DOWN_TIMEOUT);
        if !out.status.success() {
            eprintln!(
                "cluster {}: teardown left something: {}",
                self.id,
                crate::output_text(&out)
            );
        }
    }
}

/// Containers (host, name) removed with `docker rm -f -v` on drop, also when a test
/// panics, so scenarios sharing a cluster leave it as they found it.
pub struct Containers<'a> {
    cluster: &'a Cluster,
    names: Vec<(usize, String)>,
}

impl Containers<'_> {
    /// Registers container `name` of host `n` and returns the name.
    pub fn add(&mut self, n: usize, name: impl Into<String>) -> String {
        let name = name.into();
        self.names.push((n, name.clone()));
        name
    }
}

impl Drop for Containers<'_> {
    fn drop(&mut self) {
        for (n, name) in self.names.iter().rev() {
            let _ = self.cluster.docker(*n, &["rm", "-f", "-v", name]);
        }
    }
}

/// An IPv4 address with its prefix length, as `ip addr` shows it (`10.255.0.61/16`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cidr {
    /// The address.
    pub addr: Ipv4Addr,
    /// Prefix length, 0 to 32.
    pub prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n`; `None` when malformed.
    pub fn parse(s: &str) -> Option<Cidr> {
        let (a, p) = s.split_once('/')?;
        let prefix: u8 = p.parse().ok()?;
        (prefix <= 32).then_some(Cidr {
            addr: a.parse().ok()?,
            prefix,
        })
    }

    /// True when `addr` lies inside this network.
    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        let mask = u32::MAX
            .checked_shl(32 - u32::from(self.prefix))
            .unwrap_or(0);
        u32::from(addr) & mask == u32::from(self.addr) & mask
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Round-trip times `ping` reported, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rtt {
    /// Fastest.
    pub min: f64,
    /// Mean.
    pub avg: f64,
    /// Slowest.
    pub max: f64,
}

/// Parses busybox/iputils' summary line `round-trip min/avg/max = 0.106/0.145/0.221 ms`
/// (iputils: `rtt min/avg/max/mdev = …`); `None` when absent (no reply).
pub fn parse_rtt(ping_output: &str) -> Option<Rtt> {
    let line = ping_output.lines().find(|l| l.contains("min/avg/max"))?;
    let values = line.split('=').nth(1)?.split_whitespace().next()?;
    let mut v = values.split('/').map(|x| x.parse::<f64>().ok());
    Some(Rtt {
        min: v.next()??,
        avg: v.next()??,
        max: v.next()??,
    })
}

impl Cluster {
    /// The overlay network's subnet, parsed.
    pub fn subnet(&self) -> Cidr {
        Cidr::parse(&self.subnet).expect("the cluster's subnet is a CIDR")
    }

    /// Starts `sleep 3600` from [`BUSYBOX`] on host `n` as container `name` (registered in
    /// `guard`), with `extra` options before the image (e.g. `--restart=always`). A stop
    /// timeout of 1 s: busybox `sleep` as PID 1 ignores SIGTERM, and a stopping dockerd
    /// would otherwise wait 10 s for each.
    pub fn run_sleeper(&self, guard: &mut Containers, n: usize, name: &str, extra: &[&str]) {
        guard.add(n, name);
        let mut args = vec!["run", "-d", "--name", name, "--stop-timeout", "1"];
        args.extend_from_slice(extra);
        args.extend([BUSYBOX, "sleep", "3600"]);
        self.docker_ok(n, &args);
    }

    /// The address Docker reports for container `name` of host `n` on the overlay network
    /// (`docker inspect`), `None` when it has no endpoint there.
    pub fn network_address(&self, n: usize, name: &str) -> Option<Ipv4Addr> {
        let format = format!(
            "{{{{with index .NetworkSettings.Networks \"{}\"}}}}{{{{.IPAddress}}}}{{{{end}}}}",
            self.network
        );
        let out = self.docker_ok(n, &["inspect", "--format", &format, name]);
        out.parse().ok()
    }

    /// IPv4 addresses inside container `name` of host `n`, per interface (`ip -4 -o addr`,
    /// loopback left out): `[("eth1", 10.255.0.61/16), …]`.
    pub fn interfaces(&self, n: usize, name: &str) -> Vec<(String, Cidr)> {
        let out = self.docker_ok(n, &["exec", name, "ip", "-4", "-o", "addr", "show"]);
        out.lines()
            .filter_map(|l| {
                let words: Vec<&str> = l.split_whitespace().collect();
                let i = words.iter().position(|w| *w == "inet")?;
                Some((
                    words.get(1)?.trim_end_matches(':').to_string(),
                    Cidr::parse(words.get(i + 1)?)?,
                ))
            })
            .filter(|(iface, _)| iface != "lo")
            .collect()
    }

    /// `ping -c COUNT -W 2 ADDR` from container `name` of host `n`: its output.
    pub fn ping(&self, n: usize, name: &str, addr: Ipv4Addr, count: u32) -> Output {
        self.docker(
            n,
            &[
                "exec",
                name,
                "ping",
                "-c",
                &count.to_string(),
                "-W",
                "2",
                &addr.to_string(),
            ],
        )
    }

    /// Pings `addr` from container `name` of host `n`, one packet at a time, until one
    /// answers; panics when none did within `limit`. Returns how long the first answer
    /// took to come: a fresh endpoint is known to other hosts only once Docker's gossip
    /// has spread it.
    pub fn reach(&self, n: usize, name: &str, addr: Ipv4Addr, limit: Duration) -> Duration {
        let start = Instant::now();
        loop {
            let out = self.ping(n, name, addr, 1);
            if out.status.success() {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < limit,
                "host {n}: {name} got no answer from {addr} within {limit:?}: {}",
                crate::output_text(&out)
            );
        }
    }

    /// Like [`Cluster::ping`], and panics unless every reply came; returns the times.
    pub fn ping_ok(&self, n: usize, name: &str, addr: Ipv4Addr, count: u32) -> Rtt {
        let out = self.ping(n, name, addr, count);
        let text = crate::output_text(&out);
        assert!(
            out.status.success() && text.contains(&format!("{count} packets received")),
            "host {n}: {name} could not reach {addr}: {text}"
        );
        parse_rtt(&text).unwrap_or_else(|| panic!("no round-trip summary in: {text}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_parses_and_contains() {
        let net = Cidr::parse("10.255.0.0/16").unwrap();
        assert!(net.contains("10.255.3.4".parse().unwrap()));
        assert!(!net.contains("10.254.255.255".parse().unwrap()));
        assert!(Cidr::parse("0.0.0.0/0")
            .unwrap()
            .contains("1.2.3.4".parse().unwrap()));
        assert_eq!(Cidr::parse("10.0.0.1/33"), None);
        assert_eq!(Cidr::parse("10.0.0.1"), None);
        assert_eq!(net.to_string(), "10.255.0.0/16");
    }

    #[test]
    fn rtt_from_busybox_and_iputils() {
        let bb = "3 packets transmitted, 3 packets received, 0% packet loss\n\
                  round-trip min/avg/max = 0.106/0.145/0.221 ms\n";
        assert_eq!(
            parse_rtt(bb),
            Some(Rtt {
                min: 0.106,
                avg: 0.145,
                max: 0.221
            })
        );
        let iputils = "rtt min/avg/max/mdev = 0.050/0.060/0.070/0.008 ms";
        assert_eq!(parse_rtt(iputils).map(|r| r.avg), Some(0.060));
        assert_eq!(parse_rtt("100% packet loss"), None);
    }

    #[test]
    fn env_fields() {
        let env = "PWC_ID=ab\nPWC_HOST_1=unix:///x/h1/docker.sock\nPWC_HOST_10=y\n";
        assert_eq!(field(env, "PWC_HOST_1"), Some("unix:///x/h1/docker.sock"));
        assert_eq!(field(env, "PWC_HOST_10"), Some("y"));
        assert_eq!(field(env, "PWC_HOST_2"), None);
    }
}
