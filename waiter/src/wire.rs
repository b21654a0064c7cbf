//! rtnetlink on the wire: the two dump requests we send and the few fields we read from
//! what the kernel sends back. Pure: bytes in, values out.
//!
//! Only the netlink header, the link and address headers and the attributes `IFLA_IFNAME`,
//! `IFA_ADDRESS`, `IFA_LOCAL` and `IFA_FLAGS` are read, through the netlink-packet-*
//! buffer types (`NetlinkBuffer`, `LinkHeader`/`AddressHeader`, `NlasIterator`); the
//! full message model would cost ~300 KB of binary for attributes we never look at.
//! What is read must have the size the kernel gives it (`nla_put_string`, `nla_put_in_addr`,
//! `nla_put_u32`, the error code of `NLMSG_DONE`), and attributes must be well framed even
//! in messages whose attributes we do not use: anything else is a [`WireError`], never a
//! value guessed from the bytes that are there.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{
    Emitable, NetlinkBuffer, NetlinkHeader, NlasIterator, NLMSG_DONE, NLMSG_ERROR, NLMSG_OVERRUN,
    NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST,
};
use netlink_packet_route::address::AddressHeader;
use netlink_packet_route::link::LinkHeader;
use netlink_packet_route::AddressFamily;
use nix::libc;

use crate::readiness::{AddrEvent, IfAddr, LinkEvent};

/// Size of a link dump request: `nlmsghdr` (16 bytes) + `ifinfomsg` (16 bytes).
pub const LINK_DUMP_LEN: usize = 32;
/// Size of an address dump request: `nlmsghdr` (16 bytes) + `ifaddrmsg` (8 bytes).
pub const ADDR_DUMP_LEN: usize = 24;

const NLMSG_HDRLEN: usize = 16;
const IFINFOMSG_LEN: usize = 16;
const IFADDRMSG_LEN: usize = 8;

/// `RTM_GETLINK` with `NLM_F_REQUEST | NLM_F_DUMP`, all families, sequence number `seq`.
pub fn link_dump_request(seq: u32) -> [u8; LINK_DUMP_LEN] {
    let mut buf = [0u8; LINK_DUMP_LEN];
    dump_header(libc::RTM_GETLINK, LINK_DUMP_LEN, seq).emit(&mut buf);
    LinkHeader::default().emit(&mut buf[NLMSG_HDRLEN..]);
    buf
}

/// `RTM_GETADDR` with `NLM_F_REQUEST | NLM_F_DUMP`, IPv4 and IPv6, sequence number `seq`.
pub fn addr_dump_request(seq: u32) -> [u8; ADDR_DUMP_LEN] {
    let mut buf = [0u8; ADDR_DUMP_LEN];
    dump_header(libc::RTM_GETADDR, ADDR_DUMP_LEN, seq).emit(&mut buf);
    AddressHeader::default().emit(&mut buf[NLMSG_HDRLEN..]);
    buf
}

fn dump_header(message_type: u16, length: usize, seq: u32) -> NetlinkHeader {
    let mut header = NetlinkHeader::default();
    header.length = length as u32;
    header.message_type = message_type;
    header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    header.sequence_number = seq;
    // Port 0: the kernel fills in ours.
    header
}

/// What one netlink message says, as far as waiting is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// `RTM_NEWLINK` / `RTM_DELLINK`.
    Link(LinkEvent),
    /// `RTM_NEWADDR` / `RTM_DELADDR` for IPv4 or IPv6.
    Addr(AddrEvent),
    /// `NLMSG_DONE`: the end of a dump; `errno` is the dump's error (0 = success).
    Done {
        /// Positive errno, or 0.
        errno: i32,
    },
    /// `NLMSG_ERROR`: an error (positive errno) or an acknowledgement (0).
    Error {
        /// Positive errno, or 0.
        errno: i32,
    },
    /// `NLMSG_OVERRUN`: data were lost.
    Overrun,
    /// Anything else (`NLMSG_NOOP`, other families' addresses, other message types).
    Ignored,
}

