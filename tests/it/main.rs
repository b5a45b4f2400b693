//! Cross-crate integration tests: the engine through its Rust API, and the server through real
//! PostgreSQL clients (tokio-postgres, psql).

mod common;
mod corpus;
mod crash;
mod engine;
mod psql;
mod wire;
