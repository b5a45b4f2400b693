//! PostgreSQL 15's functions of numeric values (`round`, `trunc`, `ceil`, `floor`, `abs`,
//! `sign`, `mod`, `div`, `trim_scale`, `gcd`, `lcm`, `sqrt`, `exp`, `ln`, `log`, `power`),
//! computed exactly at the result scale PostgreSQL gives each, for both engines. SQLite
//! computes them in doubles (`round(2.675, 2)` was 2.67: the double is just under 2.675) and
//! DataFusion keeps the argument's decimal scale (`power(2.5, 2)` was 6.2, `ceil(2.1)` 3.0).
//! Values are decimals of any size; the transcendental functions run in fixed point with
//! guard digits and round once, half away from zero, at the result scale, as numeric.c's
//! `round_var` does.

use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{Signed, ToPrimitive, Zero};

use crate::error::EngineError;

/// PostgreSQL's NUMERIC_MIN_SIG_DIGITS.
const MIN_SIG_DIGITS: i64 = 16;
/// PostgreSQL's NUMERIC_MAX_DISPLAY_SCALE.
const MAX_DISPLAY_SCALE: i64 = 1000;
/// PostgreSQL's NUMERIC_MAX_RESULT_SCALE.
const MAX_RESULT_SCALE: i64 = 2000;
/// Digits a numeric holds before its decimal point (NUMERIC_WEIGHT_MAX + 1 groups of four).
const MAX_INTEGER_DIGITS: i64 = 131_072;
/// Digits an exact power may grow to before the logarithm computes it instead.
const MAX_EXACT_POWER_DIGITS: i64 = 200_000;
/// The largest |x| exp(x) takes (exp_var's NUMERIC_MAX_RESULT_SCALE * 3): past it the
/// result overflows numeric, or rounds to zero.
const EXP_LIMIT: f64 = (MAX_RESULT_SCALE * 3) as f64;
/// Extra digits the fixed-point steps carry past the result scale.
const GUARD_DIGITS: i64 = 12;

/// A decimal of any size: `digits / 10^scale`, `scale` at least zero.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Decimal {
    digits: BigInt,
    scale: i64,
}

impl Decimal {
    pub(crate) fn new(digits: BigInt, scale: i64) -> Self {
        Decimal { digits, scale: scale.max(0) }
    }

    pub(crate) fn integer(value: i64) -> Self {
        Decimal { digits: BigInt::from(value), scale: 0 }
    }

    /// A plain decimal's text (`-12.50`, `3`), at its written scale.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if !crate::value::is_plain_decimal(text) {
            return None;
        }
        let scale = text.split_once('.').map_or(0, |(_, f)| f.len());
        let digits: String = text.chars().filter(|c| *c != '.').collect();
        Some(Decimal { digits: digits.parse().ok()?, scale: i64::try_from(scale).ok()? })
    }

    pub(crate) fn from_exact(x: crate::exact_decimal::Exact) -> Self {
        Decimal::new(BigInt::from_signed_bytes_le(&x.value.to_le_bytes()), i64::from(x.scale))
    }

    /// A double as the numeric PostgreSQL casts it to (its shortest digits).
    pub(crate) fn from_f64(value: f64) -> Option<Self> {
        if !value.is_finite() {
            return None;
        }
        // Rust writes a double's shortest digits without an exponent.
        Decimal::parse(&format!("{value}"))
    }

    /// PostgreSQL's numeric text: the digits at the value's scale.
    pub(crate) fn text(&self) -> String {
        let magnitude = self.digits.magnitude().to_string();
        let scale = usize::try_from(self.scale).unwrap_or(0);
        let padded = if magnitude.len() <= scale { format!("{}{magnitude}", "0".repeat(scale + 1 - magnitude.len())) } else { magnitude };
        let (int, frac) = padded.split_at(padded.len() - scale);
        let sign = if self.digits.is_negative() { "-" } else { "" };
        if frac.is_empty() { format!("{sign}{int}") } else { format!("{sign}{int}.{frac}") }
    }

    pub(crate) fn to_i64(&self) -> Option<i64> {
        if self.scale == 0 { self.digits.to_i64() } else { None }
    }

    /// The digits of an integral value (scale 0).
    pub(crate) fn to_i128(&self) -> Option<i128> {
        if self.scale == 0 { self.digits.to_i128() } else { None }
    }

    /// PostgreSQL's `scale(x)` (the places written), or with `minimal` its `min_scale(x)`
    /// (the fewest that show the value exactly).
    pub(crate) fn places(&self, minimal: bool) -> i32 {
        let places = if minimal { self.trimmed().scale } else { self.scale };
        i32::try_from(places).unwrap_or(i32::MAX)
    }

    pub(crate) fn to_f64(&self) -> f64 {
        self.text().parse().unwrap_or(f64::NAN)
    }

    /// The digits at `scale`: exact at a scale at least the value's own, truncated below it.
    fn at_scale(&self, scale: i64) -> BigInt {
        if scale >= self.scale { &self.digits * pow10(scale - self.scale) } else { &self.digits / pow10(self.scale - scale) }
    }

    fn is_zero(&self) -> bool {
        self.digits.is_zero()
    }

    /// The value without the trailing zeros of its fraction.
    fn trimmed(&self) -> Decimal {
        let mut x = self.clone();
        let ten = BigInt::from(10);
        while x.scale > 0 && (&x.digits % &ten).is_zero() {
            x.digits /= &ten;
            x.scale -= 1;
        }
        x
    }

    /// The power of ten of the leading digit (`None` for zero).
    fn exponent(&self) -> Option<i64> {
        if self.is_zero() {
            return None;
        }
        let len = i64::try_from(self.digits.magnitude().to_string().len()).ok()?;
        Some(len - 1 - self.scale)
    }

    /// The weight of the leading base-10000 digit, numeric.c's `weight` (0 for zero).
    fn weight(&self) -> i64 {
        self.exponent().map_or(0, |e| e.div_euclid(4))
    }

    fn compare(&self, other: &Decimal) -> std::cmp::Ordering {
        let scale = self.scale.max(other.scale);
        self.at_scale(scale).cmp(&other.at_scale(scale))
    }
}

