//! A pool of SQLite reader threads (`rhei-oltp-reader-N`), each with its own read-only
//! connection (WAL lets them read while the writer writes). A query's rows come back as Arrow
//! batches over a bounded channel, so a slow client slows the scan instead of filling memory.
//!
//! Point reads are what this pool mostly runs, and for them the hand-off between threads costs
//! more than SQLite's work (perf: wakeups and spinning receivers dominated pgbench select-only).
//! So idle readers wait on a condition variable (they park at once, where a channel receiver
//! spins and yields first, stealing CPU on a small machine), and a result that fits in one
//! batch comes back in the same message as its schema: one wakeup of the asking task.
//!
//! A key lookup from a session that runs on a thread of its own (the wire server gives each
//! client connection one, as PostgreSQL gives each a process) skips the hand-off altogether:
//! [`ReaderPool::read_key_lookup`] runs it on the caller's thread with a connection from a
//! second, separate set. Only a read of at most one row through a key goes this way, so a
//! caller's thread is never held for longer than a B-tree descent.

use std::path::PathBuf;
use std::sync::Arc;
use std::thread;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parking_lot::Mutex;
use rusqlite::InterruptHandle;
use tokio::sync::{mpsc, oneshot};

use crate::error::{EngineError, Result};
use crate::oltp::handoff::{self, RecentWait};
use crate::oltp::writer::SharedCatalog;
use crate::oltp::{SqliteStatement, open_connection, run_statement};

/// Batches buffered between a reader thread and its consumer.
const CHANNEL_BATCHES: usize = 4;

struct ReadJob {
    stmt: SqliteStatement,
    /// The result's schema, with its first batch when that is known to be the only one.
    schema: oneshot::Sender<Result<(SchemaRef, Option<RecordBatch>)>>,
    batches: mpsc::Sender<Result<RecordBatch>>,
    control: Arc<Mutex<JobState>>,
}

/// Jobs waiting for a reader.
struct JobQueue {
    jobs: std::sync::Mutex<Queued>,
    ready: std::sync::Condvar,
}

#[derive(Default)]
struct Queued {
    jobs: std::collections::VecDeque<ReadJob>,
    closed: bool,
    /// Readers polling the queue before they sleep (see [`crate::oltp::handoff`]): a job one
    /// of them will find needs no wakeup.
    polling: usize,
}

impl JobQueue {
    fn push(&self, job: ReadJob) -> Result<()> {
        let mut guard = self.jobs.lock().map_err(|_| EngineError::ShuttingDown)?;
        if guard.closed {
            return Err(EngineError::ShuttingDown);
        }
        guard.jobs.push_back(job);
        let wake = guard.jobs.len() > guard.polling;
        drop(guard);
        if wake {
            self.ready.notify_one();
        }
        Ok(())
    }

    /// The next job; `None` once the pool is closed. `waits` is the calling reader's.
    fn pop(&self, waits: &RecentWait) -> Option<ReadJob> {
        let mut guard = self.jobs.lock().ok()?;
        loop {
            if let Some(job) = guard.jobs.pop_front() {
                return Some(job);
            }
            if guard.closed {
                return None;
            }
            let started = std::time::Instant::now();
            guard.polling += 1;
            drop(guard);
            let found = handoff::poll_for(waits, started, || self.jobs.try_lock().ok().filter(|q| !q.jobs.is_empty() || q.closed));
            guard = match found {
                Some(guard) => guard,
                None => self.jobs.lock().ok()?,
            };
            // Decided under the lock, so a push either sees this reader polling (and finds
            // it takes the job) or not (and wakes it).
            guard.polling -= 1;
            if guard.jobs.is_empty() && !guard.closed {
                guard = self.ready.wait(guard).ok()?;
                waits.record(started);
            }
        }
    }

    fn close(&self) {
        if let Ok(mut guard) = self.jobs.lock() {
            guard.closed = true;
        }
        self.ready.notify_all();
    }
}

/// Closes the queue when the last handle to the pool goes, so the reader threads end.
struct QueueHandle(Arc<JobQueue>);

