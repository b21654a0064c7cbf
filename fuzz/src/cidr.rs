//! Target `cidr`: the WEAVE_CIDR grammar (`weave_cidr::parse`), input = the value as UTF-8
//! (other bytes cannot reach it: the waiter and the adapter refuse non-UTF-8 values before).
//!
//! Properties:
//! - a refused value gives the grammar's message, one line: `invalid WEAVE_CIDR "<value>":
//!   <why>`, with the value quoted once (cut with its length above 64 bytes, so junk is
//!   never echoed whole) and a non-empty `why`; the error keeps the whole value;
//! - the outcome depends on the words only: the same words joined by one space give the same
//!   items, or a refusal with the same `why`;
//! - an accepted value re-parses from its canonical spelling (`ip:…`, `net:…`,
//!   `net:default`, the argv words `weave attach` takes) to the same items, and `none` is
//!   accepted exactly when it is the only word;
//! - every accepted item keeps the documented rules, restated here from RFC 6890 rather than
//!   from the crate's table: an exact address is unicast (not 0.0.0.0/8, loopback, multicast
//!   or 255.255.255.255) and, up to /30, neither the network nor the broadcast address of its
//!   subnet; a `net:` subnet has no host bits and contains none of those addresses;
//! - `parse_exact` (the waiter's `--addr`) agrees with `parse` on every exact item.

use std::net::Ipv4Addr;

use weave_cidr::{CidrItem, Ipv4Cidr, WeaveCidr};

/// Checks the properties above for one input; panics when one fails.
pub fn check(data: &[u8]) {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    let words: Vec<&str> = value.split_whitespace().collect();
    let parsed = weave_cidr::parse(value);
    let respelled = weave_cidr::parse(&words.join(" "));
    match &parsed {
        Err(e) => {
            assert_eq!(e.value, value);
            assert!(!e.why.is_empty(), "{e:?}");
            let text = e.to_string();
            assert_eq!(
                text,
                format!("invalid WEAVE_CIDR {}: {}", weave_cidr::quote(value), e.why)
            );
            assert!(!text.contains('\n'), "one line: {text}");
            let again = respelled.expect_err("the same words, accepted once spelled with spaces");
            assert_eq!(again.why, e.why);
        }
        Ok(WeaveCidr::None) => {
            assert_eq!(words, ["none"]);
            assert_eq!(respelled, Ok(WeaveCidr::None));
        }
        Ok(asked @ WeaveCidr::Attach(items)) => {
            assert!(!words.contains(&"none"), "{value:?}");
            assert_eq!(items.len(), words.len());
            assert_eq!(respelled.as_ref(), Ok(asked));
            let canonical: Vec<String> = items.iter().map(CidrItem::to_weave_arg).collect();
            assert_eq!(
                weave_cidr::parse(&canonical.join(" ")).as_ref(),
                Ok(asked),
                "canonical spelling {canonical:?}"
            );
            for (item, word) in items.iter().zip(&words) {
                check_item(item, word);
            }
        }
    }
}

fn check_item(item: &CidrItem, word: &str) {
    match item {
        CidrItem::Ip(c) => {
            assert!(c.prefix <= 32, "{word}");
            assert!(is_unicast(c.addr), "{word}: not a container's address");
            if c.prefix <= 30 {
                let (first, last) = range(c);
                let a = u32::from(c.addr);
                assert!(a != first && a != last, "{word}: network or broadcast");
            }
            assert_eq!(weave_cidr::parse_exact(word), Ok(*c), "{word}");
        }
        CidrItem::Net(c) => {
            assert!(c.prefix <= 32, "{word}");
            let (first, last) = range(c);
            assert_eq!(u32::from(c.addr), first, "{word}: host bits set");
            for (lo, hi) in RESERVED {
                assert!(last < lo || first > hi, "{word}: overlaps a reserved range");
            }
            assert!(weave_cidr::parse_exact(word).is_err(), "{word}");
        }
        CidrItem::NetDefault => {
            assert_eq!(word, "net:default");
            assert!(weave_cidr::parse_exact(word).is_err(), "{word}");
        }
    }
}

/// RFC 6890 ranges no container interface can carry, as inclusive host-order intervals:
/// "this network" 0.0.0.0/8, loopback 127.0.0.0/8, multicast 224.0.0.0/4, limited broadcast.
const RESERVED: [(u32, u32); 4] = [
    (0x0000_0000, 0x00ff_ffff),
    (0x7f00_0000, 0x7fff_ffff),
    (0xe000_0000, 0xefff_ffff),
    (0xffff_ffff, 0xffff_ffff),
];

fn is_unicast(a: Ipv4Addr) -> bool {
    let a = u32::from(a);
    RESERVED.iter().all(|&(lo, hi)| a < lo || a > hi)
}

/// The first and last address of the subnet, computed with 64-bit arithmetic (so /0 needs no
/// special case).
fn range(c: &Ipv4Cidr) -> (u32, u32) {
    let size = 1u64 << (32 - u32::from(c.prefix));
    let first = (u64::from(u32::from(c.addr)) / size) * size;
    (first as u32, (first + size - 1) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_and_refused_values() {
        for value in [
            "",
            "none",
            " none ",
            "10.2.1.1/24 ip:10.2.1.2/24\tnet:10.3.0.0/16 net:default",
            "net:0.0.0.0/0",
            "10.0.0.0/31 10.0.0.0/32",
            "none none",
            "127.0.0.1/8",
            "\u{a0}10.0.0.1/8",
            "ip:",
        ] {
            check(value.as_bytes());
        }
    }

    #[test]
    fn subnet_range() {
        let c = |a: [u8; 4], prefix| Ipv4Cidr {
            addr: Ipv4Addr::from(a),
            prefix,
        };
        assert_eq!(range(&c([10, 2, 1, 7], 24)), (0x0a02_0100, 0x0a02_01ff));
        assert_eq!(range(&c([10, 2, 1, 7], 0)), (0, u32::MAX));
        assert_eq!(range(&c([10, 2, 1, 7], 32)), (0x0a02_0107, 0x0a02_0107));
    }

    #[test]
    #[should_panic(expected = "not a container's address")]
    fn the_check_can_fail() {
        check_item(
            &CidrItem::Ip(Ipv4Cidr {
                addr: Ipv4Addr::LOCALHOST,
                prefix: 8,
            }),
            "127.0.0.1/8",
        );
    }
}
