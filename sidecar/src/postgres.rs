//! The PostgreSQL follower: snapshot, then logical replication, into replica tables.
//!
//! Start-up: with no stored position (or on `resnapshot`), the publication is created or reused,
//! a logical slot is created with an exported snapshot, every selected table is copied inside
//! that snapshot (COPY, text format) and the slot's consistent point is stored together with the
//! switch-on of change capture. Streaming then starts exactly there: no gap, no overlap. With a
//! stored position, streaming resumes from it.
//!
//! Streaming: changes of one upstream transaction are collected until its Commit; transactions
//! that arrived back to back are applied as one engine write with the end LSN of the last (the
//! position is stored in the same SQLite transaction), and only then is that LSN confirmed to
//! the upstream, so the slot never moves past what rhei has made durable.
//!
//! Faults: lost connections are retried with backoff while reads keep being served and the lag
//! is reported; a lost slot or an upstream schema change stops following with a message saying
//! how to recover.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::{FutureExt, StreamExt};
use rhei_config::SidecarConfig;
use rhei_engine::HtapEngine;
use rhei_engine::replica::{PreparedRows, ProgressUnit, ReplicaBatch, ReplicaChange, ReplicaTxn, ReplicaValue, UpstreamStatus};
use tokio_postgres::Client;

use crate::upstream::UpstreamConfig;
use tokio_util::sync::CancellationToken;

use crate::error::SidecarError;
use crate::pgoutput::{self, PgOutputMessage, Relation, Tuple, TupleValue, format_lsn, parse_lsn};
use crate::replication::{ReplicationClient, ReplicationError, ReplicationEvent, ReplicationStream};
use crate::schema::{self, UpstreamTable};

/// The name the follower's position is stored under.
pub const SOURCE: &str = "postgres";

/// Session settings that make the upstream's text output exactly what rhei's converters read,
/// for COPY and for pgoutput (which formats values with the walsender's settings).
const OUTPUT_OPTIONS: &str = "-c TimeZone=UTC -c DateStyle=ISO -c IntervalStyle=postgres -c extra_float_digits=3 -c bytea_output=hex";

/// Snapshot COPY text goes to the converter in pieces of about this many bytes: the upstream
/// sends a message per row, too small to pass between threads one by one.
const SNAPSHOT_PIECE_BYTES: usize = 64 << 10;

/// Pieces of snapshot text and loads of converted rows waiting for the next stage.
const PIECES_IN_FLIGHT: usize = 32;
const LOADS_IN_FLIGHT: usize = 2;

/// Most upstream transactions merged into one engine write when they arrive back to back.
const MAX_BATCH_TXNS: usize = 512;

/// How often the follower tells the upstream where it is when nothing else happens.
const STATUS_INTERVAL: Duration = Duration::from_secs(5);
/// How often the walsender is asked for its position while a session waits to read its own
/// forwarded write.
const ASK_INTERVAL: Duration = Duration::from_millis(5);


/// How long a new or altered upstream table may take to show in the upstream's catalog.
const CATALOG_VISIBLE_WAIT: Duration = Duration::from_secs(10);

/// How rhei connects to the upstream at `url`: with the session settings that make its text
/// output exactly what rhei's converters read.
///
/// # Errors
/// The URL does not parse, or its TLS settings cannot be used.
pub fn upstream_config(url: &str) -> Result<UpstreamConfig, SidecarError> {
    let mut upstream = UpstreamConfig::parse(url)?;
    upstream.pg.options(OUTPUT_OPTIONS);
    upstream.pg.application_name("rhei-sidecar");
    upstream.pg.connect_timeout(Duration::from_secs(10));
    Ok(upstream)
}

