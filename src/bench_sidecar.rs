//! `rh bench sidecar`: the sidecar against a throwaway PostgreSQL started for the run (so it
//! needs the PostgreSQL server binaries, as the tests do). Each figure sits next to a baseline
//! from the same run:
//! - snapshot rows/s for a narrow table at two sizes, against the upstream's own COPY TO STDOUT
//!   of that table read by a client (the rate the upstream can hand rows out at);
//! - apply latency of 10-row upstream transactions (commit acknowledged upstream to applied in
//!   rhei), against the upstream's own commit round trip;
//! - replication lag under a steady pgbench load (time until rhei has applied the upstream's
//!   WAL position sampled every 100 ms), with pgbench's tps with and without rhei following;
//! - pgbench through rhei with write forwarding (every statement of its transactions, and its
//!   point reads, pass through rhei to the upstream), against pgbench straight at the upstream.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt;
use rhei::{EngineConfig, HtapEngine, RawConfig};
use rhei_sidecar::PgFollower;
use rhei_sidecar::pgoutput::parse_lsn;
use rhei_sidecar::testing::PgCluster;
use tokio_postgres::{Client, NoTls};
use tokio_util::sync::CancellationToken;

use crate::bench::{Figure, per_sec, report};
use crate::harness::percentile;

/// The reference system's published figures the issue asks rhei to beat.
const REFERENCE_SNAPSHOT_ROWS_PER_SEC: f64 = 466_000.0;
const REFERENCE_APPLY_P50_US: f64 = 228.0;
const REFERENCE_APPLY_P99_US: f64 = 943.0;

async fn connect(cluster: &PgCluster) -> anyhow::Result<Client> {
    let (client, connection) = cluster.config().connect(NoTls).await.context("connect to the benchmark upstream")?;
    tokio::spawn(connection);
    Ok(client)
}

/// An engine in a fresh directory following `include` on the upstream with its own slot.
struct Follower {
    engine: HtapEngine,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Follower {
    async fn start(cluster: &PgCluster, include: &str, slot: &str) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let mut raw = RawConfig::default();
        raw.sidecar.upstream = Some(cluster.url());
        raw.sidecar.include = Some(vec![include.to_string()]);
        raw.sidecar.slot = Some(slot.to_string());
        let config = raw.validate()?;
        let sidecar = config.sidecar.context("sidecar configuration")?;
        // The engine settings `rh serve --upstream` would use (the history in Parquet too).
        let engine = HtapEngine::open(EngineConfig { data_dir: dir.path().into(), ..config.engine }).await?;
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(PgFollower::new(engine.clone(), sidecar)?.run(shutdown.clone()));
        Ok(Self { engine, shutdown, task, _dir: dir })
    }

    async fn wait_streaming(&self) -> anyhow::Result<()> {
        loop {
            match self.engine.upstream_status() {
                Some(s) if s.state == "streaming" => return Ok(()),
                Some(s) if s.state == "failed" => anyhow::bail!("the follower failed: {:?}", s.last_error),
                _ => tokio::time::sleep(Duration::from_millis(1)).await,
            }
        }
    }

    fn transactions_applied(&self) -> u64 {
        self.engine.upstream_status().map_or(0, |s| s.transactions_applied)
    }

    async fn stop(self, upstream: &Client, slot: &str) -> anyhow::Result<()> {
        self.shutdown.cancel();
        let _ = self.task.await;
        self.engine.close().await;
        drop_slot(upstream, slot).await
    }
}

/// Drops a finished follower's slot: it would hold WAL back for the rest of the run.
async fn drop_slot(upstream: &Client, slot: &str) -> anyhow::Result<()> {
    for _ in 0..100 {
        let active: Option<bool> =
            upstream.query_opt("SELECT active FROM pg_replication_slots WHERE slot_name = $1", &[&slot]).await?.map(|r| r.get(0));
        match active {
            Some(true) => tokio::time::sleep(Duration::from_millis(20)).await,
            Some(false) => {
                upstream.execute("SELECT pg_drop_replication_slot($1)", &[&slot]).await?;
                break;
            }
            None => break,
        }
    }
    Ok(())
}


