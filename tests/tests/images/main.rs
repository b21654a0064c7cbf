//! End-to-end tests of the image kit: reproducibility, `docker load`, skopeo, a registry, multi-platform indexes.

mod bad_spec;
mod docker;
mod example;
mod multiplatform;
mod registry;
mod reproducible;
