//! `rh bench pgbench`: PostgreSQL's own benchmark tool against rhei and against a PostgreSQL
//! 15 started for the run, on the same machine, same data, same clients.
//!
//! Both get pgbench's tables at the chosen scale from the same `pgbench -i` (create, COPY,
//! VACUUM, ALTER TABLE ... ADD PRIMARY KEY). pgbench then runs its built-in scripts,
//! `select-only` and `tpcb-like`, with `-M simple` and `-M prepared`, 8 clients, 2 threads,
//! `-n` (no vacuum), for a fixed time each, first against PostgreSQL, then against rhei.
//!
//! Durability is stated side by side. rhei's default `synchronous = normal` does not fsync
//! each commit (a power loss may lose the last ones, never corrupts), as PostgreSQL with
//! `synchronous_commit = off`; rhei's `synchronous = full` fsyncs every commit, as PostgreSQL's
//! default `synchronous_commit = on`. The write script runs at both levels on both systems
//! (PostgreSQL with fsync on). Read-only figures do not depend on it.
//!
//! rhei runs in this process (as the other wire benchmarks do); PostgreSQL and pgbench are
//! processes of their own; all share the machine's cores.

use std::process::Command;

use anyhow::Context;
use rhei::{EngineConfig, Synchronous};
use rhei_sidecar::testing::{ClusterOptions, PgCluster};

use crate::bench::{Figure, report};
use crate::harness::RheiServer;

pub struct PgbenchOptions {
    /// pgbench's scale factor (100,000 accounts each).
    pub scale: u32,
    /// Seconds per pgbench run.
    pub seconds: u64,
    pub clients: usize,
}

/// Where pgbench connects.
struct Target {
    port: u16,
    user: &'static str,
    database: &'static str,
    /// Per-session settings through libpq's PGOPTIONS (PostgreSQL's synchronous_commit).
    options: Option<&'static str>,
}

/// One pgbench run's result.
struct Run {
    tps: f64,
    latency_ms: f64,
}

/// Runs pgbench (from `bin`) against `target` with `args`; its tps and average latency.
fn pgbench(bin: &std::path::Path, target: &Target, args: &[&str]) -> anyhow::Result<Run> {
    let mut command = Command::new(bin.join("pgbench"));
    command
        .args(["-h", "127.0.0.1", "-p", &target.port.to_string(), "-U", target.user])
        .args(args)
        .arg(target.database);
    if let Some(options) = target.options {
        command.env("PGOPTIONS", options);
    }
    let out = command.output().with_context(|| format!("run pgbench {}", args.join(" ")))?;
    let text = String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(
        out.status.success(),
        "pgbench {} failed: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr),
        text
    );
    let number = |prefix: &str| -> anyhow::Result<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix).and_then(|rest| rest.split_whitespace().next()).and_then(|n| n.parse().ok()))
            .with_context(|| format!("pgbench printed no \"{prefix}\": {text}"))
    };
    Ok(Run { tps: number("tps = ")?, latency_ms: number("latency average = ")? })
}

/// `pgbench -i` (from `bin`) at `scale` against `target`: pgbench's four tables, loaded and keyed.
fn initialize(bin: &std::path::Path, target: &Target, scale: &str) -> anyhow::Result<()> {
    let init = Command::new(bin.join("pgbench"))
        .args(["-h", "127.0.0.1", "-p", &target.port.to_string(), "-U", target.user, "-i", "-q", "-s", scale, target.database])
        .output()
        .context("run pgbench -i")?;
    anyhow::ensure!(init.status.success(), "pgbench -i failed: {}", String::from_utf8_lossy(&init.stderr));
    Ok(())
}

