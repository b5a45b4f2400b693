//! Exact decimal arithmetic at PostgreSQL's result scales, shared by both engines: SQLite
//! holds numeric values as text and computes in doubles, DataFusion divides decimals at a
//! scale of its own (`7.0 / 2` was `3.50000`, `avg` of a numeric(10,2) six places). Values
//! are scaled 256-bit integers; the result scale is the larger operand scale for `+` and `-`,
//! their sum for `*`, and for `/` at least 16 significant digits (PostgreSQL's
//! `select_div_scale`).

use arrow::datatypes::i256;

use crate::error::EngineError;

/// PostgreSQL's NUMERIC_MIN_SIG_DIGITS: a quotient keeps at least this many digits.
const MIN_SIG_DIGITS: i32 = 16;
/// PostgreSQL's NUMERIC_MAX_DISPLAY_SCALE.
const MAX_DISPLAY_SCALE: i32 = 1000;
/// The widest scale kept here: scaled values must fit 256 bits (76 digits).
pub(crate) const MAX_SCALE: i32 = 76;

/// An exact decimal: `value / 10^scale`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Exact {
    pub(crate) value: i256,
    pub(crate) scale: i32,
}

impl Exact {
    pub(crate) fn integer(value: i128) -> Self {
        Exact { value: i256::from_i128(value), scale: 0 }
    }
}

/// `x op y` (`op` one of `+ - * /`) as PostgreSQL's numeric text at its scale; `None` past
/// 76 digits, where the caller falls back to doubles.
///
/// # Errors
/// Division by zero (22012), and an operator that is none of the four.
pub(crate) fn apply(op: &str, x: Exact, y: Exact) -> Result<Option<String>, EngineError> {
    // The scale PostgreSQL gives the result, from the operands as written; the value is
    // computed without their trailing zeros (Prisma's numeric(65,30) carries thirty), which
    // go back on as text.
    let scale = match op {
        "+" | "-" => x.scale.max(y.scale),
        "*" => x.scale + y.scale,
        "/" if y.value == i256::ZERO => return Err(EngineError::DivisionByZero),
        "/" => division_scale(x, y),
        other => return Err(EngineError::Internal(format!("rhei_numeric_op: unknown operator {other}"))),
    };
    let (x, y) = (trimmed(x), trimmed(y));
    let result = match op {
        "+" => add(x, y, false),
        "-" => add(x, y, true),
        "*" => multiply(x, y),
        _ => divide(x, y, scale),
    };
    Ok(result.map(|r| padded(r, scale)))
}

/// A plain decimal's text (`-12.50`) as an exact decimal at its written scale.
pub(crate) fn from_text(text: &str) -> Option<Exact> {
    if !crate::value::is_plain_decimal(text) {
        return None;
    }
    let scale = text.split_once('.').map_or(0, |(_, f)| f.len());
    let scale = i8::try_from(scale).ok().filter(|s| i32::from(*s) <= MAX_SCALE)?;
    Some(Exact { value: crate::value::parse_decimal256(text, scale)?, scale: i32::from(scale) })
}

pub(crate) fn pow10(n: i32) -> Option<i256> {
    i256::from_i128(10).checked_pow(u32::try_from(n).ok()?)
}

/// `x` at a scale at least its own.
pub(crate) fn rescaled(x: Exact, scale: i32) -> Option<i256> {
    if scale == x.scale {
        return Some(x.value);
    }
    x.value.checked_mul(pow10(scale - x.scale)?)
}

pub(crate) fn add(x: Exact, y: Exact, subtract: bool) -> Option<Exact> {
    let scale = x.scale.max(y.scale);
    let (a, b) = (rescaled(x, scale)?, rescaled(y, scale)?);
    let value = if subtract { a.checked_sub(b)? } else { a.checked_add(b)? };
    Some(Exact { value, scale })
}

fn multiply(x: Exact, y: Exact) -> Option<Exact> {
    let scale = x.scale + y.scale;
    (scale <= MAX_SCALE).then_some(())?;
    Some(Exact { value: x.value.checked_mul(y.value)?, scale })
}

