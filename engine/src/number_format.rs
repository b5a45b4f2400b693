//! `to_char(number, pattern)` and `to_number(text, pattern)` with PostgreSQL's numeric
//! patterns, one implementation for both engines so a number prints and reads the same
//! whichever ran the query.
//!
//! PostgreSQL formats exact numbers (integers, numeric) from their decimal digits, rounding
//! half away from zero, and floating-point numbers through C's `printf` at no more significant
//! digits than the type holds (15 for double precision, 6 for real), rounding the binary value:
//! `to_char(0.125, '0.99')` is `0.13` but `to_char(0.125::float8, '0.99')` is `0.12`.
//! [`Number`] keeps that difference.
//!
//! The pattern elements formatted are `9` (a digit, blank while a leading zero), `0` (a digit
//! always), `.`/`D` (the decimal point), `,`/`G` (a group separator, blank before the first
//! digit), `FM` (no padding, no trailing zeros at `9`s), `S` (the sign next to the number),
//! `MI`/`SG`/`PL` (a sign where the pattern puts it) and text, quoted or not. `EEEE`, `RN`,
//! `TH`, `PR`, `V`, `L`, `B`, `C` and `E` are refused (0A000) rather than printed wrongly.

use crate::error::{EngineError, Result};

/// A number to format, as PostgreSQL would see it.
#[derive(Clone, Copy, Debug)]
pub enum Number<'a> {
    /// Plain decimal text (`-1234.5`) of an integer or numeric.
    Exact(&'a str),
    /// A float and the significant digits its type holds.
    Float { value: f64, significant: usize },
}

/// PostgreSQL's significant digits of a double precision value (`DBL_DIG`).
pub const FLOAT8_DIGITS: usize = 15;
/// PostgreSQL's significant digits of a real value (`FLT_DIG`).
pub const FLOAT4_DIGITS: usize = 6;

/// `to_char(number, pattern)`; [`NumberPattern`] reads a pattern once for many numbers.
pub fn to_char(number: Number<'_>, pattern: &str) -> Result<String> {
    NumberPattern::parse(pattern)?.format(number)
}

