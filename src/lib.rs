//! rhei: an HTAP database that speaks the PostgreSQL wire protocol. Writes and point reads go
//! to an embedded SQLite, analytics to DataFusion, and change capture keeps the two in step.
//!
//! This facade re-exports the engine's Rust API and the server:
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use rhei::{EngineConfig, HtapEngine};
//! let dir = tempfile::tempdir().unwrap();
//! let engine = HtapEngine::open(EngineConfig::with_data_dir(dir.path())).await.unwrap();
//! engine.execute_batch("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a');").await.unwrap();
//! let batches = engine.query("SELECT count(*) FROM t").await.unwrap();
//! assert_eq!(batches[0].num_rows(), 1);
//! # engine.close().await;
//! # });
//! ```

pub use rhei_config::{Config, ConfigError, RawConfig, UserConfig, redact};
pub use rhei_engine::{
    Consistency, EngineConfig, EngineError, Forwarding, HtapEngine, OlapPriority, OlapStorage, Output, Prepared, Route, RouteDecision, RowStream,
    ScalarValue, Session, SyncStatus, Synchronous, TableSyncStatus,
};
pub use rhei_proxy::serve;
