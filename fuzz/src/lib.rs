//! The properties our fuzz targets check, one module per parser that takes outside input.
//!
//! Each module has one entry point, `check(data: &[u8])`, that feeds the bytes to the parser
//! and panics when a property fails (not merely when the parser panics). The same function
//! runs in three places:
//! - under libFuzzer, one binary per target in `fuzz/libfuzzer/src/bin/<target>.rs`
//!   (`make fuzz`, `make fuzz-smoke`; see `mk/fuzz.mk`);
//! - in plain `cargo test` (`tests/replay.rs`), over every committed input of
//!   `fuzz/corpus/<target>/` (the seeds) and `fuzz/regressions/<target>/` (inputs that once
//!   broke a property; each stays as a test forever);
//! - in a unit test of its own module, on hand-made inputs.
//!
//! Adding a target: see `fuzz/README.md`.

#![warn(missing_docs)]

pub mod adapters_yml;
pub mod cidr;
pub mod create_rewrite;
pub mod image_spec;
pub mod netlink;
pub mod powerstrip;
pub mod proxy_route;
pub mod waiter_options;

/// A target's check: feeds one input to the parser, panics when a property fails.
pub type Check = fn(&[u8]);

/// Every target: its name (`FUZZ_TARGET` of the libFuzzer binary; the corpus and regression
/// directories carry it) and its check.
pub const TARGETS: &[(&str, Check)] = &[
    ("adapters_yml", adapters_yml::check),
    ("cidr", cidr::check),
    ("create_rewrite", create_rewrite::check),
    ("image_spec", image_spec::check),
    ("netlink", netlink::check),
    ("powerstrip_post", powerstrip::check_post),
    ("powerstrip_pre", powerstrip::check_pre),
    ("proxy_route", proxy_route::check),
    ("waiter_options", waiter_options::check),
];
