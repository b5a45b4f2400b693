//! One client connection: its engine [`Session`] and the pgwire handlers (startup, simple and
//! extended query) that call it. pgwire asks for handlers once per connection, so every
//! connection gets its own [`Connection`] and no state is shared between clients.
//!
//! The session sits behind an async mutex that is held while a statement runs: a connection
//! runs one statement at a time anyway (the protocol is sequential), so the lock is never
//! contended; it only satisfies pgwire's `&self` handlers.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;

use arrow::datatypes::{DataType, SchemaRef};
use async_trait::async_trait;
use datafusion::sql::sqlparser::ast::Statement;
use futures::{Sink, SinkExt};
use pgwire::api::auth::sasl::scram::ScramAuth;
use pgwire::api::auth::sasl::{SASLState, SCRAM_SHA_256_METHOD};
use pgwire::api::auth::{ServerParameterProvider, StartupHandler, finish_authentication, protocol_negotiation};
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::copy::CopyHandler;
use pgwire::api::results::{
    CopyResponse, DescribePortalResponse, DescribeStatementResponse, FieldInfo, QueryResponse, Response, Tag,
};
use pgwire::api::stmt::{QueryParser, StoredStatement};
use pgwire::api::store::PortalStore;
use pgwire::api::{
    ClientInfo, ClientPortalStore, ConnectionManager, PgWireConnectionState, PidSecretKeyGenerator,
    RandomPidSecretKeyGenerator, Type,
};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::copy::{CopyData, CopyDone, CopyFail};
use pgwire::messages::response::{EmptyQueryResponse, ReadyForQuery, TransactionStatus as WireStatus};
use pgwire::messages::simplequery::Query;
use pgwire::messages::startup::{Authentication, ParameterStatus, PasswordMessageFamily};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use rhei_engine::copy::CopyFormat;
use rhei_engine::{CopyLoad, Description, EngineError, HtapEngine, Output, Prepared, Session, TransactionStatus};
use tokio::sync::Mutex;

use crate::auth::{Auth, Method};
use crate::cancel::{CancelGuard, Cancels};
use crate::catalog::{self, ConnectionInfo};
use crate::forward::Forwarder;
use crate::error::{error_info, to_pgwire};
use crate::types;

/// A statement prepared with Parse: the engine's parsed form and what Describe reports.
#[derive(Debug)]
pub struct ParsedStatement {
    prepared: Prepared,
    description: Description,
    /// The parameters' types as ParameterDescription gives them.
    param_types: Vec<Type>,
    catalog_reads: CatalogReadMemo,
}

/// Whether a statement text reads the system catalogs, as last decided and under which
/// catalog: deciding walks the whole statement, which a statement repeated thousands of times
/// a second need not do again while neither its text nor the catalog (DDL) changes.
#[derive(Debug, Default)]
struct CatalogReadMemo(std::sync::Mutex<Option<(String, std::sync::Weak<rhei_engine::catalog::Catalog>, bool)>>);

impl CatalogReadMemo {
    /// Whether the front end answers `prepared` from the system catalogs (see [`catalog::answer`]).
    fn reads_catalogs(&self, session: &Session, prepared: &Prepared) -> bool {
        let catalog = session.catalog();
        let mut last = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((sql, decided_under, answer)) = last.as_ref()
            && *sql == prepared.sql
            && std::sync::Weak::as_ptr(decided_under) == Arc::as_ptr(&catalog)
        {
            return *answer;
        }
        let answer = catalog::is_catalog_query(session, prepared);
        *last = Some((prepared.sql.clone(), Arc::downgrade(&catalog), answer));
        answer
    }
}

impl ParsedStatement {
    fn new(prepared: Prepared, description: Description, param_types: Vec<Type>) -> Self {
        Self { prepared, description, param_types, catalog_reads: CatalogReadMemo::default() }
    }

    /// The statement's text as the client sent it.
    pub(crate) fn sql(&self) -> &str {
        &self.prepared.sql
    }

    /// Whether the front end answers it from the system catalogs (see [`catalog::answer`]).
    fn reads_catalogs(&self, session: &Session) -> bool {
        self.catalog_reads.reads_catalogs(session, &self.prepared)
    }
}

