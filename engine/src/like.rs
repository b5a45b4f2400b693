//! `x [NOT] [I]LIKE ANY (array)` over an array value (a parameter, a column), which neither
//! engine has: one implementation of PostgreSQL's LIKE matching and of ANY's three-valued
//! answer, which SQLite's `rhei_like_any` (the array as JSON) and DataFusion's (the array as a
//! list) both call. Patterns written out (`ARRAY['a%', 'b%']`) are expanded into ORs at parse
//! time instead (`translate::normalize_operators`).

/// How `rhei_like_any`'s third argument says which operator it stands for.
pub const INSENSITIVE: i64 = 1;
pub const NEGATED: i64 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    /// `%`: any run of characters.
    Any,
    /// `_`: one character.
    One,
    Char(char),
}

/// The pattern's tokens under LIKE's default escape, the backslash (a trailing one stands for
/// itself).
fn tokens(pattern: &str) -> Vec<Token> {
    let mut tokens = Vec::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        tokens.push(match c {
            '%' => Token::Any,
            '_' => Token::One,
            '\\' => Token::Char(chars.next().unwrap_or('\\')),
            c => Token::Char(c),
        });
    }
    tokens
}

/// Whether `text` matches the LIKE `pattern` (ILIKE with `insensitive`, which lowers ASCII
/// letters only, as rhei's other ILIKE does with SQLite's `lower` and PostgreSQL under the C
/// locale its tests run in).
pub fn matches(text: &str, pattern: &str, insensitive: bool) -> bool {
    let (text, pattern) = if insensitive { (text.to_ascii_lowercase(), pattern.to_ascii_lowercase()) } else { (text.to_string(), pattern.to_string()) };
    let text: Vec<char> = text.chars().collect();
    let pattern = tokens(&pattern);
    // Greedy with backtracking to the last `%`: each `%` only ever moves forward.
    let (mut t, mut p) = (0, 0);
    let mut last_any: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(Token::One) => (t, p) = (t + 1, p + 1),
            Some(Token::Char(c)) if *c == text[t] => (t, p) = (t + 1, p + 1),
            Some(Token::Any) => {
                last_any = Some((p, t));
                p += 1;
            }
            _ => match last_any {
                Some((any, from)) => {
                    last_any = Some((any, from + 1));
                    (t, p) = (from + 1, any + 1);
                }
                None => return false,
            },
        }
    }
    pattern[p.min(pattern.len())..].iter().all(|token| *token == Token::Any)
}

/// `value [NOT] [I]LIKE ANY (patterns)` as PostgreSQL answers it: true when some pattern's
/// comparison is true, else NULL when some is NULL (a NULL value or pattern), else false (also
/// over no patterns). `how` is [`INSENSITIVE`] and [`NEGATED`] or'ed together.
pub fn any<'a>(value: Option<&str>, patterns: impl IntoIterator<Item = Option<&'a str>>, how: i64) -> Option<bool> {
    let (insensitive, negated) = (how & INSENSITIVE != 0, how & NEGATED != 0);
    let mut unknown = false;
    for pattern in patterns {
        match (value, pattern) {
            (Some(value), Some(pattern)) => {
                if matches(value, pattern, insensitive) != negated {
                    return Some(true);
                }
            }
            _ => unknown = true,
        }
    }
    if unknown { None } else { Some(false) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_matches_as_postgresql() {
        for (text, pattern, expected) in [
            ("abc", "abc", true),
            ("abc", "a%", true),
            ("abc", "%c", true),
            ("abc", "%b%", true),
            ("abc", "a_c", true),
            ("abc", "a_", false),
            ("", "%", true),
            ("", "_", false),
            ("a%c", "a\\%c", true),
            ("abc", "a\\%c", false),
            ("a_c", "a\\_c", true),
            ("aXbXc", "%X%X%", true),
            ("mississippi", "%iss%ppi", true),
            ("mississippi", "m%s_s%z", false),
            ("héllo", "h_llo", true),
        ] {
            assert_eq!(matches(text, pattern, false), expected, "{text} LIKE {pattern}");
        }
        assert!(matches("ABC", "a%", true));
        assert!(!matches("ΟΔΟΣ", "οδοσ", true));
        assert!(matches("İ", "_", true));
        assert!(!matches("ABC", "a%", false));
    }

    #[test]
    fn any_is_three_valued() {
        assert_eq!(any(Some("abc"), [Some("x%"), Some("a%")], 0), Some(true));
        assert_eq!(any(Some("abc"), [Some("x%"), None], 0), None);
        assert_eq!(any(Some("abc"), [Some("a%"), None], 0), Some(true));
        assert_eq!(any(Some("abc"), [Some("x%")], 0), Some(false));
        assert_eq!(any(None, [Some("a%")], 0), None);
        assert_eq!(any(None, [], 0), Some(false));
        assert_eq!(any(Some("abc"), [Some("a%"), Some("b%")], NEGATED), Some(true));
        assert_eq!(any(Some("abc"), [Some("a%")], NEGATED), Some(false));
        assert_eq!(any(Some("ABC"), [Some("a%")], INSENSITIVE), Some(true));
    }
}