fn pow10(n: i64) -> BigInt {
    BigInt::from(10).pow(u32::try_from(n.max(0)).unwrap_or(u32::MAX))
}

/// `value / 10^drop`, half away from zero.
fn rounded_shift(value: &BigInt, drop: i64) -> BigInt {
    if drop <= 0 {
        return value * pow10(-drop);
    }
    let unit = pow10(drop);
    let (quotient, remainder) = value.magnitude().div_rem(unit.magnitude());
    let mut quotient = BigInt::from(quotient);
    if BigInt::from(remainder) * 2 >= unit {
        quotient += 1;
    }
    if value.is_negative() { -quotient } else { quotient }
}

/// How a value loses the digits past a scale.
#[derive(Clone, Copy, PartialEq)]
enum Rounding {
    HalfAway,
    TowardZero,
    Up,
    Down,
}

/// `x` at `places` decimal places (negative: tens, hundreds...), PostgreSQL's `round_var`
/// and `trunc_var`: the result's scale is `places`, or 0 when that is negative.
fn rescale(x: &Decimal, places: i64, rounding: Rounding) -> Decimal {
    let places = places.clamp(-MAX_RESULT_SCALE, MAX_RESULT_SCALE);
    if places >= x.scale {
        return Decimal::new(x.at_scale(places), places);
    }
    let unit = pow10(x.scale - places);
    let (quotient, remainder) = x.digits.magnitude().div_rem(unit.magnitude());
    let (mut quotient, remainder) = (BigInt::from(quotient), BigInt::from(remainder));
    let away = match rounding {
        Rounding::HalfAway => &remainder * 2 >= unit,
        Rounding::TowardZero => false,
        Rounding::Up => !remainder.is_zero() && !x.digits.is_negative(),
        Rounding::Down => !remainder.is_zero() && x.digits.is_negative(),
    };
    if away {
        quotient += 1;
    }
    let signed = if x.digits.is_negative() { -quotient } else { quotient };
    if places >= 0 { Decimal::new(signed, places) } else { Decimal::new(signed * pow10(-places), 0) }
}

/// Whether `name` is a function [`call`] computes, given `arity` arguments.
pub(crate) fn computes(name: &str, arity: usize) -> bool {
    matches!(
        (name, arity),
        ("abs" | "sign" | "ceil" | "ceiling" | "floor" | "trim_scale" | "sqrt" | "exp" | "ln" | "log10", 1)
            | ("round" | "trunc" | "log", 1 | 2)
            | ("mod" | "div" | "gcd" | "lcm" | "power" | "pow", 2)
    )
}

