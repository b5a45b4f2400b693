//! Exact numeric arithmetic on SQLite. numeric values are exact text there, and SQLite's own
//! `+ - * /` read them as doubles: `1234567.89 - 3.3333` was `1234564.5566999998`.
//! `rhei_numeric_op(op, a, b)` computes exactly instead, at the result scales PostgreSQL's
//! numeric gives (see [`crate::exact_decimal`], which the OLAP engine's shares).
//! `rhei_numeric_sum` and `rhei_numeric_avg` are `sum` and `avg` of numeric values the same
//! way (SQLite's own add doubles: a sum of `123456789012345.67` and `0.01` ended in `.68`), as
//! aggregates and as window functions.

use arrow::datatypes::i256;
use rusqlite::functions::{Aggregate, Context, FunctionFlags, WindowAggregate};
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, Error as SqlError};

use super::functions::{f64_of, fail};
use crate::error::EngineError;
use crate::exact_decimal::{self, Exact, add, padded, pow10, rescaled};
use crate::numeric_math::{self, Decimal};

/// The SQLite names of the exact `sum` and `avg` of numeric values.
pub(crate) const SUM: &str = "rhei_numeric_sum";
pub(crate) const AVG: &str = "rhei_numeric_avg";
pub(crate) const KEY: &str = "rhei_numeric_key";
pub(crate) const MIN: &str = "rhei_numeric_min";
pub(crate) const MAX: &str = "rhei_numeric_max";
/// `rhei_numeric_spread(name, x)`: `stddev`, `variance` and their kin (`name`) of integers or
/// numerics, exact numeric text as PostgreSQL computes them (SQLite's were doubles).
pub(crate) const SPREAD: &str = "rhei_numeric_spread";


pub fn register(conn: &Connection, pure: FunctionFlags) -> rusqlite::Result<()> {
    conn.create_scalar_function("rhei_numeric_op", 3, pure, |ctx| {
        let op = ctx.get_raw(0).as_str().map_err(|e| SqlError::UserFunctionError(e.into()))?;
        numeric_op(op, ctx.get_raw(1), ctx.get_raw(2))
    })?;
    conn.create_window_function(SUM, 1, pure, ExactAggregate { average: false })?;
    conn.create_window_function(AVG, 1, pure, ExactAggregate { average: true })?;
    conn.create_window_function(SPREAD, 2, pure, ExactSpread)?;
    conn.create_scalar_function(KEY, 1, pure, |ctx| Ok(numeric_key(ctx.get_raw(0))))?;
    // Not window functions: letting the extreme go would need every value of the frame.
    conn.create_aggregate_function(MIN, 1, pure, ExactExtreme { greatest: false })?;
    conn.create_aggregate_function(MAX, 1, pure, ExactExtreme { greatest: true })?;
    conn.create_scalar_function("rhei_numeric_fn", -1, pure, |ctx| {
        let name = ctx.get_raw(0).as_str().map_err(|e| SqlError::UserFunctionError(e.into()))?.to_string();
        let Some(args) = decimals(ctx, 1)? else { return Ok(Value::Null) };
        Ok(Value::Text(numeric_math::call(&name, &args).map_err(fail)?.text()))
    })?;
    // SQLite's own round() rounds the double nearest a value: round(2.675, 2) was 2.67.
    conn.create_scalar_function("round", 1, pure, |ctx| rounded(ctx.get_raw(0), Some(0)))?;
    conn.create_scalar_function("round", 2, pure, |ctx| rounded(ctx.get_raw(0), places(ctx.get_raw(1))))?;
    conn.create_scalar_function("div", 2, pure, |ctx| {
        let Some(args) = decimals(ctx, 0)? else { return Ok(Value::Null) };
        let quotient = numeric_math::call("div", &args).map_err(fail)?;
        Ok(quotient.to_i64().map_or_else(|| Value::Text(quotient.text()), Value::Integer))
    })?;
    // A number, as round() gives: compared and sorted as one.
    conn.create_scalar_function("trim_scale", 1, pure, |ctx| {
        let Some(args) = decimals(ctx, 0)? else { return Ok(Value::Null) };
        Ok(Value::Real(numeric_math::call("trim_scale", &args).map_err(fail)?.to_f64()))
    })?;
    for (name, minimal) in [("scale", false), ("min_scale", true)] {
        conn.create_scalar_function(name, 1, pure, move |ctx| {
            let Some(args) = decimals(ctx, 0)? else { return Ok(Value::Null) };
            Ok(args.first().map_or(Value::Null, |x| Value::Integer(i64::from(x.places(minimal)))))
        })?;
    }
    for name in ["gcd", "lcm"] {
        conn.create_scalar_function(name, 2, pure, move |ctx| {
            let integers = matches!((ctx.get_raw(0), ctx.get_raw(1)), (ValueRef::Integer(_), ValueRef::Integer(_)));
            let Some(args) = decimals(ctx, 0)? else { return Ok(Value::Null) };
            let result = numeric_math::call(name, &args).map_err(fail)?;
            match result.to_i64() {
                Some(i) if integers => Ok(Value::Integer(i)),
                None if integers => Err(fail(EngineError::NumericOutOfRange { type_name: "bigint".into() })),
                _ => Ok(Value::Text(result.text())),
            }
        })?;
    }
    conn.create_scalar_function("trunc", 1, pure, |ctx| truncated(ctx.get_raw(0), 0))?;
    conn.create_scalar_function("trunc", 2, pure, |ctx| match places(ctx.get_raw(1)) {
        Some(places) => truncated(ctx.get_raw(0), places),
        None => Ok(Value::Null),
    })
}

