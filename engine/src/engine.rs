//! [`HtapEngine`]: opens a data directory, starts the OLTP writer and readers, loads the OLAP
//! copy and starts sync; hands out [`Session`]s.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use datafusion::sql::sqlparser::ast::{Query, Statement};
use parking_lot::{Mutex, RwLock};
use rhei_config::EngineConfig;

use crate::catalog::Catalog;
use crate::error::{EngineError, Result};
use crate::olap::OlapBackend;
use crate::olap::datafusion::DataFusionOlap;
use crate::oltp::checkpoint::Checkpointer;
use crate::oltp::reader::ReaderPool;
use crate::oltp::writer::{OltpWriter, SharedCatalog};
use crate::oltp::writer::{DdlOp, WriteOp};
use crate::output::Output;
use crate::replica::{PreparedRows, ReplicaBatch, ReplicaTableSpec, SnapshotRows};
use crate::router::Route;
use crate::router::RouteDecision;
use crate::session::{Prepared, ReadPlan, Session, WritePlan};
use crate::translate::TranslateOptions;
use crate::sync::SyncHandle;
use crate::sync::persist::{ParquetStore, PersistContext, Persister};

/// Result types planned for OLTP queries and Describe results, keyed by statement text;
/// valid for one catalog (cleared when DDL swaps it).
pub(crate) struct PlanCache {
    /// Held (not just its address) so a later catalog can never reuse the address.
    catalog: Option<Arc<Catalog>>,
    types: TextMap<Option<Arc<Vec<arrow::datatypes::Field>>>>,
    descriptions: TextMap<crate::describe::Description>,
    pub(crate) writes: Translations<WritePlan>,
    pub(crate) reads: Translations<ReadPlan>,
    /// The automatic route of each query text.
    routes: TextMap<RouteDecision>,
}

impl PlanCache {
    fn for_catalog(&mut self, catalog: Arc<Catalog>) -> &mut Self {
        if !self.catalog.as_ref().is_some_and(|c| Arc::ptr_eq(c, &catalog)) {
            self.catalog = Some(catalog);
            self.types.clear();
            self.descriptions.clear();
            self.writes.clear();
            self.reads.clear();
            self.routes.clear();
        }
        self
    }
}

const PLAN_CACHE_ENTRIES: usize = 4096;

/// A cache keyed by statement text, bounded in entries (emptied when full: statement shapes
/// repeat, so it refills with the live ones) and in key length (see [`CACHED_TEXT_MAX`]).
pub(crate) struct TextMap<V>(HashMap<String, V>);

impl<V> Default for TextMap<V> {
    fn default() -> Self {
        Self(HashMap::new())
    }
}

impl<V> TextMap<V> {
    fn get(&self, sql: &str) -> Option<&V> {
        self.0.get(sql)
    }

    /// Whether `sql` may be kept; empties the map first when it is full.
    fn make_room(&mut self, sql: &str) -> bool {
        if sql.len() > CACHED_TEXT_MAX {
            return false;
        }
        if self.0.len() >= PLAN_CACHE_ENTRIES && !self.0.contains_key(sql) {
            self.0.clear();
        }
        true
    }

    /// The entry for `sql`, or `None` when the text is too long to keep.
    fn entry(&mut self, sql: &str) -> Option<&mut V>
    where
        V: Default,
    {
        self.make_room(sql).then(|| self.0.entry(sql.to_string()).or_default())
    }

    fn insert(&mut self, sql: &str, value: V) {
        if self.make_room(sql) {
            self.0.insert(sql.to_string(), value);
        }
    }

    fn clear(&mut self) {
        self.0.clear();
    }
}

/// Statements translated for SQLite, per text, one per set of translation options seen
/// (usually one).
pub(crate) struct Translations<T>(TextMap<Vec<(TranslateOptions, Arc<T>)>>);

impl<T> Default for Translations<T> {
    fn default() -> Self {
        Self(TextMap::default())
    }
}

impl<T> Translations<T> {
    fn get(&self, sql: &str, opts: TranslateOptions) -> Option<Arc<T>> {
        self.0.get(sql)?.iter().find(|(o, _)| *o == opts).map(|(_, plan)| plan.clone())
    }

    fn insert(&mut self, sql: &str, opts: TranslateOptions, plan: Arc<T>) {
        if let Some(plans) = self.0.entry(sql) {
            plans.push((opts, plan));
        }
    }

    fn clear(&mut self) {
        self.0.clear();
    }
}

/// Statement texts longer than this are parsed and planned every time (a multi-megabyte
/// INSERT would otherwise stay in memory as a cache key).
const CACHED_TEXT_MAX: usize = 64 * 1024;

/// The parse of one statement text (independent of the catalog, so never invalidated).
pub(crate) struct ParsedText {
    /// `None` for a lifted text that does not parse (`varchar($1)`), kept so that it is not
    /// tried again; a client sending that text gets the syntax error from a parse of its own.
    pub(crate) statements: Option<Vec<Prepared>>,
    /// Whether running the text with lifted literals means the same as the original text.
    /// Decided when the text is first met as a lifting, because a client may have sent the
    /// same text with `$n` parameters of its own before (pgbench `-M prepared` then `-M simple`).
    pub(crate) lift_safe: std::sync::OnceLock<bool>,
}

pub(crate) struct EngineInner {
    pub(crate) config: EngineConfig,
    pub(crate) catalog: SharedCatalog,
    pub(crate) writer: OltpWriter,
    pub(crate) readers: ReaderPool,
    pub(crate) olap: Arc<dyn OlapBackend>,
    pub(crate) sync: SyncHandle,
    /// Writes the OLAP copy to Parquet (`olap_storage = "parquet"`).
    pub(crate) persister: Option<crate::sync::persist::Persister>,
    next_session: AtomicU64,
    plans: Mutex<PlanCache>,
    parsed: Mutex<TextMap<Arc<ParsedText>>>,
    /// Set when rhei follows an upstream it does not forward writes to: the upstream, as
    /// shown in the 25006 every write gets.
    pub(crate) replica_of: std::sync::OnceLock<String>,
    /// The sidecar follower's latest report, if one runs.
    pub(crate) upstream: tokio::sync::watch::Sender<Option<crate::replica::UpstreamStatus>>,
    pub(crate) progress: crate::replica::ReplicaProgress,
    /// `pg_advisory_lock` and friends (see [`crate::advisory`]).
    pub(crate) advisory: crate::advisory::AdvisoryLocks,
    /// Who listens to which notification channel (see [`crate::notify`]).
    pub(crate) channels: crate::notify::Channels,
    /// Transaction IDs for `txid_current()` (see [`crate::xact`]).
    pub(crate) xids: crate::xact::XactIds,
    _checkpointer: Checkpointer,
}