pub async fn run(options: PgbenchOptions) -> anyhow::Result<serde_json::Value> {
    let conf = vec![
        "fsync = on".to_string(),
        "shared_buffers = 256MB".to_string(),
        "max_connections = 40".to_string(),
    ];
    let cluster = tokio::task::spawn_blocking(move || PgCluster::start_with(ClusterOptions { conf, ..Default::default() })).await??;
    let bin = cluster.bin_dir().to_path_buf();
    let seconds = options.seconds.to_string();
    let clients = options.clients.to_string();
    let scale = options.scale.to_string();
    let pg = |sync: &'static str| Target {
        port: cluster.port(),
        user: "postgres",
        database: "postgres",
        options: Some(if sync == "off" { "-c synchronous_commit=off" } else { "-c synchronous_commit=on" }),
    };
    let run = |target: &Target, script: &str, mode: &str| {
        pgbench(&bin, target, &["-n", "-b", script, "-M", mode, "-c", &clients, "-j", "2", "-T", &seconds])
    };

    eprintln!("initializing pgbench scale {} in PostgreSQL", options.scale);
    initialize(&bin, &pg("on"), &scale)?;

    let scratch = tempfile::tempdir().context("create a scratch directory")?;
    let data_dir = scratch.path().join("rhei");
    eprintln!("initializing the same in rhei");
    let normal = RheiServer::start(EngineConfig { synchronous: Synchronous::Normal, ..EngineConfig::with_data_dir(&data_dir) }).await?;
    let rhei_target = |server: &RheiServer| Target { port: server.port(), user: "rhei", database: "rhei", options: None };
    let init_bin = bin.clone();
    let init_target = rhei_target(&normal);
    let init_scale = scale.clone();
    tokio::task::spawn_blocking(move || initialize(&init_bin, &init_target, &init_scale)).await??;
    normal.engine.sync_now().await?;

    let mut figures = Vec::new();
    let mut compare = |name: String, rhei: Run, postgres: Run| {
        figures.push(Figure { name: name.clone(), value: rhei.tps, unit: "tps", baseline: Some((postgres.tps, "PostgreSQL 15 tps")) });
        figures.push(Figure {
            name: format!("  {name}, latency"),
            value: rhei.latency_ms * 1000.0,
            unit: "us",
            baseline: Some((postgres.latency_ms * 1000.0, "PostgreSQL 15 latency")),
        });
    };
    // One script in both modes against both systems; `synchronous_commit` is PostgreSQL's
    // durability, `label` says which rhei's `server` has.
    let mut both_modes = |script: &str, synchronous_commit: &'static str, server: &RheiServer, label: &str| -> anyhow::Result<()> {
        for mode in ["simple", "prepared"] {
            eprintln!("{script}, -M {mode}{label}");
            let postgres = run(&pg(synchronous_commit), script, mode)?;
            let rhei = run(&rhei_target(server), script, mode)?;
            compare(format!("{script} -M {mode}{label}"), rhei, postgres);
        }
        Ok(())
    };
    both_modes("select-only", "on", &normal, "")?;
    both_modes("tpcb-like", "off", &normal, ", no flush per commit")?;
    normal.stop().await;
    let full = RheiServer::start(EngineConfig { synchronous: Synchronous::Full, ..EngineConfig::with_data_dir(&data_dir) }).await?;
    both_modes("tpcb-like", "on", &full, ", flush per commit")?;
    full.stop().await;
    println!(
        "(pgbench scale {}, {} clients, 2 threads, {} s per run; PostgreSQL 15 with fsync on, shared_buffers 256MB)",
        options.scale, options.clients, options.seconds
    );
    Ok(report("pgbench", &figures))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// pgbench's own scripts run against rhei and PostgreSQL, and both commit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pgbench_runs_against_both() {
        let report = run(PgbenchOptions { scale: 1, seconds: 1, clients: 2 }).await.expect("the pgbench suite runs");
        let figures = report["figures"].as_array().expect("figures");
        assert_eq!(figures.len(), 12, "{report}");
        for figure in figures.iter().step_by(2) {
            assert!(figure["value"].as_f64().is_some_and(|tps| tps > 0.0), "no transactions: {report}");
        }
    }
}
