//! The policy core: every decision the two front-ends (the Docker API proxy and the
//! powerstrip adapter) take, as pure functions with no I/O. Each front-end only maps a
//! decision to its wire; the shell in [`crate::hooks`] does the I/O a decision asks for.
//!
//! - [`route`]: which requests are ours (create, start, restart).
//! - [`create`]: the create decision (docs/design.md §3, §4), over [`rewrite`] (Docker's
//!   merge of request and image, then the waiter prefix).
//! - [`target`]: the attach target of a start, restart or event (docs/design.md §5).
//! - [`asks`] and [`scope`]: whether a container asks for `ethwe` and is ours to judge,
//!   the rules both decisions share; [`allocation`]: what a backend that cannot allocate
//!   accepts; [`identity`]: the attach settings a container is recorded with, so that only
//!   a follower with those settings attaches it.
//! - [`json`]: reading a create body the way the daemon does.

pub mod allocation;
pub mod asks;
pub mod create;
pub mod identity;
pub mod json;
pub mod rewrite;
pub mod route;
pub mod scope;
pub mod target;

pub use identity::Identity;
pub use scope::Scope;

use rewrite::RewriteConfig;

/// What the decisions depend on besides the request: the flags of the adapter or proxy,
/// and what the attach backend can do (see `Attacher::new`, which builds it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// W and the volume container the rewrite inserts.
    pub rewrite: RewriteConfig,
    /// The `--label` scope.
    pub scope: Scope,
    /// The attach backend allocates addresses (`weave`, `command:`); when it does not
    /// (`bridge`), only exact addresses can be honoured ([`allocation`]).
    pub allocates: bool,
    /// The backend's `--attach` name, for messages.
    pub backend: &'static str,
    /// The attach settings the rewrite records on containers and the attach requires of
    /// them ([`identity`]).
    pub identity: Identity,
}

impl Default for Policy {
    /// The defaults of the flags: waiter and volume container as shipped, every container
    /// in scope, the `bridge` backend on bridge `weave`.
    fn default() -> Self {
        Policy {
            rewrite: RewriteConfig::default(),
            scope: Scope::default(),
            allocates: false,
            backend: "bridge",
            identity: Identity::default(),
        }
    }
}