/// State of one client connection.
pub struct Connection {
    session: Mutex<Session>,
    auth: Arc<Auth>,
    /// SCRAM's state between the client's messages (`scram` is `None` unless configured).
    scram: Option<ScramAuth>,
    sasl: Mutex<SASLState>,
    /// The `COPY ... FROM STDIN` under way: its data goes to the engine as it arrives.
    copy: Mutex<Option<CopyLoad>>,
    manager: Arc<ConnectionManager>,
    pids: Arc<RandomPidSecretKeyGenerator>,
    parser: Arc<StatementParser>,
    cancels: Arc<Cancels>,
    /// This connection's cancel registration, made once it has a pid and secret key.
    cancel: std::sync::OnceLock<CancelGuard>,
    /// Write forwarding to the sidecar's upstream, when configured.
    forwarder: Option<Mutex<Forwarder>>,
    /// Where the notifications of the channels the session LISTENs to arrive.
    mailbox: Arc<rhei_engine::notify::Mailbox>,
    /// For the last simple-protocol statement text (after literal lifting, so pgbench's point
    /// reads share one).
    simple_catalog_reads: CatalogReadMemo,
}

/// pgwire's statement parser for this connection (Parse messages).
pub struct StatementParser {
    engine_session: std::sync::Weak<Connection>,
}

impl Connection {
    pub fn new(
        engine: &HtapEngine,
        auth: Arc<Auth>,
        manager: Arc<ConnectionManager>,
        pids: Arc<RandomPidSecretKeyGenerator>,
        cancels: Arc<Cancels>,
        forward_to: Option<&ForwardTarget>,
    ) -> Arc<Self> {
        let scram = (auth.method == Method::Scram).then(|| ScramAuth::new(auth.clone()));
        let mut session = engine.session();
        // The server runs every connection that can run statements on a thread of its own (see
        // `server`; only a CancelRequest stays on the shared runtime, and it runs none).
        session.set_own_thread(true);
        let mailbox = session.mailbox();
        Arc::new_cyclic(|weak| Self {
            session: Mutex::new(session),
            auth,
            scram,
            sasl: Mutex::new(SASLState::Initial),
            copy: Mutex::new(None),
            manager,
            pids,
            parser: Arc::new(StatementParser { engine_session: weak.clone() }),
            cancels,
            cancel: std::sync::OnceLock::new(),
            forwarder: forward_to.map(|target| Forwarder::new(target.config.clone(), target.name.clone())),
            mailbox,
            simple_catalog_reads: CatalogReadMemo::default(),
        })
    }

    /// Where the session's notifications arrive (the server waits on it while the client idles).
    pub(crate) fn mailbox(&self) -> &rhei_engine::notify::Mailbox {
        &self.mailbox
    }

    /// The engine session (locked while a statement runs).
    pub(crate) fn session(&self) -> &Mutex<Session> {
        &self.session
    }

    /// Write forwarding state, if this connection forwards.
    pub(crate) fn forwarder(&self) -> Option<&Mutex<Forwarder>> {
        self.forwarder.as_ref()
    }

    /// The transaction status ReadyForQuery reports when the connection does not forward (a
    /// forwarding one reports the upstream's, see [`crate::forward`]): the engine session's.
    ///
    /// pgwire works the status out from the responses, which cannot say that ROLLBACK TO left
    /// a failed block (E to T) or that a failing COMMIT ended the block (T to I); a client
    /// told E there believes every later statement will be refused.
    async fn engine_status(&self) -> WireStatus {
        match self.session.lock().await.transaction_status() {
            TransactionStatus::Idle => WireStatus::Idle,
            TransactionStatus::InTransaction => WireStatus::Transaction,
            TransactionStatus::Failed => WireStatus::Error,
        }
    }

    /// This connection's cancel registration, once made.
    pub(crate) fn cancel_guard(&self) -> Option<&CancelGuard> {
        self.cancel.get()
    }
}

/// Where forwarded statements go: the upstream's connection settings, and its URL without
/// the password (for messages).
#[derive(Clone)]
pub struct ForwardTarget {
    pub config: Arc<rhei_sidecar::upstream::UpstreamConfig>,
    pub name: String,
}

impl Connection {
    /// `rows`, ended with 57014 by a cancel request that arrives while they stream.
    fn cancellable(&self, rows: rhei_engine::RowStream) -> rhei_engine::RowStream {
        match self.cancel.get() {
            Some(guard) => rows.cancel_on(guard.next_cancel()),
            None => rows,
        }
    }
}

/// The ParameterStatus values sent after authentication, as PostgreSQL 15 sends them.
struct StartupParameters(Vec<(String, String)>);

impl ServerParameterProvider for StartupParameters {
    fn server_parameters<C: ClientInfo>(&self, _client: &C) -> Option<HashMap<String, String>> {
        Some(self.0.iter().cloned().collect())
    }
}

/// Settings PostgreSQL reports to every client at startup (and again when they change).
const REPORTED_SETTINGS: &[&str] = &[
    "application_name",
    "client_encoding",
    "DateStyle",
    "default_transaction_read_only",
    "integer_datetimes",
    "IntervalStyle",
    "is_superuser",
    "server_encoding",
    "server_version",
    "standard_conforming_strings",
    "TimeZone",
];

