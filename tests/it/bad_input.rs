//! Bad input on the wire: garbage before startup, malformed and oversized messages, unknown
//! message types, invalid UTF-8, a client vanishing mid-query, and a bounded random-bytes
//! fuzzer that mutates valid message sequences. Whatever one connection sends, the server
//! answers with an ErrorResponse or closes that connection, never panics, and every other
//! client carries on.
//!
//! The regression corpus in `tests/fuzz/` (one input per file, raw bytes as a client sent them)
//! replays first; an input that once broke something belongs there.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{Server, lines};

/// Panics outside the test code since the hook was installed: the server's tasks (tokio would
/// otherwise swallow a panicking connection task). Tests run in parallel in this process, so a
/// failing assertion of another test (in `tests/`) does not count.
static PANICS: AtomicUsize = AtomicUsize::new(0);

fn count_panics() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_tests = info.location().is_some_and(|l| l.file().starts_with("it/") || l.file().contains("tests/it/"));
            if !in_tests {
                PANICS.fetch_add(1, Ordering::SeqCst);
            }
            previous(info);
        }));
    });
}

/// A protocol 3.0 startup message for user and database `rhei`.
fn startup() -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&196_608i32.to_be_bytes());
    for (k, v) in [("user", "rhei"), ("database", "rhei")] {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut out = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    out.extend(body);
    out
}

/// A typed frontend message.
fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![kind];
    out.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
    out.extend_from_slice(body);
    out
}

fn cstr(s: &[u8]) -> Vec<u8> {
    let mut v = s.to_vec();
    v.push(0);
    v
}

fn query(sql: &[u8]) -> Vec<u8> {
    message(b'Q', &cstr(sql))
}

/// Parse/Bind/Describe/Execute/Sync of one statement with one text parameter.
fn extended(sql: &[u8], param: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut parse = cstr(b"s1");
    parse.extend(cstr(sql));
    parse.extend_from_slice(&1i16.to_be_bytes());
    parse.extend_from_slice(&25i32.to_be_bytes());
    out.extend(message(b'P', &parse));
    let mut bind = cstr(b"");
    bind.extend(cstr(b"s1"));
    bind.extend_from_slice(&0i16.to_be_bytes());
    bind.extend_from_slice(&1i16.to_be_bytes());
    bind.extend_from_slice(&(param.len() as i32).to_be_bytes());
    bind.extend_from_slice(param);
    bind.extend_from_slice(&0i16.to_be_bytes());
    out.extend(message(b'B', &bind));
    out.extend(message(b'D', b"P\0"));
    let mut execute = cstr(b"");
    execute.extend_from_slice(&0i32.to_be_bytes());
    out.extend(message(b'E', &execute));
    out.extend(message(b'S', b""));
    out
}

/// What came back for one raw input.
struct Reply {
    bytes: Vec<u8>,
    /// Whether the server closed the connection (rather than waiting for more).
    closed: bool,
}

/// Sends `bytes` on a fresh connection and reads whatever comes back until the server closes
/// the connection or stays silent for a moment.
async fn send_raw(server: &Server, bytes: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    let _ = stream.write_all(bytes).await;
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    let closed = loop {
        match tokio::time::timeout(Duration::from_millis(300), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Err(_) => break false,
            Ok(Ok(n)) => {
                got.extend_from_slice(&buf[..n]);
                if got.len() > 1 << 20 {
                    break false;
                }
            }
        }
    };
    Reply { bytes: got, closed }
}

/// The SQLSTATEs of the ErrorResponse messages in a backend byte stream.
fn error_codes(bytes: &[u8]) -> Vec<String> {
    let mut codes = Vec::new();
    let mut i = 0;
    while i + 5 <= bytes.len() {
        let kind = bytes[i];
        let len = i32::from_be_bytes([bytes[i + 1], bytes[i + 2], bytes[i + 3], bytes[i + 4]]);
        let Ok(len) = usize::try_from(len) else { break };
        let end = (i + 1 + len).min(bytes.len());
        if kind == b'E' && i + 5 <= end {
            for field in bytes[i + 5..end].split(|b| *b == 0) {
                if let Some(code) = field.strip_prefix(b"C") {
                    codes.push(String::from_utf8_lossy(code).into_owned());
                }
            }
        }
        // The one-byte answer to an SSLRequest has no length.
        i = if kind == b'N' && len != 0 && i == 0 && bytes.len() == 1 { i + 1 } else { end };
    }
    codes
}

/// The server still answers a well-behaved client, and the rows it started with are there
/// (the fuzzer's inputs may add rows, never remove these).
async fn still_serves(server: &Server) {
    let client = server.client().await;
    assert_eq!(lines(&client, "SELECT count(*) FROM fuzz_t WHERE id BETWEEN 1 AND 3").await, vec!["3"]);
}

