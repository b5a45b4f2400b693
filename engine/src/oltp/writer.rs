//! The single SQLite writer thread (`rhei-oltp-writer`). Every write, every DDL statement and
//! every statement of an explicit transaction runs here, reached only through [`OltpWriter`].
//!
//! Group commit: autocommit writes that are waiting together run in one SQLite transaction,
//! each inside its own savepoint (a failing statement rolls back alone), and every caller is
//! answered only after COMMIT returns, i.e. once the commit is durable at the configured
//! `synchronous` level. After each commit the highest change-log sequence is published on a
//! watch channel: that is the commit sequence read-your-writes waits for.
//!
//! An explicit transaction owns the writer from its first statement to COMMIT/ROLLBACK: other
//! sessions' requests queue until it ends (SQLite allows one writer; Postgres would make them
//! wait on row locks instead). A session with a thread of its own (every wire connection) runs
//! its transaction's statements right there, holding the writer's state for each ([`OltpWriter::
//! run_here`]): while a transaction holds the writer, every thread switch on its path lengthens
//! the time all other writers wait, and a hand-off to the writer thread and back costs two.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread;
use std::time::Instant;

use datafusion::sql::sqlparser::ast::{AlterColumnOperation, AlterTableOperation, CreateTable, RenameTableNameKind};
use parking_lot::{Mutex, RwLock};
use rusqlite::{Connection, OptionalExtension};
use arrow::record_batch::RecordBatch;
use rusqlite::types::Value as SqlValue;
use tokio::sync::{mpsc, oneshot, watch};

use crate::capture::{LAST_SEQ_SQL, install_triggers_sql, log_ddl_sql};
use crate::copy::CopyChunk;
use crate::sync::bulk::{BulkLoad, BulkLoads};
use crate::catalog::{
    Catalog, ColumnDef, IndexDef, IndexKey, KeyConstraint, PgType, TableDef, TableId, normalize_ident, quote_ident, quote_literal, store, table_name,
};
use crate::error::{EngineError, Result};
use crate::notice::Notice;
use crate::oltp::flush::WalFlusher;
use crate::oltp::sequence::{SEQUENCES_SQL, SequenceDef, Sequences, nextval_sequence, rowid_serial_owner};
use crate::oltp::{Executed, SqliteStatement, classify, open_connection, run_statement};
use crate::replica::{PreparedRows, ReplicaBatch, ReplicaTableSpec};
use crate::translate::TranslateOptions;
use crate::translate::constraints;
use crate::translate::ddl::{
    add_check, add_foreign_key, column_def, default_expr_sql, key_columns, key_constraint_name, nulls_not_distinct, sqlite_column,
    sqlite_create_table, table_def,
};

/// Identifies a session to the writer, so an open transaction's statements are told apart.
pub type SessionId = u64;

/// The catalog shared by all threads; replaced whole when DDL runs.
pub type SharedCatalog = Arc<RwLock<Arc<Catalog>>>;

/// A schema change, executed by the writer with the catalog at hand.
#[derive(Debug)]
pub enum DdlOp {
    /// SQLite's ANALYZE of these tables (statistics for its planner; no catalog change).
    Analyze { tables: Vec<String> },
    CreateTable { create: Box<CreateTable>, opts: TranslateOptions },
    /// `cascade`: drop the foreign keys of other tables that reference these (PostgreSQL's
    /// DROP TABLE ... CASCADE drops those constraints, not the tables).
    DropTables { names: Vec<String>, if_exists: bool, cascade: bool },
    AlterTable { name: String, if_exists: bool, operations: Vec<AlterTableOperation>, opts: TranslateOptions },
    /// CREATE INDEX on `table` (indexes do not concern the OLAP copy).
    CreateIndex { table: String, index: IndexDef, if_not_exists: bool },
    CreateSequence { def: SequenceDef, if_not_exists: bool },
    AlterSequence(crate::alter_sequence::AlterSequence),
    DropSequences { names: Vec<String>, if_exists: bool, cascade: bool },
    DropIndexes { names: Vec<String>, if_exists: bool },
    /// CREATE [OR REPLACE] VIEW; `def.id` is given here (a replaced view keeps its own).
    CreateView { def: crate::catalog::ViewDef, or_replace: bool },
    /// DROP VIEW; `cascade` takes the views that read these along.
    DropViews { names: Vec<String>, if_exists: bool, cascade: bool },
    /// CREATE TYPE ... AS ENUM.
    CreateEnum { name: String, labels: Vec<String> },
    /// DROP TYPE of enum types.
    DropTypes { names: Vec<String>, if_exists: bool, cascade: bool },
    /// ALTER TYPE of an enum type: a label added or renamed, or the type renamed.
    AlterEnum { name: String, operation: datafusion::sql::sqlparser::ast::AlterTypeOperation },
    /// `COMMENT ON TABLE` (no `column`) or `COMMENT ON COLUMN`; `None` removes the comment.
    Comment { table: String, column: Option<String>, comment: Option<String> },
    /// `restart_identity`: the tables' own sequences start over (`RESTART IDENTITY`).
    /// `cascade`: also empty the tables whose foreign keys reference these (without it, such
    /// a table left out of the statement is an error, as in PostgreSQL).
    Truncate { names: Vec<String>, restart_identity: bool, cascade: bool },
    /// A new replica table, created without capture: its snapshot loads first (see
    /// [`WriteOp::ReplicaSnapshotDone`]).
    CreateReplica(ReplicaTableSpec),
    /// Drops replica tables and forgets the source's position (before a fresh snapshot).
    ResetReplica { source: String, tables: Vec<String> },
    /// Gives a replica table a new set of user columns (the upstream added or dropped some),
    /// keeping every row and the values of the columns both shapes have.
    /// `fill` gives added columns the value the upstream shows for rows written before the
    /// column existed (PostgreSQL writes no change for them), in PostgreSQL text form.
    ReshapeReplica { name: String, columns: Vec<ColumnDef>, dropped: Vec<String>, fill: Vec<(String, String)> },
}

/// One unit of work for the writer.
#[derive(Debug)]
pub enum WriteOp {
    Statement(SqliteStatement),
    /// COPY FROM: `insert` (a plain INSERT of `table`'s listed columns) run for every row the
    /// channel brings, all or nothing. The rows are converted while earlier ones are inserted.
    /// The converter may also send the rows as Arrow batches (when they fill every column in
    /// table order); the writer clears `want_batches` when it will not use them.
    CopyValues {
        table: String,
        /// The table's id and its columns' types when the COPY started, which its rows were
        /// converted for: a table dropped and made again since is not this one.
        expected: (crate::catalog::TableId, Vec<(String, crate::catalog::PgType)>),
        insert: String,
        chunks: std::sync::mpsc::Receiver<crate::copy::CopyChunk>,
        want_batches: Arc<std::sync::atomic::AtomicBool>,
    },
    Ddl(DdlOp),
    /// Sent by no one: a transaction starts with its first statement (`transaction_op`). It
    /// stands in for an operation the group has taken out of its request.
    Begin,
    Commit,
    Rollback,
    Savepoint(String),
    Release(String),
    RollbackTo(String),
    /// Snapshot rows for a replica table still being loaded.
    ReplicaLoad(PreparedRows),
    /// Ends a snapshot: capture starts for its tables, the OLAP copy reloads them whole, and the
    /// source's position is recorded, all in one commit.
    ReplicaSnapshotDone { source: String, tables: Vec<String>, position: String },
    /// Upstream transactions and the position they lead to.
    Replicate(ReplicaBatch),
}

struct Request {
    session: SessionId,
    /// Set for a statement of an explicit transaction.
    txn: Option<TxnTicket>,
    op: WriteOp,
    /// The statement's `statement_timeout`, if any.
    deadline: Option<Instant>,
    reply: oneshot::Sender<Result<Executed>>,
}

enum Msg {
    Request(Request),
    /// Delete change-log entries up to and including this sequence (sync has applied them).
    Prune(u64),
    /// A transaction run by its own session's thread ended while requests were queued behind
    /// it: the writer thread, asleep on the channel, is to take them up.
    Wake,
}

/// Cloneable front door to the writer thread.
#[derive(Clone)]
pub struct OltpWriter {
    tx: mpsc::UnboundedSender<Msg>,
    committed: watch::Receiver<u64>,
    sequences: Arc<Sequences>,
    /// Held by the writer thread while it handles a message, and by a session's own thread
    /// while it runs a statement of its transaction.
    state: Arc<Mutex<WriterState>>,
    running: Arc<Mutex<Running>>,
    /// The size of the writer thread's last group: above one, writes are arriving together.
    last_group: Arc<std::sync::atomic::AtomicUsize>,
    /// Writes running on their callers' threads, or about to.
    alone_here: Arc<std::sync::atomic::AtomicUsize>,
    /// The sequence of the last prune sent to the writer thread.
    prune_sent: Arc<std::sync::atomic::AtomicU64>,
    /// Autocommit writes run on their callers' threads ([`Self::run_alone_here`]).
    #[cfg(test)]
    pub(crate) ran_alone_here: Arc<std::sync::atomic::AtomicU64>,
}

/// The statement the writer runs now, watched from SQLite's progress handler: a cancel request
/// for its session or its deadline passing interrupts it.
#[derive(Default)]
struct Running {
    session: Option<SessionId>,
    deadline: Option<Instant>,
    stop: Option<Stop>,
}

#[derive(Debug, Clone, Copy)]
enum Stop {
    Cancel,
    Timeout,
}

/// SQLite virtual machine steps between two looks at [`Running`] (a few microseconds).
const PROGRESS_STEPS: i32 = 10_000;

impl OltpWriter {
    /// Opens the data file for writing and starts the writer thread.
    ///
    /// # Errors
    /// The file cannot be opened or its rhei tables created.
    pub fn start(path: PathBuf, synchronous: &str, group_max: usize, catalog: SharedCatalog, bulk: BulkLoads) -> Result<Self> {
        // At FULL the commits are synced by the flush thread instead of inside COMMIT.
        let flusher = if synchronous.eq_ignore_ascii_case("full") { Some(WalFlusher::start(&path)?) } else { None };
        let mut conn = open_connection(&path, false, if flusher.is_some() { "NORMAL" } else { synchronous })?;
        let running: Arc<Mutex<Running>> = Arc::default();
        let watched = running.clone();
        conn.progress_handler(
            PROGRESS_STEPS,
            Some(move || {
                let mut running = watched.lock();
                if running.stop.is_none() && running.deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                    running.stop = Some(Stop::Timeout);
                }
                running.stop.is_some()
            }),
        )
        .map_err(classify)?;
        conn.pragma_update(None, "wal_autocheckpoint", crate::oltp::checkpoint::WRITER_AUTOCHECKPOINT_PAGES)
            .map_err(classify)?;
        conn.execute_batch(crate::capture::BOOTSTRAP_SQL).map_err(classify)?;
        conn.execute_batch(crate::replica::POSITION_SQL).map_err(classify)?;
        conn.execute_batch(SEQUENCES_SQL).map_err(classify)?;
        let sequences = Arc::new(Sequences::default());
        sequences.load(&conn)?;
        sequences.register(&conn, catalog.clone()).map_err(|e| EngineError::Sqlite(e.to_string()))?;
        *catalog.write() = Arc::new(store::load(&conn)?);
        let last: i64 = conn.query_row(LAST_SEQ_SQL, [], |r| r.get(0)).map_err(classify)?;
        let (committed_tx, committed) = watch::channel(last as u64);
        let (tx, rx) = mpsc::unbounded_channel();
        let last_group = Arc::new(std::sync::atomic::AtomicUsize::new(1));
        let state = Arc::new(Mutex::new(WriterState {
            conn,
            catalog,
            committed: committed_tx,
            group_max,
            queue: VecDeque::new(),
            owner: None,
            transaction_now: 0,
            last_group: last_group.clone(),
            notices: Vec::new(),
            bulk,
            pending_bulk: Vec::new(),
            sequences: sequences.clone(),
            flusher,
            running: running.clone(),
            prune_below: 0,
            last_prune: Instant::now(),
        }));
        let served = state.clone();
        thread::Builder::new()
            .name("rhei-oltp-writer".into())
            .spawn(move || serve(&served, rx))
            .map_err(|e| EngineError::Internal(format!("could not start the writer thread: {e}")))?;
        Ok(Self {
            tx,
            committed,
            sequences,
            state,
            running,
            prune_sent: Arc::default(),
            alone_here: Arc::default(),
            last_group,
            #[cfg(test)]
            ran_alone_here: Arc::default(),
        })
    }

    /// Runs one operation; `txn` when it belongs to an explicit transaction.
    /// Cancel-safe in the sense that dropping the future does not undo the write: it still
    /// commits (as in Postgres, where a client that hangs up after COMMIT is sent cannot stop it).
    ///
    /// # Errors
    /// The operation's own error, or [`EngineError::WriterGone`].
    pub async fn run(&self, session: SessionId, txn: Option<TxnTicket>, op: WriteOp) -> Result<Executed> {
        self.run_until(session, txn, op, None).await
    }

    /// [`Self::run`], interrupted (57014) if it is still running at `deadline`.
    ///
    /// # Errors
    /// As [`Self::run`].
    pub async fn run_until(&self, session: SessionId, txn: Option<TxnTicket>, op: WriteOp, deadline: Option<Instant>) -> Result<Executed> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Msg::Request(Request { session, txn, op, deadline, reply })).map_err(|_| EngineError::WriterGone)?;
        Submitted(rx).answer().await
    }

    /// Interrupts the statement the writer runs for `session`, if it runs one now (57014, as a
    /// CancelRequest does in PostgreSQL). A request still queued is not affected.
    pub fn cancel(&self, session: SessionId) {
        let mut running = self.running.lock();
        if running.session == Some(session) {
            running.stop = Some(Stop::Cancel);
        }
    }

    /// Runs `op` of `session`'s explicit transaction on the calling thread, starting the
    /// transaction if this is its first statement. [`RunHere::Busy`] gives `op` back when
    /// another transaction holds the writer, or requests wait for it: the caller then queues it
    /// with [`Self::run`]. Blocks for as long as the statement runs, so only a thread that
    /// serves this one session may call it, never an async runtime's worker.
    pub fn run_here(&self, session: SessionId, txn: &TxnTicket, op: WriteOp, deadline: Option<Instant>) -> RunHere {
        let mut state = self.state.lock();
        let commits = match state.owner {
            Some(owner) if owner == session => matches!(op, WriteOp::Commit),
            None if state.queue.is_empty() => false,
            _ => return RunHere::Busy(op),
        };
        let result = state.transaction_op(session, Some(txn), op, deadline);
        // The writer thread sleeps while a transaction run here holds the writer: it is woken
        // for what waited meanwhile, queued requests and a prune.
        if state.owner.is_none() && (!state.queue.is_empty() || state.prune_below > 0) {
            let _ = self.tx.send(Msg::Wake);
        }
        let (reply, answer) = oneshot::channel();
        state.answer(reply, result, commits);
        RunHere::answered(answer)
    }

    /// Runs the autocommit write `op` on the calling thread, as a group of its own, when the
    /// writer is idle and recent writes came one at a time; [`RunHere::Busy`] gives `op` back
    /// otherwise (the caller queues it with [`Self::run_until`], where it shares a commit with
    /// the writes waiting beside it). Saves the two thread hand-offs that dominate a lone
    /// single-row write. Blocks like [`Self::run_here`], with the same restriction.
    pub fn run_alone_here(&self, session: SessionId, op: WriteOp, deadline: Option<Instant>) -> RunHere {
        use std::sync::atomic::Ordering::Relaxed;
        if self.last_group.load(Relaxed) > 1 || !matches!(op, WriteOp::Statement(_)) {
            return RunHere::Busy(op);
        }
        // Another write on its caller's thread now means writes arrive together: they are
        // sent to the writer thread, to share commits, until its groups are single again.
        let _alone = AloneHere::enter(&self.alone_here);
        if self.alone_here.load(Relaxed) > 1 {
            self.last_group.store(2, Relaxed);
            return RunHere::Busy(op);
        }
        self.run_alone_here_now(session, op, deadline)
    }

    fn run_alone_here_now(&self, session: SessionId, op: WriteOp, deadline: Option<Instant>) -> RunHere {
        // The writer thread holds the lock a moment after it answers a request; a writer busy
        // for longer is left to answer this one in turn.
        let Some(mut state) = self.state.try_lock_for(LOCK_WAIT) else {
            return RunHere::Busy(op);
        };
        if state.owner.is_some() || !state.queue.is_empty() {
            return RunHere::Busy(op);
        }
        let (reply, answer) = oneshot::channel();
        state.run_group(vec![Request { session, txn: None, op, deadline, reply }]);
        #[cfg(test)]
        self.ran_alone_here.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        RunHere::answered(answer)
    }

    /// Queues `op` now, to collect its answer later: a COPY's op is queued before the session
    /// has its data, and runs while the data arrives.
    ///
    /// # Errors
    /// `WriterGone` when the writer thread has stopped.
    pub fn submit(&self, session: SessionId, txn: Option<TxnTicket>, op: WriteOp) -> Result<Submitted> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Msg::Request(Request { session, txn, op, deadline: None, reply })).map_err(|_| EngineError::WriterGone)?;
        Ok(Submitted(rx))
    }

    /// Runs `f` on the writer's connection (tests look at its settings).
    #[cfg(test)]
    pub(crate) fn with_connection<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> rusqlite::Result<T> {
        f(&self.state.lock().conn)
    }

    /// Every sequence, with the row id its OID derives from.
    pub fn sequences(&self) -> Vec<(i64, SequenceDef)> {
        self.sequences.list()
    }

    /// Forgets a session that ended (its currval and lastval).
    pub fn session_ended(&self, session: SessionId) {
        self.sequences.session_ended(session);
    }

    /// Ends a session's transaction without waiting (the session went away).
    pub fn abandon(&self, session: SessionId) {
        let (reply, _) = oneshot::channel();
        let _ = self.tx.send(Msg::Request(Request { session, txn: None, op: WriteOp::Rollback, deadline: None, reply }));
    }

    /// Asks the writer to prune the change log below `seq`: the entry `seq` itself stays, so the
    /// log's highest sequence (the next one's base, see `capture::LAST_SEQ_SQL`) never goes back.
    /// Entries already applied wait until [`PRUNE_EVERY`] of them have gathered, so a stream of
    /// small commits does not cost a delete-and-commit on the writer for every sync step.
    pub fn prune(&self, seq: u64) {
        let sent = self.prune_sent.load(std::sync::atomic::Ordering::Relaxed);
        if seq >= sent.saturating_add(PRUNE_EVERY) {
            self.prune_now(seq);
        }
    }

    /// [`Self::prune`] whatever has gathered (after a full load, which reflects the whole log).
    pub fn prune_now(&self, seq: u64) {
        if self.prune_sent.fetch_max(seq, std::sync::atomic::Ordering::Relaxed) < seq {
            let _ = self.tx.send(Msg::Prune(seq));
        }
    }

    /// The highest committed change sequence, updated after every commit.
    pub fn committed(&self) -> watch::Receiver<u64> {
        self.committed.clone()
    }
}