/// The settings in a startup packet's `options` (libpq's PGOPTIONS, JDBC's `options`), read as
/// PostgreSQL reads its command line: words split at unescaped blanks (a backslash keeps the
/// next character), `-c name=value`, `-cname=value` or `--name=value`, dashes in a name read
/// as underscores. Other switches are the server's own and set nothing here.
fn command_line_settings(options: &str) -> Vec<(String, String)> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut chars = options.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => word.extend(chars.next()),
            c if c.is_ascii_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    let mut settings = Vec::new();
    let mut words = words.into_iter();
    while let Some(word) = words.next() {
        let assignment = match word.strip_prefix("--") {
            Some(long) => Some(long.to_string()),
            None if word == "-c" => words.next(),
            None => word.strip_prefix("-c").map(str::to_string),
        };
        if let Some((name, value)) = assignment.as_deref().and_then(|a| a.split_once('=')) {
            settings.push((name.replace('-', "_"), value.to_string()));
        }
    }
    settings
}

#[async_trait]
impl StartupHandler for Connection {
    async fn on_startup<C>(&self, client: &mut C, message: PgWireFrontendMessage) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match message {
            PgWireFrontendMessage::Startup(startup) => {
                protocol_negotiation(client, &startup).await?;
                let mut session = self.session.lock().await;
                let options = startup.parameters.get("options").map(|o| command_line_settings(o)).unwrap_or_default();
                let settings = startup.parameters.iter().filter(|(name, _)| !matches!(name.as_str(), "user" | "database" | "options" | "replication"));
                // PostgreSQL applies the packet's settings after the `options` ones.
                for (name, value) in options.iter().map(|(n, v)| (n, v)).chain(settings) {
                    // Clients send settings such as DateStyle or extra_float_digits here; one rhei
                    // does not know is not worth refusing the connection over.
                    if let Err(e) = session.set_connection_default(name, value) {
                        tracing::debug!("ignoring startup parameter {name}: {e}");
                    }
                }
                drop(session);
                client.metadata_mut().extend(startup.parameters.iter().map(|(k, v)| (k.clone(), v.clone())));
                let request = match self.auth.method {
                    Method::Trust => return self.admit(client).await,
                    Method::Password => Authentication::CleartextPassword,
                    Method::Scram => Authentication::SASL(vec![SCRAM_SHA_256_METHOD.to_string()]),
                };
                client.set_state(PgWireConnectionState::AuthenticationInProgress);
                client.send(PgWireBackendMessage::Authentication(request)).await?;
                Ok(())
            }
            PgWireFrontendMessage::PasswordMessageFamily(message) => {
                let user = client.metadata().get("user").cloned().unwrap_or_default();
                match (self.auth.method, self.scram.as_ref()) {
                    (Method::Password, _) => {
                        let given = message.into_password()?;
                        if !self.auth.password_matches(&user, &given.password) {
                            return Err(PgWireError::InvalidPassword(user));
                        }
                        self.admit(client).await
                    }
                    (Method::Scram, Some(scram)) => {
                        let mut state = self.sasl.lock().await;
                        let message = if matches!(*state, SASLState::Initial) {
                            let initial = message.into_sasl_initial_response()?;
                            if initial.auth_method != SCRAM_SHA_256_METHOD {
                                return Err(PgWireError::UnsupportedSASLAuthMethod(initial.auth_method));
                            }
                            *state = SASLState::ScramClientFirstReceived;
                            PasswordMessageFamily::SASLInitialResponse(initial)
                        } else {
                            PasswordMessageFamily::SASLResponse(message.into_sasl_response()?)
                        };
                        let (response, next) = scram.process_scram_message(client, message, &state).await?;
                        client.send(PgWireBackendMessage::Authentication(response)).await?;
                        *state = next;
                        if matches!(*state, SASLState::Finished) {
                            drop(state);
                            return self.admit(client).await;
                        }
                        Ok(())
                    }
                    _ => Err(PgWireError::InvalidSASLState),
                }
            }
            _ => Ok(()),
        }
    }
}

impl Connection {
    /// Lets an authenticated client in: its session's permissions, a cancel key, and the
    /// ParameterStatus messages.
    async fn admit<C>(&self, client: &mut C) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let user = client.metadata().get("user").cloned().unwrap_or_default();
        let mut session = self.session.lock().await;
        session.set_read_only_user(self.auth.read_only(&user));
        let (pid, secret) = self.pids.generate(client);
        client.set_pid_and_secret_key(pid, secret.clone());
        session.set_backend_pid(pid);
        let conn = ConnectionInfo::of(&*client);
        session.set_user_and_database(&conn.user, &conn.database);
        let _ = self.cancel.set(self.cancels.register(pid, &secret, session.write_canceller()));
        let (handle, guard) = self.manager.register(pid, secret);
        client.session_extensions().insert(handle);
        client.session_extensions().insert(guard);
        let params = StartupParameters(
            REPORTED_SETTINGS
                .iter()
                .filter_map(|name| session.setting(name).map(|v| ((*name).to_string(), v.to_string())))
                .collect(),
        );
        drop(session);
        finish_authentication(client, &params).await
    }
}

