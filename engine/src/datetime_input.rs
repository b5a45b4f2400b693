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
    /// After BC: the year counts back.
    bc: bool,
}

const MONTHS: [&str; 12] = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"];
const DAYS: [&str; 7] = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];

/// The pattern's fields, longest first so `HH24` is not read as `HH`.
const FIELDS: [&str; 31] = [
    "A.M.", "P.M.", "A.D.", "B.C.", "HH24", "HH12", "MONTH", "YYYY", "DDD", "YYY", "MON", "DAY", "HH", "MI", "SS", "MS", "US",
    "AM", "PM", "AD", "BC", "YY", "MM", "DY", "DD", "TH", "FM", "FX", "Y", "D", "Q",
];
/// Fields PostgreSQL has that rhei does not read.
const UNSUPPORTED: [&str; 16] = ["TZH", "TZM", "TZ", "OF", "IYYY", "IDDD", "IYY", "IW", "ID", "CC", "WW", "RM", "SSSS", "FF", "Y,YYY", "J"];

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
    let year = field.starts_with(['Y', 'y']);
    let (sign, digits_from) = match text.strip_prefix('-') {
        Some(rest) if year => (-1, rest),
        _ => (1, text),
    };
    let run = digits_from.bytes().take_while(u8::is_ascii_digit).count();
    let take = width.map_or(run, |w| run.min(w));
    if take == 0 {
        return Err(bad_value(digits_from, field));
    }
    // Past i64 is past every field's range.
    let value: i64 = digits_from[..take].parse().map_err(|_| EngineError::DatetimeFieldOverflow { value: digits_from[..take].to_string() })?;
    Ok((sign * value, &digits_from[take..]))
}

