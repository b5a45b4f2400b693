//! Throwaway PostgreSQL clusters for the tests (see `rhei_sidecar::testing`). A cluster that
//! cannot start fails the test, never skips it.

use std::time::{Duration, Instant};

pub use rhei_sidecar::testing::{ClusterOptions, PgCluster};
use tokio_postgres::{Client, NoTls};

use crate::common::lines;

/// How long the sidecar tests wait for rhei to reach the upstream.
pub const WAIT: Duration = Duration::from_secs(30);

pub fn start_cluster() -> PgCluster {
    PgCluster::start().unwrap_or_else(|e| panic!("{e}"))
}

pub fn start_cluster_with(options: ClusterOptions) -> PgCluster {
    PgCluster::start_with(options).unwrap_or_else(|e| panic!("{e}"))
}

/// A client of the upstream itself, as an application of it would connect.
pub async fn connect(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.expect("connect upstream");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// Waits until `rhei_replication` shows `state`; returns the row (`state|last_error`).
pub async fn wait_state(rh: &Client, state: &str) -> String {
    let started = Instant::now();
    loop {
        let row = lines(rh, "SELECT state, last_error FROM rhei_replication").await;
        if row.first().is_some_and(|r| r.starts_with(&format!("{state}|"))) {
            return row[0].clone();
        }
        assert!(started.elapsed() < WAIT, "never reached state {state}: {row:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
