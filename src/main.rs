//! `rh`: the rhei command line. `rh serve` opens the data directory and serves PostgreSQL
//! clients until SIGINT or SIGTERM.

mod bench;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use rhei::{HtapEngine, RawConfig};
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(name = "rh", version, about = "rhei: an HTAP database that speaks PostgreSQL")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve PostgreSQL clients from a data directory.
    Serve {
        /// Address to listen on [default: 127.0.0.1:5433].
        #[arg(long)]
        listen: Option<String>,
        /// Data directory [default: ./rhei-data].
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// TOML configuration file; flags and RHEI_* variables override it.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Run a benchmark suite and print its figures next to same-run baselines.
    Bench {
        /// Suite to run: `engine` (write, sync and consistency-wait throughput).
        suite: String,
        /// Also write the figures as JSON to this file.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Scale the work down (for a quick look, not for figures).
        #[arg(long)]
        quick: bool,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Serve { listen, data_dir, config } => {
            let mut raw = match &config {
                Some(path) => RawConfig::from_file(path)?,
                None => RawConfig::default(),
            };
            raw.apply_env(std::env::vars())?;
            if listen.is_some() {
                raw.server.listen = listen;
            }
            if data_dir.is_some() {
                raw.engine.data_dir = data_dir;
            }
            let config = raw.validate()?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .thread_name("rhei-net")
                .build()
                .context("start the network runtime")?;
            runtime.block_on(serve(config))
        }
        Command::Bench { suite, json, quick } => {
            anyhow::ensure!(suite == "engine", "unknown benchmark suite \"{suite}\" (available: engine)");
            let mut options = bench::BenchOptions::default();
            if quick {
                options = bench::BenchOptions { single_inserts: 500, writers: 8, batch_rows: 20_000, sync_events: 50_000, waits: 200 };
            }
            let runtime = tokio::runtime::Runtime::new().context("start the runtime")?;
            let figures = runtime.block_on(bench::run(options))?;
            if let Some(path) = json {
                std::fs::write(&path, serde_json::to_string_pretty(&figures)?)
                    .with_context(|| format!("write {}", path.display()))?;
            }
            Ok(())
        }
    }
}

async fn serve(config: rhei::Config) -> anyhow::Result<()> {
    let data_dir = config.engine.data_dir.clone();
    let engine = HtapEngine::open(config.engine.clone())
        .await
        .with_context(|| format!("open data directory {}", data_dir.display()))?;
    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .with_context(|| format!("listen on {}", config.server.listen))?;
    let addr = listener.local_addr().context("read the listening address")?;
    tracing::info!("rhei {} serving {} on {addr}", env!("CARGO_PKG_VERSION"), data_dir.display());
    eprintln!("rhei is ready: connect with  psql -h {} -p {}", addr.ip(), addr.port());
    let shutdown = CancellationToken::new();
    let signals = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down");
        signals.cancel();
    });
    rhei::serve(listener, engine.clone(), config.server, shutdown).await.context("serve clients")?;
    engine.close();
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