async fn snapshot_figures(up: &Client, cluster: &PgCluster, rows: usize, figures: &mut Vec<Figure>, name: &'static str) -> anyhow::Result<()> {
    let table = format!("narrow_{rows}");
    up.batch_execute(&format!(
        "CREATE TABLE {table} (id bigint PRIMARY KEY, v int, name text);
         INSERT INTO {table} SELECT g, g % 1000, 'name ' || g FROM generate_series(1, {rows}) g;"
    ))
    .await?;
    up.batch_execute(&format!("VACUUM ANALYZE {table}")).await?;
    let started = Instant::now();
    let stream = up.copy_out(&format!("COPY {table} TO STDOUT")).await?;
    let mut stream = std::pin::pin!(stream);
    while let Some(chunk) = stream.next().await {
        chunk?;
    }
    let baseline = per_sec(rows, started.elapsed());
    let slot = format!("rhei_bench_{rows}");
    let started = Instant::now();
    let follower = Follower::start(cluster, &table, &slot).await?;
    follower.wait_streaming().await?;
    let rate = per_sec(rows, started.elapsed());
    follower.stop(up, &slot).await?;
    figures.push(Figure { name: name.into(), value: rate, unit: "rows/s", baseline: Some((baseline, "upstream COPY TO STDOUT, read by a client")) });
    figures.push(Figure {
        name: "  same, against the reference system".into(),
        value: rate,
        unit: "rows/s",
        baseline: Some((REFERENCE_SNAPSHOT_ROWS_PER_SEC, "reference system's published initial sync")),
    });
    Ok(())
}

async fn apply_latency(up: &Client, cluster: &PgCluster, txns: usize, figures: &mut Vec<Figure>) -> anyhow::Result<()> {
    up.batch_execute("CREATE TABLE ten (id bigint PRIMARY KEY, v int, note text)").await?;
    let slot = "rhei_bench_apply";
    let follower = Follower::start(cluster, "ten", slot).await?;
    follower.wait_streaming().await?;
    let mut latencies = Vec::with_capacity(txns);
    let mut commits = Vec::with_capacity(txns);
    let mut reports = follower.engine.watch_upstream();
    for i in 0..txns {
        let before = follower.transactions_applied();
        let sql = format!("INSERT INTO ten SELECT g, g, 'ten' FROM generate_series({}, {}) g", i * 10, i * 10 + 9);
        let started = Instant::now();
        up.batch_execute(&sql).await?;
        let committed = Instant::now();
        commits.push(committed - started);
        let applied = reports.wait_for(|s| s.as_ref().is_some_and(|s| s.transactions_applied > before));
        tokio::time::timeout(Duration::from_secs(10), applied)
            .await
            .with_context(|| format!("transaction {i} was not applied within 10 s"))??;
        latencies.push(committed.elapsed());
    }
    follower.stop(up, slot).await?;
    latencies.sort();
    commits.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    figures.push(Figure {
        name: "10-row transaction applied after upstream commit, p50".into(),
        value: us(percentile(&latencies, 50)),
        unit: "us",
        baseline: Some((REFERENCE_APPLY_P50_US, "reference system's published p50")),
    });
    figures.push(Figure {
        name: "10-row transaction applied after upstream commit, p99".into(),
        value: us(percentile(&latencies, 99)),
        unit: "us",
        baseline: Some((REFERENCE_APPLY_P99_US, "reference system's published p99")),
    });
    figures.push(Figure {
        name: "  same p50, against the upstream's own commit".into(),
        value: us(percentile(&latencies, 50)),
        unit: "us",
        baseline: Some((us(percentile(&commits, 50)), "upstream INSERT+commit round trip p50")),
    });
    Ok(())
}

/// pgbench against the run's upstream with `args`.
fn pgbench(cluster: &PgCluster, args: &[&str]) -> Command {
    pgbench_on(cluster, cluster.port(), args)
}

/// pgbench against the server on loopback `port` (the upstream, or rhei in front of it).
fn pgbench_on(cluster: &PgCluster, port: u16, args: &[&str]) -> Command {
    let mut command = Command::new(cluster.bin_dir().join("pgbench"));
    command.args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres"]).args(args).arg("postgres");
    command
}

