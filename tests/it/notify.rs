//! LISTEN / NOTIFY / pg_notify() through the wire, heard by tokio-postgres's connection as
//! asynchronous messages: delivery to idle listeners, transactional NOTIFY and LISTEN, the
//! listener's own transaction holding delivery back, and PostgreSQL's errors.
//!
//! tokio-postgres hands a notification to the connection's message stream as it reads it, before
//! the answer of any later statement on that connection: so once a statement of the listener
//! has returned, every notification the server sent before that answer has been collected, and
//! one that was not sent is known not to have been.

use std::time::Duration;

use futures::StreamExt;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_postgres::{AsyncMessage, Client, Notification};

use crate::common::{Server, lines, try_lines};

/// A client whose connection's notifications are collected into the receiver.
pub(crate) async fn listener(server: &Server) -> (Client, UnboundedReceiver<Notification>) {
    let conninfo = format!("host={} port={} user=rhei dbname=rhei", server.addr.ip(), server.addr.port());
    let (client, mut connection) = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls).await.expect("connect");
    let (heard, receiver) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(Ok(message)) = messages.next().await {
            if let AsyncMessage::Notification(n) = message {
                let _ = heard.send(n);
            }
        }
    });
    (client, receiver)
}

/// The next notification, waited for (a listener that idles hears it without asking).
async fn next(heard: &mut UnboundedReceiver<Notification>) -> (String, String, i32) {
    let n = tokio::time::timeout(Duration::from_secs(10), heard.recv()).await.expect("a notification within 10 s").expect("connection open");
    (n.channel().to_string(), n.payload().to_string(), n.process_id())
}

/// What has been heard so far, without waiting.
fn heard_so_far(heard: &mut UnboundedReceiver<Notification>) -> Vec<String> {
    std::iter::from_fn(|| heard.try_recv().ok()).map(|n| format!("{}:{}", n.channel(), n.payload())).collect()
}

