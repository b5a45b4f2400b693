//! Cross-crate integration tests: the engine through its Rust API, and the server through real
//! PostgreSQL clients (tokio-postgres, psql, and the client libraries in `clients`).

mod auth;
mod bad_input;
mod bi_tools;
mod common;
mod corpus;
mod clients;
mod crash;
mod engine;
mod forward;
mod notify;
mod pg_cluster;
mod psql;
mod replication;
mod sidecar;
mod temporal;
mod upstream_tls;
mod wire;
