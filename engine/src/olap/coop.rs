//! Cross and nested-loop joins made cooperative. A query is stopped (statement_timeout, a
//! cancel, a client gone) by aborting its tasks, which takes effect only where a task yields;
//! DataFusion's own rule makes scans yield, but a cross join makes millions of batches from
//! a few scanned ones, and an aggregate above it took them all in one poll. So a timed-out
//! `count(*)` over a four-way cross join kept both OLAP threads busy for hours and every
//! later OLAP query timed out behind it. Wrapped in `CooperativeExec`, such a join spends
//! tokio's budget on every batch it makes and yields when the budget runs out.

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::coop::CooperativeExec;

#[derive(Debug, Default)]
pub struct CooperativeJoins;

impl PhysicalOptimizerRule for CooperativeJoins {
    fn optimize(&self, plan: Arc<dyn ExecutionPlan>, _config: &ConfigOptions) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            if matches!(node.name(), "CrossJoinExec" | "NestedLoopJoinExec") {
                let wrapped: Arc<dyn ExecutionPlan> = Arc::new(CooperativeExec::new(node));
                Ok(Transformed::yes(wrapped))
            } else {
                Ok(Transformed::no(node))
            }
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "rhei_cooperative_joins"
    }

    fn schema_check(&self) -> bool {
        true
    }
}