/// The arguments of a numeric function from the `skip`th on as decimals; `None` when one is
/// NULL (the functions are strict).
fn decimals(ctx: &Context<'_>, skip: usize) -> rusqlite::Result<Option<Vec<Decimal>>> {
    (skip..ctx.len()).map(|i| decimal_of(ctx.get_raw(i))).collect::<rusqlite::Result<Option<Vec<_>>>>()
}

/// A SQLite value as a numeric: exact text as written, a double by its shortest digits (as
/// PostgreSQL casts a double to numeric).
fn decimal_of(value: ValueRef<'_>) -> rusqlite::Result<Option<Decimal>> {
    let invalid = |text: String| fail(EngineError::InvalidTextRepresentation { type_name: "numeric".into(), value: text });
    match value {
        ValueRef::Null => Ok(None),
        ValueRef::Integer(i) => Ok(Some(Decimal::integer(i))),
        ValueRef::Real(f) => Decimal::from_f64(f).map(Some).ok_or_else(|| invalid(crate::value::format_float8(f))),
        ValueRef::Text(t) => {
            let text = String::from_utf8_lossy(t);
            Decimal::parse(&text).map(Some).ok_or_else(|| invalid(text.into_owned()))
        }
        ValueRef::Blob(_) => Err(invalid("(bytea)".into())),
    }
}

/// The places argument of `round`/`trunc` (a double rounds, as PostgreSQL casts it to int).
fn places(value: ValueRef<'_>) -> Option<i64> {
    match value {
        ValueRef::Integer(i) => Some(i),
        ValueRef::Real(f) if f.is_finite() => Some(f.round() as i64),
        ValueRef::Text(t) => std::str::from_utf8(t).ok()?.trim().parse().ok(),
        _ => None,
    }
}

/// PostgreSQL's `round` or `trunc` (`function`) of a numeric at `places` places (negative:
/// tens, hundreds...) of the value's decimal digits (exact text's, a double's shortest), as a
/// number: where the value is compared, sorted or computed with (a result item wanting its
/// exact digits is `rhei_numeric_fn`'s). An integer stays one under trunc; round of one is a
/// double, as in PostgreSQL.
fn cut(value: ValueRef<'_>, function: &str, places: i64) -> rusqlite::Result<Value> {
    let keeps_integers = function == "trunc";
    match value {
        ValueRef::Integer(i) if keeps_integers && places >= 0 => Ok(Value::Integer(i)),
        ValueRef::Real(f) if !f.is_finite() => Ok(Value::Real(f)),
        ValueRef::Text(t) if !std::str::from_utf8(t).is_ok_and(|s| crate::value::is_plain_decimal(s.trim())) => Ok(Value::Null),
        ValueRef::Null | ValueRef::Blob(_) => Ok(Value::Null),
        _ => {
            let Some(x) = decimal_of(value)? else { return Ok(Value::Null) };
            let result = numeric_math::call(function, &[x, Decimal::integer(places)]).map_err(fail)?;
            Ok(match (value, result.to_i64()) {
                (ValueRef::Integer(_), Some(i)) if keeps_integers => Value::Integer(i),
                _ => Value::Real(result.to_f64()),
            })
        }
    }
}

