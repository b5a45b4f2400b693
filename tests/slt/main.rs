//! sqllogictest files (`tests/slt/*.slt`) through the wire.
//!
//! Each file runs on one tokio-postgres connection to an `rh` server started in-process on
//! 127.0.0.1:0 with a fresh data directory, twice: once with `SET rhei.route = oltp` (SQLite
//! answers every query) and once with `SET rhei.route = olap` (DataFusion answers every query it
//! can), against the one expected output in the file. The same files then run on a throwaway
//! PostgreSQL 15 cluster (a fresh database per file), which proves the expectations themselves.
//!
//! Conventions (`tests/slt/README` in short): values as PostgreSQL's text format prints them,
//! NULL as `NULL`, the empty string as `(empty)`; column type letters `I` (int2/4/8), `R`
//! (float4/8, numeric) and `T` (everything else), checked strictly against the result's column
//! types; errors as `SQLSTATE message`, so `statement error 23505` matches on the code.
//!
//! Records rhei does not answer as PostgreSQL does yet are listed, with the reason, in
//! `tests/slt/known_differences.txt` (`file:line route reason`): they may fail on that route,
//! and the run fails if one of them starts passing (take it off the list) or if any record not
//! listed fails. `--list-differences` prints the failing records in that format.
//!
//! Usage: `cargo test -p rhei-tests --test slt [-- FILTER] [--complete] [--no-pg]`.
//! `--complete` rewrites the expected output from PostgreSQL (run it after adding records);
//! `--no-pg` skips the PostgreSQL run (for a machine without its server binaries; CI never
//! passes it).

#[path = "../it/common.rs"]
#[allow(dead_code)]
mod common;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use sqllogictest::{AsyncDB, DBOutput, DefaultColumnType, Runner};
use tokio_postgres::types::Type;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

/// An error as the runner matches it: `SQLSTATE message`.
#[derive(Debug)]
struct SqlError(String);

impl std::fmt::Display for SqlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SqlError {}

impl From<tokio_postgres::Error> for SqlError {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) => SqlError(format!("{} {}", db.code().code(), db.message())),
            None => SqlError(format!("XXXXX {e}")),
        }
    }
}

/// One connection, as the runner drives it.
struct Connection {
    client: Client,
}

fn column_type(ty: &Type) -> DefaultColumnType {
    match *ty {
        Type::INT2 | Type::INT4 | Type::INT8 => DefaultColumnType::Integer,
        Type::FLOAT4 | Type::FLOAT8 | Type::NUMERIC => DefaultColumnType::FloatingPoint,
        _ => DefaultColumnType::Text,
    }
}

#[async_trait::async_trait]
impl AsyncDB for Connection {
    type Error = SqlError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, SqlError> {
        // Describe first for the column types (the simple protocol does not carry them); a
        // statement that cannot be described is then run for its real error or result.
        let types: Option<Vec<DefaultColumnType>> =
            self.client.prepare(sql).await.ok().map(|s| s.columns().iter().map(|c| column_type(c.type_())).collect());
        let messages = self.client.simple_query(sql).await?;
        let mut rows = Vec::new();
        let mut described = false;
        let mut count = 0;
        for message in messages {
            match message {
                SimpleQueryMessage::RowDescription(_) => described = true,
                SimpleQueryMessage::Row(row) => rows.push(
                    (0..row.len())
                        .map(|i| match row.get(i) {
                            None => "NULL".to_string(),
                            Some("") => "(empty)".to_string(),
                            Some(v) => v.to_string(),
                        })
                        .collect(),
                ),
                SimpleQueryMessage::CommandComplete(n) => count = n,
                _ => {}
            }
        }
        if !described {
            return Ok(DBOutput::StatementComplete(count));
        }
        let width = rows.first().map_or(0, Vec::len);
        // A query Describe could not type shows `?` letters, which the strict check refuses.
        let types = types.unwrap_or_else(|| vec![DefaultColumnType::Any; width]);
        Ok(DBOutput::Rows { types, rows })
    }

    fn engine_name(&self) -> &str {
        "postgres"
    }

    async fn shutdown(&mut self) {}
}

async fn connect(config: &tokio_postgres::Config, setup: &[String]) -> Result<Connection, SqlError> {
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    for sql in setup {
        client.batch_execute(sql).await?;
    }
    Ok(Connection { client })
}

/// Records that differ from PostgreSQL on a route, by `file:line` and route.
struct KnownDifferences(std::collections::HashMap<(String, String), String>);

impl KnownDifferences {
    fn load() -> Self {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("slt/known_differences.txt");
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let mut map = std::collections::HashMap::new();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let mut parts = line.splitn(3, char::is_whitespace);
            let (Some(at), Some(routes)) = (parts.next(), parts.next()) else { continue };
            let reason = parts.next().unwrap_or_default().trim().to_string();
            for route in routes.split(',') {
                map.insert((at.to_string(), route.to_string()), reason.clone());
            }
        }
        Self(map)
    }

    fn contains(&self, at: &str, route: &str) -> bool {
        self.0.contains_key(&(at.to_string(), route.to_string()))
    }

    /// The listed records of `file` on `route`.
    fn of(&self, file: &str, route: &str) -> Vec<String> {
        let mut listed: Vec<String> =
            self.0.keys().filter(|(at, r)| r == route && at.split(':').next() == Some(file)).map(|(at, _)| at.clone()).collect();
        listed.sort();
        listed
    }
}

