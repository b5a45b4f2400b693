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
        Ok(Self { wake, nudged, applied, failures, progress, step_lock, durable })
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
        let (events, last) = result?;
        if events == 0 {
            return Ok((0, false));
        }
        self.olap.publish(last)?;
        self.applied = last;
        self.writer.prune(self.prune_limit(last));
        Ok((events, events as usize >= self.batch_events))
    }

    fn step_in_snapshot(&mut self) -> Result<(u64, u64)> {
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
        if events == 0 {
            return Ok((0, last));
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
            let (batch, found) = read_rows(&self.conn, &def, &rowids)?;
            self.olap.apply_changes(id, &rowids, Some(batch), found)?;
        }
        Ok((events, last))
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
        let (batches, rowids) = read_table(&self.conn, &def)?;
        let rows = rowids.len();
        self.olap.load_table(&def, batches, rowids)?;
        tracing::debug!("sync: {} read back from SQLite ({rows} rows) in {:?}", def.name, started.elapsed());
        self.defs.insert(def.id, def);
        Ok(())
    }
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
fn read_table(conn: &Connection, def: &TableDef) -> Result<(Vec<RecordBatch>, Vec<i64>)> {
    let sql = format!("SELECT {} FROM {}", select_list(def), quote_ident(&def.name));
    let mut stmt = conn.prepare(&sql).map_err(classify)?;
    let mut builder = BatchBuilder::for_segments(def.arrow_schema(), crate::olap::store::SEGMENT_ROWS);
    let mut rowids = Vec::new();
    let mut batches = Vec::new();
    let mut rows = stmt.query([]).map_err(classify)?;
    while let Some(row) = rows.next().map_err(classify)? {
        rowids.push(row.get::<_, i64>(0).map_err(classify)?);
        builder.push_row(row, 1)?;
        if builder.len() >= crate::olap::store::SEGMENT_ROWS {
            batches.push(builder.finish()?);
        }
    }
    batches.push(builder.finish()?);
    Ok((batches, rowids))
}

/// The current rows with the given (sorted, distinct) rowids; rowids not found were deleted.
fn read_rows(conn: &Connection, def: &TableDef, rowids: &[i64]) -> Result<(RecordBatch, Vec<i64>)> {
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
                    builder.push_row(row, 1)?;
                }
            }
        } else {
            for &rowid in run {
                let mut rows = point.query([rowid]).map_err(classify)?;
                if let Some(row) = rows.next().map_err(classify)? {
                    found.push(rowid);
                    builder.push_row(row, 1)?;
                }
            }
        }
        start = end;
    }
    Ok((builder.finish()?, found))
}
