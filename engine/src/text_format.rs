//! PostgreSQL's `format(template, args...)` and `pg_size_pretty`, one implementation for both
//! engines and the proxy's catalog. Each engine hands `format` its arguments already as their
//! types' text output (the translation casts dates, times and numbers to text first, see
//! `translate::values_as_text`), so here they are only text or NULL.

use crate::error::{EngineError, Result};

/// What one `%...` specifier asks for.
struct Specifier {
    /// 1-based argument position (`%2$s`), or the next argument.
    position: Option<usize>,
    left_align: bool,
    width: Width,
    conversion: char,
}

enum Width {
    None,
    Fixed(usize),
    /// `*` or `*n$`: the width is an argument (the next, or the n-th).
    FromArgument(Option<usize>),
}

/// The longest text PostgreSQL makes (its largest allocation, 1 GB less a byte): a wider
/// `format()` width fails there as here, rather than exhausting the server's memory.
const MAX_TEXT_BYTES: usize = 0x3fff_ffff;

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// Digits at the front of `chars`, as a number; past `integer` is 22003, as in PostgreSQL.
fn digits(chars: &mut Chars<'_>) -> Result<Option<usize>> {
    let mut n: Option<u64> = None;
    while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
        chars.next();
        let next = n.unwrap_or(0) * 10 + u64::from(d);
        if next > i32::MAX as u64 {
            return Err(EngineError::FormatNumberOutOfRange);
        }
        n = Some(next);
    }
    Ok(n.map(|n| n as usize))
}

/// A position written `n$`, which counts from 1.
fn position(n: usize) -> Result<usize> {
    if n == 0 {
        return Err(EngineError::InvalidArgument { message: "format specifies argument 0, but arguments are numbered from 1".into() });
    }
    Ok(n)
}

/// Reads the specifier after a `%` (not `%%`): `[n$][-][width|*|*n$]type`.
fn specifier(chars: &mut Chars<'_>) -> Result<Specifier> {
    let mut spec = Specifier { position: None, left_align: false, width: Width::None, conversion: ' ' };
    if let Some(n) = digits(chars)? {
        if chars.peek() == Some(&'$') {
            chars.next();
            spec.position = Some(position(n)?);
        } else {
            spec.width = Width::Fixed(n);
        }
    }
    if matches!(spec.width, Width::None) {
        while chars.peek() == Some(&'-') {
            chars.next();
            spec.left_align = true;
        }
        if chars.peek() == Some(&'*') {
            chars.next();
            let from = match digits(chars)? {
                Some(n) => {
                    match chars.next() {
                        Some('$') => {}
                        Some(_) => {
                            return Err(EngineError::InvalidArgument { message: "width argument position must be ended by \"$\"".into() });
                        }
                        None => return Err(EngineError::UnterminatedFormatSpecifier),
                    }
                    Some(position(n)?)
                }
                None => None,
            };
            spec.width = Width::FromArgument(from);
        } else if let Some(n) = digits(chars)? {
            spec.width = Width::Fixed(n);
        }
    }
    spec.conversion = chars.next().ok_or(EngineError::UnterminatedFormatSpecifier)?;
    Ok(spec)
}

/// A width given as an argument: an integer (NULL is none); negative aligns left.
fn width_argument(given: Option<&str>) -> Result<(usize, bool)> {
    let Some(text) = given else { return Ok((0, false)) };
    let n: i32 = text.trim().parse().map_err(|_| match text.trim().parse::<i128>() {
        Ok(_) => EngineError::IntegerValueOutOfRange { value: text.to_string(), type_name: "integer" },
        Err(_) => EngineError::InvalidTextRepresentation { type_name: "integer".into(), value: text.to_string() },
    })?;
    Ok((n.unsigned_abs() as usize, n < 0))
}

