//! One module per subcommand of `powerstrip-weave`.
