//! A PostgreSQL 15 upstream that only accepts TLS (`hostnossl ... reject`), followed and written
//! through by rhei with `sslmode=verify-full`: the snapshot, logical replication and forwarded
//! sessions are all encrypted, and a certificate that does not verify stops the sidecar with a
//! message that says so.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::common::{Server, lines};
use crate::pg_cluster::{ClusterOptions, WAIT, start_cluster, start_cluster_with, wait_state};

/// A certificate authority and a server certificate it signed for 127.0.0.1 and localhost.
struct Certificates {
    ca: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let made = Command::new("openssl").current_dir(dir).args(args).output().expect("openssl is installed (apt-get install openssl)");
    assert!(made.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&made.stderr));
}

fn make_certificates(dir: &Path, name: &str) -> Certificates {
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    let (ca, ca_key) = (format!("{name}-ca.crt"), format!("{name}-ca.key"));
    openssl(dir, &[&["req", "-x509"][..], &ec, &["-days", "2", "-subj", &format!("/CN={name} test CA"), "-keyout", &ca_key, "-out", &ca]].concat());
    let (cert, key, request) = (format!("{name}-server.crt"), format!("{name}-server.key"), format!("{name}-server.csr"));
    openssl(dir, &[&["req"][..], &ec, &["-subj", "/CN=localhost", "-keyout", &key, "-out", &request]].concat());
    let extensions = dir.join(format!("{name}-server.ext"));
    std::fs::write(&extensions, "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n").unwrap();
    openssl(
        dir,
        &["x509", "-req", "-in", &request, "-CA", &ca, "-CAkey", &ca_key, "-CAcreateserial", "-days", "2", "-out", &cert, "-extfile"]
            .into_iter()
            .chain([extensions.to_str().unwrap()])
            .collect::<Vec<_>>(),
    );
    Certificates { ca: dir.join(ca), server_cert: dir.join(cert), server_key: dir.join(key) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_only_upstream_is_followed_and_written_through_with_verify_full() {
    let dir = tempfile::tempdir().unwrap();
    let trusted = make_certificates(dir.path(), "trusted");
    let stranger = make_certificates(dir.path(), "stranger");
    let pg = start_cluster_with(ClusterOptions {
        hba_first: vec!["hostnossl all all 127.0.0.1/32 reject".into(), "hostnossl replication all 127.0.0.1/32 reject".into()],
        tls: Some((trusted.server_cert.clone(), trusted.server_key.clone())),
        ..ClusterOptions::default()
    });
    let url = |mode: &str, root: &Path| format!("{}?sslmode={mode}&sslrootcert={}", pg.url(), root.display());

    // The application's own connection, encrypted as it must be.
    let up = rhei_sidecar::postgres::connect(&rhei_sidecar::upstream::UpstreamConfig::parse(&url("verify-full", &trusted.ca)).unwrap())
        .await
        .expect("a verify-full connection to the upstream");
    up.batch_execute(
        "CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL, balance numeric(12,2));
         INSERT INTO accounts SELECT g, 'owner ' || g, g * 10 FROM generate_series(1, 500) g;",
    )
    .await
    .unwrap();

    // A certificate from an authority rhei was not told to trust stops the sidecar, saying why.
    let refused = Server::start_with({
        let url = url("verify-full", &stranger.ca);
        move |raw| raw.sidecar.upstream = Some(url)
    })
    .await;
    let failed = wait_state(&refused.client().await, "failed").await;
    assert!(failed.contains("certificate") && failed.contains("UnknownIssuer"), "{failed}");
    drop(refused);

    // Without TLS the upstream turns rhei away, and the message names the cure.
    let plain = Server::start_with({
        let url = url("disable", &trusted.ca);
        move |raw| raw.sidecar.upstream = Some(url)
    })
    .await;
    let failed = wait_state(&plain.client().await, "failed").await;
    assert!(failed.contains("no encryption"), "{failed}");
    drop(plain);

    let server = Server::start_with({
        let url = url("verify-full", &trusted.ca);
        move |raw| {
            raw.sidecar.upstream = Some(url);
            raw.sidecar.forward_writes = Some(true);
        }
    })
    .await;
    let rh = server.client().await;
    wait_state(&rh, "streaming").await;
    let totals = "SELECT count(*), sum(balance) FROM accounts";
    assert_eq!(lines(&rh, totals).await, lines(&up, totals).await, "the snapshot");

    // Changes stream in over the encrypted walsender connection.
    up.batch_execute("UPDATE accounts SET balance = balance + 1 WHERE id <= 100; DELETE FROM accounts WHERE id > 450").await.unwrap();
    let started = Instant::now();
    while lines(&rh, totals).await != lines(&up, totals).await {
        assert!(started.elapsed() < WAIT, "replicated changes never arrived");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let encrypted = "SELECT count(*) FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid) WHERE s.ssl AND s.version LIKE 'TLSv1.%'";
    assert_eq!(lines(&up, encrypted).await, vec!["1"], "the walsender connection is encrypted");

    // Writes forwarded through rhei reach the upstream on an encrypted session of their own.
    rh.batch_execute("INSERT INTO accounts VALUES (9001, 'through rhei', 1.50)").await.unwrap();
    assert_eq!(lines(&up, "SELECT owner FROM accounts WHERE id = 9001").await, vec!["through rhei"]);
    assert_eq!(lines(&rh, "SELECT count(*) FROM accounts WHERE id = 9001").await, vec!["1"], "read-your-writes");
}

fn upstream(url: &str) -> rhei_sidecar::upstream::UpstreamConfig {
    rhei_sidecar::upstream::UpstreamConfig::parse(url).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstreams_without_tls_connect_by_socket_or_address_and_refuse_sslmode_require() {
    let pg = start_cluster();
    let socket_dir = pg.data_dir().parent().unwrap().display().to_string();
    let by_socket = format!("host={socket_dir} port={} user=postgres dbname=postgres", pg.port());
    let client = rhei_sidecar::postgres::connect(&upstream(&by_socket)).await;
    assert!(client.is_ok(), "a Unix socket with the default sslmode: {:?}", client.err());
    let by_address = format!("hostaddr=127.0.0.1 port={} user=postgres dbname=postgres", pg.port());
    let client = rhei_sidecar::postgres::connect(&upstream(&by_address)).await;
    assert!(client.is_ok(), "an address without a host name, with the default sslmode: {:?}", client.err());

    // require against a server with TLS off fails once, saying why, instead of retrying.
    let server = Server::start_with({
        let url = format!("{}?sslmode=require", pg.url());
        move |raw| raw.sidecar.upstream = Some(url)
    })
    .await;
    let failed = wait_state(&server.client().await, "failed").await;
    assert!(failed.contains("does not support TLS"), "{failed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefer_goes_on_unencrypted_when_the_servers_certificate_cannot_be_read() {
    // An X.509 version 1 certificate (what `openssl x509 -req` makes without extensions):
    // PostgreSQL serves it, rustls cannot parse it, libpq's prefer falls back to plain text.
    let dir = tempfile::tempdir().unwrap();
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    openssl(dir.path(), &[&["req", "-x509"][..], &ec, &["-days", "2", "-subj", "/CN=v1 CA", "-keyout", "ca.key", "-out", "ca.crt"]].concat());
    openssl(dir.path(), &[&["req"][..], &ec, &["-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr"]].concat());
    openssl(dir.path(), &["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-out", "server.crt"]);
    let version = Command::new("openssl").current_dir(dir.path()).args(["x509", "-in", "server.crt", "-noout", "-text"]).output().unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).contains("Version: 1"), "openssl made a version 3 certificate");
    let pg = start_cluster_with(ClusterOptions {
        tls: Some((dir.path().join("server.crt"), dir.path().join("server.key"))),
        ..ClusterOptions::default()
    });
    let up = rhei_sidecar::postgres::connect(&upstream(&pg.url())).await.expect("prefer connects");
    up.batch_execute("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 10)").await.unwrap();
    let server = Server::start_with({
        let url = pg.url();
        move |raw| raw.sidecar.upstream = Some(url)
    })
    .await;
    let rh = server.client().await;
    wait_state(&rh, "streaming").await;
    assert_eq!(lines(&rh, "SELECT count(*) FROM t").await, vec!["10"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresqls_documented_self_signed_certificate_verifies_by_its_common_name() {
    // PostgreSQL's manual: `openssl req -new -x509 ... -subj "/CN=dbhost"`, then the same file
    // as the client's root.crt. That certificate is marked CA:TRUE and has no subjectAltName.
    let dir = tempfile::tempdir().unwrap();
    openssl(dir.path(), &["req", "-new", "-x509", "-days", "2", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.crt"]);
    let cert = dir.path().join("server.crt");
    let pg = start_cluster_with(ClusterOptions {
        hba_first: vec!["hostnossl all all 127.0.0.1/32 reject".into()],
        tls: Some((cert.clone(), dir.path().join("server.key"))),
        ..ClusterOptions::default()
    });
    let url = |host: &str, mode: &str| format!("host={host} port={} user=postgres dbname=postgres sslmode={mode} sslrootcert={}", pg.port(), cert.display());
    for (host, mode) in [("localhost", "verify-full"), ("127.0.0.1", "verify-ca")] {
        let client = rhei_sidecar::postgres::connect(&upstream(&url(host, mode))).await;
        assert!(client.is_ok(), "{host} {mode}: {:?}", client.err());
    }
    // The name is still checked: the certificate names localhost, not the address.
    let wrong_name = rhei_sidecar::postgres::connect(&upstream(&url("127.0.0.1", "verify-full"))).await.err().expect("refused");
    assert!(wrong_name.to_string().contains("NotValidForName"), "{wrong_name}");
    // And only the certificate that was given is trusted.
    let other = tempfile::tempdir().unwrap();
    openssl(other.path(), &["req", "-new", "-x509", "-days", "2", "-nodes", "-subj", "/CN=localhost", "-keyout", "other.key", "-out", "other.crt"]);
    let stranger = format!("host=localhost port={} user=postgres dbname=postgres sslmode=verify-full sslrootcert={}", pg.port(), other.path().join("other.crt").display());
    let refused = rhei_sidecar::postgres::connect(&upstream(&stranger)).await.err().expect("refused");
    assert!(refused.to_string().contains("invalid peer certificate"), "{refused}");
}
