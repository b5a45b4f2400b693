//! `rhei_interval_min`, `_max`, `_sum` and `_avg` on DataFusion: the aggregates of intervals
//! as PostgreSQL computes them (see [`crate::interval_aggregate`]), which the OLAP translation
//! calls for `min`, `max`, `sum` and `avg` of an interval. DataFusion has no sum or avg of
//! intervals, and its min and max compare months, then days, then time (`1 mon` above `40
//! days`).

use std::any::Any;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Field, FieldRef, Int64Type, IntervalMonthDayNanoType, IntervalUnit, UInt64Type};
use datafusion::common::{Result, ScalarValue};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{Accumulator, AggregateUDFImpl, Signature, Volatility};

use crate::error::EngineError;
use crate::interval_aggregate::{IntervalAggregate, IntervalState};
use crate::value::Interval;

const INTERVAL: DataType = DataType::Interval(IntervalUnit::MonthDayNano);

/// One of the four aggregates.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct IntervalAggregateFunction {
    kind: IntervalAggregate,
    signature: Signature,
}

impl IntervalAggregateFunction {
    /// All four, to register.
    pub fn all() -> Vec<Self> {
        IntervalAggregate::ALL.into_iter().map(|kind| Self { kind, signature: Signature::exact(vec![INTERVAL], Volatility::Immutable) }).collect()
    }
}

fn out_of_range() -> DataFusionError {
    DataFusionError::External(Box::new(EngineError::IntervalOutOfRange))
}

impl AggregateUDFImpl for IntervalAggregateFunction {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn name(&self) -> &str {
        self.kind.function_name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(INTERVAL)
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        // The translation sends DISTINCT ones to SQLite (see `translate::intervals::olap_lacks`).
        if args.is_distinct {
            return Err(DataFusionError::External(Box::new(EngineError::unsupported("DISTINCT in an aggregate of intervals on the OLAP engine"))));
        }
        Ok(Box::new(IntervalAccumulator { kind: self.kind, state: IntervalState::default() }))
    }

    /// The state between partitions: the interval's fields (NULL before any row) and the count.
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(["months", "days", "micros"]
            .into_iter()
            .map(|part| Arc::new(Field::new(format_state_name(args.name, part), DataType::Int64, true)))
            .chain([Arc::new(Field::new(format_state_name(args.name, "count"), DataType::UInt64, false))])
            .collect())
    }
}

#[derive(Debug)]
struct IntervalAccumulator {
    kind: IntervalAggregate,
    state: IntervalState,
}

/// The non-NULL intervals of an aggregate's argument.
fn intervals(values: &[ArrayRef]) -> Result<impl Iterator<Item = Interval> + '_> {
    let Some(intervals) = values.first().and_then(|v| v.as_primitive_opt::<IntervalMonthDayNanoType>()) else {
        return Err(DataFusionError::Internal("an interval aggregate's argument is not an interval".into()));
    };
    Ok(intervals.iter().flatten().map(Interval::of_arrow))
}

impl Accumulator for IntervalAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        for interval in intervals(values)? {
            self.kind.step(&mut self.state, interval).ok_or_else(out_of_range)?;
        }
        Ok(())
    }

    /// Rows leaving a sliding window frame (`ROWS BETWEEN 1 PRECEDING AND CURRENT ROW`): a sum
    /// takes them back; min and max cannot, and DataFusion refuses such a frame for them.
    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        for interval in intervals(values)? {
            self.kind.retract(&mut self.state, interval).ok_or_else(out_of_range)?;
        }
        Ok(())
    }

    fn supports_retract_batch(&self) -> bool {
        self.kind.retracts()
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let value = self.kind.finish(self.state).map_err(|()| out_of_range())?;
        let Some(interval) = value else { return Ok(ScalarValue::IntervalMonthDayNano(None)) };
        Ok(ScalarValue::IntervalMonthDayNano(Some(interval.to_arrow().ok_or_else(out_of_range)?)))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let value = self.state.value;
        Ok(vec![
            ScalarValue::Int64(value.map(|v| v.months)),
            ScalarValue::Int64(value.map(|v| v.days)),
            ScalarValue::Int64(value.map(|v| v.micros)),
            ScalarValue::UInt64(Some(self.state.count)),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let [months, days, micros, counts] = states else {
            return Err(DataFusionError::Internal("an interval aggregate's state has four columns".into()));
        };
        let (months, days, micros) = (months.as_primitive::<Int64Type>(), days.as_primitive::<Int64Type>(), micros.as_primitive::<Int64Type>());
        let counts = counts.as_primitive::<UInt64Type>();
        for i in 0..months.len() {
            if months.is_null(i) {
                continue;
            }
            let value = Interval { months: months.value(i), days: days.value(i), micros: micros.value(i) };
            self.kind.merge(&mut self.state, IntervalState { value: Some(value), count: counts.value(i) }).ok_or_else(out_of_range)?;
        }
        Ok(())
    }
}
