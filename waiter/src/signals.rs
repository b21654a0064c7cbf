//! Signals while waiting, and the signal state handed to the command.
//!
//! While waiting, SIGTERM, SIGINT, SIGHUP and SIGQUIT (those not inherited ignored) are
//! blocked and read from a signalfd, so that each ends the waiter at once with status
//! 128+signo, also as PID 1 of a container (the kernel drops signals with no handler sent
//! to PID 1, so without this `docker stop` would wait 10 s for its SIGKILL; blocked signals
//! are queued instead).
//!
//! Before exec the inherited mask and dispositions come back: ignored dispositions and the
//! blocked mask survive exec, so anything we changed would leak into the command. Rust's
//! runtime sets SIGPIPE to ignored before `main`; the disposition inherited at start is
//! recorded before that (from `.init_array`) and restored, SIG_DFL when unknown.

use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicU8, Ordering};

use nix::libc;
use nix::sys::signal::{sigprocmask, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

/// The signals that end the waiter while it waits: SIGTERM, SIGINT, SIGHUP, SIGQUIT.
pub const TERMINATING: [Signal; 4] = [
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGHUP,
    Signal::SIGQUIT,
];

const SIGPIPE_UNKNOWN: u8 = 0;
const SIGPIPE_DEFAULT: u8 = 1;
const SIGPIPE_IGNORED: u8 = 2;

static INHERITED_SIGPIPE: AtomicU8 = AtomicU8::new(SIGPIPE_UNKNOWN);

/// Runs before Rust's runtime initialisation (which ignores SIGPIPE) to see what we
/// inherited. Only reads: `sigaction` with a null new action.
extern "C" fn record_inherited_sigpipe() {
    // SAFETY: a zeroed `sigaction` is a valid out-parameter; no new action is installed.
    let ignored = unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(libc::SIGPIPE, std::ptr::null(), &mut old) != 0 {
            return;
        }
        old.sa_sigaction == libc::SIG_IGN
    };
    let value = if ignored {
        SIGPIPE_IGNORED
    } else {
        SIGPIPE_DEFAULT
    };
    INHERITED_SIGPIPE.store(value, Ordering::Relaxed);
}

#[used]
#[link_section = ".init_array"]
static RECORD_INHERITED_SIGPIPE: extern "C" fn() = record_inherited_sigpipe;

/// The terminating signals, blocked and readable from a signalfd (`SFD_CLOEXEC`,
/// non-blocking); remembers the mask inherited at start.
pub struct Blocked {
    inherited: SigSet,
    fd: SignalFd,
}

/// Blocks [`TERMINATING`] and opens a signalfd for them, leaving out those inherited
/// ignored: `nohup` ignores SIGHUP and a script's background job SIGINT and SIGQUIT so that
/// the command outlives them, and the waiter in front of it must too. Errors: `sigprocmask`
/// or `signalfd` failed (the waiter then exits 1).
pub fn block() -> nix::Result<Blocked> {
    let mut set = SigSet::empty();
    for signal in TERMINATING {
        if !inherited_ignored(signal) {
            set.add(signal);
        }
    }
    let mut inherited = SigSet::empty();
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut inherited))?;
    let fd = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)?;
    Ok(Blocked { inherited, fd })
}

/// True when `signal`'s disposition is `SIG_IGN` (read only, nothing installed).
fn inherited_ignored(signal: Signal) -> bool {
    // SAFETY: a zeroed `sigaction` is a valid out-parameter; no new action is installed.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal as libc::c_int, std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
    }
}

impl Blocked {
    /// The first terminating signal received, if any; never blocks.
    pub fn pending(&self) -> nix::Result<Option<Signal>> {
        match self.fd.read_signal()? {
            Some(info) => Ok(Signal::try_from(info.ssi_signo as i32).ok()),
            None => Ok(None),
        }
    }

    /// Closes the signalfd and puts back the signal mask inherited at start.
    pub fn restore(self) -> nix::Result<()> {
        let Blocked { inherited, fd } = self;
        drop(fd);
        sigprocmask(SigmaskHow::SIG_SETMASK, Some(&inherited), None)
    }
}

impl AsFd for Blocked {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Puts SIGPIPE back to the disposition inherited at start (SIG_DFL when it could not be
/// read), undoing Rust's runtime. Call right before exec.
pub fn restore_sigpipe() {
    let handler = match INHERITED_SIGPIPE.load(Ordering::Relaxed) {
        SIGPIPE_IGNORED => libc::SIG_IGN,
        _ => libc::SIG_DFL,
    };
    // SAFETY: installs SIG_DFL or SIG_IGN, no handler code runs.
    unsafe {
        libc::signal(libc::SIGPIPE, handler);
    }
}

/// The exit status for a waiter ended by `signal`: 128 + signo (SIGTERM → 143).
pub fn exit_status(signal: Signal) -> i32 {
    128 + signal as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_shell_convention() {
        assert_eq!(exit_status(Signal::SIGTERM), 143);
        assert_eq!(exit_status(Signal::SIGINT), 130);
        assert_eq!(exit_status(Signal::SIGHUP), 129);
        assert_eq!(exit_status(Signal::SIGQUIT), 131);
    }

    #[test]
    fn the_inherited_sigpipe_was_recorded_before_main() {
        assert_ne!(INHERITED_SIGPIPE.load(Ordering::Relaxed), SIGPIPE_UNKNOWN);
    }
}
