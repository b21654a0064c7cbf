//! Where an item lands in a network that allocates addresses from subnets of its own, as a
//! Docker network's IPAM does (`IPAM.Config[].Subnet`).
//!
//! The interface such a network gives a container carries the network's prefix length,
//! not the one asked for: `docker network connect --ip 10.255.0.61 wnet c` on a
//! 10.255.0.0/16 network gives `10.255.0.61/16`. So an exact item fits only inside one of
//! the subnets and with that subnet's prefix (a waiter expecting `10.255.0.61/24` would
//! wait forever), and a `net:` item fits only inside one of them (allocations come from
//! the network's subnets and nowhere else). `net:default` fits any network with an IPv4
//! subnet.

use std::fmt;

use crate::{CidrItem, Ipv4Cidr};

/// Why an item cannot be had from a network's subnets. Displays naming the item, the
/// subnets and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Misplaced {
    /// The network has no IPv4 subnet to allocate from.
    NoSubnet {
        /// The item.
        item: CidrItem,
    },
    /// The exact address, or the whole `net:` subnet, lies in none of `subnets`.
    Outside {
        /// The item.
        item: CidrItem,
        /// The network's IPv4 subnets, in the order given.
        subnets: Vec<Ipv4Cidr>,
    },
    /// The exact address lies in `subnet`, but with another prefix length than the one the
    /// interface will carry (`subnet.prefix`).
    PrefixDiffers {
        /// The exact address and the prefix asked for.
        item: Ipv4Cidr,
        /// The network's subnet holding the address.
        subnet: Ipv4Cidr,
    },
}

impl fmt::Display for Misplaced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Misplaced::NoSubnet { item } => write!(
                f,
                "item \"{item}\" needs an IPv4 subnet, and the network has none; \
                 use a network created with an IPv4 --subnet"
            ),
            Misplaced::Outside { item, subnets } => {
                let list: Vec<String> = subnets.iter().map(ToString::to_string).collect();
                let fix = match item {
                    CidrItem::Net(_) => "give a subnet of one of them, e.g.",
                    _ => "give an address inside one of them, with its prefix, or allocate one:",
                };
                write!(
                    f,
                    "item \"{item}\" lies outside the network's subnets ({}); {fix} net:{}",
                    list.join(", "),
                    subnets[0]
                )
            }
            Misplaced::PrefixDiffers { item, subnet } => write!(
                f,
                "item \"{item}\" asks for prefix /{}, but the network's subnet is {subnet} \
                 and the interface will carry /{}; write {}/{}",
                item.prefix, subnet.prefix, item.addr, subnet.prefix
            ),
        }
    }
}

impl std::error::Error for Misplaced {}

