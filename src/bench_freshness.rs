//! `rh bench freshness`: how soon a committed row is visible to analytics, through the wire.
//! One connection commits a row; another runs an OLAP-routed aggregate until its answer
//! includes the row. Measured in `strong` and `eventual` consistency, idle and under a steady
//! write load (other connections inserting into another table at a fixed rate).
//!
//! Per case: the share of rows the first query after the commit already sees, the visibility
//! lag (commit acknowledged to an answer that includes the row), and the aggregate's latency;
//! strong's added latency is its p99 minus eventual's p99 in the same conditions and run.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use rhei::EngineConfig;
use tokio_postgres::Client;

use crate::bench::{Figure, report};
use crate::harness::{RheiServer, Workers, percentile};

/// Sizes of one run.
pub struct FreshnessOptions {
    /// Rows committed and looked for, per case.
    pub probes: usize,
    /// Background inserts per second in the "under load" cases.
    pub load_rate: u32,
}

impl Default for FreshnessOptions {
    fn default() -> Self {
        Self { probes: 1_000, load_rate: 1_000 }
    }
}

/// One case's samples.
struct Case {
    first_query_saw_it: usize,
    lags: Vec<Duration>,
    queries: Vec<Duration>,
}

const AGGREGATE: &str = "SELECT max(id) FROM probe";
const LOAD_CONNECTIONS: u32 = 4;
/// Rows in the probed table before the first probe, so the aggregate scans something.
const PRELOADED: i64 = 10_000;

pub async fn run(options: FreshnessOptions) -> anyhow::Result<serde_json::Value> {
    let dir = tempfile::tempdir().context("create a scratch directory")?;
    let server = RheiServer::start(EngineConfig::with_data_dir(dir.path())).await?;
    let writer = server.client().await?;
    let reader = server.client().await?;
    writer.batch_execute("CREATE TABLE probe (id bigint PRIMARY KEY, v int); CREATE TABLE background (id bigserial PRIMARY KEY, v int, note text)").await?;
    let rows: Vec<String> = (1..=PRELOADED).map(|i| format!("({i}, {})", i % 100)).collect();
    writer.batch_execute(&format!("INSERT INTO probe VALUES {}", rows.join(", "))).await?;
    let route = reader.simple_query(&format!("EXPLAIN ROUTE {AGGREGATE}")).await?;
    let routed_olap = route.iter().any(|m| matches!(m, tokio_postgres::SimpleQueryMessage::Row(r) if r.get(0) == Some("olap")));
    anyhow::ensure!(routed_olap, "the probe aggregate does not route to the OLAP engine");

    let mut next_id = PRELOADED;
    let mut figures = Vec::new();
    for loaded in [false, true] {
        let load = if loaded { Some(steady_load(&server, options.load_rate).await?) } else { None };
        reader.batch_execute("SET rhei.consistency = strong").await?;
        let strong = measure(&writer, &reader, &mut next_id, options.probes).await?;
        reader.batch_execute("SET rhei.consistency = eventual").await?;
        let eventual = measure(&writer, &reader, &mut next_id, options.probes).await?;
        let achieved = match load {
            Some(l) => Some(l.stop().await?),
            None => None,
        };
        push_figures(&mut figures, if loaded { "under load" } else { "idle" }, strong, eventual, options.probes);
        if let Some(rate) = achieved {
            figures.push(Figure {
                name: "background inserts during the load cases".into(),
                value: rate,
                unit: "rows/s",
                baseline: Some((f64::from(options.load_rate), "rate asked for")),
            });
        }
    }
    server.stop().await;
    Ok(report("freshness", &figures))
}

