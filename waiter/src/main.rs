//! `wait-for-weave [OPTIONS] [--] COMMAND [ARG...]`: exec COMMAND once the interface (default
//! `ethwe`) is up with its addresses. Each step lives in the library; this is the order.

use std::ffi::OsString;
use std::io::Write;
use std::process::exit;
use std::time::Instant;

use waiter::options::{self, Action, Options};
use waiter::readiness::{Iface, Readiness, Ready};
use waiter::signals::{self, Blocked};
use waiter::wait::{self, Outcome};
use waiter::{exec, NETLINK_FAILURE, TIMED_OUT};

fn main() {
    let started = Instant::now();
    let opts = parse_options();
    let blocked = block_signals();
    let (ready, resyncs) = wait_until_ready(&opts, &blocked);
    report(&opts, started, &ready, resyncs);
    restore_signals(blocked);
    exec_command(&opts.command)
}

/// Options and env vars; `--help`/`--version`, the compatibility switches and usage errors
/// (status 2) end here.
fn parse_options() -> Options {
    match options::parse(std::env::args_os().collect(), |name| std::env::var_os(name)) {
        Ok(Action::Wait(opts)) => opts,
        Ok(Action::Exec(command)) => exec_command(&command),
        Ok(Action::Quit) => exit(0),
        Ok(Action::Print(text)) => print_and_exit(&text),
        Err(usage) => fail(options::USAGE, &usage.to_string()),
    }
}

/// SIGTERM/SIGINT/SIGHUP/SIGQUIT now end the wait, also as PID 1.
fn block_signals() -> Blocked {
    signals::block().unwrap_or_else(|e| fail(NETLINK_FAILURE, &format!("signals: {e}")))
}

/// Netlink until ready (the links and their usable addresses, and how often lost events
/// forced a re-dump), or exit: 128+n on a signal, 124 on timeout (saying what is missing),
/// 1 on a netlink failure.
fn wait_until_ready(opts: &Options, blocked: &Blocked) -> (Ready, u32) {
    let state = Readiness::new(opts.iface.clone(), opts.expected.clone());
    let outcome = wait::until_ready(state, opts.timeout, blocked)
        .unwrap_or_else(|e| fail(NETLINK_FAILURE, &e.to_string()));
    // A signal that raced with readiness still wins: nothing has run yet.
    if let Ok(Some(signal)) = wait::pending(blocked) {
        exit(signals::exit_status(signal));
    }
    match outcome {
        Outcome::Ready { ready, resyncs } => (ready, resyncs),
        Outcome::Signal(signal) => exit(signals::exit_status(signal)),
        Outcome::TimedOut { why } => {
            let what = match &opts.iface {
                Iface::Named(name) => format!("{name} not ready"),
                Iface::Any => "no interface ready".to_string(),
            };
            fail(
                TIMED_OUT,
                &format!("{what} after {} s: {why}", opts.timeout_text),
            )
        }
    }
}

/// With `--verbose`: one line with the wait time, the links and their addresses.
fn report(opts: &Options, started: Instant, ready: &Ready, resyncs: u32) {
    if opts.verbose {
        let addrs: Vec<String> = ready.addrs.iter().map(ToString::to_string).collect();
        let resynced = match resyncs {
            0 => String::new(),
            n => format!(" ({n} re-dumps after lost netlink events)"),
        };
        // Integer arithmetic: float formatting would cost tens of KB of binary.
        let us = started.elapsed().as_micros();
        eprintln!(
            "wait-for-weave: {} ready after {}.{:03} ms with {}{resynced}",
            ready.links.join(", "),
            us / 1000,
            us % 1000,
            addrs.join(" ")
        );
    }
}

/// The signal mask inherited at start comes back (the signalfd is closed).
fn restore_signals(blocked: Blocked) {
    blocked
        .restore()
        .unwrap_or_else(|e| fail(NETLINK_FAILURE, &format!("signals: {e}")));
}

/// SIGPIPE as inherited, then exec; only returns on failure: 127 not found, 126 not
/// executable.
fn exec_command(command: &[OsString]) -> ! {
    signals::restore_sigpipe();
    let failure = exec::exec(command);
    fail(failure.status, &failure.message)
}

fn print_and_exit(text: &str) -> ! {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", text.trim_end()).and_then(|()| out.flush());
    exit(0)
}

fn fail(status: i32, message: &str) -> ! {
    eprintln!("wait-for-weave: {message}");
    exit(status)
}