/// A client connection to the upstream, its connection task running beside it.
///
/// # Errors
/// The upstream cannot be reached or refuses the connection.
pub async fn connect(upstream: &UpstreamConfig) -> Result<Client, SidecarError> {
    let (client, connection) = match upstream.pg.connect(upstream.connector()).await {
        Ok(connected) => connected,
        // As libpq: prefer takes a plain connection when TLS cannot be set up.
        Err(e) if upstream.ssl_mode == crate::upstream::SslMode::Prefer && crate::error::is_tls_failure(&e) => {
            tracing::warn!("TLS with the upstream failed ({e}); sslmode=prefer goes on unencrypted");
            let mut plain = upstream.pg.clone();
            plain.ssl_mode(tokio_postgres::config::SslMode::Disable);
            plain.connect(upstream.connector()).await?
        }
        Err(e) => return Err(e.into()),
    };
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!("upstream connection ended: {e}");
        }
    });
    Ok(client)
}

/// A relation as pgoutput described it, and where its changes go.
struct FollowedRelation {
    /// The local replica table; `None` for tables outside the selection.
    local: Option<String>,
    /// Positions of the key among the upstream's columns, in the replica key's order.
    key: Vec<usize>,
    /// The local user-column position of each upstream column.
    positions: Vec<usize>,
    /// Local user columns (more than the upstream's when it dropped some a temporal table keeps).
    width: usize,
}

impl FollowedRelation {
    fn ignored() -> Self {
        Self { local: None, key: Vec::new(), positions: Vec::new(), width: 0 }
    }
}

/// The upstream transaction being received.
struct OpenTxn {
    commit_time: i64,
    changes: Vec<ReplicaChange>,
}

/// Follows one PostgreSQL upstream into the engine until cancelled.
pub struct PgFollower {
    engine: HtapEngine,
    config: SidecarConfig,
    pg: UpstreamConfig,
    status: UpstreamStatus,
    resnapshot: bool,
    /// Versions never start before this (commit timestamps can step back a little between
    /// transactions, and a version must not end before it began).
    last_commit_time: i64,
}

impl PgFollower {
    /// A follower for `config.upstream`; nothing is contacted until [`Self::run`].
    ///
    /// # Errors
    /// The upstream URL does not parse.
    pub fn new(engine: HtapEngine, config: SidecarConfig) -> Result<Self, SidecarError> {
        let pg = upstream_config(&config.upstream)?;
        let upstream = rhei_config::redact(&config.upstream);
        engine.set_replica_of(&upstream);
        let status = UpstreamStatus {
            source: SOURCE.into(),
            upstream,
            method: "logical".into(),
            state: "starting".into(),
            ..UpstreamStatus::default()
        };
        engine.report_upstream(status.clone());
        let resnapshot = config.resnapshot;
        Ok(Self { engine, config, pg, status, resnapshot, last_commit_time: i64::MIN })
    }

    fn report(&self) {
        self.engine.report_upstream(self.status.clone());
    }

    fn replication_error(&self, source: ReplicationError) -> SidecarError {
        SidecarError::Replication { upstream: self.status.upstream.clone(), source }
    }

