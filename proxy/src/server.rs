//! The accept loop: one thread per client connection, each with its own handlers, until the
//! shutdown token fires. A connection's failure (bad bytes, a vanished client) ends only that
//! connection.
//!
//! A connection gets a thread (with a single-threaded runtime of its own) rather than a task on
//! a shared runtime for the reason PostgreSQL gives each a process: a key lookup then runs where
//! the client's message was read, with no hand-off to another thread and back, which on a point
//! read costs more than SQLite's work (perf of pgbench select-only). Blocking that thread stalls
//! no one else. Analytical queries still run on DataFusion's runtime, writes on SQLite's writer.

use std::sync::Arc;

use futures::{SinkExt, StreamExt};
use pgwire::api::{ClientInfo, ConnectionManager, PgWireConnectionState, RandomPidSecretKeyGenerator};
use pgwire::messages::PgWireFrontendMessage;
use pgwire::messages::response::TransactionStatus as WireStatus;
use pgwire::tokio::server::{negotiate_tls, process_error, process_message};
use tokio_util::codec::{Framed, FramedParts};
use rhei_config::ServerConfig;
use rhei_engine::{HtapEngine, TransactionStatus};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::auth::Auth;
use crate::cancel::Cancels;
use crate::frames::FrameGuard;
use crate::session::{Connection, ForwardTarget};

/// How long a client has to finish startup and authentication (PostgreSQL's
/// `authentication_timeout` defaults to one minute).
const STARTUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

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
    let forward_to = match &config.forward_writes_to {
        Some(url) => Some(ForwardTarget {
            config: Arc::new(rhei_sidecar::postgres::upstream_config(url).map_err(std::io::Error::other)?),
            name: rhei_config::redact(url),
        }),
        None => None,
    };
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
        let connection =
            Connection::new(&engine, auth.clone(), manager.clone(), pids.clone(), cancel.clone(), forward_to.as_ref());
        let cancel = cancel.clone();
        let engine = engine.clone();
        let tls = tls.clone();
        let shutdown = shutdown.clone();
        let served = move |socket| async move {
            tokio::select! {
                () = shutdown.cancelled() => {}
                result = serve_connection(socket, tls, connection, cancel, engine) => {
                    if let Err(e) = result {
                        tracing::debug!("connection from {peer} ended: {e}");
                    }
                }
            }
        };
        tokio::spawn(async move {
            // A cancel request is answered here at once: a thread started for it would let the
            // statement it cancels run on for that long.
            if is_cancel_request(&socket).await {
                served(socket).await;
                return;
            }
            let moved = socket.into_std().and_then(|socket| on_own_thread(socket, served, permit));
            if let Err(e) = moved {
                tracing::warn!("refusing connection from {peer}: {e}");
            }
        });
    }
}

/// Whether the first message waiting on `socket` is a CancelRequest (length 16, code
/// 80877102), without reading it. A client that sends nothing yet is not one.
async fn is_cancel_request(socket: &tokio::net::TcpStream) -> bool {
    const CANCEL: [u8; 8] = [0, 0, 0, 16, 0x04, 0xd2, 0x16, 0x2e];
    let mut head = [0u8; 8];
    let peeked = tokio::time::timeout(std::time::Duration::from_millis(100), socket.peek(&mut head)).await;
    matches!(peeked, Ok(Ok(8))) && head == CANCEL
}

/// Runs one connection's future on a new thread with a single-threaded runtime; the socket moves
/// from the accepting runtime's reactor to the new one there. The permit is held until the
/// connection ends.
fn on_own_thread<F>(
    socket: std::net::TcpStream,
    served: impl FnOnce(tokio::net::TcpStream) -> F + Send + 'static,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> std::io::Result<()>
where
    F: std::future::Future<Output = ()>,
{
    std::thread::Builder::new().name("rhei-conn".into()).spawn(move || {
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => runtime,
            Err(e) => {
                tracing::warn!("could not start a connection's runtime: {e}");
                return;
            }
        };
        runtime.block_on(async move {
            match tokio::net::TcpStream::from_std(socket) {
                Ok(socket) => served(socket).await,
                Err(e) => tracing::warn!("could not register a connection's socket: {e}"),
            }
        });
        // Work the connection left behind (a COPY's converter) finishes on its own.
        runtime.shutdown_background();
        drop(permit);
    })?;
    Ok(())
}