/// Counts a write on the caller's-thread path for as long as it lives (also when it unwinds).
struct AloneHere<'c>(&'c std::sync::atomic::AtomicUsize);

impl<'c> AloneHere<'c> {
    fn enter(count: &'c std::sync::atomic::AtomicUsize) -> Self {
        count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Self(count)
    }
}

impl Drop for AloneHere<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Which transaction of its session a request belongs to. A session numbers its transactions
/// and clears the shared number when one ends (or the session goes away), so a request that
/// reaches the writer after its transaction ended (a COPY still converting when its client
/// vanished, a statement whose caller gave up) is refused instead of opening a transaction
/// nobody will end.
#[derive(Debug, Clone)]
pub struct TxnTicket {
    current: Arc<std::sync::atomic::AtomicU64>,
    generation: u64,
}

impl TxnTicket {
    /// A ticket for transaction `generation` of the session whose current one `current` holds.
    pub fn new(current: Arc<std::sync::atomic::AtomicU64>, generation: u64) -> Self {
        Self { current, generation }
    }

    fn live(&self) -> bool {
        self.current.load(std::sync::atomic::Ordering::Acquire) == self.generation
    }
}

/// What [`OltpWriter::run_here`] did.
#[derive(Debug)]
pub enum RunHere {
    Done(Result<Executed>),
    /// A commit, answered once it is durable.
    Flushing(Submitted),
    /// The writer is not free for this session now: the operation, untouched.
    Busy(WriteOp),
}

impl RunHere {
    /// What ran on the calling thread, by its answer: there already, or (a commit at
    /// `synchronous = full`) to come from the flush thread once the commit is durable.
    fn answered(mut answer: oneshot::Receiver<Result<Executed>>) -> Self {
        match answer.try_recv() {
            Ok(done) => Self::Done(done),
            Err(oneshot::error::TryRecvError::Empty) => Self::Flushing(Submitted(answer)),
            Err(oneshot::error::TryRecvError::Closed) => Self::Done(Err(EngineError::WriterGone)),
        }
    }
}

/// A queued write whose answer is still to come (see [`Writer::submit`]).
#[derive(Debug)]
pub struct Submitted(oneshot::Receiver<Result<Executed>>);

impl Submitted {
    pub async fn answer(self) -> Result<Executed> {
        crate::oltp::handoff::answer(self.0).await.map_err(|_| EngineError::WriterGone)?
    }
}

struct WriterState {
    conn: Connection,
    catalog: SharedCatalog,
    committed: watch::Sender<u64>,
    group_max: usize,
    /// Requests that arrived while another session's transaction owned the writer.
    queue: VecDeque<Msg>,
    owner: Option<SessionId>,
    /// When the owner's transaction began: its statements' `now()`.
    transaction_now: i64,
    /// Size of the previous group (see `group`).
    last_group: Arc<std::sync::atomic::AtomicUsize>,
    /// Notices of the DDL operation running now, handed to its caller with the result.
    notices: Vec<crate::notice::Notice>,
    /// Where committed bulk loads go for sync.
    bulk: BulkLoads,
    /// Bulk loads of the open transaction: handed to sync as it commits, dropped when it
    /// (or a savepoint around them) rolls back, because the change-log sequence they are keyed
    /// by is reused after a rollback.
    pending_bulk: Vec<BulkLoad>,
    sequences: Arc<Sequences>,
    /// At `synchronous = full`, where commits' answers wait for their fsync.
    flusher: Option<Arc<WalFlusher>>,
    running: Arc<Mutex<Running>>,
    /// Change-log entries below this sequence are applied and wait to be pruned (0: none).
    prune_below: u64,
    /// When the last prune chunk ran.
    last_prune: Instant,
}

/// The longest a group waits for the writers of the previous group to send again.
const GATHER_WAIT: std::time::Duration = std::time::Duration::from_micros(100);

/// How long a write waits for the writer's lock before it queues for the writer thread
/// instead ([`OltpWriter::run_alone_here`]).
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_micros(100);

/// Applied change-log entries that may gather before they are pruned.
const PRUNE_EVERY: u64 = 4096;

/// Rows deleted from the change log per prune step: a write that arrives meanwhile waits for
/// one step at most (deleting 4,096 entries at once held a follower's 10-row transactions up
/// for about 5 ms).
const PRUNE_CHUNK: u64 = 512;

/// How often a writer that always has work waiting prunes a chunk anyway.
const PRUNE_WHEN_BUSY: std::time::Duration = std::time::Duration::from_millis(5);

/// The writer thread: handles each message with the state locked, and sleeps on the channel
/// without it, so sessions can run their transactions' statements in between. Pruning the
/// change log is idle work: a chunk at a time, only while nothing else waits.
fn serve(state: &Mutex<WriterState>, mut rx: mpsc::UnboundedReceiver<Msg>) {
    let waits = crate::oltp::handoff::RecentWait::new();
    loop {
        {
            // Taken and handled under one lock, so no transaction starts in between and sends
            // the request to the back of the queue.
            let mut state = state.lock();
            if state.owner.is_none()
                && let Some(queued) = state.queue.pop_front()
            {
                state.handle(queued, &mut rx);
                continue;
            }
        }
        let msg = match rx.try_recv() {
            Ok(msg) => {
                let mut busy = state.lock();
                // A writer that is never idle still prunes, a chunk every so often.
                if busy.owner.is_none() && busy.prune_below > 0 && busy.last_prune.elapsed() >= PRUNE_WHEN_BUSY {
                    busy.prune_chunk();
                }
                Some(msg)
            }
            Err(mpsc::error::TryRecvError::Disconnected) => None,
            Err(mpsc::error::TryRecvError::Empty) => {
                let mut idle = state.lock();
                if idle.owner.is_none() && idle.prune_below > 0 {
                    idle.prune_chunk();
                    continue;
                }
                // While a session's transaction holds the writer, the next message waits for
                // that transaction: polling would only take a CPU from the thread running it.
                let held = idle.owner.is_some();
                drop(idle);
                if held { rx.blocking_recv() } else { crate::oltp::handoff::next_message(&mut rx, &waits) }
            }
        };
        match msg {
            Some(msg) => state.lock().handle(msg, &mut rx),
            None => break,
        }
    }
    let state = state.lock();
    if state.owner.is_some() {
        let _ = state.conn.execute_batch("ROLLBACK");
    }
    if let Some(flusher) = &state.flusher {
        flusher.stop();
    }
}

impl WriterState {
    fn handle(&mut self, msg: Msg, rx: &mut mpsc::UnboundedReceiver<Msg>) {
        match msg {
            Msg::Wake => {}
            // While a transaction owns the writer, only its session's requests run.
            Msg::Request(req) if self.owner.is_some_and(|owner| owner != req.session) => self.queue.push_back(Msg::Request(req)),
            Msg::Prune(seq) => self.prune_below = self.prune_below.max(seq),
            Msg::Request(req) if self.owner == Some(req.session) || req.txn.is_some() || matches!(req.op, WriteOp::Rollback) => {
                self.in_transaction(req)
            }
            Msg::Request(req) => self.group(req, rx),
        }
    }

    fn begin(&mut self, session: SessionId) -> Result<()> {
        self.pending_bulk.clear();
        let result = self.exec_cached("BEGIN IMMEDIATE");
        if result.is_ok() {
            self.owner = Some(session);
            self.transaction_now = crate::value::now_micros();
        }
        result
    }

    fn exec_raw(&self, sql: &str) -> Result<()> {
        self.conn.execute_batch(sql).map_err(classify)
    }

