//! SQL functions rhei registers on every SQLite connection. The translator (`translate`) wraps
//! values written to typed columns, casts and typed literals in these, so SQLite stores each
//! PostgreSQL type in the storage form of `catalog::types` and rejects bad input the way
//! PostgreSQL does (`'abc'::int` is 22P02, `40000::smallint` is 22003, a too-long varchar is
//! 22001). A failing function leaves its typed [`EngineError`] in a thread-local slot that
//! [`take_error`] hands to `oltp::classify`, because SQLite itself only passes a message back.

use std::cell::RefCell;

use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, Error as SqlError};

use crate::error::EngineError;
use crate::zone::TimeZone;
use crate::value::{format_decimal, format_float4, format_float8, parse_date_days, parse_decimal, parse_timestamp_micros};

thread_local! {
    static LAST_ERROR: RefCell<Option<EngineError>> = const { RefCell::new(None) };
}

/// The typed error of the last rhei function that failed on this thread, if any.
pub fn take_error() -> Option<EngineError> {
    LAST_ERROR.with(|slot| slot.borrow_mut().take())
}

thread_local! {
    /// The start of the explicit transaction running on this thread: its `now()`.
    static TRANSACTION_NOW: std::cell::Cell<Option<i64>> = const { std::cell::Cell::new(None) };
    /// The start of the statement running on this thread: its `statement_timestamp()`, and its
    /// `now()` outside an explicit transaction.
    static STATEMENT_NOW: std::cell::Cell<Option<i64>> = const { std::cell::Cell::new(None) };
}

/// `now()` and `statement_timestamp()` as PostgreSQL has them: one instant for a whole
/// statement (every row, every call: `now() - now()` was `-00:00:00.000004` on SQLite, which
/// read the clock at each call), and `now()` the transaction's start within an explicit one.
/// Pinned while the guard lives.
pub(crate) struct PinnedNow {
    cell: &'static std::thread::LocalKey<std::cell::Cell<Option<i64>>>,
    previous: Option<i64>,
}

impl PinnedNow {
    /// Pins an explicit transaction's start for the statements run within the guard.
    pub(crate) fn transaction(micros: i64) -> Self {
        PinnedNow { cell: &TRANSACTION_NOW, previous: TRANSACTION_NOW.with(|now| now.replace(Some(micros))) }
    }

    /// Pins the present instant as the statement's, unless an enclosing call pinned one.
    pub(crate) fn for_statement() -> Self {
        let previous = STATEMENT_NOW.with(std::cell::Cell::get);
        let pinned = previous.unwrap_or_else(crate::value::now_micros);
        PinnedNow { cell: &STATEMENT_NOW, previous: STATEMENT_NOW.with(|now| now.replace(Some(pinned))) }
    }

    fn statement() -> i64 {
        STATEMENT_NOW.with(std::cell::Cell::get).unwrap_or_else(crate::value::now_micros)
    }

    fn now() -> i64 {
        TRANSACTION_NOW.with(std::cell::Cell::get).unwrap_or_else(Self::statement)
    }
}

impl Drop for PinnedNow {
    fn drop(&mut self) {
        self.cell.with(|now| now.set(self.previous));
    }
}

pub(crate) fn fail(err: EngineError) -> SqlError {
    let message = err.to_string();
    LAST_ERROR.with(|slot| *slot.borrow_mut() = Some(err));
    SqlError::UserFunctionError(message.into())
}

type FnResult = rusqlite::Result<Value>;

pub(crate) fn text_of(value: ValueRef<'_>) -> Option<String> {
    match value {
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Real(f) => Some(format_float8(f)),
        ValueRef::Text(t) | ValueRef::Blob(t) => Some(String::from_utf8_lossy(t).into_owned()),
    }
}

/// A `to_char` number pattern as read, kept with a statement (SQLite's auxiliary data).
struct ReadNumberPattern {
    text: String,
    pattern: crate::number_format::NumberPattern,
}

/// A pattern compiled with its flags, kept with a statement (SQLite's auxiliary data).
struct CompiledRegex {
    pattern: String,
    flags: String,
    regex: regex::Regex,
    global: bool,
}

/// The compiled regular expression of argument `pattern` with the flags of argument `flags`
/// (`usize::MAX`: none), kept with the statement while the pattern and flags stay the same;
/// `None` when either is NULL.
fn regex_arg(ctx: &Context<'_>, pattern: usize, flags: usize) -> rusqlite::Result<Option<std::sync::Arc<CompiledRegex>>> {
    let Some(text) = text_of(ctx.get_raw(pattern)) else { return Ok(None) };
    let flags = if flags == usize::MAX {
        String::new()
    } else {
        match text_of(ctx.get_raw(flags)) {
            Some(f) => f,
            None => return Ok(None),
        }
    };
    let slot = i32::try_from(pattern).unwrap_or(0);
    if let Some(cached) = ctx.get_aux::<CompiledRegex>(slot)?
        && cached.pattern == text
        && cached.flags == flags
    {
        return Ok(Some(cached));
    }
    let (regex, global) = crate::oltp::regex::compile(&text, &flags).map_err(fail)?;
    Ok(Some(ctx.set_aux(slot, CompiledRegex { pattern: text, flags, regex, global })?))
}

/// `regexp_count`, `regexp_instr`, `regexp_like` or `regexp_substr` (see
/// [`crate::oltp::regex::Search`]); NULL where an argument is.
fn regexp_search(ctx: &Context<'_>, search: crate::oltp::regex::Search) -> rusqlite::Result<Value> {
    use crate::oltp::regex::SearchAnswer;
    let flags_at = search.flags_at();
    let Some(text) = text_of(ctx.get_raw(0)) else { return Ok(Value::Null) };
    let Some(compiled) = regex_arg(ctx, 1, if ctx.len() > flags_at { flags_at } else { usize::MAX })? else { return Ok(Value::Null) };
    let mut numbers = Vec::new();
    for i in (2..ctx.len()).filter(|i| *i != flags_at) {
        match ctx.get_raw(i) {
            ValueRef::Null => return Ok(Value::Null),
            ValueRef::Integer(n) => numbers.push(n),
            other => numbers.push(text_of(other).and_then(|t| t.trim().parse().ok()).ok_or_else(|| invalid("integer", other))?),
        }
    }
    Ok(match search.answer(&compiled.regex, compiled.global, &text, &numbers).map_err(fail)? {
        SearchAnswer::Integer(n) => Value::Integer(i64::from(n)),
        SearchAnswer::Boolean(b) => Value::Integer(i64::from(b)),
        SearchAnswer::Text(t) => t.map_or(Value::Null, Value::Text),
        // Arrays in the JSON form SQLite holds them in (see `oltp::arrays`).
        SearchAnswer::Texts(items) => items.map_or(Value::Null, |items| Value::Text(serde_json::Value::from(items).to_string())),
        SearchAnswer::Integers(rows) => Value::Text(serde_json::Value::from(rows).to_string()),
    })
}

fn invalid(type_name: &str, value: ValueRef<'_>) -> SqlError {
    fail(EngineError::InvalidTextRepresentation {
        type_name: type_name.to_string(),
        value: text_of(value).unwrap_or_default(),
    })
}

/// A date or timestamp that did not parse: 22008 when it has the shape of one (`2024-02-30`,
/// `2024-13-01 25:00`) but a field is out of range, as PostgreSQL reports it; 22007 otherwise.
fn invalid_datetime(type_name: &str, value: ValueRef<'_>) -> SqlError {
    let text = text_of(value).unwrap_or_default();
    let fields: Vec<&str> = text.trim().splitn(3, '-').collect();
    let date_shaped = fields.len() == 3
        && fields[0].len() == 4
        && fields[..2].iter().all(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
        && fields[2].bytes().take_while(u8::is_ascii_digit).count() > 0;
    if date_shaped {
        return fail(EngineError::DatetimeFieldOverflow { value: text });
    }
    fail(EngineError::InvalidDatetimeFormat { type_name: type_name.to_string(), value: text })
}

fn int_type_name(bits: i64) -> &'static str {
    match bits {
        16 => "smallint",
        32 => "integer",
        _ => "bigint",
    }
}

/// `rhei_int(v, bits)`: an integer of 16, 32 or 64 bits. Reals round half to even as
/// PostgreSQL's float-to-int cast does; text must be an integer literal.
pub(crate) fn to_int(value: ValueRef<'_>, bits: i64) -> FnResult {
    let name = int_type_name(bits);
    let v: i64 = match value {
        ValueRef::Null => return Ok(Value::Null),
        ValueRef::Integer(i) => i,
        ValueRef::Real(f) => {
            if !f.is_finite() || f.abs() >= 9.223_372_036_854_775e18 {
                return Err(fail(EngineError::NumericOutOfRange { type_name: name.into() }));
            }
            f.round_ties_even() as i64
        }
        ValueRef::Text(t) => {
            let s = std::str::from_utf8(t).map_err(|_| invalid(name, value))?.trim();
            match s.parse::<i64>() {
                Ok(v) => v,
                // A well-formed integer that does not fit is out of range, not malformed.
                Err(_) if !s.is_empty() && s.trim_start_matches(['-', '+']).bytes().all(|b| b.is_ascii_digit()) => {
                    return Err(fail(EngineError::NumericOutOfRange { type_name: name.into() }));
                }
                Err(_) => return Err(invalid(name, value)),
            }
        }
        ValueRef::Blob(_) => return Err(invalid(name, value)),
    };
    let fits = match bits {
        16 => i16::try_from(v).is_ok(),
        32 => i32::try_from(v).is_ok(),
        _ => true,
    };
    if fits { Ok(Value::Integer(v)) } else { Err(fail(EngineError::NumericOutOfRange { type_name: name.into() })) }
}

/// `rhei_float(v, bits)`: a real or double precision; `real` keeps only single precision.
fn to_float(value: ValueRef<'_>, bits: i64) -> FnResult {
    let name = if bits == 32 { "real" } else { "double precision" };
    let v = match value {
        ValueRef::Null => return Ok(Value::Null),
        ValueRef::Integer(i) => i as f64,
        ValueRef::Real(f) => f,
        ValueRef::Text(t) => {
            std::str::from_utf8(t).ok().and_then(crate::value::parse_float).ok_or_else(|| invalid(name, value))?
        }
        ValueRef::Blob(_) => return Err(invalid(name, value)),
    };
    if bits == 32 {
        let narrow = v as f32;
        if narrow.is_infinite() && v.is_finite() {
            return Err(fail(EngineError::NumericOutOfRange { type_name: name.into() }));
        }
        return Ok(super::float_value(f64::from(narrow)));
    }
    Ok(super::float_value(v))
}

/// Canonical text of an unconstrained numeric: no exponent, no trailing fraction zeros beyond
/// what was written (PostgreSQL keeps the input's scale).
pub(crate) fn canonical_numeric(s: &str) -> Option<String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("nan") {
        return Some("NaN".into());
    }
    let scale = match s.find(['e', 'E']) {
        Some(i) => {
            let exp: i32 = s[i + 1..].parse().ok()?;
            let frac = s[..i].split_once('.').map_or(0, |(_, f)| f.len() as i32);
            (frac - exp).max(0)
        }
        None => s.split_once('.').map_or(0, |(_, f)| f.len() as i32),
    };
    let scale = i8::try_from(scale.min(38)).ok()?;
    parse_decimal(s, scale)
        .map(|v| format_decimal(v, scale))
        .or_else(|| crate::value::parse_decimal256(s, scale).map(|v| crate::value::format_decimal256(v, scale)))
}

/// Refuses an unconstrained numeric value (canonical text) the column's OLAP copy cannot hold:
/// NaN, or one that rounds past 28 integral digits at its ten places. PostgreSQL takes both;
/// storing one would stop the copy's sync.
///
/// # Errors
/// 0A000 for NaN; 22003 with a DETAIL naming the limit.
pub fn check_unconstrained_numeric(text: &str) -> Result<(), EngineError> {
    if text == "NaN" {
        return Err(EngineError::FeatureNotSupported { what: "storing NaN in a numeric column (its OLAP copy is a decimal)".into() });
    }
    // What the sync will make of it (`oltp::convert`), rounding included.
    match parse_decimal(text, crate::catalog::types::UNCONSTRAINED_NUMERIC_SCALE) {
        Some(v) if v.unsigned_abs() < 10u128.pow(38) => Ok(()),
        _ => Err(EngineError::UnconstrainedNumericTooWide),
    }
}

/// `rhei_numeric(v, precision, scale)`: exact decimal text, rounded to the declared scale and
/// checked against the declared precision (22003 "numeric field overflow" otherwise).
fn to_numeric(value: ValueRef<'_>, precision: Option<i64>, scale: Option<i64>) -> FnResult {
    // Text is read in place (COPY converts every numeric value through here).
    let text: std::borrow::Cow<'_, str> = match value {
        ValueRef::Null => return Ok(Value::Null),
        ValueRef::Integer(i) => i.to_string().into(),
        ValueRef::Real(f) if f.is_finite() => format!("{f}").into(),
        ValueRef::Real(_) => return Err(invalid("numeric", value)),
        ValueRef::Text(t) => String::from_utf8_lossy(t),
        ValueRef::Blob(_) => return Err(invalid("numeric", value)),
    };
    let Some(scale) = scale else {
        return canonical_numeric(&text).map(Value::Text).ok_or_else(|| invalid("numeric", value));
    };
    let scale = i8::try_from(scale).map_err(|_| invalid("numeric", value))?;
    // Digits that overflow the integer are well-formed but too large.
    let unreadable = || {
        let looks_numeric = text.trim().bytes().all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b));
        if looks_numeric && !text.trim().is_empty() {
            fail(EngineError::NumericOutOfRange { type_name: "numeric".into() })
        } else {
            invalid("numeric", value)
        }
    };
    if let Some(p) = precision.filter(|p| *p > 38) {
        let scaled = crate::value::parse_decimal256(&text, scale).ok_or_else(unreadable)?;
        if crate::value::decimal256_digits(scaled) > usize::try_from(p).unwrap_or(usize::MAX) {
            return Err(fail(EngineError::numeric_field_overflow(i32::try_from(p).unwrap_or(i32::MAX), i32::from(scale))));
        }
        return Ok(Value::Text(crate::value::format_decimal256(scaled, scale)));
    }
    let Some(scaled) = parse_decimal(&text, scale) else {
        return Err(unreadable());
    };
    if let Some(p) = precision
        && let Ok(p) = u32::try_from(p)
        && scaled.unsigned_abs() >= 10u128.pow(p.min(38))
    {
        return Err(fail(EngineError::numeric_field_overflow(i32::try_from(p).unwrap_or(i32::MAX), i32::from(scale))));
    }
    Ok(Value::Text(format_decimal(scaled, scale)))
}

