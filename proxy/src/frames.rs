//! A guard between the client's bytes and pgwire's decoder: it splits the stream into protocol
//! messages and checks that each one's structure fits inside its declared length before pgwire
//! sees it.
//!
//! Why: pgwire 0.40's decoder trusts the counts inside a message. A Bind whose parameter count
//! runs past the message reads into the next message, and one that runs past the bytes received
//! panics in `bytes`. PostgreSQL answers such input with 08P01 and closes the connection; here
//! the guard fails the read with `InvalidData`, which ends that connection, and nothing else.
//!
//! The guard keeps no copy of the stream: it only counts bytes as they pass, and reads the
//! header and body of a message it checks (Bind, Parse, Describe, Execute, Close, the startup
//! packet) from the read buffer it passes on.
//!
//! It also coalesces what the server writes. pgwire flushes after nearly every message
//! (BindComplete, RowDescription, the rows, ReadyForQuery), so one prepared query cost four
//! `send` calls and as many wakeups of the client (perf: `__send` was 27% of the server's time
//! under pgbench). The guard buffers writes and sends them when the client is waiting for an
//! answer: at ReadyForQuery, at messages that expect a reply before any ReadyForQuery
//! (authentication requests, CopyInResponse), before startup is done, and whenever 64 KiB are
//! waiting (so a long result still streams). A client that sent Flush waits for answers
//! without a Sync (asyncpg's Parse, Describe, Flush): from then until the ReadyForQuery that
//! answers its next Sync, every flush sends. The guard sees the Flush when it is read, not when
//! it is processed, so it counts the Syncs (and Queries) read and the ReadyForQuerys written to
//! know which ReadyForQuery that is.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes of server output held back at most before they are sent anyway.
const WRITE_BUFFER: usize = 64 * 1024;

/// Server messages after which the client waits for the server or must act: ReadyForQuery,
/// Authentication, CopyInResponse, CopyBothResponse; and NotificationResponse, which an idle
/// client waits for with no turn to end.
fn ends_turn(kind: u8) -> bool {
    matches!(kind, b'Z' | b'R' | b'G' | b'W' | b'A')
}

/// The largest message accepted (PostgreSQL's limit for a message body is 1 GB).
const MAX_MESSAGE_LEN: usize = 1 << 30;
/// Startup-phase codes that are not a startup message (the client sends another packet next).
const SSL_REQUEST: i32 = 80_877_103;
const GSSENC_REQUEST: i32 = 80_877_104;
const CANCEL_REQUEST: i32 = 80_877_102;

/// Where the guard is in the stream.
#[derive(Debug)]
enum Position {
    /// Collecting a message's header (untyped: 4 bytes; typed: 5).
    Header { have: Vec<u8> },
    /// Inside a message body the guard checks: collecting it whole.
    Body { kind: Option<u8>, len: usize, have: Vec<u8> },
    /// Inside a message body the guard lets through unread: bytes left.
    Skip { left: usize },
}

/// Checks frontend messages as they are read from `io`.
pub struct FrameGuard<S> {
    io: S,
    /// Until the startup packet, messages have no type byte.
    is_startup_phase: bool,
    position: Position,
    /// A malformed message found after well-formed ones in the same read: those are passed
    /// on first, and this error ends the next read.
    pending_error: Option<io::Error>,
    /// Server output not sent yet.
    out: Vec<u8>,
    /// Where in `out` the next server message starts (for finding turn-ending messages).
    out_scan: usize,
    /// Whether `out` must go at the next flush (see [`ends_turn`]).
    send_now: bool,
    /// Sync, Query and FunctionCall messages read: each is answered by one ReadyForQuery.
    turns_asked: u64,
    /// ReadyForQuery messages written after the first (which ends startup).
    turns_answered: u64,
    /// Every flush sends while fewer turns than this are answered (set by a client Flush).
    eager_until: u64,
    /// Until the first ReadyForQuery, every flush sends (TLS and authentication exchanges).
    is_ready: bool,
}

/// A malformed message, and how many bytes of the read that found it came before it.
#[derive(Debug)]
pub struct Malformed {
    pub valid_prefix: usize,
    pub error: io::Error,
}

