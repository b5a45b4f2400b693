//! Functions rhei adds to DataFusion so analytical answers match PostgreSQL's.

use std::any::Any;

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Decimal128Array, Decimal256Array, Float64Array};
use arrow::datatypes::{DataType, Decimal128Type, Decimal256Type, Field, FieldRef, Float32Type, Float64Type, i256};
use arrow::error::ArrowError;
use datafusion::common::{Result, ScalarValue};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

use crate::value::MICROS_PER_DAY;

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

/// [`round_decimal`] of a Decimal256 value.
fn round_decimal256(v: i256, from: i8, to: i8) -> i256 {
    if to >= from {
        return v * pow10_256((to - from) as u32);
    }
    let factor = pow10_256((from - to) as u32);
    let (q, r) = (v / factor, v % factor);
    if r.wrapping_abs() * i256::from_i128(2) >= factor {
        if v.is_negative() { q - i256::ONE } else { q + i256::ONE }
    } else {
        q
    }
}

fn pow10_256(n: u32) -> i256 {
    (0..n.min(76)).fold(i256::ONE, |acc, _| acc * i256::from_i128(10))
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
        DataType::Decimal256(p, s) => {
            let to = scale_to.unwrap_or(0).min(*s);
            let out: Decimal256Array =
                array.as_primitive::<Decimal256Type>().unary(|v| round_decimal256(v, *s, to) * pow10_256((*s - to) as u32));
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

pub(super) fn unscalar(result: ArrayRef, args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
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
            DataType::Decimal256(p, _) => {
                let n = places(args.scalar_arguments.get(1).copied().flatten()).unwrap_or(0).max(0);
                DataType::Decimal256((*p + 1).min(76), n)
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
            // round(int) is round(double precision) in PostgreSQL: `round(7) / 2` is 3.5.
            DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => DataType::Float64,
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
            (DataType::Decimal256(_, s), DataType::Decimal256(p, to)) => {
                let n = n.unwrap_or(0);
                // Expressing the rounded value at a larger result scale can pass Decimal256's
                // range (round(x, 10) of a numeric(70,0)): 22003, as PostgreSQL's overflow.
                let rounded: Decimal256Array = value.as_primitive::<Decimal256Type>().try_unary(|v| {
                    let at_n = round_decimal256(v, *s, n.min(*s));
                    if *to >= n.min(*s) {
                        at_n.checked_mul(pow10_256((*to - n.min(*s)) as u32))
                            .ok_or_else(|| ArrowError::ArithmeticOverflow("numeric field overflow".into()))
                    } else {
                        Ok(at_n)
                    }
                })?;
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
            (_, DataType::Float64) => map_array(&arrow::compute::cast(&value, &DataType::Float64)?, None)?,
            _ => map_array(&value, None)?,
        };
        unscalar(result, &args)
    }
}

/// `rhei_interval_key(i)`: an interval as one number of microseconds, a month counting 30
/// days and a day 24 hours, which is how PostgreSQL compares intervals (`'25 hours' > '1
/// day'`); DataFusion compares months, days and nanoseconds field by field.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct IntervalKey {
    signature: Signature,
}

impl Default for IntervalKey {
    fn default() -> Self {
        Self { signature: Signature::any(1, Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for IntervalKey {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn name(&self) -> &str {
        "rhei_interval_key"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        use arrow::datatypes::{IntervalMonthDayNanoType, IntervalUnit};
        let array = first_arg(&args)?;
        let intervals = arrow::compute::cast(&array, &DataType::Interval(IntervalUnit::MonthDayNano))?;
        let keys: arrow::array::Int64Array = intervals.as_primitive::<IntervalMonthDayNanoType>().unary(|i| {
            let days = i64::from(i.months) * 30 + i64::from(i.days);
            days.saturating_mul(MICROS_PER_DAY).saturating_add(i.nanoseconds / 1000)
        });
        unscalar(Arc::new(keys), &args)
    }
}

/// `rhei_interval_mul(i, f)`: an interval times a number as PostgreSQL computes it: each field
/// scaled, the fraction of a month carried into days (30 to a month) and the fraction of a day
/// into time (`interval '1 month' * 1.5` is `1 mon 15 days`); DataFusion has no such product.
/// `rhei_interval_div(i, d)` divides the same way, as PostgreSQL's interval_div does (the
/// divisor already checked for zero).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct IntervalProduct {
    signature: Signature,
    divides: bool,
}

impl IntervalProduct {
    /// The product and the quotient.
    pub fn both() -> [Self; 2] {
        [false, true].map(|divides| Self { signature: Signature::any(2, Volatility::Immutable), divides })
    }
}

impl ScalarUDFImpl for IntervalProduct {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn name(&self) -> &str {
        if self.divides { "rhei_interval_div" } else { "rhei_interval_mul" }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Interval(arrow::datatypes::IntervalUnit::MonthDayNano))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        use arrow::datatypes::{IntervalMonthDayNanoType, IntervalUnit};
        let [interval, factor] = args.args.as_slice() else {
            return Err(DataFusionError::Internal("rhei_interval_mul takes two arguments".into()));
        };
        let interval = arrow::compute::cast(&interval.to_array(args.number_rows)?, &DataType::Interval(IntervalUnit::MonthDayNano))?;
        let factor = arrow::compute::cast(&factor.to_array(args.number_rows)?, &DataType::Float64)?;
        let (interval, factor) = (interval.as_primitive::<IntervalMonthDayNanoType>(), factor.as_primitive::<Float64Type>());
        let out: arrow::array::IntervalMonthDayNanoArray = arrow::compute::kernels::arity::try_binary(interval, factor, |i, f| {
            let interval = crate::value::Interval::of_arrow(i);
            if self.divides { interval.divided(f) } else { interval.scaled(f) }
                .and_then(crate::value::Interval::to_arrow)
                .ok_or_else(|| ArrowError::ExternalError(Box::new(crate::error::EngineError::IntervalOutOfRange)))
        })?;
        unscalar(Arc::new(out), &args)
    }
}

/// The functions giving intervals that DataFusion has not, or computes otherwise:
/// - `rhei_ts_diff(a, b)`: `a - b` of two timestamps as PostgreSQL gives it (days and time,
///   `1067 days 09:49:35`, both parts of one sign; DataFusion gives a duration);
/// - `rhei_age(a, b)`: PostgreSQL's `age` in calendar fields (see [`crate::value::age`]);
/// - `justify_hours`, `justify_days`, `justify_interval` (see [`crate::value::justify_interval`]).
#[derive(Debug)]
pub struct IntervalFunction {
    name: &'static str,
    signature: Signature,
    body: IntervalBody,
}

/// (months, days, microseconds) of the arguments.
#[derive(Debug, Clone, Copy)]
enum IntervalBody {
    /// Of two timestamps, in microseconds.
    Timestamps(fn(i64, i64) -> (i32, i32, i64)),
    /// Of an interval's months, days and microseconds.
    Interval(fn(i32, i32, i64) -> (i32, i32, i64)),
}

// Two of these are the same function when their names are (the name decides the body).
impl PartialEq for IntervalFunction {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for IntervalFunction {}

impl std::hash::Hash for IntervalFunction {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl IntervalFunction {
    /// Every one, under the name queries call it by.
    pub fn all() -> Vec<Self> {
        let make = |name, body| {
            let arity = if matches!(body, IntervalBody::Timestamps(_)) { 2 } else { 1 };
            Self { name, signature: Signature::any(arity, Volatility::Immutable), body }
        };
        vec![
            make("rhei_ts_diff", IntervalBody::Timestamps(difference)),
            make("rhei_age", IntervalBody::Timestamps(crate::value::age)),
            make("justify_hours", IntervalBody::Interval(crate::value::justify_hours)),
            make("justify_days", IntervalBody::Interval(crate::value::justify_days)),
            make("justify_interval", IntervalBody::Interval(crate::value::justify_interval)),
        ]
    }
}

fn difference(a: i64, b: i64) -> (i32, i32, i64) {
    crate::value::justify_hours(0, 0, a.saturating_sub(b))
}

/// A timestamp array of any unit as microseconds since the epoch.
fn timestamp_micros(value: &ColumnarValue, rows: usize) -> Result<arrow::array::Int64Array> {
    use arrow::datatypes::TimeUnit;
    let array = value.to_array(rows)?;
    let micros = arrow::compute::cast(&array, &DataType::Timestamp(TimeUnit::Microsecond, None))?;
    Ok(arrow::compute::cast(&micros, &DataType::Int64)?.as_primitive::<arrow::datatypes::Int64Type>().clone())
}

impl ScalarUDFImpl for IntervalFunction {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Interval(arrow::datatypes::IntervalUnit::MonthDayNano))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        use arrow::datatypes::{IntervalMonthDayNano, IntervalMonthDayNanoType, IntervalUnit};
        let interval = |(months, days, micros): (i32, i32, i64)| IntervalMonthDayNano::new(months, days, micros.saturating_mul(1000));
        let out: arrow::array::IntervalMonthDayNanoArray = match (self.body, args.args.as_slice()) {
            (IntervalBody::Timestamps(combine), [a, b]) => {
                let (a, b) = (timestamp_micros(a, args.number_rows)?, timestamp_micros(b, args.number_rows)?);
                arrow::compute::kernels::arity::binary(&a, &b, |a, b| interval(combine(a, b)))?
            }
            (IntervalBody::Interval(justify), [_]) => {
                let array = arrow::compute::cast(&first_arg(&args)?, &DataType::Interval(IntervalUnit::MonthDayNano))?;
                array.as_primitive::<IntervalMonthDayNanoType>().unary(|i| interval(justify(i.months, i.days, i.nanoseconds / 1000)))
            }
            _ => return Err(DataFusionError::Internal(format!("{}: wrong number of arguments", self.name))),
        };
        unscalar(Arc::new(out), &args)
    }
}

/// `similar_to_escape(pattern [, escape])`: the POSIX pattern a `SIMILAR TO` pattern stands
/// for, as PostgreSQL's function of that name (see [`crate::similar`]).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct SimilarToEscape {
    signature: Signature,
}

impl Default for SimilarToEscape {
    fn default() -> Self {
        use datafusion::logical_expr::TypeSignature;
        Self { signature: Signature::one_of(vec![TypeSignature::String(1), TypeSignature::String(2)], Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for SimilarToEscape {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn name(&self) -> &str {
        "similar_to_escape"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let text = |value: &ColumnarValue| -> Result<ArrayRef> { Ok(arrow::compute::cast(&value.to_array(args.number_rows)?, &DataType::Utf8)?) };
        let Some(pattern) = args.args.first() else {
            return Err(DataFusionError::Internal("similar_to_escape: missing pattern".into()));
        };
        let patterns = text(pattern)?;
        let escapes = args.args.get(1).map(text).transpose()?;
        let (patterns, escapes) = (patterns.as_string::<i32>(), escapes.as_ref().map(|e| e.as_string::<i32>()));
        let out = (0..args.number_rows)
            .map(|i| {
                if patterns.is_null(i) || escapes.is_some_and(|e| e.is_null(i)) {
                    return Ok(None);
                }
                let escape = crate::similar::escape_character(escapes.map(|e| e.value(i))).map_err(|e| DataFusionError::External(Box::new(e)))?;
                crate::similar::to_regex(patterns.value(i), escape).map(Some).map_err(|e| DataFusionError::External(Box::new(e)))
            })
            .collect::<Result<arrow::array::StringArray>>()?;
        unscalar(Arc::new(out), &args)
    }
}

/// PostgreSQL's functions cutting a text into a text array, cut as the SQLite side does:
/// `regexp_split_to_array(text, pattern [, flags])`, which DataFusion lacks, with the SQLite
/// side's regular expressions (see [`crate::oltp::regex`]), each row's pattern compiled unless
/// it is the previous row's; and `string_to_array(text, delimiter [, null string])`
/// ([`crate::oltp::arrays::split_pieces`]), where DataFusion's own gave the empty text one
/// empty piece and PostgreSQL gives it none.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct SplitToArray {
    by_pattern: bool,
    signature: Signature,
}

impl SplitToArray {
    pub fn both() -> [Self; 2] {
        use datafusion::logical_expr::TypeSignature;
        [false, true].map(|by_pattern| Self {
            by_pattern,
            signature: Signature::one_of(vec![TypeSignature::String(2), TypeSignature::String(3)], Volatility::Immutable),
        })
    }
}

impl ScalarUDFImpl for SplitToArray {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn name(&self) -> &str {
        if self.by_pattern { "regexp_split_to_array" } else { "string_to_array" }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::new_list(DataType::Utf8, true))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let text = |value: &ColumnarValue| -> Result<ArrayRef> { Ok(arrow::compute::cast(&value.to_array(args.number_rows)?, &DataType::Utf8)?) };
        let [texts, cutters] = [args.args.first(), args.args.get(1)].map(|a| a.map(text).transpose());
        let (Some(texts), Some(cutters)) = (texts?, cutters?) else {
            return Err(DataFusionError::Internal(format!("{}: missing arguments", self.name())));
        };
        // The flags of a pattern, the null string of a delimiter.
        let thirds = args.args.get(2).map(text).transpose()?;
        let (texts, cutters, thirds) = (texts.as_string::<i32>(), cutters.as_string::<i32>(), thirds.as_ref().map(|f| f.as_string::<i32>()));
        let third = |i: usize| thirds.and_then(|t| (!t.is_null(i)).then(|| t.value(i)));
        let mut out = arrow::array::ListBuilder::new(arrow::array::StringBuilder::new());
        let mut compiled: Option<(String, String, regex::Regex)> = None;
        for i in 0..args.number_rows {
            if !self.by_pattern {
                if texts.is_null(i) {
                    out.append_null();
                    continue;
                }
                let delimiter = (!cutters.is_null(i)).then(|| cutters.value(i));
                let (pieces, null_string) = (crate::oltp::arrays::split_pieces(texts.value(i), delimiter), third(i));
                out.append_value(pieces.into_iter().map(|piece| (null_string != Some(piece)).then_some(piece)));
                continue;
            }
            if texts.is_null(i) || cutters.is_null(i) || thirds.is_some_and(|f| f.is_null(i)) {
                out.append_null();
                continue;
            }
            let (pattern, flag) = (cutters.value(i), third(i).unwrap_or(""));
            if !compiled.as_ref().is_some_and(|(p, f, _)| p == pattern && f == flag) {
                let (regex, global) = crate::oltp::regex::compile(pattern, flag).map_err(|e| DataFusionError::External(Box::new(e)))?;
                if global {
                    let e = crate::error::EngineError::InvalidArgument { message: "regexp_split_to_array() does not support the \"global\" option".into() };
                    return Err(DataFusionError::External(Box::new(e)));
                }
                compiled = Some((pattern.to_string(), flag.to_string(), regex));
            }
            let Some((_, _, regex)) = &compiled else { unreachable!("compiled just above") };
            out.append_value(crate::oltp::regex::split(regex, texts.value(i)).into_iter().map(Some));
        }
        unscalar(Arc::new(out.finish()), &args)
    }
}

/// PostgreSQL's trigonometric functions in degrees (see [`crate::degree_trig`]).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct DegreeTrig {
    function: crate::degree_trig::DegreeFunction,
    signature: Signature,
}

impl DegreeTrig {
    pub fn all() -> Vec<Self> {
        crate::degree_trig::DegreeFunction::ALL
            .into_iter()
            .map(|function| DegreeTrig {
                function,
                signature: Signature::uniform(function.arity(), vec![DataType::Float64], Volatility::Immutable),
            })
            .collect()
    }
}

impl ScalarUDFImpl for DegreeTrig {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn name(&self) -> &str {
        self.function.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let columns = args.args.iter().map(|a| Ok(a.to_array(rows)?.as_primitive::<Float64Type>().clone())).collect::<Result<Vec<_>>>()?;
        let (Some(x), y) = (columns.first(), columns.get(1)) else {
            return Err(DataFusionError::Internal(format!("{} takes an argument", self.function.name())));
        };
        let values: Float64Array = (0..rows)
            .map(|i| {
                if x.is_null(i) || y.is_some_and(|y| y.is_null(i)) {
                    return Ok(None);
                }
                self.function.apply(x.value(i), y.map_or(0.0, |y| y.value(i))).map(Some)
            })
            .collect::<crate::error::Result<_>>()
            .map_err(external)?;
        unscalar(Arc::new(values), &args)
    }
}

/// `regexp_count`, `regexp_instr`, `regexp_like` and `regexp_substr` with the SQLite side's
/// regular expressions and answers (see [`crate::oltp::regex::Search`]): DataFusion's
/// `regexp_count` counted 0 in a NULL text (PostgreSQL: NULL) and it has no `regexp_substr`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RegexpSearch {
    search: crate::oltp::regex::Search,
    signature: Signature,
}

impl RegexpSearch {
    pub fn all() -> Vec<Self> {
        use datafusion::logical_expr::TypeSignature;
        crate::oltp::regex::Search::ALL
            .into_iter()
            .map(|search| RegexpSearch {
                search,
                signature: Signature::one_of(search.arities().map(TypeSignature::Any).collect(), Volatility::Immutable),
            })
            .collect()
    }
}

impl ScalarUDFImpl for RegexpSearch {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn name(&self) -> &str {
        self.search.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        use crate::oltp::regex::Search;
        Ok(match self.search {
            Search::Count | Search::Instr => DataType::Int32,
            Search::Like => DataType::Boolean,
            Search::Substr => DataType::Utf8,
            Search::Match | Search::MatchesRow => DataType::new_list(DataType::Utf8, true),
            Search::MatchesRows => DataType::new_list(DataType::Int64, true),
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        use crate::oltp::regex::SearchAnswer;
        let rows = args.number_rows;
        let flags_at = self.search.flags_at();
        let columns = args
            .args
            .iter()
            .enumerate()
            .map(|(i, value)| {
                let array = value.to_array(rows)?;
                let texts = matches!(i, 0 | 1) || i == flags_at;
                Ok(arrow::compute::cast(&array, if texts { &DataType::Utf8 } else { &DataType::Int64 })?)
            })
            .collect::<Result<Vec<ArrayRef>>>()?;
        let (texts, numbers): (Vec<(usize, &ArrayRef)>, Vec<(usize, &ArrayRef)>) =
            columns.iter().enumerate().partition(|(i, _)| matches!(i, 0 | 1) || *i == flags_at);
        let texts: Vec<&arrow::array::StringArray> = texts.into_iter().map(|(_, a)| a.as_string::<i32>()).collect();
        let numbers: Vec<&arrow::array::Int64Array> = numbers.into_iter().map(|(_, a)| a.as_primitive::<arrow::datatypes::Int64Type>()).collect();
        let mut compiled: Option<(String, String, regex::Regex, bool)> = None;
        let mut answers = Vec::with_capacity(rows);
        for i in 0..rows {
            if texts.iter().any(|t| t.is_null(i)) || numbers.iter().any(|n| n.is_null(i)) {
                answers.push(None);
                continue;
            }
            let (text, pattern) = (texts[0].value(i), texts[1].value(i));
            let flags = texts.get(2).map_or("", |f| f.value(i));
            if !compiled.as_ref().is_some_and(|(p, f, ..)| p == pattern && f == flags) {
                let (regex, global) = crate::oltp::regex::compile(pattern, flags).map_err(external)?;
                compiled = Some((pattern.to_string(), flags.to_string(), regex, global));
            }
            let Some((_, _, regex, global)) = &compiled else { unreachable!("compiled just above") };
            let values: Vec<i64> = numbers.iter().map(|n| n.value(i)).collect();
            answers.push(Some(self.search.answer(regex, *global, text, &values).map_err(external)?));
        }
        let array: ArrayRef = match self.search {
            crate::oltp::regex::Search::Count | crate::oltp::regex::Search::Instr => Arc::new(
                answers.into_iter().map(|a| a.and_then(|a| if let SearchAnswer::Integer(n) = a { Some(n) } else { None })).collect::<arrow::array::Int32Array>(),
            ),
            crate::oltp::regex::Search::Like => Arc::new(
                answers.into_iter().map(|a| a.and_then(|a| if let SearchAnswer::Boolean(b) = a { Some(b) } else { None })).collect::<arrow::array::BooleanArray>(),
            ),
            crate::oltp::regex::Search::Substr => Arc::new(
                answers.into_iter().map(|a| a.and_then(|a| if let SearchAnswer::Text(t) = a { t } else { None })).collect::<arrow::array::StringArray>(),
            ),
            crate::oltp::regex::Search::Match | crate::oltp::regex::Search::MatchesRow => {
                let mut out = arrow::array::ListBuilder::new(arrow::array::StringBuilder::new());
                for answer in answers {
                    match answer {
                        Some(SearchAnswer::Texts(Some(items))) => out.append_value(items),
                        _ => out.append_null(),
                    }
                }
                Arc::new(out.finish())
            }
            crate::oltp::regex::Search::MatchesRows => {
                let mut out = arrow::array::ListBuilder::new(arrow::array::Int64Builder::new());
                for answer in answers {
                    match answer {
                        Some(SearchAnswer::Integers(rows)) => out.append_value(rows.into_iter().map(Some)),
                        _ => out.append_null(),
                    }
                }
                Arc::new(out.finish())
            }
        };
        unscalar(array, &args)
    }
}

/// `rhei_instant(t, zone)`: the instant a timestamp without time zone names in `zone` (an ISO
/// offset or an IANA name, see [`crate::zone::TimeZone::of_arrow`]), with PostgreSQL's
/// answers for daylight-saving gaps and overlaps: how PostgreSQL casts a timestamp to
/// timestamptz beside a timestamptz, where DataFusion would read it as UTC.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Instant {
    signature: Signature,
}

impl Default for Instant {
    fn default() -> Self {
        Self { signature: Signature::any(2, Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for Instant {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn name(&self) -> &str {
        "rhei_instant"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, Some("UTC".into())))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [local, zone] = args.args.as_slice() else {
            return Err(DataFusionError::Internal("rhei_instant: wrong number of arguments".into()));
        };
        let ColumnarValue::Scalar(zone) = zone else {
            return Err(DataFusionError::Internal("rhei_instant: the zone must be a constant".into()));
        };
        let zone = crate::zone::TimeZone::of_arrow(&zone.to_string());
        let micros = timestamp_micros(local, args.number_rows)?;
        let instants: arrow::array::TimestampMicrosecondArray = micros.unary(|m| zone.utc(m));
        unscalar(Arc::new(instants.with_timezone("UTC")), &args)
    }
}

/// Declares an immutable UDF of signature `$signature` whose result type `$returns` computes
/// from its argument types `$types`: the struct and the parts of `ScalarUDFImpl` DataFusion
/// wants around its `invoke_with_args` body. `field |args| ...` gives the result field where
/// it carries more than its type (a declared type in its metadata).
macro_rules! simple_udf {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $signature:expr, |$types:ident| $returns:expr, $(field |$field_args:ident| $field:block,)? |$call:ident| $body:block) => {
        $(#[$doc])*
        #[derive(Debug, PartialEq, Eq, Hash)]
        pub struct $ty {
            signature: Signature,
        }

        impl Default for $ty {
            fn default() -> Self {
                Self { signature: $signature }
            }
        }

        impl ScalarUDFImpl for $ty {
            fn as_any(&self) -> &dyn Any {
                self
            }

            fn name(&self) -> &str {
                $name
            }

            fn signature(&self) -> &Signature {
                &self.signature
            }

            fn return_type(&self, $types: &[DataType]) -> Result<DataType> {
                Ok($returns)
            }

            $(fn return_field_from_args(&self, $field_args: ReturnFieldArgs) -> Result<FieldRef> $field)?

            fn invoke_with_args(&self, $call: ScalarFunctionArgs) -> Result<ColumnarValue> $body
        }
    };
}

/// A [`simple_udf!`] of `$args` arguments of any type returning text.
macro_rules! text_udf {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $args:literal, |$call:ident| $body:block) => {
        simple_udf!($(#[$doc])* $ty, $name, Signature::any($args, Volatility::Immutable), |_types| DataType::Utf8, |$call| $body);
    };
}

/// `make_timestamp`'s fields row by row, and with `zoned` the zone of the seventh argument
/// (see `oltp::functions`' functions of the same names): microseconds of the instant.
/// Argument `i` of a function of date/time fields as `to` (Int64 or Float64): an integer field
/// is cast, anything else read from its text (Arrow's cast would cut a fraction or give NULL
/// for text, where SQLite's functions refuse both).
fn time_field(args: &ScalarFunctionArgs, i: usize, to: &DataType, type_name: &'static str) -> Result<ArrayRef> {
    let value = args.args.get(i).ok_or_else(|| DataFusionError::Internal("missing argument".into()))?.to_array(args.number_rows)?;
    let numeric = if *to == DataType::Int64 { value.data_type().is_integer() } else { value.data_type().is_numeric() };
    if numeric || value.data_type() == &DataType::Null {
        return Ok(arrow::compute::cast(&value, to)?);
    }
    let text = arrow::compute::cast(&value, &DataType::Utf8)?;
    let text = text.as_string::<i32>();
    let invalid = |t: &str| external(crate::error::EngineError::InvalidTextRepresentation { type_name: type_name.into(), value: t.to_string() });
    Ok(if *to == DataType::Int64 {
        Arc::new(text.iter().map(|t| t.map(|t| t.trim().parse::<i64>().map_err(|_| invalid(t))).transpose()).collect::<Result<arrow::array::Int64Array>>()?) as ArrayRef
    } else {
        Arc::new(text.iter().map(|t| t.map(|t| t.trim().parse::<f64>().map_err(|_| invalid(t))).transpose()).collect::<Result<Float64Array>>()?) as ArrayRef
    })
}

fn made_timestamps(args: &ScalarFunctionArgs, zoned: bool) -> Result<ColumnarValue> {
    use arrow::datatypes::Int64Type;
    let rows = args.number_rows;
    let fields: Vec<ArrayRef> = (0..5).map(|i| time_field(args, i, &DataType::Int64, "integer")).collect::<Result<_>>()?;
    let seconds = time_field(args, 5, &DataType::Float64, "double precision")?;
    let zones = match args.args.get(6) {
        Some(zone) if zoned => Some(arrow::compute::cast(&zone.to_array(rows)?, &DataType::Utf8)?),
        _ => None,
    };
    let mut out = arrow::array::TimestampMicrosecondBuilder::with_capacity(rows);
    for row in 0..rows {
        let nulls = fields.iter().chain(std::iter::once(&seconds)).chain(zones.iter()).any(|a| a.is_null(row));
        if nulls {
            out.append_null();
            continue;
        }
        let f = |i: usize| fields[i].as_primitive::<Int64Type>().value(row);
        let local = crate::value::make_timestamp_micros(f(0), f(1), f(2), f(3), f(4), seconds.as_primitive::<Float64Type>().value(row)).map_err(external)?;
        let micros = match &zones {
            Some(zones) => {
                let text = zones.as_string::<i32>().value(row);
                let zone = crate::zone::TimeZone::of_argument(text).ok_or_else(|| external(crate::error::EngineError::UnrecognizedTimeZone { zone: text.to_string() }))?;
                zone.utc(local)
            }
            None => local,
        };
        out.append_value(micros);
    }
    let array: ArrayRef = if zoned { Arc::new(out.finish().with_timezone("UTC")) } else { Arc::new(out.finish()) };
    unscalar(array, args)
}

simple_udf!(
    /// `pg_typeof(value)` of a value the statement does not type (see `translate::type_of`):
    /// the PostgreSQL type its result field declares, or its Arrow type's.
    TypeOf,
    "pg_typeof",
    Signature::any(1, Volatility::Immutable),
    |_types| DataType::Utf8,
    |args| {
        let field = args.arg_fields.first().ok_or_else(|| DataFusionError::Internal("missing argument".into()))?;
        let declared = field.metadata().get(crate::catalog::types::PG_TYPE_METADATA).and_then(|name| crate::catalog::PgType::from_pg_name(name));
        let name = match declared {
            Some(ty) => crate::translate::type_of::regtype_name(ty),
            None => arrow_type_name(field.data_type()),
        };
        Ok(ColumnarValue::Scalar(ScalarValue::Utf8(Some(name))))
    }
);

/// The PostgreSQL type a computed value of Arrow type `ty` has in rhei's results.
fn arrow_type_name(ty: &DataType) -> String {
    match ty {
        DataType::Null => "unknown".into(),
        DataType::Boolean => "boolean".into(),
        DataType::Int8 | DataType::Int16 | DataType::UInt8 => "smallint".into(),
        DataType::Int32 | DataType::UInt16 => "integer".into(),
        DataType::Int64 | DataType::UInt32 => "bigint".into(),
        DataType::Float16 | DataType::Float32 => "real".into(),
        DataType::Float64 => "double precision".into(),
        DataType::UInt64 | DataType::Decimal128(..) | DataType::Decimal256(..) => "numeric".into(),
        DataType::Date32 | DataType::Date64 => "date".into(),
        DataType::Timestamp(_, None) => "timestamp without time zone".into(),
        DataType::Timestamp(_, Some(_)) => "timestamp with time zone".into(),
        DataType::Time32(_) | DataType::Time64(_) => "time without time zone".into(),
        DataType::Interval(_) | DataType::Duration(_) => "interval".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => "bytea".into(),
        DataType::List(element) | DataType::LargeList(element) | DataType::FixedSizeList(element, _) => format!("{}[]", arrow_type_name(element.data_type())),
        _ => "text".into(),
    }
}

simple_udf!(
    /// `make_timestamp(year, month, day, hour, min, sec)`, which DataFusion has not.
    MakeTimestamp,
    "make_timestamp",
    Signature::any(6, Volatility::Immutable),
    |_types| DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, None),
    |args| { made_timestamps(&args, false) }
);

simple_udf!(
    /// `rhei_make_timestamptz(year, month, day, hour, min, sec, zone)`: `make_timestamptz` in
    /// the session's zone or the one it names (see `translate::olap`).
    MakeTimestamptz,
    "rhei_make_timestamptz",
    Signature::any(7, Volatility::Immutable),
    |_types| DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, Some("UTC".into())),
    |args| { made_timestamps(&args, true) }
);

simple_udf!(
    /// `rhei_json_items(a)`: an array of JSON values (`array_agg(row_to_json(t))`) as one JSON
    /// array of them, written as `array_to_json` writes it (`[{"a":1},null]`); its `to_json`
    /// would take each value for a string.
    JsonItems,
    "rhei_json_items",
    Signature::any(1, Volatility::Immutable),
    |_types| DataType::Utf8,
    field |_args| { Ok(Arc::new(crate::catalog::PgType::Json.arrow_field("rhei_json_items", true))) },
    |args| {
        let rows = args.number_rows;
        let Some(value) = args.args.first() else { return Err(DataFusionError::Internal("missing argument".into())) };
        let text: arrow::array::StringArray = gathered_texts(value, rows)?.into_iter().map(|items| items.map(|items| crate::json::items_array(&items))).collect();
        unscalar(Arc::new(text), &args)
    }
);

text_udf!(
    /// `rhei_interval_text(i)`: an interval as PostgreSQL's text (`1 day 01:30:00`), where
    /// DataFusion's cast gives `1 days 1 hours 30 mins`.
    IntervalText,
    "rhei_interval_text",
    1,
    |args| {
        use arrow::datatypes::{IntervalMonthDayNanoType, IntervalUnit};
        let array = first_arg(&args)?;
        let intervals = arrow::compute::cast(&array, &DataType::Interval(IntervalUnit::MonthDayNano))?;
        let text: arrow::array::StringArray = intervals
            .as_primitive::<IntervalMonthDayNanoType>()
            .iter()
            .map(|i| i.map(|i| crate::value::format_interval(i.months, i.days, i.nanoseconds / 1000)))
            .collect();
        unscalar(Arc::new(text), &args)
    }
);

text_udf!(
    /// `rhei_as_text(v)`: a value cast to text as a result of its own, written as PostgreSQL
    /// writes it. DataFusion's CAST to the same Arrow type keeps the column's declared type, so
    /// `code::text` of a char(5) was still padded on output and `id::text` of a uuid described
    /// as a uuid; and its cast writes a bytea's bytes as text, a float as `1e20` (`1e+20`) and
    /// an unconstrained numeric at the copy's fixed scale (`2.5000000000`), an array as a list.
    AsText,
    "rhei_as_text",
    1,
    |args| {
        let array = first_arg(&args)?;
        let unconstrained = args.arg_fields.first().is_some_and(|f| crate::catalog::types::declares_unconstrained_numeric(f));
        let text: arrow::array::StringArray = match array.data_type() {
            DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
                let bytes = arrow::compute::cast(&array, &DataType::Binary)?;
                bytes.as_binary::<i32>().iter().map(|b| b.map(crate::bytea::output)).collect()
            }
            DataType::Float32 | DataType::Float64 | DataType::Decimal128(..) | DataType::Decimal256(..) => (0..array.len())
                .map(|i| {
                    crate::copy::pg_text(&array, i).map(|text| match array.data_type() {
                        DataType::Decimal128(_, scale) if unconstrained => {
                            let (value, scale) = crate::value::without_trailing_zeros(array.as_primitive::<Decimal128Type>().value(i), *scale);
                            crate::value::format_decimal(value, scale)
                        }
                        _ => text,
                    })
                })
                .collect(),
            // An array as PostgreSQL writes one (`{a,"b c",NULL}`); DataFusion's is `[a, b c, ]`.
            DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..) => (0..array.len()).map(|i| crate::copy::pg_text(&array, i)).collect(),
            _ => return unscalar(arrow::compute::cast(&array, &DataType::Utf8)?, &args),
        };
        unscalar(Arc::new(text), &args)
    }
);

text_udf!(
    /// `rhei_normalize(text, form)`: `normalize` (see `crate::unicode_text`), which DataFusion
    /// has not.
    Normalize,
    "rhei_normalize",
    2,
    |args| {
        let rows = args.number_rows;
        let (text, forms) = (texts(&args.args[0], rows)?, texts(&args.args[1], rows)?);
        let normalized: arrow::array::StringArray = (0..rows)
            .map(|i| match (text.is_valid(i), forms.is_valid(i)) {
                (true, true) => crate::unicode_text::normalize(text.value(i), forms.value(i)).map(Some).map_err(external),
                _ => Ok(None),
            })
            .collect::<Result<_>>()?;
        unscalar(Arc::new(normalized), &args)
    }
);

text_udf!(
    /// `unistr(text)`: Unicode escapes read (see `crate::unicode_text`).
    Unistr,
    "unistr",
    1,
    |args| {
        let text = texts(&args.args[0], args.number_rows)?;
        let read: arrow::array::StringArray = text.iter().map(|t| t.map(crate::unicode_text::unistr).transpose().map_err(external)).collect::<Result<_>>()?;
        unscalar(Arc::new(read), &args)
    }
);

/// `f` of the text of each value of the one argument (NULL stays NULL).
fn each_text(args: &ScalarFunctionArgs, f: fn(&str) -> String) -> Result<ColumnarValue> {
    let array = arrow::compute::cast(&first_arg(args)?, &DataType::Utf8)?;
    let text: arrow::array::StringArray = array.as_string::<i32>().iter().map(|v| v.map(f)).collect();
    unscalar(Arc::new(text), args)
}

/// The values `to_date` (`timestamp` false: days) or `to_timestamp` (microseconds of the instant
/// the wall-clock time names in the zone of the third argument) reads from text by a pattern
/// (see [`crate::datetime_input`]).
fn datetime_input(args: &ScalarFunctionArgs, timestamp: bool) -> Result<Vec<Option<i64>>> {
    let rows = args.number_rows;
    let texts = arrow::compute::cast(&args.args[0].to_array(rows)?, &DataType::Utf8)?;
    let patterns = arrow::compute::cast(&args.args[1].to_array(rows)?, &DataType::Utf8)?;
    let (texts, patterns) = (texts.as_string::<i32>(), patterns.as_string::<i32>());
    let zone = match args.args.get(2) {
        Some(ColumnarValue::Scalar(zone)) => crate::zone::TimeZone::of_arrow(&zone.to_string()),
        _ => crate::zone::TimeZone::UTC,
    };
    let read = |i: usize| -> crate::error::Result<Option<i64>> {
        if texts.is_null(i) || patterns.is_null(i) {
            return Ok(None);
        }
        Ok(Some(if timestamp {
            zone.utc(crate::datetime_input::to_timestamp_local(texts.value(i), patterns.value(i))?)
        } else {
            crate::datetime_input::to_date(texts.value(i), patterns.value(i))?
        }))
    };
    (0..rows).map(read).collect::<crate::error::Result<Vec<_>>>().map_err(external)
}

simple_udf!(
    /// `rhei_array_key(a)`: bytes that sort as PostgreSQL orders arrays (see
    /// `oltp::arrays::sort_key`, which SQLite uses too); DataFusion's own comparison of lists
    /// takes a NULL element as the smallest, PostgreSQL as the largest.
    ArrayKey,
    "rhei_array_key",
    Signature::any(1, Volatility::Immutable),
    |_types| DataType::Binary,
    |args| {
        use arrow::datatypes::{Decimal128Type, Float32Type, Float64Type};
        let lists = first_arg(&args)?;
        let lists = arrow::compute::cast(&lists, &DataType::List(match lists.data_type() {
            DataType::List(element) | DataType::LargeList(element) | DataType::FixedSizeList(element, _) => element.clone(),
            other => return Err(DataFusionError::Internal(format!("rhei_array_key of {other}"))),
        }))?;
        let lists = lists.as_list::<i32>();
        let element_type = match lists.value_type() {
            DataType::Float32 | DataType::Float64 => crate::catalog::PgType::Float8,
            DataType::Decimal128(p, s) => crate::catalog::PgType::Numeric { precision: Some(p), scale: Some(s) },
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => crate::catalog::PgType::Text,
            _ => crate::catalog::PgType::Int8,
        };
        let mut keys = arrow::array::BinaryBuilder::new();
        for row in 0..lists.len() {
            if lists.is_null(row) {
                keys.append_null();
                continue;
            }
            let elements = lists.value(row);
            let items: Vec<serde_json::Value> = (0..elements.len())
                .map(|i| {
                    if elements.is_null(i) {
                        return serde_json::Value::Null;
                    }
                    // Each element as SQLite holds it (see `catalog::PgType::Array`): floats
                    // as their text (NaN and the infinities have no JSON number), numeric
                    // as its text, text as text, everything else as its integer.
                    match elements.data_type() {
                        DataType::Float32 => serde_json::Value::String(crate::value::format_float8(f64::from(elements.as_primitive::<Float32Type>().value(i)))),
                        DataType::Float64 => serde_json::Value::String(crate::value::format_float8(elements.as_primitive::<Float64Type>().value(i))),
                        DataType::Decimal128(_, s) => serde_json::Value::String(crate::value::format_decimal(elements.as_primitive::<Decimal128Type>().value(i), *s)),
                        DataType::Boolean => serde_json::Value::from(i64::from(elements.as_boolean().value(i))),
                        _ if matches!(element_type, crate::catalog::PgType::Text) => crate::copy::pg_text(&elements, i).map_or(serde_json::Value::Null, serde_json::Value::String),
                        _ => arrow::compute::cast(&elements.slice(i, 1), &DataType::Int64)
                            .ok()
                            .and_then(|n| n.as_primitive_opt::<arrow::datatypes::Int64Type>().map(|n| serde_json::Value::from(n.value(0))))
                            .unwrap_or(serde_json::Value::Null),
                    }
                })
                .collect();
            keys.append_value(crate::oltp::arrays::sort_key(&items, element_type));
        }
        unscalar(Arc::new(keys.finish()), &args)
    }
);

simple_udf!(
    /// `rhei_to_date(text, pattern)`: PostgreSQL's `to_date` of text.
    ToDate,
    "rhei_to_date",
    Signature::any(2, Volatility::Immutable),
    |_types| DataType::Date32,
    |args| {
        let days = datetime_input(&args, false)?
            .into_iter()
            .map(|d| d.map(|d| i32::try_from(d).map_err(|_| external(crate::error::EngineError::DatetimeFieldOverflow { value: d.to_string() }))).transpose())
            .collect::<Result<Vec<_>>>()?;
        unscalar(Arc::new(arrow::array::Date32Array::from(days)), &args)
    }
);

simple_udf!(
    /// `rhei_to_timestamp(text, pattern, zone)`: PostgreSQL's `to_timestamp` of text.
    ToTimestamp,
    "rhei_to_timestamp",
    Signature::any(3, Volatility::Immutable),
    |_types| DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, Some("UTC".into())),
    |args| {
        let micros = datetime_input(&args, true)?;
        unscalar(Arc::new(arrow::array::TimestampMicrosecondArray::from(micros).with_timezone("UTC")), &args)
    }
);

simple_udf!(
    /// `rhei_round_timestamp(t, digits)`: a timestamp rounded to `digits` fraction digits (see
    /// [`crate::value::round_micros`]), of the same type.
    RoundTimestamp,
    "rhei_round_timestamp",
    Signature::any(2, Volatility::Immutable),
    |types| match types.first() {
        Some(DataType::Timestamp(_, zone)) => DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, zone.clone()),
        _ => DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, None),
    },
    |args| {
        let [timestamp, digits] = args.args.as_slice() else {
            return Err(DataFusionError::Internal("rhei_round_timestamp: wrong number of arguments".into()));
        };
        let ColumnarValue::Scalar(ScalarValue::Int64(Some(digits))) = digits else {
            return Err(DataFusionError::Internal("rhei_round_timestamp: the digits must be a constant".into()));
        };
        let zone = match timestamp.data_type() {
            DataType::Timestamp(_, zone) => zone,
            _ => None,
        };
        let rounded: arrow::array::TimestampMicrosecondArray =
            timestamp_micros(timestamp, args.number_rows)?.iter().map(|t| t.map(|t| crate::value::round_micros(t, *digits))).collect();
        unscalar(Arc::new(rounded.with_timezone_opt(zone)), &args)
    }
);