/// PostgreSQL's numeric function `name` of `args` (none NULL: the functions are strict).
///
/// # Errors
/// Those PostgreSQL raises: division by zero (22012), the square root of a negative number
/// (2201F), the logarithm of zero or a negative number (2201E), a power without a real
/// result (2201F), a result past numeric's range (22003).
pub(crate) fn call(name: &str, args: &[Decimal]) -> Result<Decimal, EngineError> {
    let places = |arg: Option<&Decimal>| {
        arg.map_or(0, |p| {
            let places = rescale(p, 0, Rounding::HalfAway).digits;
            places.to_i64().unwrap_or(if places.is_negative() { i64::MIN } else { i64::MAX })
        })
    };
    match (name, args) {
        ("abs", [x]) => Ok(Decimal::new(x.digits.abs(), x.scale)),
        ("sign", [x]) => Ok(Decimal::integer(x.digits.signum().to_i64().unwrap_or(0))),
        ("ceil" | "ceiling", [x]) => Ok(rescale(x, 0, Rounding::Up)),
        ("floor", [x]) => Ok(rescale(x, 0, Rounding::Down)),
        ("round", [x, rest @ ..]) => Ok(rescale(x, places(rest.first()), Rounding::HalfAway)),
        ("trunc", [x, rest @ ..]) => Ok(rescale(x, places(rest.first()), Rounding::TowardZero)),
        // Both truncate toward zero: the remainder at the larger scale, the quotient integral.
        ("mod" | "div", [x, y]) => {
            let scale = x.scale.max(y.scale);
            let divisor = y.at_scale(scale);
            if divisor.is_zero() {
                return Err(EngineError::DivisionByZero);
            }
            let dividend = x.at_scale(scale);
            Ok(if name == "mod" { Decimal::new(dividend % divisor, scale) } else { Decimal::new(dividend / divisor, 0) })
        }
        ("trim_scale", [x]) => Ok(x.trimmed()),
        ("gcd" | "lcm", [x, y]) => {
            let scale = x.scale.max(y.scale);
            let (a, b) = (x.at_scale(scale), y.at_scale(scale));
            let value = if name == "gcd" {
                a.gcd(&b)
            } else if a.is_zero() || b.is_zero() {
                BigInt::zero()
            } else {
                (&a * &b).abs() / a.gcd(&b)
            };
            Ok(Decimal::new(value, scale))
        }
        ("sqrt", [x]) => sqrt(x),
        ("exp", [x]) => exp(x),
        ("ln", [x]) => ln(x),
        ("log" | "log10", [x]) => log(&Decimal::integer(10), x),
        ("log", [base, x]) => log(base, x),
        ("power" | "pow", [base, exponent]) => power(base, exponent),
        _ => Err(EngineError::UndefinedFunction { name: format!("{name}(numeric)") }),
    }
}

impl Decimal {
    fn add(&self, other: &Decimal) -> Decimal {
        let scale = self.scale.max(other.scale);
        Decimal::new(self.at_scale(scale) + other.at_scale(scale), scale)
    }

    fn subtract(&self, other: &Decimal) -> Decimal {
        let scale = self.scale.max(other.scale);
        Decimal::new(self.at_scale(scale) - other.at_scale(scale), scale)
    }

    fn multiply(&self, other: &Decimal) -> Decimal {
        Decimal::new(&self.digits * &other.digits, self.scale + other.scale)
    }
}

/// numeric.c's `select_div_scale` of `x / y` (see [`crate::exact_decimal::select_div_scale`]).
fn division_scale(x: &Decimal, y: &Decimal) -> i64 {
    let scale = |d: &Decimal| i32::try_from(d.scale).unwrap_or(i32::MAX);
    i64::from(crate::exact_decimal::select_div_scale((&x.digits.to_string(), scale(x)), (&y.digits.to_string(), scale(y))))
}

/// The running sums of `stddev`, `variance` and their kin over integers or numerics, as
/// PostgreSQL's NumericAggState keeps them (exact, so rows can be taken back out too).
#[derive(Debug, Clone)]
pub(crate) struct Spread {
    pub(crate) count: i64,
    pub(crate) sum: Decimal,
    pub(crate) squares: Decimal,
}

impl Default for Spread {
    fn default() -> Self {
        Spread { count: 0, sum: Decimal::integer(0), squares: Decimal::integer(0) }
    }
}

impl Spread {
    pub(crate) fn add(&mut self, x: &Decimal) {
        self.count += 1;
        self.sum = self.sum.add(x);
        self.squares = self.squares.add(&x.multiply(x));
    }

