//! powerstrip-weave: the create rewrite, the powerstrip adapter protocol, attach backends
//! and the Docker API proxy. Pure cores (`rewrite`, `protocol`) wrapped by thin shells.

pub mod commands;
pub mod proxy;
