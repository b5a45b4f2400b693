//! A server in a process of its own, for tests that kill it or measure it: serves the data
//! directory given as its first argument on a free loopback port (printed as `listening
//! PORT`), following the upstream given as its second argument if there is one (the sidecar
//! crash test, tests/it/sidecar.rs), and runs until killed. `RHEI_*` variables apply.

use std::io::Write;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next() else {
        eprintln!("usage: sidecar_node DATA_DIR [UPSTREAM_URL]");
        std::process::exit(2);
    };
    let mut raw = rhei::RawConfig::default();
    raw.apply_env(std::env::vars()).expect("RHEI_* settings");
    raw.engine.data_dir = Some(dir.into());
    raw.sidecar.upstream = args.next();
    let config = raw.validate().expect("valid configuration");
    let engine = rhei::HtapEngine::open(config.engine.clone()).await.expect("open engine");
    let shutdown = tokio_util::sync::CancellationToken::new();
    if let Some(sidecar) = config.sidecar.clone() {
        tokio::spawn(rhei_sidecar::PgFollower::new(engine.clone(), sidecar).expect("follower").run(shutdown.clone()));
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    println!("listening {port}");
    std::io::stdout().flush().expect("stdout");
    rhei::serve(listener, engine, config.server, shutdown).await.expect("serve");
}
