//! One module per subcommand of `powerstrip-weave`; `serve` is what `adapter` and `launch`
//! share.

pub mod adapter;
pub mod attach;
pub mod cli;
pub mod launch;
pub mod proxy;
pub mod serve;
