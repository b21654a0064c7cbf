//! Which machine an ELF file is built for, read from its header (System V gABI: `e_ident`,
//! then `e_machine` at byte 18 in the file's byte order), so that a program built for one
//! architecture never lands silently in another platform's image. Pure, no I/O.

use crate::spec::Platform;

/// `e_machine` values we name (Linux `include/uapi/linux/elf-em.h`).
const MACHINES: [(u16, &str); 9] = [
    (3, "i386"),
    (8, "MIPS"),
    (20, "PowerPC"),
    (21, "PowerPC 64"),
    (22, "s390"),
    (40, "32-bit ARM"),
    (62, "x86-64"),
    (183, "arm64 (AArch64)"),
    (243, "RISC-V"),
];

/// `e_machine` of an ELF file, or `None` when `bytes` is not one (too short, no `\x7fELF`
/// magic, or an unknown byte order).
pub fn machine(bytes: &[u8]) -> Option<u16> {
    if bytes.len() < 20 || &bytes[..4] != b"\x7fELF" {
        return None;
    }
    let field = [bytes[18], bytes[19]];
    match bytes[5] {
        1 => Some(u16::from_le_bytes(field)),
        2 => Some(u16::from_be_bytes(field)),
        _ => None,
    }
}

/// A machine's name for messages: `x86-64`, `arm64 (AArch64)`, else `ELF machine <n>`.
pub fn machine_name(machine: u16) -> String {
    MACHINES
        .iter()
        .find(|(m, _)| *m == machine)
        .map_or_else(|| format!("ELF machine {machine}"), |(_, n)| n.to_string())
}

/// The `e_machine` a platform's programs have: 62 (x86-64) for amd64, 183 (AArch64) for
/// arm64.
fn expected(platform: &Platform) -> u16 {
    match platform.architecture.as_str() {
        "arm64" => 183,
        _ => 62,
    }
}

/// Checks that `bytes`, if an ELF file, is built for `platform`'s machine.
///
/// Errors: the name of the machine it is built for (see [`machine_name`]).
pub fn check(platform: &Platform, bytes: &[u8]) -> Result<(), String> {
    match machine(bytes) {
        Some(m) if m != expected(platform) => Err(machine_name(m)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first 20 bytes of an ELF header: magic, class, byte order, then `e_machine`.
    fn header(order: u8, machine: u16) -> Vec<u8> {
        let mut h = b"\x7fELF\x02".to_vec();
        h.push(order);
        h.resize(18, 0);
        h.extend(match order {
            2 => machine.to_be_bytes(),
            _ => machine.to_le_bytes(),
        });
        h
    }

    #[test]
    fn reads_the_machine_in_either_byte_order_and_nothing_from_other_files() {
        assert_eq!(machine(&header(1, 62)), Some(62));
        assert_eq!(machine(&header(2, 22)), Some(22));
        assert_eq!(machine(&header(3, 62)), None);
        assert_eq!(machine(b"#!/bin/sh\necho hello from a script\n"), None);
        assert_eq!(machine(&header(1, 62)[..19]), None);
        assert_eq!(machine(b""), None);
    }

    #[test]
    fn a_program_for_another_machine_is_named() {
        let amd64 = Platform::parse("linux/amd64").unwrap();
        let arm64 = Platform::parse("linux/arm64").unwrap();
        assert_eq!(check(&amd64, &header(1, 62)), Ok(()));
        assert_eq!(check(&arm64, &header(1, 183)), Ok(()));
        assert_eq!(check(&arm64, &header(1, 62)), Err("x86-64".into()));
        assert_eq!(
            check(&amd64, &header(1, 183)),
            Err("arm64 (AArch64)".into())
        );
        assert_eq!(check(&amd64, &header(1, 3)), Err("i386".into()));
        assert_eq!(
            check(&amd64, &header(1, 999)),
            Err("ELF machine 999".into())
        );
        assert_eq!(check(&arm64, b"not a program"), Ok(()));
    }
}
