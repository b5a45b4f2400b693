//! A pool of SQLite reader threads (`rhei-oltp-reader-N`), each with its own read-only
//! connection (WAL lets them read while the writer writes). A query's rows come back as Arrow
//! batches over a bounded channel, so a slow client slows the scan instead of filling memory.

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
    schema: oneshot::Sender<Result<SchemaRef>>,
    batches: mpsc::Sender<Result<RecordBatch>>,
    control: Arc<Mutex<JobState>>,
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
    jobs: crossbeam_channel::Sender<ReadJob>,
}

/// A running OLTP read: its schema and a stream of batches.
pub struct OltpRows {
    pub schema: SchemaRef,
    pub batches: mpsc::Receiver<Result<RecordBatch>>,
    pub guard: ReadGuard,
}

impl ReaderPool {
    /// Starts `readers` threads on the data file.
    ///
    /// # Errors
    /// A connection cannot be opened.
    pub fn start(path: PathBuf, readers: usize, catalog: SharedCatalog) -> Result<Self> {
        let (jobs, rx) = crossbeam_channel::unbounded::<ReadJob>();
        for i in 0..readers {
            let conn = open_connection(&path, true, "NORMAL")?;
            let rx = rx.clone();
            let catalog = catalog.clone();
            let interrupt = Arc::new(conn.get_interrupt_handle());
            thread::Builder::new()
                .name(format!("rhei-oltp-reader-{i}"))
                .spawn(move || {
                    while let Ok(job) = rx.recv() {
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
                        let result = run_statement(&conn, &job.stmt, &snapshot, |batch| {
                            if let Some(tx) = schema_tx.take() {
                                let _ = tx.send(Ok(batch.schema()));
                            }
                            batches.blocking_send(Ok(batch)).is_ok()
                        });
                        *job.control.lock() = JobState::Done;
                        match result {
                            Ok((schema, _)) => {
                                if let Some(tx) = schema_tx.take() {
                                    let _ = tx.send(schema.ok_or_else(|| {
                                        EngineError::Internal("a read returned no result description".into())
                                    }));
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
        Ok(Self { jobs })
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
        self.jobs.send(ReadJob { stmt, schema: schema_tx, batches: tx, control }).map_err(|_| EngineError::ShuttingDown)?;
        let schema = schema_rx.await.map_err(|_| EngineError::ShuttingDown)??;
        Ok(OltpRows { schema, batches: rx, guard })
    }
}
