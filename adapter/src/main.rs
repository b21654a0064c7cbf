//! `powerstrip-weave`: one binary, one subcommand per job, one tokio runtime.

use std::io::{IsTerminal, Write};

use adapter::commands;
use adapter::commands::cli::{self, Command, Parsed};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let command = match cli::parse(&args) {
        Parsed::Run(command) => *command,
        Parsed::Exit { text, status } => {
            // A closed stdout or stderr must not turn --help into a panic.
            let _ = if status == 0 {
                std::io::stdout().write_all(text.as_bytes())
            } else {
                std::io::stderr().write_all(text.as_bytes())
            };
            std::process::exit(status);
        }
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never into a file or journal.
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("powerstrip-weave: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    let result = runtime.block_on(async move {
        match command {
            Command::Adapter(args) => commands::adapter::run(args).await,
            Command::Launch(args) => commands::launch::run(args).await,
            Command::Attach(args) => commands::attach::run(args).await,
            Command::Proxy(args) => commands::proxy::run(args).await,
        }
    });
    if let Err(e) = result {
        eprintln!("powerstrip-weave: {e:#}");
        std::process::exit(1);
    }
}