/// One netlink message: the header fields that matter and its [`Body`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `nlmsg_seq`: ours only for replies to our requests; notifications carry the sequence
    /// number of whichever request caused them, from any process.
    pub seq: u32,
    /// `NLM_F_DUMP_INTR` was set: the dump this message belongs to may be inconsistent.
    pub dump_interrupted: bool,
    /// What the message says.
    pub body: Body,
}

/// A message the kernel should never send: truncated or with inconsistent lengths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError(pub String);

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed netlink message: {}", self.0)
    }
}

impl std::error::Error for WireError {}

/// Iterates over the messages of one datagram read from a route netlink socket. Stops at
/// the first malformed message (after yielding its error).
pub fn messages(datagram: &[u8]) -> Messages<'_> {
    Messages {
        rest: datagram,
        failed: false,
    }
}

/// Iterator returned by [`messages`].
pub struct Messages<'a> {
    rest: &'a [u8],
    failed: bool,
}

impl Iterator for Messages<'_> {
    type Item = Result<Message, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() || self.failed {
            return None;
        }
        let result = NetlinkBuffer::new_checked(self.rest)
            .map_err(|e| WireError(e.to_string()))
            .and_then(|nl| {
                let message = parse_message(&nl)?;
                let aligned = (nl.length() as usize + 3) & !3;
                self.rest = self.rest.get(aligned..).unwrap_or_default();
                Ok(message)
            });
        self.failed = result.is_err();
        Some(result)
    }
}

fn parse_message(nl: &NetlinkBuffer<&[u8]>) -> Result<Message, WireError> {
    let payload = nl.payload();
    let body = match nl.message_type() {
        libc::RTM_NEWLINK | libc::RTM_DELLINK => Body::Link(parse_link(nl, payload)?),
        libc::RTM_NEWADDR | libc::RTM_DELADDR => match parse_addr(nl, payload)? {
            Some(event) => Body::Addr(event),
            None => Body::Ignored,
        },
        NLMSG_DONE => Body::Done {
            errno: error_code(payload, "NLMSG_DONE")?,
        },
        NLMSG_ERROR => Body::Error {
            errno: error_code(payload, "NLMSG_ERROR")?,
        },
        NLMSG_OVERRUN => Body::Overrun,
        _ => Body::Ignored,
    };
    Ok(Message {
        seq: nl.sequence_number(),
        dump_interrupted: nl.flags() & NLM_F_DUMP_INTR != 0,
        body,
    })
}

/// The kernel puts a negative errno (or 0) first in `NLMSG_ERROR` and `NLMSG_DONE`; a
/// `NLMSG_DONE` without it must not pass for a successful end of dump.
fn error_code(payload: &[u8], what: &str) -> Result<i32, WireError> {
    match payload.get(..4) {
        Some(b) => Ok(i32::from_ne_bytes([b[0], b[1], b[2], b[3]]).unsigned_abs() as i32),
        None => Err(WireError(format!("{what} shorter than its error code"))),
    }
}

fn parse_link(nl: &NetlinkBuffer<&[u8]>, payload: &[u8]) -> Result<LinkEvent, WireError> {
    let header = LinkHeader::parse(payload).map_err(|e| WireError(format!("link: {e}")))?;
    let mut name = None;
    for nla in NlasIterator::new(&payload[IFINFOMSG_LEN..]) {
        let nla = nla.map_err(|e| WireError(format!("link attribute: {e}")))?;
        if nla.kind() == libc::IFLA_IFNAME {
            name = Some(ifname(nla.value())?);
        }
    }
    if nl.message_type() == libc::RTM_DELLINK {
        return Ok(LinkEvent::Del {
            index: header.index,
        });
    }
    Ok(LinkEvent::New {
        index: header.index,
        name,
        flags: header.flags.bits(),
    })
}

