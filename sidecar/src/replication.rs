//! Minimal async client for PostgreSQL's streaming replication protocol.
//!
//! rhei needs a consistent initial copy of upstream tables followed by the
//! change stream from a logical replication slot. tokio-postgres cannot
//! speak the `CopyBoth` sub-protocol that `START_REPLICATION` switches to,
//! so this module opens its own plain TCP connection with
//! `replication=database`, authenticates (trust, cleartext, md5,
//! SCRAM-SHA-256 without channel binding), and implements just the
//! commands rhei uses: `IDENTIFY_SYSTEM`, `CREATE_REPLICATION_SLOT ...
//! LOGICAL pgoutput (SNAPSHOT 'export')` and `START_REPLICATION ... LOGICAL`.
//!
//! Frontend messages are encoded with `postgres_protocol`; backend framing
//! (tag byte + big-endian i32 length) is done here because
//! `postgres_protocol`'s backend parser does not know `CopyBothResponse`.
//!
//! TLS is not supported. The pgoutput payloads carried in `XLogData` are
//! decoded separately by [`crate::pgoutput`].

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use postgres_protocol::authentication::md5_hash;
use postgres_protocol::authentication::sasl::{ChannelBinding, ScramSha256};
use postgres_protocol::message::frontend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_postgres::config::{Host, SslMode};

use crate::pgoutput::{format_lsn, parse_lsn};

/// Microseconds between 1970-01-01 and PostgreSQL's 2000-01-01 epoch.
const PG_EPOCH_OFFSET_MICROS: i64 = 946_684_800_000_000;

/// Errors from the replication connection.
#[derive(Debug, thiserror::Error)]
pub enum ReplicationError {
    #[error("I/O error on replication connection: {0}")]
    Io(#[from] std::io::Error),
    /// The server sent something this client does not expect or cannot parse.
    #[error("replication protocol error: {0}")]
    Protocol(String),
    /// Client-side authentication failure (unsupported method, missing
    /// password, SCRAM verification). Password rejections by the server
    /// arrive as `Upstream` with SQLSTATE 28P01.
    #[error("authentication failed: {0}")]
    Auth(String),
    /// An ErrorResponse from the server, e.g. 42704 (slot does not exist) or
    /// 55006 (object_in_use: slot is active for another PID).
    #[error("PostgreSQL error {code}: {message}")]
    Upstream { code: String, message: String },
    #[error("unsupported replication connection configuration: {0}")]
    Config(String),
    #[error("server requires TLS, which the replication client does not support: {0}")]
    TlsRequired(String),
    #[error("server closed the replication connection")]
    ConnectionClosed,
}

impl ReplicationError {
    /// SQLSTATE of an upstream error, if this is one.
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            ReplicationError::Upstream { code, .. } => Some(code),
            _ => None,
        }
    }
}

type Result<T, E = ReplicationError> = std::result::Result<T, E>;

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

/// A backend message with its tag, length prefix stripped.
struct BackendMessage {
    tag: u8,
    body: Bytes,
}

/// Socket plus buffers. Keeping both buffers here (not in futures) is what
/// makes reads cancel-safe: a dropped read loses no bytes, and a dropped
/// write leaves its remainder queued for the next flush.
struct Connection {
    stream: TcpStream,
    read_buf: BytesMut,
    write_buf: BytesMut,
}

impl Connection {
    async fn read_message(&mut self) -> Result<BackendMessage> {
        loop {
            if let Some(msg) = self.try_parse()? {
                return Ok(msg);
            }
            if self.read_buf.capacity() - self.read_buf.len() < 4096 {
                self.read_buf.reserve(8192);
            }
            // `read_buf` only appends once data has actually arrived, so it
            // is safe to drop this future at this await point.
            let n = self.stream.read_buf(&mut self.read_buf).await?;
            if n == 0 {
                return Err(ReplicationError::ConnectionClosed);
            }
        }
    }