    /// Runs one fixed statement through the prepared-statement cache (group commit runs
    /// BEGIN/COMMIT for every group, and preparing them each time shows in profiles).
    fn exec_cached(&self, sql: &str) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(classify)?;
        stmt.raw_execute().map(|_| ()).map_err(classify)
    }

    /// Answers a group whose transaction could not be restarted: statements that already
    /// failed keep their own error, the others get `error`.
    fn fail_group(&mut self, batch: Vec<Request>, results: Vec<Result<Executed>>, error: EngineError) {
        let message = error.to_string();
        let mut results = results.into_iter();
        for req in batch {
            let result = match results.next() {
                Some(Err(e)) => Err(e),
                _ => Err(EngineError::Sqlite(message.clone())),
            };
            let _ = req.reply.send(result);
        }
    }

    fn in_transaction(&mut self, req: Request) {
        let commits = self.owner == Some(req.session) && matches!(req.op, WriteOp::Commit);
        let result = self.transaction_op(req.session, req.txn.as_ref(), req.op, req.deadline);
        self.answer(req.reply, result, commits);
    }

    /// Answers a request; after a commit, once it is durable.
    fn answer(&self, reply: oneshot::Sender<Result<Executed>>, result: Result<Executed>, committed: bool) {
        match &self.flusher {
            Some(flusher) if committed && result.is_ok() => flusher.answer_when_durable(reply, result),
            _ => {
                let _ = reply.send(result);
            }
        }
    }

    /// One operation of `session`'s explicit transaction. The transaction starts with its
    /// first statement, as PostgreSQL takes its snapshot then: a BEGIN alone holds nothing.
    fn transaction_op(&mut self, session: SessionId, txn: Option<&TxnTicket>, op: WriteOp, deadline: Option<Instant>) -> Result<Executed> {
        if self.owner != Some(session) {
            match op {
                // Ending a transaction that never ran a statement (or an abandon of one that
                // already ended).
                WriteOp::Rollback | WriteOp::Commit => return Ok(Executed::default()),
                _ if txn.is_some_and(TxnTicket::live) => self.begin(session)?,
                _ => return Err(EngineError::NoActiveTransaction),
            }
        } else if self.conn.is_autocommit() {
            // An interrupted statement made SQLite roll the whole transaction back: nothing more
            // may run as if it were still open (it would commit on its own).
            return match op {
                WriteOp::Rollback | WriteOp::Commit => {
                    self.owner = None;
                    self.reload_catalog();
                    if matches!(op, WriteOp::Commit) { Err(EngineError::InFailedTransaction) } else { Ok(Executed::default()) }
                }
                _ => Err(EngineError::InFailedTransaction),
            };
        }
        self.sequences.running(session);
        match op {
            WriteOp::Commit => {
                let r = self.commit();
                match r {
                    Ok(()) => {
                        self.owner = None;
                        self.publish_committed();
                        Ok(Executed::default())
                    }
                    Err(e) => {
                        let _ = self.conn.execute_batch("ROLLBACK");
                        self.owner = None;
                        self.reload_catalog();
                        Err(e)
                    }
                }
            }
            WriteOp::Rollback => {
                let r = self.exec_cached("ROLLBACK");
                self.owner = None;
                self.reload_catalog();
                r.map(|()| Executed::default())
            }
            WriteOp::Begin => Err(EngineError::ActiveTransaction),
            WriteOp::Savepoint(name) => self.exec_raw(&format!("SAVEPOINT {}", quote_ident(&name))).map(|()| Executed::default()),
            WriteOp::Release(name) => self
                .exec_raw(&format!("RELEASE SAVEPOINT {}", quote_ident(&name)))
                .map_err(|_| EngineError::UndefinedSavepoint { name })
                .map(|()| Executed::default()),
            WriteOp::RollbackTo(name) => {
                self.pending_bulk.clear();
                let r = self
                    .exec_raw(&format!("ROLLBACK TO SAVEPOINT {}", quote_ident(&name)))
                    .map_err(|_| EngineError::UndefinedSavepoint { name });
                self.reload_catalog();
                r.map(|()| Executed::default())
            }
            op => {
                let _now = super::functions::PinnedNow::transaction(self.transaction_now);
                self.watch(session, deadline);
                let result = self.execute(op);
                self.unwatch(result)
            }
        }
    }

    /// Marks `session`'s statement as the one running, for cancel requests and its deadline.
    fn watch(&self, session: SessionId, deadline: Option<Instant>) {
        *self.running.lock() = Running { session: Some(session), deadline, stop: None };
    }

    /// Ends [`Self::watch`]; a statement that failed because it was stopped says why.
    fn unwatch(&self, result: Result<Executed>) -> Result<Executed> {
        let stop = std::mem::take(&mut *self.running.lock()).stop;
        match (result, stop) {
            (Err(_), Some(Stop::Cancel)) => Err(EngineError::QueryCanceled),
            (Err(_), Some(Stop::Timeout)) => Err(EngineError::StatementTimeout),
            (result, _) => result,
        }
    }

    /// Runs autocommit writes that are waiting together in one transaction.
    fn group(&mut self, first: Request, rx: &mut mpsc::UnboundedReceiver<Msg>) {
        let mut batch = vec![first];
        // When the last group was larger than what is queued now, its writers are probably
        // about to send their next writes: give them a moment (a few yields, bounded) so they
        // share this commit instead of each paying for one. A lone writer never waits.
        let waited_for = self.last_group.load(std::sync::atomic::Ordering::Relaxed).min(self.group_max);
        let deadline = std::time::Instant::now() + GATHER_WAIT;
        while batch.len() < self.group_max {
            let next = match self.queue.pop_front() {
                Some(msg) => Some(msg),
                None => rx.try_recv().ok(),
            };
            match next {
                Some(Msg::Request(req)) if req.txn.is_none() && !matches!(req.op, WriteOp::Rollback) => batch.push(req),
                Some(other) => {
                    self.queue.push_front(other);
                    break;
                }
                None if batch.len() < waited_for && std::time::Instant::now() < deadline => thread::yield_now(),
                None => break,
            }
        }
        self.last_group.store(batch.len(), std::sync::atomic::Ordering::Relaxed);
        self.run_group(batch);
    }

    /// Runs `batch` (autocommit writes) in one transaction and answers each request.
    fn run_group(&mut self, mut batch: Vec<Request>) {
        self.pending_bulk.clear();
        if let Err(e) = self.exec_cached("BEGIN IMMEDIATE") {
            return self.fail_group(batch, Vec::new(), e);
        }
        let mut results: Vec<Result<Executed>> = Vec::with_capacity(batch.len());
        let any_ddl = batch.iter().any(|req| matches!(req.op, WriteOp::Ddl(_)));
        let alone = batch.len() == 1;
        for i in 0..batch.len() {
            let deadline = batch[i].deadline;
            let result = self.run_member(&mut batch[i], alone, deadline);
            let lost = result.is_err() && self.conn.is_autocommit();
            results.push(result);
            if lost {
                // Some errors (an interrupt, disk full, I/O) make SQLite roll back the whole
                // transaction: the members before this one start again in a fresh transaction.
                if let Err(e) = self.restart_group(&mut batch[..i], &mut results) {
                    return self.fail_group(batch, results, e);
                }
            }
        }
        if alone && results.first().is_some_and(Result::is_err) {
            if !self.conn.is_autocommit() {
                let _ = self.exec_cached("ROLLBACK");
            }
            if any_ddl {
                self.reload_catalog();
            }
            for (req, result) in batch.into_iter().zip(results) {
                let _ = req.reply.send(result);
            }
            return;
        }
        match self.commit() {
            Ok(()) => {
                self.publish_committed();
                if any_ddl {
                    self.reload_catalog();
                }
                for (req, result) in batch.into_iter().zip(results) {
                    self.answer(req.reply, result, true);
                }
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                self.reload_catalog();
                for req in batch {
                    let _ = req.reply.send(Err(EngineError::Sqlite(format!("commit failed: {e}"))));
                }
            }
        }
    }

    /// Runs one member of a group, undoing it alone when it fails (unless it is the group's
    /// only member, whose failure rolls the whole transaction back). A statement stays in the
    /// request, so it can run again if a later member loses the transaction.
    fn run_member(&mut self, req: &mut Request, alone: bool, deadline: Option<Instant>) -> Result<Executed> {
        let _now = super::functions::PinnedNow::for_statement();
        self.sequences.running(req.session);
        self.watch(req.session, deadline);
        // SQLite undoes a failed statement by itself (its statement journal, triggers
        // included); a savepoint is needed only where rhei's own work can fail after
        // SQLite's statement succeeded: reading RETURNING rows, COPY's row loop, DDL.
        // The group's transaction is a lone operation's alone: on failure it is rolled back
        // whole, so no savepoint is needed. A savepoint makes SQLite journal every page it
        // changes a second time, which dominated bulk loads (snapshot chunks, replicated
        // batches) in profiles.
        let atomic_in_sqlite = alone || matches!(&req.op, WriteOp::Statement(s) if !s.returns_rows && s.writes_first.is_empty());
        let bulk_mark = self.pending_bulk.len();
        let result = if atomic_in_sqlite {
            self.execute_member(&mut req.op)
        } else {
            self.exec_cached("SAVEPOINT rhei_stmt").and_then(|()| {
                let r = self.execute_member(&mut req.op);
                let end = if r.is_ok() { "RELEASE rhei_stmt" } else { "ROLLBACK TO rhei_stmt" };
                self.exec_cached(end).and_then(|()| if r.is_ok() { Ok(()) } else { self.exec_cached("RELEASE rhei_stmt") })?;
                r
            })
        };
        let result = self.unwatch(result);
        if result.is_err() {
            self.pending_bulk.truncate(bulk_mark);
        }
        result
    }

    /// Runs a group member's operation; a statement is run in place and kept.
    fn execute_member(&mut self, op: &mut WriteOp) -> Result<Executed> {
        match op {
            WriteOp::Statement(stmt) => self.statement(stmt),
            op => self.execute(std::mem::replace(op, WriteOp::Begin)),
        }
    }

    /// After SQLite rolled back a group's transaction: begins a new one and runs the earlier
    /// members that had succeeded again. Those whose operation cannot run twice (a COPY's rows
    /// were consumed, DDL) get the error that lost their work.
    fn restart_group(&mut self, earlier: &mut [Request], results: &mut [Result<Executed>]) -> Result<()> {
        let lost = results.last().and_then(|r| r.as_ref().err()).map(ToString::to_string).unwrap_or_default();
        self.pending_bulk.clear();
        self.exec_cached("BEGIN IMMEDIATE")?;
        for (req, result) in earlier.iter_mut().zip(results.iter_mut()) {
            if result.is_err() {
                continue;
            }
            // Without its deadline: the statement finished in time once, and the deadline of
            // one written before the interrupted one has likely passed by now.
            *result = match req.op {
                WriteOp::Statement(_) => self.run_member(req, false, None),
                _ => Err(EngineError::Sqlite(format!("transaction rolled back: {lost}"))),
            };
            if result.is_err() && self.conn.is_autocommit() {
                // Lost again: give up on the rest of what came before.
                for result in results.iter_mut() {
                    if result.is_ok() {
                        *result = Err(EngineError::Sqlite(format!("transaction rolled back: {lost}")));
                    }
                }
                return self.exec_cached("BEGIN IMMEDIATE");
            }
        }
        Ok(())
    }

    /// Inserts COPY rows as they arrive. Into an empty table the per-row capture trigger is
    /// set aside for the load and one "reload this table" entry logged instead: sync then loads
    /// the table whole rather than six million log entries, and SQLite writes half as much.
    /// Both happen inside the op's transaction, so a failed COPY leaves the trigger and the log
    /// as they were. When the converter also sent the rows as Arrow batches, they wait for the
    /// commit and then go to sync with the rowids SQLite gave the rows (see `sync::bulk`).
    fn copy_values(
        &mut self,
        table: &str,
        expected: &(crate::catalog::TableId, Vec<(String, crate::catalog::PgType)>),
        insert: &str,
        chunks: &std::sync::mpsc::Receiver<CopyChunk>,
        want_batches: &std::sync::atomic::AtomicBool,
    ) -> Result<Executed> {
        let def = self.catalog.read().require(table)?.clone();
        let (id, columns) = expected;
        let unchanged = def.id == *id
            && columns.iter().all(|(name, ty)| def.column_index(name).is_some_and(|i| def.columns[i].ty == *ty));
        if !unchanged {
            return Err(EngineError::ObjectChanged { what: format!("table \"{table}\" changed while COPY was starting") });
        }
        let bulk = def.replica.is_none()
            && self
                .conn
                .query_row(&format!("SELECT NOT EXISTS (SELECT 1 FROM {})", quote_ident(&def.name)), [], |r| r.get::<_, bool>(0))
                .map_err(classify)?;
        if bulk {
            self.exec_raw(&crate::capture::drop_insert_trigger_sql(&def))?;
        } else {
            want_batches.store(false, std::sync::atomic::Ordering::Relaxed);
        }
        // A NULL integer key is refused as PostgreSQL refuses it (SQLite would number it as its
        // rowid), checked here where each value is bound: cheaper than a function per row.
        let key = def.rowid_alias().filter(|&k| !def.columns[k].is_serial).map(|k| &def.columns[k].name);
        let key_position = key.and_then(|key| columns.iter().position(|(name, _)| name == key));
        let mut stmt = self.conn.prepare(insert).map_err(classify)?;
        let mut line = 0u64;
        let mut batches = Vec::new();
        let mut rowids = Vec::new();
        loop {
            match chunks.recv() {
                Ok(CopyChunk::Rows(rows)) => {
                    for row in rows.rows() {
                        line += 1;
                        for (i, value) in row.enumerate() {
                            if key_position == Some(i) && value == rusqlite::types::ValueRef::Null {
                                return Err(EngineError::NotNullViolation { table: def.name.clone(), column: key.cloned().unwrap_or_default() });
                            }
                            let value = match value {
                                rusqlite::types::ValueRef::Real(f) if f.is_nan() => rusqlite::types::ToSqlOutput::Owned(super::float_value(f)),
                                other => rusqlite::types::ToSqlOutput::Borrowed(other),
                            };
                            stmt.raw_bind_parameter(i + 1, value).map_err(classify)?;
                        }
                        stmt.raw_execute().map_err(|e| match classify(e) {
                            EngineError::BadCopyData { .. } | EngineError::Sqlite(_) | EngineError::Internal(_) => {
                                EngineError::BadCopyData { line, message: "row rejected".into() }
                            }
                            typed => typed,
                        })?;
                        if bulk {
                            rowids.push(self.conn.last_insert_rowid());
                        }
                    }
                }
                Ok(CopyChunk::Batch(batch)) => {
                    if bulk {
                        batches.push(batch);
                    }
                }
                Ok(CopyChunk::Failed(e)) => return Err(e),
                Ok(CopyChunk::End) => break,
                Err(_) => return Err(EngineError::Internal("the COPY input stopped before its end".into())),
            }
        }
        drop(stmt);
        if bulk {
            self.exec_raw(&crate::capture::install_insert_trigger_sql(&def))?;
            self.exec_raw(&log_ddl_sql(def.id))?;
            let seq = self.conn.last_insert_rowid() as u64;
            let schema = def.arrow_schema();
            let complete = batches.iter().map(RecordBatch::num_rows).sum::<usize>() == rowids.len()
                && batches.iter().all(|b| b.schema() == schema);
            if complete {
                self.pending_bulk.push(BulkLoad { seq, def: def.as_ref().clone(), batches, rowids });
            }
        }
        Ok(Executed { rows_affected: line, ..Executed::default() })
    }

    fn statement(&self, stmt: &SqliteStatement) -> Result<Executed> {
        let catalog = self.catalog.read().clone();
        let mut batches = Vec::new();
        // A panic fails the statement (its savepoint rolls back), not the writer thread.
        let (schema, rows) = crate::error::unless_panicked(|| {
            run_statement(&self.conn, stmt, &catalog, |b| {
                batches.push(b);
                true
            })
        })?;
        Ok(Executed { rows_affected: rows, schema, batches, notices: Vec::new() })
    }

    fn execute(&mut self, op: WriteOp) -> Result<Executed> {
        match op {
            WriteOp::Statement(stmt) => self.statement(&stmt),
            WriteOp::CopyValues { table, expected, insert, chunks, want_batches } => {
                self.copy_values(&table, &expected, &insert, &chunks, &want_batches)
            }
            WriteOp::Ddl(ddl) => {
                let result = self.ddl(ddl);
                self.reload_catalog();
                let notices = std::mem::take(&mut self.notices);
                result.map(|done| Executed { notices, ..done })
            }
            WriteOp::Begin | WriteOp::Commit | WriteOp::Rollback => Err(EngineError::NoActiveTransaction),
            WriteOp::Savepoint(_) | WriteOp::Release(_) | WriteOp::RollbackTo(_) => Err(EngineError::unsupported(
                "SAVEPOINT outside a transaction block",
            )),
            WriteOp::ReplicaLoad(rows) => {
                let catalog = self.catalog.read().clone();
                let n = crate::replica::load(&self.conn, &catalog, &rows)?;
                Ok(Executed { rows_affected: n, ..Executed::default() })
            }
            WriteOp::ReplicaSnapshotDone { source, tables, position } => {
                let catalog = self.catalog.read().clone();
                for name in tables {
                    let def = catalog.require(&name)?;
                    if let Some(index) = crate::replica::index_sql(def) {
                        self.exec_raw(&index)?;
                    }
                    self.exec_raw(&install_triggers_sql(def))?;
                    self.exec_raw(&log_ddl_sql(def.id))?;
                }
                crate::replica::write_position(&self.conn, &source, &position)?;
                Ok(Executed::default())
            }
            WriteOp::Replicate(batch) => {
                let catalog = self.catalog.read().clone();
                let n = crate::replica::apply(&self.conn, &catalog, &batch)?;
                Ok(Executed { rows_affected: n, ..Executed::default() })
            }
        }
    }

    fn ddl(&mut self, op: DdlOp) -> Result<Executed> {
        let catalog = self.catalog.read().clone();
        match op {
            DdlOp::CreateTable { create, opts } => {
                let name = table_name(&create.name)?;
                // A table's row type would take the name (IF NOT EXISTS is about relations).
                if catalog.enum_type(&name).is_some() {
                    return Err(EngineError::DuplicateType { name });
                }
                if catalog.get(&name).is_some() || self.sequences.exists(&name) || catalog.view(&name).is_some() {
                    return if create.if_not_exists {
                        self.notices.push(Notice { code: "42P07", ..Notice::skipping(format!("relation \"{name}\" already exists, skipping")) });
                        Ok(Executed::default())
                    } else {
                        Err(EngineError::DuplicateTable { name })
                    };
                }
                let mut def = table_def(&create, store::next_id(&self.conn)?, &catalog, opts)?;
                self.number_serial_columns(&mut def, &catalog)?;
                self.exec_raw(&sqlite_create_table(&def, opts)?)?;
                self.exec_raw(&install_triggers_sql(&def))?;
                store::save(&self.conn, &def)?;
                self.exec_raw(&log_ddl_sql(def.id))?;
                let after = with_table(&catalog, def.clone());
                self.exec_raw(&constraints::triggers_sql(&def, &after, opts)?)?;
            }
            DdlOp::DropTables { names, if_exists, cascade } => {
                let mut dropped: Vec<TableId> = Vec::new();
                let mut defs = Vec::new();
                for name in names {
                    match catalog.get(&name) {
                        Some(def) => {
                            dropped.push(def.id);
                            defs.push(def.clone());
                        }
                        None if catalog.view(&name).is_some() => return Err(EngineError::NotATable { name }),
                        None if if_exists => self.notices.push(Notice::skipping(format!("table \"{name}\" does not exist, skipping"))),
                        None => return Err(EngineError::UndefinedTable { name }),
                    }
                }
                // Foreign keys of tables that stay, pointing at tables that go.
                let mut survivors: Vec<TableDef> = Vec::new();
                for child in catalog.tables().filter(|t| !dropped.contains(&t.id)) {
                    let doomed: Vec<&crate::catalog::ForeignKeyDef> =
                        child.foreign_keys.iter().filter(|fk| dropped.contains(&fk.references)).collect();
                    if let Some(fk) = doomed.first() {
                        if !cascade {
                            let parent = catalog.by_id(fk.references).map(|p| p.name.clone()).unwrap_or_default();
                            return Err(EngineError::DependentObjects {
                                object: format!("table {parent}"),
                                detail: format!("constraint {} on table {} depends on table {parent}", fk.name, child.name),
                            });
                        }
                        let mut kept = child.as_ref().clone();
                        for fk in &doomed {
                            self.notices.push(Notice::skipping(format!("drop cascades to constraint {} on table {}", fk.name, child.name)));
                        }
                        kept.foreign_keys.retain(|fk| !dropped.contains(&fk.references));
                        survivors.push(kept);
                    }
                }
                // Views reading the dropped tables go with them under CASCADE.
                let dropped_names: Vec<String> = defs.iter().map(|d| d.name.clone()).collect();
                let doomed_views = self.views_depending_on(&catalog, &dropped_names, "table", cascade)?;
                // Sequences the dropped tables own go with them, unless a table that stays draws
                // from one.
                for def in &defs {
                    for sequence in self.sequences.owned_by(def.id) {
                        let users = sequence_users(&catalog, &sequence, |t| !dropped.contains(&t.id));
                        if !users.is_empty() {
                            return Err(EngineError::DependentObjects { object: format!("table {}", def.name), detail: users.join("\n") });
                        }
                    }
                }
                for view in &doomed_views {
                    store::delete_view(&self.conn, view.id)?;
                }
                for def in &defs {
                    for sequence in self.sequences.owned_by(def.id) {
                        self.sequences.drop_sequence(&self.conn, &sequence)?;
                    }
                    self.drop_constraint_triggers(def.id)?;
                    self.exec_raw(&format!("DROP TABLE {}", quote_ident(&def.name)))?;
                    store::delete(&self.conn, def.id)?;
                    self.exec_raw(&log_ddl_sql(def.id))?;
                }
                let mut after = catalog.as_ref().clone();
                for id in &dropped {
                    after = without_table(&after, *id);
                }
                for child in survivors {
                    store::save(&self.conn, &child)?;
                    after = with_table(&after, child.clone());
                    self.regenerate_constraint_triggers(&[child.id], &after)?;
                }
            }
            DdlOp::AlterTable { name, if_exists, operations, opts } => {
                let Some(def) = catalog.get(&name) else {
                    if if_exists {
                        self.notices.push(Notice::skipping(format!("relation \"{name}\" does not exist, skipping")));
                        return Ok(Executed::default());
                    }
                    return Err(EngineError::UndefinedTable { name });
                };
                // Constraint triggers name the table's columns and its name: they are dropped
                // before the change (SQLite refuses to drop a column a trigger uses) and made
                // again from the new catalog, for this table and the tables referencing it.
                let mut affected = vec![def.id];
                affected.extend(catalog.tables().filter(|t| t.id != def.id && t.foreign_keys.iter().any(|fk| fk.references == def.id)).map(|t| t.id));
                for id in &affected {
                    self.drop_constraint_triggers(*id)?;
                }
                let mut def: TableDef = def.as_ref().clone();
                let mut reshaped = false;
                let mut children: Vec<TableDef> = Vec::new();
                for operation in operations {
                    reshaped |= self.alter(&mut def, operation, opts, &catalog, &mut children)?;
                }
                store::save(&self.conn, &def)?;
                if def.name != name {
                    self.views_follow_rename(&catalog, &name, &def.name)?;
                }
                let mut after = with_table(&catalog, def.clone());
                for child in children {
                    store::save(&self.conn, &child)?;
                    after = with_table(&after, child);
                }
                if reshaped {
                    self.exec_raw(&log_ddl_sql(def.id))?;
                }
                self.regenerate_constraint_triggers(&affected, &after)?;
            }
            DdlOp::CreateView { mut def, or_replace } => {
                if catalog.enum_type(&def.name).is_some() {
                    return Err(EngineError::DuplicateType { name: def.name });
                }
                let taken = catalog.get(&def.name).is_some()
                    || self.sequences.exists(&def.name)
                    || catalog.tables().any(|t| t.indexes.iter().any(|i| i.name == def.name));
                match catalog.view(&def.name) {
                    _ if taken => return Err(EngineError::DuplicateTable { name: def.name }),
                    Some(existing) if or_replace => def.id = existing.id,
                    Some(_) => return Err(EngineError::DuplicateTable { name: def.name }),
                    None => def.id = store::next_view_id(&self.conn)?,
                }
                // A view may not read itself, through others either.
                let readers = crate::views::dependents(&catalog, &def.name);
                if def.reads.iter().any(|r| *r == def.name || readers.contains(r)) {
                    return Err(EngineError::InfiniteRecursion { relation: def.name });
                }
                store::save_view(&self.conn, &def)?;
            }
            DdlOp::DropViews { names, if_exists, cascade } => {
                let mut doomed: Vec<Arc<crate::catalog::ViewDef>> = Vec::new();
                for name in &names {
                    match catalog.view(name) {
                        Some(view) => doomed.push(view.clone()),
                        None if catalog.get(name).is_some() => return Err(EngineError::NotAView { name: name.clone() }),
                        None if if_exists => self.notices.push(Notice::skipping(format!("view \"{name}\" does not exist, skipping"))),
                        None => return Err(EngineError::UndefinedView { name: name.clone() }),
                    }
                }
                let named: Vec<String> = doomed.iter().map(|v| v.name.clone()).collect();
                doomed.extend(self.views_depending_on(&catalog, &named, "view", cascade)?);
                for view in &doomed {
                    store::delete_view(&self.conn, view.id)?;
                }
            }
            DdlOp::CreateEnum { name, labels } => {
                // Tables and views have a row type of their name.
                if catalog.enum_type(&name).is_some() || catalog.get(&name).is_some() || catalog.view(&name).is_some() {
                    return Err(EngineError::DuplicateType { name });
                }
                let mut seen = std::collections::HashSet::new();
                for label in &labels {
                    check_enum_label(label)?;
                    if !seen.insert(label) {
                        return Err(EngineError::UniqueViolation {
                            table: "pg_enum".into(),
                            constraint: "pg_enum_typid_label_index".into(),
                            columns: vec!["enumtypid".into(), "enumlabel".into()],
                            detail: None,
                        });
                    }
                }
                store::save_type(&self.conn, &crate::catalog::EnumDef { id: store::next_type_id(&self.conn)?, name, labels })?;
            }
            DdlOp::DropTypes { names, if_exists, cascade } => {
                for name in names {
                    let Some(doomed) = catalog.enum_type(&name) else {
                        if if_exists {
                            self.notices.push(Notice::skipping(format!("type \"{name}\" does not exist, skipping")));
                            continue;
                        }
                        return Err(EngineError::UndefinedType { name });
                    };
                    let users: Vec<String> = enum_columns(&catalog, doomed)
                        .map(|(t, c)| {
                            let shown = crate::naming::display_ident;
                            format!("column {} of table {} depends on type {}", shown(&c.name), shown(&t.name), shown(&name))
                        })
                        .collect();
                    if !users.is_empty() {
                        if cascade {
                            return Err(EngineError::unsupported("DROP TYPE ... CASCADE of a type a column uses"));
                        }
                        return Err(EngineError::DependentObjects {
                            object: format!("type {}", crate::naming::display_ident(&name)),
                            detail: users.join("\n"),
                        });
                    }
                    store::delete_type(&self.conn, doomed.def().id)?;
                }
            }
            DdlOp::AlterEnum { name, operation } => self.alter_enum(&catalog, &name, operation)?,
            DdlOp::CreateSequence { def, if_not_exists } => {
                if catalog.enum_type(&def.name).is_some() {
                    return Err(EngineError::DuplicateType { name: def.name });
                }
                if catalog.get(&def.name).is_some()
                    || self.sequences.exists(&def.name)
                    || rowid_serial_owner(&catalog, &def.name).is_some()
                    || catalog.view(&def.name).is_some()
                {
                    if if_not_exists {
                        self.notices.push(Notice {
                            code: "42P07",
                            ..Notice::skipping(format!("relation \"{}\" already exists, skipping", def.name))
                        });
                        return Ok(Executed::default());
                    }
                    return Err(EngineError::DuplicateTable { name: def.name });
                }
                self.sequences.create(&self.conn, def)?;
            }
            DdlOp::AlterSequence(alter) => {
                if !self.sequence_present(&catalog, &alter.name, alter.if_exists, "relation")? || alter.changes_nothing() {
                    return Ok(Executed::default());
                }
                let owner = match &alter.owned_by {
                    None => None,
                    Some(None) => Some(None),
                    Some(Some((table, column))) => {
                        let def = catalog.require(table)?;
                        if def.column_index(column).is_none() {
                            return Err(EngineError::UndefinedColumn { column: column.clone(), table: Some(def.name.clone()) });
                        }
                        Some(Some(def.id))
                    }
                };
                self.sequences.alter(&self.conn, &alter, owner)?;
            }
            DdlOp::DropSequences { names, if_exists, cascade } => {
                for name in names {
                    if !self.sequence_present(&catalog, &name, if_exists, "sequence")? {
                        continue;
                    }
                    let users = sequence_users(&catalog, &name, |_| true);
                    if !users.is_empty() {
                        if cascade {
                            return Err(EngineError::unsupported("DROP SEQUENCE ... CASCADE of a sequence a column default uses"));
                        }
                        return Err(EngineError::DependentObjects { object: format!("sequence {name}"), detail: users.join("\n") });
                    }
                    self.sequences.drop_sequence(&self.conn, &name)?;
                }
            }
            DdlOp::CreateIndex { table, mut index, if_not_exists } => {
                let mut def = catalog.require(&table)?.as_ref().clone();
                if !index.name.is_empty()
                    && (catalog.get(&index.name).is_some()
                        || catalog.view(&index.name).is_some()
                        || catalog.tables().any(|t| t.indexes.iter().any(|i| i.name == index.name)))
                {
                    if if_not_exists {
                        self.notices.push(Notice {
                            code: "42P07",
                            ..Notice::skipping(format!("relation \"{}\" already exists, skipping", index.name))
                        });
                        return Ok(Executed::default());
                    }
                    return Err(EngineError::DuplicateTable { name: index.name });
                }
                if index.name.is_empty() {
                    // As PostgreSQL names them: a column by its name, a function call by the
                    // function's, any other expression `expr`.
                    let names: Vec<String> = index
                        .keys()
                        .into_iter()
                        .map(|(key, _)| match key {
                            IndexKey::Column(i) => def.columns[i].name.clone(),
                            IndexKey::Expression(sql) => constraints::expression_name(sql),
                        })
                        .collect();
                    let names: Vec<&str> = names.iter().map(String::as_str).collect();
                    let taken: Vec<String> = catalog
                        .tables()
                        .flat_map(|t| std::iter::once(t.name.clone()).chain(t.indexes.iter().map(|i| i.name.clone())))
                        .collect();
                    index.name = constraints::choose_name(&def.name, &names, "idx", &taken);
                }
                self.exec_raw(&index_sql(&def, &index)?)?;
                def.indexes.push(index);
                store::save(&self.conn, &def)?;
            }
            DdlOp::DropIndexes { names, if_exists } => {
                for name in names {
                    let Some(table) = catalog.tables().find(|t| t.indexes.iter().any(|i| i.name == name)) else {
                        // Data directories from before indexes were in the catalog.
                        let in_sqlite: bool = self
                            .conn
                            .query_row("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?1)", [&name], |r| r.get(0))
                            .map_err(classify)?;
                        if in_sqlite && !name.starts_with("_rhei_") && !name.starts_with("sqlite_") {
                            self.exec_raw(&format!("DROP INDEX {}", quote_ident(&name)))?;
                            continue;
                        }
                        if if_exists {
                            self.notices.push(Notice::skipping(format!("index \"{name}\" does not exist, skipping")));
                            continue;
                        }
                        return Err(EngineError::UndefinedIndex { name });
                    };
                    let mut def = table.as_ref().clone();
                    def.indexes.retain(|i| i.name != name);
                    self.exec_raw(&format!("DROP INDEX {}", quote_ident(&name)))?;
                    store::save(&self.conn, &def)?;
                }
            }
            DdlOp::Comment { table, column, comment } => {
                let mut def = catalog.require(&table)?.as_ref().clone();
                match column {
                    None => def.comment = comment,
                    Some(column) => {
                        if def.column_index(&column).is_none() {
                            return Err(EngineError::UndefinedColumn { column, table: Some(def.name.clone()) });
                        }
                        match comment {
                            Some(text) => def.column_comments.insert(column, text),
                            None => def.column_comments.remove(&column),
                        };
                    }
                }
                store::save(&self.conn, &def)?;
            }
            DdlOp::CreateReplica(spec) => {
                if catalog.get(&spec.name).is_some() {
                    return Err(EngineError::DuplicateTable { name: spec.name });
                }
                let def = crate::replica::table_def(&spec, store::next_id(&self.conn)?)?;
                // Its index comes when the snapshot is done: building it from the loaded rows
                // is much cheaper than keeping it up to date row by row during the load.
                self.exec_raw(&sqlite_create_table(&def, TranslateOptions::default())?)?;
                store::save(&self.conn, &def)?;
                self.exec_raw(&log_ddl_sql(def.id))?;
            }
            DdlOp::ReshapeReplica { name, columns, dropped, fill } => {
                let old = catalog.require(&name)?.clone();
                let replica = old.replica.clone().ok_or_else(|| EngineError::Internal(format!("\"{name}\" is not a replica table")))?;
                let key_names: Vec<String> = replica.key.iter().map(|&k| old.columns[k].name.clone()).collect();
                let key = key_names
                    .iter()
                    .map(|n| columns.iter().position(|c| &c.name == n))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| EngineError::unsupported(format!("dropping a key column of replica table \"{name}\"")))?;
                let spec = ReplicaTableSpec { name: name.clone(), columns, def: crate::catalog::ReplicaDef { key, dropped, ..replica } };
                let mut def = crate::replica::table_def(&spec, old.id)?;
                def.name = format!("_rhei_reshape_{}", old.id.0);
                self.exec_raw(&sqlite_create_table(&def, TranslateOptions::default())?)?;
                let kept: Vec<String> = def
                    .columns
                    .iter()
                    .filter(|c| old.column_index(&c.name).is_some())
                    .map(|c| quote_ident(&c.name))
                    .collect();
                self.exec_raw(&format!(
                    "INSERT INTO {} ({cols}) SELECT {cols} FROM {}",
                    quote_ident(&def.name),
                    quote_ident(&old.name),
                    cols = kept.join(", ")
                ))?;
                for (column, text) in fill {
                    let Some(i) = def.column_index(&column) else { continue };
                    let value = crate::oltp::functions::storage_value(def.columns[i].ty, &text)?;
                    let current = if def.is_temporal() { format!(" WHERE {} IS NULL", quote_ident(crate::catalog::VALID_TO)) } else { String::new() };
                    let sql = format!("UPDATE {} SET {} = ?1{current}", quote_ident(&def.name), quote_ident(&column));
                    self.conn.execute(&sql, [value]).map_err(classify)?;
                }
                self.replace_table(&old.name, &def.name)?;
                def.name = old.name.clone();
                if let Some(index) = crate::replica::index_sql(&def) {
                    self.exec_raw(&index)?;
                }
                self.exec_raw(&install_triggers_sql(&def))?;
                store::save(&self.conn, &def)?;
                self.exec_raw(&log_ddl_sql(def.id))?;
            }
            DdlOp::ResetReplica { source, tables } => {
                for name in tables {
                    if let Some(def) = catalog.get(&name) {
                        self.exec_raw(&format!("DROP TABLE {}", quote_ident(&def.name)))?;
                        store::delete(&self.conn, def.id)?;
                        self.exec_raw(&log_ddl_sql(def.id))?;
                    }
                }
                crate::replica::clear_position(&self.conn, &source)?;
            }
            DdlOp::Analyze { tables } => {
                // Statistics from a sample of each index (about a thousand rows), so ANALYZE of
                // a large table does not hold the writer for a full scan.
                self.exec_raw("PRAGMA analysis_limit = 1000")?;
                for name in tables {
                    let def = catalog.require(&name)?;
                    self.exec_raw(&format!("ANALYZE {}", quote_ident(&def.name)))?;
                }
            }
            DdlOp::Truncate { names, restart_identity, cascade } => {
                let targets = self.truncation_targets(&catalog, &names, cascade)?;
                // The foreign keys among the emptied tables are set aside while they empty: their
                // per-row checks would refuse deleting a row whose referencing row goes next (a
                // table referencing itself), where TRUNCATE checks nothing row by row.
                let referencing: Vec<TableId> = targets
                    .iter()
                    .filter(|t| t.foreign_keys.iter().any(|fk| targets.iter().any(|r| r.id == fk.references)))
                    .map(|t| t.id)
                    .collect();
                for owner in &referencing {
                    self.drop_constraint_triggers(*owner)?;
                }
                for def in &targets {
                    self.exec_raw(&format!("DELETE FROM {}", quote_ident(&def.name)))?;
                    if restart_identity {
                        for sequence in self.sequences.owned_by(def.id) {
                            self.sequences.restart(&self.conn, &sequence)?;
                        }
                        // A serial key that is the rowid keeps its counter in sqlite_sequence.
                        self.conn
                            .execute("DELETE FROM sqlite_sequence WHERE name = ?1", [&def.name])
                            .map_err(classify)?;
                    }
                }
                self.regenerate_constraint_triggers(&referencing, &catalog)?;
            }
        }
        Ok(Executed::default())
    }

    /// The tables a TRUNCATE empties: `names`, and with `cascade` every table referencing one
    /// of them (a NOTICE each, as PostgreSQL sends); without it a referencing table left out is
    /// refused with 0A000, since emptying the referenced table alone would orphan its rows.
    fn truncation_targets(&mut self, catalog: &Catalog, names: &[String], cascade: bool) -> Result<Vec<Arc<TableDef>>> {
        let mut targets = Vec::new();
        for name in names {
            let def = catalog.require(name)?;
            if !targets.iter().any(|t: &Arc<TableDef>| t.id == def.id) {
                targets.push(def.clone());
            }
        }
        let mut checked = 0;
        while checked < targets.len() {
            let referenced = targets[checked].clone();
            checked += 1;
            for other in catalog.tables() {
                if targets.iter().any(|t| t.id == other.id) || !other.foreign_keys.iter().any(|fk| fk.references == referenced.id) {
                    continue;
                }
                if !cascade {
                    return Err(EngineError::TruncateReferenced {
                        detail: format!("Table \"{}\" references \"{}\".", other.name, referenced.name),
                        hint: format!("Truncate table \"{}\" at the same time, or use TRUNCATE ... CASCADE.", other.name),
                    });
                }
                self.notices.push(Notice::skipping(format!("truncate cascades to table \"{}\"", other.name)));
                targets.push(other.clone());
            }
        }
        Ok(targets)
    }

    /// Applies one ALTER TABLE operation to `def` (and to `children`, tables whose foreign keys
    /// it changes). Returns whether the table's columns changed, so the OLAP copy must reload it.
    fn alter(
        &mut self,
        def: &mut TableDef,
        operation: AlterTableOperation,
        opts: TranslateOptions,
        catalog: &Catalog,
        children: &mut Vec<TableDef>,
    ) -> Result<bool> {
        let table = quote_ident(&def.name);
        match operation {
            AlterTableOperation::AddColumn { column_def: col, if_not_exists, .. } => {
                let parsed = column_def(&col, catalog)?;
                let column = parsed.def;
                if def.column_index(&column.name).is_some() {
                    return if if_not_exists {
                        self.notices.push(Notice {
                            code: "42701",
                            ..Notice::skipping(format!("column \"{}\" of relation \"{}\" already exists, skipping", column.name, def.name))
                        });
                        Ok(false)
                    } else {
                        Err(EngineError::DuplicateColumn { table: def.name.clone(), column: column.name })
                    };
                }
                if parsed.primary || parsed.unique {
                    return Err(EngineError::unsupported("adding a PRIMARY KEY or UNIQUE column"));
                }
                let sql = match &column.default_sql {
                    Some(default) => self.constant_default_column(&column, default, opts)?,
                    None => {
                        def.columns.push(column.clone());
                        let sql = sqlite_column(def, def.columns.len() - 1, opts)?;
                        def.columns.pop();
                        sql
                    }
                };
                let name = column.name.clone();
                def.columns.push(column);
                self.exec_raw(&format!("ALTER TABLE {table} ADD COLUMN {sql}"))?;
                for (check_name, expr) in parsed.checks {
                    let added = add_check(def, check_name, &expr, Some(&name), opts)?;
                    self.validate_check(def, &added, opts)?;
                }
                let position = def.columns.len() - 1;
                for (fk_name, fk) in parsed.references {
                    add_foreign_key(def, fk_name, &fk, Some(vec![position]), catalog)?;
                    self.validate_foreign_key(def, catalog)?;
                }
                Ok(true)
            }
            AlterTableOperation::DropColumn { column_names, if_exists, drop_behavior, .. } => {
                let cascade = matches!(drop_behavior, Some(datafusion::sql::sqlparser::ast::DropBehavior::Cascade));
                for ident in column_names {
                    let name = normalize_ident(&ident);
                    let Some(index) = def.column_index(&name) else {
                        if if_exists {
                            self.notices.push(Notice::skipping(format!(
                                "column \"{name}\" of relation \"{}\" does not exist, skipping",
                                def.name
                            )));
                            continue;
                        }
                        return Err(EngineError::UndefinedColumn { column: name, table: Some(def.name.clone()) });
                    };
                    if def.primary_key.contains(&index) || def.unique.iter().any(|u| u.contains(&index)) {
                        return Err(EngineError::unsupported("dropping a column that is part of a key"));
                    }
                    def.column_comments.remove(&name);
                    // As in PostgreSQL, indexes and constraints of the table that use the column
                    // go with it; foreign keys of other tables that reference it need CASCADE.
                    for child in catalog.tables().filter(|t| t.id != def.id) {
                        let uses = |fk: &crate::catalog::ForeignKeyDef| fk.references == def.id && fk.ref_columns.contains(&index);
                        if let Some(fk) = child.foreign_keys.iter().find(|fk| uses(fk)) {
                            if !cascade {
                                return Err(EngineError::DependentObjects {
                                    object: format!("column {name} of table {}", def.name),
                                    detail: format!("constraint {} on table {} depends on column {name} of table {}", fk.name, child.name, def.name),
                                });
                            }
                            let entry = match children.iter().position(|c| c.id == child.id) {
                                Some(i) => &mut children[i],
                                None => {
                                    children.push(child.as_ref().clone());
                                    children.last_mut().expect("just pushed")
                                }
                            };
                            entry.foreign_keys.retain(|fk| !uses(fk));
                        }
                    }
                    // As in PostgreSQL, an index goes with a column it keys on or its WHERE reads.
                    let reads_column = |i: &IndexDef| {
                        i.columns.contains(&index)
                            || i.predicate.iter().chain(i.expressions.iter().map(|(_, e)| e)).any(|e| constraints::expression_mentions_column(e, &name))
                    };
                    for gone in def.indexes.iter().filter(|i| reads_column(i)) {
                        self.exec_raw(&format!("DROP INDEX {}", quote_ident(&gone.name)))?;
                    }
                    def.indexes.retain(|i| !reads_column(i));
                    def.foreign_keys.retain(|fk| !fk.columns.contains(&index) && !(fk.references == def.id && fk.ref_columns.contains(&index)));
                    let checks = std::mem::take(&mut def.checks);
                    def.checks = checks
                        .into_iter()
                        .filter(|c| !constraints::expression_mentions_column(&c.expr, &name))
                        .collect();
                    self.exec_raw(&format!("ALTER TABLE {table} DROP COLUMN {}", quote_ident(&name)))?;
                    def.columns.remove(index);
                    let shift = |v: &mut usize| {
                        if *v > index {
                            *v -= 1;
                        }
                    };
                    def.primary_key.iter_mut().for_each(shift);
                    def.unique.iter_mut().flatten().for_each(shift);
                    def.indexes.iter_mut().flat_map(|i| i.columns.iter_mut()).for_each(shift);
                    for fk in &mut def.foreign_keys {
                        fk.columns.iter_mut().for_each(shift);
                        if fk.references == def.id {
                            fk.ref_columns.iter_mut().for_each(shift);
                        }
                    }
                    for child in children.iter_mut() {
                        for fk in child.foreign_keys.iter_mut().filter(|fk| fk.references == def.id) {
                            fk.ref_columns.iter_mut().for_each(shift);
                        }
                    }
                    let untouched: Vec<&Arc<TableDef>> =
                        catalog.tables().filter(|t| t.id != def.id && !children.iter().any(|c| c.id == t.id)).collect();
                    for child in untouched {
                        if child.foreign_keys.iter().any(|fk| fk.references == def.id && fk.ref_columns.iter().any(|&c| c > index)) {
                            let mut moved = child.as_ref().clone();
                            for fk in moved.foreign_keys.iter_mut().filter(|fk| fk.references == def.id) {
                                fk.ref_columns.iter_mut().for_each(shift);
                            }
                            children.push(moved);
                        }
                    }
                }
                Ok(true)
            }
            AlterTableOperation::RenameColumn { old_column_name, new_column_name } => {
                let old = normalize_ident(&old_column_name);
                let new = normalize_ident(&new_column_name);
                let index = def
                    .column_index(&old)
                    .ok_or_else(|| EngineError::UndefinedColumn { column: old.clone(), table: Some(def.name.clone()) })?;
                if def.column_index(&new).is_some() {
                    return Err(EngineError::DuplicateColumn { table: def.name.clone(), column: new });
                }
                self.exec_raw(&format!("ALTER TABLE {table} RENAME COLUMN {} TO {}", quote_ident(&old), quote_ident(&new)))?;
                def.columns[index].name = new.clone();
                if let Some(comment) = def.column_comments.remove(&old) {
                    def.column_comments.insert(new.clone(), comment);
                }
                // CHECK expressions are kept as written; they follow the rename as in PostgreSQL.
                for check in &mut def.checks {
                    check.expr = constraints::rename_column(&check.expr, &old, &new)?;
                }
                for index in &mut def.indexes {
                    for expr in index.predicate.iter_mut().chain(index.expressions.iter_mut().map(|(_, e)| e)) {
                        *expr = constraints::rename_column(expr, &old, &new)?;
                    }
                }
                Ok(true)
            }
            AlterTableOperation::RenameTable { table_name: RenameTableNameKind::To(new) | RenameTableNameKind::As(new) } => {
                let new = table_name(&new)?;
                if self.catalog.read().get(&new).is_some() || self.catalog.read().view(&new).is_some() {
                    return Err(EngineError::DuplicateTable { name: new });
                }
                self.exec_raw(&format!("ALTER TABLE {table} RENAME TO {}", quote_ident(&new)))?;
                def.freeze_key_names();
                def.name = new;
                Ok(true)
            }
            AlterTableOperation::AddConstraint { constraint, .. } => {
                use datafusion::sql::sqlparser::ast::TableConstraint;
                match constraint {
                    TableConstraint::Check(check) => {
                        let added = add_check(def, check.name.as_ref().map(normalize_ident), &check.expr, None, opts)?;
                        self.validate_check(def, &added, opts)?;
                    }
                    TableConstraint::ForeignKey(fk) => {
                        add_foreign_key(def, fk.name.as_ref().map(normalize_ident), &fk, None, catalog)?;
                        self.validate_foreign_key(def, catalog)?;
                    }
                    TableConstraint::Unique(unique) => {
                        let columns = key_columns(def, &unique.columns)?;
                        let name = key_constraint_name(def, unique.name.as_ref().map(normalize_ident), &columns, "key", catalog)?;
                        let nulls_collide = nulls_not_distinct(&unique);
                        self.check_distinct(def, &columns, &name, nulls_collide)?;
                        let index_name = format!("_rhei_unique_{}_{}", def.id.0, def.unique.len());
                        let list = columns.iter().map(|&i| quote_ident(&def.columns[i].name)).collect::<Vec<_>>().join(", ");
                        self.exec_raw(&format!("CREATE UNIQUE INDEX {} ON {table} ({list})", quote_ident(&index_name)))?;
                        if nulls_collide {
                            def.nulls_not_distinct.push(name.clone());
                        }
                        def.add_unique(columns, name);
                    }
                    TableConstraint::PrimaryKey(pk) => {
                        if !def.primary_key.is_empty() {
                            return Err(EngineError::MultiplePrimaryKeys { table: def.name.clone() });
                        }
                        let columns = key_columns(def, &pk.columns)?;
                        let name = key_constraint_name(def, pk.name.as_ref().map(normalize_ident), &columns, "pkey", catalog)?;
                        // As in PostgreSQL, the key's columns become NOT NULL, which existing rows
                        // must satisfy, then the key must be distinct.
                        for &i in &columns {
                            let column = quote_ident(&def.columns[i].name);
                            let has_null: bool = self
                                .conn
                                .query_row(&format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE {column} IS NULL)"), [], |r| r.get(0))
                                .map_err(classify)?;
                            if has_null {
                                return Err(EngineError::ColumnContainsNulls { table: def.name.clone(), column: def.columns[i].name.clone() });
                            }
                        }
                        self.check_distinct(def, &columns, &name, false)?;
                        let mut new = def.clone();
                        for &i in &columns {
                            new.columns[i].not_null = true;
                        }
                        new.primary_key = columns;
                        new.primary_key_name = (name != format!("{}_pkey", def.name)).then_some(name);
                        // SQLite cannot add a key to a table: it is made again with the key
                        // (a single integer key becomes the rowid, so the OLAP copy reloads).
                        self.rebuild(def, &new, None, catalog, opts)?;
                        *def = new;
                        return Ok(true);
                    }
                    other => return Err(EngineError::unsupported(format!("ALTER TABLE ADD {other}"))),
                }
                Ok(false)
            }
            AlterTableOperation::DropConstraint { if_exists, name, drop_behavior } => {
                let cascade = matches!(drop_behavior, Some(datafusion::sql::sqlparser::ast::DropBehavior::Cascade));
                let name = normalize_ident(&name);
                let before = def.checks.len() + def.foreign_keys.len();
                def.checks.retain(|c| c.name != name);
                def.foreign_keys.retain(|fk| fk.name != name);
                if def.checks.len() + def.foreign_keys.len() == before {
                    if let Some(key) = def.key_constraint(&name) {
                        self.drop_key(def, key, &name, cascade, catalog, children, opts)?;
                        return Ok(true);
                    }
                    if !if_exists {
                        return Err(EngineError::UndefinedConstraint { table: def.name.clone(), constraint: name });
                    }
                    self.notices.push(Notice::skipping(format!(
                        "constraint \"{name}\" of relation \"{}\" does not exist, skipping",
                        def.name
                    )));
                }
                Ok(false)
            }
            AlterTableOperation::AlterColumn { column_name, op } => {
                let name = normalize_ident(&column_name);
                let index = def
                    .column_index(&name)
                    .ok_or_else(|| EngineError::UndefinedColumn { column: name.clone(), table: Some(def.name.clone()) })?;
                let mut new = def.clone();
                let mut conversion = None;
                match op {
                    AlterColumnOperation::SetNotNull => {
                        if def.columns[index].not_null {
                            return Ok(false);
                        }
                        let has_null: bool = self
                            .conn
                            .query_row(&format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE {} IS NULL)", quote_ident(&name)), [], |r| r.get(0))
                            .map_err(classify)?;
                        if has_null {
                            return Err(EngineError::ColumnContainsNulls { table: def.name.clone(), column: name });
                        }
                        new.columns[index].not_null = true;
                    }
                    AlterColumnOperation::DropNotNull => {
                        if def.primary_key.contains(&index) {
                            return Err(EngineError::ColumnInPrimaryKey { column: name });
                        }
                        if !def.columns[index].not_null {
                            return Ok(false);
                        }
                        new.columns[index].not_null = false;
                    }
                    AlterColumnOperation::SetDefault { value } => {
                        if def.columns[index].is_serial {
                            return Err(EngineError::unsupported("changing the default of a serial column"));
                        }
                        // Translated now, so a DEFAULT rhei cannot evaluate fails here, not at the next INSERT.
                        default_expr_sql(def.columns[index].ty, &value.to_string(), opts)?;
                        new.columns[index].default_sql = Some(value.to_string());
                    }
                    AlterColumnOperation::DropDefault => {
                        if def.columns[index].is_serial {
                            return Err(EngineError::unsupported("dropping the default of a serial column"));
                        }
                        new.columns[index].default_sql = None;
                    }
                    AlterColumnOperation::SetDataType { data_type, using, .. } => {
                        let declared = catalog.column_type(&data_type)?;
                        let old_ty = def.columns[index].ty;
                        // PostgreSQL converts by assignment casts only; text to anything else needs USING.
                        let textual = |t: PgType| matches!(t, PgType::Text | PgType::Varchar(_) | PgType::Bpchar(_));
                        if using.is_none() && textual(old_ty) && !textual(declared.ty) {
                            return Err(EngineError::CannotCastAutomatically { column: name, type_name: declared.ty.pg_name() });
                        }
                        new.columns[index].ty = declared.ty;
                        let source = using.map_or_else(|| quote_ident(&name), |e| e.to_string());
                        // An assignment cast: to a textual type through text, whose storage conversion
                        // then refuses values too long where an explicit cast to varchar(n) would cut them.
                        let converted = if textual(declared.ty) { format!("CAST({source} AS text)") } else { format!("CAST({source} AS {data_type})") };
                        conversion = Some((index, converted));
                    }
                    AlterColumnOperation::AddGenerated { .. } => {
                        return Err(EngineError::unsupported("ALTER COLUMN ... ADD GENERATED AS IDENTITY"));
                    }
                }
                let converted = conversion.as_ref().map(|(index, _)| *index);
                self.rebuild(def, &new, conversion, catalog, opts)?;
                // Converted values can make keys with NULLs collide, which the unique index lets
                // through and the constraint's triggers only check for rows written later.
                if let Some(index) = converted {
                    for i in (0..new.unique.len()).filter(|&i| new.unique[i].contains(&index) && new.unique_nulls_not_distinct(i)) {
                        self.check_distinct(&new, &new.unique[i], &new.unique_name(i), true)?;
                    }
                }
                *def = new;
                Ok(true)
            }
            other => Err(EngineError::unsupported(format!("ALTER TABLE {other}"))),
        }
    }

    /// Fails as PostgreSQL's CREATE UNIQUE INDEX does when two rows of `def` share a key of
    /// `columns` (NULLs are distinct).
    fn check_distinct(&self, def: &TableDef, columns: &[usize], index: &str, nulls_collide: bool) -> Result<()> {
        let sql = constraints::duplicate_key_sql(def, columns, nulls_collide);
        let duplicated: Option<String> = self.conn.query_row(&sql, [], |r| r.get(0)).optional().map_err(classify)?;
        match duplicated {
            Some(detail) => Err(EngineError::DuplicateKeys { index: index.to_string(), detail }),
            None => Ok(()),
        }
    }

    /// `ALTER TABLE ... DROP CONSTRAINT` of the primary key or a UNIQUE constraint: the foreign
    /// keys relying on it block it, or with CASCADE go with it (as in PostgreSQL; the changed
    /// referencing tables are added to `children`); the table is made again without it. The
    /// key's columns stay NOT NULL, as in PostgreSQL.
    #[allow(clippy::too_many_arguments)] // the DROP CONSTRAINT's parts and the catalog it changes
    fn drop_key(
        &mut self,
        def: &mut TableDef,
        key: KeyConstraint,
        name: &str,
        cascade: bool,
        catalog: &Catalog,
        children: &mut Vec<TableDef>,
        opts: TranslateOptions,
    ) -> Result<()> {
        let columns = match key {
            KeyConstraint::Primary => def.primary_key.clone(),
            KeyConstraint::Unique(i) => def.unique[i].clone(),
        };
        let same_set = |cols: &[usize]| cols.len() == columns.len() && cols.iter().all(|c| columns.contains(c));
        let mut new = def.clone();
        match key {
            KeyConstraint::Primary => {
                if def.primary_key.iter().any(|&i| def.columns[i].is_serial) {
                    return Err(EngineError::unsupported("dropping the primary key of a serial column"));
                }
                new.primary_key.clear();
                new.primary_key_name = None;
            }
            KeyConstraint::Unique(i) => new.remove_unique(i),
        }
        // A foreign key needs some unique key on exactly its referenced columns.
        let still_unique =
            same_set(&new.primary_key) || new.unique.iter().any(|u| same_set(u)) || new.indexes.iter().any(|i| i.is_unique_key() && same_set(&i.columns));
        if !still_unique {
            let referencing: Vec<(TableId, String, String)> = catalog
                .tables()
                .map(|t| if t.id == def.id { &*def } else { t.as_ref() })
                .flat_map(|t| t.foreign_keys.iter().map(move |fk| (t, fk)))
                .filter(|(_, fk)| fk.references == def.id && same_set(&fk.ref_columns))
                .map(|(t, fk)| (t.id, t.name.clone(), fk.name.clone()))
                .collect();
            if let Some((_, child, fk)) = referencing.first()
                && !cascade
            {
                return Err(EngineError::DependentObjects {
                    object: format!("constraint {name} on table {}", def.name),
                    detail: format!("constraint {fk} on table {child} depends on index {name}"),
                });
            }
            for (id, child, fk) in referencing {
                self.notices.push(Notice::skipping(format!("drop cascades to constraint {fk} on table {child}")));
                if id == def.id {
                    new.foreign_keys.retain(|f| f.name != fk);
                    continue;
                }
                if !children.iter().any(|c| c.id == id)
                    && let Some(table) = catalog.by_id(id)
                {
                    children.push(table.as_ref().clone());
                }
                if let Some(entry) = children.iter_mut().find(|c| c.id == id) {
                    entry.foreign_keys.retain(|f| f.name != fk);
                }
            }
        }
        self.rebuild(def, &new, None, catalog, opts)?;
        *def = new;
        Ok(())
    }

    /// Makes `old`'s SQLite table again as `new` describes it (SQLite cannot change a column
    /// in place): a new table, the rows copied (rowids kept, one column converted by a PostgreSQL
    /// expression when `conversion` says so, validated as any written value is), the old table
    /// dropped, the new one renamed, its indexes and change capture made again. The caller
    /// handles constraint triggers and the OLAP copy.
    fn rebuild(
        &mut self,
        old: &TableDef,
        new: &TableDef,
        conversion: Option<(usize, String)>,
        catalog: &Catalog,
        opts: TranslateOptions,
    ) -> Result<()> {
        use datafusion::sql::sqlparser::ast::{Expr, SelectItem, SetExpr, Statement};
        use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
        use datafusion::sql::sqlparser::parser::Parser;
        let mut temp = new.clone();
        temp.name = format!("_rhei_rebuild_{}", old.id.0);
        self.exec_raw(&sqlite_create_table(&temp, opts)?)?;
        let items: Vec<String> = old
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| match &conversion {
                Some((at, expr)) if *at == i => expr.clone(),
                _ => quote_ident(&c.name),
            })
            .collect();
        let mut select = Parser::parse_sql(&PostgreSqlDialect {}, &format!("SELECT {} FROM {}", items.join(", "), quote_ident(&old.name)))
            .map_err(EngineError::syntax)?
            .remove(0);
        crate::translate::to_sqlite(&mut select, catalog, opts)?;
        if let Statement::Query(query) = &mut select
            && let SetExpr::Select(body) = query.body.as_mut()
        {
            if let Some((at, _)) = conversion
                && let Some(SelectItem::UnnamedExpr(expr) | SelectItem::ExprWithAlias { expr, .. }) = body.projection.get_mut(at)
            {
                *expr = crate::translate::assign_expr(new.columns[at].ty, expr.clone(), opts);
            }
            // Rowids are kept, unless the new table's rowid is its integer key.
            if new.rowid_alias().is_none() {
                body.projection.insert(0, SelectItem::UnnamedExpr(Expr::Identifier("rowid".into())));
            }
        }
        let mut columns: Vec<String> = new.columns.iter().map(|c| quote_ident(&c.name)).collect();
        if new.rowid_alias().is_none() {
            columns.insert(0, "rowid".into());
        }
        self.exec_raw(&format!("INSERT INTO {} ({}) {select}", quote_ident(&temp.name), columns.join(", ")))?;
        // A serial key's counter moves over: the copy alone would restart it at the largest id
        // left, handing out again the ids of rows deleted before.
        for carry in [
            "DELETE FROM sqlite_sequence WHERE name = ?2 AND EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ?1)",
            "INSERT INTO sqlite_sequence (name, seq) SELECT ?2, seq FROM sqlite_sequence WHERE name = ?1",
        ] {
            self.conn.execute(carry, [&old.name, &temp.name]).map_err(classify)?;
        }
        self.replace_table(&old.name, &temp.name)?;
        for index in &new.indexes {
            self.exec_raw(&index_sql(new, index)?)?;
        }
        self.exec_raw(&install_triggers_sql(new))
    }

    /// Drops table `old` and gives `new` its name (the end of a rebuild; indexes and triggers
    /// are the caller's).
    fn replace_table(&self, old: &str, new: &str) -> Result<()> {
        self.exec_raw(&format!("DROP TABLE {}", quote_ident(old)))?;
        // Views and other tables' triggers may name the table, which does not exist between the
        // drop and the rename; the legacy rename leaves them alone instead of failing on them.
        self.exec_raw("PRAGMA legacy_alter_table = ON")?;
        let renamed = self.exec_raw(&format!("ALTER TABLE {} RENAME TO {}", quote_ident(new), quote_ident(old)));
        self.exec_raw("PRAGMA legacy_alter_table = OFF")?;
        renamed
    }

    /// Drops every constraint trigger of a table's own constraints (see
    /// `translate::constraints`).
    fn drop_constraint_triggers(&self, owner: TableId) -> Result<()> {
        let names: Vec<String> = self
            .conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE ?1 ESCAPE '\\'")
            .and_then(|mut stmt| stmt.query_map([constraints::trigger_pattern(owner)], |r| r.get(0))?.collect())
            .map_err(classify)?;
        for name in names {
            self.exec_raw(&format!("DROP TRIGGER IF EXISTS {}", quote_ident(&name)))?;
        }
        Ok(())
    }

    /// Makes the constraint triggers of `tables` again from `catalog` (their earlier ones are
    /// gone).
    fn regenerate_constraint_triggers(&self, tables: &[TableId], catalog: &Catalog) -> Result<()> {
        for id in tables {
            self.drop_constraint_triggers(*id)?;
            if let Some(def) = catalog.by_id(*id) {
                self.exec_raw(&constraints::triggers_sql(def, catalog, TranslateOptions::default())?)?;
            }
        }
        Ok(())
    }

    /// Checks the existing rows against a CHECK constraint just added (PostgreSQL validates
    /// them in ALTER TABLE ... ADD CONSTRAINT).
    fn validate_check(&self, def: &TableDef, name: &str, opts: TranslateOptions) -> Result<()> {
        let Some(check) = def.checks.iter().find(|c| c.name == name) else { return Ok(()) };
        let table = quote_ident(&def.name);
        let condition = constraints::check_sql(def, &check.expr, &table, opts)?;
        let violated: bool = self
            .conn
            .query_row(&format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE NOT coalesce({condition}, 1))"), [], |r| r.get(0))
            .map_err(classify)?;
        if violated {
            return Err(EngineError::CheckViolatedByExistingRow { table: def.name.clone(), constraint: name.to_string() });
        }
        Ok(())
    }

    /// Checks the existing rows against the foreign key just added (the last of `def`'s).
    fn validate_foreign_key(&self, def: &TableDef, catalog: &Catalog) -> Result<()> {
        let Some(fk) = def.foreign_keys.last() else { return Ok(()) };
        let parent = if fk.references == def.id { def } else { catalog.by_id(fk.references).map(|p| p.as_ref()).unwrap_or(def) };
        let values: Option<String> = self
            .conn
            .query_row(&constraints::first_orphan_sql(def, fk, parent), [], |r| r.get(0))
            .optional()
            .map_err(classify)?;
        match values {
            Some(values) => Err(EngineError::ForeignKeyMissing {
                table: def.name.clone(),
                constraint: fk.name.clone(),
                detail: Some(format!(
                    "Key ({})=({values}) is not present in table \"{}\".",
                    fk.columns.iter().map(|&i| crate::naming::display_ident(&def.columns[i].name)).collect::<Vec<_>>().join(", "),
                    parent.name
                )),
            }),
            None => Ok(()),
        }
    }

    /// SQLite's ADD COLUMN only takes a constant DEFAULT, so the default is evaluated once here
    /// (which is also what PostgreSQL stores into the existing rows) and written as a literal.
    fn constant_default_column(&self, column: &ColumnDef, default: &str, opts: TranslateOptions) -> Result<String> {
        let value_sql = default_expr_sql(column.ty, default, opts)?;
        if value_sql.contains("rhei_now") {
            return Err(EngineError::unsupported("ALTER TABLE ADD COLUMN with a volatile DEFAULT such as now()"));
        }
        let value: SqlValue = self.conn.query_row(&format!("SELECT {value_sql}"), [], |r| r.get(0)).map_err(classify)?;
        let literal = match value {
            SqlValue::Null => "NULL".to_string(),
            SqlValue::Integer(i) => i.to_string(),
            SqlValue::Real(f) => format!("{f:e}"),
            SqlValue::Text(t) => quote_literal(&t),
            SqlValue::Blob(b) => format!("X'{}'", b.iter().map(|x| format!("{x:02x}")).collect::<String>()),
        };
        let not_null = if column.not_null { " NOT NULL" } else { "" };
        Ok(format!("{} {}{not_null} DEFAULT {literal}", quote_ident(&column.name), column.ty.storage()))
    }

    /// The views reading any of `names` (tables or views, of `kind`) that are not among them,
    /// directly or through other views: refused (2BP01, a DETAIL line per view, as PostgreSQL
    /// words them) unless `cascade`, which drops them too (with a notice each).
    fn views_depending_on(&mut self, catalog: &Catalog, names: &[String], kind: &str, cascade: bool) -> Result<Vec<Arc<crate::catalog::ViewDef>>> {
        let shown = crate::naming::display_ident;
        let mut found: Vec<Arc<crate::catalog::ViewDef>> = Vec::new();
        for name in names {
            let dependents: Vec<Arc<crate::catalog::ViewDef>> = crate::views::dependents(catalog, name)
                .iter()
                .filter(|d| !names.contains(d))
                .filter_map(|d| catalog.view(d).cloned())
                .collect();
            if !dependents.is_empty() && !cascade {
                // A view reading `name` through others names the one it reads on the way.
                let lines: Vec<String> = dependents
                    .iter()
                    .map(|view| match view.reads.iter().find(|r| !view.reads.contains(name) && dependents.iter().any(|d| d.name == **r)) {
                        Some(via) => format!("view {} depends on view {}", shown(&view.name), shown(via)),
                        None => format!("view {} depends on {kind} {}", shown(&view.name), shown(name)),
                    })
                    .collect();
                return Err(EngineError::DependentObjects { object: format!("{kind} {name}"), detail: lines.join("\n") });
            }
            for view in dependents {
                if !found.iter().any(|v| v.name == view.name) {
                    self.notices.push(Notice::skipping(format!("drop cascades to view {}", shown(&view.name))));
                    found.push(view);
                }
            }
        }
        Ok(found)
    }

    /// Views naming table `old` name it `new` after ALTER TABLE ... RENAME TO (PostgreSQL's
    /// views hold the table itself, not its name).
    fn views_follow_rename(&self, catalog: &Catalog, old: &str, new: &str) -> Result<()> {
        for view in catalog.views().filter(|v| v.reads.iter().any(|r| r == old)) {
            use datafusion::sql::sqlparser::ast::{Ident, ObjectName, TableAlias, TableFactor, VisitMut, VisitorMut};
            // `FROM t` becomes `FROM "new" AS t`, so columns qualified `t.c` still resolve.
            struct Renamed<'n> {
                old: &'n str,
                new: &'n str,
            }
            impl VisitorMut for Renamed<'_> {
                type Break = ();
                fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> std::ops::ControlFlow<()> {
                    if let TableFactor::Table { name, alias, .. } = factor
                        && crate::catalog::table_name(name).is_ok_and(|n| n == self.old)
                    {
                        *name = ObjectName::from(vec![Ident::with_quote('"', self.new)]);
                        alias.get_or_insert_with(|| TableAlias { explicit: true, name: Ident::with_quote('"', self.old), columns: Vec::new() });
                    }
                    std::ops::ControlFlow::Continue(())
                }
            }
            let mut query = crate::views::parsed_query(view)?;
            let _ = query.visit(&mut Renamed { old, new });
            let mut renamed = view.as_ref().clone();
            renamed.query = query.to_string();
            renamed.reads = crate::views::reads(&query);
            store::save_view(&self.conn, &renamed)?;
        }
        Ok(())
    }

    /// ALTER TYPE of an enum type. Its columns (and views' columns) take the new definition;
    /// their tables are reloaded into the OLAP copy, whose schema carries it. Renaming a label
    /// rewrites the rows that hold it, as PostgreSQL's (stored by OID) would read them.
    fn alter_enum(&mut self, catalog: &Catalog, name: &str, operation: datafusion::sql::sqlparser::ast::AlterTypeOperation) -> Result<()> {
        use datafusion::sql::sqlparser::ast::{AlterTypeAddValuePosition, AlterTypeOperation};
        let old = catalog.enum_type(name).ok_or_else(|| EngineError::UndefinedType { name: name.to_string() })?;
        let mut def = crate::catalog::EnumDef { id: old.def().id, name: old.def().name.clone(), labels: old.def().labels.clone() };
        let position_of = |def: &crate::catalog::EnumDef, label: &str| {
            def.position(label).ok_or_else(|| EngineError::UndefinedEnumLabel { label: label.to_string() })
        };
        let mut renamed_label = None;
        match operation {
            AlterTypeOperation::AddValue(add) => {
                let label = add.value.value;
                if def.position(&label).is_some() {
                    if add.if_not_exists {
                        self.notices.push(Notice { code: "42710", ..Notice::skipping(format!("enum label \"{label}\" already exists, skipping")) });
                        return Ok(());
                    }
                    return Err(EngineError::DuplicateEnumLabel { label });
                }
                check_enum_label(&label)?;
                let at = match add.position {
                    None => def.labels.len(),
                    Some(AlterTypeAddValuePosition::Before(n)) => position_of(&def, &n.value)?,
                    Some(AlterTypeAddValuePosition::After(n)) => position_of(&def, &n.value)? + 1,
                };
                def.labels.insert(at, label);
            }
            AlterTypeOperation::RenameValue(rename) => {
                let at = position_of(&def, &rename.from.value)?;
                if def.position(&rename.to.value).is_some() {
                    return Err(EngineError::DuplicateEnumLabel { label: rename.to.value });
                }
                check_enum_label(&rename.to.value)?;
                def.labels[at] = rename.to.value.clone();
                renamed_label = Some((rename.from.value, rename.to.value));
            }
            AlterTypeOperation::Rename(rename) => {
                let new_name = normalize_ident(&rename.new_name);
                if catalog.enum_type(&new_name).is_some() || catalog.get(&new_name).is_some() || catalog.view(&new_name).is_some() {
                    return Err(EngineError::DuplicateType { name: new_name });
                }
                def.name = new_name;
            }
        }
        store::save_type(&self.conn, &def)?;
        let renamed_type = (def.name != old.def().name).then(|| (old.def().name.clone(), def.name.clone()));
        let new = crate::catalog::EnumType::new(def);
        let mut changed: Vec<TableId> = Vec::new();
        for table in catalog.tables() {
            let mut altered = table.as_ref().clone();
            let mut uses = false;
            for column in &mut altered.columns {
                if matches!(column.ty, PgType::Enum(e) if e == old) {
                    column.ty = PgType::Enum(new);
                    uses = true;
                    if let Some((from, to)) = &renamed_label {
                        self.exec_raw(&format!(
                            "UPDATE {} SET {col} = {} WHERE {col} = {}",
                            quote_ident(&altered.name),
                            quote_literal(to),
                            quote_literal(from),
                            col = quote_ident(&column.name),
                        ))?;
                    }
                }
            }
            let mut texts_renamed = false;
            if let Some((from, to)) = &renamed_type {
                let mut rename = |sql: &mut String| {
                    if let Some(renamed) = crate::translate::enums::with_type_renamed(sql, from, to, false) {
                        *sql = renamed;
                        texts_renamed = true;
                    }
                };
                altered.columns.iter_mut().filter_map(|c| c.default_sql.as_mut()).for_each(&mut rename);
                altered.checks.iter_mut().for_each(|c| rename(&mut c.expr));
                for index in &mut altered.indexes {
                    index.expressions.iter_mut().for_each(|(_, e)| rename(e));
                    index.predicate.iter_mut().for_each(&mut rename);
                }
            }
            if uses || texts_renamed {
                store::save(&self.conn, &altered)?;
            }
            if uses {
                changed.push(altered.id);
            }
        }
        for id in changed {
            self.exec_raw(&log_ddl_sql(id))?;
        }
        for view in catalog.views() {
            let renamed_query =
                renamed_type.as_ref().and_then(|(from, to)| crate::translate::enums::with_type_renamed(&view.query, from, to, true));
            if renamed_query.is_some() || view.columns.iter().any(|c| matches!(c.ty, PgType::Enum(e) if e == old)) {
                let mut altered = view.as_ref().clone();
                if let Some(query) = renamed_query {
                    altered.query = query;
                }
                for column in &mut altered.columns {
                    if matches!(column.ty, PgType::Enum(e) if e == old) {
                        column.ty = PgType::Enum(new);
                    }
                }
                store::save_view(&self.conn, &altered)?;
            }
        }
        Ok(())
    }

    fn reload_catalog(&self) {
        match store::load(&self.conn) {
            Ok(catalog) => *self.catalog.write() = Arc::new(catalog),
            Err(e) => tracing::error!("could not reload the catalog: {e}"),
        }
        // A rollback may have brought back other generations of sequences (see oltp::sequence).
        if let Err(e) = self.sequences.load(&self.conn) {
            tracing::error!("could not reload the sequences: {e}");
        }
    }

    /// Whether sequence `name` exists for ALTER or DROP SEQUENCE: 42809 when it names a table,
    /// 42P01 when nothing, unless `if_exists` (a notice naming it a `kind`, and false).
    fn sequence_present(&mut self, catalog: &Catalog, name: &str, if_exists: bool, kind: &str) -> Result<bool> {
        if self.sequences.exists(name) {
            return Ok(true);
        }
        if catalog.get(name).is_some() {
            return Err(EngineError::NotASequence { name: name.to_string() });
        }
        if !if_exists {
            return Err(EngineError::UndefinedTable { name: name.to_string() });
        }
        self.notices.push(Notice::skipping(format!("{kind} \"{name}\" does not exist, skipping")));
        Ok(false)
    }

    /// Gives each serial column that is not the table's rowid (a `bigserial` beside the key) a
    /// sequence of its own, named as PostgreSQL names it (`t_n_seq`, a number added on a clash),
    /// owned by the table, and the DEFAULT that draws from it.
    fn number_serial_columns(&self, def: &mut TableDef, catalog: &Catalog) -> Result<()> {
        let rowid = def.rowid_alias();
        for index in 0..def.columns.len() {
            let column = &def.columns[index];
            if !column.is_serial || rowid == Some(index) || column.default_sql.is_some() {
                continue;
            }
            let base = format!("{}_{}_seq", def.name, column.name);
            let taken =
                |name: &str| catalog.get(name).is_some() || self.sequences.exists(name) || name == def.name || rowid_serial_owner(catalog, name).is_some();
            let name = std::iter::once(base.clone())
                .chain((1..).map(|n| format!("{base}{n}")))
                .find(|name| !taken(name))
                .unwrap_or(base);
            let bits = match column.ty {
                PgType::Int2 => 16,
                PgType::Int4 => 32,
                _ => 64,
            };
            def.columns[index].default_sql = Some(format!("nextval({}::regclass)", quote_literal(&crate::naming::display_ident(&name))));
            self.sequences.create(&self.conn, SequenceDef::serial(name, bits, def.id))?;
        }
        Ok(())
    }

    /// Runs COMMIT. The transaction's bulk loads are handed to sync just before it: COMMIT
    /// makes the change log visible before it returns (its WAL checkpoint runs after that, and
    /// after a large COPY takes a while), so a sync step in that window would otherwise find
    /// the reload entry without its batches and read the table back from SQLite. Sync cannot
    /// use them before the commit (it takes a load only once its step has read the entry), and
    /// a failed commit withdraws them before anything else runs.
    fn commit(&mut self) -> Result<()> {
        let offered: Vec<(TableId, u64)> = self
            .pending_bulk
            .drain(..)
            .map(|load| {
                let key = (load.def.id, load.seq);
                self.bulk.offer(load);
                key
            })
            .collect();
        let result = self.sequences.write_moved(&self.conn).and_then(|()| self.exec_cached("COMMIT"));
        if result.is_ok() {
            self.sequences.written();
        }
        if result.is_err() {
            for (table, seq) in offered {
                self.bulk.withdraw(table, seq);
            }
        }
        result
    }

    /// Called after every successful COMMIT.
    fn publish_committed(&mut self) {
        let seq = self.conn.prepare_cached(LAST_SEQ_SQL).and_then(|mut stmt| stmt.query_row([], |r| r.get::<_, i64>(0)));
        match seq {
            Ok(seq) => {
                self.committed.send_if_modified(|current| {
                    let changed = *current < seq as u64;
                    *current = (*current).max(seq as u64);
                    changed
                });
            }
            Err(e) => tracing::error!("could not read the commit sequence: {e}"),
        }
    }

    /// Deletes the oldest [`PRUNE_CHUNK`] applied entries below `prune_below`, as a commit of its
    /// own; clears `prune_below` once none are left.
    fn prune_chunk(&mut self) {
        self.last_prune = Instant::now();
        let r = self.conn.execute(
            "DELETE FROM _rhei_changelog WHERE seq IN (SELECT seq FROM _rhei_changelog WHERE seq < ?1 ORDER BY seq LIMIT ?2)",
            rusqlite::params![self.prune_below as i64, PRUNE_CHUNK as i64],
        );
        match r {
            Ok(n) if n as u64 == PRUNE_CHUNK => {}
            Ok(_) => self.prune_below = 0,
            Err(e) => {
                tracing::warn!("pruning the change log failed: {e}");
                self.prune_below = 0;
            }
        }
    }
}

