//! The session's `TimeZone`: a fixed offset or an IANA zone (`Europe/Paris`), read the way
//! PostgreSQL reads the setting, and the two conversions every timestamptz needs: the offset in
//! force at an instant (output, `::date`, `to_char`) and the instant a wall-clock time names
//! (input), with PostgreSQL's answers for the hours a daylight-saving change skips or repeats.

use chrono::{Offset, TimeZone as _};

/// A session time zone. Copy-cheap: an IANA zone is an index into chrono-tz's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeZone {
    /// Seconds east of UTC, the same at every instant.
    Fixed(i32),
    Named(chrono_tz::Tz),
}

const MICROS_PER_SECOND: i64 = 1_000_000;
/// Daylight-saving changes are months apart, and offsets reach ±14 hours: the offsets in force
/// two days either side of a wall-clock time (read as if UTC) are the only two it can mean.
const TWO_DAYS_MICROS: i64 = 48 * 3600 * MICROS_PER_SECOND;

impl Default for TimeZone {
    fn default() -> Self {
        Self::UTC
    }
}

impl TimeZone {
    pub const UTC: Self = Self::Fixed(0);

    /// A zone given to a function (`make_timestamptz(..., 'Europe/Paris')`): an offset with a
    /// sign counts hours *east* of UTC there (`'+02'`, `'-05:30'`), anything else is read as
    /// [`TimeZone::parse`] reads a setting. `None` for what names no zone.
    pub fn of_argument(text: &str) -> Option<Self> {
        let text = text.trim();
        let Some((sign, rest)) = text.strip_prefix('+').map(|r| (1, r)).or_else(|| text.strip_prefix('-').map(|r| (-1, r))) else {
            // A bare number names no zone here (PostgreSQL: 22023).
            return if text.starts_with(|c: char| c.is_ascii_digit()) { None } else { Self::parse(text) };
        };
        let (hours, minutes) = match rest.split_once(':') {
            Some((h, m)) => (h, m),
            // `+0530`, `+530`.
            None if rest.len() > 2 => rest.split_at(rest.len() - 2),
            None => (rest, "0"),
        };
        let (hours, minutes): (i32, i32) = (hours.parse().ok()?, minutes.parse().ok()?);
        ((0..=15).contains(&hours) && (0..60).contains(&minutes)).then(|| Self::Fixed(sign * (hours * 3600 + minutes * 60)))
    }

