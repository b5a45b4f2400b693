//! Interval values on SQLite, which has no interval type. rhei carries an interval there as
//! the text PostgreSQL prints for it (`1 day 03:15:30`, IntervalStyle `postgres`), so a cast
//! to text and the result column need nothing more; these functions read and write that text
//! (see `translate::intervals`, which calls them). Intervals are compared and sorted by
//! [`length`](Interval::length_micros), never as text.

use rusqlite::functions::{Aggregate, Context, FunctionFlags};
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, Error as SqlError};

use crate::error::EngineError;
use crate::interval_aggregate::{IntervalAggregate, IntervalState};
use crate::oltp::functions::{arg_zone, f64_of, fail, text_of};
use crate::value::{Interval, parse_interval};

type FnResult = rusqlite::Result<Value>;

/// Argument `i` as an interval; `None` for NULL.
fn interval_arg(ctx: &Context<'_>, i: usize) -> rusqlite::Result<Option<Interval>> {
    interval_of(ctx.get_raw(i))
}

fn interval_of(value: ValueRef<'_>) -> rusqlite::Result<Option<Interval>> {
    let Some(text) = text_of(value) else { return Ok(None) };
    parse_interval(&text, None)
        .map(Some)
        .ok_or_else(|| fail(EngineError::InvalidDatetimeFormat { type_name: "interval".into(), value: text }))
}

/// `rhei_interval_in(v)`: text read as an interval, as PostgreSQL prints it (what an interval
/// column stores: `'25 hours'` is `25:00:00`); NULL stays NULL. A number is no interval
/// (`SET d = n`; SQLite would have read 5 as five seconds).
pub(crate) fn to_interval(value: ValueRef<'_>) -> FnResult {
    let number = match value {
        ValueRef::Integer(_) => Some("integer"),
        ValueRef::Real(_) => Some("double precision"),
        _ => None,
    };
    if let Some(from) = number {
        return Err(fail(EngineError::CannotCoerce { from: from.into(), to: "interval".into() }));
    }
    match interval_of(value)? {
        None => Ok(Value::Null),
        // Arrow's interval counts nanoseconds: a time part past about 292 years could be
        // stored here but neither read back nor copied to the OLAP engine.
        Some(interval) if interval.micros.checked_mul(1000).is_none() => Err(out_of_range()),
        some => interval_value(some),
    }
}

/// An interval result, 22008 when it leaves PostgreSQL's range.
fn interval_value(interval: Option<Interval>) -> FnResult {
    interval.and_then(Interval::to_text).map(Value::Text).ok_or_else(|| fail(EngineError::IntervalOutOfRange))
}

/// A timestamp argument (microseconds); `None` for NULL.
fn micros_arg(ctx: &Context<'_>, i: usize) -> rusqlite::Result<Option<i64>> {
    match ctx.get_raw(i) {
        ValueRef::Null => Ok(None),
        ValueRef::Integer(micros) => Ok(Some(micros)),
        other => Err(fail(EngineError::InvalidDatetimeFormat {
            type_name: "timestamp".into(),
            value: text_of(other).unwrap_or_default(),
        })),
    }
}

fn number_arg(ctx: &Context<'_>, i: usize) -> rusqlite::Result<Option<f64>> {
    match ctx.get_raw(i) {
        ValueRef::Null => Ok(None),
        other => f64_of(other).map(Some).ok_or_else(|| {
            fail(EngineError::InvalidTextRepresentation { type_name: "double precision".into(), value: text_of(other).unwrap_or_default() })
        }),
    }
}

/// The length an interval sorts by, as an integer while it fits one.
fn length_value(interval: Interval) -> Value {
    let length = interval.length_micros();
    i64::try_from(length).map_or(Value::Real(length as f64), Value::Integer)
}

/// Two arguments of a binary function, or NULL when either is.
macro_rules! both {
    ($a:expr, $b:expr) => {
        match ($a?, $b?) {
            (Some(a), Some(b)) => (a, b),
            _ => return Ok(Value::Null),
        }
    };
}

