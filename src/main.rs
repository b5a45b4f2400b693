//! `rh`: the rhei command line. `rh serve` opens the data directory and serves PostgreSQL
//! clients until SIGINT or SIGTERM.

mod bench;
mod bench_freshness;
mod bench_mixed;
mod bench_pgbench;
mod bench_reference;
mod bench_sidecar;
mod harness;
mod tpch;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use rhei::{HtapEngine, RawConfig};
use tokio_util::sync::CancellationToken;

/// mimalloc rather than glibc's malloc: values are allocated on one thread and freed on another
/// all the time (a COPY's converter and the SQLite writer, the sync thread and query workers),
/// and glibc's arena locks showed up in profiles as futex wake-ups on those frees.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
        /// Follow this upstream as a read-only replica with temporal history
        /// (postgres://user@host:port/db).
        #[arg(long)]
        upstream: Option<String>,
        /// Throw away the replica and its history and take a fresh snapshot of the upstream
        /// (the recovery when the upstream lost rhei's replication slot).
        #[arg(long)]
        resnapshot: bool,
    },
    /// Show sync and replication status of a running server.
    Status {
        /// Server to ask [default: 127.0.0.1:5433].
        #[arg(long, default_value = "127.0.0.1:5433")]
        server: String,
        /// User to connect as.
        #[arg(long, default_value = "rhei")]
        user: String,
    },
    /// Run a benchmark suite and print its figures next to same-run baselines.
    Bench {
        /// Suite to run: `engine` (write, sync and consistency-wait throughput), `sidecar`
        /// (snapshot, apply latency and lag against a PostgreSQL started for the run), `tpch`
        /// (TPC-H through the wire against PostgreSQL 15 and in-process DataFusion), `load` (only
        /// tpch's COPY load, per table, and the OLAP catch-up after it) or
        /// `freshness` (how soon a commit is visible to analytics, strong vs eventual) or
        /// `reference` (the reference system's published workload, API and wire) or `mixed`
        /// (TPC-B and TPC-H at once against each alone) or `pgbench` (pgbench's select-only and
        /// TPC-B scripts against rhei and PostgreSQL 15).
        suite: String,
        /// Also write the figures as JSON to this file.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Scale the work down (for a quick look, not for figures).
        #[arg(long)]
        quick: bool,
        /// TPC-H scale factor for `tpch`, `load` and `mixed` [default: 1, or 0.1 with --quick]; pgbench
        /// scale for `pgbench` [default: 10, or 1 with --quick].
        #[arg(long)]
        scale: Option<f64>,
        /// Timed runs per query for `tpch`, after an untimed one; the fastest counts.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// CPU priority of the OLAP threads, `mixed` only: idle, low or normal [default: the
        /// engine's, idle].
        #[arg(long)]
        olap_priority: Option<String>,
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
        Command::Serve { listen, data_dir, config, upstream, resnapshot } => {
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
            if upstream.is_some() {
                raw.sidecar.upstream = upstream;
            }
            if resnapshot {
                raw.sidecar.resnapshot = Some(true);
            }
            let config = raw.validate()?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .thread_name("rhei-net")
                .build()
                .context("start the network runtime")?;
            runtime.block_on(serve(config))
        }
        Command::Status { server, user } => {
            let runtime = tokio::runtime::Runtime::new().context("start the runtime")?;
            runtime.block_on(status(&server, &user))
        }
        Command::Bench { suite, json, quick, scale, runs, olap_priority } => {
            anyhow::ensure!(olap_priority.is_none() || suite == "mixed", "--olap-priority applies to the mixed suite only");
            let olap_priority = olap_priority.map(|p| rhei::OlapPriority::parse("--olap-priority", &p)).transpose()?;
            let runtime = tokio::runtime::Runtime::new().context("start the runtime")?;
            let figures = match suite.as_str() {
                "engine" => {
                    let mut options = bench::BenchOptions::default();
                    if quick {
                        options = bench::BenchOptions { single_inserts: 500, writers: 8, batch_rows: 20_000, sync_events: 50_000, waits: 200 };
                    }
                    runtime.block_on(bench::run(options))?
                }
                "sidecar" => runtime.block_on(bench_sidecar::run(quick))?,
                "freshness" => {
                    let mut options = bench_freshness::FreshnessOptions::default();
                    if quick {
                        options.probes = 100;
                    }
                    runtime.block_on(bench_freshness::run(options))?
                }
                "reference" => runtime.block_on(bench_reference::run(if quick { 1 } else { 5 }))?,
                "mixed" => {
                    let scale = scale.unwrap_or(if quick { 0.1 } else { 1.0 });
                    let oltp_seconds = if quick { 5 } else { 20 };
                    runtime.block_on(bench_mixed::run(bench_mixed::MixedOptions { scale, oltp_seconds, clients: 4, olap_priority }))?
                }
                "pgbench" => {
                    let pgbench_scale = scale.map_or(if quick { 1 } else { 10 }, |s| s.max(1.0) as u32);
                    let seconds = if quick { 3 } else { 20 };
                    runtime.block_on(bench_pgbench::run(bench_pgbench::PgbenchOptions { scale: pgbench_scale, seconds, clients: 8 }))?
                }
                "tpch" => {
                    let scale = scale.unwrap_or(if quick { 0.1 } else { 1.0 });
                    runtime.block_on(tpch::run(tpch::TpchOptions { scale, runs }))?
                }
                "load" => runtime.block_on(tpch::run_load(scale.unwrap_or(if quick { 0.1 } else { 1.0 })))?,
                other => anyhow::bail!("unknown benchmark suite \"{other}\" (available: engine, sidecar, tpch, load, freshness, reference, mixed, pgbench)"),
            };
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
    let follower = match config.sidecar.clone() {
        Some(sidecar) => {
            tracing::info!("following {} as a read-only replica", rhei::redact(&sidecar.upstream));
            Some(rhei_sidecar::spawn(engine.clone(), sidecar, shutdown.clone()).context("start the sidecar")?)
        }
        None => None,
    };
    let signals = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down");
        signals.cancel();
    });
    rhei::serve(listener, engine.clone(), config.server, shutdown.clone()).await.context("serve clients")?;
    shutdown.cancel();
    if let Some(follower) = follower {
        let _ = follower.await;
    }
    if config.engine.olap_storage == rhei::OlapStorage::Parquet {
        // So the next start loads every table from its files with nothing to replay.
        match engine.persist_olap().await {
            Ok(seq) => tracing::info!("OLAP copy written to {} at sequence {seq}", data_dir.join("olap").display()),
            Err(e) => tracing::warn!("could not write the OLAP copy at shutdown (the next start replays the change log): {e}"),
        }
    }
    engine.close().await;
    Ok(())
}