async fn backend_pid(client: &Client) -> i32 {
    client.query_one("SELECT pg_backend_pid()", &[]).await.expect("pid").get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_listener_hears_committed_notifications_in_order_once_each() {
    let server = Server::start().await;
    let (listening, mut heard) = listener(&server).await;
    let notifier = server.client().await;
    let notifier_pid = backend_pid(&notifier).await;
    listening.batch_execute("LISTEN jobs; LISTEN \"Mixed Case\"").await.unwrap();

    notifier.batch_execute("NOTIFY jobs, 'first'").await.unwrap();
    assert_eq!(next(&mut heard).await, ("jobs".into(), "first".into(), notifier_pid));

    // In a block: nothing until COMMIT, then each distinct (channel, payload) once, in order.
    notifier.batch_execute("BEGIN; NOTIFY jobs, 'a'; NOTIFY jobs, 'a'; NOTIFY \"Mixed Case\"").await.unwrap();
    assert_eq!(notifier.execute("SELECT pg_notify($1, $2)", &[&"jobs", &"b"]).await.unwrap(), 1);
    lines(&listening, "SELECT 1").await;
    assert!(heard_so_far(&mut heard).is_empty(), "delivered before the notifier committed");
    notifier.batch_execute("COMMIT").await.unwrap();
    assert_eq!(next(&mut heard).await.1, "a");
    assert_eq!(next(&mut heard).await, ("Mixed Case".into(), String::new(), notifier_pid));
    assert_eq!(next(&mut heard).await.1, "b");

    // Rolled back, or rolled back to a savepoint: not sent.
    notifier.batch_execute("BEGIN; NOTIFY jobs, 'rolled back'; ROLLBACK").await.unwrap();
    notifier
        .batch_execute("BEGIN; NOTIFY jobs, 'kept'; SAVEPOINT s; NOTIFY jobs, 'undone'; ROLLBACK TO s; SELECT pg_notify('jobs', 'after'); COMMIT")
        .await
        .unwrap();
    assert_eq!(next(&mut heard).await.1, "kept");
    assert_eq!(next(&mut heard).await.1, "after");

    // pg_notify() takes any text expression; a NULL payload is an empty one.
    lines(&notifier, "SELECT pg_notify('jo' || 'bs', upper('x') || 1)").await;
    assert_eq!(next(&mut heard).await.1, "X1");
    assert_eq!(lines(&notifier, "SELECT pg_notify('jobs', NULL) AS sent").await, [""]);
    assert_eq!(next(&mut heard).await.1, "");

    listening.batch_execute("UNLISTEN jobs").await.unwrap();
    notifier.batch_execute("NOTIFY jobs, 'unheard'; NOTIFY \"Mixed Case\", 'heard'").await.unwrap();
    assert_eq!(next(&mut heard).await.1, "heard");
    listening.batch_execute("UNLISTEN *").await.unwrap();
    notifier.batch_execute("NOTIFY \"Mixed Case\", 'unheard'").await.unwrap();
    lines(&listening, "SELECT 1").await;
    assert!(heard_so_far(&mut heard).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_in_a_transaction_block_hears_at_its_end_and_listen_is_transactional() {
    let server = Server::start().await;
    let (listening, mut heard) = listener(&server).await;
    let notifier = server.client().await;

    // LISTEN in a block that rolls back never listened.
    listening.batch_execute("BEGIN; LISTEN never; ROLLBACK").await.unwrap();
    listening.batch_execute("BEGIN; LISTEN c; COMMIT").await.unwrap();
    notifier.batch_execute("NOTIFY never; NOTIFY c, '1'").await.unwrap();
    assert_eq!(next(&mut heard).await.1, "1");

    let usage = "SELECT pg_notification_queue_usage()";
    let idle: f64 = notifier.query_one(usage, &[]).await.unwrap().get(0);
    assert_eq!(idle, 0.0, "nothing waits");
    listening.batch_execute("BEGIN").await.unwrap();
    notifier.batch_execute("NOTIFY c, 'held'").await.unwrap();
    lines(&listening, "SELECT 1").await;
    // What waits for the listener's block to end fills its share of the queue a little.
    let waiting: f64 = notifier.query_one(usage, &[]).await.unwrap().get(0);
    assert!(waiting > 0.0 && waiting < 0.001, "{waiting}");
    assert!(heard_so_far(&mut heard).is_empty(), "delivered inside the listener's transaction block");
    listening.batch_execute("COMMIT").await.unwrap();
    assert_eq!(heard_so_far(&mut heard), ["c:held"], "delivered with the COMMIT's answer");

    // A session hears itself: its LISTEN starts at commit, before its notifications go out.
    let own_pid = backend_pid(&listening).await;
    listening.batch_execute("BEGIN; LISTEN own; NOTIFY own, 'me'; COMMIT").await.unwrap();
    assert_eq!(heard_so_far(&mut heard), ["own:me"]);
    listening.batch_execute("NOTIFY own, 'again'").await.unwrap();
    let (_, payload, pid) = next(&mut heard).await;
    assert_eq!((payload.as_str(), pid), ("again", own_pid));

    // pg_listening_channels(): the channels listened to, a LISTEN counting from its COMMIT.
    listening.batch_execute("BEGIN; LISTEN later").await.unwrap();
    assert_eq!(lines(&listening, "SELECT pg_listening_channels()").await, ["c", "own"]);
    listening.batch_execute("COMMIT; UNLISTEN c").await.unwrap();
    assert_eq!(lines(&listening, "SELECT pg_catalog.pg_listening_channels() AS ch").await, ["later", "own"]);
    let typed = listening.query("SELECT pg_listening_channels()", &[]).await.unwrap();
    assert_eq!((typed.len(), typed[0].columns()[0].type_().name()), (2, "text"));
    assert!(lines(&notifier, "SELECT pg_listening_channels()").await.is_empty());
    // In FROM, as a table the rest of the query reads (42883 or a planning error before).
    assert_eq!(lines(&listening, "SELECT * FROM pg_listening_channels() ORDER BY 1").await, ["later", "own"]);
    assert_eq!(lines(&listening, "SELECT upper(ch) FROM pg_catalog.pg_listening_channels() AS ch WHERE ch LIKE 'o%'").await, ["OWN"]);
    let described = listening.query("SELECT l.c FROM pg_listening_channels() AS l(c) ORDER BY c DESC", &[]).await.unwrap();
    let got: Vec<String> = described.iter().map(|row| row.get(0)).collect();
    assert_eq!((got, described[0].columns()[0].name()), (vec!["own".to_string(), "later".to_string()], "c"));
    assert!(lines(&notifier, "SELECT count(*) FROM pg_listening_channels() HAVING count(*) > 0").await.is_empty());
    // Beside it, time travel on a table without history still fails as it does alone.
    notifier.batch_execute("CREATE TABLE plain (id int)").await.unwrap();
    let err = try_lines(&notifier, "SELECT * FROM plain FOR SYSTEM_TIME ALL, pg_listening_channels()").await.unwrap_err();
    assert_eq!(err.as_db_error().map(|e| e.code().code()), Some("0A000"), "{err:?}");
    // The session functions rhei answers, written pg_catalog-qualified, are not taken for
    // catalog queries (42883 "function ... does not exist" before).
    lines(&notifier, "SELECT pg_catalog.pg_notify('own', 'qualified')").await;
    assert_eq!(next(&mut heard).await.1, "qualified");
    assert_eq!(lines(&notifier, "SELECT pg_catalog.pg_try_advisory_lock(1)").await, ["t"]);
    assert_eq!(lines(&notifier, "SELECT pg_catalog.txid_current()").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_errors_are_postgresql_s() {
    let server = Server::start().await;
    let client = server.client().await;
    let code = |r: Result<Vec<tokio_postgres::SimpleQueryMessage>, tokio_postgres::Error>| {
        r.err().and_then(|e| e.as_db_error().map(|d| (d.code().code().to_string(), d.message().to_string())))
    };
    let long = format!("NOTIFY c, '{}'", "x".repeat(8000));
    assert_eq!(code(client.simple_query(&long).await), Some(("22023".into(), "payload string too long".into())));
    assert_eq!(code(client.simple_query("SELECT pg_notify('', 'x')").await), Some(("22023".into(), "channel name cannot be empty".into())));
    assert_eq!(code(client.simple_query("SELECT pg_notify(NULL, 'x')").await), Some(("22023".into(), "channel name cannot be empty".into())));
    let long_channel = format!("SELECT pg_notify('{}', '')", "c".repeat(64));
    assert_eq!(code(client.simple_query(&long_channel).await), Some(("22023".into(), "channel name too long".into())));
    assert_eq!(code(client.simple_query("SELECT pg_notify('c')").await).map(|(c, _)| c), Some("42883".into()));
    // A NUL would end the payload early in every listener's NotificationResponse: PostgreSQL's
    // text cannot hold one, and neither can a text parameter.
    let nul = client.execute("SELECT pg_notify($1, $2)", &[&"c", &"a\0b"]).await.unwrap_err();
    assert_eq!(nul.as_db_error().map(|d| d.code().code()), Some("22021"), "{nul}");
    // A failed block refuses NOTIFY like anything else; nothing it asked for is sent.
    client.batch_execute("BEGIN").await.unwrap();
    assert!(client.batch_execute("SELECT 1/0").await.is_err());
    assert_eq!(code(client.simple_query("NOTIFY c").await).map(|(c, _)| c), Some("25P02".into()));
    client.batch_execute("ROLLBACK").await.unwrap();
}
