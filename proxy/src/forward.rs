//! Write forwarding, client side: with `[sidecar] forward_writes = true`, rhei stands in front
//! of its upstream as a drop-in. Each client message is looked at before pgwire's handlers:
//! what the upstream must answer (writes, DDL, transactions, point reads, catalog queries,
//! anything rhei does not follow) goes to the session's own upstream connection and its answer
//! is relayed unchanged; analytical reads of replicated tables fall through to the local
//! handlers. Session settings go to both.
//!
//! Rules that keep the answers the upstream's:
//! - Nothing runs locally while the upstream has a transaction open, explicit or the implicit
//!   one of an unsynced pipeline: such a statement is forwarded too (a locally parsed statement
//!   is parsed again upstream under rhei's own name).
//! - Before a local read after a forwarded write, the session waits until the replica has
//!   applied the upstream up to the write (read-your-writes): the upstream's WAL insert
//!   position for logical replication, a poll that started after it for timestamp polling.
//! - Answers are relayed in order: before anything local answers, every answer still owed by
//!   the upstream is sent.

use std::collections::{HashMap, HashSet};
use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use futures::{Sink, SinkExt};
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, PgWireConnectionState};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::data::DataRow;
use pgwire::messages::response::TransactionStatus as WireStatus;
use pgwire::messages::{DecodeContext, PgWireBackendMessage, PgWireFrontendMessage, ProtocolVersion};
use rhei_engine::replica::ProgressUnit;
use rhei_engine::{Consistency, Forwarding, HtapEngine, Prepared, Session};
use rhei_sidecar::forward::{Bind, UpstreamSession};
use rhei_sidecar::wire::{Frame, WireError};
use tokio::sync::Mutex;

use crate::cancel::CancelGuard;
use crate::session::{Connection, ParsedStatement};

/// The name under which a locally parsed statement is parsed again upstream, when it has to
/// run there (the upstream has a transaction open).
const FALLBACK_STATEMENT: &str = "_rhei_forwarded";

/// How long a read waits for the replica to reach the session's own writes when the session
/// sets no `statement_timeout`.
const READ_YOUR_WRITES_TIMEOUT: Duration = Duration::from_secs(30);

/// Errors of forwarding, each with its SQLSTATE.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error("cannot connect to the upstream {upstream}: {source}")]
    Connect { upstream: String, source: WireError },
    #[error("lost the connection to the upstream {upstream}: {source}")]
    Lost { upstream: String, source: WireError },
    #[error(
        "the replica has not caught up with this session's writes after {waited:?}; \
         retry, or SET rhei.consistency = 'eventual' to read without waiting"
    )]
    NotCaughtUp { waited: Duration },
}

impl ForwardError {
    pub fn sqlstate(&self) -> &str {
        match self {
            Self::Connect { source, .. } => source.sqlstate().unwrap_or("08001"),
            Self::Lost { .. } => "08006",
            Self::NotCaughtUp { .. } => "57014",
        }
    }

    fn to_pgwire(&self) -> PgWireError {
        // A lost upstream may have taken an open transaction with it; like a lost server,
        // that ends the client's connection.
        let severity = if matches!(self, Self::Lost { .. }) { "FATAL" } else { "ERROR" };
        PgWireError::UserError(Box::new(ErrorInfo::new(severity.into(), self.sqlstate().into(), self.to_string())))
    }
}

/// One session's forwarding state.
pub struct Forwarder {
    target: Arc<rhei_sidecar::upstream::UpstreamConfig>,
    /// The upstream URL without its password, for messages.
    upstream_name: String,
    upstream: Option<UpstreamSession>,
    /// Client statement names that live upstream.
    statements: HashSet<String>,
    /// Client portal names that live upstream, with the statement each was bound from.
    portals: HashMap<String, String>,
    /// Statements that set session state upstream and are to be applied locally too.
    settings: HashMap<String, Prepared>,
    /// A forwarded statement may have written since the replica last caught up.
    wrote: bool,
}

impl Forwarder {
    pub fn new(target: Arc<rhei_sidecar::upstream::UpstreamConfig>, upstream_name: String) -> Mutex<Self> {
        Mutex::new(Self {
            target,
            upstream_name,
            upstream: None,
            statements: HashSet::new(),
            portals: HashMap::new(),
            settings: HashMap::new(),
            wrote: false,
        })
    }

