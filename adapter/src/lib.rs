//! powerstrip-weave: containers run their entrypoint only once their late-attached network
//! is there. One pure policy core ([`policy`]) behind two thin front-ends, the Docker API
//! [`proxy`] and the [`powerstrip`] adapter, which share the I/O of the weave [`hooks`],
//! the [`attach`] backends, the Docker client ([`docker`]), the [`events`] follower and the
//! accept loop ([`accept`]); [`commands`] has one module per subcommand.

pub mod accept;
pub mod addr;
pub mod attach;
pub mod bounds;
pub mod commands;
pub mod docker;
pub mod events;
pub mod fault;
pub mod hooks;
pub mod panics;
pub mod policy;
pub mod powerstrip;
pub mod proxy;
