//! rhei-sidecar: follows an upstream database into rhei's replica tables. SQLite files are
//! followed by timestamp polling (`sqlite`). For PostgreSQL it takes
//! a consistent snapshot inside the exported snapshot of a new logical replication slot, then
//! streams pgoutput changes from exactly that point, applying each upstream transaction
//! atomically with the LSN it ends at (so a restart resumes with nothing lost or doubled) and
//! confirming the LSN to the upstream only once that is durable.
//!
//! The engine does the storing (temporal versions, positions, the OLAP copy); this crate speaks
//! to the upstream. `pgoutput` and `replication` are the protocol layer, `schema` maps upstream
//! tables to replica tables, `postgres` is the follower. `testing` starts throwaway upstream
//! clusters for tests and benchmarks.

pub mod error;
pub mod pgoutput;
pub mod postgres;
pub mod replication;
pub mod schema;
pub mod sqlite;
pub mod testing;

pub use error::SidecarError;
pub use postgres::PgFollower;
pub use sqlite::SqliteFollower;

/// Starts following `config.upstream` until `shutdown`: PostgreSQL by logical replication,
/// `sqlite://` files by timestamp polling.
///
/// # Errors
/// An upstream URL that does not parse.
pub fn spawn(
    engine: rhei_engine::HtapEngine,
    config: rhei_config::SidecarConfig,
    shutdown: tokio_util::sync::CancellationToken,
) -> Result<tokio::task::JoinHandle<()>, SidecarError> {
    Ok(match config.sqlite_path() {
        Some(_) => tokio::spawn(SqliteFollower::new(engine, config)?.run(shutdown)),
        None => tokio::spawn(PgFollower::new(engine, config)?.run(shutdown)),
    })
}