fn rounded(value: ValueRef<'_>, places: Option<i64>) -> rusqlite::Result<Value> {
    places.map_or(Ok(Value::Null), |places| cut(value, "round", places))
}

fn truncated(value: ValueRef<'_>, places: i64) -> rusqlite::Result<Value> {
    cut(value, "trunc", places)
}

fn numeric_op(op: &str, a: ValueRef<'_>, b: ValueRef<'_>) -> rusqlite::Result<Value> {
    let (Some(x), Some(y)) = (exact(a), exact(b)) else {
        return fallback(op, a, b);
    };
    match exact_decimal::apply(op, x, y).map_err(fail)? {
        Some(text) => Ok(Value::Text(text)),
        // Past 76 digits: SQLite's double, as before, rather than an error PostgreSQL would
        // not give.
        None => fallback(op, a, b),
    }
}

/// `sum` (or `avg`) of numeric values, exact while the sum fits 76 digits.
struct ExactAggregate {
    average: bool,
}

/// The values an [`ExactAggregate`] has seen (less those a window frame has let go).
#[derive(Default)]
struct ExactTotal {
    /// The sum at the largest scale seen, never lowered, so letting a value go stays exact.
    /// `None` once it overflowed or a value was no exact decimal (`NaN`).
    total: Option<Exact>,
    /// How many of the values have each scale: the sum has the largest, as in PostgreSQL.
    scales: Vec<(i32, u64)>,
    count: u64,
    /// How many of the values are numeric's NaN: the sum is NaN while the frame holds one.
    nans: u64,
    /// The sum in doubles once `total` is gone.
    double: f64,
}

impl ExactTotal {
    fn new() -> Self {
        ExactTotal { total: Some(Exact { value: i256::ZERO, scale: 0 }), ..ExactTotal::default() }
    }

    fn take(&mut self, value: ValueRef<'_>, remove: bool) {
        if matches!(value, ValueRef::Null) {
            return;
        }
        let counted = |n: &mut u64| *n = if remove { n.saturating_sub(1) } else { *n + 1 };
        counted(&mut self.count);
        if matches!(value, ValueRef::Text(t) if t.eq_ignore_ascii_case(b"NaN")) {
            counted(&mut self.nans);
            return;
        }
        let x = stored(value);
        let sign = if remove { -1.0 } else { 1.0 };
        if let Some(x) = x {
            match self.scales.iter().position(|(scale, _)| *scale == x.scale) {
                Some(at) if remove => {
                    self.scales[at].1 -= 1;
                    if self.scales[at].1 == 0 {
                        self.scales.swap_remove(at);
                    }
                }
                Some(at) => self.scales[at].1 += 1,
                None if remove => {}
                None => self.scales.push((x.scale, 1)),
            }
        }
        let Some(total) = self.total else {
            self.double += sign * double_of(value);
            return;
        };
        self.total = x.and_then(|x| add(total, x, remove));
        if self.total.is_none() {
            // Past 76 digits, or a value that is no exact decimal: doubles from here on.
            let so_far = padded(total, total.scale).parse::<f64>().unwrap_or(f64::NAN);
            self.double = so_far + sign * double_of(value);
        }
    }

    /// The sum at the largest scale of the values held: `None` for none.
    fn sum(&self) -> Option<Value> {
        if self.count == 0 {
            return None;
        }
        if self.nans > 0 {
            return Some(Value::Text("NaN".into()));
        }
        let exact_sum = self.total.and_then(|total| {
            let scale = self.scales.iter().map(|(scale, _)| *scale).max().unwrap_or(0);
            let value = total.value.checked_div(pow10(total.scale - scale)?)?;
            Some(padded(Exact { value, scale }, scale))
        });
        Some(match exact_sum {
            Some(text) => Value::Text(text),
            // numeric's own NaN, which a double sum of one keeps.
            None if self.double.is_nan() => Value::Text("NaN".into()),
            None => Value::Real(self.double),
        })
    }

