//! The `WEAVE_CIDR` grammar, shared by the waiter and the adapter so that both
//! accept and refuse exactly the same values.
//!
//! Grammar: a whitespace-separated list. `none` alone means "leave the container alone"; an
//! empty (or all-whitespace) value means "attach with a default allocation". Items are
//! `a.b.c.d/n` or `ip:a.b.c.d/n` (one exact address), `net:a.b.c.d/n` (allocate in that
//! subnet) and `net:default` (allocate in the default subnet). IPv4 only, as in Weave Net.
//! Addresses that can never be a container's (0.0.0.0/8, loopback, multicast, limited
//! broadcast), and subnets overlapping them, are refused; so are commas between items.
//! The value is never passed through a shell: items travel as separate argv words.
//! Refusals quote what they were given once, cut when long ([`quote`]).
//!
//! For a network that allocates from subnets of its own (a Docker network's IPAM), an item
//! can be checked against them with [`CidrItem::place_in`]: where it lands, or why it
//! cannot ([`Misplaced`]).

#![warn(missing_docs)]

use std::fmt;
use std::net::Ipv4Addr;

mod place;
mod quote;

pub use place::Misplaced;
pub use quote::quote;

/// Name of the environment variable carrying the grammar, in the container's `Env`.
pub const ENV_NAME: &str = "WEAVE_CIDR";

/// An IPv4 address with its prefix length, e.g. `10.255.0.51/24` (prefix 0..=32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Cidr {
    /// The address as written (host bits kept: for an interface address they matter).
    pub addr: Ipv4Addr,
    /// Prefix length in bits, 0..=32.
    pub prefix: u8,
}

impl Ipv4Cidr {
    /// The network address: `addr` with the host bits cleared.
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & self.mask())
    }

    /// The netmask as a host-order integer (`/24` → `0xffff_ff00`).
    pub fn mask(&self) -> u32 {
        match self.prefix {
            0 => 0,
            p => u32::MAX << (32 - u32::from(p)),
        }
    }

    /// The broadcast address of the subnet (all host bits set).
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !self.mask())
    }

    /// True when `addr` lies in this subnet (`10.255.0.0/16` contains `10.255.3.4`; a `/0`
    /// contains every address).
    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        (u32::from(self.addr) ^ u32::from(addr)) & self.mask() == 0
    }

    /// True when every address of `other` lies in this subnet: `other` is this subnet or
    /// one inside it (`10.255.0.0/16` covers `10.255.7.0/24` and itself, not `10.0.0.0/8`).
    pub fn covers(&self, other: &Ipv4Cidr) -> bool {
        other.prefix >= self.prefix && self.contains(other.addr)
    }

    /// True when the two subnets share an address: one of them covers the other (CIDR
    /// blocks are nested or disjoint).
    pub fn overlaps(&self, other: &Ipv4Cidr) -> bool {
        self.covers(other) || other.covers(self)
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// One item of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CidrItem {
    /// `a.b.c.d/n` or `ip:a.b.c.d/n`: this exact address on `ethwe`.
    Ip(Ipv4Cidr),
    /// `net:a.b.c.d/n`: any address allocated in this subnet (host bits are zero).
    Net(Ipv4Cidr),
    /// `net:default`: any address allocated in the default subnet.
    NetDefault,
}

impl fmt::Display for CidrItem {
    /// As a user writes it in `WEAVE_CIDR`: `10.2.1.1/24`, `net:10.3.0.0/16`, `net:default`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CidrItem::Ip(c) => write!(f, "{c}"),
            CidrItem::Net(c) => write!(f, "net:{c}"),
            CidrItem::NetDefault => f.write_str("net:default"),
        }
    }
}

impl CidrItem {
    /// The item in Weave's canonical argv spelling (`ip:…`, `net:…`, `net:default`), as
    /// `weave attach` takes it.
    pub fn to_weave_arg(&self) -> String {
        match self {
            CidrItem::Ip(c) => format!("ip:{c}"),
            CidrItem::Net(c) => format!("net:{c}"),
            CidrItem::NetDefault => "net:default".to_string(),
        }
    }
}

