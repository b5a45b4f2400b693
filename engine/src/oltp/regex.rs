//! PostgreSQL's POSIX regular expressions on SQLite: `~`, `~*`, `!~`, `!~*`, `regexp_replace`
//! and `substring(x FROM pattern)`, which SQLite has no functions for. The `regex` crate reads
//! the patterns people write (classes, quantifiers, groups, anchors, `\d`, `\w`); PostgreSQL's
//! backreferences in patterns and lookaround are refused as invalid (2201B) rather than
//! matched differently. Compiled patterns are kept per statement by SQLite's auxiliary data.

use regex::{Regex, RegexBuilder};

use crate::error::EngineError;

/// Compiles `pattern` with PostgreSQL's flags (`i` case-insensitive, `g` global, `n`/`p`/`w`
/// newline-sensitive, `s` the default, `x` expanded, `c` case-sensitive); returns the regex and
/// whether `g` was given.
///
/// # Errors
/// An unknown flag (22023) or a pattern the engine cannot read (2201B).
pub fn compile(pattern: &str, flags: &str) -> Result<(Regex, bool), EngineError> {
    let mut builder = RegexBuilder::new(pattern);
    let mut global = false;
    for flag in flags.chars() {
        match flag {
            'g' => global = true,
            'i' => {
                builder.case_insensitive(true);
            }
            'c' => {
                builder.case_insensitive(false);
            }
            'n' | 'w' => {
                builder.multi_line(true).dot_matches_new_line(false);
            }
            'p' => {
                builder.dot_matches_new_line(false);
            }
            's' => {}
            'x' => {
                builder.ignore_whitespace(true);
            }
            other => return Err(EngineError::InvalidArgument { message: format!("invalid regular expression option: \"{other}\"") }),
        }
    }
    // Outside newline-sensitive mode, PostgreSQL's `.` matches a newline too.
    if !flags.contains(['n', 'w', 'p']) {
        builder.dot_matches_new_line(true);
    }
    let regex = builder.build().map_err(|e| EngineError::InvalidRegularExpression { message: first_line(&e.to_string()) })?;
    Ok((regex, global))
}

fn first_line(text: &str) -> String {
    text.lines().rev().find(|l| l.trim_start().starts_with("error:")).unwrap_or(text).trim().to_string()
}

/// PostgreSQL's replacement text (`\1`..`\9` for groups, `\&` for the match, `\\` for a
/// backslash) in the `regex` crate's syntax (`${1}`, `${0}`, `$$` for a dollar).
pub fn replacement(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.peek().copied() {
                Some(d @ '1'..='9') => {
                    chars.next();
                    out.push_str(&format!("${{{d}}}"));
                }
                Some('&') => {
                    chars.next();
                    out.push_str("${0}");
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                _ => out.push('\\'),
            },
            other => out.push(other),
        }
    }
    out
}

/// `substring(text FROM pattern)`: the part of the first match in the first parenthesized
/// group, or the whole match when there is none; `None` without a match.
pub fn substring<'t>(regex: &Regex, text: &'t str) -> Option<&'t str> {
    let captures = regex.captures(text)?;
    if regex.captures_len() > 1 {
        captures.get(1).map(|m| m.as_str())
    } else {
        captures.get(0).map(|m| m.as_str())
    }
}

/// `regexp_split_to_array(text, pattern)`: the pieces of `text` between the matches of
/// `regex`. As in PostgreSQL, a match splits only if it starts before the end of the text and
/// ends past the previous match, so an empty match at the start, at the end or right after
/// another splits nothing (an empty pattern splits a text into its characters).
pub fn split<'t>(regex: &Regex, text: &'t str) -> Vec<&'t str> {
    let mut pieces = Vec::new();
    let (mut piece_start, mut previous_end, mut search) = (0, 0, 0);
    while let Some(found) = regex.find_at(text, search) {
        if found.start() < text.len() && found.end() > previous_end {
            pieces.push(&text[piece_start..found.start()]);
            piece_start = found.end();
        }
        previous_end = found.end();
        search = found.end();
        // An empty match is found again where it is unless the search moves on a character.
        if found.is_empty() {
            match text[search..].chars().next() {
                Some(c) => search += c.len_utf8(),
                None => break,
            }
        }
    }
    pieces.push(&text[piece_start..]);
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacements_and_substrings_follow_postgresql() {
        let (re, global) = compile("(b)(c)?", "g").unwrap();
        assert!(global);
        assert_eq!(re.replace_all("abcab", replacement(r"[\1\&]$").as_str()), "a[bbc]$a[bb]$");
        let (digits, _) = compile("[0-9]+", "").unwrap();
        assert_eq!(substring(&digits, "abc123def45"), Some("123"));
        let (group, _) = compile("c(\\d)", "").unwrap();
        assert_eq!(substring(&group, "abc123"), Some("1"));
        assert_eq!(substring(&digits, "none"), None);
        let (ci, _) = compile("^AB", "i").unwrap();
        assert!(ci.is_match("abc"));
        assert!(compile("a.c", "").unwrap().0.is_match("a\nc"));
    }

    #[test]
    fn splits_follow_postgresql_on_empty_matches_and_ends() {
        let pieces = |pattern: &str, flags: &str, text: &str| split(&compile(pattern, flags).unwrap().0, text).join("|");
        assert_eq!(pieces(",", "", ",a,"), "|a|");
        assert_eq!(pieces("", "", "héllo"), "h|é|l|l|o");
        assert_eq!(pieces(r"\s*", "", "a  b c"), "a|b|c");
        assert_eq!(pieces("x*", "", "abc"), "a|b|c");
        assert_eq!(pieces("x", "i", "aXbxc"), "a|b|c");
        assert_eq!(split(&compile(",", "").unwrap().0, ""), vec![""]);
        assert_eq!(split(&compile("", "").unwrap().0, ""), vec![""]);
    }

    #[test]
    fn bad_patterns_and_flags_are_refused_with_postgresql_codes() {
        assert_eq!(compile("(", "").unwrap_err().sqlstate(), "2201B");
        assert_eq!(compile("a", "z").unwrap_err().sqlstate(), "22023");
    }
}