    fn average(&self) -> rusqlite::Result<Value> {
        match self.sum() {
            None => Ok(Value::Null),
            Some(Value::Text(sum)) if sum != "NaN" => numeric_op("/", ValueRef::Text(sum.as_bytes()), ValueRef::Integer(i64::try_from(self.count).unwrap_or(i64::MAX))),
            Some(Value::Real(sum)) => Ok(Value::Real(sum / self.count as f64)),
            Some(nan) => Ok(nan),
        }
    }

    fn answer(&self, average: bool) -> rusqlite::Result<Value> {
        if average { self.average() } else { Ok(self.sum().unwrap_or(Value::Null)) }
    }
}

impl Aggregate<ExactTotal, Value> for ExactAggregate {
    fn init(&self, _ctx: &mut Context<'_>) -> rusqlite::Result<ExactTotal> {
        Ok(ExactTotal::new())
    }

    fn step(&self, ctx: &mut Context<'_>, state: &mut ExactTotal) -> rusqlite::Result<()> {
        state.take(ctx.get_raw(0), false);
        Ok(())
    }

    fn finalize(&self, _ctx: &mut Context<'_>, state: Option<ExactTotal>) -> rusqlite::Result<Value> {
        state.map_or(Ok(Value::Null), |state| state.answer(self.average))
    }
}

impl WindowAggregate<ExactTotal, Value> for ExactAggregate {
    fn value(&self, state: Option<&mut ExactTotal>) -> rusqlite::Result<Value> {
        state.map_or(Ok(Value::Null), |state| state.answer(self.average))
    }

    fn inverse(&self, ctx: &mut Context<'_>, state: &mut ExactTotal) -> rusqlite::Result<()> {
        state.take(ctx.get_raw(0), true);
        Ok(())
    }
}

struct ExactSpread;

/// The aggregate's name, its sums, and how many NaNs it met (which make the answer NaN).
#[derive(Default)]
struct SpreadState {
    name: String,
    sums: numeric_math::Spread,
    nans: i64,
}

impl SpreadState {
    /// Adds a row (`back`: takes it out); NULL is passed over.
    fn take(&mut self, ctx: &Context<'_>, back: bool) -> rusqlite::Result<()> {
        if self.name.is_empty() {
            self.name = ctx.get_raw(0).as_str().map_err(|e| SqlError::UserFunctionError(e.into()))?.to_ascii_lowercase();
        }
        let value = ctx.get_raw(1);
        if matches!(value, ValueRef::Text(t) if t.eq_ignore_ascii_case(b"NaN")) {
            self.nans += if back { -1 } else { 1 };
            return Ok(());
        }
        if let Some(x) = decimal_of(value)? {
            if back { self.sums.remove(&x) } else { self.sums.add(&x) }
        }
        Ok(())
    }

    fn answer(&self) -> Value {
        if self.nans > 0 {
            return Value::Text("NaN".into());
        }
        self.sums.result(&self.name).map_or(Value::Null, |d| Value::Text(d.text()))
    }
}

impl Aggregate<SpreadState, Value> for ExactSpread {
    fn init(&self, _ctx: &mut Context<'_>) -> rusqlite::Result<SpreadState> {
        Ok(SpreadState::default())
    }

    fn step(&self, ctx: &mut Context<'_>, state: &mut SpreadState) -> rusqlite::Result<()> {
        state.take(ctx, false)
    }

    fn finalize(&self, _ctx: &mut Context<'_>, state: Option<SpreadState>) -> rusqlite::Result<Value> {
        Ok(state.map_or(Value::Null, |state| state.answer()))
    }
}

impl WindowAggregate<SpreadState, Value> for ExactSpread {
    fn value(&self, state: Option<&mut SpreadState>) -> rusqlite::Result<Value> {
        Ok(state.map_or(Value::Null, |state| state.answer()))
    }

    fn inverse(&self, ctx: &mut Context<'_>, state: &mut SpreadState) -> rusqlite::Result<()> {
        state.take(ctx, true)
    }
}

