//! rhei-sidecar: follows an upstream database into rhei's replica tables. For PostgreSQL it takes
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
pub mod testing;

pub use error::SidecarError;
pub use postgres::PgFollower;
