//! Shared helpers: temporary engines and in-process servers on a free loopback port.

use std::net::SocketAddr;

use arrow::array::RecordBatch;
use arrow::util::pretty::pretty_format_batches;
use rhei::{EngineConfig, HtapEngine};
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;

/// An engine on a fresh data directory (kept alive by the returned guard).
pub async fn engine() -> (HtapEngine, TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = HtapEngine::open(EngineConfig::with_data_dir(dir.path())).await.expect("open engine");
    (engine, dir)
}

/// Batches as sorted text lines, one per row, values separated by `|` (NULL as `NULL`).
pub fn rows(batches: &[RecordBatch]) -> Vec<String> {
    let mut out = Vec::new();
    for batch in batches {
        for row in 0..batch.num_rows() {
            let cells: Vec<String> = batch
                .columns()
                .iter()
                .map(|col| {
                    if col.is_null(row) {
                        "NULL".to_string()
                    } else {
                        arrow::util::display::array_value_to_string(col, row).expect("displayable")
                    }
                })
                .collect();
            out.push(cells.join("|"));
        }
    }
    out
}

pub fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[allow(dead_code)]
pub fn pretty(batches: &[RecordBatch]) -> String {
    pretty_format_batches(batches).expect("pretty").to_string()
}

/// A server running in-process on 127.0.0.1:0; stops when dropped.
pub struct Server {
    pub addr: SocketAddr,
    pub engine: HtapEngine,
    shutdown: CancellationToken,
    follower: Option<tokio::task::JoinHandle<()>>,
    _dir: Option<TempDir>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.cancel();
        // The last write of durable OLAP storage must finish before the temporary directory
        // goes. It runs on the engine's own threads, never on the runtime, so waiting here for
        // it cannot deadlock (and a test's runtime may be gone before a spawned task ran).
        futures::executor::block_on(self.engine.close());
    }
}

impl Server {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts a server with configuration changed by `configure` (auth, users, TLS, ...).
    pub async fn start_with(configure: impl FnOnce(&mut rhei::RawConfig)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().to_path_buf();
        Self::launch(&path, Some(dir), configure).await
    }

    /// Starts a server on an existing data directory (which outlives it), following an
    /// upstream when the configuration names one.
    #[allow(dead_code)]
    pub async fn start_at(data_dir: &std::path::Path, configure: impl FnOnce(&mut rhei::RawConfig)) -> Self {
        Self::launch(data_dir, None, configure).await
    }

    async fn launch(data_dir: &std::path::Path, dir: Option<TempDir>, configure: impl FnOnce(&mut rhei::RawConfig)) -> Self {
        let mut raw = rhei::RawConfig::default();
        raw.server.listen = Some("127.0.0.1:0".into());
        raw.engine.data_dir = Some(data_dir.to_path_buf());
        configure(&mut raw);
        let config = raw.validate().expect("valid config");
        let engine = HtapEngine::open(config.engine.clone()).await.expect("open engine");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shutdown = CancellationToken::new();
        let follower = config.sidecar.clone().map(|sidecar| rhei_sidecar::spawn(engine.clone(), sidecar, shutdown.clone()).expect("sidecar"));
        tokio::spawn(rhei::serve(listener, engine.clone(), config.server, shutdown.clone()));
        Self { addr, engine, shutdown, follower, _dir: dir }
    }

    /// Stops the server and waits for its upstream follower to let go of the upstream. The
    /// follower drops its upstream clients on the async runtime as it ends; that must not panic
    /// (a known trap of the reference system, which dropped blocking clients there).
    #[allow(dead_code)]
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(follower) = self.follower.take() {
            follower.await.expect("the follower ends without panicking");
        }
    }

    pub async fn client(&self) -> tokio_postgres::Client {
        let conninfo = format!("host={} port={} user=rhei dbname=rhei", self.addr.ip(), self.addr.port());
        let (client, connection) = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls).await.expect("connect");
        tokio::spawn(async move {
            let _ = connection.await;
        });
        client
    }
}

/// Rows of a simple query as `a|b|c` lines (NULL as `NULL`).
pub async fn lines(client: &tokio_postgres::Client, sql: &str) -> Vec<String> {
    try_lines(client, sql).await.unwrap_or_else(|e| panic!("{sql}: {e:?}"))
}

pub async fn try_lines(client: &tokio_postgres::Client, sql: &str) -> Result<Vec<String>, tokio_postgres::Error> {
    let messages = client.simple_query(sql).await?;
    Ok(messages
        .into_iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => Some((0..row.len()).map(|i| row.get(i).unwrap_or("NULL")).collect::<Vec<_>>().join("|")),
            _ => None,
        })
        .collect())
}