/// `rhei_varchar(v, n)`: text of at most `n` characters; excess trailing spaces are cut, as
/// PostgreSQL does, anything else too long is 22001.
/// `varchar(n)` / `char(n)` input. Assignment refuses text longer than `n` unless the excess
/// is blanks (22001); an explicit cast (`truncate`) cuts it silently, as in PostgreSQL. char(n)
/// values are stored without trailing blanks (`bpchar`): PostgreSQL ignores them when
/// comparing, measuring and concatenating, and output pads them back (see
/// `catalog::types::pad_bpchar`).
fn to_varchar(value: ValueRef<'_>, n: i64, bpchar: bool, truncate: bool) -> FnResult {
    let Some(text) = text_of(value) else { return Ok(Value::Null) };
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    let len = text.chars().count();
    let mut text = if len > n {
        let (keep, rest): (String, String) =
            (text.chars().take(n).collect(), text.chars().skip(n).collect());
        if !truncate && rest.chars().any(|c| c != ' ') {
            let type_name = if bpchar { format!("character({n})") } else { format!("character varying({n})") };
            return Err(fail(EngineError::StringTooLong { type_name }));
        }
        keep
    } else {
        text
    };
    if bpchar {
        text.truncate(text.trim_end_matches(' ').len());
    }
    Ok(Value::Text(text))
}

/// `rhei_enum(v, type name, label...)`: `v` if it is one of the labels, as PostgreSQL's
/// `enum_in` takes it (exactly: no trimming, case counts).
fn to_enum(value: ValueRef<'_>, type_name: &str, is_label: impl Fn(&str) -> bool) -> FnResult {
    let Some(text) = text_of(value) else { return Ok(Value::Null) };
    if !is_label(&text) {
        return Err(fail(EngineError::InvalidEnumValue { type_name: crate::naming::display_ident(type_name), value: text }));
    }
    Ok(Value::Text(text))
}

/// PostgreSQL's boolean input: any unambiguous prefix of true/false/yes/no, on/off, 1/0.
pub fn parse_bool(s: &str) -> Option<bool> {
    let s = s.trim().to_ascii_lowercase();
    if s.is_empty() {
        return None;
    }
    let prefix_of = |word: &str, min: usize| s.len() >= min && word.starts_with(s.as_str());
    if prefix_of("true", 1) || prefix_of("yes", 1) || s == "on" || s == "1" {
        Some(true)
    } else if prefix_of("false", 1) || prefix_of("no", 1) || prefix_of("off", 2) || s == "0" {
        Some(false)
    } else {
        None
    }
}

fn to_bool(value: ValueRef<'_>) -> FnResult {
    match value {
        ValueRef::Null => Ok(Value::Null),
        ValueRef::Integer(i) => Ok(Value::Integer(i64::from(i != 0))),
        ValueRef::Text(t) => std::str::from_utf8(t)
            .ok()
            .and_then(parse_bool)
            .map(|b| Value::Integer(i64::from(b)))
            .ok_or_else(|| invalid("boolean", value)),
        _ => Err(invalid("boolean", value)),
    }
}

fn to_date(value: ValueRef<'_>) -> FnResult {
    match value {
        ValueRef::Null => Ok(Value::Null),
        ValueRef::Integer(i) => Ok(Value::Integer(i)),
        ValueRef::Text(t) => std::str::from_utf8(t)
            .ok()
            .and_then(parse_date_days)
            .map(|d| Value::Integer(d.into()))
            .ok_or_else(|| invalid_datetime("date", value)),
        _ => Err(invalid_datetime("date", value)),
    }
}

/// `rhei_time(v)`: a time of day as microseconds since midnight (a stored one passes).
fn to_time(value: ValueRef<'_>) -> FnResult {
    const END_OF_DAY: i64 = 86_400_000_000;
    match value {
        ValueRef::Null => Ok(Value::Null),
        ValueRef::Integer(i) if (0..=END_OF_DAY).contains(&i) => Ok(Value::Integer(i)),
        ValueRef::Text(t) => {
            let text = std::str::from_utf8(t).map_err(|_| invalid_datetime("time", value))?;
            crate::value::parse_time_of_day(text).map(Value::Integer).map_err(fail)
        }
        _ => Err(invalid_datetime("time", value)),
    }
}

/// `rhei_time_of_day(micros)`: the time of day of a (wall-clock) timestamp.
fn time_of_day(value: ValueRef<'_>) -> FnResult {
    match value {
        ValueRef::Null => Ok(Value::Null),
        ValueRef::Integer(t) => Ok(Value::Integer(t.rem_euclid(86_400_000_000))),
        v => Err(invalid_datetime("time", v)),
    }
}

/// The zone suffix of a timestamp text, if it carries one (`+02`, `-05:30`, `Z`, `UTC`).
fn has_zone(s: &str) -> bool {
    let s = s.trim();
    let Some(time_at) = s.find([' ', 'T']) else { return false };
    let time = &s[time_at + 1..];
    time.contains(['+', 'Z', 'z']) || time.rfind('-').is_some() || time.to_ascii_uppercase().ends_with("UTC")
}

/// `rhei_ts(v)`: timestamp without time zone, microseconds; a zone in the text is ignored as
/// PostgreSQL ignores it.
fn to_timestamp(value: ValueRef<'_>) -> FnResult {
    match value {
        ValueRef::Null => Ok(Value::Null),
        ValueRef::Integer(i) => Ok(Value::Integer(i)),
        ValueRef::Text(t) => {
            let s = std::str::from_utf8(t).map_err(|_| invalid_datetime("timestamp", value))?;
            let s = strip_zone(s);
            parse_timestamp_micros(s).map(Value::Integer).ok_or_else(|| invalid_datetime("timestamp", value))
        }
        _ => Err(invalid_datetime("timestamp", value)),
    }
}

fn strip_zone(s: &str) -> &str {
    let s = s.trim();
    if !has_zone(s) {
        return s;
    }
    let time_at = s.find([' ', 'T']).map_or(0, |i| i + 1);
    let cut = s[time_at..].find(['+', '-', 'Z', 'z', ' ']).map_or(s.len(), |i| time_at + i);
    &s[..cut]
}

/// `rhei_tstz(v, session_zone)`: timestamptz as UTC microseconds; text without a zone is in the
/// session's time zone.
fn to_timestamptz(value: ValueRef<'_>, zone: TimeZone) -> FnResult {
    match value {
        ValueRef::Null => Ok(Value::Null),
        ValueRef::Integer(i) => Ok(Value::Integer(i)),
        ValueRef::Text(t) => {
            let s = std::str::from_utf8(t).map_err(|_| invalid_datetime("timestamp with time zone", value))?;
            let micros = parse_timestamp_micros(s).ok_or_else(|| invalid_datetime("timestamp with time zone", value))?;
            Ok(Value::Integer(if has_zone(s) { micros } else { zone.utc(micros) }))
        }
        _ => Err(invalid_datetime("timestamp with time zone", value)),
    }
}

/// Canonical uuid text (lower-case, hyphenated) from any of PostgreSQL's accepted spellings.
pub fn canonical_uuid(s: &str) -> Option<String> {
    let s = s.trim();
    let s = s.strip_prefix('{').and_then(|r| r.strip_suffix('}')).unwrap_or(s);
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let h = hex.to_ascii_lowercase();
    Some(format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..]))
}

fn to_uuid(value: ValueRef<'_>) -> FnResult {
    match value {
        ValueRef::Null => Ok(Value::Null),
        ValueRef::Blob(b) if b.len() == 16 => {
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            canonical_uuid(&hex).map(Value::Text).ok_or_else(|| invalid("uuid", value))
        }
        ValueRef::Text(t) => {
            std::str::from_utf8(t).ok().and_then(canonical_uuid).map(Value::Text).ok_or_else(|| invalid("uuid", value))
        }
        _ => Err(invalid("uuid", value)),
    }
}

/// `rhei_bytea(v)`: bytes from PostgreSQL's bytea input (see [`crate::bytea::parse_input`]);
/// a blob passes through.
fn to_bytea(value: ValueRef<'_>) -> FnResult {
    match value {
        ValueRef::Null => Ok(Value::Null),
        ValueRef::Blob(b) => Ok(Value::Blob(b.to_vec())),
        ValueRef::Text(t) => crate::bytea::parse_input(t).map(Value::Blob).map_err(fail),
        _ => Err(invalid("bytea", value)),
    }
}