impl EngineInner {
    pub(crate) fn catalog(&self) -> Arc<Catalog> {
        self.catalog.read().clone()
    }

    /// The column types DataFusion gives a query's result, so the same query answered by SQLite
    /// has the same types; cached under `key`, the statement text. `None` if DataFusion cannot
    /// plan it (a SQLite-only function).
    /// The result types the OLAP planner gives a query that SQLite will run (SQLite's values
    /// say little about PostgreSQL types); `None` where it cannot plan it.
    ///
    /// # Errors
    /// The planner's verdict on a statement PostgreSQL would refuse for its shape (see
    /// [`EngineError::is_semantic`]): SQLite would run it anyway.
    pub(crate) async fn planned_types(&self, key: &str, statement: impl FnOnce() -> Statement) -> Result<Option<Arc<Vec<arrow::datatypes::Field>>>> {
        let catalog = self.catalog();
        if let Some(types) = self.plans.lock().for_catalog(catalog.clone()).types.get(key) {
            return Ok(types.clone());
        }
        // The OLAP copy must know every committed table first, or a table created a moment ago
        // would plan as missing and its result lose its declared types (cached per text).
        let behind = self.copy_for_planning().await?;
        let mut stmt = statement();
        crate::translate::olap::to_olap(&mut stmt, &catalog, crate::zone::TimeZone::UTC);
        crate::translate::array_comparisons_as_true(&mut stmt);
        let planned = match self.olap.plan_schema(stmt, Vec::new()).await {
            Ok(planned) => Some(Arc::new(planned.schema.fields().iter().map(|f| f.as_ref().clone()).collect::<Vec<_>>())),
            // On a copy behind, a missing table or column may be one it has not been given.
            Err(e) if e.is_semantic() => return Err(behind.unwrap_or(e)),
            Err(_) => None,
        };
        // Types planned on a copy behind may be of tables as they were: not kept.
        if behind.is_none() {
            self.plans.lock().for_catalog(catalog).types.insert(key, planned.clone());
        }
        Ok(planned)
    }

    /// Waits until the OLAP copy has every committed change, so a statement's types can be
    /// planned on it. A copy whose sync fails (a value it cannot hold, upstream) is still
    /// planned on: its tables are there, and a read SQLite answers should not fail with it.
    /// Returns the copy's failure then, for the caller to give if planning fails too.
    ///
    /// # Errors
    /// The sync stopped.
    pub(crate) async fn copy_for_planning(&self) -> Result<Option<EngineError>> {
        let target = *self.writer.committed().borrow();
        match self.sync.wait_for(target).await {
            Ok(()) => Ok(None),
            Err(e @ EngineError::OlapCopyBehind { .. }) => Ok(Some(e)),
            Err(e) => Err(e),
        }
    }

    /// A table `query` reads that the OLAP copy holds back, with why (see `sync::HeldBack`).
    pub(crate) fn held_back_table(&self, query: &Query) -> Option<(String, String)> {
        let held_back = &self.sync.held_back;
        if held_back.is_empty() {
            return None;
        }
        let catalog = self.catalog();
        let ctes: Vec<String> = query
            .with
            .iter()
            .flat_map(|w| w.cte_tables.iter().map(|c| crate::catalog::normalize_ident(&c.alias.name)))
            .collect();
        let mut found = None;
        let _ = datafusion::sql::sqlparser::ast::visit_relations(query, |name| {
            if let Some(def) = crate::catalog::table_name(name).ok().filter(|t| !ctes.contains(t)).and_then(|t| catalog.get(&t))
                && let Some(reason) = held_back.reason(def.id)
            {
                found = Some((def.name.clone(), reason));
                return std::ops::ControlFlow::Break(());
            }
            std::ops::ControlFlow::Continue(())
        });
        found
    }

    /// The automatic route of a query (no hint, override or transaction), cached per text.
    pub(crate) fn auto_route(&self, key: &str, query: &Query) -> RouteDecision {
        let catalog = self.catalog();
        if let Some(decision) = self.plans.lock().for_catalog(catalog.clone()).routes.get(key) {
            return decision.clone();
        }
        let decision = crate::router::route_query(query, &catalog);
        self.plans.lock().for_catalog(catalog).routes.insert(key, decision.clone());
        decision
    }

    /// A translation cached under the current catalog, from the cache `pick` chooses.
    pub(crate) fn cached_translation<T>(
        &self,
        pick: fn(&mut PlanCache) -> &mut Translations<T>,
        sql: &str,
        opts: TranslateOptions,
    ) -> Option<Arc<T>> {
        let catalog = self.catalog();
        let mut plans = self.plans.lock();
        pick(plans.for_catalog(catalog)).get(sql, opts)
    }

    /// Caches a translation under the catalog it was made with.
    pub(crate) fn cache_translation<T>(
        &self,
        pick: fn(&mut PlanCache) -> &mut Translations<T>,
        sql: &str,
        opts: TranslateOptions,
        catalog: Arc<Catalog>,
        plan: Arc<T>,
    ) {
        let mut plans = self.plans.lock();
        pick(plans.for_catalog(catalog)).insert(sql, opts, plan);
    }

    pub(crate) fn sync_status(&self) -> SyncStatus {
        let committed_seq = *self.writer.committed().borrow();
        let progress = self.sync.progress();
        let persisted = self.persister.as_ref().map(crate::sync::persist::Persister::progress);
        let applied_seq = self.olap.published_seq();
        SyncStatus {
            committed_seq,
            applied_seq,
            lag_events: committed_seq.saturating_sub(applied_seq),
            events_applied: progress.events_applied,
            bulk_loads: progress.bulk_loads,
            tables_from_files: progress.tables_from_files,
            persisted_seq: persisted.as_ref().map(|p| p.seq),
            last_error: progress.last_error.or_else(|| persisted.and_then(|p| p.last_error)),
            tables: self
                .olap
                .table_stats()
                .into_iter()
                .map(|t| TableSyncStatus { held_back: self.sync.held_back.reason(t.id), table: t.name, rows: t.rows, applied_seq })
                .collect(),
        }
    }

    /// The cached parse of a statement text.
    pub(crate) fn parsed(&self, sql: &str) -> Option<Arc<ParsedText>> {
        self.parsed.lock().get(sql).cloned()
    }

    /// Caches the parse of a statement text and returns it.
    pub(crate) fn remember_parse(&self, sql: &str, statements: Option<Vec<Prepared>>) -> Arc<ParsedText> {
        let parsed = Arc::new(ParsedText { statements, lift_safe: std::sync::OnceLock::new() });
        self.parsed.lock().insert(sql, parsed.clone());
        parsed
    }

    /// A cached Describe result for this statement text under the current catalog.
    pub(crate) fn cached_description(&self, sql: &str) -> Option<crate::describe::Description> {
        let catalog = self.catalog();
        self.plans.lock().for_catalog(catalog).descriptions.get(sql).cloned()
    }

