//! PostgreSQL's `json` and `jsonb` on text, for both engines: input checking, jsonb's
//! normalized output, the operators (`->`, `->>`, `#>`, `#>>`, `@>`, `<@`, `?`) and the
//! functions that read a document (`jsonb_typeof`, `jsonb_array_length`,
//! `jsonb_extract_path[_text]`, and their json twins).
//!
//! Both types are stored as text. A jsonb value is stored in its output form (keys ordered by
//! length then bytes, the last of duplicate keys kept, `", "` and `": "` between items, numbers
//! as numeric prints them), so any element of a stored jsonb, cut out of its text, is itself in
//! jsonb's form; a json value keeps its text as written, as PostgreSQL keeps it, and its
//! elements are cut out as written too. That is why the operators need not be told which of
//! the two types they read.
//!
//! The parser is rhei's own rather than serde_json's: it keeps a number's digits as written
//! (jsonb prints `3.50` back, a float would give `3.5`) and each value's place in the text.

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::error::EngineError;

/// A parsed JSON value borrowing from its text.
#[derive(Debug, Clone)]
pub struct Json<'a> {
    /// The value's text, as written (whitespace around it excluded).
    pub raw: &'a str,
    pub kind: Kind<'a>,
}

#[derive(Debug, Clone)]
pub enum Kind<'a> {
    Null,
    Bool(bool),
    /// The number's text, as written.
    Number(&'a str),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    /// Members in the order written, duplicates included.
    Object(Vec<(Cow<'a, str>, Json<'a>)>),
}

fn syntax(type_name: &'static str, text: &str) -> EngineError {
    EngineError::InvalidTextRepresentation { type_name: type_name.into(), value: text.to_string() }
}

/// Parses `text` as json (or jsonb: `type_name` goes into the error).
///
/// # Errors
/// 22P02 when `text` is not JSON; jsonb also refuses `\u0000` (22P05), as PostgreSQL does.
pub fn parse<'a>(text: &'a str, type_name: &'static str) -> Result<Json<'a>, EngineError> {
    let mut parser = Parser { text, at: 0, depth: 0 };
    parser.skip_space();
    let value = parser.value().ok_or_else(|| syntax(type_name, text))?;
    parser.skip_space();
    if parser.at != text.len() {
        return Err(syntax(type_name, text));
    }
    if type_name == "jsonb" {
        if has_nul_escape(&value) {
            return Err(EngineError::UnsupportedUnicodeEscape);
        }
        if !numbers_fit(&value) {
            return Err(EngineError::NumericOutOfRange { type_name: "numeric".into() });
        }
    }
    Ok(value)
}

/// Whether every number fits PostgreSQL's numeric, as jsonb stores them: at most 131,072
/// digits before the point and 16,383 after, once the exponent is applied. Checked before a
/// number is written out, which would otherwise spell out `1e1000000000` digit by digit.
fn numbers_fit(value: &Json<'_>) -> bool {
    match &value.kind {
        Kind::Number(n) => {
            let (mantissa, exponent) = match n.find(['e', 'E']) {
                Some(at) => match n[at + 1..].parse::<i64>() {
                    Ok(exponent) => (&n[..at], exponent),
                    Err(_) => return false,
                },
                None => (*n, 0),
            };
            let (whole, fraction) = mantissa.trim_start_matches('-').split_once('.').unwrap_or((mantissa.trim_start_matches('-'), ""));
            let before = whole.len() as i64 + exponent;
            let after = fraction.len() as i64 - exponent;
            before <= 131_072 && after <= 16_383
        }
        Kind::Array(items) => items.iter().all(numbers_fit),
        Kind::Object(members) => members.iter().all(|(_, v)| numbers_fit(v)),
        _ => true,
    }
}

fn has_nul_escape(value: &Json<'_>) -> bool {
    match &value.kind {
        Kind::String(s) => s.contains('\0'),
        Kind::Array(items) => items.iter().any(has_nul_escape),
        Kind::Object(members) => members.iter().any(|(k, v)| k.contains('\0') || has_nul_escape(v)),
        _ => false,
    }
}

struct Parser<'a> {
    text: &'a str,
    at: usize,
    depth: usize,
}