impl<S> FrameGuard<S> {
    pub fn new(io: S) -> Self {
        Self {
            io,
            is_startup_phase: true,
            position: Position::Header { have: Vec::with_capacity(5) },
            pending_error: None,
            out: Vec::with_capacity(8192),
            out_scan: 0,
            send_now: false,
            turns_asked: 0,
            turns_answered: 0,
            eager_until: 0,
            is_ready: false,
        }
    }

    /// Makes the next read fail with `error` (for a malformed message found in bytes read
    /// before the guard was in place).
    pub fn fail_next_read(&mut self, error: io::Error) {
        self.pending_error = Some(error);
    }

    /// Runs `bytes` (just read) through the checks.
    ///
    /// # Errors
    /// The first malformed message, with the length of the well-formed bytes before it.
    pub fn inspect(&mut self, chunk: &[u8]) -> Result<(), Malformed> {
        let mut bytes = chunk;
        // Where the message being checked started in this chunk (0 if in an earlier one).
        let mut message_start = 0;
        let result = (|| -> io::Result<()> {
        while !bytes.is_empty() {
            if matches!(&self.position, Position::Header { have } if have.is_empty()) {
                message_start = chunk.len() - bytes.len();
            }
            match &mut self.position {
                Position::Header { have } => {
                    let want = if self.is_startup_phase { 4 } else { 5 };
                    let take = (want - have.len()).min(bytes.len());
                    have.extend_from_slice(&bytes[..take]);
                    bytes = &bytes[take..];
                    if have.len() < want {
                        continue;
                    }
                    let (kind, len_bytes) = if self.is_startup_phase { (None, &have[..4]) } else { (Some(have[0]), &have[1..5]) };
                    let declared = i32::from_be_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]);
                    let len = usize::try_from(declared)
                        .ok()
                        .filter(|l| (4..=MAX_MESSAGE_LEN).contains(l))
                        .ok_or_else(|| invalid(format!("invalid message length {declared}")))?;
                    let body = len - 4;
                    self.position = if checked(kind) {
                        Position::Body { kind, len: body, have: Vec::with_capacity(body.min(1 << 16)) }
                    } else {
                        Position::Skip { left: body }
                    };
                    if body == 0 {
                        self.finish(kind, &[])?;
                    }
                }
                Position::Skip { left } => {
                    let take = (*left).min(bytes.len());
                    *left -= take;
                    bytes = &bytes[take..];
                    if *left == 0 {
                        self.position = Position::Header { have: Vec::with_capacity(5) };
                    }
                }
                Position::Body { kind, len, have } => {
                    let take = (*len - have.len()).min(bytes.len());
                    have.extend_from_slice(&bytes[..take]);
                    bytes = &bytes[take..];
                    if have.len() == *len {
                        let (kind, body) = (*kind, std::mem::take(have));
                        self.finish(kind, &body)?;
                    }
                }
            }
        }
        Ok(())
        })();
        result.map_err(|error| Malformed { valid_prefix: message_start, error })
    }

    /// A whole checked message has arrived.
    fn finish(&mut self, kind: Option<u8>, body: &[u8]) -> io::Result<()> {
        match kind {
            None => {
                let code = body.get(..4).map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]));
                match code {
                    Some(SSL_REQUEST | GSSENC_REQUEST) => {}
                    Some(CANCEL_REQUEST) => {}
                    Some(_) => {
                        check_startup(body)?;
                        self.is_startup_phase = false;
                    }
                    None => return Err(invalid("startup packet too short".into())),
                }
            }
            Some(kind) => {
                check_typed(kind, body)?;
                match kind {
                    b'S' | b'Q' | b'F' => self.turns_asked += 1,
                    // The client waits for what it asked before the Flush, with no Sync.
                    // (`max`: should a ReadyForQuery ever come unasked, this still waits for one more.)
                    b'H' => self.eager_until = self.turns_asked.max(self.turns_answered) + 1,
                    _ => {}
                }
            }
        }
        self.position = Position::Header { have: Vec::with_capacity(5) };
        Ok(())
    }
}

