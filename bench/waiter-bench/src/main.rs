//! `bench-waiter`: wait-for-weave's budgets (docs/design.md §2), measured side by side in one run.
//!
//! Usage: `waiter-bench WAITER TINY [TINI]` as root, e.g. `waiter-bench
//! target/x86_64-unknown-linux-musl/release-waiter/wait-for-weave /bin/busybox /usr/bin/tini-static`.
//! TINY is a small static program run as `TINY true` (Debian's busybox-static).
//!
//! - size: the static stripped binary's bytes;
//! - exec overhead when ready: `hyperfine -N` of `TINY true` alone, behind the waiter (named
//!   link, and `--iface any`) and behind tini-static, in a namespace where ethwe is already
//!   up with its address;
//! - address added → app running: the waiter waits for `--addr` on ethwe, and with `--iface
//!   any` on an eth1 next to an eth0 that carries another address; the time from just before
//!   the `RTM_NEWADDR` request to the kernel's exec event for the app (process connector,
//!   same clock), and to the first byte the app (`TINY echo`) writes (which adds the app's own
//!   start-up), TRIALS times each (default 200, env `TRIALS`);
//! - peak RSS: the waiter's own high-water mark (VmHWM) while it waits, and `/usr/bin/time -v`
//!   of the waiter until its timeout and of each exec'ing variant. GNU time's figure also
//!   counts the pages of its own forked copy before the exec, so it reads higher and varies.

use std::io::Read;
use std::net::Ipv4Addr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use e2e::netns::{clean_spawn, eventually, waiter_is_waiting, Attach, NetNs, Rtnl};

mod exec_events;
use exec_events::{now_ns, ExecEvents};

const KIB: f64 = 1024.0;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: waiter-bench WAITER TINY [TINI]");
        std::process::exit(2);
    }
    let (waiter, tiny) = (args[1].as_str(), args[2].as_str());
    let tini = args.get(3).map(String::as_str);
    let trials: usize = std::env::var("TRIALS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(200)
        .max(100);

    println!("bench-waiter: wait-for-weave against the budgets of docs/design.md §2");
    println!("{:<44} {:>22}   budget", "figure", "measured");
    size(waiter);
    exec_overhead(waiter, tiny, tini);
    latency(waiter, tiny, trials, Link::Ethwe);
    latency(waiter, tiny, trials, Link::AnyEth1);
    peak_rss(waiter, tiny, tini);
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT MET"
    }
}

fn size(waiter: &str) {
    let bytes = std::fs::metadata(waiter)
        .unwrap_or_else(|e| panic!("{waiter}: {e} (run `make static`)"))
        .len();
    let kib = bytes as f64 / KIB;
    println!(
        "{:<44} {:>18.1} KiB   <= 1024 KiB hard: {}; <= 640 KiB target: {}",
        "static stripped size",
        kib,
        verdict(kib <= 1024.0),
        verdict(kib <= 640.0)
    );
}

/// A namespace where ethwe is up with 10.255.0.51/24, as the waiter finds it when ready.
fn ready_namespace() -> (NetNs, Attach) {
    let ns = NetNs::new();
    let attach = Attach::all(ns.target(), "ethwe", &["10.255.0.51/24"]);
    ns.ip(&["link", "set", "lo", "up"]);
    (ns, attach)
}