/// Deeper nesting is refused (PostgreSQL stops at its stack depth limit) rather than
/// overflowing the thread's stack.
const MAX_DEPTH: usize = 1000;

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, word: &str) -> bool {
        if self.text[self.at..].starts_with(word) {
            self.at += word.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self) -> Option<Json<'a>> {
        let start = self.at;
        let kind = match self.peek()? {
            b'n' if self.eat("null") => Kind::Null,
            b't' if self.eat("true") => Kind::Bool(true),
            b'f' if self.eat("false") => Kind::Bool(false),
            b'"' => Kind::String(self.string()?),
            b'[' => {
                let mut items = Vec::new();
                self.items(b']', |p| {
                    items.push(p.value()?);
                    Some(())
                })?;
                Kind::Array(items)
            }
            b'{' => {
                let mut members = Vec::new();
                self.items(b'}', |p| {
                    if p.peek()? != b'"' {
                        return None;
                    }
                    let key = p.string()?;
                    p.skip_space();
                    if p.peek()? != b':' {
                        return None;
                    }
                    p.at += 1;
                    p.skip_space();
                    members.push((key, p.value()?));
                    Some(())
                })?;
                Kind::Object(members)
            }
            b'-' | b'0'..=b'9' => Kind::Number(self.number()?),
            _ => return None,
        };
        Some(Json { raw: &self.text[start..self.at], kind })
    }

    /// The comma-separated items of an array or object, from its opening bracket to `close`,
    /// each read by `item` (which starts at the item, spaces skipped). Nesting is counted.
    fn items(&mut self, close: u8, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        self.at += 1;
        self.skip_space();
        if self.peek() == Some(close) {
            self.at += 1;
        } else {
            loop {
                self.skip_space();
                item(self)?;
                self.skip_space();
                match self.peek()? {
                    b',' => self.at += 1,
                    b if b == close => {
                        self.at += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        self.depth -= 1;
        Some(())
    }

    fn number(&mut self) -> Option<&'a str> {
        let start = self.at;
        let digits = |p: &mut Self| {
            let from = p.at;
            while p.peek().is_some_and(|b| b.is_ascii_digit()) {
                p.at += 1;
            }
            p.at > from
        };
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.peek()? {
            b'0' => self.at += 1,
            b'1'..=b'9' => {
                digits(self);
            }
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            if !digits(self) {
                return None;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if !digits(self) {
                return None;
            }
        }
        Some(&self.text[start..self.at])
    }

    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.at += 1;
        let start = self.at;
        let bytes = self.text.as_bytes();
        // The common case, no escapes: borrow.
        while let Some(&b) = bytes.get(self.at) {
            match b {
                b'"' => {
                    self.at += 1;
                    return Some(Cow::Borrowed(&self.text[start..self.at - 1]));
                }
                b'\\' => break,
                0..=0x1f => return None,
                _ => self.at += 1,
            }
        }
        let mut out = String::from(&self.text[start..self.at]);
        loop {
            let c = self.text[self.at..].chars().next()?;
            self.at += c.len_utf8();
            match c {
                '"' => return Some(Cow::Owned(out)),
                '\\' => {
                    let escape = self.peek()?;
                    self.at += 1;
                    match escape {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let high = self.hex4()?;
                            let code = if (0xd800..0xdc00).contains(&high) {
                                if !self.eat("\\u") {
                                    return None;
                                }
                                let low = self.hex4()?;
                                if !(0xdc00..0xe000).contains(&low) {
                                    return None;
                                }
                                0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00)
                            } else {
                                high
                            };
                            out.push(char::from_u32(code)?);
                        }
                        _ => return None,
                    }
                }
                c if (c as u32) < 0x20 => return None,
                c => out.push(c),
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let hex = self.text.get(self.at..self.at + 4)?;
        let code = u32::from_str_radix(hex, 16).ok()?;
        self.at += 4;
        Some(code)
    }
}

/// `text` as PostgreSQL stores and prints a jsonb.
///
/// # Errors
/// As [`parse`].
/// JSON values' texts as one JSON array, written as `array_to_json` writes it (`[a,b]`).
pub fn items_array(items: &[String]) -> String {
    format!("[{}]", items.join(","))
}

pub fn normalize_jsonb(text: &str) -> Result<String, EngineError> {
    let value = parse(text, "jsonb")?;
    let mut out = String::with_capacity(text.len());
    write_jsonb(&value, &mut out, Layout::default());
    Ok(out)
}

/// `jsonb_strip_nulls`: every object member whose value is null removed, at any depth (array
/// elements stay).
///
/// # Errors
/// `doc` is not jsonb (22P02).
pub fn strip_nulls(doc: &str) -> Result<String, EngineError> {
    let mut out = String::with_capacity(doc.len());
    write_jsonb(&parse(doc, "jsonb")?, &mut out, Layout { strip_nulls: true, indent: None });
    Ok(out)
}

/// `json_strip_nulls`: json without the object fields whose value is null, written without
/// whitespace as PostgreSQL writes it: numbers as written, duplicate keys kept, keys and strings
/// escaped again from their values.
///
/// # Errors
/// `doc` is not json (22P02).
pub fn strip_nulls_json(doc: &str) -> Result<String, EngineError> {
    fn write(value: &Json<'_>, out: &mut String) {
        match &value.kind {
            Kind::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            Kind::Object(members) => {
                out.push('{');
                for (i, (key, member)) in members.iter().filter(|(_, m)| !matches!(m.kind, Kind::Null)).enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&quoted(key));
                    out.push(':');
                    write(member, out);
                }
                out.push('}');
            }
            Kind::String(text) => out.push_str(&quoted(text)),
            Kind::Null | Kind::Bool(_) | Kind::Number(_) => out.push_str(value.raw),
        }
    }
    let mut out = String::with_capacity(doc.len());
    write(&parse(doc, "json")?, &mut out);
    Ok(out)
}

/// `jsonb_pretty`: PostgreSQL's layout, each element on a line of its own, four spaces a level.
///
/// # Errors
/// `doc` is not jsonb (22P02).
pub fn pretty(doc: &str) -> Result<String, EngineError> {
    let mut out = String::with_capacity(doc.len() * 2);
    write_jsonb(&parse(doc, "jsonb")?, &mut out, Layout { strip_nulls: false, indent: Some(0) });
    Ok(out)
}

/// Checks `text` is json (kept as written).
///
/// # Errors
/// As [`parse`].
pub fn check_json(text: &str) -> Result<(), EngineError> {
    parse(text, "json").map(|_| ())
}

/// An object's members as jsonb keeps them: ordered by key length, then bytes; of duplicate
/// keys the last written.
fn jsonb_members<'v, 'a>(members: &'v [(Cow<'a, str>, Json<'a>)]) -> Vec<&'v (Cow<'a, str>, Json<'a>)> {
    let mut sorted: Vec<(usize, &(Cow<'a, str>, Json<'a>))> = members.iter().enumerate().collect();
    sorted.sort_by(|(i, (a, _)), (j, (b, _))| a.len().cmp(&b.len()).then_with(|| a.as_bytes().cmp(b.as_bytes())).then(j.cmp(i)));
    sorted.dedup_by(|(_, (later, _)), (_, (kept, _))| later == kept);
    sorted.into_iter().map(|(_, member)| member).collect()
}

/// How [`write_jsonb`] writes a document.
#[derive(Debug, Clone, Copy, Default)]
struct Layout {
    /// Leave out object members whose value is null.
    strip_nulls: bool,
    /// Pretty-printed, at this nesting level; `None` for jsonb's one-line form.
    indent: Option<usize>,
}

impl Layout {
    /// Before an element: a separator after the first, and in pretty form a new line.
    fn separate(self, first: bool, out: &mut String) {
        match self.indent {
            Some(level) => {
                if !first {
                    out.push(',');
                }
                self.new_line(level + 1, out);
            }
            None if !first => out.push_str(", "),
            None => {}
        }
    }

    fn new_line(self, level: usize, out: &mut String) {
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', level * 4));
    }

    /// The layout of a container's elements.
    fn inner(self) -> Self {
        Self { indent: self.indent.map(|level| level + 1), ..self }
    }

    /// Before a container's closing bracket.
    fn close(self, out: &mut String) {
        if let Some(level) = self.indent {
            self.new_line(level, out);
        }
    }
}

fn write_jsonb(value: &Json<'_>, out: &mut String, layout: Layout) {
    match &value.kind {
        Kind::Null => out.push_str("null"),
        Kind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Kind::Number(n) => out.push_str(&numeric_text(n)),
        Kind::String(s) => write_string(s, out),
        Kind::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                layout.separate(i == 0, out);
                write_jsonb(item, out, layout.inner());
            }
            layout.close(out);
            out.push(']');
        }
        Kind::Object(members) => {
            out.push('{');
            let kept = jsonb_members(members).into_iter().filter(|(_, item)| !(layout.strip_nulls && matches!(item.kind, Kind::Null)));
            for (i, (key, item)) in kept.enumerate() {
                layout.separate(i == 0, out);
                write_string(key, out);
                out.push_str(": ");
                write_jsonb(item, out, layout.inner());
            }
            layout.close(out);
            out.push('}');
        }
    }
}

