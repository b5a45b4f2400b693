//! Decoder for PostgreSQL's `pgoutput` logical replication messages,
//! protocol version 1 (as produced by PostgreSQL 15 with streaming off).
//!
//! rhei ingests row changes from an upstream PostgreSQL through a logical
//! replication slot. The walsender wraps every pgoutput message in an
//! `XLogData` frame; this module turns the payload of one such frame into a
//! typed [`PgOutputMessage`]. It is deliberately pure (no I/O, no state) so
//! it can be fuzzed and unit-tested with hand-built buffers, and so the
//! networking layer in `replication.rs` stays independent of the plugin.
//!
//! Only the version 1 wire forms are accepted. Streaming (`proto_version 2`)
//! prefixes several messages with a sub-transaction xid and adds the
//! `S`/`E`/`c`/`A` messages, and version 3 adds two-phase messages; those
//! are rejected explicitly instead of being misparsed, because silently
//! reading an xid as a relation OID would corrupt data downstream.
//!
//! The format is documented in "Logical Replication Message Formats" of the
//! PostgreSQL manual.

use bytes::Bytes;

/// Microseconds between 1970-01-01 and 2000-01-01 (PostgreSQL's epoch).
const PG_EPOCH_OFFSET_MICROS: i64 = 946_684_800_000_000;

/// Errors produced while decoding a pgoutput message or an LSN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("empty pgoutput message")]
    Empty,
    #[error(
        "truncated pgoutput message while reading {context}: needed {needed} bytes, {remaining} left"
    )]
    UnexpectedEof {
        context: &'static str,
        needed: usize,
        remaining: usize,
    },
    #[error("string in {context} is not NUL-terminated")]
    UnterminatedString { context: &'static str },
    #[error("{context} is not valid UTF-8")]
    InvalidUtf8 { context: &'static str },
    #[error("unknown pgoutput message tag {tag:#04x}")]
    UnknownMessage { tag: u8 },
    #[error(
        "pgoutput message {name} ({tag:?}) needs a newer protocol version or streaming, which is not supported"
    )]
    UnsupportedMessage { tag: char, name: &'static str },
    #[error("unknown tuple column kind {kind:#04x}")]
    UnknownColumnKind { kind: u8 },
    #[error("expected tuple marker {expected} in {context}, found {found:#04x}")]
    UnexpectedTupleMarker {
        context: &'static str,
        expected: &'static str,
        found: u8,
    },
    #[error("negative {context}: {value}")]
    NegativeLength { context: &'static str, value: i64 },
    #[error("{count} trailing bytes after pgoutput message {tag:?}")]
    TrailingBytes { tag: char, count: usize },
    #[error("invalid LSN {0:?}: expected two hexadecimal halves like \"16/B374D848\"")]
    InvalidLsn(String),
}

/// One decoded pgoutput message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PgOutputMessage {
    Begin {
        /// LSN of the transaction's commit record (equals `Commit::commit_lsn`).
        final_lsn: u64,
        /// Microseconds since 2000-01-01 UTC, as sent.
        commit_time: i64,
        xid: u32,
    },
    Commit {
        flags: u8,
        /// LSN where the commit record starts.
        commit_lsn: u64,
        /// LSN just past the commit record: the position to confirm once the
        /// transaction is durably applied.
        end_lsn: u64,
        commit_time: i64,
    },
    Origin {
        lsn: u64,
        name: String,
    },
    Relation(Relation),
    Type {
        id: u32,
        namespace: String,
        name: String,
    },
    Insert {
        relation: u32,
        new: Tuple,
    },
    Update {
        relation: u32,
        /// Old key (`K`, default replica identity with a changed key or
        /// REPLICA IDENTITY USING INDEX) or old row (`O`, REPLICA IDENTITY FULL).
        old: Option<Tuple>,
        new: Tuple,
    },
    Delete {
        relation: u32,
        old: Tuple,
    },
    Truncate {
        relations: Vec<u32>,
        cascade: bool,
        restart_identity: bool,
    },
    Message {
        transactional: bool,
        lsn: u64,
        prefix: String,
        content: Bytes,
    },
}

