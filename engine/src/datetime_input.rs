//! PostgreSQL's `to_date(text, pattern)` and `to_timestamp(text, pattern)`: a date or time read
//! by a `to_char`-style pattern (`YYYY-MM-DD`, `DD Mon YYYY HH12:MI AM`, `YYYYMMDD`). One reader
//! for both engines (SQLite functions in `oltp::functions`, DataFusion UDFs in `olap::udf`).
//!
//! As PostgreSQL outside `FX` mode: a separator in the pattern (anything but a letter or digit)
//! matches one separator in the text or none, blanks in the text before a field are skipped, a
//! number field reads up to its width of digits (more for the year when a separator follows),
//! and `FM`, `TH` and `Dy`/`Day` are read and ignored. Fields it does not know (time zones,
//! ISO weeks, Roman numerals, `CC`, `J`) are 0A000.

use crate::error::{EngineError, Result};
use crate::value::{MICROS_PER_DAY, days_from_civil};

/// What a pattern read: a local date and time, each field as written or its default.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fields {
    year: Option<i64>,
    month: i64,
    day: i64,
    day_of_year: Option<i64>,
    hour: i64,
    minute: i64,
    second: i64,
    micros: i64,
    /// `Some(true)` after PM, `Some(false)` after AM: the hour is on a 12-hour clock.
    pm: Option<bool>,
}

const MONTHS: [&str; 12] = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"];
const DAYS: [&str; 7] = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];

/// The pattern's fields, longest first so `HH24` is not read as `HH`.
const FIELDS: [&str; 28] = [
    "A.M.", "P.M.", "a.m.", "p.m.", "HH24", "HH12", "MONTH", "YYYY", "DDD", "YYY", "MON", "DAY", "HH", "MI", "SS", "MS", "US",
    "AM", "PM", "YY", "MM", "DY", "DD", "TH", "FM", "FX", "Y", "D",
];
/// Fields PostgreSQL has that rhei does not read.
const UNSUPPORTED: [&str; 14] = ["TZH", "TZM", "TZ", "OF", "IYYY", "IDDD", "IYY", "IW", "ID", "CC", "WW", "RM", "J", "Q"];

/// The text at a field that does not read: its letters and digits up to a separator.
fn bad_value(text: &str, field: &str) -> EngineError {
    let value: String = text.trim_start().chars().take_while(|c| c.is_alphanumeric()).collect();
    let value = if value.is_empty() { text.trim_start().chars().take(1).collect() } else { value };
    EngineError::InvalidPatternValue { value, field: field.to_string() }
}

/// Reads up to `width` digits (`None`: as many as there are) at the front of `text`, after
/// blanks; the number and the rest.
fn number<'t>(text: &'t str, width: Option<usize>, field: &str) -> Result<(i64, &'t str)> {
    let text = text.trim_start();
    let (sign, digits_from) = match text.strip_prefix('-') {
        Some(rest) if field.starts_with('Y') => (-1, rest),
        _ => (1, text),
    };
    let run = digits_from.bytes().take_while(u8::is_ascii_digit).count();
    let take = width.map_or(run, |w| run.min(w));
    if take == 0 {
        return Err(bad_value(digits_from, field));
    }
    let value: i64 = digits_from[..take].parse().map_err(|_| bad_value(&digits_from[..take], field))?;
    Ok((sign * value, &digits_from[take..]))
}

/// A name from `names` (or its first three letters) at the front of `text`, ignoring case; its
/// index and the rest.
fn name<'t>(text: &'t str, names: &[&str], abbreviated: bool, field: &str) -> Result<(usize, &'t str)> {
    let text = text.trim_start();
    for (i, full) in names.iter().enumerate() {
        let written = if abbreviated { &full[..3] } else { full };
        if text.len() >= written.len() && text.is_char_boundary(written.len()) && text[..written.len()].eq_ignore_ascii_case(written) {
            return Ok((i, &text[written.len()..]));
        }
    }
    Err(bad_value(text, field))
}

/// Whether the pattern after a field starts with another number field, so that field must keep
/// to its width (`YYYYMMDD`).
fn number_follows(pattern: &str) -> bool {
    pattern.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) && !pattern.to_ascii_uppercase().starts_with("TH")
}

