//! The Docker API proxy (docs/design.md §7): what the vanilla docker CLI points
//! `DOCKER_HOST` at. It runs the weave hooks in process ([`crate::hooks`]), chains external
//! powerstrip adapters, and passes everything else through faithfully.
//!
//! Pure cores: [`fnmatch`] and [`adapters`] (`adapters.yml`). Shells: [`server`] (listen,
//! TLS via [`tls`]), [`service`] (one request), [`answer`] (Docker-shaped errors),
//! [`upstream`] (the daemon), [`chain`] (external adapters).

pub mod adapters;
pub mod answer;
pub mod chain;
pub mod fnmatch;
pub mod server;
pub mod service;
pub mod tls;
pub mod upstream;
