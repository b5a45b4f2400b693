//! Bind parameters to engine scalars. Each parameter arrives in text or binary, typed by the
//! client (an OID) or left for the server to infer. Text is read with PostgreSQL's input rules
//! for the type the statement needs (the engine's, so a parameter means what the same literal
//! would); binary is decoded by the type the client named, then converted to the needed one.
//!
//! Malformed input is the client's error, never a panic: wrong binary lengths are 22P03, text
//! that is not a value of the type 22P02 (or 22003/22007/22008, as PostgreSQL reports them), a
//! Bind whose format codes do not fit its parameters 08P01.

use std::sync::Arc;

use arrow::array::Array;
use arrow::datatypes::{DataType, TimeUnit};
use bytes::Bytes;
use datafusion::common::ScalarValue;
use pgwire::api::Type;
use pgwire::api::portal::{Format, Portal};
use pgwire::api::results::FieldFormat;
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use rhei_engine::Session;

use crate::error::to_pgwire;

/// Microseconds and days between the Unix epoch and PostgreSQL's (2000-01-01).
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
const PG_EPOCH_DAYS: i32 = 10_957;

fn error(code: &str, message: String) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new("ERROR".into(), code.into(), message)))
}

fn binary_format_error(type_name: &str) -> PgWireError {
    error("22P03", format!("incorrect binary data format in bind parameter of type {type_name}"))
}

/// The format of parameter `i` by the Bind message's rules: no codes means all text, one code
/// applies to all, otherwise one per parameter.
fn format_of(format: &Format, i: usize, count: usize) -> PgWireResult<FieldFormat> {
    match format {
        Format::UnifiedText => Ok(FieldFormat::Text),
        Format::UnifiedBinary => Ok(FieldFormat::Binary),
        Format::Individual(codes) if codes.len() == 1 => Ok(FieldFormat::from(codes[0])),
        Format::Individual(codes) if codes.len() == count => Ok(FieldFormat::from(codes[i])),
        Format::Individual(codes) => Err(error(
            "08P01",
            format!("bind message has {} parameter formats but {count} parameters", codes.len()),
        )),
    }
}

/// The type a parameter's binary bytes are in: what the client said, or else what the
/// statement needs.
fn wire_type(sent: Option<&Type>, target: Option<&DataType>) -> Type {
    match sent {
        Some(t) if t.oid() != 0 => t.clone(),
        _ => match target {
            Some(DataType::Int16) => Type::INT2,
            Some(DataType::Int32) => Type::INT4,
            Some(DataType::Int64) => Type::INT8,
            // A catalog query's parameter compared with an OID column (`catalog::param_type`).
            Some(DataType::UInt32) => Type::OID,
            Some(DataType::Float32) => Type::FLOAT4,
            Some(DataType::Float64) => Type::FLOAT8,
            Some(DataType::Decimal128(..) | DataType::Decimal256(..)) => Type::NUMERIC,
            Some(DataType::Boolean) => Type::BOOL,
            Some(DataType::Date32) => Type::DATE,
            Some(DataType::Timestamp(_, None)) => Type::TIMESTAMP,
            Some(DataType::Timestamp(_, Some(_))) => Type::TIMESTAMPTZ,
            Some(DataType::Time64(_)) => Type::TIME,
            Some(DataType::Interval(_)) => Type::INTERVAL,
            Some(DataType::Binary) => Type::BYTEA,
            Some(&rhei_engine::describe::UUID_PARAMETER) => Type::UUID,
            Some(&rhei_engine::describe::INET_PARAMETER) => Type::INET,
            Some(&rhei_engine::describe::CIDR_PARAMETER) => Type::CIDR,
            _ => Type::TEXT,
        },
    }
}

fn fixed<const N: usize>(bytes: &[u8], type_name: &str) -> PgWireResult<[u8; N]> {
    bytes.try_into().map_err(|_| binary_format_error(type_name))
}

