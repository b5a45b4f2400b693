//! Arrow batches to DataRow messages, in PostgreSQL's text and binary formats, byte for byte as
//! PostgreSQL 15 writes them.
//!
//! Each column's PostgreSQL type comes from the declared column type where the engine carries
//! it (field metadata `rhei.pg_type`: a `uuid` column is a uuid, a `varchar(20)` a varchar with
//! typmod 24), else from the Arrow type (`count(*)` is int8, `avg` numeric). The encoder
//! downcasts each column once per batch and writes every row of the batch into one buffer,
//! which is then split into DataRows without copying: no allocation per value.
//!
//! Text output follows PostgreSQL's output functions: `t`/`f`, shortest float digits with
//! `Infinity`/`NaN`, numerics with their scale, `\x` hex bytea, ISO dates and timestamps with
//! the fraction trimmed, timestamptz in the session's time zone, `{...}` arrays.

use std::fmt::Write as _;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Field, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
    IntervalMonthDayNanoType, Schema, TimeUnit, TimestampMicrosecondType,
};
use bytes::{BufMut, BytesMut};
use pgwire::api::Type;
use pgwire::api::portal::Format;
use pgwire::api::results::{FieldFormat, FieldInfo};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::data::DataRow;
use rhei_engine::TimeZone;
use rhei_engine::EngineError;
use rhei_engine::catalog::PgType;
use rhei_engine::catalog::types::PG_TYPE_METADATA;
use rhei_engine::network::{NetAddr, NetKind};

use crate::error::to_pgwire;

const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
const PG_EPOCH_DAYS: i32 = 10_957;

/// Field metadata naming a result column's PostgreSQL type by OID, for types no declared
/// column has (the catalogs' `oid[]`).
const PG_OID_METADATA: &str = "rhei.pg_oid";

/// Metadata that makes a result field `ty` on the wire (see [`pg_type_of`]).
pub fn pg_oid_metadata(ty: &Type) -> std::collections::HashMap<String, String> {
    std::collections::HashMap::from([(PG_OID_METADATA.to_string(), ty.oid().to_string())])
}

/// `field` without the `oid` or `"char"` type a catalog column gave it, for a value computed
/// from one (`oid::int8`, `relkind::text`): DataFusion keeps a field's metadata through a
/// cast, and the Arrow type alone cannot tell an int8 from an OID.
pub fn without_catalog_scalar_type(field: Field) -> Field {
    let catalog_type = field
        .metadata()
        .get(PG_OID_METADATA)
        .is_some_and(|oid| *oid == Type::OID.oid().to_string() || *oid == Type::CHAR.oid().to_string());
    if !catalog_type {
        return field;
    }
    let mut metadata = field.metadata().clone();
    metadata.remove(PG_OID_METADATA);
    field.with_metadata(metadata)
}

/// The PostgreSQL type and typmod of a result column.
pub fn pg_type_of(field: &Field) -> (Type, i32) {
    if let Some(ty) = field.metadata().get(PG_OID_METADATA).and_then(|oid| oid.parse().ok()).and_then(Type::from_oid)
        && carries(&ty, field.data_type())
    {
        return (ty, -1);
    }
    // A declared type its values do not have would put garbage on the wire.
    if let Some(declared) = field
        .metadata()
        .get(PG_TYPE_METADATA)
        .and_then(|name| PgType::from_pg_name(name))
        .filter(|declared| declared.is_carried_by(field.data_type()))
    {
        let (oid, typmod) = crate::catalog::type_of(&declared);
        if let Some(ty) = Type::from_oid(oid as u32) {
            return (ty, typmod);
        }
        if let PgType::Enum(e) = declared {
            let def = e.def();
            let kind = tokio_postgres::types::Kind::Enum(def.labels.clone());
            return (Type::new(def.name.clone(), oid as u32, kind, "public".into()), -1);
        }
    }
    (arrow_pg_type(field.data_type()), -1)
}

/// Whether values of Arrow type `data` can go out as `ty` (a field's metadata naming a type
/// survives casts and functions its values do not: `typtype::text`).
fn carries(ty: &Type, data: &DataType) -> bool {
    match *ty {
        Type::OID => *data == DataType::Int64,
        Type::CHAR => *data == DataType::Utf8,
        Type::OID_ARRAY => matches!(data, DataType::List(_)),
        _ => true,
    }
}

