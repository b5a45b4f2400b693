//! Parsing and formatting of rhei's storage forms shared by the OLTP and OLAP sides: civil dates
//! (days since 1970-01-01), timestamps (microseconds since the epoch, UTC), exact decimals as
//! scaled integers, and PostgreSQL's float8 text output.

pub(crate) const MICROS_PER_DAY: i64 = 86_400_000_000;

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

pub(crate) fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// A calendar date as PostgreSQL reads one under `DateStyle = 'ISO, MDY'` (rhei's): `Y-M-D`
/// when the first field has three or more digits (`2024-1-5`, `2024/01/05`, `20240105`),
/// otherwise month, day, year (`01/02/2024`, `1-2-2024`, `01/02/24`, a two-digit year being
/// 1970-2069), with `-`, `/` or `.` between the fields.
fn parse_ymd(s: &str) -> Option<(i64, u32, u32)> {
    let fields: Vec<&str> = match s.find(['-', '/', '.']) {
        Some(at) => s.split(s[at..].chars().next()?).collect(),
        None if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) => vec![&s[..4], &s[4..6], &s[6..]],
        None => return None,
    };
    let [first, second, third] = fields.as_slice() else { return None };
    if ![first, second, third].iter().all(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let (year, month, day) = if first.len() >= 3 {
        (first.parse().ok()?, second.parse().ok()?, third.parse().ok()?)
    } else {
        let year: i64 = third.parse().ok()?;
        let year = match third.len() {
            1 | 2 if year < 70 => 2000 + year,
            1 | 2 => 1900 + year,
            _ => year,
        };
        (year, first.parse().ok()?, second.parse().ok()?)
    };
    ((1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month)).then_some((year, month, day))
}

/// A date literal's text in ISO form (`01/02/2024` is `2024-01-02`), if it is a date.
pub fn canonical_date_text(text: &str) -> Option<String> {
    parse_date_days(text).map(|days| format_date(days.into()))
}

/// Days since the epoch of a calendar date, `None` when there is no such day (`2023-02-29`).
/// Year 0 does not exist in PostgreSQL: `-1` is 1 BC, held as astronomical year 0.
pub fn make_date_days(year: i64, month: i64, day: i64) -> Option<i64> {
    let year = match year {
        0 => return None,
        y if y < 0 => y + 1,
        y => y,
    };
    let month = u32::try_from(month).ok().filter(|m| (1..=12).contains(m))?;
    let day = u32::try_from(day).ok().filter(|d| *d >= 1 && *d <= days_in_month(year, month))?;
    Some(days_from_civil(year, month, day))
}

/// `make_timestamp(year, month, day, hour, min, sec)`: microseconds since the epoch of that
/// wall-clock time, as PostgreSQL makes it: 24:00:00 and a 60th second are the next day's and
/// minute's start, the seconds rounded to the microsecond (half to even).
///
/// # Errors
/// 22008 for a day that does not exist, or a time field out of range, worded as PostgreSQL's.
pub fn make_timestamp_micros(year: i64, month: i64, day: i64, hour: i64, min: i64, sec: f64) -> Result<i64, crate::error::EngineError> {
    use crate::error::EngineError;
    let days = make_date_days(year, month, day).ok_or_else(|| EngineError::DateFieldOutOfRange { value: format!("{year}-{month:02}-{day:02}") })?;
    let micros = make_time_micros(hour, min, sec)?;
    // PostgreSQL's timestamps run from 4713 BC to 294276 AD.
    let out_of_range = || EngineError::TimestampOutOfRange { value: format!("{year}-{month:02}-{day:02} {hour}:{min:02}:{}", seconds_text(sec)) };
    if !(-4713..=294_276).contains(&year) {
        return Err(out_of_range());
    }
    days.checked_mul(MICROS_PER_DAY).and_then(|d| d.checked_add(micros)).ok_or_else(out_of_range)
}

/// C's `%02g` of a seconds field, as PostgreSQL's messages print it: the shortest form, at
/// least two characters.
fn seconds_text(sec: f64) -> String {
    if sec.is_nan() { "NaN".to_string() } else { format!("{sec:0>2}") }
}