    async fn upstream(&mut self) -> PgWireResult<&mut UpstreamSession> {
        if self.upstream.is_none() {
            let session = UpstreamSession::connect(&self.target)
                .await
                .map_err(|source| ForwardError::Connect { upstream: self.upstream_name.clone(), source }.to_pgwire())?;
            self.upstream = Some(session);
        }
        self.upstream.as_mut().ok_or_else(|| PgWireError::ApiError("upstream session missing".into()))
    }

    fn idle(&self) -> bool {
        self.upstream.as_ref().is_none_or(UpstreamSession::is_idle)
    }

    fn lost(&mut self, source: WireError) -> PgWireError {
        self.upstream = None;
        self.statements.clear();
        self.portals.clear();
        ForwardError::Lost { upstream: self.upstream_name.clone(), source }.to_pgwire()
    }

    /// What the upstream sends unasked while the session idles (notifications of the channels
    /// the client LISTENs to there) as a message to relay. Pending for good while there is no
    /// upstream connection or it owes answers. Cancel-safe.
    ///
    /// # Errors
    /// The upstream connection ended (FATAL 08006, with the upstream's reason): the client's
    /// session state there (LISTENs, prepared statements, settings) is gone with it, so the
    /// client's connection ends too, as with a PostgreSQL server that went away.
    pub(crate) async fn unasked(&mut self) -> PgWireResult<PgWireBackendMessage> {
        let Some(upstream) = self.upstream.as_mut().filter(|u| u.is_idle()) else { return std::future::pending().await };
        match upstream.unasked().await {
            Ok(frame) => backend_message(frame),
            Err(e) => Err(self.lost(e)),
        }
    }

