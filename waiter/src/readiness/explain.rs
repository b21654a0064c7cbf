//! Why the table is not ready, in one line for the timeout message: the awaited link's
//! state, each expectation nothing meets, and what the links carry instead.

use super::{Expect, Iface, Readiness};
use crate::readiness::{IfAddr, Link, IFA_F_DADFAILED, IFA_F_TENTATIVE};

/// Links listed at most in a message; a namespace may hold thousands.
const MAX_LINKS: usize = 8;

impl Expect {
    /// How the expectation reads when nothing meets it.
    fn missing(&self) -> String {
        match self {
            Expect::Addr(a) => format!("{a} missing"),
            Expect::Ipv4In(subnets) => {
                let list: Vec<String> = subnets.iter().map(ToString::to_string).collect();
                format!("no IPv4 address inside {}", list.join(" or "))
            }
            Expect::AnyIpv4 => "no IPv4 address".to_string(),
        }
    }
}

impl Readiness {
    /// Why the table is not ready, one line, empty when it is. With a named link:
    /// `no link named ethwe`, or `link ethwe is down`, then each unmet expectation with
    /// what the link carries, e.g. `link ethwe is down; 10.255.0.51/24 missing (ethwe
    /// carries 10.255.0.51/16)`; an expected address found on another link is named with
    /// it. With any link: each unmet expectation (or the down or loopback link that holds
    /// it), then every link but loopback with its state and addresses.
    pub fn explain(&self) -> String {
        if !self.synced {
            return "the kernel never finished listing the links and addresses".to_string();
        }
        if self.is_ready() {
            return String::new();
        }
        match &self.iface {
            Iface::Named(name) => self.explain_named(name),
            Iface::Any => self.explain_any(),
        }
    }

    fn explain_named(&self, name: &str) -> String {
        let found = self.links.iter().find(|(_, l)| l.name == name.as_bytes());
        let mut parts = Vec::new();
        let unmet: Vec<&Expect> = match found {
            None => {
                parts.push(format!("no link named {name}"));
                self.expected.iter().collect()
            }
            Some((&index, link)) => {
                if !link.is_up() {
                    parts.push(format!("link {name} is down"));
                }
                let unmet: Vec<&Expect> = (self.expected.iter())
                    .filter(|e| !self.met_on(e, index))
                    .collect();
                if !unmet.is_empty() {
                    let missing: Vec<String> = unmet.iter().map(|e| e.missing()).collect();
                    parts.push(format!(
                        "{} ({name} carries {})",
                        missing.join(", "),
                        self.carried(index)
                    ));
                }
                unmet
            }
        };
        let here = found.map(|(&index, _)| index);
        // Any IPv4 address is on some link in most namespaces: naming one would not help,
        // and --iface any refuses that expectation.
        let elsewhere: Vec<String> = unmet
            .iter()
            .filter(|e| **e != &Expect::AnyIpv4)
            .filter_map(|e| {
                let (link, a) =
                    self.witness(e, |index, l| Some(index) != here && !l.is_loopback())?;
                Some(format!("{a} is on {}", link.name()))
            })
            .collect();
        if !elsewhere.is_empty() {
            parts.push(format!(
                "{} (--iface any accepts any link)",
                elsewhere.join(", ")
            ));
        }
        parts.join("; ")
    }

    fn explain_any(&self) -> String {
        let mut parts: Vec<String> = self
            .expected
            .iter()
            .filter(|e| {
                !(self.links.iter())
                    .any(|(&i, l)| l.is_up() && !l.is_loopback() && self.met_on(e, i))
            })
            .map(|e| {
                // Not met on an up link: a link holding it is down, or loopback.
                if let Some((link, a)) = self.witness(e, |_, l| !l.is_loopback()) {
                    format!("{} carries {a} but is down", link.name())
                } else if let Some((link, a)) = self.witness(e, |_, l| l.is_loopback()) {
                    format!("{a} is on {}, and loopback never counts", link.name())
                } else {
                    e.missing()
                }
            })
            .collect();
        let links: Vec<String> = (self.links.iter())
            .filter(|(_, l)| !l.is_loopback())
            .map(|(&index, l)| {
                let state = if l.is_up() { "up" } else { "down" };
                format!("{} ({state}; {})", l.name(), self.carried(index))
            })
            .collect();
        parts.push(match links.len() {
            0 => "no link but loopback".to_string(),
            n if n > MAX_LINKS => format!(
                "links: {} and {} more",
                links[..MAX_LINKS].join(", "),
                n - MAX_LINKS
            ),
            _ => format!("links: {}", links.join(", ")),
        });
        parts.join("; ")
    }

    /// The first link accepted by `which` with a usable address meeting `e`.
    fn witness(&self, e: &Expect, which: impl Fn(u32, &Link) -> bool) -> Option<(&Link, IfAddr)> {
        self.links
            .iter()
            .filter(|(&index, link)| which(index, link))
            .find_map(|(&index, link)| Some((link, self.usable(index).find(|a| e.met_by(a))?)))
    }

    /// The addresses of link `index` (link-local IPv6 left out: every link has one), each
    /// marked when it cannot be used yet: `10.0.0.1/8, fd00::1/64 tentative`.
    fn carried(&self, index: u32) -> String {
        let list: Vec<String> = (self.addrs.get(&index).into_iter().flatten())
            .filter(|(a, _)| !a.is_ipv6_link_local())
            .map(|(a, &flags)| {
                if flags & IFA_F_DADFAILED != 0 {
                    format!("{a} DAD-failed")
                } else if flags & IFA_F_TENTATIVE != 0 {
                    format!("{a} tentative")
                } else {
                    a.to_string()
                }
            })
            .collect();
        if list.is_empty() {
            "no address".to_string()
        } else {
            list.join(", ")
        }
    }
}