/// `IFLA_IFNAME` as `nla_put_string` writes it: the name and one NUL, at most `IFNAMSIZ`.
fn ifname(value: &[u8]) -> Result<Vec<u8>, WireError> {
    match value.split_last() {
        Some((0, name)) if value.len() <= libc::IFNAMSIZ && !name.contains(&0) => Ok(name.to_vec()),
        _ => Err(WireError(
            "IFLA_IFNAME is not a NUL-terminated name of at most 16 bytes".into(),
        )),
    }
}

fn parse_addr(nl: &NetlinkBuffer<&[u8]>, payload: &[u8]) -> Result<Option<AddrEvent>, WireError> {
    let header = AddressHeader::parse(payload).map_err(|e| WireError(format!("address: {e}")))?;
    let ipv6 = match header.family {
        AddressFamily::Inet => false,
        AddressFamily::Inet6 => true,
        _ => return Ok(None),
    };
    if header.prefix_len > if ipv6 { 128 } else { 32 } {
        return Err(WireError(format!(
            "address prefix length {} beyond its family's",
            header.prefix_len
        )));
    }
    let (mut address, mut local) = (None, None);
    let mut flags = u32::from(header.flags.bits());
    for nla in NlasIterator::new(&payload[IFADDRMSG_LEN..]) {
        let nla = nla.map_err(|e| WireError(format!("address attribute: {e}")))?;
        let value = nla.value();
        match nla.kind() {
            libc::IFA_ADDRESS => address = Some(ip(value, ipv6)?),
            libc::IFA_LOCAL => local = Some(ip(value, ipv6)?),
            // IFA_FLAGS is the full 32-bit set; ifa_flags only holds the low 8 bits.
            libc::IFA_FLAGS => {
                let bytes: [u8; 4] = value
                    .try_into()
                    .map_err(|_| WireError("IFA_FLAGS is not 4 bytes".into()))?;
                flags = u32::from_ne_bytes(bytes);
            }
            _ => {}
        }
    }
    // On point-to-point links IFA_ADDRESS is the peer and IFA_LOCAL ours.
    let Some(addr) = local.or(address) else {
        return Ok(None);
    };
    let addr = IfAddr {
        addr,
        prefix: header.prefix_len,
    };
    let index = header.index;
    Ok(Some(if nl.message_type() == libc::RTM_DELADDR {
        AddrEvent::Del { index, addr }
    } else {
        AddrEvent::New { index, addr, flags }
    }))
}

