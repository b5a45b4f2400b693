//! The table a query sees: one published state of a table's segments. Its rows are filtered
//! out of their segments when a query first scans them (on the OLAP threads, at their
//! priority), then kept with that segment state for later queries; a table no query reads
//! costs sync nothing beyond marking rows dead.

use std::any::Any;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::Constraints;
use datafusion::datasource::{MemTable, TableType};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;

use crate::olap::store::SegmentRows;

#[derive(Debug)]
pub struct SegmentsTable {
    schema: SchemaRef,
    constraints: Constraints,
    segments: Vec<Arc<SegmentRows>>,
    /// Scan partitions: segments are dealt out round-robin over this many.
    partitions: usize,
}

impl SegmentsTable {
    pub fn new(schema: SchemaRef, constraints: Constraints, segments: Vec<Arc<SegmentRows>>, partitions: usize) -> Self {
        Self { schema, constraints, segments, partitions }
    }

    fn partitioned(&self) -> Result<Vec<Vec<RecordBatch>>> {
        let n = self.partitions.max(1).min(self.segments.len().max(1));
        let mut parts = vec![Vec::new(); n];
        for (i, rows) in self.segments.iter().enumerate() {
            parts[i % n].push(rows.visible().map_err(|e| DataFusionError::External(Box::new(e)))?);
        }
        Ok(parts)
    }
}

#[async_trait::async_trait]
impl TableProvider for SegmentsTable {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn constraints(&self) -> Option<&Constraints> {
        Some(&self.constraints)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        // MemTable's scan over the filtered batches: the plan it gives is exactly what a table
        // published as batches gave.
        MemTable::try_new(self.schema.clone(), self.partitioned()?)?.scan(state, projection, filters, limit).await
    }
}
