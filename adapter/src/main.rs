//! `powerstrip-weave`: one binary, one subcommand per job, one tokio runtime.

use std::io::{IsTerminal, Write};

use adapter::commands::cli::{self, Command, Parsed};
use adapter::commands::{adapter as powerstrip_adapter, attach, launch, proxy};
use adapter::{bounds, panics};

// A panic must end only the task it happened in (a connection, an attach), never the proxy
// and every client behind it: that needs unwinding.
#[cfg(not(panic = "unwind"))]
compile_error!("powerstrip-weave must be built with panic = \"unwind\" (see Cargo.toml)");

fn main() {
    let command = parse_or_exit();
    init_logs();
    if let Err(e) = bounds::init() {
        fail(&e);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(&format!("cannot start the runtime: {e}")));
    let result = runtime.block_on(async move {
        match command {
            Command::Adapter(args) => powerstrip_adapter::run(args).await,
            Command::Launch(args) => launch::run(args).await,
            Command::Attach(args) => attach::run(args).await,
            Command::Proxy(args) => proxy::run(args).await,
        }
    });
    if let Err(e) = result {
        fail(&format!("{e:#}"));
    }
}

/// The subcommand asked for; `--help`, `--version` and usage errors print and exit here.
fn parse_or_exit() -> Command {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match cli::parse(&args) {
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
    }
}

/// Logs to stderr (`RUST_LOG`, default `info`), panics included.
fn init_logs() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never into a file or journal.
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    panics::log_panics();
}

fn fail(message: &str) -> ! {
    eprintln!("{}: {message}", cli::PROGRAM);
    std::process::exit(1);
}