/// `IFA_ADDRESS`/`IFA_LOCAL`: 4 or 16 bytes by family. A wrong size is an error, not an
/// absent address: on point-to-point links the other one is the peer's.
fn ip(value: &[u8], ipv6: bool) -> Result<IpAddr, WireError> {
    let wrong = || {
        WireError(format!(
            "address of {} bytes in an AF_INET{} message",
            value.len(),
            if ipv6 { "6" } else { "" }
        ))
    };
    if ipv6 {
        let bytes: [u8; 16] = value.try_into().map_err(|_| wrong())?;
        Ok(IpAddr::V6(Ipv6Addr::from(bytes)))
    } else {
        let bytes: [u8; 4] = value.try_into().map_err(|_| wrong())?;
        Ok(IpAddr::V4(Ipv4Addr::from(bytes)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::{NetlinkMessage, NetlinkPayload, NLM_F_MULTIPART};
    use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressMessage};
    use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
    use netlink_packet_route::RouteNetlinkMessage;

    /// Serialises `message` with the full message model, as the kernel would send it.
    fn wire(message: RouteNetlinkMessage, seq: u32, flags: u16) -> Vec<u8> {
        let mut nl = NetlinkMessage::from(message);
        nl.header.sequence_number = seq;
        nl.header.flags = flags;
        nl.finalize();
        let mut buf = vec![0; nl.buffer_len()];
        nl.serialize(&mut buf);
        buf
    }

    fn link(index: u32, name: &str, flags: LinkFlags) -> LinkMessage {
        let mut m = LinkMessage::default();
        m.header.index = index;
        m.header.flags = flags;
        m.attributes.push(LinkAttribute::Mtu(1500));
        m.attributes.push(LinkAttribute::IfName(name.into()));
        m
    }

    fn addr(index: u32, a: IpAddr, prefix: u8, extra: Vec<AddressAttribute>) -> AddressMessage {
        let mut m = AddressMessage::default();
        m.header.family = match a {
            IpAddr::V4(_) => AddressFamily::Inet,
            IpAddr::V6(_) => AddressFamily::Inet6,
        };
        m.header.prefix_len = prefix;
        m.header.index = index;
        m.attributes.push(AddressAttribute::Address(a));
        m.attributes.extend(extra);
        m
    }

    fn only(datagram: &[u8]) -> Message {
        let all: Vec<_> = messages(datagram).collect::<Result<_, _>>().unwrap();
        assert_eq!(all.len(), 1, "{all:?}");
        all.into_iter().next().unwrap()
    }

    #[test]
    fn dump_requests_are_32_and_24_bytes() {
        let l = link_dump_request(7);
        assert_eq!(
            l,
            [
                32, 0, 0, 0, 18, 0, 0x01, 0x03, 7, 0, 0, 0, 0, 0, 0, 0, // nlmsghdr
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // ifinfomsg, AF_UNSPEC
            ]
        );
        let a = addr_dump_request(8);
        assert_eq!(
            a,
            [
                24, 0, 0, 0, 22, 0, 0x01, 0x03, 8, 0, 0, 0, 0, 0, 0, 0, // nlmsghdr
                0, 0, 0, 0, 0, 0, 0, 0, // ifaddrmsg, AF_UNSPEC
            ]
        );
    }

    #[test]
    fn new_link_with_name_and_flags() {
        let bytes = wire(
            RouteNetlinkMessage::NewLink(link(7, "ethwe", LinkFlags::Up | LinkFlags::Broadcast)),
            99,
            0,
        );
        let m = only(&bytes);
        assert_eq!(m.seq, 99);
        assert!(!m.dump_interrupted);
        assert_eq!(
            m.body,
            Body::Link(LinkEvent::New {
                index: 7,
                name: Some(b"ethwe".to_vec()),
                flags: libc::IFF_UP as u32 | libc::IFF_BROADCAST as u32,
            })
        );
    }

    #[test]
    fn del_link() {
        let bytes = wire(
            RouteNetlinkMessage::DelLink(link(7, "ethwe", LinkFlags::empty())),
            0,
            0,
        );
        assert_eq!(only(&bytes).body, Body::Link(LinkEvent::Del { index: 7 }));
    }

    #[test]
    fn ipv4_address_prefers_local_over_peer() {
        let a = addr(
            7,
            "10.0.0.2".parse().unwrap(),
            32,
            vec![AddressAttribute::Local("10.0.0.1".parse().unwrap())],
        );
        let m = only(&wire(RouteNetlinkMessage::NewAddress(a), 1, 0));
        assert_eq!(
            m.body,
            Body::Addr(AddrEvent::New {
                index: 7,
                addr: IfAddr {
                    addr: "10.0.0.1".parse().unwrap(),
                    prefix: 32
                },
                flags: 0
            })
        );
    }

    #[test]
    fn ipv6_address_flags_come_from_ifa_flags() {
        let a = addr(
            3,
            "fd00::51".parse().unwrap(),
            64,
            vec![AddressAttribute::Flags(
                AddressFlags::Tentative | AddressFlags::Managetempaddr,
            )],
        );
        let m = only(&wire(RouteNetlinkMessage::NewAddress(a), 1, 0));
        let Body::Addr(AddrEvent::New { flags, addr, .. }) = m.body else {
            panic!("{m:?}");
        };
        assert_eq!(flags, crate::readiness::IFA_F_TENTATIVE | 0x100);
        assert_eq!(addr.to_string(), "fd00::51/64");
    }

    #[test]
    fn del_address() {
        let a = addr(7, "10.255.0.51".parse().unwrap(), 24, vec![]);
        let m = only(&wire(RouteNetlinkMessage::DelAddress(a), 1, 0));
        assert_eq!(
            m.body,
            Body::Addr(AddrEvent::Del {
                index: 7,
                addr: IfAddr {
                    addr: "10.255.0.51".parse().unwrap(),
                    prefix: 24
                }
            })
        );
    }

    #[test]
    fn several_messages_in_one_datagram_with_dump_flags() {
        let mut bytes = wire(
            RouteNetlinkMessage::NewLink(link(1, "lo", LinkFlags::Up)),
            5,
            NLM_F_MULTIPART,
        );
        bytes.extend(wire(
            RouteNetlinkMessage::NewLink(link(2, "ethwe", LinkFlags::empty())),
            5,
            NLM_F_MULTIPART | NLM_F_DUMP_INTR,
        ));
        let mut done = NetlinkMessage::<RouteNetlinkMessage>::new(
            NetlinkHeader::default(),
            NetlinkPayload::Done(Default::default()),
        );
        done.header.sequence_number = 5;
        done.finalize();
        let mut d = vec![0; done.buffer_len()];
        done.serialize(&mut d);
        bytes.extend(d);
        let all: Vec<Message> = messages(&bytes).collect::<Result<_, _>>().unwrap();
        assert_eq!(all.len(), 3);
        assert!(!all[0].dump_interrupted);
        assert!(all[1].dump_interrupted);
        assert_eq!(all[2].body, Body::Done { errno: 0 });
        assert!(all.iter().all(|m| m.seq == 5));
    }

    #[test]
    fn error_carries_a_positive_errno() {
        let mut bytes = vec![0u8; 36];
        bytes[..4].copy_from_slice(&36u32.to_ne_bytes());
        bytes[4..6].copy_from_slice(&NLMSG_ERROR.to_ne_bytes());
        bytes[8..12].copy_from_slice(&3u32.to_ne_bytes());
        bytes[16..20].copy_from_slice(&(-libc::EBUSY).to_ne_bytes());
        let m = only(&bytes);
        assert_eq!(m.seq, 3);
        assert_eq!(m.body, Body::Error { errno: libc::EBUSY });
    }

    #[test]
    fn truncated_messages_are_errors_not_panics() {
        let bytes = wire(
            RouteNetlinkMessage::NewLink(link(7, "ethwe", LinkFlags::Up)),
            1,
            0,
        );
        for cut in [1, 15, 16, 20, bytes.len() - 1] {
            let results: Vec<_> = messages(&bytes[..cut]).collect();
            assert!(results.iter().any(|r| r.is_err()), "cut at {cut}");
        }
        // A header claiming a tiny link message.
        let mut short = bytes[..20].to_vec();
        short[..4].copy_from_slice(&20u32.to_ne_bytes());
        assert!(messages(&short).next().unwrap().is_err());
    }

    /// One message from raw parts: `nlmsghdr`, then `payload` (padded to 4 bytes).
    fn raw(kind: u16, payload: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend(((16 + payload.len()) as u32).to_ne_bytes());
        m.extend(kind.to_ne_bytes());
        m.extend([0; 10]);
        m.extend(payload);
        m.resize((m.len() + 3) & !3, 0);
        m
    }

    fn attr(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut a = ((4 + value.len()) as u16).to_ne_bytes().to_vec();
        a.extend(kind.to_ne_bytes());
        a.extend(value);
        a.resize((a.len() + 3) & !3, 0);
        a
    }

    /// `RTM_NEWADDR` for 10.255.0.51/`prefix` on ifindex 3 with these attributes.
    fn raw_addr(prefix: u8, attrs: &[Vec<u8>]) -> Vec<u8> {
        let mut p = vec![libc::AF_INET as u8, prefix, 0, 0, 3, 0, 0, 0];
        p.extend(attrs.concat());
        raw(libc::RTM_NEWADDR, &p)
    }

    fn raw_link(kind: u16, attrs: &[Vec<u8>]) -> Vec<u8> {
        let mut p = vec![0u8; 16];
        p[4..8].copy_from_slice(&3u32.to_ne_bytes());
        p[8..12].copy_from_slice(&(libc::IFF_UP as u32).to_ne_bytes());
        p.extend(attrs.concat());
        raw(kind, &p)
    }

    #[test]
    fn values_of_another_size_than_the_kernels_are_errors_not_guesses() {
        let local = attr(libc::IFA_LOCAL, &[10, 255, 0, 51]);
        let peer = attr(libc::IFA_ADDRESS, &[10, 255, 0, 51]);
        assert!(matches!(
            only(&raw_addr(24, std::slice::from_ref(&local))).body,
            Body::Addr(_)
        ));
        assert!(matches!(
            only(&raw_link(
                libc::RTM_NEWLINK,
                &[attr(libc::IFLA_IFNAME, b"ethwe\0")]
            ))
            .body,
            Body::Link(_)
        ));
        for (why, datagram) in [
            // Taking the peer's address for ours would make the wrong link ready.
            (
                "IFA_LOCAL of 5 bytes",
                raw_addr(24, &[peer, attr(libc::IFA_LOCAL, &[10, 255, 0, 51, 0])]),
            ),
            (
                "IFA_ADDRESS of 3 bytes",
                raw_addr(24, &[attr(libc::IFA_ADDRESS, &[10, 255, 0])]),
            ),
            (
                "IFA_FLAGS of 1 byte",
                raw_addr(24, &[local.clone(), attr(libc::IFA_FLAGS, &[0])]),
            ),
            (
                "IFA_FLAGS of 8 bytes",
                raw_addr(24, &[local.clone(), attr(libc::IFA_FLAGS, &[0; 8])]),
            ),
            ("prefix 33 for IPv4", raw_addr(33, &[local])),
            (
                "IFLA_IFNAME without NUL",
                raw_link(libc::RTM_NEWLINK, &[attr(libc::IFLA_IFNAME, b"ethwe")]),
            ),
            (
                "IFLA_IFNAME with a NUL inside",
                raw_link(libc::RTM_NEWLINK, &[attr(libc::IFLA_IFNAME, b"ethwe\0x\0")]),
            ),
            (
                "IFLA_IFNAME of 17 bytes",
                raw_link(
                    libc::RTM_NEWLINK,
                    &[attr(libc::IFLA_IFNAME, b"0123456789abcdef\0")],
                ),
            ),
            (
                "RTM_DELLINK attribute beyond the message",
                raw_link(libc::RTM_DELLINK, &[vec![8, 0, 3, 0]]),
            ),
            // A successful end of dump would mark the table synced.
            ("NLMSG_DONE without its error code", raw(NLMSG_DONE, &[])),
        ] {
            let results: Vec<_> = messages(&datagram).collect();
            assert!(matches!(results.as_slice(), [Err(_)]), "{why}: {results:?}");
        }
    }

    #[test]
    fn other_families_and_types_are_ignored() {
        let mut a = addr(7, "10.0.0.1".parse().unwrap(), 8, vec![]);
        a.header.family = AddressFamily::Packet;
        assert_eq!(
            only(&wire(RouteNetlinkMessage::NewAddress(a), 1, 0)).body,
            Body::Ignored
        );
        let mut noop = vec![0u8; 16];
        noop[..4].copy_from_slice(&16u32.to_ne_bytes());
        noop[4..6].copy_from_slice(&1u16.to_ne_bytes());
        assert_eq!(only(&noop).body, Body::Ignored);
    }
}