fn push_figures(figures: &mut Vec<Figure>, when: &str, strong: Case, eventual: Case, probes: usize) {
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let seen = |case: &Case| 100.0 * case.first_query_saw_it as f64 / probes as f64;
    let (strong_seen, eventual_seen) = (seen(&strong), seen(&eventual));
    let (mut s_lags, mut s_queries, mut e_lags, mut e_queries) = (strong.lags, strong.queries, eventual.lags, eventual.queries);
    for samples in [&mut s_lags, &mut s_queries, &mut e_lags, &mut e_queries] {
        samples.sort_unstable();
    }
    let p = |samples: &[Duration], n| us(percentile(samples, n));
    let added = |n| us(percentile(&s_queries, n).saturating_sub(percentile(&e_queries, n)));
    let rows = [
        ("strong: seen by the first query", strong_seen, "%", None::<(f64, &'static str)>),
        ("strong: aggregate p99", p(&s_queries, 99), "us", Some((p(&e_queries, 99), "same query, eventual"))),
        ("strong: added p50 / p99", added(50), "us (p50)", Some((added(99), "us added at p99"))),
        ("eventual: seen by the first query", eventual_seen, "%", None),
        ("eventual: visibility lag p50", p(&e_lags, 50), "us", Some((p(&s_lags, 50), "strong's lag, p50"))),
        ("eventual: visibility lag p99", p(&e_lags, 99), "us", Some((p(&s_lags, 99), "strong's lag, p99"))),
    ];
    for (name, value, unit, baseline) in rows {
        let (mode, what) = name.split_once(": ").unwrap_or((name, ""));
        figures.push(Figure { name: format!("{mode}, {when}: {what}"), value, unit, baseline });
    }
}

/// Commits `probes` rows one at a time and polls the aggregate after each until it sees it.
async fn measure(writer: &Client, reader: &Client, next_id: &mut i64, probes: usize) -> anyhow::Result<Case> {
    let insert = writer.prepare("INSERT INTO probe VALUES ($1, 0)").await?;
    let aggregate = reader.prepare(AGGREGATE).await?;
    let mut case = Case { first_query_saw_it: 0, lags: Vec::with_capacity(probes), queries: Vec::new() };
    for _ in 0..probes {
        *next_id += 1;
        writer.execute(&insert, &[&*next_id]).await?;
        let committed = Instant::now();
        let mut attempts = 0;
        loop {
            let started = Instant::now();
            let max: i64 = reader.query_one(&aggregate, &[]).await?.get(0);
            case.queries.push(started.elapsed());
            attempts += 1;
            if max >= *next_id {
                break;
            }
            anyhow::ensure!(committed.elapsed() < Duration::from_secs(30), "row {next_id} not visible after 30 s");
        }
        case.lags.push(committed.elapsed());
        if attempts == 1 {
            case.first_query_saw_it += 1;
        }
    }
    Ok(case)
}

/// Connections inserting single rows at a fixed total rate until stopped.
async fn steady_load(server: &RheiServer, rate: u32) -> anyhow::Result<Workers> {
    let mut workers = Workers::new();
    let period = Duration::from_secs_f64(f64::from(LOAD_CONNECTIONS) / f64::from(rate.max(1)));
    for _ in 0..LOAD_CONNECTIONS {
        let client = server.client().await?;
        workers.spawn(|stop, done| async move {
            let insert = client.prepare("INSERT INTO background (v, note) VALUES ($1, 'steady load')").await?;
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut v = 0i32;
            loop {
                tokio::select! {
                    () = stop.cancelled() => return Ok(()),
                    _ = tick.tick() => {}
                }
                v = v.wrapping_add(1);
                client.execute(&insert, &[&v]).await?;
                done.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    Ok(workers)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Strong consistency is read-your-writes by construction: the first aggregate after a
    /// commit must include it, idle and under load, every time.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn in_strong_mode_the_first_query_after_a_commit_sees_it() {
        let report = run(FreshnessOptions { probes: 50, load_rate: 200 }).await.expect("the freshness suite runs");
        let figures = report["figures"].as_array().expect("figures");
        let seen: Vec<_> = figures.iter().filter(|f| f["figure"].as_str().is_some_and(|n| n.starts_with("strong") && n.ends_with("seen by the first query"))).collect();
        assert_eq!(seen.len(), 2, "{report}");
        for f in seen {
            assert_eq!(f["value"].as_f64(), Some(100.0), "{f}");
        }
    }
}
