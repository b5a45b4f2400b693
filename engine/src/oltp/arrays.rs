//! Array values on SQLite, which has no array type. rhei carries an array there as a JSON
//! array of its elements' storage values (`'["a",null]'`, `'[1,2]'`, dates as day numbers; see
//! `catalog::PgType::Array`), which `json_each` reads for `= ANY`. These are PostgreSQL's
//! functions and operators of one-dimensional arrays over that form, so an UPDATE can
//! `array_append` to an array column and a point read can take `tags[1]`, both of which run on
//! SQLite (see `translate::arrays`, which calls the ones named `rhei_*`).

use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::{Value, ValueRef};
use rusqlite::Connection;
use serde_json::Value as Json;

use crate::error::EngineError;
use crate::oltp::functions::{fail, storage_json, text_of};

type FnResult = rusqlite::Result<Value>;

/// Argument `i` as an array's elements; `None` for NULL. PostgreSQL's text for an array
/// (`'{a,b}'`, which only an untyped literal can still be here) gives its elements as text.
fn array_arg(ctx: &Context<'_>, i: usize) -> rusqlite::Result<Option<Vec<Json>>> {
    parse_array(ctx.get_raw(i)).map_err(fail)
}

fn parse_array(value: ValueRef<'_>) -> Result<Option<Vec<Json>>, EngineError> {
    let malformed = || EngineError::MalformedArrayLiteral { value: text_of(value).unwrap_or_default() };
    let ValueRef::Text(bytes) = value else {
        return if matches!(value, ValueRef::Null) { Ok(None) } else { Err(malformed()) };
    };
    if bytes.first() == Some(&b'[') {
        return match serde_json::from_slice(bytes) {
            Ok(Json::Array(items)) => Ok(Some(items)),
            _ => Err(malformed()),
        };
    }
    let elements = crate::value::parse_array_text(&String::from_utf8_lossy(bytes)).ok_or_else(malformed)?;
    Ok(Some(elements.into_iter().map(|e| e.map_or(Json::Null, Json::String)).collect()))
}

/// The elements of an array value as the SQLite values they were stored from (none for NULL).
///
/// # Errors
/// A value that is no array (22P02).
pub(crate) fn elements_of(value: ValueRef<'_>) -> Result<Vec<Value>, EngineError> {
    Ok(parse_array(value)?.unwrap_or_default().into_iter().map(element_value).collect())
}

/// Argument `i` as an element, in the form an array holds it.
fn element_arg(ctx: &Context<'_>, i: usize) -> rusqlite::Result<Json> {
    storage_json(crate::row_chunk::owned(ctx.get_raw(i))).map_err(fail)
}

fn array_value(items: Vec<Json>) -> FnResult {
    Ok(Value::Text(Json::Array(items).to_string()))
}

/// Elements equal as PostgreSQL's `IS NOT DISTINCT FROM` sees stored values: numbers by value
/// (an integer meets the same number read as a double), everything else as stored.
fn same_element(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64().is_some_and(|x| y.as_f64() == Some(x)),
        },
        _ => a == b,
    }
}

/// Whether every element of `wanted` equals one of `held` (`@>`): a NULL equals nothing.
fn contains_all(held: &[Json], wanted: &[Json]) -> bool {
    wanted.iter().all(|w| !w.is_null() && held.iter().any(|h| same_element(h, w)))
}

/// An element read back as a SQLite value: the storage value it was made from.
fn element_value(item: Json) -> Value {
    match item {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Integer(b.into()),
        Json::Number(n) => n.as_i64().map_or_else(|| Value::Real(n.as_f64().unwrap_or(f64::NAN)), Value::Integer),
        Json::String(s) => Value::Text(s),
        nested @ (Json::Array(_) | Json::Object(_)) => Value::Text(nested.to_string()),
    }
}

/// An element type argument (a [`crate::catalog::PgType::pg_name`]); text when it names none.
fn element_type_arg(ctx: &Context<'_>, i: usize) -> crate::catalog::PgType {
    text_of(ctx.get_raw(i)).and_then(|name| crate::catalog::PgType::from_pg_name(&name)).unwrap_or(crate::catalog::PgType::Text)
}

