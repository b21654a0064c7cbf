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
pub mod locks;
pub mod netlink;
mod netns;
pub mod process;
pub mod weave;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::future::BoxFuture;

use crate::policy::allocation::AllocationNeeded;
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

    /// The attach settings recorded on the containers it is to attach
    /// ([`crate::policy::identity`]): what tells this follower's containers from those of
    /// a follower with other settings.
    fn identity(&self) -> Identity;

    /// Attaches `target`; on error nothing is left half-applied where the backend controls it.
    fn attach<'a>(&'a self, target: &'a Target) -> BoxFuture<'a, Result<(), AttachError>>;
}

/// The `--attach` option: `bridge` (default), `weave`, or `command:<path>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendSpec {
    /// Native attach to a Linux bridge.
    Bridge,
    /// `weave attach <cidrs...> <id>`.
    Weave,
    /// `<path> attach <cidrs...> <id>`.
    Command(PathBuf),
}

impl std::str::FromStr for BackendSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "bridge" => Ok(BackendSpec::Bridge),
            "weave" => Ok(BackendSpec::Weave),
            _ => match s.strip_prefix("command:") {
                Some(p) if !p.is_empty() => Ok(BackendSpec::Command(PathBuf::from(p))),
                _ => Err(format!(
                    "unknown attach backend {s:?}: expected bridge, weave or command:<path>"
                )),
            },
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
            BackendSpec::Bridge => return Ok(()),
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

    /// Builds the backend; `bridge` names the Linux bridge of the `bridge` backend.
    pub fn build(&self, bridge: &bridge::BridgeConfig) -> Arc<dyn Backend> {
        match self {
            BackendSpec::Bridge => Arc::new(bridge::Bridge::new(bridge.clone())),
            BackendSpec::Weave => Arc::new(weave::WeaveNet::default()),
            BackendSpec::Command(p) => Arc::new(command::Command::new(p.clone())),
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
        for bad in ["", "command:", "Bridge", "shell:x"] {
            let err = bad.parse::<BackendSpec>().unwrap_err();
            assert!(err.contains("bridge, weave or command:<path>"), "{err}");
        }
    }
}
