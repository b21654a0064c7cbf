//! Docker's view of who holds which address on a segment (docs/design.md §5 "One holder
//! per address"): the I/O around [`crate::policy::claims`]. The running containers are
//! listed; those that may be on the segment (its label, or no label and the waiter as their
//! first process) are inspected; for the unlabelled ones the kernel says which bridge their
//! host veth is a port of.

use weave_cidr::Ipv4Cidr;

use crate::attach::bridge;
use crate::docker::{self, Daemon, DaemonError, Listed};
use crate::policy::claims::{self, Held, Moment, Other, Segment, ATTACH_LABEL};
use crate::policy::Policy;

/// Inspects run at once.
const CONCURRENT_INSPECTS: usize = 8;

/// The running containers that may be on `segment` (see the module doc), W being `waiter`.
///
/// Errors: Docker failing to list or inspect.
pub async fn others(
    docker: &Daemon,
    segment: &Segment,
    waiter: &str,
) -> Result<Vec<Other>, DaemonError> {
    let identity = segment.identity();
    let candidates: Vec<String> = docker::running(docker, Default::default())
        .await?
        .into_iter()
        .filter(|c| may_be_on(c, identity.as_str(), waiter))
        .map(|c| c.id)
        .collect();
    let mut others = Vec::with_capacity(candidates.len());
    for ids in candidates.chunks(CONCURRENT_INSPECTS) {
        let inspects = ids.iter().map(|id| docker::container_facts(docker, id));
        for facts in futures::future::join_all(inspects).await {
            // Gone meanwhile: it holds nothing.
            let Some(facts) = facts? else { continue };
            // Only an unlabelled container needs the kernel to say where it is.
            let bridge = if facts.labels.contains_key(ATTACH_LABEL) || facts.pid == 0 {
                None
            } else {
                bridge::bridge_of(facts.pid).await.ok().flatten()
            };
            others.push(Other { facts, bridge });
        }
    }
    Ok(others)
}

/// True when the listed container `c` may be on the segment labelled `label`: it carries
/// that label, or none and its first process is the waiter (Docker lists the Entrypoint's
/// first word first in `Command`).
fn may_be_on(c: &Listed, label: &str, waiter: &str) -> bool {
    match c.labels.get(ATTACH_LABEL) {
        Some(recorded) => recorded == label,
        None => c
            .command
            .strip_prefix(waiter)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(' ')),
    }
}

/// The first of `wanted` held on the policy's segment at `moment`, as Docker's view shows;
/// `Ok(None)` when all are free or the policy has no segment.
///
/// Errors: Docker failing to list or inspect.
pub async fn held(
    docker: &Daemon,
    policy: &Policy,
    wanted: &[Ipv4Cidr],
    moment: Moment<'_>,
) -> Result<Option<Held>, DaemonError> {
    let Some(segment) = &policy.segment else {
        return Ok(None);
    };
    if wanted.is_empty() {
        return Ok(None);
    }
    let waiter = &policy.rewrite.waiter;
    let others = others(docker, segment, waiter).await?;
    Ok(claims::held(wanted, moment, &others, segment, waiter))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(command: &str, label: Option<&str>) -> Listed {
        Listed {
            id: "a".into(),
            command: command.into(),
            labels: label
                .map(|v| [(ATTACH_LABEL.to_string(), v.to_string())].into())
                .unwrap_or_default(),
        }
    }

    #[test]
    fn candidates_by_label_or_by_waiter() {
        let w = "/home/weavewait/wait-for-weave";
        let label = "bridge:weave";
        assert!(may_be_on(&listed("/app", Some(label)), label, w));
        assert!(!may_be_on(&listed(w, Some("bridge:b2")), label, w));
        assert!(may_be_on(&listed(w, None), label, w));
        assert!(may_be_on(&listed(&format!("{w} /app -x"), None), label, w));
        assert!(!may_be_on(&listed(&format!("{w}2 /app"), None), label, w));
        assert!(!may_be_on(&listed("/app", None), label, w));
    }
}