/// PostgreSQL's binary `numeric`: base-10000 digits with a weight, sign and display scale.
fn numeric_text(bytes: &[u8]) -> PgWireResult<String> {
    let bad = || binary_format_error("numeric");
    if bytes.len() < 8 {
        return Err(bad());
    }
    let word = |i: usize| i16::from_be_bytes([bytes[i], bytes[i + 1]]);
    let (ndigits, weight, sign, dscale) = (word(0), word(2), word(4) as u16, word(6));
    if ndigits < 0 || dscale < 0 || bytes.len() != 8 + 2 * ndigits as usize {
        return Err(bad());
    }
    match sign {
        0xC000 => return Ok("NaN".into()),
        0xD000 => return Ok("Infinity".into()),
        0xF000 => return Ok("-Infinity".into()),
        0x0000 | 0x4000 => {}
        _ => return Err(bad()),
    }
    let digits: Vec<i16> = (0..ndigits as usize).map(|i| word(8 + 2 * i)).collect();
    if digits.iter().any(|d| !(0..10_000).contains(d)) {
        return Err(bad());
    }
    // Integer part: groups 0..=weight; fraction: the groups after, to dscale digits.
    let mut int_part = String::new();
    for g in 0..=i32::from(weight).max(-1) {
        let d = usize::try_from(g).ok().and_then(|g| digits.get(g)).copied().unwrap_or(0);
        if int_part.is_empty() {
            if d != 0 {
                int_part = d.to_string();
            }
        } else {
            int_part.push_str(&format!("{d:04}"));
        }
    }
    if int_part.is_empty() {
        int_part.push('0');
    }
    let mut fraction = String::new();
    let mut g = i32::from(weight) + 1;
    while (fraction.len() as i16) < dscale {
        let d = if g < 0 { 0 } else { usize::try_from(g).ok().and_then(|g| digits.get(g)).copied().unwrap_or(0) };
        fraction.push_str(&format!("{d:04}"));
        g += 1;
    }
    fraction.truncate(dscale as usize);
    let sign = if sign == 0x4000 { "-" } else { "" };
    Ok(if fraction.is_empty() { format!("{sign}{int_part}") } else { format!("{sign}{int_part}.{fraction}") })
}

/// A text value as PostgreSQL takes one: UTF-8 without NUL bytes (a NUL would end the string
/// wherever it goes back out as a C string, in a NotificationResponse say).
fn utf8(bytes: &[u8]) -> PgWireResult<String> {
    if bytes.contains(&0) {
        return Err(error("22021", "invalid byte sequence for encoding \"UTF8\": 0x00".into()));
    }
    String::from_utf8(bytes.to_vec()).map_err(|_| error("22021", "invalid byte sequence for encoding \"UTF8\"".into()))
}

/// One binary parameter as a scalar of the type it was sent as.
fn decode_binary(ty: &Type, bytes: &[u8]) -> PgWireResult<ScalarValue> {
    Ok(match *ty {
        Type::BOOL => ScalarValue::Boolean(Some(fixed::<1>(bytes, "boolean")?[0] != 0)),
        Type::INT2 => ScalarValue::Int16(Some(i16::from_be_bytes(fixed(bytes, "smallint")?))),
        Type::INT4 => ScalarValue::Int32(Some(i32::from_be_bytes(fixed(bytes, "integer")?))),
        Type::INT8 => ScalarValue::Int64(Some(i64::from_be_bytes(fixed(bytes, "bigint")?))),
        Type::OID => ScalarValue::Int64(Some(u32::from_be_bytes(fixed(bytes, "oid")?).into())),
        Type::FLOAT4 => ScalarValue::Float32(Some(f32::from_be_bytes(fixed(bytes, "real")?))),
        Type::FLOAT8 => ScalarValue::Float64(Some(f64::from_be_bytes(fixed(bytes, "double precision")?))),
        Type::NUMERIC => ScalarValue::Utf8(Some(numeric_text(bytes)?)),
        Type::BYTEA => ScalarValue::Binary(Some(bytes.to_vec())),
        Type::DATE => {
            let days = i32::from_be_bytes(fixed(bytes, "date")?);
            ScalarValue::Date32(Some(days.checked_add(PG_EPOCH_DAYS).ok_or_else(|| binary_format_error("date"))?))
        }
        Type::TIMESTAMP | Type::TIMESTAMPTZ => {
            let micros = i64::from_be_bytes(fixed(bytes, "timestamp")?)
                .checked_add(PG_EPOCH_MICROS)
                .ok_or_else(|| binary_format_error("timestamp"))?;
            let zone = (*ty == Type::TIMESTAMPTZ).then(|| "UTC".into());
            ScalarValue::TimestampMicrosecond(Some(micros), zone)
        }
        Type::TIME => {
            let micros = i64::from_be_bytes(fixed(bytes, "time")?);
            if !(0..=86_400_000_000).contains(&micros) {
                return Err(binary_format_error("time"));
            }
            ScalarValue::Time64Microsecond(Some(micros))
        }
        // interval_send: microseconds, days, months.
        Type::INTERVAL => {
            let b: [u8; 16] = fixed(bytes, "interval")?;
            let micros = i64::from_be_bytes(b[..8].try_into().map_err(|_| binary_format_error("interval"))?);
            let days = i32::from_be_bytes(b[8..12].try_into().map_err(|_| binary_format_error("interval"))?);
            let months = i32::from_be_bytes(b[12..].try_into().map_err(|_| binary_format_error("interval"))?);
            let interval = rhei_engine::value::Interval::from_fields((months, days, micros)).to_arrow();
            ScalarValue::IntervalMonthDayNano(Some(interval.ok_or_else(|| binary_format_error("interval"))?))
        }
        Type::UUID => {
            let b: [u8; 16] = fixed(bytes, "uuid")?;
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            ScalarValue::Utf8(Some(format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])))
        }
        Type::INET | Type::CIDR => {
            let kind = if *ty == Type::CIDR { rhei_engine::network::NetKind::Cidr } else { rhei_engine::network::NetKind::Inet };
            let value = rhei_engine::network::NetAddr::from_binary(bytes).ok_or_else(|| binary_format_error(kind.name()))?;
            ScalarValue::Utf8(Some(value.to_text(kind)))
        }
        Type::JSONB => match bytes.split_first() {
            Some((1, rest)) => ScalarValue::Utf8(Some(utf8(rest)?)),
            _ => return Err(binary_format_error("jsonb")),
        },
        // text, varchar, bpchar, name, json, unknown and every type rhei keeps as text: the
        // binary form is the text itself.
        _ => ScalarValue::Utf8(Some(utf8(bytes)?)),
    })
}

