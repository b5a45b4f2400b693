//! A connection to an upstream PostgreSQL at the message level: TCP, TLS as `sslmode` says
//! (see [`crate::upstream`]), startup and authentication (trust, cleartext, md5, SCRAM-SHA-256
//! without channel binding), then framed backend messages in and encoded frontend messages out.
//!
//! Two clients build on it: [`crate::replication`] (the walsender's `CopyBoth` stream, which
//! tokio-postgres cannot speak) and [`crate::forward`] (write forwarding, which relays a client's
//! messages and the upstream's answers unchanged, so it needs the bytes, not decoded rows).
//! Frontend messages are encoded with `postgres_protocol`; backend framing (tag byte and
//! big-endian i32 length) is done here because `postgres_protocol`'s backend parser does not
//! know `CopyBothResponse`.

use std::collections::HashMap;

use bytes::{Buf, Bytes, BytesMut};
use postgres_protocol::authentication::md5_hash;
use postgres_protocol::authentication::sasl::{ChannelBinding, ScramSha256};
use postgres_protocol::message::frontend;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_postgres::config::Host;

use crate::upstream::{SslMode, UpstreamConfig};

/// Errors from an upstream connection (replication or forwarding).
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("I/O error on the upstream connection: {0}")]
    Io(#[from] std::io::Error),
    /// The server sent something this client does not expect or cannot parse.
    #[error("upstream protocol error: {0}")]
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
    #[error("unsupported upstream connection configuration: {0}")]
    Config(String),
    /// The server turned away an unencrypted connection (`sslmode=disable`, or `prefer` to a
    /// server with TLS off).
    #[error("the upstream requires TLS, which sslmode={mode} did not use: {message}")]
    TlsRequired { mode: SslMode, message: String },
    /// TLS could not be set up: the server does not offer it, or its certificate was refused.
    #[error("TLS with the upstream failed: {0}")]
    Tls(String),
    #[error("the upstream closed the connection")]
    ConnectionClosed,
}

impl WireError {
    /// SQLSTATE of an upstream error, if this is one.
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            WireError::Upstream { code, .. } => Some(code),
            _ => None,
        }
    }
}

pub type Result<T, E = WireError> = std::result::Result<T, E>;

/// A backend message with its tag, length prefix stripped.
pub struct Frame {
    pub tag: u8,
    pub body: Bytes,
}

/// Socket plus buffers. Keeping both buffers here (not in futures) is what
/// makes reads cancel-safe: a dropped read loses no bytes, and a dropped
/// write leaves its remainder queued for the next flush.
pub struct WireConnection {
    stream: Box<dyn Transport>,
    read_buf: BytesMut,
    /// Encoded frontend messages not yet sent: callers append with `postgres_protocol`'s
    /// encoders, then [`WireConnection::flush`].
    pub write_buf: BytesMut,
}

