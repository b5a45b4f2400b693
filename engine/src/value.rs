//! Parsing and formatting of rhei's storage forms shared by the OLTP and OLAP sides: civil dates
//! (days since 1970-01-01), timestamps (microseconds since the epoch, UTC), exact decimals as
//! scaled integers, and PostgreSQL's float8 text output.

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month, day) of a day number.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if month <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, month, day)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

fn parse_ymd(s: &str) -> Option<(i64, u32, u32)> {
    let mut parts = s.splitn(3, '-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    ((1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month)).then_some((year, month, day))
}

/// Parses `YYYY-MM-DD` (a time part after it is ignored) to days since the epoch.
pub fn parse_date_days(s: &str) -> Option<i32> {
    let s = s.trim();
    let date = s.split([' ', 'T']).next()?;
    let (y, m, d) = parse_ymd(date)?;
    i32::try_from(days_from_civil(y, m, d)).ok()
}

/// Parses `YYYY-MM-DD[ HH:MM[:SS[.ffffff]]][zone]` to microseconds since the epoch, UTC.
/// A zone (`Z`, `+HH`, `+HH:MM`, `-HHMM`) is applied; without one the text is taken as UTC.
pub fn parse_timestamp_micros(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, rest) = match s.find([' ', 'T']) {
        Some(i) => (&s[..i], s[i + 1..].trim()),
        None => (s, ""),
    };
    let (y, m, d) = parse_ymd(date)?;
    let mut micros = days_from_civil(y, m, d).checked_mul(MICROS_PER_DAY)?;
    if rest.is_empty() {
        return Some(micros);
    }
    let zone_at = rest.find(['+', '-', 'Z', 'z']).or_else(|| rest.find(' ')).unwrap_or(rest.len());
    let (time, zone) = rest.split_at(zone_at);
    let mut fields = time.trim().splitn(3, ':');
    let hour: i64 = fields.next()?.parse().ok()?;
    let minute: i64 = fields.next()?.parse().ok()?;
    let (sec, frac) = match fields.next() {
        Some(sec) => match sec.split_once('.') {
            Some((s, f)) => (s.parse::<i64>().ok()?, f),
            None => (sec.parse::<i64>().ok()?, ""),
        },
        None => (0, ""),
    };
    if hour > 24 || minute > 59 || sec > 60 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut frac_micros: i64 = 0;
    for (i, b) in frac.bytes().take(6).enumerate() {
        frac_micros += i64::from(b - b'0') * 10i64.pow(5 - i as u32);
    }
    if frac.len() > 6 && frac.as_bytes()[6] >= b'5' {
        frac_micros += 1;
    }
    micros += ((hour * 60 + minute) * 60 + sec) * 1_000_000 + frac_micros;
    micros -= zone_offset_seconds(zone.trim())? * 1_000_000;
    Some(micros)
}

/// Seconds east of UTC of a zone suffix: empty, `Z`, `UTC`, `+HH`, `+HHMM`, `+HH:MM`.
pub fn zone_offset_seconds(zone: &str) -> Option<i64> {
    if zone.is_empty() || zone.eq_ignore_ascii_case("z") || zone.eq_ignore_ascii_case("utc") {
        return Some(0);
    }
    let (sign, body) = match zone.as_bytes().first()? {
        b'+' => (1, &zone[1..]),
        b'-' => (-1, &zone[1..]),
        _ => return None,
    };
    let digits: String = body.chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m) = match digits.len() {
        1 | 2 => (digits.parse::<i64>().ok()?, 0),
        4 => (digits[..2].parse::<i64>().ok()?, digits[2..].parse::<i64>().ok()?),
        _ => return None,
    };
    (h <= 15 && m < 60).then_some(sign * (h * 3600 + m * 60))
}

/// Parses a decimal text (`-12.345`, `1e3`) to an integer scaled by `10^scale`, rounding half
/// away from zero as PostgreSQL's numeric does.
pub fn parse_decimal(s: &str, scale: i8) -> Option<i128> {
    let s = s.trim();
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], s[i + 1..].parse::<i32>().ok()?),
        None => (s, 0),
    };
    let (negative, digits) = match mantissa.as_bytes().first()? {
        b'-' => (true, &mantissa[1..]),
        b'+' => (false, &mantissa[1..]),
        _ => (false, mantissa),
    };
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_part.bytes().chain(frac_part.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    // All digits as one integer, with the decimal point `point` digits from the right.
    let all: String = format!("{int_part}{frac_part}");
    let point = frac_part.len() as i32 - exp;
    let shift = i32::from(scale) - point;
    let all = all.trim_start_matches('0');
    let mut value: i128 = 0;
    let (kept, dropped) = if shift >= 0 {
        (all, "")
    } else {
        let cut = all.len().saturating_sub((-shift) as usize);
        all.split_at(cut)
    };
    for b in kept.bytes() {
        value = value.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
    }
    if shift > 0 {
        value = value.checked_mul(10i128.checked_pow(shift as u32)?)?;
    } else if shift < 0 && (-shift) as usize > all.len() {
        // Every digit is below the kept scale: only rounding of the first can matter.
        let below = (-shift) as usize - all.len();
        if below == 0 && dropped.as_bytes().first().is_some_and(|b| *b >= b'5') {
            value += 1;
        }
    } else if dropped.as_bytes().first().is_some_and(|b| *b >= b'5') {
        value += 1;
    }
    Some(if negative { -value } else { value })
}

