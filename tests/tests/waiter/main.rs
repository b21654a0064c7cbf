//! End-to-end tests of `wait-for-weave`: the static binary in real network namespaces, as PID 1, under Docker.

mod demo;
mod docker;
mod exit;
mod iface_any;
mod net_items;
mod netns;
mod network;
mod signals;
mod size;
mod support;
mod timeouts;