/// Schema of a replicated table, sent before its first change in a session
/// and again whenever it changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub id: u32,
    /// Empty string means `pg_catalog`, per the protocol.
    pub namespace: String,
    pub name: String,
    /// `d` default, `n` nothing, `f` full, `i` index.
    pub replica_identity: u8,
    pub columns: Vec<RelationColumn>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationColumn {
    pub is_key: bool,
    pub name: String,
    pub type_oid: u32,
    pub type_modifier: i32,
}

/// Column values in relation column order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tuple(pub Vec<TupleValue>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TupleValue {
    Null,
    /// A TOASTed value that did not change; the consumer must keep its old copy.
    UnchangedToast,
    Text(String),
    Binary(Bytes),
}

/// Decodes the payload of one `XLogData` frame.
pub fn decode(message: &[u8]) -> Result<PgOutputMessage, DecodeError> {
    let (&tag, body) = message.split_first().ok_or(DecodeError::Empty)?;
    let mut r = Reader { buf: body };
    let msg = match tag {
        b'B' => PgOutputMessage::Begin {
            final_lsn: r.u64("begin final LSN")?,
            commit_time: r.i64("begin commit time")?,
            xid: r.u32("begin xid")?,
        },
        b'C' => PgOutputMessage::Commit {
            flags: r.u8("commit flags")?,
            commit_lsn: r.u64("commit LSN")?,
            end_lsn: r.u64("commit end LSN")?,
            commit_time: r.i64("commit time")?,
        },
        b'O' => PgOutputMessage::Origin {
            lsn: r.u64("origin LSN")?,
            name: r.cstr("origin name")?,
        },
        b'R' => PgOutputMessage::Relation(decode_relation(&mut r)?),
        b'Y' => PgOutputMessage::Type {
            id: r.u32("type OID")?,
            namespace: r.cstr("type namespace")?,
            name: r.cstr("type name")?,
        },
        b'I' => {
            let relation = r.u32("insert relation OID")?;
            r.expect_marker(b'N', "'N'", "insert")?;
            PgOutputMessage::Insert {
                relation,
                new: decode_tuple(&mut r)?,
            }
        }
        b'U' => {
            let relation = r.u32("update relation OID")?;
            let old = match r.u8("update tuple marker")? {
                b'K' | b'O' => {
                    let old = decode_tuple(&mut r)?;
                    r.expect_marker(b'N', "'N'", "update")?;
                    Some(old)
                }
                b'N' => None,
                found => {
                    return Err(DecodeError::UnexpectedTupleMarker {
                        context: "update",
                        expected: "'K', 'O' or 'N'",
                        found,
                    });
                }
            };
            PgOutputMessage::Update {
                relation,
                old,
                new: decode_tuple(&mut r)?,
            }
        }
        b'D' => {
            let relation = r.u32("delete relation OID")?;
            match r.u8("delete tuple marker")? {
                b'K' | b'O' => {}
                found => {
                    return Err(DecodeError::UnexpectedTupleMarker {
                        context: "delete",
                        expected: "'K' or 'O'",
                        found,
                    });
                }
            }
            PgOutputMessage::Delete {
                relation,
                old: decode_tuple(&mut r)?,
            }
        }
        b'T' => {
            let count = r.count_i32("truncate relation count")?;
            let options = r.u8("truncate options")?;
            // Each OID is 4 bytes; checking up front bounds the allocation
            // by the message size rather than by an untrusted count.
            r.ensure(count.saturating_mul(4), "truncate relation OIDs")?;
            let mut relations = Vec::with_capacity(count);
            for _ in 0..count {
                relations.push(r.u32("truncate relation OID")?);
            }
            PgOutputMessage::Truncate {
                relations,
                cascade: options & 1 != 0,
                restart_identity: options & 2 != 0,
            }
        }
        b'M' => {
            let flags = r.u8("message flags")?;
            let lsn = r.u64("message LSN")?;
            let prefix = r.cstr("message prefix")?;
            let len = r.count_i32("message content length")?;
            PgOutputMessage::Message {
                transactional: flags & 1 != 0,
                lsn,
                prefix,
                content: Bytes::copy_from_slice(r.take(len, "message content")?),
            }
        }
        b'S' => return Err(unsupported('S', "Stream Start")),
        b'E' => return Err(unsupported('E', "Stream Stop")),
        b'c' => return Err(unsupported('c', "Stream Commit")),
        b'A' => return Err(unsupported('A', "Stream Abort")),
        b'b' => return Err(unsupported('b', "Begin Prepare")),
        b'P' => return Err(unsupported('P', "Prepare")),
        b'K' => return Err(unsupported('K', "Commit Prepared")),
        b'r' => return Err(unsupported('r', "Rollback Prepared")),
        b'p' => return Err(unsupported('p', "Stream Prepare")),
        tag => return Err(DecodeError::UnknownMessage { tag }),
    };
    // Leftover bytes mean we are reading a different protocol version than
    // we think; better to stop than to hand out half-understood changes.
    if !r.buf.is_empty() {
        return Err(DecodeError::TrailingBytes {
            tag: char::from(tag),
            count: r.buf.len(),
        });
    }
    Ok(msg)
}

