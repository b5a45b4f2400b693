//! Child process of the crash test (tests/it/crash.rs): opens an engine on the data directory
//! given as its argument and writes until killed, printing each write on stdout only after the
//! engine acknowledged it. Inserts, updates and deletes are mixed so recovery of each is seen.
//! A second argument `parquet` keeps the OLAP copy in Parquet files too, written every 20 ms,
//! so kills also land while files and manifests are being written.

use std::io::Write;

use rhei::{EngineConfig, HtapEngine, Route};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = std::env::args().nth(1).expect("usage: crash_writer DATA_DIR [parquet]");
    let config = match std::env::args().nth(2).as_deref() {
        Some("parquet") => EngineConfig {
            olap_storage: rhei::OlapStorage::Parquet,
            olap_persist_interval: std::time::Duration::from_millis(20),
            ..EngineConfig::with_data_dir(dir)
        },
        _ => EngineConfig::with_data_dir(dir),
    };
    let engine = HtapEngine::open(config).await.expect("open engine");
    engine.execute("CREATE TABLE IF NOT EXISTS t (id bigint PRIMARY KEY, v bigint NOT NULL, note text)").await.expect("create");
    let start = engine.query_with_route("SELECT coalesce(max(id), 0) FROM t", Route::Oltp).await.expect("max id");
    let start = start
        .first()
        .and_then(|b| b.column(0).as_any().downcast_ref::<arrow::array::Int64Array>().map(|a| a.value(0)))
        .unwrap_or(0);
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready").expect("stdout");
    out.flush().expect("stdout");
    let mut id = start;
    // Each write is announced (lower case, flushed) before it runs and confirmed (upper case)
    // after the engine acknowledged it: a kill between the two leaves that one write in doubt,
    // and the test accepts either outcome for it and only for it.
    let announce = |out: &mut std::io::StdoutLock<'_>, line: String| {
        writeln!(out, "{line}").expect("stdout");
        out.flush().expect("stdout");
    };
    loop {
        id += 1;
        announce(&mut out, format!("i {id}"));
        engine.execute(&format!("INSERT INTO t VALUES ({id}, {id}, 'row {id}')")).await.expect("insert");
        writeln!(out, "I {id}").expect("stdout");
        if id % 3 == 0 {
            announce(&mut out, format!("u {}", id - 1));
            engine.execute(&format!("UPDATE t SET v = v + 1000, note = NULL WHERE id = {}", id - 1)).await.expect("update");
            writeln!(out, "U {}", id - 1).expect("stdout");
        }
        if id % 5 == 0 {
            announce(&mut out, format!("d {}", id - 2));
            engine.execute(&format!("DELETE FROM t WHERE id = {}", id - 2)).await.expect("delete");
            writeln!(out, "D {}", id - 2).expect("stdout");
        }
        if id % 7 == 0 {
            // An aggregate now and then, so sync runs while the kill lands.
            engine.query("SELECT count(*), sum(v) FROM t").await.expect("aggregate");
        }
        out.flush().expect("stdout");
    }
}
