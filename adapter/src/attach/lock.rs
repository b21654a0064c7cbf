//! The lock under which the bridge backend checks and adds addresses (docs/design.md §5
//! "One holder per address"): one per bridge, shared by every process that attaches to it
//! on the host (proxies, powerstrip adapters, `powerstrip-weave attach`), also one running
//! in a container on the host's network.
//!
//! It is an abstract unix socket, `@powerstrip-weave/bridge/<bridge>`, bound in the network
//! namespace of the bridge: only one socket can be bound to a name, the name lives in that
//! namespace whatever the file system, and the kernel releases it when its holder exits,
//! however it ends. Waiting polls, with a bound.

use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener};
use std::time::{Duration, Instant};

/// How often a waiter tries again.
const POLL: Duration = Duration::from_millis(5);

/// A held bridge lock; released on drop.
#[derive(Debug)]
pub struct BridgeLock {
    _socket: UnixListener,
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another holder kept it longer than the bound.
    #[error(
        "the lock of bridge {bridge} (abstract socket @{name}) was held by another attach \
         for over {waited:?}"
    )]
    Busy {
        /// The bridge.
        bridge: String,
        /// The socket's abstract name.
        name: String,
        /// How long we waited: the bound.
        waited: Duration,
    },
    /// The socket could not be made.
    #[error("cannot take the lock of bridge {bridge} (abstract socket @{name}): {source}")]
    Socket {
        /// The bridge.
        bridge: String,
        /// The socket's abstract name.
        name: String,
        /// The error.
        source: io::Error,
    },
}

/// The abstract socket name of `bridge`'s lock.
pub fn lock_name(bridge: &str) -> String {
    format!("powerstrip-weave/bridge/{bridge}")
}

/// Takes the lock of `bridge`, waiting at most `bound` for another holder to release it.
///
/// Errors: [`LockError::Busy`] after `bound`; [`LockError::Socket`] when the socket cannot
/// be made at all.
pub async fn lock(bridge: &str, bound: Duration) -> Result<BridgeLock, LockError> {
    let name = lock_name(bridge);
    let socket_error = |source| LockError::Socket {
        bridge: bridge.to_string(),
        name: name.clone(),
        source,
    };
    let addr = SocketAddr::from_abstract_name(name.as_bytes()).map_err(socket_error)?;
    let started = Instant::now();
    loop {
        match UnixListener::bind_addr(&addr) {
            Ok(socket) => return Ok(BridgeLock { _socket: socket }),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => {}
            Err(e) => return Err(socket_error(e)),
        }
        if started.elapsed() >= bound {
            return Err(LockError::Busy {
                bridge: bridge.to_string(),
                name,
                waited: bound,
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unique_bridge() -> String {
        format!("t{}x{:?}", std::process::id(), std::thread::current().id())
    }

    #[tokio::test]
    async fn one_holder_at_a_time_and_released_on_drop() {
        let bridge = unique_bridge();
        let held = lock(&bridge, Duration::from_secs(1)).await.unwrap();
        let err = lock(&bridge, Duration::from_millis(30)).await.unwrap_err();
        assert!(matches!(err, LockError::Busy { .. }), "{err}");
        assert!(err.to_string().contains(&lock_name(&bridge)), "{err}");
        // Another bridge's lock is another lock.
        let other = lock(&format!("{bridge}o"), Duration::from_millis(30)).await;
        assert!(other.is_ok());
        drop(held);
        assert!(lock(&bridge, Duration::from_millis(30)).await.is_ok());
    }

    #[tokio::test]
    async fn a_waiter_gets_it_when_the_holder_lets_go() {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        let bridge = unique_bridge();
        let held = lock(&bridge, Duration::from_secs(1)).await.unwrap();
        let released = Arc::new(AtomicBool::new(false));
        let flag = released.clone();
        let release = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            flag.store(true, Ordering::SeqCst);
            drop(held);
        });
        lock(&bridge, Duration::from_secs(5)).await.unwrap();
        assert!(released.load(Ordering::SeqCst), "taken while still held");
        release.await.unwrap();
    }
}