    /// Caches a Describe result under the catalog it was computed with (DDL that ran
    /// meanwhile makes it stale, so it must not be stored under the newer catalog).
    pub(crate) fn cache_description(&self, sql: &str, catalog: Arc<Catalog>, description: &crate::describe::Description) {
        if !Arc::ptr_eq(&catalog, &self.catalog()) {
            return;
        }
        self.plans.lock().for_catalog(catalog).descriptions.insert(sql, description.clone());
    }
}

/// Sync state of one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSyncStatus {
    pub table: String,
    /// Rows in the OLAP copy.
    pub rows: u64,
    /// The commit sequence the OLAP copy of this table reflects.
    pub applied_seq: u64,
    /// Why the OLAP copy holds this table back (it is empty there and read on SQLite), if it does.
    pub held_back: Option<String>,
}

/// Sync state of the engine.
#[derive(Debug, Clone)]
pub struct SyncStatus {
    /// Highest committed change sequence in SQLite.
    pub committed_seq: u64,
    /// Highest sequence applied to (and published in) the OLAP copy.
    pub applied_seq: u64,
    /// Change-log events committed but not yet applied.
    pub lag_events: u64,
    /// Events applied since start.
    pub events_applied: u64,
    /// Tables the OLAP copy took straight from a COPY into an empty table (its rows already
    /// converted to Arrow), since start, instead of reading them back from SQLite.
    pub bulk_loads: u64,
    /// Tables loaded from their Parquet files at start instead of from SQLite.
    pub tables_from_files: u64,
    /// With `olap_storage = "parquet"`: the sequence the files on disk reflect.
    pub persisted_seq: Option<u64>,
    pub last_error: Option<String>,
    pub tables: Vec<TableSyncStatus>,
}

/// The HTAP engine: SQLite for writes and point reads, an OLAP copy kept in step by change
/// capture for analytics. Cheap to clone; all clones share one engine.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use rhei_engine::{HtapEngine, EngineConfig};
/// let dir = tempfile::tempdir().unwrap();
/// let engine = HtapEngine::open(EngineConfig::with_data_dir(dir.path())).await.unwrap();
/// engine.execute_batch("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a'), (2, 'b');").await.unwrap();
/// let batches = engine.query("SELECT count(*) FROM t").await.unwrap();
/// assert_eq!(arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string().lines().nth(3).unwrap(), "| 2     |");
/// # engine.close().await;
/// # });
/// ```
#[derive(Clone)]
pub struct HtapEngine {
    pub(crate) inner: Arc<EngineInner>,
}

impl HtapEngine {
    /// Opens (or creates) the data directory and brings the OLAP copy level with SQLite.
    ///
    /// # Errors
    /// The directory or file cannot be created or opened, or the initial load fails.
    pub async fn open(config: EngineConfig) -> Result<Self> {
        tokio::task::spawn_blocking(move || Self::open_blocking(config))
            .await
            .map_err(|e| EngineError::Internal(format!("engine start-up panicked: {e}")))?
    }

