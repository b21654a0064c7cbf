//! Attaching `ethwe` to a running container (docs/design.md §5): one small trait, one file
//! per backend, and [`attacher::Attacher`], which resolves containers, asks the policy core
//! whether to attach them, and applies the failure rules.

mod announce;
pub mod arp;
pub mod attacher;
pub mod bridge;
pub mod command;
mod firewall;
mod inflight;
pub mod lock;
pub mod locks;
pub mod netlink;
mod netns;
pub mod network;
pub mod process;
pub mod weave;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::future::BoxFuture;

use crate::docker::Daemon;
use crate::policy::allocation::AllocationNeeded;
use crate::policy::claims::{Held, Segment};
use crate::policy::network::{NetworkLookup, Unfit};
use crate::policy::rewrite::RewriteConfig;
pub use crate::policy::target::Target;
use crate::policy::Identity;
use netlink::NetlinkError;

/// Why an attach failed. Every message names the container and what failed.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    /// A netlink operation failed.
    #[error("{target}: {source}")]
    Netlink {
        /// The container, as [`Target`] displays it.
        target: String,
        /// The operation and the kernel's answer.
        source: NetlinkError,
    },
    /// The container's network namespace (`/proc/<pid>/ns/net`) could not be used.
    #[error("network namespace {path}: {why}")]
    Namespace {
        /// The namespace file.
        path: String,
        /// What failed, with the fix when there is one.
        why: String,
    },
    /// What is on the host contradicts what the backend made or expected.
    #[error("{target}: {why}")]
    Conflict {
        /// The container.
        target: String,
        /// What was found, and what to do.
        why: String,
    },
    /// An address asked for is held by another container on the segment
    /// (docs/design.md §5 "One holder per address").
    #[error("{target}: {held}")]
    AddressHeld {
        /// The container.
        target: String,
        /// The address and its holder.
        held: Box<Held>,
    },
    /// The bridge's lock could not be taken.
    #[error("{target}: {source}")]
    Lock {
        /// The container.
        target: String,
        /// Why.
        source: lock::LockError,
    },
    /// The container's `ethwe` is already a port of another bridge (attached by another
    /// follower, or by hand): it is left as it is, never replaced, and the app is not
    /// killed for it.
    #[error("{target} is already attached to bridge {bridge}, not {ours}: left as it is")]
    Elsewhere {
        /// The container.
        target: String,
        /// The bridge its host end is a port of.
        bridge: String,
        /// The bridge this backend attaches to.
        ours: String,
    },
    /// The backend only assigns exact addresses.
    #[error("{target}: {source}")]
    NeedsAllocation {
        /// The container.
        target: String,
        /// The value and the fix.
        source: AllocationNeeded,
    },
    /// The network of the `network:NAME` backend cannot give what `WEAVE_CIDR` asks.
    #[error("{target}: {source}")]
    Unfit {
        /// The container.
        target: String,
        /// The item, the network's subnets and the fix.
        source: Unfit,
    },
    /// An external attach command failed or could not run.
    #[error("{target}: `{argv}` {why}")]
    Command {
        /// The container.
        target: String,
        /// The argv, space-joined for the message.
        argv: String,
        /// Exit status and stderr, or the spawn error.
        why: String,
    },
    /// The Docker API failed while resolving the container.
    #[error("{what}: {source}")]
    Docker {
        /// What we were doing.
        what: String,
        /// The daemon's error, naming it.
        source: crate::docker::DaemonError,
    },
    /// Another attach of the container held its lock for the whole bound; that attach
    /// decides (and applies its own failure rule), the container keeps waiting meanwhile.
    #[error("container {container}: {source}; the container waits for that attach")]
    Busy {
        /// The container's name.
        container: String,
        /// How long was waited.
        source: locks::Busy,
    },
    /// The container stopped before this attach could run, because an earlier attach of
    /// it failed (and the failure rule stopped it).
    #[error("an earlier attach of container {container} failed: {why}")]
    FailedEarlier {
        /// The container's name.
        container: String,
        /// That attach's error.
        why: String,
        /// The address and holder, when that attach failed for an address held.
        held: Option<Box<Held>>,
    },
    /// The attach task panicked (a bug): the panic was logged and contained.
    #[error("the attach of container {container} failed: {why}")]
    Panicked {
        /// The container as named to the attacher.
        container: String,
        /// The panic's message.
        why: String,
    },
}

impl AttachError {
    /// The address and its holder when the attach failed because another container holds
    /// an address asked for (now or in an earlier attach of the same container).
    pub fn held(&self) -> Option<&Held> {
        match self {
            AttachError::AddressHeld { held, .. } => Some(held),
            AttachError::FailedEarlier { held, .. } => held.as_deref(),
            _ => None,
        }
    }

    /// True when the kernel refused a netlink operation with `errno`.
    pub fn is_kernel(&self, errno: nix::errno::Errno) -> bool {
        matches!(self, AttachError::Netlink { source, .. } if source.is(errno))
    }
}

/// One way of giving a container its `ethwe`. Implementations are idempotent: attaching an
/// attached container succeeds without changing anything.
pub trait Backend: Send + Sync + fmt::Debug {
    /// The `--attach` name, for messages: `bridge`, `weave`, `command`.
    fn name(&self) -> &'static str;

    /// True when the backend allocates addresses (`WEAVE_CIDR` empty, `net:…`); when it
    /// does not, only exact addresses can be asked of it (the create decision refuses the
    /// rest where it can).
    fn allocates(&self) -> bool;

