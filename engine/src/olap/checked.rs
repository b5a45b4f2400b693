//! Integer arithmetic that fails on overflow, as PostgreSQL's does ("integer out of range",
//! 22003). DataFusion 53 adds, subtracts and multiplies integers with wrapping kernels, so
//! `2147483647 + 1` over `integer` gave -2147483648: a wrong answer, silently. An analyzer rule
//! that runs after type coercion replaces the integer `+`, `-` and `*` that make result values
//! with `rhei_checked(a, b, op)`, which calls Arrow's checked kernels.

use std::any::Any;
use std::sync::Arc;

use arrow::datatypes::DataType;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, Result, ScalarValue};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{
    BinaryExpr, ColumnarValue, Expr, ExprSchemable, LogicalPlan, Operator, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl,
    Signature, Volatility,
};
use datafusion::optimizer::AnalyzerRule;

/// `rhei_checked(a, b, 'add' | 'sub' | 'mul')` for two integers of one type.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct CheckedArithmetic {
    signature: Signature,
}

impl Default for CheckedArithmetic {
    fn default() -> Self {
        Self { signature: Signature::any(3, Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for CheckedArithmetic {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn name(&self) -> &str {
        "rhei_checked"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(arg_types.first().cloned().unwrap_or(DataType::Null))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let [left, right, op] = <[ColumnarValue; 3]>::try_from(args.args)
            .map_err(|_| DataFusionError::Internal("rhei_checked takes three arguments".into()))?;
        let kernel = match &op {
            ColumnarValue::Scalar(ScalarValue::Utf8(Some(op))) if op == "add" => arrow::compute::kernels::numeric::add,
            ColumnarValue::Scalar(ScalarValue::Utf8(Some(op))) if op == "sub" => arrow::compute::kernels::numeric::sub,
            ColumnarValue::Scalar(ScalarValue::Utf8(Some(op))) if op == "mul" => arrow::compute::kernels::numeric::mul,
            other => return Err(DataFusionError::Internal(format!("rhei_checked: unknown operation {other:?}"))),
        };
        match (left, right) {
            (ColumnarValue::Scalar(a), ColumnarValue::Scalar(b)) => {
                let result = kernel(&a.to_scalar()?, &b.to_scalar()?)?;
                Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&result, 0)?))
            }
            (a, b) => Ok(ColumnarValue::Array(kernel(&a.into_array(rows)?, &b.into_array(rows)?)?)),
        }
    }
}

/// Replaces integer `+`, `-`, `*` with [`CheckedArithmetic`] in projections, aggregates and
/// windows (where result values are made), subqueries included. Filters, join conditions and
/// sort keys keep DataFusion's wrapping arithmetic.
#[derive(Debug)]
pub struct CheckIntegerOverflow {
    checked: Arc<ScalarUDF>,
}

impl Default for CheckIntegerOverflow {
    fn default() -> Self {
        Self { checked: Arc::new(ScalarUDF::from(CheckedArithmetic::default())) }
    }
}

impl CheckIntegerOverflow {
    fn rewrite(&self, expr: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
        expr.transform_up(|e| {
            let Expr::BinaryExpr(BinaryExpr { left, op, right }) = &e else { return Ok(Transformed::no(e)) };
            let name = match op {
                Operator::Plus => "add",
                Operator::Minus => "sub",
                Operator::Multiply => "mul",
                _ => return Ok(Transformed::no(e)),
            };
            let (Ok(lt), Ok(rt)) = (left.get_type(schema), right.get_type(schema)) else { return Ok(Transformed::no(e)) };
            if lt != rt || !matches!(lt, DataType::Int16 | DataType::Int32 | DataType::Int64) {
                return Ok(Transformed::no(e));
            }
            let Expr::BinaryExpr(BinaryExpr { left, right, .. }) = e else { unreachable!("matched above") };
            let args = vec![*left, *right, Expr::Literal(ScalarValue::Utf8(Some(name.into())), None)];
            Ok(Transformed::yes(Expr::ScalarFunction(ScalarFunction::new_udf(self.checked.clone(), args))))
        })
    }
}

impl AnalyzerRule for CheckIntegerOverflow {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(|node| {
            // Where values are produced. Predicates keep the native kernels: a join's filter
            // made of UDF calls is planned into a cross join filtered afterwards, whose huge
            // batches make a cancelled query stop late.
            if !matches!(node, LogicalPlan::Projection(_) | LogicalPlan::Aggregate(_) | LogicalPlan::Window(_)) {
                return Ok(Transformed::no(node));
            }
            let inputs = node.inputs();
            let [input] = inputs.as_slice() else { return Ok(Transformed::no(node)) };
            let schema = Arc::clone(input.schema());
            // Output columns keep their names (`sum(a * 2)` stays that), or the nodes above,
            // which refer to them by name, would not find them.
            let names = NamePreserver::new(&node);
            let rewritten = node.map_expressions(|e| {
                let saved = names.save(&e);
                Ok(self.rewrite(e, &schema)?.update_data(|e| saved.restore(e)))
            })?;
            if !rewritten.transformed {
                return Ok(rewritten);
            }
            rewritten.map_data(|plan| plan.recompute_schema())
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "rhei_check_integer_overflow"
    }
}
