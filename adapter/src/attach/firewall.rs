//! The iptables rule a bridge we create needs when the kernel passes bridged IPv4 through
//! iptables (`net.bridge.bridge-nf-call-iptables = 1`, as Docker sets it, with a FORWARD
//! policy of DROP): `iptables -I FORWARD -i <bridge> -o <bridge> -j ACCEPT`, as Weave Net
//! added, so the bridge's ports can talk.

use std::process::Stdio;

use crate::bounds;

/// Lets the bridge's ports talk when bridged IPv4 goes through iptables. Best effort: a
/// host without iptables (or with it not filtering bridges) needs nothing.
pub async fn allow_forwarding(bridge: &str) {
    let filtered = std::fs::read_to_string("/proc/sys/net/bridge/bridge-nf-call-iptables")
        .is_ok_and(|v| v.trim() == "1");
    if !filtered {
        return;
    }
    let rule = ["FORWARD", "-i", bridge, "-o", bridge, "-j", "ACCEPT"];
    let run = |op: &'static str| {
        tokio::process::Command::new("iptables")
            .args(["-w", "5", op])
            .args(rule)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .output()
    };
    let bound = bounds::get().iptables;
    if let Ok(Ok(out)) = tokio::time::timeout(bound, run("-C")).await {
        if out.status.success() {
            return;
        }
    }
    match tokio::time::timeout(bound, run("-I")).await {
        Ok(Ok(out)) if out.status.success() => {
            tracing::info!(bridge, "added iptables FORWARD accept rule for the bridge");
        }
        Ok(Ok(out)) => tracing::warn!(
            bridge,
            "iptables refused the FORWARD rule: {}; containers on the bridge may not reach each other",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Ok(Err(e)) => tracing::warn!(
            bridge,
            "cannot run iptables ({e}); bridged traffic is filtered, so add: iptables -I FORWARD -i {bridge} -o {bridge} -j ACCEPT"
        ),
        Err(_) => tracing::warn!(
            bridge,
            "iptables did not finish within {bound:?} and was killed; containers on the bridge \
             may not reach each other: add iptables -I FORWARD -i {bridge} -o {bridge} -j ACCEPT"
        ),
    }
}