    /// Sends what is buffered and relays every answer owed so far. Returns whether one was an
    /// error and the ReadyForQuery status if one came.
    async fn relay<C>(&mut self, client: &mut C, cancel: Option<&CancelGuard>) -> PgWireResult<Relayed>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let mut relayed = Relayed::default();
        let Some(upstream) = self.upstream.as_mut() else { return Ok(relayed) };
        let canceller = upstream.canceller();
        let mut cancelled = match (cancel, canceller.is_some()) {
            (Some(guard), true) => Some(Box::pin(guard.next_cancel())),
            _ => None,
        };
        loop {
            let next = match cancelled.as_mut() {
                Some(cancel) => tokio::select! {
                    frame = upstream.next() => frame,
                    () = cancel => {
                        if let Some(canceller) = &canceller {
                            canceller.cancel().await;
                        }
                        cancelled = None;
                        continue;
                    }
                },
                None => upstream.next().await,
            };
            let frame = match next {
                Ok(Some(frame)) => frame,
                Ok(None) => return Ok(relayed),
                Err(e) => return Err(self.lost(e)),
            };
            match frame.tag {
                b'E' => relayed.error = true,
                b'Z' => relayed.ready = frame.body.first().copied(),
                _ => {}
            }
            client.feed(backend_message(frame)?).await?;
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Relayed {
    error: bool,
    ready: Option<u8>,
}

/// An upstream frame as pgwire's message (rows are taken as they are, the hot path).
fn backend_message(frame: Frame) -> PgWireResult<PgWireBackendMessage> {
    if frame.tag == b'D' && frame.body.len() >= 2 {
        let field_count = i16::from_be_bytes([frame.body[0], frame.body[1]]);
        return Ok(PgWireBackendMessage::DataRow(DataRow::new(BytesMut::from(&frame.body[2..]), field_count)));
    }
    let mut buf = BytesMut::with_capacity(frame.body.len() + 5);
    buf.extend_from_slice(&[frame.tag]);
    buf.extend_from_slice(&i32::try_from(frame.body.len() + 4).unwrap_or(i32::MAX).to_be_bytes());
    buf.extend_from_slice(&frame.body);
    PgWireBackendMessage::decode(&mut buf, &DecodeContext::new(ProtocolVersion::PROTOCOL3_0))?
        .ok_or_else(|| PgWireError::ApiError(format!("an incomplete {:?} from the upstream", char::from(frame.tag)).into()))
}

fn wire_status(status: u8) -> WireStatus {
    match status {
        b'T' => WireStatus::Transaction,
        b'E' => WireStatus::Error,
        _ => WireStatus::Idle,
    }
}

/// Where `prepared` runs: the engine decides, except that catalog queries are the upstream's
/// (its catalogs describe every table, not only the followed ones).
fn destination(session: &Session, prepared: &Prepared) -> Forwarding {
    if crate::catalog::is_catalog_query(session, prepared) {
        return Forwarding::Upstream;
    }
    session.forwarding(prepared)
}

/// Handles `message` for a forwarding connection: `Some` gives it back for the local handlers.
///
/// # Errors
/// As the local handlers' errors: sent to the client as ErrorResponse by the caller.
pub async fn intercept<C>(
    connection: &Connection,
    engine: &HtapEngine,
    client: &mut C,
    message: PgWireFrontendMessage,
) -> PgWireResult<Option<PgWireFrontendMessage>>
where
    C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
    C::PortalStore: PortalStore<Statement = Arc<ParsedStatement>>,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let Some(forwarder) = connection.forwarder() else { return Ok(Some(message)) };
    let mut fwd = forwarder.lock().await;
    let cancel = connection.cancel_guard();
    // After an error everything up to Sync is skipped, forwarded or not, as PostgreSQL does.
    if matches!(client.state(), PgWireConnectionState::AwaitingSync) && !matches!(message, PgWireFrontendMessage::Sync(_)) {
        return Ok(None);
    }
    if fwd.upstream.as_ref().is_some_and(UpstreamSession::in_copy) {
        return copy_message(&mut fwd, client, message, cancel).await;
    }
    match message {
        PgWireFrontendMessage::Query(query) => {
            let session = connection.session().lock().await;
            let statements = session.parse_simple(&query.query).ok();
            let destinations: Vec<Forwarding> =
                statements.iter().flatten().map(|p| destination(&session, p)).collect();
            let local = statements.is_some() && fwd.idle() && destinations.iter().all(|d| *d == Forwarding::Local);
            drop(session);
            if local {
                read_your_writes(&mut fwd, connection, engine).await?;
                return Ok(Some(PgWireFrontendMessage::Query(query)));
            }
            fwd.upstream().await?.query(&query.query).map_err(|e| fwd.lost(e))?;
            client.set_state(PgWireConnectionState::QueryInProgress);
            let relayed = fwd.relay(client, cancel).await?;
            if fwd.upstream.as_ref().is_some_and(UpstreamSession::in_copy) {
                client.flush().await?;
                return Ok(None);
            }
            finish_query(&mut fwd, client, relayed).await?;
            if !relayed.error {
                let mut session = connection.session().lock().await;
                for (prepared, destination) in statements.iter().flatten().zip(&destinations) {
                    if *destination == Forwarding::Both {
                        apply_setting(&mut session, prepared).await;
                    }
                }
            }
            fwd.wrote |= destinations.iter().any(|d| *d != Forwarding::Local) || statements.is_none();
            Ok(None)
        }
        PgWireFrontendMessage::Parse(parse) => {
            let name = parse.name.clone().unwrap_or_default();
            let session = connection.session().lock().await;
            let parsed = session.parse(&parse.query).ok().filter(|s| s.len() == 1).and_then(|mut s| s.pop());
            let destination = parsed.as_ref().map_or(Forwarding::Upstream, |p| destination(&session, p));
            drop(session);
            if destination == Forwarding::Local && fwd.idle() {
                fwd.statements.remove(&name);
                fwd.settings.remove(&name);
                // Parse describes the statement against the replica: a table this session
                // just created upstream must have reached it first.
                read_your_writes(&mut fwd, connection, engine).await?;
                return Ok(Some(PgWireFrontendMessage::Parse(parse)));
            }
            fwd.upstream().await?.parse(&name, &parse.query, &parse.type_oids, true).map_err(|e| fwd.lost(e))?;
            fwd.statements.insert(name.clone());
            match parsed {
                Some(prepared) if destination == Forwarding::Both => {
                    fwd.settings.insert(name, prepared);
                }
                _ => {
                    fwd.settings.remove(&name);
                }
            }
            Ok(None)
        }
        PgWireFrontendMessage::Bind(bind) => {
            let portal = bind.portal_name.clone().unwrap_or_default();
            let statement = bind.statement_name.clone().unwrap_or_default();
            let upstream_statement = if fwd.statements.contains(&statement) {
                statement
            } else if fwd.idle() {
                fwd.portals.remove(&portal);
                return Ok(Some(PgWireFrontendMessage::Bind(bind)));
            } else {
                // A local statement while the upstream has a transaction open: it runs there.
                let Some(stored) = client.portal_store().get_statement(&statement) else {
                    return Err(PgWireError::StatementNotFound(statement));
                };
                let types: Vec<u32> = stored.parameter_types.iter().map(|t| t.as_ref().map_or(0, pgwire::api::Type::oid)).collect();
                let upstream = fwd.upstream().await?;
                let queued = upstream
                    .close(b'S', FALLBACK_STATEMENT, false)
                    .and_then(|()| upstream.parse(FALLBACK_STATEMENT, stored.statement.sql(), &types, false));
                queued.map_err(|e| fwd.lost(e))?;
                FALLBACK_STATEMENT.to_string()
            };
            let queued = fwd.upstream().await?.bind(&Bind {
                portal: &portal,
                statement: &upstream_statement,
                param_formats: &bind.parameter_format_codes,
                params: &bind.parameters,
                result_formats: &bind.result_column_format_codes,
            });
            queued.map_err(|e| fwd.lost(e))?;
            fwd.portals.insert(portal, upstream_statement);
            Ok(None)
        }
        PgWireFrontendMessage::Describe(describe) => {
            let name = describe.name.clone().unwrap_or_default();
            let upstream = match describe.target_type {
                b'S' => fwd.statements.contains(&name),
                // A cursor DECLAREd upstream is a portal there (psycopg describes its named
                // cursors by name), unknown to the local portals and cursors.
                _ => {
                    fwd.portals.contains_key(&name)
                        || (fwd.upstream.is_some()
                            && describe.name.as_deref().is_some_and(|n| !n.is_empty())
                            && client.portal_store().get_portal(&name).is_none()
                            && connection.session().lock().await.cursor_schema(&name).is_none())
                }
            };
            if upstream {
                fwd.upstream().await?.describe(describe.target_type, &name).map_err(|e| fwd.lost(e))?;
                return Ok(None);
            }
            settle(&mut fwd, client, cancel).await?;
            Ok(Some(PgWireFrontendMessage::Describe(describe)))
        }
        PgWireFrontendMessage::Execute(execute) => {
            let portal = execute.name.clone().unwrap_or_default();
            let Some(statement) = fwd.portals.get(&portal).cloned() else {
                settle(&mut fwd, client, cancel).await?;
                if matches!(client.state(), PgWireConnectionState::AwaitingSync) {
                    return Ok(None);
                }
                read_your_writes(&mut fwd, connection, engine).await?;
                return Ok(Some(PgWireFrontendMessage::Execute(execute)));
            };
            fwd.upstream().await?.execute(&portal, execute.max_rows).map_err(|e| fwd.lost(e))?;
            // Rows are relayed as they come: holding them until Sync could fill both sockets.
            let relayed = fwd.relay(client, cancel).await?;
            if fwd.upstream.as_ref().is_some_and(UpstreamSession::in_copy) {
                // The client sends its data only once it has seen CopyInResponse.
                client.flush().await?;
            } else if relayed.error {
                client.set_state(PgWireConnectionState::AwaitingSync);
            } else if let Some(prepared) = fwd.settings.get(&statement).cloned() {
                apply_setting(&mut *connection.session().lock().await, &prepared).await;
            }
            fwd.wrote = true;
            Ok(None)
        }
        PgWireFrontendMessage::Close(close) => {
            let name = close.name.clone().unwrap_or_default();
            let upstream = match close.target_type {
                b'S' => fwd.statements.remove(&name),
                _ => fwd.portals.remove(&name).is_some(),
            };
            if upstream {
                fwd.upstream().await?.close(close.target_type, &name, true).map_err(|e| fwd.lost(e))?;
                return Ok(None);
            }
            settle(&mut fwd, client, cancel).await?;
            Ok(Some(PgWireFrontendMessage::Close(close)))
        }
        PgWireFrontendMessage::Sync(sync) => {
            if let Some(upstream) = fwd.upstream.as_mut()
                && upstream.needs_sync()
            {
                upstream.sync(false);
                let relayed = fwd.relay(client, cancel).await?;
                let status = fwd.upstream.as_ref().map_or(b'I', UpstreamSession::transaction_status);
                client.set_transaction_status(wire_status(relayed.ready.unwrap_or(status)));
            }
            fwd.portals.retain(|name, _| !name.is_empty());
            Ok(Some(PgWireFrontendMessage::Sync(sync)))
        }
        PgWireFrontendMessage::Flush(flush) => {
            settle(&mut fwd, client, cancel).await?;
            // After an error pgwire ignores everything but Sync, Flush too: what was relayed
            // (the error itself) must reach the client now, which waits for it before Sync.
            client.flush().await?;
            Ok(Some(PgWireFrontendMessage::Flush(flush)))
        }
        other => Ok(Some(other)),
    }
}

/// Relays what the upstream still owes before a local answer; an error there ends the
/// pipeline as a local one would.
async fn settle<C>(fwd: &mut Forwarder, client: &mut C, cancel: Option<&CancelGuard>) -> PgWireResult<()>
where
    C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    if fwd.relay(client, cancel).await?.error {
        client.set_state(PgWireConnectionState::AwaitingSync);
    }
    Ok(())
}

