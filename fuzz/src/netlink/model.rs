//! A second decoder of route netlink datagrams, written from the kernel's UAPI headers
//! (linux/netlink.h, rtnetlink.h, if_link.h, if_addr.h) byte by byte, with no code shared
//! with `waiter::wire`. It defines what "well-formed" means for the fuzz target: what the
//! kernel sends. It says for each message either what it means to the waiter or that it is
//! malformed, and stops at the first malformed one.
//!
//! Well-formed, message by message:
//! - `nlmsghdr`: at least 16 bytes left, `16 <= nlmsg_len <= bytes left`; the next message
//!   starts at the 4-byte aligned end;
//! - `NLMSG_ERROR` and `NLMSG_DONE`: a 4-byte error code first (the kernel writes −errno; its
//!   sign is not trusted: the errno is its magnitude);
//! - `RTM_NEWLINK`/`RTM_DELLINK`: a 16-byte `ifinfomsg`, then attributes;
//!   `RTM_NEWADDR`/`RTM_DELADDR` of `AF_INET` or `AF_INET6`: an 8-byte `ifaddrmsg` with a
//!   prefix length within the family (32 or 128 bits), then attributes (other families are
//!   not ours to judge: ignored unread);
//! - attributes: each `rtattr` has at least 4 bytes, `4 <= rta_len <= bytes left`, the next
//!   at the 4-byte aligned end; the type is read without the `NLA_F_NESTED` and
//!   `NLA_F_NET_BYTEORDER` bits, as the kernel's `nla_type()` does;
//! - the attributes the waiter reads have the size the kernel gives them: `IFLA_IFNAME` a
//!   NUL-terminated string of at most `IFNAMSIZ` (16) bytes with no other NUL (`nla_put_string`);
//!   `IFA_ADDRESS`/`IFA_LOCAL` 4 or 16 bytes by family (`nla_put_in_addr`,
//!   `nla_put_in6_addr`); `IFA_FLAGS` 4 bytes (`nla_put_u32`). When one appears twice, the
//!   last counts.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use waiter::readiness::{AddrEvent, IfAddr, LinkEvent};
use waiter::wire::{Body, Message};

const NLMSG_HDRLEN: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLMSG_OVERRUN: u16 = 4;
const NLM_F_DUMP_INTR: u16 = 0x10;
const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const IFINFOMSG_LEN: usize = 16;
const IFADDRMSG_LEN: usize = 8;
const IFLA_IFNAME: u16 = 3;
const IFNAMSIZ: usize = 16;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_FLAGS: u16 = 8;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
const NLA_TYPE_MASK: u16 = 0x3fff;

/// What the model makes of one datagram.
#[derive(Debug, Default)]
pub struct Decoded {
    /// The well-formed messages before the first malformed one, with their offsets.
    pub messages: Vec<(usize, Message)>,
    /// The offset of the first malformed message and why it is malformed.
    pub malformed: Option<(usize, &'static str)>,
}

/// Decodes a datagram as described in the module documentation.
pub fn decode(datagram: &[u8]) -> Decoded {
    let mut out = Decoded::default();
    let mut at = 0;
    while at < datagram.len() {
        match message(&datagram[at..]) {
            Ok((message, len)) => {
                out.messages.push((at, message));
                at += align(len);
            }
            Err(why) => {
                out.malformed = Some((at, why));
                break;
            }
        }
    }
    out
}

fn align(len: usize) -> usize {
    (len + 3) & !3
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// One message at the start of `rest`, and its `nlmsg_len`.
fn message(rest: &[u8]) -> Result<(Message, usize), &'static str> {
    if rest.len() < NLMSG_HDRLEN {
        return Err("fewer bytes left than a nlmsghdr");
    }
    let len = u32_at(rest, 0) as usize;
    if len < NLMSG_HDRLEN || len > rest.len() {
        return Err("nlmsg_len below 16 or beyond the datagram");
    }
    let kind = u16_at(rest, 4);
    let flags = u16_at(rest, 6);
    let payload = &rest[NLMSG_HDRLEN..len];
    let body = match kind {
        NLMSG_ERROR => Body::Error {
            errno: error_code(payload)?,
        },
        NLMSG_DONE => Body::Done {
            errno: error_code(payload)?,
        },
        NLMSG_OVERRUN => Body::Overrun,
        RTM_NEWLINK | RTM_DELLINK => Body::Link(link(kind, payload)?),
        RTM_NEWADDR | RTM_DELADDR => match addr(kind, payload)? {
            Some(event) => Body::Addr(event),
            None => Body::Ignored,
        },
        _ => Body::Ignored,
    };
    let message = Message {
        seq: u32_at(rest, 8),
        dump_interrupted: flags & NLM_F_DUMP_INTR != 0,
        body,
    };
    Ok((message, len))
}

fn error_code(payload: &[u8]) -> Result<i32, &'static str> {
    if payload.len() < 4 {
        return Err("error code missing");
    }
    Ok(i32::from_ne_bytes([payload[0], payload[1], payload[2], payload[3]]).unsigned_abs() as i32)
}