/// Registers the interval functions on a connection.
///
/// # Errors
/// SQLite refuses a registration (out of memory).
pub fn register(conn: &Connection, pure: FunctionFlags) -> rusqlite::Result<()> {
    // date_bin(stride, source, origin) of timestamps in microseconds (the translation reads a
    // date or a literal into them).
    conn.create_scalar_function("date_bin", 3, pure, |ctx| {
        let (source, origin) = both!(micros_arg(ctx, 1), micros_arg(ctx, 2));
        let Some(stride) = interval_arg(ctx, 0)? else { return Ok(Value::Null) };
        stride.bin(source, origin).map(Value::Integer).map_err(fail)
    })?;
    // `a - b` of two timestamps: days and time, as PostgreSQL's justify_hours leaves them.
    conn.create_scalar_function("rhei_interval_between", 2, pure, |ctx| {
        let (a, b) = both!(micros_arg(ctx, 0), micros_arg(ctx, 1));
        let difference = a.checked_sub(b).ok_or_else(|| fail(EngineError::IntervalOutOfRange))?;
        interval_value(Some(Interval::from_fields(crate::value::justify_hours(0, 0, difference))))
    })?;
    // `a - b` of two times of day: hours, not justified into a day (`24:00 - 00:00` is 24:00:00).
    conn.create_scalar_function("rhei_time_difference", 2, pure, |ctx| {
        let (a, b) = both!(micros_arg(ctx, 0), micros_arg(ctx, 1));
        interval_value(Some(Interval::from_fields((0, 0, a - b))))
    })?;
    // age(a, b) of two wall-clock times.
    conn.create_scalar_function("rhei_interval_age", 2, pure, |ctx| {
        let (a, b) = both!(micros_arg(ctx, 0), micros_arg(ctx, 1));
        interval_value(Some(Interval::from_fields(crate::value::age(a, b))))
    })?;
    // Text read as an interval (`$1::interval`, `'1 day'` beside an interval).
    conn.create_scalar_function("rhei_interval_in", 1, pure, |ctx| to_interval(ctx.get_raw(0)))?;
    conn.create_scalar_function("rhei_interval_length", 1, pure, |ctx| Ok(interval_arg(ctx, 0)?.map_or(Value::Null, length_value)))?;
    conn.create_scalar_function("rhei_interval_add", 2, pure, |ctx| {
        let (a, b) = both!(interval_arg(ctx, 0), interval_arg(ctx, 1));
        interval_value(a.checked_add(b))
    })?;
    conn.create_scalar_function("rhei_interval_sub", 2, pure, |ctx| {
        let (a, b) = both!(interval_arg(ctx, 0), interval_arg(ctx, 1));
        interval_value(a.checked_add(b.negated()))
    })?;
    conn.create_scalar_function("rhei_interval_neg", 1, pure, |ctx| match interval_arg(ctx, 0)? {
        None => Ok(Value::Null),
        Some(interval) => interval_value(Some(interval.negated())),
    })?;
    conn.create_scalar_function("rhei_interval_mul", 2, pure, |ctx| {
        let (interval, factor) = both!(interval_arg(ctx, 0), number_arg(ctx, 1));
        interval_value(interval.scaled(factor))
    })?;
    conn.create_scalar_function("rhei_interval_div", 2, pure, |ctx| {
        let (interval, divisor) = both!(interval_arg(ctx, 0), number_arg(ctx, 1));
        if divisor == 0.0 {
            return Err(fail(EngineError::DivisionByZero));
        }
        interval_value(interval.divided(divisor))
    })?;
    for (name, justify) in [
        ("rhei_justify_hours", crate::value::justify_hours as fn(i32, i32, i64) -> (i32, i32, i64)),
        ("rhei_justify_days", crate::value::justify_days),
        ("rhei_justify_interval", crate::value::justify_interval),
    ] {
        conn.create_scalar_function(name, 1, pure, move |ctx| match interval_arg(ctx, 0)? {
            None => Ok(Value::Null),
            Some(interval) => {
                let (months, days, micros) = interval.fields().ok_or_else(|| fail(EngineError::IntervalOutOfRange))?;
                interval_value(Some(Interval::from_fields(justify(months, days, micros))))
            }
        })?;
    }
    conn.create_scalar_function("rhei_interval_to_char", 2, pure, |ctx| {
        let (Some(interval), Some(pattern)) = (interval_arg(ctx, 0)?, text_of(ctx.get_raw(1))) else { return Ok(Value::Null) };
        let (months, days, micros) = interval.fields().ok_or_else(|| fail(EngineError::IntervalOutOfRange))?;
        crate::value::to_char_interval(months, days, micros, &pattern).map(Value::Text).map_err(fail)
    })?;
    conn.create_scalar_function("rhei_interval_part", 2, pure, |ctx| {
        let Some(field) = text_of(ctx.get_raw(0)) else { return Ok(Value::Null) };
        let Some(interval) = interval_arg(ctx, 1)? else { return Ok(Value::Null) };
        interval.part_or_error(&field).map(Value::Real).map_err(fail)
    })?;
    // A timestamp plus an interval, on the calendar of a zone (two names, as `rhei_ts_add`
    // has, so the translator can tell their types apart).
    for name in ["rhei_ts_add_interval", "rhei_tstz_add_interval"] {
        conn.create_scalar_function(name, 3, pure, |ctx| {
            let (micros, interval) = both!(micros_arg(ctx, 0), interval_arg(ctx, 1));
            crate::value::add_interval(micros, interval, arg_zone(ctx, 2)?)
                .map(Value::Integer)
                .ok_or_else(|| fail(EngineError::DatetimeFieldOverflow { value: format!("timestamp + {}", interval.to_text().unwrap_or_default()) }))
        })?;
    }
    for kind in IntervalAggregate::ALL {
        conn.create_aggregate_function(kind.function_name(), 1, pure, IntervalAggregateFunction(kind))?;
    }
    Ok(())
}

/// SQLite's aggregate functions of intervals (see [`IntervalAggregate`]).
struct IntervalAggregateFunction(IntervalAggregate);

impl Aggregate<IntervalState, Value> for IntervalAggregateFunction {
    fn init(&self, _ctx: &mut Context<'_>) -> rusqlite::Result<IntervalState> {
        Ok(IntervalState::default())
    }

    fn step(&self, ctx: &mut Context<'_>, state: &mut IntervalState) -> rusqlite::Result<()> {
        let Some(next) = interval_arg(ctx, 0)? else { return Ok(()) };
        self.0.step(state, next).ok_or_else(out_of_range)
    }

    fn finalize(&self, _ctx: &mut Context<'_>, state: Option<IntervalState>) -> rusqlite::Result<Value> {
        match self.0.finish(state.unwrap_or_default()) {
            Ok(None) => Ok(Value::Null),
            Ok(some) => interval_value(some),
            Err(()) => Err(out_of_range()),
        }
    }
}

fn out_of_range() -> SqlError {
    fail(EngineError::IntervalOutOfRange)
}
