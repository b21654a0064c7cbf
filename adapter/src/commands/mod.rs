//! One module per subcommand of `powerstrip-weave`.
pub mod proxy;