    fn open_blocking(config: EngineConfig) -> Result<Self> {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| EngineError::DataDirectory {
            path: config.data_dir.display().to_string(),
            reason: e.to_string(),
        })?;
        let path = config.data_dir.join("oltp.db");
        let catalog: SharedCatalog = Arc::new(RwLock::new(Arc::new(Catalog::default())));
        let bulk = crate::sync::bulk::BulkLoads::default();
        let writer =
            OltpWriter::start(path.clone(), config.synchronous.pragma_value(), config.group_commit_max, catalog.clone(), bulk.clone())?;
        let checkpointer = Checkpointer::start(path.clone(), config.synchronous.pragma_value())?;
        let readers = ReaderPool::start(path.clone(), config.readers, catalog.clone())?;
        let olap: Arc<dyn OlapBackend> = Arc::new(DataFusionOlap::new(config.olap_threads, config.olap_priority)?);
        let mut storage = match config.olap_storage {
            rhei_config::OlapStorage::Parquet => Some(ParquetStore::open(&config.data_dir)?),
            rhei_config::OlapStorage::Memory => {
                ParquetStore::remove(&config.data_dir)?;
                None
            }
        };
        let sync = SyncHandle::start(
            path,
            olap.clone(),
            writer.clone(),
            config.sync_interval,
            config.sync_nudge_gap,
            config.sync_batch_events,
            bulk,
            storage.as_mut(),
        )?;
        let persister = match (storage, &sync.durable) {
            (Some(storage), Some(durable)) => {
                let context = PersistContext {
                    olap: olap.clone(),
                    writer: writer.clone(),
                    step_lock: sync.step_lock.clone(),
                    durable: durable.clone(),
                    held_back: sync.held_back.clone(),
                };
                Some(Persister::start(storage, context, config.olap_persist_interval, config.olap_priority)?)
            }
            _ => None,
        };
        let inner = EngineInner {
            config,
            catalog,
            writer,
            readers,
            olap,
            sync,
            persister,
            next_session: AtomicU64::new(1),
            plans: Mutex::new(PlanCache {
                catalog: None,
                types: TextMap::default(),
                descriptions: TextMap::default(),
                writes: Translations::default(),
                reads: Translations::default(),
                routes: TextMap::default(),
            }),
            parsed: Mutex::new(TextMap::default()),
            replica_of: std::sync::OnceLock::new(),
            upstream: tokio::sync::watch::Sender::new(None),
            progress: crate::replica::ReplicaProgress::default(),
            advisory: crate::advisory::AdvisoryLocks::default(),
            channels: crate::notify::Channels::default(),
            xids: crate::xact::XactIds::new(),
            _checkpointer: checkpointer,
        };
        Ok(Self { inner: Arc::new(inner) })
    }

    /// A new session (its own transaction state and settings).
    pub fn session(&self) -> Session {
        Session::new(self.inner.clone(), self.inner.next_session.fetch_add(1, Ordering::Relaxed))
    }

    /// The current catalog.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.inner.catalog()
    }

    /// Runs one statement in a fresh session; returns rows affected (or rows returned).
    ///
    /// # Errors
    /// The statement's error.
    pub async fn execute(&self, sql: &str) -> Result<u64> {
        let mut session = self.session();
        let results = session.execute(sql).await?;
        Ok(results.last().and_then(|(tag, _)| tag.as_ref()).and_then(|t| t.rows).unwrap_or(0))
    }

    /// Runs every statement of `sql` in one session, in order; stops at the first error.
    ///
    /// # Errors
    /// The first failing statement's error.
    pub async fn execute_batch(&self, sql: &str) -> Result<()> {
        self.session().execute(sql).await.map(|_| ())
    }

    /// Runs a query routed automatically and reads its result.
    ///
    /// # Errors
    /// The query's error.
    pub async fn query(&self, sql: &str) -> Result<Vec<RecordBatch>> {
        self.query_stream(sql, None).await?.collect().await
    }

    /// Runs a query on the given engine and reads its result.
    ///
    /// # Errors
    /// The query's error.
    pub async fn query_with_route(&self, sql: &str, route: Route) -> Result<Vec<RecordBatch>> {
        self.query_stream(sql, Some(route)).await?.collect().await
    }

    /// Starts a query and returns its rows as a stream of Arrow batches.
    ///
    /// # Errors
    /// The query's error (errors while streaming come through the stream).
    pub async fn query_stream(&self, sql: &str, route: Option<Route>) -> Result<crate::RowStream> {
        let mut session = self.session();
        if let Some(route) = route {
            session.set("rhei.route", &route.to_string())?;
        }
        // Lifted like a simple-protocol query, so queries differing only in their literals share
        // one parse, translation and planned result type.
        let mut prepared = session.parse_simple(sql)?;
        if prepared.len() != 1 {
            return Err(EngineError::syntax("expected exactly one query"));
        }
        match session.execute_prepared(&prepared.remove(0), &[]).await? {
            Output::Rows(rows) => Ok(rows),
            _ => Err(EngineError::syntax("not a query")),
        }
    }

    /// Brings the OLAP copy up to everything committed so far; returns the applied sequence.
    ///
    /// # Errors
    /// [`EngineError::ShuttingDown`].
    pub async fn sync_now(&self) -> Result<u64> {
        let target = *self.inner.writer.committed().borrow();
        self.inner.sync.wait_for(target).await?;
        Ok(self.inner.sync.applied())
    }

    /// Sync progress and per-table row counts.
    pub fn sync_status(&self) -> SyncStatus {
        self.inner.sync_status()
    }

    /// The engine's configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// Makes this engine a read-only replica of `upstream` (shown in errors): from now on every
    /// session refuses writes and DDL with 25006. Replica apply is not affected.
    pub fn set_replica_of(&self, upstream: &str) {
        let _ = self.inner.replica_of.set(upstream.to_string());
    }

    /// Records the sidecar follower's state (shown by the `rhei_replication` view).
    pub fn report_upstream(&self, status: crate::replica::UpstreamStatus) {
        self.inner.upstream.send_replace(Some(status));
    }

    /// The sidecar follower's last report.
    pub fn upstream_status(&self) -> Option<crate::replica::UpstreamStatus> {
        self.inner.upstream.borrow().clone()
    }

    /// How far the sidecar follower has applied its upstream (read-your-writes for forwarded
    /// writes).
    pub fn replica_progress(&self) -> &crate::replica::ReplicaProgress {
        &self.inner.progress
    }

    /// Every report of the sidecar follower as it is made (to wait for one without polling).
    pub fn watch_upstream(&self) -> tokio::sync::watch::Receiver<Option<crate::replica::UpstreamStatus>> {
        self.inner.upstream.subscribe()
    }

    async fn replica_op(&self, op: WriteOp) -> Result<u64> {
        let session = self.inner.next_session.fetch_add(1, Ordering::Relaxed);
        let done = self.inner.writer.run(session, None, op).await?;
        self.inner.sync.request();
        Ok(done.rows_affected)
    }

    /// Creates a replica table (without capture or its current-version index until its snapshot is done).
    ///
    /// # Errors
    /// The table exists, or its definition is invalid.
    pub async fn create_replica_table(&self, spec: ReplicaTableSpec) -> Result<()> {
        self.replica_op(WriteOp::Ddl(DdlOp::CreateReplica(spec))).await.map(|_| ())
    }

    /// Drops replica tables and forgets the source's position, before a fresh snapshot.
    ///
    /// # Errors
    /// SQLite errors.
    pub async fn reset_replica(&self, source: &str, tables: Vec<String>) -> Result<()> {
        self.replica_op(WriteOp::Ddl(DdlOp::ResetReplica { source: source.to_string(), tables })).await.map(|_| ())
    }

    /// Reshapes a replica table to new user columns (added upstream columns appended; columns the
    /// upstream dropped kept for history when `dropped` names them), keeping its rows and its
    /// change capture; `fill` sets added columns of current rows (column, PostgreSQL text).
    ///
    /// # Errors
    /// Unknown table, a key column missing from the new shape.
    pub async fn reshape_replica_table(
        &self,
        name: &str,
        columns: Vec<crate::catalog::ColumnDef>,
        dropped: Vec<String>,
        fill: Vec<(String, String)>,
    ) -> Result<()> {
        let op = WriteOp::Ddl(DdlOp::ReshapeReplica { name: name.to_string(), columns, dropped, fill });
        self.replica_op(op).await.map(|_| ())
    }

    /// Loads snapshot rows into a replica table created by [`Self::create_replica_table`].
    ///
    /// # Errors
    /// Values that do not convert to their column's type; nothing of the batch is loaded then.
    pub async fn load_replica_rows(&self, rows: SnapshotRows) -> Result<u64> {
        let catalog = self.inner.catalog();
        // Converting is most of a load's work: it runs on a blocking thread, not the writer.
        let prepared = tokio::task::spawn_blocking(move || crate::replica::prepare(&catalog, rows))
            .await
            .map_err(|e| EngineError::Internal(format!("snapshot conversion panicked: {e}")))??;
        self.load_prepared_rows(prepared).await
    }

    /// Converts a replica table's snapshot as the upstream's `COPY ... TO STDOUT` (text
    /// format, `TimeZone=UTC`) sends it: pieces come from `input` split anywhere, and rows ready
    /// for [`Self::load_prepared_rows`] go to `out` a few tens of thousands at a time (false:
    /// stop). Runs on the calling thread, which should be a blocking one; returns the rows
    /// converted.
    ///
    /// # Errors
    /// Malformed COPY text and values that do not convert to their column's type.
    pub fn convert_replica_copy(
        &self,
        table: &str,
        valid_from: i64,
        input: &mut dyn FnMut() -> Option<bytes::Bytes>,
        out: &mut dyn FnMut(PreparedRows) -> bool,
    ) -> Result<u64> {
        crate::replica::convert_copy(&self.inner.catalog(), table, valid_from, input, out)
    }

    /// Inserts rows made by [`Self::convert_replica_copy`], all or none.
    ///
    /// # Errors
    /// SQLite errors.
    pub async fn load_prepared_rows(&self, rows: PreparedRows) -> Result<u64> {
        self.replica_op(WriteOp::ReplicaLoad(rows)).await
    }

    /// Ends a snapshot: its tables are captured from now on, reloaded whole into the OLAP copy,
    /// and `position` is recorded for `source`, in one commit.
    ///
    /// # Errors
    /// SQLite errors.
    pub async fn finish_replica_snapshot(&self, source: &str, tables: Vec<String>, position: &str) -> Result<()> {
        let op = WriteOp::ReplicaSnapshotDone { source: source.to_string(), tables, position: position.to_string() };
        self.replica_op(op).await.map(|_| ())
    }

    /// Applies upstream transactions with the position they lead to, atomically; returns the
    /// rows changed. Acknowledged once durable at the configured `synchronous` level.
    ///
    /// # Errors
    /// A change that does not fit its table; nothing of the batch is applied then.
    pub async fn apply_replica(&self, batch: ReplicaBatch) -> Result<u64> {
        let session = self.inner.next_session.fetch_add(1, Ordering::Relaxed);
        let done = self.inner.writer.run(session, None, WriteOp::Replicate(batch)).await?;
        // As a session's commit does: a sync step within the nudge gap, shared by the
        // transactions applied meanwhile (a step per small upstream transaction took CPU the
        // follower needed); a strong read asks for its catch-up itself.
        self.inner.sync.nudge();
        Ok(done.rows_affected)
    }

    /// The position stored for `source` by the last applied batch or snapshot.
    ///
    /// # Errors
    /// SQLite errors.
    pub async fn replica_position(&self, source: &str) -> Result<Option<String>> {
        let stmt = crate::oltp::SqliteStatement {
            sql: "SELECT position FROM _rhei_replica_position WHERE source = ?1".into(),
            params: vec![rusqlite::types::Value::Text(source.to_string())],
            returns_rows: true,
            shape: crate::oltp::ResultShape { names: vec![Some("position".into())], types: vec![Some(DataType::Utf8)], declared: Vec::new() },
            writes_first: Vec::new(),
        };
        let mut rows = self.inner.readers.query(stmt).await?;
        let mut next = rows.first.take().map(Ok);
        loop {
            let batch = match next.take() {
                Some(batch) => batch?,
                None => match rows.batches.recv().await {
                    Some(batch) => batch?,
                    None => return Ok(None),
                },
            };
            if batch.num_rows() > 0 {
                return Ok(crate::copy::pg_text(batch.column(0), 0));
            }
        }
    }

    /// Stops background sync and, with `olap_storage = "parquet"`, returns once the last write
    /// of the OLAP copy's files has finished and their directory is unlocked (`olap/` is then
    /// complete; SQLite's threads still hold `oltp.db` until the last handle is dropped).
    /// Dropping the future early does not cancel the stop, only the wait for it.
    pub async fn close(&self) {
        self.inner.sync.stop();
        if let Some(persister) = &self.inner.persister {
            persister.stop().await;
        }
    }

    /// Copies the whole SQLite WAL into the database file now and empties it, which the
    /// checkpointer otherwise does in the background over the next moments (after a large
    /// load, for many seconds, beside whatever runs then). For benchmarks that measure a
    /// settled engine, and for copying the data directory.
    ///
    /// # Errors
    /// The database cannot be opened, or SQLite fails the checkpoint.
    pub async fn checkpoint(&self) -> Result<()> {
        let path = self.inner.config.data_dir.join("oltp.db");
        let synchronous = self.inner.config.synchronous.pragma_value();
        tokio::task::spawn_blocking(move || {
            let conn = crate::oltp::open_connection(&path, false, synchronous)?;
            // A reader in the middle of its snapshot (sync's step) makes it give up ("busy"):
            // again until it gets through.
            for _ in 0..500 {
                let busy = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get::<_, i64>(0)).map_err(crate::oltp::classify)?;
                if busy == 0 {
                    return Ok(());
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(EngineError::Internal("the WAL stayed in use for 5 s".into()))
        })
        .await
        .map_err(|e| EngineError::Internal(format!("the checkpoint task failed: {e}")))?
    }

    /// With `olap_storage = "parquet"`: brings the OLAP copy level with every commit so far and
    /// writes what changed to its Parquet files now, rather than at the next interval. Returns
    /// the change-log sequence the files reflect.
    ///
    /// # Errors
    /// [`EngineError::FeatureNotSupported`] without durable storage; writing failed
    /// ([`EngineError::OlapStorage`], 58030); the engine is shutting down.
    pub async fn persist_olap(&self) -> Result<u64> {
        let Some(persister) = &self.inner.persister else {
            return Err(EngineError::FeatureNotSupported { what: "persisting the OLAP copy without olap_storage = \"parquet\"".into() });
        };
        let committed = *self.inner.writer.committed().borrow();
        self.inner.sync.wait_for(committed).await?;
        persister.persist_now().await
    }
}

