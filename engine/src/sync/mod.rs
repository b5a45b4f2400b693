//! Sync: moves committed changes from the change log into the OLAP copy on a dedicated thread
//! (`rhei-sync`). Each step reads a large batch of log entries and the current rows they point
//! at inside one SQLite read transaction, so the rows are exactly the snapshot's state; repeated
//! changes to a row collapse into one upsert or delete (coalescing per key), a table with a schema
//! change anywhere in the snapshot is reloaded whole, and the result is published to queries at
//! the batch's last sequence. Then the applied part of the log is pruned.
//!
//! At start the OLAP copy is built from a snapshot of the tables at the current sequence; log
//! entries up to it are already reflected and are pruned, never replayed on top. With durable
//! storage ([`persist`]) tables load from their Parquet files instead, and the log after the
//! files' sequence (which pruning keeps) is applied on top.
//!
//! A table holding a value its OLAP column type cannot represent (an upstream's `1e30` or
//! `NaN` in a column declared plain `numeric`, which native writes refuse) is held back
//! ([`HeldBack`]): it stays in the copy empty, so statements still plan on it, reads of it are
//! routed to SQLite, and every other table goes on syncing. It is read again once it has
//! changed, no more often than [`HELD_RETRY_MIN`] (or ten times its last read's duration).

pub mod bulk;
pub mod persist;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use arrow::record_batch::RecordBatch;
use parking_lot::Mutex;
use rusqlite::Connection;
use tokio::sync::watch;

use crate::capture::LAST_SEQ_SQL;
use crate::catalog::{TableDef, TableId, quote_ident, store};
use crate::error::{EngineError, Result};
use crate::olap::OlapBackend;
use bulk::BulkLoads;
use persist::ParquetStore;
use crate::oltp::convert::BatchBuilder;
use crate::oltp::writer::OltpWriter;
use crate::oltp::{classify, open_connection};

/// Changed rowids closer together than this are read with one range scan instead of lookups.
const RANGE_GAP: i64 = 8;
const RANGE_MIN_ROWS: usize = 32;

/// The shortest time between two attempts to read a held-back table again.
const HELD_RETRY_MIN: Duration = if cfg!(test) { Duration::from_millis(50) } else { Duration::from_secs(5) };

/// Tables the OLAP copy holds back, by id, each with why: shared by the sync thread (which
/// holds and releases them), routing (which sends their reads to SQLite), durable storage
/// (which leaves them out of its files) and status.
#[derive(Clone, Default)]
pub struct HeldBack(Arc<parking_lot::RwLock<HashMap<TableId, String>>>);

impl HeldBack {
    /// Why the table is held back, if it is.
    pub fn reason(&self, table: TableId) -> Option<String> {
        self.0.read().get(&table).cloned()
    }

    pub fn is_empty(&self) -> bool {
        self.0.read().is_empty()
    }

    pub fn contains(&self, table: TableId) -> bool {
        self.0.read().contains_key(&table)
    }

    fn hold(&self, table: TableId, reason: String) {
        self.0.write().insert(table, reason);
    }

    fn release(&self, table: TableId) {
        self.0.write().remove(&table);
    }
}

/// Sync progress, as reported by `sync_status`.
#[derive(Debug, Clone, Default)]
pub struct SyncProgress {
    pub applied_seq: u64,
    pub events_applied: u64,
    pub last_error: Option<String>,
    pub last_step: Option<Duration>,
    /// Tables loaded from a COPY's own Arrow batches instead of being read back from SQLite.
    pub bulk_loads: u64,
    /// Tables loaded from durable Parquet files at start instead of from SQLite.
    pub tables_from_files: u64,
}