fn not_finite() -> EngineError {
    EngineError::unsupported("to_char of NaN or infinity")
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Part {
    Nine,
    Zero,
    Point,
    Group,
    /// `S`: `+` or `-` next to the number.
    AnchoredSign,
    /// `MI`: `-` or a blank.
    Minus,
    /// `SG`: `+` or `-`.
    Sign,
    /// `PL`: `+` or a blank, beside the usual sign place.
    Plus,
    Literal(char),
}

impl Part {
    fn is_digit(self) -> bool {
        matches!(self, Part::Nine | Part::Zero)
    }
}

/// A `to_char` pattern for numbers, read.
#[derive(Clone, Debug)]
pub struct NumberPattern {
    parts: Vec<Part>,
    /// `FM`.
    fill: bool,
}

/// Whether `keyword` (upper case) starts at `chars[at]`, in any case.
fn keyword_at(chars: &[char], at: usize, keyword: &str) -> bool {
    keyword.chars().enumerate().all(|(k, c)| chars.get(at + k).is_some_and(|found| found.to_ascii_uppercase() == c))
}

impl NumberPattern {
    /// Reads a pattern.
    ///
    /// # Errors
    /// Elements rhei does not format (0A000); two decimal points, two `S`, `S` with another
    /// sign element (42601).
    pub fn parse(pattern: &str) -> Result<Self> {
        let elements = elements(pattern, "to_char pattern element {} for numbers", &['V', 'L', 'B', 'C', 'E'])?;
        let fill = elements.contains(&Element::FillMode);
        let parts: Vec<Part> = elements
            .into_iter()
            .filter_map(|element| match element {
                Element::Digit('0') => Some(Part::Zero),
                Element::Digit(_) => Some(Part::Nine),
                Element::Point => Some(Part::Point),
                Element::Group => Some(Part::Group),
                Element::AnchoredSign => Some(Part::AnchoredSign),
                Element::Minus => Some(Part::Minus),
                Element::Sign => Some(Part::Sign),
                Element::Plus => Some(Part::Plus),
                Element::Literal(c) => Some(Part::Literal(c)),
                Element::FillMode | Element::Currency => None,
            })
            .collect();
        let mut pattern = NumberPattern { parts, fill };
        let places = pattern.fraction_places();
        pattern.keep_fraction_places(places);
        Ok(pattern)
    }

    /// `number` in this pattern.
    ///
    /// # Errors
    /// Text that is not a number (22P02); NaN and infinities (0A000).
    pub fn format(&self, number: Number<'_>) -> Result<String> {
        let capped;
        let (pattern, text) = match number {
            Number::Exact(text) => {
                let text = text.trim();
                if ["nan", "infinity", "-infinity", "inf", "-inf"].iter().any(|special| text.eq_ignore_ascii_case(special)) {
                    return Err(not_finite());
                }
                (self, text.to_string())
            }
            Number::Float { value, .. } if !value.is_finite() => return Err(not_finite()),
            Number::Float { value, significant } => {
                // As PostgreSQL: the digits left after the integer part's go to the fraction,
                // and a pattern's further fraction places are dropped (not padded).
                let whole = format!("{:.0}", value.abs()).len();
                let places = self.fraction_places().min(significant.saturating_sub(whole));
                let pattern = if places < self.fraction_places() {
                    capped = {
                        let mut fewer = self.clone();
                        fewer.keep_fraction_places(places);
                        fewer
                    };
                    &capped
                } else {
                    self
                };
                (pattern, format!("{value:.places$}"))
            }
        };
        let digits = Digits::parse(&text, pattern.fraction_places())
            .ok_or_else(|| EngineError::InvalidTextRepresentation { type_name: "numeric".into(), value: text.clone() })?;
        Ok(pattern.render(&digits))
    }

    fn point(&self) -> Option<usize> {
        self.parts.iter().position(|p| *p == Part::Point)
    }

    fn integer_parts(&self) -> impl Iterator<Item = Part> + '_ {
        self.parts[..self.point().unwrap_or(self.parts.len())].iter().copied().filter(|p| p.is_digit())
    }

    fn fraction_parts(&self) -> impl Iterator<Item = Part> + '_ {
        self.point().map_or(&[][..], |at| &self.parts[at..]).iter().copied().filter(|p| p.is_digit())
    }

    fn fraction_places(&self) -> usize {
        self.fraction_parts().count()
    }

    /// Drops fraction digits past `keep`, and the decimal point when none are left (PostgreSQL
    /// prints no point for `999.`).
    fn keep_fraction_places(&mut self, keep: usize) {
        let Some(point) = self.point() else { return };
        let mut seen = 0;
        let mut at = 0;
        self.parts.retain(|part| {
            let after_point = at > point;
            at += 1;
            if after_point && part.is_digit() {
                seen += 1;
                return seen <= keep;
            }
            true
        });
        if keep == 0 {
            self.parts.remove(point);
        }
    }

    fn render(&self, digits: &Digits) -> String {
        let fill = self.fill;
        let integer_parts: Vec<Part> = self.integer_parts().collect();
        let fraction_parts: Vec<Part> = self.fraction_parts().collect();
        let integer_places = integer_parts.len();
        let negative = digits.negative;

        // FM drops the fraction's trailing zeros that sit at 9s.
        let mut kept_fraction = fraction_parts.len();
        while fill && kept_fraction > 0 && fraction_parts[kept_fraction - 1] == Part::Nine && digits.fraction[kept_fraction - 1] == 0 {
            kept_fraction -= 1;
        }
        // A zero integer part counts as one digit, shown when nothing of a fraction is.
        let shows_zero = digits.integer.is_empty() && kept_fraction == 0;
        let overflow = digits.integer.len().max(1) > integer_places;
        let integer: &[u8] = if shows_zero { &[0] } else { &digits.integer };
        // Integer places from `start` on are printed: the number's own, and from the first 0.
        let first_zero = integer_parts.iter().position(|p| *p == Part::Zero).unwrap_or(integer_places);
        let start = (integer_places - integer.len().min(integer_places)).min(first_zero);
        let last_integer_digit = self.parts[..self.point().unwrap_or(self.parts.len())].iter().rposition(|p| p.is_digit());
        let last_digit = self.parts.iter().rposition(|p| p.is_digit());
        let anchored_sign_at = self.parts.iter().position(|p| *p == Part::AnchoredSign);
        let trailing_sign = anchored_sign_at.is_some_and(|at| last_integer_digit.is_none_or(|last| at > last));
        // The sign goes before the number unless MI or SG places it, or a trailing S follows it.
        let leading_sign = if self.parts.iter().any(|p| matches!(p, Part::Minus | Part::Sign)) || trailing_sign {
            ""
        } else if anchored_sign_at.is_some() {
            if negative { "-" } else { "+" }
        } else if negative {
            "-"
        } else if fill {
            ""
        } else {
            " "
        };

        let mut out = String::new();
        let (mut integer_place, mut fraction_place) = (0, 0);
        let (mut in_fraction, mut started) = (false, false);
        let start_number = |out: &mut String, started: &mut bool| {
            if !*started {
                out.push_str(leading_sign);
                *started = true;
            }
        };
        for (at, part) in self.parts.iter().enumerate() {
            match part {
                Part::Nine | Part::Zero if !in_fraction => {
                    if overflow {
                        start_number(&mut out, &mut started);
                        out.push('#');
                    } else if integer_place >= start {
                        start_number(&mut out, &mut started);
                        let from_right = integer_places - integer_place;
                        let digit = if from_right <= integer.len() { integer[integer.len() - from_right] } else { 0 };
                        out.push(char::from(b'0' + digit));
                    } else if !fill {
                        out.push(' ');
                    }
                    integer_place += 1;
                }
                Part::Nine | Part::Zero => {
                    if overflow {
                        out.push('#');
                    } else if fraction_place < kept_fraction {
                        out.push(char::from(b'0' + digits.fraction[fraction_place]));
                    }
                    fraction_place += 1;
                }
                Part::Point => {
                    start_number(&mut out, &mut started);
                    in_fraction = true;
                    out.push('.');
                }
                Part::Group if started || overflow => out.push(','),
                Part::Group if !fill => out.push(' '),
                Part::Group => {}
                Part::AnchoredSign => {}
                Part::Minus => out.push_str(if negative { "-" } else if fill { "" } else { " " }),
                Part::Sign => out.push(if negative { '-' } else { '+' }),
                Part::Plus => out.push_str(if !negative { "+" } else if fill { "" } else { " " }),
                Part::Literal(c) => out.push(*c),
            }
            // A trailing S follows the number's last digit place, wherever it was written.
            if trailing_sign && Some(at) == last_digit {
                out.push(if negative { '-' } else { '+' });
            }
        }
        start_number(&mut out, &mut started);
        out
    }
}