async fn server_with_table() -> Server {
    count_panics();
    let server = Server::start().await;
    let client = server.client().await;
    client
        .batch_execute("CREATE TABLE fuzz_t (id int PRIMARY KEY, name text); INSERT INTO fuzz_t VALUES (1, 'a'), (2, 'b'), (3, 'c')")
        .await
        .expect("setup");
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_messages_get_an_error_or_a_closed_connection() {
    let server = server_with_table().await;
    let panics_before = PANICS.load(Ordering::SeqCst);

    // Garbage before startup: no startup packet, so the connection is closed.
    send_raw(&server, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    send_raw(&server, &[0xff; 64]).await;
    // A startup message claiming to be enormous.
    send_raw(&server, &[0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 0]).await;
    // A startup message with an unknown protocol version.
    send_raw(&server, &[0, 0, 0, 8, 0, 9, 0, 0]).await;

    // After startup: an unknown message type, a query without its terminating NUL, a query
    // whose length runs past the message, an oversized length, invalid UTF-8, a Bind to a
    // statement that does not exist, a Bind with a parameter count that lies.
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("unknown message type", message(b'z', b"whatever")),
        ("query without NUL", message(b'Q', b"SELECT 1")),
        ("length past the end", {
            let mut m = query(b"SELECT 1");
            m[4] = 200;
            m
        }),
        ("oversized length", vec![b'Q', 0x7f, 0xff, 0xff, 0xff, b'S']),
        ("negative length", vec![b'Q', 0xff, 0xff, 0xff, 0xf0, b'S']),
        ("invalid UTF-8", query(b"SELECT '\xff\xfe'")),
        ("bind to a missing statement", {
            let mut bind = cstr(b"");
            bind.extend(cstr(b"nope"));
            bind.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
            let mut m = message(b'B', &bind);
            m.extend(message(b'S', b""));
            m
        }),
        ("bind with a lying parameter count", {
            let mut m = Vec::new();
            let mut parse = cstr(b"");
            parse.extend(cstr(b"SELECT $1::int"));
            parse.extend_from_slice(&0i16.to_be_bytes());
            m.extend(message(b'P', &parse));
            let mut bind = cstr(b"");
            bind.extend(cstr(b""));
            bind.extend_from_slice(&0i16.to_be_bytes());
            bind.extend_from_slice(&0x7fffi16.to_be_bytes());
            m.extend(message(b'B', &bind));
            m.extend(message(b'S', b""));
            m
        }),
        ("parameter that is not an integer", extended(b"SELECT id FROM fuzz_t WHERE id = $1::int", b"x1")),
    ];
    for (what, bytes) in cases {
        let mut input = startup();
        input.extend(bytes);
        let reply = send_raw(&server, &input).await;
        let codes = error_codes(&reply.bytes);
        assert!(!reply.bytes.is_empty(), "{what}: the server did not even answer the startup message before the bad one");
        if what == "parameter that is not an integer" {
            // A well-formed message with a bad value is an ordinary error; the session lives on.
            assert!(codes.iter().any(|c| c == "22P02"), "{what}: expected 22P02, got {codes:?}");
            assert!(!reply.closed, "{what}: the connection was closed");
        } else if what == "length past the end" {
            // A message announced longer than what was sent is incomplete, not malformed: the
            // server waits for the rest, as PostgreSQL does (others are served meanwhile).
        } else {
            // Malformed messages end the connection (with an ErrorResponse or without one);
            // what must not happen is a panic, a reply as if nothing were wrong, or a server
            // that stops answering others.
            assert!(reply.closed || !codes.is_empty(), "{what}: neither an error nor a closed connection");
        }
        still_serves(&server).await;
    }

    // A client that vanishes in the middle of a query.
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    stream.write_all(&startup()).await.expect("startup");
    stream
        .write_all(&query(b"SELECT count(*) FROM fuzz_t a, fuzz_t b, fuzz_t c, fuzz_t d, fuzz_t e, fuzz_t f, fuzz_t g, fuzz_t h"))
        .await
        .expect("query");
    drop(stream);
    still_serves(&server).await;

    assert_eq!(PANICS.load(Ordering::SeqCst), panics_before, "a malformed message made the server panic");
}

/// A client that vanishes in the middle of a COPY FROM STDIN, after the writer has taken its
/// first rows: nothing of it is loaded, and the writer is free for everyone else at once.
#[tokio::test]
async fn a_client_vanishing_mid_copy_loads_nothing_and_frees_the_writer() {
    let server = Server::start().await;
    let client = server.client().await;
    client.batch_execute("CREATE TABLE vanish (id int PRIMARY KEY)").await.unwrap();
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    stream.write_all(&startup()).await.expect("startup");
    stream.write_all(&query(b"COPY vanish FROM STDIN")).await.expect("query");
    let rows: Vec<u8> = (1..=20_000).flat_map(|i| format!("{i}\n").into_bytes()).collect();
    stream.write_all(&message(b'd', &rows)).await.expect("copy data");
    // The rows reach the writer: while they do, its other sessions' writes wait.
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(stream);
    let insert = client.batch_execute("INSERT INTO vanish VALUES (0)");
    tokio::time::timeout(Duration::from_secs(10), insert).await.expect("the writer is free again").unwrap();
    assert_eq!(lines(&client, "SELECT count(*), max(id) FROM vanish").await, ["1|0"]);
}

/// Text that does not parse is a syntax error whatever its characters: the parse-error path
/// looks for a COPY keyword in the first four bytes, which once sliced a multi-byte character
/// in two and panicked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unparsable_text_with_multibyte_characters_is_a_syntax_error() {
    let server = server_with_table().await;
    let panics_before = PANICS.load(Ordering::SeqCst);
    let client = server.client().await;
    for text in ["xпривет", "cпривет мир", "co\u{e9}py"] {
        let err = client.simple_query(text).await.expect_err(text);
        assert_eq!(err.code().map(|c| c.code()), Some("42601"), "{text}: {err:?}");
    }
    assert_eq!(PANICS.load(Ordering::SeqCst), panics_before, "unparsable text made the server panic");
    still_serves(&server).await;
}