/// What a `WEAVE_CIDR` value asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeaveCidr {
    /// Exactly `none`: the container is left alone (no rewrite, no attach).
    None,
    /// Attach with these items; an empty list means "one default allocation".
    Attach(Vec<CidrItem>),
}

impl WeaveCidr {
    /// The exact addresses the container must carry before it is ready (the `ip:`/bare
    /// items, in order); empty when only allocations were asked for ("any IPv4").
    pub fn expected_addrs(&self) -> Vec<Ipv4Cidr> {
        match self {
            WeaveCidr::None => Vec::new(),
            WeaveCidr::Attach(items) => items
                .iter()
                .filter_map(|i| match i {
                    CidrItem::Ip(c) => Some(*c),
                    _ => None,
                })
                .collect(),
        }
    }
}

/// A value that is not in the grammar. Displays as `invalid WEAVE_CIDR "<value>": <why>`,
/// the value quoted once and, above 64 bytes, cut (see [`quote`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CidrError {
    /// The whole value as given.
    pub value: String,
    /// Why it was refused, naming the offending item (when there are several) and what to
    /// write instead. Every piece of the value in it is quoted with [`quote`].
    pub why: String,
}

impl fmt::Display for CidrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {ENV_NAME} {}: {}", quote(&self.value), self.why)
    }
}

impl std::error::Error for CidrError {}

/// Parses a whole `WEAVE_CIDR` value.
///
/// Errors: any item outside the grammar, `none` combined with other items, items separated
/// by commas instead of whitespace, a prefix above 32, a `net:` subnet with host bits set,
/// an exact address that is the network or broadcast address of its own subnet (prefix ≤
/// 30), an exact address in 0.0.0.0/8, loopback 127.0.0.0/8, multicast 224.0.0.0/4 or
/// 255.255.255.255 (never a container's address, RFC 6890), or a `net:` subnet overlapping
/// one of those. The reason names the offending item when the value has several.
pub fn parse(value: &str) -> Result<WeaveCidr, CidrError> {
    let fail = |why: String| CidrError {
        value: value.to_string(),
        why,
    };
    let words: Vec<&str> = value.split_whitespace().collect();
    if words == ["none"] {
        return Ok(WeaveCidr::None);
    }
    // With one item, the value already names it: quoting it again would echo it twice.
    let name = |word: &str, why: String| match words.len() {
        1 => why,
        _ => format!("item {}: {why}", quote(word)),
    };
    let mut items = Vec::with_capacity(words.len());
    for &word in &words {
        if word == "none" {
            return Err(fail(
                "\"none\" must stand alone; remove it or the other items".to_string(),
            ));
        }
        items.push(parse_item(word).map_err(|why| fail(name(word, why)))?);
    }
    Ok(WeaveCidr::Attach(items))
}

fn parse_item(word: &str) -> Result<CidrItem, String> {
    if word.contains(',') {
        return Err(format!(
            "separate items with spaces, not commas: {}",
            quote(&comma_fix(word))
        ));
    }
    if let Some(rest) = word.strip_prefix("net:") {
        if rest == "default" {
            return Ok(CidrItem::NetDefault);
        }
        return parse_subnet_in(rest, FORMS, "net:").map(CidrItem::Net);
    }
    parse_exact_in(word, FORMS).map(CidrItem::Ip)
}

