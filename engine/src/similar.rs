//! SQL regular expressions (`SIMILAR TO`) as the POSIX ones rhei matches everywhere else:
//! PostgreSQL's own translation (`similar_to_escape`), so both engines match what PostgreSQL
//! matches. The whole text must match; `%` is any text and `_` any character; `|`, `*`, `+`,
//! `?`, `{m,n}`, `( )` and `[...]` are as in POSIX; `.`, `^`, `$` and `\` are ordinary
//! characters; the escape character (a backslash unless `ESCAPE` says otherwise, none for
//! `ESCAPE ''`) makes the next character ordinary. In `substring(s FROM pattern FOR escape)`,
//! the escape followed by `"` marks, twice, the part of the match to return (the pattern's
//! only capture group).

use crate::error::EngineError;

/// The escape an `ESCAPE` clause names: one character, or none for the empty string.
///
/// # Errors
/// Two characters or more (22025, as PostgreSQL).
pub fn escape_character(escape: Option<&str>) -> Result<Option<char>, EngineError> {
    let Some(escape) = escape else { return Ok(Some('\\')) };
    let mut chars = escape.chars();
    match (chars.next(), chars.next()) {
        (None, _) => Ok(None),
        (Some(c), None) => Ok(Some(c)),
        _ => Err(EngineError::InvalidEscapeSequence { message: "invalid escape string".into() }),
    }
}

/// The POSIX regular expression a `SIMILAR TO` pattern stands for.
///
/// # Errors
/// More than two escape-double-quote markers (2201B, as PostgreSQL).
pub fn to_regex(pattern: &str, escape: Option<char>) -> Result<String, EngineError> {
    let mut out = String::from("^(?:");
    let (mut after_escape, mut in_class, mut class_start, mut markers) = (false, false, false, 0);
    for c in pattern.chars() {
        if after_escape && c == '"' && !in_class {
            // The first marker ends a lazy prefix and opens the returned group, the second
            // closes it (PostgreSQL's own expansion).
            out.push_str(match markers {
                0 => "){1,1}?(",
                1 => "){1,1}(?:",
                _ => {
                    return Err(EngineError::InvalidRegularExpression {
                        message: "SQL regular expression may not contain more than two escape-double-quote separators".into(),
                    })
                }
            });
            markers += 1;
            after_escape = false;
        } else if after_escape {
            out.push('\\');
            out.push(c);
            after_escape = false;
        } else if Some(c) == escape {
            after_escape = true;
        } else if in_class {
            // `]` first in a class (after `[` or `[^`) is a member, not the end.
            if c == ']' && !class_start {
                in_class = false;
            }
            class_start = class_start && c == '^';
            if c == '\\' {
                out.push('\\');
            }
            out.push(c);
        } else {
            match c {
                '[' => {
                    in_class = true;
                    class_start = true;
                    out.push('[');
                }
                '%' => out.push_str(".*"),
                '_' => out.push('.'),
                '(' => out.push_str("(?:"),
                '\\' | '.' | '^' | '$' => {
                    out.push('\\');
                    out.push(c);
                }
                other => out.push(other),
            }
        }
    }
    out.push_str(")$");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(text: &str, pattern: &str) -> bool {
        regex::Regex::new(&to_regex(pattern, Some('\\')).unwrap()).unwrap().is_match(text)
    }

    #[test]
    fn wildcards_anchor_the_whole_text() {
        assert!(matches("abc", "abc"));
        assert!(!matches("abcd", "abc"));
        assert!(matches("abc", "a%"));
        assert!(matches("abc", "_b_"));
        assert!(!matches("abc", "b%"));
    }

    #[test]
    fn posix_operators_and_ordinary_dots() {
        assert!(matches("abc", "%(b|d)%"));
        assert!(matches("abbbc", "ab+c"));
        assert!(matches("a.c", "a.c"));
        assert!(!matches("abc", "a.c"));
        assert!(matches("a^b$", "a^b$"));
        assert!(matches("x]", "[]x]+"));
        assert!(matches("b", "[^a]"));
    }

    #[test]
    fn escapes() {
        assert!(matches("100%", "100\\%"));
        assert!(!matches("1000", "100\\%"));
        assert_eq!(to_regex("a#%", Some('#')).unwrap(), "^(?:a\\%)$");
        assert_eq!(to_regex("a\\b", None).unwrap(), "^(?:a\\\\b)$");
        let marked = regex::Regex::new(&to_regex(r#"a#"b_#"%"#, Some('#')).unwrap()).unwrap();
        assert_eq!(marked.captures("abcde").unwrap().get(1).unwrap().as_str(), "bc");
        assert!(to_regex(r##"#"a#"b#""##, Some('#')).is_err());
        assert_eq!(escape_character(Some("")).unwrap(), None);
        assert!(escape_character(Some("ab")).is_err());
    }
}
