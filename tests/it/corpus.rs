//! Same answer from either engine: every query of `tests/corpus/queries.sql` runs on SQLite and
//! on DataFusion over the data of `tests/corpus/schema.sql` (both checked on PostgreSQL 15), and
//! the two results must be equal, column types included.
//!
//! Queries the engines still answer differently are listed, each with its reason, in
//! `tests/corpus/known_differences.txt`; the test fails on any other difference, and also when a
//! listed query starts to agree (so the list only ever shrinks and stays true).

use std::collections::BTreeMap;
use std::path::Path;

use rhei::Route;

use crate::common::{engine, rows};

fn corpus_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/corpus"))
}

/// `(name, sql)` for each `-- query: name` block.
fn queries() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(corpus_dir().join("queries.sql")).expect("read queries.sql");
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("-- query:") {
            out.push((name.trim().to_string(), String::new()));
        } else if let Some((_, sql)) = out.last_mut() {
            if !line.trim().is_empty() && !line.trim_start().starts_with("--") {
                sql.push_str(line);
                sql.push('\n');
            }
        }
    }
    out
}

fn known_differences() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(corpus_dir().join("known_differences.txt")).unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(':').map(|(n, why)| (n.trim().to_string(), why.trim().to_string())))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_engines_give_the_same_answers() {
    let (engine, _dir) = engine().await;
    let schema = std::fs::read_to_string(corpus_dir().join("schema.sql")).expect("read schema.sql");
    engine.execute_batch(&schema).await.expect("load the corpus schema");
    let queries = queries();
    assert!(queries.len() >= 200, "the corpus has {} queries", queries.len());
    let known = known_differences();
    let mut unexpected = Vec::new();
    let mut fixed = Vec::new();
    let mut agree = 0;
    for (name, sql) in &queries {
        let oltp = engine.query_with_route(sql, Route::Oltp).await;
        let olap = engine.query_with_route(sql, Route::Olap).await;
        let verdict = match (&oltp, &olap) {
            (Ok(a), Ok(b)) => {
                // Exact numeric text from SQLite (declared an unconstrained numeric, as the
                // results of its exact arithmetic are) is a numeric on the wire, as a decimal is.
                let types = |bs: &[arrow::array::RecordBatch]| {
                    bs.first().map(|b| {
                        b.schema()
                            .fields()
                            .iter()
                            .map(|f| match f.data_type() {
                                arrow::datatypes::DataType::Utf8 if rhei_engine::catalog::types::declares_unconstrained_numeric(f) => "numeric".to_string(),
                                arrow::datatypes::DataType::Decimal128(..) | arrow::datatypes::DataType::Decimal256(..) => "numeric".to_string(),
                                other => other.to_string(),
                            })
                            .collect::<Vec<_>>()
                    })
                };
                let (ra, rb) = (rows(a), rows(b));
                if ra != rb {
                    Err(format!("rows differ\n  sqlite:     {ra:?}\n  datafusion: {rb:?}"))
                } else if !ra.is_empty() && types(a) != types(b) {
                    Err(format!("types differ: sqlite {:?} vs datafusion {:?}", types(a), types(b)))
                } else {
                    Ok(())
                }
            }
            (a, b) => Err(format!(
                "errors: sqlite {:?} / datafusion {:?}",
                a.as_ref().err().map(ToString::to_string),
                b.as_ref().err().map(ToString::to_string)
            )),
        };
        match (verdict, known.contains_key(name)) {
            (Ok(()), false) => agree += 1,
            (Ok(()), true) => fixed.push(name.clone()),
            (Err(_), true) => {}
            (Err(why), false) => unexpected.push(format!("{name}: {why}\n  {}", sql.trim())),
        }
    }
    println!("{agree} of {} corpus queries agree; {} listed as known differences", queries.len(), known.len());
    assert!(fixed.is_empty(), "these now agree; remove them from known_differences.txt: {fixed:?}");
    assert!(unexpected.is_empty(), "{} queries disagree:\n{}", unexpected.len(), unexpected.join("\n\n"));
    assert!(agree >= 200, "only {agree} queries agree");
}