/// The bytes of a bytea argument: a blob, or text (an untyped literal) read as bytea input.
fn bytea_of(value: ValueRef<'_>) -> rusqlite::Result<Option<std::borrow::Cow<'_, [u8]>>> {
    match value {
        ValueRef::Null => Ok(None),
        ValueRef::Blob(b) => Ok(Some(std::borrow::Cow::Borrowed(b))),
        ValueRef::Text(t) => crate::bytea::parse_input(t).map(|b| Some(std::borrow::Cow::Owned(b))).map_err(fail),
        other => Ok(text_of(other).map(|t| std::borrow::Cow::Owned(t.into_bytes()))),
    }
}

/// bytea's functions and `||`, shared with DataFusion through [`crate::bytea`].
fn register_bytea(conn: &Connection, pure: FunctionFlags) -> rusqlite::Result<()> {
    conn.create_scalar_function("encode", 2, pure, |ctx| {
        let (Some(bytes), Some(format)) = (bytea_of(ctx.get_raw(0))?, text_of(ctx.get_raw(1))) else { return Ok(Value::Null) };
        crate::bytea::encode(&bytes, &format).map(Value::Text).map_err(fail)
    })?;
    conn.create_scalar_function("decode", 2, pure, |ctx| {
        let (Some(text), Some(format)) = (text_of(ctx.get_raw(0)), text_of(ctx.get_raw(1))) else { return Ok(Value::Null) };
        crate::bytea::decode(&text, &format).map(Value::Blob).map_err(fail)
    })?;
    conn.create_scalar_function("convert_to", 2, pure, |ctx| {
        let (Some(text), Some(encoding)) = (text_of(ctx.get_raw(0)), text_of(ctx.get_raw(1))) else { return Ok(Value::Null) };
        crate::bytea::convert_to(&text, &encoding).map(Value::Blob).map_err(fail)
    })?;
    conn.create_scalar_function("convert_from", 2, pure, |ctx| {
        let (Some(bytes), Some(encoding)) = (bytea_of(ctx.get_raw(0))?, text_of(ctx.get_raw(1))) else { return Ok(Value::Null) };
        crate::bytea::convert_from(&bytes, &encoding).map(Value::Text).map_err(fail)
    })?;
    conn.create_scalar_function("get_byte", 2, pure, |ctx| {
        let (Some(bytes), n) = (bytea_of(ctx.get_raw(0))?, ctx.get::<Option<i64>>(1)?) else { return Ok(Value::Null) };
        let Some(n) = n else { return Ok(Value::Null) };
        crate::bytea::get_byte(&bytes, n).map(|b| Value::Integer(b.into())).map_err(fail)
    })?;
    conn.create_scalar_function("rhei_bytea_concat", 2, pure, |ctx| {
        let (Some(a), Some(b)) = (bytea_of(ctx.get_raw(0))?, bytea_of(ctx.get_raw(1))?) else { return Ok(Value::Null) };
        Ok(Value::Blob([a.as_ref(), b.as_ref()].concat()))
    })?;
    for (name, digest) in crate::bytea::DIGESTS {
        conn.create_scalar_function(name, 1, pure, move |ctx| Ok(bytea_of(ctx.get_raw(0))?.map_or(Value::Null, |b| Value::Blob(digest(&b)))))?;
    }
    Ok(())
}

fn to_json(value: ValueRef<'_>, normalize: bool) -> FnResult {
    let Some(text) = text_of(value) else { return Ok(Value::Null) };
    if normalize {
        crate::json::normalize_jsonb(&text).map(Value::Text).map_err(fail)
    } else {
        crate::json::check_json(&text).map_err(fail)?;
        Ok(Value::Text(text))
    }
}

/// The operators' and functions' document argument: NULL stays NULL (`None`).
fn json_arg(ctx: &Context<'_>, i: usize) -> Option<String> {
    text_of(ctx.get_raw(i))
}

fn json_text(result: Result<Option<String>, EngineError>) -> FnResult {
    match result {
        Ok(Some(text)) => Ok(Value::Text(text)),
        Ok(None) => Ok(Value::Null),
        Err(e) => Err(fail(e)),
    }
}

/// `doc -> key` / `doc ->> key`: an integer key is an array position, anything else a field.
fn json_get(ctx: &Context<'_>, as_text: bool) -> FnResult {
    let Some(doc) = json_arg(ctx, 0) else { return Ok(Value::Null) };
    match ctx.get_raw(1) {
        ValueRef::Null => Ok(Value::Null),
        ValueRef::Integer(i) => json_text(crate::json::get(&doc, crate::json::Key::Index(i), as_text)),
        key => {
            let key = text_of(key).unwrap_or_default();
            json_text(crate::json::get(&doc, crate::json::Key::Field(&key), as_text))
        }
    }
}

/// `doc #> '{a,b}'` / `#>>`.
fn json_path(ctx: &Context<'_>, as_text: bool) -> FnResult {
    let (Some(doc), Some(path)) = (json_arg(ctx, 0), json_arg(ctx, 1)) else { return Ok(Value::Null) };
    let steps = crate::json::path_steps(&path).map_err(fail)?;
    let steps: Vec<&str> = steps.iter().map(String::as_str).collect();
    json_text(crate::json::get_path(&doc, &steps, as_text))
}

/// `jsonb_extract_path(doc, VARIADIC keys)` and its `_text` twin; a NULL key gives NULL.
fn json_extract_path(ctx: &Context<'_>, as_text: bool) -> FnResult {
    let Some(doc) = json_arg(ctx, 0) else { return Ok(Value::Null) };
    let mut steps = Vec::with_capacity(ctx.len().saturating_sub(1));
    for i in 1..ctx.len() {
        let Some(step) = json_arg(ctx, i) else { return Ok(Value::Null) };
        steps.push(step);
    }
    let steps: Vec<&str> = steps.iter().map(String::as_str).collect();
    json_text(crate::json::get_path(&doc, &steps, as_text))
}

/// `#-` and `jsonb_set` with their path in PostgreSQL's text array form.
fn json_edit(doc: &str, path: &str, edit: crate::json::PathEdit<'_>) -> FnResult {
    let steps = crate::json::path_steps(path).map_err(fail)?;
    let steps: Vec<&str> = steps.iter().map(String::as_str).collect();
    crate::json::edit_path(doc, &steps, edit).map(Value::Text).map_err(fail)
}

fn json_predicate(ctx: &Context<'_>, test: fn(&str, &str) -> Result<bool, EngineError>) -> FnResult {
    let (Some(a), Some(b)) = (json_arg(ctx, 0), json_arg(ctx, 1)) else { return Ok(Value::Null) };
    test(&a, &b).map(|yes| Value::Integer(yes.into())).map_err(fail)
}

/// `rhei_mod(a, b)`: PostgreSQL's `mod`/`%` (sign of the dividend; division by zero is 22012).
fn modulo(a: ValueRef<'_>, b: ValueRef<'_>) -> FnResult {
    match (a, b) {
        (ValueRef::Null, _) | (_, ValueRef::Null) => Ok(Value::Null),
        (ValueRef::Integer(_), ValueRef::Integer(0)) => Err(fail(EngineError::DivisionByZero)),
        (ValueRef::Integer(x), ValueRef::Integer(y)) => Ok(Value::Integer(x.wrapping_rem(y))),
        (x, y) => {
            let fx = f64_of(x).ok_or_else(|| invalid("numeric", x))?;
            let fy = f64_of(y).ok_or_else(|| invalid("numeric", y))?;
            if fy == 0.0 {
                return Err(fail(EngineError::DivisionByZero));
            }
            Ok(Value::Real(fx % fy))
        }
    }
}

/// `rhei_divisor(b)`: `b` unchanged (SQLite's own division rules apply), or 22012 when it is
/// zero, where SQLite would quietly give NULL.
fn divisor(b: ValueRef<'_>) -> FnResult {
    if f64_of(b) == Some(0.0) {
        return Err(fail(EngineError::DivisionByZero));
    }
    Ok(owned(b))
}

/// A value passed through unchanged.
fn owned(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}

/// A LIMIT (or, with `offset`, an OFFSET) as PostgreSQL takes it: NULL is no limit (no
/// offset), a fraction rounds, a negative count is an error (SQLite would read it as no limit).
fn row_count(value: ValueRef<'_>, offset: bool) -> FnResult {
    let count = match value {
        ValueRef::Null => return Ok(Value::Integer(if offset { 0 } else { -1 })),
        ValueRef::Integer(i) => i,
        ValueRef::Real(f) => f.round() as i64,
        ValueRef::Text(t) => match std::str::from_utf8(t).ok().and_then(|t| t.trim().parse::<f64>().ok()) {
            Some(f) => f.round() as i64,
            None => return Ok(Value::Text(String::from_utf8_lossy(t).into_owned())),
        },
        ValueRef::Blob(b) => return Ok(Value::Blob(b.to_vec())),
    };
    if count < 0 {
        return Err(fail(if offset { EngineError::NegativeOffset } else { EngineError::NegativeLimit }));
    }
    Ok(Value::Integer(count))
}

pub(crate) fn f64_of(v: ValueRef<'_>) -> Option<f64> {
    match v {
        ValueRef::Integer(i) => Some(i as f64),
        ValueRef::Real(f) => Some(f),
        ValueRef::Text(t) => std::str::from_utf8(t).ok().and_then(|s| s.trim().parse().ok()),
        _ => None,
    }
}

/// `date_part(field, micros)`: fields of a timestamp stored as UTC microseconds.
fn date_part(field: ValueRef<'_>, value: ValueRef<'_>) -> FnResult {
    let Some(field) = text_of(field) else { return Ok(Value::Null) };
    let micros = match value {
        ValueRef::Null => return Ok(Value::Null),
        ValueRef::Integer(i) => i,
        ValueRef::Text(t) => std::str::from_utf8(t)
            .ok()
            .and_then(parse_timestamp_micros)
            .ok_or_else(|| invalid_datetime("timestamp", value))?,
        _ => return Err(invalid_datetime("timestamp", value)),
    };
    let days = micros.div_euclid(86_400_000_000);
    let in_day = micros.rem_euclid(86_400_000_000);
    let (year, month, day) = crate::value::civil_from_days(days);
    let v = match field.to_ascii_lowercase().as_str() {
        "year" => year as f64,
        "month" => f64::from(month),
        "day" => f64::from(day),
        "hour" => (in_day / 3_600_000_000) as f64,
        "minute" => (in_day / 60_000_000 % 60) as f64,
        // Whole seconds plus the fraction divided, as PostgreSQL computes them (dividing the
        // microseconds at once differs in the last bit: 1.003691 for 1.0036909999999999).
        "second" | "seconds" => (in_day % 60_000_000 / 1_000_000) as f64 + (in_day % 1_000_000) as f64 / 1_000_000.0,
        // Both count the seconds too, as in PostgreSQL.
        "millisecond" | "milliseconds" => (in_day % 60_000_000 / 1_000_000) as f64 * 1000.0 + (in_day % 1_000_000) as f64 / 1000.0,
        "microsecond" | "microseconds" => (in_day % 60_000_000) as f64,
        "epoch" => micros as f64 / 1e6,
        "dow" => (days + 4).rem_euclid(7) as f64,
        "isodow" => ((days + 3).rem_euclid(7) + 1) as f64,
        "doy" => (days - crate::value::days_from_civil(year, 1, 1) + 1) as f64,
        "quarter" => f64::from((month - 1) / 3 + 1),
        // ISO 8601: a week belongs to the year of its Thursday.
        "week" | "isoyear" => {
            let thursday = days - (days + 3).rem_euclid(7) + 3;
            let (iso_year, _, _) = crate::value::civil_from_days(thursday);
            if field.eq_ignore_ascii_case("isoyear") {
                iso_year as f64
            } else {
                ((thursday - crate::value::days_from_civil(iso_year, 1, 1)) / 7 + 1) as f64
            }
        }
        "decade" => year.div_euclid(10) as f64,
        "century" if year > 0 => ((year + 99) / 100) as f64,
        "millennium" if year > 0 => ((year + 999) / 1000) as f64,
        other => {
            return Err(fail(EngineError::FeatureNotSupported { what: format!("date_part field \"{other}\"") }));
        }
    };
    Ok(Value::Real(v))
}

fn strpos(haystack: ValueRef<'_>, needle: ValueRef<'_>) -> FnResult {
    match (text_of(haystack), text_of(needle)) {
        (Some(h), Some(n)) => Ok(Value::Integer(
            h.find(&n).map_or(0, |byte| h[..byte].chars().count() as i64 + 1),
        )),
        _ => Ok(Value::Null),
    }
}

/// `rhei_text(value, type, zone)`: PostgreSQL's text output of a stored date, timestamp,
/// timestamptz (shown in the session zone), boolean or float.
fn to_text(value: ValueRef<'_>, tag: &str, zone: TimeZone) -> FnResult {
    let text = match (value, tag) {
        (ValueRef::Null, _) => return Ok(Value::Null),
        (ValueRef::Integer(d), "date") => crate::value::format_date(d),
        (ValueRef::Integer(t), "timestamp") => crate::value::format_timestamp(t),
        (ValueRef::Integer(t), "timestamptz") => crate::value::format_timestamptz_in(t, zone),
        (ValueRef::Integer(t), "time") => crate::value::format_time(t),
        (ValueRef::Integer(b), "bool") => (if b != 0 { "true" } else { "false" }).to_string(),
        (ValueRef::Blob(bytes), "bytea") => crate::bytea::output(bytes),
        (v, "float4") => f64_of(v).map(|f| format_float4(f as f32)).ok_or_else(|| invalid("real", v))?,
        (v, "float8") => f64_of(v).map(format_float8).ok_or_else(|| invalid("double precision", v))?,
        (v, _) => text_of(v).unwrap_or_default(),
    };
    Ok(Value::Text(text))
}

/// `rhei_days(micros)`: the day a timestamp falls on (floor, also before 1970).
fn days_of(value: ValueRef<'_>) -> FnResult {
    match value {
        ValueRef::Null => Ok(Value::Null),
        ValueRef::Integer(t) => Ok(Value::Integer(t.div_euclid(86_400_000_000))),
        v => Err(invalid_datetime("date", v)),
    }
}

/// A timestamp (microseconds) plus an interval, on the calendar of `zone`.
fn add_interval(value: ValueRef<'_>, interval: crate::value::Interval, zone: TimeZone) -> FnResult {
    match value {
        ValueRef::Null => Ok(Value::Null),
        ValueRef::Integer(micros) => crate::value::add_interval(micros, interval, zone)
            .map(Value::Integer)
            .ok_or_else(|| fail(EngineError::DatetimeFieldOverflow { value: format!("{micros} + {interval:?}") })),
        v => Err(invalid_datetime("timestamp", v)),
    }
}

/// `date_trunc(field, micros)` on a timestamp stored as microseconds.
fn date_trunc(field: ValueRef<'_>, value: ValueRef<'_>) -> FnResult {
    let Some(field) = text_of(field) else { return Ok(Value::Null) };
    let micros = match value {
        ValueRef::Null => return Ok(Value::Null),
        ValueRef::Integer(i) => i,
        v => return Err(invalid_datetime("timestamp", v)),
    };
    const DAY: i64 = 86_400_000_000;
    let days = micros.div_euclid(DAY);
    let (y, m, _) = crate::value::civil_from_days(days);
    let unit = |u: i64| micros.div_euclid(u) * u;
    let truncated = match field.to_ascii_lowercase().as_str() {
        "microseconds" => micros,
        "milliseconds" => unit(1_000),
        "second" => unit(1_000_000),
        "minute" => unit(60_000_000),
        "hour" => unit(3_600_000_000),
        "day" => days * DAY,
        "week" => (days - (days + 3).rem_euclid(7)) * DAY,
        "month" => crate::value::days_from_civil(y, m, 1) * DAY,
        "quarter" => crate::value::days_from_civil(y, (m - 1) / 3 * 3 + 1, 1) * DAY,
        "year" => crate::value::days_from_civil(y, 1, 1) * DAY,
        "decade" => crate::value::days_from_civil(y.div_euclid(10) * 10, 1, 1) * DAY,
        "century" => crate::value::days_from_civil((y - 1).div_euclid(100) * 100 + 1, 1, 1) * DAY,
        other => return Err(fail(EngineError::FeatureNotSupported { what: format!("date_trunc unit \"{other}\"") })),
    };
    Ok(Value::Integer(truncated))
}

/// `left(s, n)` / `right(s, n)` in characters; a negative `n` drops that many from the other end.
fn take_chars(s: ValueRef<'_>, n: ValueRef<'_>, from_left: bool) -> FnResult {
    let (Some(s), ValueRef::Integer(n)) = (text_of(s), n) else { return Ok(Value::Null) };
    let chars: Vec<char> = s.chars().collect();
    let len = chars.len() as i64;
    let keep = if n >= 0 { n.min(len) } else { (len + n).max(0) } as usize;
    let out: String =
        if from_left { chars[..keep].iter().collect() } else { chars[chars.len() - keep..].iter().collect() };
    Ok(Value::Text(out))
}

/// PostgreSQL's limit on one text value (1 GB).
const MAX_TEXT_BYTES: usize = 1 << 30;

/// A text function of one text argument; NULL stays NULL.
/// `upper` / `lower` as PostgreSQL computes them in a UTF-8 database (rhei's is C.UTF-8): each
/// letter mapped alone, so one that would become several (`ß`, `İ`) stays as it is.
fn each_letter<I: Iterator<Item = char>>(s: &str, map: impl Fn(char) -> I) -> String {
    s.chars()
        .map(|c| {
            let mut mapped = map(c);
            match (mapped.next(), mapped.next()) {
                (Some(one), None) => one,
                _ => c,
            }
        })
        .collect()
}

fn map_text(value: ValueRef<'_>, f: impl Fn(&str) -> String) -> FnResult {
    Ok(text_of(value).map_or(Value::Null, |s| Value::Text(f(&s))))
}

/// `substring(s FROM start [FOR count])` / `substr(s, start [, count])` as PostgreSQL counts:
/// the characters (bytes of a bytea) at positions `start .. start + count`, clipped to the
/// value, so a start before 1 eats into the count. SQLite's substr counts a start below 1 from
/// the end instead (`substring('abc' from -1 for 3)` was `c`, PostgreSQL's `a`).
fn substring(value: ValueRef<'_>, start: ValueRef<'_>, count: Option<ValueRef<'_>>) -> FnResult {
    let number = |v: ValueRef<'_>| match v {
        ValueRef::Integer(i) => Some(i),
        ValueRef::Real(f) => Some(f.round() as i64),
        ValueRef::Text(t) => std::str::from_utf8(t).ok().and_then(|t| t.trim().parse().ok()),
        _ => None,
    };
    let Some(start) = number(start) else { return Ok(Value::Null) };
    let end = match count {
        None => i64::MAX,
        Some(count) => match number(count) {
            None => return Ok(Value::Null),
            Some(n) if n < 0 => return Err(fail(EngineError::NegativeSubstringLength)),
            Some(n) => start.saturating_add(n),
        },
    };
    // 0-based, half-open, clipped below; clipped above by the value's length.
    let (from, to) = (usize::try_from(start.max(1) - 1).unwrap_or(usize::MAX), usize::try_from(end.max(1) - 1).unwrap_or(usize::MAX));
    let take = to.saturating_sub(from);
    Ok(match value {
        ValueRef::Null => Value::Null,
        ValueRef::Blob(bytes) => Value::Blob(bytes.iter().skip(from).take(take).copied().collect()),
        other => match text_of(other) {
            Some(text) => Value::Text(text.chars().skip(from).take(take).collect()),
            None => Value::Null,
        },
    })
}

/// `initcap(s)`: each word's first letter upper case, the rest lower; words are runs of
/// letters and digits.
fn initcap(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_word = false;
    for c in s.chars() {
        if in_word {
            out.extend(c.to_lowercase());
        } else {
            out.extend(c.to_uppercase());
        }
        in_word = c.is_alphanumeric();
    }
    out
}

/// `split_part(s, delimiter, n)`: the n-th field (from the end when negative), '' past the
/// last; an empty delimiter makes the whole string one field.
fn split_part(s: ValueRef<'_>, delimiter: ValueRef<'_>, n: ValueRef<'_>) -> FnResult {
    let (Some(s), Some(delimiter), ValueRef::Integer(n)) = (text_of(s), text_of(delimiter), n) else { return Ok(Value::Null) };
    if n == 0 {
        return Err(fail(EngineError::InvalidArgument { message: "field position must not be zero".into() }));
    }
    let fields: Vec<&str> = if delimiter.is_empty() { vec![s.as_str()] } else { s.split(delimiter.as_str()).collect() };
    let index = if n > 0 { usize::try_from(n - 1).ok() } else { fields.len().checked_sub(usize::try_from(-n).unwrap_or(usize::MAX)) };
    Ok(Value::Text(index.and_then(|i| fields.get(i)).map_or_else(String::new, |f| (*f).to_string())))
}

/// `lpad`/`rpad(s, n[, fill])`: pads with `fill` (default a space) or truncates to `n` chars.
fn pad(s: ValueRef<'_>, n: ValueRef<'_>, fill: Option<ValueRef<'_>>, left: bool) -> FnResult {
    let (Some(s), ValueRef::Integer(n)) = (text_of(s), n) else { return Ok(Value::Null) };
    let fill: Vec<char> = match fill {
        Some(f) => match text_of(f) {
            Some(f) => f.chars().collect(),
            None => return Ok(Value::Null),
        },
        None => vec![' '],
    };
    let n = n.max(0) as usize;
    let chars: Vec<char> = s.chars().collect();
    if chars.len() >= n || fill.is_empty() {
        return Ok(Value::Text(chars[..n.min(chars.len())].iter().collect()));
    }
    let padding: String = fill.iter().cycle().take(n - chars.len()).collect();
    Ok(Value::Text(if left { format!("{padding}{s}") } else { format!("{s}{padding}") }))
}

/// `greatest`/`least`: PostgreSQL ignores NULL arguments (SQLite's max/min would return NULL).
fn extreme(ctx: &Context<'_>, greatest: bool) -> FnResult {
    let mut best: Option<Value> = None;
    for i in 0..ctx.len() {
        let v = owned(ctx.get_raw(i));
        if matches!(v, Value::Null) {
            continue;
        }
        let replace = match &best {
            None => true,
            Some(b) => {
                let ord = compare_values(&v, b);
                if greatest { ord == std::cmp::Ordering::Greater } else { ord == std::cmp::Ordering::Less }
            }
        };
        if replace {
            best = Some(v);
        }
    }
    Ok(best.unwrap_or(Value::Null))
}