/// Each row of a `time` value as microseconds since midnight.
fn time_micros(value: &ColumnarValue, rows: usize) -> Result<arrow::array::Int64Array> {
    let micros = arrow::compute::cast(&value.to_array(rows)?, &DataType::Time64(arrow::datatypes::TimeUnit::Microsecond))?;
    Ok(arrow::compute::cast(&micros, &DataType::Int64)?.as_primitive::<arrow::datatypes::Int64Type>().clone())
}

simple_udf!(
    /// `rhei_cannot_cast_to_time(from)`: fails as PostgreSQL does for a cast to time from a type
    /// it has no cast from (42846), where a row evaluates it; Arrow would read a number as
    /// microseconds.
    CannotCastToTime,
    "rhei_cannot_cast_to_time",
    Signature::any(1, Volatility::Volatile),
    |_types| DataType::Time64(arrow::datatypes::TimeUnit::Microsecond),
    |args| {
        if args.number_rows == 0 {
            return Ok(ColumnarValue::Scalar(ScalarValue::Time64Microsecond(None)));
        }
        let from = match args.args.first() {
            Some(ColumnarValue::Scalar(ScalarValue::Utf8(Some(from)))) => from.clone(),
            _ => String::new(),
        };
        Err(external(crate::error::EngineError::CannotCoerce { from, to: "time without time zone".into() }))
    }
);

