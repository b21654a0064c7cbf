//! The settings the weave flags describe, checked once for `adapter`, `launch` and `proxy`.

use std::sync::Arc;
use std::time::Duration;

use super::flags::WeaveFlags;
use crate::attach::attacher::Attacher;
use crate::attach::bridge::BridgeConfig;
use crate::attach::BackendSpec;
use crate::bounds;
use crate::docker::Daemon;
use crate::policy::rewrite::RewriteConfig;
use crate::policy::Scope;

/// Linux IFNAMSIZ less the terminating NUL: the longest interface name.
const MAX_IFNAME: usize = 15;

/// What the weave flags describe, checked.
#[derive(Debug, Clone)]
pub struct WeaveSettings {
    /// Attach backend.
    pub backend: BackendSpec,
    /// Settings of the bridge backend.
    pub bridge: BridgeConfig,
    /// W and the volume container.
    pub rewrite: RewriteConfig,
    /// The `--label` scope.
    pub scope: Scope,
    /// Follow Docker events and catch up on start-up.
    pub events: bool,
}

impl WeaveSettings {
    /// Checks `flags`.
    ///
    /// Errors: a bridge name outside 1 to 15 bytes (Linux IFNAMSIZ), a relative waiter
    /// path, a backend program that cannot run ([`BackendSpec::check`]); each names the
    /// flag and the fix.
    pub fn from_flags(flags: WeaveFlags) -> anyhow::Result<WeaveSettings> {
        let bridge = flags.bridge.bridge;
        if bridge.is_empty() || bridge.len() > MAX_IFNAME {
            anyhow::bail!("--bridge {bridge:?}: a Linux interface name has 1 to 15 bytes");
        }
        if !flags.waiter.starts_with('/') {
            anyhow::bail!("--waiter {:?}: give an absolute path", flags.waiter);
        }
        flags.attach.check().map_err(anyhow::Error::msg)?;
        Ok(WeaveSettings {
            backend: flags.attach,
            bridge: BridgeConfig {
                bridge,
                firewall: flags.bridge.firewall,
                ..BridgeConfig::default()
            },
            rewrite: RewriteConfig {
                waiter: flags.waiter,
                volume_container: flags.volume_container,
            },
            scope: flags.scope,
            events: flags.events,
        })
    }

    /// The attacher these settings describe, talking to `docker`.
    pub fn attacher(&self, docker: Daemon) -> Arc<Attacher> {
        Arc::new(Attacher::new(
            docker,
            self.backend.build(&self.bridge),
            self.rewrite.clone(),
            self.scope.clone(),
        ))
    }
}

/// On shutdown, after the follower stopped: lets the attaches under way finish, for at
/// most [`bounds::Bounds::drain`], so none is cut off midway (its container left waiting,
/// the backend's undo skipped). Those still running then are named; their containers keep
/// waiting, and the next start of a follower attaches them.
pub async fn drain(attacher: &Attacher) {
    let bound = bounds::get().drain;
    let under_way = attacher.drain(Duration::ZERO).await;
    if under_way.is_empty() {
        return;
    }
    tracing::info!(
        "waiting up to {bound:?} for {} attach(es) under way: {}",
        under_way.len(),
        under_way.join(", ")
    );
    let left = attacher.drain(bound).await;
    if !left.is_empty() {
        tracing::warn!(
            "stopping with {} attach(es) unfinished after {bound:?}: {}; they keep waiting \
             for their network and are attached when a follower starts again",
            left.len(),
            left.join(", ")
        );
    }
}

/// Resolves on the first SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // Without handlers the default dispositions still end the process.
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::flags::BridgeFlags;

    fn flags() -> WeaveFlags {
        WeaveFlags {
            attach: BackendSpec::Bridge,
            bridge: BridgeFlags {
                bridge: "weave".to_string(),
                firewall: true,
            },
            waiter: crate::policy::rewrite::DEFAULT_WAITER.to_string(),
            volume_container: "weavewait".to_string(),
            scope: Scope::default(),
            events: true,
        }
    }

    #[test]
    fn a_backend_program_that_cannot_run_is_refused_with_the_fix() {
        let e = WeaveSettings::from_flags(WeaveFlags {
            attach: BackendSpec::Command("/nonexistent/attach".into()),
            ..flags()
        })
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "--attach command:/nonexistent/attach: /nonexistent/attach does not exist: give \
             the path of the attach program"
        );
        assert!(WeaveSettings::from_flags(WeaveFlags {
            attach: BackendSpec::Command("/bin/true".into()),
            ..flags()
        })
        .is_ok());
    }

    #[test]
    fn label_reaches_the_policy() {
        let scope: Scope = "nc=2".parse().unwrap();
        let s = WeaveSettings::from_flags(WeaveFlags {
            scope: scope.clone(),
            ..flags()
        })
        .unwrap();
        assert_eq!(s.scope, scope);
    }

    #[test]
    fn bad_bridges_and_waiters_name_the_flag() {
        for bridge in ["", "a-bridge-name-too-long"] {
            let mut f = flags();
            f.bridge.bridge = bridge.to_string();
            let e = WeaveSettings::from_flags(f).unwrap_err().to_string();
            assert!(e.starts_with("--bridge"), "{e}");
        }
        let e = WeaveSettings::from_flags(WeaveFlags {
            waiter: "wait-for-weave".into(),
            ..flags()
        })
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("--waiter \"wait-for-weave\": give an absolute path"),
            "{e}"
        );
    }
}