/// Control of the sync thread.
pub struct SyncHandle {
    wake: crossbeam_channel::Sender<Wake>,
    /// A nudge is queued and not yet taken by a step; later nudges need not send another.
    nudged: Arc<AtomicBool>,
    applied: watch::Receiver<u64>,
    /// Steps that failed so far (the last one's error is in `progress`): a read waiting for
    /// the copy fails with it rather than wait for a step that cannot succeed (a value the
    /// OLAP copy cannot hold stops every step until it is gone).
    failures: watch::Receiver<u64>,
    progress: Arc<Mutex<SyncProgress>>,
    /// Held for each step: what durable storage takes between steps is as of one sequence.
    pub(crate) step_lock: Arc<Mutex<()>>,
    /// With durable storage: the sequence its files reflect, which pruning must not pass.
    pub(crate) durable: Option<Arc<AtomicU64>>,
    pub(crate) held_back: HeldBack,
}

enum Wake {
    Now,
    /// A write committed: step soon, but not sooner than the nudge gap after the last step
    /// (which bounds how often a stream of single-row writes makes sync run, and what that
    /// costs the writers' CPU, while keeping eventual reads a few milliseconds behind).
    Soon,
    Stop,
}

impl SyncHandle {
    /// Builds the OLAP copy (from `storage`'s files where they are current, otherwise from the
    /// data file), brings it level with the data file and starts the sync thread.
    ///
    /// # Errors
    /// The initial load fails.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        path: PathBuf,
        olap: Arc<dyn OlapBackend>,
        writer: OltpWriter,
        interval: Duration,
        nudge_gap: Duration,
        batch_events: usize,
        bulk: BulkLoads,
        storage: Option<&mut ParquetStore>,
    ) -> Result<Self> {
        let conn = open_connection(&path, true, "NORMAL")?;
        let step_lock = Arc::new(Mutex::new(()));
        let durable = storage.is_some().then(|| Arc::new(AtomicU64::new(0)));
        let held_back = HeldBack::default();
        let mut syncer = Syncer {
            conn,
            olap,
            writer,
            defs: HashMap::new(),
            applied: 0,
            batch_events,
            bulk,
            bulk_loads_used: 0,
            tables_from_files: 0,
            step_lock: step_lock.clone(),
            durable: durable.clone(),
            held: HashMap::new(),
            held_back: held_back.clone(),
            released: Vec::new(),
        };
        syncer.full_load(storage)?;
        syncer.catch_up()?;
        let (applied_tx, applied) = watch::channel(syncer.applied);
        let (failure_tx, failures) = watch::channel(0);
        let progress = Arc::new(Mutex::new(SyncProgress {
            applied_seq: syncer.applied,
            tables_from_files: syncer.tables_from_files,
            ..Default::default()
        }));
        let (wake, wake_rx) = crossbeam_channel::unbounded();
        let thread_progress = progress.clone();
        let nudged = Arc::new(AtomicBool::new(false));
        let thread_nudged = nudged.clone();
        thread::Builder::new()
            .name("rhei-sync".into())
            .spawn(move || {
                let mut last_step = Instant::now();
                loop {
                    match wake_rx.recv_timeout(interval) {
                        Ok(Wake::Stop) | Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
                        Ok(Wake::Soon) => {
                            // A request (a strong read waiting) or a stop ends the gap early.
                            match wake_rx.recv_timeout(nudge_gap.saturating_sub(last_step.elapsed())) {
                                Ok(Wake::Stop) | Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
                                Ok(Wake::Now | Wake::Soon) | Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                            }
                        }
                        Ok(Wake::Now) | Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                    }
                    thread_nudged.store(false, Ordering::Release);
                    // Coalesce wake-ups that piled up while the last step ran.
                    let mut stop = false;
                    while let Ok(w) = wake_rx.try_recv() {
                        stop |= matches!(w, Wake::Stop);
                    }
                    if stop {
                        break;
                    }
                    let started = Instant::now();
                    let result = syncer.catch_up();
                    let mut p = thread_progress.lock();
                    p.last_step = Some(started.elapsed());
                    match result {
                        Ok(events) => {
                            p.events_applied += events;
                            p.applied_seq = syncer.applied;
                            p.bulk_loads = syncer.bulk_loads_used;
                            p.last_error = None;
                        }
                        Err(e) => {
                            tracing::error!("sync failed, will retry: {e}");
                            p.last_error = Some(e.to_string());
                            failure_tx.send_modify(|count| *count += 1);
                        }
                    }
                    drop(p);
                    last_step = Instant::now();
                    applied_tx.send_if_modified(|a| {
                        let changed = *a != syncer.applied;
                        *a = syncer.applied;
                        changed
                    });
                }
            })
            .map_err(|e| EngineError::Internal(format!("could not start the sync thread: {e}")))?;
        Ok(Self { wake, nudged, applied, failures, progress, step_lock, durable, held_back })
    }

    /// Asks for a sync step now.
    pub fn request(&self) {
        let _ = self.wake.send(Wake::Now);
    }

    /// Tells sync a write committed, so eventual reads see it within milliseconds rather than
    /// at the next interval. Costs the writer an atomic swap; a channel send only when no
    /// nudge is already waiting.
    pub fn nudge(&self) {
        if !self.nudged.swap(true, Ordering::AcqRel) {
            let _ = self.wake.send(Wake::Soon);
        }
    }

    /// Waits until the OLAP copy has applied `seq`, asking for catch-up if it has not.
    /// Cancel-safe.
    ///
    /// # Errors
    /// [`EngineError::ShuttingDown`] if sync stopped.
    pub async fn wait_for(&self, seq: u64) -> Result<()> {
        let mut applied = self.applied.clone();
        if *applied.borrow() >= seq {
            return Ok(());
        }
        let mut failures = self.failures.clone();
        let failed_before = *failures.borrow_and_update();
        self.request();
        tokio::select! {
            reached = applied.wait_for(|a| *a >= seq) => reached.map(|_| ()).map_err(|_| EngineError::ShuttingDown),
            failed = failures.wait_for(|count| *count > failed_before) => {
                failed.map_err(|_| EngineError::ShuttingDown)?;
                Err(EngineError::OlapCopyBehind { reason: self.progress.lock().last_error.clone().unwrap_or_default() })
            }
        }
    }

    pub fn applied(&self) -> u64 {
        *self.applied.borrow()
    }

    pub fn progress(&self) -> SyncProgress {
        self.progress.lock().clone()
    }

    pub fn stop(&self) {
        let _ = self.wake.send(Wake::Stop);
    }
}

