//! PostgreSQL's bytea: its input syntax, `encode`/`decode` in the `hex`, `base64` and `escape`
//! formats, and `get_byte`, byte for byte as PostgreSQL 15 has them. Both engines call these
//! (SQLite functions in `oltp::functions`, DataFusion UDFs in `olap::udf`), so a bytea answer
//! does not depend on the engine that gave it.

use sha2::Digest;

use crate::error::{EngineError, Result};

/// A bytea as PostgreSQL writes it (`bytea_output = hex`): `\x` and two hex digits a byte.
pub fn output(bytes: &[u8]) -> String {
    format!("\\x{}", hex(bytes))
}

/// Bytes from bytea input text: `\x` and hex pairs (blanks between pairs allowed), or the
/// escape format (`\\` and `\ooo` octal escapes, everything else as it is).
///
/// # Errors
/// Bad hex digits (22023, as PostgreSQL's hex decoding says), a bad escape (22P02).
pub fn parse_input(text: &[u8]) -> Result<Vec<u8>> {
    match text.strip_prefix(b"\\x") {
        Some(hex) => decode_hex(hex),
        None => decode_escape(text),
    }
}

/// `encode(bytes, format)`.
///
/// # Errors
/// An unknown format (22023).
pub fn encode(bytes: &[u8], format: &str) -> Result<String> {
    match Format::of(format)? {
        Format::Hex => Ok(hex(bytes)),
        Format::Base64 => Ok(base64(bytes)),
        Format::Escape => Ok(escape(bytes)),
    }
}

/// `decode(text, format)`.
///
/// # Errors
/// An unknown format or malformed data (22023; 22P02 for the escape format, as PostgreSQL).
pub fn decode(text: &str, format: &str) -> Result<Vec<u8>> {
    match Format::of(format)? {
        Format::Hex => decode_hex(text.as_bytes()),
        Format::Base64 => decode_base64(text),
        Format::Escape => decode_escape(text.as_bytes()),
    }
}

/// `get_byte(bytes, n)`: the byte at offset `n` (from 0).
///
/// # Errors
/// `n` outside the bytes (2202E).
pub fn get_byte(bytes: &[u8], n: i64) -> Result<i32> {
    usize::try_from(n).ok().and_then(|i| bytes.get(i)).map(|&b| i32::from(b)).ok_or_else(|| EngineError::SubscriptOutOfRange {
        message: format!("index {n} out of valid range, 0..{}", bytes.len() as i64 - 1),
    })
}

/// `substring(bytes FROM start [FOR count])`: the bytes at positions `start .. start + count`
/// (from 1), clipped to the value, so a start before 1 eats into the count.
///
/// # Errors
/// A negative count (22011).
pub fn substring(bytes: &[u8], start: i64, count: Option<i64>) -> Result<&[u8]> {
    let end = match count {
        Some(n) if n < 0 => return Err(EngineError::NegativeSubstringLength),
        Some(n) => start.saturating_add(n),
        None => i64::MAX,
    };
    let clip = |position: i64| usize::try_from(position.max(1) - 1).unwrap_or(usize::MAX).min(bytes.len());
    let (from, to) = (clip(start), clip(end));
    Ok(&bytes[from..to.max(from)])
}

/// A digest of bytes, as bytes.
pub type DigestFn = fn(&[u8]) -> Vec<u8>;

/// PostgreSQL's `sha224` .. `sha512` of a bytea, each a bytea.
pub const DIGESTS: [(&str, DigestFn); 4] = [
    ("sha224", |b| sha2::Sha224::digest(b).to_vec()),
    ("sha256", |b| sha2::Sha256::digest(b).to_vec()),
    ("sha384", |b| sha2::Sha384::digest(b).to_vec()),
    ("sha512", |b| sha2::Sha512::digest(b).to_vec()),
];

enum Format {
    Hex,
    Base64,
    Escape,
}