/// `make_time(hour, min, sec)`: microseconds since midnight, up to 24:00:00.
///
/// # Errors
/// A field out of range (22008, PostgreSQL's message).
pub fn make_time_micros(hour: i64, min: i64, sec: f64) -> Result<i64, crate::error::EngineError> {
    let time_ok = (0..=24).contains(&hour) && (0..60).contains(&min) && !sec.is_nan() && (0.0..=60.0).contains(&sec) && !(hour == 24 && (min > 0 || sec > 0.0));
    if !time_ok {
        return Err(crate::error::EngineError::TimeFieldOutOfRange { value: format!("{hour}:{min:02}:{}", seconds_text(sec)) });
    }
    Ok(((hour * 60 + min) * 60) * 1_000_000 + (sec * 1_000_000.0).round_ties_even() as i64)
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

/// PostgreSQL timestamp input rewritten in the one form Arrow's parser is sure to read
/// (`2024-01-02 03:04:00`): PostgreSQL accepts `03:04` without seconds and zones like `+02`,
/// Arrow does not. With `with_zone` (a timestamptz read in that session zone), the zone in the
/// text, or else the session's, is applied and the result given in UTC (`+00:00`). A plain
/// timestamp ignores a zone, as PostgreSQL does. `None` for what is not a date and time
/// (`now`, `infinity`): left to the engine.
pub fn canonical_timestamp_text(text: &str, with_zone: Option<crate::zone::TimeZone>) -> Option<String> {
    let text = text.trim();
    let (date, rest) = match text.find([' ', 'T']) {
        Some(i) => (&text[..i], text[i + 1..].trim()),
        None => (text, ""),
    };
    let zone_at = rest.find(['+', '-', 'Z', 'z']).or_else(|| rest.find(' ')).unwrap_or(rest.len());
    let (time, zone) = rest.split_at(zone_at);
    let local = parse_timestamp_micros(&format!("{date} {}", if time.trim().is_empty() { "00:00" } else { time.trim() }))?;
    let zone = zone.trim();
    let Some(session_zone) = with_zone else { return Some(format_timestamp(local)) };
    let utc = if zone.is_empty() {
        session_zone.utc(local)
    } else {
        local.checked_sub(zone_offset_seconds(zone)?.checked_mul(1_000_000)?)?
    };
    Some(format!("{}+00:00", format_timestamp(utc)))
}

/// PostgreSQL's `to_char` for a date or timestamp. `local` is the wall-clock time in
/// microseconds (a timestamptz already moved into the session's zone, `offset_secs` east of
/// UTC; `None` for a value without a zone, whose `TZ`/`OF` print nothing). Patterns follow
/// PostgreSQL: `YYYY`, `MM`, `DD`, `HH24`, `HH12`, `MI`, `SS`, `MS`, `US`, `AM`, `Month`/`MON`,
/// `Day`/`DY`, `DDD`, `D`, `ID`, `W`, `WW`, `IW`, `IYYY`, `Q`, `CC`, `J`, `SSSS`, `TZ`, `OF`,
/// the `FM` prefix, the `TH` suffix, and `"quoted text"`; anything else is copied.
pub fn to_char_datetime(local: i64, offset_secs: Option<i64>, abbreviation: Option<&str>, pattern: &str) -> String {
    const MONTHS: [&str; 12] =
        ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
    const DAYS: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
    let days = local.div_euclid(MICROS_PER_DAY);
    let in_day = local.rem_euclid(MICROS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let (hour, minute, second) = (in_day / 3_600_000_000, in_day / 60_000_000 % 60, in_day / 1_000_000 % 60);
    let micros = in_day % 1_000_000;
    let weekday = (days + 4).rem_euclid(7); // 0 = Sunday; 1970-01-01 was a Thursday
    let day_of_year = days - days_from_civil(year, 1, 1) + 1;
    let (iso_year, iso_week) = iso_week(days);
    let tokens: [&str; 44] = [
        "A.M.", "P.M.", "a.m.", "p.m.", "HH24", "HH12", "IYYY", "IDDD", "Y,YYY", "YYYY", "SSSSS", "SSSS", "MONTH", "IYY", "DDD",
        "YYY", "MON", "DAY", "TZH", "TZM", "HH", "MI", "SS", "MS", "US", "AM", "PM", "YY", "IY", "MM", "DY", "DD", "ID", "WW",
        "IW", "CC", "TZ", "OF", "Y", "D", "W", "Q", "J", "I",
    ];
    let formatted = format_pattern(pattern, &tokens, |token, written, fill_mode| {
            // Names take the case the pattern is written in: MONTH, Month, month.
            let styled = |name: &str| {
                if written.chars().all(|c| !c.is_ascii_lowercase()) {
                    name.to_ascii_uppercase()
                } else if written.chars().next().is_some_and(|c| c.is_ascii_uppercase()) {
                    name.to_string()
                } else {
                    name.to_ascii_lowercase()
                }
            };
            let padded_name = |name: String| if fill_mode { name } else { format!("{name:<9}") };
            let number = |n: i64, width: usize| if fill_mode { n.to_string() } else { format!("{n:0width$}") };
            let upper = written.chars().all(|c| !c.is_ascii_lowercase());
            let meridiem = |dots: bool| {
                let text = match (hour >= 12, dots) {
                    (false, false) => "AM",
                    (true, false) => "PM",
                    (false, true) => "A.M.",
                    (true, true) => "P.M.",
                };
                if upper { text.to_string() } else { text.to_ascii_lowercase() }
            };
            let value: Option<i64>;
            let text = match token {
                "HH24" => { value = Some(hour); number(hour, 2) }
                "HH12" | "HH" => { let h = (hour + 11) % 12 + 1; value = Some(h); number(h, 2) }
                "MI" => { value = Some(minute); number(minute, 2) }
                "SS" => { value = Some(second); number(second, 2) }
                "MS" => { value = Some(micros / 1000); number(micros / 1000, 3) }
                "US" => { value = Some(micros); number(micros, 6) }
                "SSSS" | "SSSSS" => { value = Some(in_day / 1_000_000); (in_day / 1_000_000).to_string() }
                "AM" | "PM" => { value = None; meridiem(false) }
                "A.M." | "P.M." => { value = None; meridiem(true) }
                "Y,YYY" => { value = None; format!("{},{:03}", year / 1000, year % 1000) }
                "YYYY" => { value = Some(year); number(year, 4) }
                "YYY" => { value = Some(year % 1000); number(year % 1000, 3) }
                "YY" => { value = Some(year % 100); number(year % 100, 2) }
                "Y" => { value = Some(year % 10); (year % 10).to_string() }
                "IYYY" => { value = Some(iso_year); number(iso_year, 4) }
                "IYY" => { value = Some(iso_year % 1000); number(iso_year % 1000, 3) }
                "IY" => { value = Some(iso_year % 100); number(iso_year % 100, 2) }
                "I" => { value = Some(iso_year % 10); (iso_year % 10).to_string() }
                "MONTH" => { value = None; padded_name(styled(MONTHS[month as usize - 1])) }
                "MON" => { value = None; styled(&MONTHS[month as usize - 1][..3]) }
                "MM" => { value = Some(i64::from(month)); number(i64::from(month), 2) }
                "DAY" => { value = None; padded_name(styled(DAYS[weekday as usize])) }
                "DY" => { value = None; styled(&DAYS[weekday as usize][..3]) }
                "DDD" => { value = Some(day_of_year); number(day_of_year, 3) }
                "IDDD" => {
                    let n = days - iso_week_one_monday(iso_year) + 1;
                    value = Some(n);
                    number(n, 3)
                }
                "DD" => { value = Some(i64::from(day)); number(i64::from(day), 2) }
                "D" => { value = Some(weekday + 1); (weekday + 1).to_string() }
                "ID" => { let n = (weekday + 6) % 7 + 1; value = Some(n); n.to_string() }
                "W" => { let n = (i64::from(day) - 1) / 7 + 1; value = Some(n); n.to_string() }
                "WW" => { let n = (day_of_year - 1) / 7 + 1; value = Some(n); number(n, 2) }
                "IW" => { value = Some(iso_week); number(iso_week, 2) }
                "Q" => { let n = (i64::from(month) - 1) / 3 + 1; value = Some(n); n.to_string() }
                "CC" => { let n = if year > 0 { (year + 99) / 100 } else { year / 100 - 1 }; value = Some(n); number(n, 2) }
                "J" => { let n = days + 2_440_588; value = Some(n); n.to_string() }
                "TZ" | "OF" | "TZH" | "TZM" => {
                    value = None;
                    match offset_secs {
                        None => String::new(),
                        Some(offset) => {
                            let sign = if offset < 0 { '-' } else { '+' };
                            let (h, m) = (offset.abs() / 3600, offset.abs() / 60 % 60);
                            match token.to_ascii_uppercase().as_str() {
                                // The zone's abbreviation where it has one (`CEST`); UTC's is named.
                                "TZ" if abbreviation.is_some() || offset == 0 => {
                                    let name = abbreviation.unwrap_or("UTC");
                                    if upper { name.to_string() } else { name.to_ascii_lowercase() }
                                }
                                "TZH" => format!("{sign}{h:02}"),
                                "TZM" => format!("{m:02}"),
                                _ if m == 0 => format!("{sign}{h:02}"),
                                _ => format!("{sign}{h:02}:{m:02}"),
                            }
                        }
                    }
                }
                _ => { value = None; written.to_string() }
            };
        Ok::<_, std::convert::Infallible>((text, value))
    });
    match formatted {
        Ok(text) => text,
        Err(never) => match never {},
    }
}

/// PostgreSQL's `to_char` for an interval: its fields as PostgreSQL splits one (years and
/// months of its months, its days, hours that may pass 24, minutes, seconds and microseconds
/// of its time, which keep their sign), `DDD` its span in 30-day months, AM/PM its hour's.
/// Month and day names, `D`, `ID` and zones are refused with 22007, as in PostgreSQL.
///
/// # Errors
/// As said; fields PostgreSQL reads the interval as a date for (ISO weeks and years, `J`,
/// `W`, `RM`) with 0A000.
pub fn to_char_interval(months: i32, days: i32, micros: i64, pattern: &str) -> crate::error::Result<String> {
    use crate::error::EngineError;
    let (year, month, day) = (i64::from(months / 12), i64::from(months % 12), i64::from(days));
    let (hour, minute, second, fraction) = (micros / 3_600_000_000, micros / 60_000_000 % 60, micros / 1_000_000 % 60, micros % 1_000_000);
    let tokens = [
        "A.M.", "P.M.", "HH24", "HH12", "IYYY", "IDDD", "Y,YYY", "YYYY", "SSSSS", "SSSS", "MONTH", "IYY", "DDD", "YYY", "MON", "DAY", "TZH", "TZM",
        "HH", "MI", "SS", "MS", "US", "AM", "PM", "YY", "IY", "MM", "RM", "DY", "DD", "ID", "WW", "IW", "CC", "TZ", "OF", "Y", "D", "W", "Q", "J", "I",
    ];
    format_pattern(pattern, &tokens, |token, written, fill_mode| {
        let number = |n: i64, width: usize| Ok((if fill_mode { n.to_string() } else { format!("{n:0width$}") }, Some(n)));
        // A negative clock field keeps two digits after its sign (`-04`).
        let clock = |n: i64| number(n, if n < 0 { 3 } else { 2 });
        match token {
            "HH24" => clock(hour),
            "HH" | "HH12" => clock(if hour % 12 == 0 { 12 } else { hour % 12 }),
            "MI" => clock(minute),
            "SS" => clock(second),
            "AM" | "PM" | "A.M." | "P.M." => {
                let afternoon = hour % 24 >= 12;
                let text = match (afternoon, token.contains('.')) {
                    (false, false) => "AM",
                    (true, false) => "PM",
                    (false, true) => "A.M.",
                    (true, true) => "P.M.",
                };
                let upper = written.chars().all(|c| !c.is_ascii_lowercase());
                Ok((if upper { text.to_string() } else { text.to_ascii_lowercase() }, None))
            }
            "MS" => number(fraction / 1000, 3),
            "US" => number(fraction, 6),
            "SSSS" | "SSSSS" => number(hour * 3600 + minute * 60 + second, 0),
            "Y,YYY" => Ok((format!("{},{:03}", year / 1000, year % 1000), None)),
            "YYYY" => number(year, 4),
            "YYY" => number(year % 1000, 3),
            "YY" => number(year % 100, 2),
            "Y" => number(year % 10, 1),
            "MM" => number(month, 2),
            "DD" => number(day, 2),
            "DDD" => number((year * 12 + month) * 30 + day, 3),
            "WW" => number(((year * 12 + month) * 30 + day - 1) / 7 + 1, 2),
            "Q" if month == 0 => Ok((String::new(), None)),
            "Q" => number((month - 1) / 3 + 1, 1),
            "CC" => number(year / 100, 2),
            "MONTH" | "MON" | "DAY" | "DY" | "D" | "ID" | "TZ" | "TZH" | "TZM" | "OF" => Err(EngineError::IntervalFormatField),
            other => Err(EngineError::unsupported(format!("to_char of an interval with the field {other}"))),
        }
    })
}

/// PostgreSQL's reading of a `to_char` pattern, for dates and times and for intervals:
/// `"quoted text"` is copied, `FM` starts a field without padding, each of `tokens` (matched
/// without regard to case, the longest first in the list) is a field whose text `field` gives
/// (from its upper-case name, the pattern's own spelling of it, and whether FM came before),
/// with its number for a `TH`/`th` suffix after it; anything else is copied.
fn format_pattern<E>(pattern: &str, tokens: &[&str], mut field: impl FnMut(&str, &str, bool) -> Result<(String, Option<i64>), E>) -> Result<String, E> {
    let starts_with = |rest: &str, prefix: &str| rest.get(..prefix.len()).is_some_and(|head| head.eq_ignore_ascii_case(prefix));
    let mut out = String::new();
    let mut rest = pattern;
    let mut fill_mode = false;
    while let Some(c) = rest.chars().next() {
        if c == '"' {
            let body = &rest[1..];
            let end = body.find('"').unwrap_or(body.len());
            out.push_str(&body[..end].replace("\\\"", "\""));
            rest = body.get(end + 1..).unwrap_or("");
            continue;
        }
        if starts_with(rest, "FM") {
            fill_mode = true;
            rest = &rest[2..];
            continue;
        }
        let Some(token) = tokens.iter().find(|t| starts_with(rest, t)) else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        };
        let written = &rest[..token.len()];
        rest = &rest[token.len()..];
        let (text, value) = field(&token.to_ascii_uppercase(), written, fill_mode)?;
        out.push_str(&text);
        if let Some(n) = value
            && starts_with(rest, "TH")
        {
            let suffix = match (n % 100, n % 10) {
                (11..=13, _) => "th",
                (_, 1) => "st",
                (_, 2) => "nd",
                (_, 3) => "rd",
                _ => "th",
            };
            out.push_str(&if rest.starts_with("TH") { suffix.to_ascii_uppercase() } else { suffix.to_string() });
            rest = &rest[2..];
        }
        fill_mode = false;
    }
    Ok(out)
}

/// The day (since the epoch) of the Monday that starts ISO week 1 of `iso_year`.
fn iso_week_one_monday(iso_year: i64) -> i64 {
    let jan4 = days_from_civil(iso_year, 1, 4);
    jan4 - (jan4 + 3).rem_euclid(7)
}

/// The ISO 8601 year and week of a day.
fn iso_week(days: i64) -> (i64, i64) {
    let (year, _, _) = civil_from_days(days);
    let iso_year = if days >= iso_week_one_monday(year + 1) {
        year + 1
    } else if days < iso_week_one_monday(year) {
        year - 1
    } else {
        year
    };
    (iso_year, (days - iso_week_one_monday(iso_year)) / 7 + 1)
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
    parse_scaled(s, scale)
}

/// [`parse_decimal`] for precisions beyond i128's (`numeric(65,30)` is kept in Decimal256).
pub fn parse_decimal256(s: &str, scale: i8) -> Option<arrow::datatypes::i256> {
    parse_scaled(s, scale)
}

/// The integers a scaled decimal is kept in: i128 (Decimal128) and i256 (Decimal256).
trait ScaledInt: Copy + std::ops::Neg<Output = Self> {
    const ZERO: Self;
    const ONE: Self;
    const TEN: Self;
    fn from_digit(d: u8) -> Self;
    fn checked_mul(self, other: Self) -> Option<Self>;
    fn checked_add(self, other: Self) -> Option<Self>;
}

impl ScaledInt for i128 {
    const ZERO: Self = 0;
    const ONE: Self = 1;
    const TEN: Self = 10;
    fn from_digit(d: u8) -> Self {
        Self::from(d)
    }
    fn checked_mul(self, other: Self) -> Option<Self> {
        i128::checked_mul(self, other)
    }
    fn checked_add(self, other: Self) -> Option<Self> {
        i128::checked_add(self, other)
    }
}

impl ScaledInt for arrow::datatypes::i256 {
    const ZERO: Self = arrow::datatypes::i256::ZERO;
    const ONE: Self = arrow::datatypes::i256::ONE;
    const TEN: Self = arrow::datatypes::i256::from_parts(10, 0);
    fn from_digit(d: u8) -> Self {
        Self::from_i128(i128::from(d))
    }
    fn checked_mul(self, other: Self) -> Option<Self> {
        arrow::datatypes::i256::checked_mul(self, other)
    }
    fn checked_add(self, other: Self) -> Option<Self> {
        arrow::datatypes::i256::checked_add(self, other)
    }
}

fn parse_scaled<T: ScaledInt>(s: &str, scale: i8) -> Option<T> {
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
    // All digits as one integer (leading zeros aside), with the decimal point `point` digits
    // from the right; read straight from the two parts, without joining them.
    let significant = || int_part.bytes().chain(frac_part.bytes()).skip_while(|b| *b == b'0');
    let len = significant().count();
    // An exponent so large these overflow is beyond any numeric (PostgreSQL refuses it too).
    let point = i32::try_from(frac_part.len()).ok()?.checked_sub(exp)?;
    let shift = i32::from(scale).checked_sub(point)?;
    // The digits kept, and the first one dropped (which rounds); a dropped digit left of every
    // significant one is an implicit zero.
    let (kept, first_dropped) = match usize::try_from(-shift) {
        Err(_) => (len, None),
        Ok(dropped) if dropped > len => (0, None),
        Ok(dropped) => (len - dropped, significant().nth(len - dropped)),
    };
    let mut value = T::ZERO;
    for b in significant().take(kept) {
        value = value.checked_mul(T::TEN)?.checked_add(T::from_digit(b - b'0'))?;
    }
    // A zero stays zero however far it shifts (`0e-999999999` must not loop for long).
    if shift > 0 && kept > 0 {
        for _ in 0..shift {
            value = value.checked_mul(T::TEN)?;
        }
    } else if first_dropped.is_some_and(|b| b >= b'5') {
        value = value.checked_add(T::ONE)?;
    }
    Some(if negative { -value } else { value })
}

/// The elements of a one-dimensional PostgreSQL array literal (`{1,2,"a b",NULL}`), `None`
/// for NULL; `None` overall when the text is not one (nested arrays included).
pub fn parse_array_text(text: &str) -> Option<Vec<Option<String>>> {
    let inner = text.trim().strip_prefix('{')?.strip_suffix('}')?;
    let mut elements = Vec::new();
    if inner.trim().is_empty() {
        return Some(elements);
    }
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut value = String::new();
            loop {
                match chars.next()? {
                    '\\' => value.push(chars.next()?),
                    '"' => break,
                    c => value.push(c),
                }
            }
            elements.push(Some(value));
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
        } else {
            // Unquoted: a backslash takes the next character as it is (`a\,b` is one
            // element), and only an element without one can be the NULL keyword.
            // Trailing whitespace goes, up to the last escaped character (`a\ ` keeps its space).
            let (mut value, mut escaped, mut kept) = (String::new(), false, 0);
            while let Some(&c) = chars.peek() {
                match c {
                    ',' => break,
                    '{' | '}' | '"' => return None,
                    '\\' => {
                        chars.next();
                        value.push(chars.next()?);
                        escaped = true;
                        kept = value.len();
                    }
                    c => {
                        chars.next();
                        value.push(c);
                    }
                }
            }
            value.truncate(value.trim_end().len().max(kept));
            let value = value.as_str();
            if value.is_empty() && !escaped {
                return None;
            }
            elements.push((escaped || !value.eq_ignore_ascii_case("null")).then(|| value.to_string()));
        }
        match chars.next() {
            None => return Some(elements),
            Some(',') => {}
            Some(_) => return None,
        }
    }
}