struct Syncer {
    conn: Connection,
    olap: Arc<dyn OlapBackend>,
    writer: OltpWriter,
    /// The definition each OLAP table was last loaded with.
    defs: HashMap<TableId, TableDef>,
    applied: u64,
    batch_events: usize,
    bulk: BulkLoads,
    bulk_loads_used: u64,
    tables_from_files: u64,
    step_lock: Arc<Mutex<()>>,
    durable: Option<Arc<AtomicU64>>,
    /// When each held-back table may be read again, and whether it changed since.
    held: HashMap<TableId, HeldTable>,
    held_back: HeldBack,
    /// Held-back tables read whole again, released to routing only once that content is
    /// published: until then queries would scan the empty stand-in.
    released: Vec<TableId>,
}

struct HeldTable {
    changed: bool,
    next_try: Instant,
    /// The row whose value could not be held: while it still cannot be, the table is not read
    /// whole again (a temporal table's history keeps such a value for good).
    failing_row: Option<i64>,
}

impl Syncer {
    /// Loads every table as of one snapshot of the data file: from its durable files when the
    /// manifest has them with the table's current columns (the copy then starts at the
    /// manifest's sequence, and [`Self::catch_up`] applies the log after it), otherwise from
    /// SQLite.
    fn full_load(&mut self, mut storage: Option<&mut ParquetStore>) -> Result<()> {
        self.conn.execute_batch("BEGIN").map_err(classify)?;
        let result = (|| {
            let last = self.conn.query_row(LAST_SEQ_SQL, [], |r| r.get::<_, i64>(0)).map_err(classify)? as u64;
            let catalog = store::load(&self.conn)?;
            let storage = storage.as_deref();
            // The files are usable only if the log still holds their sequence's own entry
            // (pruning keeps it) and so everything after it. A manifest ahead of the log (the
            // last commits lost with the machine's power under synchronous = normal, or another
            // data file), or behind a log pruned past it (a run without durable storage), is not.
            let (manifest, stale) = match storage.and_then(ParquetStore::manifest) {
                Some(m) if m.seq > 0 && m.seq <= last && self.log_has(m.seq)? => (Some(m), false),
                Some(m) => {
                    tracing::warn!(
                        "the Parquet copy in {} reflects change {} but the change log is at {last} without it; \
                         rebuilding the OLAP copy from SQLite",
                        storage.map_or_else(String::new, |s| s.dir().display().to_string()),
                        m.seq
                    );
                    (None, true)
                }
                None => (None, false),
            };
            for def in catalog.tables() {
                let files = match (storage, manifest.and_then(|m| m.table(def.id))) {
                    (Some(storage), Some(table)) => storage.read_table(table, def).unwrap_or_else(|e| {
                        tracing::warn!("{e}; reading {} from SQLite instead", def.name);
                        None
                    }),
                    _ => None,
                };
                match files {
                    Some(files) => {
                        self.olap.load_persisted(def, files)?;
                        self.defs.insert(def.id, def.as_ref().clone());
                        self.tables_from_files += 1;
                    }
                    None => self.reload(def.as_ref().clone())?,
                }
            }
            Ok((last, manifest.map(|m| m.seq), stale))
        })();
        let _ = self.conn.execute_batch("COMMIT");
        let (last, persisted, stale) = result?;
        if stale && let Some(storage) = storage.as_deref_mut() {
            storage.discard()?;
        }
        let start = persisted.unwrap_or(last);
        self.olap.publish(start)?;
        self.release_published();
        self.applied = start;
        if let Some(durable) = &self.durable {
            durable.store(persisted.unwrap_or(0), Ordering::Release);
        }
        self.writer.prune_now(self.prune_limit(start));
        Ok(())
    }

