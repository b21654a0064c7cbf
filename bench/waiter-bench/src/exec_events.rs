//! Exec events from the kernel's process connector (`NETLINK_CONNECTOR`, `CN_IDX_PROC`):
//! the moment a process exec'd, stamped by the kernel with CLOCK_MONOTONIC. The exec is
//! when the new program's first instruction is about to run: "app running". Root only.

use std::os::fd::AsFd;
use std::time::Duration;

use netlink_sys::{protocols::NETLINK_CONNECTOR, Socket, SocketAddr};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::time::{clock_gettime, ClockId};

const CN_IDX_PROC: u32 = 1;
const CN_VAL_PROC: u32 = 1;
const PROC_CN_MCAST_LISTEN: u32 = 1;
const PROC_EVENT_EXEC: u32 = 2;
const NLMSG_DONE: u16 = 3;
// nlmsghdr (16) + cn_msg (20); then proc_event: what, cpu, timestamp_ns, pid, tgid.
const EVENT: usize = 36;

/// A subscription to every exec on the machine.
pub struct ExecEvents {
    socket: Socket,
    buf: Vec<u8>,
}

/// CLOCK_MONOTONIC now, in nanoseconds (the clock of the events' timestamps).
pub fn now_ns() -> u64 {
    let t = clock_gettime(ClockId::CLOCK_MONOTONIC).expect("clock_gettime");
    t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64
}

impl ExecEvents {
    /// Subscribes (needs CAP_NET_ADMIN).
    pub fn subscribe() -> ExecEvents {
        let mut socket = Socket::new(NETLINK_CONNECTOR).expect("connector socket");
        socket
            .bind(&SocketAddr::new(0, CN_IDX_PROC))
            .expect("bind the process connector (root needed)");
        let _ = socket.set_rx_buf_sz(4 << 20);
        let mut msg = Vec::with_capacity(40);
        msg.extend_from_slice(&40u32.to_ne_bytes());
        msg.extend_from_slice(&NLMSG_DONE.to_ne_bytes());
        msg.extend_from_slice(&0u16.to_ne_bytes());
        msg.extend_from_slice(&[0; 8]); // seq, pid
        msg.extend_from_slice(&CN_IDX_PROC.to_ne_bytes());
        msg.extend_from_slice(&CN_VAL_PROC.to_ne_bytes());
        msg.extend_from_slice(&[0; 8]); // seq, ack
        msg.extend_from_slice(&4u16.to_ne_bytes());
        msg.extend_from_slice(&0u16.to_ne_bytes());
        msg.extend_from_slice(&PROC_CN_MCAST_LISTEN.to_ne_bytes());
        socket.send(&msg, 0).expect("listen to exec events");
        socket.set_non_blocking(true).unwrap();
        ExecEvents {
            socket,
            buf: vec![0; 1 << 16],
        }
    }

    /// Throws away the events received so far.
    pub fn drain(&mut self) {
        let mut slice = &mut self.buf[..];
        while self.socket.recv(&mut slice, 0).is_ok() {
            slice = &mut self.buf[..];
        }
    }

    /// The kernel timestamp (CLOCK_MONOTONIC ns) of the next exec by process `tgid` at or
    /// after `since_ns`, waiting at most `limit`.
    pub fn next_exec(&mut self, tgid: u32, since_ns: u64, limit: Duration) -> Option<u64> {
        let end = now_ns() + limit.as_nanos() as u64;
        loop {
            let mut slice = &mut self.buf[..];
            match self.socket.recv(&mut slice, 0) {
                Ok(n) if n >= EVENT + 24 => {
                    let b = &self.buf[..n];
                    let u32_at = |o: usize| u32::from_ne_bytes(b[o..o + 4].try_into().unwrap());
                    let what = u32_at(EVENT);
                    let ts = u64::from_ne_bytes(b[EVENT + 8..EVENT + 16].try_into().unwrap());
                    let event_tgid = u32_at(EVENT + 20);
                    if what == PROC_EVENT_EXEC && event_tgid == tgid && ts >= since_ns {
                        return Some(ts);
                    }
                }
                Ok(_) => {}
                Err(_) => {
                    let left = end.saturating_sub(now_ns());
                    if left == 0 {
                        return None;
                    }
                    let ms = (left / 1_000_000).clamp(1, 1000) as u16;
                    let mut fds = [PollFd::new(self.socket.as_fd(), PollFlags::POLLIN)];
                    let _ = poll(&mut fds, PollTimeout::from(ms));
                }
            }
        }
    }
}
