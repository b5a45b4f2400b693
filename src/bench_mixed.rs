//! `rh bench mixed`: how much rhei's two sides slow each other. A TPC-B-like write load
//! (pgbench's transaction: three updates, a read and an insert in one transaction, prepared,
//! through the wire) and the 22 TPC-H queries run first alone, then at the same time. OLTP
//! tps and query times under the mix are compared with each running alone, in the same run.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::Rng;
use rhei::EngineConfig;

use crate::bench::{Figure, report};
use crate::harness::{RheiServer, Workers};
use crate::tpch;

pub struct MixedOptions {
    pub scale: f64,
    /// Seconds of TPC-B alone.
    pub oltp_seconds: u64,
    /// Concurrent TPC-B connections.
    pub clients: usize,
    /// The OLAP threads' priority, when not the engine's default.
    pub olap_priority: Option<rhei::OlapPriority>,
}

/// pgbench's scale 1.
const ACCOUNTS: i32 = 100_000;
const TELLERS: i32 = 10;
const BRANCHES: i32 = 1;

pub async fn run(options: MixedOptions) -> anyhow::Result<serde_json::Value> {
    let scratch = tempfile::tempdir().context("create a scratch directory")?;
    eprintln!("generating TPC-H data at scale factor {}", options.scale);
    let files = tpch::generate(scratch.path(), options.scale).await?;
    let mut config = EngineConfig::with_data_dir(scratch.path().join("rhei"));
    config.olap_priority = options.olap_priority.unwrap_or(config.olap_priority);
    let server = RheiServer::start(config).await?;
    let client = server.client().await?;
    eprintln!("loading TPC-H and TPC-B tables");
    tpch::load(&client, &files).await?;
    create_tpcb(&client).await?;
    server.engine.sync_now().await?;
    // The load's WAL is copied into the database file now, not by the checkpointer during
    // the TPC-B-alone phase, which it slowed below the rate TPC-B then kept beside TPC-H.
    server.engine.checkpoint().await?;

    eprintln!("TPC-B alone for {} s", options.oltp_seconds);
    let oltp = tpcb(&server, options.clients).await?;
    tokio::time::sleep(Duration::from_secs(options.oltp_seconds)).await;
    let alone_tps = oltp.stop().await?;

    eprintln!("TPC-H alone");
    let alone = run_queries(&client, options.scale).await?;

    eprintln!("TPC-H with TPC-B running");
    let oltp = tpcb(&server, options.clients).await?;
    let mixed = run_queries(&client, options.scale).await?;
    let mixed_tps = oltp.stop().await?;

    // TPC-B alone once more, last: the first phase after the load has run slower than TPC-B
    // beside the queries, so both are shown until that is understood.
    eprintln!("TPC-B alone again for {} s", options.oltp_seconds);
    let oltp = tpcb(&server, options.clients).await?;
    tokio::time::sleep(Duration::from_secs(options.oltp_seconds)).await;
    let alone_after_tps = oltp.stop().await?;
    server.stop().await;

    let total = |times: &[Duration]| times.iter().sum::<Duration>().as_secs_f64() * 1e3;
    let mut figures = vec![
        Figure {
            name: format!("TPC-B tps while TPC-H runs ({} clients)", options.clients),
            value: mixed_tps,
            unit: "tps",
            baseline: Some((alone_tps, "TPC-B alone")),
        },
        Figure {
            name: format!("TPC-B tps while TPC-H runs, against TPC-B alone last ({} clients)", options.clients),
            value: mixed_tps,
            unit: "tps",
            baseline: Some((alone_after_tps, "TPC-B alone, last")),
        },
        Figure {
            name: format!("TPC-H SF {} total while TPC-B runs", options.scale),
            value: total(&mixed),
            unit: "ms",
            baseline: Some((total(&alone), "TPC-H alone")),
        },
    ];
    for (n, (m, a)) in mixed.iter().zip(&alone).enumerate() {
        figures.push(Figure {
            name: format!("  Q{}", n + 1),
            value: m.as_secs_f64() * 1e3,
            unit: "ms",
            baseline: Some((a.as_secs_f64() * 1e3, "alone")),
        });
    }
    Ok(report("mixed", &figures))
}