    fn try_parse(&mut self) -> Result<Option<BackendMessage>> {
        let Some(header) = self.read_buf.get(..5) else {
            return Ok(None);
        };
        let tag = header[0];
        let len = i32::from_be_bytes([header[1], header[2], header[3], header[4]]);
        let len = usize::try_from(len)
            .ok()
            .filter(|&l| l >= 4)
            .ok_or_else(|| {
                ReplicationError::Protocol(format!(
                    "invalid length {len} for message {:?}",
                    char::from(tag)
                ))
            })?;
        let total = len + 1;
        if self.read_buf.len() < total {
            self.read_buf.reserve(total - self.read_buf.len());
            return Ok(None);
        }
        let mut frame = self.read_buf.split_to(total).freeze();
        frame.advance(5);
        Ok(Some(BackendMessage { tag, body: frame }))
    }

    async fn flush(&mut self) -> Result<()> {
        while !self.write_buf.is_empty() {
            // `write_buf` advances by what was written, so a cancelled flush
            // resumes where it stopped instead of resending or losing bytes.
            let n = self.stream.write_buf(&mut self.write_buf).await?;
            if n == 0 {
                return Err(std::io::Error::from(std::io::ErrorKind::WriteZero).into());
            }
        }
        Ok(())
    }
}

/// A replication-mode connection that has not started streaming yet.
pub struct ReplicationClient {
    conn: Connection,
    parameters: HashMap<String, String>,
    /// Set while a command is in flight; if its future is dropped the
    /// connection is mid-response and must not be reused.
    busy: bool,
}