/// Argument `i`, an array of `element`, as a one-row Arrow list (as a result column would read
/// it); `None` for NULL.
fn as_arrow(ctx: &Context<'_>, i: usize, element: crate::catalog::PgType) -> rusqlite::Result<Option<arrow::array::ArrayRef>> {
    if matches!(ctx.get_raw(i), ValueRef::Null) {
        return Ok(None);
    }
    let ty = arrow::datatypes::DataType::List(std::sync::Arc::new(arrow::datatypes::Field::new_list_field(element.arrow_type(), true)));
    let schema = std::sync::Arc::new(arrow::datatypes::Schema::new(vec![arrow::datatypes::Field::new("a", ty, true)]));
    let mut builder = crate::oltp::convert::BatchBuilder::new(schema);
    builder.push_refs(std::iter::once(ctx.get_raw(i))).map_err(fail)?;
    Ok(Some(builder.finish().map_err(fail)?.column(0).clone()))
}

/// A dimension argument: rhei's arrays have the first only.
fn first_dimension(ctx: &Context<'_>, i: usize) -> bool {
    matches!(ctx.get_raw(i), ValueRef::Integer(1))
}

/// `array_length(a, dim)`, `array_upper` and `array_lower`: NULL for an empty array or a
/// dimension it lacks; arrays start at 1.
fn bound(ctx: &Context<'_>, lower: bool) -> FnResult {
    match array_arg(ctx, 0)? {
        Some(items) if !items.is_empty() && first_dimension(ctx, 1) => Ok(Value::Integer(if lower { 1 } else { items.len() as i64 })),
        _ => Ok(Value::Null),
    }
}

/// A key whose bytes sort as PostgreSQL orders arrays of `element`: element by element, a
/// NULL element after every value, an array that is a prefix of another first (the empty one
/// first of all). SQLite compares blobs with memcmp, so ORDER BY and `<` can use it; so does
/// DataFusion (`olap::udf::ArrayKey`), whose list comparison takes a NULL element as smallest.
pub(crate) fn sort_key(items: &[Json], element: crate::catalog::PgType) -> Vec<u8> {
    use crate::catalog::PgType as T;
    let mut key = Vec::with_capacity(items.len() * 10 + 1);
    for item in items {
        if item.is_null() {
            key.push(2);
            continue;
        }
        key.push(1);
        match (element, item) {
            // NaN and the infinities are held as PostgreSQL's text for them.
            (T::Float4 | T::Float8, Json::Number(_) | Json::String(_)) => {
                let f = match item {
                    Json::Number(n) => n.as_f64().unwrap_or(f64::NAN),
                    other => other.as_str().and_then(|s| s.parse().ok()).unwrap_or(f64::NAN),
                };
                let f = if f == 0.0 { 0.0 } else { f };
                let bits = f.to_bits();
                key.extend_from_slice(&(if bits >> 63 == 1 { !bits } else { bits ^ (1 << 63) }).to_be_bytes());
            }
            (_, Json::Number(n)) => match n.as_i64() {
                Some(i) => key.extend_from_slice(&((i as u64) ^ (1 << 63)).to_be_bytes()),
                None => key.extend_from_slice(&n.as_f64().unwrap_or(f64::NAN).to_bits().to_be_bytes()),
            },
            (T::Numeric { .. }, Json::String(s)) => decimal_key(s, &mut key),
            (_, Json::String(s)) => {
                // A zero byte is escaped, so the terminator sorts below any character.
                for &b in s.as_bytes() {
                    key.push(b);
                    if b == 0 {
                        key.push(0xff);
                    }
                }
                key.extend_from_slice(&[0, 0]);
            }
            (_, other) => key.extend_from_slice(other.to_string().as_bytes()),
        }
    }
    key.push(0);
    key
}

/// A numeric's text (`-12.50`, as rhei stores it) as bytes in the order of its value: a sign
/// class, then for a positive value the number of integer digits and the digits without
/// trailing zeros, ended by a zero; a negative value's bytes are those of its magnitude
/// inverted, so a larger magnitude sorts first.
fn decimal_key(text: &str, key: &mut Vec<u8>) {
    let (negative, magnitude) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int_part, frac_part) = magnitude.split_once('.').unwrap_or((magnitude, ""));
    let int_part = int_part.trim_start_matches('0');
    let digits = format!("{int_part}{frac_part}");
    let digits = digits.trim_end_matches('0');
    let zero = digits.trim_start_matches('0').is_empty();
    if magnitude == "NaN" {
        key.push(3);
        return;
    }
    if zero {
        key.push(1);
        return;
    }
    // Below 1 the digits start with zeros: fewer leading zeros, larger value.
    let leading_zeros = digits.len() - digits.trim_start_matches('0').len();
    let scale: i32 = if int_part.is_empty() { -(leading_zeros as i32) } else { int_part.len() as i32 };
    let mut body = ((scale + 0x8000) as u16).to_be_bytes().to_vec();
    body.extend_from_slice(digits.trim_start_matches('0').as_bytes());
    body.push(0);
    if negative {
        key.push(0);
        key.extend(body.iter().map(|b| !b));
    } else {
        key.push(2);
        key.extend_from_slice(&body);
    }
}

