//! Functions rhei adds to DataFusion so analytical answers match PostgreSQL's.

use std::any::Any;

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Decimal128Array, Float64Array};
use arrow::datatypes::{DataType, Decimal128Type, Field, FieldRef, Float32Type, Float64Type};
use arrow::error::ArrowError;
use datafusion::common::{Result, ScalarValue};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

/// `rhei_divisor(b)`: `b` unchanged, or a division-by-zero error when it is zero. DataFusion
/// refuses integer and decimal division by zero itself, but gives `inf` for floats, where
/// PostgreSQL raises 22012; to_olap wraps every divisor in it.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Divisor {
    signature: Signature,
}

impl Default for Divisor {
    fn default() -> Self {
        Self { signature: Signature::any(1, Volatility::Immutable) }
    }
}

fn division_by_zero() -> DataFusionError {
    DataFusionError::ArrowError(Box::new(ArrowError::DivideByZero), None)
}

impl ScalarUDFImpl for Divisor {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn name(&self) -> &str {
        "rhei_divisor"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(arg_types.first().cloned().unwrap_or(DataType::Null))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let Some(value) = args.args.into_iter().next() else {
            return Err(DataFusionError::Internal("rhei_divisor takes one argument".into()));
        };
        // Any numeric zero: an integer divisor of a float dividend is cast to float by the
        // planner after this check, and would give `inf` too.
        let zero = match &value {
            ColumnarValue::Scalar(s) if s.data_type().is_numeric() => {
                matches!(s.cast_to(&DataType::Float64)?, ScalarValue::Float64(Some(f)) if f == 0.0)
            }
            ColumnarValue::Array(array) if array.data_type().is_numeric() => {
                let floats = arrow::compute::cast(array, &DataType::Float64)?;
                floats.as_any().downcast_ref::<Float64Array>().is_some_and(|a| a.iter().any(|v| v == Some(0.0)))
            }
            _ => false,
        };
        if zero { Err(division_by_zero()) } else { Ok(value) }
    }
}

/// `10^n` as i128 (n at most 38).
fn pow10(n: u32) -> i128 {
    10i128.pow(n.min(38))
}

/// A scaled decimal rounded half away from zero from scale `from` to scale `to` (`to <= from`),
/// still expressed at scale `to`.
fn round_decimal(v: i128, from: i8, to: i8) -> i128 {
    if to >= from {
        return v * pow10((to - from) as u32);
    }
    let factor = pow10((from - to) as u32);
    let (q, r) = (v / factor, v % factor);
    if r.abs() * 2 >= factor { q + v.signum() } else { q }
}

/// `rhei_round_for_cast(x)`: `x` rounded to a whole number the way PostgreSQL rounds it when
/// casting to an integer type: numerics half away from zero, floats half to even; integers
/// pass through. The cast that follows then only changes the type.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RoundForCast {
    signature: Signature,
}

impl Default for RoundForCast {
    fn default() -> Self {
        Self { signature: Signature::any(1, Volatility::Immutable) }
    }
}

fn map_array(array: &ArrayRef, scale_to: Option<i8>) -> Result<ArrayRef> {
    Ok(match array.data_type() {
        DataType::Float64 => {
            Arc::new(array.as_primitive::<Float64Type>().unary::<_, Float64Type>(f64::round_ties_even)) as ArrayRef
        }
        DataType::Float32 => {
            Arc::new(array.as_primitive::<Float32Type>().unary::<_, Float32Type>(f32::round_ties_even)) as ArrayRef
        }
        DataType::Decimal128(p, s) => {
            let to = scale_to.unwrap_or(0).min(*s);
            let out: Decimal128Array =
                array.as_primitive::<Decimal128Type>().unary(|v| round_decimal(v, *s, to) * pow10((*s - to) as u32));
            Arc::new(out.with_precision_and_scale(*p, *s)?) as ArrayRef
        }
        _ => array.clone(),
    })
}