fn compare_values(a: &Value, b: &Value) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let num = |v: &Value| match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Real(f) => Some(*f),
        Value::Text(t) => t.trim().parse::<f64>().ok(),
        _ => None,
    };
    match (a, b) {
        (Value::Text(x), Value::Text(y)) if num(a).is_none() || num(b).is_none() => x.cmp(y),
        _ => match (num(a), num(b)) {
            (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
            _ => Ordering::Equal,
        },
    }
}

/// A zone argument (see [`TimeZone::sql_argument`]).
pub(crate) fn arg_zone(ctx: &Context<'_>, i: usize) -> rusqlite::Result<TimeZone> {
    TimeZone::from_sql_argument(ctx.get_raw(i))
        .ok_or_else(|| fail(EngineError::Internal(format!("not a time zone: {:?}", ctx.get_raw(i)))))
}

fn arg_i64(ctx: &Context<'_>, i: usize) -> Option<i64> {
    match ctx.get_raw(i) {
        ValueRef::Integer(v) => Some(v),
        _ => None,
    }
}

/// Registers rhei's functions on a connection.
///
/// # Errors
/// SQLite refuses a registration (out of memory).
/// The storage form of a PostgreSQL text value for a column of type `ty`, computed in Rust: what
/// `translate::convert_expr` makes SQLite compute with these same functions, for callers that
/// convert off the writer thread (snapshot loads).
///
/// # Errors
/// The typed error the SQL function would raise (22P02, 22003, 22001, ...).
pub fn storage_value(ty: crate::catalog::PgType, text: &str) -> Result<Value, EngineError> {
    storage_value_in(ty, text, TimeZone::UTC)
}

/// [`storage_value`] for a session in time zone `zone` (it places a timestamptz written without
/// a zone).
///
/// # Errors
/// As [`storage_value`].
pub fn storage_value_in(ty: crate::catalog::PgType, text: &str, zone: TimeZone) -> Result<Value, EngineError> {
    match stored_as_is(ty, text) {
        Some(value) => Ok(crate::row_chunk::owned(value)),
        None => converted_storage_value(ty, text, zone),
    }
}

/// Appends the storage form of `text` for a column of type `ty` to the row `out` is building
/// ([`storage_value_in`] without an owned value in between for the common cases).
///
/// # Errors
/// As [`storage_value`].
pub fn push_storage_value(
    ty: crate::catalog::PgType,
    text: &str,
    zone: TimeZone,
    out: &mut crate::row_chunk::RowChunk,
) -> Result<(), EngineError> {
    match stored_as_is(ty, text) {
        Some(value) => out.push(value),
        None => out.push(ValueRef::from(&converted_storage_value(ty, text, zone)?)),
    }
    Ok(())
}

/// The storage form of `text` when it needs no conversion but a parse: an integer in range, a
/// date, text, a varchar/char that fits, a numeric already in canonical form. COPY input is
/// nearly always of this kind; `None` sends it through the SQL functions' own conversion,
/// which also produces the errors.
fn stored_as_is(ty: crate::catalog::PgType, text: &str) -> Option<ValueRef<'_>> {
    use crate::catalog::PgType as T;
    let integer = |bits: u32| {
        let i = text.parse::<i64>().ok()?;
        let limit = 1i64 << (bits - 1);
        (bits == 64 || (-limit..limit).contains(&i)).then_some(ValueRef::Integer(i))
    };
    match ty {
        T::Int2 => integer(16),
        T::Int4 => integer(32),
        T::Int8 => integer(64),
        T::Date => parse_date_days(text).map(|days| ValueRef::Integer(days.into())),
        T::Text | T::Varchar(None) | T::Bpchar(None) => Some(ValueRef::Text(text.as_bytes())),
        T::Varchar(Some(n)) | T::Bpchar(Some(n)) if text.len() <= n as usize && !text.ends_with(' ') => {
            Some(ValueRef::Text(text.as_bytes()))
        }
        T::Numeric { precision, scale: Some(scale) }
            if u8::try_from(scale).is_ok_and(|scale| is_canonical_decimal(text, precision, scale)) =>
        {
            Some(ValueRef::Text(text.as_bytes()))
        }
        _ => None,
    }
}

/// Whether `text` is exactly what `format_decimal` makes of its value at `scale` and fits
/// `precision`: an optional minus (not on zero), the integer digits without leading zeros
/// (`0` when there are none), and `scale` fraction digits.
fn is_canonical_decimal(text: &str, precision: Option<u8>, scale: u8) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (int_part, frac_part) = match digits.split_once('.') {
        Some((int_part, frac_part)) if scale > 0 => (int_part, frac_part),
        None if scale == 0 => (digits, ""),
        _ => return false,
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int_part.is_empty() || frac_part.len() != usize::from(scale) || !all_digits(int_part) || !all_digits(frac_part) {
        return false;
    }
    if int_part.len() > 1 && int_part.starts_with('0') {
        return false;
    }
    let zero_int = int_part == "0";
    if digits.len() < text.len() && zero_int && frac_part.bytes().all(|b| b == b'0') {
        return false; // -0 is written 0
    }
    let significant = if zero_int { frac_part.trim_start_matches('0').len() } else { int_part.len() + frac_part.len() };
    // Within the declared precision (which a Decimal128 or Decimal256 holds), or i128's range.
    precision.map_or(significant <= 38, |p| significant <= usize::from(p))
}

fn converted_storage_value(ty: crate::catalog::PgType, text: &str, zone: TimeZone) -> Result<Value, EngineError> {
    converted_storage_value_of(ty, ValueRef::Text(text.as_bytes()), zone)
}

/// The storage form of `value` (text to read, or a storage value already) for a column of
/// type `ty`: the conversion `translate::convert_expr` makes SQLite apply, in Rust.
fn converted_storage_value_of(ty: crate::catalog::PgType, value: ValueRef<'_>, zone: TimeZone) -> Result<Value, EngineError> {
    use crate::catalog::PgType as T;
    let converted = match ty {
        T::Int2 => to_int(value, 16),
        T::Int4 => to_int(value, 32),
        T::Int8 => to_int(value, 64),
        T::Float4 => to_float(value, 32),
        T::Float8 => to_float(value, 64),
        T::Numeric { precision, scale } => to_numeric(value, precision.map(i64::from), scale.map(i64::from)),
        T::Text | T::Varchar(None) | T::Bpchar(None) => return Ok(text_of(value).map_or(Value::Null, Value::Text)),
        T::Varchar(Some(n)) => to_varchar(value, i64::from(n), false, false),
        T::Bpchar(Some(n)) => to_varchar(value, i64::from(n), true, false),
        T::Bool => to_bool(value),
        T::Date => to_date(value),
        T::Timestamp => to_timestamp(value),
        T::Timestamptz => to_timestamptz(value, zone),
        T::Time => to_time(value),
        T::Interval => crate::oltp::intervals::to_interval(value),
        T::Uuid => to_uuid(value),
        T::Inet | T::Cidr => match text_of(value) {
            None => Ok(Value::Null),
            Some(text) => crate::network::canonical(&text, ty.net_kind().unwrap_or(crate::network::NetKind::Inet)).map(Value::Text).map_err(fail),
        },
        T::Bytea => to_bytea(value),
        T::Json => to_json(value, false),
        T::Jsonb => to_json(value, true),
        T::Enum(e) => to_enum(value, &e.def().name, |label| e.def().position(label).is_some()),
        T::Array(element) => return array_storage(value, element.ty(), zone),
    };
    converted.map_err(|e| take_error().unwrap_or_else(|| EngineError::Internal(e.to_string())))
}

/// An array in its storage form (see `PgType::Array`): a JSON array of its elements' storage
/// values, each read by the input rules of `element`. The array arrives as PostgreSQL's text
/// for one (`'{1,2}'`: a literal, COPY), or as a JSON array (a parameter, see
/// `session::sqlite_param`; `ARRAY[...]`, which SQLite builds with `json_array`).
///
/// # Errors
/// A malformed literal or anything not an array (22P02), an element its type refuses, a
/// multidimensional array (0A000).
pub fn array_storage(value: ValueRef<'_>, element: crate::catalog::PgType, zone: TimeZone) -> Result<Value, EngineError> {
    let malformed = || EngineError::MalformedArrayLiteral { value: text_of(value).unwrap_or_default() };
    let multidimensional = || EngineError::unsupported("multidimensional arrays in a column");
    let text = match value {
        ValueRef::Null => return Ok(Value::Null),
        ValueRef::Text(t) => std::str::from_utf8(t).map_err(|_| malformed())?,
        _ => return Err(malformed()),
    };
    // Explicit bounds (`[1:2]={a,b}`, as PostgreSQL writes an array not starting at 1): rhei's
    // arrays start at 1, so only that lower bound is taken.
    let text = match text.trim_start().strip_prefix("[1:").and_then(|rest| rest.split_once("]=")) {
        Some((upper, elements)) if upper.trim().parse::<u32>().is_ok() => elements,
        _ if text.trim_start().starts_with('[') && !text.trim_start().starts_with("[[") && text.contains("]=") => {
            return Err(EngineError::unsupported("arrays with a lower bound other than 1"));
        }
        _ => text,
    };
    let elements: Vec<Value> = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Array(items)) if text.starts_with('[') => items
            .into_iter()
            .map(|item| match item {
                serde_json::Value::Null => Ok(Value::Null),
                serde_json::Value::Bool(b) => Ok(Value::Integer(b.into())),
                serde_json::Value::Number(n) => n.as_i64().map(Value::Integer).or_else(|| n.as_f64().map(Value::Real)).ok_or_else(malformed),
                serde_json::Value::String(s) => Ok(Value::Text(s)),
                serde_json::Value::Array(_) => Err(multidimensional()),
                serde_json::Value::Object(_) => Err(malformed()),
            })
            .collect::<Result<_, _>>()?,
        _ => match crate::value::parse_array_text(text) {
            Some(elements) => elements.into_iter().map(|e| e.map_or(Value::Null, Value::Text)).collect(),
            None if text.trim_start().starts_with("{{") || text.trim_start().starts_with("{ {") => return Err(multidimensional()),
            None => return Err(malformed()),
        },
    };
    let mut stored = Vec::with_capacity(elements.len());
    for e in elements {
        let value = match e {
            Value::Null => Value::Null,
            Value::Text(t) => storage_value_in(element, &t, zone)?,
            other => converted_storage_value_of(element, ValueRef::from(&other), zone)?,
        };
        stored.push(storage_json(value)?);
    }
    Ok(Value::Text(serde_json::Value::Array(stored).to_string()))
}

/// `string_agg(DISTINCT value, separator [ORDER BY ...])`: each distinct non-NULL value once, in
/// the order the rows arrive (the aggregate's ORDER BY), joined by the separator given with it;
/// NULL when there is none.
struct StringAggDistinct;

#[derive(Default)]
struct StringAggState {
    seen: std::collections::HashSet<String>,
    out: Option<String>,
}

impl rusqlite::functions::Aggregate<StringAggState, Option<String>> for StringAggDistinct {
    fn init(&self, _ctx: &mut Context<'_>) -> rusqlite::Result<StringAggState> {
        Ok(StringAggState::default())
    }

    fn step(&self, ctx: &mut Context<'_>, state: &mut StringAggState) -> rusqlite::Result<()> {
        let Some(value) = text_of(ctx.get_raw(0)) else { return Ok(()) };
        if state.seen.contains(&value) {
            return Ok(());
        }
        match state.out.as_mut() {
            None => state.out = Some(value.clone()),
            Some(out) => {
                out.push_str(&text_of(ctx.get_raw(1)).unwrap_or_default());
                out.push_str(&value);
            }
        }
        state.seen.insert(value);
        Ok(())
    }

    fn finalize(&self, _ctx: &mut Context<'_>, state: Option<StringAggState>) -> rusqlite::Result<Option<String>> {
        Ok(state.and_then(|s| s.out))
    }
}

/// A storage value as an element of the JSON array `json_each` reads back for `= ANY`
/// (numbers stay numbers, so they meet stored numbers; bytea has no JSON form).
///
/// # Errors
/// A blob (0A000).
pub fn storage_json(value: Value) -> Result<serde_json::Value, EngineError> {
    Ok(match value {
        Value::Null => serde_json::Value::Null,
        Value::Integer(i) => serde_json::Value::from(i),
        Value::Real(f) if f.is_finite() => serde_json::Value::from(f),
        // JSON has no such numbers (serde_json would make them null): PostgreSQL's text.
        Value::Real(f) => serde_json::Value::String(crate::value::format_float8(f)),
        Value::Text(t) => serde_json::Value::String(t),
        Value::Blob(_) => return Err(EngineError::unsupported("bytea arrays")),
    })
}

/// `stddev`, `variance` and their `_samp`/`_pop` forms, which SQLite lacks: Welford's running
/// mean and sum of squared deviations, in double precision (as DataFusion computes them).
struct Spread {
    sample: bool,
    root: bool,
}

#[derive(Default)]
struct Moments {
    n: u64,
    mean: f64,
    squares: f64,
}

impl rusqlite::functions::Aggregate<Moments, Option<f64>> for Spread {
    fn init(&self, _ctx: &mut Context<'_>) -> rusqlite::Result<Moments> {
        Ok(Moments::default())
    }

    fn step(&self, ctx: &mut Context<'_>, state: &mut Moments) -> rusqlite::Result<()> {
        let value = ctx.get_raw(0);
        if matches!(value, ValueRef::Null) {
            return Ok(());
        }
        let x = f64_of(value).ok_or_else(|| invalid("double precision", value))?;
        state.n += 1;
        let delta = x - state.mean;
        state.mean += delta / state.n as f64;
        state.squares += delta * (x - state.mean);
        Ok(())
    }

    fn finalize(&self, _ctx: &mut Context<'_>, state: Option<Moments>) -> rusqlite::Result<Option<f64>> {
        let Some(state) = state else { return Ok(None) };
        // A sample needs two values, a population one (PostgreSQL answers NULL otherwise).
        let divisor = if self.sample { state.n.checked_sub(1) } else { Some(state.n) };
        let variance = match divisor {
            Some(d) if d > 0 => (state.squares / d as f64).max(0.0),
            _ => return Ok(None),
        };
        Ok(Some(if self.root { variance.sqrt() } else { variance }))
    }
}

