//! The link-layer identity of an `ethwe` the bridge backend makes (docs/design.md §5): a
//! MAC derived from the container's IPv4 address, and the gratuitous ARP that announces
//! the address once the link is up. Pure: no I/O.
//!
//! Why both: each attach makes a new veth. With a random MAC, peers keep the old MAC in
//! their ARP cache until the entry goes stale (15 to 45 s, then probes), so a restarted
//! container that only answers stays unreachable that long. A MAC derived from the address
//! (as Docker derives `02:42:` + the IPv4 address) is the same for every attach of that
//! address, so cached entries stay right; the announcement corrects peers that cached
//! another MAC for the address (an address moved between containers, an `ethwe` made by
//! another tool or an older version), and the bridges and switches on the way.

use std::net::Ipv4Addr;

/// The first two bytes of every MAC we derive, followed by the four bytes of the IPv4
/// address. `0x02`: a locally administered unicast address (U/L bit set, I/G bit clear), in
/// the quadrant IEEE 802c sets aside for addresses an administrator assigns (the one
/// Docker's `02:42:` and QEMU's `52:54:00:` use); `0x57` (`W`, for Weave) differs from
/// Docker's `0x42` and from the `0a:58:` of the CNI plugins, so a container that also has
/// the same IPv4 address on one of those networks never shows one MAC on two links.
pub const MAC_PREFIX: [u8; 2] = [0x02, 0x57];

/// The MAC of the `ethwe` whose first address is `addr`: [`MAC_PREFIX`] then the address's
/// four bytes, e.g. `02:57:0a:ff:00:33` for 10.255.0.51.
pub fn mac_of(addr: Ipv4Addr) -> [u8; 6] {
    let [a, b, c, d] = addr.octets();
    [MAC_PREFIX[0], MAC_PREFIX[1], a, b, c, d]
}

/// Bytes in a gratuitous ARP frame: the Ethernet header (14) and an ARP packet for IPv4
/// over Ethernet (28). The driver pads short frames where the medium needs it.
pub const FRAME_LEN: usize = 42;

/// EtherType of ARP.
pub const ETH_P_ARP: u16 = 0x0806;

/// A gratuitous ARP request announcing that `addr` is at `mac` (RFC 5227 §3 "ARP
/// Announcement", the form Linux's `arp_notify` sends): Ethernet broadcast from `mac`; ARP
/// hardware type 1 (Ethernet), protocol 0x0800, operation 1 (request), sender `mac`/`addr`,
/// target hardware address zero and target protocol address `addr`. A Linux peer that
/// caches `addr` takes the new MAC from it at once (a request whose sender and target
/// addresses are equal is gratuitous and overrides the entry).
pub fn gratuitous_arp(mac: [u8; 6], addr: Ipv4Addr) -> [u8; FRAME_LEN] {
    let mut frame = [0u8; FRAME_LEN];
    frame[0..6].copy_from_slice(&[0xff; 6]);
    frame[6..12].copy_from_slice(&mac);
    frame[12..14].copy_from_slice(&ETH_P_ARP.to_be_bytes());
    frame[14..16].copy_from_slice(&1u16.to_be_bytes());
    frame[16..18].copy_from_slice(&0x0800u16.to_be_bytes());
    frame[18] = 6;
    frame[19] = 4;
    frame[20..22].copy_from_slice(&1u16.to_be_bytes());
    frame[22..28].copy_from_slice(&mac);
    frame[28..32].copy_from_slice(&addr.octets());
    // 32..38: target hardware address, zero.
    frame[38..42].copy_from_slice(&addr.octets());
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mac_follows_the_address_and_is_local_unicast() {
        let mac = mac_of(Ipv4Addr::new(10, 255, 0, 51));
        assert_eq!(mac, [0x02, 0x57, 10, 255, 0, 51]);
        assert_eq!(mac[0] & 0x02, 0x02, "locally administered");
        assert_eq!(mac[0] & 0x01, 0, "unicast");
        assert_eq!(mac, mac_of(Ipv4Addr::new(10, 255, 0, 51)));
        assert_ne!(mac, mac_of(Ipv4Addr::new(10, 255, 0, 52)));
        // Never Docker's nor the CNI plugins' MAC for the same address.
        assert_ne!(mac[..2], [0x02, 0x42]);
        assert_ne!(mac[..2], [0x0a, 0x58]);
    }

    #[test]
    fn a_gratuitous_arp_is_a_broadcast_request_for_its_own_address() {
        let mac = [0x02, 0x57, 10, 0, 0, 7];
        let f = gratuitous_arp(mac, Ipv4Addr::new(10, 0, 0, 7));
        let want: [u8; FRAME_LEN] = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // destination: broadcast
            0x02, 0x57, 10, 0, 0, 7, // source
            0x08, 0x06, // ARP
            0x00, 0x01, 0x08, 0x00, 6, 4, // Ethernet, IPv4, lengths
            0x00, 0x01, // request
            0x02, 0x57, 10, 0, 0, 7, 10, 0, 0, 7, // sender MAC and address
            0, 0, 0, 0, 0, 0, 10, 0, 0, 7, // target: no MAC, the same address
        ];
        assert_eq!(f, want);
    }
}