/// What a forwarding session's upstream sends while the client idles (see
/// [`crate::forward::Forwarder::unasked`]); pending for good without forwarding.
async fn upstream_unasked(connection: &Connection) -> pgwire::error::PgWireResult<pgwire::messages::PgWireBackendMessage> {
    match connection.forwarder() {
        Some(forwarder) => forwarder.lock().await.unasked().await,
        None => std::future::pending().await,
    }
}

/// One client connection: TLS negotiation, then every message through the [`FrameGuard`] and
/// pgwire's dispatch to the handlers, until the client leaves or sends something malformed.
/// (pgwire's own `process_socket` does the same without the guard.)
async fn serve_connection(
    socket: tokio::net::TcpStream,
    tls: Option<pgwire::tokio::TlsAcceptor>,
    connection: Arc<Connection>,
    cancel: Arc<Cancels>,
    engine: HtapEngine,
) -> std::io::Result<()> {
    let startup_deadline = tokio::time::sleep(STARTUP_TIMEOUT);
    tokio::pin!(startup_deadline);
    let negotiated = tokio::select! {
        () = &mut startup_deadline => return Ok(()),
        negotiated = negotiate_tls::<Arc<crate::session::ParsedStatement>>(socket, tls) => negotiated?,
    };
    let Some(framed) = negotiated else { return Ok(()) };
    let old = framed.into_parts();
    let mut guard = FrameGuard::new(old.io);
    // Bytes pgwire read while negotiating are checked before the rest of the stream; the
    // well-formed ones before a malformed message are still served.
    let mut read_buf = old.read_buf;
    if let Err(bad) = guard.inspect(&read_buf) {
        read_buf.truncate(bad.valid_prefix);
        guard.fail_next_read(bad.error);
    }
    let mut parts = FramedParts::new(guard, old.codec);
    parts.read_buf = read_buf;
    parts.write_buf = old.write_buf;
    let mut socket = Framed::from_parts(parts);
    socket.set_state(PgWireConnectionState::AwaitingStartup);

    loop {
        let starting = matches!(
            socket.state(),
            PgWireConnectionState::AwaitingStartup | PgWireConnectionState::AuthenticationInProgress
        );
        // An idle client hears its notifications as they come (psql shows them at its next
        // command; drivers wait for them on the socket).
        let idle = matches!(socket.state(), PgWireConnectionState::ReadyForQuery) && socket.transaction_status() == WireStatus::Idle;
        let message = if starting {
            tokio::select! {
                () = &mut startup_deadline => None,
                message = socket.next() => message,
            }
        } else if idle {
            tokio::select! {
                message = socket.next() => message,
                () = connection.mailbox().arrival() => {
                    crate::session::send_notifications(&mut socket, connection.mailbox(), TransactionStatus::Idle).await.map_err(std::io::Error::other)?;
                    socket.flush().await?;
                    continue;
                }
                relayed = upstream_unasked(&connection) => match relayed {
                    Ok(message) => {
                        socket.send(message).await?;
                        continue;
                    }
                    Err(pgwire::error::PgWireError::UserError(lost)) => {
                        socket.send(pgwire::messages::PgWireBackendMessage::ErrorResponse((*lost).into())).await?;
                        return Ok(());
                    }
                    Err(other) => return Err(std::io::Error::other(other)),
                }
            }
        } else {
            socket.next().await
        };
        let message = match message {
            Some(Ok(message)) => message,
            Some(Err(e)) => {
                tracing::debug!("closing a connection after malformed input: {e}");
                return Ok(());
            }
            None => return Ok(()),
        };
        // Terminate ends the connection (asyncpg waits for the server to close it).
        if matches!(message, PgWireFrontendMessage::Terminate(_)) {
            return Ok(());
        }
        let is_extended = match socket.state() {
            PgWireConnectionState::CopyInProgress(is_extended) => is_extended,
            _ => message.is_extended_query(),
        };
        let message = if starting {
            message
        } else {
            match crate::forward::intercept(&connection, &engine, &mut socket, message).await {
                Ok(Some(message)) => message,
                Ok(None) => continue,
                Err(e) => {
                    process_error(&mut socket, e, is_extended).await?;
                    continue;
                }
            }
        };
        let result = process_message(
            message,
            &mut socket,
            connection.clone(),
            connection.clone(),
            connection.clone(),
            connection.clone(),
            cancel.clone(),
        )
        .await;
        if let Err(e) = result {
            process_error(&mut socket, e, is_extended).await?;
        }
    }
}
