//! Authentication and TLS through real clients: SCRAM-SHA-256 and cleartext passwords with
//! tokio-postgres, a read-only user, and psql over TLS with `sslmode=verify-full`.

use std::process::Command;

use rhei::UserConfig;

use crate::common::Server;
use crate::psql::psql_binary;

fn users(raw: &mut rhei::RawConfig, method: &str) {
    raw.server.auth = Some(method.into());
    raw.server.users.insert("app".into(), UserConfig { password: Some("s3cret pass".into()), read_only: false });
    raw.server.users.insert("viewer".into(), UserConfig { password: Some("look".into()), read_only: true });
}

async fn connect(server: &Server, user: &str, password: &str) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let mut config = tokio_postgres::Config::new();
    config.host(server.addr.ip().to_string()).port(server.addr.port()).user(user).password(password).dbname("rhei");
    let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

fn sqlstate(e: &tokio_postgres::Error) -> Option<String> {
    e.code().map(|c| c.code().to_string())
}

async fn passwords_admit_users_and_read_only_users_cannot_write(method: &str) {
    let server = Server::start_with(|raw| users(raw, method)).await;
    let app = connect(&server, "app", "s3cret pass").await.expect("right password");
    app.batch_execute("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)").await.unwrap();
    let wrong = connect(&server, "app", "guess").await.err().expect("wrong password refused");
    assert_eq!(sqlstate(&wrong).as_deref(), Some("28P01"), "{wrong}");
    let nobody = connect(&server, "nobody", "x").await.err().expect("unknown user refused");
    assert_eq!(sqlstate(&nobody).as_deref(), Some("28P01"), "{nobody}");
    let viewer = connect(&server, "viewer", "look").await.expect("viewer logs in");
    let n: i64 = viewer.query_one("SELECT count(*) FROM t", &[]).await.unwrap().get(0);
    assert_eq!(n, 1);
    for write in ["INSERT INTO t VALUES (2)", "DELETE FROM t", "CREATE TABLE u (id int)", "DROP TABLE t"] {
        let e = viewer.batch_execute(write).await.unwrap_err();
        assert_eq!(sqlstate(&e).as_deref(), Some("25006"), "{write}: {e}");
    }
    let shown: String = viewer.query_one("SHOW transaction_read_only", &[]).await.unwrap().get(0);
    assert_eq!(shown, "on");
    // PostgreSQL allows LISTEN and NOTIFY in a read-only transaction.
    viewer.batch_execute("LISTEN jobs; NOTIFY jobs, 'from a reader'").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scram_sha_256_admits_users_and_read_only_users_cannot_write() {
    passwords_admit_users_and_read_only_users_cannot_write("scram-sha-256").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleartext_passwords_admit_users_and_read_only_users_cannot_write() {
    passwords_admit_users_and_read_only_users_cannot_write("password").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_connects_over_tls_with_verify_full() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("server.crt"), dir.path().join("server.key"));
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl is installed (apt-get install openssl)");
    assert!(made.status.success(), "openssl: {}", String::from_utf8_lossy(&made.stderr));
    let (c, k) = (cert.clone(), key.clone());
    let server = Server::start_with(move |raw| {
        raw.server.tls_cert = Some(c);
        raw.server.tls_key = Some(k);
    })
    .await;
    let conninfo = format!(
        "host=localhost port={} user=rhei dbname=rhei sslmode=verify-full sslrootcert={}",
        server.addr.port(),
        cert.display()
    );
    let psql = psql_binary();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(psql).args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", &conninfo, "-c", "\\conninfo", "-c", "SELECT 40 + 2"]).output().expect("run psql")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "psql failed: {stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("SSL connection (protocol: TLSv1."), "{stdout}");
    assert!(stdout.lines().any(|l| l == "42"), "{stdout}");
}
