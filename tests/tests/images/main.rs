//! End-to-end tests of the image kit: reproducibility, `docker load`, skopeo, a registry,
//! multi-platform indexes, a user's own spec.

mod bad_spec;
mod docker;
mod example;
mod multiplatform;
mod registry;
mod reproducible;
mod user_spec;
