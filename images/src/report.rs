//! What the kit prints for each image it built, with no I/O: where it is, its digest and
//! tags, and its sizes in bytes and in KiB/MiB/GiB (1024-based).
//!
//! ```text
//! weavewait target/images/weavewait.tar sha256:4f0c… weavewait:latest weavewait:0.1.0
//!   archive 493056 bytes (481.5 KiB) = compressed layers 480000 bytes (468.8 KiB) + metadata 13056 bytes (12.8 KiB)
//!   files 1240000 bytes (1.2 MiB) uncompressed, linux/amd64
//! ```
//!
//! The archive is its compressed layers plus metadata (tar headers, index, manifests, configs,
//! `oci-layout`): both parts are positive and add up to the archive. `files` is what the
//! layers unpack to: the contents of the image's files, summed over its platforms.

use crate::kit::Built;

/// `bytes` in KiB, MiB or GiB (1024-based), one decimal, the largest unit that keeps the
/// number at 1.0 or more; below 1 KiB in KiB (`0.5 KiB`).
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 3] = ["KiB", "MiB", "GiB"];
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    // 1023.95 and above would print as 1024.0: move up a unit first.
    while value >= 1023.95 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

fn size(bytes: u64) -> String {
    format!("{bytes} bytes ({})", human(bytes))
}

/// The three lines printed for `built` (see the module header), each ending in `\n`.
pub fn lines(built: &Built) -> String {
    let platforms: Vec<String> = built.platforms.iter().map(ToString::to_string).collect();
    format!(
        "{} {} {} {}\n  archive {} = compressed layers {} + metadata {}\n  files {} uncompressed, {}\n",
        built.name,
        built.archive.display(),
        built.root.digest,
        built.refs.join(" "),
        size(built.archive_bytes),
        size(built.layer_bytes),
        size(built.metadata_bytes()),
        size(built.file_bytes),
        platforms.join(", "),
    )
}

#[cfg(test)]
mod tests;