/// `rhei_numeric_key(v)`: a key that compares and sorts numeric values as numbers, byte by
/// byte (SQLite compares BLOBs so), whatever form SQLite holds them in (exact text, integer,
/// double): 1.5 and 1.50 get one key, NaN the greatest, as in PostgreSQL. Negatives, zero and
/// positives are told apart by a first byte; then the power of ten of the first digit and the
/// significant digits, both inverted for negatives (and ended by 255, so that a shorter run of
/// digits, a smaller magnitude, sorts after a longer one it starts). A value that is no number
/// is its own key.
fn numeric_key(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => return Value::Null,
        ValueRef::Text(t) if t.eq_ignore_ascii_case(b"NaN") => return Value::Blob(vec![4]),
        ValueRef::Text(t) if t.eq_ignore_ascii_case(b"Infinity") => return Value::Blob(vec![3]),
        ValueRef::Text(t) if t.eq_ignore_ascii_case(b"-Infinity") => return Value::Blob(Vec::new()),
        ValueRef::Real(f) if f.is_infinite() => return Value::Blob(if f > 0.0 { vec![3] } else { Vec::new() }),
        _ => {}
    }
    let Some(x) = stored(value) else {
        return <Value as rusqlite::types::FromSql>::column_result(value).unwrap_or(Value::Null);
    };
    let text = x.value.to_string();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.as_str()),
    };
    let significant = digits.trim_end_matches('0');
    if significant.is_empty() {
        return Value::Blob(vec![1]);
    }
    let exponent = (digits.len() as i64 - i64::from(x.scale) + (1 << 31)) as u32;
    let mut key = Vec::with_capacity(significant.len() + 6);
    if negative {
        key.push(0);
        key.extend((!exponent).to_be_bytes());
        key.extend(significant.bytes().map(|b| 255 - b));
        key.push(255);
    } else {
        key.push(2);
        key.extend(exponent.to_be_bytes());
        key.extend(significant.bytes());
    }
    Value::Blob(key)
}

/// `min` (or `max`) of numeric values, compared exactly (as doubles, `123456789012345.67` and
/// `.68` were one number); the answer is the value as stored, with its own scale.
struct ExactExtreme {
    greatest: bool,
}

/// The extreme so far: the value as read and as SQLite holds it.
type Extreme = Option<(Option<Exact>, Value)>;

/// Whether `a` orders after `b`: exactly when both are exact decimals that fit side by side,
/// else as doubles (numeric's NaN is greater than every number, as in PostgreSQL).
fn after(a: (Option<Exact>, ValueRef<'_>), b: (Option<Exact>, ValueRef<'_>)) -> bool {
    if let (Some(x), Some(y)) = (a.0, b.0) {
        let scale = x.scale.max(y.scale);
        if let (Some(x), Some(y)) = (rescaled(x, scale), rescaled(y, scale)) {
            return x > y;
        }
    }
    let (a, b) = (double_of(a.1), double_of(b.1));
    match (a.is_nan(), b.is_nan()) {
        (true, nan) => !nan,
        (false, true) => false,
        _ => a > b,
    }
}

impl Aggregate<Extreme, Value> for ExactExtreme {
    fn init(&self, _ctx: &mut Context<'_>) -> rusqlite::Result<Extreme> {
        Ok(None)
    }

    fn step(&self, ctx: &mut Context<'_>, state: &mut Extreme) -> rusqlite::Result<()> {
        let value = ctx.get_raw(0);
        if matches!(value, ValueRef::Null) {
            return Ok(());
        }
        let candidate = (stored(value), value);
        // On a tie the later value wins (its scale shows), as in PostgreSQL's numeric_larger.
        let replaces = match state {
            None => true,
            Some((best, held)) => {
                let best = (*best, ValueRef::from(&*held));
                if self.greatest { !after(best, candidate) } else { !after(candidate, best) }
            }
        };
        if replaces {
            let owned = <Value as rusqlite::types::FromSql>::column_result(value).map_err(|e| SqlError::UserFunctionError(e.into()))?;
            *state = Some((candidate.0, owned));
        }
        Ok(())
    }

    fn finalize(&self, _ctx: &mut Context<'_>, state: Option<Extreme>) -> rusqlite::Result<Value> {
        Ok(state.flatten().map_or(Value::Null, |(_, value)| value))
    }
}

/// A value as a double, NaN for one that is none.
fn double_of(value: ValueRef<'_>) -> f64 {
    f64_of(value).unwrap_or(f64::NAN)
}

/// A value SQLite holds for a numeric, as an exact decimal. Stored numeric text is read
/// straight from its bytes, without the general reader's allocations: this runs once per row
/// of the aggregates here.
fn stored(value: ValueRef<'_>) -> Option<Exact> {
    match value {
        ValueRef::Text(t) => quick_decimal(t).or_else(|| exact(value)),
        other => exact(other),
    }
}