/// The column defaults of the tables `among` that draw from `sequence`, as PostgreSQL's DETAIL
/// of a refused DROP names them.
fn sequence_users(catalog: &Catalog, sequence: &str, among: impl Fn(&TableDef) -> bool) -> Vec<String> {
    catalog
        .tables()
        .filter(|t| among(t))
        .flat_map(|t| t.columns.iter().map(move |c| (t, c)))
        .filter(|(_, c)| c.default_sql.as_deref().and_then(nextval_sequence).is_some_and(|s| s == sequence))
        .map(|(t, c)| format!("default value for column {} of table {} depends on sequence {sequence}", c.name, t.name))
        .collect()
}

/// The columns of enum type `ty`, with their tables.
fn enum_columns(catalog: &Catalog, ty: crate::catalog::EnumType) -> impl Iterator<Item = (&Arc<TableDef>, &crate::catalog::ColumnDef)> {
    catalog.tables().flat_map(|t| t.columns.iter().map(move |c| (t, c))).filter(move |(_, c)| c.ty == PgType::Enum(ty))
}

/// PostgreSQL's limit on an enum label (NAMEDATALEN - 1 bytes).
fn check_enum_label(label: &str) -> Result<()> {
    if label.len() > 63 {
        return Err(EngineError::InvalidEnumLabel { label: label.to_string(), detail: "Labels must be 63 bytes or less." });
    }
    Ok(())
}