/// How many digits a Decimal256 value's scaled integer has (its precision; 0 has none).
pub fn decimal256_digits(value: arrow::datatypes::i256) -> usize {
    value.to_string().bytes().filter(u8::is_ascii_digit).skip_while(|b| *b == b'0').count()
}

/// Formats an exact decimal scaled integer as text with exactly `scale` fraction digits.
pub fn format_decimal(value: i128, scale: i8) -> String {
    format_scaled_digits(value < 0, &value.unsigned_abs().to_string(), scale)
}

/// `value` at `scale` with the fraction's trailing zeros dropped: the shortest exact form, as
/// PostgreSQL shows an unconstrained numeric written without them.
pub fn without_trailing_zeros(mut value: i128, mut scale: i8) -> (i128, i8) {
    while scale > 0 && value % 10 == 0 {
        value /= 10;
        scale -= 1;
    }
    (value, scale)
}

/// Whether `s` is a decimal in plain digits (optional sign, digits, optional fraction), the
/// form an unconstrained numeric is stored in.
pub fn is_plain_decimal(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    !int.is_empty() && int.bytes().all(|b| b.is_ascii_digit()) && frac.bytes().all(|b| b.is_ascii_digit())
}

/// [`format_decimal`] of a Decimal256 value.
pub fn format_decimal256(value: arrow::datatypes::i256, scale: i8) -> String {
    let text = value.to_string();
    match text.strip_prefix('-') {
        Some(digits) => format_scaled_digits(true, digits, scale),
        None => format_scaled_digits(false, &text, scale),
    }
}

/// `digits` (an unsigned scaled integer) with a decimal point `scale` digits from the right.
fn format_scaled_digits(negative: bool, digits: &str, scale: i8) -> String {
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
    let (date, bc) = date_without_era(days);
    if bc { format!("{date} BC") } else { date }
}

/// A day's `YYYY-MM-DD`, and whether it is BC: the proleptic calendar's year 0 is 1 BC, which
/// PostgreSQL writes `0001-01-01 BC` (the era last, after any time and offset).
fn date_without_era(days: i64) -> (String, bool) {
    let (y, m, d) = civil_from_days(days);
    let bc = y <= 0;
    let year = if bc { 1 - y } else { y };
    (format!("{year:04}-{m:02}-{d:02}"), bc)
}

/// PostgreSQL's timestamp output: `2024-01-02 03:04:05`, with a fraction only when there is
/// one (`.25`, trailing zeros dropped).
pub fn format_timestamp(micros: i64) -> String {
    let (date, bc) = date_without_era(micros.div_euclid(MICROS_PER_DAY));
    let time = format_time(micros.rem_euclid(MICROS_PER_DAY));
    if bc { format!("{date} {time} BC") } else { format!("{date} {time}") }
}

/// Whether `x` is in the domain of `sqrt` (`domain` = "sqrt") or of a logarithm ("log"), as
/// PostgreSQL checks before computing them.
///
/// # Errors
/// A negative square root (2201F), a logarithm of zero or of a negative number (2201E).
pub fn check_math_domain(x: f64, domain: &str) -> crate::error::Result<()> {
    use crate::error::EngineError;
    match domain {
        "sqrt" if x < 0.0 => Err(EngineError::SquareRootOfNegative),
        "log" if x == 0.0 => Err(EngineError::LogarithmOfZero),
        "log" if x < 0.0 => Err(EngineError::LogarithmOfNegative),
        _ => Ok(()),
    }
}

/// Microseconds rounded to `digits` fraction digits of a second as PostgreSQL rounds a
/// `timestamp(p)`: halves away from zero of its own epoch, 2000-01-01 (so `1990-01-01
/// 00:00:00.5` rounds down and `2010-01-01 00:00:00.5` up).
pub fn round_micros(micros: i64, digits: i64) -> i64 {
    const POSTGRES_EPOCH: i64 = 946_684_800_000_000;
    let scale = 10_i64.pow(6 - digits.clamp(0, 6) as u32);
    let half = scale / 2;
    let since = micros.saturating_sub(POSTGRES_EPOCH);
    let rounded = if since >= 0 { (since + half) / scale * scale } else { -((-since + half) / scale * scale) };
    rounded.saturating_add(POSTGRES_EPOCH)
}

/// Microseconds since midnight rounded to `digits` fraction digits, halves up, as PostgreSQL
/// rounds a `time(p)`.
pub fn round_time_micros(micros: i64, digits: i64) -> i64 {
    let scale = 10_i64.pow(6 - digits.clamp(0, 6) as u32);
    micros.saturating_add(scale / 2) / scale * scale
}

/// PostgreSQL's `time` output for microseconds since midnight: `HH:MM:SS`, and the fraction
/// without trailing zeros when there is one (`23:59:59.5`).
pub fn format_time(micros_of_day: i64) -> String {
    let secs = micros_of_day / 1_000_000;
    let frac = micros_of_day % 1_000_000;
    let mut out = format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if frac != 0 {
        let digits = format!("{frac:06}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out
}

/// PostgreSQL's `time` input as microseconds since midnight: `HH:MM[:SS[.fraction]]`, with
/// `AM`/`PM`, and with a date before it or a zone after it, both of which `time` ignores as
/// PostgreSQL's does; `allballs` is midnight and `24:00:00` the end of the day. A fraction
/// past microseconds rounds as PostgreSQL's does (`23:59:59.9999996` is `24:00:00`).
///
/// # Errors
/// 22007 for text that is no time, 22008 for a field past its range (`25:00`, `12:60`,
/// `13:00 PM`), with PostgreSQL's messages.
pub fn parse_time_of_day(text: &str) -> Result<i64, crate::error::EngineError> {
    let syntax = || crate::error::EngineError::InvalidDatetimeFormat { type_name: "time".into(), value: text.to_string() };
    let out_of_range = || crate::error::EngineError::DatetimeFieldOverflow { value: text.to_string() };
    let lower = text.trim().to_ascii_lowercase();
    if lower == "allballs" {
        return Ok(0);
    }
    let mut rest = lower.as_str();
    // A date before the time, as in timestamp input (`2024-01-02 12:30`, `2024-01-02T12:30`).
    if let Some(at) = rest.find([' ', 't'])
        && parse_ymd(&rest[..at]).is_some()
    {
        rest = rest[at + 1..].trim_start();
    }
    let (rest, meridiem) = match (rest.strip_suffix("am"), rest.strip_suffix("pm")) {
        (Some(r), _) => (r.trim_end(), Some(false)),
        (_, Some(r)) => (r.trim_end(), Some(true)),
        _ => (rest, None),
    };
    let zone_at = rest.find(['+', '-', 'z', ' ']).unwrap_or(rest.len());
    let (clock, zone) = rest.split_at(zone_at);
    let zone = zone.trim();
    if !zone.is_empty() && zone_offset_seconds(zone).is_none() && crate::zone::TimeZone::parse(zone).is_none() {
        return Err(syntax());
    }
    let mut fields = clock.split(':');
    let number = |f: Option<&str>| -> Result<i64, crate::error::EngineError> {
        match f {
            Some(f) if !f.is_empty() && f.len() <= 9 && f.bytes().all(|b| b.is_ascii_digit()) => f.parse().map_err(|_| syntax()),
            _ => Err(syntax()),
        }
    };
    let hour = number(fields.next())?;
    let minute = number(fields.next())?;
    let (second, fraction) = match fields.next() {
        Some(sec) => match sec.split_once('.') {
            Some((whole, fraction)) if fraction.bytes().all(|b| b.is_ascii_digit()) => (number(Some(whole))?, fraction),
            Some(_) => return Err(syntax()),
            None => (number(Some(sec))?, ""),
        },
        None => (0, ""),
    };
    if fields.next().is_some() {
        return Err(syntax());
    }
    let hour = match meridiem {
        Some(_) if hour > 12 => return Err(out_of_range()),
        Some(pm) => hour % 12 + if pm { 12 } else { 0 },
        None => hour,
    };
    if hour > 24 || minute > 59 || second > 60 {
        return Err(out_of_range());
    }
    // As PostgreSQL reads a fraction: a double, times a million, rounded half to even.
    let micros_of_second = if fraction.is_empty() {
        0
    } else {
        (format!("0.{fraction}").parse::<f64>().map_err(|_| syntax())? * 1e6).round_ties_even() as i64
    };
    let micros = ((hour * 60 + minute) * 60 + second) * 1_000_000 + micros_of_second;
    if micros > MICROS_PER_DAY {
        return Err(out_of_range());
    }
    Ok(micros)
}

/// PostgreSQL's timestamptz output for a zone `offset_secs` east of UTC: the local time, then
/// `+HH`, or `+HH:MM` when the offset has minutes.
pub fn format_timestamptz(micros: i64, offset_secs: i64) -> String {
    let local = format_timestamp(micros + offset_secs * 1_000_000);
    let (local, era) = match local.strip_suffix(" BC") {
        Some(local) => (local.to_string(), " BC"),
        None => (local, ""),
    };
    let sign = if offset_secs < 0 { '-' } else { '+' };
    let abs = offset_secs.abs();
    if abs % 3600 == 0 {
        format!("{local}{sign}{:02}{era}", abs / 3600)
    } else if abs % 60 == 0 {
        format!("{local}{sign}{:02}:{:02}{era}", abs / 3600, abs / 60 % 60)
    } else {
        // Local mean time before standard zones (Paris until 1911: +00:09:21).
        format!("{local}{sign}{:02}:{:02}:{:02}{era}", abs / 3600, abs / 60 % 60, abs % 60)
    }
}

/// A timestamptz's text in a session zone: the wall-clock time and the offset in force then.
pub fn format_timestamptz_in(micros: i64, zone: crate::zone::TimeZone) -> String {
    format_timestamptz(micros, zone.offset_at(micros).into())
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
    shortest_text(&format!("{v:e}"), || format!("{v}"), 15)
}

/// A float's shortest digits (`sci`, Rust's `{:e}`) as PostgreSQL writes them: fixed notation
/// (`fixed`) for a decimal exponent from -4 up to below `fixed_below` (15 for float8, 6 for
/// float4, as printf's %g with their precisions), else scientific with at least two exponent
/// digits (`1e+15`, `1.234567e+06`).
fn shortest_text(sci: &str, fixed: impl FnOnce() -> String, fixed_below: i32) -> String {
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if (-4..fixed_below).contains(&exponent) {
        return fixed();
    }
    format!("{mantissa}e{}{:02}", if exponent < 0 { '-' } else { '+' }, exponent.abs())
}

/// Now, in microseconds since the Unix epoch (rhei's timestamp storage form).
pub fn now_micros() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64)
}

