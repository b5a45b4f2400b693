//! Minimal async client for PostgreSQL's streaming replication protocol.
//!
//! rhei needs a consistent initial copy of upstream tables followed by the
//! change stream from a logical replication slot. tokio-postgres cannot
//! speak the `CopyBoth` sub-protocol that `START_REPLICATION` switches to,
//! so this module opens its own connection ([`crate::wire`]) with
//! `replication=database` and implements just the commands rhei uses:
//! `IDENTIFY_SYSTEM`, `CREATE_REPLICATION_SLOT ... LOGICAL pgoutput
//! (SNAPSHOT 'export')` and `START_REPLICATION ... LOGICAL`.
//!
//! The pgoutput payloads carried in `XLogData` are decoded separately by
//! [`crate::pgoutput`].

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use postgres_protocol::message::frontend;

use crate::pgoutput::{format_lsn, parse_lsn};
use crate::wire::{
    ErrorFields, Result, WireConnection, get_i32, get_i64, get_u8, get_u64, log_notice, parse_parameter_status,
    truncated, unexpected,
};

/// The replication client's errors are the wire's.
pub use crate::wire::WireError as ReplicationError;

/// Microseconds between 1970-01-01 and PostgreSQL's 2000-01-01 epoch.
const PG_EPOCH_OFFSET_MICROS: i64 = 946_684_800_000_000;

/// Result of `IDENTIFY_SYSTEM`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemIdentity {
    pub system_id: u64,
    pub timeline: u32,
    pub xlogpos: u64,
    pub dbname: Option<String>,
}

/// Result of `CREATE_REPLICATION_SLOT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedSlot {
    pub slot_name: String,
    /// Changes committed after this LSN are streamed; everything before it
    /// is visible in the exported snapshot.
    pub consistent_point: u64,
    pub snapshot_name: Option<String>,
}

/// One message from the walsender during `START_REPLICATION`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplicationEvent {
    XLogData {
        wal_start: u64,
        wal_end: u64,
        /// Microseconds since 2000-01-01 UTC.
        server_time: i64,
        data: Bytes,
    },
    Keepalive {
        wal_end: u64,
        server_time: i64,
        /// The server disconnects after `wal_sender_timeout` unless a
        /// status update is sent; answer these promptly.
        reply_requested: bool,
    },
}

/// A replication-mode connection that has not started streaming yet.
pub struct ReplicationClient {
    conn: WireConnection,
    parameters: HashMap<String, String>,
    /// Set while a command is in flight; if its future is dropped the
    /// connection is mid-response and must not be reused.
    busy: bool,
}

impl ReplicationClient {
    /// Connects with `replication=database`, using host, port, user,
    /// password and dbname from `config` (see [`crate::wire::connect`]).
    pub async fn connect(config: &crate::upstream::UpstreamConfig) -> Result<Self> {
        let started = crate::wire::connect(config, &[("replication", "database")]).await?;
        Ok(Self { conn: started.conn, parameters: started.parameters, busy: false })
    }