/// The attributes of `bytes` as (type without flag bits, value).
fn attributes(bytes: &[u8]) -> Result<Vec<(u16, &[u8])>, &'static str> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let rest = &bytes[at..];
        if rest.len() < 4 {
            return Err("fewer bytes left than a rtattr");
        }
        let len = usize::from(u16_at(rest, 0));
        if len < 4 || len > rest.len() {
            return Err("rta_len below 4 or beyond the message");
        }
        out.push((u16_at(rest, 2) & NLA_TYPE_MASK, &rest[4..len]));
        at += align(len);
    }
    Ok(out)
}

fn link(kind: u16, payload: &[u8]) -> Result<LinkEvent, &'static str> {
    if payload.len() < IFINFOMSG_LEN {
        return Err("shorter than ifinfomsg");
    }
    let index = u32_at(payload, 4);
    let flags = u32_at(payload, 8);
    let mut name = None;
    for (t, value) in attributes(&payload[IFINFOMSG_LEN..])? {
        if t == IFLA_IFNAME {
            match value.split_last() {
                Some((0, n)) if value.len() <= IFNAMSIZ && !n.contains(&0) => {
                    name = Some(n.to_vec())
                }
                _ => return Err("IFLA_IFNAME is not a NUL-terminated name of up to 16 bytes"),
            }
        }
    }
    Ok(if kind == RTM_DELLINK {
        LinkEvent::Del { index }
    } else {
        LinkEvent::New { index, name, flags }
    })
}

fn addr(kind: u16, payload: &[u8]) -> Result<Option<AddrEvent>, &'static str> {
    if payload.len() < IFADDRMSG_LEN {
        return Err("shorter than ifaddrmsg");
    }
    let (size, max_prefix) = match payload[0] {
        AF_INET => (4, 32),
        AF_INET6 => (16, 128),
        _ => return Ok(None),
    };
    let prefix = payload[1];
    if prefix > max_prefix {
        return Err("prefix length beyond the family's");
    }
    let mut flags = u32::from(payload[2]);
    let index = u32_at(payload, 4);
    let (mut address, mut local) = (None, None);
    for (t, value) in attributes(&payload[IFADDRMSG_LEN..])? {
        match t {
            IFA_ADDRESS | IFA_LOCAL => {
                let ip = match (size, value.len()) {
                    (4, 4) => IpAddr::V4(Ipv4Addr::new(value[0], value[1], value[2], value[3])),
                    (16, 16) => {
                        let mut b = [0u8; 16];
                        b.copy_from_slice(value);
                        IpAddr::V6(Ipv6Addr::from(b))
                    }
                    _ => return Err("address of the wrong size for its family"),
                };
                if t == IFA_LOCAL {
                    local = Some(ip);
                } else {
                    address = Some(ip);
                }
            }
            IFA_FLAGS if value.len() == 4 => flags = u32_at(value, 0),
            IFA_FLAGS => return Err("IFA_FLAGS is not 4 bytes"),
            _ => {}
        }
    }
    // The local address wins: on point-to-point links IFA_ADDRESS is the peer's.
    let Some(addr) = local.or(address) else {
        return Ok(None);
    };
    let addr = IfAddr { addr, prefix };
    Ok(Some(if kind == RTM_DELADDR {
        AddrEvent::Del { index, addr }
    } else {
        AddrEvent::New { index, addr, flags }
    }))
}