/// `rh status`: the server's `rhei_status` and `rhei_replication` views, as tables.
async fn status(server: &str, user: &str) -> anyhow::Result<()> {
    let (host, port) = server.rsplit_once(':').context("--server is host:port")?;
    let mut config = tokio_postgres::Config::new();
    config.host(host).port(port.parse().context("--server port")?).user(user).dbname("rhei");
    let (client, connection) = config.connect(tokio_postgres::NoTls).await.with_context(|| format!("connect to {server}"))?;
    tokio::spawn(connection);
    for (title, sql) in [
        ("replication", "SELECT source, upstream, state, applied_position, upstream_position, lag_bytes, lag_seconds, \
                         last_commit_time, transactions_applied, rows_applied, snapshot_rows, last_error FROM rhei_replication"),
        ("tables", "SELECT table_name, olap_rows, pending_changes, applied_seq, committed_seq, persisted_seq, last_error FROM rhei_status ORDER BY 1"),
    ] {
        let rows = client.simple_query(sql).await.with_context(|| format!("read {title} status"))?;
        println!("{title}:");
        let mut printed = false;
        for message in rows {
            if let tokio_postgres::SimpleQueryMessage::Row(row) = message {
                let cells: Vec<String> = (0..row.len())
                    .map(|i| format!("{}={}", row.columns()[i].name(), row.get(i).unwrap_or("NULL")))
                    .collect();
                println!("  {}", cells.join("  "));
                printed = true;
            }
        }
        if !printed {
            println!("  (none)");
        }
    }
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