/// A year written with fewer digits (`Y`, `YY`, `YYY`) placed as PostgreSQL places it, nearest
/// 2020: 0-69 and 100-519 in the 2000s, 70-99 in the 1900s, 520-999 in the 1000s.
fn partial_year(year: i64) -> i64 {
    match year {
        0..70 | 100..520 => year + 2000,
        70..100 => year + 1900,
        520..1000 => year + 1000,
        _ => year,
    }
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
    let mut fields = Fields { year: None, month: 1, day: 1, day_of_year: None, hour: 0, minute: 0, second: 0, micros: 0, pm: None, bc: false };
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
        if c.is_ascii() && !c.is_ascii_alphanumeric() {
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
        // Text that ends before the pattern leaves the rest of the fields at their defaults.
        if text.trim().is_empty() {
            break;
        }
        let upper = rest.to_ascii_uppercase();
        if let Some(unsupported) = UNSUPPORTED.iter().find(|f| upper.starts_with(*f)) {
            return Err(EngineError::unsupported(format!("the to_date/to_timestamp pattern field \"{unsupported}\"")));
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
            // A number reads its whole run of digits unless another number field follows
            // (`YYYYMMDD`), as PostgreSQL reads them.
            "YYYY" => (fields.year, text) = number(text, width(4), field).map(|(y, t)| (Some(y), t))?,
            "YYY" => (fields.year, text) = number(text, width(3), field).map(|(y, t)| (Some(partial_year(y)), t))?,
            "YY" => (fields.year, text) = number(text, width(2), field).map(|(y, t)| (Some(partial_year(y)), t))?,
            "Y" => (fields.year, text) = number(text, width(1), field).map(|(y, t)| (Some(partial_year(y)), t))?,
            "MM" => (fields.month, text) = number(text, width(2), field)?,
            "DD" => (fields.day, text) = number(text, width(2), field)?,
            "DDD" => (fields.day_of_year, text) = number(text, width(3), field).map(|(d, t)| (Some(d), t))?,
            "D" | "Q" => (_, text) = number(text, width(1), field)?,
            "AD" | "A.D." | "BC" | "B.C." => {
                let trimmed = text.trim_start();
                let era = trimmed.get(..field.len()).ok_or_else(|| bad_value(trimmed, field))?;
                fields.bc = match era.to_ascii_uppercase().as_str() {
                    "AD" | "A.D." => false,
                    "BC" | "B.C." => true,
                    _ => return Err(bad_value(era, field)),
                };
                text = &trimmed[field.len()..];
            }
            "HH24" | "HH12" | "HH" => {
                (fields.hour, text) = number(text, width(2), field)?;
                if !field.eq_ignore_ascii_case("HH24") && fields.pm.is_none() {
                    fields.pm = Some(false);
                }
            }
            "MI" => (fields.minute, text) = number(text, width(2), field)?,
            "SS" => (fields.second, text) = number(text, width(2), field)?,
            "MS" | "US" => {
                let digits = if field.eq_ignore_ascii_case("MS") { 3 } else { 6 };
                let trimmed = text.trim_start();
                let (value, after) = number(trimmed, width(digits), field)?;
                let run = trimmed.len() - after.len();
                if run > digits {
                    return Err(EngineError::DatetimeFieldOverflow { value: trimmed[..run].to_string() });
                }
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

/// The local day (since 1970) and microseconds into it of `text` read by `pattern`.
fn local_day_and_time(text: &str, pattern: &str) -> Result<(i64, i64)> {
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
    // Without a year, PostgreSQL's is 1 BC. Year 0 does not exist: 1 BC (or -1) is the
    // proleptic calendar's 0.
    let written = fields.year.map(|y| if fields.bc { -y.abs() } else { y });
    let year = match written {
        None => 0,
        Some(y) if y < 0 => y + 1,
        Some(y) => y,
    };
    // PostgreSQL's dates run from 4713 BC to 5874897 AD.
    if !(-4712..=5_874_897).contains(&year) {
        return Err(out_of_range());
    }
    let days = match fields.day_of_year {
        Some(d) if d >= 1 && d <= days_from_civil(year + 1, 1, 1) - days_from_civil(year, 1, 1) => days_from_civil(year, 1, 1) + d - 1,
        Some(_) => return Err(out_of_range()),
        None => {
            let (Ok(month @ 1..=12), Ok(day)) = (u32::try_from(fields.month), u32::try_from(fields.day)) else { return Err(out_of_range()) };
            if day < 1 || day > crate::value::days_in_month(year, month) {
                return Err(out_of_range());
            }
            days_from_civil(year, month, day)
        }
    };
    Ok((days, ((hour * 60 + fields.minute) * 60 + fields.second) * 1_000_000 + fields.micros))
}

/// `to_date(text, pattern)`: the day `text` names, read by `pattern`; a time in it is dropped.
///
/// # Errors
/// Text that does not fit the pattern (22007), a field out of range (22008), a pattern field
/// rhei does not read (0A000).
pub fn to_date(text: &str, pattern: &str) -> Result<i64> {
    Ok(local_day_and_time(text, pattern)?.0)
}

/// `to_timestamp(text, pattern)`: the wall-clock time `text` names, read by `pattern`, as local
/// microseconds (the caller puts it in the session's zone).
///
/// # Errors
/// As [`to_date`].
pub fn to_timestamp_local(text: &str, pattern: &str) -> Result<i64> {
    let (days, time) = local_day_and_time(text, pattern)?;
    // Timestamps end in 294276 AD, long before dates do.
    days.checked_mul(MICROS_PER_DAY).and_then(|micros| micros.checked_add(time)).ok_or_else(|| EngineError::DatetimeFieldOverflow { value: text.to_string() })
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
        // Numbers read their whole run before a separator; partial years are placed near 2020.
        assert_eq!(date("124-03-05", "YY-MM-DD"), "2124-03-05");
        assert_eq!(date("1999-03-05", "YY-MM-DD"), "1999-03-05");
        assert_eq!(date("24-03-05", "Y-MM-DD"), "2024-03-05");
        assert_eq!(date("099-03-05", "YYY-MM-DD"), "1999-03-05");
        assert_eq!(date("005.03.2024", "DD.MM.YYYY"), "2024-03-05");
        assert_eq!(date("2024-03-05 AD", "YYYY-MM-DD AD"), "2024-03-05");
        assert_eq!(date("-44-03-15", "yyyy-mm-dd"), "0044-03-15 BC");
        assert_eq!(date("03-05", "MM-DD"), "0001-03-05 BC");
        assert_eq!(date("2024x03x05", "YYYYéMMéDD"), "2024-03-05");
        assert_eq!(state("2024-03-05123", "YYYY-MM-DD"), "22008");
        assert_eq!(state("2023 366", "YYYY DDD"), "22008");
        assert_eq!(date("300000-01-01", "YYYY-MM-DD"), "300000-01-01");
        assert_eq!(state("99999999999999999999-01-01", "YYYY-MM-DD"), "22008");
        assert_eq!(to_timestamp_local("300000-01-01", "YYYY-MM-DD").expect_err("past timestamps").sqlstate(), "22008");
        assert_eq!(to_timestamp_local("10:11:12.1234", "HH24:MI:SS.MS").expect_err("four digits of ms").sqlstate(), "22008");
    }
}
