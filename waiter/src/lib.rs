//! `wait-for-weave`: the pure cores (WEAVE_CIDR grammar, readiness model, command line,
//! netlink wire format) and the thin shells (netlink socket, signals, exec) of the waiter.
//!
//! Exit statuses (docs/design.md §2): 2 usage, 1 netlink failure, 124 timeout, 126 not executable,
//! 127 not found, 128+n ended by signal n while waiting; otherwise the command's own.

#![warn(missing_docs)]

/// The WEAVE_CIDR grammar, from the `weave-cidr` crate the adapter shares.
pub use weave_cidr as cidr;
pub mod exec;
pub mod netlink;
pub mod options;
pub mod readiness;
pub mod signals;
pub mod wait;
pub mod wire;

/// Exit status when the netlink socket fails.
pub const NETLINK_FAILURE: i32 = 1;
/// Exit status when the timeout passes before the interface is ready (as coreutils
/// `timeout`).
pub const TIMED_OUT: i32 = 124;