    /// The zone a `TimeZone` setting names, as PostgreSQL reads it: a number is hours east of
    /// UTC (`2`, `-7`, `5.5`); an IANA name in any case (`Europe/Paris`, `utc`, `EST5EDT`); a
    /// POSIX zone without daylight-saving rules (`UTC+2`, `<+02>-02`), whose offset counts
    /// hours *west* of Greenwich (so does a bare `+02:30`). `None` for anything else (PostgreSQL refuses it too).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if let Ok(hours) = text.parse::<f64>() {
            // PostgreSQL takes up to 15 hours either way (SET TIME ZONE 16 is refused).
            let seconds = (hours * 3600.0).round();
            return (hours.is_finite() && seconds.abs() <= 15.0 * 3600.0).then_some(Self::Fixed(seconds as i32));
        }
        let named = text.parse::<chrono_tz::Tz>().ok().or_else(|| {
            // PostgreSQL matches zone names in any case; done only when a session sets its zone.
            chrono_tz::TZ_VARIANTS.iter().copied().find(|tz| tz.name().eq_ignore_ascii_case(text))
        });
        if let Some(tz) = named {
            return Some(if always_utc(tz) { Self::UTC } else { Self::Named(tz) });
        }
        posix_offset_west(text).map(|west| Self::Fixed(-west))
    }

    /// The zone of an Arrow timestamp type: an ISO offset (`+02:00`, east) or an IANA name;
    /// UTC for anything else.
    pub fn of_arrow(zone: &str) -> Self {
        if let Some(seconds) = crate::value::zone_offset_seconds(zone.trim_start_matches("UTC")) {
            return Self::Fixed(seconds as i32);
        }
        zone.parse::<chrono_tz::Tz>().map_or(Self::UTC, Self::Named)
    }

    /// Seconds east of UTC in force at the instant `utc_micros`.
    pub fn offset_at(self, utc_micros: i64) -> i32 {
        match self {
            Self::Fixed(seconds) => seconds,
            Self::Named(tz) => chrono::DateTime::from_timestamp_micros(utc_micros)
                .map_or(0, |at| tz.offset_from_utc_datetime(&at.naive_utc()).fix().local_minus_utc()),
        }
    }

    /// The wall-clock time of the instant `utc_micros`, as microseconds since the epoch.
    pub fn local(self, utc_micros: i64) -> i64 {
        utc_micros.saturating_add(i64::from(self.offset_at(utc_micros)) * MICROS_PER_SECOND)
    }

    /// The instant the wall-clock time `local_micros` names. A time a change skips (02:30 on a
    /// spring-forward night) is read with the offset before the change, and a time it repeats
    /// as the later of the two, as PostgreSQL does.
    pub fn utc(self, local_micros: i64) -> i64 {
        let Self::Named(_) = self else {
            return local_micros.saturating_sub(i64::from(self.offset_at(local_micros)) * MICROS_PER_SECOND);
        };
        let reading = |offset: i32| {
            let utc = local_micros.saturating_sub(i64::from(offset) * MICROS_PER_SECOND);
            (self.offset_at(utc) == offset).then_some(utc)
        };
        let before = self.offset_at(local_micros.saturating_sub(TWO_DAYS_MICROS));
        let after = self.offset_at(local_micros.saturating_add(TWO_DAYS_MICROS));
        match (reading(before), reading(after)) {
            (Some(a), Some(b)) => a.max(b),
            (Some(utc), None) | (None, Some(utc)) => utc,
            (None, None) => local_micros.saturating_sub(i64::from(before) * MICROS_PER_SECOND),
        }
    }

    /// The zone's abbreviation at `utc_micros` (`CEST`, `PDT`), where it has a name for it;
    /// otherwise its offset (`+05:30`), as `to_char`'s `TZ` prints it.
    pub fn abbreviation_at(self, utc_micros: i64) -> Option<String> {
        use chrono_tz::OffsetName;
        let Self::Named(tz) = self else { return None };
        let at = chrono::DateTime::from_timestamp_micros(utc_micros)?;
        let name = tz.offset_from_utc_datetime(&at.naive_utc()).abbreviation()?.to_string();
        // tzdata spells zones without a letter abbreviation as their offset (`+0530`).
        (!name.starts_with(['+', '-'])).then_some(name)
    }

    /// The zone as [`TimeZone::of_arrow`] reads it back: an ISO offset (to the minute) or the
    /// IANA name.
    pub fn arrow_name(self) -> String {
        match self {
            Self::Fixed(seconds) => {
                let minutes = seconds.unsigned_abs() / 60;
                format!("{}{:02}:{:02}", if seconds < 0 { '-' } else { '+' }, minutes / 60, minutes % 60)
            }
            Self::Named(tz) => tz.name().to_string(),
        }
    }

    /// The zone as an argument of rhei's SQLite functions: seconds east (a number) for a fixed
    /// offset, the IANA name (text) otherwise.
    pub fn sql_argument(self) -> ZoneArgument {
        match self {
            Self::Fixed(seconds) => ZoneArgument::Seconds(seconds),
            Self::Named(tz) => ZoneArgument::Name(tz.name()),
        }
    }

    /// The zone a SQLite function argument names (see [`TimeZone::sql_argument`]).
    pub fn from_sql_argument(value: rusqlite::types::ValueRef<'_>) -> Option<Self> {
        match value {
            rusqlite::types::ValueRef::Integer(seconds) => i32::try_from(seconds).ok().map(Self::Fixed),
            rusqlite::types::ValueRef::Text(name) => {
                std::str::from_utf8(name).ok().and_then(|n| n.parse::<chrono_tz::Tz>().ok()).map(Self::Named)
            }
            rusqlite::types::ValueRef::Null => Some(Self::UTC),
            _ => None,
        }
    }
}

/// A zone as rhei's SQLite functions take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneArgument {
    Seconds(i32),
    Name(&'static str),
}

/// IANA zones that are UTC at every instant: kept as a fixed offset, which costs nothing to
/// apply.
fn always_utc(tz: chrono_tz::Tz) -> bool {
    use chrono_tz::Tz;
    matches!(tz, Tz::UTC | Tz::Etc__UTC | Tz::Etc__UCT | Tz::UCT | Tz::Universal | Tz::Etc__Universal | Tz::Zulu | Tz::Etc__Zulu)
        || matches!(tz, Tz::GMT | Tz::Etc__GMT | Tz::GMT0 | Tz::Etc__GMT0 | Tz::Greenwich | Tz::Etc__Greenwich)
}