/// The reported settings' values before a statement that may change them (SET, RESET, the end
/// of a transaction block, which keeps or reverts what SET did in it, `set_config()`); `None`
/// for any other statement, which costs nothing here.
fn reported_before(session: &Session, prepared: &Prepared) -> Option<Vec<Option<String>>> {
    let may_change = match prepared.statement() {
        Some(Statement::Set(_) | Statement::Reset(_) | Statement::Commit { .. } | Statement::Rollback { .. } | Statement::Discard { .. }) => true,
        Some(Statement::Query(_)) => rhei_engine::naming::mentions(&prepared.sql, "set_config"),
        _ => false,
    };
    may_change.then(|| REPORTED_SETTINGS.iter().map(|name| session.setting(name).map(str::to_string)).collect())
}

/// Sends a ParameterStatus for each reported setting the statement changed, as PostgreSQL
/// does (psycopg reads the session's TimeZone from it, pgjdbc checks DateStyle and
/// client_encoding).
async fn send_setting_changes<C>(client: &mut C, session: &Session, before: Option<Vec<Option<String>>>) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let Some(before) = before else { return Ok(()) };
    for (name, was) in REPORTED_SETTINGS.iter().zip(before) {
        match session.setting(name) {
            Some(now) if was.as_deref() != Some(now) => {
                client.feed(PgWireBackendMessage::ParameterStatus(ParameterStatus::new((*name).to_string(), now.to_string()))).await?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Sends the session's pending notices (NoticeResponse), ahead of the statement's result.
async fn send_notices<C>(client: &mut C, session: &mut Session) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    for notice in session.take_notices() {
        let info = ErrorInfo::new(notice.level.as_str().to_owned(), notice.code.to_owned(), notice.message);
        client.feed(PgWireBackendMessage::NoticeResponse(info.into())).await?;
    }
    Ok(())
}

/// Sends the notifications waiting for the session, unless a transaction block is open (they
/// wait for its end, as in PostgreSQL). Called after each statement, so that they reach the
/// client before its ReadyForQuery: psql shows a notification only once it has read it.
pub(crate) async fn send_notifications<C>(client: &mut C, mailbox: &rhei_engine::notify::Mailbox, status: TransactionStatus) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    if status != TransactionStatus::Idle {
        return Ok(());
    }
    for notification in mailbox.take() {
        let message = pgwire::messages::response::NotificationResponse::new(notification.sender_pid, notification.channel, notification.payload);
        client.feed(PgWireBackendMessage::NotificationResponse(message)).await?;
    }
    Ok(())
}

/// The command tag and transaction transition of one statement's result.
fn command_response(tag: &rhei_engine::CommandTag, before: TransactionStatus, after: TransactionStatus) -> Response {
    let wire_tag = match (tag.command, tag.rows) {
        ("INSERT", Some(n)) => Tag::new("INSERT").with_oid(0).with_rows(n as usize),
        (command, Some(n)) => Tag::new(command).with_rows(n as usize),
        (command, None) => Tag::new(command),
    };
    match (before, after) {
        (TransactionStatus::Idle, TransactionStatus::InTransaction) => Response::TransactionStart(wire_tag),
        (TransactionStatus::InTransaction | TransactionStatus::Failed, TransactionStatus::Idle) => {
            Response::TransactionEnd(wire_tag)
        }
        _ => Response::Execution(wire_tag),
    }
}

/// Statements about connection state the engine never sees, answered here; `None` for any
/// other statement.
///
/// - `DEALLOCATE [PREPARE] name | ALL`: prepared statements live in pgwire's per-connection
///   store. It cannot list its statements, so `ALL` forgets none; clients re-Parse a name they
///   deallocated, which replaces the old statement, so this shows only to a client expecting
///   Bind to a deallocated name to fail.
///
/// psycopg 3 sends `DEALLOCATE ALL` after a ROLLBACK.
fn connection_command<S: PortalStore>(store: &S, session: &Session, prepared: &Prepared) -> Option<Result<Response, Box<ErrorInfo>>> {
    let error = |code: &str, message: String| Some(Err(Box::new(ErrorInfo::new("ERROR".into(), code.into(), message))));
    let statement = prepared.statement()?;
    if !matches!(statement, Statement::Deallocate { .. }) {
        return None;
    }
    if session.transaction_status() == TransactionStatus::Failed {
        return Some(Err(Box::new(error_info(&EngineError::InFailedTransaction))));
    }
    match statement {
        Statement::Deallocate { name, .. } if name.quote_style.is_none() && name.value.eq_ignore_ascii_case("all") => {
            Some(Ok(Response::Execution(Tag::new("DEALLOCATE ALL"))))
        }
        Statement::Deallocate { name, .. } => {
            if store.get_statement(&name.value).is_none() {
                return error("26000", format!("prepared statement \"{}\" does not exist", name.value));
            }
            store.rm_statement(&name.value);
            Some(Ok(Response::Execution(Tag::new("DEALLOCATE"))))
        }
        _ => None,
    }
}

/// One CopyData message per row, as PostgreSQL sends them (pgwire counts them for the tag).
fn copy_out_stream(
    rows: rhei_engine::RowStream,
    format: CopyFormat,
    zone: rhei_engine::TimeZone,
) -> impl futures::Stream<Item = PgWireResult<CopyData>> + Send {
    use futures::StreamExt;
    let mut header = Vec::new();
    if format.header {
        format.encode_header(rows.schema(), &mut header);
    }
    let header = (!header.is_empty()).then(|| Ok(CopyData::new(bytes::Bytes::from(header))));
    futures::stream::iter(header).chain(rows.flat_map(move |batch| {
        let messages: Vec<PgWireResult<CopyData>> = match batch {
            Ok(batch) => (0..batch.num_rows())
                .map(|i| {
                    let mut line = Vec::new();
                    format.encode(&batch.slice(i, 1), zone, &mut line);
                    Ok(CopyData::new(bytes::Bytes::from(line)))
                })
                .collect(),
            Err(e) => vec![Err(to_pgwire(&e))],
        };
        futures::stream::iter(messages)
    }))
}

/// Runs one statement and shapes its output for the wire.
#[allow(clippy::too_many_arguments)] // connection state, the statement, and how to shape its result
async fn run(
    connection: &Connection,
    session: &mut Session,
    conn: &ConnectionInfo,
    prepared: &Prepared,
    params: &[rhei_engine::ScalarValue],
    format: &Format,
    described: Option<SchemaRef>,
    buffer_rows: bool,
    reads_catalogs: bool,
) -> Result<Response, EngineError> {
    let before = session.transaction_status();
    // psql's \d and drivers' metadata queries read system catalogs, which only the proxy has.
    // Boxed: a future is copied whole when started, and statements that read no catalog
    // (nearly all) should not carry the catalog answer's state.
    let answered = if reads_catalogs { Box::pin(catalog::answer(session, conn, prepared, params)).await? } else { None };
    let output = match answered {
        Some(rows) => Output::Rows(rows),
        None => session.execute_prepared(prepared, params).await?,
    };
    let after = session.transaction_status();
    match output {
        Output::Empty => Ok(Response::EmptyQuery),
        Output::CopyIn(spec) => {
            let columns = spec.columns.len();
            *connection.copy.lock().await = Some(session.copy_in_start(&spec)?);
            Ok(Response::CopyIn(CopyResponse::new(0, columns, futures::stream::empty())))
        }
        Output::CopyOut(rows, format) => {
            let rows = connection.cancellable(rows);
            let columns = rows.schema().fields().len();
            Ok(Response::CopyOut(CopyResponse::new(0, columns, copy_out_stream(rows, format, session.time_zone()))))
        }
        Output::Command(tag) => Ok(command_response(&tag, before, after)),
        Output::Rows(rows) => {
            let rows = connection.cancellable(rows);
            let schema = described.clone().unwrap_or_else(|| rows.schema().clone());
            let fields: Arc<Vec<FieldInfo>> =
                Arc::new(types::fields(&schema, format).map_err(|e| EngineError::Internal(e.to_string()))?);
            let command = rows.command();
            let rows = if buffer_rows {
                // Later statements of the same query string run only after this result is read
                // whole, as in PostgreSQL; streaming it instead would hold its reader thread.
                let schema = rows.schema().clone();
                let route = rows.route();
                let batches = rows.collect().await?;
                rhei_engine::RowStream::from_batches(schema, route, command, batches)
            } else {
                rows
            };
            let style = crate::encode::TextStyle { zone: session.time_zone(), intervals: session.interval_style() };
            let mut response = QueryResponse::new(fields.clone(), types::data_rows(rows, fields, described, style));
            if command != "SELECT" {
                response.set_command_tag(if command == "INSERT" { "INSERT 0" } else { command });
            }
            Ok(Response::Query(response))
        }
    }
}

#[async_trait]
impl SimpleQueryHandler for Connection {
    /// pgwire's own `on_query`, ending with the engine's transaction status (see
    /// [`Connection::engine_status`]).
    async fn on_query<C>(&self, client: &mut C, query: Query) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if self.forwarder.is_some() {
            return self._on_query(client, query).await;
        }
        if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            return Err(PgWireError::NotReadyForQuery);
        }
        client.set_state(PgWireConnectionState::QueryInProgress);
        let sent = send_simple_responses(self, client, &query.query).await;
        let status = self.engine_status().await;
        // An error while sending reaches pgwire's error path, which moves T to E from here.
        client.set_transaction_status(status);
        sent?;
        if !matches!(client.state(), PgWireConnectionState::CopyInProgress(_)) {
            client.set_state(PgWireConnectionState::ReadyForQuery);
            pgwire::api::query::send_ready_for_query(client, status).await?;
        }
        Ok(())
    }

    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let mut session = self.session.lock().await;
        let statements = match session.parse_simple(query) {
            Ok(statements) => statements,
            Err(e) => return Ok(vec![Response::Error(Box::new(error_info(&e)))]),
        };
        let conn = ConnectionInfo::of(&*client);
        let last = statements.len().saturating_sub(1);
        let mut responses = Vec::with_capacity(statements.len());
        for (i, prepared) in statements.iter().enumerate() {
            if let Some(result) = connection_command(client.portal_store(), &session, prepared) {
                match result {
                    Ok(response) => responses.push(response),
                    Err(e) => {
                        responses.push(Response::Error(e));
                        break;
                    }
                }
                continue;
            }
            let before = reported_before(&session, prepared);
            let reads_catalogs = self.simple_catalog_reads.reads_catalogs(&session, prepared);
            let result = run(self, &mut session, &conn, prepared, &[], &Format::UnifiedText, None, i != last, reads_catalogs).await;
            send_notices(client, &mut session).await?;
            send_setting_changes(client, &session, before).await?;
            send_notifications(client, &self.mailbox, session.transaction_status()).await?;
            match result {
                Ok(response) => responses.push(response),
                Err(e) => {
                    responses.push(Response::Error(Box::new(error_info(&e))));
                    break;
                }
            }
        }
        Ok(responses)
    }
}