    /// Follows the upstream until `shutdown`: retries lost connections with backoff, stops on
    /// errors retrying cannot fix (reported in `rhei_replication` and the log).
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut backoff = Duration::from_millis(250);
        loop {
            let started = Instant::now();
            let result = self.follow(&shutdown).await;
            let error = match result {
                Ok(()) => return,
                Err(e) => e,
            };
            if shutdown.is_cancelled() {
                return;
            }
            self.status.last_error = Some(format!("{} (SQLSTATE {})", error, error.sqlstate()));
            if !error.is_transient() {
                self.status.state = "failed".into();
                self.report();
                tracing::error!("sidecar stopped following {}: {error}", self.status.upstream);
                return;
            }
            if started.elapsed() > crate::MAX_BACKOFF {
                backoff = Duration::from_millis(250);
            }
            self.status.state = "reconnecting".into();
            self.report();
            tracing::warn!("lost the upstream {} ({error}); retrying in {backoff:?}", self.status.upstream);
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(crate::MAX_BACKOFF);
        }
    }

    async fn connect(&self) -> Result<Client, SidecarError> {
        connect(&self.pg).await
    }

    async fn follow(&mut self, shutdown: &CancellationToken) -> Result<(), SidecarError> {
        let client = self.connect().await?;
        let stored = if self.resnapshot { None } else { self.engine.replica_position(SOURCE).await? };
        let (repl, start) = match stored {
            Some(position) => {
                let lsn = parse_lsn(&position)?;
                let repl = ReplicationClient::connect(&self.pg).await.map_err(|e| self.replication_error(e))?;
                (repl, lsn)
            }
            None => {
                let started = self.snapshot(&client).await?;
                self.resnapshot = false;
                started
            }
        };
        self.status.applied_position = Some(format_lsn(start));
        let publications = vec![self.config.publication.clone()];
        let stream = match repl.start_logical_replication(&self.config.slot, start, &publications).await {
            Ok(stream) => stream,
            Err(ReplicationError::Upstream { code, message }) if code == "42704" || code == "55000" => {
                tracing::error!("upstream refused the replication slot: {message}");
                return Err(SidecarError::SlotLost { slot: self.config.slot.clone(), position: format_lsn(start) });
            }
            Err(e) => return Err(self.replication_error(e)),
        };
        self.status.state = "streaming".into();
        self.status.last_error = None;
        self.report();
        tracing::info!("streaming changes from {} at {}", self.status.upstream, format_lsn(start));
        self.stream(&client, stream, start, shutdown).await
    }

    /// Takes the initial snapshot; returns the replication connection (its slot's snapshot
    /// used and released) and the LSN streaming starts at.
    async fn snapshot(&mut self, client: &Client) -> Result<(ReplicationClient, u64), SidecarError> {
        self.status.state = "snapshot".into();
        self.report();
        let publication = &self.config.publication;
        if client.query_opt("SELECT 1 FROM pg_publication WHERE pubname = $1", &[publication]).await?.is_none() {
            client.batch_execute(&format!("CREATE PUBLICATION {} FOR ALL TABLES", schema::quote(publication))).await?;
        }
        let slot = &self.config.slot;
        if let Some(row) = client.query_opt("SELECT active FROM pg_replication_slots WHERE slot_name = $1", &[slot]).await? {
            if row.get::<_, bool>(0) {
                return Err(SidecarError::Protocol(format!(
                    "replication slot \"{slot}\" is in use by another process; stop it or set [sidecar] slot"
                )));
            }
            // Left by an interrupted snapshot, or a resnapshot: its position is not ours any more.
            client.execute("SELECT pg_drop_replication_slot($1)", &[slot]).await?;
        }
        let tables = schema::discover(client, &self.config).await?;
        let existing: Vec<String> =
            self.engine.catalog().tables().filter(|t| t.replica.is_some()).map(|t| t.name.clone()).collect();
        self.engine.reset_replica(SOURCE, existing).await?;
        // Every change streamed later committed after the slot was created, so after this instant.
        let valid_from: i64 = client.query_one("SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::int8", &[]).await?.get(0);
        let mut repl = ReplicationClient::connect(&self.pg).await.map_err(|e| self.replication_error(e))?;
        let created = repl.create_logical_slot(slot, false).await.map_err(|e| self.replication_error(e))?;
        let snapshot_name = created
            .snapshot_name
            .ok_or_else(|| SidecarError::Protocol("the upstream exported no snapshot for the new slot".into()))?;
        let reader = self.connect().await?;
        reader.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await?;
        reader.batch_execute(&format!("SET TRANSACTION SNAPSHOT '{}'", snapshot_name.replace('\'', "''"))).await?;
        let started = Instant::now();
        let mut total = 0u64;
        for table in &tables {
            self.engine.create_replica_table(table.spec.clone()).await?;
            total += self.copy_table(&reader, table, valid_from, started, total).await?;
        }
        reader.batch_execute("COMMIT").await?;
        let locals = tables.iter().map(|t| t.local.clone()).collect();
        self.engine.finish_replica_snapshot(SOURCE, locals, &format_lsn(created.consistent_point)).await?;
        let secs = started.elapsed().as_secs_f64().max(1e-9);
        tracing::info!(
            "snapshot of {} tables done: {total} rows in {secs:.2}s ({:.0} rows/s), streaming from {}",
            tables.len(),
            total as f64 / secs,
            format_lsn(created.consistent_point)
        );
        if std::io::stderr().is_terminal() {
            eprintln!();
        }
        self.last_commit_time = valid_from;
        self.status.snapshot_rows = total;
        Ok((repl, created.consistent_point))
    }

    /// Copies one table inside the snapshot; returns its rows. Three stages run at once: this
    /// task gathers the upstream's COPY messages (one per row) into pieces, a blocking thread
    /// converts the pieces into storage values, and a loader task hands the converted rows to
    /// the writer, in order. Bounded channels between them keep memory at a few pieces and
    /// loads whatever the table's size.
    async fn copy_table(
        &mut self,
        reader: &Client,
        table: &UpstreamTable,
        valid_from: i64,
        started: Instant,
        before: u64,
    ) -> Result<u64, SidecarError> {
        let columns: Vec<String> = table.spec.columns.iter().map(|c| schema::quote(&c.name)).collect();
        let sql = format!("COPY {} ({}) TO STDOUT", table.qualified(), columns.join(", "));
        let stream = reader.copy_out(&sql).await?;
        let mut stream = std::pin::pin!(stream);
        let (piece_tx, mut piece_rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(PIECES_IN_FLIGHT);
        let (load_tx, mut load_rx) = tokio::sync::mpsc::channel::<PreparedRows>(LOADS_IN_FLIGHT);
        let (engine, local) = (self.engine.clone(), table.local.clone());
        let converter = tokio::task::spawn_blocking(move || {
            engine.convert_replica_copy(&local, valid_from, &mut || piece_rx.blocking_recv(), &mut |rows| {
                load_tx.blocking_send(rows).is_ok()
            })
        });
        let loaded = Arc::new(AtomicU64::new(0));
        let (engine, counter) = (self.engine.clone(), loaded.clone());
        let loader = tokio::spawn(async move {
            while let Some(rows) = load_rx.recv().await {
                counter.fetch_add(engine.load_prepared_rows(rows).await?, Ordering::Relaxed);
            }
            Ok::<_, SidecarError>(())
        });
        let received = async {
            let mut piece: Vec<u8> = Vec::with_capacity(SNAPSHOT_PIECE_BYTES + (16 << 10));
            let mut last_progress = Instant::now();
            loop {
                let message = stream.next().await.transpose()?;
                let done = message.is_none();
                if let Some(message) = message {
                    piece.extend_from_slice(&message);
                }
                if piece.len() >= SNAPSHOT_PIECE_BYTES || (done && !piece.is_empty()) {
                    let full = std::mem::replace(&mut piece, Vec::with_capacity(SNAPSHOT_PIECE_BYTES + (16 << 10)));
                    // Refused only when the converter or the loader stopped: their answer says why.
                    if piece_tx.send(full.into()).await.is_err() {
                        return Ok(());
                    }
                }
                if last_progress.elapsed() > Duration::from_secs(2) {
                    last_progress = Instant::now();
                    self.progress(&table.local, before + loaded.load(Ordering::Relaxed), started);
                }
                if done {
                    return Ok::<_, SidecarError>(());
                }
            }
        }
        .await;
        drop(piece_tx);
        let converted = converter.await.map_err(|e| SidecarError::Protocol(format!("snapshot conversion panicked: {e}")));
        let load = loader.await.map_err(|e| SidecarError::Protocol(format!("snapshot load panicked: {e}")));
        // The loader's failure stops the converter and the converter's stops the loader, so the
        // first of these that failed is the cause.
        received?;
        load??;
        converted??;
        let rows = loaded.load(Ordering::Relaxed);
        self.progress(&table.local, before + rows, started);
        Ok(rows)
    }

    fn progress(&mut self, table: &str, rows: u64, started: Instant) {
        let rate = rows as f64 / started.elapsed().as_secs_f64().max(1e-9);
        self.status.snapshot_rows = rows;
        self.report();
        if std::io::stderr().is_terminal() {
            eprint!("\rsnapshot: {rows} rows ({rate:.0} rows/s), loading {table}          ");
        } else {
            tracing::info!("snapshot: {rows} rows ({rate:.0} rows/s), loading {table}");
        }
    }

    async fn stream(
        &mut self,
        client: &Client,
        mut stream: ReplicationStream,
        start: u64,
        shutdown: &CancellationToken,
    ) -> Result<(), SidecarError> {
        let mut applied = start;
        // Everything up to here is applied or was nothing to apply: `applied`, or past it the
        // end of WAL an idle keepalive reports (other databases' writes, checkpoints). The
        // upstream is told this, not `applied`: a walsender at shutdown waits until its client
        // has confirmed all it sent, the shutdown checkpoint included, so reporting the last
        // commit kept the upstream from stopping for as long as rhei stayed connected.
        let mut confirmed = start;
        let mut upstream_lsn = start;
        let mut relations: HashMap<u32, FollowedRelation> = HashMap::new();
        let mut open: Option<OpenTxn> = None;
        let mut pending: Vec<ReplicaTxn> = Vec::new();
        let mut pending_end = applied;
        let mut ticker = tokio::time::interval(STATUS_INTERVAL);
        let progress = self.engine.replica_progress();
        progress.set_unit(ProgressUnit::Lsn);
        progress.advance(applied);
        let mut wanted = progress.wanted();
        // While a session waits for a position, the walsender is asked where it is this often:
        // its answer (a keepalive) tells that nothing before it is left to send.
        let mut ask = tokio::time::interval(ASK_INTERVAL);
        ask.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let waited_for = *wanted.borrow_and_update() > self.engine.replica_progress().through();
            let event = if pending.is_empty() {
                tokio::select! {
                    () = shutdown.cancelled() => return Ok(()),
                    _ = ticker.tick() => {
                        stream.send_status(confirmed, confirmed, confirmed, false).await.map_err(|e| self.replication_error(e))?;
                        self.update_lag(confirmed, upstream_lsn);
                        continue;
                    }
                    _ = wanted.changed() => continue,
                    _ = ask.tick(), if waited_for && open.is_none() => {
                        stream.send_status(confirmed, confirmed, confirmed, true).await.map_err(|e| self.replication_error(e))?;
                        continue;
                    }
                    event = stream.next_event() => event,
                }
            } else {
                // Transactions are waiting: take whatever else has already arrived, then apply.
                match stream.next_event().now_or_never() {
                    Some(event) if pending.len() < MAX_BATCH_TXNS => event,
                    other => {
                        let txns = std::mem::take(&mut pending);
                        self.apply(txns, pending_end).await?;
                        applied = pending_end;
                        confirmed = confirmed.max(applied);
                        stream.send_status(confirmed, confirmed, confirmed, false).await.map_err(|e| self.replication_error(e))?;
                        self.update_lag(confirmed, upstream_lsn.max(confirmed));
                        match other {
                            Some(event) => event,
                            None => continue,
                        }
                    }
                }
            };
            let event = event.map_err(|e| self.replication_error(e))?;
            match event {
                // The walsender ends its stream when the upstream shuts down: a restart of the
                // upstream, to wait out and follow again, not a failure to stop on.
                None => return Err(self.replication_error(ReplicationError::ConnectionClosed)),
                Some(ReplicationEvent::Keepalive { wal_end, reply_requested, .. }) => {
                    upstream_lsn = upstream_lsn.max(wal_end);
                    let idle = pending.is_empty() && open.is_none();
                    if idle {
                        // The walsender has sent everything before `wal_end`, and all of it is
                        // applied.
                        confirmed = confirmed.max(wal_end);
                        self.engine.replica_progress().advance(confirmed);
                    }
                    if reply_requested {
                        stream.send_status(confirmed, confirmed, confirmed, false).await.map_err(|e| self.replication_error(e))?;
                    }
                    if idle {
                        self.update_lag(confirmed, upstream_lsn);
                    }
                }
                Some(ReplicationEvent::XLogData { wal_end, data, .. }) => {
                    upstream_lsn = upstream_lsn.max(wal_end);
                    match pgoutput::decode(&data)? {
                        PgOutputMessage::Begin { commit_time, .. } => {
                            // Strictly after the previous transaction: an equal instant means
                            // "the same transaction" to the engine, which drops a version opened
                            // and replaced within one transaction instead of ending it.
                            let at = pgoutput::pg_epoch_to_unix_micros(commit_time).max(self.last_commit_time.saturating_add(1));
                            self.last_commit_time = at;
                            open = Some(OpenTxn { commit_time: at, changes: Vec::new() });
                        }
                        PgOutputMessage::Commit { end_lsn, .. } => {
                            let txn = open.take().ok_or_else(|| SidecarError::Protocol("Commit without Begin".into()))?;
                            // A transaction at or below the stored position was applied before a restart.
                            if end_lsn > applied {
                                pending.push(ReplicaTxn { commit_time: txn.commit_time, changes: txn.changes });
                                pending_end = end_lsn;
                            }
                        }
                        PgOutputMessage::Relation(relation) => {
                            // A changed shape reshapes the local table: what is waiting must be
                            // applied in the shape it was decoded for first.
                            if !pending.is_empty() {
                                let txns = std::mem::take(&mut pending);
                                self.apply(txns, pending_end).await?;
                                applied = pending_end;
                                confirmed = confirmed.max(applied);
                            }
                            let followed = self.follow_relation(client, &relation, applied).await?;
                            if let (Some(txn), Some(local)) = (open.as_mut(), followed.local.as_deref()) {
                                // Changes before an ALTER inside the same transaction were decoded
                                // narrower; added columns are appended, so padding fits them.
                                pad_rows(&mut txn.changes, local, followed.width);
                            }
                            relations.insert(relation.id, followed);
                        }
                        message => {
                            let txn = open.as_mut().ok_or_else(|| SidecarError::Protocol("a change outside a transaction".into()))?;
                            changes_of(message, &relations, &mut txn.changes)?;
                        }
                    }
                }
            }
        }
    }

    async fn apply(&mut self, txns: Vec<ReplicaTxn>, end: u64) -> Result<(), SidecarError> {
        let count = txns.len() as u64;
        let last_commit = txns.last().map(|t| t.commit_time);
        let batch = ReplicaBatch { source: SOURCE.into(), txns, position: format_lsn(end) };
        let rows = self.engine.apply_replica(batch).await?;
        self.engine.replica_progress().advance(end);
        self.status.transactions_applied += count;
        self.status.rows_applied += rows;
        if last_commit.is_some() {
            self.status.last_commit_time = last_commit;
        }
        Ok(())
    }

    fn update_lag(&mut self, applied: u64, upstream: u64) {
        self.status.applied_position = Some(format_lsn(applied));
        self.status.upstream_position = Some(format_lsn(upstream));
        let behind = upstream.saturating_sub(applied);
        self.status.lag_bytes = Some(behind as i64);
        self.status.lag_seconds = Some(match (behind, self.status.last_commit_time) {
            (0, _) | (_, None) => 0.0,
            (_, Some(t)) => ((rhei_engine::value::now_micros() - t).max(0) as f64) / 1e6,
        });
        self.report();
    }

    /// The upstream's catalog entry for a relation, once the catalog shows the shape the
    /// relation message describes. The walsender sends a transaction as soon as its commit
    /// record is flushed, which is before other sessions see the commit, so a table created (or
    /// altered) by it may not be visible yet: wait for it, briefly.
    async fn describe_visible(&self, client: &Client, relation: &Relation) -> Result<UpstreamTable, SidecarError> {
        let wanted: Vec<&str> = relation.columns.iter().map(|c| c.name.as_str()).collect();
        let identity_full = relation.replica_identity == b'f';
        let started = Instant::now();
        loop {
            let described = schema::describe(client, &self.config, &relation.namespace, &relation.name, relation.id, identity_full).await;
            match described {
                Ok(table) if table.spec.columns.iter().map(|c| c.name.as_str()).eq(wanted.iter().copied()) => return Ok(table),
                Err(e) if started.elapsed() > CATALOG_VISIBLE_WAIT => return Err(e),
                _ if started.elapsed() > CATALOG_VISIBLE_WAIT => {
                    return Err(SidecarError::SchemaChanged {
                        table: format!("{}.{}", relation.namespace, relation.name),
                        change: format!("the change stream has columns ({}) that the upstream's catalog does not show", wanted.join(", ")),
                        hint: "restart rhei; if it persists, restart with `rh serve --resnapshot`",
                    });
                }
                _ => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    }

    /// Where a relation's changes go: its replica table (created now for a table that appeared
    /// upstream after the snapshot, reshaped when the upstream added or dropped columns), or
    /// nowhere outside the selection.
    async fn follow_relation(&mut self, client: &Client, relation: &Relation, applied: u64) -> Result<FollowedRelation, SidecarError> {
        if !self.config.selects(&relation.namespace, &relation.name) {
            return Ok(FollowedRelation::ignored());
        }
        let upstream_name = format!("{}.{}", relation.namespace, relation.name);
        let local = schema::local_name(&relation.namespace, &relation.name);
        let mut def = match self.engine.catalog().get(&local) {
            Some(def) => def.clone(),
            None => {
                let described = self.describe_visible(client, relation).await?;
                tracing::info!("following new upstream table {upstream_name}");
                self.engine.create_replica_table(described.spec).await?;
                self.engine.finish_replica_snapshot(SOURCE, vec![local.clone()], &format_lsn(applied)).await?;
                self.engine.catalog().require(&local)?.clone()
            }
        };
        let Some(replica) = def.replica.clone() else {
            return Err(SidecarError::SchemaChanged {
                table: upstream_name,
                change: format!("a local table \"{local}\" that is not a replica is in the way"),
                hint: "drop or rename the local table",
            });
        };
        let upstream_columns: Vec<&str> = relation.columns.iter().map(|c| c.name.as_str()).collect();
        let local_columns: Vec<String> = def.user_columns().iter().map(|c| c.name.clone()).collect();
        let added: Vec<&str> = upstream_columns.iter().copied().filter(|c| !local_columns.iter().any(|l| l == c)).collect();
        let gone: Vec<&String> = local_columns
            .iter()
            .filter(|l| !upstream_columns.contains(&l.as_str()) && !replica.dropped.contains(l))
            .collect();
        let back: Vec<&String> = replica.dropped.iter().filter(|d| upstream_columns.contains(&d.as_str())).collect();
        if !added.is_empty() || !gone.is_empty() || !back.is_empty() {
            let described = self.describe_visible(client, relation).await?;
            let mut columns: Vec<_> = def
                .user_columns()
                .iter()
                .filter(|c| replica.temporal || upstream_columns.contains(&c.name.as_str()))
                .cloned()
                .collect();
            for name in &added {
                let column = described.spec.columns.iter().find(|c| c.name == *name).cloned().ok_or_else(|| SidecarError::SchemaChanged {
                    table: upstream_name.clone(),
                    change: format!("column \"{name}\" is in the change stream but no longer in the upstream's catalog"),
                    hint: "restart rhei; if it persists, restart with `rh serve --resnapshot`",
                })?;
                columns.push(column);
            }
            let dropped: Vec<String> = if replica.temporal {
                replica.dropped.iter().filter(|d| !upstream_columns.contains(&d.as_str())).cloned().chain(gone.iter().map(|g| (*g).clone())).collect()
            } else {
                Vec::new()
            };
            // Rows written before an ADD COLUMN ... DEFAULT <constant> show the default upstream
            // without any change being written for them.
            let fill: Vec<(String, String)> = client
                .query(
                    "SELECT attname::text, (attmissingval::text::text[])[1] FROM pg_attribute \
                     WHERE attrelid = $1 AND atthasmissing AND NOT attisdropped AND attnum > 0",
                    &[&relation.id],
                )
                .await?
                .into_iter()
                .filter_map(|r| Some((r.get::<_, String>(0), r.get::<_, Option<String>>(1)?)))
                .filter(|(name, _)| added.contains(&name.as_str()))
                .collect();
            tracing::info!("upstream table {upstream_name} changed: added {added:?}, dropped {gone:?}, re-added {back:?}");
            self.engine.reshape_replica_table(&local, columns, dropped, fill).await?;
            def = self.engine.catalog().require(&local)?.clone();
        }
        let user = def.user_columns();
        let positions = upstream_columns
            .iter()
            .map(|name| user.iter().position(|c| c.name == *name))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| SidecarError::Protocol(format!("replica table \"{local}\" lacks a column of {upstream_name}")))?;
        let key = def
            .replica
            .as_ref()
            .map(|r| r.key.iter().map(|&k| positions.iter().position(|&p| p == k)).collect::<Option<Vec<_>>>())
            .unwrap_or_default()
            .ok_or_else(|| SidecarError::SchemaChanged {
                table: upstream_name.clone(),
                change: "a key column is gone".into(),
                hint: "restart with `rh serve --resnapshot` to take a fresh snapshot with the new key",
            })?;
        Ok(FollowedRelation { local: Some(local), key, positions, width: user.len() })
    }
}