#[cfg(test)]
mod tests {
    use rhei_config::{OlapPriority, OlapStorage};

    use super::*;

    /// An engine on a fresh data directory (kept alive by the returned guard) after `setup`.
    async fn engine_with(setup: &str) -> (tempfile::TempDir, HtapEngine) {
        let dir = tempfile::tempdir().expect("temp dir");
        let engine = HtapEngine::open(EngineConfig::with_data_dir(dir.path())).await.expect("open");
        engine.execute_batch(setup).await.expect("setup");
        (dir, engine)
    }

    /// The int8 in the first column of the first result's first row (a `count(*)`).
    fn first_int8(results: &[(Option<crate::CommandTag>, Vec<RecordBatch>)]) -> i64 {
        results[0].1[0].column(0).as_any().downcast_ref::<arrow::array::Int64Array>().expect("int8").value(0)
    }

    fn change_log_entries(engine: &HtapEngine) -> i64 {
        engine.inner.writer.with_connection(|conn| conn.query_row("SELECT count(*) FROM _rhei_changelog", [], |r| r.get(0))).expect("count")
    }

    /// Waits (up to 10 s) until the change log holds only its last entry, which pruning keeps.
    async fn wait_until_pruned(engine: &HtapEngine, failure: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while change_log_entries(engine) > 1 {
            assert!(std::time::Instant::now() < deadline, "{failure}");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// A checkpoint leaves the WAL empty, and the data where it was.
    #[tokio::test]
    async fn checkpoint_empties_the_wal() {
        let (dir, engine) = engine_with("CREATE TABLE t (id int PRIMARY KEY, v text)").await;
        engine.execute("INSERT INTO t SELECT g, 'value ' || g FROM generate_series(1, 20000) g").await.expect("load");
        let wal = dir.path().join("oltp.db-wal");
        assert!(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) > 0, "the load went through the WAL");
        // Sync's prune of the loaded change log may write after a checkpoint (CI saw 24 KB
        // there once): checkpoint again until one is not followed by such a write.
        let mut left = u64::MAX;
        for _ in 0..50 {
            engine.checkpoint().await.expect("checkpoint");
            left = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
            if left == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(left, 0);
        let count = engine.session().execute("SELECT count(*) FROM t").await.expect("count");
        assert_eq!(first_int8(&count), 20000);
        engine.close().await;
    }

    /// LISTEN and NOTIFY between two sessions of one engine: a notification reaches the
    /// listener's mailbox when the notifying statement (or its block) commits.
    #[tokio::test]
    async fn a_notification_reaches_the_sessions_listening_when_it_commits() {
        let (_dir, engine) = engine_with("CREATE TABLE t (id int PRIMARY KEY)").await;
        let mut listener = engine.session();
        listener.execute("LISTEN jobs").await.expect("listen");
        assert_eq!(listener.listening_channels(), ["jobs"]);
        let mut notifier = engine.session();
        notifier.set_backend_pid(4242);
        notifier.execute("NOTIFY jobs, 'now'; BEGIN; NOTIFY other; SELECT pg_notify('jobs', 'later')").await.expect("notify");
        let payloads = |m: &crate::notify::Mailbox| m.take().into_iter().map(|n| (n.payload, n.sender_pid)).collect::<Vec<_>>();
        assert_eq!(payloads(&listener.mailbox()), [("now".to_string(), 4242)]);
        notifier.execute("COMMIT").await.expect("commit");
        assert_eq!(payloads(&listener.mailbox()), [("later".to_string(), 4242)]);
        drop(listener);
        assert!(engine.inner.channels.is_empty(), "a session that ended still listens");
        engine.close().await;
    }

    /// A cache miss plans the query on DataFusion to learn its result types; the Rust API must
    /// lift literals as the wire does, or every point read with a new key pays for that.
    #[tokio::test]
    async fn api_queries_differing_only_in_literals_share_one_plan() {
        let (_dir, engine) = engine_with("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a'), (2, 'b')").await;
        for id in 1..=2 {
            let batches = engine.query(&format!("SELECT v FROM t WHERE id = {id}")).await.expect("query");
            assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 1);
        }
        let catalog = engine.catalog();
        let mut plans = engine.inner.plans.lock();
        let plans = plans.for_catalog(catalog);
        assert!(plans.types.get("SELECT v FROM t WHERE id = $1").is_some(), "the lifted query was not planned");
        assert!(plans.types.get("SELECT v FROM t WHERE id = 1").is_none(), "a literal query was planned on its own");
        engine.close().await;
    }

    /// A session on a thread of its own runs key lookups there, on a connection of the lookup
    /// set; other sessions, and other reads, go to the reader threads; with every lookup
    /// connection lent out, a lookup queues for a reader thread instead of failing.
    #[tokio::test]
    async fn key_lookups_run_on_the_thread_of_a_session_that_has_one() {
        let (_dir, engine) = engine_with("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a'), (2, 'b')").await;
        let rows = |results: Vec<(Option<crate::CommandTag>, Vec<RecordBatch>)>| {
            results.iter().flat_map(|(_, batches)| batches.iter().map(RecordBatch::num_rows)).sum::<usize>()
        };
        let mut shared = engine.session();
        assert_eq!(rows(shared.execute("SELECT v FROM t WHERE id = 1").await.expect("lookup")), 1);
        assert_eq!(engine.inner.readers.lookup_connections(), 0, "a session without a thread of its own ran a lookup inline");

        let mut own = engine.session();
        own.set_own_thread(true);
        assert_eq!(rows(own.execute("SELECT v FROM t WHERE id = 2").await.expect("lookup")), 1);
        assert_eq!(rows(own.execute("SELECT v FROM t WHERE id = 3").await.expect("lookup")), 0);
        assert_eq!(engine.inner.readers.lookup_connections(), 1, "the lookups did not run inline, or did not reuse their connection");
        assert_eq!(rows(own.execute("SELECT v FROM t LIMIT 5").await.expect("small read")), 2);

        let lent = engine.inner.readers.exhaust_lookups();
        assert_eq!(rows(own.execute("SELECT v FROM t WHERE id = 1").await.expect("lookup while all are lent")), 1);
        drop(lent);
        engine.close().await;
    }

    /// BEGIN takes nothing: another session's write commits while a transaction has run no
    /// statement yet, and the transaction's first statement sees it (as in PostgreSQL, whose
    /// snapshot is taken then).
    #[tokio::test]
    async fn a_transaction_takes_the_writer_at_its_first_statement() {
        let (_dir, engine) = engine_with("CREATE TABLE t (id int PRIMARY KEY)").await;
        let mut open = engine.session();
        open.execute("BEGIN").await.expect("begin");
        let other = tokio::time::timeout(std::time::Duration::from_secs(10), engine.execute("INSERT INTO t VALUES (1)")).await;
        other.expect("a write waited for a transaction that had run nothing").expect("insert");
        let seen = open.execute("SELECT count(*) FROM t").await.expect("count");
        let count = first_int8(&seen);
        assert_eq!(count, 1);
        open.execute("INSERT INTO t VALUES (2)").await.expect("insert in the transaction");
        // A transaction that ran nothing on the writer ends without waiting for the one that
        // holds it.
        let mut empty = engine.session();
        let ended = tokio::time::timeout(std::time::Duration::from_secs(10), empty.execute("BEGIN; SET application_name = 'x'; COMMIT")).await;
        ended.expect("an empty transaction waited for the writer").expect("empty transaction");
        open.execute("COMMIT").await.expect("commit");
        engine.close().await;
    }

    /// A session with a thread of its own runs its transaction's statements there; writes
    /// queued behind that transaction run once it ends, and a transaction that finds the
    /// writer held queues behind the holder.
    #[tokio::test]
    async fn transactions_on_a_sessions_own_thread_and_on_the_writer_thread_take_turns() {
        let (_dir, engine) = engine_with("CREATE TABLE t (id int PRIMARY KEY)").await;
        let limit = std::time::Duration::from_secs(10);
        let mut own = engine.session();
        own.set_own_thread(true);
        own.execute("BEGIN; INSERT INTO t VALUES (1)").await.expect("own-thread transaction");
        let queued_engine = engine.clone();
        let queued = tokio::spawn(async move { queued_engine.execute("INSERT INTO t VALUES (2)").await });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!queued.is_finished(), "a write ran inside another session's transaction");
        own.execute("COMMIT").await.expect("commit");
        tokio::time::timeout(limit, queued).await.expect("the queued write was never taken up").expect("task").expect("insert");

        let mut channel = engine.session();
        channel.execute("BEGIN; INSERT INTO t VALUES (3)").await.expect("writer-thread transaction");
        let mut own_engine_session = engine.session();
        own_engine_session.set_own_thread(true);
        let behind = tokio::spawn(async move {
            own_engine_session.execute("BEGIN; INSERT INTO t VALUES (4); COMMIT").await.map(|_| ())
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!behind.is_finished(), "a transaction ran inside another one");
        channel.execute("COMMIT").await.expect("commit");
        tokio::time::timeout(limit, behind).await.expect("the waiting transaction never ran").expect("task").expect("transaction");
        let rows = engine.session().execute("SELECT count(*) FROM t").await.expect("count");
        let count = first_int8(&rows);
        assert_eq!(count, 4);
        engine.close().await;
    }

    /// A lone autocommit write of a session with a thread of its own runs on that thread (no
    /// hand-off to the writer thread and back) with everything the writer thread would do: it
    /// is captured for the OLAP copy, a failing one leaves nothing, statement_timeout stops it.
    #[tokio::test]
    async fn lone_autocommit_writes_run_on_the_sessions_own_thread() {
        let (_dir, engine) = engine_with("CREATE TABLE t (id int PRIMARY KEY, v text)").await;
        let ran_here = || engine.inner.writer.ran_alone_here.load(std::sync::atomic::Ordering::Relaxed);
        let mut own = engine.session();
        own.set_own_thread(true);
        let before = ran_here();
        own.execute("INSERT INTO t VALUES (1, 'a'), (2, 'b')").await.expect("insert");
        own.execute("UPDATE t SET v = 'c' WHERE id = 2 RETURNING v").await.expect("update");
        assert_eq!(ran_here(), before + 2, "the writes went to the writer thread");
        let err = own.execute("INSERT INTO t VALUES (3, 'x'), (1, 'dup')").await.expect_err("duplicate key");
        assert_eq!(err.sqlstate(), "23505");
        own.execute("SET statement_timeout = 100").await.expect("set");
        let long = "INSERT INTO t SELECT i + 10, 'x' FROM generate_series(1, 100000000) AS s(i)";
        let err = own.execute(long).await.expect_err("a write ran past statement_timeout");
        assert_eq!(err.sqlstate(), "57014");
        let olap = engine.session().execute("/*+ olap */ SELECT count(*), string_agg(v, ',' ORDER BY id) FROM t").await.expect("olap");
        let batch = &olap[0].1[0];
        let count = batch.column(0).as_any().downcast_ref::<arrow::array::Int64Array>().expect("int8").value(0);
        let values = arrow::array::as_string_array(batch.column(1)).value(0).to_string();
        assert_eq!((count, values.as_str()), (2, "a,c"));
        engine.close().await;
    }

    /// Applied change-log entries are pruned once enough have gathered, not after every sync
    /// step (each prune is a commit of its own on the writer).
    #[tokio::test]
    async fn the_change_log_is_pruned_in_batches() {
        let (_dir, engine) = engine_with("CREATE TABLE t (id int PRIMARY KEY)").await;
        let olap_count = "/*+ olap */ SELECT count(*) FROM t";
        for id in 0..10 {
            engine.execute(&format!("INSERT INTO t VALUES ({id})")).await.expect("insert");
            engine.session().execute(olap_count).await.expect("sync");
        }
        assert!(change_log_entries(&engine) >= 10, "a few applied entries were pruned one sync step at a time");
        engine.execute("INSERT INTO t SELECT i + 10 FROM generate_series(1, 5000) AS s(i)").await.expect("insert");
        engine.session().execute(olap_count).await.expect("sync");
        wait_until_pruned(&engine, "5,010 applied entries were never pruned").await;
        engine.close().await;
    }

    /// The writes run again after an interrupted one run without their deadline: grouped
    /// writes with the same statement_timeout reach it in the order they were sent, so an
    /// earlier one's has passed when the later one is interrupted at its own.
    #[tokio::test]
    async fn grouped_writes_run_again_without_their_passed_deadline() {
        let (_dir, engine) = engine_with("CREATE TABLE t (id int PRIMARY KEY)").await;
        let mut holder = engine.session();
        holder.execute("BEGIN; INSERT INTO t VALUES (0)").await.expect("transaction");
        let write = |sql: &'static str| {
            let engine = engine.clone();
            tokio::spawn(async move {
                let mut session = engine.session();
                session.execute("SET statement_timeout = 400").await?;
                session.execute(sql).await
            })
        };
        // Long enough for SQLite's progress handler to look at the deadline while it runs.
        let earlier = write("INSERT INTO t SELECT i FROM generate_series(1, 3000) AS s(i)");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let slow = write("INSERT INTO t SELECT i + 10000 FROM generate_series(1, 100000000) AS s(i)");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        holder.execute("COMMIT").await.expect("commit");
        let limit = std::time::Duration::from_secs(30);
        let slow = tokio::time::timeout(limit, slow).await.expect("slow write").expect("task");
        assert_eq!(slow.expect_err("the slow write ran past its timeout").sqlstate(), "57014");
        tokio::time::timeout(limit, earlier).await.expect("earlier write").expect("task").expect("the earlier write failed when run again");
        let rows = engine.session().execute("SELECT count(*) FROM t").await.expect("count");
        let count = first_int8(&rows);
        assert_eq!(count, 3001);
        engine.close().await;
    }