/// A JSON string literal as PostgreSQL writes one.
fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A JSON number as PostgreSQL's numeric prints it: the exponent applied (`1.5e2` is `150`,
/// `1.50e1` is `15.0`: the scale is the fraction's digits less the exponent), `-0` is `0`.
fn numeric_text(number: &str) -> String {
    let (mantissa, exponent) = match number.find(['e', 'E']) {
        Some(at) => (&number[..at], number[at + 1..].parse::<i64>().unwrap_or(0)),
        None => (number, 0),
    };
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{whole}{fraction}");
    // The decimal point sits after `point` digits of `digits`.
    let point = whole.len() as i64 + exponent;
    let scale = (fraction.len() as i64 - exponent).max(0) as usize;
    let mut int_part: String = if point <= 0 {
        "0".into()
    } else if point as usize >= digits.len() {
        format!("{digits}{}", "0".repeat(point as usize - digits.len()))
    } else {
        digits[..point as usize].to_string()
    };
    let mut frac_part = String::new();
    if scale > 0 {
        let start = point.max(0) as usize;
        let leading_zeros = (-point).max(0) as usize;
        frac_part.push_str(&"0".repeat(leading_zeros.min(scale)));
        if start < digits.len() {
            frac_part.push_str(&digits[start..]);
        }
        while frac_part.len() < scale {
            frac_part.push('0');
        }
        frac_part.truncate(scale);
    }
    let trimmed = int_part.trim_start_matches('0');
    int_part = if trimmed.is_empty() { "0".into() } else { trimmed.to_string() };
    let zero = int_part == "0" && frac_part.bytes().all(|b| b == b'0');
    let sign = if negative && !zero { "-" } else { "" };
    if frac_part.is_empty() { format!("{sign}{int_part}") } else { format!("{sign}{int_part}.{frac_part}") }
}

/// What `->` and friends look an element up by.
#[derive(Debug, Clone, Copy)]
pub enum Key<'k> {
    Field(&'k str),
    /// An array position from 0; negative counts from the end.
    Index(i64),
}

/// The element of `value` at `key`, if there is one. Of an object's duplicate keys (json
/// only) the last is taken, as PostgreSQL's `->` does.
fn element<'v, 'a>(value: &'v Json<'a>, key: Key<'_>) -> Option<&'v Json<'a>> {
    match (&value.kind, key) {
        (Kind::Object(members), Key::Field(name)) => members.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v),
        (Kind::Array(items), Key::Index(i)) => {
            let at = if i < 0 { items.len() as i64 + i } else { i };
            usize::try_from(at).ok().and_then(|at| items.get(at))
        }
        _ => None,
    }
}

/// An element as `->` gives it (json text) or as `->>` does (`as_text`: a string's contents,
/// NULL for a JSON null, other values as json text).
fn element_out(value: &Json<'_>, as_text: bool) -> Option<String> {
    match &value.kind {
        Kind::String(s) if as_text => Some(s.to_string()),
        Kind::Null if as_text => None,
        _ => Some(value.raw.to_string()),
    }
}

/// `doc -> key` (`as_text`: `doc ->> key`). NULL when there is no such element.
///
/// # Errors
/// `doc` is not JSON (22P02).
pub fn get(doc: &str, key: Key<'_>, as_text: bool) -> Result<Option<String>, EngineError> {
    let value = parse(doc, "json")?;
    Ok(element(&value, key).and_then(|e| element_out(e, as_text)))
}

/// `doc #> path` (`as_text`: `#>>`), also `jsonb_extract_path[_text]`: each step a key, or
/// an array position when the step is an integer and the value there an array.
///
/// # Errors
/// `doc` is not JSON (22P02).
pub fn get_path(doc: &str, path: &[&str], as_text: bool) -> Result<Option<String>, EngineError> {
    let value = parse(doc, "json")?;
    let mut at = &value;
    for step in path {
        let key = match (&at.kind, step.trim().parse::<i64>()) {
            (Kind::Array(_), Ok(i)) => Key::Index(i),
            _ => Key::Field(step),
        };
        match element(at, key) {
            Some(next) => at = next,
            None => return Ok(None),
        }
    }
    Ok(element_out(at, as_text))
}

/// A path written as a PostgreSQL text array literal (`'{a,0,b}'`), as `#>` takes it.
///
/// # Errors
/// Not an array literal (22P02 "malformed array literal").
pub fn path_steps(literal: &str) -> Result<Vec<String>, EngineError> {
    let malformed = || EngineError::MalformedArrayLiteral { value: literal.to_string() };
    let elements = crate::value::parse_array_text(literal).ok_or_else(malformed)?;
    // An unquoted NULL names a key "NULL" here, as it always has in rhei's paths.
    Ok(elements.into_iter().map(|e| e.unwrap_or_else(|| "NULL".to_string())).collect())
}

/// Two numbers' values equal (`1.0` and `1`), compared as numeric would.
fn same_number(a: &str, b: &str) -> bool {
    let canonical = |n: &str| {
        let text = numeric_text(n);
        match text.split_once('.') {
            Some((whole, fraction)) => {
                let fraction = fraction.trim_end_matches('0');
                if fraction.is_empty() { whole.to_string() } else { format!("{whole}.{fraction}") }
            }
            None => text,
        }
    };
    canonical(a) == canonical(b)
}

