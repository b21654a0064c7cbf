//! `wait-for-weave`: the pure cores (WEAVE_CIDR grammar, readiness model) and the thin
//! shells (netlink socket, signals and exec) of the waiter.

pub mod cidr;