impl Drop for QueueHandle {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// Where a read is, so that abandoning it interrupts exactly it: the reader switches the state
/// under the same lock an abandonment takes, so an interrupt can never reach a later job.
enum JobState {
    Queued,
    Running(Arc<InterruptHandle>),
    Done,
    Abandoned,
}

/// Held by whoever consumes a read (the pending `query` call, then its row stream). Dropping it
/// before the read is done interrupts SQLite, so a timed-out, cancelled or dropped query frees
/// its reader thread instead of running to the end.
pub struct ReadGuard(Arc<Mutex<JobState>>);

impl Drop for ReadGuard {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        match &*state {
            JobState::Running(interrupt) => interrupt.interrupt(),
            JobState::Queued => *state = JobState::Abandoned,
            JobState::Done | JobState::Abandoned => {}
        }
    }
}

/// Front door to the reader threads.
#[derive(Clone)]
pub struct ReaderPool {
    jobs: Arc<QueueHandle>,
    lookups: Arc<LookupConnections>,
}

/// Read connections lent to callers that run a key lookup on their own thread: opened on first
/// need, at most `limit` of them, kept while idle.
struct LookupConnections {
    path: PathBuf,
    catalog: SharedCatalog,
    limit: usize,
    /// Idle connections, and how many exist in all.
    pool: Mutex<(Vec<rusqlite::Connection>, usize)>,
}

impl LookupConnections {
    /// An idle connection, a new one while under the limit, or `None` when all are lent out.
    fn take(&self) -> Result<Option<rusqlite::Connection>> {
        {
            let mut pool = self.pool.lock();
            if let Some(conn) = pool.0.pop() {
                return Ok(Some(conn));
            }
            if pool.1 >= self.limit {
                return Ok(None);
            }
            pool.1 += 1;
        }
        open_connection(&self.path, true, "NORMAL").map(Some).inspect_err(|_| self.pool.lock().1 -= 1)
    }

    fn give_back(&self, conn: rusqlite::Connection) {
        self.pool.lock().0.push(conn);
    }
}

/// A running OLTP read: its schema, its first batch when that came with the schema, and the
/// rest as a stream of batches.
pub struct OltpRows {
    pub schema: SchemaRef,
    pub first: Option<RecordBatch>,
    pub batches: mpsc::Receiver<Result<RecordBatch>>,
    pub guard: ReadGuard,
}

impl ReaderPool {
    /// Starts `readers` threads on the data file.
    ///
    /// # Errors
    /// A connection cannot be opened.
    pub fn start(path: PathBuf, readers: usize, catalog: SharedCatalog) -> Result<Self> {
        let queue = Arc::new(JobQueue { jobs: std::sync::Mutex::new(Queued::default()), ready: std::sync::Condvar::new() });
        for i in 0..readers {
            let conn = open_connection(&path, true, "NORMAL")?;
            let rx = queue.clone();
            let catalog = catalog.clone();
            let interrupt = Arc::new(conn.get_interrupt_handle());
            thread::Builder::new()
                .name(format!("rhei-oltp-reader-{i}"))
                .spawn(move || {
                    let waits = RecentWait::new();
                    while let Some(job) = rx.pop(&waits) {
                        {
                            let mut state = job.control.lock();
                            if matches!(*state, JobState::Abandoned) {
                                continue;
                            }
                            *state = JobState::Running(interrupt.clone());
                        }
                        let snapshot = catalog.read().clone();
                        let mut schema_tx = Some(job.schema);
                        let batches = job.batches;
                        // The first batch waits for the second: if there is none, it goes with
                        // the schema.
                        let mut held: Option<RecordBatch> = None;
                        // A panic is one statement's failure (XX000), not the reader's end: the
                        // pool would lose a thread and the engine stop taking reads.
                        let result = crate::error::unless_panicked(|| run_statement(&conn, &job.stmt, &snapshot, |batch| {
                            if schema_tx.is_some() && held.is_none() {
                                held = Some(batch);
                                return true;
                            }
                            if let (Some(tx), Some(first)) = (schema_tx.take(), held.take()) {
                                let _ = tx.send(Ok((first.schema(), None)));
                                if batches.blocking_send(Ok(first)).is_err() {
                                    return false;
                                }
                            }
                            batches.blocking_send(Ok(batch)).is_ok()
                        }));
                        *job.control.lock() = JobState::Done;
                        match result {
                            Ok((schema, _)) => {
                                if let Some(tx) = schema_tx.take() {
                                    let _ = tx.send(match held.take() {
                                        Some(first) => Ok((first.schema(), Some(first))),
                                        None => schema.map(|s| (s, None)).ok_or_else(|| {
                                            EngineError::Internal("a read returned no result description".into())
                                        }),
                                    });
                                }
                            }
                            Err(e) => match schema_tx.take() {
                                Some(tx) => {
                                    let _ = tx.send(Err(e));
                                }
                                None => {
                                    let _ = batches.blocking_send(Err(e));
                                }
                            },
                        }
                        // A read-only connection never holds a transaction between jobs.
                    }
                })
                .map_err(|e| EngineError::Internal(format!("could not start a reader thread: {e}")))?;
        }
        let lookups = Arc::new(LookupConnections { path, catalog, limit: readers, pool: Mutex::new((Vec::new(), 0)) });
        Ok(Self { jobs: Arc::new(QueueHandle(queue)), lookups })
    }

