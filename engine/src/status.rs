//! `rhei_status`: the sync state as a table every client can query (`SELECT * FROM rhei_status`),
//! one row per table: rows in the OLAP copy, change-log entries not yet applied to it, the
//! applied and committed sequences, the last sync error, and with `olap_storage = "parquet"` the
//! sequence the table's Parquet files reflect. Any query over it works (filters,
//! ORDER BY, joins among its own rows): it is answered by DataFusion on a one-off snapshot of the
//! state, never by SQLite, and a user table of that name takes precedence.
//!
//! `rhei_replication` is its sidecar counterpart: the follower's state, applied and upstream
//! positions, lag in bytes and seconds, and counts (see `replica::UpstreamStatus`).

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use datafusion::common::ScalarValue;
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::{ObjectName, Query, Statement, visit_relations};
use futures::StreamExt;
use rusqlite::types::Value as SqlValue;

use crate::catalog::{Catalog, TableId, table_name};
use crate::engine::EngineInner;
use crate::error::{EngineError, Result};
use crate::oltp::SqliteStatement;
use crate::olap::datafusion::{classify, parameter_types};

/// The view's name.
pub const STATUS_VIEW: &str = "rhei_status";
/// The sidecar's view: one row per followed upstream (none without a sidecar).
pub const REPLICATION_VIEW: &str = "rhei_replication";

/// Whether `name` is one of rhei's own views.
pub(crate) fn is_view(name: &str) -> bool {
    name == STATUS_VIEW || name == REPLICATION_VIEW
}

/// Whether `query` (written as `text`) reads `rhei_status` (and no user table has that name).
/// Every query asks, so the text is looked at before the tree is walked.
pub(crate) fn reads_status(text: &str, query: &Query, catalog: &Catalog) -> bool {
    let mentions = |view: &str| crate::naming::mentions(text, view);
    let views: Vec<&str> =
        [STATUS_VIEW, REPLICATION_VIEW].into_iter().filter(|v| mentions(v) && catalog.get(v).is_none()).collect();
    if views.is_empty() {
        return false;
    }
    let mut found = false;
    let _ = visit_relations(query, |name: &ObjectName| {
        if table_name(name).is_ok_and(|n| views.contains(&n.as_str())) {
            found = true;
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    });
    found
}

fn replication_schema() -> SchemaRef {
    let text = |name: &str, nullable| Field::new(name, DataType::Utf8, nullable);
    let int = |name: &str, nullable| Field::new(name, DataType::Int64, nullable);
    Arc::new(Schema::new(vec![
        text("source", false),
        text("upstream", false),
        text("method", false),
        text("state", false),
        text("applied_position", true),
        text("upstream_position", true),
        int("lag_bytes", true),
        Field::new("lag_seconds", DataType::Float64, true),
        Field::new("last_commit_time", DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, Some("+00:00".into())), true),
        int("transactions_applied", false),
        int("rows_applied", false),
        int("snapshot_rows", false),
        text("last_error", true),
    ]))
}

/// The sidecar follower's last report as a table (empty without a sidecar).
fn replication_snapshot(engine: &EngineInner) -> Result<RecordBatch> {
    let reports: Vec<crate::replica::UpstreamStatus> = engine.upstream.borrow().iter().cloned().collect();
    let text = |f: fn(&crate::replica::UpstreamStatus) -> Option<&str>| {
        Arc::new(StringArray::from(reports.iter().map(f).collect::<Vec<_>>())) as ArrayRef
    };
    let int = |f: fn(&crate::replica::UpstreamStatus) -> Option<i64>| Arc::new(Int64Array::from(reports.iter().map(f).collect::<Vec<_>>())) as ArrayRef;
    let columns: Vec<ArrayRef> = vec![
        text(|r| Some(&r.source)),
        text(|r| Some(&r.upstream)),
        text(|r| Some(&r.method)),
        text(|r| Some(&r.state)),
        text(|r| r.applied_position.as_deref()),
        text(|r| r.upstream_position.as_deref()),
        int(|r| r.lag_bytes),
        Arc::new(arrow::array::Float64Array::from(reports.iter().map(|r| r.lag_seconds).collect::<Vec<_>>())),
        Arc::new(arrow::array::TimestampMicrosecondArray::from(reports.iter().map(|r| r.last_commit_time).collect::<Vec<_>>()).with_timezone("+00:00")),
        int(|r| Some(r.transactions_applied as i64)),
        int(|r| Some(r.rows_applied as i64)),
        int(|r| Some(r.snapshot_rows as i64)),
        text(|r| r.last_error.as_deref()),
    ];
    RecordBatch::try_new(replication_schema(), columns).map_err(|e| EngineError::Internal(e.to_string()))
}

