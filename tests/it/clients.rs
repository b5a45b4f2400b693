//! Client libraries no one here wrote, against a running server: psycopg 3, psycopg2, asyncpg,
//! SQLAlchemy 2 (ORM and `inspect()`), pandas, node-postgres and the PostgreSQL JDBC driver. Each script in
//! `tests/clients/` creates its own table, writes with parameters, reads back checking values
//! and the host language's types, aggregates, rolls back a transaction and checks SQLSTATEs; it
//! exits non-zero on the first wrong answer.
//!
//! The libraries must be installed (`.ci/run` installs them); a missing one fails the test,
//! saying what to install, rather than skipping it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::Server;

pub(crate) const PIP_INSTALL: &str = "python3 -m pip install 'psycopg[binary]>=3.2,<4' 'psycopg2-binary>=2.9,<3' \
                           'asyncpg>=0.29,<1' 'sqlalchemy>=2,<3' 'pandas>=2,<3' (or run .ci/run)";

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("clients")
}

/// Runs `program args... --port N` (cwd `tests/clients/`) against `server` and fails the test,
/// showing what the client printed, unless it exits 0.
pub(crate) async fn run_client(server: &Server, program: &str, args: &[&str], install_hint: &str) {
    let port = server.addr.port().to_string();
    let program = program.to_string();
    let mut argv: Vec<String> = args.iter().map(|a| (*a).to_string()).collect();
    argv.extend(["--host".into(), server.addr.ip().to_string(), "--port".into(), port]);
    let shown = format!("{program} {}", argv.join(" "));
    let output = tokio::task::spawn_blocking(move || {
        Command::new(&program).args(&argv).current_dir(clients_dir()).env("PYTHONDONTWRITEBYTECODE", "1").output()
    })
    .await
    .expect("client thread");
    let output = match output {
        Ok(output) => output,
        Err(e) => panic!("cannot run `{shown}`: {e}; install it: {install_hint}"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Exit status 3 is the scripts' "library missing" code.
    assert!(
        output.status.code() != Some(3),
        "`{shown}`: a client library is missing; install it: {install_hint}\n{stdout}{stderr}"
    );
    assert!(output.status.success(), "`{shown}` failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}", output.status);
}

async fn python(script: &str) {
    let server = Server::start().await;
    run_client(&server, "python3", &[script], PIP_INSTALL).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psycopg3() {
    python("psycopg3_client.py").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psycopg2() {
    python("psycopg2_client.py").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asyncpg() {
    python("asyncpg_client.py").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlalchemy_orm_and_inspect() {
    python("sqlalchemy_client.py").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pandas_read_sql() {
    python("pandas_client.py").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_postgres() {
    let server = Server::start().await;
    let hint = "Node.js >= 18 and `npm ci` in tests/clients/node (or run .ci/run)";
    assert!(
        clients_dir().join("node/node_modules/pg").is_dir(),
        "node-postgres is not installed: run `npm ci` in tests/clients/node (or run .ci/run)"
    );
    run_client(&server, "node", &["node/pg_client.js"], hint).await;
}

/// Debian's PostgreSQL JDBC driver (`libpostgresql-jdbc-java`), run by Java's single-file
/// source launcher: no build step, no Maven.
const JDBC_JAR: &str = "/usr/share/java/postgresql.jar";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jdbc_metadata_and_queries() {
    run_jdbc(&Server::start().await).await;
}

/// The JDBC client script against `server`.
pub(crate) async fn run_jdbc(server: &Server) {
    let hint = "a JDK (java 11 or newer) and Debian's libpostgresql-jdbc-java (or run .ci/run)";
    assert!(Path::new(JDBC_JAR).is_file(), "{JDBC_JAR} is missing: install {hint}");
    run_client(server, "java", &["-cp", JDBC_JAR, "jdbc/JdbcClient.java"], hint).await;
}