/// A scalar of one type as `target`: numbers convert as PostgreSQL's casts do; anything else
/// goes through its text, read with the target's input rules.
fn convert(session: &Session, value: ScalarValue, target: &DataType) -> PgWireResult<ScalarValue> {
    if value.data_type() == *target {
        return Ok(value);
    }
    let numeric = |t: &DataType| t.is_integer() || t.is_floating() || matches!(t, DataType::Decimal128(..) | DataType::Decimal256(..));
    // A float into numeric goes through its shortest text, as PostgreSQL's cast does (Arrow's
    // multiplies in double precision: 0.1 into numeric(65,30) gained digits).
    if matches!(target, DataType::Decimal128(..) | DataType::Decimal256(..)) {
        let shortest = match &value {
            ScalarValue::Float64(Some(f)) => Some(rhei_engine::value::format_float8(*f)),
            ScalarValue::Float32(Some(f)) => Some(rhei_engine::value::format_float4(*f)),
            _ => None,
        };
        if let Some(text) = shortest {
            return session.parameter_from_text(&text, target).map_err(|e| to_pgwire(&e));
        }
    }
    if numeric(&value.data_type()) && numeric(target) {
        if let Ok(cast) = value.cast_to(target)
            && cast.is_null() == value.is_null()
        {
            return Ok(cast);
        }
        return Err(error("22003", format!("{value} is out of range for the parameter's type")));
    }
    if let (ScalarValue::TimestampMicrosecond(v, _), DataType::Timestamp(TimeUnit::Microsecond, zone)) = (&value, target) {
        return Ok(ScalarValue::TimestampMicrosecond(*v, zone.clone()));
    }
    let text = match &value {
        ScalarValue::Utf8(Some(s)) => s.clone(),
        ScalarValue::Date32(Some(d)) => rhei_engine::value::format_date(i64::from(*d)),
        ScalarValue::TimestampMicrosecond(Some(t), None) => rhei_engine::value::format_timestamp(*t),
        ScalarValue::TimestampMicrosecond(Some(t), Some(_)) => rhei_engine::value::format_timestamptz(*t, 0),
        ScalarValue::Time64Microsecond(Some(t)) => rhei_engine::value::format_time(*t),
        ScalarValue::IntervalMonthDayNano(Some(i)) => rhei_engine::value::format_interval(i.months, i.days, i.nanoseconds / 1000),
        ScalarValue::Boolean(Some(b)) => b.to_string(),
        other => other.to_string(),
    };
    session.parameter_from_text(&text, target).map_err(|e| to_pgwire(&e))
}