/// Messages whose inner structure is checked (the ones pgwire decodes by counts and offsets).
fn checked(kind: Option<u8>) -> bool {
    matches!(kind, None | Some(b'B' | b'P' | b'D' | b'E' | b'C' | b'Q' | b'S' | b'H' | b'X'))
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// A cursor over one message body.
struct Reader<'a> {
    body: &'a [u8],
    at: usize,
    kind: char,
}

impl<'a> Reader<'a> {
    fn short(&self) -> io::Error {
        invalid(format!("insufficient data left in message '{}'", self.kind))
    }

    fn take(&mut self, n: usize) -> io::Result<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.body.len()).ok_or_else(|| self.short())?;
        let out = &self.body[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn u16(&mut self) -> io::Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn i32(&mut self) -> io::Result<i32> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A NUL-terminated string, which must be UTF-8 (the only client encoding rhei speaks;
    /// pgwire would read invalid text as an empty query).
    fn cstring(&mut self) -> io::Result<&'a [u8]> {
        let rest = &self.body[self.at..];
        let nul = rest.iter().position(|b| *b == 0).ok_or_else(|| self.short())?;
        self.at += nul + 1;
        if std::str::from_utf8(&rest[..nul]).is_err() {
            return Err(invalid("invalid byte sequence for encoding \"UTF8\"".into()));
        }
        Ok(&rest[..nul])
    }

    fn end(&self) -> io::Result<()> {
        if self.at == self.body.len() {
            Ok(())
        } else {
            Err(invalid(format!("invalid message format: {} extra bytes in '{}'", self.body.len() - self.at, self.kind)))
        }
    }
}

fn check_startup(body: &[u8]) -> io::Result<()> {
    let mut r = Reader { body, at: 4, kind: '0' };
    // name/value pairs, then a terminating NUL.
    loop {
        let name = r.cstring()?;
        if name.is_empty() {
            return r.end();
        }
        r.cstring()?;
    }
}

fn check_typed(kind: u8, body: &[u8]) -> io::Result<()> {
    let mut r = Reader { body, at: 0, kind: kind as char };
    match kind {
        b'B' => {
            r.cstring()?;
            r.cstring()?;
            let formats = r.u16()? as usize;
            r.take(formats * 2)?;
            let params = r.u16()? as usize;
            if formats > 1 && formats != params {
                return Err(invalid(format!("bind message has {formats} parameter formats but {params} parameters")));
            }
            for _ in 0..params {
                let len = r.i32()?;
                if len < -1 {
                    return Err(invalid(format!("invalid parameter length {len}")));
                }
                if len > 0 {
                    r.take(len as usize)?;
                }
            }
            let results = r.u16()? as usize;
            r.take(results * 2)?;
        }
        b'P' => {
            r.cstring()?;
            r.cstring()?;
            let types = r.u16()? as usize;
            r.take(types * 4)?;
        }
        b'D' | b'C' => {
            let target = r.take(1)?[0];
            if target != b'S' && target != b'P' {
                return Err(invalid(format!("invalid {} target type '{}'", if kind == b'D' { "DESCRIBE" } else { "CLOSE" }, target as char)));
            }
            r.cstring()?;
        }
        b'E' => {
            r.cstring()?;
            r.i32()?;
        }
        b'Q' => {
            r.cstring()?;
        }
        // Sync, Flush, Terminate: no body.
        _ => {}
    }
    r.end()
}

impl<S: AsyncRead + Unpin> AsyncRead for FrameGuard<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if let Some(error) = self.pending_error.take() {
            return Poll::Ready(Err(error));
        }
        let before = buf.filled().len();
        match Pin::new(&mut self.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let checked = self.inspect(&buf.filled()[before..]);
                match checked {
                    Ok(()) => Poll::Ready(Ok(())),
                    // Hand over the messages before the bad one; fail the next read.
                    Err(Malformed { valid_prefix, error }) if valid_prefix > 0 => {
                        buf.set_filled(before + valid_prefix);
                        self.pending_error = Some(error);
                        Poll::Ready(Ok(()))
                    }
                    Err(Malformed { error, .. }) => Poll::Ready(Err(error)),
                }
            }
            other => other,
        }
    }
}

