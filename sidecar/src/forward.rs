//! Write forwarding, upstream side: one plain connection to the upstream PostgreSQL per client
//! session, through which the front end passes the client's statements and gets back the
//! upstream's answers as frames to relay unchanged (so types, formats, errors and notices are
//! the upstream's own, byte for byte).
//!
//! Messages are pipelined as the client pipelines them: each one sent records the answer it
//! is owed ([`Owed`]), and [`UpstreamSession::next`] reads answers until every owed one has
//! come, returning those the client is to see. Messages rhei adds for itself (a re-Parse under
//! its own name) are answered too but not relayed. After an error the upstream ignores
//! everything up to the next Sync, and so does this session: the owed answers are dropped and
//! nothing more is sent until then.

use std::collections::VecDeque;

use bytes::{BufMut, Bytes, BytesMut};
use postgres_protocol::message::frontend;
use tokio::io::AsyncWriteExt;

use crate::pgoutput::parse_lsn;
use crate::wire::{self, Frame, Result, WireConnection, WireError};

/// The answer the upstream owes for one message sent to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owed {
    /// ParseComplete.
    Parse { relay: bool },
    /// BindComplete.
    Bind { relay: bool },
    /// ParameterDescription (of a statement), then RowDescription or NoData.
    Describe,
    /// Rows, then CommandComplete, EmptyQueryResponse or PortalSuspended.
    Execute,
    /// CloseComplete.
    Close { relay: bool },
    /// A simple query's results, up to ReadyForQuery.
    Query,
    /// ReadyForQuery.
    Sync { relay: bool },
}

/// Where to send a CancelRequest for what runs on an upstream session.
#[derive(Debug, Clone)]
pub struct UpstreamCanceller {
    host: String,
    port: u16,
    process_id: i32,
    secret_key: i32,
}

impl UpstreamCanceller {
    /// Asks the upstream to cancel what the session runs now (a CancelRequest on a new
    /// connection, as any client sends it). Best effort, like PostgreSQL's own cancel.
    pub async fn cancel(&self) {
        let request = async {
            let mut stream = tokio::net::TcpStream::connect((self.host.as_str(), self.port)).await?;
            let mut message = BytesMut::with_capacity(16);
            frontend::cancel_request(self.process_id, self.secret_key, &mut message);
            stream.write_all(&message).await?;
            stream.shutdown().await
        };
        if let Err(e) = request.await {
            tracing::debug!("cannot send a cancel request to the upstream: {e}");
        }
    }
}

/// One client session's connection to the upstream.
pub struct UpstreamSession {
    conn: WireConnection,
    owed: VecDeque<Owed>,
    /// The transaction status of the last ReadyForQuery: `I`, `T` or `E`.
    status: u8,
    /// Extended-protocol messages were sent since the last Sync: an implicit transaction may
    /// be open.
    unsynced: bool,
    /// An error ended the current pipeline: nothing is sent until the next Sync.
    failed: bool,
    /// The upstream is waiting for COPY data: reading on would wait forever.
    copy_in: bool,
    /// The statement [`UpstreamSession::wal_position`] uses has been prepared.
    position_prepared: bool,
    /// Asynchronous messages (notifications) read while reading something else for rhei
    /// itself, still to be relayed.
    unasked: VecDeque<Frame>,
    canceller: Option<UpstreamCanceller>,
}

impl UpstreamSession {
    /// Connects and authenticates with `config` (the sidecar's upstream URL).
    ///
    /// # Errors
    /// The connection or authentication failing (with the upstream's SQLSTATE when it said no).
    pub async fn connect(config: &crate::upstream::UpstreamConfig) -> Result<Self> {
        let started = wire::connect(config, &[]).await?;
        let canceller = started.backend_key.and_then(|(process_id, secret_key)| {
            let host = match config.pg.get_hosts().first()? {
                tokio_postgres::config::Host::Tcp(h) => h.clone(),
                #[allow(unreachable_patterns)]
                _ => return None,
            };
            let port = config.pg.get_ports().first().copied().unwrap_or(5432);
            Some(UpstreamCanceller { host, port, process_id, secret_key })
        });
        Ok(Self {
            conn: started.conn,
            owed: VecDeque::new(),
            status: b'I',
            unsynced: false,
            failed: false,
            copy_in: false,
            position_prepared: false,
            unasked: VecDeque::new(),
            canceller,
        })
    }

