//! powerstrip-weave: the create rewrite, the powerstrip adapter protocol, attach backends
//! and the Docker API proxy. Pure cores (`rewrite`, `protocol`) wrapped by thin shells
//! (`docker`, `attach`, `hooks`, `events`, `server`, `commands`).

pub mod attach;
pub mod commands;
pub mod docker;
pub mod events;
pub mod hooks;
pub mod protocol;
pub mod proxy;
pub mod rewrite;
pub mod server;