/// Where one file runs.
enum Target<'a> {
    Rhei { route: &'static str },
    Postgres { cluster: &'a rhei_sidecar::testing::PgCluster },
}

/// The route name a target's known differences are listed under.
fn route_of(target: &Target<'_>) -> &'static str {
    match target {
        Target::Rhei { route } => route,
        Target::Postgres { .. } => "postgresql",
    }
}

async fn run_file(
    path: &Path,
    target: &Target<'_>,
    complete: bool,
    known: &KnownDifferences,
    list: &mut Vec<String>,
) -> Result<(), String> {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("slt").to_string();
    let (config, setup, server) = match target {
        Target::Rhei { route } => {
            let server = common::Server::start().await;
            let mut config = tokio_postgres::Config::new();
            config.host(server.addr.ip().to_string()).port(server.addr.port()).user("rhei").dbname("rhei");
            (config, vec![format!("SET rhei.route = {route}"), "SET TimeZone = 'UTC'".to_string()], Some(server))
        }
        Target::Postgres { cluster } => {
            let database = format!("slt_{}", stem.replace(|c: char| !c.is_ascii_alphanumeric(), "_"));
            let (admin, connection) = cluster.config().connect(NoTls).await.map_err(|e| SqlError::from(e).to_string())?;
            tokio::spawn(async move {
                let _ = connection.await;
            });
            for sql in [format!("DROP DATABASE IF EXISTS {database}"), format!("CREATE DATABASE {database}")] {
                admin.batch_execute(&sql).await.map_err(|e| SqlError::from(e).to_string())?;
            }
            let mut config = cluster.config();
            config.dbname(&database);
            (config, vec!["SET TimeZone = 'UTC'".to_string(), "SET DateStyle = 'ISO, MDY'".to_string()], None)
        }
    };
    let mut runner = Runner::new(move || {
        let config = config.clone();
        let setup = setup.clone();
        async move { connect(&config, &setup).await }
    });
    runner.with_column_validator(sqllogictest::strict_column_validator);
    let result = if complete {
        runner
            .update_test_file(path, " ", sqllogictest::default_validator, sqllogictest::default_normalizer, sqllogictest::strict_column_validator)
            .await
            .map_err(|e| e.to_string())
    } else {
        // Every record runs, so one run shows all the differences of a file.
        let records = sqllogictest::parse_file::<DefaultColumnType>(path).map_err(|e| e.to_string())?;
        let route = route_of(target);
        let file = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let mut errors = Vec::new();
        let mut failed_known = std::collections::HashSet::new();
        for record in records {
            if matches!(record, sqllogictest::Record::Halt { .. }) {
                break;
            }
            if let Err(e) = runner.run_async(record).await {
                let at = format!("{file}:{}", e.location().line());
                list.push(format!("{at} {route}"));
                if known.contains(&at, route) {
                    failed_known.insert(at);
                } else {
                    errors.push(e.display(false).to_string());
                }
            }
        }
        for at in known.of(&file, route) {
            if !failed_known.contains(&at) {
                errors.push(format!("{at} is listed in known_differences.txt for {route} but now passes: take it off the list"));
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(format!("{} records failed:\n{}", errors.len(), errors.join("\n"))) }
    };
    drop(server);
    result
}

fn slt_files(filter: Option<&str>) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("slt");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .filter(|p| filter.is_none_or(|f| p.to_string_lossy().contains(f)))
        .collect();
    files.sort();
    files
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let complete = args.iter().any(|a| a == "--complete");
    let list_differences = args.iter().any(|a| a == "--list-differences");
    let known = KnownDifferences::load();
    let mut listed = Vec::new();
    let skip_pg = args.iter().any(|a| a == "--no-pg");
    // cargo test passes libtest flags (--nocapture, --test-threads=N, ...); the first plain
    // word is a file filter, as for other tests.
    let filter = args.iter().find(|a| !a.starts_with('-')).map(String::as_str);
    let files = slt_files(filter);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let mut failures = Vec::new();
    let mut passed = 0;
    runtime.block_on(async {
        let cluster = if skip_pg && !complete {
            None
        } else {
            match rhei_sidecar::testing::PgCluster::start() {
                Ok(cluster) => Some(cluster),
                Err(e) => {
                    failures.push(format!("PostgreSQL 15 is needed to prove the expected output (or pass --no-pg): {e}"));
                    None
                }
            }
        };
        for file in &files {
            let name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
            let mut targets: Vec<(String, Target)> = Vec::new();
            if let Some(cluster) = &cluster {
                targets.push(("postgresql".into(), Target::Postgres { cluster }));
            }
            if !complete {
                targets.push(("rhei oltp".into(), Target::Rhei { route: "oltp" }));
                targets.push(("rhei olap".into(), Target::Rhei { route: "olap" }));
            }
            for (label, target) in &targets {
                match run_file(file, target, complete, &known, &mut listed).await {
                    Ok(()) => {
                        passed += 1;
                        println!("slt {name} on {label} ... ok");
                    }
                    Err(e) => {
                        println!("slt {name} on {label} ... FAILED");
                        failures.push(format!("{name} on {label}:\n{e}"));
                    }
                }
            }
        }
    });
    if list_differences {
        for line in &listed {
            println!("{line}");
        }
    }
    println!("\nslt: {passed} passed, {} failed", failures.len());
    if failures.is_empty() {
        return ExitCode::SUCCESS;
    }
    for failure in &failures {
        eprintln!("\n---- {failure}");
    }
    ExitCode::FAILURE
}