    /// How to cancel what this session runs, from elsewhere.
    pub fn canceller(&self) -> Option<UpstreamCanceller> {
        self.canceller.clone()
    }

    /// The transaction status the upstream last reported (`I`, `T` or `E`).
    pub fn transaction_status(&self) -> u8 {
        self.status
    }

    /// No transaction is open upstream, not even the implicit one of an unsynced pipeline, and
    /// no answer is outstanding.
    pub fn is_idle(&self) -> bool {
        self.status == b'I' && !self.unsynced && self.owed.is_empty()
    }

    /// Whether messages were sent since the last Sync (the client's Sync must go upstream).
    pub fn needs_sync(&self) -> bool {
        self.unsynced || !self.owed.is_empty()
    }

    /// Whether an error ended the current pipeline (everything up to Sync is ignored).
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// Whether the upstream waits for COPY data.
    pub fn in_copy(&self) -> bool {
        self.copy_in
    }

    fn extended(&mut self, owed: Option<Owed>) {
        self.unsynced = true;
        if let Some(owed) = owed {
            self.owed.push_back(owed);
        }
    }

    /// Parse, named as the client named it (or as rhei names it, with `relay` false).
    pub fn parse(&mut self, name: &str, sql: &str, param_types: &[u32], relay: bool) -> Result<()> {
        if self.failed {
            return Ok(());
        }
        frontend::parse(name, sql, param_types.iter().copied(), &mut self.conn.write_buf)?;
        self.extended(Some(Owed::Parse { relay }));
        Ok(())
    }

    /// Bind, with the client's parameter values and formats as they came.
    pub fn bind(&mut self, bind: &Bind<'_>) -> Result<()> {
        if self.failed {
            return Ok(());
        }
        bind.encode(&mut self.conn.write_buf)?;
        self.extended(Some(Owed::Bind { relay: true }));
        Ok(())
    }

    /// Describe a statement (`S`) or portal (`P`).
    pub fn describe(&mut self, kind: u8, name: &str) -> Result<()> {
        if self.failed {
            return Ok(());
        }
        frontend::describe(kind, name, &mut self.conn.write_buf)?;
        self.extended(Some(Owed::Describe));
        Ok(())
    }

    /// Execute a portal, up to `max_rows` rows (0: all).
    pub fn execute(&mut self, portal: &str, max_rows: i32) -> Result<()> {
        if self.failed {
            return Ok(());
        }
        frontend::execute(portal, max_rows, &mut self.conn.write_buf)?;
        self.extended(Some(Owed::Execute));
        Ok(())
    }

    /// Close a statement (`S`) or portal (`P`).
    pub fn close(&mut self, kind: u8, name: &str, relay: bool) -> Result<()> {
        if self.failed {
            return Ok(());
        }
        frontend::close(kind, name, &mut self.conn.write_buf)?;
        self.extended(Some(Owed::Close { relay }));
        Ok(())
    }

    /// Sync: ends the pipeline (and its implicit transaction); answered by ReadyForQuery.
    pub fn sync(&mut self, relay: bool) {
        frontend::sync(&mut self.conn.write_buf);
        self.owed.push_back(Owed::Sync { relay });
    }

    /// A simple query (one or more statements), answered up to ReadyForQuery.
    pub fn query(&mut self, sql: &str) -> Result<()> {
        frontend::query(sql, &mut self.conn.write_buf)?;
        self.owed.push_back(Owed::Query);
        Ok(())
    }

    /// COPY data for a `COPY ... FROM STDIN` the upstream is running. The upstream streams
    /// COPY input, so it is sent on as it comes (in chunks), not held here.
    ///
    /// # Errors
    /// The connection failing.
    pub async fn copy_data(&mut self, data: &[u8]) -> Result<()> {
        put_message(&mut self.conn.write_buf, b'd', data)?;
        if self.conn.write_buf.len() >= COPY_FLUSH_BYTES {
            self.conn.flush().await?;
        }
        Ok(())
    }

    /// The end of COPY data; its answer (CommandComplete or an error, then ReadyForQuery for a
    /// simple query) follows from [`UpstreamSession::next`].
    pub fn copy_done(&mut self) {
        self.conn.write_buf.put_u8(b'c');
        self.conn.write_buf.put_i32(4);
        self.copy_in = false;
    }

    /// The client gave up the COPY.
    pub fn copy_fail(&mut self, message: &str) -> Result<()> {
        let mut body = BytesMut::new();
        put_cstr(&mut body, message)?;
        put_message(&mut self.conn.write_buf, b'f', &body)?;
        self.copy_in = false;
        Ok(())
    }

