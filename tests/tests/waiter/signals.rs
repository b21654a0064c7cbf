//! `wait-for-weave` as PID 1 of a new pid namespace (as in a container): a terminating
//! signal while it waits ends it within 1 s with 128+signo. PID 1 ignores signals that have
//! no handler, so without the waiter's signal handling `docker stop` would take 10 s.

use std::process::Stdio;
use std::time::{Duration, Instant};

use e2e::netns::{
    clean_spawn, eventually, output_bounded, proc_status, wait_bounded, waiter_is_waiting, Attach,
    NetNs,
};
use e2e::prereq::{command_works, is_root, require, static_bin};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::support::{prerequisites, still_waiting, Marker, LIMIT};

/// The first child of `pid`, once it exists.
fn child_of(pid: u32) -> Option<u32> {
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).ok()?;
    children.split_whitespace().next()?.parse().ok()
}

fn ends_as_pid_1(signal: Signal) {
    let bin = static_bin("wait-for-weave");
    let ok = require(is_root(), "root (pid and network namespaces)")
        && require(
            command_works("unshare", &["--version"]),
            "unshare (util-linux)",
        )
        && require(bin.exists(), "wait-for-weave (run `make static`)");
    if !ok {
        return;
    }
    // A new network namespace has no ethwe: the waiter waits until the signal.
    let mut cmd = std::process::Command::new("unshare");
    cmd.args(["--pid", "--fork", "--mount-proc", "--net"])
        .arg(&bin)
        .args(["--", "sh", "-c", "echo the command ran"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    clean_spawn(&mut cmd);
    let mut unshare = cmd.spawn().expect("spawn unshare");
    let mut waiter = None;
    assert!(
        eventually(LIMIT, || {
            waiter = child_of(unshare.id());
            waiter.is_some_and(waiter_is_waiting)
        }),
        "the waiter never started waiting"
    );
    let waiter = waiter.unwrap();
    let nspid = proc_status(waiter, "NSpid").unwrap();
    assert_eq!(
        nspid.split_whitespace().last(),
        Some("1"),
        "PID 1 inside: {nspid}"
    );

    let sent = Instant::now();
    kill(Pid::from_raw(waiter as i32), signal).unwrap();
    let status = wait_bounded(&mut unshare, Duration::from_secs(5));
    let took = sent.elapsed();
    let status = status.unwrap_or_else(|| panic!("{signal} did not end the waiter as PID 1"));
    assert_eq!(
        status.code(),
        Some(128 + signal as i32),
        "{signal}: {status}"
    );
    assert!(took < Duration::from_secs(1), "{signal} took {took:?}");
    let mut out = String::new();
    use std::io::Read;
    unshare
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(out, "", "the command must not run");
}

#[test]
fn sigterm_as_pid_1_exits_143_at_once() {
    ends_as_pid_1(Signal::SIGTERM);
}

#[test]
fn sigint_as_pid_1_exits_130() {
    ends_as_pid_1(Signal::SIGINT);
}

#[test]
fn sighup_as_pid_1_exits_129() {
    ends_as_pid_1(Signal::SIGHUP);
}

#[test]
fn sigquit_as_pid_1_exits_131() {
    ends_as_pid_1(Signal::SIGQUIT);
}

/// `nohup` ignores SIGHUP, and a script's background job SIGINT and SIGQUIT, before the
/// command starts: a program run that way keeps them ignored, and so does the waiter in
/// front of it. It neither ends on them while waiting nor hands them to the app other than
/// ignored.
#[test]
fn signals_ignored_at_start_stay_ignored_while_waiting() {
    let Some(bin) = prerequisites() else { return };
    let ns = NetNs::new();
    let marker = Marker::new();
    let mut cmd = ns.command("sh");
    cmd.args(["-c", r#"trap "" HUP INT QUIT; exec "$0" "$@""#])
        .arg(&bin)
        .args([
            "sh",
            "-c",
            "echo run >> \"$1\"; grep SigIgn /proc/self/status",
        ])
        .args(["app", marker.path()])
        .env("WEAVE_CIDR", "10.255.0.51/24")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().expect("spawn the waiter");
    assert!(
        eventually(LIMIT, || waiter_is_waiting(child.id())),
        "the waiter never started waiting"
    );
    for signal in [Signal::SIGHUP, Signal::SIGINT, Signal::SIGQUIT] {
        kill(Pid::from_raw(child.id() as i32), signal).unwrap();
        still_waiting(&child, &marker, &format!("kill -{signal}"));
    }
    let _attach = Attach::all(ns.target(), "ethwe", &["10.255.0.51/24"]);
    let out = output_bounded(child, LIMIT, "the waiter once ethwe is there");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(marker.runs(), 1);
    let ignored = String::from_utf8_lossy(&out.stdout);
    let mask = ignored
        .trim()
        .strip_prefix("SigIgn:")
        .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
        .unwrap_or_else(|| panic!("{ignored}"));
    let bit = |s: Signal| 1u64 << (s as i32 - 1);
    let expected = bit(Signal::SIGHUP) | bit(Signal::SIGINT) | bit(Signal::SIGQUIT);
    assert_eq!(mask, expected, "the app's ignored signals: {mask:#x}");
}
