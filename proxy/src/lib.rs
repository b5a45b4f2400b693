//! rhei-proxy: the PostgreSQL wire front end. It accepts clients with pgwire, keeps one engine
//! session per connection, and turns engine results (Arrow batches, command tags, typed errors)
//! into protocol messages. It decides nothing about data: parsing, routing and SQLSTATEs are the
//! engine's; Postgres OIDs and wire encodings are only here.

mod auth;
mod cancel;
mod catalog;
mod encode;
mod error;
mod forward;
mod frames;
mod params;
mod server;
mod session;
mod types;

pub use server::serve;