    /// A server parameter reported at startup (e.g. `server_version`).
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters.get(name).map(String::as_str)
    }

    /// Runs a replication command (or plain SQL) with the simple query
    /// protocol; returns rows as text. Rows of multiple statements are
    /// concatenated.
    pub async fn simple_query(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
        self.check_idle()?;
        self.busy = true;
        frontend::query(sql, &mut self.conn.write_buf)?;
        self.conn.flush().await?;
        let mut rows = Vec::new();
        let mut error = None;
        loop {
            let msg = self.conn.read_message().await?;
            match msg.tag {
                b'D' => {
                    if error.is_none() {
                        rows.push(parse_data_row(msg.body)?);
                    }
                }
                b'T' | b'C' | b'I' | b'A' => {}
                // Keep the first error but drain to ReadyForQuery so the
                // connection stays usable.
                b'E' => {
                    if error.is_none() {
                        error = Some(ErrorFields::parse(&msg.body).into_error());
                    }
                }
                b'N' => log_notice(&msg.body),
                b'S' => {
                    if let Some((k, v)) = parse_parameter_status(&msg.body) {
                        self.parameters.insert(k, v);
                    }
                }
                b'Z' => {
                    self.busy = false;
                    return match error {
                        Some(e) => Err(e),
                        None => Ok(rows),
                    };
                }
                b'G' | b'H' | b'W' => {
                    return Err(ReplicationError::Protocol(
                        "command started COPY; use start_logical_replication for streaming".into(),
                    ));
                }
                other => return Err(unexpected(other, "in simple query response")),
            }
        }
    }

    /// IDENTIFY_SYSTEM -> (systemid, timeline, xlogpos lsn, dbname)
    pub async fn identify_system(&mut self) -> Result<SystemIdentity> {
        let rows = self.simple_query("IDENTIFY_SYSTEM").await?;
        let row = single_row(&rows, 4, "IDENTIFY_SYSTEM")?;
        let system_id = required(row, 0, "systemid")?
            .parse()
            .map_err(|_| ReplicationError::Protocol("IDENTIFY_SYSTEM: bad systemid".into()))?;
        let timeline = required(row, 1, "timeline")?
            .parse()
            .map_err(|_| ReplicationError::Protocol("IDENTIFY_SYSTEM: bad timeline".into()))?;
        let xlogpos = lsn_field(required(row, 2, "xlogpos")?)?;
        Ok(SystemIdentity {
            system_id,
            timeline,
            xlogpos,
            dbname: row.get(3).cloned().flatten(),
        })
    }

    /// `CREATE_REPLICATION_SLOT <name> [TEMPORARY] LOGICAL pgoutput
    /// (SNAPSHOT 'export')`. The exported snapshot stays valid only until
    /// the next command on this connection, so import it elsewhere
    /// (`SET TRANSACTION SNAPSHOT`) before calling anything else here.
    pub async fn create_logical_slot(
        &mut self,
        name: &str,
        temporary: bool,
    ) -> Result<CreatedSlot> {
        validate_slot_name(name)?;
        let sql = format!(
            "CREATE_REPLICATION_SLOT {name}{} LOGICAL pgoutput (SNAPSHOT 'export')",
            if temporary { " TEMPORARY" } else { "" }
        );
        let rows = self.simple_query(&sql).await?;
        let row = single_row(&rows, 3, "CREATE_REPLICATION_SLOT")?;
        Ok(CreatedSlot {
            slot_name: required(row, 0, "slot_name")?.to_owned(),
            consistent_point: lsn_field(required(row, 1, "consistent_point")?)?,
            snapshot_name: row.get(2).cloned().flatten(),
        })
    }

    /// `START_REPLICATION SLOT <slot> LOGICAL <lsn> (proto_version '1',
    /// publication_names '...')`. The server starts at the later of
    /// `start_lsn` and the slot's `confirmed_flush_lsn`, so passing 0 resumes
    /// after the last confirmed transaction.
    pub async fn start_logical_replication(
        mut self,
        slot: &str,
        start_lsn: u64,
        publications: &[String],
    ) -> Result<ReplicationStream> {
        validate_slot_name(slot)?;
        if publications.is_empty() {
            return Err(ReplicationError::Config(
                "at least one publication is required".into(),
            ));
        }
        self.check_idle()?;
        let sql = format!(
            "START_REPLICATION SLOT {slot} LOGICAL {} (proto_version '1', publication_names {})",
            format_lsn(start_lsn),
            publication_names_literal(publications)
        );
        frontend::query(&sql, &mut self.conn.write_buf)?;
        self.conn.flush().await?;
        loop {
            let msg = self.conn.read_message().await?;
            match msg.tag {
                b'W' => {
                    return Ok(ReplicationStream {
                        conn: self.conn,
                        done: false,
                    });
                }
                // The connection is consumed, so there is no need to drain
                // up to ReadyForQuery.
                b'E' => return Err(ErrorFields::parse(&msg.body).into_error()),
                b'N' => log_notice(&msg.body),
                b'S' => {}
                other => return Err(unexpected(other, "in START_REPLICATION response")),
            }
        }
    }

    fn check_idle(&self) -> Result<()> {
        if self.busy {
            return Err(ReplicationError::Protocol(
                "a previous command was cancelled mid-response; the connection must be discarded"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// The CopyBoth stream after `START_REPLICATION`.
pub struct ReplicationStream {
    conn: WireConnection,
    /// The server ended the COPY; further reads return `None`.
    done: bool,
}

impl ReplicationStream {
    /// Next event; `Ok(None)` when the server ends the stream (CopyDone / end
    /// of COPY). Cancel-safe: may be used in `tokio::select!`.
    ///
    /// Keepalives are returned rather than answered here so the caller
    /// decides which LSN is safe to confirm.
    pub async fn next_event(&mut self) -> Result<Option<ReplicationEvent>> {
        loop {
            if self.done {
                // Finish sending our CopyDone if a previous call was dropped
                // while flushing it.
                self.conn.flush().await?;
                return Ok(None);
            }
            let msg = self.conn.read_message().await?;
            match msg.tag {
                b'd' => return parse_copy_data(msg.body).map(Some),
                b'c' => {
                    // CopyBoth ends when both sides send CopyDone.
                    self.done = true;
                    frontend::copy_done(&mut self.conn.write_buf);
                }
                b'C' | b'Z' => self.done = true,
                b'E' => {
                    self.done = true;
                    return Err(ErrorFields::parse(&msg.body).into_error());
                }
                b'N' => log_notice(&msg.body),
                b'S' => {}
                other => return Err(unexpected(other, "in replication stream")),
            }
        }
    }

    /// Standby status update (`r`). Each LSN must be the position *after*
    /// the last byte processed: for pgoutput, confirm a transaction with its
    /// `Commit::end_lsn` (not `commit_lsn`, which would make the server send
    /// that transaction again on restart). `flushed` becomes the slot's
    /// `confirmed_flush_lsn`, which lets the server recycle WAL.
    pub async fn send_status(
        &mut self,
        written: u64,
        flushed: u64,
        applied: u64,
        reply_requested: bool,
    ) -> Result<()> {
        if self.done {
            // The server ended the stream (it is shutting down): a lost connection to retry.
            return Err(ReplicationError::ConnectionClosed);
        }
        let mut payload = BytesMut::with_capacity(34);
        payload.put_u8(b'r');
        payload.put_u64(written);
        payload.put_u64(flushed);
        payload.put_u64(applied);
        payload.put_i64(pg_now_micros());
        payload.put_u8(u8::from(reply_requested));
        frontend::CopyData::new(payload.freeze())?.write(&mut self.conn.write_buf);
        self.conn.flush().await
    }
}

fn pg_now_micros() -> i64 {
    let unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    unix - PG_EPOCH_OFFSET_MICROS
}

fn parse_copy_data(mut body: Bytes) -> Result<ReplicationEvent> {
    let kind = get_u8(&mut body, "CopyData kind")?;
    match kind {
        b'w' => Ok(ReplicationEvent::XLogData {
            wal_start: get_u64(&mut body, "XLogData start")?,
            wal_end: get_u64(&mut body, "XLogData end")?,
            server_time: get_i64(&mut body, "XLogData time")?,
            data: body,
        }),
        b'k' => Ok(ReplicationEvent::Keepalive {
            wal_end: get_u64(&mut body, "keepalive end")?,
            server_time: get_i64(&mut body, "keepalive time")?,
            reply_requested: get_u8(&mut body, "keepalive reply flag")? != 0,
        }),
        other => Err(ReplicationError::Protocol(format!(
            "unknown CopyData message {:?}",
            char::from(other)
        ))),
    }
}

fn parse_data_row(mut body: Bytes) -> Result<Vec<Option<String>>> {
    let n = body
        .try_get_i16()
        .map_err(|_| truncated("DataRow column count"))?;
    let n = usize::try_from(n)
        .map_err(|_| ReplicationError::Protocol("negative DataRow column count".into()))?;
    let mut row = Vec::with_capacity(n.min(body.len() / 4 + 1));
    for _ in 0..n {
        let len = get_i32(&mut body, "DataRow value length")?;
        if len < 0 {
            row.push(None);
            continue;
        }
        let len = len as usize;
        if body.len() < len {
            return Err(truncated("DataRow value"));
        }
        let raw = body.split_to(len);
        let text = String::from_utf8(raw.to_vec())
            .map_err(|_| ReplicationError::Protocol("DataRow value is not UTF-8".into()))?;
        row.push(Some(text));
    }
    Ok(row)
}

fn single_row<'a>(
    rows: &'a [Vec<Option<String>>],
    min_cols: usize,
    cmd: &str,
) -> Result<&'a [Option<String>]> {
    match rows {
        [row] if row.len() >= min_cols => Ok(row),
        _ => Err(ReplicationError::Protocol(format!(
            "{cmd}: expected one row with at least {min_cols} columns, got {} rows",
            rows.len()
        ))),
    }
}

fn required<'a>(row: &'a [Option<String>], i: usize, name: &str) -> Result<&'a str> {
    row.get(i)
        .and_then(|v| v.as_deref())
        .ok_or_else(|| ReplicationError::Protocol(format!("missing {name}")))
}

