//! The netlink shell: one route socket subscribed to link and address notifications
//! **before** the links and addresses are dumped, feeding one [`Readiness`] table.
//!
//! Every `RTM_NEWLINK`/`RTM_DELLINK`/`RTM_NEWADDR`/`RTM_DELADDR` read from the socket is a
//! state update, dump reply or notification alike, whatever its `nlmsg_pid` and
//! `nlmsg_seq`: notifications carry the sequence number of the request that caused them,
//! in any process, so they collide with ours. Only `NLMSG_DONE`/`NLMSG_ERROR` with the
//! sequence number of our running dump end it. When notifications were lost (`ENOBUFS`),
//! the table is dropped and both dumps are run again.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};

use netlink_sys::{protocols::NETLINK_ROUTE, Socket};
use nix::libc;

use crate::readiness::Readiness;
use crate::wire::{self, Body, Message, WireError};

/// Receive buffer size: the kernel sizes dump datagrams after our reads, capped at 32 KiB.
const RECV_BUF: usize = 32 * 1024;
/// Datagrams read per [`Watch::read`] call, so that a flood cannot starve the caller.
const READ_BATCH: usize = 64;

/// Which table a dump request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpKind {
    /// `RTM_GETLINK`.
    Links,
    /// `RTM_GETADDR`.
    Addrs,
}

/// A dump request to send: the table and our sequence number for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// The table.
    pub kind: DumpKind,
    /// `nlmsg_seq`; our sequence numbers count up from 1.
    pub seq: u32,
}

/// A failure of the netlink socket; the waiter exits with status 1.
#[derive(Debug)]
pub enum NetlinkError {
    /// A socket call failed: `op` names it (e.g. `"join RTNLGRP_LINK"`).
    Io {
        /// The operation that failed.
        op: &'static str,
        /// The error from the kernel.
        source: io::Error,
    },
    /// The kernel refused a dump with this errno.
    Dump {
        /// The table whose dump failed.
        kind: DumpKind,
        /// Positive errno.
        errno: i32,
    },
    /// The kernel sent something we could not parse.
    Wire(WireError),
}

impl fmt::Display for NetlinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetlinkError::Io { op, source } => write!(f, "netlink: {op}: {source}"),
            NetlinkError::Dump { kind, errno } => write!(
                f,
                "netlink: dump of {} failed: {}",
                match kind {
                    DumpKind::Links => "links",
                    DumpKind::Addrs => "addresses",
                },
                io::Error::from_raw_os_error(*errno)
            ),
            NetlinkError::Wire(e) => write!(f, "netlink: {e}"),
        }
    }
}

impl std::error::Error for NetlinkError {}

/// The dump sequencing, pure: links, then addresses, then synced; again from the links
/// after lost events or an inconsistent dump. Returns the requests to send.
#[derive(Debug)]
pub struct Dumps {
    next_seq: u32,
    running: Option<Request>,
    // Events were lost or the running dump was inconsistent: start over when it ends.
    redo: bool,
    // The kernel was still busy with an earlier dump: ask again after the next datagram.
    retry: Option<DumpKind>,
    resyncs: u32,
}

impl Default for Dumps {
    fn default() -> Self {
        Self::new()
    }
}

impl Dumps {
    /// No dump sent yet; the first sequence number is 1.
    pub fn new() -> Self {
        Dumps {
            next_seq: 1,
            running: None,
            redo: false,
            retry: None,
            resyncs: 0,
        }
    }

    /// How many times the table was dropped and dumped again after lost events.
    pub fn resyncs(&self) -> u32 {
        self.resyncs
    }

    /// The first request: dump the links.
    pub fn start(&mut self) -> Request {
        self.request(DumpKind::Links)
    }

    fn request(&mut self, kind: DumpKind) -> Request {
        let request = Request {
            kind,
            seq: self.next_seq,
        };
        self.next_seq = self.next_seq.checked_add(1).unwrap_or(1);
        self.running = Some(request);
        request
    }