/// Runs a simple query's statements and sends their results as pgwire's `on_query` does.
async fn send_simple_responses<C>(connection: &Connection, client: &mut C, query: &str) -> PgWireResult<()>
where
    C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
    C::PortalStore: PortalStore,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    use pgwire::api::copy::{send_copy_both_response, send_copy_in_response, send_copy_out_response};
    use pgwire::api::query::{send_execution_response, send_query_response};
    // Only semicolons and blanks are an empty query to PostgreSQL, which runs nothing.
    let responses = if query.chars().all(|c| c == ';' || c.is_whitespace()) {
        vec![Response::EmptyQuery]
    } else if let Some(handle) = client.session_extensions().get::<Arc<pgwire::api::ConnectionHandle>>() {
        // A CancelRequest ends a statement that waits (a lock, a sleep) through this receiver.
        let cancelled = handle.start_query().await;
        let run = std::pin::pin!(SimpleQueryHandler::do_query(connection, client, query));
        match futures::future::select(run, cancelled).await {
            futures::future::Either::Left((responses, _)) => responses?,
            futures::future::Either::Right(_) => return Err(PgWireError::QueryCanceled),
        }
    } else {
        SimpleQueryHandler::do_query(connection, client, query).await?
    };
    for response in responses {
        match response {
            Response::EmptyQuery => client.feed(PgWireBackendMessage::EmptyQueryResponse(EmptyQueryResponse::new())).await?,
            Response::Query(rows) => send_query_response(client, rows, true).await?,
            Response::Execution(tag) | Response::TransactionStart(tag) | Response::TransactionEnd(tag) => {
                send_execution_response(client, tag).await?
            }
            Response::Error(e) => client.feed(PgWireBackendMessage::ErrorResponse((*e).into())).await?,
            Response::CopyIn(copy) => {
                send_copy_in_response(client, copy).await?;
                client.set_state(PgWireConnectionState::CopyInProgress(false));
            }
            Response::CopyOut(copy) => send_copy_out_response(client, copy).await?,
            Response::CopyBoth(copy) => {
                send_copy_both_response(client, copy).await?;
                client.set_state(PgWireConnectionState::CopyInProgress(false));
            }
        }
    }
    Ok(())
}