fn unsupported(tag: char, name: &'static str) -> DecodeError {
    DecodeError::UnsupportedMessage { tag, name }
}

fn decode_relation(r: &mut Reader<'_>) -> Result<Relation, DecodeError> {
    let id = r.u32("relation OID")?;
    let namespace = r.cstr("relation namespace")?;
    let name = r.cstr("relation name")?;
    let replica_identity = r.u8("relation replica identity")?;
    let ncols = r.count_i16("relation column count")?;
    // Smallest column: flags(1) + empty name(1) + type OID(4) + typmod(4).
    r.ensure(ncols.saturating_mul(10), "relation columns")?;
    let mut columns = Vec::with_capacity(ncols);
    for _ in 0..ncols {
        let flags = r.u8("column flags")?;
        columns.push(RelationColumn {
            is_key: flags & 1 != 0,
            name: r.cstr("column name")?,
            type_oid: r.u32("column type OID")?,
            type_modifier: r.i32("column type modifier")?,
        });
    }
    Ok(Relation {
        id,
        namespace,
        name,
        replica_identity,
        columns,
    })
}

fn decode_tuple(r: &mut Reader<'_>) -> Result<Tuple, DecodeError> {
    let ncols = r.count_i16("tuple column count")?;
    // Every column takes at least its one-byte kind.
    r.ensure(ncols, "tuple columns")?;
    let mut values = Vec::with_capacity(ncols);
    for _ in 0..ncols {
        let value = match r.u8("tuple column kind")? {
            b'n' => TupleValue::Null,
            b'u' => TupleValue::UnchangedToast,
            b't' => {
                let len = r.count_i32("text value length")?;
                let raw = r.take(len, "text value")?;
                let text = std::str::from_utf8(raw).map_err(|_| DecodeError::InvalidUtf8 {
                    context: "text column value",
                })?;
                TupleValue::Text(text.to_owned())
            }
            b'b' => {
                let len = r.count_i32("binary value length")?;
                TupleValue::Binary(Bytes::copy_from_slice(r.take(len, "binary value")?))
            }
            kind => return Err(DecodeError::UnknownColumnKind { kind }),
        };
        values.push(value);
    }
    Ok(Tuple(values))
}