fn same(a: &Json<'_>, b: &Json<'_>) -> bool {
    match (&a.kind, &b.kind) {
        (Kind::Null, Kind::Null) => true,
        (Kind::Bool(x), Kind::Bool(y)) => x == y,
        (Kind::Number(x), Kind::Number(y)) => same_number(x, y),
        (Kind::String(x), Kind::String(y)) => x == y,
        _ => false,
    }
}

/// jsonb containment: every member of `b` is in `a` (objects by key, recursively), every
/// element of an array `b` is contained in some element of an array `a`, and scalars are equal.
/// A top-level array contains a scalar it holds.
fn contains_value(a: &Json<'_>, b: &Json<'_>, top: bool) -> bool {
    match (&a.kind, &b.kind) {
        (Kind::Object(left), Kind::Object(right)) => {
            let left = jsonb_members(left);
            jsonb_members(right).into_iter().all(|(key, want)| {
                left.iter().find(|(k, _)| k == key).is_some_and(|(_, have)| contains_value(have, want, false))
            })
        }
        (Kind::Array(left), Kind::Array(right)) => right.iter().all(|want| {
            left.iter().any(|have| match (&have.kind, &want.kind) {
                (Kind::Array(_) | Kind::Object(_), _) => contains_value(have, want, false),
                (_, Kind::Array(_) | Kind::Object(_)) => false,
                _ => same(have, want),
            })
        }),
        (Kind::Array(left), _) if top && !matches!(b.kind, Kind::Object(_)) => left.iter().any(|have| same(have, b)),
        (Kind::Array(_) | Kind::Object(_), _) | (_, Kind::Array(_) | Kind::Object(_)) => false,
        _ => same(a, b),
    }
}

/// `a @> b` on jsonb.
///
/// # Errors
/// Either side is not jsonb (22P02).
pub fn contains(a: &str, b: &str) -> Result<bool, EngineError> {
    Ok(contains_value(&parse(a, "jsonb")?, &parse(b, "jsonb")?, true))
}

/// `doc ? key`: `key` is a key of the top-level object, or a string element of the
/// top-level array (or the document is that string).
///
/// # Errors
/// `doc` is not jsonb (22P02).
pub fn exists(doc: &str, key: &str) -> Result<bool, EngineError> {
    Ok(has_key(&parse(doc, "jsonb")?, key))
}

/// `doc ?| keys` (`all`: `doc ?& keys`): some (every) key exists as `?` tests it.
///
/// # Errors
/// `doc` is not jsonb (22P02).
pub fn exists_keys(doc: &str, keys: &[&str], all: bool) -> Result<bool, EngineError> {
    let value = parse(doc, "jsonb")?;
    Ok(if all { keys.iter().all(|k| has_key(&value, k)) } else { keys.iter().any(|k| has_key(&value, k)) })
}

fn has_key(value: &Json<'_>, key: &str) -> bool {
    match &value.kind {
        Kind::Object(members) => members.iter().any(|(k, _)| k == key),
        Kind::Array(items) => items.iter().any(|item| matches!(&item.kind, Kind::String(s) if s == key)),
        Kind::String(s) => s == key,
        _ => false,
    }
}

/// What [`edit_path`] does at the end of its path.
#[derive(Debug, Clone, Copy)]
pub enum PathEdit<'v> {
    /// `doc #- path`.
    Delete,
    /// `jsonb_set(doc, path, value, create_missing)`.
    Set { value: &'v str, create_missing: bool },
    /// `jsonb_insert(doc, path, value, insert_after)`.
    Insert { value: &'v str, after: bool },
}

impl<'v> PathEdit<'v> {
    /// `jsonb_insert` (`inserts`) or `jsonb_set` of `value`, with its fourth argument if given:
    /// `insert_after` (default false) or `create_missing` (default true).
    pub fn set_or_insert(inserts: bool, value: &'v str, flag: Option<bool>) -> Self {
        if inserts {
            Self::Insert { value, after: flag.unwrap_or(false) }
        } else {
            Self::Set { value, create_missing: flag.unwrap_or(true) }
        }
    }

    fn new_value(self) -> Option<&'v str> {
        match self {
            Self::Delete => None,
            Self::Set { value, .. } | Self::Insert { value, .. } => Some(value),
        }
    }

    /// Whether a missing last step is added.
    fn adds(self) -> bool {
        matches!(self, Self::Set { create_missing: true, .. } | Self::Insert { .. })
    }
}

/// `doc #- path` and `jsonb_set`: the document with the element at `path` removed or replaced
/// (or, with `create_missing`, added as the last key of its object, or before the start or
/// after the end of its array). A path that leads nowhere leaves the document as it was;
/// only its last step may be added.
///
/// # Errors
/// `doc` or the new value is not jsonb (22P02), a step into an array is not an integer (22P02),
/// `doc` is a scalar (22023), each with PostgreSQL's message.
pub fn edit_path(doc: &str, path: &[&str], edit: PathEdit<'_>) -> Result<String, EngineError> {
    // In jsonb form first: of duplicate keys only the last is left, as in a stored jsonb.
    let normalized = normalize_jsonb(doc)?;
    let value = parse(&normalized, "jsonb")?;
    if let Some(new) = edit.new_value() {
        parse(new, "jsonb")?;
    }
    let empty = match &value.kind {
        Kind::Object(members) => members.is_empty(),
        Kind::Array(items) => items.is_empty(),
        _ => {
            let verb = if matches!(edit, PathEdit::Delete) { "delete" } else { "set" };
            return Err(EngineError::InvalidArgument { message: format!("cannot {verb} path in scalar") });
        }
    };
    // PostgreSQL returns an empty document untouched where nothing could be added to it.
    if path.is_empty() || (empty && !edit.adds()) {
        return Ok(normalized);
    }
    normalize_jsonb(&edited(&value, path, 1, edit)?)
}