fn exec_overhead(waiter: &str, tiny: &str, tini: Option<&str>) {
    let (ns, _attach) = ready_namespace();
    let json = std::env::temp_dir().join(format!("bench-waiter-{}.json", std::process::id()));
    let alone = format!("{tiny} true");
    let behind_waiter = format!("{waiter} --addr 10.255.0.51/24 -- {tiny} true");
    let behind_any = format!("{waiter} --iface any --addr 10.255.0.51/24 -- {tiny} true");
    let mut commands = vec![alone.clone(), behind_waiter, behind_any];
    if let Some(t) = tini {
        commands.push(format!("{t} -s -- {tiny} true"));
    }
    let mut c = ns.command("hyperfine");
    c.args(["-N", "--warmup", "200", "--runs", "2000", "--style", "none"])
        .arg("--export-json")
        .arg(&json)
        .args(&commands)
        .stdout(Stdio::null());
    let status = c
        .status()
        .expect("run hyperfine (Debian package hyperfine)");
    assert!(status.success(), "hyperfine failed");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).unwrap()).expect("hyperfine JSON");
    let _ = std::fs::remove_file(&json);
    let medians: Vec<f64> = report["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["median"].as_f64().expect("median") * 1000.0)
        .collect();
    println!("exec when already ready (median of 2000 runs, hyperfine -N):");
    println!("{:<44} {:>19.3} ms", format!("  {alone}"), medians[0]);
    let overhead = medians[1] - medians[0];
    println!(
        "{:<44} {:>19.3} ms   overhead {:+.3} ms, <= +0.2 ms: {}",
        "  wait-for-weave + same",
        medians[1],
        overhead,
        verdict(overhead <= 0.2)
    );
    let overhead = medians[2] - medians[0];
    println!(
        "{:<44} {:>19.3} ms   overhead {:+.3} ms, <= +0.2 ms: {}",
        "  wait-for-weave --iface any + same",
        medians[2],
        overhead,
        verdict(overhead <= 0.2)
    );
    if medians.len() > 3 {
        println!(
            "{:<44} {:>19.3} ms   overhead {:+.3} ms (for comparison)",
            "  tini-static -s + same",
            medians[3],
            medians[3] - medians[0]
        );
    }
}

/// Where the awaited address is added.
#[derive(Clone, Copy, PartialEq)]
enum Link {
    /// On ethwe, awaited by name (the default).
    Ethwe,
    /// On eth1, awaited with `--iface any`, next to an eth0 up with 172.17.0.2/16.
    AnyEth1,
}

