//! Support for the end-to-end tests: prerequisites, paths to built artifacts.

pub mod adapter;
pub mod cluster;
pub mod docker;
pub mod kit;
pub mod netns;
pub mod prereq;
pub mod private;
pub mod proxy;
pub mod registry;

/// What a finished command printed, stdout then stderr, as text (lossy UTF-8): for
/// assertions on scripts and `docker logs`, which split their messages between the two.
pub fn output_text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
