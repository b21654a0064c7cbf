//! What an attach backend that cannot allocate addresses accepts (docs/design.md §4, §5):
//! only exact addresses. The create decision refuses the other forms where the front-end
//! can answer with an error, and such a backend refuses them at attach, so a container
//! asking for an allocation never waits for an attach that cannot come.

use weave_cidr::{CidrItem, Ipv4Cidr};

/// A `WEAVE_CIDR` that needs an address allocation (empty, `net:…`, `net:default`) given
/// to a backend that only assigns exact addresses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "WEAVE_CIDR {value:?} asks for an address allocation, which the {backend} backend does \
     not do: the {backend} backend needs exact addresses a.b.c.d/n (or ip:a.b.c.d/n); for \
     allocation use --attach network:NAME (a Docker network) or --attach weave"
)]
pub struct AllocationNeeded {
    /// The `WEAVE_CIDR` value as written.
    pub value: String,
    /// The backend's `--attach` name, e.g. `bridge`.
    pub backend: &'static str,
}

/// The exact addresses of `items`, or `None` when one of them needs an allocation or there
/// are none (an empty `WEAVE_CIDR` asks for one default allocation).
pub fn exact_addresses(items: &[CidrItem]) -> Option<Vec<Ipv4Cidr>> {
    if items.is_empty() {
        return None;
    }
    items
        .iter()
        .map(|i| match i {
            CidrItem::Ip(c) => Some(*c),
            CidrItem::Net(_) | CidrItem::NetDefault => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use weave_cidr::{parse, WeaveCidr};

    fn items(s: &str) -> Vec<CidrItem> {
        match parse(s).unwrap() {
            WeaveCidr::Attach(i) => i,
            WeaveCidr::None => panic!(),
        }
    }

    #[test]
    fn exact_addresses_only() {
        let got = exact_addresses(&items("10.2.1.1/24 ip:10.2.1.2/16")).unwrap();
        let want: Vec<String> = got.iter().map(ToString::to_string).collect();
        assert_eq!(want, ["10.2.1.1/24", "10.2.1.2/16"]);
        assert_eq!(exact_addresses(&items("")), None);
        assert_eq!(exact_addresses(&items("10.2.1.1/24 net:default")), None);
        assert_eq!(exact_addresses(&items("net:10.9.0.0/16")), None);
    }

    #[test]
    fn allocations_are_refused_with_the_value_and_the_fix() {
        for value in ["", "net:default", "10.2.0.1/24 net:default"] {
            let message = AllocationNeeded {
                value: value.to_string(),
                backend: "bridge",
            }
            .to_string();
            assert!(message.contains(&format!("{value:?}")), "{message}");
            assert!(message.contains("a.b.c.d/n"), "{message}");
            assert!(message.contains("--attach weave"), "{message}");
            assert!(message.contains("--attach network:NAME"), "{message}");
            assert!(message.contains("does not do"), "{message}");
        }
    }
}
