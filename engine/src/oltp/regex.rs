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

/// PostgreSQL 15's searching functions: `regexp_count(s, p [, start [, flags]])`,
/// `regexp_instr(s, p [, start [, n [, endoption [, flags [, subexpr]]]]])`,
/// `regexp_like(s, p [, flags])`, `regexp_substr(s, p [, start [, n [, flags [, subexpr]]]])`
/// and `regexp_match(s, p [, flags])`; and the two halves of the set-returning
/// `regexp_matches(s, p [, flags])`, which `translate::arrays` makes
/// `rhei_regexp_matches_row(s, p, unnest(rhei_regexp_matches_rows(s, p, flags)), flags)`:
/// where the matches it returns start (every match with `g`, else the first; byte offsets,
/// so that each row is found again without searching from the start), and the row of the
/// match starting at one.
/// Both engines compile the pattern their way and answer here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Search {
    Count,
    Instr,
    Like,
    Substr,
    Match,
    MatchesRows,
    MatchesRow,
}

/// What a [`Search`] answers.
#[derive(Debug, PartialEq)]
pub enum SearchAnswer {
    Integer(i32),
    Boolean(bool),
    Text(Option<String>),
    /// A text array (NULL elements for groups that took no part in the match), or NULL.
    Texts(Option<Vec<Option<String>>>),
    Integers(Vec<i64>),
}

impl Search {
    pub const ALL: [Search; 7] = [Search::Count, Search::Instr, Search::Like, Search::Substr, Search::Match, Search::MatchesRows, Search::MatchesRow];

    pub fn name(self) -> &'static str {
        match self {
            Search::Count => "regexp_count",
            Search::Instr => "regexp_instr",
            Search::Like => "regexp_like",
            Search::Substr => "regexp_substr",
            Search::Match => "regexp_match",
            Search::MatchesRows => "rhei_regexp_matches_rows",
            Search::MatchesRow => "rhei_regexp_matches_row",
        }
    }

    /// How many arguments it takes.
    pub fn arities(self) -> std::ops::RangeInclusive<usize> {
        match self {
            Search::Count => 2..=4,
            Search::Instr => 2..=7,
            Search::Like | Search::Match => 2..=3,
            Search::Substr => 2..=6,
            Search::MatchesRows => 3..=3,
            Search::MatchesRow => 4..=4,
        }
    }

    /// Where its flags argument is.
    pub fn flags_at(self) -> usize {
        match self {
            Search::Count | Search::MatchesRow => 3,
            Search::Instr => 5,
            Search::Like | Search::Match | Search::MatchesRows => 2,
            Search::Substr => 4,
        }
    }

    /// The answer for `text` of the compiled pattern (`global`: the flags held `g`, which
    /// only `regexp_matches` takes) and the integer arguments in order (those other than the
    /// text, the pattern and the flags: start, n, endoption, subexpr as the function takes
    /// them).
    ///
    /// # Errors
    /// The `g` flag and out-of-range integer arguments, 22023 as in PostgreSQL.
    pub fn answer(self, regex: &Regex, global: bool, text: &str, numbers: &[i64]) -> Result<SearchAnswer, EngineError> {
        let at = |i: usize, default: i64| numbers.get(i).copied().unwrap_or(default);
        let (start, n, end_option, subexpr) = match self {
            Search::MatchesRows => {
                let starts = captures_from(regex, text, 0).take(if global { usize::MAX } else { 1 });
                return Ok(SearchAnswer::Integers(starts.filter_map(|c| c.get(0).and_then(|m| i64::try_from(m.start()).ok())).collect()));
            }
            Search::MatchesRow => {
                // The match found from its own start is the one found there from further back:
                // the search is leftmost, and assertions see the text before the start.
                let start = numbers.first().and_then(|n| usize::try_from(*n).ok()).filter(|at| text.is_char_boundary(*at));
                return Ok(SearchAnswer::Texts(start.and_then(|at| regex.captures_at(text, at)).map(|c| groups(regex, &c))));
            }
            _ if global => {
                return Err(EngineError::InvalidArgument { message: format!("{}() does not support the \"global\" option", self.name()) });
            }
            Search::Match => return Ok(SearchAnswer::Texts(regex.captures(text).map(|c| groups(regex, &c)))),
            Search::Count => (at(0, 1), 1, 0, 0),
            Search::Instr => (at(0, 1), at(1, 1), at(2, 0), at(3, 0)),
            Search::Like => (1, 1, 0, 0),
            Search::Substr => (at(0, 1), at(1, 1), 0, at(2, 0)),
        };
        let invalid = |parameter: &str, value: i64| EngineError::InvalidArgument { message: format!("invalid value for parameter \"{parameter}\": {value}") };
        if start <= 0 {
            return Err(invalid("start", start));
        }
        if n <= 0 {
            return Err(invalid("n", n));
        }
        if !(0..=1).contains(&end_option) {
            return Err(invalid("endoption", end_option));
        }
        if subexpr < 0 {
            return Err(invalid("subexpr", subexpr));
        }
        // The byte the search starts at; past the end there is nothing to find.
        let from = usize::try_from(start - 1).ok().and_then(|skip| match text.char_indices().nth(skip) {
            Some((byte, _)) => Some(byte),
            None => (text.chars().count() == skip).then_some(text.len()),
        });
        let matches = || from.into_iter().flat_map(|from| captures_from(regex, text, from));
        let position = |byte: usize| i32::try_from(text[..byte].chars().count() + 1).unwrap_or(i32::MAX);
        let nth = || {
            let captures = matches().nth(usize::try_from(n - 1).unwrap_or(usize::MAX))?;
            let group = captures.get(usize::try_from(subexpr).ok()?)?;
            Some((group.start(), group.end()))
        };
        Ok(match self {
            Search::Count => SearchAnswer::Integer(i32::try_from(matches().count()).unwrap_or(i32::MAX)),
            Search::Like => SearchAnswer::Boolean(matches().next().is_some()),
            Search::Instr => SearchAnswer::Integer(nth().map_or(0, |(begin, end)| position(if end_option == 1 { end } else { begin }))),
            Search::Substr => SearchAnswer::Text(nth().map(|(begin, end)| text[begin..end].to_string())),
            Search::Match | Search::MatchesRows | Search::MatchesRow => unreachable!("answered above"),
        })
    }
}