/// [`edit_path`] below `value`, `position` the number of `path`'s first step in the whole path.
fn edited(value: &Json<'_>, path: &[&str], position: usize, edit: PathEdit<'_>) -> Result<String, EngineError> {
    let Some((step, rest)) = path.split_first() else { return Ok(value.raw.to_string()) };
    let last = rest.is_empty();
    match &value.kind {
        Kind::Object(members) => {
            let found = members.iter().rposition(|(k, _)| k == step);
            if let (Some(_), true, PathEdit::Insert { .. }) = (found, last, edit) {
                return Err(EngineError::CannotReplaceExistingKey);
            }
            let mut out: Vec<String> = Vec::with_capacity(members.len() + 1);
            for (i, (k, v)) in members.iter().enumerate() {
                let v = match (Some(i) == found, last, edit.new_value()) {
                    (false, _, _) => v.raw.to_string(),
                    (true, true, None) => continue,
                    (true, true, Some(new)) => new.to_string(),
                    (true, false, _) => edited(v, rest, position + 1, edit)?,
                };
                out.push(format!("{}: {v}", quoted(k)));
            }
            if let (None, true, Some(new), true) = (found, last, edit.new_value(), edit.adds()) {
                out.push(format!("{}: {new}", quoted(step)));
            }
            Ok(format!("{{{}}}", out.join(", ")))
        }
        Kind::Array(items) => {
            let index: i64 = step
                .trim()
                .parse()
                .map_err(|_| EngineError::PathElementNotInteger { position, element: (*step).to_string() })?;
            let len = items.len() as i64;
            let at = if index < 0 { len + index } else { index };
            let mut out: Vec<String> = Vec::with_capacity(items.len() + 1);
            for (i, item) in items.iter().enumerate() {
                let here = i as i64 == at;
                match (here, last, edit) {
                    (true, true, PathEdit::Insert { value: new, after: false }) => out.extend([new.to_string(), item.raw.to_string()]),
                    (true, true, PathEdit::Insert { value: new, after: true }) => out.extend([item.raw.to_string(), new.to_string()]),
                    (false, _, _) => out.push(item.raw.to_string()),
                    (true, true, PathEdit::Delete) => {}
                    (true, true, PathEdit::Set { value: new, .. }) => out.push(new.to_string()),
                    (true, false, _) => out.push(edited(item, rest, position + 1, edit)?),
                }
            }
            if let (false, true, Some(new), true) = ((0..len).contains(&at), last, edit.new_value(), edit.adds()) {
                if at < 0 { out.insert(0, new.to_string()) } else { out.push(new.to_string()) }
            }
            Ok(format!("[{}]", out.join(", ")))
        }
        _ => Ok(value.raw.to_string()),
    }
}

/// `jsonb_typeof` / `json_typeof`.
///
/// # Errors
/// `doc` is not JSON (22P02).
pub fn type_of(doc: &str) -> Result<&'static str, EngineError> {
    Ok(match parse(doc, "json")?.kind {
        Kind::Null => "null",
        Kind::Bool(_) => "boolean",
        Kind::Number(_) => "number",
        Kind::String(_) => "string",
        Kind::Array(_) => "array",
        Kind::Object(_) => "object",
    })
}

/// `jsonb_array_length` / `json_array_length`.
///
/// # Errors
/// `doc` is not JSON (22P02), or not an array (22023, PostgreSQL's message).
pub fn array_length(doc: &str) -> Result<i64, EngineError> {
    match parse(doc, "json")?.kind {
        Kind::Array(items) => Ok(items.len() as i64),
        Kind::Object(_) => Err(EngineError::InvalidArgument { message: "cannot get array length of a non-array".into() }),
        _ => Err(EngineError::InvalidArgument { message: "cannot get array length of a scalar".into() }),
    }
}

/// A string as a JSON string literal.
pub fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    write_string(s, &mut out);
    out
}

/// A date/time value's text (`2024-01-01 10:00:00+05:30`) as PostgreSQL puts it into JSON:
/// ISO 8601, a `T` between date and time, a whole-hour offset with its minutes.
pub fn datetime_text(text: &str) -> String {
    let mut iso = text.replacen(' ', "T", 1);
    let offset_at = iso.rfind(['+', '-']).filter(|&at| at > 10);
    if let Some(at) = offset_at
        && iso.len() - at == 3
    {
        iso.push_str(":00");
    }
    quoted(&iso)
}

/// `json[b]_build_object` over keys and values already in JSON form (`fragments`); json
/// separates as PostgreSQL's json builder does (`{"a" : 1, "b" : 2}`), jsonb is normalized.
///
/// # Errors
/// A value that is not JSON (an internal error: callers make the fragments).
pub fn build_object<'k>(members: impl IntoIterator<Item = (&'k str, &'k str)>, jsonb: bool) -> Result<String, EngineError> {
    let items: Vec<String> = members
        .into_iter()
        .map(|(key, value)| format!("{}{}{value}", quoted(key), if jsonb { ": " } else { " : " }))
        .collect();
    let text = format!("{{{}}}", items.join(", "));
    if jsonb { normalize_jsonb(&text) } else { Ok(text) }
}

/// A row as `row_to_json` writes a composite value: `{"a":1,"b":"x"}`, without spaces, every
/// column kept (two may share a name).
pub fn row_object<'k>(members: impl IntoIterator<Item = (&'k str, &'k str)>) -> String {
    let items: Vec<String> = members.into_iter().map(|(key, value)| format!("{}:{value}", quoted(key))).collect();
    format!("{{{}}}", items.join(","))
}

/// [`row_object`], or NULL when the members end with the empty key (which no column has)
/// and a true value: the translation's mark of the row an outer join supplies for no match.
/// jsonb's builder takes the same mark (`jsonb`).
///
/// # Errors
/// As [`build_object`] (jsonb).
pub fn row_object_or_null<'k>(members: Vec<(&'k str, &'k str)>, jsonb: bool) -> Result<Option<String>, EngineError> {
    let mut members = members;
    if let Some((key, missing)) = members.last().copied()
        && key.is_empty()
    {
        if missing == "true" {
            return Ok(None);
        }
        members.pop();
    }
    if jsonb { build_object(members, true).map(Some) } else { Ok(Some(row_object(members))) }
}

/// `json_agg` over rows: PostgreSQL starts each row after the first on a line of its own.
pub fn rows_array<'v>(values: impl IntoIterator<Item = &'v str>) -> String {
    format!("[{}]", values.into_iter().collect::<Vec<_>>().join(", \n "))
}

/// `json[b]_object_agg` over keys and values already in JSON form: json as PostgreSQL writes it
/// (`{ "a" : 1, "b" : 2 }`), jsonb normalized (last duplicate key wins).
///
/// # Errors
/// As [`build_object`].
pub fn object_agg<'k>(members: impl IntoIterator<Item = (&'k str, &'k str)>, jsonb: bool) -> Result<String, EngineError> {
    let items: Vec<String> = members.into_iter().map(|(key, value)| format!("{} : {value}", quoted(key))).collect();
    if jsonb { normalize_jsonb(&format!("{{{}}}", items.join(", "))) } else { Ok(format!("{{ {} }}", items.join(", "))) }
}

