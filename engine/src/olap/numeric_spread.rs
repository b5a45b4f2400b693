//! `rhei_numeric_spread(name, x)` on DataFusion: `stddev`, `variance` and their kin of
//! integers or numerics as PostgreSQL computes them, exact numeric text (see
//! [`crate::numeric_math::Spread`], which SQLite's shares). DataFusion's are doubles: its
//! `variance` of 3 and 7 was `8` where PostgreSQL's is `8.0000000000000000`, its `stddev` one
//! digit off in the last place. The translation calls it for result items only (see
//! `translate::numeric_arithmetic`), where text can stand for a number.

use std::any::Any;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Field, FieldRef, Int64Type};
use datafusion::common::{Result, ScalarValue};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{Accumulator, AggregateUDFImpl, Signature, Volatility};
use datafusion::physical_expr::expressions::Literal;

use crate::catalog::types::exact_numeric_text_field;
use crate::error::EngineError;
use crate::numeric_math::{Decimal, Spread};

use super::udf::NumericOperand;

/// The aggregate, named by its first argument (a constant).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct NumericSpread {
    signature: Signature,
}

impl Default for NumericSpread {
    fn default() -> Self {
        Self { signature: Signature::any(2, Volatility::Immutable) }
    }
}

fn internal(message: &str) -> DataFusionError {
    DataFusionError::Internal(format!("rhei_numeric_spread: {message}"))
}

impl AggregateUDFImpl for NumericSpread {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn name(&self) -> &str {
        crate::oltp::numeric_ops::SPREAD
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn return_field(&self, _arg_fields: &[FieldRef]) -> Result<FieldRef> {
        Ok(Arc::new(exact_numeric_text_field(crate::oltp::numeric_ops::SPREAD)))
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let name = match args.exprs.first().and_then(|e| e.as_any().downcast_ref::<Literal>()).map(Literal::value) {
            Some(ScalarValue::Utf8(Some(name))) => name.to_ascii_lowercase(),
            _ => return Err(internal("the aggregate's name is not a constant")),
        };
        let field = args.expr_fields.get(1).cloned().ok_or_else(|| internal("no argument"))?;
        // The translation sends DISTINCT ones to the engines' own (see `exact_aggregate`).
        if args.is_distinct {
            return Err(DataFusionError::External(Box::new(EngineError::unsupported("DISTINCT in rhei_numeric_spread"))));
        }
        Ok(Box::new(SpreadAccumulator { name, field, sums: Spread::default() }))
    }

    /// The state between partitions: the count, and the two sums as numeric text.
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            Arc::new(Field::new(format_state_name(args.name, "count"), DataType::Int64, false)),
            Arc::new(Field::new(format_state_name(args.name, "sum"), DataType::Utf8, false)),
            Arc::new(Field::new(format_state_name(args.name, "squares"), DataType::Utf8, false)),
        ])
    }
}

#[derive(Debug)]
struct SpreadAccumulator {
    name: String,
    field: FieldRef,
    sums: Spread,
}

/// Each non-NULL value of an aggregate batch's argument (read as `field` declares it), exact.
fn each_value(field: &Field, values: &[ArrayRef], mut f: impl FnMut(&Decimal)) -> Result<()> {
    let array = values.get(1).ok_or_else(|| internal("no argument"))?;
    let operand = NumericOperand::of(array, field)?;
    for i in 0..array.len() {
        if let Some(x) = operand.checked_decimal(i)? {
            f(&x);
        }
    }
    Ok(())
}

impl Accumulator for SpreadAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        each_value(&self.field, values, |x| self.sums.add(x))
    }

    /// Rows leaving a sliding window frame: the sums are exact, so they come back out.
    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        each_value(&self.field, values, |x| self.sums.remove(x))
    }

    fn supports_retract_batch(&self) -> bool {
        true
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Utf8(self.sums.result(&self.name).map(|d| d.text())))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![
            ScalarValue::Int64(Some(self.sums.count)),
            ScalarValue::Utf8(Some(self.sums.sum.text())),
            ScalarValue::Utf8(Some(self.sums.squares.text())),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let [counts, sums, squares] = states else {
            return Err(internal("the state has three columns"));
        };
        let (counts, sums, squares) = (counts.as_primitive::<Int64Type>(), sums.as_string::<i32>(), squares.as_string::<i32>());
        for i in 0..counts.len() {
            let parsed = |text: &str| Decimal::parse(text).ok_or_else(|| internal("a sum in the state is no decimal"));
            self.sums.merge(&Spread { count: counts.value(i), sum: parsed(sums.value(i))?, squares: parsed(squares.value(i))? });
        }
        Ok(())
    }
}