/// `a,b,,c` → `a b c`: what a comma-separated list means, spelt as the grammar wants it.
fn comma_fix(word: &str) -> String {
    word.split(',')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Parses one exact address as `wait-for-weave --addr` takes it: `a.b.c.d/n` or
/// `ip:a.b.c.d/n`, under the same rules as those items of [`parse`]. Allocations
/// (`net:…`) and `none` are refused: they name no address; so are comma-separated lists
/// (one address per `--addr`).
///
/// Errors: the reason alone, naming these two forms; the caller quotes the word.
pub fn parse_exact(word: &str) -> Result<Ipv4Cidr, String> {
    if word.starts_with("net:") || word == "none" {
        return Err("it names no address; expected a.b.c.d/n or ip:a.b.c.d/n".to_string());
    }
    if word.contains(',') {
        let each: Vec<String> = comma_fix(word)
            .split(' ')
            .map(|a| format!("--addr {a}"))
            .collect();
        return Err(format!(
            "one address per --addr; repeat the option: {}",
            quote(&each.join(" "))
        ));
    }
    parse_exact_in(word, "expected a.b.c.d/n or ip:a.b.c.d/n")
}

/// Parses one subnet as `net:` items name it, without the `net:`: `a.b.c.d/n` with the host
/// bits clear, not overlapping the ranges no container address can be in (see [`parse`]).
/// For a subnet given on its own, e.g. the one `net:default` allocates from.
///
/// Errors: the reason alone; the caller quotes the word.
pub fn parse_subnet(word: &str) -> Result<Ipv4Cidr, String> {
    parse_subnet_in(word, "expected a.b.c.d/n with the host bits clear", "")
}

/// `spell` is how the suggestions are written: `net:` for items, nothing for a bare subnet.
fn parse_subnet_in(word: &str, forms: &str, spell: &str) -> Result<Ipv4Cidr, String> {
    let c = parse_cidr(word, forms)?;
    if c.addr != c.network() {
        return Err(format!(
            "host bits are set; did you mean {spell}{}/{}?",
            c.network(),
            c.prefix
        ));
    }
    if let Some((range, what)) = reserved_overlap(c) {
        return Err(format!(
            "{c} overlaps {range} ({what}), where no container address can be; \
             give a subnet outside it, e.g. {spell}10.32.0.0/12"
        ));
    }
    Ok(c)
}

fn parse_exact_in(word: &str, forms: &str) -> Result<Ipv4Cidr, String> {
    let rest = word.strip_prefix("ip:").unwrap_or(word);
    let c = parse_cidr(rest, forms)?;
    let host = Ipv4Cidr {
        addr: c.addr,
        prefix: 32,
    };
    if let Some((range, what)) = reserved_overlap(host) {
        return Err(format!(
            "{} is in {range} ({what}), never a container's address; \
             give a unicast address, e.g. 10.32.0.5/12",
            c.addr
        ));
    }
    if c.prefix <= 30 && (c.addr == c.network() || c.addr == c.broadcast()) {
        return Err(format!(
            "{c} is the network or broadcast address of its subnet; \
             give a host address, or net:{}/{} to allocate in it",
            c.network(),
            c.prefix
        ));
    }
    Ok(c)
}

/// Ranges no interface of a container can be given as its own address (RFC 6890): "this
/// network", loopback (the kernel keeps 127/8 to `lo`), multicast, limited broadcast.
const RESERVED: [(Ipv4Addr, u8, &str); 4] = [
    (Ipv4Addr::new(0, 0, 0, 0), 8, "\"this network\""),
    (Ipv4Addr::new(127, 0, 0, 0), 8, "loopback"),
    (Ipv4Addr::new(224, 0, 0, 0), 4, "multicast"),
    (
        Ipv4Addr::new(255, 255, 255, 255),
        32,
        "the limited broadcast address",
    ),
];

/// The first reserved range `c` (as a subnet) shares an address with, and its name.
fn reserved_overlap(c: Ipv4Cidr) -> Option<(Ipv4Cidr, &'static str)> {
    RESERVED.iter().find_map(|&(addr, prefix, what)| {
        let range = Ipv4Cidr { addr, prefix };
        range.overlaps(&c).then_some((range, what))
    })
}

/// The forms of a `WEAVE_CIDR` item, for refusals.
const FORMS: &str = "expected a.b.c.d/n, ip:a.b.c.d/n, net:a.b.c.d/n, net:default or none";

/// `a.b.c.d/n`; a refusal ends with `forms` (what the caller accepts).
fn parse_cidr(s: &str, forms: &str) -> Result<Ipv4Cidr, String> {
    let (addr, prefix) = s
        .split_once('/')
        .ok_or_else(|| format!("missing /prefix; {forms}"))?;
    let addr: Ipv4Addr = addr
        .parse()
        .map_err(|_| format!("{} is not an IPv4 address; {forms}", quote(addr)))?;
    let prefix: u8 = match prefix.parse() {
        Ok(p) if p <= 32 && !prefix.starts_with('+') => p,
        _ => {
            return Err(format!(
                "prefix {} is not a number from 0 to 32",
                quote(prefix)
            ))
        }
    };
    Ok(Ipv4Cidr { addr, prefix })
}

/// Finds the `WEAVE_CIDR` value in a container `Env` list (`NAME=value` strings).
///
/// The first entry of the form `WEAVE_CIDR=...` wins, as in Docker; a bare `WEAVE_CIDR`
/// without `=` is not an entry. Returns `None` when there is no such entry.
pub fn find_in_env<'a, I>(env: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    env.into_iter()
        .find_map(|e| e.strip_prefix(ENV_NAME)?.strip_prefix('='))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(s: &str) -> Ipv4Cidr {
        parse_cidr(s, FORMS).unwrap()
    }

    #[test]
    fn none_alone_means_leave_alone() {
        assert_eq!(parse("none"), Ok(WeaveCidr::None));
        assert_eq!(parse("  none\t"), Ok(WeaveCidr::None));
    }

    #[test]
    fn empty_means_default_allocation() {
        assert_eq!(parse(""), Ok(WeaveCidr::Attach(vec![])));
        assert_eq!(parse(" \t\n"), Ok(WeaveCidr::Attach(vec![])));
    }

    #[test]
    fn every_item_form() {
        let got = parse("10.2.1.1/24 ip:10.2.1.2/24 net:10.3.0.0/16 net:default").unwrap();
        assert_eq!(
            got,
            WeaveCidr::Attach(vec![
                CidrItem::Ip(cidr("10.2.1.1/24")),
                CidrItem::Ip(cidr("10.2.1.2/24")),
                CidrItem::Net(cidr("10.3.0.0/16")),
                CidrItem::NetDefault,
            ])
        );
        assert_eq!(
            got.expected_addrs(),
            vec![cidr("10.2.1.1/24"), cidr("10.2.1.2/24")]
        );
    }

    #[test]
    fn ranges_next_to_the_reserved_ones_are_fine() {
        for v in [
            "1.0.0.1/8",
            "126.255.255.254/8",
            "128.0.0.1/8",
            "223.255.255.254/8",
            "net:128.0.0.0/2",
            "net:1.0.0.0/8",
            "net:64.0.0.0/3",
            "10.0.0.1/1",
        ] {
            assert!(parse(v).is_ok(), "{v}: {:?}", parse(v));
        }
    }

    #[test]
    fn host_routes_and_point_to_point_are_addresses() {
        assert!(parse("10.0.0.0/32").is_ok());
        assert!(parse("10.0.0.0/31").is_ok());
        assert!(parse("10.0.0.1/31").is_ok());
    }

    #[test]
    fn weave_args_are_canonical() {
        let WeaveCidr::Attach(items) = parse("10.2.1.1/24 net:default net:10.0.0.0/8").unwrap()
        else {
            panic!("expected Attach");
        };
        let args: Vec<String> = items.iter().map(CidrItem::to_weave_arg).collect();
        assert_eq!(args, ["ip:10.2.1.1/24", "net:default", "net:10.0.0.0/8"]);
    }

    #[test]
    fn refusals_name_the_value_and_the_item() {
        for (value, needle) in [
            ("10.2.1.1", "missing /prefix"),
            ("10.2.1.1/33", "prefix \"33\""),
            ("10.2.1.1/+8", "prefix \"+8\""),
            ("10.2.1/24", "not an IPv4 address"),
            ("ip:", "missing /prefix"),
            ("net:", "missing /prefix"),
            ("net:10.2.1.1/24", "did you mean net:10.2.1.0/24"),
            ("10.2.1.0/24", "network or broadcast"),
            ("10.2.1.255/24", "network or broadcast"),
            ("127.0.0.5/8", "is in 127.0.0.0/8 (loopback)"),
            ("ip:127.0.0.1/32", "loopback"),
            ("0.0.0.1/8", "is in 0.0.0.0/8 (\"this network\")"),
            ("224.0.0.5/4", "is in 224.0.0.0/4 (multicast)"),
            ("239.255.255.1/24", "multicast"),
            ("255.255.255.255/32", "limited broadcast"),
            ("net:127.0.0.0/8", "overlaps 127.0.0.0/8 (loopback)"),
            ("net:127.1.0.0/16", "overlaps 127.0.0.0/8 (loopback)"),
            ("net:96.0.0.0/3", "overlaps 127.0.0.0/8 (loopback)"),
            ("net:0.0.0.0/0", "overlaps 0.0.0.0/8"),
            ("net:224.0.0.0/8", "multicast"),
            ("net:128.0.0.0/1", "overlaps 224.0.0.0/4 (multicast)"),
            ("net:255.255.255.0/24", "limited broadcast"),
            ("none 10.2.1.1/24", "\"none\" must stand alone"),
            (
                "10.77.0.86/24,10.77.0.87/24",
                "separate items with spaces, not commas: \"10.77.0.86/24 10.77.0.87/24\"",
            ),
            ("10.2.1.1/24,", "not commas: \"10.2.1.1/24\""),
            (",net:default,,10.2.1.1/24", "\"net:default 10.2.1.1/24\""),
            ("foo:1.2.3.4/8", "not an IPv4 address"),
            ("NONE", "missing /prefix"),
            ("$(reboot)", "missing /prefix"),
        ] {
            let err = parse(value).unwrap_err();
            let text = err.to_string();
            assert!(
                text.starts_with(&format!("invalid WEAVE_CIDR {value:?}: ")),
                "{text}"
            );
            assert!(text.contains(needle), "{value}: {text}");
            // One item: the value names it, once.
            if value.split_whitespace().count() == 1 {
                assert_eq!(text.matches(&format!("{value:?}")).count(), 1, "{text}");
            }
        }
    }

    #[test]
    fn the_offending_item_is_named_among_several() {
        let text = parse("10.2.1.1/24 net:10.3.0.1/16 10.2.1.2/24")
            .unwrap_err()
            .to_string();
        assert_eq!(
            text,
            "invalid WEAVE_CIDR \"10.2.1.1/24 net:10.3.0.1/16 10.2.1.2/24\": item \
             \"net:10.3.0.1/16\": host bits are set; did you mean net:10.3.0.0/16?"
        );
        let text = parse("10.2.1.1/24 10.2.1.2").unwrap_err().to_string();
        assert!(
            text.ends_with(
                ": item \"10.2.1.2\": missing /prefix; expected a.b.c.d/n, \
                 ip:a.b.c.d/n, net:a.b.c.d/n, net:default or none"
            ),
            "{text}"
        );
    }

    #[test]
    fn huge_values_are_quoted_once_and_cut() {
        for junk in [
            "x".repeat(100 * 1024),
            format!("{}/24", "x".repeat(100 * 1024)),
            format!("10.0.0.1/{}", "9".repeat(100 * 1024)),
            format!("net:{}/8", "1".repeat(100 * 1024)),
            format!("{},", "x".repeat(100 * 1024)),
            format!("10.0.0.1/8 {}/8", "x".repeat(100 * 1024)),
        ] {
            let text = parse(&junk).unwrap_err().to_string();
            assert!(text.len() < 600, "{} bytes: {text}", text.len());
            assert!(
                text.starts_with("invalid WEAVE_CIDR \"")
                    && text.contains(&format!("... ({} bytes)", junk.len())),
                "{text}"
            );
        }
    }

    #[test]
    fn exact_addresses_alone() {
        assert_eq!(parse_exact("10.2.1.1/24"), Ok(cidr("10.2.1.1/24")));
        assert_eq!(parse_exact("ip:10.2.1.1/24"), Ok(cidr("10.2.1.1/24")));
        for (word, needle) in [
            (
                "10.2.1.1",
                "missing /prefix; expected a.b.c.d/n or ip:a.b.c.d/n",
            ),
            (
                "10.77.0.86/24,10.77.0.87/24",
                "one address per --addr; repeat the option: \
                 \"--addr 10.77.0.86/24 --addr 10.77.0.87/24\"",
            ),
            ("net:10.0.0.0/8", "names no address"),
            ("net:default", "names no address"),
            ("none", "names no address"),
            ("10.2.1.0/24", "network or broadcast"),
        ] {
            let why = parse_exact(word).unwrap_err();
            assert!(why.contains(needle), "{word}: {why}");
            assert!(!why.contains("net:a.b.c.d/n"), "{word}: {why}");
        }
    }

    #[test]
    fn first_env_entry_wins_and_bare_name_is_not_an_entry() {
        let env = [
            "A=1",
            "WEAVE_CIDR",
            "WEAVE_CIDRX=1",
            "WEAVE_CIDR=x",
            "WEAVE_CIDR=y",
        ];
        assert_eq!(find_in_env(env), Some("x"));
        assert_eq!(find_in_env(["WEAVE_CIDR"]), None);
        assert_eq!(find_in_env(["WEAVE_CIDR="]), Some(""));
        assert_eq!(find_in_env(Vec::<&str>::new()), None);
    }

    #[test]
    fn subnets_alone() {
        assert_eq!(parse_subnet("10.255.0.0/16"), Ok(cidr("10.255.0.0/16")));
        for (word, needle) in [
            (
                "10.255.0.1/16",
                "host bits are set; did you mean 10.255.0.0/16?",
            ),
            ("net:10.255.0.0/16", "not an IPv4 address"),
            (
                "10.255.0.0",
                "missing /prefix; expected a.b.c.d/n with the host bits clear",
            ),
            ("127.0.0.0/8", "overlaps 127.0.0.0/8 (loopback)"),
            ("0.0.0.0/0", "e.g. 10.32.0.0/12"),
        ] {
            let why = parse_subnet(word).unwrap_err();
            assert!(why.contains(needle), "{word}: {why}");
        }
    }

    #[test]
    fn items_display_as_written() {
        let WeaveCidr::Attach(items) = parse("ip:10.2.1.1/24 net:10.3.0.0/16 net:default").unwrap()
        else {
            panic!("expected Attach");
        };
        let shown: Vec<String> = items.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["10.2.1.1/24", "net:10.3.0.0/16", "net:default"]);
    }

    #[test]
    fn subnet_arithmetic() {
        let c = cidr("10.2.1.77/24");
        assert_eq!(c.network(), Ipv4Addr::new(10, 2, 1, 0));
        assert_eq!(c.broadcast(), Ipv4Addr::new(10, 2, 1, 255));
        assert_eq!(cidr("1.2.3.4/0").mask(), 0);
        assert_eq!(cidr("1.2.3.4/32").mask(), u32::MAX);
    }

    #[test]
    fn containment() {
        let net = cidr("10.255.0.0/16");
        assert!(net.contains(Ipv4Addr::new(10, 255, 0, 0)));
        assert!(net.contains(Ipv4Addr::new(10, 255, 255, 255)));
        assert!(!net.contains(Ipv4Addr::new(10, 254, 255, 255)));
        assert!(!net.contains(Ipv4Addr::new(10, 0, 0, 1)));
        assert!(cidr("0.0.0.0/0").contains(Ipv4Addr::new(192, 0, 2, 1)));
        assert!(cidr("10.0.0.1/32").contains(Ipv4Addr::new(10, 0, 0, 1)));
        assert!(!cidr("10.0.0.1/32").contains(Ipv4Addr::new(10, 0, 0, 2)));

        assert!(net.covers(&net));
        assert!(net.covers(&cidr("10.255.7.0/24")));
        assert!(net.covers(&cidr("10.255.7.9/32")));
        assert!(!net.covers(&cidr("10.0.0.0/8")), "a wider subnet around it");
        assert!(!net.covers(&cidr("10.254.0.0/16")));
        assert!(net.overlaps(&cidr("10.0.0.0/8")));
        assert!(cidr("10.0.0.0/8").overlaps(&net));
        assert!(!net.overlaps(&cidr("10.254.0.0/16")));
    }
}