impl Format {
    fn of(name: &str) -> Result<Self> {
        match name.to_ascii_lowercase().as_str() {
            "hex" => Ok(Self::Hex),
            "base64" => Ok(Self::Base64),
            "escape" => Ok(Self::Escape),
            _ => Err(invalid(format!("unrecognized encoding: \"{name}\""))),
        }
    }
}

/// The encodings `convert_from` and `convert_to` know: the server's (UTF8), LATIN1, and
/// SQL_ASCII (bytes as they are, which must then be UTF8 to be text).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Utf8,
    Latin1,
    SqlAscii,
}

impl Encoding {
    /// An encoding by name as PostgreSQL reads one: case and punctuation ignored (`utf-8`).
    fn of(name: &str) -> Option<Self> {
        let clean: String = name.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect();
        match clean.as_str() {
            "utf8" | "unicode" => Some(Self::Utf8),
            "latin1" | "iso88591" => Some(Self::Latin1),
            "sqlascii" => Some(Self::SqlAscii),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Utf8 => "UTF8",
            Self::Latin1 => "LATIN1",
            Self::SqlAscii => "SQL_ASCII",
        }
    }
}

fn byte_list(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("0x{b:02x}")).collect::<Vec<_>>().join(" ")
}

/// `convert_to(text, encoding)`: the text's bytes in `encoding`.
///
/// # Errors
/// An encoding rhei does not know (22023), a character `encoding` has no code for (22P05).
pub fn convert_to(text: &str, encoding: &str) -> Result<Vec<u8>> {
    match Encoding::of(encoding) {
        Some(Encoding::Utf8 | Encoding::SqlAscii) => Ok(text.as_bytes().to_vec()),
        Some(latin1 @ Encoding::Latin1) => text
            .chars()
            .map(|c| {
                u8::try_from(u32::from(c)).map_err(|_| {
                    let mut buffer = [0u8; 4];
                    EngineError::UntranslatableCharacter { encoding: latin1.name(), bytes: byte_list(c.encode_utf8(&mut buffer).as_bytes()) }
                })
            })
            .collect(),
        None => Err(invalid(format!("invalid destination encoding name \"{encoding}\""))),
    }
}

/// `convert_from(bytes, encoding)`: the text the bytes are in `encoding`.
///
/// # Errors
/// An encoding rhei does not know (22023), bytes that are no text in it or a NUL (22021).
pub fn convert_from(bytes: &[u8], encoding: &str) -> Result<String> {
    let Some(from) = Encoding::of(encoding) else {
        return Err(invalid(format!("invalid source encoding name \"{encoding}\"")));
    };
    if let Some(at) = bytes.iter().position(|b| *b == 0) {
        return Err(EngineError::InvalidByteSequence { encoding: from.name(), bytes: byte_list(&bytes[at..=at]) });
    }
    match from {
        Encoding::Latin1 => Ok(bytes.iter().map(|b| char::from(*b)).collect()),
        Encoding::Utf8 | Encoding::SqlAscii => match std::str::from_utf8(bytes) {
            Ok(text) => Ok(text.to_string()),
            Err(e) => {
                let start = e.valid_up_to();
                let end = start + e.error_len().unwrap_or(bytes.len() - start);
                // Bytes said to be SQL_ASCII are taken as they are: as text they must be UTF8.
                Err(EngineError::InvalidByteSequence { encoding: Encoding::Utf8.name(), bytes: byte_list(&bytes[start..end]) })
            }
        },
    }
}