impl ReplicationClient {
    /// Connects with `replication=database`, using host, port, user,
    /// password and dbname from `config`. Only TCP hosts are supported; TLS
    /// is never attempted (`sslmode=require` is rejected).
    pub async fn connect(config: &tokio_postgres::Config) -> Result<Self> {
        match config.get_ssl_mode() {
            SslMode::Disable | SslMode::Prefer => {}
            _ => {
                return Err(ReplicationError::TlsRequired(
                    "sslmode requires TLS; use sslmode=disable or prefer".into(),
                ));
            }
        }
        let user = config
            .get_user()
            .ok_or_else(|| ReplicationError::Config("no user configured".into()))?;
        let hosts = config.get_hosts();
        if hosts.is_empty() {
            return Err(ReplicationError::Config("no host configured".into()));
        }
        let ports = config.get_ports();
        let mut last_err = None;
        for (i, host) in hosts.iter().enumerate() {
            let host = match host {
                Host::Tcp(h) => h.as_str(),
                #[allow(unreachable_patterns)]
                _ => {
                    return Err(ReplicationError::Config(
                        "only TCP hosts are supported by the replication client, not Unix sockets"
                            .into(),
                    ));
                }
            };
            // tokio-postgres semantics: one port applies to all hosts.
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            let connect = TcpStream::connect((host, port));
            let stream = match config.get_connect_timeout() {
                Some(t) => match tokio::time::timeout(*t, connect).await {
                    Ok(r) => r,
                    Err(_) => Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!("connecting to {host}:{port} timed out"),
                    )),
                },
                None => connect.await,
            };
            match stream {
                Ok(stream) => return Self::startup(stream, config, user).await,
                Err(e) => {
                    tracing::debug!(host, port, error = %e, "replication connect attempt failed");
                    last_err = Some(e);
                }
            }
        }
        Err(last_err
            .map(ReplicationError::Io)
            .unwrap_or(ReplicationError::ConnectionClosed))
    }

    async fn startup(
        stream: TcpStream,
        config: &tokio_postgres::Config,
        user: &str,
    ) -> Result<Self> {
        // Status updates are tiny; Nagle would delay them behind nothing.
        stream.set_nodelay(true)?;
        let mut conn = Connection {
            stream,
            read_buf: BytesMut::with_capacity(16 * 1024),
            write_buf: BytesMut::with_capacity(1024),
        };
        let dbname = config.get_dbname().unwrap_or(user);
        let mut params: Vec<(&str, &str)> = vec![
            ("user", user),
            ("database", dbname),
            ("replication", "database"),
            // pgoutput converts text values to the client encoding, and the
            // decoder requires UTF-8.
            ("client_encoding", "UTF8"),
            (
                "application_name",
                config.get_application_name().unwrap_or("rhei"),
            ),
        ];
        if let Some(options) = config.get_options() {
            params.push(("options", options));
        }
        frontend::startup_message(params.iter().copied(), &mut conn.write_buf)?;
        conn.flush().await?;

        let password = config.get_password();
        let mut scram: Option<ScramSha256> = None;
        let mut parameters = HashMap::new();
        loop {
            let msg = conn.read_message().await?;
            match msg.tag {
                b'R' => {
                    let mut body = msg.body;
                    let code = get_i32(&mut body, "authentication code")?;
                    match code {
                        0 => {}
                        3 => {
                            let pw = require_password(password)?;
                            frontend::password_message(pw, &mut conn.write_buf)?;
                            conn.flush().await?;
                        }
                        5 => {
                            let pw = require_password(password)?;
                            let salt: [u8; 4] = body
                                .get(..4)
                                .and_then(|s| s.try_into().ok())
                                .ok_or_else(|| {
                                    ReplicationError::Protocol("md5 salt truncated".into())
                                })?;
                            let hash = md5_hash(user.as_bytes(), pw, salt);
                            frontend::password_message(hash.as_bytes(), &mut conn.write_buf)?;
                            conn.flush().await?;
                        }
                        10 => {
                            let mechanisms = parse_sasl_mechanisms(&body)?;
                            if !mechanisms.iter().any(|m| m == "SCRAM-SHA-256") {
                                return Err(ReplicationError::Auth(format!(
                                    "server offers SASL mechanisms {mechanisms:?}; only SCRAM-SHA-256 without channel binding is supported"
                                )));
                            }
                            let pw = require_password(password)?;
                            // No TLS means no channel binding to offer.
                            let s = ScramSha256::new(pw, ChannelBinding::unsupported());
                            frontend::sasl_initial_response(
                                "SCRAM-SHA-256",
                                s.message(),
                                &mut conn.write_buf,
                            )?;
                            conn.flush().await?;
                            scram = Some(s);
                        }
                        11 => {
                            let s = scram.as_mut().ok_or_else(|| {
                                ReplicationError::Protocol("SASLContinue without SASL start".into())
                            })?;
                            s.update(&body)
                                .map_err(|e| ReplicationError::Auth(format!("SCRAM: {e}")))?;
                            frontend::sasl_response(s.message(), &mut conn.write_buf)?;
                            conn.flush().await?;
                        }
                        12 => {
                            let s = scram.as_mut().ok_or_else(|| {
                                ReplicationError::Protocol("SASLFinal without SASL start".into())
                            })?;
                            // Verifies the server signature, so a server that
                            // does not know the password cannot impersonate.
                            s.finish(&body).map_err(|e| {
                                ReplicationError::Auth(format!("SCRAM server verification: {e}"))
                            })?;
                        }
                        2 | 6 | 7 | 8 | 9 => {
                            return Err(ReplicationError::Auth(format!(
                                "unsupported authentication method (Kerberos/SCM/GSSAPI/SSPI, code {code})"
                            )));
                        }
                        other => {
                            return Err(ReplicationError::Protocol(format!(
                                "unknown authentication request {other}"
                            )));
                        }
                    }
                }
                b'E' => {
                    let err = ErrorFields::parse(&msg.body);
                    // The server has no way to say "TLS required": a
                    // hostssl-only pg_hba.conf just has no entry for a plain
                    // connection. The English wording is the best signal.
                    if err.code == "28000"
                        && err.message.contains("no pg_hba.conf entry")
                        && err.message.contains("no encryption")
                    {
                        return Err(ReplicationError::TlsRequired(err.message));
                    }
                    return Err(err.into_error());
                }
                b'S' => {
                    if let Some((k, v)) = parse_parameter_status(&msg.body) {
                        parameters.insert(k, v);
                    }
                }
                b'N' => log_notice(&msg.body),
                b'K' | b'v' => {}
                b'Z' => break,
                other => {
                    return Err(unexpected(other, "during startup"));
                }
            }
        }
        Ok(ReplicationClient {
            conn,
            parameters,
            busy: false,
        })
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
    conn: Connection,
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
            return Err(ReplicationError::Protocol(
                "replication stream has ended".into(),
            ));
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

fn truncated(what: &str) -> ReplicationError {
    ReplicationError::Protocol(format!("truncated message reading {what}"))
}

fn get_u8(b: &mut Bytes, what: &str) -> Result<u8> {
    b.try_get_u8().map_err(|_| truncated(what))
}

fn get_i32(b: &mut Bytes, what: &str) -> Result<i32> {
    b.try_get_i32().map_err(|_| truncated(what))
}

fn get_u64(b: &mut Bytes, what: &str) -> Result<u64> {
    b.try_get_u64().map_err(|_| truncated(what))
}

fn get_i64(b: &mut Bytes, what: &str) -> Result<i64> {
    b.try_get_i64().map_err(|_| truncated(what))
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

/// Splits a sequence of NUL-terminated strings; missing terminators are
/// tolerated because these are only used for diagnostics and lists.
fn cstrings(body: &[u8]) -> impl Iterator<Item = String> + '_ {
    body.split(|&b| b == 0)
        .map(|s| String::from_utf8_lossy(s).into_owned())
}

fn parse_sasl_mechanisms(body: &[u8]) -> Result<Vec<String>> {
    Ok(cstrings(body).take_while(|s| !s.is_empty()).collect())
}

fn parse_parameter_status(body: &[u8]) -> Option<(String, String)> {
    let mut it = cstrings(body);
    Some((it.next()?, it.next()?))
}

/// The fields of an ErrorResponse/NoticeResponse that callers care about.
struct ErrorFields {
    severity: String,
    code: String,
    message: String,
    detail: Option<String>,
}

impl ErrorFields {
    fn parse(body: &[u8]) -> ErrorFields {
        let mut f = ErrorFields {
            severity: String::new(),
            code: String::new(),
            message: String::new(),
            detail: None,
        };
        for field in body.split(|&b| b == 0) {
            let Some((&kind, value)) = field.split_first() else {
                continue;
            };
            let value = String::from_utf8_lossy(value).into_owned();
            match kind {
                // 'V' is the untranslated severity; prefer it over 'S'.
                b'V' => f.severity = value,
                b'S' if f.severity.is_empty() => f.severity = value,
                b'C' => f.code = value,
                b'M' => f.message = value,
                b'D' => f.detail = Some(value),
                _ => {}
            }
        }
        f
    }

    fn into_error(self) -> ReplicationError {
        tracing::debug!(severity = %self.severity, code = %self.code, detail = ?self.detail, "upstream error: {}", self.message);
        ReplicationError::Upstream {
            code: self.code,
            message: self.message,
        }
    }
}

fn log_notice(body: &[u8]) {
    let n = ErrorFields::parse(body);
    tracing::info!(severity = %n.severity, code = %n.code, "upstream notice: {}", n.message);
}

fn unexpected(tag: u8, context: &str) -> ReplicationError {
    ReplicationError::Protocol(format!(
        "unexpected message {:?} {context}",
        char::from(tag)
    ))
}

fn require_password(password: Option<&[u8]>) -> Result<&[u8]> {
    password.ok_or_else(|| {
        ReplicationError::Auth("server requested a password but none is configured".into())
    })
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
    use tokio::net::TcpListener;

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

    #[tokio::test]
    async fn unsupported_configs_are_rejected() {
        let mut c = tokio_postgres::Config::new();
        c.host_path("/tmp").user("u");
        assert!(matches!(
            ReplicationClient::connect(&c).await,
            Err(ReplicationError::Config(m)) if m.contains("TCP")
        ));
        let mut c = tokio_postgres::Config::new();
        c.host("127.0.0.1").user("u").ssl_mode(SslMode::Require);
        assert!(matches!(
            ReplicationClient::connect(&c).await,
            Err(ReplicationError::TlsRequired(_))
        ));
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
        config.host("127.0.0.1").port(port).user("u").dbname("d");
        assert!(matches!(
            ReplicationClient::connect(&config).await,
            Err(ReplicationError::TlsRequired(m)) if m.contains("no encryption")
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
        config.host("127.0.0.1").port(port).user("u").dbname("d");
        let client = ReplicationClient::connect(&config).await.unwrap();
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