/// `format(template, args...)`: `%s` an argument's text (NULL as nothing), `%I` an identifier
/// quoted where needed, `%L` a literal (NULL unquoted), `%%` a percent sign; each with an
/// optional position (`%2$s`), `-` to align left and a width (`%10s`, `%*s`, `%*1$s`).
///
/// # Errors
/// A malformed or unknown specifier (22023), too few arguments (22023), a NULL for `%I`
/// (22004), a width past `integer` (22003) or one making text past 1 GB (54000).
pub fn format(template: &str, args: &[Option<&str>]) -> Result<String> {
    let mut out = String::with_capacity(template.len());
    let mut chars = template.chars().peekable();
    // The argument last used (1-based; 0 before any): an unpositioned one takes the next.
    let mut last = 0usize;
    let argument = |at: Option<usize>, last: &mut usize| -> Result<Option<&str>> {
        let n = at.unwrap_or(*last + 1);
        *last = n;
        args.get(n - 1).copied().ok_or_else(|| EngineError::InvalidArgument { message: "too few arguments for format()".into() })
    };
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            out.push('%');
            continue;
        }
        let spec = specifier(&mut chars)?;
        if !matches!(spec.conversion, 's' | 'I' | 'L') {
            return Err(EngineError::UnrecognizedFormatSpecifier { specifier: spec.conversion });
        }
        let (width, negative) = match spec.width {
            Width::None => (0, false),
            Width::Fixed(n) => (n, false),
            Width::FromArgument(at) => width_argument(argument(at, &mut last)?)?,
        };
        let left_align = spec.left_align || negative;
        let value = argument(spec.position, &mut last)?;
        let text = match (spec.conversion, value) {
            ('s', value) => value.unwrap_or_default().to_string(),
            ('I', Some(name)) => crate::naming::display_ident(name),
            ('I', None) => return Err(EngineError::NullValueNotAllowed { message: "null values cannot be formatted as an SQL identifier".into() }),
            (_, Some(literal)) => crate::naming::quote_literal(literal),
            (_, None) => "NULL".to_string(),
        };
        let padding = width.saturating_sub(text.chars().count());
        if out.len() + text.len() + padding > MAX_TEXT_BYTES {
            return Err(EngineError::ProgramLimitExceeded { message: format!("format() width {width} makes text longer than 1 GB") });
        }
        if !left_align {
            out.extend(std::iter::repeat_n(' ', padding));
        }
        out.push_str(&text);
        if left_align {
            out.extend(std::iter::repeat_n(' ', padding));
        }
    }
    Ok(out)
}