simple_udf!(
    /// `rhei_interval_part(field, i)`: a field of an interval as PostgreSQL's extract and
    /// date_part read it (see [`crate::value::Interval::part`]): an epoch counts a year as
    /// 365.25 days (DataFusion's 360), a field of timestamps only is refused as there.
    IntervalPart,
    "rhei_interval_part",
    Signature::any(2, Volatility::Immutable),
    |_types| DataType::Float64,
    |args| {
        use arrow::datatypes::{IntervalMonthDayNanoType, IntervalUnit};
        let [field, interval] = args.args.as_slice() else {
            return Err(DataFusionError::Internal("rhei_interval_part: wrong number of arguments".into()));
        };
        let field = match field {
            ColumnarValue::Scalar(ScalarValue::Utf8(Some(field))) => field,
            // date_part is strict: a NULL field gives NULL.
            ColumnarValue::Scalar(null) if null.is_null() => return Ok(ColumnarValue::Scalar(ScalarValue::Float64(None))),
            _ => return Err(external(crate::error::EngineError::unsupported("date_part of an interval with a field that is not a constant on the OLAP engine"))),
        };
        let intervals = arrow::compute::cast(&interval.to_array(args.number_rows)?, &DataType::Interval(IntervalUnit::MonthDayNano))?;
        let parts = intervals
            .as_primitive::<IntervalMonthDayNanoType>()
            .iter()
            .map(|value| {
                value
                    .map(|v| crate::value::Interval::of_arrow(v).part_or_error(field))
                    .transpose()
            })
            .collect::<std::result::Result<Float64Array, _>>()
            .map_err(external)?;
        unscalar(Arc::new(parts), &args)
    }
);