/// The offset west of Greenwich, in seconds, of a POSIX zone with no daylight-saving part: a
/// name (three or more letters, or anything in `<...>`) and `[+|-]hh[:mm[:ss]]`.
fn posix_offset_west(text: &str) -> Option<i32> {
    let rest = if let Some(quoted) = text.strip_prefix('<') {
        &quoted[quoted.find('>')? + 1..]
    } else {
        let letters = text.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(text.len());
        // PostgreSQL also reads a bare `+02:30` this way (west), though a bare `+02` is a number.
        if letters > 0 && letters < 3 {
            return None;
        }
        &text[letters..]
    };
    let (sign, digits) = match rest.as_bytes().first()? {
        b'+' => (1, &rest[1..]),
        b'-' => (-1, &rest[1..]),
        b'0'..=b'9' => (1, rest),
        _ => return None,
    };
    let mut parts = digits.split(':');
    let mut seconds = 0;
    for (i, scale) in [3600, 60, 1].into_iter().enumerate() {
        let Some(part) = parts.next() else { break };
        if part.is_empty() || part.len() > 2 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let value: i32 = part.parse().ok()?;
        if (i == 0 && value > 24) || (i > 0 && value > 59) {
            return None;
        }
        seconds += value * scale;
    }
    parts.next().is_none().then_some(sign * seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn micros(text: &str) -> i64 {
        crate::value::parse_timestamp_micros(text).expect("a timestamp")
    }

    /// The settings PostgreSQL 15 accepts and the offsets it gives them (checked against it).
    #[test]
    fn settings_read_as_postgresql_reads_them() {
        let at = micros("2024-01-01 00:00:00");
        let offset = |setting: &str| TimeZone::parse(setting).map(|z| z.offset_at(at));
        assert_eq!(offset("+02"), Some(7200), "a number is hours east");
        assert_eq!(offset("2"), Some(7200));
        assert_eq!(offset("-7"), Some(-7 * 3600));
        assert_eq!(offset("5.5"), Some(5 * 3600 + 1800));
        assert_eq!(offset("UTC+2"), Some(-7200), "POSIX counts west");
        assert_eq!(offset("+02:30"), Some(-9000), "not a number: POSIX, west");
        assert_eq!(offset("<+02>-02"), Some(7200));
        assert_eq!(offset("GMT-01:00"), Some(3600), "pgjdbc's spelling of a JVM zone GMT+01:00");
        assert_eq!(offset("europe/paris"), Some(3600));
        assert_eq!(offset("EST5EDT"), Some(-5 * 3600));
        assert_eq!(offset("UTC"), Some(0));
        assert_eq!(TimeZone::parse("utc"), Some(TimeZone::UTC));
        assert_eq!(offset("Mars/Olympus"), None);
        assert_eq!(offset("16"), None);
    }

    #[test]
    fn daylight_saving_changes_read_as_postgresql_reads_them() {
        let paris = TimeZone::parse("Europe/Paris").expect("a zone");
        let summer = micros("2024-07-01 00:00:00");
        assert_eq!(paris.offset_at(summer), 7200);
        assert_eq!(paris.local(summer), micros("2024-07-01 02:00:00"));
        // Skipped by the spring change: read with the offset before it (+01).
        assert_eq!(paris.utc(micros("2024-03-31 02:30:00")), micros("2024-03-31 01:30:00"));
        // Repeated by the autumn change: the later reading (+01).
        assert_eq!(paris.utc(micros("2024-10-27 02:30:00")), micros("2024-10-27 01:30:00"));
        assert_eq!(paris.utc(micros("2024-07-01 02:00:00")), summer);
        assert_eq!(paris.abbreviation_at(summer).as_deref(), Some("CEST"));
        // Past +12 hours the same rules hold (Auckland's spring change, 02:00 to 03:00 +13).
        let auckland = TimeZone::parse("Pacific/Auckland").expect("a zone");
        assert_eq!(auckland.utc(micros("2024-09-29 02:30:00")), micros("2024-09-28 14:30:00"));
        assert_eq!(auckland.utc(micros("2024-04-07 02:30:00")), micros("2024-04-06 14:30:00"));
        let kolkata = TimeZone::parse("Asia/Kolkata").expect("a zone");
        assert_eq!(kolkata.abbreviation_at(summer).as_deref(), Some("IST"));
        assert_eq!(TimeZone::from_sql_argument(rusqlite::types::ValueRef::Text(b"Europe/Paris")), Some(paris));
    }
}