/// The element type of the array types clients send as parameters.
fn array_element_type(ty: &Type) -> Option<Type> {
    Some(match *ty {
        Type::BOOL_ARRAY => Type::BOOL,
        Type::INT2_ARRAY => Type::INT2,
        Type::INT4_ARRAY => Type::INT4,
        Type::INT8_ARRAY => Type::INT8,
        Type::OID_ARRAY => Type::OID,
        Type::FLOAT4_ARRAY => Type::FLOAT4,
        Type::FLOAT8_ARRAY => Type::FLOAT8,
        Type::NUMERIC_ARRAY => Type::NUMERIC,
        Type::TEXT_ARRAY => Type::TEXT,
        Type::VARCHAR_ARRAY => Type::VARCHAR,
        Type::BPCHAR_ARRAY => Type::BPCHAR,
        Type::NAME_ARRAY => Type::NAME,
        Type::UUID_ARRAY => Type::UUID,
        Type::DATE_ARRAY => Type::DATE,
        Type::TIMESTAMP_ARRAY => Type::TIMESTAMP,
        Type::TIMESTAMPTZ_ARRAY => Type::TIMESTAMPTZ,
        Type::TIME_ARRAY => Type::TIME,
        Type::JSON_ARRAY => Type::JSON,
        Type::JSONB_ARRAY => Type::JSONB,
        _ => return None,
    })
}

/// An array parameter (`= ANY ($1)`) as a list scalar of `element` (when the statement says
/// which; else of what the client sent): text as PostgreSQL's `{...}` literal, binary as its
/// array format (dimensions, element OID, then each element with its length).
fn decode_array(session: &Session, bytes: &[u8], format: FieldFormat, sent: Option<&Type>, element: Option<&DataType>) -> PgWireResult<ScalarValue> {
    let bad = || binary_format_error("array");
    let mut values = Vec::new();
    match format {
        FieldFormat::Text => {
            let text = utf8(bytes)?;
            let items = rhei_engine::value::parse_array_text(&text)
                .ok_or_else(|| error("22P02", format!("malformed array literal: \"{text}\"")))?;
            for item in items {
                values.push(match (item, element) {
                    (Some(t), Some(ty)) => session.parameter_from_text(&t, ty).map_err(|e| to_pgwire(&e))?,
                    (Some(t), None) => ScalarValue::Utf8(Some(t)),
                    // Typed with the others below.
                    (None, _) => ScalarValue::Null,
                });
            }
        }
        FieldFormat::Binary => {
            let word = |at: usize| bytes.get(at..at + 4).map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]])).ok_or_else(bad);
            let dimensions = word(0)?;
            let element_type = Type::from_oid(word(8)? as u32)
                .or_else(|| sent.and_then(array_element_type))
                .ok_or_else(bad)?;
            let count = match dimensions {
                0 => 0,
                1 => usize::try_from(word(12)?).map_err(|_| bad())?,
                _ => return Err(error("0A000", "multidimensional arrays as parameters are not supported".into())),
            };
            let mut at = if dimensions == 0 { 12 } else { 20 };
            for _ in 0..count {
                let len = word(at)?;
                at += 4;
                let value = if len < 0 {
                    ScalarValue::Null
                } else {
                    let end = at.checked_add(len as usize).filter(|end| *end <= bytes.len()).ok_or_else(bad)?;
                    let decoded = decode_binary(&element_type, &bytes[at..end])?;
                    at = end;
                    match element {
                        Some(ty) => convert(session, decoded, ty)?,
                        None => decoded,
                    }
                };
                values.push(value);
            }
        }
    }
    // Without a type from the statement the elements have the type they were sent as; a NULL
    // among them takes it too (mixed types would not make one array).
    let element = match element {
        Some(ty) => rhei_engine::describe::stored_param_type(ty),
        None => values.iter().find(|v| !v.is_null()).map_or(DataType::Utf8, ScalarValue::data_type),
    };
    let typed_null = ScalarValue::try_from(&element).map_err(|e| error("22P03", e.to_string()))?;
    let array = if values.is_empty() {
        arrow::array::new_empty_array(&element)
    } else {
        let values = values.into_iter().map(|v| if v.is_null() { typed_null.clone() } else { v });
        ScalarValue::iter_to_array(values).map_err(|e| error("22P03", format!("array elements of different types: {e}")))?
    };
    let field = Arc::new(arrow::datatypes::Field::new_list_field(element, true));
    let list = arrow::array::ListArray::try_new(field, arrow::buffer::OffsetBuffer::from_lengths([array.len()]), array, None)
        .map_err(|e| error("22P03", e.to_string()))?;
    Ok(ScalarValue::List(Arc::new(list)))
}

