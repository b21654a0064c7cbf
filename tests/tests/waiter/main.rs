//! End-to-end tests of `wait-for-weave`: the static binary in real network namespaces, as PID 1, under Docker.

mod demo;
mod docker;
mod exit;
mod netns;
mod signals;
mod size;
