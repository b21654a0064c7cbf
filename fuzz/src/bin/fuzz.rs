//! The libFuzzer binary for every target: `FUZZ_TARGET=<name> fuzz [libFuzzer options]
//! CORPUS_DIR...`, with `<name>` one of `fuzz_checks::TARGETS` (`make fuzz` runs each).

#![no_main]

use std::sync::OnceLock;

static CHECK: OnceLock<fn(&[u8])> = OnceLock::new();

libfuzzer_sys::fuzz_target!(
    init: {
        let name = std::env::var("FUZZ_TARGET").unwrap_or_default();
        let Some((_, check)) = fuzz_checks::TARGETS.iter().find(|(t, _)| *t == name) else {
            let names: Vec<&str> = fuzz_checks::TARGETS.iter().map(|(t, _)| *t).collect();
            eprintln!("fuzz: FUZZ_TARGET={name:?} is not a target; give one of {names:?}");
            std::process::exit(2);
        };
        CHECK.set(*check).expect("set once");
    },
    |data: &[u8]| CHECK.get().expect("set by init")(data)
);