/// `array_agg(x)`: the values as an array, NULLs included, in the order they arrive (the
/// aggregate's ORDER BY, which SQLite applies); NULL over no rows.
struct ArrayAgg;

impl rusqlite::functions::Aggregate<Vec<Json>, Option<String>> for ArrayAgg {
    fn init(&self, _ctx: &mut Context<'_>) -> rusqlite::Result<Vec<Json>> {
        Ok(Vec::new())
    }

    fn step(&self, ctx: &mut Context<'_>, items: &mut Vec<Json>) -> rusqlite::Result<()> {
        items.push(element_arg(ctx, 0)?);
        Ok(())
    }

    fn finalize(&self, _ctx: &mut Context<'_>, items: Option<Vec<Json>>) -> rusqlite::Result<Option<String>> {
        Ok(items.map(|items| Json::Array(items).to_string()))
    }
}

/// The pieces of `text` between `delimiter`s, as PostgreSQL's `string_to_array` cuts them: a
/// NULL delimiter makes each character a piece, an empty one the whole text; the empty text has
/// no pieces.
pub(crate) fn split_pieces<'t>(text: &'t str, delimiter: Option<&str>) -> Vec<&'t str> {
    match delimiter {
        _ if text.is_empty() => Vec::new(),
        None => text.char_indices().map(|(at, c)| &text[at..at + c.len_utf8()]).collect(),
        Some("") => vec![text],
        Some(delimiter) => text.split(delimiter).collect(),
    }
}

/// `string_to_array(text, delimiter[, null string])`: a text array, pieces equal to the null
/// string NULL.
fn split_to_array(ctx: &Context<'_>, null_string: Option<String>) -> FnResult {
    let Some(text) = text_of(ctx.get_raw(0)) else { return Ok(Value::Null) };
    let delimiter = text_of(ctx.get_raw(1));
    let items = split_pieces(&text, delimiter.as_deref())
        .into_iter()
        .map(|piece| if null_string.as_deref() == Some(piece) { Json::Null } else { Json::String(piece.to_string()) })
        .collect();
    array_value(items)
}

/// `rhei_array_to_string(a, element type, zone, delimiter[, null string])`: PostgreSQL's
/// `array_to_string`, each element written as its type's output; NULL elements are left out,
/// or written as the null string when there is one.
fn join_array(ctx: &Context<'_>, null_string: Option<String>) -> FnResult {
    let Some(list) = as_arrow(ctx, 0, element_type_arg(ctx, 1))? else { return Ok(Value::Null) };
    let Some(delimiter) = text_of(ctx.get_raw(3)) else { return Ok(Value::Null) };
    let zone = crate::oltp::functions::arg_zone(ctx, 2)?;
    let elements = arrow::array::AsArray::as_list::<i32>(list.as_ref()).value(0);
    let pieces: Vec<String> = (0..elements.len()).filter_map(|i| crate::copy::pg_text_in(&elements, i, Some(zone)).or_else(|| null_string.clone())).collect();
    Ok(Value::Text(pieces.join(&delimiter)))
}

/// An array argument's elements, kept with the argument while it stays the same (with its
/// length in bytes, a check that costs nothing).
struct ReadArray {
    bytes: usize,
    items: Vec<Json>,
}