fn latency(waiter: &str, tiny: &str, trials: usize, link: Link) {
    let ns = NetNs::new();
    let (name, iface, label) = match link {
        Link::Ethwe => ("ethwe", "ethwe", "address added -> app exec'd"),
        Link::AnyEth1 => ("eth1", "any", "--iface any: on eth1 -> app exec'd"),
    };
    let _eth0 =
        (link == Link::AnyEth1).then(|| Attach::all(ns.target(), "eth0", &["172.17.0.2/16"]));
    let attach = Attach::create(ns.target(), name);
    attach.move_in().rename().up();
    let index = ns.target().ifindex(name);
    let rtnl = Rtnl::open_in(&ns.target());
    let mut events = ExecEvents::subscribe();
    let (mut to_exec, mut to_output) = (Vec::new(), Vec::new());
    for trial in 0..trials {
        let addr = Ipv4Addr::new(10, 77, (trial / 250) as u8, (trial % 250) as u8 + 1);
        let cidr = format!("{addr}/16");
        let mut c = ns.command(waiter);
        c.args([
            "--iface", iface, "--addr", &cidr, "--", tiny, "echo", "-n", "x",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
        let mut child = c.spawn().expect("spawn the waiter");
        let pid = child.id();
        assert!(
            eventually(Duration::from_secs(10), || waiter_is_waiting(pid)),
            "the waiter never waited"
        );
        // Its dumps take well under a millisecond; let it settle into poll().
        std::thread::sleep(Duration::from_millis(15));
        let mut out = child.stdout.take().unwrap();
        events.drain();
        let start_ns = now_ns();
        let start = Instant::now();
        rtnl.add_addr(index, addr, 16, trial as u32 + 1000);
        let mut byte = [0u8; 1];
        out.read_exact(&mut byte).expect("the app's first byte");
        to_output.push(start.elapsed().as_secs_f64() * 1000.0);
        let exec_ns = events
            .next_exec(pid, start_ns, Duration::from_secs(5))
            .expect("the app's exec event");
        to_exec.push((exec_ns - start_ns) as f64 / 1e6);
        let status = child.wait().unwrap();
        assert!(status.success(), "trial {trial}: {status}");
        rtnl.del_addr(index, addr, 16, trial as u32 + 100_000);
    }
    let (p50, p99, min, max) = percentiles(&mut to_exec);
    println!(
        "{:<44} {:>8.3} / {:>6.3} ms   p50 <= 0.5 ms: {}; p99 <= 1 ms: {}",
        format!("{label} p50 / p99 ({trials})"),
        p50,
        p99,
        verdict(p50 <= 0.5),
        verdict(p99 <= 1.0)
    );
    println!("{:<44} {:>8.3} / {:>6.3} ms", "  min / max", min, max);
    let (p50, p99, _, _) = percentiles(&mut to_output);
    println!(
        "{:<44} {:>8.3} / {:>6.3} ms   (adds the app's own start-up)",
        "  -> app's first output byte p50 / p99", p50, p99
    );
}

/// p50, p99, min, max of `samples` (ms), nearest rank.
fn percentiles(samples: &mut [f64]) -> (f64, f64, f64, f64) {
    samples.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        let i = ((samples.len() as f64 * p).ceil() as usize).clamp(1, samples.len()) - 1;
        samples[i]
    };
    (pct(0.50), pct(0.99), samples[0], samples[samples.len() - 1])
}

/// Peak RSS in KiB of `argv` inside `ns`, by `/usr/bin/time -v`.
fn max_rss_kib(ns: &NetNs, argv: &[&str]) -> f64 {
    let mut c = ns.command("/usr/bin/time");
    c.arg("-v")
        .args(argv)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    clean_spawn(&mut c);
    let out = c.output().expect("run /usr/bin/time (Debian package time)");
    let text = String::from_utf8_lossy(&out.stderr);
    text.lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no maximum RSS in: {text}"))
}

/// VmHWM (the peak RSS of this process image since its exec) of a waiter that has been
/// waiting for 200 ms, in KiB.
fn waiting_hwm_kib(ns: &NetNs, waiter: &str, tiny: &str) -> f64 {
    let mut c = ns.command(waiter);
    c.args(["--timeout", "1", "--", tiny, "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = c.spawn().expect("spawn the waiter");
    let pid = child.id();
    assert!(eventually(Duration::from_secs(10), || waiter_is_waiting(
        pid
    )));
    std::thread::sleep(Duration::from_millis(200));
    let hwm = e2e::netns::proc_status(pid, "VmHWM").expect("VmHWM of the waiter");
    let _ = child.wait();
    hwm.trim_end_matches("kB")
        .trim()
        .parse()
        .expect("VmHWM in kB")
}

fn peak_rss(waiter: &str, tiny: &str, tini: Option<&str>) {
    println!("peak RSS (max over 5 runs):");
    let empty = NetNs::new();
    let (ready, _attach) = ready_namespace();
    let max_of = |ns: &NetNs, argv: &[&str]| {
        (0..5)
            .map(|_| max_rss_kib(ns, argv))
            .fold(0.0_f64, f64::max)
    };
    let hwm = (0..5)
        .map(|_| waiting_hwm_kib(&empty, waiter, tiny))
        .fold(0.0_f64, f64::max);
    println!(
        "{:<44} {:>18.0} KiB   <= 512 KiB: {}",
        "  wait-for-weave waiting: its VmHWM",
        hwm,
        verdict(hwm <= 512.0)
    );
    let waiting = max_of(&empty, &[waiter, "--timeout", "0.2", "--", tiny, "true"]);
    println!(
        "{:<44} {:>18.0} KiB   (also counts time's own forked image)",
        "  same by /usr/bin/time -v (until its timeout)", waiting
    );
    let behind = max_of(&ready, &[waiter, "--", tiny, "true"]);
    println!(
        "{:<44} {:>18.0} KiB   (max of waiter and app)",
        "  wait-for-weave + tiny true, ready", behind
    );
    let alone = max_of(&ready, &[tiny, "true"]);
    println!("{:<44} {:>18.0} KiB", "  tiny true alone", alone);
    if let Some(t) = tini {
        let with_tini = max_of(&ready, &[t, "-s", "--", tiny, "true"]);
        println!(
            "{:<44} {:>18.0} KiB   (tini's own; its child is separate)",
            "  tini-static -s + tiny true", with_tini
        );
    }
}
