//! Throwaway PostgreSQL clusters for the tests (see `rhei_sidecar::testing`). A cluster that
//! cannot start fails the test, never skips it.

pub use rhei_sidecar::testing::{ClusterOptions, PgCluster};

pub fn start_cluster() -> PgCluster {
    PgCluster::start().unwrap_or_else(|e| panic!("{e}"))
}

pub fn start_cluster_with(options: ClusterOptions) -> PgCluster {
    PgCluster::start_with(options).unwrap_or_else(|e| panic!("{e}"))
}
