//! The OLAP side behind one trait, [`OlapBackend`]: the sync thread loads and changes tables and
//! publishes them at a commit sequence; queries run against one published snapshot (every table
//! as of the same sequence). [`datafusion::DataFusionOlap`] keeps the copy in memory as Arrow and
//! queries it with DataFusion on its own runtime. A DuckDB or durable backend implements the
//! same trait.

pub mod bytea;
pub mod checked;
pub mod coop;
pub mod datafusion;
pub mod interval_aggregates;
pub mod network;
pub mod numeric_spread;
pub mod segments_table;
pub mod store;
pub mod udf;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use ::datafusion::common::ScalarValue;
use ::datafusion::sql::sqlparser::ast::Statement;
use tokio::sync::mpsc;

use crate::catalog::{TableDef, TableId};
use crate::error::Result;

/// A running OLAP query: its schema and its batches as they are produced.
pub struct OlapRows {
    pub schema: SchemaRef,
    pub batches: mpsc::Receiver<Result<RecordBatch>>,
    /// Stops the query's work when dropped. Closing `batches` alone is not enough: an aggregate
    /// over a huge join sends nothing until it is done, so it would only notice its reader had
    /// gone (a timeout, a cancel) hours later, holding the OLAP threads all that time.
    pub work: QueryWork,
}

/// Aborts a query's task when dropped.
pub struct QueryWork(pub tokio::task::AbortHandle);

impl Drop for QueryWork {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The type a result column of `ty` is given, so results look the same whichever engine made
/// them and map onto Postgres types: unsigned counters (row_number, rank) become bigint, string
/// views become plain strings, timestamps count microseconds, and computed decimals take the
/// widest precision (Postgres' numeric results carry no precision; DataFusion's plan-time and
/// run-time widths can differ).
pub fn result_type(ty: &arrow::datatypes::DataType) -> arrow::datatypes::DataType {
    use arrow::datatypes::DataType as D;
    match ty {
        D::UInt8 | D::UInt16 => D::Int32,
        D::UInt32 | D::UInt64 => D::Int64,
        D::Int8 => D::Int16,
        D::Float16 => D::Float32,
        D::Utf8View | D::LargeUtf8 => D::Utf8,
        D::BinaryView | D::LargeBinary => D::Binary,
        D::Decimal128(_, s) => D::Decimal128(38, *s),
        D::Decimal256(_, s) => D::Decimal256(76, *s),
        // PostgreSQL's timestamps count microseconds, as rhei stores them; DataFusion's
        // `CAST(... AS TIMESTAMP)` and timestamp literals count nanoseconds.
        D::Timestamp(_, zone) => D::Timestamp(arrow::datatypes::TimeUnit::Microsecond, zone.clone()),
        D::Time32(_) | D::Time64(_) => D::Time64(arrow::datatypes::TimeUnit::Microsecond),
        D::Dictionary(_, value) => result_type(value),
        // SQLite's rows are built into the planned type: a list of Utf8View elements could
        // not be (the list refuses elements of another type than it declares).
        D::List(element) => D::List(std::sync::Arc::new(element.as_ref().clone().with_data_type(result_type(element.data_type())))),
        other => other.clone(),
    }
}

/// `schema` with every field's type replaced by its [`result_type`], and declared types only
/// where they still hold (`catalog::types::with_checked_declared_type`).
pub fn result_schema(schema: &SchemaRef) -> SchemaRef {
    std::sync::Arc::new(arrow::datatypes::Schema::new_with_metadata(
        schema
            .fields()
            .iter()
            .map(|f| {
                let field = crate::catalog::types::with_checked_declared_type(f.as_ref().clone());
                field.with_data_type(result_type(f.data_type())).with_nullable(true)
            })
            .collect::<Vec<_>>(),
        schema.metadata().clone(),
    ))
}

/// Casts a batch to `schema` (from [`result_schema`]) where its types differ.
///
/// # Errors
/// A cast Arrow cannot do (an internal error: result types only widen).
pub fn conform_batch(batch: RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    let same = batch.schema().fields().iter().zip(schema.fields()).all(|(a, b)| a.data_type() == b.data_type());
    let columns = if same {
        batch.columns().to_vec()
    } else {
        batch
            .columns()
            .iter()
            .zip(schema.fields())
            .map(|(c, f)| arrow::compute::cast(c, f.data_type()))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| crate::error::EngineError::Olap(format!("converting a result column: {e}")))?
    };
    RecordBatch::try_new(schema.clone(), columns).map_err(|e| crate::error::EngineError::Olap(e.to_string()))
}

/// A planned query's shape.
#[derive(Debug, Clone)]
pub struct PlannedQuery {
    pub schema: SchemaRef,
    /// Inferred type of `$1`, `$2`, ...; `None` where the plan leaves it open.
    pub params: Vec<Option<arrow::datatypes::DataType>>,
}

/// Row count of one table in the published snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OlapTableStats {
    pub id: TableId,
    pub name: String,
    pub rows: u64,
}

/// One table's segments, as durable storage needs them ([`OlapBackend::persist_parts`]).
pub struct TableParts {
    pub id: TableId,
    pub name: String,
    pub schema: SchemaRef,
    pub parts: Vec<store::PersistPart>,
}

/// What the engine needs from an analytical engine.
#[async_trait::async_trait]
pub trait OlapBackend: Send + Sync {
    /// Replaces a table's definition and whole content (creation, DDL, restart).
    fn load_table(&self, def: &TableDef, batches: Vec<RecordBatch>, rowids: Vec<i64>) -> Result<()>;
    /// Removes rows by rowid and upserts others (`upserts` rows carry `upsert_rowids`).
    fn apply_changes(
        &self,
        id: TableId,
        removed: &[i64],
        upserts: Option<RecordBatch>,
        upsert_rowids: Vec<i64>,
    ) -> Result<()>;
    fn drop_table(&self, id: TableId) -> Result<()>;
    /// Loads a table from durable files, each `(rows, rowids, file)` (start-up).
    fn load_persisted(&self, def: &TableDef, files: Vec<(RecordBatch, Vec<i64>, u64)>) -> Result<()>;
    /// Every table's segments: the files already holding them, or the rows to write. Called by
    /// the sync thread between steps, so all tables are as of the published sequence.
    fn persist_parts(&self) -> Result<Vec<TableParts>>;
    /// Records files written for segment states (`(state, file)`) of a table.
    fn mark_persisted(&self, id: TableId, written: &[(u64, u64)]);
    /// Makes everything loaded or applied so far visible to new queries, as of `seq`.
    fn publish(&self, seq: u64) -> Result<()>;
    /// The sequence of the published snapshot.
    fn published_seq(&self) -> u64;
    fn table_stats(&self) -> Vec<OlapTableStats>;
    /// Plans and starts a query on the current snapshot.
    async fn query(&self, stmt: Statement, params: Vec<ScalarValue>) -> Result<OlapRows>;
    /// The output schema a query would have and the types it infers for its `$n` parameters,
    /// without running it. `unpublished` names tables (with their schemas) the query may read
    /// that the snapshot lacks, made in an open transaction block: planned as empty.
    async fn plan_schema(&self, stmt: Statement, unpublished: Vec<(String, arrow::datatypes::SchemaRef)>) -> Result<PlannedQuery>;
}