/// Bounds-checked cursor; every read goes through `take`, so malformed
/// input can only produce an error, never a panic.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn ensure(&self, needed: usize, context: &'static str) -> Result<(), DecodeError> {
        if self.buf.len() < needed {
            return Err(DecodeError::UnexpectedEof {
                context,
                needed,
                remaining: self.buf.len(),
            });
        }
        Ok(())
    }

    fn take(&mut self, n: usize, context: &'static str) -> Result<&'a [u8], DecodeError> {
        self.ensure(n, context)?;
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, context: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, context)?);
        Ok(out)
    }

    fn u8(&mut self, context: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(context)?[0])
    }

    fn u32(&mut self, context: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(context)?))
    }

    fn i32(&mut self, context: &'static str) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.array(context)?))
    }

    fn u64(&mut self, context: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array(context)?))
    }

    fn i64(&mut self, context: &'static str) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.array(context)?))
    }

    fn count_i16(&mut self, context: &'static str) -> Result<usize, DecodeError> {
        let v = i16::from_be_bytes(self.array(context)?);
        usize::try_from(v).map_err(|_| DecodeError::NegativeLength {
            context,
            value: i64::from(v),
        })
    }

    fn count_i32(&mut self, context: &'static str) -> Result<usize, DecodeError> {
        let v = self.i32(context)?;
        usize::try_from(v).map_err(|_| DecodeError::NegativeLength {
            context,
            value: i64::from(v),
        })
    }

    fn expect_marker(
        &mut self,
        marker: u8,
        expected: &'static str,
        context: &'static str,
    ) -> Result<(), DecodeError> {
        match self.u8(context)? {
            found if found == marker => Ok(()),
            found => Err(DecodeError::UnexpectedTupleMarker {
                context,
                expected,
                found,
            }),
        }
    }

    fn cstr(&mut self, context: &'static str) -> Result<String, DecodeError> {
        let nul = self
            .buf
            .iter()
            .position(|&b| b == 0)
            .ok_or(DecodeError::UnterminatedString { context })?;
        let raw = self.take(nul + 1, context)?;
        let text = raw
            .get(..nul)
            .ok_or(DecodeError::UnterminatedString { context })?;
        std::str::from_utf8(text)
            .map(str::to_owned)
            .map_err(|_| DecodeError::InvalidUtf8 { context })
    }
}

/// Formats an LSN the way PostgreSQL prints `pg_lsn` (`%X/%X`).
pub fn format_lsn(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF)
}

/// Parses PostgreSQL's textual LSN (`16/B374D848`, case-insensitive).
pub fn parse_lsn(text: &str) -> Result<u64, DecodeError> {
    let invalid = || DecodeError::InvalidLsn(text.to_owned());
    let (hi, lo) = text.split_once('/').ok_or_else(invalid)?;
    let half = |s: &str| -> Result<u64, DecodeError> {
        // from_str_radix would accept a leading '+', which pg_lsn rejects.
        if s.is_empty() || s.len() > 8 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid());
        }
        u64::from_str_radix(s, 16).map_err(|_| invalid())
    };
    Ok((half(hi)? << 32) | half(lo)?)
}