#[async_trait]
impl QueryParser for StatementParser {
    type Statement = Arc<ParsedStatement>;

    async fn parse_sql<C>(&self, client: &C, sql: &str, _types: &[Option<Type>]) -> PgWireResult<Self::Statement>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let connection = self.engine_session.upgrade().ok_or(PgWireError::IoError(std::io::Error::other(
            "connection closed",
        )))?;
        let mut session = connection.session.lock().await;
        let mut statements = session.parse(sql).map_err(|e| to_pgwire(&e))?;
        if statements.len() > 1 {
            return Err(to_pgwire(&EngineError::Syntax {
                message: "cannot insert multiple commands into a prepared statement".into(),
                position: None,
            }));
        }
        let prepared = statements.pop().ok_or_else(|| to_pgwire(&EngineError::Internal("parse gave nothing".into())))?;
        let (description, param_type): (_, fn(Option<&DataType>) -> Type) =
            match catalog::describe(&session, &ConnectionInfo::of(client), &prepared).await {
                Ok(Some(description)) => (description, catalog::param_type),
                Ok(None) => (session.describe(&prepared).await.map_err(|e| to_pgwire(&e))?, types::param_type),
                Err(e) => return Err(to_pgwire(&e)),
            };
        let param_types = description.params.iter().map(|t| param_type(t.as_ref())).collect();
        Ok(Arc::new(ParsedStatement::new(prepared, description, param_types)))
    }

    fn get_parameter_types(&self, stmt: &Self::Statement) -> PgWireResult<Vec<Type>> {
        Ok(stmt.param_types.clone())
    }

    fn get_result_schema(&self, stmt: &Self::Statement, format: Option<&Format>) -> PgWireResult<Vec<FieldInfo>> {
        match &stmt.description.columns {
            Some(schema) => types::fields(schema, format.unwrap_or(&Format::UnifiedText)),
            None => Ok(Vec::new()),
        }
    }
}