    fn is_running(&self, seq: u32) -> Option<DumpKind> {
        self.running.filter(|r| r.seq == seq).map(|r| r.kind)
    }

    /// Events were lost (`ENOBUFS`, `NLMSG_OVERRUN`, a truncated datagram): drops the
    /// table and returns the request that starts over, unless a dump is still running (it
    /// starts over when that one ends).
    pub fn on_overflow(&mut self, state: &mut Readiness) -> Option<Request> {
        state.reset();
        self.resyncs += 1;
        if self.running.is_some() {
            self.redo = true;
            None
        } else if self.retry.is_some() {
            self.retry = Some(DumpKind::Links);
            None
        } else {
            Some(self.request(DumpKind::Links))
        }
    }

    /// Applies one message to `state` and returns the request to send next, if any.
    pub fn on_message(
        &mut self,
        message: Message,
        state: &mut Readiness,
    ) -> Result<Option<Request>, NetlinkError> {
        if message.dump_interrupted && self.is_running(message.seq).is_some() {
            self.redo = true;
        }
        match message.body {
            Body::Link(event) => state.link(event),
            Body::Addr(event) => state.addr(event),
            Body::Done { errno } => {
                if let Some(kind) = self.is_running(message.seq) {
                    return self.on_done(kind, errno, state);
                }
            }
            Body::Error { errno } => {
                if let Some(kind) = self.is_running(message.seq) {
                    return self.on_error(kind, errno, state);
                }
            }
            Body::Overrun => return Ok(self.on_overflow(state)),
            Body::Ignored => {}
        }
        Ok(None)
    }

    fn on_done(
        &mut self,
        kind: DumpKind,
        errno: i32,
        state: &mut Readiness,
    ) -> Result<Option<Request>, NetlinkError> {
        match errno {
            0 => {}
            libc::EINTR => self.redo = true,
            libc::ENOBUFS => {
                state.reset();
                self.resyncs += 1;
                self.redo = true;
            }
            errno => return Err(NetlinkError::Dump { kind, errno }),
        }
        self.running = None;
        if std::mem::take(&mut self.redo) {
            return Ok(Some(self.request(DumpKind::Links)));
        }
        Ok(match kind {
            DumpKind::Links => Some(self.request(DumpKind::Addrs)),
            DumpKind::Addrs => {
                state.synced();
                None
            }
        })
    }

    fn on_error(
        &mut self,
        kind: DumpKind,
        errno: i32,
        state: &mut Readiness,
    ) -> Result<Option<Request>, NetlinkError> {
        match errno {
            // An acknowledgement: the dump goes on.
            0 => Ok(None),
            // Another dump of this socket is still running in the kernel.
            libc::EBUSY => {
                self.running = None;
                self.retry = Some(if self.redo { DumpKind::Links } else { kind });
                self.redo = false;
                Ok(None)
            }
            libc::EINTR | libc::EAGAIN | libc::ENOBUFS => {
                if errno == libc::ENOBUFS {
                    state.reset();
                    self.resyncs += 1;
                }
                self.redo = false;
                Ok(Some(self.request(DumpKind::Links)))
            }
            errno => Err(NetlinkError::Dump { kind, errno }),
        }
    }

    /// After each datagram: the request refused as busy, to send again now.
    pub fn after_datagram(&mut self) -> Option<Request> {
        let kind = self.retry.take()?;
        Some(self.request(kind))
    }

    /// True when a request waits to be sent again (busy kernel or failed send).
    pub fn has_retry(&self) -> bool {
        self.retry.is_some()
    }

    /// The request was not sent (`ENOBUFS` on send): it is asked again after the next
    /// datagram, or after a short pause (see [`Watch::retry`]).
    pub fn send_failed(&mut self, request: Request) {
        if self.running == Some(request) {
            self.running = None;
        }
        self.retry = Some(request.kind);
    }
}