    /// Takes a row back out (a sliding window frame moving on).
    pub(crate) fn remove(&mut self, x: &Decimal) {
        self.count -= 1;
        self.sum = self.sum.subtract(x);
        self.squares = self.squares.subtract(&x.multiply(x));
    }

    pub(crate) fn merge(&mut self, other: &Spread) {
        self.count += other.count;
        self.sum = self.sum.add(&other.sum);
        self.squares = self.squares.add(&other.squares);
    }

    /// `name`'s result (`stddev`, `stddev_samp`, `stddev_pop`, `variance`, `var_samp`,
    /// `var_pop`) as numeric_stddev_internal computes it: NULL without enough rows, zero for
    /// a numerator of zero, else the quotient at select_div_scale's places (and its square
    /// root at the same places).
    pub(crate) fn result(&self, name: &str) -> Option<Decimal> {
        let sample = !name.ends_with("_pop");
        let root = name.starts_with("stddev");
        if self.count <= i64::from(sample) {
            return None;
        }
        let n = Decimal::integer(self.count);
        let numerator = n.multiply(&self.squares).subtract(&self.sum.multiply(&self.sum));
        if numerator.digits.is_negative() || numerator.is_zero() {
            return Some(Decimal::integer(0));
        }
        let denominator = Decimal::integer(self.count).multiply(&Decimal::integer(if sample { self.count - 1 } else { self.count }));
        let scale = division_scale(&numerator, &denominator);
        // The scale is at least the numerator's: its digits there are exact.
        let variance = Decimal::new(divide_rounded(&numerator.at_scale(scale), &denominator.digits), scale);
        Some(if root { root_at(&variance, scale) } else { variance })
    }
}

/// `factorial(n)` exactly; 1 for 0 and 1.
///
/// # Errors
/// A negative `n` (22023), and a result past numeric's range (22003), as PostgreSQL's.
pub(crate) fn factorial(n: i64) -> Result<BigInt, EngineError> {
    if n < 0 {
        return Err(EngineError::InvalidArgument { message: "factorial of a negative number is undefined".into() });
    }
    // 32178! is the first with more digits than a numeric holds before its point; stopping
    // there keeps a huge argument from running for ever.
    if n > 32_177 {
        return Err(EngineError::NumericFormatOverflow);
    }
    Ok((2..=n).fold(BigInt::from(1), |product, k| product * k))
}

/// The result scale PostgreSQL clamps every function's to.
fn display_scale(scale: i64) -> i64 {
    scale.clamp(0, MAX_DISPLAY_SCALE)
}

fn sqrt(x: &Decimal) -> Result<Decimal, EngineError> {
    if x.digits.is_negative() {
        return Err(EngineError::SquareRootOfNegative);
    }
    // numeric_sqrt: 16 significant digits, no fewer places than the argument's.
    let sweight = (x.weight() + 1) * 4 / 2 - 1;
    let scale = display_scale((MIN_SIG_DIGITS - sweight).max(x.scale));
    Ok(root_at(x, scale))
}

/// The square root of a non-negative `x`, rounded at `scale` places.
fn root_at(x: &Decimal, scale: i64) -> Decimal {
    // The root's digits at one place past the scale, truncated, then rounded at the scale:
    // exact, as the root of an integer is.
    let radicand = x.at_scale(2 * (scale + 1));
    Decimal::new(rounded_shift(&radicand.sqrt(), 1), scale)
}

fn exp(x: &Decimal) -> Result<Decimal, EngineError> {
    let value = x.to_f64();
    if value.abs() >= EXP_LIMIT {
        if value > 0.0 {
            return Err(EngineError::NumericFormatOverflow);
        }
        return Ok(Decimal::new(BigInt::zero(), display_scale(MAX_DISPLAY_SCALE)));
    }
    // numeric_exp: 16 significant digits by the result's approximate decimal weight.
    let weight = (value * std::f64::consts::LOG10_E).clamp(-(MAX_RESULT_SCALE as f64), MAX_RESULT_SCALE as f64) as i64;
    let scale = display_scale((MIN_SIG_DIGITS - weight).max(x.scale));
    let precision = scale + GUARD_DIGITS;
    let argument = rounded_shift(&x.digits, x.scale - precision);
    Ok(Decimal::new(rounded_shift(&exp_fixed(&argument, precision), GUARD_DIGITS), scale))
}