/// Pads rows of `table` in `changes` to `width` values (NULL for columns added after them).
fn pad_rows(changes: &mut [ReplicaChange], table: &str, width: usize) {
    for change in changes {
        if let ReplicaChange::Insert { table: t, row } | ReplicaChange::Update { table: t, row, .. } = change
            && t == table
            && row.len() < width
        {
            row.resize(width, ReplicaValue::Null);
        }
    }
}

fn value_of(v: &TupleValue) -> Result<ReplicaValue, SidecarError> {
    match v {
        TupleValue::Null => Ok(ReplicaValue::Null),
        TupleValue::Text(s) => Ok(ReplicaValue::Text(s.clone())),
        TupleValue::UnchangedToast => Ok(ReplicaValue::Unchanged),
        TupleValue::Binary(_) => Err(SidecarError::Protocol("a binary value in a text-format replication stream".into())),
    }
}

/// An upstream row in local column order (NULL where the local table has a column the
/// upstream no longer sends).
fn row(tuple: &Tuple, rel: &FollowedRelation) -> Result<Vec<ReplicaValue>, SidecarError> {
    let mut out = vec![ReplicaValue::Null; rel.width];
    for (value, &position) in tuple.0.iter().zip(&rel.positions) {
        out[position] = value_of(value)?;
    }
    Ok(out)
}