/// A stored value as PostgreSQL puts it into JSON, by the type `tag` the translation found for
/// it (`translate::json_tag`): numbers bare, booleans as true/false, dates and times as ISO
/// 8601 strings, json and jsonb as they are, text quoted; `unknown` goes by SQLite's own type.
fn json_fragment(value: ValueRef<'_>, tag: &str, zone: TimeZone) -> Result<String, EngineError> {
    use crate::json::{datetime_text, quoted};
    let float = |f: f64| if f.is_finite() { format_float8(f) } else { quoted(&format_float8(f)) };
    Ok(match (value, tag) {
        (ValueRef::Null, _) => "null".into(),
        (ValueRef::Integer(b), "bool") => (if b != 0 { "true" } else { "false" }).into(),
        (ValueRef::Integer(d), "date") => datetime_text(&crate::value::format_date(d)),
        (ValueRef::Integer(t), "timestamp") => datetime_text(&crate::value::format_timestamp(t)),
        (ValueRef::Integer(t), "timestamptz") => datetime_text(&crate::value::format_timestamptz_in(t, zone)),
        (ValueRef::Integer(t), "time") => datetime_text(&crate::value::format_time(t)),
        (ValueRef::Real(f), "float4") => {
            let f = f as f32;
            if f.is_finite() { format_float4(f) } else { quoted(&format_float4(f)) }
        }
        (ValueRef::Integer(i), "number" | "float4" | "unknown") => i.to_string(),
        (ValueRef::Real(f), "number" | "unknown") => float(f),
        (ValueRef::Text(t), "json" | "jsonb") => String::from_utf8_lossy(t).into_owned(),
        (ValueRef::Integer(_) | ValueRef::Real(_), numeric) if numeric.starts_with("numeric:") => {
            let scale: usize = numeric["numeric:".len()..].parse().unwrap_or(0);
            format!("{:.scale$}", f64_of(value).unwrap_or_default())
        }
        // A numeric kept as text is a number as written.
        (ValueRef::Text(t), numeric) if numeric == "number" || numeric.starts_with("numeric:") => {
            let text = String::from_utf8_lossy(t);
            match crate::json::parse(&text, "json") {
                Ok(crate::json::Json { kind: crate::json::Kind::Number(_), .. }) => text.into_owned(),
                _ => quoted(&text),
            }
        }
        (ValueRef::Blob(b), _) => quoted(&format!("\\x{}", b.iter().map(|byte| format!("{byte:02x}")).collect::<String>())),
        (v, _) => quoted(&text_of(v).unwrap_or_default()),
    })
}

fn json_fragment_arg(ctx: &Context<'_>, value: usize) -> rusqlite::Result<String> {
    let tag = text_of(ctx.get_raw(value + 1)).unwrap_or_else(|| "unknown".into());
    json_fragment(ctx.get_raw(value), &tag, arg_zone(ctx, value + 2)?).map_err(fail)
}

/// `json[b]_build_object(key, fragment, ...)` (the values made fragments by the translation);
/// `row`: `rhei_row_to_json`, the translation's form of `row_to_json(t)`.
fn build_object(ctx: &Context<'_>, jsonb: bool, row: bool) -> FnResult {
    if ctx.len() % 2 != 0 {
        return Err(fail(crate::json::odd_arguments()));
    }
    let mut members = Vec::with_capacity(ctx.len() / 2);
    for pair in 0..ctx.len() / 2 {
        let key = text_of(ctx.get_raw(2 * pair)).ok_or_else(|| fail(crate::json::null_key(2 * pair + 1)))?;
        members.push((key, text_of(ctx.get_raw(2 * pair + 1)).unwrap_or_else(|| "null".into())));
    }
    let members = members.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    if row {
        return crate::json::row_object_or_null(members.collect(), jsonb).map(|o| o.map_or(Value::Null, Value::Text)).map_err(fail);
    }
    crate::json::build_object(members, jsonb).map(Value::Text).map_err(fail)
}

fn build_array(ctx: &Context<'_>, jsonb: bool) -> FnResult {
    let values: Vec<String> = (0..ctx.len()).map(|i| text_of(ctx.get_raw(i)).unwrap_or_else(|| "null".into())).collect();
    crate::json::build_array(values.iter().map(String::as_str), jsonb).map(Value::Text).map_err(fail)
}

/// `json_agg(fragment)` / `jsonb_agg(fragment)`: NULL over no rows; `rows`: `rhei_json_agg_rows`,
/// the translation's form of `json_agg(t)`.
struct JsonAgg {
    jsonb: bool,
    rows: bool,
}

impl rusqlite::functions::Aggregate<Vec<String>, Option<String>> for JsonAgg {
    fn init(&self, _ctx: &mut Context<'_>) -> rusqlite::Result<Vec<String>> {
        Ok(Vec::new())
    }

    fn step(&self, ctx: &mut Context<'_>, values: &mut Vec<String>) -> rusqlite::Result<()> {
        values.push(text_of(ctx.get_raw(0)).unwrap_or_else(|| "null".into()));
        Ok(())
    }

    fn finalize(&self, _ctx: &mut Context<'_>, values: Option<Vec<String>>) -> rusqlite::Result<Option<String>> {
        values
            .map(|values| match self.rows {
                true => Ok(crate::json::rows_array(values.iter().map(String::as_str))),
                false => crate::json::build_array(values.iter().map(String::as_str), self.jsonb),
            })
            .transpose()
            .map_err(fail)
    }
}

/// `json_object_agg(key, fragment)` / `jsonb_object_agg(key, fragment)`: NULL over no rows.
struct JsonObjectAgg {
    jsonb: bool,
}

impl rusqlite::functions::Aggregate<Vec<(String, String)>, Option<String>> for JsonObjectAgg {
    fn init(&self, _ctx: &mut Context<'_>) -> rusqlite::Result<Vec<(String, String)>> {
        Ok(Vec::new())
    }

    fn step(&self, ctx: &mut Context<'_>, members: &mut Vec<(String, String)>) -> rusqlite::Result<()> {
        let key = text_of(ctx.get_raw(0)).ok_or_else(|| fail(crate::json::null_field_name()))?;
        members.push((key, text_of(ctx.get_raw(1)).unwrap_or_else(|| "null".into())));
        Ok(())
    }

    fn finalize(&self, _ctx: &mut Context<'_>, members: Option<Vec<(String, String)>>) -> rusqlite::Result<Option<String>> {
        members
            .map(|members| crate::json::object_agg(members.iter().map(|(k, v)| (k.as_str(), v.as_str())), self.jsonb))
            .transpose()
            .map_err(fail)
    }
}

pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    let pure = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_aggregate_function("rhei_string_agg_distinct", 2, pure, StringAggDistinct)?;
    crate::oltp::intervals::register(conn, pure)?;
    crate::oltp::arrays::register(conn, pure)?;
    crate::oltp::network::register(conn, pure)?;
    crate::oltp::numeric_ops::register(conn, pure)?;
    for (name, sample, root) in [
        ("stddev", true, true),
        ("stddev_samp", true, true),
        ("stddev_pop", false, true),
        ("variance", true, false),
        ("var_samp", true, false),
        ("var_pop", false, false),
    ] {
        conn.create_aggregate_function(name, 1, pure, Spread { sample, root })?;
    }
    for (name, jsonb, rows) in [("json_agg", false, false), ("jsonb_agg", true, false), ("rhei_json_agg_rows", false, true)] {
        conn.create_aggregate_function(name, 1, pure, JsonAgg { jsonb, rows })?;
    }
    for (name, jsonb) in [("json_object_agg", false), ("jsonb_object_agg", true)] {
        conn.create_aggregate_function(name, 2, pure, JsonObjectAgg { jsonb })?;
    }
    // SQLite's math functions have no cube root (PostgreSQL's cbrt, and `||/`).
    conn.create_scalar_function("rhei_round_timestamp", 2, pure, |ctx| match (ctx.get_raw(0), ctx.get_raw(1)) {
        (ValueRef::Integer(micros), ValueRef::Integer(digits)) => Ok(Value::Integer(crate::value::round_micros(micros, digits))),
        _ => Ok(Value::Null),
    })?;
    conn.create_scalar_function("rhei_round_time", 2, pure, |ctx| match (ctx.get_raw(0), ctx.get_raw(1)) {
        (ValueRef::Integer(micros), ValueRef::Integer(digits)) => Ok(Value::Integer(crate::value::round_time_micros(micros, digits))),
        _ => Ok(Value::Null),
    })?;
    conn.create_scalar_function("rhei_rint", 1, pure, |ctx| Ok(f64_of(ctx.get_raw(0)).map_or(Value::Null, |f| Value::Real(f.round_ties_even()))))?;
    conn.create_scalar_function("bit_length", 1, pure, |ctx| {
        Ok(match ctx.get_raw(0) {
            ValueRef::Null => Value::Null,
            ValueRef::Text(bytes) | ValueRef::Blob(bytes) => Value::Integer(bytes.len() as i64 * 8),
            other => Value::Integer(text_of(other).map_or(0, |t| t.len() as i64 * 8)),
        })
    })?;
    conn.create_scalar_function("rhei_math_domain", 2, pure, |ctx| {
        let value = ctx.get_raw(0);
        if let Some(x) = f64_of(value) {
            crate::value::check_math_domain(x, &text_of(ctx.get_raw(1)).unwrap_or_default()).map_err(fail)?;
        }
        Ok(owned(value))
    })?;
    conn.create_scalar_function("width_bucket", 4, pure, |ctx| {
        // Each number as its text: a double's shortest, exact text as it is.
        let text = |i: usize| match ctx.get_raw(i) {
            ValueRef::Real(f) => Some(format!("{f}")),
            other => text_of(other),
        };
        match (text(0), text(1), text(2), arg_i64(ctx, 3)) {
            (Some(operand), Some(low), Some(high), Some(count)) => {
                crate::value::width_bucket(&operand, &low, &high, count).map(|b| Value::Integer(i64::from(b))).map_err(fail)
            }
            _ => Ok(Value::Null),
        }
    })?;
    conn.create_scalar_function("rhei_to_hex", 2, pure, |ctx| {
        Ok(match (ctx.get_raw(0), arg_i64(ctx, 1)) {
            (ValueRef::Integer(v), Some(bits)) => Value::Text(crate::value::to_hex(v, bits)),
            _ => Value::Null,
        })
    })?;
    conn.create_scalar_function("cbrt", 1, pure, |ctx| Ok(f64_of(ctx.get_raw(0)).map_or(Value::Null, |f| Value::Real(f.cbrt()))))?;
    conn.create_scalar_function("rhei_json_value", 3, pure, |ctx| json_fragment_arg(ctx, 0).map(Value::Text))?;
    for (name, jsonb) in [("to_json", false), ("to_jsonb", true)] {
        conn.create_scalar_function(name, 3, pure, move |ctx| match ctx.get_raw(0) {
            ValueRef::Null => Ok(Value::Null),
            _ => {
                let fragment = json_fragment_arg(ctx, 0)?;
                if jsonb { crate::json::normalize_jsonb(&fragment).map(Value::Text).map_err(fail) } else { Ok(Value::Text(fragment)) }
            }
        })?;
    }
    for (name, jsonb, row) in [("json_build_object", false, false), ("jsonb_build_object", true, false), ("rhei_row_to_json", false, true), ("rhei_row_to_jsonb", true, true)] {
        conn.create_scalar_function(name, -1, pure, move |ctx| build_object(ctx, jsonb, row))?;
    }
    for (name, jsonb) in [("json_build_array", false), ("jsonb_build_array", true)] {
        conn.create_scalar_function(name, -1, pure, move |ctx| build_array(ctx, jsonb))?;
    }
    conn.create_scalar_function("rhei_int", 2, pure, |ctx| to_int(ctx.get_raw(0), arg_i64(ctx, 1).unwrap_or(64)))?;
    conn.create_scalar_function("rhei_float", 2, pure, |ctx| {
        to_float(ctx.get_raw(0), arg_i64(ctx, 1).unwrap_or(64))
    })?;
    conn.create_scalar_function("rhei_numeric", 3, pure, |ctx| {
        to_numeric(ctx.get_raw(0), arg_i64(ctx, 1), arg_i64(ctx, 2))
    })?;
    // A fourth argument: the value is stored into a column (`translate::assign_expr`).
    conn.create_scalar_function("rhei_numeric", 4, pure, |ctx| {
        let value = to_numeric(ctx.get_raw(0), arg_i64(ctx, 1), arg_i64(ctx, 2))?;
        if let Value::Text(text) = &value
            && arg_i64(ctx, 2).is_none()
        {
            check_unconstrained_numeric(text).map_err(fail)?;
        }
        Ok(value)
    })?;
    // Two arguments: assignment; a third (1): an explicit cast, which truncates.
    for arity in [2, 3] {
        conn.create_scalar_function("rhei_varchar", arity, pure, |ctx| {
            let truncate = ctx.len() == 3 && arg_i64(ctx, 2) == Some(1);
            to_varchar(ctx.get_raw(0), arg_i64(ctx, 1).unwrap_or(i64::MAX), false, truncate)
        })?;
        conn.create_scalar_function("rhei_bpchar", arity, pure, |ctx| {
            let truncate = ctx.len() == 3 && arg_i64(ctx, 2) == Some(1);
            to_varchar(ctx.get_raw(0), arg_i64(ctx, 1).unwrap_or(i64::MAX), true, truncate)
        })?;
    }
    conn.create_scalar_function("rhei_bool", 1, pure, |ctx| to_bool(ctx.get_raw(0)))?;
    conn.create_scalar_function("rhei_enum", -1, pure, |ctx| {
        if ctx.len() < 2 {
            return Err(fail(EngineError::UndefinedFunction { name: "rhei_enum() with fewer than 2 arguments".into() }));
        }
        let type_name = ctx.get_raw(1).as_str().unwrap_or_default();
        to_enum(ctx.get_raw(0), type_name, |label| (2..ctx.len()).any(|i| ctx.get_raw(i).as_str().is_ok_and(|l| l == label)))
    })?;
    conn.create_scalar_function("rhei_date", 1, pure, |ctx| to_date(ctx.get_raw(0)))?;
    conn.create_scalar_function("rhei_ts", 1, pure, |ctx| to_timestamp(ctx.get_raw(0)))?;
    conn.create_scalar_function("rhei_time", 1, pure, |ctx| to_time(ctx.get_raw(0)))?;
    conn.create_scalar_function("rhei_time_of_day", 1, pure, |ctx| time_of_day(ctx.get_raw(0)))?;
    conn.create_scalar_function("rhei_tstz", 2, pure, |ctx| to_timestamptz(ctx.get_raw(0), arg_zone(ctx, 1)?))?;
    // A timestamptz's wall-clock time in a zone, and back (casts between timestamptz and
    // timestamp or date).
    conn.create_scalar_function("rhei_local", 2, pure, |ctx| match ctx.get_raw(0) {
        ValueRef::Integer(utc) => Ok(Value::Integer(arg_zone(ctx, 1)?.local(utc))),
        _ => Ok(Value::Null),
    })?;
    conn.create_scalar_function("rhei_utc", 2, pure, |ctx| match ctx.get_raw(0) {
        ValueRef::Integer(local) => Ok(Value::Integer(arg_zone(ctx, 1)?.utc(local))),
        _ => Ok(Value::Null),
    })?;
    conn.create_scalar_function("rhei_uuid", 1, pure, |ctx| to_uuid(ctx.get_raw(0)))?;
    // `rhei_array_in(value, element type, zone)`: a value stored into an array column.
    conn.create_scalar_function("rhei_array_in", 3, pure, |ctx| {
        let element = text_of(ctx.get_raw(1)).and_then(|name| crate::catalog::PgType::from_pg_name(&name));
        let element = element.ok_or_else(|| fail(EngineError::Internal(format!("not an element type: {:?}", ctx.get_raw(1)))))?;
        array_storage(ctx.get_raw(0), element, arg_zone(ctx, 2)?).map_err(fail)
    })?;
    // to_date(text, pattern) as a day number, to_timestamp(text, pattern) as microseconds of the
    // instant its wall-clock time names in the session's zone (see `datetime_input`).
    conn.create_scalar_function("rhei_to_date", 2, pure, |ctx| {
        let (Some(text), Some(pattern)) = (text_of(ctx.get_raw(0)), text_of(ctx.get_raw(1))) else { return Ok(Value::Null) };
        crate::datetime_input::to_date(&text, &pattern).map(Value::Integer).map_err(fail)
    })?;
    conn.create_scalar_function("rhei_to_timestamp", 3, pure, |ctx| {
        let (Some(text), Some(pattern)) = (text_of(ctx.get_raw(0)), text_of(ctx.get_raw(1))) else { return Ok(Value::Null) };
        let local = crate::datetime_input::to_timestamp_local(&text, &pattern).map_err(fail)?;
        Ok(Value::Integer(arg_zone(ctx, 2)?.utc(local)))
    })?;
    // to_timestamp(seconds since 1970), rounded to the microsecond.
    conn.create_scalar_function("rhei_epoch_timestamp", 1, pure, |ctx| {
        let Some(seconds) = f64_of(ctx.get_raw(0)) else { return Ok(Value::Null) };
        let micros = (seconds * 1_000_000.0).round();
        // rhei has no infinite timestamps; NaN and values past 294276 AD fail as in PostgreSQL.
        if !micros.is_finite() || micros.abs() > 9.2e18 {
            return Err(fail(EngineError::DatetimeFieldOverflow { value: crate::value::format_float8(seconds) }));
        }
        Ok(Value::Integer(micros as i64))
    })?;
    conn.create_scalar_function("rhei_bytea", 1, pure, |ctx| to_bytea(ctx.get_raw(0)))?;
    register_bytea(conn, pure)?;
    conn.create_scalar_function("rhei_json", 1, pure, |ctx| to_json(ctx.get_raw(0), false))?;
    // `rhei_json_items(a)`: SQLite's array of JSON texts (a JSON array of strings, as
    // `array_agg` gathers them) as one JSON array of the values (see `olap::udf::JsonItems`).
    conn.create_scalar_function("rhei_json_items", 1, pure, |ctx| {
        let Some(text) = text_of(ctx.get_raw(0)) else { return Ok(Value::Null) };
        let items: Vec<serde_json::Value> = serde_json::from_str(&text).map_err(|e| fail(EngineError::Internal(format!("not an array of JSON values: {e}"))))?;
        let items: Vec<String> = items
            .into_iter()
            .map(|item| match item {
                serde_json::Value::String(json) => json,
                serde_json::Value::Null => "null".into(),
                other => other.to_string(),
            })
            .collect();
        Ok(Value::Text(crate::json::items_array(&items)))
    })?;
    conn.create_scalar_function("rhei_jsonb", 1, pure, |ctx| to_json(ctx.get_raw(0), true))?;
    conn.create_scalar_function("rhei_json_get", 2, pure, |ctx| json_get(ctx, false))?;
    conn.create_scalar_function("rhei_json_get_text", 2, pure, |ctx| json_get(ctx, true))?;
    conn.create_scalar_function("rhei_json_path", 2, pure, |ctx| json_path(ctx, false))?;
    conn.create_scalar_function("rhei_json_path_text", 2, pure, |ctx| json_path(ctx, true))?;
    conn.create_scalar_function("rhei_jsonb_contains", 2, pure, |ctx| json_predicate(ctx, crate::json::contains))?;
    conn.create_scalar_function("rhei_jsonb_exists", 2, pure, |ctx| json_predicate(ctx, crate::json::exists))?;
    conn.create_scalar_function("rhei_jsonb_concat", 2, pure, |ctx| {
        let (Some(a), Some(b)) = (json_arg(ctx, 0), json_arg(ctx, 1)) else { return Ok(Value::Null) };
        crate::json::concat(&a, &b).map(Value::Text).map_err(fail)
    })?;
    for (name, all) in [("rhei_jsonb_exists_any", false), ("rhei_jsonb_exists_all", true)] {
        conn.create_scalar_function(name, -1, pure, move |ctx| {
            let Some(doc) = json_arg(ctx, 0) else { return Ok(Value::Null) };
            // NULL keys are left out, as PostgreSQL leaves out NULL elements of the array.
            let keys: Vec<String> = (1..ctx.len()).filter_map(|i| json_arg(ctx, i)).collect();
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            crate::json::exists_keys(&doc, &keys, all).map(|found| Value::Integer(i64::from(found))).map_err(fail)
        })?;
    }
    conn.create_scalar_function("rhei_jsonb_delete_path", 2, pure, |ctx| {
        let (Some(doc), Some(path)) = (json_arg(ctx, 0), json_arg(ctx, 1)) else { return Ok(Value::Null) };
        json_edit(&doc, &path, crate::json::PathEdit::Delete)
    })?;
    for (name, inserts) in [("jsonb_set", false), ("jsonb_insert", true)] {
        conn.create_scalar_function(name, -1, pure, move |ctx| {
            if !(3..=4).contains(&ctx.len()) {
                return Err(fail(EngineError::UndefinedFunction { name: format!("{name} with {} arguments", ctx.len()) }));
            }
            let (Some(doc), Some(path), Some(value)) = (json_arg(ctx, 0), json_arg(ctx, 1), json_arg(ctx, 2)) else { return Ok(Value::Null) };
            let flag = match ctx.len() {
                4 => match ctx.get_raw(3) {
                    ValueRef::Null => return Ok(Value::Null),
                    ValueRef::Integer(i) => Some(i != 0),
                    other => return Err(fail(EngineError::Internal(format!("{name}'s last argument is {:?}", other.data_type())))),
                },
                _ => None,
            };
            json_edit(&doc, &path, crate::json::PathEdit::set_or_insert(inserts, &value, flag))
        })?;
    }
    // Functions of one document that write it anew.
    type Rewrite = fn(&str) -> std::result::Result<String, crate::error::EngineError>;
    let rewrites: [(&str, Rewrite); 3] = [
        ("jsonb_strip_nulls", crate::json::strip_nulls),
        ("json_strip_nulls", crate::json::strip_nulls_json),
        ("jsonb_pretty", crate::json::pretty),
    ];
    for (name, rewrite) in rewrites {
        conn.create_scalar_function(name, 1, pure, move |ctx| {
            let Some(doc) = json_arg(ctx, 0) else { return Ok(Value::Null) };
            rewrite(&doc).map(Value::Text).map_err(fail)
        })?;
    }
    conn.create_scalar_function("rhei_jsonb_delete", 2, pure, |ctx| {
        let Some(doc) = json_arg(ctx, 0) else { return Ok(Value::Null) };
        let deleted = match ctx.get_raw(1) {
            ValueRef::Null => return Ok(Value::Null),
            ValueRef::Integer(i) => crate::json::delete(&doc, crate::json::Key::Index(i)),
            key => crate::json::delete(&doc, crate::json::Key::Field(&text_of(key).unwrap_or_default())),
        };
        deleted.map(Value::Text).map_err(fail)
    })?;
    for (name, as_text) in
        [("jsonb_extract_path", false), ("json_extract_path", false), ("jsonb_extract_path_text", true), ("json_extract_path_text", true)]
    {
        conn.create_scalar_function(name, -1, pure, move |ctx| json_extract_path(ctx, as_text))?;
    }
    for name in ["jsonb_typeof", "json_typeof"] {
        conn.create_scalar_function(name, 1, pure, |ctx| match json_arg(ctx, 0) {
            None => Ok(Value::Null),
            Some(doc) => crate::json::type_of(&doc).map(|t| Value::Text(t.into())).map_err(fail),
        })?;
    }
    for name in ["jsonb_array_length", "json_array_length"] {
        conn.create_scalar_function(name, 1, pure, |ctx| match json_arg(ctx, 0) {
            None => Ok(Value::Null),
            Some(doc) => crate::json::array_length(&doc).map(Value::Integer).map_err(fail),
        })?;
    }
    conn.create_scalar_function("rhei_mod", 2, pure, |ctx| modulo(ctx.get_raw(0), ctx.get_raw(1)))?;
    // An array value for `x = ANY (...)` as a JSON array for json_each: a parameter arrives
    // as JSON already (see `session::sqlite_param`), a literal as PostgreSQL's `{...}` text.
    // `rhei_array_json(array, element type, zone)`: the elements of a literal are read with
    // the input rules of the element type (the array's cast, else the compared value's type),
    // so they meet stored values as stored values; with no type known, one that reads as a
    // number is a number.
    conn.create_scalar_function("rhei_array_json", 3, pure, |ctx| match ctx.get_raw(0) {
        ValueRef::Null => Ok(Value::Null),
        ValueRef::Text(t) if t.first() == Some(&b'[') => Ok(Value::Text(String::from_utf8_lossy(t).into_owned())),
        value @ ValueRef::Text(t) => {
            let elements = crate::value::parse_array_text(&String::from_utf8_lossy(t)).ok_or_else(|| fail(EngineError::MalformedArrayLiteral { value: text_of(value).unwrap_or_default() }))?;
            let element_type = text_of(ctx.get_raw(1)).and_then(|name| crate::catalog::PgType::from_pg_name(&name));
            let zone = arg_zone(ctx, 2)?;
            let mut json = Vec::with_capacity(elements.len());
            for element in elements {
                let Some(text) = element else {
                    json.push(serde_json::Value::Null);
                    continue;
                };
                let stored = match element_type {
                    Some(ty) => storage_value_in(ty, &text, zone).map_err(fail)?,
                    None => match text.trim().parse::<i64>() {
                        Ok(i) => Value::Integer(i),
                        Err(_) => text.trim().parse::<f64>().ok().filter(|f| f.is_finite()).map_or(Value::Text(text), Value::Real),
                    },
                };
                json.push(storage_json(stored).map_err(fail)?);
            }
            Ok(Value::Text(serde_json::Value::Array(json).to_string()))
        }
        other => Err(fail(EngineError::MalformedArrayLiteral { value: text_of(other).unwrap_or_default() })),
    })?;
    // PostgreSQL's `#`, which SQLite lacks.
    conn.create_scalar_function("rhei_bitxor", 2, pure, |ctx| match (ctx.get_raw(0), ctx.get_raw(1)) {
        (ValueRef::Null, _) | (_, ValueRef::Null) => Ok(Value::Null),
        (ValueRef::Integer(a), ValueRef::Integer(b)) => Ok(Value::Integer(a ^ b)),
        (ValueRef::Integer(_), other) | (other, _) => Err(invalid("bigint", other)),
    })?;
    conn.create_scalar_function("rhei_not_null", 3, pure, |ctx| match ctx.get_raw(0) {
        ValueRef::Null => Err(fail(EngineError::NotNullViolation {
            table: text_of(ctx.get_raw(1)).unwrap_or_default(),
            column: text_of(ctx.get_raw(2)).unwrap_or_default(),
        })),
        value => Value::try_from(value).map_err(|e| SqlError::UserFunctionError(Box::new(e))),
    })?;
    // Not deterministic: SQLite would evaluate a constant call once before the first row,
    // and an INSERT ... SELECT of no rows must not fail.
    conn.create_scalar_function("rhei_missing_value", 2, FunctionFlags::SQLITE_UTF8, |ctx| -> rusqlite::Result<Value> {
        Err(fail(EngineError::NotNullViolation { table: text_of(ctx.get_raw(0)).unwrap_or_default(), column: text_of(ctx.get_raw(1)).unwrap_or_default() }))
    })?;
    // Not deterministic either: it fails only where a row evaluates it (`olap::udf::UndefinedSetting`).
    conn.create_scalar_function(crate::session_values::UNDEFINED_SETTING, 1, FunctionFlags::SQLITE_UTF8, |ctx| -> rusqlite::Result<Value> {
        Err(fail(EngineError::UndefinedParameter { name: text_of(ctx.get_raw(0)).unwrap_or_default() }))
    })?;
    conn.create_scalar_function("rhei_divisor", 1, pure, |ctx| divisor(ctx.get_raw(0)))?;
    conn.create_scalar_function("rhei_row_count", 2, pure, |ctx| row_count(ctx.get_raw(0), arg_i64(ctx, 1) == Some(1)))?;
    // A scalar subquery's value beside its row count (translate::refuse_second_row).
    conn.create_scalar_function("rhei_single_row", 2, pure, |ctx| {
        if arg_i64(ctx, 1).is_some_and(|rows| rows > 1) {
            return Err(fail(EngineError::SubqueryReturnedRows));
        }
        Value::try_from(ctx.get_raw(0)).map_err(|e| SqlError::UserFunctionError(Box::new(e)))
    })?;
    // A target row two source rows of a MERGE act on (translate::merge::check_sql).
    conn.create_scalar_function("rhei_merge_target_once", 1, pure, |_| -> rusqlite::Result<Value> { Err(fail(EngineError::MergeAffectsRowTwice)) })?;
    conn.create_scalar_function("date_part", 2, pure, |ctx| date_part(ctx.get_raw(0), ctx.get_raw(1)))?;
    // extract() (see `translate`): date_part's fields; the third argument, its numeric's
    // places, is for the translation to read.
    conn.create_scalar_function("rhei_extract", 3, pure, |ctx| date_part(ctx.get_raw(0), ctx.get_raw(1)))?;
    conn.create_scalar_function("strpos", 2, pure, |ctx| strpos(ctx.get_raw(0), ctx.get_raw(1)))?;
    // `x [NOT] [I]LIKE ANY (array)`, the array as rhei_array_json gives it (crate::like).
    conn.create_scalar_function("rhei_like_any", 3, pure, |ctx| {
        let ValueRef::Text(json) = ctx.get_raw(1) else { return Ok(Value::Null) };
        let patterns: Vec<serde_json::Value> = serde_json::from_slice(json).map_err(|e| SqlError::UserFunctionError(Box::new(e)))?;
        let patterns: Vec<Option<String>> = patterns
            .into_iter()
            .map(|p| match p {
                serde_json::Value::Null => None,
                serde_json::Value::String(s) => Some(s),
                other => Some(other.to_string()),
            })
            .collect();
        let value = text_of(ctx.get_raw(0));
        let answer = crate::like::any(value.as_deref(), patterns.iter().map(Option::as_deref), arg_i64(ctx, 2).unwrap_or(0));
        Ok(answer.map_or(Value::Null, |b| Value::Integer(i64::from(b))))
    })?;
    conn.create_scalar_function("rhei_text", 3, pure, |ctx| {
        let tag = text_of(ctx.get_raw(1)).unwrap_or_default();
        to_text(ctx.get_raw(0), &tag, arg_zone(ctx, 2)?)
    })?;
    conn.create_scalar_function("rhei_days", 1, pure, |ctx| days_of(ctx.get_raw(0)))?;
    conn.create_scalar_function("rhei_to_char", 3, pure, |ctx| {
        let (ValueRef::Integer(micros), Some(pattern)) = (ctx.get_raw(0), text_of(ctx.get_raw(1))) else {
            return Ok(Value::Null);
        };
        let text = match ctx.get_raw(2) {
            ValueRef::Null => crate::value::to_char_datetime(micros, None, None, &pattern),
            _ => {
                let zone = arg_zone(ctx, 2)?;
                let (offset, abbreviation) = (zone.offset_at(micros), zone.abbreviation_at(micros));
                crate::value::to_char_datetime(zone.local(micros), Some(offset.into()), abbreviation.as_deref(), &pattern)
            }
        };
        Ok(Value::Text(text))
    })?;
    // Two names for one function, so the translator can tell a timestamptz sum from a
    // timestamp one when it meets its own output again (`now() - interval '1 day' - ...`).
    for name in ["rhei_tstz_add", "rhei_ts_add"] {
        conn.create_scalar_function(name, 5, pure, |ctx| {
            let interval = crate::value::Interval {
                months: arg_i64(ctx, 1).unwrap_or(0),
                days: arg_i64(ctx, 2).unwrap_or(0),
                micros: arg_i64(ctx, 3).unwrap_or(0),
            };
            add_interval(ctx.get_raw(0), interval, arg_zone(ctx, 4)?)
        })?;
    }
    conn.create_scalar_function("date_trunc", 2, pure, |ctx| date_trunc(ctx.get_raw(0), ctx.get_raw(1)))?;
    // factorial(n): exact, as numeric in PostgreSQL (an integer here while it fits in one).
    conn.create_scalar_function("factorial", 1, pure, |ctx| match ctx.get_raw(0) {
        ValueRef::Null => Ok(Value::Null),
        ValueRef::Integer(n) => {
            let product = crate::numeric_math::factorial(n).map_err(fail)?;
            Ok(num_traits::ToPrimitive::to_i64(&product).map_or_else(|| Value::Text(product.to_string()), Value::Integer))
        }
        other => Err(fail(EngineError::InvalidTextRepresentation { type_name: "bigint".into(), value: text_of(other).unwrap_or_default() })),
    })?;
    conn.create_scalar_function("left", 2, pure, |ctx| take_chars(ctx.get_raw(0), ctx.get_raw(1), true))?;
    conn.create_scalar_function("right", 2, pure, |ctx| take_chars(ctx.get_raw(0), ctx.get_raw(1), false))?;
    conn.create_scalar_function("lpad", 2, pure, |ctx| pad(ctx.get_raw(0), ctx.get_raw(1), None, true))?;
    conn.create_scalar_function("lpad", 3, pure, |ctx| pad(ctx.get_raw(0), ctx.get_raw(1), Some(ctx.get_raw(2)), true))?;
    conn.create_scalar_function("rpad", 2, pure, |ctx| pad(ctx.get_raw(0), ctx.get_raw(1), None, false))?;
    conn.create_scalar_function("rpad", 3, pure, |ctx| pad(ctx.get_raw(0), ctx.get_raw(1), Some(ctx.get_raw(2)), false))?;
    conn.create_scalar_function("make_date", 3, pure, |ctx| match (ctx.get_raw(0), ctx.get_raw(1), ctx.get_raw(2)) {
        (ValueRef::Integer(y), ValueRef::Integer(m), ValueRef::Integer(d)) => crate::value::make_date_days(y, m, d)
            .map(Value::Integer)
            .ok_or_else(|| fail(EngineError::DatetimeFieldOverflow { value: format!("{y}-{m:02}-{d:02}") })),
        _ => Ok(Value::Null),
    })?;
    // make_timestamp(year, month, day, hour, min, sec) as microseconds; rhei_make_timestamptz
    // with a seventh argument, the zone the wall-clock time is in: the session's (seconds or
    // a name, see `translate::zone_argument`) or one the call names.
    // make_time(hour, min, sec) likewise, microseconds since midnight.
    for (name, arity) in [("make_time", 3), ("make_timestamp", 6), ("rhei_make_timestamptz", 7)] {
        conn.create_scalar_function(name, arity, pure, move |ctx| {
            // The fields are integers (PostgreSQL has no make_timestamp of other numbers), the
            // seconds a number; text is read as one, as on DataFusion.
            let integers = if arity == 3 { 2 } else { 5 };
            let mut fields = [0i64; 5];
            for (i, field) in fields.iter_mut().enumerate().take(integers) {
                match ctx.get_raw(i) {
                    ValueRef::Null => return Ok(Value::Null),
                    ValueRef::Integer(n) => *field = n,
                    other => *field = text_of(other).and_then(|t| t.trim().parse().ok()).ok_or_else(|| invalid("integer", other))?,
                }
            }
            let seconds = match ctx.get_raw(integers) {
                ValueRef::Null => return Ok(Value::Null),
                ValueRef::Integer(n) => n as f64,
                ValueRef::Real(f) => f,
                other => text_of(other).and_then(|t| t.trim().parse().ok()).ok_or_else(|| invalid("double precision", other))?,
            };
            if arity == 3 {
                return crate::value::make_time_micros(fields[0], fields[1], seconds).map(Value::Integer).map_err(fail);
            }
            let [year, month, day, hour, min] = fields;
            let local = crate::value::make_timestamp_micros(year, month, day, hour, min, seconds).map_err(fail)?;
            if arity == 6 {
                return Ok(Value::Integer(local));
            }
            let zone = match ctx.get_raw(6) {
                ValueRef::Null => return Ok(Value::Null),
                ValueRef::Integer(_) => arg_zone(ctx, 6)?,
                other => {
                    let text = text_of(other).unwrap_or_default();
                    TimeZone::of_argument(&text).ok_or_else(|| fail(EngineError::UnrecognizedTimeZone { zone: text }))?
                }
            };
            Ok(Value::Integer(zone.utc(local)))
        })?;
    }
    conn.create_scalar_function("md5", 1, pure, |ctx| {
        let digest = match ctx.get_raw(0) {
            ValueRef::Null => return Ok(Value::Null),
            ValueRef::Blob(bytes) => md5::compute(bytes),
            other => md5::compute(text_of(other).unwrap_or_default()),
        };
        Ok(Value::Text(format!("{digest:x}")))
    })?;
    conn.create_scalar_function("initcap", 1, pure, |ctx| map_text(ctx.get_raw(0), initcap))?;
    conn.create_scalar_function("rhei_normalize", 2, pure, |ctx| {
        let (Some(text), Some(form)) = (text_of(ctx.get_raw(0)), text_of(ctx.get_raw(1))) else { return Ok(Value::Null) };
        crate::unicode_text::normalize(&text, &form).map(Value::Text).map_err(fail)
    })?;
    conn.create_scalar_function("unistr", 1, pure, |ctx| {
        let Some(text) = text_of(ctx.get_raw(0)) else { return Ok(Value::Null) };
        crate::unicode_text::unistr(&text).map(Value::Text).map_err(fail)
    })?;
    // SQLite's own change ASCII letters only (`upper('é')` was `é`).
    conn.create_scalar_function("upper", 1, pure, |ctx| map_text(ctx.get_raw(0), |s| each_letter(s, char::to_uppercase)))?;
    conn.create_scalar_function("lower", 1, pure, |ctx| map_text(ctx.get_raw(0), |s| each_letter(s, char::to_lowercase)))?;
    conn.create_scalar_function("reverse", 1, pure, |ctx| map_text(ctx.get_raw(0), |s| s.chars().rev().collect()))?;
    conn.create_scalar_function("quote_literal", 1, pure, |ctx| map_text(ctx.get_raw(0), crate::naming::quote_literal))?;
    conn.create_scalar_function("quote_ident", 1, pure, |ctx| map_text(ctx.get_raw(0), crate::naming::display_ident))?;
    // The translation has made each argument its type's text already (`values_as_text`).
    conn.create_scalar_function("format", -1, pure, |ctx| {
        if ctx.is_empty() {
            return Err(fail(EngineError::UndefinedFunction { name: "format()".into() }));
        }
        let Some(template) = text_of(ctx.get_raw(0)) else { return Ok(Value::Null) };
        let args: Vec<Option<String>> = (1..ctx.len()).map(|i| text_of(ctx.get_raw(i))).collect();
        let args: Vec<Option<&str>> = args.iter().map(Option::as_deref).collect();
        crate::text_format::format(&template, &args).map(Value::Text).map_err(fail)
    })?;
    // A numeric's exact text (SQLite's float of a numeric(p,s) in plain digits).
    conn.create_scalar_function("pg_size_pretty", 1, pure, |ctx| {
        let bytes = match ctx.get_raw(0) {
            ValueRef::Null => return Ok(Value::Null),
            ValueRef::Real(f) => format!("{f}"),
            v => text_of(v).unwrap_or_default(),
        };
        crate::text_format::size_pretty(&bytes).map(Value::Text).map_err(fail)
    })?;
    // translate(s, from, to): each character of `from` becomes the one at its place in `to`,
    // or goes when `to` is shorter.
    conn.create_scalar_function("translate", 3, pure, |ctx| {
        let (Some(from), Some(to)) = (text_of(ctx.get_raw(1)), text_of(ctx.get_raw(2))) else { return Ok(Value::Null) };
        let (from, to): (Vec<char>, Vec<char>) = (from.chars().collect(), to.chars().collect());
        map_text(ctx.get_raw(0), |s| {
            s.chars()
                .filter_map(|c| match from.iter().position(|f| *f == c) {
                    Some(at) => to.get(at).copied(),
                    None => Some(c),
                })
                .collect()
        })
    })?;
    conn.create_scalar_function("btrim", 1, pure, |ctx| map_text(ctx.get_raw(0), |s| s.trim_matches(' ').to_string()))?;
    conn.create_scalar_function("btrim", 2, pure, |ctx| {
        let Some(chars) = text_of(ctx.get_raw(1)) else { return Ok(Value::Null) };
        map_text(ctx.get_raw(0), |s| s.trim_matches(|c| chars.contains(c)).to_string())
    })?;
    conn.create_scalar_function("rhei_substr", 2, pure, |ctx| substring(ctx.get_raw(0), ctx.get_raw(1), None))?;
    conn.create_scalar_function("rhei_substr", 3, pure, |ctx| substring(ctx.get_raw(0), ctx.get_raw(1), Some(ctx.get_raw(2))))?;
    conn.create_scalar_function("split_part", 3, pure, |ctx| split_part(ctx.get_raw(0), ctx.get_raw(1), ctx.get_raw(2)))?;
    conn.create_scalar_function("starts_with", 2, pure, |ctx| match (text_of(ctx.get_raw(0)), text_of(ctx.get_raw(1))) {
        (Some(s), Some(prefix)) => Ok(Value::Integer(i64::from(s.starts_with(prefix.as_str())))),
        _ => Ok(Value::Null),
    })?;
    conn.create_scalar_function("repeat", 2, pure, |ctx| match (text_of(ctx.get_raw(0)), ctx.get_raw(1)) {
        (Some(s), ValueRef::Integer(n)) => {
            let n = usize::try_from(n).unwrap_or(0);
            if s.len().saturating_mul(n) > MAX_TEXT_BYTES {
                return Err(fail(EngineError::ProgramLimitExceeded { message: "requested length too large".into() }));
            }
            Ok(Value::Text(s.repeat(n)))
        }
        _ => Ok(Value::Null),
    })?;
    conn.create_scalar_function("ascii", 1, pure, |ctx| match text_of(ctx.get_raw(0)) {
        Some(s) => Ok(Value::Integer(s.chars().next().map_or(0, |c| i64::from(u32::from(c))))),
        None => Ok(Value::Null),
    })?;
    conn.create_scalar_function("chr", 1, pure, |ctx| match ctx.get_raw(0) {
        ValueRef::Integer(0) => Err(fail(EngineError::ProgramLimitExceeded { message: "null character not permitted".into() })),
        ValueRef::Integer(n) => match u32::try_from(n).ok().and_then(char::from_u32) {
            Some(c) => Ok(Value::Text(c.to_string())),
            None => Err(fail(EngineError::ProgramLimitExceeded { message: "requested character too large for encoding".into() })),
        },
        _ => Ok(Value::Null),
    })?;
    conn.create_scalar_function("rhei_greatest", -1, pure, |ctx| extreme(ctx, true))?;
    conn.create_scalar_function("rhei_least", -1, pure, |ctx| extreme(ctx, false))?;
    // Not deterministic: SQLite must not fold it across rows or statements.
    conn.create_scalar_function("rhei_now", 0, FunctionFlags::SQLITE_UTF8, |_| Ok(Value::Integer(PinnedNow::now())))?;
    conn.create_scalar_function("rhei_statement_now", 0, FunctionFlags::SQLITE_UTF8, |_| Ok(Value::Integer(PinnedNow::statement())))?;
    // `clock_timestamp()`: the clock at each call, as PostgreSQL reads it.
    conn.create_scalar_function("rhei_clock_now", 0, FunctionFlags::SQLITE_UTF8, |_| Ok(Value::Integer(crate::value::now_micros())))?;
    // to_char(number, pattern, float digits): 0 digits for an exact number (see `number_format`).
    conn.create_scalar_function("rhei_num_to_char", 3, pure, |ctx| {
        use crate::number_format::Number;
        let (value, Some(text)) = (ctx.get_raw(0), text_of(ctx.get_raw(1))) else { return Ok(Value::Null) };
        if matches!(value, ValueRef::Null) {
            return Ok(Value::Null);
        }
        let significant = usize::try_from(ctx.get::<i64>(2)?).unwrap_or(0);
        let read = match ctx.get_aux::<ReadNumberPattern>(1)? {
            Some(cached) if cached.text == text => cached,
            _ => {
                let pattern = crate::number_format::NumberPattern::parse(&text).map_err(fail)?;
                ctx.set_aux(1, ReadNumberPattern { text, pattern })?
            }
        };
        let pattern = &read.pattern;
        let formatted = match value {
            ValueRef::Integer(i) if significant > 0 => pattern.format(Number::Float { value: i as f64, significant }),
            ValueRef::Integer(i) => pattern.format(Number::Exact(&i.to_string())),
            ValueRef::Real(value) if significant > 0 => pattern.format(Number::Float { value, significant }),
            ValueRef::Real(value) => pattern.format(Number::Exact(&format!("{value}"))),
            other => pattern.format(Number::Exact(&text_of(other).unwrap_or_default())),
        };
        formatted.map(Value::Text).map_err(fail)
    })?;
    // SQL regular expressions as POSIX ones (see `similar`).
    for arity in [1, 2] {
        conn.create_scalar_function("similar_to_escape", arity, pure, move |ctx| {
            let Some(pattern) = text_of(ctx.get_raw(0)) else { return Ok(Value::Null) };
            let escape = if arity == 2 { text_of(ctx.get_raw(1)) } else { None };
            if arity == 2 && escape.is_none() {
                return Ok(Value::Null);
            }
            let escape = crate::similar::escape_character(escape.as_deref()).map_err(fail)?;
            crate::similar::to_regex(&pattern, escape).map(Value::Text).map_err(fail)
        })?;
    }
    // POSIX regular expressions (see `oltp::regex`).
    conn.create_scalar_function("rhei_regex_match", 3, pure, |ctx| {
        let Some(text) = text_of(ctx.get_raw(0)) else { return Ok(Value::Null) };
        let Some(compiled) = regex_arg(ctx, 1, 2)? else { return Ok(Value::Null) };
        Ok(Value::Integer(i64::from(compiled.regex.is_match(&text))))
    })?;
    for arity in [3, 4] {
        conn.create_scalar_function("regexp_replace", arity, pure, move |ctx| {
            let (Some(text), Some(replacement)) = (text_of(ctx.get_raw(0)), text_of(ctx.get_raw(2))) else { return Ok(Value::Null) };
            let Some(compiled) = regex_arg(ctx, 1, if arity == 4 { 3 } else { usize::MAX })? else { return Ok(Value::Null) };
            let replacement = crate::oltp::regex::replacement(&replacement);
            let out = if compiled.global {
                compiled.regex.replace_all(&text, replacement.as_str())
            } else {
                compiled.regex.replace(&text, replacement.as_str())
            };
            Ok(Value::Text(out.into_owned()))
        })?;
    }
    for function in crate::degree_trig::DegreeFunction::ALL {
        conn.create_scalar_function(function.name(), i32::try_from(function.arity()).unwrap_or(-1), pure, move |ctx| {
            let (Some(x), y) = (f64_of(ctx.get_raw(0)), f64_of(ctx.get_raw(1.min(ctx.len() - 1)))) else { return Ok(Value::Null) };
            let Some(y) = y else { return Ok(Value::Null) };
            function.apply(x, y).map(Value::Real).map_err(fail)
        })?;
    }
    // SQLite's math functions have no cotangent.
    conn.create_scalar_function("cot", 1, pure, |ctx| Ok(f64_of(ctx.get_raw(0)).map_or(Value::Null, |f| Value::Real(1.0 / f.tan()))))?;
    for search in crate::oltp::regex::Search::ALL {
        for arity in search.arities() {
            conn.create_scalar_function(search.name(), i32::try_from(arity).unwrap_or(-1), pure, move |ctx| regexp_search(ctx, search))?;
        }
    }
    // A text array, in the JSON form SQLite holds arrays in (see `oltp::arrays`).
    for arity in [2, 3] {
        conn.create_scalar_function("regexp_split_to_array", arity, pure, move |ctx| {
            let Some(text) = text_of(ctx.get_raw(0)) else { return Ok(Value::Null) };
            let Some(compiled) = regex_arg(ctx, 1, if arity == 3 { 2 } else { usize::MAX })? else { return Ok(Value::Null) };
            if compiled.global {
                return Err(fail(EngineError::InvalidArgument { message: "regexp_split_to_array() does not support the \"global\" option".into() }));
            }
            let pieces = crate::oltp::regex::split(&compiled.regex, &text);
            Ok(Value::Text(serde_json::Value::from(pieces).to_string()))
        })?;
    }
    // Exact decimal text, as numeric values are held on SQLite.
    conn.create_scalar_function("to_number", 2, pure, |ctx| {
        let (Some(text), Some(pattern)) = (text_of(ctx.get_raw(0)), text_of(ctx.get_raw(1))) else { return Ok(Value::Null) };
        Ok(crate::number_format::to_number(&text, &pattern).map_err(fail)?.map_or(Value::Null, Value::Text))
    })?;
    conn.create_scalar_function("rhei_regex_substring", 2, pure, |ctx| {
        let Some(text) = text_of(ctx.get_raw(0)) else { return Ok(Value::Null) };
        let Some(compiled) = regex_arg(ctx, 1, usize::MAX)? else { return Ok(Value::Null) };
        Ok(crate::oltp::regex::substring(&compiled.regex, &text).map_or(Value::Null, |m| Value::Text(m.to_string())))
    })?;
    // PostgreSQL's random (version 4) UUID, as uuid columns store it: canonical text.
    conn.create_scalar_function("gen_random_uuid", 0, FunctionFlags::SQLITE_UTF8, |_| Ok(Value::Text(uuid::Uuid::new_v4().to_string())))?;
    conn.create_scalar_function("rhei_session_tz", 0, FunctionFlags::SQLITE_UTF8, |_| Ok(Value::Integer(0)))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        register(&c).unwrap();
        c
    }

    #[test]
    fn upper_and_lower_change_every_letter_one_for_one() {
        let c = conn();
        let (upper, lower): (String, String) =
            c.query_row("SELECT upper('élan ß ǆ'), lower('ÀÉÎ İ Straße')", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        assert_eq!(upper, "ÉLAN ß Ǆ");
        assert_eq!(lower, "àéî İ straße");
    }

    /// Every value the fast path stores as it is, the full conversion stores the same way.
    #[test]
    fn values_stored_as_they_are_equal_their_conversion() {
        use crate::catalog::PgType as T;
        let numeric = |precision, scale| T::Numeric { precision: Some(precision), scale: Some(scale) };
        let cases: &[(T, &[&str])] = &[
            (T::Int2, &["0", "-32768", "32767", "32768", "+7", " 7", "x"]),
            (T::Int4, &["2147483647", "2147483648", "-2147483649", "12"]),
            (T::Int8, &["9223372036854775807", "9223372036854775808", "-1"]),
            (T::Date, &["2024-02-29", "2023-02-29", "1999-01-08", "epoch"]),
            (T::Varchar(Some(3)), &["abc", "abcd", "ab ", "é", "ééé", "éééé"]),
            (T::Bpchar(Some(2)), &["a", "ab", "a ", "abc"]),
            (T::Text, &["", "anything", " padded "]),
            (numeric(15, 2), &["12.50", "0.05", "-0.05", "-0.00", "0.00", "00.10", "1.5", "1.500", "-12", "1e2", " 1.00", "1234567890123.45", "12345678901234.56", ".50", "1.", "+1.00"]),
            (numeric(5, 0), &["12345", "123456", "0", "-0", "012", "1.0"]),
            (T::Numeric { precision: None, scale: Some(3) }, &["1.000", "123456789012345678901234567890123456.789"]),
            (T::Numeric { precision: Some(3), scale: Some(-1) }, &["120", "12"]),
        ];
        for (ty, inputs) in cases {
            for text in *inputs {
                let converted = converted_storage_value(*ty, text, TimeZone::UTC);
                // Declining is always safe (the conversion then decides); taking must agree.
                if let Some(value) = stored_as_is(*ty, text) {
                    assert_eq!(Ok(crate::row_chunk::owned(value)), converted.map_err(|e| e.to_string()), "{ty:?} {text:?}");
                }
            }
        }
        for (ty, text) in [(numeric(15, 2), "12.50"), (numeric(15, 2), "-0.05"), (T::Int2, "7"), (T::Bpchar(Some(1)), "N")] {
            assert!(stored_as_is(ty, text).is_some(), "{ty:?} {text:?} takes the slow path");
        }
    }

    fn one(c: &Connection, sql: &str) -> Result<Value, EngineError> {
        let _ = take_error();
        c.query_row(sql, [], |r| r.get::<_, Value>(0)).map_err(crate::oltp::classify)
    }

    #[test]
    fn text_and_date_functions_answer_and_fail_as_postgresql() {
        let c = conn();
        let text = |sql: &str| one(&c, sql).unwrap();
        assert_eq!(text("SELECT split_part('a,b,c', ',', -3)"), Value::Text("a".into()));
        assert_eq!(text("SELECT split_part('a,b,c', ',', -4)"), Value::Text(String::new()));
        assert_eq!(text("SELECT split_part('a,b', '', 1)"), Value::Text("a,b".into()));
        assert_eq!(text("SELECT btrim('xxaxx', 'x'), chr(233)"), Value::Text("a".into()));
        assert_eq!(text("SELECT chr(233)"), Value::Text("é".into()));
        assert_eq!(text("SELECT ascii('')"), Value::Integer(0));
        assert_eq!(text("SELECT repeat('ab', -1)"), Value::Text(String::new()));
        assert_eq!(text("SELECT initcap(NULL)"), Value::Null);
        assert_eq!(one(&c, "SELECT split_part('a', ',', 0)").unwrap_err().sqlstate(), "22023");
        assert_eq!(text("SELECT make_date(2024, 2, 29)"), Value::Integer(19_782));
        assert_eq!(text("SELECT md5('abc')"), Value::Text("900150983cd24fb0d6963f7d28e17f72".into()));
        assert_eq!(one(&c, "SELECT make_date(2023, 2, 29)").unwrap_err().sqlstate(), "22008");
        assert_eq!(one(&c, "SELECT chr(0)").unwrap_err().sqlstate(), "54000");
        assert_eq!(one(&c, "SELECT chr(1114112)").unwrap_err().sqlstate(), "54000");
        assert_eq!(one(&c, "SELECT repeat('x', 2000000000)").unwrap_err().sqlstate(), "54000");
    }

    #[test]
    fn conversions_store_postgres_values() {
        let c = conn();
        assert_eq!(one(&c, "SELECT rhei_int(' 42 ', 32)").unwrap(), Value::Integer(42));
        assert_eq!(one(&c, "SELECT rhei_int(2.5, 32)").unwrap(), Value::Integer(2));
        assert_eq!(one(&c, "SELECT rhei_numeric('1.005', 10, 2)").unwrap(), Value::Text("1.01".into()));
        assert_eq!(one(&c, "SELECT rhei_numeric('1.50', NULL, NULL)").unwrap(), Value::Text("1.50".into()));
        // A cast may compute past what a column's OLAP copy holds; storing it may not.
        assert_eq!(one(&c, "SELECT rhei_numeric('1e40', NULL, NULL)").unwrap(), Value::Text(format!("1{}", "0".repeat(40))));
        assert_eq!(one(&c, "SELECT rhei_numeric('-9999999999999999999999999999.5', NULL, NULL, 1)").unwrap(), Value::Text("-9999999999999999999999999999.5".into()));
        assert!(one(&c, "SELECT rhei_numeric('1e28', NULL, NULL, 1)").is_err(), "29 integral digits");
        assert!(one(&c, "SELECT rhei_numeric('9999999999999999999999999999.99999999995', NULL, NULL, 1)").is_err(), "rounds to 29");
        assert!(one(&c, "SELECT rhei_numeric('NaN', NULL, NULL, 1)").is_err());
        assert_eq!(one(&c, "SELECT rhei_numeric('1e30', 40, 0, 1)").unwrap(), Value::Text(format!("1{}", "0".repeat(30))));
        assert_eq!(one(&c, "SELECT rhei_bool('yes')").unwrap(), Value::Integer(1));
        // char(n) is stored without trailing blanks (padded on output); an explicit cast cuts.
        assert_eq!(one(&c, "SELECT rhei_bpchar('ab  ', 4)").unwrap(), Value::Text("ab".into()));
        assert_eq!(one(&c, "SELECT rhei_bpchar('abcdef', 2, 1)").unwrap(), Value::Text("ab".into()));
        assert_eq!(one(&c, "SELECT rhei_varchar('abcdef', 3, 1)").unwrap(), Value::Text("abc".into()));
        assert!(one(&c, "SELECT rhei_varchar('abcdef', 3)").is_err(), "assignment refuses");
        assert_eq!(one(&c, "SELECT rhei_varchar('abc   ', 4)").unwrap(), Value::Text("abc ".into()));
        assert_eq!(one(&c, "SELECT rhei_date('1970-01-02')").unwrap(), Value::Integer(1));
        assert_eq!(one(&c, "SELECT rhei_tstz('1970-01-01 01:00:00+01', 0)").unwrap(), Value::Integer(0));
        assert_eq!(one(&c, "SELECT rhei_tstz('1970-01-01 01:00:00', 3600)").unwrap(), Value::Integer(0));
        assert_eq!(one(&c, "SELECT rhei_ts('1970-01-01 00:00:01+05')").unwrap(), Value::Integer(1_000_000));
        assert_eq!(
            one(&c, "SELECT rhei_uuid('A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11')").unwrap(),
            Value::Text("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11".into())
        );
        assert_eq!(one(&c, "SELECT rhei_jsonb('{\"b\":1,\"a\":[1,2]}')").unwrap(), Value::Text("{\"a\": [1, 2], \"b\": 1}".into()));
        assert_eq!(one(&c, "SELECT rhei_mod(-7, 3)").unwrap(), Value::Integer(-1));
        assert_eq!(one(&c, "SELECT rhei_bytea('\\x0aFF')").unwrap(), Value::Blob(vec![10, 255]));
        assert_eq!(one(&c, "SELECT rhei_bytea('a\\\\b\\001')").unwrap(), Value::Blob(b"a\\b\x01".to_vec()));
        assert_eq!(one(&c, "SELECT strpos('héllo', 'l')").unwrap(), Value::Integer(3));
        assert_eq!(one(&c, "SELECT rhei_text(86400000000 + 250000, 'timestamp', 0)").unwrap(), Value::Text("1970-01-02 00:00:00.25".into()));
        assert_eq!(one(&c, "SELECT rhei_text(19782, 'date', 0)").unwrap(), Value::Text("2024-02-29".into()));
        assert_eq!(one(&c, "SELECT rhei_text(0, 'timestamptz', 19800)").unwrap(), Value::Text("1970-01-01 05:30:00+05:30".into()));
        assert_eq!(one(&c, "SELECT rhei_days(-1)").unwrap(), Value::Integer(-1));
        assert_eq!(one(&c, "SELECT date_trunc('month', 86400000000 * 40)").unwrap(), Value::Integer(86400000000 * 31));
        assert_eq!(one(&c, "SELECT left('héllo', -2) || '|' || right('héllo', 2)").unwrap(), Value::Text("hél|lo".into()));
        assert_eq!(one(&c, "SELECT lpad('7', 3, '0') || rpad('ab', 1)").unwrap(), Value::Text("007a".into()));
        assert_eq!(one(&c, "SELECT rhei_greatest(1, NULL, 3) + rhei_least(NULL, 2)").unwrap(), Value::Integer(5));
    }

    #[test]
    fn bad_input_fails_with_postgres_sqlstates() {
        let c = conn();
        let state = |sql: &str| one(&c, sql).unwrap_err().sqlstate();
        assert_eq!(state("SELECT rhei_int('abc', 32)"), "22P02");
        assert_eq!(state("SELECT rhei_int(40000, 16)"), "22003");
        assert_eq!(state("SELECT rhei_int('99999999999999999999', 64)"), "22003");
        assert_eq!(state("SELECT rhei_numeric('123.4', 3, 1)"), "22003");
        assert_eq!(state("SELECT rhei_varchar('abcdef', 3)"), "22001");
        assert_eq!(state("SELECT rhei_bool('maybe')"), "22P02");
        assert_eq!(state("SELECT rhei_date('2024-02-30')"), "22008");
        assert_eq!(state("SELECT rhei_ts('2024-13-01 10:00')"), "22008");
        assert_eq!(state("SELECT rhei_date('soon')"), "22007");
        assert_eq!(state("SELECT rhei_uuid('nope')"), "22P02");
        assert_eq!(state("SELECT rhei_json('{')"), "22P02");
        assert_eq!(state("SELECT rhei_mod(1, 0)"), "22012");
        assert_eq!(state("SELECT 1 / rhei_divisor(0.0)"), "22012");
        assert_eq!(state("SELECT 7 / rhei_divisor('0')"), "22012");
    }
}