/// A number's digits, rounded to the pattern's fraction places.
struct Digits {
    negative: bool,
    /// Without leading zeros (empty for a zero integer part).
    integer: Vec<u8>,
    /// Exactly as many as the pattern's fraction places.
    fraction: Vec<u8>,
}

impl Digits {
    /// `text` rounded half away from zero at `places` fraction digits; `None` if not a number.
    fn parse(text: &str, places: usize) -> Option<Self> {
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (integer, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        if (integer.is_empty() && fraction.is_empty()) || !integer.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut digits: Vec<u8> = integer.bytes().chain(fraction.bytes().chain(std::iter::repeat(b'0')).take(places)).map(|b| b - b'0').collect();
        if fraction.as_bytes().get(places).is_some_and(|b| *b >= b'5') {
            let carried = digits.iter_mut().rev().try_for_each(|d| {
                if *d == 9 {
                    *d = 0;
                    Ok(())
                } else {
                    *d += 1;
                    Err(())
                }
            });
            if carried.is_ok() {
                digits.insert(0, 1);
            }
        }
        let fraction = digits.split_off(digits.len() - places);
        let first_significant = digits.iter().position(|d| *d != 0).unwrap_or(digits.len());
        let integer = digits.split_off(first_significant);
        let negative = negative && integer.iter().chain(&fraction).any(|d| *d != 0);
        Some(Digits { negative, integer, fraction })
    }
}

/// A numeric pattern's element as written, which `to_char` and `to_number` each read their way.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Element {
    /// `9` or `0`.
    Digit(char),
    /// `.` or `D`.
    Point,
    /// `,` or `G`.
    Group,
    /// `L`.
    Currency,
    /// `MI`, `PL`, `SG`.
    Minus,
    Plus,
    Sign,
    /// `S`.
    AnchoredSign,
    /// `FM`.
    FillMode,
    /// Quoted or not.
    Literal(char),
}