    fn log_has(&self, seq: u64) -> Result<bool> {
        let mut stmt = self.conn.prepare_cached("SELECT 1 FROM _rhei_changelog WHERE seq = ?1").map_err(classify)?;
        stmt.exists([seq as i64]).map_err(classify)
    }

    /// How far the change log may be pruned once `seq` is applied: with durable storage, no
    /// further than its files reflect, since a restart replays the log after them.
    fn prune_limit(&self, seq: u64) -> u64 {
        self.durable.as_ref().map_or(seq, |d| d.load(Ordering::Acquire).min(seq))
    }

    /// Steps until the log is drained; returns events applied.
    fn catch_up(&mut self) -> Result<u64> {
        let mut total = 0;
        loop {
            let step_lock = self.step_lock.clone();
            let guard = step_lock.lock();
            let (events, full) = self.step()?;
            drop(guard);
            total += events;
            if !full {
                return Ok(total);
            }
        }
    }

    /// One batch. Returns (events read, whether the batch was full).
    fn step(&mut self) -> Result<(u64, bool)> {
        self.conn.execute_batch("BEGIN").map_err(classify)?;
        let result = self.step_in_snapshot();
        let _ = self.conn.execute_batch("COMMIT");
        let (events, last, reloaded) = result?;
        if events == 0 && !reloaded {
            return Ok((0, false));
        }
        self.olap.publish(last)?;
        self.release_published();
        self.applied = last;
        self.writer.prune(self.prune_limit(last));
        Ok((events, events as usize >= self.batch_events))
    }