    /// The next answer to relay to the client; `None` once every owed answer has come (or
    /// the upstream waits for COPY data). Sends what is buffered first, with a Flush unless
    /// it ends with Sync or a simple query, so the upstream answers now.
    ///
    /// # Errors
    /// The connection failing, or an answer that fits no message sent.
    pub async fn next(&mut self) -> Result<Option<Frame>> {
        if let Some(frame) = self.unasked.pop_front() {
            return Ok(Some(frame));
        }
        loop {
            if !self.conn.write_buf.is_empty() {
                if !matches!(self.owed.back(), Some(Owed::Sync { .. } | Owed::Query) | None) {
                    frontend::flush(&mut self.conn.write_buf);
                }
                self.conn.flush().await?;
            }
            if self.owed.is_empty() || self.copy_in {
                return Ok(None);
            }
            let frame = self.conn.read_message().await?;
            if self.account(&frame)? {
                return Ok(Some(frame));
            }
        }
    }

    /// A message the upstream sends while it owes nothing: a notification of a channel the
    /// client LISTENs to (or a notice, or a changed parameter), to relay. Call only when
    /// [`UpstreamSession::is_idle`]. Cancel-safe: a message partly read stays buffered.
    ///
    /// # Errors
    /// The connection failing, the upstream's error as it ends the session (a FATAL 57P01 at
    /// its shutdown, `pg_terminate_backend`), or anything else arriving.
    pub async fn unasked(&mut self) -> Result<Frame> {
        if let Some(frame) = self.unasked.pop_front() {
            return Ok(frame);
        }
        let frame = self.conn.read_message().await?;
        match frame.tag {
            b'A' | b'N' | b'S' => Ok(frame),
            b'E' => Err(wire::ErrorFields::parse(&frame.body).into_error()),
            other => Err(WireError::Protocol(format!("unexpected {:?} from the upstream while idle", char::from(other)))),
        }
    }

    /// Matches `frame` with what is owed; whether the client is to see it.
    fn account(&mut self, frame: &Frame) -> Result<bool> {
        let front = self.owed.front().copied();
        let mismatch = || WireError::Protocol(format!("unexpected {:?} from the upstream while owed {front:?}", char::from(frame.tag)));
        match (frame.tag, front) {
            // Asynchronous: notices, parameter changes, notifications.
            (b'N' | b'S' | b'A', _) => Ok(true),
            (b'E', Some(Owed::Query)) => Ok(true),
            (b'E', _) => {
                self.failed = true;
                while self.owed.front().is_some_and(|o| !matches!(o, Owed::Sync { .. } | Owed::Query)) {
                    self.owed.pop_front();
                }
                Ok(true)
            }
            (b'1', Some(Owed::Parse { relay }))
            | (b'2', Some(Owed::Bind { relay }))
            | (b'3', Some(Owed::Close { relay })) => {
                self.owed.pop_front();
                Ok(relay)
            }
            (b't', Some(Owed::Describe)) => Ok(true),
            (b'T' | b'n', Some(Owed::Describe)) => {
                self.owed.pop_front();
                Ok(true)
            }
            (b'T' | b'D' | b'C' | b'I' | b'H' | b'd' | b'c' | b'W', Some(Owed::Query)) => Ok(true),
            (b'D' | b'H' | b'd' | b'c' | b'W', Some(Owed::Execute)) => Ok(true),
            (b'C' | b'I' | b's', Some(Owed::Execute)) => {
                self.owed.pop_front();
                Ok(true)
            }
            (b'G', Some(Owed::Query | Owed::Execute)) => {
                self.copy_in = true;
                Ok(true)
            }
            (b'Z', Some(Owed::Query)) => {
                self.owed.pop_front();
                self.settle(frame);
                Ok(true)
            }
            (b'Z', Some(Owed::Sync { relay })) => {
                self.owed.pop_front();
                self.settle(frame);
                self.unsynced = false;
                self.failed = false;
                Ok(relay)
            }
            _ => Err(mismatch()),
        }
    }

    fn settle(&mut self, ready: &Frame) {
        self.status = ready.body.first().copied().unwrap_or(b'I');
    }