fn ln(x: &Decimal) -> Result<Decimal, EngineError> {
    check_logarithm(x)?;
    // numeric_ln: 16 significant digits of the logarithm, by its estimated weight.
    let scale = display_scale((MIN_SIG_DIGITS - ln_weight(x)).max(x.scale));
    Ok(Decimal::new(rounded_shift(&ln_fixed(x, scale + GUARD_DIGITS), GUARD_DIGITS), scale))
}

fn check_logarithm(x: &Decimal) -> Result<(), EngineError> {
    if x.is_zero() {
        Err(EngineError::LogarithmOfZero)
    } else if x.digits.is_negative() {
        Err(EngineError::LogarithmOfNegative)
    } else {
        Ok(())
    }
}

/// numeric.c's `estimate_ln_dweight`: the decimal weight of `ln(x)`.
fn ln_weight(x: &Decimal) -> i64 {
    if x.digits.is_negative() || x.is_zero() {
        return 0;
    }
    let (low, high) = (Decimal::new(BigInt::from(9), 1), Decimal::new(BigInt::from(11), 1));
    if x.compare(&low).is_ge() && x.compare(&high).is_le() {
        // ln(1 + d) is about d.
        let d = Decimal::new(x.digits.clone() - pow10(x.scale), x.scale);
        return d.exponent().unwrap_or(0);
    }
    // The first two base-10000 digits and the power of ten they stand at.
    let at = 4 * x.weight() - 4;
    let leading = if x.scale + at >= 0 { x.digits.magnitude() / pow10(x.scale + at).magnitude() } else { x.digits.magnitude() * pow10(-(x.scale + at)).magnitude() };
    let leading = leading.to_f64().unwrap_or(1.0);
    let ln = leading.ln() + at as f64 * std::f64::consts::LN_10;
    ln.abs().log10() as i64
}

fn log(base: &Decimal, x: &Decimal) -> Result<Decimal, EngineError> {
    check_logarithm(base)?;
    check_logarithm(x)?;
    // log_var: 16 significant digits of the quotient of the two logarithms' weights.
    let (base_weight, x_weight) = (ln_weight(base), ln_weight(x));
    let scale = display_scale((MIN_SIG_DIGITS - (x_weight - base_weight)).max(base.scale).max(x.scale));
    // Enough digits of each logarithm for the quotient's: a base near one has a small one.
    let precision = scale + GUARD_DIGITS + (x_weight - base_weight).max(0) + (-base_weight).max(0);
    let (ln_base, ln_x) = (ln_fixed(base, precision), ln_fixed(x, precision));
    if ln_base.is_zero() {
        return Err(EngineError::DivisionByZero);
    }
    let quotient = divide_rounded(&(ln_x * pow10(scale + GUARD_DIGITS)), &ln_base);
    Ok(Decimal::new(rounded_shift(&quotient, GUARD_DIGITS), scale))
}

/// `n / d`, half away from zero.
fn divide_rounded(n: &BigInt, d: &BigInt) -> BigInt {
    let (quotient, remainder) = n.div_rem(d);
    if remainder.magnitude() * 2u32 >= *d.magnitude() {
        if n.is_negative() == d.is_negative() { quotient + 1 } else { quotient - 1 }
    } else {
        quotient
    }
}

fn power(base: &Decimal, exponent: &Decimal) -> Result<Decimal, EngineError> {
    let integral = exponent.trimmed();
    if base.is_zero() && exponent.digits.is_negative() {
        return Err(EngineError::ZeroToNegativePower);
    }
    if base.digits.is_negative() && integral.scale > 0 {
        return Err(EngineError::NegativeToFractionalPower);
    }
    // An integral exponent within int: PostgreSQL 15's power_var_int, at 16 places or the
    // base's.
    if integral.scale == 0
        && let Some(n) = integral.digits.to_i32()
    {
        let scale = display_scale(MIN_SIG_DIGITS.max(base.scale));
        return integer_power(base, i64::from(n), scale);
    }
    if base.is_zero() {
        return Ok(Decimal::new(BigInt::zero(), MIN_SIG_DIGITS));
    }
    power_by_logarithm(base, exponent, None)
}

