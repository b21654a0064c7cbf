//! The powerstrip front-end (docs/design.md §6): powerstrip posts one envelope per hook, the
//! weave hooks decide, and the answer is always a full 200 envelope, since powerstrip hangs
//! the user's client on anything else and has no way to carry an error.
//!
//! [`envelope`] (pure) reads and writes the protocol, both as an adapter and as the proxy
//! calling external adapters; [`adapter`] maps the hooks' decisions to envelopes;
//! [`server`] is the HTTP shell.

pub mod adapter;
pub mod envelope;
pub mod server;
