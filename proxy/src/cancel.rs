//! CancelRequest for results still streaming. pgwire's own handler interrupts a statement only
//! while its handler runs, but an OLAP result is computed as it streams, after that. So each
//! connection also registers a generation counter under its (pid, secret key); a cancel request
//! bumps it, and the connection's current result stream ends with 57014. A statement running on
//! SQLite's writer blocks its connection's thread, so the request also interrupts it there
//! directly (the engine's [`WriteCanceller`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use pgwire::api::cancel::{CancelHandler, DefaultCancelHandler};
use pgwire::api::ConnectionManager;
use pgwire::messages::cancel::CancelRequest;
use pgwire::messages::startup::SecretKey;
use rhei_engine::session::WriteCanceller;
use tokio::sync::watch;

type Key = (i32, bytes::Bytes);

/// The server's cancel handler: pgwire's, plus the streaming results of every connection.
pub struct Cancels {
    pgwire: DefaultCancelHandler,
    streams: Mutex<HashMap<Key, (watch::Sender<u64>, WriteCanceller)>>,
}

impl Cancels {
    pub fn new(manager: Arc<ConnectionManager>) -> Self {
        Self { pgwire: DefaultCancelHandler::new(manager), streams: Mutex::new(HashMap::new()) }
    }

    /// Registers a connection; the registration ends when the returned guard is dropped.
    pub fn register(self: &Arc<Self>, pid: i32, secret: &SecretKey, writes: WriteCanceller) -> CancelGuard {
        let key = (pid, secret.to_bytes());
        let (tx, rx) = watch::channel(0);
        if let Ok(mut streams) = self.streams.lock() {
            streams.insert(key.clone(), (tx, writes));
        }
        CancelGuard { cancels: self.clone(), key, rx }
    }
}

#[async_trait]
impl CancelHandler for Cancels {
    async fn on_cancel_request(&self, request: CancelRequest) {
        let key = (request.pid, request.secret_key.to_bytes());
        if let Ok(streams) = self.streams.lock()
            && let Some((tx, writes)) = streams.get(&key)
        {
            tx.send_modify(|generation| *generation += 1);
            writes.cancel();
        }
        self.pgwire.on_cancel_request(request).await;
    }
}

/// A connection's registration.
pub struct CancelGuard {
    cancels: Arc<Cancels>,
    key: Key,
    rx: watch::Receiver<u64>,
}

impl CancelGuard {
    /// Completes at the first cancel request after this call (never, if none comes).
    pub fn next_cancel(&self) -> impl std::future::Future<Output = ()> + Send + Sync + 'static {
        let mut rx = self.rx.clone();
        rx.mark_unchanged();
        async move {
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        if let Ok(mut streams) = self.cancels.streams.lock() {
            streams.remove(&self.key);
        }
    }
}