fn first_arg(args: &ScalarFunctionArgs) -> Result<ArrayRef> {
    let Some(value) = args.args.first() else {
        return Err(DataFusionError::Internal("missing argument".into()));
    };
    value.to_array(args.number_rows)
}

fn unscalar(result: ArrayRef, args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    if args.args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_))) {
        Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&result, 0)?))
    } else {
        Ok(ColumnarValue::Array(result))
    }
}

impl ScalarUDFImpl for RoundForCast {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn name(&self) -> &str {
        "rhei_round_for_cast"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(arg_types.first().cloned().unwrap_or(DataType::Null))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let result = map_array(&first_arg(&args)?, None)?;
        unscalar(result, &args)
    }
}

/// PostgreSQL's `round(x [, n])`: floats round half to even (`round(2.5::float8)` is 2),
/// numerics half away from zero to `n` places with `n` as the result's scale
/// (`round(2.345, 2)` is `2.35`, `round(x)` of a numeric has scale 0), integers unchanged.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Round {
    signature: Signature,
}

impl Default for Round {
    fn default() -> Self {
        Self { signature: Signature::variadic_any(Volatility::Immutable) }
    }
}

fn places(arg: Option<&ScalarValue>) -> Option<i8> {
    arg.and_then(|s| s.cast_to(&DataType::Int64).ok()).and_then(|s| match s {
        ScalarValue::Int64(Some(n)) => i8::try_from(n.clamp(-38, 38)).ok(),
        _ => None,
    })
}

