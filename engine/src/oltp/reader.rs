//! A pool of SQLite reader threads (`rhei-oltp-reader-N`), each with its own read-only
//! connection (WAL lets them read while the writer writes). A query's rows come back as Arrow
//! batches over a bounded channel, so a slow client slows the scan instead of filling memory.
//!
//! Point reads are what this pool mostly runs, and for them the hand-off between threads costs
//! more than SQLite's work (perf: wakeups and spinning receivers dominated pgbench select-only).
//! So idle readers wait on a condition variable (they park at once, where a channel receiver
//! spins and yields first, stealing CPU on a small machine), and a result that fits in one
//! batch comes back in the same message as its schema: one wakeup of the asking task.

use std::path::PathBuf;
use std::sync::Arc;
use std::thread;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parking_lot::Mutex;
use rusqlite::InterruptHandle;
use tokio::sync::{mpsc, oneshot};

use crate::error::{EngineError, Result};
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
    jobs: std::sync::Mutex<(std::collections::VecDeque<ReadJob>, bool)>,
    ready: std::sync::Condvar,
}

impl JobQueue {
    fn push(&self, job: ReadJob) -> Result<()> {
        let mut guard = self.jobs.lock().map_err(|_| EngineError::ShuttingDown)?;
        if guard.1 {
            return Err(EngineError::ShuttingDown);
        }
        guard.0.push_back(job);
        drop(guard);
        self.ready.notify_one();
        Ok(())
    }

    /// The next job; `None` once the pool is closed.
    fn pop(&self) -> Option<ReadJob> {
        let mut guard = self.jobs.lock().ok()?;
        loop {
            if let Some(job) = guard.0.pop_front() {
                return Some(job);
            }
            if guard.1 {
                return None;
            }
            guard = self.ready.wait(guard).ok()?;
        }
    }

    fn close(&self) {
        if let Ok(mut guard) = self.jobs.lock() {
            guard.1 = true;
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
        let queue = Arc::new(JobQueue { jobs: std::sync::Mutex::new((Default::default(), false)), ready: std::sync::Condvar::new() });
        for i in 0..readers {
            let conn = open_connection(&path, true, "NORMAL")?;
            let rx = queue.clone();
            let catalog = catalog.clone();
            let interrupt = Arc::new(conn.get_interrupt_handle());
            thread::Builder::new()
                .name(format!("rhei-oltp-reader-{i}"))
                .spawn(move || {
                    while let Some(job) = rx.pop() {
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
                        let result = run_statement(&conn, &job.stmt, &snapshot, |batch| {
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
                        });
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
        Ok(Self { jobs: Arc::new(QueueHandle(queue)) })
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
        let (schema, first) = schema_rx.await.map_err(|_| EngineError::ShuttingDown)??;
        Ok(OltpRows { schema, first, batches: rx, guard })
    }
}
