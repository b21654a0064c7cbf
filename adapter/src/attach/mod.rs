//! Attaching `ethwe` to a running container (DESIGN §5): one small trait, one file per
//! backend, and [`container::Attacher`], which decides which containers to attach and what
//! to do when attaching fails.

pub mod bridge;
pub mod command;
pub mod container;
mod netns;
pub mod weave;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use futures::future::BoxFuture;
use weave_cidr::CidrItem;

/// The container to attach, as resolved by inspect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Full container id (64 hex digits).
    pub id: String,
    /// Name without the leading `/`, for messages.
    pub name: String,
    /// Host pid of the container's first process (its network namespace is ours to join).
    pub pid: u32,
    /// The parsed `WEAVE_CIDR` items; empty means "one default allocation".
    pub items: Vec<CidrItem>,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let short = self.id.get(..12).unwrap_or(&self.id);
        write!(f, "container {} ({short}, pid {})", self.name, self.pid)
    }
}

/// Why an attach failed. Every message names the container and what to do.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    /// A netlink operation failed; `what` names the operation and the objects.
    #[error("{what}: {source}")]
    Netlink {
        /// e.g. `cannot create veth vethwepl123 for container web-1`.
        what: String,
        /// The kernel's answer.
        source: std::io::Error,
    },
    /// The bridge backend only assigns exact addresses.
    #[error(
        "{target}: WEAVE_CIDR {items} asks for an address allocation, which the bridge \
         backend does not do: give exact addresses (a.b.c.d/n or ip:a.b.c.d/n), or use \
         --attach weave"
    )]
    NeedsAllocation {
        /// The container.
        target: String,
        /// The items, Weave spelling.
        items: String,
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
    /// The Docker API failed while resolving or killing the container.
    #[error("{what}: {source}")]
    Docker {
        /// What we were doing.
        what: String,
        /// bollard's error.
        source: bollard::errors::Error,
    },
    /// The container is not running or has no pid.
    #[error("container {0} is not running: nothing to attach")]
    NotRunning(String),
}

/// One way of giving a container its `ethwe`. Implementations are idempotent: attaching an
/// attached container succeeds without changing anything.
pub trait Backend: Send + Sync + fmt::Debug {
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
    /// Builds the backend; `bridge` names the Linux bridge of the `bridge` backend.
    pub fn build(&self, bridge: &bridge::BridgeConfig) -> Arc<dyn Backend> {
        match self {
            BackendSpec::Bridge => Arc::new(bridge::Bridge::new(bridge.clone())),
            BackendSpec::Weave => Arc::new(weave::Weave::default()),
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