/// `x / y` rounded half away from zero at `scale` places (PostgreSQL's for the quotient).
fn divide(x: Exact, y: Exact, scale: i32) -> Option<Exact> {
    (scale <= MAX_SCALE).then_some(())?;
    // x/y at `scale` = (x.value * 10^(scale + y.scale - x.scale)) / y.value.
    let shift = scale + y.scale - x.scale;
    let (numerator, denominator) = if shift >= 0 {
        (x.value.checked_mul(pow10(shift)?)?, y.value)
    } else {
        (x.value, y.value.checked_mul(pow10(-shift)?)?)
    };
    let quotient = numerator.checked_div(denominator)?;
    let remainder = numerator.checked_rem(denominator)?;
    let twice = remainder.checked_abs()?.checked_mul(i256::from_i128(2))?;
    let value = if twice >= denominator.checked_abs()? {
        let away = if numerator.is_negative() != denominator.is_negative() { i256::MINUS_ONE } else { i256::ONE };
        quotient.checked_add(away)?
    } else {
        quotient
    };
    Some(Exact { value, scale })
}

fn division_scale(x: Exact, y: Exact) -> i32 {
    select_div_scale((&x.value.to_string(), x.scale), (&y.value.to_string(), y.scale))
}

/// PostgreSQL's `select_div_scale` for `x / y`, each given as its digits (a sign allowed) and
/// scale: enough places for 16 significant digits of the quotient, and no fewer than either
/// operand's, reckoned in its base-10000 digits.
pub(crate) fn select_div_scale(x: (&str, i32), y: (&str, i32)) -> i32 {
    let (weight1, first1) = base_10000_lead(x.0, x.1);
    let (weight2, first2) = base_10000_lead(y.0, y.1);
    let mut quotient_weight = weight1 - weight2;
    if first1 <= first2 {
        quotient_weight -= 1;
    }
    (MIN_SIG_DIGITS - quotient_weight * 4).max(x.1).max(y.1).clamp(0, MAX_DISPLAY_SCALE)
}

/// The weight of a value's first non-zero base-10000 digit (groups of four decimal digits
/// counted from the decimal point, 0 for the units group) and that digit; (0, 0) for zero.
fn base_10000_lead(digits: &str, scale: i32) -> (i32, i32) {
    let digits = digits.trim_start_matches('-');
    if digits.bytes().all(|b| b == b'0') {
        return (0, 0);
    }
    // The power of ten of the leading digit, and the group holding it.
    let exponent = digits.len() as i32 - 1 - scale;
    let weight = exponent.div_euclid(4);
    // The group's digits: powers 4*weight+3 down to 4*weight, read off the digit string.
    let group = (0..4).rev().fold(0, |acc, k| {
        let power = 4 * weight + k;
        let from_right = power + scale;
        let digit = usize::try_from(from_right)
            .ok()
            .and_then(|i| digits.len().checked_sub(i + 1))
            .map_or(0, |at| i32::from(digits.as_bytes()[at] - b'0'));
        acc * 10 + digit
    });
    (weight, group)
}

/// `x` without the trailing zeros of its fraction.
pub(crate) fn trimmed(mut x: Exact) -> Exact {
    let ten = i256::from_i128(10);
    while x.scale > 0 && x.value.checked_rem(ten) == Some(i256::ZERO) {
        x.value = x.value.checked_div(ten).unwrap_or(x.value);
        x.scale -= 1;
    }
    x
}

/// `x`'s text with zeros appended to `scale` places (a scale at least its own).
pub(crate) fn padded(x: Exact, scale: i32) -> String {
    let mut text = crate::value::format_decimal256(x.value, x.scale as i8);
    if scale > x.scale {
        if x.scale == 0 {
            text.push('.');
        }
        text.extend(std::iter::repeat_n('0', (scale - x.scale) as usize));
    }
    text
}