    /// Reopening rebuilds the OLAP copy from SQLite, which reflects the whole change log: the
    /// log is pruned then, however few entries it holds.
    #[tokio::test]
    async fn reopening_prunes_the_change_log() {
        let dir = tempfile::tempdir().expect("temp dir");
        let engine = HtapEngine::open(EngineConfig::with_data_dir(dir.path())).await.expect("open");
        engine.execute_batch("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)").await.expect("setup");
        engine.close().await;
        let engine = HtapEngine::open(EngineConfig::with_data_dir(dir.path())).await.expect("reopen");
        wait_until_pruned(&engine, "the log was not pruned after the full load").await;
        engine.close().await;
    }

    /// A write interrupted inside a commit group (its statement_timeout passed while it waited
    /// behind a transaction) makes SQLite roll back the group's whole transaction: the writes
    /// before it in the group run again and commit, instead of failing with it.
    #[tokio::test]
    async fn an_interrupted_write_does_not_fail_the_writes_grouped_with_it() {
        let (_dir, engine) = engine_with("CREATE TABLE t (id int PRIMARY KEY)").await;
        let mut holder = engine.session();
        holder.execute("BEGIN; INSERT INTO t VALUES (0)").await.expect("transaction");
        let quick_engine = engine.clone();
        let quick = tokio::spawn(async move { quick_engine.session().execute("INSERT INTO t VALUES (1) RETURNING id").await });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let slow_engine = engine.clone();
        let slow = tokio::spawn(async move {
            let mut session = slow_engine.session();
            session.execute("SET statement_timeout = 100").await?;
            session.execute("INSERT INTO t SELECT i + 10 FROM generate_series(1, 100000000) AS s(i)").await
        });
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        holder.execute("COMMIT").await.expect("commit");
        let limit = std::time::Duration::from_secs(30);
        let quick = tokio::time::timeout(limit, quick).await.expect("quick write").expect("task");
        let slow = tokio::time::timeout(limit, slow).await.expect("slow write").expect("task");
        assert_eq!(slow.expect_err("the slow write ran past its timeout").sqlstate(), "57014");
        let returned = quick.expect("the write grouped with an interrupted one failed");
        assert_eq!(returned[0].1[0].num_rows(), 1, "RETURNING of the write run again");
        let rows = engine.session().execute("SELECT count(*) FROM t").await.expect("count");
        let count = first_int8(&rows);
        assert_eq!(count, 2);
        engine.close().await;
    }