/// `base ^ n` rounded at `scale`: exactly where the power has few enough digits.
fn integer_power(base: &Decimal, n: i64, scale: i64) -> Result<Decimal, EngineError> {
    if n == 0 {
        return Ok(Decimal::new(pow10(scale), scale));
    }
    if base.is_zero() {
        return Ok(Decimal::new(BigInt::zero(), scale));
    }
    let base = base.trimmed();
    let digits = i64::try_from(base.digits.magnitude().to_string().len()).unwrap_or(i64::MAX);
    // The result's approximate decimal weight, to refuse an overflow and to see an underflow
    // to zero before computing a power of millions of digits.
    let weight = n as f64 * log10_of(&base);
    if weight > MAX_INTEGER_DIGITS as f64 {
        return Err(EngineError::NumericFormatOverflow);
    }
    if weight < -((scale + 2) as f64) {
        return Ok(Decimal::new(BigInt::zero(), scale));
    }
    if digits.saturating_mul(n.abs()) > MAX_EXACT_POWER_DIGITS {
        // Past the exact limit only results the logarithm path reaches (up to about
        // 10^2600) are computed; PostgreSQL multiplies out larger ones too.
        return power_by_logarithm(&base, &Decimal::integer(n), Some(scale));
    }
    let exponent = u32::try_from(n.unsigned_abs()).unwrap_or(u32::MAX);
    let power = Decimal::new(base.digits.pow(exponent), base.scale * n.abs());
    if n > 0 {
        return Ok(rescale(&power, scale, Rounding::HalfAway));
    }
    // 1 / power at the scale: 10^(power's scale + scale) / its digits.
    Ok(Decimal::new(divide_rounded(&pow10(power.scale + scale), &power.digits), scale))
}

/// log10 of a positive value, in a double, for values past a double's range too.
fn log10_of(x: &Decimal) -> f64 {
    let Some(exponent) = x.exponent() else { return f64::NEG_INFINITY };
    // The leading 17 digits as a mantissa in [1, 10).
    let text = x.digits.magnitude().to_string();
    let lead: f64 = format!("{}.{}", &text[..1], &text[1..text.len().min(17)]).parse().unwrap_or(1.0);
    lead.log10() + exponent as f64
}

/// `exp(exponent * ln(base))` for a positive base (numeric.c's power_var), at `scale` or
/// at the scale power_var chooses.
fn power_by_logarithm(base: &Decimal, exponent: &Decimal, scale: Option<i64>) -> Result<Decimal, EngineError> {
    // A negative base has an integral exponent here: the power of its magnitude, negated
    // for an odd one.
    if base.digits.is_negative() {
        let magnitude = power_by_logarithm(&Decimal::new(base.digits.abs(), base.scale), exponent, scale)?;
        let odd = exponent.trimmed().digits.is_odd();
        return Ok(if odd { Decimal::new(-magnitude.digits, magnitude.scale) } else { magnitude });
    }
    // exponent * ln(base), from ln(base) at a few significant digits (a base within 1e-17 of
    // one has no logarithm a double of its leading digits shows), as power_var estimates it.
    let ln_digits = GUARD_DIGITS - ln_weight(base);
    let ln_result = Decimal::new(ln_fixed(base, ln_digits) * &exponent.digits, ln_digits + exponent.scale).to_f64();
    if !ln_result.is_finite() || ln_result.abs() >= EXP_LIMIT {
        if ln_result > 0.0 || ln_result.is_nan() {
            return Err(EngineError::NumericFormatOverflow);
        }
        return Ok(Decimal::new(BigInt::zero(), MAX_DISPLAY_SCALE));
    }
    let weight = (ln_result * std::f64::consts::LOG10_E) as i64;
    let scale = scale.unwrap_or_else(|| display_scale((MIN_SIG_DIGITS - weight).max(base.scale).max(exponent.scale)));
    // exp(y) is as precise as y is absolutely: y's digits past the result's scale, plus
    // those the result has before its point, plus the exponent's own magnitude.
    let exponent_digits = exponent.exponent().unwrap_or(0).max(0) + 1;
    let precision = scale + weight.max(0) + exponent_digits + GUARD_DIGITS;
    let ln_base = ln_fixed(base, precision);
    let product = rounded_shift(&(ln_base * &exponent.digits), exponent.scale);
    let result = exp_fixed(&product, precision);
    Ok(Decimal::new(rounded_shift(&result, precision - scale), scale))
}