impl ScalarUDFImpl for Round {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn name(&self) -> &str {
        "rhei_round"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(arg_types.first().cloned().unwrap_or(DataType::Null))
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let Some(first) = args.arg_fields.first() else {
            return Err(DataFusionError::Plan("round() needs an argument".into()));
        };
        let ty = match first.data_type() {
            DataType::Decimal128(p, _) => {
                let n = places(args.scalar_arguments.get(1).copied().flatten()).unwrap_or(0).max(0);
                // Room for the digits a rounding carry adds.
                DataType::Decimal128((*p + 1).min(38), n)
            }
            // PostgreSQL has round(numeric, int) only: a float rounded to places is numeric.
            DataType::Float32 | DataType::Float64 if args.arg_fields.len() > 1 => {
                let n = places(args.scalar_arguments.get(1).copied().flatten()).unwrap_or(0).max(0);
                DataType::Decimal128(38, n)
            }
            DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 if args.arg_fields.len() > 1 => {
                let n = places(args.scalar_arguments.get(1).copied().flatten()).unwrap_or(0).max(0);
                DataType::Decimal128(38, n)
            }
            other => other.clone(),
        };
        Ok(Arc::new(Field::new(self.name(), ty, true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let value = first_arg(&args)?;
        let target = args.return_field.data_type().clone();
        let n = match args.args.get(1) {
            Some(ColumnarValue::Scalar(s)) => places(Some(s)),
            Some(ColumnarValue::Array(_)) => {
                return Err(DataFusionError::NotImplemented("round() with a non-constant number of places".into()));
            }
            None => Some(0),
        };
        let result = match (value.data_type(), &target) {
            (DataType::Decimal128(_, s), DataType::Decimal128(p, to)) => {
                let n = n.unwrap_or(0);
                let rounded: Decimal128Array = value.as_primitive::<Decimal128Type>().unary(|v| {
                    // Round at n places, then express at the result scale.
                    let at_n = round_decimal(v, *s, n.min(*s));
                    if *to >= n.min(*s) { at_n * pow10((*to - n.min(*s)) as u32) } else { at_n }
                });
                Arc::new(rounded.with_precision_and_scale(*p, *to)?) as ArrayRef
            }
            (DataType::Float32 | DataType::Float64 | DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64, DataType::Decimal128(_, _)) => {
                let exact = arrow::compute::cast(&value, &DataType::Decimal128(38, 10))?;
                let n = n.unwrap_or(0);
                let rounded: Decimal128Array =
                    exact.as_primitive::<Decimal128Type>().unary(|v| round_decimal(v, 10, n.min(10)));
                let rounded = rounded.with_precision_and_scale(38, n.min(10))?;
                arrow::compute::cast(&rounded, &target)?
            }
            _ => map_array(&value, None)?,
        };
        unscalar(result, &args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_round_half_away_from_zero() {
        assert_eq!(round_decimal(25, 1, 0), 3);
        assert_eq!(round_decimal(-25, 1, 0), -3);
        assert_eq!(round_decimal(349, 2, 0), 3);
        assert_eq!(round_decimal(2345, 3, 2), 235);
        assert_eq!(round_decimal(5, 0, 2), 500);
    }

    #[tokio::test]
    async fn to_char_takes_postgresql_patterns_in_place_of_datafusions() {
        let context = datafusion::prelude::SessionContext::new_with_config(crate::olap::datafusion::session_config(1));
        context.register_udf(datafusion::logical_expr::ScalarUDF::from(ToChar::default()));
        // As the engine does for every query: a state rebuilt from this one.
        let state = datafusion::execution::SessionStateBuilder::new_from_existing(context.state()).build();
        let context = datafusion::prelude::SessionContext::new_with_state(state);
        let sql = "SELECT to_char(DATE '2024-01-05', 'YYYY-MM'), to_char(TIMESTAMP '2024-01-05 13:00:00', 'HH12 AM')";
        let batches = context.sql(sql).await.unwrap().collect().await.unwrap();
        let text = arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string();
        assert!(text.contains("2024-01") && text.contains("01 PM"), "{text}");
    }
}

/// `to_char(date or timestamp, pattern)` with PostgreSQL's patterns (`YYYY-MM-DD`, `Mon`,
/// `HH24:MI`, see [`crate::value::to_char_datetime`]) in place of DataFusion's, which reads
/// chrono's `%Y` patterns and would print a PostgreSQL pattern back as it is. Timestamps with a
/// zone are shown in UTC, as the OLAP engine shows them.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ToChar {
    signature: Signature,
    /// DataFusion's own `to_char` is also registered as `date_format`; taking that name too
    /// leaves it nowhere, so rebuilding a session state from this one cannot bring it back.
    aliases: Vec<String>,
}

impl Default for ToChar {
    fn default() -> Self {
        Self { signature: Signature::any(2, Volatility::Immutable), aliases: vec!["date_format".into()] }
    }
}

impl ScalarUDFImpl for ToChar {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn name(&self) -> &str {
        "to_char"
    }

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let [value, pattern] = args.args.as_slice() else {
            return Err(DataFusionError::Plan("to_char takes a value and a pattern".into()));
        };
        let zoned = match value.data_type() {
            DataType::Date32 => None,
            DataType::Timestamp(_, zone) => Some(zone.is_some()),
            other => {
                return Err(DataFusionError::NotImplemented(format!("to_char of {other} (rhei formats dates and timestamps only)")));
            }
        };
        let micros = value.to_array(rows)?;
        let micros = match zoned {
            None => arrow::compute::cast(&arrow::compute::cast(&micros, &DataType::Int32)?, &DataType::Int64)?,
            Some(_) => arrow::compute::cast(
                &micros,
                &DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, None),
            )
            .and_then(|a| arrow::compute::cast(&a, &DataType::Int64))?,
        };
        let micros = micros.as_primitive::<arrow::datatypes::Int64Type>();
        let patterns = arrow::compute::cast(&pattern.to_array(rows)?, &DataType::Utf8)?;
        let patterns = patterns.as_string::<i32>();
        let day = 86_400_000_000_i64;
        let out: arrow::array::StringArray = (0..rows)
            .map(|i| {
                if micros.is_null(i) || patterns.is_null(i) {
                    return None;
                }
                let local = if zoned.is_none() { micros.value(i) * day } else { micros.value(i) };
                let offset = (zoned == Some(true)).then_some(0);
                Some(crate::value::to_char_datetime(local, offset, None, patterns.value(i)))
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out) as ArrayRef))
    }
}