/// `pg_size_pretty(bytes)` of a bigint or numeric given as its text: bytes below 10 kB as
/// written (`1.50 bytes`), then whole kB, MB, GB, TB and PB, each halved-and-rounded away from
/// zero after dividing towards zero, as PostgreSQL 15 computes them (so `-10485247` is
/// `-10239 kB`).
///
/// # Errors
/// Not a number (22P02); a size past 128-bit integers (22003).
pub fn size_pretty(bytes: &str) -> Result<String> {
    const LIMIT: i128 = 10 * 1024;
    const LIMIT2: i128 = LIMIT * 2 - 1;
    let text = bytes.trim();
    if !crate::value::is_plain_decimal(text) {
        return Err(EngineError::InvalidTextRepresentation { type_name: "numeric".into(), value: bytes.to_string() });
    }
    // Dividing the whole part towards zero is dividing the number so: the fraction only shows
    // below the first unit.
    let whole = text.split('.').next().unwrap_or_default();
    let mut size: i128 = whole.parse().map_err(|_| EngineError::NumericOutOfRange { type_name: "bigint".into() })?;
    if size.abs() < LIMIT {
        return Ok(format!("{text} bytes"));
    }
    let half_rounded = |x: i128| (x + if x < 0 { -1 } else { 1 }) / 2;
    // One bit more than the unit is kept, for the rounding.
    size /= 1 << 9;
    for unit in ["kB", "MB", "GB", "TB"] {
        if size.abs() < LIMIT2 {
            return Ok(format!("{} {unit}", half_rounded(size)));
        }
        size /= 1 << 10;
    }
    Ok(format!("{} PB", half_rounded(size)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn formatted(template: &str, args: &[Option<&str>]) -> String {
        format(template, args).expect("format")
    }

    fn failure(template: &str, args: &[Option<&str>]) -> (String, &'static str) {
        let e = format(template, args).expect_err("an error");
        (e.to_string(), e.sqlstate())
    }

    /// Each expected text is what PostgreSQL 15 answered.
    #[test]
    fn specifiers_follow_postgresql() {
        assert_eq!(formatted("%5s|%-5s|", &[Some("ab"), Some("cd")]), "   ab|cd   |");
        assert_eq!(formatted("%*s|", &[Some("6"), Some("x")]), "     x|");
        assert_eq!(formatted("%*s|", &[Some("-6"), Some("x")]), "x     |");
        assert_eq!(formatted("%*s|", &[None, Some("x")]), "x|");
        assert_eq!(formatted("%-*s|", &[Some("4"), Some("x")]), "x   |");
        assert_eq!(formatted("%2$s %1$s %s", &[Some("a"), Some("b")]), "b a b");
        assert_eq!(formatted("%1$s %s", &[Some("a"), Some("b")]), "a b");
        assert_eq!(formatted("%1$s %1$s", &[Some("a")]), "a a");
        assert_eq!(formatted("%3$*1$s|", &[Some("4"), Some("x"), Some("y")]), "   y|");
        assert_eq!(formatted("%L|%s|", &[None, None]), "NULL||");
        assert_eq!(formatted("%I %I %I", &[Some("abc"), Some("A"), Some("select")]), "abc \"A\" \"select\"");
        assert_eq!(formatted("%L", &[Some("it's \\ x")]), "E'it''s \\\\ x'");
        assert_eq!(formatted("100%%", &[]), "100%");
        assert_eq!(formatted("%s", &[Some("1.50"), Some("t")]), "1.50");
        assert_eq!(formatted("%3s|", &[Some("héllo")]), "héllo|");
    }

    #[test]
    fn malformed_templates_fail_as_in_postgresql() {
        assert_eq!(failure("%0$s", &[Some("a")]), ("format specifies argument 0, but arguments are numbered from 1".into(), "22023"));
        assert_eq!(failure("%s %s", &[Some("a")]), ("too few arguments for format()".into(), "22023"));
        assert_eq!(failure("%5$s", &[Some("1")]), ("too few arguments for format()".into(), "22023"));
        assert_eq!(failure("%*1$s|", &[Some("3")]), ("too few arguments for format()".into(), "22023"));
        assert_eq!(failure("%x", &[Some("a")]), ("unrecognized format() type specifier \"x\"".into(), "22023"));
        assert_eq!(failure("abc %", &[]), ("unterminated format() type specifier".into(), "22023"));
        assert_eq!(failure("%-", &[]), ("unterminated format() type specifier".into(), "22023"));
        assert_eq!(failure("%I", &[None]), ("null values cannot be formatted as an SQL identifier".into(), "22004"));
        assert_eq!(failure("%*5s", &[Some("1")]), ("width argument position must be ended by \"$\"".into(), "22023"));
        // A width past integer, or one making text past 1 GB, fails rather than exhaust memory.
        assert_eq!(failure("%99999999999s|", &[Some("x")]), ("number is out of range".into(), "22003"));
        assert_eq!(failure("%*s|", &[Some("9000000000"), Some("x")]), ("value \"9000000000\" is out of range for type integer".into(), "22003"));
        assert_eq!(failure("%2000000000s", &[Some("x")]).1, "54000");
    }

    #[test]
    fn sizes_are_pretty_as_in_postgresql() {
        let pretty = |text: &str| size_pretty(text).expect("a size");
        assert_eq!(pretty("123456789"), "118 MB");
        assert_eq!(pretty("10239"), "10239 bytes");
        assert_eq!(pretty("-20000"), "-20 kB");
        assert_eq!(pretty("100000000000000000000"), "88818 PB");
        assert_eq!(pretty("-10485247"), "-10239 kB");
        assert_eq!(pretty("-10241"), "-10 kB");
        assert_eq!(pretty("1.50"), "1.50 bytes");
        assert_eq!(pretty("-1.5"), "-1.5 bytes");
        assert_eq!(pretty("10240.7"), "10 kB");
    }
}