/// The end of a forwarded simple query: the ReadyForQuery relayed has told the client; pgwire
/// is told too.
async fn finish_query<C>(fwd: &mut Forwarder, client: &mut C, relayed: Relayed) -> PgWireResult<()>
where
    C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let status = relayed.ready.or_else(|| fwd.upstream.as_ref().map(UpstreamSession::transaction_status)).unwrap_or(b'I');
    client.set_transaction_status(wire_status(status));
    client.set_state(PgWireConnectionState::ReadyForQuery);
    client.flush().await?;
    Ok(())
}

/// COPY data while the upstream runs a `COPY ... FROM STDIN`.
async fn copy_message<C>(
    fwd: &mut Forwarder,
    client: &mut C,
    message: PgWireFrontendMessage,
    cancel: Option<&CancelGuard>,
) -> PgWireResult<Option<PgWireFrontendMessage>>
where
    C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let Some(upstream) = fwd.upstream.as_mut() else { return Ok(None) };
    let sent = match &message {
        PgWireFrontendMessage::CopyData(data) => upstream.copy_data(&data.data).await,
        PgWireFrontendMessage::CopyDone(_) => {
            upstream.copy_done();
            Ok(())
        }
        PgWireFrontendMessage::CopyFail(fail) => upstream.copy_fail(&fail.message),
        // Flush and Sync are allowed during COPY and mean nothing there.
        _ => return Ok(None),
    };
    sent.map_err(|e| fwd.lost(e))?;
    if matches!(message, PgWireFrontendMessage::CopyData(_)) {
        return Ok(None);
    }
    let relayed = fwd.relay(client, cancel).await?;
    fwd.wrote = true;
    if relayed.ready.is_some() {
        // A simple query's COPY: its ReadyForQuery has come.
        return finish_query(fwd, client, relayed).await.map(|()| None);
    }
    // An extended-protocol COPY: its portal's end; ReadyForQuery answers the client's Sync.
    if relayed.error {
        client.set_state(PgWireConnectionState::AwaitingSync);
    }
    client.flush().await?;
    Ok(None)
}

