//! `rh bench engine`: the engine's write and sync throughput through its Rust API, each figure
//! next to a baseline measured in the same run on the same machine (plain rusqlite doing the
//! same writes), because absolute numbers on a shared machine mean little.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use rhei::{EngineConfig, HtapEngine, ScalarValue, Synchronous};
use serde_json::json;

/// Sizes of one run.
pub struct BenchOptions {
    pub single_inserts: usize,
    pub writers: usize,
    pub batch_rows: usize,
    pub sync_events: usize,
    pub waits: usize,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self { single_inserts: 5_000, writers: 8, batch_rows: 200_000, sync_events: 1_000_000, waits: 2_000 }
    }
}

pub(crate) struct Figure {
    pub(crate) name: String,
    pub(crate) value: f64,
    pub(crate) unit: &'static str,
    pub(crate) baseline: Option<(f64, &'static str)>,
}

pub(crate) fn per_sec(n: usize, took: Duration) -> f64 {
    n as f64 / took.as_secs_f64().max(1e-9)
}

async fn open(dir: &Path, consistency_eventual: bool) -> anyhow::Result<HtapEngine> {
    let mut config = EngineConfig::with_data_dir(dir);
    config.synchronous = Synchronous::Normal;
    if consistency_eventual {
        config.consistency = rhei::Consistency::Eventual;
    }
    // Background sync far apart, and not nudged by the writes, so the throughput figures
    // measure what they name.
    config.sync_interval = Duration::from_secs(3600);
    config.sync_nudge_gap = Duration::from_secs(3600);
    Ok(HtapEngine::open(config).await?)
}

/// Single-row autocommit inserts with plain rusqlite (WAL, synchronous=NORMAL): the floor
/// rhei's OLTP path is compared with.
fn sqlite_single_inserts(dir: &Path, n: usize) -> anyhow::Result<f64> {
    let conn = rusqlite::Connection::open(dir.join("baseline.db"))?;
    conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")?;
    let started = Instant::now();
    let mut stmt = conn.prepare("INSERT INTO t VALUES (?1, ?2)")?;
    for i in 0..n {
        stmt.execute(rusqlite::params![i as i64, "value"])?;
    }
    Ok(per_sec(n, started.elapsed()))
}

/// Reads by key of the rows [`sqlite_single_inserts`] wrote, with a prepared statement.
fn sqlite_point_reads(dir: &Path, n: usize) -> anyhow::Result<f64> {
    let conn = rusqlite::Connection::open(dir.join("baseline.db"))?;
    let mut stmt = conn.prepare("SELECT v FROM t WHERE id = ?1")?;
    let started = Instant::now();
    for i in 0..n {
        let _: String = stmt.query_row([(i * 7 % n) as i64], |row| row.get(0))?;
    }
    Ok(per_sec(n, started.elapsed()))
}

fn sqlite_batch_insert(dir: &Path, n: usize) -> anyhow::Result<f64> {
    let mut conn = rusqlite::Connection::open(dir.join("baseline-batch.db"))?;
    conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")?;
    let started = Instant::now();
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare("INSERT INTO t VALUES (?1, ?2)")?;
        for i in 0..n {
            stmt.execute(rusqlite::params![i as i64, "value"])?;
        }
    }
    tx.commit()?;
    Ok(per_sec(n, started.elapsed()))
}

fn values(from: usize, n: usize) -> String {
    (from..from + n).map(|i| format!("({i}, 'value')")).collect::<Vec<_>>().join(",")
}