impl CidrItem {
    /// The subnet of `subnets` (a network's IPv4 subnets, in order) this item is had from:
    /// the one holding an exact address with the same prefix length, the one covering a
    /// `net:` subnet, or the first one for `net:default`. The first match wins when the
    /// subnets overlap.
    ///
    /// Errors: [`Misplaced`], saying why and what to write instead.
    pub fn place_in(&self, subnets: &[Ipv4Cidr]) -> Result<Ipv4Cidr, Misplaced> {
        let Some(first) = subnets.first() else {
            return Err(Misplaced::NoSubnet { item: *self });
        };
        let outside = || Misplaced::Outside {
            item: *self,
            subnets: subnets.to_vec(),
        };
        match self {
            CidrItem::NetDefault => Ok(*first),
            CidrItem::Net(net) => subnets
                .iter()
                .find(|s| s.covers(net))
                .copied()
                .ok_or_else(outside),
            CidrItem::Ip(ip) => {
                let holding: Vec<&Ipv4Cidr> =
                    subnets.iter().filter(|s| s.contains(ip.addr)).collect();
                match holding.iter().find(|s| s.prefix == ip.prefix) {
                    Some(s) => Ok(**s),
                    None => match holding.first() {
                        Some(s) => Err(Misplaced::PrefixDiffers {
                            item: *ip,
                            subnet: **s,
                        }),
                        None => Err(outside()),
                    },
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse, WeaveCidr};

    fn item(s: &str) -> CidrItem {
        match parse(s) {
            Ok(WeaveCidr::Attach(items)) if items.len() == 1 => items[0],
            other => panic!("{s}: {other:?}"),
        }
    }

    fn subnets(list: &[&str]) -> Vec<Ipv4Cidr> {
        list.iter()
            .map(|s| crate::parse_subnet(s).unwrap())
            .collect()
    }

    #[test]
    fn exact_addresses_fit_inside_with_the_network_prefix() {
        let net = subnets(&["10.255.0.0/16"]);
        assert_eq!(item("10.255.0.61/16").place_in(&net), Ok(net[0]));
        assert_eq!(item("ip:10.255.200.1/16").place_in(&net), Ok(net[0]));
        assert_eq!(
            item("10.255.0.61/24").place_in(&net),
            Err(Misplaced::PrefixDiffers {
                item: crate::parse_exact("10.255.0.61/24").unwrap(),
                subnet: net[0]
            })
        );
        assert_eq!(
            item("10.254.0.61/16").place_in(&net),
            Err(Misplaced::Outside {
                item: item("10.254.0.61/16"),
                subnets: net.clone()
            })
        );
    }

    #[test]
    fn subnets_fit_inside_or_equal_never_around() {
        let net = subnets(&["10.255.0.0/16"]);
        assert_eq!(item("net:10.255.0.0/16").place_in(&net), Ok(net[0]));
        assert_eq!(item("net:10.255.8.0/24").place_in(&net), Ok(net[0]));
        assert_eq!(item("net:10.255.0.4/30").place_in(&net), Ok(net[0]));
        for outside in ["net:10.0.0.0/8", "net:10.254.0.0/16", "net:192.168.0.0/24"] {
            assert!(
                matches!(item(outside).place_in(&net), Err(Misplaced::Outside { .. })),
                "{outside}"
            );
        }
    }

    #[test]
    fn default_takes_the_first_subnet() {
        let net = subnets(&["10.1.0.0/16", "10.2.0.0/16"]);
        assert_eq!(item("net:default").place_in(&net), Ok(net[0]));
    }

    #[test]
    fn several_subnets_the_holding_one_wins() {
        let net = subnets(&["10.1.0.0/16", "10.2.0.0/24"]);
        assert_eq!(item("10.2.0.9/24").place_in(&net), Ok(net[1]));
        assert_eq!(item("net:10.2.0.128/25").place_in(&net), Ok(net[1]));
        // Overlapping subnets: the one with the same prefix, else the first holding it.
        let nested = subnets(&["10.0.0.0/8", "10.2.0.0/16"]);
        assert_eq!(item("10.2.0.9/16").place_in(&nested), Ok(nested[1]));
        assert_eq!(
            item("10.2.0.9/24").place_in(&nested),
            Err(Misplaced::PrefixDiffers {
                item: crate::parse_exact("10.2.0.9/24").unwrap(),
                subnet: nested[0]
            })
        );
    }

    #[test]
    fn a_network_without_ipv4_subnets_fits_nothing() {
        for s in ["10.2.0.9/24", "net:10.2.0.0/16", "net:default"] {
            assert_eq!(
                item(s).place_in(&[]),
                Err(Misplaced::NoSubnet { item: item(s) })
            );
        }
    }

    #[test]
    fn refusals_name_the_item_the_subnets_and_the_fix() {
        let net = subnets(&["10.255.0.0/16", "10.9.0.0/24"]);
        let text = |s: &str| item(s).place_in(&net).unwrap_err().to_string();
        assert_eq!(
            text("10.255.0.61/24"),
            "item \"10.255.0.61/24\" asks for prefix /24, but the network's subnet is \
             10.255.0.0/16 and the interface will carry /16; write 10.255.0.61/16"
        );
        assert_eq!(
            text("10.8.0.1/24"),
            "item \"10.8.0.1/24\" lies outside the network's subnets (10.255.0.0/16, \
             10.9.0.0/24); give an address inside one of them, with its prefix, or allocate \
             one: net:10.255.0.0/16"
        );
        assert_eq!(
            text("net:10.0.0.0/8"),
            "item \"net:10.0.0.0/8\" lies outside the network's subnets (10.255.0.0/16, \
             10.9.0.0/24); give a subnet of one of them, e.g. net:10.255.0.0/16"
        );
        let none = item("net:default").place_in(&[]).unwrap_err().to_string();
        assert!(
            none.contains("\"net:default\"") && none.contains("--subnet"),
            "{none}"
        );
    }
}