/// Registers the array functions on a connection.
///
/// # Errors
/// SQLite refuses a registration.
pub fn register(conn: &Connection, pure: FunctionFlags) -> rusqlite::Result<()> {
    conn.create_aggregate_function("array_agg", 1, pure, ArrayAgg)?;
    conn.create_scalar_function("array_length", 2, pure, |ctx| bound(ctx, false))?;
    conn.create_scalar_function("array_upper", 2, pure, |ctx| bound(ctx, false))?;
    conn.create_scalar_function("array_lower", 2, pure, |ctx| bound(ctx, true))?;
    conn.create_scalar_function("cardinality", 1, pure, |ctx| Ok(array_arg(ctx, 0)?.map_or(Value::Null, |items| Value::Integer(items.len() as i64))))?;
    conn.create_scalar_function("array_ndims", 1, pure, |ctx| match array_arg(ctx, 0)? {
        Some(items) if !items.is_empty() => Ok(Value::Integer(1)),
        _ => Ok(Value::Null),
    })?;
    // Appending to or prepending onto a NULL array gives an array of the one element.
    conn.create_scalar_function("array_append", 2, pure, |ctx| {
        let mut items = array_arg(ctx, 0)?.unwrap_or_default();
        items.push(element_arg(ctx, 1)?);
        array_value(items)
    })?;
    conn.create_scalar_function("array_prepend", 2, pure, |ctx| {
        let mut items = array_arg(ctx, 1)?.unwrap_or_default();
        items.insert(0, element_arg(ctx, 0)?);
        array_value(items)
    })?;
    conn.create_scalar_function("array_cat", 2, pure, |ctx| match (array_arg(ctx, 0)?, array_arg(ctx, 1)?) {
        (None, None) => Ok(Value::Null),
        (a, b) => array_value(a.unwrap_or_default().into_iter().chain(b.unwrap_or_default()).collect()),
    })?;
    // Every element equal to the value goes, NULLs too (IS NOT DISTINCT FROM).
    conn.create_scalar_function("array_remove", 2, pure, |ctx| {
        let removed = element_arg(ctx, 1)?;
        match array_arg(ctx, 0)? {
            None => Ok(Value::Null),
            Some(items) => array_value(items.into_iter().filter(|item| !same_element(item, &removed)).collect()),
        }
    })?;
    conn.create_scalar_function("array_position", 2, pure, |ctx| {
        let wanted = element_arg(ctx, 1)?;
        let items = array_arg(ctx, 0)?.unwrap_or_default();
        Ok(items.iter().position(|item| same_element(item, &wanted)).map_or(Value::Null, |at| Value::Integer(at as i64 + 1)))
    })?;
    conn.create_scalar_function("string_to_array", 2, pure, |ctx| split_to_array(ctx, None))?;
    conn.create_scalar_function("string_to_array", 3, pure, |ctx| split_to_array(ctx, text_of(ctx.get_raw(2))))?;
    conn.create_scalar_function("rhei_array_to_string", 4, pure, |ctx| join_array(ctx, None))?;
    conn.create_scalar_function("rhei_array_to_string", 5, pure, |ctx| join_array(ctx, text_of(ctx.get_raw(4))))?;
    // `a[i]`: NULL outside 1..=length. An array that stays the same from row to row (a
    // parameter's, `FROM unnest($1::int[])` reading element i of row i) is read once: SQLite
    // keeps the elements with the argument until its value changes.
    conn.create_scalar_function("rhei_array_get", 2, pure, |ctx| {
        let ValueRef::Integer(at) = ctx.get_raw(1) else { return Ok(Value::Null) };
        let bytes = ctx.get_raw(0).as_bytes_or_null().ok().flatten().map_or(0, <[u8]>::len);
        let items = match ctx.get_aux::<ReadArray>(0)? {
            Some(read) if read.bytes == bytes => read,
            _ => match array_arg(ctx, 0)? {
                None => return Ok(Value::Null),
                Some(items) => ctx.set_aux(0, ReadArray { bytes, items })?,
            },
        };
        let item = usize::try_from(at).ok().and_then(|at| at.checked_sub(1)).and_then(|at| items.items.get(at).cloned());
        Ok(item.map_or(Value::Null, element_value))
    })?;
    // `rhei_array_text(a, element type, zone)`: PostgreSQL's text for the array, its elements
    // written as their type's output.
    conn.create_scalar_function("rhei_array_text", 3, pure, |ctx| {
        let Some(list) = as_arrow(ctx, 0, element_type_arg(ctx, 1))? else { return Ok(Value::Null) };
        let zone = crate::oltp::functions::arg_zone(ctx, 2)?;
        Ok(crate::copy::pg_text_in(&list, 0, Some(zone)).map_or(Value::Null, Value::Text))
    })?;
    // `rhei_array_cast(a, element type, target element type, zone)`: each element cast as
    // PostgreSQL casts one, through its text (a boolean's is `true`, not the `t` of output).
    conn.create_scalar_function("rhei_array_cast", 4, pure, |ctx| {
        let source = element_type_arg(ctx, 1);
        let Some(list) = as_arrow(ctx, 0, source)? else { return Ok(Value::Null) };
        let target = element_type_arg(ctx, 2);
        let zone = crate::oltp::functions::arg_zone(ctx, 3)?;
        let elements = arrow::array::AsArray::as_list::<i32>(list.as_ref()).value(0);
        let mut cast = Vec::with_capacity(elements.len());
        for i in 0..elements.len() {
            let text = match source {
                crate::catalog::PgType::Bool if !arrow::array::Array::is_null(elements.as_ref(), i) => {
                    Some(if arrow::array::AsArray::as_boolean(elements.as_ref()).value(i) { "true".to_string() } else { "false".to_string() })
                }
                _ => crate::copy::pg_text_in(&elements, i, Some(zone)),
            };
            let stored = match text {
                None => Value::Null,
                Some(text) => crate::oltp::functions::storage_value_in(target, &text, zone).map_err(fail)?,
            };
            cast.push(storage_json(stored).map_err(fail)?);
        }
        array_value(cast)
    })?;
    // `rhei_array_key(a, element type)`: see `sort_key`.
    conn.create_scalar_function("rhei_array_key", 2, pure, |ctx| {
        let element = element_type_arg(ctx, 1);
        Ok(array_arg(ctx, 0)?.map_or(Value::Null, |items| Value::Blob(sort_key(&items, element))))
    })?;
    // `a @> b` (`b <@ a` is written as this with the operands swapped) and `a && b`.
    conn.create_scalar_function("rhei_array_contains", 2, pure, |ctx| match (array_arg(ctx, 0)?, array_arg(ctx, 1)?) {
        (Some(a), Some(b)) => Ok(Value::Integer(contains_all(&a, &b).into())),
        _ => Ok(Value::Null),
    })?;
    conn.create_scalar_function("rhei_array_overlaps", 2, pure, |ctx| match (array_arg(ctx, 0)?, array_arg(ctx, 1)?) {
        (Some(a), Some(b)) => Ok(Value::Integer(b.iter().any(|w| !w.is_null() && a.iter().any(|h| same_element(h, w))).into())),
        _ => Ok(Value::Null),
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::PgType;

    fn key(json: &str, element: PgType) -> Vec<u8> {
        let items: Vec<Json> = serde_json::from_str(json).expect("json");
        sort_key(&items, element)
    }

    /// PostgreSQL's `string_to_array` cuts: each character without a delimiter, the whole
    /// text with an empty one, nothing of the empty text.
    #[test]
    fn pieces_are_cut_as_postgresql_cuts_them() {
        assert_eq!(split_pieces("a,b,,c", Some(",")), ["a", "b", "", "c"]);
        assert_eq!(split_pieces("aé", None), ["a", "é"]);
        assert_eq!(split_pieces("abc", Some("")), ["abc"]);
        assert!(split_pieces("", Some(",")).is_empty());
        assert_eq!(split_pieces("a<>b", Some("<>")), ["a", "b"]);
    }

    /// The keys sort as PostgreSQL orders the arrays.
    #[test]
    fn keys_sort_as_postgresql_orders_arrays() {
        let numeric = PgType::Numeric { precision: Some(10), scale: Some(2) };
        let ordered: &[(&str, PgType)] = &[
            (r#"[]"#, PgType::Int4),
            (r#"[-5]"#, PgType::Int4),
            (r#"[1]"#, PgType::Int4),
            (r#"[1, 2]"#, PgType::Int4),
            (r#"[1, null]"#, PgType::Int4),
            (r#"[2]"#, PgType::Int4),
            (r#"[null]"#, PgType::Int4),
        ];
        for pair in ordered.windows(2) {
            assert!(key(pair[0].0, pair[0].1) < key(pair[1].0, pair[1].1), "{} < {}", pair[0].0, pair[1].0);
        }
        let decimals = ["-100.00", "-12.50", "-12.00", "-0.50", "-0.05", "0.00", "0.05", "0.50", "9.99", "12.00", "12.50", "100.00"];
        for pair in decimals.windows(2) {
            let (a, b) = (format!(r#"["{}"]"#, pair[0]), format!(r#"["{}"]"#, pair[1]));
            assert!(key(&a, numeric) < key(&b, numeric), "{a} < {b}");
        }
        assert_eq!(key(r#"["1.50"]"#, numeric), key(r#"["1.5"]"#, numeric));
        let floats = [r#"["-Infinity"]"#, "[-1e300]", "[-0.5]", "[0.0]", "[0.25]", "[3]", "[1e300]", r#"["Infinity"]"#, r#"["NaN"]"#];
        for pair in floats.windows(2) {
            assert!(key(pair[0], PgType::Float8) < key(pair[1], PgType::Float8), "{} < {}", pair[0], pair[1]);
        }
        let texts = [r#"["a"]"#, r#"["a","b"]"#, r#"["a\u0000"]"#, r#"["ab"]"#, r#"["b"]"#];
        for pair in texts.windows(2) {
            assert!(key(pair[0], PgType::Text) < key(pair[1], PgType::Text), "{} < {}", pair[0], pair[1]);
        }
    }
}