/// The inputs of the regression corpus (`tests/fuzz/*.bin`).
fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut inputs: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .map(|p| (p.display().to_string(), std::fs::read(&p).expect("read corpus file")))
        .collect();
    inputs.sort();
    inputs
}

/// Valid conversations the fuzzer starts from.
fn seeds() -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for sql in [
        &b"SELECT id, name FROM fuzz_t WHERE id = 2"[..],
        b"SELECT count(*), max(name) FROM fuzz_t",
        b"INSERT INTO fuzz_t VALUES (10, 'x') ON CONFLICT (id) DO NOTHING",
        b"BEGIN; UPDATE fuzz_t SET name = 'y' WHERE id = 10; ROLLBACK",
        b"SELECT relname FROM pg_catalog.pg_class WHERE relkind = 'r'",
    ] {
        let mut s = startup();
        s.extend(query(sql));
        s.extend(message(b'X', b""));
        seeds.push(s);
    }
    let mut s = startup();
    s.extend(extended(b"SELECT name FROM fuzz_t WHERE id = $1::int", b"1"));
    seeds.push(s);
    seeds
}

/// One random mutation: flip, overwrite, insert or delete bytes, or splice in a length.
fn mutate(input: &[u8], rng: &mut rand::rngs::StdRng) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..rng.random_range(1..=4) {
        if out.is_empty() {
            out.push(rng.random());
            continue;
        }
        let at = rng.random_range(0..out.len());
        match rng.random_range(0..5) {
            0 => out[at] ^= 1 << rng.random_range(0..8),
            1 => out[at] = rng.random(),
            2 => out.insert(at, rng.random()),
            3 => {
                out.remove(at);
            }
            _ => {
                let len: i32 = [0, 1, 3, 4, 5, -1, i32::MAX, 1 << 20][rng.random_range(0..8)];
                for (i, b) in len.to_be_bytes().into_iter().enumerate() {
                    if at + i < out.len() {
                        out[at + i] = b;
                    }
                }
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_bytes_never_take_the_server_down() {
    let server = server_with_table().await;
    let panics_before = PANICS.load(Ordering::SeqCst);
    for (name, input) in corpus() {
        send_raw(&server, &input).await;
        assert_eq!(PANICS.load(Ordering::SeqCst), panics_before, "corpus input {name} made the server panic");
    }
    still_serves(&server).await;

    // Bounded and reproducible: a fixed seed (RHEI_FUZZ_SEED overrides it) and a fixed count.
    let seed: u64 = std::env::var("RHEI_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed);
    let rounds: usize = std::env::var("RHEI_FUZZ_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(300);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let seeds = seeds();
    for round in 0..rounds {
        let base = &seeds[rng.random_range(0..seeds.len())];
        let input = mutate(base, &mut rng);
        // A whole batch of connections at once, as a real fuzzing client would.
        send_raw(&server, &input).await;
        if PANICS.load(Ordering::SeqCst) != panics_before {
            let path = std::env::temp_dir().join(format!("rhei-fuzz-{seed}-{round}.bin"));
            let _ = std::fs::write(&path, &input);
            panic!("round {round} (seed {seed}) made the server panic; input saved to {} (add it to tests/fuzz/)", path.display());
        }
        if round % 50 == 49 {
            still_serves(&server).await;
        }
    }
    still_serves(&server).await;
}