/// The route netlink socket (`SOCK_CLOEXEC`, non-blocking) and its dump sequencing.
pub struct Watch {
    socket: Socket,
    dumps: Dumps,
    buf: Vec<u8>,
}

impl Watch {
    /// Opens the socket, joins `RTNLGRP_LINK`, `RTNLGRP_IPV4_IFADDR` and
    /// `RTNLGRP_IPV6_IFADDR`, then asks for the link dump. Errors name the failing call.
    pub fn open() -> Result<Watch, NetlinkError> {
        let io = |op| move |source| NetlinkError::Io { op, source };
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(io("open a route socket"))?;
        socket.bind_auto().map_err(io("bind"))?;
        socket
            .add_membership(libc::RTNLGRP_LINK)
            .map_err(io("join RTNLGRP_LINK"))?;
        socket
            .add_membership(libc::RTNLGRP_IPV4_IFADDR)
            .map_err(io("join RTNLGRP_IPV4_IFADDR"))?;
        socket
            .add_membership(libc::RTNLGRP_IPV6_IFADDR)
            .map_err(io("join RTNLGRP_IPV6_IFADDR"))?;
        socket
            .set_non_blocking(true)
            .map_err(io("set non-blocking"))?;
        let mut watch = Watch {
            socket,
            dumps: Dumps::new(),
            buf: vec![0; RECV_BUF],
        };
        let first = watch.dumps.start();
        watch.send(first)?;
        Ok(watch)
    }

    /// How many times events were lost and the table dumped again.
    pub fn resyncs(&self) -> u32 {
        self.dumps.resyncs()
    }

    fn send(&mut self, request: Request) -> Result<(), NetlinkError> {
        let result = match request.kind {
            DumpKind::Links => self.socket.send(&wire::link_dump_request(request.seq), 0),
            DumpKind::Addrs => self.socket.send(&wire::addr_dump_request(request.seq), 0),
        };
        match result {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOBUFS | libc::EAGAIN)) => {
                self.dumps.send_failed(request);
                Ok(())
            }
            Err(source) => Err(NetlinkError::Io {
                op: "send a dump request",
                source,
            }),
        }
    }

    /// A request waits to be sent again: poll with a short timeout and call
    /// [`Watch::retry`], so that a quiet socket cannot leave the dumps stalled.
    pub fn has_retry(&self) -> bool {
        self.dumps.has_retry()
    }

    /// Sends the request that waits to be sent again, if any.
    pub fn retry(&mut self) -> Result<(), NetlinkError> {
        match self.dumps.after_datagram() {
            Some(request) => self.send(request),
            None => Ok(()),
        }
    }

    /// Reads the datagrams waiting on the socket (at most a small batch, never blocking)
    /// and applies them to `state`.
    pub fn read(&mut self, state: &mut Readiness) -> Result<(), NetlinkError> {
        for _ in 0..READ_BATCH {
            let mut slice = &mut self.buf[..];
            let len = match self.socket.recv(&mut slice, libc::MSG_TRUNC) {
                Ok(len) => len,
                Err(e) => match e.raw_os_error() {
                    Some(libc::EAGAIN) => return Ok(()),
                    Some(libc::EINTR) => continue,
                    Some(libc::ENOBUFS) => {
                        if let Some(request) = self.dumps.on_overflow(state) {
                            self.send(request)?;
                        }
                        continue;
                    }
                    _ => {
                        return Err(NetlinkError::Io {
                            op: "receive",
                            source: e,
                        })
                    }
                },
            };
            if len > self.buf.len() {
                // Truncated: whatever it said is lost.
                if let Some(request) = self.dumps.on_overflow(state) {
                    self.send(request)?;
                }
                continue;
            }
            let buf = std::mem::take(&mut self.buf);
            let applied = self.apply(&buf[..len], state);
            self.buf = buf;
            applied?;
            if let Some(request) = self.dumps.after_datagram() {
                self.send(request)?;
            }
        }
        Ok(())
    }

    fn apply(&mut self, datagram: &[u8], state: &mut Readiness) -> Result<(), NetlinkError> {
        for message in wire::messages(datagram) {
            let message = message.map_err(NetlinkError::Wire)?;
            if let Some(request) = self.dumps.on_message(message, state)? {
                self.send(request)?;
            }
        }
        Ok(())
    }
}

