use super::*;

/// One message: `nlmsghdr` + payload, padded to 4 bytes.
fn nlmsg(kind: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend(((16 + payload.len()) as u32).to_ne_bytes());
    m.extend(kind.to_ne_bytes());
    m.extend(flags.to_ne_bytes());
    m.extend(seq.to_ne_bytes());
    m.extend(0u32.to_ne_bytes());
    m.extend(payload);
    pad(m)
}

fn pad(mut b: Vec<u8>) -> Vec<u8> {
    while !b.len().is_multiple_of(4) {
        b.push(0);
    }
    b
}

fn rtattr(kind: u16, value: &[u8]) -> Vec<u8> {
    let mut a = Vec::new();
    a.extend(((4 + value.len()) as u16).to_ne_bytes());
    a.extend(kind.to_ne_bytes());
    a.extend(value);
    pad(a)
}

fn ifinfomsg(index: u32, flags: u32, attrs: &[Vec<u8>]) -> Vec<u8> {
    let mut p = vec![0, 0, 1, 0];
    p.extend(index.to_ne_bytes());
    p.extend(flags.to_ne_bytes());
    p.extend(u32::MAX.to_ne_bytes());
    p.extend(attrs.concat());
    p
}

fn ifaddrmsg(family: u8, prefix: u8, index: u32, attrs: &[Vec<u8>]) -> Vec<u8> {
    let mut p = vec![family, prefix, 0x80, 0];
    p.extend(index.to_ne_bytes());
    p.extend(attrs.concat());
    p
}

fn new_link(name: &[u8], flags: u32) -> Vec<u8> {
    nlmsg(16, 0, 0, &ifinfomsg(ETHWE, flags, &[rtattr(3, name)]))
}

fn new_addr(attrs: &[Vec<u8>]) -> Vec<u8> {
    nlmsg(20, 0, 0, &ifaddrmsg(2, 24, ETHWE, attrs))
}

#[test]
fn well_formed_messages_make_the_down_table_ready() {
    let up = new_link(b"ethwe\0", IFF_UP);
    let decoded = model::decode(&up);
    assert!(decoded.malformed.is_none(), "{decoded:?}");
    assert_eq!(decoded.messages[0].1.body, link(ETHWE, "ethwe", IFF_UP));
    let (name, down) = START_STATES[2];
    assert_eq!(name, "down");
    assert!(feed_bytes(down(), &up).1.is_ready());
    check(&up);
}

#[test]
fn the_model_prefers_the_local_address_and_reads_ifa_flags() {
    let datagram = new_addr(&[
        rtattr(1, &[10, 255, 0, 1]),
        rtattr(2, &[10, 255, 0, 51]),
        rtattr(8, &0x40u32.to_ne_bytes()),
    ]);
    let decoded = model::decode(&datagram);
    assert_eq!(decoded.messages[0].1.body, addr(ETHWE, v4(), 0x40));
    check(&datagram);
}

#[test]
fn what_the_model_calls_malformed() {
    let address = rtattr(2, &[10, 255, 0, 51]);
    for (why, datagram) in [
        ("done without its code", nlmsg(3, 2, 1, &[])),
        ("error without its code", nlmsg(2, 0, 1, &[0, 0])),
        ("name without NUL", new_link(b"ethwe", IFF_UP)),
        ("name with two NULs", new_link(b"ethwe\0x\0", IFF_UP)),
        ("name of 17 bytes", new_link(b"0123456789abcdef\0", IFF_UP)),
        ("short address", new_addr(&[rtattr(2, &[10, 255, 0])])),
        (
            "address of 5 bytes",
            new_addr(&[rtattr(2, &[10, 255, 0, 51, 0])]),
        ),
        (
            "IFA_FLAGS of 1 byte",
            new_addr(&[address.clone(), rtattr(8, &[0])]),
        ),
        (
            "prefix 33",
            nlmsg(
                20,
                0,
                0,
                &ifaddrmsg(2, 33, ETHWE, std::slice::from_ref(&address)),
            ),
        ),
        (
            "attribute beyond the message",
            nlmsg(17, 0, 0, &ifinfomsg(ETHWE, 0, &[vec![8, 0, 3, 0]])),
        ),
        ("trailing bytes", {
            let mut d = new_link(b"ethwe\0", IFF_UP);
            d.extend([0; 8]);
            d
        }),
    ] {
        let decoded = model::decode(&datagram);
        assert!(decoded.malformed.is_some(), "{why}: {decoded:?}");
    }
}

#[test]
fn other_families_and_types_are_ignored_unread() {
    let packet = nlmsg(20, 0, 0, &ifaddrmsg(17, 200, ETHWE, &[vec![1, 2, 3]]));
    let noop = nlmsg(1, 0, 0, &[1, 2, 3]);
    for datagram in [packet, noop] {
        let decoded = model::decode(&datagram);
        assert!(decoded.malformed.is_none(), "{decoded:?}");
        assert_eq!(decoded.messages[0].1.body, Body::Ignored);
        check(&datagram);
    }
}

#[test]
fn a_malformed_message_after_a_good_one_leaves_the_good_one_applied() {
    let mut datagram = new_link(b"ethwe\0", IFF_UP);
    let cut = datagram.len();
    datagram.extend(nlmsg(16, 0, 0, &[0; 8]));
    let decoded = model::decode(&datagram);
    assert_eq!(decoded.messages.len(), 1);
    assert_eq!(decoded.malformed.map(|(at, _)| at), Some(cut));
    check(&datagram);
}

#[test]
fn every_start_state_but_ready_is_not_ready() {
    for (name, start) in START_STATES {
        assert_eq!(start().1.is_ready(), name == "ready", "{name}");
    }
}

#[test]
fn the_captured_kernel_datagrams_are_well_formed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/netlink");
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let decoded = model::decode(&std::fs::read(&path).unwrap());
        assert!(
            decoded.malformed.is_none(),
            "{}: {decoded:?}",
            path.display()
        );
        assert!(!decoded.messages.is_empty());
        count += 1;
    }
    assert!(count >= 10, "{count} seeds");
}