simple_udf!(
    /// `rhei_round_time(t, digits)`: a time of day rounded to `digits` fraction digits (see
    /// [`crate::value::round_time_micros`]).
    RoundTime,
    "rhei_round_time",
    Signature::any(2, Volatility::Immutable),
    |_types| DataType::Time64(arrow::datatypes::TimeUnit::Microsecond),
    |args| {
        let [time, digits] = args.args.as_slice() else {
            return Err(DataFusionError::Internal("rhei_round_time: wrong number of arguments".into()));
        };
        let ColumnarValue::Scalar(ScalarValue::Int64(Some(digits))) = digits else {
            return Err(DataFusionError::Internal("rhei_round_time: the digits must be a constant".into()));
        };
        let rounded: arrow::array::Time64MicrosecondArray =
            time_micros(time, args.number_rows)?.iter().map(|t| t.map(|t| crate::value::round_time_micros(t, *digits))).collect();
        unscalar(Arc::new(rounded), &args)
    }
);

simple_udf!(
    /// `rhei_percentile(f)`: an ordered-set aggregate's fraction as a double, once it is within
    /// 0..1 (22003 otherwise, as PostgreSQL says it); NULL stays NULL.
    Percentile,
    "rhei_percentile",
    Signature::any(1, Volatility::Immutable),
    |_types| DataType::Float64,
    |args| {
        let fractions = arrow::compute::cast(&first_arg(&args)?, &DataType::Float64)?;
        for f in fractions.as_primitive::<Float64Type>().iter().flatten() {
            if !(0.0..=1.0).contains(&f) {
                return Err(external(crate::error::EngineError::PercentileOutOfRange { value: crate::value::format_float8(f) }));
            }
        }
        unscalar(fractions, &args)
    }
);

simple_udf!(
    /// `rhei_like_any(value, patterns, how)`: `value [NOT] [I]LIKE ANY (patterns)` over a list
    /// of patterns (see [`crate::like`]; `how` a constant).
    LikeAny,
    "rhei_like_any",
    Signature::any(3, Volatility::Immutable),
    |_types| DataType::Boolean,
    |args| {
        let Some(ColumnarValue::Scalar(how)) = args.args.get(2) else {
            return Err(DataFusionError::Internal("rhei_like_any: the operator must be a constant".into()));
        };
        let how = match how {
            ScalarValue::Int64(Some(h)) => *h,
            ScalarValue::Int32(Some(h)) => i64::from(*h),
            other => return Err(DataFusionError::Internal(format!("rhei_like_any: operator {other}"))),
        };
        let values = arrow::compute::cast(&first_arg(&args)?, &DataType::Utf8)?;
        let values = values.as_string::<i32>();
        let Some(lists) = args.args.get(1) else { return Err(DataFusionError::Internal("rhei_like_any: no patterns".into())) };
        let lists = lists.to_array(args.number_rows)?;
        let lists = match lists.data_type() {
            DataType::List(element) | DataType::LargeList(element) => {
                arrow::compute::cast(&lists, &DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))))
                    .map_err(|e| DataFusionError::Plan(format!("LIKE ANY over a list of {}: {e}", element.data_type())))?
            }
            DataType::Null => arrow::array::new_null_array(&DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))), args.number_rows),
            other => return Err(DataFusionError::Plan(format!("LIKE ANY takes an array, not {other}"))),
        };
        let lists = lists.as_list::<i32>();
        let answers: arrow::array::BooleanArray = (0..args.number_rows)
            .map(|i| {
                if lists.is_null(i) {
                    return None;
                }
                let patterns = lists.value(i);
                let patterns = patterns.as_string::<i32>();
                let value = (!values.is_null(i)).then(|| values.value(i));
                crate::like::any(value, patterns.iter(), how)
            })
            .collect();
        unscalar(Arc::new(answers), &args)
    }
);

simple_udf!(
    /// `rhei_mode(values, descending)`: of values sorted ascending, the first of the most
    /// frequent, or with `descending` the last (the first in descending order); NULL for none.
    Mode,
    "rhei_mode",
    Signature::any(2, Volatility::Immutable),
    |types| match types.first() {
        Some(DataType::List(element) | DataType::LargeList(element)) => element.data_type().clone(),
        _ => DataType::Null,
    },
    |args| {
        let rows = args.number_rows;
        let Some(ColumnarValue::Scalar(ScalarValue::Boolean(Some(descending)))) = args.args.get(1) else {
            return Err(DataFusionError::Internal("rhei_mode: the order must be a constant".into()));
        };
        let lists = first_arg(&args)?;
        let lists = arrow::compute::cast(&lists, &DataType::List(match lists.data_type() {
            DataType::List(element) | DataType::LargeList(element) => element.clone(),
            other => return Err(DataFusionError::Internal(format!("rhei_mode takes a list, not {other}"))),
        }))?;
        let lists = lists.as_list::<i32>();
        let none = ScalarValue::try_from(lists.value_type())?;
        let modes = (0..rows)
            .map(|i| {
                if lists.is_null(i) {
                    return Ok(none.clone());
                }
                let values = lists.value(i);
                // Compared in place: a ScalarValue per element allocated for every text value.
                let compare = arrow::array::make_comparator(values.as_ref(), values.as_ref(), arrow::compute::SortOptions::default())?;
                let (mut best, mut best_count, mut run_start) = (None, 0, 0);
                for k in 1..=values.len() {
                    let run_ends = k == values.len() || compare(k, run_start) != std::cmp::Ordering::Equal;
                    if run_ends {
                        let count = k - run_start;
                        if count > best_count || (*descending && count == best_count) {
                            (best, best_count) = (Some(run_start), count);
                        }
                        run_start = k;
                    }
                }
                best.map_or(Ok(none.clone()), |at| ScalarValue::try_from_array(&values, at))
            })
            .collect::<Result<Vec<_>>>()?;
        if modes.is_empty() {
            return unscalar(arrow::array::new_empty_array(&lists.value_type()), &args);
        }
        unscalar(ScalarValue::iter_to_array(modes)?, &args)
    }
);

simple_udf!(
    /// `width_bucket(operand, low, high, count)` (see [`crate::value::width_bucket`]).
    WidthBucket,
    "width_bucket",
    Signature::any(4, Volatility::Immutable),
    |_types| DataType::Int32,
    |args| {
        let rows = args.number_rows;
        let [operand, low, high, count] = args.args.as_slice() else {
            return Err(DataFusionError::Internal("width_bucket takes four arguments".into()));
        };
        let (operand, low, high) = (operand.to_array(rows)?, low.to_array(rows)?, high.to_array(rows)?);
        let count = arrow::compute::cast(&count.to_array(rows)?, &DataType::Int64)?;
        let count = count.as_primitive::<arrow::datatypes::Int64Type>();
        let buckets = (0..rows)
            .map(|i| {
                // Each number as PostgreSQL writes it: a double's shortest text, a decimal's own.
                let text = |a: &ArrayRef| match a.data_type() {
                    DataType::Float64 => (!a.is_null(i)).then(|| format!("{}", a.as_primitive::<Float64Type>().value(i))),
                    DataType::Float32 => (!a.is_null(i)).then(|| format!("{}", a.as_primitive::<Float32Type>().value(i))),
                    _ => crate::copy::pg_text(a, i),
                };
                match (text(&operand), text(&low), text(&high), count.is_null(i)) {
                    (Some(o), Some(l), Some(h), false) => crate::value::width_bucket(&o, &l, &h, count.value(i)).map(Some),
                    _ => Ok(None),
                }
            })
            .collect::<crate::error::Result<arrow::array::Int32Array>>()
            .map_err(external)?;
        unscalar(Arc::new(buckets), &args)
    }
);

simple_udf!(
    /// `rhei_to_hex(n, bits)` (see [`crate::value::to_hex`]).
    ToHex,
    "rhei_to_hex",
    Signature::any(2, Volatility::Immutable),
    |_types| DataType::Utf8,
    |args| {
        let Some(ColumnarValue::Scalar(ScalarValue::Int64(Some(bits)))) = args.args.get(1) else {
            return Err(DataFusionError::Internal("rhei_to_hex: the width must be a constant".into()));
        };
        let values = arrow::compute::cast(&first_arg(&args)?, &DataType::Int64)?;
        let text: arrow::array::StringArray = values.as_primitive::<arrow::datatypes::Int64Type>().iter().map(|v| v.map(|v| crate::value::to_hex(v, *bits))).collect();
        unscalar(Arc::new(text), &args)
    }
);

text_udf!(
    /// `quote_ident(name)`: quoted only where PostgreSQL's is (see [`crate::naming::display_ident`]).
    QuoteIdent,
    "quote_ident",
    1,
    |args| { each_text(&args, crate::naming::display_ident) }
);

text_udf!(
    /// `pg_size_pretty(bytes)` (see [`crate::text_format::size_pretty`]).
    SizePretty,
    "pg_size_pretty",
    1,
    |args| {
        let array = first_arg(&args)?;
        let text: arrow::array::StringArray = (0..array.len())
            .map(|i| crate::copy::pg_text(&array, i).map(|bytes| crate::text_format::size_pretty(&bytes)).transpose())
            .collect::<std::result::Result<_, _>>()
            .map_err(external)?;
        unscalar(Arc::new(text), &args)
    }
);

simple_udf!(
    /// `rhei_math_domain(x, 'sqrt' | 'log')`: `x` itself once it is in the domain of a square
    /// root or logarithm (see [`crate::value::check_math_domain`]); the translation puts it
    /// around their arguments.
    MathDomain,
    "rhei_math_domain",
    Signature::any(2, Volatility::Immutable),
    |types| types.first().cloned().unwrap_or(DataType::Null),
    |args| {
        let [value, domain] = args.args.as_slice() else {
            return Err(DataFusionError::Internal("rhei_math_domain: wrong number of arguments".into()));
        };
        let ColumnarValue::Scalar(ScalarValue::Utf8(Some(domain))) = domain else {
            return Err(DataFusionError::Internal("rhei_math_domain: the domain must be a constant".into()));
        };
        let numbers = value.to_array(args.number_rows)?;
        if numbers.data_type().is_numeric() {
            let floats = arrow::compute::cast(&numbers, &DataType::Float64)?;
            for x in floats.as_primitive::<Float64Type>().iter().flatten() {
                crate::value::check_math_domain(x, domain).map_err(external)?;
            }
        }
        Ok(value.clone())
    }
);

simple_udf!(
    /// `format(template, args...)` (see [`crate::text_format::format`]); each argument is
    /// written as its type's text output (the translation has cast dates, times and booleans
    /// already).
    Format,
    "format",
    Signature::variadic_any(Volatility::Immutable),
    |_types| DataType::Utf8,
    |args| {
        let rows = args.number_rows;
        let columns = args.args.iter().map(|a| a.to_array(rows)).collect::<Result<Vec<_>>>()?;
        let Some((template, values)) = columns.split_first() else {
            return Err(external(crate::error::EngineError::UndefinedFunction { name: "format()".into() }));
        };
        let text: arrow::array::StringArray = (0..rows)
            .map(|i| {
                let Some(template) = crate::copy::pg_text(template, i) else { return Ok(None) };
                let values: Vec<Option<String>> = values.iter().map(|v| crate::copy::pg_text(v, i)).collect();
                let values: Vec<Option<&str>> = values.iter().map(Option::as_deref).collect();
                crate::text_format::format(&template, &values).map(Some)
            })
            .collect::<std::result::Result<_, _>>()
            .map_err(external)?;
        unscalar(Arc::new(text), &args)
    }
);

simple_udf!(
    /// `rhei_unconstrained(x)`: `x` itself, declared an unconstrained numeric, as the aggregate
    /// of such a column is in PostgreSQL (DataFusion's forgets the column's declared type); the
    /// translation puts it around those [`NumericOp`] takes.
    Unconstrained,
    "rhei_unconstrained",
    Signature::any(1, Volatility::Immutable),
    |types| types.first().cloned().unwrap_or(DataType::Null),
    field |args| {
        let ty = args.arg_fields.first().map_or(DataType::Null, |f| f.data_type().clone());
        let unconstrained = Some(crate::catalog::types::UNCONSTRAINED_NUMERIC.to_string());
        Ok(Arc::new(crate::catalog::types::with_declared_type(Field::new("rhei_unconstrained", ty, true), unconstrained)))
    },
    |args| { args.args.into_iter().next().ok_or_else(|| DataFusionError::Internal("rhei_unconstrained takes one argument".into())) }
);

/// One operand of [`NumericOp`], read once per batch.
pub(super) enum NumericOperand {
    /// Values and scale; `trim`: an unconstrained numeric held at a fixed scale, where
    /// PostgreSQL reckons with the value's own digits.
    Decimal128(arrow::array::Decimal128Array, i32, bool),
    Decimal256(arrow::array::Decimal256Array, i32),
    Integer(arrow::array::Int64Array),
    Float(Float64Array),
    Text(arrow::array::StringArray),
}

impl NumericOperand {
    pub(super) fn of(array: &ArrayRef, field: &Field) -> Result<Self> {
        Ok(match array.data_type() {
            DataType::Decimal128(_, scale) => {
                let trim = crate::catalog::types::declares_unconstrained_numeric(field);
                Self::Decimal128(array.as_primitive::<Decimal128Type>().clone(), i32::from(*scale), trim)
            }
            DataType::Decimal256(_, scale) => Self::Decimal256(array.as_primitive::<Decimal256Type>().clone(), i32::from(*scale)),
            DataType::UInt64 => Self::of(&arrow::compute::cast(array, &DataType::Decimal128(20, 0))?, field)?,
            ty if ty.is_integer() => Self::Integer(arrow::compute::cast(array, &DataType::Int64)?.as_primitive::<arrow::datatypes::Int64Type>().clone()),
            DataType::Float16 | DataType::Float32 | DataType::Float64 => Self::Float(arrow::compute::cast(array, &DataType::Float64)?.as_primitive::<Float64Type>().clone()),
            _ => Self::Text(arrow::compute::cast(array, &DataType::Utf8)?.as_string::<i32>().clone()),
        })
    }

    /// Row `i` as an exact decimal (`Ok(None)` for NULL); `Err` holds the double of a value
    /// that is none (a float's NaN, text that is no plain decimal).
    fn exact(&self, i: usize) -> std::result::Result<Option<crate::exact_decimal::Exact>, f64> {
        use crate::exact_decimal::{Exact, from_text, trimmed};
        let from = |text: &str| from_text(text).map(Some).ok_or_else(|| text.parse::<f64>().unwrap_or(f64::NAN));
        match self {
            _ if self.is_null(i) => Ok(None),
            Self::Decimal128(a, scale, trim) => {
                let x = Exact { value: i256::from_i128(a.value(i)), scale: *scale };
                Ok(Some(if *trim { trimmed(x) } else { x }))
            }
            Self::Decimal256(a, scale) => Ok(Some(Exact { value: a.value(i), scale: *scale })),
            Self::Integer(a) => Ok(Some(Exact::integer(i128::from(a.value(i))))),
            Self::Float(a) if a.value(i).is_finite() => from(&format!("{}", a.value(i))),
            Self::Float(a) => Err(a.value(i)),
            Self::Text(a) => from(a.value(i).trim()),
        }
    }

