//! rhei-engine: the part of rhei that owns the data. SQLite (rusqlite, WAL) takes every write and
//! point read on dedicated threads; a trigger-based change log, committed in the same SQLite
//! transaction as each change, feeds an in-memory Arrow copy queried by DataFusion. Statements are
//! parsed with sqlparser's PostgreSQL dialect, routed by rule (`EXPLAIN ROUTE` says why), and
//! translated for SQLite where the dialects differ. OLAP reads wait for the copy to reach the
//! commit sequence they observed (read-your-writes).
//!
//! This crate speaks Arrow and its own catalog types; it knows nothing of the PostgreSQL wire
//! protocol.

mod advisory;
pub mod alter_sequence;
pub mod bytea;
pub mod capture;
pub mod catalog;
pub mod copy;
pub mod datetime_input;
mod degree_trig;
mod cursor;
pub mod describe;
mod engine;
mod interval_aggregate;
pub mod json;
mod key_detail;
mod lift;
mod like;
mod maintenance;
pub mod error;
mod exact_decimal;
pub mod naming;
pub mod network;
pub mod notice;
pub mod notify;
mod numeric_math;
pub mod number_format;
pub mod olap;
pub mod oltp;
mod output;
pub mod replica;
pub mod router;
pub mod row_chunk;
pub mod session;
mod session_values;
pub mod similar;
pub mod status;
pub mod sync;
mod table_as;
mod temporal;
pub mod text_format;
pub mod translate;
mod unicode_text;
pub mod value;
pub mod views;
mod xact;
pub mod zone;

pub use datafusion::common::ScalarValue;
pub use engine::{HtapEngine, SyncStatus, TableSyncStatus};
pub use describe::Description;
pub use error::{EngineError, Result};
pub use notice::{Notice, NoticeLevel};
pub use output::{CommandTag, Output, RowStream};
pub use rhei_config::{Consistency, EngineConfig, OlapPriority, OlapStorage, Synchronous};
pub use router::{Route, RouteDecision};
pub use zone::TimeZone;
pub use session::{CopyLoad, Forwarding, Prepared, Session, TransactionStatus};

/// The version PostgreSQL clients see: a PostgreSQL 15 version, then rhei's own.
pub const SERVER_VERSION: &str = concat!("15.0 (rhei ", env!("CARGO_PKG_VERSION"), ")");

/// What `version()` answers: PostgreSQL's form, with [`SERVER_VERSION`] in it.
pub fn version_text() -> String {
    format!("PostgreSQL {SERVER_VERSION} on {}-{}, compiled by rustc, 64-bit", std::env::consts::ARCH, std::env::consts::OS)
}