/// The PostgreSQL type of a computed value of an Arrow type.
pub fn arrow_pg_type(ty: &DataType) -> Type {
    match ty {
        DataType::Boolean => Type::BOOL,
        DataType::Int8 | DataType::Int16 | DataType::UInt8 => Type::INT2,
        DataType::Int32 | DataType::UInt16 => Type::INT4,
        DataType::Int64 | DataType::UInt32 => Type::INT8,
        DataType::UInt64 | DataType::Decimal128(..) | DataType::Decimal256(..) => Type::NUMERIC,
        DataType::Float16 | DataType::Float32 => Type::FLOAT4,
        DataType::Float64 => Type::FLOAT8,
        DataType::Date32 | DataType::Date64 => Type::DATE,
        DataType::Timestamp(_, None) => Type::TIMESTAMP,
        DataType::Timestamp(_, Some(_)) => Type::TIMESTAMPTZ,
        DataType::Time32(_) | DataType::Time64(_) => Type::TIME,
        DataType::Interval(_) | DataType::Duration(_) => Type::INTERVAL,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => Type::BYTEA,
        DataType::Struct(_) => Type::RECORD,
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => match innermost_element(f.data_type()) {
            DataType::Int16 => Type::INT2_ARRAY,
            DataType::Int32 => Type::INT4_ARRAY,
            DataType::Int64 => Type::INT8_ARRAY,
            DataType::Boolean => Type::BOOL_ARRAY,
            DataType::Float32 => Type::FLOAT4_ARRAY,
            DataType::Float64 => Type::FLOAT8_ARRAY,
            _ => Type::TEXT_ARRAY,
        },
        _ => Type::TEXT,
    }
}

/// The element type of a list however deeply nested: PostgreSQL's `int[]` is one type for any
/// number of dimensions.
fn innermost_element(ty: &DataType) -> &DataType {
    match ty {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => innermost_element(f.data_type()),
        other => other,
    }
}

/// `pg_type.typlen`, which RowDescription carries: the fixed width, or -1.
fn type_size(ty: &Type) -> i16 {
    match *ty {
        Type::BOOL | Type::CHAR => 1,
        Type::INT2 => 2,
        Type::INT4 | Type::FLOAT4 | Type::DATE | Type::OID => 4,
        Type::INT8 | Type::FLOAT8 | Type::TIMESTAMP | Type::TIMESTAMPTZ | Type::TIME => 8,
        Type::UUID | Type::INTERVAL => 16,
        Type::NAME => 64,
        _ => -1,
    }
}

/// Column descriptions for a result schema in the given formats.
///
/// # Errors
/// Result format codes that do not fit the columns (08P01).
pub fn fields(schema: &Schema, format: &Format) -> PgWireResult<Vec<FieldInfo>> {
    let count = schema.fields().len();
    schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let (ty, typmod) = pg_type_of(f);
            let format = match format {
                Format::UnifiedText => FieldFormat::Text,
                Format::UnifiedBinary => FieldFormat::Binary,
                Format::Individual(codes) if codes.len() == 1 => FieldFormat::from(codes[0]),
                Format::Individual(codes) if codes.len() == count => FieldFormat::from(codes[i]),
                Format::Individual(codes) => {
                    return Err(crate::error::protocol_violation(format!(
                        "bind message has {} result formats but query has {count} columns",
                        codes.len()
                    )));
                }
            };
            let size = type_size(&ty);
            Ok(FieldInfo::new(f.name().clone(), None, None, ty, format).with_type_modifier(typmod).with_type_size(size))
        })
        .collect()
}