/// `catalog` with `def` added, or replacing the table of the same id.
fn with_table(catalog: &Catalog, def: TableDef) -> Catalog {
    let id = def.id;
    Catalog::from_tables(catalog.tables().filter(|t| t.id != id).map(|t| t.as_ref().clone()).chain(std::iter::once(def)))
        .with_objects_of(catalog)
}

/// `catalog` without the table `id`.
fn without_table(catalog: &Catalog, id: TableId) -> Catalog {
    Catalog::from_tables(catalog.tables().filter(|t| t.id != id).map(|t| t.as_ref().clone())).with_objects_of(catalog)
}

/// SQLite's CREATE INDEX for an index of `def` (expression keys and a partial index's WHERE
/// translated as CHECK expressions are).
fn index_sql(def: &TableDef, index: &IndexDef) -> Result<String> {
    let columns = index
        .keys()
        .into_iter()
        .map(|(key, desc)| {
            let key = match key {
                IndexKey::Column(i) => quote_ident(&def.columns[i].name),
                IndexKey::Expression(sql) => format!("({})", constraints::check_sql(def, sql, "", TranslateOptions::default())?),
            };
            Ok(format!("{key}{}", if desc { " DESC" } else { "" }))
        })
        .collect::<Result<Vec<String>>>()?;
    let predicate = match &index.predicate {
        Some(predicate) => format!(" WHERE {}", constraints::check_sql(def, predicate, "", TranslateOptions::default())?),
        None => String::new(),
    };
    Ok(format!(
        "CREATE {}INDEX {} ON {} ({}){predicate}",
        if index.is_unique { "UNIQUE " } else { "" },
        quote_ident(&index.name),
        quote_ident(&def.name),
        columns.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement(sql: &str) -> WriteOp {
        WriteOp::Statement(SqliteStatement { sql: sql.into(), params: Vec::new(), returns_rows: false, shape: Default::default(), writes_first: Vec::new() })
    }

    /// A write that queued behind a transaction run on its session's own thread runs when that
    /// transaction ends, with nothing else arriving to wake the writer thread.
    #[tokio::test]
    async fn a_write_queued_behind_a_transaction_run_here_runs_when_it_ends() {
        let dir = tempfile::tempdir().expect("temp dir");
        let catalog: SharedCatalog = Arc::default();
        let writer = OltpWriter::start(dir.path().join("db"), "normal", 64, catalog, BulkLoads::default()).expect("writer");
        writer.run(1, None, statement("CREATE TABLE t (x)")).await.expect("create");
        let done = |run: RunHere| match run {
            RunHere::Done(done) => done,
            RunHere::Busy(_) | RunHere::Flushing(_) => panic!("the writer was busy for its only session, or synced at NORMAL"),
        };
        let ticket = |generation| TxnTicket::new(Arc::new(std::sync::atomic::AtomicU64::new(generation)), generation);
        let (open, other) = (ticket(1), ticket(1));
        done(writer.run_here(1, &open, statement("INSERT INTO t VALUES (1)"), None)).expect("insert in a transaction");
        let queued = writer.submit(2, None, statement("INSERT INTO t VALUES (2)")).expect("queue");
        // Give the writer thread time to take the request and queue it behind the transaction.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(matches!(writer.run_here(2, &other, statement("INSERT INTO t VALUES (3)"), None), RunHere::Busy(_)));
        done(writer.run_here(1, &open, WriteOp::Commit, None)).expect("commit");
        let answer = tokio::time::timeout(std::time::Duration::from_secs(10), queued.answer()).await;
        answer.expect("the queued write was never taken up").expect("insert");
    }

    /// Pruning a long change log is idle work, a chunk at a time: a write that arrives meanwhile
    /// waits for one chunk, not for the whole prune (which held a sidecar's 10-row transactions
    /// up for milliseconds), and the prune still finishes, keeping the newest entry.
    #[tokio::test]
    async fn a_write_waits_for_one_prune_chunk_at_most() {
        const ENTRIES: i64 = 1_000_000;
        let dir = tempfile::tempdir().expect("temp dir");
        let writer = OltpWriter::start(dir.path().join("db"), "normal", 64, Arc::default(), BulkLoads::default()).expect("writer");
        writer.with_connection(|conn| conn.execute_batch(crate::capture::BOOTSTRAP_SQL)).expect("bootstrap");
        writer.run(1, None, statement("CREATE TABLE t (x)")).await.expect("create");
        let fill = format!(
            "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {ENTRIES}) INSERT INTO _rhei_changelog SELECT n, 1, n FROM s"
        );
        writer.with_connection(|conn| conn.execute_batch(&fill)).expect("fill the log");
        let entries = |writer: &OltpWriter| -> i64 {
            writer.with_connection(|conn| conn.query_row("SELECT count(*) FROM _rhei_changelog", [], |r| r.get(0))).expect("count")
        };
        writer.prune_now(ENTRIES as u64);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        writer.run(2, None, statement("INSERT INTO t VALUES (1)")).await.expect("insert");
        let left = entries(&writer);
        assert!(left > ENTRIES / 2, "the write waited while {} entries were pruned", ENTRIES - left);
        let started = Instant::now();
        while entries(&writer) > 1 {
            assert!(started.elapsed() < std::time::Duration::from_secs(60), "the prune never finished");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let newest: i64 = writer.with_connection(|conn| conn.query_row("SELECT seq FROM _rhei_changelog", [], |r| r.get(0))).expect("newest");
        assert_eq!(newest, ENTRIES);
    }

    /// A prune asked for while a transaction run on its session's thread holds the writer is
    /// done once that transaction ends, with nothing else arriving to wake the writer thread.
    #[tokio::test]
    async fn a_prune_waiting_behind_a_transaction_run_here_runs_when_it_ends() {
        let dir = tempfile::tempdir().expect("temp dir");
        let writer = OltpWriter::start(dir.path().join("db"), "normal", 64, Arc::default(), BulkLoads::default()).expect("writer");
        writer.with_connection(|conn| conn.execute_batch(crate::capture::BOOTSTRAP_SQL)).expect("bootstrap");
        writer.run(1, None, statement("CREATE TABLE t (x)")).await.expect("create");
        let fill = "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 10000) INSERT INTO _rhei_changelog SELECT n, 1, n FROM s";
        writer.with_connection(|conn| conn.execute_batch(fill)).expect("fill the log");
        let open = TxnTicket::new(Arc::new(std::sync::atomic::AtomicU64::new(1)), 1);
        let RunHere::Done(first) = writer.run_here(1, &open, statement("INSERT INTO t VALUES (1)"), None) else { panic!("busy") };
        first.expect("insert in a transaction");
        writer.prune_now(10_000);
        // Give the writer thread time to take the prune and go back to sleep behind the transaction.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let RunHere::Done(commit) = writer.run_here(1, &open, WriteOp::Commit, None) else { panic!("busy") };
        commit.expect("commit");
        let started = Instant::now();
        loop {
            let left: i64 = writer.with_connection(|conn| conn.query_row("SELECT count(*) FROM _rhei_changelog", [], |r| r.get(0))).expect("count");
            if left == 1 {
                break;
            }
            assert!(started.elapsed() < std::time::Duration::from_secs(10), "the prune never ran: {left} entries left");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// A statement of a transaction that already ended (its client went away, or gave up on
    /// it) does not open a new one that nobody would end; and once SQLite has rolled a
    /// transaction back by itself, nothing more runs in it as if it were open.
    #[tokio::test]
    async fn stale_and_rolled_back_transactions_take_no_more_statements() {
        let dir = tempfile::tempdir().expect("temp dir");
        let writer = OltpWriter::start(dir.path().join("db"), "normal", 64, Arc::default(), BulkLoads::default()).expect("writer");
        writer.run(1, None, statement("CREATE TABLE t (x)")).await.expect("create");
        let current = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let ended = TxnTicket::new(current.clone(), 1);
        let err = writer.run(1, Some(ended), statement("INSERT INTO t VALUES (1)")).await.expect_err("a dead transaction began");
        assert!(matches!(err, EngineError::NoActiveTransaction), "{err:?}");
        writer.run(2, None, statement("INSERT INTO t VALUES (2)")).await.expect("the writer is free");

        current.store(2, std::sync::atomic::Ordering::Release);
        let open = TxnTicket::new(current, 2);
        let RunHere::Done(first) = writer.run_here(1, &open, statement("INSERT INTO t VALUES (3)"), None) else { panic!("busy") };
        first.expect("insert");
        writer.with_connection(|conn| conn.execute_batch("ROLLBACK")).expect("SQLite's own rollback");
        let RunHere::Done(after) = writer.run_here(1, &open, statement("INSERT INTO t VALUES (4)"), None) else { panic!("busy") };
        assert!(matches!(after, Err(EngineError::InFailedTransaction)), "{after:?}");
        let RunHere::Done(rollback) = writer.run_here(1, &open, WriteOp::Rollback, None) else { panic!("busy") };
        rollback.expect("rollback");
        let count: i64 = writer.with_connection(|conn| conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0))).expect("count");
        assert_eq!(count, 1);
    }
}