/// What `regexp_match` gives for a match: its parenthesized groups (NULL for one that took no
/// part), or the whole match when the pattern has none.
fn groups(regex: &Regex, captures: &regex::Captures<'_>) -> Vec<Option<String>> {
    if regex.captures_len() == 1 {
        return vec![captures.get(0).map(|m| m.as_str().to_string())];
    }
    (1..regex.captures_len()).map(|i| captures.get(i).map(|m| m.as_str().to_string())).collect()
}

/// The matches of `regex` in `text` from byte `from` on, one after another as PostgreSQL
/// finds them: the next search starts where a match ended, a character later after an empty
/// one. `^` still means the start of the text.
fn captures_from<'t>(regex: &Regex, text: &'t str, from: usize) -> impl Iterator<Item = regex::Captures<'t>> {
    let mut at = Some(from);
    std::iter::from_fn(move || {
        let captures = regex.captures_at(text, at?)?;
        let whole = captures.get(0)?;
        at = if whole.is_empty() { text[whole.end()..].chars().next().map(|c| whole.end() + c.len_utf8()) } else { Some(whole.end()) };
        Some(captures)
    })
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

    /// Expected answers are PostgreSQL 15's.
    #[test]
    fn searches_follow_postgresql() {
        let ask = |search: Search, pattern: &str, flags: &str, text: &str, numbers: &[i64]| {
            let (regex, global) = compile(pattern, flags).unwrap();
            search.answer(&regex, global, text, numbers)
        };
        assert_eq!(ask(Search::Count, "o", "", "foo-bar-bozo", &[]).unwrap(), SearchAnswer::Integer(4));
        assert_eq!(ask(Search::Count, "a", "", "aaa", &[2]).unwrap(), SearchAnswer::Integer(2));
        assert_eq!(ask(Search::Count, "a", "", "aaa", &[5]).unwrap(), SearchAnswer::Integer(0));
        assert_eq!(ask(Search::Count, "^b", "", "abc", &[2]).unwrap(), SearchAnswer::Integer(0));
        assert_eq!(ask(Search::Count, "x*", "", "abc", &[]).unwrap(), SearchAnswer::Integer(4));
        assert_eq!(ask(Search::Instr, r"\d", "", "abc123", &[]).unwrap(), SearchAnswer::Integer(4));
        assert_eq!(ask(Search::Instr, r"\d", "", "abc123", &[1, 2, 1]).unwrap(), SearchAnswer::Integer(6));
        assert_eq!(ask(Search::Instr, r"(\d)(\d)", "", "éa12", &[1, 1, 0, 2]).unwrap(), SearchAnswer::Integer(4));
        assert_eq!(ask(Search::Like, "B", "i", "abc", &[]).unwrap(), SearchAnswer::Boolean(true));
        assert_eq!(ask(Search::Substr, r"\d+", "", "abc123de45", &[1, 2]).unwrap(), SearchAnswer::Text(Some("45".into())));
        assert_eq!(ask(Search::Substr, "x", "", "abc", &[]).unwrap(), SearchAnswer::Text(None));
        assert_eq!(ask(Search::Substr, "(a)(b)", "", "zab", &[1, 1, 2]).unwrap(), SearchAnswer::Text(Some("b".into())));
        assert_eq!(ask(Search::Count, "a", "", "aaa", &[0]).unwrap_err().to_string(), "invalid value for parameter \"start\": 0");
        assert_eq!(ask(Search::Count, "a", "g", "aaa", &[]).unwrap_err().to_string(), "regexp_count() does not support the \"global\" option");
    }

    #[test]
    fn bad_patterns_and_flags_are_refused_with_postgresql_codes() {
        assert_eq!(compile("(", "").unwrap_err().sqlstate(), "2201B");
        assert_eq!(compile("a", "z").unwrap_err().sqlstate(), "22023");
    }
}