/// Runs the suite and prints a table; returns the figures as JSON.
pub async fn run(options: BenchOptions) -> anyhow::Result<serde_json::Value> {
    let dir = tempfile::tempdir().context("create a scratch directory")?;
    let mut figures = Vec::new();

    let baseline_single = sqlite_single_inserts(dir.path(), options.single_inserts)?;
    let baseline_batch = sqlite_batch_insert(dir.path(), options.batch_rows)?;

    // 1 writer, single-row autocommit inserts.
    let engine = open(&dir.path().join("one"), false).await?;
    engine.execute("CREATE TABLE t (id bigint PRIMARY KEY, v text)").await?;
    let started = Instant::now();
    for i in 0..options.single_inserts {
        engine.execute(&format!("INSERT INTO t VALUES ({i}, 'value')")).await?;
    }
    figures.push(Figure {
        name: "single-row inserts, 1 writer".into(),
        value: per_sec(options.single_inserts, started.elapsed()),
        unit: "rows/s",
        baseline: Some((baseline_single, "plain rusqlite, 1 writer")),
    });
    // Point reads by key of the rows just written, one after another.
    let baseline_reads = sqlite_point_reads(dir.path(), options.single_inserts)?;
    let started = Instant::now();
    for i in 0..options.single_inserts {
        engine.query(&format!("SELECT v FROM t WHERE id = {}", i * 7 % options.single_inserts)).await?;
    }
    figures.push(Figure {
        name: "point reads by key, 1 reader".into(),
        value: per_sec(options.single_inserts, started.elapsed()),
        unit: "reads/s",
        baseline: Some((baseline_reads, "plain rusqlite, prepared")),
    });
    engine.close().await;

    // N concurrent writers share commits.
    let engine = open(&dir.path().join("many"), false).await?;
    engine.execute("CREATE TABLE t (id bigint PRIMARY KEY, v text)").await?;
    let per_writer = options.single_inserts;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..options.writers {
        let engine = engine.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..per_writer {
                engine.execute(&format!("INSERT INTO t VALUES ({}, 'value')", w * per_writer + i)).await?;
            }
            Ok::<_, rhei::EngineError>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    figures.push(Figure {
        name: "single-row inserts, concurrent writers".into(),
        value: per_sec(per_writer * options.writers, started.elapsed()),
        unit: "rows/s",
        baseline: Some((baseline_single, "plain rusqlite, 1 writer")),
    });
    engine.close().await;

    // The same with a prepared statement and parameters, as drivers using the extended
    // protocol send it (one parse, values bound per execution).
    let engine = open(&dir.path().join("prepared"), false).await?;
    engine.execute("CREATE TABLE t (id bigint PRIMARY KEY, v text)").await?;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..options.writers {
        let engine = engine.clone();
        tasks.push(tokio::spawn(async move {
            let mut session = engine.session();
            let insert = session.parse("INSERT INTO t VALUES ($1, $2)")?.remove(0);
            for i in 0..per_writer {
                let id = ScalarValue::Int64(Some((w * per_writer + i) as i64));
                session.execute_prepared(&insert, &[id, ScalarValue::Utf8(Some("value".into()))]).await?;
            }
            Ok::<_, rhei::EngineError>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    figures.push(Figure {
        name: "prepared single-row inserts, concurrent".into(),
        value: per_sec(per_writer * options.writers, started.elapsed()),
        unit: "rows/s",
        baseline: Some((baseline_single, "plain rusqlite, 1 writer")),
    });
    engine.close().await;

    // Multi-row inserts.
    let engine = open(&dir.path().join("batch"), false).await?;
    engine.execute("CREATE TABLE t (id bigint PRIMARY KEY, v text)").await?;
    let chunk = 1_000;
    let started = Instant::now();
    let mut done = 0;
    while done < options.batch_rows {
        let n = chunk.min(options.batch_rows - done);
        engine.execute(&format!("INSERT INTO t VALUES {}", values(done, n))).await?;
        done += n;
    }
    let insert_took = started.elapsed();
    figures.push(Figure {
        name: "multi-row inserts (1000 rows each)".into(),
        value: per_sec(options.batch_rows, insert_took),
        unit: "rows/s",
        baseline: Some((baseline_batch, "plain rusqlite, one transaction")),
    });
    engine.close().await;

    // Sync throughput: events logged while sync is idle, then one catch-up.
    let engine = open(&dir.path().join("sync"), false).await?;
    engine.execute("CREATE TABLE t (id bigint PRIMARY KEY, v text)").await?;
    engine.sync_now().await?;
    let mut done = 0;
    while done < options.sync_events {
        let n = 10_000.min(options.sync_events - done);
        engine.execute(&format!("INSERT INTO t VALUES {}", values(done, n))).await?;
        done += n;
    }
    let status = engine.sync_status();
    anyhow::ensure!(status.lag_events >= options.sync_events as u64, "sync ran during the load; the figure would be wrong");
    let started = Instant::now();
    engine.sync_now().await?;
    let took = started.elapsed();
    let applied = status.lag_events as usize;
    figures.push(Figure {
        name: "sync: change log to OLAP copy".into(),
        value: per_sec(applied, took),
        unit: "events/s",
        baseline: Some((per_sec(options.sync_events, insert_took.mul_f64(options.sync_events as f64 / options.batch_rows as f64)), "rhei's own multi-row insert rate")),
    });

    // Read-your-writes wait with an empty log: strong vs eventual, same query, on a small
    // table so the figure is the wait and not the scan.
    engine.execute("CREATE TABLE w (id bigint PRIMARY KEY, v text)").await?;
    engine.execute(&format!("INSERT INTO w VALUES {}", values(0, 1_000))).await?;
    engine.sync_now().await?;
    let strong = latency(&engine, options.waits).await?;
    engine.close().await;
    let engine = open(&dir.path().join("sync"), true).await?;
    let eventual = latency(&engine, options.waits).await?;
    engine.close().await;
    figures.push(Figure {
        name: "aggregate latency p99, strong (empty log)".into(),
        value: strong.1.as_secs_f64() * 1e6,
        unit: "us",
        baseline: Some((eventual.1.as_secs_f64() * 1e6, "same query, eventual")),
    });
    figures.push(Figure {
        name: "consistency wait added, p50 / p99".into(),
        value: strong.0.saturating_sub(eventual.0).as_secs_f64() * 1e6,
        unit: "us (p50)",
        baseline: Some((strong.1.saturating_sub(eventual.1).as_secs_f64() * 1e6, "us added at p99")),
    });

    // Restart: the same data directory (the sync table's rows) opened with the OLAP copy
    // rebuilt from SQLite, then written to Parquet and opened from those files.
    let sync_dir = dir.path().join("sync");
    let started = Instant::now();
    let engine = open(&sync_dir, false).await?;
    let rebuild = started.elapsed();
    engine.close().await;
    let parquet = |dir: &Path| EngineConfig {
        olap_storage: rhei::OlapStorage::Parquet,
        olap_persist_interval: Duration::from_secs(3600),
        ..EngineConfig::with_data_dir(dir)
    };
    let engine = HtapEngine::open(parquet(&sync_dir)).await?;
    let started = Instant::now();
    engine.persist_olap().await?;
    let persist_took = started.elapsed();
    engine.close().await;
    drop(engine);
    let started = Instant::now();
    let engine = HtapEngine::open(parquet(&sync_dir)).await?;
    let from_files = started.elapsed();
    anyhow::ensure!(engine.sync_status().tables_from_files == 2, "the reopen did not load from the Parquet files");
    engine.close().await;
    let rows = options.sync_events + 1_000;
    figures.push(Figure {
        name: "OLAP copy written to Parquet".into(),
        value: per_sec(rows, persist_took),
        unit: "rows/s",
        baseline: Some((per_sec(rows, rebuild), "rebuild from SQLite at open")),
    });
    figures.push(Figure {
        name: "open, OLAP copy loaded from Parquet".into(),
        value: per_sec(rows, from_files),
        unit: "rows/s",
        baseline: Some((per_sec(rows, rebuild), "rebuild from SQLite at open")),
    });

    Ok(report("engine", &figures))
}

/// Prints figures as a table with their ratio to the baseline; returns them as JSON.
pub(crate) fn report(suite: &str, figures: &[Figure]) -> serde_json::Value {
    println!("{:<48} {:>14} {:<10} {:>10}  baseline", "figure", "value", "unit", "ratio");
    let mut json_rows = Vec::new();
    for f in figures {
        let (ratio, base) = match f.baseline {
            Some((b, what)) if b > 0.0 => (format!("{:.2}x", f.value / b), format!("{b:.0} ({what})")),
            _ => ("-".into(), "-".into()),
        };
        println!("{:<48} {:>14.0} {:<10} {:>10}  {base}", f.name, f.value, f.unit, ratio);
        json_rows.push(json!({"figure": f.name, "value": f.value, "unit": f.unit,
            "baseline": f.baseline.map(|b| b.0), "baseline_is": f.baseline.map(|b| b.1)}));
    }
    json!({"suite": suite, "figures": json_rows})
}

/// p50 and p99 of an OLAP-routed aggregate on a small table with nothing to sync.
async fn latency(engine: &HtapEngine, n: usize) -> anyhow::Result<(Duration, Duration)> {
    let engine = Arc::new(engine.clone());
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        engine.query("SELECT count(*) FROM w WHERE id < 10").await?;
        times.push(started.elapsed());
    }
    times.sort();
    Ok((crate::harness::percentile(&times, 50), crate::harness::percentile(&times, 99)))
}

#[cfg(test)]
mod tests {
    /// The suite runs end to end at a small size; its sync figure refuses to be measured if
    /// sync ran during the load (writes must not nudge it here).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_engine_suite_runs() {
        let options = super::BenchOptions { single_inserts: 50, writers: 2, batch_rows: 2_000, sync_events: 20_000, waits: 20 };
        let report = super::run(options).await.expect("the engine suite runs");
        assert_eq!(report["figures"].as_array().map(Vec::len), Some(10), "{report}");
    }
}
