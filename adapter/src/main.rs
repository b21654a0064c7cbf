//! `powerstrip-weave`: one binary, one subcommand per job, one tokio runtime.

use adapter::commands;
use argh::FromArgs;

/// powerstrip-weave: make containers wait for their Weave-style network (ethwe).
#[derive(FromArgs, Debug)]
struct Cli {
    #[argh(subcommand)]
    command: Command,
}

#[derive(FromArgs, Debug)]
#[argh(subcommand)]
enum Command {
    Adapter(commands::adapter::AdapterArgs),
    Launch(commands::launch::LaunchArgs),
    Attach(commands::attach::AttachArgs),
    Proxy(commands::proxy::ProxyArgs),
}

fn main() {
    let cli: Cli = argh::from_env();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
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
        match cli.command {
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
