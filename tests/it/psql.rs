//! psql, the client everyone has, against a running server. psql must be installed (`.ci/run`
//! installs it); a missing psql fails the test rather than skipping it.

use std::process::Command;

use crate::common::Server;

fn psql_binary() -> String {
    for candidate in ["/usr/lib/postgresql/15/bin/psql", "/usr/bin/psql"] {
        if std::path::Path::new(candidate).exists() {
            return candidate.to_string();
        }
    }
    panic!("psql is not installed: apt-get install postgresql-client (or run .ci/run)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_runs_a_script() {
    let server = Server::start().await;
    let script = "CREATE TABLE kv (k text PRIMARY KEY, v int);\n\
                  INSERT INTO kv VALUES ('a', 1), ('b', 2);\n\
                  SELECT k, v FROM kv ORDER BY k;\n\
                  SELECT sum(v) AS total FROM kv;\n";
    let psql = psql_binary();
    let port = server.addr.port().to_string();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(psql)
            .args(["-h", "127.0.0.1", "-p", &port, "-U", "rhei", "-d", "rhei", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-c", script])
            .output()
            .expect("run psql")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "psql failed: {}{}", stdout, String::from_utf8_lossy(&output.stderr));
    assert_eq!(stdout.lines().filter(|l| !l.is_empty()).collect::<Vec<_>>(), vec!["a|1", "b|2", "3"]);
}