fn read(text: &str, pattern: &str) -> Result<Fields> {
    let mut fields = Fields { year: None, month: 1, day: 1, day_of_year: None, hour: 0, minute: 0, second: 0, micros: 0, pm: None };
    let (mut text, mut rest) = (text, pattern);
    while let Some(c) = rest.chars().next() {
        if c == '"' {
            // Quoted text in the pattern skips as many characters of the input.
            let body = &rest[1..];
            let end = body.find('"').unwrap_or(body.len());
            for _ in body[..end].chars() {
                let mut chars = text.chars();
                chars.next();
                text = chars.as_str();
            }
            rest = body.get(end + 1..).unwrap_or("");
            continue;
        }
        if !c.is_ascii_alphanumeric() {
            // A separator matches the text's blanks and one other separator, or none.
            rest = &rest[c.len_utf8()..];
            text = text.trim_start();
            if let Some(next) = text.chars().next()
                && !next.is_ascii_alphanumeric()
            {
                text = &text[next.len_utf8()..];
            }
            continue;
        }
        let upper = rest.to_ascii_uppercase();
        if let Some(unsupported) = UNSUPPORTED.iter().find(|f| upper.starts_with(*f)) {
            return Err(EngineError::unsupported(format!("the to_date/to_timestamp pattern field \"{unsupported}\"")));
        }
        // Text that ends before the pattern leaves the rest of the fields at their defaults.
        if text.trim().is_empty() {
            break;
        }
        let Some(field) = FIELDS.iter().find(|f| upper.starts_with(&f.to_ascii_uppercase())) else {
            // Another letter or digit of the pattern matches itself, or skips one character.
            rest = &rest[c.len_utf8()..];
            let mut chars = text.trim_start().chars();
            chars.next();
            text = chars.as_str();
            continue;
        };
        // As written in the pattern, for errors (`Mon`, not `MON`).
        let written = &rest[..field.len()];
        rest = &rest[field.len()..];
        let fixed = number_follows(rest);
        let field = written;
        let width = |w: usize| if fixed { Some(w) } else { None };
        match field.to_ascii_uppercase().as_str() {
            "FM" | "FX" => {}
            "TH" => {
                let trimmed = text.trim_start();
                if trimmed.len() >= 2 && trimmed.is_char_boundary(2) && ["st", "nd", "rd", "th"].iter().any(|s| trimmed[..2].eq_ignore_ascii_case(s)) {
                    text = &trimmed[2..];
                }
            }
            "YYYY" => (fields.year, text) = number(text, width(4), field).map(|(y, t)| (Some(y), t))?,
            "YYY" => (fields.year, text) = number(text, Some(3), field).map(|(y, t)| (Some(y + if y < 100 { 2000 } else { 1000 }), t))?,
            "YY" => (fields.year, text) = number(text, Some(2), field).map(|(y, t)| (Some(y + if y < 70 { 2000 } else { 1900 }), t))?,
            "Y" => (fields.year, text) = number(text, Some(1), field).map(|(y, t)| (Some(y + 2000), t))?,
            "MM" => (fields.month, text) = number(text, Some(2), field)?,
            "DD" => (fields.day, text) = number(text, Some(2), field)?,
            "DDD" => (fields.day_of_year, text) = number(text, Some(3), field).map(|(d, t)| (Some(d), t))?,
            "D" => (_, text) = number(text, Some(1), field)?,
            "HH24" | "HH12" | "HH" => {
                (fields.hour, text) = number(text, Some(2), field)?;
                if !field.eq_ignore_ascii_case("HH24") && fields.pm.is_none() {
                    fields.pm = Some(false);
                }
            }
            "MI" => (fields.minute, text) = number(text, Some(2), field)?,
            "SS" => (fields.second, text) = number(text, Some(2), field)?,
            "MS" | "US" => {
                let digits = if field.eq_ignore_ascii_case("MS") { 3 } else { 6 };
                let trimmed = text.trim_start();
                let run = trimmed.bytes().take_while(u8::is_ascii_digit).count().min(digits);
                let (value, after) = number(trimmed, Some(digits), field)?;
                // The digits are a fraction of a second: `.5` read by MS is 500 ms, by US 500000 µs.
                let scaled = value * 10_i64.pow((digits - run) as u32);
                fields.micros = if digits == 3 { scaled * 1000 } else { scaled };
                text = after;
            }
            "AM" | "PM" | "A.M." | "P.M." => {
                let trimmed = text.trim_start();
                let dotted = field.contains('.');
                let len = if dotted { 4 } else { 2 };
                let meridiem = trimmed.get(..len).ok_or_else(|| bad_value(trimmed, field))?;
                fields.pm = Some(match meridiem.to_ascii_uppercase().as_str() {
                    "AM" | "A.M." => false,
                    "PM" | "P.M." => true,
                    _ => return Err(bad_value(meridiem, field)),
                });
                text = &trimmed[len..];
            }
            "MONTH" => (fields.month, text) = name(text, &MONTHS, false, field).map(|(m, t)| (m as i64 + 1, t))?,
            "MON" => (fields.month, text) = name(text, &MONTHS, true, field).map(|(m, t)| (m as i64 + 1, t))?,
            "DAY" => (_, text) = name(text, &DAYS, false, field)?,
            "DY" => (_, text) = name(text, &DAYS, true, field)?,
            _ => {}
        }
    }
    Ok(fields)
}

