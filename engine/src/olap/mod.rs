//! The OLAP side behind one trait, [`OlapBackend`]: the sync thread loads and changes tables and
//! publishes them at a commit sequence; queries run against one published snapshot (every table
//! as of the same sequence). [`datafusion::DataFusionOlap`] keeps the copy in memory as Arrow and
//! queries it with DataFusion on its own runtime. A DuckDB or durable backend implements the
//! same trait.

pub mod datafusion;
pub mod store;

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
    /// Makes everything loaded or applied so far visible to new queries, as of `seq`.
    fn publish(&self, seq: u64) -> Result<()>;
    /// The sequence of the published snapshot.
    fn published_seq(&self) -> u64;
    fn table_stats(&self) -> Vec<OlapTableStats>;
    /// Plans and starts a query on the current snapshot.
    async fn query(&self, stmt: Statement, params: Vec<ScalarValue>) -> Result<OlapRows>;
    /// The output schema a query would have and the types it infers for its `$n` parameters,
    /// without running it.
    async fn plan_schema(&self, stmt: Statement) -> Result<PlannedQuery>;
}