    /// Reads and applies one batch of the log; returns (events read, the batch's last
    /// sequence, whether a held-back table was read again without an entry of its own).
    fn step_in_snapshot(&mut self) -> Result<(u64, u64, bool)> {
        // Per table: the changed rowids with their sequences, and the latest reload entry.
        let mut changed: HashMap<TableId, Vec<(u64, i64)>> = HashMap::new();
        let mut reload: HashMap<TableId, u64> = HashMap::new();
        let mut events = 0u64;
        let mut last = self.applied;
        {
            let mut stmt = self
                .conn
                .prepare_cached("SELECT seq, tbl, rid FROM _rhei_changelog WHERE seq > ?1 ORDER BY seq LIMIT ?2")
                .map_err(classify)?;
            let mut rows = stmt.query(rusqlite::params![self.applied as i64, self.batch_events as i64]).map_err(classify)?;
            while let Some(row) = rows.next().map_err(classify)? {
                let seq = row.get::<_, i64>(0).map_err(classify)? as u64;
                let table = TableId(row.get(1).map_err(classify)?);
                match row.get::<_, Option<i64>>(2).map_err(classify)? {
                    Some(rowid) => changed.entry(table).or_default().push((seq, rowid)),
                    None => {
                        reload.insert(table, seq);
                    }
                }
                last = seq;
                events += 1;
            }
        }
        // A held-back table's changes are not applied (its copy is empty); once it changed, it
        // is read whole again when its retry is due, here, within this step's snapshot.
        let now = Instant::now();
        let mut retried = false;
        for (id, table) in &mut self.held {
            table.changed |= changed.remove(id).is_some();
            if !table.changed || now < table.next_try || reload.contains_key(id) {
                continue;
            }
            if let (Some(rowid), Some(def)) = (table.failing_row, self.defs.get(id)) {
                match read_rows(&self.conn, def, &[rowid]) {
                    Err(ReadFailure::Value { .. }) => {
                        table.changed = false;
                        table.next_try = now + HELD_RETRY_MIN;
                        continue;
                    }
                    Err(ReadFailure::Storage(e)) => return Err(e),
                    Ok(_) => {}
                }
            }
            reload.insert(*id, u64::MAX);
            retried = true;
        }
        if events == 0 && !retried {
            return Ok((0, last, false));
        }
        // Schema changes later in this snapshot: the rows read below already have the new shape.
        {
            let mut stmt = self
                .conn
                .prepare_cached("SELECT DISTINCT tbl FROM _rhei_changelog WHERE rid IS NULL AND seq > ?1")
                .map_err(classify)?;
            let rows = stmt.query_map([last as i64], |r| r.get::<_, i64>(0)).map_err(classify)?;
            for t in rows {
                reload.insert(TableId(t.map_err(classify)?), u64::MAX);
            }
        }
        // A table loaded from a bulk load reflects its reload entry only; changes after that
        // entry in this step are applied on top. A table read from SQLite reflects them all.
        let mut bulk_loaded_at: HashMap<TableId, u64> = HashMap::new();
        for (&id, &reload_seq) in &reload {
            match store::load_table(&self.conn, id)? {
                // Its changes after a bulk load's entry were set aside above: read it whole.
                Some(def) if self.held.contains_key(&id) => {
                    self.bulk.forget(id);
                    self.reload(def)?;
                }
                Some(def) => match self.bulk.take(id, reload_seq, last, &def) {
                    Some(load) => {
                        bulk_loaded_at.insert(id, load.seq);
                        self.install(def, load)?;
                    }
                    None => self.reload(def)?,
                },
                None => {
                    self.bulk.forget(id);
                    self.defs.remove(&id);
                    self.held.remove(&id);
                    self.held_back.release(id);
                    self.olap.drop_table(id)?;
                }
            }
        }
        for (id, changes) in changed {
            let after = match (reload.contains_key(&id), bulk_loaded_at.get(&id)) {
                (false, _) => 0,
                (true, Some(&at)) => at,
                (true, None) => continue,
            };
            let mut rowids: Vec<i64> = changes.into_iter().filter(|(seq, _)| *seq > after).map(|(_, rowid)| rowid).collect();
            if rowids.is_empty() {
                continue;
            }
            let Some(def) = self.defs.get(&id).cloned() else {
                // A table this copy never loaded (its creation was pruned before a crash): load it.
                if let Some(def) = store::load_table(&self.conn, id)? {
                    self.reload(def)?;
                }
                continue;
            };
            rowids.sort_unstable();
            rowids.dedup();
            match read_rows(&self.conn, &def, &rowids) {
                Ok((batch, found)) => self.olap.apply_changes(id, &rowids, Some(batch), found)?,
                Err(ReadFailure::Value { reason, rowid }) => self.hold(def, reason, rowid, Duration::ZERO)?,
                Err(ReadFailure::Storage(e)) => return Err(e),
            }
        }
        Ok((events, last, retried))
    }