#[async_trait]
impl ExtendedQueryHandler for Connection {
    type Statement = Arc<ParsedStatement>;
    type QueryParser = StatementParser;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        self.parser.clone()
    }

    /// pgwire answers Describe of a statement that has parameters but returns no rows with an
    /// empty RowDescription; PostgreSQL sends NoData, and JDBC takes the empty RowDescription
    /// to mean the statement returns rows (its batch then counts 0 rows per INSERT). So the
    /// statement case sends ParameterDescription itself and then NoData or RowDescription.
    async fn on_describe<C>(&self, client: &mut C, message: pgwire::messages::extendedquery::Describe) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if message.target_type != pgwire::messages::extendedquery::TARGET_TYPE_BYTE_STATEMENT {
            // A cursor DECLAREd in SQL is a portal too: psycopg describes its named cursors so.
            let name = message.name.as_deref().unwrap_or(pgwire::api::DEFAULT_NAME);
            let cursor = if client.portal_store().get_portal(name).is_none() { self.session.lock().await.cursor_schema(name) } else { None };
            if let Some(schema) = cursor {
                let fields = types::fields(&schema, &Format::UnifiedText)?;
                return pgwire::api::query::send_describe_response(client, &DescribePortalResponse::new(fields)).await;
            }
            return self._on_describe(client, message).await;
        }
        let name = message.name.as_deref().unwrap_or(pgwire::api::DEFAULT_NAME);
        let Some(statement) = client.portal_store().get_statement(name) else {
            return Err(PgWireError::StatementNotFound(name.to_owned()));
        };
        let described = self.do_describe_statement(client, &statement).await?;
        let oids = described.parameters.iter().map(Type::oid).collect();
        client
            .send(PgWireBackendMessage::ParameterDescription(pgwire::messages::data::ParameterDescription::new(oids)))
            .await?;
        pgwire::api::query::send_describe_response(client, &DescribePortalResponse::new(described.fields)).await
    }

    async fn do_describe_statement<C>(
        &self,
        _client: &mut C,
        target: &StoredStatement<Self::Statement>,
    ) -> PgWireResult<DescribeStatementResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let described = &target.statement.param_types;
        let count = described.len().max(target.parameter_types.len());
        let params = (0..count)
            .map(|i| {
                target
                    .parameter_types
                    .get(i)
                    .cloned()
                    .flatten()
                    .unwrap_or_else(|| described.get(i).cloned().unwrap_or(Type::TEXT))
            })
            .collect();
        let fields = self.parser.get_result_schema(&target.statement, None)?;
        Ok(DescribeStatementResponse::new(params, fields))
    }

    async fn do_describe_portal<C>(
        &self,
        _client: &mut C,
        portal: &Portal<Self::Statement>,
    ) -> PgWireResult<DescribePortalResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let fields = self.parser.get_result_schema(&portal.statement.statement, Some(&portal.result_column_format))?;
        Ok(DescribePortalResponse::new(fields))
    }

    /// pgwire's own `on_sync`, with the engine's transaction status in ReadyForQuery (see
    /// [`Connection::engine_status`]).
    async fn on_sync<C>(&self, client: &mut C, _message: pgwire::messages::extendedquery::Sync) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if self.forwarder.is_none() {
            client.set_transaction_status(self.engine_status().await);
        }
        client.portal_store().rm_portal(pgwire::api::DEFAULT_NAME);
        client.send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(client.transaction_status()))).await?;
        client.flush().await?;
        Ok(())
    }

    async fn do_query<C>(&self, client: &mut C, portal: &Portal<Self::Statement>, max_rows: usize) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let statement = &portal.statement.statement;
        let mut session = self.session.lock().await;
        let params = crate::params::decode_params(&session, portal, &statement.description.params)?;
        let described = statement.description.columns.clone();
        if let Some(result) = connection_command(client.portal_store(), &session, &statement.prepared) {
            return result.map_err(PgWireError::UserError);
        }
        let conn = ConnectionInfo::of(&*client);
        let reads_catalogs = statement.reads_catalogs(&session);
        let before = reported_before(&session, &statement.prepared);
        let result =
            run(self, &mut session, &conn, &statement.prepared, &params, &portal.result_column_format, described, false, reads_catalogs).await;
        send_notices(client, &mut session).await?;
        send_setting_changes(client, &session, before).await?;
        send_notifications(client, &self.mailbox, session.transaction_status()).await?;
        match result.map_err(|e| to_pgwire(&e))? {
            // pgwire 0.40 gathers every row of a portal run to completion (Execute with no row
            // limit) into memory before sending the first; the rows are sent as they come
            // instead, and pgwire only sends the completion tag.
            Response::Query(mut rows) if max_rows == 0 => {
                use futures::StreamExt;
                let command = rows.command_tag().to_string();
                let mut sent = 0usize;
                let data = rows.data_rows();
                while let Some(row) = data.next().await {
                    client.feed(PgWireBackendMessage::DataRow(row?)).await?;
                    sent += 1;
                }
                let tag = match command.as_str() {
                    "INSERT 0" => Tag::new("INSERT").with_oid(0).with_rows(sent),
                    other => Tag::new(other).with_rows(sent),
                };
                Ok(Response::Execution(tag))
            }
            other => Ok(other),
        }
    }
}

