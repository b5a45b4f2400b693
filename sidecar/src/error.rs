//! The sidecar's errors, each with the SQLSTATE a client sees when one is reported through the
//! wire (for example in `rhei_replication.last_error`).

use rhei_engine::EngineError;

use crate::pgoutput::DecodeError;
use crate::replication::ReplicationError;

#[derive(Debug, thiserror::Error)]
pub enum SidecarError {
    #[error("upstream {upstream}: {source}")]
    Replication { upstream: String, source: ReplicationError },
    #[error("upstream query failed: {}", with_causes(.0))]
    Upstream(#[from] tokio_postgres::Error),
    #[error("undecodable replication message: {0}")]
    Decode(#[from] DecodeError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(
        "replication slot \"{slot}\" is gone from the upstream (dropped, or invalidated by max_slot_wal_keep_size); \
         changes after {position} cannot be recovered from it. Recover by taking a fresh snapshot: \
         restart with `rh serve --resnapshot` (or [sidecar] resnapshot = true); the local history restarts then"
    )]
    SlotLost { slot: String, position: String },
    #[error("upstream table {table} changed its columns ({change}); rhei does not follow schema changes yet: {hint}")]
    SchemaChanged { table: String, change: String, hint: &'static str },
    #[error(
        "upstream table {schema}.{name} has no primary key and REPLICA IDENTITY is not FULL, so its updates and \
         deletes cannot be matched; run ALTER TABLE {quoted} REPLICA IDENTITY FULL on the upstream, or exclude it"
    )]
    NoKey { schema: String, name: String, quoted: String },
    #[error("upstream protocol: {0}")]
    Protocol(String),
    /// The upstream URL or its TLS settings (`sslmode`, `sslrootcert`, ...) cannot be used.
    #[error("upstream settings: {0}")]
    UpstreamConfig(String),
}

impl SidecarError {
    /// The SQLSTATE of this error.
    pub fn sqlstate(&self) -> &str {
        match self {
            Self::Replication { source, .. } => source.sqlstate().unwrap_or("08006"),
            Self::Upstream(e) => e.code().map_or("08006", |c| c.code()),
            Self::Decode(_) | Self::Protocol(_) => "08P01",
            Self::Engine(e) => e.sqlstate(),
            Self::SlotLost { .. } => "55000",
            Self::SchemaChanged { .. } | Self::NoKey { .. } => "0A000",
            Self::UpstreamConfig(_) => "22023",
        }
    }

    /// Whether retrying (after a pause) can help: lost connections can, a lost slot cannot.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Replication { source, .. } => matches!(source, ReplicationError::Io(_) | ReplicationError::ConnectionClosed)
                || source.sqlstate().is_some_and(|c| c.starts_with("08") || c.starts_with("53") || c.starts_with("57") || c == "55006"),
            // A certificate the settings do not accept stays unaccepted until they change.
            Self::Upstream(e) if is_tls_failure(e) => false,
            // 53: too many connections, out of memory or disk for now.
            Self::Upstream(e) => e.is_closed() || e.code().is_none_or(|c| ["08", "53", "57"].iter().any(|class| c.code().starts_with(class))),
            Self::Engine(e) => matches!(e.sqlstate(), "40001" | "53100" | "57014"),
            _ => false,
        }
    }
}

/// Whether tokio-postgres failed to set up TLS for a reason other than the network's (a
/// certificate refused, a server without TLS when sslmode requires it).
pub(crate) fn is_tls_failure(e: &tokio_postgres::Error) -> bool {
    // tokio-postgres keeps its error kinds private; this is its message for all of them.
    if !e.to_string().starts_with("error performing TLS handshake") {
        return false;
    }
    match std::error::Error::source(e).and_then(|source| source.downcast_ref::<std::io::Error>()) {
        Some(io) => crate::upstream::is_tls_refusal(io),
        None => true,
    }
}

/// An error and what caused it (tokio-postgres keeps a TLS handshake's reason in its source).
fn with_causes(e: &tokio_postgres::Error) -> String {
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(inner) = cause {
        let said = inner.to_string();
        if !text.contains(&said) {
            text = format!("{text}: {said}");
        }
        cause = inner.source();
    }
    text
}
