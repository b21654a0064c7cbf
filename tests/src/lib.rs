//! Support for the end-to-end tests: prerequisites, paths to built artifacts.

pub mod adapter;
pub mod cluster;
pub mod docker;
pub mod kit;
pub mod netns;
pub mod network;
pub mod prereq;
pub mod private;
pub mod proxy;
pub mod registry;

/// A stopped container's log without the line powerstrip-weave writes into it when it
/// stops a container before its app ran (docs/design.md §5 "Failure"): what the app and the
/// waiter printed, trimmed; empty when the app never ran and the waiter said nothing.
pub fn app_output(log: &str) -> String {
    log.lines()
        .filter(|l| !l.starts_with("powerstrip-weave: stopped before its app ran"))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

/// What a finished command printed, stdout then stderr, as text (lossy UTF-8): for
/// assertions on scripts and `docker logs`, which split their messages between the two.
pub fn output_text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