/// PostgreSQL's float4 text output: the shortest digits that read back as the same `f32`,
/// fixed for exponents -4 to 5 and scientific beyond (`1234567::real` is `1.234567e+06`; rhei
/// wrote `1234567`, float8's threshold).
pub fn format_float4(v: f32) -> String {
    if !v.is_finite() || v == 0.0 {
        return format_float8(f64::from(v));
    }
    shortest_text(&format!("{v:e}"), || format!("{v}"), 6)
}

/// A PostgreSQL interval: months, days and microseconds kept apart, since a month is not a
/// fixed number of days nor a day (across a DST change) a fixed number of hours.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Interval {
    pub months: i64,
    pub days: i64,
    pub micros: i64,
}

impl Interval {
    /// The interval pointing the other way (`ts - iv` is `ts + (-iv)`).
    pub fn negated(self) -> Self {
        Self { months: -self.months, days: -self.days, micros: -self.micros }
    }

    /// `date_bin(self, source, origin)`: the start of the bin of width `self` (aligned on
    /// `origin`) that holds `source`, all in microseconds, as PostgreSQL 15 computes it (a bin
    /// starts at or before its source when the origin is later, too).
    ///
    /// # Errors
    /// A stride with months or years (0A000), a stride of zero or less (22008), and a result
    /// past the timestamp range (22008), as PostgreSQL's.
    pub fn bin(self, source: i64, origin: i64) -> Result<i64, crate::error::EngineError> {
        use crate::error::EngineError;
        if self.months != 0 {
            return Err(EngineError::BinStrideHasMonths);
        }
        let out_of_range = || EngineError::TimestampOutOfRange { value: "date_bin".into() };
        let stride = self.days.checked_mul(MICROS_PER_DAY).and_then(|d| d.checked_add(self.micros)).ok_or_else(out_of_range)?;
        if stride <= 0 {
            return Err(EngineError::BinStrideNotPositive);
        }
        let difference = source.checked_sub(origin).ok_or_else(out_of_range)?;
        let mut delta = difference - difference % stride;
        // `%` truncates toward zero: a source before the origin belongs to the bin below.
        if origin > source && stride > 1 && difference % stride != 0 {
            delta -= stride;
        }
        origin.checked_add(delta).ok_or_else(out_of_range)
    }

    /// Adds `count` of `unit` (a PostgreSQL unit name or abbreviation). Fractions spill into
    /// the next smaller unit as PostgreSQL's do: a month is 30 days there, a day 24 hours.
    fn add_units(&mut self, count: f64, unit: &str) -> Option<()> {
        const MICROS_PER_SEC: f64 = 1e6;
        let unit = unit.to_ascii_lowercase();
        let (months_per, micros_per) = match unit.as_str() {
            "millennium" | "millennia" | "millenniums" | "mil" | "mils" => (12_000.0, 0.0),
            "century" | "centuries" | "cent" | "c" => (1_200.0, 0.0),
            "decade" | "decades" | "dec" | "decs" => (120.0, 0.0),
            "year" | "years" | "yr" | "yrs" | "y" => (12.0, 0.0),
            "month" | "months" | "mon" | "mons" => (1.0, 0.0),
            "week" | "weeks" | "w" => return self.add_days(count * 7.0),
            "day" | "days" | "d" => return self.add_days(count),
            "hour" | "hours" | "hr" | "hrs" | "h" => (0.0, 3_600.0 * MICROS_PER_SEC),
            "minute" | "minutes" | "min" | "mins" | "m" => (0.0, 60.0 * MICROS_PER_SEC),
            "second" | "seconds" | "sec" | "secs" | "s" => (0.0, MICROS_PER_SEC),
            "millisecond" | "milliseconds" | "msec" | "msecs" | "ms" => (0.0, 1_000.0),
            "microsecond" | "microseconds" | "usec" | "usecs" | "us" => (0.0, 1.0),
            _ => return None,
        };
        if months_per > 0.0 {
            let months = count * months_per;
            let whole = months.trunc();
            self.months = self.months.checked_add(finite_i64(whole)?)?;
            return self.add_days((months - whole) * 30.0);
        }
        self.micros = self.micros.checked_add(finite_i64((count * micros_per).round())?)?;
        Some(())
    }

    fn add_days(&mut self, days: f64) -> Option<()> {
        let whole = days.trunc();
        self.days = self.days.checked_add(finite_i64(whole)?)?;
        self.micros = self.micros.checked_add(finite_i64(((days - whole) * MICROS_PER_DAY as f64).round())?)?;
        Some(())
    }
}

fn finite_i64(v: f64) -> Option<i64> {
    (v.is_finite() && v.abs() < 9.2e18).then_some(v as i64)
}

/// PostgreSQL's `age(a, b)` of two timestamps (microseconds): the difference in calendar
/// fields, years and months first, then days and time, each borrowing from the next larger
/// field, a day borrowed being the length of the month the borrow crosses (`age('2024-03-15',
/// '2023-01-10')` is `1 year 2 mons 5 days`). Returns (months, days, microseconds).
pub fn age(a: i64, b: i64) -> (i32, i32, i64) {
    let fields = |t: i64| {
        let (year, month, day) = civil_from_days(t.div_euclid(MICROS_PER_DAY));
        (year, i64::from(month), i64::from(day), t.rem_euclid(MICROS_PER_DAY))
    };
    let ((y1, m1, d1, t1), (y2, m2, d2, t2)) = (fields(a), fields(b));
    let negative = a < b;
    let sign = if negative { -1 } else { 1 };
    let (mut years, mut months, mut days, mut time) = (sign * (y1 - y2), sign * (m1 - m2), sign * (d1 - d2), sign * (t1 - t2));
    if time < 0 {
        time += MICROS_PER_DAY;
        days -= 1;
    }
    while days < 0 {
        // The month whose length a borrowed day has: the earlier timestamp's.
        let (year, month) = if negative { (y1, m1) } else { (y2, m2) };
        days += i64::from(days_in_month(year, u32::try_from(month).unwrap_or(1)));
        months -= 1;
    }
    while months < 0 {
        months += 12;
        years -= 1;
    }
    let total_months = sign * (years * 12 + months);
    (total_months as i32, (sign * days) as i32, sign * time)
}

/// PostgreSQL's `justify_hours`: whole days out of the time part, both parts of one sign.
pub fn justify_hours(months: i32, days: i32, micros: i64) -> (i32, i32, i64) {
    let (days, micros) = days_and_time_of_one_sign(i64::from(days) + micros / MICROS_PER_DAY, micros % MICROS_PER_DAY);
    (months, days.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32, micros)
}

/// Days and time below a day, one of them borrowed from the other so both have one sign.
fn days_and_time_of_one_sign(days: i64, micros: i64) -> (i64, i64) {
    if days > 0 && micros < 0 {
        (days - 1, micros + MICROS_PER_DAY)
    } else if days < 0 && micros > 0 {
        (days + 1, micros - MICROS_PER_DAY)
    } else {
        (days, micros)
    }
}

/// PostgreSQL's `justify_days`: whole 30-day months out of the days, both of one sign.
pub fn justify_days(months: i32, days: i32, micros: i64) -> (i32, i32, i64) {
    let mut months = i64::from(months) + i64::from(days / 30);
    let mut days = days % 30;
    if months > 0 && days < 0 {
        days += 30;
        months -= 1;
    } else if months < 0 && days > 0 {
        days -= 30;
        months += 1;
    }
    (months.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32, days, micros)
}

/// PostgreSQL's `justify_interval`: days out of the time, months out of the days, every part
/// given the sign of the whole.
pub fn justify_interval(months: i32, days: i32, micros: i64) -> (i32, i32, i64) {
    let (mut months, mut days, mut micros) = (i64::from(months), i64::from(days), micros);
    days += micros / MICROS_PER_DAY;
    micros %= MICROS_PER_DAY;
    months += days / 30;
    days %= 30;
    if months > 0 && (days < 0 || (days == 0 && micros < 0)) {
        days += 30;
        months -= 1;
    } else if months < 0 && (days > 0 || (days == 0 && micros > 0)) {
        days -= 30;
        months += 1;
    }
    let (days, micros) = days_and_time_of_one_sign(days, micros);
    let clamp = |v: i64| v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
    (clamp(months), clamp(days), micros)
}

