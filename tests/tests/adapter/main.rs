//! End-to-end tests of the powerstrip adapter, `launch` and `attach`: real envelopes around real creates and starts on a real dockerd.

mod attach_cli;
mod bounds;
mod daemon_restart;
mod failure;
mod invalid;
mod launch;
mod names;
mod ping;
mod recovery;
mod restart;
mod untouched;