    /// At `synchronous = full` commits are synced by the flush thread: the writer connection
    /// itself runs at NORMAL, and autocommit writes from several sessions and transactions are
    /// all answered, and all there.
    #[tokio::test]
    async fn full_synchronous_commits_through_the_flush_thread() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = EngineConfig::with_data_dir(dir.path());
        config.synchronous = rhei_config::Synchronous::Full;
        let engine = HtapEngine::open(config).await.expect("open");
        engine.execute("CREATE TABLE t (id int PRIMARY KEY)").await.expect("create");
        let writes = (0..8).map(|i| {
            let engine = engine.clone();
            tokio::spawn(async move {
                let mut own = engine.session();
                own.set_own_thread(i % 2 == 0);
                own.execute(&format!("INSERT INTO t VALUES ({i})")).await?;
                own.execute(&format!("BEGIN; INSERT INTO t VALUES ({}); COMMIT", i + 100)).await.map(|_| ())
            })
        });
        for write in writes.collect::<Vec<_>>() {
            write.await.expect("task").expect("write");
        }
        let rows = engine.session().execute("SELECT count(*) FROM t").await.expect("count");
        let count = first_int8(&rows);
        assert_eq!(count, 16);
        let level: i64 = engine.inner.writer.with_connection(|conn| conn.query_row("PRAGMA synchronous", [], |r| r.get(0))).expect("pragma");
        assert_eq!(level, 1, "the writer connection syncs inside COMMIT");
        engine.close().await;
    }

    /// TRUNCATE of a referenced table alone says, as PostgreSQL does, which table references it
    /// and how to empty both; CASCADE says which tables it empties too.
    #[tokio::test]
    async fn truncate_of_a_referenced_table_names_the_referencing_one() {
        let (_dir, engine) = engine_with("CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (p int REFERENCES p (id))").await;
        let err = engine.execute("TRUNCATE p").await.expect_err("a referenced table emptied alone");
        assert_eq!(err.sqlstate(), "0A000");
        assert_eq!(err.to_string(), "cannot truncate a table referenced in a foreign key constraint");
        assert_eq!(err.detail(), Some("Table \"c\" references \"p\"."));
        assert_eq!(err.hint(), Some("Truncate table \"c\" at the same time, or use TRUNCATE ... CASCADE."));
        let mut session = engine.session();
        session.execute("TRUNCATE p CASCADE").await.expect("cascade");
        let notices: Vec<String> = session.take_notices().into_iter().map(|n| n.message).collect();
        assert_eq!(notices, ["truncate cascades to table \"c\""]);
        engine.close().await;
    }

    /// A key with a NULL colliding under UNIQUE NULLS NOT DISTINCT is PostgreSQL's 23505, named
    /// after the constraint, with the key's values (NULL as `null`) in its DETAIL.
    #[tokio::test]
    async fn null_keys_collide_under_nulls_not_distinct() {
        let (_dir, engine) =
            engine_with("CREATE TABLE t (id int PRIMARY KEY, a int, b text, UNIQUE NULLS NOT DISTINCT (a, b)); INSERT INTO t VALUES (1, NULL, 'x')").await;
        let err = engine.execute("INSERT INTO t VALUES (2, NULL, 'x')").await.expect_err("a colliding NULL key");
        assert_eq!(err.sqlstate(), "23505");
        assert_eq!(err.to_string(), "duplicate key value violates unique constraint \"t_a_b_key\"");
        assert_eq!(err.detail(), Some("Key (a, b)=(null, x) already exists."));
        engine.execute("INSERT INTO t VALUES (2, NULL, 'y'), (3, 1, 'x')").await.expect("distinct keys");
        engine.close().await;
    }

    /// OLAP threads yield the CPU to OLTP under contention: by default they run only on CPU
    /// time nothing else wants (SCHED_IDLE), with `olap_priority = "low"` at nice 10, and the
    /// Parquet writer never below nice 10 (it holds the sync step's lock for a moment).
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn olap_threads_run_at_a_lower_priority() {
        /// (scheduling policy, nice) of each live thread named `name`, from /proc.
        fn priorities(name: &str) -> Vec<(u32, i32)> {
            let mut found = Vec::new();
            for task in std::fs::read_dir("/proc/self/task").expect("threads") {
                let path = task.expect("thread").path();
                if std::fs::read_to_string(path.join("comm")).is_ok_and(|comm| comm.trim() == name) {
                    // A thread of another test may end between the two reads.
                    let Ok(stat) = std::fs::read_to_string(path.join("stat")) else { continue };
                    // Fields after the parenthesised name: state is field 3, nice field 19,
                    // policy field 41.
                    let fields: Vec<&str> = stat[stat.rfind(')').expect("name") + 2..].split(' ').collect();
                    found.push((fields[38].parse().expect("policy"), fields[16].parse().expect("nice")));
                }
            }
            found
        }
        const SCHED_OTHER: u32 = 0;
        const SCHED_IDLE: u32 = 5;
        // Other tests' engines run beside this one at the default: only this engine's kind must
        // be among the threads. A thread may show before it has set its priority: look again.
        let eventually = |name: &str, holds: &dyn Fn(&[(u32, i32)]) -> bool| {
            let started = std::time::Instant::now();
            loop {
                let found = priorities(name);
                if holds(&found) {
                    return;
                }
                assert!(started.elapsed() < std::time::Duration::from_secs(5), "{name}: {found:?}");
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        };
        for (priority, expected) in [(OlapPriority::Idle, (SCHED_IDLE, 0)), (OlapPriority::Low, (SCHED_OTHER, 10))] {
            let dir = tempfile::tempdir().expect("temp dir");
            let config = EngineConfig { olap_priority: priority, olap_storage: OlapStorage::Parquet, ..EngineConfig::with_data_dir(dir.path()) };
            let engine = HtapEngine::open(config).await.expect("open");
            engine.query_with_route("SELECT 1", Route::Olap).await.expect("an OLAP query");
            eventually("rhei-olap", &|found| found.contains(&expected));
            eventually("rhei-persist", &|found| !found.is_empty() && found.iter().all(|p| *p == (SCHED_OTHER, 10)));
            engine.close().await;
        }
    }
}