/// An interval as PostgreSQL prints it (IntervalStyle `postgres`): `1 year 2 mons 3 days
/// 04:05:06.5`, `-01:00:00`, `00:00:00` for zero.
pub fn format_interval(months: i32, days: i32, micros: i64) -> String {
    let mut parts: Vec<String> = Vec::new();
    let (years, mons) = (months / 12, months % 12);
    // A positive field after a negative one is written with `+` (`-1 days +02:00:00`).
    let mut after_negative = false;
    let mut unit = |n: i64, one: &str, many: &str| {
        let plus = if after_negative && n > 0 { "+" } else { "" };
        after_negative = n < 0;
        format!("{plus}{n} {}", if n == 1 { one } else { many })
    };
    if years != 0 {
        parts.push(unit(years.into(), "year", "years"));
    }
    if mons != 0 {
        parts.push(unit(mons.into(), "mon", "mons"));
    }
    if days != 0 {
        parts.push(unit(days.into(), "day", "days"));
    }
    if micros != 0 || parts.is_empty() {
        let sign = if micros < 0 { "-" } else if after_negative { "+" } else { "" };
        let abs = micros.unsigned_abs();
        let secs = abs / 1_000_000;
        let frac = abs % 1_000_000;
        let mut time = format!("{sign}{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
        if frac != 0 {
            let digits = format!("{frac:06}");
            time.push('.');
            time.push_str(digits.trim_end_matches('0'));
        }
        parts.push(time);
    }
    parts.join(" ")
}

/// The session's `IntervalStyle`, as far as rhei writes intervals in it: `iso_8601` (which
/// Rails sets on every connection and parses with ActiveSupport::Duration), else `postgres`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IntervalStyle {
    #[default]
    Postgres,
    Iso8601,
}

impl IntervalStyle {
    /// The style a setting's value names; `sql_standard` and `postgres_verbose` are written
    /// as `postgres` (not yet).
    pub fn of_setting(value: &str) -> Self {
        if value.trim().eq_ignore_ascii_case("iso_8601") { Self::Iso8601 } else { Self::Postgres }
    }
}

/// An interval as PostgreSQL writes it in `style`.
pub fn format_interval_in(months: i32, days: i32, micros: i64, style: IntervalStyle) -> String {
    match style {
        IntervalStyle::Postgres => format_interval(months, days, micros),
        IntervalStyle::Iso8601 => format_interval_iso_8601(months, days, micros),
    }
}

/// IntervalStyle `iso_8601`, as PostgreSQL's EncodeInterval writes it: `P1Y2M3DT4H5M6.5S`,
/// each field with its own sign (`P-1M3DT-1.5S`), zero fields left out, `PT0S` for zero.
fn format_interval_iso_8601(months: i32, days: i32, micros: i64) -> String {
    let (years, mons) = (months / 12, months % 12);
    let (hours, rest) = (micros / 3_600_000_000, micros % 3_600_000_000);
    let (minutes, rest) = (rest / 60_000_000, rest % 60_000_000);
    let (seconds, fraction) = (rest / 1_000_000, rest % 1_000_000);
    if years == 0 && mons == 0 && days == 0 && micros == 0 {
        return "PT0S".into();
    }
    // A field is written only when it is not zero.
    fn part(out: &mut String, n: i64, unit: char) {
        if n != 0 {
            out.push_str(&format!("{n}{unit}"));
        }
    }
    let mut out = String::from("P");
    part(&mut out, years.into(), 'Y');
    part(&mut out, mons.into(), 'M');
    part(&mut out, days.into(), 'D');
    if micros != 0 {
        out.push('T');
    }
    part(&mut out, hours, 'H');
    part(&mut out, minutes, 'M');
    if seconds != 0 || fraction != 0 {
        if seconds < 0 || fraction < 0 {
            out.push('-');
        }
        out.push_str(&seconds.unsigned_abs().to_string());
        if fraction != 0 {
            out.push('.');
            out.push_str(format!("{:06}", fraction.unsigned_abs()).trim_end_matches('0'));
        }
        out.push('S');
    }
    out
}

/// Parses PostgreSQL's interval input: `1 day`, `2 hours 30 minutes`, `-1 mon`, `1.5 days`,
/// `1 day 02:03:04.5`, `@ 3 days ago`, `P1Y2M3DT4H5M6S`. With `unit` (SQL's `INTERVAL '5'
/// DAY`), a bare number counts that unit. `None` when it is not an interval.
pub fn parse_interval(text: &str, unit: Option<&str>) -> Option<Interval> {
    let text = text.trim();
    let mut interval = Interval::default();
    // A sign may stand apart from its number (`'- 5' DAY`).
    let joined = match text.strip_prefix(['-', '+']) {
        Some(rest) => format!("{}{}", &text[..1], rest.trim_start()),
        None => text.to_string(),
    };
    if let Some(unit) = unit
        && let Ok(count) = joined.parse::<f64>()
    {
        interval.add_units(count, unit)?;
        return Some(interval);
    }
    if let Some(iso) = text.strip_prefix('P').or_else(|| text.strip_prefix('p')) {
        return parse_iso_interval(iso);
    }
    let body = text.strip_prefix('@').unwrap_or(text).trim();
    let (body, ago) = match body.to_ascii_lowercase().strip_suffix("ago") {
        Some(rest) => (body[..rest.len()].trim_end(), true),
        None => (body, false),
    };
    let mut tokens = body.split_whitespace().peekable();
    let mut any = false;
    while let Some(token) = tokens.next() {
        any = true;
        // `- 1 day` as well as `-1 day`.
        let signed;
        let token = if matches!(token, "-" | "+") {
            signed = format!("{token}{}", tokens.next()?);
            signed.as_str()
        } else {
            token
        };
        if token.contains(':') {
            interval.micros = interval.micros.checked_add(parse_clock(token)?)?;
            continue;
        }
        // `1day` as well as `1 day`.
        let split = token.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(token.len());
        let (number, glued) = token.split_at(split);
        let count: f64 = number.parse().ok()?;
        // A bare number counts seconds, as in PostgreSQL.
        let unit = if glued.is_empty() { tokens.next().unwrap_or("second") } else { glued };
        interval.add_units(count, unit)?;
    }
    if !any {
        return None;
    }
    Some(if ago { interval.negated() } else { interval })
}

/// `hh:mm[:ss[.frac]]`, signed, as microseconds.
fn parse_clock(token: &str) -> Option<i64> {
    let (negative, body) = match token.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, token.strip_prefix('+').unwrap_or(token)),
    };
    let mut parts = body.split(':');
    let hours: i64 = parts.next()?.parse().ok()?;
    let minutes: i64 = parts.next()?.parse().ok()?;
    let seconds: f64 = parts.next().map_or(Some(0.0), |s| s.parse().ok())?;
    if parts.next().is_some() || minutes >= 60 || !(0.0..60.0).contains(&seconds) {
        return None;
    }
    let micros = hours.checked_mul(3_600_000_000)?.checked_add(minutes * 60_000_000)?.checked_add((seconds * 1e6).round() as i64)?;
    Some(if negative { -micros } else { micros })
}

/// ISO 8601 durations after the `P`: `1Y2M3DT4H5M6.5S`, `2W`.
fn parse_iso_interval(iso: &str) -> Option<Interval> {
    let mut interval = Interval::default();
    let mut in_time = false;
    let mut number = String::new();
    for c in iso.chars() {
        match c.to_ascii_uppercase() {
            'T' if number.is_empty() => in_time = true,
            '0'..='9' | '.' | '-' => number.push(c),
            designator => {
                let unit = match (designator, in_time) {
                    ('Y', false) => "year",
                    ('M', false) => "month",
                    ('W', false) => "week",
                    ('D', false) => "day",
                    ('H', true) => "hour",
                    ('M', true) => "minute",
                    ('S', true) => "second",
                    _ => return None,
                };
                interval.add_units(std::mem::take(&mut number).parse().ok()?, unit)?;
            }
        }
    }
    number.is_empty().then_some(interval)
}