/// PostgreSQL 15's error for a NULL key given to `json[b]_object_agg`.
pub fn null_field_name() -> EngineError {
    EngineError::InvalidArgument { message: "field name must not be null".into() }
}

/// `json[b]_build_array` and `json[b]_agg` over values already in JSON form.
///
/// # Errors
/// As [`build_object`].
pub fn build_array<'v>(values: impl IntoIterator<Item = &'v str>, jsonb: bool) -> Result<String, EngineError> {
    let text = format!("[{}]", values.into_iter().collect::<Vec<_>>().join(", "));
    if jsonb { normalize_jsonb(&text) } else { Ok(text) }
}

/// The elements of a jsonb as `||` concatenates them: an array's, or the value alone.
fn as_elements<'v, 'a>(value: &'v Json<'a>) -> Vec<&'v str> {
    match &value.kind {
        Kind::Array(items) => items.iter().map(|item| item.raw).collect(),
        _ => vec![value.raw],
    }
}

/// jsonb `a || b`: two objects merge (`b`'s keys win), anything else concatenates as arrays (a
/// value that is not an array counts as an array of itself).
///
/// # Errors
/// Either side is not jsonb (22P02).
pub fn concat(a: &str, b: &str) -> Result<String, EngineError> {
    let (left, right) = (parse(a, "jsonb")?, parse(b, "jsonb")?);
    let text = match (&left.kind, &right.kind) {
        (Kind::Object(l), Kind::Object(r)) => {
            let members: Vec<String> = l.iter().chain(r.iter()).map(|(k, v)| format!("{}: {}", quoted(k), v.raw)).collect();
            format!("{{{}}}", members.join(", "))
        }
        _ => format!("[{}]", as_elements(&left).into_iter().chain(as_elements(&right)).collect::<Vec<_>>().join(", ")),
    };
    normalize_jsonb(&text)
}

/// jsonb `doc - key`: an object without that key, an array without its string elements equal
/// to it; `doc - n`: an array without its element `n` (negative counts from the end).
///
/// # Errors
/// `doc` is not jsonb (22P02); an integer on an object, or a scalar `doc` (22023, PostgreSQL's
/// messages).
pub fn delete(doc: &str, key: Key<'_>) -> Result<String, EngineError> {
    let value = parse(doc, "jsonb")?;
    let text = match (&value.kind, key) {
        (Kind::Object(members), Key::Field(name)) => {
            let kept: Vec<String> = members.iter().filter(|(k, _)| k != name).map(|(k, v)| format!("{}: {}", quoted(k), v.raw)).collect();
            format!("{{{}}}", kept.join(", "))
        }
        (Kind::Array(items), Key::Field(name)) => {
            let kept: Vec<&str> = items.iter().filter(|item| !matches!(&item.kind, Kind::String(s) if s == name)).map(|item| item.raw).collect();
            format!("[{}]", kept.join(", "))
        }
        (Kind::Array(items), Key::Index(i)) => {
            let at = if i < 0 { items.len() as i64 + i } else { i };
            let kept: Vec<&str> = items.iter().enumerate().filter(|(j, _)| *j as i64 != at).map(|(_, item)| item.raw).collect();
            format!("[{}]", kept.join(", "))
        }
        (Kind::Object(_), Key::Index(_)) => {
            return Err(EngineError::InvalidArgument { message: "cannot delete from object using integer index".into() });
        }
        _ => return Err(EngineError::InvalidArgument { message: "cannot delete from scalar".into() }),
    };
    normalize_jsonb(&text)
}

/// PostgreSQL's error for an odd argument list of `json[b]_build_object`.
pub fn odd_arguments() -> EngineError {
    EngineError::InvalidArgument { message: "argument list must have even number of elements".into() }
}

/// PostgreSQL's error for a NULL key of `json[b]_build_object`.
pub fn null_key(position: usize) -> EngineError {
    EngineError::NullKey { position }
}

/// What a JSON set-returning function takes apart: an array's elements, an object's members,
/// or an object's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetKind {
    ArrayElements,
    Each,
    ObjectKeys,
}

/// One of PostgreSQL's JSON set-returning functions (`jsonb_array_elements[_text]`,
/// `jsonb_each[_text]`, `jsonb_object_keys` and their json twins).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetFunction {
    pub kind: SetKind,
    pub jsonb: bool,
    /// The `_text` variants: a string's contents and NULL for a JSON null, as `->>` gives.
    pub as_text: bool,
}

/// One row of a JSON set-returning function: its key (`each`, `object_keys`) and value
/// (`array_elements`, `each`), None where it has none or the value is NULL.
pub type SetRow = (Option<String>, Option<String>);

/// Every JSON set-returning function by name.
pub const SET_FUNCTIONS: [&str; 10] = [
    "json_array_elements",
    "json_array_elements_text",
    "json_each",
    "json_each_text",
    "json_object_keys",
    "jsonb_array_elements",
    "jsonb_array_elements_text",
    "jsonb_each",
    "jsonb_each_text",
    "jsonb_object_keys",
];

impl SetFunction {
    /// The function PostgreSQL calls `name` (lower case), if it is one.
    pub fn named(name: &str) -> Option<Self> {
        let (jsonb, rest) = match name.strip_prefix("jsonb_") {
            Some(rest) => (true, rest),
            None => (false, name.strip_prefix("json_")?),
        };
        let (kind, as_text) = match rest {
            "array_elements" => (SetKind::ArrayElements, false),
            "array_elements_text" => (SetKind::ArrayElements, true),
            "each" => (SetKind::Each, false),
            "each_text" => (SetKind::Each, true),
            "object_keys" => (SetKind::ObjectKeys, true),
            _ => return None,
        };
        Some(Self { kind, jsonb, as_text })
    }

    pub fn name(self) -> String {
        let kind = match self.kind {
            SetKind::ArrayElements => "array_elements",
            SetKind::Each => "each",
            SetKind::ObjectKeys => "object_keys",
        };
        let suffix = if self.as_text && self.kind != SetKind::ObjectKeys { "_text" } else { "" };
        format!("{}_{kind}{suffix}", if self.jsonb { "jsonb" } else { "json" })
    }

