//! One module per subcommand of `powerstrip-weave`; [`flags`] declares the flags they
//! share, [`settings`] checks them, [`cli`] parses the command line, [`volume`] prepares
//! and checks the volume container carrying the waiter.

pub mod adapter;
pub mod attach;
pub mod cli;
pub mod flags;
pub mod launch;
pub mod proxy;
pub mod settings;
pub mod volume;
