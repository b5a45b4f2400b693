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

fn unterminated() -> EngineError {
    EngineError::InvalidFormatSpecifier { message: "unterminated format() type specifier".into() }
}

fn too_few_arguments() -> EngineError {
    EngineError::InvalidArgument { message: "too few arguments for format()".into() }
}

/// Digits at the front of `chars`, as a number (saturating: a huge position is "too few
/// arguments" anyway).
fn digits(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<usize> {
    let mut n: Option<usize> = None;
    while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
        chars.next();
        n = Some(n.unwrap_or(0).saturating_mul(10).saturating_add(d as usize));
    }
    n
}

/// A position written `n$`, which counts from 1.
fn position(n: usize) -> Result<usize> {
    if n == 0 {
        return Err(EngineError::InvalidArgument { message: "format specifies argument 0, but arguments are numbered from 1".into() });
    }
    Ok(n)
}

/// Reads the specifier after a `%` (not `%%`): `[n$][-][width|*|*n$]type`.
fn specifier(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<Specifier> {
    let mut spec = Specifier { position: None, left_align: false, width: Width::None, conversion: ' ' };
    if let Some(n) = digits(chars) {
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
            let from = match digits(chars) {
                Some(n) => {
                    if chars.next() != Some('$') {
                        return Err(unterminated());
                    }
                    Some(position(n)?)
                }
                None => None,
            };
            spec.width = Width::FromArgument(from);
        } else if let Some(n) = digits(chars) {
            spec.width = Width::Fixed(n);
        }
    }
    spec.conversion = chars.next().ok_or_else(unterminated)?;
    Ok(spec)
}

/// `format(template, args...)`: `%s` an argument's text (NULL as nothing), `%I` an identifier
/// quoted where needed, `%L` a literal (NULL unquoted), `%%` a percent sign; each with an
/// optional position (`%2$s`), `-` to align left and a width (`%10s`, `%*s`, `%*1$s`).
///
/// # Errors
/// A malformed or unknown specifier (22023), too few arguments (22023), a NULL for `%I` (22004).
pub fn format(template: &str, args: &[Option<&str>]) -> Result<String> {
    let mut out = String::with_capacity(template.len());
    let mut chars = template.chars().peekable();
    // The argument last used (1-based; 0 before any): an unpositioned one takes the next.
    let mut last = 0usize;
    let argument = |at: Option<usize>, last: &mut usize| -> Result<Option<&str>> {
        let n = at.unwrap_or(*last + 1);
        *last = n;
        args.get(n - 1).copied().ok_or_else(too_few_arguments)
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
            return Err(EngineError::InvalidFormatSpecifier { message: format!("unrecognized format() type specifier \"{}\"", spec.conversion) });
        }
        let (mut width, mut left_align) = match spec.width {
            Width::None => (0, spec.left_align),
            Width::Fixed(n) => (n, spec.left_align),
            Width::FromArgument(at) => {
                let given = argument(at, &mut last)?;
                let n = given.map(|w| w.trim().parse::<i64>()).transpose().map_err(|_| EngineError::InvalidTextRepresentation {
                    type_name: "integer".into(),
                    value: given.unwrap_or_default().to_string(),
                })?;
                let n = n.unwrap_or(0);
                (usize::try_from(n.unsigned_abs()).unwrap_or(usize::MAX), spec.left_align || n < 0)
            }
        };
        let value = argument(spec.position, &mut last)?;
        let text = match (spec.conversion, value) {
            ('s', value) => value.unwrap_or_default().to_string(),
            ('I', Some(name)) => crate::naming::display_ident(name),
            ('I', None) => return Err(EngineError::NullValueNotAllowed { message: "null values cannot be formatted as an SQL identifier".into() }),
            (_, Some(literal)) => crate::naming::quote_literal(literal),
            (_, None) => "NULL".to_string(),
        };
        let chars_in = text.chars().count();
        if width <= chars_in {
            width = 0;
            left_align = false;
        }
        let padding = " ".repeat(width.saturating_sub(chars_in));
        if left_align {
            out.push_str(&text);
            out.push_str(&padding);
        } else {
            out.push_str(&padding);
            out.push_str(&text);
        }
    }
    Ok(out)
}

/// `pg_size_pretty(bytes)`: bytes below 10 kB, then kB, MB, GB, TB and PB, each rounded half
/// away from zero, as PostgreSQL 15 writes them.
pub fn size_pretty(bytes: i128) -> String {
    const LIMIT: i128 = 10 * 1024;
    const LIMIT2: i128 = LIMIT * 2 - 1;
    let half_rounded = |x: i128| (x + if x < 0 { -1 } else { 1 }) / 2;
    if bytes.abs() < LIMIT {
        return format!("{bytes} bytes");
    }
    // One bit more than the unit is kept, for the rounding.
    let mut size = bytes >> 9;
    for unit in ["kB", "MB", "GB", "TB"] {
        if size.abs() < LIMIT2 {
            return format!("{} {unit}", half_rounded(size));
        }
        size >>= 10;
    }
    format!("{} PB", half_rounded(size))
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
    }

    #[test]
    fn sizes_are_pretty_as_in_postgresql() {
        assert_eq!(size_pretty(123_456_789), "118 MB");
        assert_eq!(size_pretty(10_239), "10239 bytes");
        assert_eq!(size_pretty(-20_000), "-20 kB");
        assert_eq!(size_pretty(100_000_000_000_000_000_000), "88818 PB");
    }
}