/// `exp(x)` for `x` in fixed point at `precision` places, in fixed point at `precision`.
fn exp_fixed(x: &BigInt, precision: i64) -> BigInt {
    if x.is_negative() {
        // 1 / exp(-x): the quotient keeps the places.
        let positive = exp_fixed(&-x, precision);
        return divide_rounded(&pow10(2 * precision), &positive);
    }
    // exp(x) = exp(x / 2^k)^(2^k), with x / 2^k under 2^-8 so the series is short; the
    // squarings multiply the error by 2^k, and a large result needs its integer digits too.
    let one = pow10(precision);
    let halvings = (x.bits() as i64 - one.bits() as i64 + 8).max(0);
    let integer_digits = (x / &one).to_f64().map_or(0, |v| (v.min(EXP_LIMIT) * std::f64::consts::LOG10_E) as i64 + 1);
    let extra = GUARD_DIGITS + halvings * 3 / 10 + 1 + integer_digits.max(0);
    let working = precision + extra;
    let one = pow10(working);
    let reduced = (x * pow10(extra)) >> usize::try_from(halvings).unwrap_or(0);
    let mut sum = one.clone();
    let mut term = one.clone();
    let mut k = 1u32;
    loop {
        term = &term * &reduced / &one / k;
        if term.is_zero() {
            break;
        }
        sum += &term;
        k += 1;
    }
    for _ in 0..halvings {
        sum = &sum * &sum / &one;
    }
    rounded_shift(&sum, extra)
}

/// `ln(x)` for a positive `x`, in fixed point at `precision` places.
fn ln_fixed(x: &Decimal, precision: i64) -> BigInt {
    // ln(x) = ln(m) + e ln(10), m = x / 10^e in [0.1, 1).
    let e = x.exponent().unwrap_or(0) + 1;
    let extra = GUARD_DIGITS + 6 + (e.unsigned_abs().max(1) as f64).log10() as i64;
    let working = precision + extra;
    let m = if working - x.scale - e >= 0 { &x.digits * pow10(working - x.scale - e) } else { &x.digits / pow10(x.scale + e - working) };
    let mut ln = ln_reduced(m, working);
    if e != 0 {
        ln += ln_reduced(BigInt::from(10) * pow10(working), working) * e;
    }
    rounded_shift(&ln, extra)
}

