//! The image kit: turns one spec file per image into `target/images/<name>.tar`, a single
//! tar that is both an OCI image layout (oci-layout, index.json, blobs/sha256/…) and a
//! docker-archive (manifest.json pointing into blobs/), byte-for-byte reproducible.
//!
//! Shape: [`spec`] parses and validates a spec (pure), [`meta`] decides an image's tags,
//! labels, annotations and times from its spec and the caller's defaults (pure), [`signal`]
//! checks a `StopSignal` as Docker reads it (pure), [`elf`] reads which machine a program
//! is built for (pure), [`layout`]
//! turns a spec plus file bytes into blobs and JSON (pure, no I/O), [`oci`] holds the JSON
//! document types, [`report`] words what was built (pure), [`archive`] writes the tar
//! atomically, [`kit`] is the thin shell that reads files and ties them together, and
//! [`cli`] parses the command line of `image-kit`.

pub mod archive;
pub mod cli;
pub mod elf;
pub mod kit;
pub mod layout;
pub mod meta;
pub mod oci;
pub mod report;
pub mod signal;
pub mod spec;
pub mod time;