    /// Row `i` as a decimal of any size (`Ok(None)` for NULL); `Err` holds the double of a
    /// value that is none.
    fn decimal(&self, i: usize) -> std::result::Result<Option<crate::numeric_math::Decimal>, f64> {
        use crate::numeric_math::Decimal;
        match self {
            Self::Text(a) if !a.is_null(i) => Decimal::parse(a.value(i)).map(Some).ok_or_else(|| a.value(i).trim().parse().unwrap_or(f64::NAN)),
            Self::Float(a) if !a.is_null(i) => Decimal::from_f64(a.value(i)).map(Some).ok_or(a.value(i)),
            _ => self.exact(i).map(|x| x.map(Decimal::from_exact)),
        }
    }

    /// [`Self::decimal`], a value that is no number being 22P02 as PostgreSQL's numeric input.
    pub(super) fn checked_decimal(&self, i: usize) -> Result<Option<crate::numeric_math::Decimal>> {
        self.decimal(i).map_err(|f| {
            external(crate::error::EngineError::InvalidTextRepresentation { type_name: "numeric".into(), value: crate::value::format_float8(f) })
        })
    }

    fn is_null(&self, i: usize) -> bool {
        match self {
            Self::Decimal128(a, ..) => a.is_null(i),
            Self::Decimal256(a, _) => a.is_null(i),
            Self::Integer(a) => a.is_null(i),
            Self::Float(a) => a.is_null(i),
            Self::Text(a) => a.is_null(i),
        }
    }

    /// Row `i` as a double, for arithmetic past exact decimals.
    fn double(&self, i: usize) -> f64 {
        match self.exact(i) {
            Ok(Some(x)) => crate::exact_decimal::padded(x, x.scale).parse().unwrap_or(f64::NAN),
            Ok(None) => f64::NAN,
            Err(f) => f,
        }
    }
}

simple_udf!(
    /// `rhei_numeric_op(op, a, b)`: `a op b` (`+ - * /`) as PostgreSQL's numeric text at its
    /// result scale (see [`crate::exact_decimal`]), described as an unconstrained numeric; the
    /// translation writes it for the numeric arithmetic of result columns that divide or average
    /// (see `translate::numeric_arithmetic::in_olap_results`), where DataFusion's decimal scale
    /// rules lose digits. Past 76 digits the doubles answer, as on SQLite.
    NumericOp,
    "rhei_numeric_op",
    Signature::any(3, Volatility::Immutable),
    |_types| DataType::Utf8,
    field |_args| { Ok(Arc::new(crate::catalog::types::exact_numeric_text_field("rhei_numeric_op"))) },
    |args| {
        let [ColumnarValue::Scalar(ScalarValue::Utf8(Some(op))), a, b] = args.args.as_slice() else {
            return Err(DataFusionError::Internal("rhei_numeric_op takes a constant operator and two operands".into()));
        };
        let (Some(a_field), Some(b_field)) = (args.arg_fields.get(1), args.arg_fields.get(2)) else {
            return Err(DataFusionError::Internal("rhei_numeric_op takes a constant operator and two operands".into()));
        };
        let rows = args.number_rows;
        let (a, b) = (NumericOperand::of(&a.to_array(rows)?, a_field)?, NumericOperand::of(&b.to_array(rows)?, b_field)?);
        let text: arrow::array::StringArray = (0..rows)
            .map(|i| {
                let exact = match (a.exact(i), b.exact(i)) {
                    (Ok(None), _) | (_, Ok(None)) => return Ok(None),
                    (Ok(Some(x)), Ok(Some(y))) => crate::exact_decimal::apply(op, x, y)?,
                    _ => None,
                };
                Ok(Some(match exact {
                    Some(text) => text,
                    None => crate::value::format_float8(float_step(op, a.double(i), b.double(i))?),
                }))
            })
            .collect::<crate::error::Result<_>>()
            .map_err(external)?;
        unscalar(Arc::new(text), &args)
    }
);

/// Each row's numeric arguments from the `skip`th on as decimals, `None` where one is NULL
/// (the numeric functions are strict).
fn numeric_rows(args: &ScalarFunctionArgs, skip: usize) -> Result<Vec<Option<Vec<crate::numeric_math::Decimal>>>> {
    let rows = args.number_rows;
    let operands = args
        .args
        .iter()
        .zip(args.arg_fields.iter())
        .skip(skip)
        .map(|(value, field)| NumericOperand::of(&value.to_array(rows)?, field))
        .collect::<Result<Vec<_>>>()?;
    (0..rows)
        .map(|i| operands.iter().map(|operand| operand.checked_decimal(i)).collect::<Result<Option<Vec<_>>>>())
        .collect()
}

/// Each row's numeric function `name` of the arguments from the `skip`th on, as numeric text.
fn numeric_function_text(args: &ScalarFunctionArgs, name: &str, skip: usize) -> Result<ColumnarValue> {
    let text: arrow::array::StringArray = numeric_rows(args, skip)?
        .into_iter()
        .map(|row| row.map(|values| crate::numeric_math::call(name, &values).map(|d| d.text())).transpose())
        .collect::<crate::error::Result<_>>()
        .map_err(external)?;
    unscalar(Arc::new(text), args)
}

simple_udf!(
    /// `rhei_numeric_fn(name, args...)`: PostgreSQL's numeric function `name` (round, power,
    /// sqrt...; see [`crate::numeric_math`]) as numeric text at its result scale, described
    /// as an unconstrained numeric. The translation writes it for the result items
    /// `translate::numeric_arithmetic` makes exact, where DataFusion keeps the argument's
    /// scale (`power(2.5, 2)` was 6.2).
    NumericFunction,
    "rhei_numeric_fn",
    Signature::variadic_any(Volatility::Immutable),
    |_types| DataType::Utf8,
    field |_args| { Ok(Arc::new(crate::catalog::types::exact_numeric_text_field("rhei_numeric_fn"))) },
    |args| {
        let Some(ColumnarValue::Scalar(ScalarValue::Utf8(Some(name)))) = args.args.first() else {
            return Err(DataFusionError::Internal("rhei_numeric_fn takes a constant function name first".into()));
        };
        numeric_function_text(&args, name, 1)
    }
);

simple_udf!(
    /// `trim_scale(x)`: `x` without the trailing zeros of its fraction, numeric text.
    TrimScale,
    "trim_scale",
    Signature::any(1, Volatility::Immutable),
    |_types| DataType::Utf8,
    field |_args| { Ok(Arc::new(crate::catalog::types::exact_numeric_text_field("trim_scale"))) },
    |args| { numeric_function_text(&args, "trim_scale", 0) }
);

simple_udf!(
    /// `div(x, y)`: the integral quotient, truncated toward zero, a numeric of scale 0.
    IntegralDivision,
    "div",
    Signature::any(2, Volatility::Immutable),
    |_types| DataType::Decimal128(38, 0),
    |args| {
        let quotient: Decimal128Array = numeric_rows(&args, 0)?
            .into_iter()
            .map(|row| {
                row.map(|values| {
                    let quotient = crate::numeric_math::call("div", &values)?;
                    // Decimal128(38, 0) holds 38 digits.
                    quotient
                        .to_i128()
                        .filter(|q| q.unsigned_abs() < 10u128.pow(38))
                        .ok_or(crate::error::EngineError::NumericOutOfRange { type_name: "numeric".into() })
                })
                .transpose()
            })
            .collect::<crate::error::Result<_>>()
            .map_err(external)?;
        unscalar(Arc::new(quotient.with_precision_and_scale(38, 0)?), &args)
    }
);

/// Each row's `scale(x)`, or with `minimal` its `min_scale(x)`.
fn places_of(args: &ScalarFunctionArgs, minimal: bool) -> Result<ColumnarValue> {
    let scales: arrow::array::Int32Array =
        numeric_rows(args, 0)?.into_iter().map(|row| row.and_then(|values| values.first().map(|x| x.places(minimal)))).collect();
    unscalar(Arc::new(scales), args)
}

simple_udf!(
    /// `scale(x)`: the places of `x`'s fraction as written.
    ScaleOf,
    "scale",
    Signature::any(1, Volatility::Immutable),
    |_types| DataType::Int32,
    |args| { places_of(&args, false) }
);

simple_udf!(
    /// `min_scale(x)`: the fewest places that show `x` exactly.
    MinScale,
    "min_scale",
    Signature::any(1, Volatility::Immutable),
    |_types| DataType::Int32,
    |args| { places_of(&args, true) }
);

fn float_step(op: &str, x: f64, y: f64) -> crate::error::Result<f64> {
    Ok(match op {
        "+" => x + y,
        "-" => x - y,
        "*" => x * y,
        _ if y == 0.0 => return Err(crate::error::EngineError::DivisionByZero),
        _ => x / y,
    })
}

/// The decimal `to_number` gives with the arguments of `args`, at the scale of a constant
/// text's own value in a constant pattern, as PostgreSQL's value has it; else at the places a
/// constant pattern can read (PostgreSQL's scale is each value's, the digits read: a column
/// holds one for all); else, with a pattern per row, an unconstrained numeric's. Wider than
/// Decimal128 holds, Decimal256.
fn to_number_type(args: &ReturnFieldArgs) -> Result<DataType> {
    use arrow::datatypes::{DECIMAL128_MAX_PRECISION, DECIMAL256_MAX_PRECISION};
    let text = |i: usize| match args.scalar_arguments.get(i).copied().flatten() {
        Some(ScalarValue::Utf8(Some(t)) | ScalarValue::Utf8View(Some(t)) | ScalarValue::LargeUtf8(Some(t))) => Some(t.as_str()),
        _ => None,
    };
    let (integer_digits, places) = match (text(0), text(1)) {
        (Some(text), Some(pattern)) => match crate::number_format::to_number(text, pattern).map_err(external)? {
            Some(value) => {
                let (whole, fraction) = value.trim_start_matches('-').split_once('.').unwrap_or((&value, ""));
                (whole.len(), fraction.len())
            }
            None => (1, 0),
        },
        (None, Some(pattern)) => crate::number_format::to_number_positions(pattern).map_err(external)?,
        _ => return Ok(DataType::Decimal128(DECIMAL128_MAX_PRECISION, crate::catalog::types::UNCONSTRAINED_NUMERIC_SCALE)),
    };
    let scale = |max: u8| i8::try_from(places.min(usize::from(max))).unwrap_or(i8::MAX);
    Ok(if integer_digits + places <= usize::from(DECIMAL128_MAX_PRECISION) {
        DataType::Decimal128(DECIMAL128_MAX_PRECISION, scale(DECIMAL128_MAX_PRECISION))
    } else {
        DataType::Decimal256(DECIMAL256_MAX_PRECISION, scale(DECIMAL256_MAX_PRECISION))
    })
}

simple_udf!(
    /// `to_number(text, pattern)` (see [`crate::number_format::to_number`]), a decimal at the
    /// places [`to_number_type`] gives.
    ToNumber,
    "to_number",
    Signature::any(2, Volatility::Immutable),
    |_types| DataType::Decimal128(arrow::datatypes::DECIMAL128_MAX_PRECISION, crate::catalog::types::UNCONSTRAINED_NUMERIC_SCALE),
    field |args| { Ok(Arc::new(Field::new("to_number", to_number_type(&args)?, true))) },
    |args| {
        let rows = args.number_rows;
        let [texts, patterns] = [0, 1].map(|i| -> Result<ArrayRef> {
            let value = args.args.get(i).ok_or_else(|| DataFusionError::Internal("to_number takes two arguments".into()))?;
            Ok(arrow::compute::cast(&value.to_array(rows)?, &DataType::Utf8)?)
        });
        let (texts, patterns) = (texts?, patterns?);
        let (texts, patterns) = (texts.as_string::<i32>(), patterns.as_string::<i32>());
        let values = (0..rows).map(|i| {
            if texts.is_null(i) || patterns.is_null(i) {
                return Ok(None);
            }
            crate::number_format::to_number(texts.value(i), patterns.value(i)).map_err(external)
        });
        let out_of_range = || external(crate::error::EngineError::NumericOutOfRange { type_name: "numeric".into() });
        let numbers: ArrayRef = match args.return_field.data_type().clone() {
            DataType::Decimal128(precision, scale) => Arc::new(
                values
                    .map(|value| value?.map(|text| crate::value::parse_decimal(&text, scale).filter(|v| v.unsigned_abs() < 10u128.pow(u32::from(precision))).ok_or_else(out_of_range)).transpose())
                    .collect::<Result<Decimal128Array>>()?
                    .with_precision_and_scale(precision, scale)?,
            ),
            DataType::Decimal256(precision, scale) => Arc::new(
                values
                    .map(|value| value?.map(|text| crate::value::parse_decimal256(&text, scale).filter(|v| crate::value::decimal256_digits(*v) <= usize::from(precision)).ok_or_else(out_of_range)).transpose())
                    .collect::<Result<arrow::array::Decimal256Array>>()?
                    .with_precision_and_scale(precision, scale)?,
            ),
            other => return Err(DataFusionError::Internal(format!("to_number returns a decimal, not {other}"))),
        };
        unscalar(numbers, &args)
    }
);

simple_udf!(
    /// `rhei_numeric_in(text)`: the text as PostgreSQL's numeric input reads it, as exact
    /// numeric text with the digits written (`' 9.50'` is `9.50`, `1e3` `1000`); 22P02 for text
    /// that is no number. `translate::numeric_arithmetic` reads `text::numeric` in result
    /// columns so, where DataFusion's cast gives every row one scale.
    NumericInput,
    "rhei_numeric_in",
    Signature::any(1, Volatility::Immutable),
    |_types| DataType::Utf8,
    |args| {
        let text = arrow::compute::cast(&first_arg(&args)?, &DataType::Utf8)?;
        let numbers: arrow::array::StringArray = text
            .as_string::<i32>()
            .iter()
            .map(|value| {
                value
                    .map(|v| crate::oltp::functions::canonical_numeric(v).ok_or_else(|| external(crate::error::EngineError::InvalidTextRepresentation { type_name: "numeric".into(), value: v.to_string() })))
                    .transpose()
            })
            .collect::<Result<_>>()?;
        unscalar(Arc::new(numbers), &args)
    }
);

simple_udf!(
    /// `rhei_declared_text(v, type)`: `v` as text, described as the declared type `type` names
    /// (`character varying(3)`, `character(5)`): PostgreSQL describes a cast to varchar(n) so,
    /// and pads a char(n) result on output.
    DeclaredText,
    "rhei_declared_text",
    Signature::any(2, Volatility::Immutable),
    |_types| DataType::Utf8,
    field |args| {
        let declared = match args.scalar_arguments.get(1).copied().flatten() {
            Some(ScalarValue::Utf8(Some(name))) => Some(name.clone()),
            _ => None,
        };
        Ok(Arc::new(crate::catalog::types::with_declared_type(Field::new("rhei_declared_text", DataType::Utf8, true), declared)))
    },
    |args| {
        let array = first_arg(&args)?;
        unscalar(arrow::compute::cast(&array, &DataType::Utf8)?, &args)
    }
);

