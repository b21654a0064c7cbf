//! Announcing an `ethwe`'s IPv4 addresses once its link is up (docs/design.md §5):
//! gratuitous ARP ([`super::arp`]) from a packet socket opened in the container's network
//! namespace, no external tool.
//!
//! The kernel's own `net.ipv4.conf.<link>.arp_notify = 1` does not do it for a veth: it
//! sends at `NETDEV_UP`, before the link has its carrier and its queue, and the frame is
//! dropped (measured: a peer keeps the old MAC). So the announcement waits for
//! `IFF_RUNNING` (carrier and operational state up). It is sent [`ANNOUNCEMENTS`] times,
//! [`INTERVAL`] apart, as a lost frame would otherwise go unnoticed; the first before the
//! attach returns, the rest from a thread of their own. IPv6 would take an unsolicited
//! neighbour advertisement; `WEAVE_CIDR` holds IPv4 addresses only.

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use super::arp::{gratuitous_arp, ETH_P_ARP, FRAME_LEN};
use super::netlink::Netlink;

/// How many times each address is announced.
pub const ANNOUNCEMENTS: u32 = 3;
/// Time between two announcements.
pub const INTERVAL: Duration = Duration::from_millis(200);

/// Bound on the wait for the link to run after it was set up (a veth has its carrier
/// within a millisecond once both ends are up).
const CARRIER_WAIT: Duration = Duration::from_secs(1);
/// Step of that wait.
const CARRIER_POLL: Duration = Duration::from_millis(2);

/// Announces `addrs` on link `index` of the namespace `nl` was opened in: waits (bounded)
/// for `IFF_RUNNING`, sends the first round, leaves the rest to a thread. Never fails the
/// attach: the link works without it, peers only learn its MAC later. `what` names the
/// link in logs.
pub async fn announce(nl: &Netlink, index: u32, addrs: &[Ipv4Addr], what: &str) {
    if addrs.is_empty() {
        return;
    }
    let deadline = Instant::now() + CARRIER_WAIT;
    let link = loop {
        match nl.link_by_index(index).await {
            Ok(Some(link)) if link.running => break link,
            Ok(Some(_)) if Instant::now() < deadline => tokio::time::sleep(CARRIER_POLL).await,
            Ok(Some(_)) => {
                tracing::debug!("{what} has no carrier after {CARRIER_WAIT:?}: not announced");
                return;
            }
            Ok(None) => return,
            Err(e) => {
                tracing::debug!("{what} not announced: {e}");
                return;
            }
        }
    };
    let Some(mac) = link.mac else {
        return;
    };
    let sent = Announcer::open(index, mac, addrs).and_then(|a| a.send().map(|()| a));
    match sent {
        Ok(announcer) => announcer.repeat_in_background(what.to_string()),
        // A link that went away meanwhile is the container ending: not worth a word more.
        Err(e)
            if e.raw_os_error() == Some(libc::ENXIO)
                || e.raw_os_error() == Some(libc::ENETDOWN) =>
        {
            tracing::debug!("{what} not announced: {e}");
        }
        Err(e) => tracing::warn!(
            "cannot announce {what} (gratuitous ARP): {e}; peers that cached another MAC \
             for its address reach it once their entry goes stale"
        ),
    }
}

/// A packet socket bound to one link of the network namespace it was opened in, with the
/// frames announcing the link's addresses.
pub struct Announcer {
    fd: OwnedFd,
    ifindex: i32,
    frames: Vec<[u8; FRAME_LEN]>,
}

impl Announcer {
    /// Opens a packet socket (`AF_PACKET`, `SOCK_RAW`, protocol 0, so it receives nothing)
    /// in the calling thread's network namespace, to announce `addrs` at `mac` on link
    /// `ifindex`.
    ///
    /// Errors: the socket cannot be opened (needs CAP_NET_RAW), or `ifindex` is out of range.
    pub fn open(ifindex: u32, mac: [u8; 6], addrs: &[Ipv4Addr]) -> io::Result<Announcer> {
        let ifindex = i32::try_from(ifindex).map_err(|_| io::ErrorKind::InvalidInput)?;
        // SAFETY: socket(2) with constant arguments; the result is checked before use.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(Announcer {
            fd,
            ifindex,
            frames: addrs.iter().map(|a| gratuitous_arp(mac, *a)).collect(),
        })
    }

    /// Sends each frame once to the link's broadcast address.
    ///
    /// Errors: the first `sendto(2)` that fails (the link went down or away).
    pub fn send(&self) -> io::Result<()> {
        // SAFETY: an all-zero sockaddr_ll is valid; the fields that matter are set below.
        let mut to: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        to.sll_family = libc::AF_PACKET as u16;
        to.sll_protocol = ETH_P_ARP.to_be();
        to.sll_ifindex = self.ifindex;
        to.sll_halen = 6;
        to.sll_addr[..6].copy_from_slice(&[0xff; 6]);
        for frame in &self.frames {
            // SAFETY: `frame` and `to` outlive the call; the lengths are theirs.
            let sent = unsafe {
                libc::sendto(
                    self.fd.as_raw_fd(),
                    frame.as_ptr().cast(),
                    frame.len(),
                    0,
                    (&to as *const libc::sockaddr_ll).cast(),
                    std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
                )
            };
            if sent < 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    }

    /// Sends the remaining `ANNOUNCEMENTS - 1` rounds, [`INTERVAL`] apart, from a thread of
    /// their own (the socket stays in its namespace whichever thread uses it); `what` names
    /// the link in the debug line a failure leaves.
    pub fn repeat_in_background(self, what: String) {
        let spawned = std::thread::Builder::new()
            .name("announce".into())
            .spawn(move || {
                for _ in 1..ANNOUNCEMENTS {
                    std::thread::sleep(INTERVAL);
                    if let Err(e) = self.send() {
                        tracing::debug!("stopped announcing {what}: {e}");
                        return;
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::debug!("cannot repeat the announcement: {e}");
        }
    }
}