    /// Installs a COPY's own batches as the table's content (see [`bulk`]).
    fn install(&mut self, def: TableDef, load: bulk::BulkLoad) -> Result<()> {
        let started = Instant::now();
        let rows = load.rowids.len();
        self.olap.load_table(&def, load.batches, load.rowids)?;
        tracing::debug!("sync: {} loaded from its COPY's batches ({rows} rows) in {:?}", def.name, started.elapsed());
        self.defs.insert(def.id, def);
        self.bulk_loads_used += 1;
        Ok(())
    }

    fn reload(&mut self, def: TableDef) -> Result<()> {
        let started = Instant::now();
        let (batches, rowids) = match read_table(&self.conn, &def) {
            Ok(read) => read,
            Err(ReadFailure::Value { reason, rowid }) => return self.hold(def, reason, rowid, started.elapsed()),
            Err(ReadFailure::Storage(e)) => return Err(e),
        };
        let rows = rowids.len();
        self.olap.load_table(&def, batches, rowids)?;
        tracing::debug!("sync: {} read back from SQLite ({rows} rows) in {:?}", def.name, started.elapsed());
        if self.held.remove(&def.id).is_some() {
            tracing::info!("table {} is in the OLAP copy again", def.name);
            self.released.push(def.id);
        }
        self.defs.insert(def.id, def);
        Ok(())
    }

    /// Tells routing that tables read whole again are in the copy, once it is published.
    fn release_published(&mut self) {
        for id in self.released.drain(..) {
            self.held_back.release(id);
        }
    }

    /// Holds a table back from the copy (see the module doc): it is loaded empty, and read
    /// again once it changes and `failing_row` no longer fails, after ten times `took` (how
    /// long the failed read ran) and no sooner than [`HELD_RETRY_MIN`].
    fn hold(&mut self, def: TableDef, reason: String, failing_row: Option<i64>, took: Duration) -> Result<()> {
        self.olap.load_table(&def, vec![RecordBatch::new_empty(def.arrow_schema())], Vec::new())?;
        if self.held_back.reason(def.id).as_ref() != Some(&reason) {
            tracing::warn!("table {} is held back from the OLAP copy and read on SQLite: {reason}", def.name);
        }
        self.held_back.hold(def.id, reason);
        self.released.retain(|id| *id != def.id);
        let next_try = Instant::now() + (took * 10).max(HELD_RETRY_MIN);
        self.held.insert(def.id, HeldTable { changed: false, next_try, failing_row });
        self.defs.insert(def.id, def);
        Ok(())
    }
}

/// Why rows could not be read into the copy.
enum ReadFailure {
    /// A stored value the copy's column type cannot hold (in the row `rowid`): the table is
    /// held back.
    Value { reason: String, rowid: Option<i64> },
    /// SQLite failed: the step fails and is retried.
    Storage(EngineError),
}

impl From<EngineError> for ReadFailure {
    fn from(e: EngineError) -> Self {
        Self::Storage(e)
    }
}

/// Appends `row` to `builder`, or says which value of it the copy cannot hold.
fn push_or_explain(builder: &mut BatchBuilder, row: &rusqlite::Row<'_>, def: &TableDef) -> std::result::Result<(), ReadFailure> {
    builder.push_row(row, 1).map_err(|e| match e {
        // Reading the row failed, not converting it.
        EngineError::Sqlite(_) => ReadFailure::Storage(e),
        e => ReadFailure::Value {
            reason: match builder.unconvertible(row, 1) {
                Some((column, value)) => format!("column \"{column}\" holds {value}, which its OLAP type cannot represent ({e})"),
                None => format!("a row of {} does not convert to its OLAP types ({e})", def.name),
            },
            rowid: row.get(0).ok(),
        },
    })
}