    /// The segment on which the backend gives each exact address one holder (the `bridge`
    /// backend's bridge), `None` when addresses are another system's business.
    fn segment(&self) -> Option<Segment> {
        None
    }

    /// The attach settings recorded on the containers it is to attach
    /// ([`crate::policy::identity`]): what tells this follower's containers from those of
    /// a follower with other settings.
    fn identity(&self) -> Identity;

    /// The Docker network the backend connects containers to (`network:NAME`), whose IPAM
    /// config the create decision reads; `None` (the default) for the other backends.
    fn network(&self) -> Option<&str> {
        None
    }

    /// What the daemon says of [`Backend::network`], for the create decision.
    fn lookup_network(&self) -> BoxFuture<'_, NetworkLookup> {
        let why = format!("the {} backend connects to no Docker network", self.name());
        Box::pin(async move { NetworkLookup::Failed(why) })
    }

    /// Attaches `target`; on error nothing is left half-applied where the backend controls it.
    fn attach<'a>(&'a self, target: &'a Target) -> BoxFuture<'a, Result<(), AttachError>>;
}

/// The `--attach` option: `bridge` (default), `weave`, `command:<path>` or
/// `network:<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendSpec {
    /// Native attach to a Linux bridge.
    Bridge,
    /// `weave attach <cidrs...> <id>`.
    Weave,
    /// `<path> attach <cidrs...> <id>`.
    Command(PathBuf),
    /// Connect to this Docker network (name or id) through the Engine API.
    Network(String),
}

impl std::str::FromStr for BackendSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "bridge" => Ok(BackendSpec::Bridge),
            "weave" => Ok(BackendSpec::Weave),
            _ => {
                if let Some(p) = s.strip_prefix("command:").filter(|p| !p.is_empty()) {
                    return Ok(BackendSpec::Command(PathBuf::from(p)));
                }
                if let Some(n) = s.strip_prefix("network:").filter(|n| !n.is_empty()) {
                    return Ok(BackendSpec::Network(n.to_string()));
                }
                Err(format!(
                    "unknown attach backend {s:?}: expected bridge, weave, command:<path> or \
                     network:<docker network>"
                ))
            }
        }
    }
}

impl fmt::Display for BackendSpec {
    /// As `--attach` takes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackendSpec::Bridge => f.write_str("bridge"),
            BackendSpec::Weave => f.write_str("weave"),
            BackendSpec::Command(p) => write!(f, "command:{}", p.display()),
            BackendSpec::Network(n) => write!(f, "network:{n}"),
        }
    }
}

impl BackendSpec {
    /// Checks that the backend can run here, so a follower never starts only to fail every
    /// attach: the program of `weave` and `command:<path>` is found in the `PATH` of this
    /// process as it will be run. `bridge` needs nothing found.
    ///
    /// Errors: the message names the `--attach` value, what is wrong and the fix.
    pub fn check(&self) -> Result<(), String> {
        let path = std::env::var_os("PATH");
        let (spec, program) = match self {
            // What the network can give is learned per create (a swarm worker shows an
            // overlay only once a container is attached to it).
            BackendSpec::Bridge | BackendSpec::Network(_) => return Ok(()),
            BackendSpec::Weave => ("weave".to_string(), Path::new("weave")),
            BackendSpec::Command(p) => (format!("command:{}", p.display()), p.as_path()),
        };
        match command::locate(program, path.as_deref()) {
            Ok(_) => Ok(()),
            Err(e) if *self == BackendSpec::Weave => Err(format!(
                "--attach {spec}: {e}; Weave Net's `weave` script is needed (or choose \
                 --attach bridge, the native default, or --attach command:<path>)"
            )),
            Err(e) => Err(format!("--attach {spec}: {e}")),
        }
    }

    /// Builds the backend; `bridge` configures the `bridge` backend, `docker` is the
    /// daemon the `network:` backend connects through, and `rewrite` the waiter its
    /// probes run.
    pub fn build(
        &self,
        bridge: &bridge::BridgeConfig,
        docker: &Daemon,
        rewrite: &RewriteConfig,
    ) -> Arc<dyn Backend> {
        match self {
            BackendSpec::Bridge => Arc::new(bridge::Bridge::new(bridge.clone())),
            BackendSpec::Weave => Arc::new(weave::WeaveNet::default()),
            BackendSpec::Command(p) => Arc::new(command::Command::new(p.clone())),
            BackendSpec::Network(name) => Arc::new(network::Network::new(
                name.clone(),
                docker.clone(),
                rewrite.clone(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_specs() {
        assert_eq!("bridge".parse(), Ok(BackendSpec::Bridge));
        assert_eq!("weave".parse(), Ok(BackendSpec::Weave));
        assert_eq!(
            "command:/usr/local/bin/x".parse(),
            Ok(BackendSpec::Command("/usr/local/bin/x".into()))
        );
        assert_eq!(
            "network:wnet".parse(),
            Ok(BackendSpec::Network("wnet".into()))
        );
        for spec in ["bridge", "weave", "command:/x", "network:wnet"] {
            assert_eq!(spec.parse::<BackendSpec>().unwrap().to_string(), spec);
        }
        for bad in ["", "command:", "network:", "Bridge", "shell:x"] {
            let err = bad.parse::<BackendSpec>().unwrap_err();
            assert!(
                err.contains("bridge, weave, command:<path> or network:<docker network>"),
                "{err}"
            );
        }
    }
}