/// The elements of `pattern`, refusing (0A000, described by `refusal` with the element in
/// place of `{}`) `EEEE`, `RN`, `TH`, `PR` and the letters in `refused`.
///
/// # Errors
/// Those; two decimal points, two `S`, `S` with another sign element (42601).
fn elements(pattern: &str, refusal: &str, refused: &[char]) -> Result<Vec<Element>> {
    let chars: Vec<char> = pattern.chars().collect();
    let (mut elements, mut i) = (Vec::new(), 0);
    while i < chars.len() {
        if chars[i] == '"' {
            // Quoted text, `\"` for a quote inside.
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' && i + 1 < chars.len() {
                    i += 1;
                }
                elements.push(Element::Literal(chars[i]));
                i += 1;
            }
            i += 1;
            continue;
        }
        let keyword = ["EEEE", "RN", "TH", "PR"].into_iter().find(|element| keyword_at(&chars, i, element)).map(str::to_string);
        if let Some(element) = keyword.or_else(|| refused.contains(&chars[i].to_ascii_uppercase()).then(|| chars[i].to_string())) {
            return Err(EngineError::unsupported(refusal.replace("{}", &format!("\"{element}\""))));
        }
        let two = ["FM", "MI", "SG", "PL"].into_iter().find(|element| keyword_at(&chars, i, element));
        let (element, width) = match two {
            Some("FM") => (Element::FillMode, 2),
            Some("MI") => (Element::Minus, 2),
            Some("SG") => (Element::Sign, 2),
            Some(_) => (Element::Plus, 2),
            None => match chars[i].to_ascii_uppercase() {
                digit @ ('9' | '0') => (Element::Digit(digit), 1),
                '.' | 'D' => (Element::Point, 1),
                ',' | 'G' => (Element::Group, 1),
                'L' => (Element::Currency, 1),
                'S' => (Element::AnchoredSign, 1),
                _ => (Element::Literal(chars[i]), 1),
            },
        };
        // NUMDesc_prepare's checks, in the order it meets the elements.
        let signed = elements.contains(&Element::AnchoredSign);
        let conflict = match element {
            Element::Point if elements.contains(&Element::Point) => Some("multiple decimal points"),
            Element::AnchoredSign if signed => Some("cannot use \"S\" twice"),
            Element::AnchoredSign if elements.iter().any(|e| matches!(e, Element::Minus | Element::Plus | Element::Sign)) => {
                Some("cannot use \"S\" and \"PL\"/\"MI\"/\"SG\"/\"PR\" together")
            }
            Element::Minus if signed => Some("cannot use \"S\" and \"MI\" together"),
            Element::Plus if signed => Some("cannot use \"S\" and \"PL\" together"),
            Element::Sign if signed => Some("cannot use \"S\" and \"SG\" together"),
            _ => None,
        };
        if let Some(message) = conflict {
            return Err(EngineError::MalformedStatement { message });
        }
        elements.push(element);
        i += width;
    }
    Ok(elements)
}