text_udf!(
    /// `quote_literal(v)`: PostgreSQL's (see [`crate::naming::quote_literal`]).
    QuoteLiteral,
    "quote_literal",
    1,
    |args| { each_text(&args, crate::naming::quote_literal) }
);

text_udf!(
    /// `rhei_timestamp_text(t, zone)`: a timestamp as PostgreSQL's text (`2026-01-01 10:00:00`,
    /// a timestamptz with its offset in `zone`), where DataFusion's cast gives ISO 8601
    /// (`2026-01-01T10:00:00Z`); a time too (DataFusion's has three fraction digits at least).
    TimestampText,
    "rhei_timestamp_text",
    2,
    |args| {
        let [timestamp, zone] = args.args.as_slice() else {
            return Err(DataFusionError::Internal("rhei_timestamp_text: wrong number of arguments".into()));
        };
        let ColumnarValue::Scalar(zone) = zone else {
            return Err(DataFusionError::Internal("rhei_timestamp_text: the zone must be a constant".into()));
        };
        if matches!(timestamp.data_type(), DataType::Time64(_) | DataType::Time32(_)) {
            let text: arrow::array::StringArray = time_micros(timestamp, args.number_rows)?.iter().map(|t| t.map(crate::value::format_time)).collect();
            return unscalar(Arc::new(text), &args);
        }
        let zone = crate::zone::TimeZone::of_arrow(&zone.to_string());
        let instant = matches!(timestamp.data_type(), DataType::Timestamp(_, Some(_)));
        let text: arrow::array::StringArray = timestamp_micros(timestamp, args.number_rows)?
            .iter()
            .map(|micros| micros.map(|m| if instant { crate::value::format_timestamptz_in(m, zone) } else { crate::value::format_timestamp(m) }))
            .collect();
        unscalar(Arc::new(text), &args)
    }
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::scale_interval;

    #[test]
    fn intervals_scale_as_postgresql_carries_fractions() {
        // PostgreSQL: '1 month' * 1.5 = 1 mon 15 days; '1 day' / 2 = 12:00:00;
        // '1 mon 1 day' * 0.5 = 15 days 12:00:00; '-3 hours' * 2 = -06:00:00.
        assert_eq!(scale_interval(1, 0, 0, 1.5), Some((1, 15, 0)));
        assert_eq!(scale_interval(0, 1, 0, 0.5), Some((0, 0, 12 * 3_600_000_000)));
        assert_eq!(scale_interval(1, 1, 0, 0.5), Some((0, 15, 12 * 3_600_000_000)));
        assert_eq!(scale_interval(0, 0, -3 * 3_600_000_000, 2.0), Some((0, 0, -6 * 3_600_000_000)));
        assert_eq!(scale_interval(i32::MAX, 0, 0, 2.0), None);
    }

    #[test]
    fn decimals_round_half_away_from_zero() {
        assert_eq!(round_decimal(25, 1, 0), 3);
        assert_eq!(round_decimal(-25, 1, 0), -3);
        assert_eq!(round_decimal(349, 2, 0), 3);
        assert_eq!(round_decimal(2345, 3, 2), 235);
        assert_eq!(round_decimal(5, 0, 2), 500);
    }

    /// Rounding a wide numeric and showing it at more places can pass Decimal256's range: an
    /// overflow error, not a panic (debug) or wrapped digits (release).
    #[tokio::test]
    async fn rounding_a_wide_numeric_past_its_range_is_an_overflow() {
        let context = datafusion::prelude::SessionContext::new_with_config(crate::olap::datafusion::session_config(1));
        context.register_udf(datafusion::logical_expr::ScalarUDF::from(Round::default()));
        let sql = "SELECT rhei_round(CAST(v AS DECIMAL(70, 0)), 10) FROM (VALUES ('1000000000000000000000000000000000000000000000000000000000000000000000')) AS t(v)";
        let failed = context.sql(sql).await.unwrap().collect().await.expect_err("overflow");
        assert!(failed.to_string().contains("overflow"), "{failed}");
        let sql = "SELECT rhei_round(CAST('12345678901234567890123456789012345678901234.5678' AS DECIMAL(50, 4)), 2)";
        let batches = context.sql(sql).await.unwrap().collect().await.unwrap();
        let text = arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string();
        assert!(text.contains("12345678901234567890123456789012345678901234.57"), "{text}");
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

/// `to_char(number, pattern)`: floats at their type's digits, other numbers from PostgreSQL's
/// text of them (exact for numeric), see [`crate::number_format`]. A pattern is read once
/// while it stays the same from row to row (a constant, as it nearly always is).
fn number_to_char(args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    use crate::number_format::{FLOAT4_DIGITS, FLOAT8_DIGITS, Number, NumberPattern};
    let [value, pattern] = args.args.as_slice() else {
        return Err(DataFusionError::Plan("to_char takes a value and a pattern".into()));
    };
    let rows = args.number_rows;
    let numbers = value.to_array(rows)?;
    let floats = match numbers.data_type() {
        DataType::Float32 => Some((arrow::compute::cast(&numbers, &DataType::Float64)?, FLOAT4_DIGITS)),
        DataType::Float64 => Some((numbers.clone(), FLOAT8_DIGITS)),
        _ => None,
    };
    let patterns = arrow::compute::cast(&pattern.to_array(rows)?, &DataType::Utf8)?;
    let patterns = patterns.as_string::<i32>();
    let external = |e: crate::error::EngineError| DataFusionError::External(Box::new(e));
    let mut read: Option<(&str, NumberPattern)> = None;
    let mut out = arrow::array::StringBuilder::with_capacity(rows, rows * 8);
    for i in 0..rows {
        if numbers.is_null(i) || patterns.is_null(i) {
            out.append_null();
            continue;
        }
        let text = patterns.value(i);
        if read.as_ref().is_none_or(|(last, _)| *last != text) {
            read = Some((text, NumberPattern::parse(text).map_err(external)?));
        }
        let pattern = read.as_ref().map(|(_, pattern)| pattern).ok_or_else(|| DataFusionError::Internal("to_char: pattern not read".into()))?;
        let formatted = match &floats {
            Some((floats, significant)) => {
                let value = floats.as_primitive::<arrow::datatypes::Float64Type>().value(i);
                pattern.format(Number::Float { value, significant: *significant })
            }
            None => pattern.format(Number::Exact(&crate::copy::pg_text_in(&numbers, i, None).unwrap_or_default())),
        };
        out.append_value(formatted.map_err(external)?);
    }
    unscalar(Arc::new(out.finish()), args)
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
        // A time is formatted as that time of day on 1970-01-01 (PostgreSQL formats it as an
        // interval, which shows the same hours, minutes and seconds).
        let time_of_day;
        let value = if matches!(value.data_type(), DataType::Time64(_) | DataType::Time32(_)) {
            let micros: ArrayRef = Arc::new(time_micros(value, rows)?);
            time_of_day = ColumnarValue::Array(arrow::compute::cast(&micros, &DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, None))?);
            &time_of_day
        } else {
            value
        };
        let zoned = match value.data_type() {
            DataType::Date32 => None,
            DataType::Timestamp(_, zone) => Some(zone.is_some()),
            number if number.is_numeric() => return number_to_char(&args),
            DataType::Interval(_) => return interval_to_char(value, pattern, rows),
            other => {
                return Err(DataFusionError::NotImplemented(format!("to_char of {other} (rhei formats numbers, dates, times and timestamps)")));
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
        let day = MICROS_PER_DAY;
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

/// `to_char(interval, pattern)` (see `value::to_char_interval`).
fn interval_to_char(value: &ColumnarValue, pattern: &ColumnarValue, rows: usize) -> Result<ColumnarValue> {
    use arrow::datatypes::{IntervalMonthDayNanoType, IntervalUnit};
    let intervals = arrow::compute::cast(&value.to_array(rows)?, &DataType::Interval(IntervalUnit::MonthDayNano))?;
    let intervals = intervals.as_primitive::<IntervalMonthDayNanoType>();
    let patterns = texts(pattern, rows)?;
    let out: arrow::array::StringArray = (0..rows)
        .map(|i| {
            if intervals.is_null(i) || patterns.is_null(i) {
                return Ok(None);
            }
            let interval = intervals.value(i);
            crate::value::to_char_interval(interval.months, interval.days, interval.nanoseconds / 1000, patterns.value(i)).map(Some).map_err(external)
        })
        .collect::<Result<_>>()?;
    Ok(ColumnarValue::Array(Arc::new(out)))
}

/// `date_bin(stride, source, origin)`: DataFusion's, after PostgreSQL's checks of the stride,
/// which DataFusion does not make (it binned by months, and by a negative stride).
#[derive(Debug)]
pub struct DateBin {
    binned: Arc<datafusion::logical_expr::ScalarUDF>,
}

impl Default for DateBin {
    fn default() -> Self {
        Self { binned: datafusion::functions::datetime::date_bin() }
    }
}

impl PartialEq for DateBin {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

impl Eq for DateBin {}

impl std::hash::Hash for DateBin {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        "date_bin".hash(state);
    }
}

/// A stride (date_bin's signature takes the two interval types below) as months, days and
/// microseconds; `None` for NULL.
fn stride_of(value: &ScalarValue) -> Result<Option<crate::value::Interval>> {
    use crate::value::Interval;
    Ok(match value {
        ScalarValue::IntervalMonthDayNano(v) => v.map(Interval::of_arrow),
        ScalarValue::IntervalDayTime(v) => v.map(|v| Interval { months: 0, days: v.days.into(), micros: i64::from(v.milliseconds) * 1_000 }),
        other if other.is_null() => None,
        other => return Err(DataFusionError::Internal(format!("date_bin of a {} stride", other.data_type()))),
    })
}

impl ScalarUDFImpl for DateBin {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn name(&self) -> &str {
        "date_bin"
    }

    fn signature(&self) -> &Signature {
        self.binned.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.binned.return_type(arg_types)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let strides = match args.args.first() {
            Some(ColumnarValue::Scalar(stride)) => vec![stride.clone()],
            Some(ColumnarValue::Array(strides)) => (0..strides.len()).map(|i| ScalarValue::try_from_array(strides, i)).collect::<Result<_>>()?,
            None => Vec::new(),
        };
        for stride in &strides {
            if let Some(stride) = stride_of(stride)? {
                // Binning the epoch checks the stride as PostgreSQL does.
                stride.bin(0, 0).map_err(external)?;
            }
        }
        self.binned.invoke_with_args(args)
    }

    fn output_ordering(&self, inputs: &[datafusion::logical_expr::sort_properties::ExprProperties]) -> Result<datafusion::logical_expr::sort_properties::SortProperties> {
        self.binned.output_ordering(inputs)
    }
}

simple_udf!(
    /// `factorial(n)`: exact numeric text, as PostgreSQL's numeric result (DataFusion's
    /// overflowed past 20! and gave 1 for a negative number, where PostgreSQL refuses it).
    Factorial,
    "factorial",
    Signature::exact(vec![DataType::Int64], Volatility::Immutable),
    |_types| DataType::Utf8,
    field |_args| { Ok(Arc::new(crate::catalog::types::exact_numeric_text_field("factorial"))) },
    |args| {
        let n = first_arg(&args)?;
        let text: arrow::array::StringArray = n
            .as_primitive::<arrow::datatypes::Int64Type>()
            .iter()
            .map(|n| n.map(|n| crate::numeric_math::factorial(n).map(|product| product.to_string())).transpose())
            .collect::<crate::error::Result<_>>()
            .map_err(external)?;
        unscalar(Arc::new(text), &args)
    }
);

simple_udf!(
    /// `make_time(hour, min, sec)`: the seconds may have a fraction (DataFusion's took only
    /// integers), and a field out of range is PostgreSQL's 22008.
    MakeTime,
    "make_time",
    Signature::any(3, Volatility::Immutable),
    |_types| DataType::Time64(arrow::datatypes::TimeUnit::Microsecond),
    |args| {
        use arrow::datatypes::Int64Type;
        let (hours, minutes) = (time_field(&args, 0, &DataType::Int64, "integer")?, time_field(&args, 1, &DataType::Int64, "integer")?);
        let seconds = time_field(&args, 2, &DataType::Float64, "double precision")?;
        let (hours, minutes, seconds) = (hours.as_primitive::<Int64Type>(), minutes.as_primitive::<Int64Type>(), seconds.as_primitive::<Float64Type>());
        let times: arrow::array::Time64MicrosecondArray = (0..args.number_rows)
            .map(|row| {
                if hours.is_null(row) || minutes.is_null(row) || seconds.is_null(row) {
                    return Ok(None);
                }
                crate::value::make_time_micros(hours.value(row), minutes.value(row), seconds.value(row)).map(Some)
            })
            .collect::<crate::error::Result<_>>()
            .map_err(external)?;
        unscalar(Arc::new(times), &args)
    }
);

/// `clock_timestamp()`: the clock when a batch is computed (DataFusion's `now()` is the
/// statement's start, as PostgreSQL's is; this one moves on, as PostgreSQL's moves per call).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ClockTimestamp {
    signature: Signature,
}

impl Default for ClockTimestamp {
    fn default() -> Self {
        Self { signature: Signature::nullary(Volatility::Volatile) }
    }
}

impl ScalarUDFImpl for ClockTimestamp {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn name(&self) -> &str {
        "clock_timestamp"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, Some(Arc::from("UTC"))))
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Ok(ColumnarValue::Scalar(ScalarValue::TimestampMicrosecond(Some(crate::value::now_micros()), Some(Arc::from("UTC")))))
    }
}

/// `rhei_undefined_setting(name)`: what `current_setting(name)` of a setting the session does
/// not have becomes (see `crate::session_values`), failing with 42704 only where a row
/// evaluates it, as PostgreSQL's call fails (a Describe, a view's creation or an untaken CASE
/// branch do not). Volatile, so the planner does not evaluate it ahead.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct UndefinedSetting {
    signature: Signature,
}

impl Default for UndefinedSetting {
    fn default() -> Self {
        Self { signature: Signature::exact(vec![DataType::Utf8], Volatility::Volatile) }
    }
}

impl ScalarUDFImpl for UndefinedSetting {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn name(&self) -> &str {
        crate::session_values::UNDEFINED_SETTING
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        if args.number_rows == 0 {
            return Ok(ColumnarValue::Scalar(ScalarValue::Utf8(None)));
        }
        let name = match args.args.first() {
            Some(ColumnarValue::Scalar(ScalarValue::Utf8(Some(name)))) => name.clone(),
            _ => String::new(),
        };
        Err(DataFusionError::External(Box::new(crate::error::EngineError::UndefinedParameter { name })))
    }
}

/// `rhei_enum(value, type name, label...)`: the value if it is one of the labels of the enum
/// type, else 22P02, as SQLite's function of the name does (see `translate::enums`).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct EnumInput {
    signature: Signature,
}