fn select_list(def: &TableDef) -> String {
    let mut cols = String::from("rowid");
    for c in &def.columns {
        cols.push_str(", ");
        cols.push_str(&quote_ident(&c.name));
    }
    cols
}

/// Every row of a table, with rowids.
fn read_table(conn: &Connection, def: &TableDef) -> std::result::Result<(Vec<RecordBatch>, Vec<i64>), ReadFailure> {
    let sql = format!("SELECT {} FROM {}", select_list(def), quote_ident(&def.name));
    let mut stmt = conn.prepare(&sql).map_err(classify)?;
    let mut builder = BatchBuilder::for_segments(def.arrow_schema(), crate::olap::store::SEGMENT_ROWS);
    let mut rowids = Vec::new();
    let mut batches = Vec::new();
    let mut rows = stmt.query([]).map_err(classify)?;
    while let Some(row) = rows.next().map_err(classify)? {
        rowids.push(row.get::<_, i64>(0).map_err(classify)?);
        push_or_explain(&mut builder, row, def)?;
        if builder.len() >= crate::olap::store::SEGMENT_ROWS {
            batches.push(builder.finish()?);
        }
    }
    batches.push(builder.finish()?);
    Ok((batches, rowids))
}

/// The current rows with the given (sorted, distinct) rowids; rowids not found were deleted.
fn read_rows(conn: &Connection, def: &TableDef, rowids: &[i64]) -> std::result::Result<(RecordBatch, Vec<i64>), ReadFailure> {
    let list = select_list(def);
    let table = quote_ident(&def.name);
    let mut builder = BatchBuilder::new(def.arrow_schema());
    let mut found = Vec::with_capacity(rowids.len());
    let mut point = conn.prepare_cached(&format!("SELECT {list} FROM {table} WHERE rowid = ?1")).map_err(classify)?;
    let mut range =
        conn.prepare_cached(&format!("SELECT {list} FROM {table} WHERE rowid BETWEEN ?1 AND ?2")).map_err(classify)?;
    let mut start = 0;
    while start < rowids.len() {
        let mut end = start + 1;
        while end < rowids.len() && rowids[end] - rowids[end - 1] <= RANGE_GAP {
            end += 1;
        }
        let run = &rowids[start..end];
        if run.len() >= RANGE_MIN_ROWS {
            let mut rows = range.query([run[0], run[run.len() - 1]]).map_err(classify)?;
            let mut wanted = run.iter().peekable();
            while let Some(row) = rows.next().map_err(classify)? {
                let rowid: i64 = row.get(0).map_err(classify)?;
                while wanted.next_if(|w| **w < rowid).is_some() {}
                if wanted.next_if(|w| **w == rowid).is_some() {
                    found.push(rowid);
                    push_or_explain(&mut builder, row, def)?;
                }
            }
        } else {
            for &rowid in run {
                let mut rows = point.query([rowid]).map_err(classify)?;
                if let Some(row) = rows.next().map_err(classify)? {
                    found.push(rowid);
                    push_or_explain(&mut builder, row, def)?;
                }
            }
        }
        start = end;
    }
    Ok((builder.finish()?, found))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use rhei_config::{EngineConfig, OlapStorage};

    use crate::error::EngineError;
    use crate::{HtapEngine, Route};

    fn config(dir: &std::path::Path) -> EngineConfig {
        EngineConfig {
            olap_storage: OlapStorage::Parquet,
            olap_persist_interval: Duration::from_secs(3600),
            ..EngineConfig::with_data_dir(dir)
        }
    }

    async fn text(engine: &HtapEngine, sql: &str) -> String {
        let batches = engine.query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        arrow::util::pretty::pretty_format_batches(&batches).expect("format").to_string()
    }

    /// A stored value the copy cannot hold (written here behind rhei's back, as only an
    /// upstream can: rhei's own writes refuse it) holds back its table alone. The engine
    /// opens; reads of the table go to SQLite and give the exact value; a read forced onto the
    /// OLAP engine says why; other tables go on syncing and persisting; and once the value is
    /// gone the table is in the copy again. Before, the engine would not open at all.
    #[tokio::test]
    async fn a_table_the_olap_copy_cannot_hold_is_held_back_and_read_on_sqlite() {
        let dir = tempfile::tempdir().expect("temp dir");
        let engine = HtapEngine::open(config(dir.path())).await.expect("open");
        engine
            .execute_batch(
                "CREATE TABLE wide (id int PRIMARY KEY, v numeric); CREATE TABLE other (id int PRIMARY KEY);
                 INSERT INTO wide VALUES (1, 1.5), (2, 2); INSERT INTO other VALUES (1)",
            )
            .await
            .expect("setup");
        engine.persist_olap().await.expect("persist");
        engine.close().await;
        drop(engine);
        let raw = rusqlite::Connection::open(dir.path().join("oltp.db")).expect("open the data file");
        raw.execute("UPDATE wide SET v = '1000000000000000000000000000000' WHERE id = 2", []).expect("raw update");
        drop(raw);

        let engine = HtapEngine::open(config(dir.path())).await.expect("opens with a table its OLAP copy cannot hold");
        let all = "SELECT id, v FROM wide ORDER BY id";
        assert!(text(&engine, all).await.contains("| 2  | 1000000000000000000000000000000 |"), "{}", text(&engine, all).await);
        let route = text(&engine, &format!("EXPLAIN ROUTE {all}")).await;
        assert!(route.contains("oltp") && route.contains("held back"), "{route}");
        let err = engine.query_with_route(all, Route::Olap).await.expect_err("forced onto the OLAP engine");
        assert!(matches!(err, EngineError::OlapTableHeldBack { .. }), "{err:?}");
        assert_eq!(err.sqlstate(), "55000");
        assert!(err.to_string().contains("column \"v\" holds 1000000000000000000000000000000"), "{err}");
        let status = engine.sync_status();
        let wide = status.tables.iter().find(|t| t.table == "wide").expect("wide in status");
        assert!(wide.held_back.as_deref().is_some_and(|r| r.contains("column \"v\"")), "{wide:?}");
        assert_eq!(status.last_error, None, "the sync itself is not failing");

        engine.execute("INSERT INTO other VALUES (2)").await.expect("insert");
        assert!(text(&engine, "/*+ olap */ SELECT count(*) AS n FROM other").await.contains("| 2 |"));
        engine.persist_olap().await.expect("persist with a table held back");
        engine.close().await;
        drop(engine);

        let engine = HtapEngine::open(config(dir.path())).await.expect("reopen");
        assert_eq!(engine.sync_status().tables_from_files, 1, "only the table the copy holds was in the files");
        // Another row changing does not make it holdable: still held back after a retry.
        engine.execute("UPDATE wide SET v = 4 WHERE id = 1").await.expect("update another row");
        tokio::time::sleep(super::HELD_RETRY_MIN * 3).await;
        engine.sync_now().await.expect("sync");
        let err = engine.query_with_route(all, Route::Olap).await.expect_err("still held back");
        assert!(matches!(err, EngineError::OlapTableHeldBack { .. }), "{err:?}");
        assert!(text(&engine, all).await.contains("| 1  | 4 "), "{}", text(&engine, all).await);
        engine.execute("UPDATE wide SET v = 3 WHERE id = 2").await.expect("a value the copy can hold");
        let started = Instant::now();
        loop {
            match engine.query_with_route(all, Route::Olap).await {
                Ok(batches) => {
                    let shown = arrow::util::pretty::pretty_format_batches(&batches).expect("format").to_string();
                    assert!(shown.contains("| 1  | 4.0000000000 |") && shown.contains("| 2  | 3.0000000000 |"), "{shown}");
                    break;
                }
                Err(EngineError::OlapTableHeldBack { .. }) if started.elapsed() < Duration::from_secs(10) => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("the table never came back to the OLAP copy: {e}"),
            }
        }
        assert!(engine.sync_status().tables.iter().all(|t| t.held_back.is_none()));
        engine.close().await;
    }
}
