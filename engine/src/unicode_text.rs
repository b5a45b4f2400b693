//! `normalize(text [, form])` and `unistr(text)`, one implementation for both engines: Unicode
//! normalization forms, and PostgreSQL's Unicode escapes (`\0061`, `\+000061`, `\u0061`,
//! `\U00000061`, `\\`) read into characters.

use unicode_normalization::UnicodeNormalization;

use crate::error::{EngineError, Result};

/// `normalize(text, form)`, `form` one of NFC (PostgreSQL's default), NFD, NFKC, NFKD.
///
/// # Errors
/// Another form (22023).
pub fn normalize(text: &str, form: &str) -> Result<String> {
    Ok(match form.to_ascii_uppercase().as_str() {
        "NFC" => text.nfc().collect(),
        "NFD" => text.nfd().collect(),
        "NFKC" => text.nfkc().collect(),
        "NFKD" => text.nfkd().collect(),
        _ => return Err(EngineError::InvalidArgument { message: format!("invalid normalization form: {form}") }),
    })
}

/// `unistr(text)`: the text with its Unicode escapes read, as PostgreSQL 15 reads them
/// (surrogate pairs joined).
///
/// # Errors
/// A backslash not starting one of the escapes, too few hex digits, a code point outside
/// Unicode or an unpaired surrogate (42601, as PostgreSQL).
pub fn unistr(text: &str) -> Result<String> {
    let invalid = || EngineError::InvalidUnicodeEscape;
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut high_surrogate: Option<u32> = None;
    while let Some(at) = rest.find('\\') {
        if high_surrogate.is_some() && at > 0 {
            return Err(invalid());
        }
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        let digits = match rest.as_bytes().first() {
            Some(b'\\') => {
                if high_surrogate.is_some() {
                    return Err(invalid());
                }
                out.push('\\');
                rest = &rest[1..];
                continue;
            }
            Some(b'+') => 6,
            Some(b'u') => 4,
            Some(b'U') => 8,
            _ => 0,
        };
        // `\XXXX` has no letter before its digits.
        let skip = usize::from(digits != 0);
        let digits = if digits == 0 { 4 } else { digits };
        let hex = rest.get(skip..skip + digits).filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit())).ok_or_else(invalid)?;
        let code = u32::from_str_radix(hex, 16).map_err(|_| invalid())?;
        rest = &rest[skip + digits..];
        match (high_surrogate.take(), code) {
            (None, 0xD800..=0xDBFF) => high_surrogate = Some(code),
            (Some(high), 0xDC00..=0xDFFF) => out.push(char::from_u32(0x10000 + ((high - 0xD800) << 10) + (code - 0xDC00)).ok_or_else(invalid)?),
            (Some(_), _) | (None, 0xDC00..=0xDFFF) => return Err(invalid()),
            (None, 0) => return Err(invalid()),
            (None, code) => out.push(char::from_u32(code).ok_or_else(invalid)?),
        }
    }
    if high_surrogate.is_some() {
        return Err(invalid());
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_compose_and_decompose() {
        let decomposed = "e\u{301}";
        assert_eq!(normalize(decomposed, "NFC").unwrap(), "\u{e9}");
        assert_eq!(normalize("\u{e9}", "nfd").unwrap(), decomposed);
        assert_eq!(normalize("\u{fb01}", "NFKC").unwrap(), "fi");
        assert_eq!(normalize("x", "NFX").unwrap_err().sqlstate(), "22023");
    }

    /// PostgreSQL 15's answers: `unistr('d\0061t\+000061')` is `data`, `unistr('\u00e9')` `é`.
    #[test]
    fn escapes_read_as_postgresql_reads_them() {
        assert_eq!(unistr("d\\0061t\\+000061").unwrap(), "data");
        assert_eq!(unistr("\\u00e9 \\U0001F600 a\\\\b").unwrap(), "\u{e9} \u{1F600} a\\b");
        assert_eq!(unistr("\\D83D\\DE00").unwrap(), "\u{1F600}");
        for bad in ["\\x", "\\00", "\\+11FFFF", "\\DE00", "\\D83Dx", "a\\"] {
            assert_eq!(unistr(bad).unwrap_err().sqlstate(), "42601", "{bad}");
        }
    }
}
