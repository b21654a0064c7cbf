//! Target `netlink`: the waiter's rtnetlink parsing (`waiter::wire::messages`) and what it
//! feeds into the dump sequencing and the readiness table (`Dumps::on_message`,
//! `Readiness`), input = the bytes of one datagram as read from the route socket.
//!
//! The question is whether a malformed message can ever make the waiter judge its link
//! ready. "Malformed" is defined by [`model`], a second decoder written from the kernel's
//! headers. The properties:
//! - the parser reads exactly what the model reads: message by message, the same messages
//!   are accepted with the same meaning (sequence number, dump flag, link or address event,
//!   errno), and the first message the model calls malformed is the one the parser refuses,
//!   after which it reads nothing. So every event that reaches the table comes from a
//!   well-formed message and says what that message says, and the kernel's own messages are
//!   never refused (which would end the waiter with status 1);
//! - the datagram is fed, as `Watch::apply` does (stopping at the first refused message or
//!   failed dump, where the waiter exits 1), to tables in six states: dumping links, dumping
//!   addresses, synced with `ethwe` down, up without an address, up with the expected IPv6
//!   address still tentative, and ready. No panic; each table ends exactly as a table fed
//!   only the datagram's bytes before its first malformed message; and a table that was not
//!   ready and is ready afterwards is also made ready by the model's reading of that
//!   well-formed part, applied to a copy of the same table.

pub mod model;

use waiter::netlink::{Dumps, NetlinkError};
use waiter::readiness::{
    AddrEvent, Expect, IfAddr, Iface, LinkEvent, Readiness, IFA_F_TENTATIVE, IFF_UP,
};
use waiter::wire::{self, Body, Message};

/// Checks the properties above for one input; panics when one fails.
pub fn check(data: &[u8]) {
    let decoded = model::decode(data);
    let ours: Vec<Result<Message, wire::WireError>> = wire::messages(data).collect();
    let accepted = ours.iter().take_while(|r| r.is_ok()).count();
    assert_eq!(
        accepted,
        decoded.messages.len(),
        "messages accepted: parser {ours:?}, model {decoded:?}"
    );
    for (mine, (at, theirs)) in ours.iter().zip(&decoded.messages) {
        assert_eq!(mine.as_ref().ok(), Some(theirs), "message at byte {at}");
    }
    assert_eq!(
        ours.len() - accepted,
        usize::from(decoded.malformed.is_some()),
        "the parser refuses exactly the first malformed message, then stops: {ours:?}, model {decoded:?}"
    );

    let cut = decoded.malformed.map_or(data.len(), |(at, _)| at);
    let model_messages: Vec<Message> = decoded.messages.into_iter().map(|(_, m)| m).collect();
    for (name, start) in START_STATES {
        let fed = feed_bytes(start(), data);
        if cut < data.len() {
            let prefix = feed_bytes(start(), &data[..cut]);
            assert_eq!(
                format!("{fed:?}"),
                format!("{prefix:?}"),
                "{name}: the table after the datagram differs from the table after its well-formed part"
            );
        }
        if !start().1.is_ready() && fed.1.is_ready() {
            let by_model = feed(start(), model_messages.iter().cloned().map(Ok::<_, ()>));
            assert!(
                by_model.1.is_ready(),
                "{name}: ready, but not from the datagram's well-formed messages"
            );
        }
    }
}

type State = (Dumps, Readiness);
type StartState = fn() -> State;

/// Feeds the messages of `datagram` as `Watch::apply` does.
fn feed_bytes(state: State, datagram: &[u8]) -> State {
    feed(state, wire::messages(datagram))
}

/// Applies messages until the first refused one or failed dump, where the waiter exits 1.
fn feed<E>(mut state: State, messages: impl Iterator<Item = Result<Message, E>>) -> State {
    for message in messages {
        let Ok(message) = message else { break };
        if let Err(NetlinkError::Dump { .. }) = state.0.on_message(message, &mut state.1) {
            break;
        }
    }
    state
}

/// The ifindexes and addresses of the starting states are those of the captured seeds
/// (`fuzz/corpus/netlink/`): `lo` is 1, the veth peer 2, `ethwe` 3.
const LO: u32 = 1;
const ETHWE: u32 = 3;

fn v4() -> IfAddr {
    IfAddr {
        addr: "10.255.0.51".parse().unwrap(),
        prefix: 24,
    }
}

fn v6() -> IfAddr {
    IfAddr {
        addr: "fd00::51".parse().unwrap(),
        prefix: 64,
    }
}

fn link(index: u32, name: &str, flags: u32) -> Body {
    Body::Link(LinkEvent::New {
        index,
        name: Some(name.as_bytes().to_vec()),
        flags,
    })
}

fn addr(index: u32, addr: IfAddr, flags: u32) -> Body {
    Body::Addr(AddrEvent::New { index, addr, flags })
}

/// Applies bodies with sequence number `seq` (the dumps' numbers are 1, links, and 2,
/// addresses, as in the seeds).
fn apply(state: &mut State, seq: u32, bodies: Vec<Body>) {
    for body in bodies {
        let message = Message {
            seq,
            dump_interrupted: false,
            body,
        };
        state
            .0
            .on_message(message, &mut state.1)
            .expect("a start state");
    }
}

fn done() -> Body {
    Body::Done { errno: 0 }
}

/// The six tables the datagram is fed to, by name (`Dumps` is not `Clone`: each is built
/// afresh when needed).
const START_STATES: [(&str, StartState); 6] = [
    ("dumping links", || dumping(vec![])),
    ("dumping addresses", || {
        let mut state = dumping(vec![]);
        apply(
            &mut state,
            1,
            vec![link(LO, "lo", IFF_UP), link(ETHWE, "ethwe", IFF_UP), done()],
        );
        state
    }),
    ("down", || synced(vec![], 0, vec![addr(ETHWE, v4(), 0)])),
    ("up without an address", || {
        synced(vec![v4()], IFF_UP, vec![])
    }),
    ("up, expected address tentative", || {
        synced(vec![v6()], IFF_UP, vec![addr(ETHWE, v6(), IFA_F_TENTATIVE)])
    }),
    ("ready", || {
        synced(vec![], IFF_UP, vec![addr(ETHWE, v4(), 0)])
    }),
];

/// A table awaiting `ethwe` whose link dump (sequence number 1) has been asked for: with
/// these exact addresses, or any IPv4 address when there are none.
fn dumping(expected: Vec<IfAddr>) -> State {
    let mut dumps = Dumps::new();
    dumps.start();
    let expected = if expected.is_empty() {
        vec![Expect::AnyIpv4]
    } else {
        expected.into_iter().map(Expect::Addr).collect()
    };
    (
        dumps,
        Readiness::new(Iface::Named("ethwe".into()), expected),
    )
}

/// A table after both dumps: `lo` up with 127.0.0.1/8, `ethwe` with these flags and
/// address events.
fn synced(expected: Vec<IfAddr>, ethwe_flags: u32, addrs: Vec<Body>) -> State {
    let mut state = dumping(expected);
    apply(
        &mut state,
        1,
        vec![
            link(LO, "lo", IFF_UP),
            link(ETHWE, "ethwe", ethwe_flags),
            done(),
        ],
    );
    let loopback = IfAddr {
        addr: "127.0.0.1".parse().unwrap(),
        prefix: 8,
    };
    let mut bodies = vec![addr(LO, loopback, 0)];
    bodies.extend(addrs);
    bodies.push(done());
    apply(&mut state, 2, bodies);
    state
}

#[cfg(test)]
mod tests;