impl WireConnection {
    pub async fn read_message(&mut self) -> Result<Frame> {
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
                return Err(WireError::ConnectionClosed);
            }
        }
    }

    pub fn try_parse(&mut self) -> Result<Option<Frame>> {
        let Some(header) = self.read_buf.get(..5) else {
            return Ok(None);
        };
        let tag = header[0];
        let len = i32::from_be_bytes([header[1], header[2], header[3], header[4]]);
        let len = usize::try_from(len)
            .ok()
            .filter(|&l| l >= 4)
            .ok_or_else(|| WireError::Protocol(format!("invalid length {len} for message {:?}", char::from(tag))))?;
        let total = len + 1;
        if self.read_buf.len() < total {
            self.read_buf.reserve(total - self.read_buf.len());
            return Ok(None);
        }
        let mut frame = self.read_buf.split_to(total).freeze();
        frame.advance(5);
        Ok(Some(Frame { tag, body: frame }))
    }

    pub async fn flush(&mut self) -> Result<()> {
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

/// A connection that has finished startup, with what the server said during it.
pub struct Started {
    pub conn: WireConnection,
    /// ParameterStatus values (e.g. `server_version`).
    pub parameters: HashMap<String, String>,
    /// BackendKeyData: the process id and secret a CancelRequest needs.
    pub backend_key: Option<(i32, i32)>,
}

/// A plain or encrypted socket.
trait Transport: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Transport for T {}

/// Connects and authenticates with host, port, user, password, dbname, application_name and
/// options from `upstream`, encrypted as its `sslmode` says, plus the startup parameters in
/// `extra` (`replication=database` for a walsender). Only TCP hosts are supported.
pub async fn connect(upstream: &UpstreamConfig, extra: &[(&str, &str)]) -> Result<Started> {
    let config = &upstream.pg;
    let user = config
        .get_user()
        .ok_or_else(|| WireError::Config("no user configured".into()))?;
    let hosts = config.get_hosts();
    if hosts.is_empty() {
        return Err(WireError::Config("no host configured".into()));
    }
    let ports = config.get_ports();
    let mut last_err = None;
    for (i, host) in hosts.iter().enumerate() {
        let host = match host {
            Host::Tcp(h) => h.as_str(),
            #[allow(unreachable_patterns)]
            _ => {
                return Err(WireError::Config(
                    "only TCP hosts are supported for upstream connections, not Unix sockets".into(),
                ));
            }
        };
        // tokio-postgres semantics: one port applies to all hosts.
        let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
        match open(config, host, port).await {
            Ok(stream) => {
                let stream = match secure(upstream, host, port, stream).await {
                    Ok(stream) => stream,
                    // As libpq: prefer takes a plain connection when TLS cannot be set up.
                    Err(WireError::Tls(reason)) if upstream.ssl_mode == SslMode::Prefer => {
                        tracing::warn!("TLS with the upstream failed ({reason}); sslmode=prefer goes on unencrypted");
                        Box::new(open(config, host, port).await?)
                    }
                    Err(e) => return Err(e),
                };
                return startup(stream, upstream, user, extra).await;
            }
            Err(e) => {
                tracing::debug!(host, port, error = %e, "upstream connect attempt failed");
                last_err = Some(e);
            }
        }
    }
    Err(last_err.map(WireError::Io).unwrap_or(WireError::ConnectionClosed))
}

/// A TCP connection to `host:port` within the configured connect timeout.
async fn open(config: &tokio_postgres::Config, host: &str, port: u16) -> std::io::Result<TcpStream> {
    let connect = TcpStream::connect((host, port));
    let stream = match config.get_connect_timeout() {
        Some(t) => match tokio::time::timeout(*t, connect).await {
            Ok(r) => r,
            Err(_) => Err(std::io::Error::new(std::io::ErrorKind::TimedOut, format!("connecting to {host}:{port} timed out"))),
        },
        None => connect.await,
    }?;
    // Status updates are tiny; Nagle would delay them behind nothing.
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Asks for TLS (an SSLRequest) unless `sslmode=disable`, and runs the handshake when the
/// server agrees; a server that declines is refused when `sslmode` requires TLS.
async fn secure(upstream: &UpstreamConfig, host: &str, port: u16, mut stream: TcpStream) -> Result<Box<dyn Transport>> {
    if upstream.ssl_mode == SslMode::Disable {
        return Ok(Box::new(stream));
    }
    let mut request = BytesMut::new();
    frontend::ssl_request(&mut request);
    stream.write_all(&request).await?;
    // One byte exactly: anything after it would be the TLS handshake's (or an attacker's).
    let answer = stream.read_u8().await?;
    match answer {
        b'S' => match upstream.handshake(host, stream).await {
            Ok(tls) => Ok(Box::new(tls)),
            Err(e) if crate::upstream::is_tls_refusal(&e) => Err(WireError::Tls(format!("{host}:{port}: {e}"))),
            // The network failing mid-handshake is worth another try.
            Err(e) => Err(WireError::Io(e)),
        },
        b'N' if !upstream.ssl_mode.requires_tls() => Ok(Box::new(stream)),
        b'N' => Err(WireError::Tls(format!(
            "{host}:{port} does not accept TLS connections (its ssl setting is off), and sslmode={} requires TLS",
            upstream.ssl_mode
        ))),
        other => Err(WireError::Protocol(format!("unexpected answer {:?} to the TLS request", char::from(other)))),
    }
}

async fn startup(stream: Box<dyn Transport>, upstream: &UpstreamConfig, user: &str, extra: &[(&str, &str)]) -> Result<Started> {
    let config = &upstream.pg;
    let mut conn = WireConnection {
        stream,
        read_buf: BytesMut::with_capacity(16 * 1024),
        write_buf: BytesMut::with_capacity(1024),
    };
    let dbname = config.get_dbname().unwrap_or(user);
    let mut params: Vec<(&str, &str)> = vec![
        ("user", user),
        ("database", dbname),
        // pgoutput converts text values to the client encoding, and the decoder requires
        // UTF-8; forwarded results are relayed to clients that were told UTF8.
        ("client_encoding", "UTF8"),
        ("application_name", config.get_application_name().unwrap_or("rhei")),
    ];
    if let Some(options) = config.get_options() {
        params.push(("options", options));
    }
    params.extend_from_slice(extra);
    frontend::startup_message(params.iter().copied(), &mut conn.write_buf)?;
    conn.flush().await?;

    let password = config.get_password();
    let mut scram: Option<ScramSha256> = None;
    let mut parameters = HashMap::new();
    let mut backend_key = None;
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
                            .ok_or_else(|| WireError::Protocol("md5 salt truncated".into()))?;
                        let hash = md5_hash(user.as_bytes(), pw, salt);
                        frontend::password_message(hash.as_bytes(), &mut conn.write_buf)?;
                        conn.flush().await?;
                    }
                    10 => {
                        let mechanisms = parse_sasl_mechanisms(&body)?;
                        if !mechanisms.iter().any(|m| m == "SCRAM-SHA-256") {
                            return Err(WireError::Auth(format!(
                                "server offers SASL mechanisms {mechanisms:?}; only SCRAM-SHA-256 without channel binding is supported"
                            )));
                        }
                        let pw = require_password(password)?;
                        // No TLS means no channel binding to offer.
                        let s = ScramSha256::new(pw, ChannelBinding::unsupported());
                        frontend::sasl_initial_response("SCRAM-SHA-256", s.message(), &mut conn.write_buf)?;
                        conn.flush().await?;
                        scram = Some(s);
                    }
                    11 => {
                        let s = scram
                            .as_mut()
                            .ok_or_else(|| WireError::Protocol("SASLContinue without SASL start".into()))?;
                        s.update(&body).map_err(|e| WireError::Auth(format!("SCRAM: {e}")))?;
                        frontend::sasl_response(s.message(), &mut conn.write_buf)?;
                        conn.flush().await?;
                    }
                    12 => {
                        let s = scram
                            .as_mut()
                            .ok_or_else(|| WireError::Protocol("SASLFinal without SASL start".into()))?;
                        // Verifies the server signature, so a server that
                        // does not know the password cannot impersonate.
                        s.finish(&body)
                            .map_err(|e| WireError::Auth(format!("SCRAM server verification: {e}")))?;
                    }
                    2 | 6 | 7 | 8 | 9 => {
                        return Err(WireError::Auth(format!(
                            "unsupported authentication method (Kerberos/SCM/GSSAPI/SSPI, code {code})"
                        )));
                    }
                    other => {
                        return Err(WireError::Protocol(format!("unknown authentication request {other}")));
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
                    return Err(WireError::TlsRequired { mode: upstream.ssl_mode, message: err.message });
                }
                return Err(err.into_error());
            }
            b'S' => {
                if let Some((k, v)) = parse_parameter_status(&msg.body) {
                    parameters.insert(k, v);
                }
            }
            b'N' => log_notice(&msg.body),
            b'K' => {
                let mut body = msg.body;
                backend_key = Some((get_i32(&mut body, "process id")?, get_i32(&mut body, "secret key")?));
            }
            b'v' => {}
            b'Z' => break,
            other => {
                return Err(unexpected(other, "during startup"));
            }
        }
    }
    Ok(Started {
        conn,
        parameters,
        backend_key,
    })
}