impl AsFd for Watch {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::readiness::{AddrEvent, IfAddr, Iface, LinkEvent, IFF_UP};

    fn awaiting(name: &str) -> Readiness {
        Readiness::new(Iface::Named(name.to_string()), vec![])
    }

    fn msg(seq: u32, body: Body) -> Message {
        Message {
            seq,
            dump_interrupted: false,
            body,
        }
    }

    fn ethwe_up() -> Body {
        Body::Link(LinkEvent::New {
            index: 7,
            name: Some(b"ethwe".to_vec()),
            flags: IFF_UP,
        })
    }

    fn ethwe_addr() -> Body {
        Body::Addr(AddrEvent::New {
            index: 7,
            addr: IfAddr {
                addr: "10.0.0.1".parse().unwrap(),
                prefix: 8,
            },
            flags: 0,
        })
    }

    fn done() -> Body {
        Body::Done { errno: 0 }
    }

    /// Runs both dumps of a namespace holding a ready ethwe.
    fn dumped(d: &mut Dumps, s: &mut Readiness) {
        let links = d.start();
        assert_eq!(links.kind, DumpKind::Links);
        d.on_message(msg(links.seq, ethwe_up()), s).unwrap();
        let addrs = d.on_message(msg(links.seq, done()), s).unwrap().unwrap();
        assert_eq!(addrs.kind, DumpKind::Addrs);
        d.on_message(msg(addrs.seq, ethwe_addr()), s).unwrap();
        assert_eq!(d.on_message(msg(addrs.seq, done()), s).unwrap(), None);
    }

    #[test]
    fn links_then_addresses_then_synced() {
        let (mut d, mut s) = (Dumps::new(), awaiting("ethwe"));
        dumped(&mut d, &mut s);
        assert!(s.is_ready());
        assert_eq!(d.resyncs(), 0);
    }

    #[test]
    fn done_or_error_with_another_sequence_number_does_not_end_a_dump() {
        let (mut d, mut s) = (Dumps::new(), awaiting("ethwe"));
        let links = d.start();
        assert_eq!(links.seq, 1);
        for other in [0, 2, 1000] {
            assert_eq!(d.on_message(msg(other, done()), &mut s).unwrap(), None);
            let error = Body::Error { errno: libc::EPERM };
            assert_eq!(d.on_message(msg(other, error), &mut s).unwrap(), None);
        }
        let addrs = d.on_message(msg(1, done()), &mut s).unwrap().unwrap();
        assert_eq!((addrs.kind, addrs.seq), (DumpKind::Addrs, 2));
    }

    #[test]
    fn events_with_our_sequence_number_are_state_updates() {
        let (mut d, mut s) = (Dumps::new(), awaiting("ethwe"));
        dumped(&mut d, &mut awaiting("x"));
        // A notification caused by another process's request numbered like ours.
        d.on_message(msg(1, ethwe_up()), &mut s).unwrap();
        d.on_message(msg(2, ethwe_addr()), &mut s).unwrap();
        s.synced();
        assert!(s.is_ready());
    }

    #[test]
    fn overflow_during_a_dump_starts_over_when_it_ends() {
        let (mut d, mut s) = (Dumps::new(), awaiting("ethwe"));
        let links = d.start();
        d.on_message(msg(links.seq, ethwe_up()), &mut s).unwrap();
        assert_eq!(d.on_overflow(&mut s), None, "a dump is still running");
        let again = d
            .on_message(msg(links.seq, done()), &mut s)
            .unwrap()
            .unwrap();
        assert_eq!(again.kind, DumpKind::Links);
        assert!(again.seq > links.seq);
        d.on_message(msg(again.seq, ethwe_up()), &mut s).unwrap();
        let addrs = d
            .on_message(msg(again.seq, done()), &mut s)
            .unwrap()
            .unwrap();
        d.on_message(msg(addrs.seq, ethwe_addr()), &mut s).unwrap();
        d.on_message(msg(addrs.seq, done()), &mut s).unwrap();
        assert!(s.is_ready());
        assert_eq!(d.resyncs(), 1);
    }