impl Default for EnumInput {
    fn default() -> Self {
        Self { signature: Signature::variadic_any(Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for EnumInput {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn name(&self) -> &str {
        crate::translate::enums::ENUM_INPUT
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let text = |arg: Option<&ColumnarValue>| match arg {
            Some(ColumnarValue::Scalar(value)) => value.try_as_str().flatten().map(str::to_string),
            _ => None,
        };
        let type_name = text(args.args.get(1)).unwrap_or_default();
        let labels: std::collections::HashSet<String> = (2..args.args.len()).filter_map(|i| text(args.args.get(i))).collect();
        let Some(values) = args.args.first() else { return Ok(ColumnarValue::Scalar(ScalarValue::Utf8(None))) };
        let values = arrow::compute::cast(&values.to_array(args.number_rows)?, &DataType::Utf8)?;
        let strings = values.as_string::<i32>();
        if let Some(bad) = strings.iter().flatten().find(|v| !labels.contains(*v)) {
            let bad = crate::error::EngineError::InvalidEnumValue { type_name: crate::naming::display_ident(&type_name), value: bad.to_string() };
            return Err(DataFusionError::External(Box::new(bad)));
        }
        Ok(ColumnarValue::Array(values))
    }
}

/// The sequence functions (`nextval`, `currval`, `setval`, `lastval`) and
/// `pg_get_serial_sequence` inside them: they run on SQLite's writer only (routing sends every
/// query calling them there, see `oltp::sequence`), and are declared here so those queries
/// still plan, which is how their results get PostgreSQL's types. Called here, they refuse.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct WriterOnly {
    name: &'static str,
    returns: DataType,
    signature: Signature,
}

impl WriterOnly {
    pub fn all() -> Vec<Self> {
        use datafusion::logical_expr::TypeSignature;
        let of = |name, returns, arities: &[usize]| Self {
            name,
            returns,
            signature: Signature::one_of(
                arities.iter().map(|&n| if n == 0 { TypeSignature::Nullary } else { TypeSignature::Any(n) }).collect(),
                Volatility::Volatile,
            ),
        };
        vec![
            of("nextval", DataType::Int64, &[1]),
            of("currval", DataType::Int64, &[1]),
            of("lastval", DataType::Int64, &[0]),
            of("setval", DataType::Int64, &[2, 3]),
            of("pg_get_serial_sequence", DataType::Utf8, &[2]),
        ]
    }
}

impl ScalarUDFImpl for WriterOnly {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(self.returns.clone())
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Err(DataFusionError::NotImplemented(format!("{}() runs on SQLite's writer, not on DataFusion", self.name)))
    }
}

/// What a [`JsonFunction`] does (see `crate::json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum JsonOp {
    /// `x::json` (checked, kept as written) / `x::jsonb` (normalized).
    Cast { jsonb: bool },
    /// `->` / `->>`.
    Get { as_text: bool },
    /// `#>` / `#>>`, the path as an array literal.
    Path { as_text: bool },
    /// `json[b]_extract_path[_text](doc, VARIADIC keys)`; `jsonb` types the result.
    ExtractPath { as_text: bool, jsonb: bool },
    Contains,
    Exists,
    TypeOf,
    ArrayLength,
    /// A value as JSON text by its type (what the builders below take for values); `agg_item`:
    /// an item `json_agg` gathers, an array marked with [`STRUCTURED_ITEM`] first.
    Fragment { agg_item: bool },
    /// `json[b]_build_object(key, fragment, ...)`; `row`: `rhei_row_to_json`, the translation's
    /// form of `row_to_json(t)`.
    BuildObject { jsonb: bool, row: bool },
    /// `json[b]_build_array(fragment, ...)`.
    BuildArray { jsonb: bool },
    /// `to_json[b](value)`.
    ToJson { jsonb: bool },
    /// The end of `json[b]_agg`: the fragments `array_agg` gathered, as one array; `rows`: of
    /// `json_agg(t)`, a row a line.
    AggArray { jsonb: bool, rows: bool },
    /// A key and a fragment as one text for `array_agg` (see [`member_text`]).
    Member,
    /// The end of `json[b]_object_agg`: the members `array_agg` gathered, as one object.
    AggObject { jsonb: bool },
    /// jsonb `||`.
    Concat,
    /// jsonb `-` a key or position.
    Delete,
    /// `?|` (`?&` when `all`), the keys as arguments.
    ExistsKeys { all: bool },
    /// `#-`, the path as an array literal.
    DeletePath,
    /// `jsonb_set(doc, path, value [, create_missing])`.
    Set,
    /// `jsonb_insert(doc, path, value [, insert_after])`.
    Insert,
    StripNulls,
    /// `json_strip_nulls`: json in, json out.
    StripNullsJson,
    Pretty,
}

/// PostgreSQL's json operators and functions on DataFusion, under the names the translation
/// gives them on both engines; SQLite has the same (`oltp::functions`).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct JsonFunction {
    name: &'static str,
    op: JsonOp,
    signature: Signature,
}

impl JsonFunction {
    pub fn all() -> Vec<Self> {
        let of = |name, op| Self { name, op, signature: Signature::variadic_any(Volatility::Immutable) };
        vec![
            of("rhei_json", JsonOp::Cast { jsonb: false }),
            of("rhei_jsonb", JsonOp::Cast { jsonb: true }),
            of("rhei_json_get", JsonOp::Get { as_text: false }),
            of("rhei_json_get_text", JsonOp::Get { as_text: true }),
            of("rhei_json_path", JsonOp::Path { as_text: false }),
            of("rhei_json_path_text", JsonOp::Path { as_text: true }),
            of("jsonb_extract_path", JsonOp::ExtractPath { as_text: false, jsonb: true }),
            of("json_extract_path", JsonOp::ExtractPath { as_text: false, jsonb: false }),
            of("jsonb_extract_path_text", JsonOp::ExtractPath { as_text: true, jsonb: true }),
            of("json_extract_path_text", JsonOp::ExtractPath { as_text: true, jsonb: false }),
            of("rhei_jsonb_contains", JsonOp::Contains),
            of("rhei_jsonb_exists", JsonOp::Exists),
            of("jsonb_typeof", JsonOp::TypeOf),
            of("json_typeof", JsonOp::TypeOf),
            of("jsonb_array_length", JsonOp::ArrayLength),
            of("json_array_length", JsonOp::ArrayLength),
            of("rhei_json_fragment", JsonOp::Fragment { agg_item: false }),
            of("rhei_json_agg_item", JsonOp::Fragment { agg_item: true }),
            of("json_build_object", JsonOp::BuildObject { jsonb: false, row: false }),
            of("jsonb_build_object", JsonOp::BuildObject { jsonb: true, row: false }),
            of("rhei_row_to_json", JsonOp::BuildObject { jsonb: false, row: true }),
            of("rhei_row_to_jsonb", JsonOp::BuildObject { jsonb: true, row: true }),
            of("json_build_array", JsonOp::BuildArray { jsonb: false }),
            of("jsonb_build_array", JsonOp::BuildArray { jsonb: true }),
            of("to_json", JsonOp::ToJson { jsonb: false }),
            of("to_jsonb", JsonOp::ToJson { jsonb: true }),
            of("rhei_json_agg_array", JsonOp::AggArray { jsonb: false, rows: false }),
            of("rhei_jsonb_agg_array", JsonOp::AggArray { jsonb: true, rows: false }),
            of("rhei_json_agg_rows_array", JsonOp::AggArray { jsonb: false, rows: true }),
            of("rhei_json_member", JsonOp::Member),
            of("rhei_json_object_agg", JsonOp::AggObject { jsonb: false }),
            of("rhei_jsonb_object_agg", JsonOp::AggObject { jsonb: true }),
            of("rhei_jsonb_concat", JsonOp::Concat),
            of("rhei_jsonb_delete", JsonOp::Delete),
            of("rhei_jsonb_exists_any", JsonOp::ExistsKeys { all: false }),
            of("rhei_jsonb_exists_all", JsonOp::ExistsKeys { all: true }),
            of("rhei_jsonb_delete_path", JsonOp::DeletePath),
            of("jsonb_set", JsonOp::Set),
            of("jsonb_insert", JsonOp::Insert),
            of("jsonb_strip_nulls", JsonOp::StripNulls),
            of("json_strip_nulls", JsonOp::StripNullsJson),
            of("jsonb_pretty", JsonOp::Pretty),
        ]
    }

    /// The result's PostgreSQL type when it is json or jsonb: an element of a json document is
    /// json, of anything else (a jsonb column, a text literal) jsonb.
    fn json_result(&self, args: &ReturnFieldArgs) -> Option<&'static str> {
        let of_input = || {
            let declared = args.arg_fields.first().and_then(|f| f.metadata().get(crate::catalog::types::PG_TYPE_METADATA));
            if declared.is_some_and(|t| t == "json") { "json" } else { "jsonb" }
        };
        match self.op {
            JsonOp::Cast { jsonb }
            | JsonOp::ExtractPath { as_text: false, jsonb }
            | JsonOp::BuildObject { jsonb, .. }
            | JsonOp::BuildArray { jsonb }
            | JsonOp::ToJson { jsonb }
            | JsonOp::AggArray { jsonb, .. }
            | JsonOp::AggObject { jsonb } => Some(if jsonb { "jsonb" } else { "json" }),
            JsonOp::Concat | JsonOp::Delete | JsonOp::DeletePath | JsonOp::Set | JsonOp::Insert | JsonOp::StripNulls => Some("jsonb"),
            JsonOp::StripNullsJson => Some("json"),
            JsonOp::Get { as_text: false } | JsonOp::Path { as_text: false } => Some(of_input()),
            _ => None,
        }
    }
}

/// Marks an array among the items `json_agg` gathers, which PostgreSQL writes on a line of its
/// own (as it does a row); JSON text never holds it unescaped.
const STRUCTURED_ITEM: char = '\u{1}';

/// The end of `json_agg`: the items as one array, each marked one after the first on a new line
/// (`[[1,2], \n [3,4]]`), as PostgreSQL writes arrays and rows there.
fn json_agg_array(items: &[String]) -> String {
    let mut out = String::from("[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        match item.strip_prefix(STRUCTURED_ITEM) {
            Some(structured) => {
                if i > 0 {
                    out.push_str("\n ");
                }
                out.push_str(structured);
            }
            None => out.push_str(item),
        }
    }
    out.push(']');
    out
}

/// Separates a member's key from its value: PostgreSQL text holds no NUL, and JSON text
/// escapes it, so the last one is the separator.
const MEMBER_SEP: char = '\0';

/// `json[b]_object_agg`'s key and value fragment as one text, taken apart by the aggregate's end.
fn member_text(key: &str, value: &str) -> String {
    format!("{key}{MEMBER_SEP}{value}")
}

/// Each row's list of texts that `array_agg` gathered (None where the list is NULL).
fn gathered_texts(value: &ColumnarValue, rows: usize) -> Result<Vec<Option<Vec<String>>>> {
    let lists = value.to_array(rows)?;
    // A correlated subquery's aggregate, decorrelated into a join, is evaluated over a NULL
    // of no type where the outer row found no rows.
    if lists.data_type() == &DataType::Null {
        return Ok(vec![None; rows]);
    }
    (0..rows)
        .map(|i| {
            if lists.is_null(i) {
                return Ok(None);
            }
            let items = match lists.data_type() {
                DataType::List(_) => lists.as_list::<i32>().value(i),
                DataType::LargeList(_) => lists.as_list::<i64>().value(i),
                other => return Err(external(crate::error::EngineError::Internal(format!("an aggregate gathered {other}")))),
            };
            let items = arrow::compute::cast(&items, &DataType::Utf8)?;
            let items = items.as_string::<i32>();
            Ok(Some((0..items.len()).map(|j| if items.is_null(j) { "null".to_string() } else { items.value(j).to_string() }).collect()))
        })
        .collect()
}

pub(super) fn external(e: crate::error::EngineError) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// Each row's text of a string-like argument (None for NULL).
pub(super) fn texts(value: &ColumnarValue, rows: usize) -> Result<arrow::array::StringArray> {
    let array = value.to_array(rows)?;
    let text = arrow::compute::cast(&array, &DataType::Utf8)?;
    Ok(text.as_string::<i32>().clone())
}