/// A plain decimal of at most 38 characters (`-12.50`: -1250 at scale 2), read straight from
/// its bytes; `None` for anything else, which [`exact`] reads.
fn quick_decimal(bytes: &[u8]) -> Option<Exact> {
    let (negative, digits) = match bytes.first()? {
        b'-' => (true, &bytes[1..]),
        _ => (false, bytes),
    };
    if digits.len() > 38 {
        return None;
    }
    let (mut value, mut scale, mut any_digit) = (0i128, None, false);
    for (at, byte) in digits.iter().enumerate() {
        match byte {
            b'0'..=b'9' => {
                value = value * 10 + i128::from(byte - b'0');
                any_digit = true;
            }
            b'.' if scale.is_none() && any_digit => scale = Some((digits.len() - at - 1) as i32),
            _ => return None,
        }
    }
    any_digit.then_some(())?;
    Some(Exact { value: i256::from_i128(if negative { -value } else { value }), scale: scale.unwrap_or(0) })
}

/// A value SQLite holds for a numeric operand: exact text, an integer, or a double from a
/// literal (its shortest text is the literal as written). NULL and anything else: `None`.
fn exact(value: ValueRef<'_>) -> Option<Exact> {
    match value {
        ValueRef::Integer(i) => Some(Exact::integer(i128::from(i))),
        ValueRef::Real(f) if f.is_finite() => exact_decimal::from_text(&format!("{f}")),
        ValueRef::Text(t) => exact_decimal::from_text(std::str::from_utf8(t).ok()?.trim()),
        _ => None,
    }
}