fn invalid(message: String) -> EngineError {
    EngineError::InvalidArgument { message }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn decode_hex(text: &[u8]) -> Result<Vec<u8>> {
    let digit = |at: usize| -> Result<u8> {
        let c = char::from(text[at]);
        c.to_digit(16).map(|d| d as u8).ok_or_else(|| {
            // The character as PostgreSQL quotes it: the whole UTF-8 sequence it starts.
            let shown = std::str::from_utf8(&text[at..]).ok().and_then(|s| s.chars().next()).unwrap_or(c);
            invalid(format!("invalid hexadecimal digit: \"{shown}\""))
        })
    };
    let mut out = Vec::with_capacity(text.len() / 2);
    let mut i = 0;
    while i < text.len() {
        if is_blank(text[i]) {
            i += 1;
            continue;
        }
        let high = digit(i)?;
        if i + 1 >= text.len() {
            return Err(invalid("invalid hexadecimal data: odd number of digits".into()));
        }
        out.push(high << 4 | digit(i + 1)?);
        i += 2;
    }
    Ok(out)
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Base64 with `=` padding and a newline after every 76 characters, as PostgreSQL writes it
/// (one after the last line too when it is full).
fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4 + bytes.len() / 57);
    let mut line = 0;
    for group in bytes.chunks(3) {
        let buf = u32::from(group[0]) << 16 | u32::from(*group.get(1).unwrap_or(&0)) << 8 | u32::from(*group.get(2).unwrap_or(&0));
        for (k, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if k <= group.len() {
                out.push(char::from(BASE64[((buf >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
        line += 4;
        if line >= 76 && group.len() == 3 {
            out.push('\n');
            line = 0;
        }
    }
    out
}

fn decode_base64(text: &str) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut buf, mut pos, mut end) = (0u32, 0, 0);
    for c in text.chars() {
        if c.is_ascii() && is_blank(c as u8) {
            continue;
        }
        let value = if c == '=' {
            if end == 0 {
                end = match pos {
                    2 => 1,
                    3 => 2,
                    _ => return Err(invalid("unexpected \"=\" while decoding base64 sequence".into())),
                };
            }
            0
        } else {
            BASE64
                .iter()
                .position(|&b| char::from(b) == c)
                .ok_or_else(|| invalid(format!("invalid symbol \"{c}\" found while decoding base64 sequence")))? as u32
        };
        buf = buf << 6 | value;
        pos += 1;
        if pos == 4 {
            out.push((buf >> 16) as u8);
            if end != 1 {
                out.push((buf >> 8) as u8);
            }
            if end == 0 {
                out.push(buf as u8);
            }
            (buf, pos) = (0, 0);
        }
    }
    if pos != 0 {
        return Err(invalid("invalid base64 end sequence".into()));
    }
    Ok(out)
}

/// The escape format: a NUL and bytes with the high bit set as `\ooo`, a backslash doubled,
/// every other byte as it is.
fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            0 | 0x80..=0xff => out.push_str(&format!("\\{:03o}", b)),
            b'\\' => out.push_str("\\\\"),
            _ => out.push(char::from(b)),
        }
    }
    out
}

fn decode_escape(text: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i] != b'\\' {
            out.push(text[i]);
            i += 1;
        } else if let Some(&[a @ b'0'..=b'3', b @ b'0'..=b'7', c @ b'0'..=b'7']) = text.get(i + 1..i + 4) {
            out.push((a - b'0') << 6 | (b - b'0') << 3 | (c - b'0'));
            i += 4;
        } else if text.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else {
            return Err(EngineError::InvalidTextRepresentation { type_name: "bytea".into(), value: String::from_utf8_lossy(text).into_owned() });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As PostgreSQL 15 converts, and fails, in a UTF8 database.
    #[test]
    fn text_converts_to_and_from_the_encodings_rhei_knows() {
        assert_eq!(convert_to("héllo", "UTF8").unwrap(), "héllo".as_bytes());
        assert_eq!(convert_to("héllo", "latin-1").unwrap(), b"h\xe9llo");
        let euro = convert_to("5 €", "LATIN1").unwrap_err();
        assert_eq!((euro.sqlstate(), euro.to_string().as_str()), ("22P05", "character with byte sequence 0xe2 0x82 0xac in encoding \"UTF8\" has no equivalent in encoding \"LATIN1\""));
        assert_eq!(convert_to("x", "klingon").unwrap_err().to_string(), "invalid destination encoding name \"klingon\"");
        assert_eq!(convert_from(b"h\xc3\xa9", "utf8").unwrap(), "hé");
        assert_eq!(convert_from(b"h\xe9", "ISO-8859-1").unwrap(), "hé");
        let broken = convert_from(b"ok\xff", "UTF8").unwrap_err();
        assert_eq!((broken.sqlstate(), broken.to_string().as_str()), ("22021", "invalid byte sequence for encoding \"UTF8\": 0xff"));
        assert_eq!(convert_from(b"a\0b", "LATIN1").unwrap_err().sqlstate(), "22021");
        assert_eq!(convert_from(b"x", "EBCDIC").unwrap_err().sqlstate(), "22023");
    }

    /// Each format's text as PostgreSQL 15 prints and reads it.
    #[test]
    fn formats_round_trip_as_postgresql_writes_them() {
        assert_eq!(encode(&[0, 255, 16], "hex").unwrap(), "00ff10");
        assert_eq!(encode(&[0, 255, 16], "base64").unwrap(), "AP8Q");
        assert_eq!(encode(b"hi", "BASE64").unwrap(), "aGk=");
        assert_eq!(encode(b"h", "base64").unwrap(), "aA==");
        let long = b"hello world, this is long enough to wrap the base64 line past seventy six characters";
        assert_eq!(
            encode(long, "base64").unwrap(),
            "aGVsbG8gd29ybGQsIHRoaXMgaXMgbG9uZyBlbm91Z2ggdG8gd3JhcCB0aGUgYmFzZTY0IGxpbmUg\ncGFzdCBzZXZlbnR5IHNpeCBjaGFyYWN0ZXJz"
        );
        assert_eq!(decode(&encode(long, "base64").unwrap(), "base64").unwrap(), long);
        assert_eq!(encode(&[0, 1, 0x7f, 0x80, 0xff, b'\\', b'\''], "escape").unwrap(), "\\000\u{1}\u{7f}\\200\\377\\\\'");
        assert_eq!(decode("aGk=", "base64").unwrap(), b"hi");
        assert_eq!(decode(" 6 869 ", "hex").unwrap_err().to_string(), "invalid hexadecimal digit: \" \"");
        assert_eq!(decode("68 69\n", "hex").unwrap(), b"hi");
        assert_eq!(decode("a\\\\b\\001", "escape").unwrap(), b"a\\b\x01");
        assert_eq!(parse_input(b"\\x0aFF").unwrap(), vec![10, 255]);
        assert_eq!(parse_input(b"abc").unwrap(), b"abc".to_vec());
        assert_eq!(parse_input(b"\\x0").unwrap_err().sqlstate(), "22023");
        assert_eq!(parse_input(b"a\\9").unwrap_err().sqlstate(), "22P02");
    }

    #[test]
    fn bad_input_fails_with_postgresqls_messages() {
        let message = |r: Result<Vec<u8>>| r.unwrap_err().to_string();
        assert_eq!(message(decode("abc", "hex")), "invalid hexadecimal data: odd number of digits");
        assert_eq!(message(decode("zz", "hex")), "invalid hexadecimal digit: \"z\"");
        assert_eq!(message(decode("a", "base64")), "invalid base64 end sequence");
        assert_eq!(message(decode("a\\b", "base64")), "invalid symbol \"\\\" found while decoding base64 sequence");
        assert_eq!(message(decode("=", "base64")), "unexpected \"=\" while decoding base64 sequence");
        assert_eq!(encode(b"a", "foo").unwrap_err().to_string(), "unrecognized encoding: \"foo\"");
        assert_eq!(get_byte(b"\x01\x02", 1).unwrap(), 2);
        assert_eq!(substring(b"abcde", 2, Some(2)).unwrap(), b"bc");
        assert_eq!(substring(b"abcde", -1, Some(3)).unwrap(), b"a");
        assert_eq!(substring(b"abcde", 4, None).unwrap(), b"de");
        assert_eq!(substring(b"abc", 9, Some(1)).unwrap(), b"");
        assert_eq!(substring(b"abc", 1, Some(-1)).unwrap_err().sqlstate(), "22011");
        let out_of_range = get_byte(b"\x01", 5).unwrap_err();
        assert_eq!((out_of_range.to_string().as_str(), out_of_range.sqlstate()), ("index 5 out of valid range, 0..0", "2202E"));
    }
}