/// `to_number(text, pattern)` read as PostgreSQL 15 reads it (`formatting.c`'s
/// `NUM_processor`): the pattern's elements take the text's characters in turn, a digit
/// position takes a digit (after skipping a blank, and taking a sign before the first), a
/// point position a digit or the decimal point, `,` and `G` a comma (none in fill mode), `L`
/// one character that is no number's (`0-9 . , + -`), `MI`/`PL`/`SG` their sign or else one
/// such character, a literal any one character; no more fraction digits are read than the
/// pattern has places. A `-` where a digit position after the digits reads nothing is the
/// sign when the pattern has `MI`, `PL` or `SG` (and no `S`). The result is the decimal text
/// (`-1234.50`: the fraction digits read, leading zeros gone); `None` for the empty pattern.
///
/// # Errors
/// No digit read (22P02, with the text PostgreSQL's numeric input saw); more integer digits
/// than the pattern's positions (22003, where the point position took one); `EEEE`, `RN`,
/// `V`, `PR`, `TH`, `B`, `C`, `E` (0A000); two decimal points, two `S`, `S` with another sign
/// element (42601).
pub fn to_number(text: &str, pattern: &str) -> Result<Option<String>> {
    if pattern.is_empty() {
        return Ok(None);
    }
    let (pre, post) = to_number_positions(pattern)?;
    let parts = input_pattern(pattern)?;
    let has_point = parts.contains(&Element::Point);
    let anchored_sign = parts.contains(&Element::AnchoredSign);
    let sign_elements = parts.iter().any(|p| matches!(p, Element::Minus | Element::Plus | Element::Sign));
    let fill_mode = parts.contains(&Element::FillMode);
    // What NUM_eat_non_data_chars leaves for the number.
    let is_data = |c: char| c.is_ascii_digit() || ".,+-".contains(c);
    let input: Vec<char> = text.chars().collect();
    let (mut sign, mut number, mut read_pre, mut read_post, mut read_point, mut i) = (' ', String::new(), 0, 0, false, 0);
    for part in parts {
        let Some(&c) = input.get(i) else { break };
        match part {
            Element::Digit(_) | Element::Point => {
                if c == ' ' {
                    i += 1;
                }
                if sign == ' ' && matches!(part, Element::Digit(_)) && read_pre + read_post == 0 && matches!(input.get(i), Some('-' | '+')) {
                    sign = input[i];
                    i += 1;
                }
                let read = match input.get(i) {
                    Some(d) if d.is_ascii_digit() && !(read_point && read_post == post) => {
                        number.push(*d);
                        if read_point { read_post += 1 } else { read_pre += 1 }
                        true
                    }
                    Some('.') if has_point && !read_point => {
                        number.push('.');
                        read_point = true;
                        true
                    }
                    _ => false,
                };
                if sign == ' ' && read_pre + read_post > 0 {
                    if read && anchored_sign && let Some(next @ ('-' | '+')) = input.get(i + 1) {
                        // A sign right after the last digit, when the pattern has `S`.
                        sign = *next;
                        i += 1;
                    } else if !read && !anchored_sign && sign_elements && input.get(i) == Some(&'-') {
                        sign = '-';
                    }
                }
                i += 1;
            }
            Element::Group if c == ',' && !fill_mode => i += 1,
            Element::Minus | Element::Sign if c == '-' => {
                sign = '-';
                i += 1;
            }
            Element::Plus | Element::Sign if c == '+' => {
                sign = '+';
                i += 1;
            }
            Element::Currency | Element::Minus | Element::Plus | Element::Sign if !is_data(c) => i += 1,
            Element::Literal(_) => i += 1,
            _ => {}
        }
    }
    if read_pre + read_post == 0 {
        return Err(EngineError::InvalidTextRepresentation { type_name: "numeric".into(), value: sign.to_string() });
    }
    let (whole, fraction) = number.split_once('.').unwrap_or((&number, ""));
    let whole = whole.trim_start_matches('0');
    if whole.len() > pre {
        let [precision, scale] = [pre + read_post, read_post].map(|n| i32::try_from(n).unwrap_or(i32::MAX));
        return Err(EngineError::numeric_field_overflow(precision, scale));
    }
    let zero = whole.is_empty() && fraction.bytes().all(|b| b == b'0');
    let minus = if sign == '-' && !zero { "-" } else { "" };
    let whole = if whole.is_empty() { "0" } else { whole };
    Ok(Some(if fraction.is_empty() { format!("{minus}{whole}") } else { format!("{minus}{whole}.{fraction}") }))
}

/// The digit positions of a `to_number` pattern before and after its decimal point: the most
/// integer digits and fraction places it reads.
///
/// # Errors
/// As [`to_number`]'s pattern errors.
pub fn to_number_positions(pattern: &str) -> Result<(usize, usize)> {
    let parts = input_pattern(pattern)?;
    let point_at = parts.iter().position(|p| *p == Element::Point).unwrap_or(parts.len());
    let digits_in = |parts: &[Element]| parts.iter().filter(|p| matches!(p, Element::Digit(_))).count();
    Ok((digits_in(&parts[..point_at]), digits_in(&parts[point_at..])))
}

