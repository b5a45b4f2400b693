//! The accept loop: one task per client connection, each with its own handlers, until the
//! shutdown token fires. A connection's failure (bad bytes, a vanished client) ends only that
//! connection.

use std::sync::Arc;

use pgwire::api::{ConnectionManager, PgWireServerHandlers, RandomPidSecretKeyGenerator};
use rhei_config::ServerConfig;
use rhei_engine::HtapEngine;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::auth::Auth;
use crate::cancel::Cancels;
use crate::session::Connection;

/// The handlers pgwire asks for, all backed by one connection's state.
struct Handlers {
    connection: Arc<Connection>,
    cancel: Arc<Cancels>,
}

impl PgWireServerHandlers for Handlers {
    fn simple_query_handler(&self) -> Arc<impl pgwire::api::query::SimpleQueryHandler> {
        self.connection.clone()
    }

    fn extended_query_handler(&self) -> Arc<impl pgwire::api::query::ExtendedQueryHandler> {
        self.connection.clone()
    }

    fn startup_handler(&self) -> Arc<impl pgwire::api::auth::StartupHandler> {
        self.connection.clone()
    }

    fn copy_handler(&self) -> Arc<impl pgwire::api::copy::CopyHandler> {
        self.connection.clone()
    }

    fn cancel_handler(&self) -> Arc<impl pgwire::api::cancel::CancelHandler> {
        self.cancel.clone()
    }
}

/// Serves PostgreSQL clients on `listener` until `shutdown` is cancelled.
///
/// # Errors
/// Only if accepting fails in a way that is not about one connection.
pub async fn serve(
    listener: TcpListener,
    engine: HtapEngine,
    config: ServerConfig,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let manager = Arc::new(ConnectionManager::new());
    let pids = Arc::new(RandomPidSecretKeyGenerator::default());
    let cancel = Arc::new(Cancels::new(manager.clone()));
    let slots = Arc::new(Semaphore::new(config.max_connections));
    let auth = Arc::new(Auth::from_config(&config));
    let tls = config.tls.as_ref().map(crate::auth::tls_acceptor).transpose()?;
    loop {
        let (socket, peer) = tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::warn!("refusing connection from {peer}: max_connections ({}) reached", config.max_connections);
            drop(socket);
            continue;
        };
        let _ = socket.set_nodelay(true);
        let connection = Connection::new(&engine, auth.clone(), manager.clone(), pids.clone(), cancel.clone());
        let handlers = Handlers { connection, cancel: cancel.clone() };
        let tls = tls.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = shutdown.cancelled() => {}
                result = pgwire::tokio::process_socket(socket, tls, handlers) => {
                    if let Err(e) = result {
                        tracing::debug!("connection from {peer} ended: {e}");
                    }
                }
            }
            drop(permit);
        });
    }
}
