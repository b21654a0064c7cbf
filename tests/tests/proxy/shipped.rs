//! The shipped static binary carries no fault hook: the debug-only
//! `POWERSTRIP_WEAVE_PANIC_ON` of adapter/src/fault.rs, which adapter/tests/panic.rs uses to
//! show that a panicking task does not end the process, is compiled out of release builds.

use e2e::prereq::require;
use e2e::proxy::binary;

#[test]
fn the_release_binary_has_no_fault_hook() {
    let bin = binary();
    if !require(
        bin.is_file(),
        &format!("{} (run `make static`)", bin.display()),
    ) {
        return;
    }
    let bytes = std::fs::read(&bin).expect("read the binary");
    // The same text is in every debug build (checked in adapter/tests/panic.rs by using it).
    let hook = b"POWERSTRIP_WEAVE_PANIC_ON";
    assert!(
        !bytes.windows(hook.len()).any(|w| w == hook),
        "{} contains the fault hook",
        bin.display()
    );
    // The binary is searched as text at all: another string of the same source is there.
    let present = b"the task is ended, the process serves on";
    assert!(
        bytes.windows(present.len()).any(|w| w == present),
        "{} lacks the panic log text: is it powerstrip-weave?",
        bin.display()
    );
}