/// What SQLite's own operator gives (NULL with NULL), for operands that are not exact decimals;
/// numeric's NaN (its text, which SQLite would store as NULL had it become a double) with
/// anything is NaN, as in PostgreSQL.
fn fallback(op: &str, a: ValueRef<'_>, b: ValueRef<'_>) -> rusqlite::Result<Value> {
    let is_nan = |v: ValueRef<'_>| matches!(v, ValueRef::Text(t) if t.trim_ascii().eq_ignore_ascii_case(b"nan"));
    if (is_nan(a) && !matches!(b, ValueRef::Null)) || (is_nan(b) && !matches!(a, ValueRef::Null)) {
        return Ok(Value::Text("NaN".into()));
    }
    let number = |v: ValueRef<'_>| match v {
        ValueRef::Integer(i) => Some(i as f64),
        ValueRef::Real(f) => Some(f),
        ValueRef::Text(t) => std::str::from_utf8(t).ok().and_then(|s| s.trim().parse::<f64>().ok()),
        _ => None,
    };
    let (Some(x), Some(y)) = (number(a), number(b)) else { return Ok(Value::Null) };
    Ok(Value::Real(match op {
        "+" => x + y,
        "-" => x - y,
        "*" => x * y,
        _ if y == 0.0 => return Err(fail(EngineError::DivisionByZero)),
        _ => x / y,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(op: &str, a: &str, b: &str) -> String {
        match numeric_op(op, ValueRef::Text(a.as_bytes()), ValueRef::Text(b.as_bytes())).unwrap() {
            Value::Text(t) => t,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn results_are_exact_at_postgresqls_scales() {
        // Each as PostgreSQL 15 answers it.
        assert_eq!(run("-", "1234567.89", "3.3333"), "1234564.5567");
        assert_eq!(run("+", "0.10", "0.20"), "0.30");
        assert_eq!(run("*", "1234567.89", "3.3333"), "4115185.147737");
        assert_eq!(run("/", "0.10", "3"), "0.03333333333333333333");
        assert_eq!(run("/", "1234567.89", "3"), "411522.630000000000");
        assert_eq!(run("/", "1", "3"), "0.33333333333333333333");
        assert_eq!(run("/", "10", "4"), "2.5000000000000000");
        assert_eq!(run("/", "-2", "3"), "-0.66666666666666666667");
        assert_eq!(run("/", "100000", "0.001"), "100000000.000000000000");
        assert_eq!(run("*", "-1.5", "2"), "-3.0");
        assert_eq!(run("-", "1", "1.000"), "0.000");
        assert_eq!(run("*", "-1.5", "0"), "0.0");
    }

    /// Prisma's numeric(65,30) values carry thirty trailing zeros: products and quotients of
    /// ordinary sizes must not overflow on them (PostgreSQL answers).
    #[test]
    fn trailing_zeros_of_wide_scales_do_not_overflow() {
        let wide = |v: &str| format!("{v}.{}", "0".repeat(30));
        let product = run("*", &wide("1000000000"), &wide("100000000"));
        assert_eq!(product, format!("100000000000000000.{}", "0".repeat(60)));
        let three = run("*", &run("*", &wide("1"), &wide("1")), &wide("1"));
        assert_eq!(three, format!("1.{}", "0".repeat(90)));
        assert_eq!(run("/", &wide("60000000000000000"), &wide("3")), format!("20000000000000000.{}", "0".repeat(30)));
        // Past 76 digits the double answers, as SQLite's own operator did.
        let huge = "9".repeat(70);
        assert!(matches!(numeric_op("*", ValueRef::Text(huge.as_bytes()), ValueRef::Text(huge.as_bytes())).unwrap(), Value::Real(_)));
    }

    /// What SQLite's round() and trunc() give outside exact results: the value's decimal
    /// digits cut as PostgreSQL cuts them (each as PostgreSQL 15 answers it), as a number that
    /// compares and sorts as one (exact text compared above every number).
    #[test]
    fn round_and_trunc_cut_decimal_digits_and_give_numbers() {
        let text = |t: &'static str| ValueRef::Text(t.as_bytes());
        assert_eq!(truncated(text("1.789"), 2).unwrap(), Value::Real(1.78));
        assert_eq!(truncated(text("-1.789"), 0).unwrap(), Value::Real(-1.0));
        assert_eq!(truncated(text("1234.5"), -2).unwrap(), Value::Real(1200.0));
        assert_eq!(truncated(ValueRef::Integer(1234), -2).unwrap(), Value::Integer(1200));
        assert_eq!(truncated(ValueRef::Real(-2.7), 0).unwrap(), Value::Real(-2.0));
        assert!(matches!(truncated(ValueRef::Real(-0.5), 0).unwrap(), Value::Real(z) if z.is_sign_positive()));
        assert_eq!(rounded(text("2.675"), Some(2)).unwrap(), Value::Real(2.68));
        assert_eq!(rounded(ValueRef::Real(2.675), Some(2)).unwrap(), Value::Real(2.68));
        assert_eq!(rounded(text("12.5"), Some(-1)).unwrap(), Value::Real(10.0));
        assert_eq!(rounded(ValueRef::Integer(7), Some(0)).unwrap(), Value::Real(7.0));
        assert_eq!(rounded(text("abc"), Some(0)).unwrap(), Value::Null);
    }

    fn aggregate(values: &[&str], average: bool) -> Value {
        let mut state = ExactTotal::new();
        for v in values {
            state.take(if *v == "null" { ValueRef::Null } else { ValueRef::Text(v.as_bytes()) }, false);
        }
        state.answer(average).unwrap()
    }

    #[test]
    fn sums_and_averages_are_exact_at_postgresqls_scales() {
        // Each as PostgreSQL 15 answers it.
        let text = |s: &str| Value::Text(s.into());
        assert_eq!(aggregate(&["123456789012345.67", "0.01", "19.99"], false), text("123456789012365.67"));
        assert_eq!(aggregate(&["123456789012345.67", "0.01", "19.99"], true), text("41152263004121.8900"));
        assert_eq!(aggregate(&["1.5", "2.25", "null"], false), text("3.75"));
        assert_eq!(aggregate(&["1", "2", "4"], true), text("2.3333333333333333"));
        assert_eq!(aggregate(&["0.10", "-0.10"], false), text("0.00"));
        assert_eq!(aggregate(&["null"], false), Value::Null);
        assert_eq!(aggregate(&[], true), Value::Null);
    }

    /// A window frame that lets its widest value go answers at the scale of those it holds
    /// (PostgreSQL restarts the frame's sum there), and the sum stays exact.
    #[test]
    fn a_window_frame_lets_values_go_exactly() {
        let mut state = ExactTotal::new();
        for v in ["0.125", "1.1", "2"] {
            state.take(ValueRef::Text(v.as_bytes()), false);
        }
        assert_eq!(state.sum(), Some(Value::Text("3.225".into())));
        state.take(ValueRef::Text(b"0.125"), true);
        assert_eq!(state.sum(), Some(Value::Text("3.1".into())));
        state.take(ValueRef::Text(b"1.1"), true);
        state.take(ValueRef::Text(b"2"), true);
        assert_eq!(state.sum(), None);
        // A NaN that leaves the frame leaves the sum a number again, as in PostgreSQL.
        for v in ["NaN", "1", "2"] {
            state.take(ValueRef::Text(v.as_bytes()), false);
        }
        assert_eq!(state.sum(), Some(Value::Text("NaN".into())));
        state.take(ValueRef::Text(b"NaN"), true);
        assert_eq!(state.sum(), Some(Value::Text("3".into())));
    }

    #[test]
    fn extremes_compare_exactly_and_keep_the_stored_text() {
        fn read(v: &str) -> (Option<Exact>, ValueRef<'_>) {
            (stored(ValueRef::Text(v.as_bytes())), ValueRef::Text(v.as_bytes()))
        }
        assert!(after(read("123456789012345.68"), read("123456789012345.67")));
        assert!(!after(read("123456789012345.67"), read("123456789012345.68")));
        assert!(after(read("19.99"), read("2.5")));
        assert!(after(read("-1"), read("-1.5")));
        assert!(after(read("NaN"), read("1e30")));
        assert!(after(read("1e30"), read(&"9".repeat(29))));
        assert!(!after(read("1.50"), read("1.5")));
    }

    #[test]
    fn numeric_keys_sort_as_the_numbers_do() {
        let key = |v: &str| match numeric_key(ValueRef::Text(v.as_bytes())) {
            Value::Blob(b) => b,
            other => panic!("{v}: {other:?}"),
        };
        let ascending = [
            "-Infinity", "-123456789012345678901", "-12.5", "-12.45", "-1.5", "-1", "-0.001", "0", "0.0001", "0.01", "1", "1.5", "1.51", "12.45", "19.99",
            "123456789012345.67", "123456789012345.68", "12345678901234567891", "Infinity", "NaN",
        ];
        for pair in ascending.windows(2) {
            assert!(key(pair[0]) < key(pair[1]), "{} < {}", pair[0], pair[1]);
        }
        assert_eq!(key("1.5"), key("1.50"));
        assert_eq!(key("-0.00"), key("0"));
        assert_eq!(numeric_key(ValueRef::Integer(15)), Value::Blob(key("15.0")));
        assert_eq!(numeric_key(ValueRef::Real(-1.5)), Value::Blob(key("-1.50")));
        assert_eq!(numeric_key(ValueRef::Null), Value::Null);
    }

    #[test]
    fn stored_text_is_read_quickly_as_the_general_reader_reads_it() {
        for text in ["0", "-0.10", "12.50", "1234567890123456789012345678.12345678", "7."] {
            assert_eq!(quick_decimal(text.as_bytes()), exact(ValueRef::Text(text.as_bytes())), "{text}");
        }
        for other in ["", "-", ".5", "1e5", " 1", "1.2.3", "NaN", &"9".repeat(39)] {
            assert_eq!(quick_decimal(other.as_bytes()), None, "{other}");
        }
    }

    #[test]
    fn past_76_digits_a_sum_is_a_double() {
        let huge = "9".repeat(76);
        assert!(matches!(aggregate(&[huge.as_str(); 10], false), Value::Real(_)));
        assert_eq!(aggregate(&["NaN", "1"], false), Value::Text("NaN".into()));
        assert_eq!(aggregate(&["NaN", "1"], true), Value::Text("NaN".into()));
    }

    #[test]
    fn integers_and_literal_doubles_are_read_exactly() {
        assert_eq!(numeric_op("*", ValueRef::Text(b"5.50"), ValueRef::Integer(3)).unwrap(), Value::Text("16.50".into()));
        assert_eq!(numeric_op("*", ValueRef::Text(b"0.10"), ValueRef::Real(1.1)).unwrap(), Value::Text("0.110".into()));
        assert_eq!(numeric_op("+", ValueRef::Null, ValueRef::Integer(1)).unwrap(), Value::Null);
        assert!(numeric_op("/", ValueRef::Text(b"1"), ValueRef::Integer(0)).is_err());
    }
}