/// `micros` (a timestamp) plus `interval`, months and days counted on the calendar of a
/// zone `offset_secs` east of UTC (0 for timestamp without time zone): adding a month keeps
/// the day of the month, or takes the month's last day when it has fewer, as in PostgreSQL.
/// `None` when the result leaves the representable range.
pub fn add_interval(micros: i64, interval: Interval, zone: crate::zone::TimeZone) -> Option<i64> {
    if interval.months == 0 && interval.days == 0 {
        return micros.checked_add(interval.micros).filter(|&utc| utc >= MIN_TIMESTAMP);
    }
    let mut local = zone.local(micros);
    if interval.months != 0 {
        let days = local.div_euclid(MICROS_PER_DAY);
        let time = local.rem_euclid(MICROS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        let month_index = (year.checked_mul(12)?).checked_add(i64::from(month) - 1)?.checked_add(interval.months)?;
        let (year, month) = (month_index.div_euclid(12), (month_index.rem_euclid(12) + 1) as u32);
        let day = day.min(days_in_month(year, month));
        local = days_from_civil(year, month, day).checked_mul(MICROS_PER_DAY)?.checked_add(time)?;
    }
    // Months and days move the wall clock (a day across a daylight-saving change is 23 or 25
    // hours); the time part is then added as elapsed time, as PostgreSQL does.
    local = local.checked_add(interval.days.checked_mul(MICROS_PER_DAY)?)?;
    zone.utc(local).checked_add(interval.micros).filter(|&utc| utc >= MIN_TIMESTAMP)
}

/// `interval * factor`, PostgreSQL's interval_mul; `None` when it overflows.
pub fn scale_interval(months: i32, days: i32, micros: i64, factor: f64) -> Option<(i32, i32, i64)> {
    scale_interval_by(months, days, micros, |field| field * factor)
}

/// `interval / divisor` (not zero), PostgreSQL's interval_div (also `avg`'s last step): each
/// field divided, which can differ from a product by the reciprocal in the last digit that
/// the rounding below keeps; `None` when it overflows.
pub fn divide_interval(months: i32, days: i32, micros: i64, divisor: f64) -> Option<(i32, i32, i64)> {
    scale_interval_by(months, days, micros, |field| field / divisor)
}

/// PostgreSQL's interval_mul and interval_div around `scale`: the fraction of a month carries
/// into days (30 to a month) and of a day into time, each rounded to a microsecond's
/// precision on the way (TSROUND: `avg` of intervals is exact to PostgreSQL's digits only so),
/// nothing carried up.
fn scale_interval_by(months: i32, days: i32, micros: i64, scale: impl Fn(f64) -> f64) -> Option<(i32, i32, i64)> {
    const SECONDS_PER_DAY: f64 = 86_400.0;
    let to_micro_precision = |v: f64| (v * 1_000_000.0).round_ties_even() / 1_000_000.0;
    // PostgreSQL's range check comes before the truncation (2147483647.5 is out of range).
    let whole = |v: f64| (f64::from(i32::MIN)..=f64::from(i32::MAX)).contains(&v).then(|| v.trunc() as i32);
    let (scaled_months, scaled_days) = (scale(f64::from(months)), scale(f64::from(days)));
    let result_months = whole(scaled_months)?;
    let mut result_days = whole(scaled_days)?;
    let month_remainder_days = to_micro_precision((scaled_months - f64::from(result_months)) * 30.0);
    let mut seconds = to_micro_precision((scaled_days - f64::from(result_days) + month_remainder_days - month_remainder_days.trunc()) * SECONDS_PER_DAY);
    if seconds.abs() >= SECONDS_PER_DAY {
        let carried = (seconds / SECONDS_PER_DAY).trunc();
        result_days = result_days.checked_add(carried as i32)?;
        seconds -= carried * SECONDS_PER_DAY;
    }
    result_days = result_days.checked_add(month_remainder_days.trunc() as i32)?;
    let time = (scale(micros as f64) + seconds * 1_000_000.0).round_ties_even();
    (time.is_finite() && time.abs() < 9.2e18).then(|| (result_months, result_days, time as i64))
}

impl Interval {
    /// An interval of PostgreSQL's range (months and days are 32-bit there), as
    /// `(months, days, micros)`; `None` outside it.
    pub fn fields(self) -> Option<(i32, i32, i64)> {
        Some((i32::try_from(self.months).ok()?, i32::try_from(self.days).ok()?, self.micros))
    }

    /// The interval as PostgreSQL prints it (see [`format_interval`]); `None` out of range.
    pub fn to_text(self) -> Option<String> {
        self.fields().map(|(months, days, micros)| format_interval(months, days, micros))
    }

    /// The length PostgreSQL orders intervals by: a month as 30 days, a day as 24 hours
    /// (`interval '1 mon' = interval '30 days'`), in microseconds.
    pub fn length_micros(self) -> i128 {
        (i128::from(self.months) * 30 + i128::from(self.days)) * i128::from(MICROS_PER_DAY) + i128::from(self.micros)
    }

    /// `self * factor` as PostgreSQL computes it (see [`scale_interval`]).
    pub fn scaled(self, factor: f64) -> Option<Self> {
        let (months, days, micros) = self.fields()?;
        scale_interval(months, days, micros, factor).map(Self::from_fields)
    }

    /// `self / divisor` as PostgreSQL computes it (see [`divide_interval`]).
    pub fn divided(self, divisor: f64) -> Option<Self> {
        let (months, days, micros) = self.fields()?;
        divide_interval(months, days, micros, divisor).map(Self::from_fields)
    }

    /// The interval of `(months, days, micros)` as [`Interval::fields`] gives them.
    pub fn from_fields((months, days, micros): (i32, i32, i64)) -> Self {
        Self { months: months.into(), days: days.into(), micros }
    }

    /// The interval an Arrow interval holds (rhei's hold whole microseconds).
    pub fn of_arrow(value: arrow::datatypes::IntervalMonthDayNano) -> Self {
        Self { months: value.months.into(), days: value.days.into(), micros: value.nanoseconds / 1000 }
    }

    /// The interval as Arrow holds it; `None` outside PostgreSQL's fields or past Arrow's
    /// nanoseconds (a time part over about 292 years).
    pub fn to_arrow(self) -> Option<arrow::datatypes::IntervalMonthDayNano> {
        let (months, days, micros) = self.fields()?;
        Some(arrow::datatypes::IntervalMonthDayNano::new(months, days, micros.checked_mul(1000)?))
    }
    /// The field by field sum, `None` when a field overflows.
    pub fn checked_add(self, other: Self) -> Option<Self> {
        let sum = Self {
            months: self.months.checked_add(other.months)?,
            days: self.days.checked_add(other.days)?,
            micros: self.micros.checked_add(other.micros)?,
        };
        sum.fields().map(|_| sum)
    }

    /// `extract(field from interval)` as PostgreSQL computes it: `hour` counts every hour of
    /// the time part (`extract(hour from interval '30 hours')` is 30), `day` the days part,
    /// `month` the months beyond whole years, `epoch` a year as 365.25 days and a month as 30.
    /// `None` for a field intervals do not have.
    pub fn part(self, field: &str) -> Option<f64> {
        const MICROS_PER_MINUTE: i64 = 60_000_000;
        let years = self.months / 12;
        let in_minute = self.micros % MICROS_PER_MINUTE;
        Some(match field.to_ascii_lowercase().as_str() {
            "microsecond" | "microseconds" | "usec" | "usecs" | "us" => in_minute as f64,
            "millisecond" | "milliseconds" | "msec" | "msecs" | "ms" => in_minute as f64 / 1e3,
            "second" | "seconds" | "sec" | "secs" | "s" => in_minute as f64 / 1e6,
            "minute" | "minutes" | "min" | "mins" | "m" => (self.micros / MICROS_PER_MINUTE % 60) as f64,
            "hour" | "hours" | "hr" | "hrs" | "h" => (self.micros / 3_600_000_000) as f64,
            "day" | "days" | "d" => self.days as f64,
            "month" | "months" | "mon" | "mons" => (self.months % 12) as f64,
            "quarter" | "qtr" => ((self.months % 12) / 3 + 1) as f64,
            "year" | "years" | "yr" | "yrs" | "y" => years as f64,
            "decade" | "decades" | "dec" | "decs" => (years / 10) as f64,
            "century" | "centuries" | "cent" | "c" => (years / 100) as f64,
            "millennium" | "millennia" | "millenniums" | "mil" | "mils" => (years / 1000) as f64,
            "epoch" => {
                // Quarter days, so a year of 365.25 days stays whole.
                let quarter_days = 1461 * years + 120 * (self.months % 12) + 4 * self.days;
                (quarter_days as f64) * (MICROS_PER_DAY as f64 / 4.0) / 1e6 + self.micros as f64 / 1e6
            }
            _ => return None,
        })
    }

    /// [`Interval::part`], or PostgreSQL's error for a field intervals have not: 0A000 for one
    /// of timestamps only (`week`), 22023 for no field at all.
    ///
    /// # Errors
    /// As said.
    pub fn part_or_error(self, field: &str) -> crate::error::Result<f64> {
        self.part(field).ok_or_else(|| {
            let timestamp_unit = ["week", "dow", "isodow", "doy", "isoyear", "timezone", "timezone_hour", "timezone_minute", "julian"];
            if timestamp_unit.contains(&field.to_ascii_lowercase().as_str()) {
                crate::error::EngineError::UnitNotSupported { unit: field.to_string(), type_name: "interval".into() }
            } else {
                crate::error::EngineError::InvalidArgument { message: format!("unit \"{field}\" not recognized for type interval") }
            }
        })
    }
}

/// PostgreSQL's earliest timestamp, 4714-11-24 BC; the latest rhei stores is i64's.
const MIN_TIMESTAMP: i64 = -211_813_488_000_000_000;

#[cfg(test)]
mod tests {
    use super::*;

    /// PostgreSQL 15's answers for `to_char(interval, ...)`.
    #[test]
    fn intervals_format_their_fields() {
        let hours = |h: i64| h * 3_600_000_000;
        assert_eq!(to_char_interval(0, 1, hours(2) + 3 * 60_000_000 + 4_000_000, "HH24:MI:SS").unwrap(), "02:03:04");
        assert_eq!(to_char_interval(0, 1, hours(2), "DD \"days\" HH24 \"h\"").unwrap(), "01 days 02 h");
        assert_eq!(to_char_interval(-3, 0, hours(4), "HH24:MI:SS").unwrap(), "04:00:00");
        assert_eq!(to_char_interval(0, 0, hours(30) + 1_500_000, "HH24 HH12 SS.MS FMSSSS").unwrap(), "30 06 01.500 108001");
        assert_eq!(to_char_interval(14, 3, 0, "YYYY-MM-DD DDD").unwrap(), "0001-02-03 423");
        assert_eq!(to_char_interval(0, 0, hours(13), "HH am A.M.").unwrap(), "01 pm P.M.");
        assert_eq!(to_char_interval(0, 0, -(hours(1) + 2 * 60_000_000 + 3_500_000), "HH24:MI:SS.MS HH12 FMHH24 SSSS").unwrap(), "-01:-02:-03.-500 -01 -1 -3723");
        assert_eq!(to_char_interval(0, 3, 0, "Q|MM|HH12").unwrap(), "|00|12");
        assert_eq!(to_char_interval(0, 0, 0, "Mon").unwrap_err().sqlstate(), "22007");
        assert_eq!(to_char_interval(0, 0, 0, "TZ").unwrap_err().sqlstate(), "22007");
        assert_eq!(to_char_interval(0, 0, 0, "IYYY").unwrap_err().sqlstate(), "0A000");
        // A pattern's multi-byte characters are copied, not cut.
        assert_eq!(to_char_interval(0, 0, hours(1), "Hé HH").unwrap(), "Hé 01");
    }

    #[test]
    fn unconstrained_numeric_text_is_plain_and_shortest() {
        assert_eq!(without_trailing_zeros(15_000_000_000, 10), (15, 1));
        assert_eq!(without_trailing_zeros(-20_000_000_000, 10), (-2, 0));
        assert_eq!(without_trailing_zeros(0, 10), (0, 0));
        assert_eq!(without_trailing_zeros(100, 0), (100, 0));
        for plain in ["0", "-0.5", "12.50", "10000000000000000000000000000000000000000"] {
            assert!(is_plain_decimal(plain), "{plain}");
        }
        for not_plain in ["", "-", ".5", "1e5", "1.2.3", "NaN", "abc", "+1"] {
            assert!(!is_plain_decimal(not_plain), "{not_plain}");
        }
    }

    /// Fields and lengths of intervals as PostgreSQL's extract() and comparisons see them.
    #[test]
    fn iso_8601_intervals_are_written_as_postgresql_writes_them() {
        // PostgreSQL 15 with SET IntervalStyle = iso_8601.
        for (text, iso) in [
            ("1 day 2 hours", "P1DT2H"),
            ("-1 mon 3 days -00:00:01.5", "P-1M3DT-1.5S"),
            ("0", "PT0S"),
            ("1 year 2 mons 3 days 04:05:06.789", "P1Y2M3DT4H5M6.789S"),
            ("25 hours", "PT25H"),
            ("-0.000001 seconds", "PT-0.000001S"),
            ("14 mons", "P1Y2M"),
        ] {
            let (months, days, micros) = parse_interval(text, None).and_then(Interval::fields).expect(text);
            assert_eq!(format_interval_in(months, days, micros, IntervalStyle::Iso8601), iso, "{text}");
        }
    }

    #[test]
    fn interval_fields_and_lengths_follow_postgresql() {
        let iv = |s: &str| parse_interval(s, None).unwrap();
        // PostgreSQL: extract(hour from interval '1 day 30 hours') = 30, epoch of '1 year 1 mon'
        // = 34149600, second of '-1.5 seconds' = -1.5, quarter of '5 mons' = 2.
        assert_eq!(iv("1 day 30 hours").part("hour"), Some(30.0));
        assert_eq!(iv("1 day 30 hours").part("day"), Some(1.0));
        assert_eq!(iv("1 year 1 mon").part("epoch"), Some(34_149_600.0));
        assert_eq!(iv("-1.5 seconds").part("second"), Some(-1.5));
        assert_eq!(iv("5 mons").part("quarter"), Some(2.0));
        assert_eq!(iv("1 day").part("dow"), None);
        assert_eq!(iv("90 minutes").part("min"), Some(30.0));
        assert_eq!(iv("90 minutes").part("hr"), Some(1.0));
        assert_eq!(iv("1 mon").length_micros(), iv("30 days").length_micros());
        assert!(iv("25 hours").length_micros() > iv("1 day").length_micros());
        assert_eq!(iv("1 day 03:15:30").to_text().as_deref(), Some("1 day 03:15:30"));
        assert_eq!(Interval { months: i64::from(i32::MAX) + 1, days: 0, micros: 0 }.to_text(), None);
    }

    /// Dates as PostgreSQL reads them under DateStyle 'ISO, MDY'.
    #[test]
    fn dates_read_year_first_or_month_day_year() {
        let date = |s: &str| parse_date_days(s).map(|d| format_date(d.into()));
        assert_eq!(date("2024-1-5").as_deref(), Some("2024-01-05"));
        assert_eq!(date("01/02/2024").as_deref(), Some("2024-01-02"));
        assert_eq!(date("1-2-2024").as_deref(), Some("2024-01-02"));
        assert_eq!(date("2024/01/02").as_deref(), Some("2024-01-02"));
        assert_eq!(date("20240102").as_deref(), Some("2024-01-02"));
        assert_eq!(date("01/02/24").as_deref(), Some("2024-01-02"));
        assert_eq!(date("12.31.99").as_deref(), Some("1999-12-31"));
        assert_eq!(date("13/01/2024"), None);
        assert_eq!(date("2024-02-30"), None);
        assert_eq!(date("2024-01"), None);
        assert_eq!(date("2024-01-0x"), None);
        // Eight bytes that are not eight digits (a slice there would split a character).
        assert_eq!(date("1月2日"), None);
        assert_eq!(date("12€456"), None);
    }

    #[test]
    fn age_borrows_calendar_fields_as_postgresql_does() {
        let at = |y: i64, m: u32, d: u32, h: i64| days_from_civil(y, m, d) * 86_400_000_000 + h * 3_600_000_000;
        // PostgreSQL 15: age('2024-03-15', '2023-01-10') = 1 year 2 mons 5 days
        assert_eq!(age(at(2024, 3, 15, 0), at(2023, 1, 10, 0)), (14, 5, 0));
        // age('2024-03-01', '2024-01-31') = 1 mon 1 day; reversed, -1 mons -1 days
        assert_eq!(age(at(2024, 3, 1, 0), at(2024, 1, 31, 0)), (1, 1, 0));
        assert_eq!(age(at(2024, 1, 31, 0), at(2024, 3, 1, 0)), (-1, -1, 0));
        // age('2024-03-01 06:00', '2024-02-28 12:00') = 1 day 18:00:00
        assert_eq!(age(at(2024, 3, 1, 6), at(2024, 2, 28, 12)), (0, 1, 18 * 3_600_000_000));
    }

    #[test]
    fn to_char_formats_dates_and_times_as_postgresql() {
        let ts = parse_timestamp_micros("2024-03-07 14:05:09.123456").unwrap();
        let f = |p: &str| to_char_datetime(ts, None, None, p);
        assert_eq!(f("YYYY-MM-DD HH24:MI:SS"), "2024-03-07 14:05:09");
        assert_eq!(f("Dy DD Mon YYYY HH12:MI AM"), "Thu 07 Mar 2024 02:05 PM");
        assert_eq!(f("Month|FMMonth|month|MON|Day|FMDay|dy"), "March    |March|march    |MAR|Thursday |Thursday|thu");
        assert_eq!(f("yyyy-mm-dd"), "2024-03-07");
        assert_eq!(f("FMDDth \"of\" FMMonth, YYYY"), "7th of March, 2024");
        assert_eq!(f("DDD D ID W WW IW IYYY Q CC"), "067 5 4 1 10 10 2024 1 21");
        assert_eq!(f("MS US a.m. TZ"), "123 123456 p.m. ");
        assert_eq!(f("J SSSS"), "2460377 50709");
        assert_eq!(to_char_datetime(ts, Some(5 * 3600 + 1800), None, "HH24:MI TZ OF"), "14:05 +05:30 +05:30");
        assert_eq!(to_char_datetime(ts, Some(0), None, "TZ tz OF"), "UTC utc +00");
        // ISO weeks: 2021-01-03 belongs to 2020's week 53; 2024-12-30 to 2025's week 1.
        let day = |s: &str| i64::from(parse_date_days(s).unwrap()) * MICROS_PER_DAY;
        assert_eq!(to_char_datetime(day("2021-01-03"), None, None, "IYYY-IW-ID"), "2020-53-7");
        assert_eq!(to_char_datetime(day("2024-12-30"), None, None, "IYYY-IW-ID"), "2025-01-1");
        assert_eq!(to_char_datetime(day("2024-01-01"), None, None, "DDth Q"), "01st 1");
    }

    #[test]
    fn timestamp_literals_are_canonicalized_for_arrow() {
        assert_eq!(canonical_timestamp_text("2024-01-01 10:00", None).as_deref(), Some("2024-01-01 10:00:00"));
        assert_eq!(canonical_timestamp_text("2024-01-01", None).as_deref(), Some("2024-01-01 00:00:00"));
        assert_eq!(canonical_timestamp_text("2024-01-01T10:00:01.5", None).as_deref(), Some("2024-01-01 10:00:01.5"));
        assert_eq!(canonical_timestamp_text("2024-01-01 10:00+02", Some(crate::zone::TimeZone::UTC)).as_deref(), Some("2024-01-01 08:00:00+00:00"));
        assert_eq!(canonical_timestamp_text("2024-01-01 10:00+02", None).as_deref(), Some("2024-01-01 10:00:00"));
        assert_eq!(canonical_timestamp_text("2024-01-01 10:00", Some(crate::zone::TimeZone::UTC)).as_deref(), Some("2024-01-01 10:00:00+00:00"));
        let paris = crate::zone::TimeZone::parse("Europe/Paris");
        assert_eq!(canonical_timestamp_text("2024-07-01 10:00", paris).as_deref(), Some("2024-07-01 08:00:00+00:00"));
        assert_eq!(canonical_timestamp_text("now", Some(crate::zone::TimeZone::UTC)), None);
    }

    #[test]
    fn intervals_parse_as_postgresql_reads_them() {
        let iv = |months, days, micros| Some(Interval { months, days, micros });
        const H: i64 = 3_600_000_000;
        assert_eq!(parse_interval("1 day", None), iv(0, 1, 0));
        assert_eq!(parse_interval("2 hours 30 minutes", None), iv(0, 0, 2 * H + H / 2));
        assert_eq!(parse_interval("-1 mon", None), iv(-1, 0, 0));
        assert_eq!(parse_interval("1 year 2 months", None), iv(14, 0, 0));
        assert_eq!(parse_interval("1.5 days", None), iv(0, 1, 12 * H));
        assert_eq!(parse_interval("1.5 months", None), iv(1, 15, 0));
        assert_eq!(parse_interval("3 days 02:03:04.5", None), iv(0, 3, 2 * H + 3 * 60_000_000 + 4_500_000));
        assert_eq!(parse_interval("@ 3 days ago", None), iv(0, -3, 0));
        assert_eq!(parse_interval("2 weeks", None), iv(0, 14, 0));
        assert_eq!(parse_interval("10min", None), iv(0, 0, H / 6));
        assert_eq!(parse_interval("P1Y2M3DT4H5M6S", None), iv(14, 3, 4 * H + 5 * 60_000_000 + 6_000_000));
        assert_eq!(parse_interval("5", Some("day")), iv(0, 5, 0));
        assert_eq!(parse_interval("90", None), iv(0, 0, 90_000_000));
        for bad in ["", "day", "1 fortnight", "abc", "1 day 25:61", "P1X"] {
            assert_eq!(parse_interval(bad, None), None, "{bad}");
        }
    }

    #[test]
    fn interval_arithmetic_follows_the_calendar() {
        let ts = |s: &str| parse_timestamp_micros(s).unwrap();
        let month = Interval { months: 1, days: 0, micros: 0 };
        assert_eq!(add_interval(ts("2026-01-31 10:00:00"), month, crate::zone::TimeZone::Fixed(0)), Some(ts("2026-02-28 10:00:00")));
        assert_eq!(add_interval(ts("2024-01-31 00:00:00"), month, crate::zone::TimeZone::Fixed(0)), Some(ts("2024-02-29 00:00:00")));
        assert_eq!(add_interval(ts("2026-03-31 00:00:00"), month.negated(), crate::zone::TimeZone::Fixed(0)), Some(ts("2026-02-28 00:00:00")));
        let day_and_hours = Interval { months: 0, days: 1, micros: 2 * 3_600_000_000 };
        assert_eq!(add_interval(ts("2026-01-01 23:00:00"), day_and_hours, crate::zone::TimeZone::Fixed(0)), Some(ts("2026-01-03 01:00:00")));
        // In a zone 9 hours east, 2026-01-31 20:00 UTC is already Feb 1st: a month on is Mar 1st.
        assert_eq!(add_interval(ts("2026-01-31 20:00:00"), month, crate::zone::TimeZone::Fixed(9 * 3600)), Some(ts("2026-02-28 20:00:00")));
        assert_eq!(add_interval(i64::MAX - 1, day_and_hours, crate::zone::TimeZone::Fixed(0)), None);
    }

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
    fn times_of_day_parse_as_postgresql_reads_them() {
        let hms = |h: i64, m: i64, s: i64| Ok(((h * 60 + m) * 60 + s) * 1_000_000);
        let parse_time_of_day = |text: &str| parse_time_of_day(text).map_err(|e| e.sqlstate());
        assert_eq!(parse_time_of_day("12:30"), hms(12, 30, 0));
        assert_eq!(parse_time_of_day(" 1:02:03.25 "), Ok(3_723_250_000));
        assert_eq!(parse_time_of_day("12:00 AM"), hms(0, 0, 0));
        assert_eq!(parse_time_of_day("1:15pm"), hms(13, 15, 0));
        assert_eq!(parse_time_of_day("2024-01-02 08:00:00+02"), hms(8, 0, 0));
        assert_eq!(parse_time_of_day("2024-01-02T08:00"), hms(8, 0, 0));
        assert_eq!(parse_time_of_day("allballs"), Ok(0));
        assert_eq!(parse_time_of_day("24:00:00"), hms(24, 0, 0));
        assert_eq!(parse_time_of_day("23:59:59.9999996"), hms(24, 0, 0));
        // A double times a million, rounded half to even, as PostgreSQL computes it.
        assert_eq!(parse_time_of_day("00:00:00.0000025"), Ok(2));
        assert_eq!(parse_time_of_day("0:30 am"), hms(0, 30, 0));
        assert_eq!(parse_time_of_day("0:30 pm"), hms(12, 30, 0));
        assert_eq!(parse_time_of_day("24:00:01"), Err("22008"));
        assert_eq!(parse_time_of_day("25:00"), Err("22008"));
        assert_eq!(parse_time_of_day("12:60"), Err("22008"));
        assert_eq!(parse_time_of_day("13:00 PM"), Err("22008"));
        for bad in ["", "12", "noon", "12:30 nowhere", "12:3x", "1:2:3:4", "12:30:1.2.3"] {
            assert_eq!(parse_time_of_day(bad), Err("22007"), "{bad}");
        }
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
        assert_eq!(parse_decimal("0.5", 0), Some(1));
        assert_eq!(parse_decimal("0.05", 1), Some(1));
        assert_eq!(parse_decimal("0.0005", 2), Some(0));
        assert_eq!(parse_decimal("000", 2), Some(0));
        assert_eq!(parse_decimal("-0.995", 2), Some(-100));
        assert_eq!(parse_decimal("007.10", 3), Some(7100));
        assert_eq!(parse_decimal(".", 2), None);
        assert_eq!(parse_decimal("1e-2147483648", 2), None);
        assert_eq!(format_decimal(-5, 2), "-0.05");
        let some = |v: &[Option<&str>]| Some(v.iter().map(|e| e.map(str::to_string)).collect::<Vec<_>>());
        assert_eq!(parse_array_text("{1, 2,NULL}"), some(&[Some("1"), Some("2"), None]));
        assert_eq!(parse_array_text(r#"{"a,b","say \"hi\"",null, "NULL"}"#), some(&[Some("a,b"), Some("say \"hi\""), None, Some("NULL")]));
        assert_eq!(parse_array_text("{}"), some(&[]));
        assert_eq!(parse_array_text("{{1,2},{3,4}}"), None);
        assert_eq!(parse_array_text("{1,,2}"), None);
        assert_eq!(parse_array_text("1,2"), None);
        assert_eq!(parse_array_text(r"{a\,b,\NULL,c}"), some(&[Some("a,b"), Some("NULL"), Some("c")]));
        // Whitespace around an unquoted element goes, an escaped space stays (PostgreSQL:
        // `'{ a b , c\ }'::text[]` is `{"a b","c "}`).
        assert_eq!(parse_array_text(r"{ a b , c\ }"), some(&[Some("a b"), Some("c ")]));
        assert_eq!(parse_array_text(r"{\  x}"), some(&[Some("  x")]));
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
        D::Decimal128(p, s) | D::Decimal256(p, s) => P::Numeric { precision: Some(*p), scale: Some(*s) },
        D::Utf8 | D::LargeUtf8 | D::Utf8View => P::Text,
        D::Boolean => P::Bool,
        D::Date32 => P::Date,
        D::Timestamp(_, None) => P::Timestamp,
        D::Timestamp(_, Some(_)) => P::Timestamptz,
        D::Time64(_) => P::Time,
        D::Interval(_) => P::Interval,
        D::Binary | D::LargeBinary | D::BinaryView => P::Bytea,
        D::FixedSizeBinary(16) => P::Uuid,
        ty if *ty == crate::describe::INET_PARAMETER => P::Inet,
        ty if *ty == crate::describe::CIDR_PARAMETER => P::Cidr,
        _ => return None,
    })
}

/// A parameter sent as PostgreSQL text, read as a value of Arrow type `target` with
/// PostgreSQL's input rules (the same ones INSERT applies), in a session in time zone `zone`.
/// A target rhei has no input rules for keeps the text.
///
/// # Errors
/// The input error PostgreSQL gives for the text (22P02, 22003, 22007, 22008).
pub fn parameter_from_text(
    text: &str,
    target: &arrow::datatypes::DataType,
    zone: crate::zone::TimeZone,
) -> crate::error::Result<datafusion::common::ScalarValue> {
    use arrow::datatypes::DataType as D;
    use datafusion::common::ScalarValue as S;
    use rusqlite::types::Value as V;
    let Some(ty) = input_type(target) else { return Ok(S::Utf8(Some(text.to_string()))) };
    let stored = crate::oltp::functions::storage_value_in(ty, text, zone)?;
    let bad = || crate::error::EngineError::InvalidTextRepresentation { type_name: ty.pg_name(), value: text.to_string() };
    Ok(match (stored, target) {
        (V::Null, other) => S::try_from(other).map_err(|_| bad())?,
        (V::Integer(i), D::Int16) => S::Int16(Some(i16::try_from(i).map_err(|_| bad())?)),
        (V::Integer(i), D::Int32) => S::Int32(Some(i32::try_from(i).map_err(|_| bad())?)),
        (V::Integer(i), D::Int64) => S::Int64(Some(i)),
        (V::Integer(i), D::Boolean) => S::Boolean(Some(i != 0)),
        (V::Integer(i), D::Date32) => S::Date32(Some(i32::try_from(i).map_err(|_| bad())?)),
        (V::Integer(i), D::Timestamp(_, zone)) => S::TimestampMicrosecond(Some(i), zone.clone()),
        (V::Integer(i), D::Time64(_)) => S::Time64Microsecond(Some(i)),
        (V::Real(f), D::Float32) => S::Float32(Some(f as f32)),
        (V::Real(f), D::Float64) => S::Float64(Some(f)),
        (V::Integer(i), D::Float32) => S::Float32(Some(i as f32)),
        (V::Integer(i), D::Float64) => S::Float64(Some(i as f64)),
        (V::Text(t), D::Decimal128(p, s)) => S::Decimal128(Some(parse_decimal(&t, *s).ok_or_else(bad)?), *p, *s),
        (V::Text(t), D::Decimal256(p, s)) => S::Decimal256(Some(parse_decimal256(&t, *s).ok_or_else(bad)?), *p, *s),
        (V::Text(t), D::Interval(_)) => S::IntervalMonthDayNano(Some(parse_interval(&t, None).and_then(Interval::to_arrow).ok_or_else(bad)?)),
        (V::Text(t), _) => S::Utf8(Some(t)),
        (V::Blob(b), _) => S::Binary(Some(b)),
        _ => return Err(bad()),
    })
}

/// PostgreSQL's `to_hex`: a negative value as its two's complement at `bits` (32 for an
/// integer, 64 for a bigint).
pub fn to_hex(value: i64, bits: i64) -> String {
    if bits == 32 { format!("{:x}", value as i32 as u32) } else { format!("{:x}", value as u64) }
}

/// A float's text as PostgreSQL's float input reads it: a number, or `NaN` and the
/// infinities spelled any case; `None` for anything else.
pub fn parse_float(text: &str) -> Option<f64> {
    match text.trim().to_ascii_lowercase().as_str() {
        "nan" => Some(f64::NAN),
        "infinity" | "+infinity" | "inf" | "+inf" => Some(f64::INFINITY),
        "-infinity" | "-inf" => Some(f64::NEG_INFINITY),
        other => other.parse().ok(),
    }
}

/// PostgreSQL's `width_bucket(operand, low, high, count)`, of each value's text: which of
/// `count` equal buckets between the bounds holds the operand, 0 below them and `count + 1`
/// past them (the bounds may run downward). Exactly, as PostgreSQL's numeric variant, when all
/// three are plain decimals (a float's shortest text is one); else in doubles, as its float8
/// variant (`count * (operand - low) / (high - low)`).
///
/// # Errors
/// 2201G for a count below one, equal or infinite bounds, or NaN; 22P02 for text that is no
/// number.
pub fn width_bucket(operand: &str, low: &str, high: &str, count: i64) -> crate::error::Result<i32> {
    use crate::error::EngineError::{self, WidthBucket};
    use crate::exact_decimal::{from_text, rescaled};
    if count <= 0 {
        return Err(WidthBucket { message: "count must be greater than zero" });
    }
    let count = i32::try_from(count).map_err(|_| EngineError::NumericOutOfRange { type_name: "integer".into() })?;
    let past = || count.checked_add(1).ok_or_else(|| EngineError::NumericOutOfRange { type_name: "integer".into() });
    if let (Some(o), Some(l), Some(h)) = (from_text(operand.trim()), from_text(low.trim()), from_text(high.trim())) {
        let scale = o.scale.max(l.scale).max(h.scale);
        if let (Some(o), Some(l), Some(h)) = (rescaled(o, scale), rescaled(l, scale), rescaled(h, scale)) {
            let (below, past_end, share) = match l.cmp(&h) {
                std::cmp::Ordering::Less => (o < l, o >= h, (o.wrapping_sub(l), h.wrapping_sub(l))),
                std::cmp::Ordering::Greater => (o > l, o <= h, (l.wrapping_sub(o), l.wrapping_sub(h))),
                std::cmp::Ordering::Equal => return Err(WidthBucket { message: "lower bound cannot equal upper bound" }),
            };
            if below {
                return Ok(0);
            }
            if past_end {
                return past();
            }
            let bucket = share.0.checked_mul(arrow::datatypes::i256::from_i128(i128::from(count))).and_then(|n| n.checked_div(share.1));
            if let Some(bucket) = bucket.and_then(|b| b.to_i128()).and_then(|b| i32::try_from(b).ok()) {
                return Ok(bucket.min(count - 1) + 1);
            }
        }
    }
    let number = |text: &str| {
        parse_float(text).ok_or_else(|| EngineError::InvalidTextRepresentation { type_name: "double precision".into(), value: text.trim().to_string() })
    };
    let (operand, low, high) = (number(operand)?, number(low)?, number(high)?);
    if operand.is_nan() || low.is_nan() || high.is_nan() {
        return Err(WidthBucket { message: "operand, lower bound, and upper bound cannot be NaN" });
    }
    if low.is_infinite() || high.is_infinite() {
        return Err(WidthBucket { message: "lower and upper bounds must be finite" });
    }
    let count_f = f64::from(count);
    let bucket = if low < high {
        if operand < low {
            return Ok(0);
        }
        if operand >= high {
            return past();
        }
        count_f * (operand - low) / (high - low)
    } else if low > high {
        if operand > low {
            return Ok(0);
        }
        if operand <= high {
            return past();
        }
        count_f * (low - operand) / (low - high)
    } else {
        return Err(WidthBucket { message: "lower bound cannot equal upper bound" });
    };
    Ok((bucket as i32).min(count - 1) + 1)
}
