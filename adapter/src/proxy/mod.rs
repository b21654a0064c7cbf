//! The Docker API proxy (DESIGN §7): what the vanilla docker CLI points `DOCKER_HOST` at.
//!
//! Pure cores: [`addr`] (endpoint spellings), [`route`] (which requests are ours),
//! [`fnmatch`] and [`adapters`] (`adapters.yml`), [`envelope`] (powerstrip protocol v1).
//! Shells: [`server`] (listen, TLS via [`tls`]), [`service`] (one request), [`upstream`]
//! (the daemon), [`chain`] (external adapters), [`inprocess`] (the seam for §3–§5) and
//! [`weave`] (its implementation over the adapter's rewrite and attach).

pub mod adapters;
pub mod addr;
pub mod chain;
pub mod envelope;
pub mod fnmatch;
pub mod inprocess;
pub mod route;
pub mod server;
pub mod service;
pub mod tls;
pub mod upstream;
pub mod weave;
