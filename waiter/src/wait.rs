//! The wait loop: poll the netlink socket and the signalfd until the interface is ready, a
//! terminating signal arrives, or the timeout passes.

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;

use crate::netlink::{NetlinkError, Watch};
use crate::readiness::{Readiness, Ready};
use crate::signals::Blocked;

/// Pause before sending a refused dump request again when no datagram comes, in ms.
const RETRY_MS: u16 = 10;

/// How the wait ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Ready with these links and addresses; `resyncs` counts the times events were lost
    /// and the table dumped again.
    Ready {
        /// The links and their usable addresses.
        ready: Ready,
        /// Re-dumps after lost events.
        resyncs: u32,
    },
    /// A terminating signal arrived first.
    Signal(Signal),
    /// The timeout passed first; `why` says what was missing then
    /// ([`Readiness::explain`]).
    TimedOut {
        /// One line: the link's state and what is missing.
        why: String,
    },
}

/// Feeds `state` (a fresh table: what to wait for) until it is ready, `signals` has a
/// signal, or `timeout` (from now) passes. Errors: the netlink socket failed (exit 1).
pub fn until_ready(
    mut state: Readiness,
    timeout: Option<Duration>,
    signals: &Blocked,
) -> Result<Outcome, NetlinkError> {
    // A deadline past the clock's range (hundreds of years) is as good as none.
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    let mut watch = Watch::open()?;
    loop {
        if let Some(ready) = state.ready() {
            return Ok(Outcome::Ready {
                ready,
                resyncs: watch.resyncs(),
            });
        }
        let wait = match deadline {
            None => PollTimeout::NONE,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Ok(Outcome::TimedOut {
                        why: state.explain(),
                    });
                }
                // Round up so that we never wake just before the deadline and spin.
                let ms = left.as_micros().div_ceil(1000).min(i32::MAX as u128 - 1);
                PollTimeout::try_from(ms as i32).unwrap_or(PollTimeout::MAX)
            }
        };
        // A dump request waits to be sent again: come back soon even if nothing arrives.
        let wait = if watch.has_retry() {
            let retry = PollTimeout::from(RETRY_MS);
            if wait.is_none() {
                retry
            } else {
                wait.min(retry)
            }
        } else {
            wait
        };
        let mut fds = [
            PollFd::new(watch.as_fd(), PollFlags::POLLIN),
            PollFd::new(signals.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, wait) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(errno) => {
                return Err(NetlinkError::Io {
                    op: "poll",
                    source: errno.into(),
                })
            }
        }
        let socket_ready = fds[0].any().unwrap_or(false);
        let signal_ready = fds[1].any().unwrap_or(false);
        if signal_ready {
            if let Some(signal) = pending(signals)? {
                return Ok(Outcome::Signal(signal));
            }
        }
        if socket_ready {
            watch.read(&mut state)?;
        }
        watch.retry()?;
    }
}

/// The first terminating signal pending on `signals`, if any.
pub fn pending(signals: &Blocked) -> Result<Option<Signal>, NetlinkError> {
    signals.pending().map_err(|errno| NetlinkError::Io {
        op: "read the signalfd",
        source: errno.into(),
    })
}
