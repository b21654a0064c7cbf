//! The waiter's hard size limit (docs/design.md §2): the static stripped binary is at most 1 MiB,
//! and it is really static (it runs from a scratch image).

use std::process::Command;

use e2e::prereq::{command_works, require, static_bin};

const LIMIT: u64 = 1024 * 1024;

#[test]
fn static_binary_is_at_most_1_mib_and_statically_linked() {
    let bin = static_bin("wait-for-weave");
    if !require(bin.exists(), "wait-for-weave (run `make static`)")
        || !require(command_works("file", &["--version"]), "file")
    {
        return;
    }
    let size = std::fs::metadata(&bin).unwrap().len();
    eprintln!("wait-for-weave: {size} bytes (limit {LIMIT}, target 655360)");
    assert!(
        size <= LIMIT,
        "wait-for-weave is {size} bytes, above the 1 MiB limit"
    );

    let out = Command::new("file").arg("-b").arg(&bin).output().unwrap();
    let file = String::from_utf8_lossy(&out.stdout);
    assert!(file.contains("statically linked"), "file says: {file}");
    assert!(
        file.contains("stripped") && !file.contains("not stripped"),
        "{file}"
    );
    let elf = std::fs::read(&bin).unwrap();
    assert_eq!(&elf[..4], b"\x7fELF");
    // e_type: ET_EXEC (2), not ET_DYN (3) as a static-pie would be.
    assert_eq!(u16::from_le_bytes([elf[16], elf[17]]), 2, "ET_EXEC");
}