fn key(tuple: &Tuple, key: &[usize]) -> Result<Vec<ReplicaValue>, SidecarError> {
    key.iter()
        .map(|&k| tuple.0.get(k).ok_or_else(|| SidecarError::Protocol("a key column missing from a change".into())).and_then(value_of))
        .collect()
}

/// The replica changes of one pgoutput row message (none for tables outside the selection).
fn changes_of(message: PgOutputMessage, relations: &HashMap<u32, FollowedRelation>, out: &mut Vec<ReplicaChange>) -> Result<(), SidecarError> {
    let target = |id: u32| -> Result<Option<&FollowedRelation>, SidecarError> {
        let rel = relations.get(&id).ok_or_else(|| SidecarError::Protocol(format!("a change to relation {id} before its Relation message")))?;
        Ok(rel.local.is_some().then_some(rel))
    };
    match message {
        PgOutputMessage::Insert { relation, new } => {
            if let Some(rel) = target(relation)? {
                out.push(ReplicaChange::Insert { table: rel.local.clone().unwrap_or_default(), row: row(&new, rel)? });
            }
        }
        PgOutputMessage::Update { relation, old, new } => {
            if let Some(rel) = target(relation)? {
                let old_key = old.as_ref().map(|o| key(o, &rel.key)).transpose()?;
                out.push(ReplicaChange::Update { table: rel.local.clone().unwrap_or_default(), old_key, row: row(&new, rel)? });
            }
        }
        PgOutputMessage::Delete { relation, old } => {
            if let Some(rel) = target(relation)? {
                out.push(ReplicaChange::Delete { table: rel.local.clone().unwrap_or_default(), key: key(&old, &rel.key)? });
            }
        }
        PgOutputMessage::Truncate { relations: ids, .. } => {
            for id in ids {
                if let Some(rel) = target(id)? {
                    out.push(ReplicaChange::Truncate { table: rel.local.clone().unwrap_or_default() });
                }
            }
        }
        // Types, origins and logical messages carry nothing to store.
        _ => {}
    }
    Ok(())
}