impl<S> FrameGuard<S> {
    /// Notes the turn-ending messages among the complete messages buffered since last time.
    fn scan_output(&mut self) {
        while self.out.len() >= self.out_scan + 5 {
            let at = self.out_scan;
            let kind = self.out[at];
            let len = i32::from_be_bytes([self.out[at + 1], self.out[at + 2], self.out[at + 3], self.out[at + 4]]);
            let Some(end) = usize::try_from(len).ok().map(|l| at + 1 + l) else {
                // Not a message boundary (cannot happen with pgwire's encoder): send as is.
                self.send_now = true;
                return;
            };
            if end > self.out.len() {
                return;
            }
            if kind == b'Z' {
                if self.is_ready {
                    self.turns_answered += 1;
                }
                self.is_ready = true;
            }
            if ends_turn(kind) {
                self.send_now = true;
            }
            self.out_scan = end;
        }
    }
}

impl<S: AsyncWrite + Unpin> FrameGuard<S> {
    /// Writes out everything buffered.
    fn poll_send_all(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut sent = 0;
        while sent < self.out.len() {
            match Pin::new(&mut self.io).poll_write(cx, &self.out[sent..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => sent += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {
                    self.out.drain(..sent);
                    self.out_scan -= sent.min(self.out_scan);
                    return Poll::Pending;
                }
            }
        }
        self.out.clear();
        self.out_scan = 0;
        self.send_now = false;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for FrameGuard<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        // Past the buffer's size, what is waiting goes first (so memory stays bounded).
        if self.out.len() >= WRITE_BUFFER {
            match self.poll_send_all(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        self.out.extend_from_slice(buf);
        self.scan_output();
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let eager = self.turns_answered < self.eager_until;
        if !(self.send_now || eager || !self.is_ready || self.out.len() >= WRITE_BUFFER) {
            return Poll::Ready(Ok(()));
        }
        match self.poll_send_all(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut self.io).poll_flush(cx),
            other => other,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.poll_send_all(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut self.io).poll_shutdown(cx),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![kind];
        out.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    fn started() -> FrameGuard<tokio::io::Empty> {
        let mut guard = FrameGuard::new(tokio::io::empty());
        let mut startup = 196_608i32.to_be_bytes().to_vec();
        startup.extend_from_slice(b"user\0rhei\0\0");
        let mut packet = ((startup.len() + 4) as i32).to_be_bytes().to_vec();
        packet.extend(startup);
        guard.inspect(&packet).unwrap();
        guard
    }

    #[test]
    fn well_formed_messages_pass_in_any_split() {
        let mut stream = typed(b'Q', b"SELECT 1\0");
        stream.extend(typed(b'P', b"s\0SELECT $1\0\0\x01\0\0\0\x17"));
        stream.extend(typed(b'B', b"\0s\0\0\x01\0\x01\0\x01\0\0\0\x04\0\0\0\x07\0\0"));
        stream.extend(typed(b'S', b""));
        for chunk in [1, 2, 3, 7, stream.len()] {
            let mut guard = started();
            for part in stream.chunks(chunk) {
                guard.inspect(part).unwrap();
            }
        }
    }

    #[tokio::test]
    async fn writes_wait_for_the_end_of_the_turn() {
        use tokio::io::AsyncWriteExt;
        let mut guard = FrameGuard::new(Vec::new());
        let mut startup = 196_608i32.to_be_bytes().to_vec();
        startup.extend_from_slice(b"user\0rhei\0\0");
        let mut packet = ((startup.len() + 4) as i32).to_be_bytes().to_vec();
        packet.extend(startup);
        guard.inspect(&packet).unwrap();
        // Before the first ReadyForQuery everything goes at once (authentication).
        guard.write_all(&typed(b'R', &0i32.to_be_bytes())).await.unwrap();
        guard.flush().await.unwrap();
        assert_eq!(guard.io.len(), 9);
        guard.write_all(&typed(b'Z', b"I")).await.unwrap();
        guard.flush().await.unwrap();
        let sent = guard.io.len();
        // BindComplete and a row wait for the ReadyForQuery that ends the turn.
        guard.write_all(&typed(b'2', b"")).await.unwrap();
        guard.flush().await.unwrap();
        guard.write_all(&typed(b'D', b"\0\x01\0\0\0\x011")).await.unwrap();
        guard.flush().await.unwrap();
        assert_eq!(guard.io.len(), sent, "nothing sent before the turn ends");
        guard.inspect(&typed(b'S', b"")).unwrap();
        guard.write_all(&typed(b'Z', b"I")).await.unwrap();
        guard.flush().await.unwrap();
        assert_eq!(guard.io.len(), sent + 5 + 12 + 6, "all sent together");
        let sent = guard.io.len();
        // Parse, Describe, Flush read at once: every answer goes as it is flushed, until the
        // ReadyForQuery of the next Sync.
        for message in [typed(b'P', b"\0SELECT 1\0\0\0"), typed(b'D', b"S\0"), typed(b'H', b"")] {
            guard.inspect(&message).unwrap();
        }
        guard.write_all(&typed(b'1', b"")).await.unwrap();
        guard.flush().await.unwrap();
        assert_eq!(guard.io.len(), sent + 5, "ParseComplete sent");
        guard.write_all(&typed(b't', b"\0\0")).await.unwrap();
        guard.flush().await.unwrap();
        assert_eq!(guard.io.len(), sent + 5 + 7, "ParameterDescription sent too");
        for message in [typed(b'B', b"\0\0\0\0\0\0\0\0"), typed(b'E', b"\0\0\0\0\0"), typed(b'S', b"")] {
            guard.inspect(&message).unwrap();
        }
        guard.write_all(&typed(b'2', b"")).await.unwrap();
        guard.flush().await.unwrap();
        assert_eq!(guard.io.len(), sent + 5 + 7 + 5, "still eager until the Sync is answered");
        guard.write_all(&typed(b'Z', b"I")).await.unwrap();
        guard.flush().await.unwrap();
        let sent = guard.io.len();
        guard.write_all(&typed(b'2', b"")).await.unwrap();
        guard.flush().await.unwrap();
        assert_eq!(guard.io.len(), sent, "buffered again once that turn is answered");
        // A notification to an idle client goes at once: it is not waiting on a turn.
        guard.write_all(&typed(b'A', b"\0\0\0\x07jobs\0\0")).await.unwrap();
        guard.flush().await.unwrap();
        assert_eq!(guard.io.len(), sent + 5 + 15, "the notification sent with what waited");
    }

    #[test]
    fn messages_before_a_malformed_one_still_count() {
        let mut stream = typed(b'Q', b"SELECT 1\0");
        let good = stream.len();
        stream.extend(typed(b'Q', b"no terminator"));
        let bad = started().inspect(&stream).err().expect("refused");
        assert_eq!(bad.valid_prefix, good);
    }

    #[test]
    fn counts_that_run_past_the_message_are_refused() {
        // A parameter count of 0x7fff with no parameters.
        let bind = typed(b'B', b"\0\0\0\0\x7f\xff\0\0");
        assert_eq!(started().inspect(&bind).err().map(|m| m.error.kind()), Some(io::ErrorKind::InvalidData));
        // A format count that needs more bytes than the message has.
        let bind = typed(b'B', b"\0\0\x7f\xff");
        assert!(started().inspect(&bind).is_err());
        // Two format codes for three parameters.
        let bind = typed(b'B', b"\0\0\0\x02\0\0\0\0\0\x03\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\0\0");
        assert!(started().inspect(&bind).is_err());
        // A query without its NUL, a length below 4, a Describe of an unknown kind.
        assert!(started().inspect(&typed(b'Q', b"SELECT 1")).is_err());
        assert!(started().inspect(&[b'Q', 0, 0, 0, 2]).is_err());
        assert!(started().inspect(&typed(b'D', b"Zx\0")).is_err());
        // A startup packet without its terminating NUL.
        let mut guard = FrameGuard::new(tokio::io::empty());
        let mut packet = 20i32.to_be_bytes().to_vec();
        packet.extend_from_slice(&196_608i32.to_be_bytes());
        packet.extend_from_slice(b"user\0rhei\0da");
        assert!(guard.inspect(&packet).is_err());
    }
}