    /// How many key-lookup connections have been opened (tests).
    #[cfg(test)]
    pub(crate) fn lookup_connections(&self) -> usize {
        self.lookups.pool.lock().1
    }

    /// Lends out every idle key-lookup connection and opens the rest up to the limit, as if
    /// all were in use (tests); they come back when the returned guard drops.
    #[cfg(test)]
    pub(crate) fn exhaust_lookups(&self) -> impl Drop + use<> {
        struct Lent(Arc<LookupConnections>, Vec<rusqlite::Connection>);
        impl Drop for Lent {
            fn drop(&mut self) {
                for conn in self.1.drain(..) {
                    self.0.give_back(conn);
                }
            }
        }
        let mut lent = Lent(self.lookups.clone(), Vec::new());
        while let Ok(Some(conn)) = self.lookups.take() {
            lent.1.push(conn);
        }
        lent
    }

    /// Runs a read of at most one row through a key on the calling thread, which blocks for
    /// it; `None` (nothing run) when every lookup connection is in use, so the caller queues
    /// it with [`Self::query`] instead. Only for callers on a thread of their own, never on an
    /// async runtime's shared workers.
    ///
    /// # Errors
    /// The statement's error, or a connection that cannot be opened.
    pub fn read_key_lookup(&self, stmt: &SqliteStatement) -> Result<Option<(SchemaRef, Vec<RecordBatch>)>> {
        let Some(conn) = self.lookups.take()? else { return Ok(None) };
        let snapshot = self.lookups.catalog.read().clone();
        let mut batches = Vec::new();
        let result = crate::error::unless_panicked(|| {
            run_statement(&conn, stmt, &snapshot, |batch| {
                batches.push(batch);
                true
            })
        });
        self.lookups.give_back(conn);
        let (schema, _) = result?;
        let schema = batches
            .first()
            .map(RecordBatch::schema)
            .or(schema)
            .ok_or_else(|| EngineError::Internal("a read returned no result description".into()))?;
        Ok(Some((schema, batches)))
    }

    /// Starts a read; resolves once the first batch (or the schema of an empty result) is known.
    /// Cancel-safe: dropping this future or the result interrupts the statement on SQLite.
    ///
    /// # Errors
    /// The statement's error, or [`EngineError::ShuttingDown`].
    pub async fn query(&self, stmt: SqliteStatement) -> Result<OltpRows> {
        let (schema_tx, schema_rx) = oneshot::channel();
        let (tx, rx) = mpsc::channel(CHANNEL_BATCHES);
        let control = Arc::new(Mutex::new(JobState::Queued));
        let guard = ReadGuard(control.clone());
        self.jobs.0.push(ReadJob { stmt, schema: schema_tx, batches: tx, control })?;
        let (schema, first) = crate::oltp::handoff::answer(schema_rx).await.map_err(|_| EngineError::ShuttingDown)??;
        Ok(OltpRows { schema, first, batches: rx, guard })
    }
}