/// Formats an exact decimal scaled integer as text with exactly `scale` fraction digits.
pub fn format_decimal(value: i128, scale: i8) -> String {
    let negative = value < 0;
    let digits = value.unsigned_abs().to_string();
    let scale = scale.max(0) as usize;
    let mut out = String::with_capacity(digits.len() + 3);
    if negative {
        out.push('-');
    }
    if scale == 0 {
        out.push_str(&digits);
    } else if digits.len() > scale {
        out.push_str(&digits[..digits.len() - scale]);
        out.push('.');
        out.push_str(&digits[digits.len() - scale..]);
    } else {
        out.push_str("0.");
        out.push_str(&"0".repeat(scale - digits.len()));
        out.push_str(&digits);
    }
    out
}

/// PostgreSQL's date output (`2024-02-29`; years before 1 AD are not produced by rhei).
pub fn format_date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// PostgreSQL's timestamp output: `2024-01-02 03:04:05`, with a fraction only when there is
/// one (`.25`, trailing zeros dropped).
pub fn format_timestamp(micros: i64) -> String {
    let days = micros.div_euclid(MICROS_PER_DAY);
    let in_day = micros.rem_euclid(MICROS_PER_DAY);
    let secs = in_day / 1_000_000;
    let frac = in_day % 1_000_000;
    let mut out = format!("{} {:02}:{:02}:{:02}", format_date(days), secs / 3600, secs / 60 % 60, secs % 60);
    if frac != 0 {
        let digits = format!("{frac:06}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out
}

/// PostgreSQL's timestamptz output for a zone `offset_secs` east of UTC: the local time, then
/// `+HH`, or `+HH:MM` when the offset has minutes.
pub fn format_timestamptz(micros: i64, offset_secs: i64) -> String {
    let local = format_timestamp(micros + offset_secs * 1_000_000);
    let sign = if offset_secs < 0 { '-' } else { '+' };
    let abs = offset_secs.abs();
    if abs % 3600 == 0 {
        format!("{local}{sign}{:02}", abs / 3600)
    } else {
        format!("{local}{sign}{:02}:{:02}", abs / 3600, abs / 60 % 60)
    }
}

/// PostgreSQL's float8 text output (shortest text that reads back to the same value):
/// `1.5`, `1e+20`, `1e-05`, `NaN`, `Infinity`.
pub fn format_float8(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let exp = v.abs().log10().floor() as i32;
    if (-4..15).contains(&exp) {
        let s = format!("{v}");
        return s;
    }
    // Scientific with at least two exponent digits, as printf's %g does.
    let s = format!("{v:e}");
    let (mantissa, e) = s.split_once('e').expect("{:e} output has an exponent");
    let e: i32 = e.parse().expect("{:e} exponent is an integer");
    format!("{mantissa}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
}

/// Now, in microseconds since the Unix epoch (rhei's timestamp storage form).
pub fn now_micros() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64)
}

/// PostgreSQL's float4 text output: the shortest digits that read back as the same `f32`,
/// written as float8 text writes them.
pub fn format_float4(v: f32) -> String {
    if v.is_finite() && v != 0.0 {
        let shortest = format!("{v}");
        if let Ok(back) = shortest.parse::<f64>() {
            return format_float8(back);
        }
    }
    format_float8(f64::from(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip_including_before_1970() {
        for days in [-719_468, -1, 0, 1, 19_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(parse_date_days("2024-02-29"), Some(19_782));
        assert_eq!(parse_date_days("2023-02-29"), None);
        assert_eq!(parse_date_days("1969-12-31"), Some(-1));
    }

    #[test]
    fn timestamps_parse_with_fractions_and_zones() {
        assert_eq!(parse_timestamp_micros("1970-01-01 00:00:01.5"), Some(1_500_000));
        assert_eq!(parse_timestamp_micros("1970-01-01T01:00:00+01"), Some(0));
        assert_eq!(parse_timestamp_micros("1970-01-01 00:00:00-05:30"), Some(19_800_000_000));
        assert_eq!(parse_timestamp_micros("1969-12-31 23:59:59Z"), Some(-1_000_000));
        assert_eq!(parse_timestamp_micros("2024-01-01"), Some(1_704_067_200_000_000));
        assert_eq!(parse_timestamp_micros("nonsense"), None);
    }

    #[test]
    fn decimals_round_half_away_from_zero() {
        assert_eq!(parse_decimal("12.345", 2), Some(1235));
        assert_eq!(parse_decimal("-12.345", 2), Some(-1235));
        assert_eq!(parse_decimal("1.5e2", 0), Some(150));
        assert_eq!(parse_decimal("0.004", 2), Some(0));
        assert_eq!(parse_decimal("0.005", 2), Some(1));
        assert_eq!(parse_decimal("12345678901234567890.12", 2), Some(1_234_567_890_123_456_789_012));
        assert_eq!(parse_decimal("abc", 2), None);
        assert_eq!(format_decimal(-5, 2), "-0.05");
        assert_eq!(format_decimal(1250, 2), "12.50");
    }

    #[test]
    fn float8_prints_like_postgres() {
        assert_eq!(format_float8(1.5), "1.5");
        assert_eq!(format_float8(1e20), "1e+20");
        assert_eq!(format_float8(1e-5), "1e-05");
        assert_eq!(format_float8(0.0001), "0.0001");
        assert_eq!(format_float8(f64::NAN), "NaN");
        assert_eq!(format_float8(100.0), "100");
    }
}

/// The column type whose PostgreSQL input rules read a parameter of Arrow type `ty` (the type
/// Describe inferred for it).
fn input_type(ty: &arrow::datatypes::DataType) -> Option<crate::catalog::PgType> {
    use crate::catalog::PgType as P;
    use arrow::datatypes::DataType as D;
    Some(match ty {
        D::Int16 => P::Int2,
        D::Int32 => P::Int4,
        D::Int64 => P::Int8,
        D::Float32 => P::Float4,
        D::Float64 => P::Float8,
        D::Decimal128(p, s) => P::Numeric { precision: Some(*p), scale: Some(*s) },
        D::Utf8 | D::LargeUtf8 | D::Utf8View => P::Text,
        D::Boolean => P::Bool,
        D::Date32 => P::Date,
        D::Timestamp(_, None) => P::Timestamp,
        D::Timestamp(_, Some(_)) => P::Timestamptz,
        D::Binary | D::LargeBinary | D::BinaryView => P::Bytea,
        _ => return None,
    })
}

/// A parameter sent as PostgreSQL text, read as a value of Arrow type `target` with
/// PostgreSQL's input rules (the same ones INSERT applies), in a session whose TimeZone is
/// `tz_offset_secs` east of UTC. A target rhei has no input rules for keeps the text.
///
/// # Errors
/// The input error PostgreSQL gives for the text (22P02, 22003, 22007, 22008).
pub fn parameter_from_text(
    text: &str,
    target: &arrow::datatypes::DataType,
    tz_offset_secs: i32,
) -> crate::error::Result<datafusion::common::ScalarValue> {
    use arrow::datatypes::DataType as D;
    use datafusion::common::ScalarValue as S;
    use rusqlite::types::Value as V;
    let Some(ty) = input_type(target) else { return Ok(S::Utf8(Some(text.to_string()))) };
    let stored = crate::oltp::functions::storage_value_in(ty, text, tz_offset_secs)?;
    let bad = || crate::error::EngineError::InvalidTextRepresentation { type_name: ty.pg_name(), value: text.to_string() };
    Ok(match (stored, target) {
        (V::Null, other) => S::try_from(other).map_err(|_| bad())?,
        (V::Integer(i), D::Int16) => S::Int16(Some(i16::try_from(i).map_err(|_| bad())?)),
        (V::Integer(i), D::Int32) => S::Int32(Some(i32::try_from(i).map_err(|_| bad())?)),
        (V::Integer(i), D::Int64) => S::Int64(Some(i)),
        (V::Integer(i), D::Boolean) => S::Boolean(Some(i != 0)),
        (V::Integer(i), D::Date32) => S::Date32(Some(i32::try_from(i).map_err(|_| bad())?)),
        (V::Integer(i), D::Timestamp(_, zone)) => S::TimestampMicrosecond(Some(i), zone.clone()),
        (V::Real(f), D::Float32) => S::Float32(Some(f as f32)),
        (V::Real(f), D::Float64) => S::Float64(Some(f)),
        (V::Integer(i), D::Float32) => S::Float32(Some(i as f32)),
        (V::Integer(i), D::Float64) => S::Float64(Some(i as f64)),
        (V::Text(t), D::Decimal128(p, s)) => S::Decimal128(Some(parse_decimal(&t, *s).ok_or_else(bad)?), *p, *s),
        (V::Text(t), _) => S::Utf8(Some(t)),
        (V::Blob(b), _) => S::Binary(Some(b)),
        _ => return Err(bad()),
    })
}