/// One column of a batch, downcast once.
enum Column<'a> {
    Bool(&'a arrow::array::BooleanArray),
    I16(&'a arrow::array::PrimitiveArray<Int16Type>),
    I32(&'a arrow::array::PrimitiveArray<Int32Type>),
    I64(&'a arrow::array::PrimitiveArray<Int64Type>),
    F32(&'a arrow::array::PrimitiveArray<Float32Type>),
    F64(&'a arrow::array::PrimitiveArray<Float64Type>),
    /// A decimal at a scale; `true` for an unconstrained numeric column, whose values are
    /// shown without the trailing fraction zeros the column's fixed scale adds.
    Decimal(&'a arrow::array::PrimitiveArray<Decimal128Type>, i8, bool),
    Decimal256(&'a arrow::array::PrimitiveArray<arrow::datatypes::Decimal256Type>, i8),
    Date(&'a arrow::array::PrimitiveArray<Date32Type>),
    /// `time`: microseconds since midnight.
    Time(&'a arrow::array::PrimitiveArray<arrow::datatypes::Time64MicrosecondType>),
    Timestamp(&'a arrow::array::PrimitiveArray<TimestampMicrosecondType>, bool),
    Interval(&'a arrow::array::PrimitiveArray<IntervalMonthDayNanoType>),
    Text(&'a arrow::array::StringArray),
    Bytes(&'a arrow::array::BinaryArray),
    List(&'a arrow::array::ListArray),
}

/// How one column is written.
struct ColumnWriter<'a> {
    column: Column<'a>,
    ty: Type,
    binary: bool,
    /// char(n): values are kept without trailing blanks and padded to `n` here.
    pad_to: Option<usize>,
}

/// Arrow types the writer reads directly; any other is cast first.
fn target_type(ty: &DataType) -> DataType {
    match ty {
        DataType::Boolean
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::Float32
        | DataType::Float64
        | DataType::Decimal128(..)
        | DataType::Decimal256(..)
        | DataType::Date32
        | DataType::Utf8
        | DataType::Binary
        | DataType::Time64(TimeUnit::Microsecond)
        | DataType::Interval(arrow::datatypes::IntervalUnit::MonthDayNano) => ty.clone(),
        DataType::Time32(_) | DataType::Time64(_) => DataType::Time64(TimeUnit::Microsecond),
        DataType::Int8 | DataType::UInt8 => DataType::Int16,
        DataType::UInt16 => DataType::Int32,
        DataType::UInt32 => DataType::Int64,
        DataType::UInt64 => DataType::Decimal128(20, 0),
        DataType::Float16 => DataType::Float32,
        DataType::Date64 => DataType::Date32,
        DataType::Timestamp(_, zone) => DataType::Timestamp(TimeUnit::Microsecond, zone.clone()),
        DataType::Interval(_) => DataType::Interval(arrow::datatypes::IntervalUnit::MonthDayNano),
        DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => DataType::Binary,
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            DataType::List(Arc::new(Field::new("item", target_type(f.data_type()), true)))
        }
        _ => DataType::Utf8,
    }
}

fn internal(e: impl std::fmt::Display) -> PgWireError {
    to_pgwire(&EngineError::Internal(format!("encoding a result column: {e}")))
}

/// Columns in the types the writer reads (casting the rare others).
fn normalized(batch: &RecordBatch) -> PgWireResult<Vec<ArrayRef>> {
    batch
        .columns()
        .iter()
        .map(|c| {
            // A row is sent as its record text (Arrow cannot cast a struct to text).
            if let DataType::Struct(_) = c.data_type() {
                let text: arrow::array::StringArray = (0..c.len()).map(|row| rhei_engine::copy::pg_text(c, row)).collect();
                return Ok(Arc::new(text) as ArrayRef);
            }
            let want = target_type(c.data_type());
            if &want == c.data_type() { Ok(c.clone()) } else { arrow::compute::cast(c, &want).map_err(internal) }
        })
        .collect()
}

/// `shortest`: see [`Column::Decimal`].
fn column(array: &ArrayRef, shortest: bool) -> PgWireResult<Column<'_>> {
    Ok(match array.data_type() {
        DataType::Boolean => Column::Bool(array.as_boolean()),
        DataType::Int16 => Column::I16(array.as_primitive()),
        DataType::Int32 => Column::I32(array.as_primitive()),
        DataType::Int64 => Column::I64(array.as_primitive()),
        DataType::Float32 => Column::F32(array.as_primitive()),
        DataType::Float64 => Column::F64(array.as_primitive()),
        DataType::Decimal128(_, s) => Column::Decimal(array.as_primitive(), *s, shortest),
        DataType::Decimal256(_, s) => Column::Decimal256(array.as_primitive(), *s),
        DataType::Date32 => Column::Date(array.as_primitive()),
        DataType::Time64(TimeUnit::Microsecond) => Column::Time(array.as_primitive()),
        DataType::Timestamp(TimeUnit::Microsecond, zone) => Column::Timestamp(array.as_primitive(), zone.is_some()),
        DataType::Interval(_) => Column::Interval(array.as_primitive()),
        DataType::Utf8 => Column::Text(array.as_string()),
        DataType::Binary => Column::Bytes(array.as_binary()),
        DataType::List(_) => Column::List(array.as_list()),
        other => return Err(internal(format!("unexpected type {other}"))),
    })
}

/// The session settings text output follows: `TimeZone` for timestamptz, `IntervalStyle` for
/// intervals.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextStyle {
    pub zone: TimeZone,
    pub intervals: rhei_engine::value::IntervalStyle,
}

/// Encodes a batch into DataRows for `fields`, its text in the session's `style`.
///
/// # Errors
/// A value the declared type cannot hold on the wire (a malformed uuid: an internal error).
pub fn encode_batch(batch: &RecordBatch, fields: &[FieldInfo], style: TextStyle) -> PgWireResult<Vec<DataRow>> {
    let arrays = normalized(batch)?;
    if arrays.len() != fields.len() {
        return Err(internal(format!("{} columns for {} fields", arrays.len(), fields.len())));
    }
    let schema = batch.schema();
    let writers = arrays
        .iter()
        .zip(fields)
        .zip(schema.fields())
        .map(|((a, f), batch_field)| {
            let pad_to = (*f.datatype() == Type::BPCHAR && f.type_modifier() > 4).then(|| (f.type_modifier() - 4) as usize);
            let column = column(a, rhei_engine::catalog::types::declares_unconstrained_numeric(batch_field))?;
            Ok(ColumnWriter { column, ty: f.datatype().clone(), binary: f.format() == FieldFormat::Binary, pad_to })
        })
        .collect::<PgWireResult<Vec<_>>>()?;
    let mut buf = BytesMut::with_capacity(batch.num_rows() * (fields.len() * 12 + 16));
    let mut rows = Vec::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        for (w, array) in writers.iter().zip(&arrays) {
            if array.is_null(row) {
                buf.put_i32(-1);
                continue;
            }
            let at = buf.len();
            buf.put_i32(0);
            if w.binary {
                write_binary(&mut buf, &w.column, &w.ty, row)?;
            } else {
                write_text(&mut buf, &w.column, &w.ty, row, style)?;
            }
            if let (Some(width), Column::Text(a)) = (w.pad_to, &w.column) {
                let chars = a.value(row).chars().count();
                buf.put_bytes(b' ', width.saturating_sub(chars));
            }
            let len = (buf.len() - at - 4) as i32;
            buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
        }
        rows.push(DataRow::new(buf.split(), fields.len() as i16));
    }
    Ok(rows)
}

fn write_text(buf: &mut BytesMut, column: &Column<'_>, ty: &Type, row: usize, style: TextStyle) -> PgWireResult<()> {
    // fmt::Write for BytesMut cannot fail.
    match column {
        Column::Bool(a) => buf.put_u8(if a.value(row) { b't' } else { b'f' }),
        Column::I16(a) => {
            let _ = write!(buf, "{}", a.value(row));
        }
        Column::I32(a) => {
            let _ = write!(buf, "{}", a.value(row));
        }
        Column::I64(a) => {
            let _ = write!(buf, "{}", a.value(row));
        }
        Column::F32(a) => buf.put_slice(rhei_engine::value::format_float4(a.value(row)).as_bytes()),
        Column::F64(a) => buf.put_slice(rhei_engine::value::format_float8(a.value(row)).as_bytes()),
        Column::Decimal(a, scale, shortest) => {
            let (value, scale) = shown_decimal(a.value(row), *scale, *shortest);
            write_decimal_text(buf, value, scale);
        }
        Column::Decimal256(a, scale) => buf.put_slice(rhei_engine::value::format_decimal256(a.value(row), *scale).as_bytes()),
        Column::Date(a) => buf.put_slice(rhei_engine::value::format_date(a.value(row).into()).as_bytes()),
        Column::Time(a) => buf.put_slice(rhei_engine::value::format_time(a.value(row)).as_bytes()),
        Column::Timestamp(a, false) => buf.put_slice(rhei_engine::value::format_timestamp(a.value(row)).as_bytes()),
        Column::Timestamp(a, true) => {
            buf.put_slice(rhei_engine::value::format_timestamptz_in(a.value(row), style.zone).as_bytes());
        }
        Column::Interval(a) => {
            let v = a.value(row);
            buf.put_slice(rhei_engine::value::format_interval_in(v.months, v.days, v.nanoseconds / 1000, style.intervals).as_bytes());
        }
        Column::Text(a) => buf.put_slice(a.value(row).as_bytes()),
        Column::Bytes(a) => {
            buf.put_slice(b"\\x");
            for b in a.value(row) {
                let _ = write!(buf, "{b:02x}");
            }
        }
        Column::List(a) => write_array_text(buf, &a.value(row), ty, style)?,
    }
    Ok(())
}

fn write_binary(buf: &mut BytesMut, column: &Column<'_>, ty: &Type, row: usize) -> PgWireResult<()> {
    // A row's binary form (record_send: each field's type and bytes) is not written; its text
    // would be read as garbage.
    if *ty == Type::RECORD {
        return Err(to_pgwire(&EngineError::FeatureNotSupported { what: "a row value (record) in binary format; ask for it as text".into() }));
    }
    match column {
        Column::Bool(a) => buf.put_u8(u8::from(a.value(row))),
        Column::I16(a) => buf.put_i16(a.value(row)),
        Column::I32(a) => buf.put_i32(a.value(row)),
        // An OID is four bytes, unsigned; rhei holds OIDs as int8.
        Column::I64(a) if *ty == Type::OID => {
            let oid = u32::try_from(a.value(row)).map_err(|_| to_pgwire(&EngineError::NumericOutOfRange { type_name: "oid".into() }))?;
            buf.put_u32(oid);
        }
        Column::I64(a) => buf.put_i64(a.value(row)),
        Column::F32(a) => buf.put_f32(a.value(row)),
        Column::F64(a) => buf.put_f64(a.value(row)),
        Column::Decimal(a, scale, shortest) => {
            let (value, scale) = shown_decimal(a.value(row), *scale, *shortest);
            write_decimal_binary(buf, value, scale);
        }
        Column::Decimal256(a, scale) => write_decimal_text_as_binary(buf, &rhei_engine::value::format_decimal256(a.value(row), *scale)),
        Column::Date(a) => buf.put_i32(a.value(row) - PG_EPOCH_DAYS),
        Column::Time(a) => buf.put_i64(a.value(row)),
        Column::Timestamp(a, _) => buf.put_i64(a.value(row) - PG_EPOCH_MICROS),
        Column::Interval(a) => {
            let v = a.value(row);
            buf.put_i64(v.nanoseconds / 1000);
            buf.put_i32(v.days);
            buf.put_i32(v.months);
        }
        Column::Text(a) => {
            let s = a.value(row);
            match *ty {
                Type::UUID => write_uuid_binary(buf, s)?,
                Type::INET | Type::CIDR => {
                    let kind = if *ty == Type::CIDR { NetKind::Cidr } else { NetKind::Inet };
                    let value = NetAddr::parse(s, NetKind::Inet).map_err(|_| internal(format!("invalid {} {s:?}", kind.name())))?;
                    buf.put_slice(&value.to_binary(kind));
                }
                // An unconstrained numeric read from SQLite is its exact text.
                Type::NUMERIC if s == "NaN" => put_numeric_nan(buf),
                Type::NUMERIC if rhei_engine::value::is_plain_decimal(s) => write_decimal_text_as_binary(buf, s),
                Type::NUMERIC => return Err(internal(format!("invalid numeric {s:?}"))),
                Type::JSONB => {
                    buf.put_u8(1);
                    buf.put_slice(s.as_bytes());
                }
                // `"char"` (a catalog's `typtype`, `relkind`, ...): one byte.
                Type::CHAR => buf.put_u8(s.bytes().next().unwrap_or(0)),
                _ => buf.put_slice(s.as_bytes()),
            }
        }
        Column::Bytes(a) => buf.put_slice(a.value(row)),
        Column::List(a) => write_array_binary(buf, &a.value(row), ty)?,
    }
    Ok(())
}

fn write_uuid_binary(buf: &mut BytesMut, text: &str) -> PgWireResult<()> {
    let hex: Vec<u8> = text.bytes().filter(|b| *b != b'-').collect();
    if hex.len() != 32 {
        return Err(internal(format!("invalid uuid {text:?}")));
    }
    for pair in hex.chunks(2) {
        let digit = |b: u8| (b as char).to_digit(16).ok_or_else(|| internal(format!("invalid uuid {text:?}")));
        buf.put_u8((digit(pair[0])? * 16 + digit(pair[1])?) as u8);
    }
    Ok(())
}

/// A scaled integer as decimal text with exactly `scale` fraction digits.
fn write_decimal_text(buf: &mut BytesMut, value: i128, scale: i8) {
    let mut digits = [0u8; 40];
    let mut n = value.unsigned_abs();
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        n /= 10;
        len += 1;
        if n == 0 {
            break;
        }
    }
    let scale = scale.max(0) as usize;
    if value < 0 {
        buf.put_u8(b'-');
    }
    // digits[] is little-endian; pad with zeros so there is an integer digit.
    let total = len.max(scale + 1);
    for i in (0..total).rev() {
        if i + 1 == scale {
            buf.put_u8(b'.');
        }
        buf.put_u8(if i < len { digits[i] } else { b'0' });
    }
}

/// A scaled integer in PostgreSQL's binary numeric: base-10000 digit groups around the
/// decimal point, weight of the first group, sign, display scale.
fn write_decimal_binary(buf: &mut BytesMut, value: i128, scale: i8) {
    let scale = scale.max(0) as u32;
    let abs = value.unsigned_abs();
    let pow = 10u128.pow(scale);
    let (mut int_part, frac_part) = (abs / pow, abs % pow);
    // Fraction groups: pad the fraction on the right to a multiple of four digits.
    let frac_groups = scale.div_ceil(4);
    let mut frac = frac_part * 10u128.pow(frac_groups * 4 - scale);
    let mut fraction = Vec::with_capacity(frac_groups as usize);
    for _ in 0..frac_groups {
        fraction.push((frac % 10_000) as i16);
        frac /= 10_000;
    }
    fraction.reverse();
    let mut integer = Vec::new();
    while int_part > 0 {
        integer.push((int_part % 10_000) as i16);
        int_part /= 10_000;
    }
    integer.reverse();
    let weight = integer.len() as i16 - 1;
    put_numeric(buf, integer.into_iter().chain(fraction).collect(), weight, value < 0, scale as u16);
}

/// Writes a binary numeric from its base-10000 `groups` (the first at `weight`): leading zero
/// groups move the weight, trailing ones are dropped.
fn put_numeric(buf: &mut BytesMut, mut groups: Vec<i16>, mut weight: i16, negative: bool, scale: u16) {
    while groups.first() == Some(&0) {
        groups.remove(0);
        weight -= 1;
    }
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.is_empty() {
        weight = 0;
    }
    buf.put_i16(groups.len() as i16);
    buf.put_i16(weight);
    buf.put_u16(if negative { 0x4000 } else { 0 });
    buf.put_u16(scale);
    for g in groups {
        buf.put_i16(g);
    }
}

/// A decimal as shown: an unconstrained numeric's (`shortest`) without trailing fraction zeros.
fn shown_decimal(value: i128, scale: i8, shortest: bool) -> (i128, i8) {
    if shortest { rhei_engine::value::without_trailing_zeros(value, scale) } else { (value, scale) }
}

/// PostgreSQL's binary numeric NaN: no digits, the NaN sign.
fn put_numeric_nan(buf: &mut BytesMut) {
    buf.put_i16(0);
    buf.put_i16(0);
    buf.put_u16(0xC000);
    buf.put_u16(0);
}

/// A decimal text (`-123.4500`, as `format_decimal256` writes it) in PostgreSQL's binary
/// numeric, for values beyond i128: the digit groups are read off the text.
fn write_decimal_text_as_binary(buf: &mut BytesMut, text: &str) {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    let group = |chunk: &[u8]| chunk.iter().fold(0i16, |acc, d| acc * 10 + i16::from(d - b'0'));
    // Integer digits padded on the left, fraction digits on the right, to whole groups of four.
    let int_padded = format!("{}{int_part}", "0".repeat((4 - int_part.len() % 4) % 4));
    let frac_padded = format!("{frac_part}{}", "0".repeat((4 - frac_part.len() % 4) % 4));
    let integer: Vec<i16> = int_padded.as_bytes().chunks(4).map(group).collect();
    let weight = integer.len() as i16 - 1;
    let groups = integer.into_iter().chain(frac_padded.as_bytes().chunks(4).map(group)).collect();
    put_numeric(buf, groups, weight, negative, frac_part.len() as u16);
}

/// An array element's text, quoted as `array_out` quotes (see
/// [`rhei_engine::copy::push_array_element`]).
fn write_array_element(buf: &mut BytesMut, text: &str) {
    let mut quoted = String::with_capacity(text.len() + 2);
    rhei_engine::copy::push_array_element(&mut quoted, text);
    buf.put_slice(quoted.as_bytes());
}

fn write_array_text(buf: &mut BytesMut, values: &ArrayRef, ty: &Type, style: TextStyle) -> PgWireResult<()> {
    let element_type = element_type(ty);
    let inner = column(values, false)?;
    // A multidimensional array is rectangular, and without elements it is `{}` however many
    // dimensions it was made with, as binary has it.
    if matches!(inner, Column::List(_)) {
        let (mut dims, mut leaves) = (Vec::new(), Vec::new());
        array_elements(values, 0, &mut dims, &mut leaves)?;
        if leaves.iter().all(|leaf| leaf.is_empty()) {
            buf.put_slice(b"{}");
            return Ok(());
        }
    }
    buf.put_u8(b'{');
    for i in 0..values.len() {
        if i > 0 {
            buf.put_u8(b',');
        }
        if values.is_null(i) {
            buf.put_slice(b"NULL");
            continue;
        }
        // A dimension more: its braces are written as they are (`{{1,2},{3,4}}`), not quoted
        // as an element's text would be.
        if matches!(inner, Column::List(_)) {
            write_text(buf, &inner, ty, i, style)?;
            continue;
        }
        let mut item = BytesMut::new();
        write_text(&mut item, &inner, &element_type, i, style)?;
        write_array_element(buf, &String::from_utf8_lossy(&item));
    }
    buf.put_u8(b'}');
    Ok(())
}

fn element_type(ty: &Type) -> Type {
    match *ty {
        Type::INT2_ARRAY => Type::INT2,
        Type::INT4_ARRAY => Type::INT4,
        Type::INT8_ARRAY => Type::INT8,
        Type::BOOL_ARRAY => Type::BOOL,
        Type::FLOAT4_ARRAY => Type::FLOAT4,
        Type::FLOAT8_ARRAY => Type::FLOAT8,
        Type::OID_ARRAY => Type::OID,
        _ => Type::TEXT,
    }
}

/// The arrays holding a (possibly nested) list value's elements, in order, and its length in
/// each dimension. PostgreSQL's arrays are rectangular; DataFusion's nested lists need not be.
fn array_elements(values: &ArrayRef, depth: usize, dims: &mut Vec<usize>, leaves: &mut Vec<ArrayRef>) -> PgWireResult<()> {
    let ragged = || {
        to_pgwire(&EngineError::SubscriptOutOfRange {
            message: "multidimensional arrays must have array expressions with matching dimensions".into(),
        })
    };
    match dims.get(depth) {
        Some(&len) if len != values.len() => return Err(ragged()),
        Some(_) => {}
        None => dims.push(values.len()),
    }
    if let DataType::List(_) = values.data_type() {
        let lists = values.as_list::<i32>();
        for i in 0..lists.len() {
            if lists.is_null(i) {
                return Err(ragged());
            }
            array_elements(&lists.value(i), depth + 1, dims, leaves)?;
        }
    } else {
        leaves.push(values.clone());
    }
    Ok(())
}

/// PostgreSQL's binary array (`array_send`): its dimensions, each with lower bound 1, then the
/// elements in row-major order; an empty array has no dimensions.
fn write_array_binary(buf: &mut BytesMut, values: &ArrayRef, ty: &Type) -> PgWireResult<()> {
    let element_type = element_type(ty);
    let (mut dims, mut leaves) = (Vec::new(), Vec::new());
    array_elements(values, 0, &mut dims, &mut leaves)?;
    if leaves.iter().all(|leaf| leaf.is_empty()) {
        dims.clear();
    }
    buf.put_i32(dims.len() as i32);
    buf.put_i32(i32::from(leaves.iter().any(|leaf| leaf.null_count() > 0)));
    buf.put_u32(element_type.oid());
    for len in &dims {
        buf.put_i32(*len as i32);
        buf.put_i32(1);
    }
    for leaf in &leaves {
        let inner = column(leaf, false)?;
        for i in 0..leaf.len() {
            if leaf.is_null(i) {
                buf.put_i32(-1);
                continue;
            }
            let at = buf.len();
            buf.put_i32(0);
            write_binary(buf, &inner, &element_type, i)?;
            let len = (buf.len() - at - 4) as i32;
            buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Decimal128Array, Int32Array, StringArray};

    fn one(buf: BytesMut) -> Vec<u8> {
        buf.to_vec()
    }

    #[test]
    fn decimals_print_with_their_scale() {
        let text = |v: i128, s: i8| {
            let mut b = BytesMut::new();
            write_decimal_text(&mut b, v, s);
            String::from_utf8(one(b)).unwrap()
        };
        assert_eq!(text(150, 2), "1.50");
        assert_eq!(text(-5, 3), "-0.005");
        assert_eq!(text(0, 2), "0.00");
        assert_eq!(text(42, 0), "42");
        assert_eq!(text(-1234567, 2), "-12345.67");
    }

    /// A nested list is a multidimensional array: its braces written as they are in text
    /// (`{"{1,2}","{3,4}"}` before), its dimensions in binary; bytes are PostgreSQL 15's
    /// `array_send` of the same arrays.
    #[test]
    fn nested_lists_are_multidimensional_arrays() {
        let inner = |rows: Vec<Option<Vec<Option<i32>>>>| Arc::new(arrow::array::ListArray::from_iter_primitive::<Int32Type, _, _>(rows)) as ArrayRef;
        let field = Arc::new(Field::new("item", DataType::List(Arc::new(Field::new("item", DataType::Int32, true))), true));
        let square = arrow::array::ListArray::new(
            field.clone(),
            arrow::buffer::OffsetBuffer::from_lengths([2, 1, 0]),
            inner(vec![Some(vec![Some(1), Some(2)]), Some(vec![Some(3), Some(4)]), Some(vec![Some(1), None])]),
            None,
        );
        assert_eq!(arrow_pg_type(square.data_type()), Type::INT4_ARRAY);
        let mut text = BytesMut::new();
        write_array_text(&mut text, &square.value(0), &Type::INT4_ARRAY, TextStyle::default()).unwrap();
        assert_eq!(String::from_utf8(one(text)).unwrap(), "{{1,2},{3,4}}");
        let hex = |b: BytesMut| one(b).iter().map(|b| format!("{b:02x}")).collect::<String>();
        let mut binary = BytesMut::new();
        write_array_binary(&mut binary, &square.value(0), &Type::INT4_ARRAY).unwrap();
        assert_eq!(hex(binary), "000000020000000000000017000000020000000100000002000000010000000400000001000000040000000200000004000000030000000400000004");
        let mut with_null = BytesMut::new();
        write_array_binary(&mut with_null, &square.value(1), &Type::INT4_ARRAY).unwrap();
        assert_eq!(hex(with_null), "000000020000000100000017000000010000000100000002000000010000000400000001ffffffff");
        let mut empty = BytesMut::new();
        write_array_binary(&mut empty, &square.value(2), &Type::INT4_ARRAY).unwrap();
        assert_eq!(hex(empty), "000000000000000000000017");
        // Ragged, which PostgreSQL cannot hold: refused in binary.
        let ragged = arrow::array::ListArray::new(field, arrow::buffer::OffsetBuffer::from_lengths([2]), inner(vec![Some(vec![Some(1)]), Some(vec![Some(2), Some(3)])]), None);
        assert!(write_array_binary(&mut BytesMut::new(), &ragged.value(0), &Type::INT4_ARRAY).is_err());
    }

    /// rhei holds OIDs as int8; PostgreSQL's binary oid[] has four-byte elements of type 26
    /// (`array_send` of `'{23,1007}'::oid[]`).
    #[test]
    fn oid_arrays_have_four_byte_elements() {
        let list = arrow::array::ListArray::from_iter_primitive::<Int64Type, _, _>([Some(vec![Some(23), Some(1007)])]);
        let mut buf = BytesMut::new();
        write_array_binary(&mut buf, &list.value(0), &Type::OID_ARRAY).unwrap();
        let mut expected = Vec::new();
        for word in [1i32, 0, 26, 2, 1, 4, 23, 4, 1007] {
            expected.extend_from_slice(&word.to_be_bytes());
        }
        assert_eq!(one(buf), expected);
    }

    /// Numerics beyond i128 are encoded from their text; within it both paths agree byte
    /// for byte with the i128 one (itself checked against PostgreSQL below).
    #[test]
    fn wide_binary_numerics_match_the_i128_encoding() {
        for (v, s) in [(150i128, 2i8), (-5, 3), (0, 2), (42, 0), (-1_234_567, 2), (10_000, 0), (1, 30), (123_456_789_012_345_678_901_234_567_890_123, 4)] {
            let (mut exact, mut from_text) = (BytesMut::new(), BytesMut::new());
            write_decimal_binary(&mut exact, v, s);
            write_decimal_text_as_binary(&mut from_text, &rhei_engine::value::format_decimal(v, s));
            assert_eq!(one(exact), one(from_text), "{v} at scale {s}");
        }
        let mut wide = BytesMut::new();
        write_decimal_text_as_binary(&mut wide, "-123456789012345678901234567890123456789012.35");
        // 11 groups of four digits, weight 10, negative, scale 2; 1234|5678|...|9012 then .3500
        assert_eq!(&one(wide)[..8], &[0, 12, 0, 10, 0x40, 0, 0, 2]);
    }

    /// Bytes captured from PostgreSQL 15 (`SELECT x::numeric` in binary through libpq).
    #[test]
    fn binary_numerics_match_postgres() {
        let bin = |v: i128, s: i8| {
            let mut b = BytesMut::new();
            write_decimal_binary(&mut b, v, s);
            one(b)
        };
        // 12345.678: ndigits 3, weight 1, sign 0, dscale 3, digits 1 2345 6780.
        assert_eq!(bin(12_345_678, 3), vec![0, 3, 0, 1, 0, 0, 0, 3, 0, 1, 0x09, 0x29, 0x1a, 0x7c]);
        // 0.00: no digits, weight 0, dscale 2.
        assert_eq!(bin(0, 2), vec![0, 0, 0, 0, 0, 0, 0, 2]);
        // -0.0012: one digit (12) at weight -1, negative, dscale 4.
        assert_eq!(bin(-12, 4), vec![0, 1, 0xff, 0xff, 0x40, 0, 0, 4, 0, 12]);
        // 1000000: digit 100 at weight 1 (trailing zero group dropped).
        assert_eq!(bin(1_000_000, 0), vec![0, 1, 0, 1, 0, 0, 0, 0, 0, 100]);
    }

    #[test]
    fn rows_carry_lengths_and_nulls() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int32, true),
            Field::new("b", DataType::Utf8, true),
            Field::new("c", DataType::Decimal128(10, 2), true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int32Array::from(vec![Some(7), None])),
                Arc::new(StringArray::from(vec![Some("x"), Some("")])),
                Arc::new(Decimal128Array::from(vec![Some(150), None]).with_precision_and_scale(10, 2).unwrap()),
            ],
        )
        .unwrap();
        let fields = super::fields(&schema, &Format::UnifiedText).unwrap();
        let rows = encode_batch(&batch, &fields, TextStyle::default()).unwrap();
        assert_eq!(rows[0].data.to_vec(), b"\0\0\0\x017\0\0\0\x01x\0\0\0\x041.50".to_vec());
        assert_eq!(rows[1].data.to_vec(), b"\xff\xff\xff\xff\0\0\0\0\xff\xff\xff\xff".to_vec());
        let binary = super::fields(&schema, &Format::UnifiedBinary).unwrap();
        let rows = encode_batch(&batch, &binary, TextStyle::default()).unwrap();
        assert_eq!(&rows[0].data[..8], b"\0\0\0\x04\0\0\0\x07");
    }

    #[test]
    fn declared_types_keep_their_oids_and_typmods() {
        let uuid = PgType::Uuid.arrow_field("u", true);
        assert_eq!(pg_type_of(&uuid), (Type::UUID, -1));
        let varchar = PgType::Varchar(Some(20)).arrow_field("v", true);
        assert_eq!(pg_type_of(&varchar), (Type::VARCHAR, 24));
        let numeric = PgType::Numeric { precision: Some(10), scale: Some(2) }.arrow_field("n", true);
        assert_eq!(pg_type_of(&numeric), (Type::NUMERIC, (10 << 16 | 2) + 4));
        assert_eq!(pg_type_of(&Field::new("c", DataType::Int64, false)), (Type::INT8, -1));
    }

    #[test]
    fn arrays_quote_like_array_out() {
        let mut b = BytesMut::new();
        write_array_element(&mut b, "a b");
        write_array_element(&mut b, "plain");
        write_array_element(&mut b, "");
        write_array_element(&mut b, "say \"hi\"");
        assert_eq!(String::from_utf8(one(b)).unwrap(), "\"a b\"plain\"\"\"say \\\"hi\\\"\"");
    }
}