/// Microseconds since 2000-01-01 -> microseconds since 1970-01-01.
///
/// Saturates rather than overflowing, since the input comes off the wire.
pub fn pg_epoch_to_unix_micros(t: i64) -> i64 {
    t.saturating_add(PG_EPOCH_OFFSET_MICROS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tiny builder so each test reads like the protocol documentation.
    #[derive(Default)]
    struct Buf(Vec<u8>);

    impl Buf {
        fn tag(t: u8) -> Self {
            Buf(vec![t])
        }
        fn u8(mut self, v: u8) -> Self {
            self.0.push(v);
            self
        }
        fn i16(mut self, v: i16) -> Self {
            self.0.extend_from_slice(&v.to_be_bytes());
            self
        }
        fn i32(mut self, v: i32) -> Self {
            self.0.extend_from_slice(&v.to_be_bytes());
            self
        }
        fn u32(mut self, v: u32) -> Self {
            self.0.extend_from_slice(&v.to_be_bytes());
            self
        }
        fn u64(mut self, v: u64) -> Self {
            self.0.extend_from_slice(&v.to_be_bytes());
            self
        }
        fn i64(mut self, v: i64) -> Self {
            self.0.extend_from_slice(&v.to_be_bytes());
            self
        }
        fn cstr(mut self, s: &str) -> Self {
            self.0.extend_from_slice(s.as_bytes());
            self.0.push(0);
            self
        }
        fn raw(mut self, b: &[u8]) -> Self {
            self.0.extend_from_slice(b);
            self
        }
        fn text(self, s: &str) -> Self {
            self.u8(b't').i32(s.len() as i32).raw(s.as_bytes())
        }
    }

    fn sample_tuple(b: Buf) -> Buf {
        b.i16(4)
            .text("42")
            .u8(b'n')
            .u8(b'u')
            .u8(b'b')
            .i32(3)
            .raw(&[0, 1, 2])
    }

    fn expected_tuple() -> Tuple {
        Tuple(vec![
            TupleValue::Text("42".into()),
            TupleValue::Null,
            TupleValue::UnchangedToast,
            TupleValue::Binary(Bytes::from_static(&[0, 1, 2])),
        ])
    }

    #[test]
    fn begin() {
        let b = Buf::tag(b'B').u64(0x16_B374_D848).i64(-5).u32(777);
        assert_eq!(
            decode(&b.0).unwrap(),
            PgOutputMessage::Begin {
                final_lsn: 0x16_B374_D848,
                commit_time: -5,
                xid: 777
            }
        );
    }

    #[test]
    fn commit() {
        let b = Buf::tag(b'C').u8(0).u64(100).u64(140).i64(123_456);
        assert_eq!(
            decode(&b.0).unwrap(),
            PgOutputMessage::Commit {
                flags: 0,
                commit_lsn: 100,
                end_lsn: 140,
                commit_time: 123_456
            }
        );
    }

    #[test]
    fn origin() {
        let b = Buf::tag(b'O').u64(9).cstr("node_a");
        assert_eq!(
            decode(&b.0).unwrap(),
            PgOutputMessage::Origin {
                lsn: 9,
                name: "node_a".into()
            }
        );
    }

    #[test]
    fn relation() {
        let b = Buf::tag(b'R')
            .u32(16384)
            .cstr("public")
            .cstr("items")
            .u8(b'd')
            .i16(2)
            .u8(1)
            .cstr("id")
            .u32(23)
            .i32(-1)
            .u8(0)
            .cstr("name")
            .u32(1043)
            .i32(68);
        assert_eq!(
            decode(&b.0).unwrap(),
            PgOutputMessage::Relation(Relation {
                id: 16384,
                namespace: "public".into(),
                name: "items".into(),
                replica_identity: b'd',
                columns: vec![
                    RelationColumn {
                        is_key: true,
                        name: "id".into(),
                        type_oid: 23,
                        type_modifier: -1
                    },
                    RelationColumn {
                        is_key: false,
                        name: "name".into(),
                        type_oid: 1043,
                        type_modifier: 68
                    },
                ],
            })
        );
    }

    #[test]
    fn type_message() {
        let b = Buf::tag(b'Y').u32(70000).cstr("public").cstr("mood");
        assert_eq!(
            decode(&b.0).unwrap(),
            PgOutputMessage::Type {
                id: 70000,
                namespace: "public".into(),
                name: "mood".into()
            }
        );
    }

    #[test]
    fn insert() {
        let b = sample_tuple(Buf::tag(b'I').u32(5).u8(b'N'));
        assert_eq!(
            decode(&b.0).unwrap(),
            PgOutputMessage::Insert {
                relation: 5,
                new: expected_tuple()
            }
        );
    }

    #[test]
    fn update_without_old() {
        let b = sample_tuple(Buf::tag(b'U').u32(5).u8(b'N'));
        assert_eq!(
            decode(&b.0).unwrap(),
            PgOutputMessage::Update {
                relation: 5,
                old: None,
                new: expected_tuple()
            }
        );
    }

    #[test]
    fn update_with_key_and_old() {
        for marker in [b'K', b'O'] {
            let b = Buf::tag(b'U').u32(5).u8(marker).i16(1).text("1").u8(b'N');
            let b = sample_tuple(b);
            assert_eq!(
                decode(&b.0).unwrap(),
                PgOutputMessage::Update {
                    relation: 5,
                    old: Some(Tuple(vec![TupleValue::Text("1".into())])),
                    new: expected_tuple()
                }
            );
        }
    }

    #[test]
    fn delete() {
        for marker in [b'K', b'O'] {
            let b = sample_tuple(Buf::tag(b'D').u32(6).u8(marker));
            assert_eq!(
                decode(&b.0).unwrap(),
                PgOutputMessage::Delete {
                    relation: 6,
                    old: expected_tuple()
                }
            );
        }
    }

    #[test]
    fn truncate() {
        let b = Buf::tag(b'T').i32(2).u8(3).u32(10).u32(11);
        assert_eq!(
            decode(&b.0).unwrap(),
            PgOutputMessage::Truncate {
                relations: vec![10, 11],
                cascade: true,
                restart_identity: true
            }
        );
        let b = Buf::tag(b'T').i32(1).u8(0).u32(10);
        assert_eq!(
            decode(&b.0).unwrap(),
            PgOutputMessage::Truncate {
                relations: vec![10],
                cascade: false,
                restart_identity: false
            }
        );
    }

    #[test]
    fn logical_message() {
        let b = Buf::tag(b'M')
            .u8(1)
            .u64(77)
            .cstr("rhei")
            .i32(5)
            .raw(b"hello");
        assert_eq!(
            decode(&b.0).unwrap(),
            PgOutputMessage::Message {
                transactional: true,
                lsn: 77,
                prefix: "rhei".into(),
                content: Bytes::from_static(b"hello")
            }
        );
    }

    #[test]
    fn every_truncation_of_valid_messages_errors() {
        let valid: Vec<Vec<u8>> = vec![
            Buf::tag(b'B').u64(1).i64(2).u32(3).0,
            Buf::tag(b'C').u8(0).u64(1).u64(2).i64(3).0,
            Buf::tag(b'O').u64(1).cstr("x").0,
            Buf::tag(b'R')
                .u32(1)
                .cstr("s")
                .cstr("t")
                .u8(b'f')
                .i16(1)
                .u8(1)
                .cstr("c")
                .u32(23)
                .i32(-1)
                .0,
            Buf::tag(b'Y').u32(1).cstr("s").cstr("t").0,
            sample_tuple(Buf::tag(b'I').u32(5).u8(b'N')).0,
            sample_tuple(sample_tuple(Buf::tag(b'U').u32(5).u8(b'O')).u8(b'N')).0,
            sample_tuple(Buf::tag(b'D').u32(5).u8(b'K')).0,
            Buf::tag(b'T').i32(1).u8(0).u32(9).0,
            Buf::tag(b'M').u8(0).u64(1).cstr("p").i32(2).raw(b"hi").0,
        ];
        for msg in valid {
            assert!(decode(&msg).is_ok(), "full message must decode: {msg:?}");
            for cut in 0..msg.len() {
                assert!(
                    decode(&msg[..cut]).is_err(),
                    "prefix of {} bytes of {:?} decoded",
                    cut,
                    char::from(msg[0])
                );
            }
        }
    }

    #[test]
    fn malformed_inputs() {
        assert_eq!(decode(&[]), Err(DecodeError::Empty));
        assert_eq!(decode(b"Z"), Err(DecodeError::UnknownMessage { tag: b'Z' }));
        assert!(matches!(
            decode(b"S\0\0\0\x01\x01"),
            Err(DecodeError::UnsupportedMessage { tag: 'S', .. })
        ));
        // Unknown column kind.
        let b = Buf::tag(b'I').u32(1).u8(b'N').i16(1).u8(b'x');
        assert_eq!(
            decode(&b.0),
            Err(DecodeError::UnknownColumnKind { kind: b'x' })
        );
        // Wrong marker for insert and delete.
        let b = Buf::tag(b'I').u32(1).u8(b'K').i16(0);
        assert!(matches!(
            decode(&b.0),
            Err(DecodeError::UnexpectedTupleMarker { .. })
        ));
        let b = Buf::tag(b'D').u32(1).u8(b'N').i16(0);
        assert!(matches!(
            decode(&b.0),
            Err(DecodeError::UnexpectedTupleMarker { .. })
        ));
        // Old tuple not followed by 'N'.
        let b = Buf::tag(b'U').u32(1).u8(b'K').i16(0).u8(b'K').i16(0);
        assert!(matches!(
            decode(&b.0),
            Err(DecodeError::UnexpectedTupleMarker { .. })
        ));
        // Negative lengths and counts.
        let b = Buf::tag(b'I').u32(1).u8(b'N').i16(1).u8(b't').i32(-1);
        assert!(matches!(
            decode(&b.0),
            Err(DecodeError::NegativeLength { .. })
        ));
        let b = Buf::tag(b'I').u32(1).u8(b'N').i16(-3);
        assert!(matches!(
            decode(&b.0),
            Err(DecodeError::NegativeLength { .. })
        ));
        let b = Buf::tag(b'T').i32(-1).u8(0);
        assert!(matches!(
            decode(&b.0),
            Err(DecodeError::NegativeLength { .. })
        ));
        // Huge counts must fail fast, not allocate.
        let b = Buf::tag(b'T').i32(i32::MAX).u8(0);
        assert!(matches!(
            decode(&b.0),
            Err(DecodeError::UnexpectedEof { .. })
        ));
        let b = Buf::tag(b'M').u8(0).u64(1).cstr("p").i32(i32::MAX);
        assert!(matches!(
            decode(&b.0),
            Err(DecodeError::UnexpectedEof { .. })
        ));
        // Missing NUL terminator.
        let b = Buf::tag(b'O').u64(1).raw(b"abc");
        assert!(matches!(
            decode(&b.0),
            Err(DecodeError::UnterminatedString { .. })
        ));
        // Invalid UTF-8 in a name and in a text value.
        let b = Buf::tag(b'O').u64(1).raw(&[0xff, 0]);
        assert!(matches!(decode(&b.0), Err(DecodeError::InvalidUtf8 { .. })));
        let b = Buf::tag(b'I')
            .u32(1)
            .u8(b'N')
            .i16(1)
            .u8(b't')
            .i32(1)
            .u8(0xff);
        assert!(matches!(decode(&b.0), Err(DecodeError::InvalidUtf8 { .. })));
        // A streaming-mode insert carries an extra xid, leaving trailing bytes
        // or a bad marker; either way it must not decode.
        let b = Buf::tag(b'B').u64(1).i64(2).u32(3).u8(0);
        assert_eq!(
            decode(&b.0),
            Err(DecodeError::TrailingBytes { tag: 'B', count: 1 })
        );
    }

    #[test]
    fn lsn_round_trip() {
        assert_eq!(format_lsn(0x16_B374_D848), "16/B374D848");
        assert_eq!(format_lsn(0), "0/0");
        assert_eq!(parse_lsn("16/B374D848").unwrap(), 0x16_B374_D848);
        assert_eq!(parse_lsn("0/0").unwrap(), 0);
        assert_eq!(parse_lsn("ffffffff/ffffffff").unwrap(), u64::MAX);
        for bad in [
            "",
            "/",
            "1/",
            "/1",
            "1",
            "g/1",
            "1/2/3",
            "+1/1",
            "123456789/0",
            " 1/1",
        ] {
            assert!(parse_lsn(bad).is_err(), "{bad:?} parsed");
        }
        for lsn in [1u64, 0x1_0000_0000, 0xDEAD_BEEF_0000_0001, u64::MAX] {
            assert_eq!(parse_lsn(&format_lsn(lsn)).unwrap(), lsn);
        }
    }

    #[test]
    fn epoch_conversion() {
        assert_eq!(pg_epoch_to_unix_micros(0), 946_684_800_000_000);
        assert_eq!(pg_epoch_to_unix_micros(-946_684_800_000_000), 0);
        assert_eq!(pg_epoch_to_unix_micros(i64::MAX), i64::MAX);
    }
}