/// `ln(m)` of a positive `m` in fixed point at `places`: square roots bring `m` near one
/// (each halves the logarithm), where `ln(m) = 2 atanh((m - 1) / (m + 1))` converges fast.
fn ln_reduced(mut m: BigInt, places: i64) -> BigInt {
    let one = pow10(places);
    let near = pow10(places - 3);
    let mut roots = 0usize;
    while (&m - &one).abs() > near {
        m = (&m * &one).sqrt();
        roots += 1;
    }
    let z = (&m - &one) * &one / (&m + &one);
    let z2 = &z * &z / &one;
    let mut sum = z.clone();
    let mut power = z;
    let mut k = 1u32;
    loop {
        power = &power * &z2 / &one;
        k += 2;
        let term = &power / k;
        if term.is_zero() {
            break;
        }
        sum += term;
    }
    (sum * 2) << roots
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(name: &str, args: &[&str]) -> String {
        let args: Vec<Decimal> = args.iter().map(|a| Decimal::parse(a).expect("decimal")).collect();
        match call(name, &args) {
            Ok(d) => d.text(),
            Err(e) => format!("{} {e}", e.sqlstate()),
        }
    }

    /// Expected values are PostgreSQL 15's answers.
    #[test]
    fn rounding_family() {
        assert_eq!(run("round", &["2.675", "2"]), "2.68");
        assert_eq!(run("round", &["1.005", "2"]), "1.01");
        assert_eq!(run("round", &["-2.675", "2"]), "-2.68");
        assert_eq!(run("round", &["12.50", "-1"]), "10");
        assert_eq!(run("round", &["-3.25", "-1"]), "0");
        assert_eq!(run("round", &["1.5", "3"]), "1.500");
        assert_eq!(run("round", &["-0.5"]), "-1");
        assert_eq!(run("trunc", &["100.00", "1"]), "100.0");
        assert_eq!(run("trunc", &["-2.675", "-1"]), "0");
        assert_eq!(run("trunc", &["1234567.895", "-1"]), "1234560");
        assert_eq!(run("ceil", &["-1.5"]), "-1");
        assert_eq!(run("ceil", &["2.000"]), "2");
        assert_eq!(run("floor", &["-1.5"]), "-2");
        assert_eq!(run("sign", &["-2.5"]), "-1");
        assert_eq!(run("abs", &["-2.50"]), "2.50");
    }

    #[test]
    fn division_family() {
        assert_eq!(run("mod", &["7.5", "2"]), "1.5");
        assert_eq!(run("mod", &["-2.675", "0.1"]), "-0.075");
        assert_eq!(run("div", &["7", "2"]), "3");
        assert_eq!(run("div", &["-7", "2"]), "-3");
        assert_eq!(run("div", &["1", "0"]), "22012 division by zero");
        assert_eq!(run("trim_scale", &["1.500"]), "1.5");
        assert_eq!(run("gcd", &["12", "18"]), "6");
        let spread = |values: &[&str], name: &str| {
            let mut state = Spread::default();
            values.iter().for_each(|v| state.add(&Decimal::parse(v).unwrap()));
            state.result(name).map(|d| d.text())
        };
        // PostgreSQL 15's answers.
        assert_eq!(spread(&["3", "7"], "variance").as_deref(), Some("8.0000000000000000"));
        assert_eq!(spread(&["3", "7"], "stddev").as_deref(), Some("2.8284271247461901"));
        assert_eq!(spread(&["10.50", "20.25", "5.00", "100.99"], "stddev_pop").as_deref(), Some("38.9545751484982827"));
        assert_eq!(spread(&["10.50", "20.25", "5.00", "100.99"], "var_samp").as_deref(), Some("2023.2785666666666667"));
        assert_eq!(spread(&["5"], "var_pop").as_deref(), Some("0"));
        assert_eq!(spread(&["5"], "stddev_samp"), None);
        let mut taken_back = Spread::default();
        ["1", "2", "4"].iter().for_each(|v| taken_back.add(&Decimal::parse(v).unwrap()));
        taken_back.remove(&Decimal::parse("1").unwrap());
        assert_eq!(taken_back.result("var_samp").map(|d| d.text()).as_deref(), Some("2.0000000000000000"));
        assert_eq!(run("gcd", &["1.5", "0.6"]), "0.3");
        assert_eq!(run("lcm", &["4", "6"]), "12");
        assert_eq!(run("lcm", &["-4", "0"]), "0");
    }

    #[test]
    fn transcendental_functions() {
        assert_eq!(run("sqrt", &["2.0"]), "1.414213562373095");
        assert_eq!(run("sqrt", &["12.50"]), "3.535533905932738");
        assert_eq!(run("sqrt", &["100"]), "10.000000000000000");
        assert_eq!(run("sqrt", &["-1"]), "2201F cannot take square root of a negative number");
        assert_eq!(run("exp", &["1.0"]), "2.7182818284590452");
        assert_eq!(run("exp", &["0.12500000000000000000"]), "1.13314845306682631683");
        assert_eq!(run("ln", &["2.0"]), "0.6931471805599453");
        assert_eq!(run("ln", &["12.50"]), "2.5257286443082554");
        assert_eq!(run("ln", &["100.00"]), "4.6051701859880914");
        assert_eq!(run("ln", &["0"]), "2201E cannot take logarithm of zero");
        assert_eq!(run("log", &["2", "8"]), "3.0000000000000000");
        assert_eq!(run("log", &["100.0"]), "2.0000000000000000");
        assert_eq!(run("power", &["2.5", "2"]), "6.2500000000000000");
        assert_eq!(run("power", &["100.00", "2"]), "10000.0000000000000000");
        assert_eq!(run("power", &["2.0", "0.5"]), "1.4142135623730950");
        assert_eq!(run("power", &["0.0", "0"]), "1.0000000000000000");
        assert_eq!(run("power", &["0", "-1"]), "2201F zero raised to a negative power is undefined");
        assert_eq!(run("power", &["-2", "0.5"]), "2201F a negative number raised to a non-integer power yields a complex result");
        assert_eq!(run("ln", &["1.01"]), "0.009950330853168083");
        assert_eq!(run("ln", &["50000"]), "10.819778284410283");
        assert_eq!(run("ln", &["0.00001"]), "-11.512925464970228");
        assert_eq!(run("power", &["2", "0.50000000000000000000"]), "1.41421356237309504880");
        assert_eq!(run("power", &["-2", "3.0"]), "-8.0000000000000000");
        assert_eq!(run("power", &["1.00000000000000000001", "10000000000000000000000000000"]), "22003 value overflows numeric format");
        assert_eq!(run("power", &["0.99999999999999999999", "-10000000000000000000000000000"]), "22003 value overflows numeric format");
        assert_eq!(run("exp", &["6000"]), "22003 value overflows numeric format");
        assert!(run("power", &["2", "10000"]).starts_with("1995063116880758384883742162683585083823496831886192454852008949852943"));
        assert_eq!(run("sqrt", &["4.0000"]), "2.000000000000000");
    }
}
