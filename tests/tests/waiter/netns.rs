//! `wait-for-weave` in real network namespaces, with `ethwe` attached the way Weave does it:
//! a veth made under a temporary name, moved in, renamed, addressed, set up.

use std::path::PathBuf;
use std::process::Stdio;
use std::thread::sleep;

use e2e::netns::{eventually, output_bounded, waiter_is_waiting, Attach, Flood, NetNs, Rtnl};
use e2e::prereq::{command_works, require};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::support::{
    prerequisites, spawn_in, stdout_lines, still_waiting, waiting_app, Marker, APP, LIMIT, SETTLE,
};

#[test]
fn execs_exactly_once_and_only_when_every_expected_address_is_up() {
    let Some(bin) = prerequisites() else { return };
    let ns = NetNs::new();
    let marker = Marker::new();
    let child = spawn_in(
        &ns,
        &bin,
        &[("WEAVE_CIDR", "10.255.0.51/24 ip:10.255.1.51/24 net:default")],
        &["--verbose", "sh", "-c", APP, "app", marker.path(), "ethwe"],
    );
    let pid = child.id();
    assert!(
        eventually(LIMIT, || waiter_is_waiting(pid)),
        "never started waiting"
    );

    let attach = Attach::create(ns.target(), "ethwe");
    still_waiting(&child, &marker, "veth created outside");
    attach.move_in();
    still_waiting(&child, &marker, "moved in under a temporary name");
    attach.rename();
    still_waiting(&child, &marker, "renamed to ethwe, down, no address");
    attach.add_addr("10.255.0.51/24");
    still_waiting(&child, &marker, "first address while down");
    attach.up();
    still_waiting(&child, &marker, "up with one of two addresses");
    attach.add_addr("10.255.1.51/16");
    still_waiting(&child, &marker, "second address with the wrong prefix");
    attach.add_addr("10.255.1.51/24");

    let out = output_bounded(child, LIMIT, "waiter after attach");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(marker.runs(), 1, "exactly one run");
    let lines = stdout_lines(&out);
    assert_eq!(
        lines[0],
        format!("pid={pid}"),
        "exec'd in place, not as a child"
    );
    let flags = u32::from_str_radix(lines[1].trim_start_matches("0x"), 16).unwrap();
    assert_eq!(flags & 1, 1, "IFF_UP when the app started");
    assert!(lines.contains(&"10.255.0.51/24".to_string()), "{lines:?}");
    assert!(lines.contains(&"10.255.1.51/24".to_string()), "{lines:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("wait-for-weave: ethwe ready after ")
            && stderr.contains("10.255.0.51/24")
            && stderr.contains("10.255.1.51/24")
            && stderr.lines().count() == 1,
        "one verbose line: {stderr}"
    );
}

#[test]
fn any_ipv4_address_when_none_is_expected() {
    let Some(bin) = prerequisites() else { return };
    let ns = NetNs::new();
    let (child, marker) = waiting_app(&ns, &bin, &[], "ethwe");
    let attach = Attach::create(ns.target(), "ethwe");
    attach.move_in().rename().up();
    still_waiting(&child, &marker, "up without an address");
    // An IPv6 address alone does not count; "nodad" makes it usable at once.
    ns.ip(&["addr", "add", "fd00::51/64", "dev", "ethwe", "nodad"]);
    still_waiting(&child, &marker, "IPv6 address only");
    attach.add_addr("192.168.77.5/30");
    let out = output_bounded(child, LIMIT, "waiter after attach");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(marker.runs(), 1);
    assert!(stdout_lines(&out).contains(&"192.168.77.5/30".to_string()));
}

#[test]
fn deleted_and_recreated_ethwe_is_judged_by_the_new_link() {
    let Some(bin) = prerequisites() else { return };
    let ns = NetNs::new();
    let (child, marker) = waiting_app(&ns, &bin, &[("WEAVE_CIDR", "10.255.0.51/24")], "ethwe");
    let first = Attach::create(ns.target(), "ethwe");
    first.move_in().rename().add_addr("10.255.0.51/24");
    still_waiting(&child, &marker, "first ethwe, down");
    drop(first);
    let second = Attach::create(ns.target(), "ethwe");
    second.move_in().rename().up();
    still_waiting(
        &child,
        &marker,
        "new ethwe up, the address went with the old one",
    );
    second.add_addr("10.255.0.51/24");
    let out = output_bounded(child, LIMIT, "waiter after re-attach");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(marker.runs(), 1);
}