    /// The upstream's current WAL insert position: at or after the commit of every
    /// transaction this session has finished. Only while idle (it ends with a Sync).
    ///
    /// # Errors
    /// The connection failing, the upstream refusing (a standby has no insert position), or
    /// the session not being idle.
    pub async fn wal_position(&mut self) -> Result<u64> {
        if !self.is_idle() {
            return Err(WireError::Protocol("the upstream position is read between transactions only".into()));
        }
        const NAME: &str = "_rhei_wal_position";
        let mut position = None;
        for retry in [true, false] {
            if !self.position_prepared {
                frontend::parse(NAME, "SELECT pg_current_wal_insert_lsn()::text", [], &mut self.conn.write_buf)?;
            }
            Bind { portal: NAME, statement: NAME, param_formats: &[], params: &[], result_formats: &[] }.encode(&mut self.conn.write_buf)?;
            frontend::execute(NAME, 0, &mut self.conn.write_buf)?;
            frontend::close(b'P', NAME, &mut self.conn.write_buf)?;
            frontend::sync(&mut self.conn.write_buf);
            self.owed.clear();
            self.conn.flush().await?;
            let mut error = None;
            loop {
                let frame = self.conn.read_message().await?;
                match frame.tag {
                    b'1' => self.position_prepared = true,
                    b'D' => position = data_row_text(&frame.body),
                    b'E' => error = Some(wire::ErrorFields::parse(&frame.body).into_error()),
                    b'A' | b'N' | b'S' => self.unasked.push_back(frame),
                    b'Z' => {
                        self.settle(&frame);
                        self.unsynced = false;
                        break;
                    }
                    _ => {}
                }
            }
            match error {
                None => break,
                // The client's DISCARD ALL or DEALLOCATE ALL, forwarded, dropped the statement.
                Some(e) if retry && self.position_prepared && e.sqlstate() == Some("26000") => self.position_prepared = false,
                Some(e) => return Err(e),
            }
        }
        let text = position.ok_or_else(|| WireError::Protocol("no WAL position in the answer".into()))?;
        parse_lsn(&text).map_err(|e| WireError::Protocol(e.to_string()))
    }
}

/// COPY input is sent on once this much has gathered.
const COPY_FLUSH_BYTES: usize = 256 * 1024;

/// A Bind message's contents: parameter values in the client's formats, passed on untouched.
#[derive(Debug, Clone, Copy)]
pub struct Bind<'a> {
    pub portal: &'a str,
    pub statement: &'a str,
    pub param_formats: &'a [i16],
    pub params: &'a [Option<Bytes>],
    pub result_formats: &'a [i16],
}

impl Bind<'_> {
    fn encode(&self, buf: &mut BytesMut) -> Result<()> {
        let count = |n: usize| i16::try_from(n).map_err(|_| WireError::Protocol(format!("{n} values in one Bind")));
        let mut body = BytesMut::new();
        put_cstr(&mut body, self.portal)?;
        put_cstr(&mut body, self.statement)?;
        body.put_i16(count(self.param_formats.len())?);
        for f in self.param_formats {
            body.put_i16(*f);
        }
        body.put_i16(count(self.params.len())?);
        for p in self.params {
            match p {
                Some(v) => {
                    body.put_i32(i32::try_from(v.len()).map_err(|_| WireError::Protocol("parameter too large".into()))?);
                    body.put_slice(v);
                }
                None => body.put_i32(-1),
            }
        }
        body.put_i16(count(self.result_formats.len())?);
        for f in self.result_formats {
            body.put_i16(*f);
        }
        put_message(buf, b'B', &body)
    }
}

fn put_cstr(buf: &mut BytesMut, s: &str) -> Result<()> {
    if s.contains('\0') {
        return Err(WireError::Protocol("a name or message with a NUL byte".into()));
    }
    buf.put_slice(s.as_bytes());
    buf.put_u8(0);
    Ok(())
}

fn put_message(buf: &mut BytesMut, tag: u8, body: &[u8]) -> Result<()> {
    let len = i32::try_from(body.len() + 4).map_err(|_| WireError::Protocol("message too large".into()))?;
    buf.put_u8(tag);
    buf.put_i32(len);
    buf.put_slice(body);
    Ok(())
}

/// The first value of a one-column DataRow, as text.
fn data_row_text(body: &[u8]) -> Option<String> {
    let len = i32::from_be_bytes(body.get(2..6)?.try_into().ok()?);
    let value = body.get(6..6 + usize::try_from(len).ok()?)?;
    String::from_utf8(value.to_vec()).ok()
}