fn input_pattern(pattern: &str) -> Result<Vec<Element>> {
    elements(pattern, "to_number pattern element {}", &['V', 'B', 'C', 'E'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_number_overflow_says_what_the_field_holds() {
        assert_eq!(to_number("$1,234.50-", "L9,999.99S").unwrap().as_deref(), Some("-1234.50"));
        let detail = |text: &str, pattern: &str| to_number(text, pattern).unwrap_err().detail().map(str::to_string);
        assert_eq!(detail("5.5", ".9").as_deref(), Some("A field with precision 0, scale 0 must round to an absolute value less than 1."));
        assert_eq!(detail("12.5", "9.9").as_deref(), Some("A field with precision 1, scale 0 must round to an absolute value less than 10^1."));
    }

    fn exact(value: &str, pattern: &str) -> String {
        to_char(Number::Exact(value), pattern).unwrap()
    }

    fn float8(value: f64, pattern: &str) -> String {
        to_char(Number::Float { value, significant: FLOAT8_DIGITS }, pattern).unwrap()
    }

    // Expected values are PostgreSQL 15's.
    #[test]
    fn digits_blanks_and_overflow() {
        assert_eq!(exact("1234.5", "9999.99"), " 1234.50");
        assert_eq!(exact("0", "9999.99"), "     .00");
        assert_eq!(exact("1234567.891", "9999.99"), " ####.##");
        assert_eq!(exact("0", "999"), "   0");
        assert_eq!(exact("0.5", ".99"), " .##");
        assert_eq!(exact("0", "FM.99"), ".##");
        assert_eq!(exact("9.5", "9"), " #");
        assert_eq!(exact("12345", "9,9,9"), " #,#,#");
        assert_eq!(exact("5", "9099"), "  005");
        assert_eq!(exact("-0.4", "9.9"), " -.4");
        assert_eq!(exact("-0.04", "9.9"), "  .0");
    }

    #[test]
    fn a_point_without_fraction_places_is_not_printed() {
        assert_eq!(exact("5", "999."), "   5");
        assert_eq!(exact("0", "FM999."), "0");
        assert_eq!(exact("0.5", "999."), "   1");
    }

    #[test]
    fn fill_mode_trims_padding_and_fraction_zeros_at_nines() {
        assert_eq!(exact("-1234.567", "FM9,999,999.00"), "-1,234.57");
        assert_eq!(exact("1.0", "FM9.99"), "1.");
        assert_eq!(exact("0", "FM999.9"), "0.");
        assert_eq!(exact("0", "FM999.0"), ".0");
        assert_eq!(exact("12", "FM99.90"), "12.00");
    }

    #[test]
    fn sign_elements() {
        assert_eq!(exact("-5", "MI999"), "-  5");
        assert_eq!(exact("5", "S999"), "  +5");
        assert_eq!(exact("-5", "999S"), "  5-");
        assert_eq!(exact("-5", "9.S9"), "5.0-");
        assert_eq!(exact("5", "FM999MI"), "5");
        assert_eq!(exact("-5", "FM999MI"), "5-");
        assert_eq!(exact("5", "999PL"), "   5+");
        assert_eq!(exact("-5", "999PL"), "  -5 ");
        assert_eq!(exact("5", "SG999"), "+  5");
        assert!(to_char(Number::Exact("5"), "S9MI").is_err());
        assert!(to_char(Number::Exact("5"), "9.9.9").is_err());
    }

    #[test]
    fn text_in_the_pattern() {
        assert_eq!(exact("485", "\"No.\" 999"), "No.  485");
        assert_eq!(exact("1234.5", "9G999D99"), " 1,234.50");
        assert!(to_char(Number::Exact("5"), "9 total").is_err());
    }

    #[test]
    fn floats_round_their_binary_value_at_the_digits_their_type_holds() {
        assert_eq!(float8(-0.125, "0.99"), "-0.12");
        assert_eq!(exact("-0.125", "0.99"), "-0.13");
        assert_eq!(float8(2.5, "9"), " 2");
        assert_eq!(float8(1e16, "99999999999999999.99"), " 10000000000000000");
        assert_eq!(float8(0.1, "9.99999999999999999"), "  .10000000000000");
        assert_eq!(
            to_char(Number::Float { value: f64::from(1234567f32), significant: FLOAT4_DIGITS }, "9999999.99").unwrap(),
            " 1234567"
        );
        assert!(to_char(Number::Float { value: f64::NAN, significant: FLOAT8_DIGITS }, "9").is_err());
    }
}