async fn create_tpcb(client: &tokio_postgres::Client) -> anyhow::Result<()> {
    client
        .batch_execute(
            "CREATE TABLE pgbench_branches (bid int PRIMARY KEY, bbalance int NOT NULL, filler char(88));
             CREATE TABLE pgbench_tellers (tid int PRIMARY KEY, bid int NOT NULL, tbalance int NOT NULL, filler char(84));
             CREATE TABLE pgbench_accounts (aid int PRIMARY KEY, bid int NOT NULL, abalance int NOT NULL, filler char(84));
             CREATE TABLE pgbench_history (tid int, bid int, aid int, delta int, mtime timestamp, filler char(22));",
        )
        .await?;
    let values = |n: i32, row: &dyn Fn(i32) -> String| (1..=n).map(row).collect::<Vec<_>>().join(",");
    client.batch_execute(&format!("INSERT INTO pgbench_branches VALUES {}", values(BRANCHES, &|b| format!("({b}, 0, '')")))).await?;
    client.batch_execute(&format!("INSERT INTO pgbench_tellers VALUES {}", values(TELLERS, &|t| format!("({t}, 1, 0, '')")))).await?;
    let mut aid = 0;
    while aid < ACCOUNTS {
        let chunk = (ACCOUNTS - aid).min(10_000);
        let rows: Vec<String> = (aid + 1..=aid + chunk).map(|a| format!("({a}, 1, 0, '')")).collect();
        client.batch_execute(&format!("INSERT INTO pgbench_accounts VALUES {}", rows.join(","))).await?;
        aid += chunk;
    }
    Ok(())
}

/// Each query once through the wire, in order; their times.
async fn run_queries(client: &tokio_postgres::Client, scale: f64) -> anyhow::Result<Vec<Duration>> {
    let mut times = Vec::new();
    for n in 1..=tpch::queries::COUNT {
        let sql = tpch::queries::query(n, scale);
        let started = Instant::now();
        tpch::text_rows(client, &sql).await.with_context(|| format!("Q{n}"))?;
        times.push(started.elapsed());
    }
    Ok(times)
}

/// TPC-B clients, committing until stopped.
async fn tpcb(server: &RheiServer, clients: usize) -> anyhow::Result<Workers> {
    let mut workers = Workers::new();
    for _ in 0..clients {
        let client = server.client().await?;
        workers.spawn(|stop, done| async move {
            let account = client.prepare("UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2").await?;
            let balance = client.prepare("SELECT abalance FROM pgbench_accounts WHERE aid = $1").await?;
            let teller = client.prepare("UPDATE pgbench_tellers SET tbalance = tbalance + $1 WHERE tid = $2").await?;
            let branch = client.prepare("UPDATE pgbench_branches SET bbalance = bbalance + $1 WHERE bid = $2").await?;
            let history = client
                .prepare("INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES ($1, $2, $3, $4, CURRENT_TIMESTAMP)")
                .await?;
            while !stop.is_cancelled() {
                let (aid, tid, bid, delta) = {
                    let mut rng = rand::rng();
                    (rng.random_range(1..=ACCOUNTS), rng.random_range(1..=TELLERS), rng.random_range(1..=BRANCHES), rng.random_range(-5000..=5000))
                };
                client.batch_execute("BEGIN").await?;
                client.execute(&account, &[&delta, &aid]).await?;
                client.query_one(&balance, &[&aid]).await?;
                client.execute(&teller, &[&delta, &tid]).await?;
                client.execute(&branch, &[&delta, &bid]).await?;
                client.execute(&history, &[&tid, &bid, &aid, &delta]).await?;
                client.batch_execute("COMMIT").await?;
                done.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        });
    }
    Ok(workers)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// TPC-B commits while the TPC-H queries run, and every query still answers.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn tpcb_and_tpch_run_together() {
        let report = run(MixedOptions { scale: 0.01, oltp_seconds: 1, clients: 2, olap_priority: None }).await.expect("the mixed suite runs");
        let figures = report["figures"].as_array().expect("figures");
        assert_eq!(figures.len(), 3 + 22, "{report}");
        assert!(figures[0]["value"].as_f64().is_some_and(|tps| tps > 0.0), "no TPC-B commits under TPC-H: {report}");
        assert!(figures[1]["baseline"].as_f64().is_some_and(|tps| tps > 0.0), "no TPC-B commits in the last phase: {report}");
    }
}
