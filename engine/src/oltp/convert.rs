//! SQLite rows to Arrow record batches. Values arrive in rhei's storage forms (see
//! `catalog::types`) and leave as the Arrow type the column was declared or planned with, so an
//! OLTP answer has the same types as the OLAP one. A value that cannot be represented is an
//! error, never a silent NULL.

use std::sync::Arc;

use arrow::array::{
    ArrayBuilder, ArrayRef, AsArray, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Decimal256Builder, Float32Builder,
    Float64Builder, Int16Builder, Int32Builder, Int64Builder, IntervalMonthDayNanoBuilder, ListBuilder, StringBuilder, Time64MicrosecondBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, IntervalUnit, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use rusqlite::types::ValueRef;

use crate::error::{EngineError, Result};
use crate::value::{parse_date_days, parse_decimal, parse_timestamp_micros};

/// Rows per batch produced from SQLite results.
pub const BATCH_ROWS: usize = 8192;

/// Accumulates SQLite rows into Arrow arrays of a fixed schema.
pub struct BatchBuilder {
    schema: SchemaRef,
    columns: Vec<Box<dyn ArrayBuilder>>,
    /// Columns of unconstrained numeric carried as their exact text (see [`numeric_text`]).
    numeric_text: Vec<bool>,
    rows: usize,
    /// For [`Self::for_segments`]: rows per segment.
    segment_rows: usize,
}

impl BatchBuilder {
    pub fn new(schema: SchemaRef) -> Self {
        let columns = schema.fields().iter().map(|f| builder_for(f.data_type(), None)).collect();
        let numeric_text = schema.fields().iter().map(|f| is_numeric_text(f)).collect();
        Self { schema, columns, numeric_text, rows: 0, segment_rows: 0 }
    }

    /// A builder for a table read or loaded in segments of `segment_rows`: once a full segment
    /// has been taken, the next one's arrays are allocated at their full size up front. Growing
    /// them by doubling again for every segment copied each array several times and, with
    /// allocations this large, faulted in fresh memory for each copy: a quarter of a COPY's
    /// conversion time went to the kernel zeroing pages. The first segment still grows from
    /// small, so a small table's arrays stay small.
    pub fn for_segments(schema: SchemaRef, segment_rows: usize) -> Self {
        Self { segment_rows, ..Self::new(schema) }
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Appends one row, reading columns `offset..offset + width` of the SQLite row.
    ///
    /// # Errors
    /// A value that does not convert to its column's type.
    pub fn push_row(&mut self, row: &rusqlite::Row<'_>, offset: usize) -> Result<()> {
        for (i, builder) in self.columns.iter_mut().enumerate() {
            let value = row.get_ref(offset + i).map_err(|e| EngineError::Sqlite(e.to_string()))?;
            let field = &self.schema.fields()[i];
            if self.numeric_text[i] {
                numeric_text(builder.as_mut(), value)?;
            } else {
                append(builder.as_mut(), field.data_type(), value)?;
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// The first column of `row` (read from `offset`) whose value does not convert, with the
    /// value as SQLite holds it: what a failed [`Self::push_row`] stumbled on, for a message.
    pub fn unconvertible(&self, row: &rusqlite::Row<'_>, offset: usize) -> Option<(String, String)> {
        self.schema.fields().iter().enumerate().find_map(|(i, field)| {
            let value = row.get_ref(offset + i).ok()?;
            let mut scratch = builder_for(field.data_type(), None);
            let converted = if self.numeric_text[i] {
                numeric_text(scratch.as_mut(), value)
            } else {
                append(scratch.as_mut(), field.data_type(), value)
            };
            converted.is_err().then(|| (field.name().clone(), shown_value(value)))
        })
    }

    /// Appends one row given as values in storage form (what SQLite would store and return).
    ///
    /// # Errors
    /// A value that does not convert, or a row of the wrong width.
    pub fn push_values(&mut self, row: &[rusqlite::types::Value]) -> Result<()> {
        self.push_refs(row.iter().map(ValueRef::from))
    }

    /// [`Self::push_values`] for borrowed values (a row of a [`crate::row_chunk::RowChunk`]).
    ///
    /// # Errors
    /// As [`Self::push_values`].
    pub fn push_refs<'a>(&mut self, row: impl ExactSizeIterator<Item = ValueRef<'a>>) -> Result<()> {
        if row.len() != self.columns.len() {
            return Err(EngineError::Internal(format!("a row of {} values for {} columns", row.len(), self.columns.len())));
        }
        for (((builder, field), value), as_text) in self.columns.iter_mut().zip(self.schema.fields()).zip(row).zip(&self.numeric_text) {
            if *as_text {
                numeric_text(builder.as_mut(), value)?;
            } else {
                append(builder.as_mut(), field.data_type(), value)?;
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// Takes the rows gathered so far as a batch, leaving the builder empty.
    ///
    /// # Errors
    /// Only on an internal schema mismatch.
    pub fn finish(&mut self) -> Result<RecordBatch> {
        let arrays: Vec<ArrayRef> = self.columns.iter_mut().map(|b| b.finish()).collect();
        if self.segment_rows > 0 && self.rows >= self.segment_rows {
            // Variable-width data is sized like the segment just taken, with some room.
            let sized = |array: &ArrayRef| {
                let bytes = match array.data_type() {
                    DataType::Binary => array.as_binary::<i32>().values().len(),
                    DataType::Utf8 => array.as_string::<i32>().values().len(),
                    _ => 0,
                };
                builder_for(array.data_type(), Some((self.segment_rows, bytes + bytes / 8)))
            };
            self.columns = arrays.iter().map(sized).collect();
        }
        self.rows = 0;
        let options = arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(arrays.first().map_or(0, |a| a.len())));
        RecordBatch::try_new_with_options(self.schema.clone(), arrays, &options)
            .map_err(|e| EngineError::Internal(format!("building a result batch: {e}")))
    }
}

/// Whether `field` is an unconstrained numeric result carried as text: PostgreSQL keeps each
/// such value's own scale, which no fixed-scale Arrow decimal can.
fn is_numeric_text(field: &arrow::datatypes::Field) -> bool {
    field.data_type() == &DataType::Utf8 && crate::catalog::types::declares_unconstrained_numeric(field)
}

/// Appends an unconstrained numeric value as its decimal text: stored values are already
/// exact text (`rhei_numeric`); a number SQLite computed is written out in plain digits.
fn numeric_text(builder: &mut dyn ArrayBuilder, value: ValueRef<'_>) -> Result<()> {
    use crate::catalog::types::UNCONSTRAINED_NUMERIC_SCALE as SCALE;
    let b = builder.as_any_mut().downcast_mut::<StringBuilder>().expect("builder matches its schema field");
    let ty = DataType::Decimal128(38, SCALE);
    match value {
        ValueRef::Null => b.append_null(),
        ValueRef::Integer(i) => b.append_value(i.to_string()),
        ValueRef::Real(f) if f.is_finite() => {
            let (scaled, scale) = crate::value::without_trailing_zeros(decimal(&ty, 38, SCALE, value)?, SCALE);
            b.append_value(crate::value::format_decimal(scaled, scale));
        }
        ValueRef::Text(t) => match std::str::from_utf8(t) {
            Ok(s) if crate::value::is_plain_decimal(s) || s == "NaN" => b.append_value(s),
            // SQLite's text of a REAL (`1.0e+15`), which an INSERT ... SELECT may have stored.
            Ok(s) => b.append_value(crate::oltp::functions::canonical_numeric(s).ok_or_else(|| invalid(&ty, value))?),
            Err(_) => return Err(invalid(&ty, value)),
        },
        ValueRef::Real(_) | ValueRef::Blob(_) => return Err(invalid(&ty, value)),
    }
    Ok(())
}

/// A builder for `ty`, with room for `(rows, bytes of variable-width data)` when given.
fn builder_for(ty: &DataType, capacity: Option<(usize, usize)>) -> Box<dyn ArrayBuilder> {
    let (rows, bytes) = capacity.unwrap_or((1024, 1024));
    match ty {
        DataType::Int16 => Box::new(Int16Builder::with_capacity(rows)),
        DataType::Int32 => Box::new(Int32Builder::with_capacity(rows)),
        DataType::Int64 => Box::new(Int64Builder::with_capacity(rows)),
        DataType::Float32 => Box::new(Float32Builder::with_capacity(rows)),
        DataType::Float64 => Box::new(Float64Builder::with_capacity(rows)),
        DataType::Decimal128(p, s) => Box::new(
            Decimal128Builder::with_capacity(rows)
                .with_precision_and_scale(*p, *s)
                .expect("catalog precision and scale are valid"),
        ),
        DataType::Decimal256(p, s) => Box::new(
            Decimal256Builder::with_capacity(rows)
                .with_precision_and_scale(*p, *s)
                .expect("catalog precision and scale are valid"),
        ),
        DataType::Boolean => Box::new(BooleanBuilder::with_capacity(rows)),
        DataType::Date32 => Box::new(Date32Builder::with_capacity(rows)),
        DataType::Timestamp(TimeUnit::Microsecond, tz) => {
            Box::new(TimestampMicrosecondBuilder::with_capacity(rows).with_timezone_opt(tz.clone()))
        }
        DataType::Time64(TimeUnit::Microsecond) => Box::new(Time64MicrosecondBuilder::with_capacity(rows)),
        DataType::Binary => Box::new(BinaryBuilder::with_capacity(rows, bytes)),
        DataType::Interval(IntervalUnit::MonthDayNano) => Box::new(IntervalMonthDayNanoBuilder::with_capacity(rows)),
        DataType::List(element) => {
            Box::new(ListBuilder::with_capacity(builder_for(element.data_type(), None), rows).with_field(element.clone()))
        }
        _ => Box::new(StringBuilder::with_capacity(rows, bytes)),
    }
}

macro_rules! downcast {
    ($builder:expr, $ty:ty) => {
        $builder.as_any_mut().downcast_mut::<$ty>().expect("builder matches its schema field")
    };
}

fn type_name(ty: &DataType) -> &'static str {
    match ty {
        DataType::Int16 => "smallint",
        DataType::Int32 => "integer",
        DataType::Int64 => "bigint",
        DataType::Float32 => "real",
        DataType::Float64 => "double precision",
        DataType::Decimal128(..) | DataType::Decimal256(..) => "numeric",
        DataType::Boolean => "boolean",
        DataType::Date32 => "date",
        DataType::Timestamp(_, None) => "timestamp",
        DataType::Timestamp(_, Some(_)) => "timestamp with time zone",
        DataType::Time64(_) => "time without time zone",
        DataType::Binary => "bytea",
        DataType::Interval(_) => "interval",
        DataType::List(_) => "array",
        _ => "text",
    }
}

fn invalid(ty: &DataType, value: ValueRef<'_>) -> EngineError {
    let shown = match value {
        ValueRef::Null => "NULL".to_string(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => f.to_string(),
        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
        ValueRef::Blob(b) => format!("<{} bytes>", b.len()),
    };
    EngineError::InvalidTextRepresentation { type_name: type_name(ty).to_string(), value: shown }
}

fn as_i64(ty: &DataType, value: ValueRef<'_>) -> Result<i64> {
    match value {
        ValueRef::Integer(i) => Ok(i),
        ValueRef::Real(f) if f.is_finite() && f.abs() < 9.2e18 => Ok(f.round_ties_even() as i64),
        // SQLite turns integer arithmetic that overflows 64 bits into a REAL.
        ValueRef::Real(_) => Err(EngineError::NumericOutOfRange { type_name: type_name(ty).to_string() }),
        ValueRef::Text(t) => std::str::from_utf8(t)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| invalid(ty, value)),
        _ => Err(invalid(ty, value)),
    }
}

fn as_f64(ty: &DataType, value: ValueRef<'_>) -> Result<f64> {
    match value {
        ValueRef::Integer(i) => Ok(i as f64),
        ValueRef::Real(f) => Ok(f),
        ValueRef::Text(t) => std::str::from_utf8(t)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| invalid(ty, value)),
        _ => Err(invalid(ty, value)),
    }
}

fn narrow<T: TryFrom<i64>>(ty: &DataType, v: i64) -> Result<T> {
    T::try_from(v).map_err(|_| EngineError::NumericOutOfRange { type_name: type_name(ty).to_string() })
}

fn append(builder: &mut dyn ArrayBuilder, ty: &DataType, value: ValueRef<'_>) -> Result<()> {
    let is_null = matches!(value, ValueRef::Null);
    match ty {
        DataType::Int16 => {
            let b = downcast!(builder, Int16Builder);
            if is_null { b.append_null() } else { b.append_value(narrow(ty, as_i64(ty, value)?)?) }
        }
        DataType::Int32 => {
            let b = downcast!(builder, Int32Builder);
            if is_null { b.append_null() } else { b.append_value(narrow(ty, as_i64(ty, value)?)?) }
        }
        DataType::Int64 => {
            let b = downcast!(builder, Int64Builder);
            if is_null { b.append_null() } else { b.append_value(as_i64(ty, value)?) }
        }
        DataType::Float32 => {
            let b = downcast!(builder, Float32Builder);
            if is_null { b.append_null() } else { b.append_value(as_f64(ty, value)? as f32) }
        }
        DataType::Float64 => {
            let b = downcast!(builder, Float64Builder);
            if is_null { b.append_null() } else { b.append_value(as_f64(ty, value)?) }
        }
        DataType::Decimal128(p, s) => {
            let b = downcast!(builder, Decimal128Builder);
            if is_null {
                b.append_null()
            } else {
                b.append_value(decimal(ty, *p, *s, value)?)
            }
        }
        DataType::Decimal256(p, s) => {
            let b = downcast!(builder, Decimal256Builder);
            if is_null {
                b.append_null()
            } else {
                b.append_value(decimal256(ty, *p, *s, value)?)
            }
        }
        DataType::Boolean => {
            let b = downcast!(builder, BooleanBuilder);
            match value {
                ValueRef::Null => b.append_null(),
                ValueRef::Integer(i) => b.append_value(i != 0),
                ValueRef::Real(f) => b.append_value(f != 0.0),
                ValueRef::Text(t) => match t {
                    b"t" | b"true" | b"1" => b.append_value(true),
                    b"f" | b"false" | b"0" => b.append_value(false),
                    _ => return Err(invalid(ty, value)),
                },
                ValueRef::Blob(_) => return Err(invalid(ty, value)),
            }
        }
        DataType::Date32 => {
            let b = downcast!(builder, Date32Builder);
            match value {
                ValueRef::Null => b.append_null(),
                ValueRef::Integer(i) => b.append_value(narrow(ty, i)?),
                ValueRef::Text(t) => {
                    let days = std::str::from_utf8(t).ok().and_then(parse_date_days).ok_or_else(|| invalid(ty, value))?;
                    b.append_value(days)
                }
                _ => return Err(invalid(ty, value)),
            }
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            let b = downcast!(builder, TimestampMicrosecondBuilder);
            match value {
                ValueRef::Null => b.append_null(),
                ValueRef::Integer(i) => b.append_value(i),
                ValueRef::Text(t) => {
                    let micros =
                        std::str::from_utf8(t).ok().and_then(parse_timestamp_micros).ok_or_else(|| invalid(ty, value))?;
                    b.append_value(micros)
                }
                _ => return Err(invalid(ty, value)),
            }
        }
        DataType::Time64(TimeUnit::Microsecond) => {
            let b = downcast!(builder, Time64MicrosecondBuilder);
            match value {
                ValueRef::Null => b.append_null(),
                ValueRef::Integer(i) => b.append_value(i),
                ValueRef::Text(t) => {
                    let micros = std::str::from_utf8(t).ok().and_then(|s| crate::value::parse_time_of_day(s).ok()).ok_or_else(|| invalid(ty, value))?;
                    b.append_value(micros)
                }
                _ => return Err(invalid(ty, value)),
            }
        }
        // SQLite holds an interval as PostgreSQL's text for it (see `oltp::intervals`).
        DataType::Interval(IntervalUnit::MonthDayNano) => {
            let b = downcast!(builder, IntervalMonthDayNanoBuilder);
            match value {
                ValueRef::Null => b.append_null(),
                ValueRef::Text(t) => {
                    let interval = std::str::from_utf8(t)
                        .ok()
                        .and_then(|s| crate::value::parse_interval(s, None))
                        .filter(|i| i.fields().is_some())
                        .ok_or_else(|| invalid(ty, value))?;
                    b.append_value(interval.to_arrow().ok_or(EngineError::IntervalOutOfRange)?)
                }
                _ => return Err(invalid(ty, value)),
            }
        }
        // SQLite holds an array as a JSON array of its elements' storage values (see
        // `catalog::PgType::Array`).
        DataType::List(element) => {
            let b = downcast!(builder, ListBuilder<Box<dyn ArrayBuilder>>);
            let items = match value {
                ValueRef::Null => {
                    b.append_null();
                    return Ok(());
                }
                ValueRef::Text(t) => match serde_json::from_slice::<serde_json::Value>(t) {
                    Ok(serde_json::Value::Array(items)) => items,
                    // PostgreSQL's text for an array where a query left one unconverted
                    // (`coalesce(tags, '{}')`): its elements are read as text.
                    _ => std::str::from_utf8(t)
                        .ok()
                        .and_then(crate::value::parse_array_text)
                        .ok_or_else(|| invalid(ty, value))?
                        .into_iter()
                        .map(|e| e.map_or(serde_json::Value::Null, serde_json::Value::String))
                        .collect(),
                },
                _ => return Err(invalid(ty, value)),
            };
            for item in items {
                let text;
                let item = match &item {
                    serde_json::Value::Null => ValueRef::Null,
                    serde_json::Value::Bool(v) => ValueRef::Integer((*v).into()),
                    serde_json::Value::Number(n) => match n.as_i64() {
                        Some(i) => ValueRef::Integer(i),
                        None => ValueRef::Real(n.as_f64().ok_or_else(|| invalid(ty, value))?),
                    },
                    serde_json::Value::String(s) => ValueRef::Text(s.as_bytes()),
                    serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                        text = item.to_string();
                        ValueRef::Text(text.as_bytes())
                    }
                };
                append(b.values().as_mut(), element.data_type(), item)?;
            }
            b.append(true);
        }
        DataType::Binary => {
            let b = downcast!(builder, BinaryBuilder);
            match value {
                ValueRef::Null => b.append_null(),
                ValueRef::Blob(bytes) | ValueRef::Text(bytes) => b.append_value(bytes),
                _ => return Err(invalid(ty, value)),
            }
        }
        _ => {
            let b = downcast!(builder, StringBuilder);
            match value {
                ValueRef::Null => b.append_null(),
                ValueRef::Text(t) => match std::str::from_utf8(t) {
                    Ok(s) => b.append_value(s),
                    Err(_) => return Err(invalid(ty, value)),
                },
                ValueRef::Integer(i) => b.append_value(i.to_string()),
                ValueRef::Real(f) => b.append_value(crate::value::format_float8(f)),
                ValueRef::Blob(_) => return Err(invalid(ty, value)),
            }
        }
    }
    Ok(())
}

fn decimal(ty: &DataType, precision: u8, scale: i8, value: ValueRef<'_>) -> Result<i128> {
    let unscaled = match value {
        ValueRef::Integer(i) => i128::from(i).checked_mul(10i128.pow(scale.max(0) as u32)),
        ValueRef::Real(f) => {
            let scaled = f * 10f64.powi(i32::from(scale));
            scaled.is_finite().then(|| scaled.round() as i128)
        }
        ValueRef::Text(t) => match std::str::from_utf8(t) {
            Ok(s) => match parse_decimal(s, scale) {
                Some(v) => Some(v),
                // Plain digits that do not fit are a value too large, not malformed.
                None if crate::value::is_plain_decimal(s) => None,
                None => return Err(invalid(ty, value)),
            },
            Err(_) => return Err(invalid(ty, value)),
        },
        _ => return Err(invalid(ty, value)),
    };
    let max = 10i128.pow(u32::from(precision));
    match unscaled {
        Some(v) if v.abs() < max => Ok(v),
        _ => Err(EngineError::NumericOutOfRange { type_name: "numeric".into() }),
    }
}

/// [`decimal`] for precisions beyond i128's: SQLite's value (exact text, or a number a
/// computation gave) read at `scale`, at most `precision` digits.
fn decimal256(ty: &DataType, precision: u8, scale: i8, value: ValueRef<'_>) -> Result<arrow::datatypes::i256> {
    let text = match value {
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) if f.is_finite() => format!("{f}"),
        ValueRef::Text(t) => std::str::from_utf8(t).map_err(|_| invalid(ty, value))?.to_string(),
        _ => return Err(invalid(ty, value)),
    };
    let scaled = crate::value::parse_decimal256(&text, scale).ok_or_else(|| invalid(ty, value))?;
    if crate::value::decimal256_digits(scaled) > usize::from(precision) {
        return Err(EngineError::NumericOutOfRange { type_name: "numeric".into() });
    }
    Ok(scaled)
}

/// A stored value as a message shows it: text up to 80 characters, blobs by their size.
fn shown_value(value: ValueRef<'_>) -> String {
    match value {
        ValueRef::Null => "NULL".into(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => f.to_string(),
        ValueRef::Text(t) => {
            let text = String::from_utf8_lossy(t);
            match text.char_indices().nth(80) {
                Some((end, _)) => format!("{}...", &text[..end]),
                None => text.into_owned(),
            }
        }
        ValueRef::Blob(b) => format!("a {}-byte value", b.len()),
    }
}

/// The Arrow type to use for a result column nothing declared or planned, from its first value.
pub fn infer_type(value: ValueRef<'_>) -> DataType {
    match value {
        ValueRef::Integer(_) => DataType::Int64,
        ValueRef::Real(_) => DataType::Float64,
        ValueRef::Blob(_) => DataType::Binary,
        ValueRef::Null | ValueRef::Text(_) => DataType::Utf8,
    }
}

/// A schema with the same fields but each field's type replaced.
pub fn with_types(schema: &SchemaRef, types: &[DataType]) -> SchemaRef {
    Arc::new(arrow::datatypes::Schema::new(
        schema
            .fields()
            .iter()
            .zip(types)
            .map(|(f, t)| f.as_ref().clone().with_data_type(t.clone()))
            .collect::<Vec<_>>(),
    ))
}

#[cfg(test)]
mod tests {
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Field, Int64Type, Schema};
    use rusqlite::types::Value;

    use super::*;

    #[test]
    fn segments_after_the_first_are_presized_and_hold_the_same_values() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("note", DataType::Utf8, true),
        ]));
        let mut builder = BatchBuilder::for_segments(schema, 4);
        let mut batches = Vec::new();
        for id in 0..10 {
            let note = if id % 3 == 0 { Value::Null } else { Value::Text("x".repeat(id as usize)) };
            builder.push_values(&[Value::Integer(id), note]).unwrap();
            if builder.len() >= 4 {
                batches.push(builder.finish().unwrap());
            }
        }
        batches.push(builder.finish().unwrap());
        assert_eq!(batches.iter().map(RecordBatch::num_rows).collect::<Vec<_>>(), [4, 4, 2]);
        let mut seen = Vec::new();
        for batch in &batches {
            let (ids, notes) = (batch.column(0).as_primitive::<Int64Type>(), batch.column(1).as_string::<i32>());
            for row in 0..batch.num_rows() {
                seen.push((ids.value(row), notes.is_valid(row).then(|| notes.value(row).len())));
            }
        }
        let expected: Vec<_> = (0..10).map(|id| (id, (id % 3 != 0).then_some(id as usize))).collect();
        assert_eq!(seen, expected);
        // Sized for the segment, not grown from the default 1,024 rows.
        assert_eq!(batches[1].column(0).to_data().buffers()[0].capacity(), 4 * 8, "the second segment was sized up front");
    }
}