    /// The names PostgreSQL gives its result columns when no alias renames them (the OUT
    /// parameters; `object_keys` has none, so its column is named after the function).
    pub fn columns(self) -> Vec<String> {
        match self.kind {
            SetKind::ArrayElements => vec!["value".into()],
            SetKind::Each => vec!["key".into(), "value".into()],
            SetKind::ObjectKeys => vec![self.name()],
        }
    }

    /// The rows the function returns for `doc`: each one's key (`each`, `object_keys`) and
    /// value (`array_elements`, `each`). A jsonb function reads `doc` as jsonb, so its pieces
    /// come out in jsonb's form even when `doc` was written otherwise.
    ///
    /// # Errors
    /// `doc` is not JSON (22P02), or not the kind of value the function takes apart (22023,
    /// PostgreSQL's messages).
    pub fn rows(self, doc: &str) -> Result<Vec<SetRow>, EngineError> {
        let normalized;
        let text = if self.jsonb {
            normalized = normalize_jsonb(doc)?;
            normalized.as_str()
        } else {
            doc
        };
        let value = parse(text, "json")?;
        let refuse = |message: String| Err(EngineError::InvalidArgument { message });
        match (self.kind, &value.kind) {
            (SetKind::ArrayElements, Kind::Array(items)) => {
                Ok(items.iter().map(|item| (None, element_out(item, self.as_text))).collect())
            }
            (SetKind::ArrayElements, Kind::Object(_)) => refuse("cannot extract elements from an object".into()),
            (SetKind::ArrayElements, _) => refuse("cannot extract elements from a scalar".into()),
            (SetKind::Each, Kind::Object(members)) => {
                Ok(members.iter().map(|(key, item)| (Some(key.to_string()), element_out(item, self.as_text))).collect())
            }
            (SetKind::Each, _) => refuse(format!("cannot call {} on a non-object", self.name())),
            (SetKind::ObjectKeys, Kind::Object(members)) => Ok(members.iter().map(|(key, _)| (Some(key.to_string()), None)).collect()),
            (SetKind::ObjectKeys, Kind::Array(_)) => refuse(format!("cannot call {} on an array", self.name())),
            (SetKind::ObjectKeys, _) => refuse(format!("cannot call {} on a scalar", self.name())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonb_output_orders_keys_keeps_the_last_duplicate_and_numbers_as_written() {
        let cases = [
            (r#"{"b": 1, "a": [1, 2], "b": 3}"#, r#"{"a": [1, 2], "b": 3}"#),
            (r#"{"name": "x", "n": 5, "ok": true, "none": null}"#, r#"{"n": 5, "ok": true, "name": "x", "none": null}"#),
            ("[1, \"two\", 3.50]", "[1, \"two\", 3.50]"),
            ("{ \"a\" :1 }", "{\"a\": 1}"),
            ("[1.5e2, 1.50e1, 2E-2, -0, -0.0, 0.1e1, 12e-1]", "[150, 15.0, 0.02, 0, 0.0, 1, 1.2]"),
            (r#""a\u00e9\n\"\/""#, "\"aé\\n\\\"/\""),
            (r#""\ud83d\ude00""#, "\"😀\""),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_jsonb(input).expect(input), want, "{input}");
        }
        for bad in ["", "{", "[1,]", "{\"a\" 1}", "01", "1.", "tru", "\"\u{1}\"", "[1] x", "{\"a\":1,}"] {
            assert_eq!(normalize_jsonb(bad).expect_err(bad).sqlstate(), "22P02", "{bad}");
        }
        assert_eq!(normalize_jsonb(r#""\u0000""#).expect_err("nul").sqlstate(), "22P05");
        assert!(check_json(r#""\u0000""#).is_ok());
        assert_eq!(normalize_jsonb(&"[".repeat(5000)).expect_err("deep").sqlstate(), "22P02");
        for huge in ["1e1000000000", "[1e99999999999999999999]", "{\"a\": 1e-20000}"] {
            assert_eq!(normalize_jsonb(huge).expect_err(huge).sqlstate(), "22003", "{huge}");
        }
        assert_eq!(normalize_jsonb("1e131071").unwrap().len(), 131_072);
    }

    #[test]
    fn operators_take_elements_as_written() {
        let doc = r#"{"name": "ann", "age": 30, "tags": ["a", "b"], "addr": {"city": "oslo"}, "none": null}"#;
        assert_eq!(get(doc, Key::Field("name"), true).unwrap().as_deref(), Some("ann"));
        assert_eq!(get(doc, Key::Field("name"), false).unwrap().as_deref(), Some("\"ann\""));
        assert_eq!(get(doc, Key::Field("age"), true).unwrap().as_deref(), Some("30"));
        assert_eq!(get(doc, Key::Field("none"), true).unwrap(), None);
        assert_eq!(get(doc, Key::Field("none"), false).unwrap().as_deref(), Some("null"));
        assert_eq!(get(doc, Key::Field("tags"), false).unwrap().as_deref(), Some("[\"a\", \"b\"]"));
        assert_eq!(get(doc, Key::Field("missing"), false).unwrap(), None);
        assert_eq!(get(doc, Key::Index(0), false).unwrap(), None);
        assert_eq!(get("[1, [2,  3]]", Key::Index(-1), false).unwrap().as_deref(), Some("[2,  3]"));
        assert_eq!(get("[1]", Key::Index(1), false).unwrap(), None);
        assert_eq!(get_path(doc, &["addr", "city"], true).unwrap().as_deref(), Some("oslo"));
        assert_eq!(get_path(doc, &["tags", "1"], false).unwrap().as_deref(), Some("\"b\""));
        assert_eq!(get_path(doc, &[], false).unwrap().as_deref(), Some(doc));
        assert_eq!(path_steps("{a, \"b c\",0}").unwrap(), ["a", "b c", "0"]);
        assert_eq!(path_steps("{}").unwrap(), Vec::<String>::new());
        assert_eq!(path_steps("a,b").expect_err("no braces").sqlstate(), "22P02");
    }

    #[test]
    fn containment_existence_and_types_follow_postgresql() {
        let doc = r#"{"a": 1, "b": [1, 2, {"c": true}], "d": {"e": "x", "f": null}}"#;
        for (want, yes) in [
            (r#"{"a": 1}"#, true),
            (r#"{"a": 1.0}"#, true),
            (r#"{"a": 2}"#, false),
            (r#"{"b": [2]}"#, true),
            (r#"{"b": [{"c": true}]}"#, true),
            (r#"{"b": 1}"#, false),
            (r#"{"d": {"e": "x"}}"#, true),
            (r#"{"d": {"f": null}}"#, true),
            ("{}", true),
            ("[]", false),
        ] {
            assert_eq!(contains(doc, want).unwrap(), yes, "{want}");
        }
        assert!(contains("[1, 2, 3]", "1").unwrap());
        assert!(contains("[1, 2, [3]]", "[[3]]").unwrap());
        assert!(!contains("[1, 2, [3]]", "[3]").unwrap());
        assert!(contains("\"x\"", "\"x\"").unwrap());
        assert!(exists(doc, "d").unwrap());
        assert!(!exists(doc, "e").unwrap());
        assert!(exists(r#"["a", 1]"#, "a").unwrap());
        assert!(!exists(r#"["b", "1"]"#, "1 ").unwrap());
        assert_eq!(type_of(doc).unwrap(), "object");
        assert_eq!(type_of(" 1.5 ").unwrap(), "number");
        assert_eq!(array_length("[1, [2, 3]]").unwrap(), 2);
        assert_eq!(array_length("{}").expect_err("object").sqlstate(), "22023");
        assert_eq!(array_length("1").expect_err("scalar").to_string(), "cannot get array length of a scalar");
    }

    #[test]
    fn concatenation_and_deletion_follow_postgresql() {
        assert_eq!(concat(r#"{"a": 1, "b": 2}"#, r#"{"b": 3, "c": 4}"#).unwrap(), r#"{"a": 1, "b": 3, "c": 4}"#);
        assert_eq!(concat("[1, 2]", "[3]").unwrap(), "[1, 2, 3]");
        assert_eq!(concat("[1]", r#"{"a": 1}"#).unwrap(), r#"[1, {"a": 1}]"#);
        assert_eq!(concat(r#"{"a": 1}"#, "1").unwrap(), r#"[{"a": 1}, 1]"#);
        assert_eq!(concat("1", "2").unwrap(), "[1, 2]");
        assert_eq!(delete(r#"{"a": 1, "b": 2}"#, Key::Field("a")).unwrap(), r#"{"b": 2}"#);
        assert_eq!(delete(r#"["a", "b", "a", 1]"#, Key::Field("a")).unwrap(), r#"["b", 1]"#);
        assert_eq!(delete("[1, 2, 3]", Key::Index(-1)).unwrap(), "[1, 2]");
        assert_eq!(delete("[1, 2, 3]", Key::Index(5)).unwrap(), "[1, 2, 3]");
        assert_eq!(delete(r#"{"a": 1}"#, Key::Index(0)).expect_err("object by index").sqlstate(), "22023");
        assert_eq!(delete("1", Key::Field("a")).expect_err("scalar").to_string(), "cannot delete from scalar");
    }

    #[test]
    fn builders_separate_as_postgresql_does() {
        assert_eq!(build_object([("b", "1"), ("a", "\"x\"")], false).unwrap(), r#"{"b" : 1, "a" : "x"}"#);
        assert_eq!(build_object([("b", "1"), ("a", "[1,2]"), ("b", "2")], true).unwrap(), r#"{"a": [1, 2], "b": 2}"#);
        assert_eq!(build_array(["1", "null", "{\"k\":true}"], false).unwrap(), r#"[1, null, {"k":true}]"#);
        assert_eq!(build_array(["1.50", "{\"k\":true}"], true).unwrap(), r#"[1.50, {"k": true}]"#);
        assert_eq!(build_array([], true).unwrap(), "[]");
        assert_eq!(datetime_text("2024-01-02 03:04:05.5+05:30"), "\"2024-01-02T03:04:05.5+05:30\"");
        assert_eq!(datetime_text("2024-01-02 03:04:05-08"), "\"2024-01-02T03:04:05-08:00\"");
        assert_eq!(datetime_text("2024-01-02 03:04:05"), "\"2024-01-02T03:04:05\"");
        assert_eq!(datetime_text("2024-01-02"), "\"2024-01-02\"");
    }

    #[test]
    fn set_functions_take_documents_apart_as_postgresql_does() {
        let f = |name| SetFunction::named(name).expect("a set function");
        let doc = r#"[1, "a", {"b":  2}, null]"#;
        let values = |rows: Vec<SetRow>| rows.into_iter().map(|(_, v)| v).collect::<Vec<_>>();
        let some = |s: &str| Some(s.to_string());
        assert_eq!(values(f("json_array_elements").rows(doc).unwrap()), [some("1"), some("\"a\""), some(r#"{"b":  2}"#), some("null")]);
        assert_eq!(values(f("jsonb_array_elements").rows(doc).unwrap()), [some("1"), some("\"a\""), some(r#"{"b": 2}"#), some("null")]);
        assert_eq!(values(f("jsonb_array_elements_text").rows(doc).unwrap()), [some("1"), some("a"), some(r#"{"b": 2}"#), None]);
        let object = r#"{"bb": [1,2], "a": "x", "a": null}"#;
        assert_eq!(f("json_each").rows(object).unwrap().len(), 3);
        assert_eq!(f("jsonb_each_text").rows(object).unwrap(), [(some("a"), None), (some("bb"), some("[1, 2]"))]);
        assert_eq!(f("jsonb_object_keys").rows(object).unwrap(), [(some("a"), None), (some("bb"), None)]);
        assert_eq!(f("jsonb_array_elements").rows("{}").expect_err("object").to_string(), "cannot extract elements from an object");
        assert_eq!(f("json_each").rows("[1]").expect_err("array").to_string(), "cannot call json_each on a non-object");
        assert_eq!(f("jsonb_object_keys").rows("[1]").expect_err("array").sqlstate(), "22023");
        assert_eq!(f("jsonb_object_keys").columns(), ["jsonb_object_keys"]);
        assert!(SET_FUNCTIONS.iter().all(|name| f(name).name() == *name));
        assert!(SetFunction::named("jsonb_typeof").is_none());
    }
}