/// Decodes a portal's parameters into scalars of the types the statement needs (`inferred`;
/// `None` where nothing is known: text stays text, binary keeps the type it was sent as).
///
/// # Errors
/// Malformed parameters (22P03, 22P02, ...) and Bind messages whose format codes do not fit
/// (08P01).
pub fn decode_params<S: Clone>(session: &Session, portal: &Portal<S>, inferred: &[Option<DataType>]) -> PgWireResult<Vec<ScalarValue>> {
    let count = portal.parameters.len();
    let mut values = Vec::with_capacity(count);
    for (i, raw) in portal.parameters.iter().enumerate() {
        let described = inferred.get(i).and_then(Option::as_ref);
        // An OID parameter (`wire_type`) is an int8 inside.
        let target = described.map(|t| if *t == DataType::UInt32 { &DataType::Int64 } else { t });
        let sent = portal.statement.parameter_types.get(i).and_then(Option::as_ref);
        let format = format_of(&portal.parameter_format, i, count)?;
        let Some(bytes): Option<&Bytes> = raw.as_ref() else {
            values.push(match target {
                Some(t) => ScalarValue::try_from(&rhei_engine::describe::stored_param_type(t)).unwrap_or(ScalarValue::Null),
                None => ScalarValue::Utf8(None),
            });
            continue;
        };
        let array_element = match target {
            Some(DataType::List(field)) => Some(Some(field.data_type().clone())),
            _ if sent.and_then(array_element_type).is_some() => Some(None),
            _ => None,
        };
        if let Some(element) = array_element {
            values.push(decode_array(session, bytes, format, sent, element.as_ref())?);
            continue;
        }
        let value = match format {
            FieldFormat::Text => {
                let text = utf8(bytes)?;
                match target {
                    Some(target) => session.parameter_from_text(&text, target).map_err(|e| to_pgwire(&e))?,
                    None => ScalarValue::Utf8(Some(text)),
                }
            }
            FieldFormat::Binary => {
                let decoded = decode_binary(&wire_type(sent, described), bytes)?;
                match target {
                    Some(target) => convert(session, decoded, target)?,
                    None => decoded,
                }
            }
        };
        values.push(value);
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(ndigits: i16, weight: i16, sign: u16, dscale: i16, digits: &[i16]) -> Vec<u8> {
        let mut out = Vec::new();
        for w in [ndigits, weight, sign as i16, dscale] {
            out.extend_from_slice(&w.to_be_bytes());
        }
        for d in digits {
            out.extend_from_slice(&d.to_be_bytes());
        }
        out
    }

    #[test]
    fn binary_numerics_read_as_postgres_writes_them() {
        // 12345.678: groups 1|2345|6780, weight 1, dscale 3.
        assert_eq!(numeric_text(&numeric(3, 1, 0, 3, &[1, 2345, 6780])).unwrap(), "12345.678");
        // -0.0012: groups 12 at weight -1 (0.0012), dscale 4.
        assert_eq!(numeric_text(&numeric(1, -1, 0x4000, 4, &[12])).unwrap(), "-0.0012");
        // 1000000 with trailing zero groups dropped: 100|0000 -> digits [100], weight 1.
        assert_eq!(numeric_text(&numeric(1, 1, 0, 0, &[100])).unwrap(), "1000000");
        assert_eq!(numeric_text(&numeric(0, 0, 0, 2, &[])).unwrap(), "0.00");
        assert!(numeric_text(&numeric(2, 0, 0, 0, &[1])).is_err(), "digit count longer than the message");
        assert!(numeric_text(&[0, 1]).is_err());
    }

    #[test]
    fn binary_fixed_width_values_check_their_length() {
        assert_eq!(decode_binary(&Type::INT4, &7i32.to_be_bytes()).unwrap(), ScalarValue::Int32(Some(7)));
        assert!(decode_binary(&Type::INT4, &[0, 1]).is_err());
        let uuid = [0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11];
        assert_eq!(
            decode_binary(&Type::UUID, &uuid).unwrap(),
            ScalarValue::Utf8(Some("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11".into()))
        );
        assert_eq!(decode_binary(&Type::DATE, &0i32.to_be_bytes()).unwrap(), ScalarValue::Date32(Some(10_957)));
        assert!(decode_binary(&Type::JSONB, &[2, b'1']).is_err());
    }

    #[test]
    fn format_codes_follow_the_bind_rules() {
        assert_eq!(format_of(&Format::Individual(vec![1]), 2, 3).unwrap(), FieldFormat::Binary);
        assert_eq!(format_of(&Format::Individual(vec![0, 1]), 1, 2).unwrap(), FieldFormat::Binary);
        assert!(format_of(&Format::Individual(vec![0, 1]), 2, 3).is_err(), "two codes for three parameters");
    }
}