pub(crate) fn truncated(what: &str) -> WireError {
    WireError::Protocol(format!("truncated message reading {what}"))
}

pub(crate) fn get_u8(b: &mut Bytes, what: &str) -> Result<u8> {
    b.try_get_u8().map_err(|_| truncated(what))
}

pub(crate) fn get_i32(b: &mut Bytes, what: &str) -> Result<i32> {
    b.try_get_i32().map_err(|_| truncated(what))
}

pub(crate) fn get_u64(b: &mut Bytes, what: &str) -> Result<u64> {
    b.try_get_u64().map_err(|_| truncated(what))
}

pub(crate) fn get_i64(b: &mut Bytes, what: &str) -> Result<i64> {
    b.try_get_i64().map_err(|_| truncated(what))
}

/// Splits a sequence of NUL-terminated strings; missing terminators are
/// tolerated because these are only used for diagnostics and lists.
fn cstrings(body: &[u8]) -> impl Iterator<Item = String> + '_ {
    body.split(|&b| b == 0).map(|s| String::from_utf8_lossy(s).into_owned())
}

fn parse_sasl_mechanisms(body: &[u8]) -> Result<Vec<String>> {
    Ok(cstrings(body).take_while(|s| !s.is_empty()).collect())
}

pub(crate) fn parse_parameter_status(body: &[u8]) -> Option<(String, String)> {
    let mut it = cstrings(body);
    Some((it.next()?, it.next()?))
}

/// The fields of an ErrorResponse/NoticeResponse that callers care about.
pub struct ErrorFields {
    severity: String,
    code: String,
    message: String,
    detail: Option<String>,
}

impl ErrorFields {
    pub fn parse(body: &[u8]) -> ErrorFields {
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

    pub fn into_error(self) -> WireError {
        tracing::debug!(severity = %self.severity, code = %self.code, detail = ?self.detail, "upstream error: {}", self.message);
        WireError::Upstream {
            code: self.code,
            message: self.message,
        }
    }
}

pub(crate) fn log_notice(body: &[u8]) {
    let n = ErrorFields::parse(body);
    tracing::info!(severity = %n.severity, code = %n.code, "upstream notice: {}", n.message);
}

pub(crate) fn unexpected(tag: u8, context: &str) -> WireError {
    WireError::Protocol(format!("unexpected message {:?} {context}", char::from(tag)))
}

fn require_password(password: Option<&[u8]>) -> Result<&[u8]> {
    password.ok_or_else(|| WireError::Auth("server requested a password but none is configured".into()))
}