#[async_trait]
impl CopyHandler for Connection {
    async fn on_copy_data<C>(&self, _client: &mut C, copy_data: CopyData) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match self.copy.lock().await.as_ref() {
            Some(load) => {
                load.send(copy_data.data).await;
                Ok(())
            }
            None => Err(crate::error::protocol_violation("CopyData outside of COPY FROM STDIN")),
        }
    }

    async fn on_copy_done<C>(&self, client: &mut C, _done: CopyDone) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let load =
            self.copy.lock().await.take().ok_or_else(|| crate::error::protocol_violation("CopyDone outside of COPY FROM STDIN"))?;
        let result = self.session.lock().await.copy_in_finish(load).await;
        // pgwire 0.40 leaves an extended-protocol COPY in the copy state after CopyDone, and
        // would answer an error with ReadyForQuery before the client's Sync; so the extended
        // case settles its own state here and Sync answers.
        let extended = matches!(client.state(), PgWireConnectionState::CopyInProgress(true));
        match result {
            Ok(loaded) => {
                client
                    .send(PgWireBackendMessage::CommandComplete(Tag::new("COPY").with_rows(loaded as usize).into()))
                    .await?;
                if extended {
                    client.set_state(PgWireConnectionState::ReadyForQuery);
                }
                Ok(())
            }
            Err(e) if extended => {
                client.send(PgWireBackendMessage::ErrorResponse(error_info(&e).into())).await?;
                let status = client.transaction_status().to_error_state();
                client.set_transaction_status(status);
                client.set_state(PgWireConnectionState::AwaitingSync);
                Ok(())
            }
            Err(e) => Err(to_pgwire(&e)),
        }
    }

    async fn on_copy_fail<C>(&self, _client: &mut C, fail: CopyFail) -> PgWireError
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let Some(load) = self.copy.lock().await.take() else {
            return crate::error::protocol_violation("CopyFail outside of COPY FROM STDIN");
        };
        to_pgwire(&self.session.lock().await.copy_in_fail(load, &fail.message).await)
    }
}

#[cfg(test)]
mod tests {
    use super::command_line_settings;

    #[test]
    fn options_are_read_as_postgres_reads_its_command_line() {
        let pairs = |o: &str| command_line_settings(o).into_iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>();
        assert_eq!(pairs("-c search_path=app,public -cTimeZone=Europe/Paris --statement-timeout=5s"), [
            "search_path=app,public",
            "TimeZone=Europe/Paris",
            "statement_timeout=5s"
        ]);
        assert_eq!(pairs(r"-c application_name=my\ app  -c app.tenant=a\\b"), ["application_name=my app", r"app.tenant=a\b"]);
        // Server switches and words without a value set nothing.
        assert_eq!(pairs("-B 100 -c nothing -c"), Vec::<String>::new());
    }
}