    #[test]
    fn overflow_when_synced_drops_the_table_and_dumps_again() {
        let (mut d, mut s) = (Dumps::new(), awaiting("ethwe"));
        dumped(&mut d, &mut s);
        assert!(s.is_ready());
        let again = d.on_overflow(&mut s).unwrap();
        assert_eq!(again.kind, DumpKind::Links);
        assert!(!s.is_ready());
        d.on_message(msg(again.seq, ethwe_up()), &mut s).unwrap();
        let addrs = d
            .on_message(msg(again.seq, done()), &mut s)
            .unwrap()
            .unwrap();
        d.on_message(msg(addrs.seq, done()), &mut s).unwrap();
        assert!(!s.is_ready(), "the address is gone after the re-dump");
        let overrun = d.on_message(msg(0, Body::Overrun), &mut s).unwrap();
        assert!(overrun.is_some(), "NLMSG_OVERRUN is an overflow too");
        assert_eq!(d.resyncs(), 2);
    }

    #[test]
    fn interrupted_dump_is_run_again() {
        let (mut d, mut s) = (Dumps::new(), awaiting("ethwe"));
        let links = d.start();
        let mut m = msg(links.seq, ethwe_up());
        m.dump_interrupted = true;
        d.on_message(m, &mut s).unwrap();
        let next = d
            .on_message(msg(links.seq, done()), &mut s)
            .unwrap()
            .unwrap();
        assert_eq!(next.kind, DumpKind::Links, "inconsistent: links again");
        let addrs = d
            .on_message(msg(next.seq, done()), &mut s)
            .unwrap()
            .unwrap();
        assert_eq!(addrs.kind, DumpKind::Addrs);
    }

    #[test]
    fn busy_dump_is_retried_after_the_next_datagram() {
        let (mut d, mut s) = (Dumps::new(), awaiting("ethwe"));
        let links = d.start();
        let busy = Body::Error { errno: libc::EBUSY };
        assert_eq!(d.on_message(msg(links.seq, busy), &mut s).unwrap(), None);
        let retry = d.after_datagram().unwrap();
        assert_eq!(retry.kind, DumpKind::Links);
        assert_eq!(d.after_datagram(), None);
        let addrs = d
            .on_message(msg(retry.seq, done()), &mut s)
            .unwrap()
            .unwrap();
        assert_eq!(addrs.kind, DumpKind::Addrs);
    }

    #[test]
    fn a_request_that_could_not_be_sent_waits_for_a_retry() {
        let (mut d, mut s) = (Dumps::new(), awaiting("ethwe"));
        let links = d.start();
        d.send_failed(links);
        assert!(d.has_retry());
        // Its DONE never comes, so it no longer counts as running.
        assert_eq!(d.on_message(msg(links.seq, done()), &mut s).unwrap(), None);
        let again = d.after_datagram().unwrap();
        assert_eq!(again.kind, DumpKind::Links);
        assert!(!d.has_retry());
        assert!(d
            .on_message(msg(again.seq, done()), &mut s)
            .unwrap()
            .is_some());
    }

    #[test]
    fn other_dump_errors_are_failures() {
        let (mut d, mut s) = (Dumps::new(), awaiting("ethwe"));
        let links = d.start();
        let err = d
            .on_message(msg(links.seq, Body::Error { errno: libc::EPERM }), &mut s)
            .unwrap_err();
        assert!(err.to_string().contains("dump of links failed"), "{err}");
    }
}