/// The tps a finished pgbench run printed.
fn tps(out: &std::process::Output) -> anyhow::Result<f64> {
    anyhow::ensure!(out.status.success(), "pgbench failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("tps = ").and_then(|rest| rest.split_whitespace().next()).and_then(|n| n.parse().ok()))
        .context("pgbench printed no tps")
}

async fn lag_under_pgbench(up: &Client, cluster: &PgCluster, seconds: u64, figures: &mut Vec<Figure>) -> anyhow::Result<()> {
    let init = pgbench(cluster, &["-i", "-q", "-s", "5"]).output().context("run pgbench -i")?;
    anyhow::ensure!(init.status.success(), "pgbench -i failed: {}", String::from_utf8_lossy(&init.stderr));
    up.batch_execute("ALTER TABLE pgbench_history REPLICA IDENTITY FULL").await?;
    let duration = seconds.to_string();
    let load = ["-n", "-c", "4", "-j", "2", "-T", duration.as_str()];
    let alone = tps(&pgbench(cluster, &load).output().context("run pgbench")?)?;
    let slot = "rhei_bench_lag";
    let follower = Follower::start(cluster, "pgbench_*", slot).await?;
    follower.wait_streaming().await?;
    let mut command = pgbench(cluster, &load);
    let bench = tokio::task::spawn_blocking(move || command.output());
    let until = Instant::now() + Duration::from_secs(seconds.saturating_sub(1).max(1));
    let mut lags = Vec::new();
    while Instant::now() < until {
        let target: String = up.query_one("SELECT pg_current_wal_insert_lsn()::text", &[]).await?.get(0);
        let target = parse_lsn(&target)?;
        let sampled = Instant::now();
        let deadline = sampled + Duration::from_secs(10);
        let mut reports = follower.engine.watch_upstream();
        let caught_up = reports.wait_for(|s| {
            s.as_ref().and_then(|s| s.applied_position.as_deref()).and_then(|p| parse_lsn(p).ok()).is_some_and(|lsn| lsn >= target)
        });
        let _ = tokio::time::timeout_at(deadline.into(), caught_up).await;
        lags.push(sampled.elapsed());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let with = tps(&bench.await??)?;
    follower.stop(up, slot).await?;
    lags.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    figures.push(Figure { name: "pgbench tps with rhei following".into(), value: with, unit: "tps", baseline: Some((alone, "pgbench tps alone")) });
    figures.push(Figure {
        name: "replication lag under pgbench, p50".into(),
        value: us(percentile(&lags, 50)),
        unit: "us",
        baseline: None,
    });
    figures.push(Figure {
        name: "replication lag under pgbench, p99".into(),
        value: us(percentile(&lags, 99)),
        unit: "us",
        baseline: None,
    });
    Ok(())
}

/// pgbench's transactions through rhei with `forward_writes`, against the same pgbench run
/// straight at the upstream: what the extra hop costs a client that points at rhei.
async fn forwarding_overhead(up: &Client, cluster: &PgCluster, seconds: u64, figures: &mut Vec<Figure>) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let slot = "rhei_bench_forward";
    let mut raw = RawConfig::default();
    raw.sidecar.upstream = Some(cluster.url());
    raw.sidecar.include = Some(vec!["pgbench_*".to_string()]);
    raw.sidecar.slot = Some(slot.to_string());
    raw.sidecar.forward_writes = Some(true);
    let config = raw.validate()?;
    let sidecar = config.sidecar.context("sidecar configuration")?;
    let engine = HtapEngine::open(EngineConfig { data_dir: dir.path().into(), ..config.engine }).await?;
    let shutdown = CancellationToken::new();
    let follower = rhei_sidecar::spawn(engine.clone(), sidecar, shutdown.clone())?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let server = tokio::spawn(rhei::serve(listener, engine.clone(), config.server, shutdown.clone()));
    loop {
        match engine.upstream_status() {
            Some(s) if s.state == "streaming" => break,
            Some(s) if s.state == "failed" => anyhow::bail!("the follower failed: {:?}", s.last_error),
            _ => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
    let duration = seconds.to_string();
    let runs: [(&str, &[&str]); 3] = [
        ("TPC-B-like, simple protocol", &[]),
        ("TPC-B-like, prepared statements", &["-M", "prepared"]),
        ("select-only point reads", &["-S"]),
    ];
    for (name, extra) in runs {
        let load = [&["-n", "-c", "4", "-j", "2", "-T", duration.as_str()], extra].concat();
        let direct = tps(&pgbench(cluster, &load).output().context("run pgbench")?)?;
        let mut through = pgbench_on(cluster, port, &load);
        let through = tps(&tokio::task::spawn_blocking(move || through.output()).await??)?;
        figures.push(Figure {
            name: format!("pgbench through rhei forwarding, {name}"),
            value: through,
            unit: "tps",
            baseline: Some((direct, "pgbench straight at the upstream")),
        });
    }
    shutdown.cancel();
    let _ = server.await;
    let _ = follower.await;
    engine.close().await;
    drop_slot(up, slot).await
}

/// Runs the suite; `quick` shrinks it for a look (not for figures).
pub async fn run(quick: bool) -> anyhow::Result<serde_json::Value> {
    let cluster = tokio::task::spawn_blocking(PgCluster::start).await??;
    let up = connect(&cluster).await?;
    let mut figures = Vec::new();
    let (small, large, txns, seconds) = if quick { (20_000, 100_000, 100, 3) } else { (100_000, 1_000_000, 1_000, 10) };
    snapshot_figures(&up, &cluster, small, &mut figures, "snapshot, narrow table, small").await?;
    snapshot_figures(&up, &cluster, large, &mut figures, "snapshot, narrow table, large").await?;
    apply_latency(&up, &cluster, txns, &mut figures).await?;
    lag_under_pgbench(&up, &cluster, seconds, &mut figures).await?;
    forwarding_overhead(&up, &cluster, seconds, &mut figures).await?;
    println!("(small = {small} rows, large = {large} rows; {txns} transactions; pgbench -c 4 -j 2 for {seconds} s at scale 5)");
    Ok(report("sidecar", &figures))
}