impl ScalarUDFImpl for JsonFunction {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(match self.op {
            JsonOp::Contains | JsonOp::Exists | JsonOp::ExistsKeys { .. } => DataType::Boolean,
            JsonOp::ArrayLength => DataType::Int32,
            _ => DataType::Utf8,
        })
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let field = Field::new(self.name, self.return_type(&[])?, true);
        Ok(Arc::new(match self.json_result(&args) {
            Some(ty) => field.with_metadata([(crate::catalog::types::PG_TYPE_METADATA.to_string(), ty.to_string())].into()),
            None => field,
        }))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        use arrow::array::{BooleanArray, Int32Array, StringArray};
        let rows = args.number_rows;
        let arity = match self.op {
            JsonOp::Cast { .. }
            | JsonOp::TypeOf
            | JsonOp::ArrayLength
            | JsonOp::Fragment { .. }
            | JsonOp::ToJson { .. }
            | JsonOp::AggArray { .. }
            | JsonOp::AggObject { .. }
            | JsonOp::StripNulls
            | JsonOp::StripNullsJson
            | JsonOp::Pretty => Some(1),
            JsonOp::ExtractPath { .. } | JsonOp::BuildObject { .. } | JsonOp::BuildArray { .. } | JsonOp::ExistsKeys { .. } => None,
            JsonOp::Set | JsonOp::Insert if args.args.len() == 4 => Some(4),
            JsonOp::Set | JsonOp::Insert => Some(3),
            _ => Some(2),
        };
        let empty_ok = matches!(self.op, JsonOp::BuildObject { .. } | JsonOp::BuildArray { .. });
        if arity.is_some_and(|n| n != args.args.len()) || (args.args.is_empty() && !empty_ok) {
            return Err(DataFusionError::Plan(format!("function {} does not take {} arguments", self.name, args.args.len())));
        }
        match self.op {
            JsonOp::Fragment { .. } | JsonOp::ToJson { .. } => {
                let field = args.arg_fields.first().cloned().unwrap_or_else(|| Arc::new(Field::new("", DataType::Null, true)));
                let array = args.args[0].to_array(rows)?;
                let structured = matches!(array.data_type(), DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..));
                let out: StringArray = json_fragments(&array, &field)?
                    .into_iter()
                    .enumerate()
                    .map(|(i, fragment)| match self.op {
                        JsonOp::ToJson { .. } if array.is_null(i) => Ok(None),
                        JsonOp::ToJson { jsonb: true } => crate::json::normalize_jsonb(&fragment).map(Some),
                        JsonOp::Fragment { agg_item: true } if structured && array.is_valid(i) => Ok(Some(format!("{STRUCTURED_ITEM}{fragment}"))),
                        _ => Ok(Some(fragment)),
                    })
                    .collect::<std::result::Result<_, _>>()
                    .map_err(external)?;
                return unscalar(Arc::new(out), &args);
            }
            JsonOp::BuildObject { jsonb, row } => {
                if args.args.len() % 2 != 0 {
                    return Err(external(crate::json::odd_arguments()));
                }
                let parts = args.args.iter().map(|a| texts(a, rows)).collect::<Result<Vec<_>>>()?;
                let out: StringArray = (0..rows)
                    .map(|i| {
                        let mut members = Vec::with_capacity(parts.len() / 2);
                        for pair in parts.chunks(2) {
                            if pair[0].is_null(i) {
                                return Err(crate::json::null_key(members.len() * 2 + 1));
                            }
                            members.push((pair[0].value(i), if pair[1].is_null(i) { "null" } else { pair[1].value(i) }));
                        }
                        if row {
                            return crate::json::row_object_or_null(members, jsonb);
                        }
                        crate::json::build_object(members, jsonb).map(Some)
                    })
                    .collect::<std::result::Result<_, _>>()
                    .map_err(external)?;
                return unscalar(Arc::new(out), &args);
            }
            JsonOp::BuildArray { jsonb } => {
                let parts = args.args.iter().map(|a| texts(a, rows)).collect::<Result<Vec<_>>>()?;
                let out: StringArray = (0..rows)
                    .map(|i| crate::json::build_array(parts.iter().map(|p| if p.is_null(i) { "null" } else { p.value(i) }), jsonb).map(Some))
                    .collect::<std::result::Result<_, _>>()
                    .map_err(external)?;
                return unscalar(Arc::new(out), &args);
            }
            JsonOp::Member => {
                let keys = texts(&args.args[0], rows)?;
                let values = texts(&args.args[1], rows)?;
                let out: StringArray = (0..rows)
                    .map(|i| {
                        if keys.is_null(i) {
                            return Err(crate::json::null_field_name());
                        }
                        Ok(Some(member_text(keys.value(i), if values.is_null(i) { "null" } else { values.value(i) })))
                    })
                    .collect::<std::result::Result<_, _>>()
                    .map_err(external)?;
                return unscalar(Arc::new(out), &args);
            }
            JsonOp::AggObject { jsonb } | JsonOp::AggArray { jsonb, .. } => {
                let finish = |items: Vec<String>| match self.op {
                    JsonOp::AggObject { .. } => crate::json::object_agg(
                        items.iter().map(|m| m.rsplit_once(MEMBER_SEP).unwrap_or((m.as_str(), "null"))),
                        jsonb,
                    ),
                    JsonOp::AggArray { rows: true, .. } => Ok(crate::json::rows_array(items.iter().map(String::as_str))),
                    JsonOp::AggArray { jsonb: false, .. } => Ok(json_agg_array(&items)),
                    _ => crate::json::build_array(items.iter().map(String::as_str), jsonb),
                };
                let out: StringArray = gathered_texts(&args.args[0], rows)?
                    .into_iter()
                    .map(|items| items.map(finish).transpose())
                    .collect::<std::result::Result<_, _>>()
                    .map_err(external)?;
                return unscalar(Arc::new(out), &args);
            }
            _ => {}
        }
        let docs = texts(&args.args[0], rows)?;
        let doc = |i: usize| docs.is_valid(i).then(|| docs.value(i));
        let result: ArrayRef = match self.op {
            JsonOp::Cast { jsonb } => Arc::new(
                (0..rows)
                    .map(|i| {
                        doc(i).map(|d| if jsonb { crate::json::normalize_jsonb(d) } else { crate::json::check_json(d).map(|()| d.to_string()) }).transpose()
                    })
                    .collect::<std::result::Result<StringArray, _>>()
                    .map_err(external)?,
            ),
            JsonOp::Concat => {
                let others = texts(&args.args[1], rows)?;
                Arc::new(
                    (0..rows)
                        .map(|i| match (doc(i), others.is_valid(i)) {
                            (Some(d), true) => crate::json::concat(d, others.value(i)).map(Some),
                            _ => Ok(None),
                        })
                        .collect::<std::result::Result<StringArray, _>>()
                        .map_err(external)?,
                )
            }
            JsonOp::Get { .. } | JsonOp::Delete => {
                let as_text = matches!(self.op, JsonOp::Get { as_text: true });
                let key = args.args[1].to_array(rows)?;
                let positions = key.data_type().is_integer().then(|| arrow::compute::cast(&key, &DataType::Int64)).transpose()?;
                let names = if positions.is_none() { Some(texts(&args.args[1], rows)?) } else { None };
                Arc::new(
                    (0..rows)
                        .map(|i| {
                            let Some(d) = doc(i) else { return Ok(None) };
                            let key = match (&positions, &names) {
                                (Some(p), _) if p.is_valid(i) => crate::json::Key::Index(p.as_primitive::<arrow::datatypes::Int64Type>().value(i)),
                                (_, Some(n)) if n.is_valid(i) => crate::json::Key::Field(n.value(i)),
                                _ => return Ok(None),
                            };
                            if self.op == JsonOp::Delete { crate::json::delete(d, key).map(Some) } else { crate::json::get(d, key, as_text) }
                        })
                        .collect::<std::result::Result<StringArray, _>>()
                        .map_err(external)?,
                )
            }
            JsonOp::Path { as_text } => {
                let paths = texts(&args.args[1], rows)?;
                Arc::new(
                    (0..rows)
                        .map(|i| {
                            let (Some(d), true) = (doc(i), paths.is_valid(i)) else { return Ok(None) };
                            let steps = crate::json::path_steps(paths.value(i))?;
                            crate::json::get_path(d, &steps.iter().map(String::as_str).collect::<Vec<_>>(), as_text)
                        })
                        .collect::<std::result::Result<StringArray, _>>()
                        .map_err(external)?,
                )
            }
            JsonOp::ExtractPath { as_text, .. } => {
                let keys = args.args[1..].iter().map(|k| texts(k, rows)).collect::<Result<Vec<_>>>()?;
                Arc::new(
                    (0..rows)
                        .map(|i| {
                            let Some(d) = doc(i) else { return Ok(None) };
                            if keys.iter().any(|k| k.is_null(i)) {
                                return Ok(None);
                            }
                            crate::json::get_path(d, &keys.iter().map(|k| k.value(i)).collect::<Vec<_>>(), as_text)
                        })
                        .collect::<std::result::Result<StringArray, _>>()
                        .map_err(external)?,
                )
            }
            JsonOp::Contains | JsonOp::Exists => {
                let test = if self.op == JsonOp::Contains { crate::json::contains } else { crate::json::exists };
                let others = texts(&args.args[1], rows)?;
                Arc::new(
                    (0..rows)
                        .map(|i| match (doc(i), others.is_valid(i)) {
                            (Some(d), true) => test(d, others.value(i)).map(Some),
                            _ => Ok(None),
                        })
                        .collect::<std::result::Result<BooleanArray, _>>()
                        .map_err(external)?,
                )
            }
            JsonOp::ExistsKeys { all } => {
                let keys = args.args[1..].iter().map(|k| texts(k, rows)).collect::<Result<Vec<_>>>()?;
                Arc::new(
                    (0..rows)
                        .map(|i| {
                            let Some(d) = doc(i) else { return Ok(None) };
                            // NULL keys are left out, as PostgreSQL leaves out NULL elements.
                            let present: Vec<&str> = keys.iter().filter(|k| k.is_valid(i)).map(|k| k.value(i)).collect();
                            crate::json::exists_keys(d, &present, all).map(Some)
                        })
                        .collect::<std::result::Result<BooleanArray, _>>()
                        .map_err(external)?,
                )
            }
            JsonOp::DeletePath | JsonOp::Set | JsonOp::Insert => {
                let paths = texts(&args.args[1], rows)?;
                let values = if self.op == JsonOp::DeletePath { None } else { Some(texts(&args.args[2], rows)?) };
                let flags = match args.args.get(3) {
                    Some(flag) => Some(arrow::compute::cast(&flag.to_array(rows)?, &DataType::Boolean)?),
                    None => None,
                };
                Arc::new(
                    (0..rows)
                        .map(|i| {
                            let (Some(d), true) = (doc(i), paths.is_valid(i)) else { return Ok(None) };
                            let edit = match (&values, &flags) {
                                (None, _) => crate::json::PathEdit::Delete,
                                (Some(v), _) if v.is_null(i) => return Ok(None),
                                (Some(_), Some(f)) if f.is_null(i) => return Ok(None),
                                (Some(v), f) => crate::json::PathEdit::set_or_insert(
                                    self.op == JsonOp::Insert,
                                    v.value(i),
                                    f.as_ref().map(|f| f.as_boolean().value(i)),
                                ),
                            };
                            let steps = crate::json::path_steps(paths.value(i))?;
                            crate::json::edit_path(d, &steps.iter().map(String::as_str).collect::<Vec<_>>(), edit).map(Some)
                        })
                        .collect::<std::result::Result<StringArray, _>>()
                        .map_err(external)?,
                )
            }
            JsonOp::StripNulls | JsonOp::StripNullsJson | JsonOp::Pretty => {
                let rewrite = match self.op {
                    JsonOp::Pretty => crate::json::pretty,
                    JsonOp::StripNullsJson => crate::json::strip_nulls_json,
                    _ => crate::json::strip_nulls,
                };
                Arc::new((0..rows).map(|i| doc(i).map(rewrite).transpose()).collect::<std::result::Result<StringArray, _>>().map_err(external)?)
            }
            JsonOp::TypeOf => Arc::new(
                (0..rows)
                    .map(|i| doc(i).map(crate::json::type_of).transpose())
                    .collect::<std::result::Result<StringArray, _>>()
                    .map_err(external)?,
            ),
            JsonOp::ArrayLength => Arc::new(
                (0..rows)
                    .map(|i| doc(i).map(|d| crate::json::array_length(d).map(|n| n as i32)).transpose())
                    .collect::<std::result::Result<Int32Array, _>>()
                    .map_err(external)?,
            ),
            JsonOp::Fragment { .. }
            | JsonOp::ToJson { .. }
            | JsonOp::BuildObject { .. }
            | JsonOp::BuildArray { .. }
            | JsonOp::AggArray { .. }
            | JsonOp::Member
            | JsonOp::AggObject { .. } => {
                unreachable!("answered above")
            }
        };
        unscalar(result, &args)
    }
}

/// The element field of a list type.
fn list_element(list: &DataType) -> FieldRef {
    match list {
        DataType::List(element) | DataType::LargeList(element) | DataType::FixedSizeList(element, _) => element.clone(),
        _ => Arc::new(Field::new("item", DataType::Null, true)),
    }
}

/// Each row of `array` as PostgreSQL puts the value into JSON (`null` for NULL): numbers bare,
/// booleans, dates and times as ISO 8601 strings (a timestamptz in UTC, the zone DataFusion
/// computes in), json and jsonb (by the field's declared type) as they are, the rest quoted.
fn json_fragments(array: &ArrayRef, field: &Field) -> Result<Vec<String>> {
    use crate::json::{datetime_text, quoted};
    use arrow::datatypes::{Date32Type, TimeUnit, TimestampMicrosecondType};
    let declared = field.metadata().get(crate::catalog::types::PG_TYPE_METADATA).map(String::as_str);
    let rows = array.len();
    let each = |f: &dyn Fn(usize) -> String| (0..rows).map(|i| if array.is_null(i) { "null".to_string() } else { f(i) }).collect();
    Ok(match array.data_type() {
        DataType::Null => vec!["null".to_string(); rows],
        DataType::Boolean => {
            let values = array.as_boolean();
            each(&|i| values.value(i).to_string())
        }
        DataType::Float32 | DataType::Float64 => {
            let floats = arrow::compute::cast(array, &DataType::Float64)?;
            let floats = floats.as_primitive::<Float64Type>();
            let float4 = matches!(array.data_type(), DataType::Float32);
            each(&|i| {
                let f = floats.value(i);
                let text = if float4 { crate::value::format_float4(f as f32) } else { crate::value::format_float8(f) };
                if f.is_finite() { text } else { quoted(&text) }
            })
        }
        DataType::Decimal128(_, scale) if crate::catalog::types::declares_unconstrained_numeric(field) => {
            // Its values were written without the copy's fixed scale (`1.5`, not `1.5000000000`).
            let decimals = array.as_primitive::<Decimal128Type>();
            each(&|i| {
                let (value, scale) = crate::value::without_trailing_zeros(decimals.value(i), *scale);
                crate::value::format_decimal(value, scale)
            })
        }
        t if t.is_integer() || matches!(t, DataType::Decimal128(..) | DataType::Decimal256(..)) => {
            let text = arrow::compute::cast(array, &DataType::Utf8)?;
            let text = text.as_string::<i32>();
            each(&|i| text.value(i).to_string())
        }
        DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..) => {
            // An array is a JSON array of its elements, a dimension a level (`[[1,2],[3,4]]`),
            // without spaces as PostgreSQL's array_to_json writes it.
            let lists = arrow::compute::cast(array, &DataType::LargeList(list_element(array.data_type())))?;
            let lists = lists.as_list::<i64>();
            let element = list_element(lists.data_type());
            let elements = json_fragments(lists.values(), &element)?;
            let offsets = lists.value_offsets();
            each(&|i| format!("[{}]", elements[offsets[i] as usize..offsets[i + 1] as usize].join(",")))
        }
        DataType::Interval(_) => {
            let intervals = arrow::compute::cast(array, &DataType::Interval(arrow::datatypes::IntervalUnit::MonthDayNano))?;
            let intervals = intervals.as_primitive::<arrow::datatypes::IntervalMonthDayNanoType>();
            each(&|i| {
                let v = intervals.value(i);
                quoted(&crate::value::format_interval(v.months, v.days, v.nanoseconds / 1000))
            })
        }
        DataType::Date32 => {
            let days = array.as_primitive::<Date32Type>();
            each(&|i| datetime_text(&crate::value::format_date(days.value(i).into())))
        }
        DataType::Timestamp(_, zone) => {
            let micros = arrow::compute::cast(array, &DataType::Timestamp(TimeUnit::Microsecond, zone.clone()))?;
            let micros = micros.as_primitive::<TimestampMicrosecondType>();
            let zoned = zone.is_some();
            each(&|i| {
                let t = micros.value(i);
                datetime_text(&if zoned { crate::value::format_timestamptz_in(t, crate::zone::TimeZone::UTC) } else { crate::value::format_timestamp(t) })
            })
        }
        DataType::Time64(_) | DataType::Time32(_) => {
            let micros = time_micros(&ColumnarValue::Array(array.clone()), rows)?;
            each(&|i| quoted(&crate::value::format_time(micros.value(i))))
        }
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
            let bytes = arrow::compute::cast(array, &DataType::Binary)?;
            let bytes = bytes.as_binary::<i32>();
            each(&|i| quoted(&format!("\\x{}", bytes.value(i).iter().map(|b| format!("{b:02x}")).collect::<String>())))
        }
        _ => {
            let text = arrow::compute::cast(array, &DataType::Utf8)?;
            let text = text.as_string::<i32>();
            let raw = matches!(declared, Some("json" | "jsonb"));
            each(&|i| if raw { text.value(i).to_string() } else { quoted(text.value(i)) })
        }
    })
}
