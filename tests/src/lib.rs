//! Support for the end-to-end tests: prerequisites, paths to built artifacts.

pub mod adapter;
pub mod docker;
pub mod kit;
pub mod netns;
pub mod prereq;
pub mod registry;