/// The local microseconds since 1970 of `text` read by `pattern`.
fn local_micros(text: &str, pattern: &str) -> Result<i64> {
    let fields = read(text, pattern)?;
    let out_of_range = || EngineError::DatetimeFieldOverflow { value: text.to_string() };
    let mut hour = fields.hour;
    if let Some(pm) = fields.pm {
        if !(1..=12).contains(&hour) {
            return Err(EngineError::TwelveHourClock { hour });
        }
        hour = hour % 12 + if pm { 12 } else { 0 };
    }
    if !(0..24).contains(&hour) || !(0..60).contains(&fields.minute) || !(0..60).contains(&fields.second) {
        return Err(out_of_range());
    }
    let year = fields.year.unwrap_or(1);
    // Year 0 does not exist: -1 is 1 BC, which the proleptic calendar counts as 0.
    let year = if year < 0 { year + 1 } else { year };
    let days = match fields.day_of_year {
        Some(d) if (1..=366).contains(&d) => days_from_civil(year, 1, 1) + d - 1,
        Some(_) => return Err(out_of_range()),
        None => {
            let (Ok(month @ 1..=12), Ok(day)) = (u32::try_from(fields.month), u32::try_from(fields.day)) else { return Err(out_of_range()) };
            if day < 1 || day > crate::value::days_in_month(year, month) {
                return Err(out_of_range());
            }
            days_from_civil(year, month, day)
        }
    };
    Ok(days * MICROS_PER_DAY + ((hour * 60 + fields.minute) * 60 + fields.second) * 1_000_000 + fields.micros)
}

/// `to_date(text, pattern)`: the day `text` names, read by `pattern`; a time in it is dropped.
///
/// # Errors
/// Text that does not fit the pattern (22007), a field out of range (22008), a pattern field
/// rhei does not read (0A000).
pub fn to_date(text: &str, pattern: &str) -> Result<i64> {
    Ok(local_micros(text, pattern)?.div_euclid(MICROS_PER_DAY))
}

/// `to_timestamp(text, pattern)`: the wall-clock time `text` names, read by `pattern`, as local
/// microseconds (the caller puts it in the session's zone).
///
/// # Errors
/// As [`to_date`].
pub fn to_timestamp_local(text: &str, pattern: &str) -> Result<i64> {
    local_micros(text, pattern)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str, pattern: &str) -> String {
        crate::value::format_date(to_date(text, pattern).expect("a date"))
    }

    fn timestamp(text: &str, pattern: &str) -> String {
        crate::value::format_timestamp(to_timestamp_local(text, pattern).expect("a timestamp"))
    }

    /// Each expected text is what PostgreSQL 15 answered.
    #[test]
    fn patterns_read_as_in_postgresql() {
        assert_eq!(date("2024-03-05", "YYYY-MM-DD"), "2024-03-05");
        assert_eq!(date("20240305", "YYYYMMDD"), "2024-03-05");
        assert_eq!(date("05 Mar 2024", "DD Mon YYYY"), "2024-03-05");
        assert_eq!(date("March 5, 2024", "Month DD, YYYY"), "2024-03-05");
        assert_eq!(date("5/3/24", "DD/MM/YY"), "2024-03-05");
        assert_eq!(date("2024 065", "YYYY DDD"), "2024-03-05");
        assert_eq!(date("Tuesday 2024-03-05", "Day YYYY-MM-DD"), "2024-03-05");
        assert_eq!(date("2024-03-05 23:10", "YYYY-MM-DD"), "2024-03-05");
        assert_eq!(timestamp("2024-03-05 10:11", "YYYY-MM-DD HH24:MI"), "2024-03-05 10:11:00");
        assert_eq!(timestamp("2024-03-05 12:30:15 AM", "YYYY-MM-DD HH12:MI:SS AM"), "2024-03-05 00:30:15");
        assert_eq!(timestamp("2024-03-05 01:30 p.m.", "YYYY-MM-DD HH:MI a.m."), "2024-03-05 13:30:00");
        assert_eq!(timestamp("2024-03-05 10:11:12.5", "YYYY-MM-DD HH24:MI:SS.MS"), "2024-03-05 10:11:12.5");
        assert_eq!(timestamp("2024-03-05 10:11:12.123456", "YYYY-MM-DD HH24:MI:SS.US"), "2024-03-05 10:11:12.123456");
        assert_eq!(timestamp("05th of March 2024", "DDth \"of\" Month YYYY"), "2024-03-05 00:00:00");
    }

    #[test]
    fn bad_text_fails_as_in_postgresql() {
        let state = |text: &str, pattern: &str| to_date(text, pattern).expect_err("an error").sqlstate();
        assert_eq!(state("2024-13-05", "YYYY-MM-DD"), "22008");
        assert_eq!(state("2024-02-30", "YYYY-MM-DD"), "22008");
        assert_eq!(state("2024-xx-05", "YYYY-MM-DD"), "22007");
        assert_eq!(to_date("2024-xx-05", "YYYY-MM-DD").expect_err("bad month").to_string(), "invalid value \"xx\" for \"MM\"");
        assert_eq!(to_date("05 Foo 2024", "DD Mon YYYY").expect_err("bad month").to_string(), "invalid value \"Foo\" for \"Mon\"");
        assert_eq!(state("2024-03-05 +02", "YYYY-MM-DD TZH"), "0A000");
        let twelve = to_timestamp_local("13:00 PM", "HH12:MI PM").expect_err("12-hour clock");
        assert_eq!((twelve.to_string().as_str(), twelve.sqlstate()), ("hour \"13\" is invalid for the 12-hour clock", "22007"));
        // Text that ends early leaves the other fields at their defaults.
        assert_eq!(date("2024-03", "YYYY-MM-DD"), "2024-03-01");
    }
}
