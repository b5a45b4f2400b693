//! What the wire benchmarks share: an embedded rhei server on a free loopback port, reached
//! through the wire as any client would, with its engine at hand; and percentiles.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rhei::{EngineConfig, HtapEngine, RawConfig};
use tokio_postgres::{Client, NoTls};
use tokio_util::sync::CancellationToken;

pub struct RheiServer {
    pub engine: HtapEngine,
    addr: std::net::SocketAddr,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RheiServer {
    pub async fn start(engine: EngineConfig) -> anyhow::Result<Self> {
        let config = RawConfig::default().validate()?;
        let engine = HtapEngine::open(engine).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(rhei::serve(listener, engine.clone(), config.server, shutdown.clone()));
        Ok(Self { engine, addr, shutdown, task })
    }

    /// The loopback port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn config(&self) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config.host(self.addr.ip().to_string()).port(self.addr.port()).user("rhei").dbname("rhei");
        config
    }

    pub async fn client(&self) -> anyhow::Result<Client> {
        connect(self.config()).await
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.task.await;
        self.engine.close().await;
    }
}

pub async fn connect(config: tokio_postgres::Config) -> anyhow::Result<Client> {
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

/// The `p`-th percentile (0-100) of `sorted` (zero when empty).
pub fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted.get((sorted.len() * p / 100).min(sorted.len().saturating_sub(1))).copied().unwrap_or_default()
}

/// Client tasks repeating a unit of work until stopped, counting the units they complete.
pub struct Workers {
    stop: CancellationToken,
    done: Arc<AtomicU64>,
    started: std::time::Instant,
    tasks: Vec<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Workers {
    pub fn new() -> Self {
        Self { stop: CancellationToken::new(), done: Arc::new(AtomicU64::new(0)), started: std::time::Instant::now(), tasks: Vec::new() }
    }

    /// Adds a task: `work(stop, done)` runs until `stop` is cancelled, adding one to `done` per unit.
    pub fn spawn<F>(&mut self, work: impl FnOnce(CancellationToken, Arc<AtomicU64>) -> F)
    where
        F: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        self.tasks.push(tokio::spawn(work(self.stop.clone(), self.done.clone())));
    }

    /// Stops every task; returns the units per second they completed, or the first task's error.
    pub async fn stop(self) -> anyhow::Result<f64> {
        self.stop.cancel();
        let elapsed = self.started.elapsed();
        for task in self.tasks {
            task.await??;
        }
        Ok(self.done.load(Ordering::Relaxed) as f64 / elapsed.as_secs_f64().max(1e-9))
    }
}