#[test]
fn already_ready_runs_at_once() {
    let Some(bin) = prerequisites() else { return };
    let ns = NetNs::new();
    let _attach = Attach::all(ns.target(), "ethwe", &["10.255.0.51/24"]);
    let marker = Marker::new();
    let child = spawn_in(
        &ns,
        &bin,
        &[("WEAVE_CIDR", "10.255.0.51/24")],
        &["-v", "sh", "-c", APP, "app", marker.path(), "ethwe"],
    );
    let out = output_bounded(child, LIMIT, "waiter with ethwe already there");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(marker.runs(), 1);
    assert!(stdout_lines(&out).contains(&"10.255.0.51/24".to_string()));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ethwe ready after"));
}

/// Runs `sh -c SCRIPT sh WAITER -- COMMAND...` in `ns` and returns the command's stdout.
fn through_shell(ns: &NetNs, bin: &PathBuf, script: &str, command: &[&str]) -> String {
    let child = ns
        .command("sh")
        .args(["-c", script, "sh"])
        .arg(bin)
        .arg("--")
        .args(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = output_bounded(child, LIMIT, "waiter through a shell");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `ls -l /proc/self/fd/` output as (fd, target) pairs, `ls`'s own directory fd left out.
fn fd_table(ls: &str) -> Vec<(u32, String)> {
    let mut fds: Vec<(u32, String)> = ls
        .lines()
        .filter_map(|l| {
            let (left, target) = l.split_once(" -> ")?;
            let fd = left.split_whitespace().last()?.parse().ok()?;
            // Each run has its own stdout/stderr pipes: compare the kind only.
            let target = if target.starts_with("pipe:") {
                "pipe"
            } else {
                target
            };
            Some((fd, target.to_string()))
        })
        .filter(|(_, target)| !(target.starts_with("/proc/") && target.ends_with("/fd")))
        .collect();
    fds.sort();
    fds
}

#[test]
fn the_exec_d_command_inherits_only_our_fds_and_a_clean_signal_state() {
    let Some(bin) = prerequisites() else { return };
    let ns = NetNs::new();
    let _attach = Attach::all(ns.target(), "ethwe", &["10.255.0.51/24"]);

    // Nothing blocked, nothing ignored (Rust's runtime ignores SIGPIPE; the waiter blocks
    // four signals while it waits).
    let status = through_shell(
        &ns,
        &bin,
        r#"exec "$@""#,
        &["grep", "^Sig", "/proc/self/status"],
    );
    assert!(status.contains("SigBlk:\t0000000000000000"), "{status}");
    assert!(status.contains("SigIgn:\t0000000000000000"), "{status}");

    // Whatever the parent passes on (here fd 7, plus what the harness leaks) reaches the
    // command; the waiter's netlink socket and signalfd do not. `ls` opens its directory.
    let script = r#"exec 7</dev/null; exec "$@""#;
    let ls = ["ls", "-l", "/proc/self/fd/"];
    let with_waiter = fd_table(&through_shell(&ns, &bin, script, &ls));
    let mut direct = ns.command("sh");
    direct.args(["-c", script, "sh"]).args(ls);
    let without = fd_table(&String::from_utf8_lossy(&direct.output().unwrap().stdout));
    assert!(without.iter().any(|(fd, _)| *fd == 7), "{without:?}");
    assert_eq!(with_waiter, without, "only the inherited fds");
    // Dispositions inherited as ignored stay ignored (SIGHUP = bit 0, SIGPIPE = bit 12),
    // nothing else is added.
    let status = through_shell(
        &ns,
        &bin,
        r#"trap '' HUP PIPE; exec "$@""#,
        &["grep", "^SigIgn:", "/proc/self/status"],
    );
    assert_eq!(status.trim(), "SigIgn:\t0000000000001001");
}

#[test]
fn works_as_a_non_root_user() {
    let Some(bin) = prerequisites() else { return };
    if !require(
        command_works("setpriv", &["--version"]),
        "setpriv (util-linux)",
    ) {
        return;
    }
    // A copy the unprivileged user can reach whatever the checkout's permissions.
    let tmp = tempfile::Builder::new()
        .prefix("waiter-nonroot-")
        .tempdir()
        .unwrap();
    let dir = tmp.path();
    let copy = dir.join("wait-for-weave");
    std::fs::copy(&bin, &copy).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    let ns = NetNs::new();
    let mut c = ns.command("setpriv");
    c.args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
        .arg(&copy)
        .args(["-v", "--addr", "10.255.0.51/24", "--", "sh", "-c", "id -u"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = c.spawn().unwrap();
    assert!(eventually(LIMIT, || waiter_is_waiting(child.id())));
    assert_eq!(
        e2e::netns::proc_status(child.id(), "Uid")
            .unwrap()
            .split_whitespace()
            .next(),
        Some("65534")
    );
    let _attach = Attach::all(ns.target(), "ethwe", &["10.255.0.51/24"]);
    let out = output_bounded(child, LIMIT, "non-root waiter");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "65534");
}

/// Thousands of notifications while the waiter cannot read (stopped) overflow its socket
/// (ENOBUFS); requests from another socket reuse the waiter's sequence numbers, including
/// the two that make ethwe ready. It must still exec exactly once, when ready.
#[test]
fn floods_with_colliding_sequence_numbers_and_enobufs_still_exec_once() {
    let Some(bin) = prerequisites() else { return };
    let ns = NetNs::new();
    let marker = Marker::new();
    let flood = Flood::start(&ns);
    // The waiter starts (subscribes and dumps) in the middle of the flood.
    let child = spawn_in(
        &ns,
        &bin,
        &[("WEAVE_CIDR", "10.255.0.51/24")],
        &["--verbose", "sh", "-c", APP, "app", marker.path(), "ethwe"],
    );
    let pid = child.id();
    assert!(eventually(LIMIT, || waiter_is_waiting(pid)));
    sleep(SETTLE);
    kill(Pid::from_raw(pid as i32), Signal::SIGSTOP).unwrap();
    let before = flood.sent();
    assert!(
        eventually(LIMIT, || flood.sent() > before + 6000),
        "the flood is too slow"
    );
    // Attach while stopped and flooded: moved in, renamed, set up (numbered like our dumps).
    let attach = Attach::create(ns.target(), "ethwe");
    attach.move_in().rename();
    let index = ns.target().ifindex("ethwe");
    let rtnl = Rtnl::open_in(&ns.target());
    rtnl.set_up(index, true, 2);
    // Quiet again: whatever the waiter knows now comes from its re-dump. The decisive event
    // (the only one an IPv4 address add makes) is numbered like the waiter's first dump and
    // must still count as an event.
    drop(flood);
    kill(Pid::from_raw(pid as i32), Signal::SIGCONT).unwrap();
    still_waiting(&child, &marker, "up without its address, after the flood");
    rtnl.add_addr(index, "10.255.0.51".parse().unwrap(), 24, 1);
    let out = output_bounded(child, LIMIT, "waiter after the flood");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(marker.runs(), 1, "exactly one run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("re-dumps after lost netlink events"),
        "the flood must have overflowed the waiter's socket: {stderr}"
    );
    assert!(stderr.contains("ethwe ready after"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one verbose line: {stderr}");
}

#[test]
fn a_command_started_without_the_waiter_is_not_affected() {
    // Sanity check of the harness itself: the app script works outside the waiter, so the
    // assertions above fail only because of the waiter.
    let Some(_bin) = prerequisites() else { return };
    let ns = NetNs::new();
    let _attach = Attach::all(ns.target(), "ethwe", &["10.255.0.51/24"]);
    let marker = Marker::new();
    let out = ns
        .command("sh")
        .args(["-c", APP, "app", marker.path(), "ethwe"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(marker.runs(), 1);
    assert!(stdout_lines(&out).contains(&"10.255.0.51/24".to_string()));
}