fn lsn_field(text: &str) -> Result<u64> {
    parse_lsn(text).map_err(|e| ReplicationError::Protocol(e.to_string()))
}

/// Slot names are interpolated into replication commands, so restrict them
/// to what PostgreSQL allows anyway (ReplicationSlotValidateName).
fn validate_slot_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() < 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(ReplicationError::Config(format!(
            "invalid slot name {name:?}: use 1-63 characters of a-z, 0-9 and _"
        )))
    }
}

/// pgoutput splits `publication_names` as a list of identifiers, so each
/// name is double-quoted; the whole list is then a single-quoted literal.
fn publication_names_literal(publications: &[String]) -> String {
    let list = publications
        .iter()
        .map(|p| format!("\"{}\"", p.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(",");
    format!("'{}'", list.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    use tokio_postgres::config::SslMode;

    fn backend(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![tag];
        v.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
        v.extend_from_slice(body);
        v
    }

    async fn read_frontend(s: &mut TcpStream) -> (u8, Vec<u8>) {
        let tag = s.read_u8().await.unwrap();
        let len = s.read_i32().await.unwrap() as usize;
        let mut body = vec![0; len - 4];
        s.read_exact(&mut body).await.unwrap();
        (tag, body)
    }

    #[test]
    fn publication_literal_quoting() {
        assert_eq!(publication_names_literal(&["p".into()]), "'\"p\"'");
        assert_eq!(
            publication_names_literal(&["a".into(), "it's \"x\"".into()]),
            "'\"a\",\"it''s \"\"x\"\"\"'"
        );
    }

    #[test]
    fn slot_names() {
        assert!(validate_slot_name("rhei_slot_1").is_ok());
        for bad in ["", "Upper", "a b", "x;DROP", &"a".repeat(64)] {
            assert!(validate_slot_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn error_fields() {
        let body = b"SERROR\0VERROR\0C42704\0Mreplication slot \"x\" does not exist\0\0";
        let e = ErrorFields::parse(body).into_error();
        assert!(
            matches!(e, ReplicationError::Upstream { ref code, ref message }
            if code == "42704" && message.contains("does not exist"))
        );
        assert_eq!(e.sqlstate(), Some("42704"));
    }

    #[test]
    fn data_rows() {
        let mut b = BytesMut::new();
        b.put_i16(2);
        b.put_i32(2);
        b.put_slice(b"hi");
        b.put_i32(-1);
        assert_eq!(
            parse_data_row(b.freeze()).unwrap(),
            vec![Some("hi".into()), None]
        );
        let mut b = BytesMut::new();
        b.put_i16(1);
        b.put_i32(10);
        b.put_slice(b"short");
        assert!(parse_data_row(b.freeze()).is_err());
        assert!(parse_data_row(Bytes::from_static(&[0])).is_err());
    }

    #[test]
    fn copy_data_parsing() {
        assert!(parse_copy_data(Bytes::from_static(b"w\0\0")).is_err());
        assert!(parse_copy_data(Bytes::from_static(b"x")).is_err());
        assert!(parse_copy_data(Bytes::new()).is_err());
    }

    fn upstream(config: tokio_postgres::Config) -> crate::upstream::UpstreamConfig {
        crate::upstream::UpstreamConfig::from_pg(config).unwrap()
    }

    #[tokio::test]
    async fn unsupported_configs_are_rejected() {
        let mut c = tokio_postgres::Config::new();
        c.host_path("/tmp").user("u");
        assert!(matches!(
            ReplicationClient::connect(&upstream(c)).await,
            Err(ReplicationError::Config(m)) if m.contains("TCP")
        ));
    }

    #[tokio::test]
    async fn a_server_without_tls_is_refused_when_sslmode_requires_it() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut ssl_request = [0; 8];
            s.read_exact(&mut ssl_request).await.unwrap();
            assert_eq!(ssl_request, [0, 0, 0, 8, 4, 210, 22, 47]);
            s.write_all(b"N").await.unwrap();
        });
        let mut config = tokio_postgres::Config::new();
        config.host("127.0.0.1").port(port).user("u").dbname("d").ssl_mode(SslMode::Require);
        assert!(matches!(
            ReplicationClient::connect(&upstream(config)).await,
            Err(ReplicationError::Tls(m)) if m.contains("does not accept TLS")
        ));
        server.await.unwrap();
    }

    #[tokio::test]
    async fn hba_without_plaintext_entry_is_reported_as_tls_required() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let len = s.read_i32().await.unwrap() as usize;
            let mut startup = vec![0; len - 4];
            s.read_exact(&mut startup).await.unwrap();
            let msg = b"SFATAL\0VFATAL\0C28000\0Mno pg_hba.conf entry for host \"127.0.0.1\", user \"u\", database \"d\", no encryption\0\0";
            s.write_all(&backend(b'E', msg)).await.unwrap();
        });
        let mut config = tokio_postgres::Config::new();
        config.host("127.0.0.1").port(port).user("u").dbname("d").ssl_mode(SslMode::Disable);
        assert!(matches!(
            ReplicationClient::connect(&upstream(config)).await,
            Err(ReplicationError::TlsRequired { message, .. }) if message.contains("no encryption")
        ));
        server.await.unwrap();
    }

    /// A scripted fake walsender that splits a CopyData frame across two
    /// writes, to prove that dropping `next_event` mid-frame loses nothing.
    #[tokio::test]
    async fn next_event_is_cancel_safe() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let len = s.read_i32().await.unwrap() as usize;
            let mut startup = vec![0; len - 4];
            s.read_exact(&mut startup).await.unwrap();
            assert!(startup.windows(11).any(|w| w == b"replication"));
            s.write_all(&backend(b'R', &0i32.to_be_bytes()))
                .await
                .unwrap();
            s.write_all(&backend(b'Z', b"I")).await.unwrap();
            let (tag, query) = read_frontend(&mut s).await;
            assert_eq!(tag, b'Q');
            assert_eq!(
                std::str::from_utf8(&query).unwrap(),
                "START_REPLICATION SLOT s LOGICAL 1/2 (proto_version '1', publication_names '\"p\"')\0"
            );
            s.write_all(&backend(b'W', &[0, 0, 0])).await.unwrap();

            let mut xlog = vec![b'w'];
            xlog.extend_from_slice(&10u64.to_be_bytes());
            xlog.extend_from_slice(&20u64.to_be_bytes());
            xlog.extend_from_slice(&30i64.to_be_bytes());
            xlog.extend_from_slice(b"payload");
            let frame = backend(b'd', &xlog);
            s.write_all(&frame[..3]).await.unwrap();
            tokio::time::sleep(Duration::from_millis(150)).await;
            s.write_all(&frame[3..12]).await.unwrap();
            tokio::time::sleep(Duration::from_millis(150)).await;
            s.write_all(&frame[12..]).await.unwrap();

            let mut ka = vec![b'k'];
            ka.extend_from_slice(&40u64.to_be_bytes());
            ka.extend_from_slice(&50i64.to_be_bytes());
            ka.push(1);
            s.write_all(&backend(b'd', &ka)).await.unwrap();

            let (tag, status) = read_frontend(&mut s).await;
            assert_eq!((tag, status[0], status.len()), (b'd', b'r', 34));
            assert_eq!(&status[1..25], &[[0, 0, 0, 0, 0, 0, 0, 40]; 3].concat()[..]);
            assert_eq!(status[33], 0);

            s.write_all(&backend(b'c', b"")).await.unwrap();
            let (tag, _) = read_frontend(&mut s).await;
            assert_eq!(tag, b'c');
            s.write_all(&backend(b'C', b"COPY 0\0")).await.unwrap();
            s.write_all(&backend(b'Z', b"I")).await.unwrap();
        });

        let mut config = tokio_postgres::Config::new();
        config.host("127.0.0.1").port(port).user("u").dbname("d").ssl_mode(SslMode::Disable);
        let client = ReplicationClient::connect(&upstream(config)).await.unwrap();
        let mut stream = client
            .start_logical_replication("s", 0x1_0000_0002, &["p".into()])
            .await
            .unwrap();

        let mut timeouts = 0;
        let event = loop {
            tokio::select! {
                ev = stream.next_event() => break ev.unwrap(),
                _ = tokio::time::sleep(Duration::from_millis(40)) => timeouts += 1,
            }
        };
        assert!(
            timeouts >= 2,
            "the split frame should have forced cancellations"
        );
        assert_eq!(
            event,
            Some(ReplicationEvent::XLogData {
                wal_start: 10,
                wal_end: 20,
                server_time: 30,
                data: Bytes::from_static(b"payload"),
            })
        );
        assert_eq!(
            stream.next_event().await.unwrap(),
            Some(ReplicationEvent::Keepalive {
                wal_end: 40,
                server_time: 50,
                reply_requested: true
            })
        );
        stream.send_status(40, 40, 40, false).await.unwrap();
        assert_eq!(stream.next_event().await.unwrap(), None);
        assert_eq!(stream.next_event().await.unwrap(), None);
        server.await.unwrap();
    }
}