/// Applies a session setting the upstream accepted to the local session too, so local reads
/// format and plan as the upstream does. A setting rhei does not know is the upstream's alone.
async fn apply_setting(session: &mut Session, prepared: &Prepared) {
    if let Err(e) = session.execute_prepared(prepared, &[]).await {
        tracing::debug!("setting {} kept upstream only: {e}", prepared.sql);
    }
    let _ = session.take_notices();
}

/// Waits, before a local read, until the replica has applied this session's forwarded writes.
async fn read_your_writes(fwd: &mut Forwarder, connection: &Connection, engine: &HtapEngine) -> PgWireResult<()> {
    if !fwd.wrote {
        return Ok(());
    }
    let timeout = {
        let session = connection.session().lock().await;
        if session.consistency() == Consistency::Eventual {
            return Ok(());
        }
        session
            .setting("statement_timeout")
            .and_then(rhei_engine::session::parse_duration_ms)
            .filter(|ms| *ms > 0)
            .map_or(READ_YOUR_WRITES_TIMEOUT, Duration::from_millis)
    };
    let progress = engine.replica_progress();
    let position = match progress.unit() {
        Some(ProgressUnit::Lsn) => match fwd.upstream.as_mut() {
            Some(upstream) => upstream.wal_position().await.map_err(|e| fwd.lost(e))?,
            None => return Ok(()),
        },
        Some(ProgressUnit::Clock) => u64::try_from(rhei_engine::value::now_micros()).unwrap_or(0),
        // No follower has started: there is nothing to wait for.
        None => return Ok(()),
    };
    if !progress.wait_for(position, timeout).await {
        return Err(ForwardError::NotCaughtUp { waited: timeout }.to_pgwire());
    }
    fwd.wrote = false;
    Ok(())
}