fn schema() -> SchemaRef {
    let int = |name: &str| Field::new(name, DataType::Int64, false);
    Arc::new(Schema::new(vec![
        Field::new("table_name", DataType::Utf8, false),
        int("olap_rows"),
        int("pending_changes"),
        int("applied_seq"),
        int("committed_seq"),
        int("lag_events"),
        int("events_applied"),
        Field::new("last_error", DataType::Utf8, true),
        Field::new("persisted_seq", DataType::Int64, true),
    ]))
}

/// The state now, one row per table.
async fn snapshot(engine: &EngineInner) -> Result<RecordBatch> {
    let status = engine.sync_status();
    let pending = pending_by_table(engine, status.applied_seq).await?;
    let catalog = engine.catalog();
    let tables = &status.tables;
    let pending_of = |name: &str| catalog.get(name).and_then(|def| pending.get(&def.id)).copied().unwrap_or(0);
    let repeat = |v: u64| Arc::new(Int64Array::from(vec![v as i64; tables.len()])) as ArrayRef;
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(tables.iter().map(|t| t.table.as_str()))),
        Arc::new(Int64Array::from_iter_values(tables.iter().map(|t| t.rows as i64))),
        Arc::new(Int64Array::from_iter_values(tables.iter().map(|t| pending_of(&t.table) as i64))),
        Arc::new(Int64Array::from_iter_values(tables.iter().map(|t| t.applied_seq as i64))),
        repeat(status.committed_seq),
        repeat(status.lag_events),
        repeat(status.events_applied),
        Arc::new(StringArray::from_iter(tables.iter().map(|t| t.held_back.as_deref().or(status.last_error.as_deref())))),
        Arc::new(Int64Array::from(vec![status.persisted_seq.map(|s| s as i64); tables.len()])),
    ];
    RecordBatch::try_new(schema(), columns).map_err(|e| EngineError::Internal(e.to_string()))
}

/// Change-log entries above `applied`, per table, read from a SQLite snapshot.
async fn pending_by_table(engine: &EngineInner, applied: u64) -> Result<HashMap<TableId, u64>> {
    let stmt = SqliteStatement {
        sql: "SELECT tbl, count(*) FROM _rhei_changelog WHERE seq > ?1 GROUP BY tbl".into(),
        params: vec![SqlValue::Integer(applied as i64)],
        returns_rows: true,
        shape: Default::default(),
        writes_first: Vec::new(),
    };
    let mut rows = engine.readers.query(stmt).await?;
    let mut pending = HashMap::new();
    let mut first = rows.first.take().map(Ok);
    loop {
        let batch = match first.take() {
            Some(batch) => batch,
            None => match rows.batches.recv().await {
                Some(batch) => batch,
                None => break,
            },
        };
        let batch = batch?;
        let ints = |i: usize| batch.column(i).as_any().downcast_ref::<Int64Array>().cloned();
        let (Some(tables), Some(counts)) = (ints(0), ints(1)) else {
            return Err(EngineError::Internal("unexpected change-log count types".into()));
        };
        for (table, count) in tables.iter().zip(counts.iter()) {
            if let (Some(table), Some(count)) = (table, count) {
                pending.insert(TableId(table), count as u64);
            }
        }
    }
    Ok(pending)
}

async fn plan(engine: &EngineInner, query: &Query) -> Result<(SessionContext, datafusion::logical_expr::LogicalPlan)> {
    let ctx = SessionContext::new();
    ctx.register_batch(STATUS_VIEW, snapshot(engine).await?).map_err(classify)?;
    ctx.register_batch(REPLICATION_VIEW, replication_snapshot(engine)?).map_err(classify)?;
    let stmt = DfStatement::Statement(Box::new(Statement::Query(Box::new(query.clone()))));
    let plan = ctx.state().statement_to_plan(stmt).await.map_err(classify)?;
    Ok((ctx, plan))
}

/// Runs a query over `rhei_status`.
pub(crate) async fn query(engine: &EngineInner, query: &Query, params: &[ScalarValue]) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let (ctx, plan) = self::plan(engine, query).await?;
    let plan = if params.is_empty() { plan } else { plan.with_param_values(params.to_vec()).map_err(classify)? };
    let schema = Arc::new(plan.schema().as_arrow().clone());
    let mut stream = ctx.execute_logical_plan(plan).await.map_err(classify)?.execute_stream().await.map_err(classify)?;
    let mut batches = Vec::new();
    while let Some(batch) = stream.next().await {
        batches.push(batch.map_err(classify)?);
    }
    Ok((schema, batches))
}

/// The result columns and parameter types of a query over `rhei_status`.
pub(crate) async fn describe(engine: &EngineInner, query: &Query) -> Result<(SchemaRef, Vec<Option<DataType>>)> {
    let (_, plan) = self::plan(engine, query).await?;
    let params = parameter_types(&plan)?;
    Ok((Arc::new(plan.schema().as_arrow().clone()), params))
}
