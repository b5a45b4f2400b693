//! rhei-sidecar: follows an upstream database into rhei's replica tables. For PostgreSQL it
//! takes a consistent snapshot inside the exported snapshot of a new logical replication slot,
//! then streams pgoutput changes from exactly that point, applying each upstream transaction
//! atomically with the LSN it ends at (so a restart resumes with nothing lost or doubled) and
//! confirming the LSN to the upstream only once that is durable. SQLite files, and PostgreSQL
//! upstreams without logical replication, are followed by timestamp polling.
//!
//! The engine does the storing (temporal versions, positions, the OLAP copy); this crate speaks
//! to the upstream. `pgoutput` and `replication` are the protocol layer, `schema` maps upstream
//! tables to replica tables, `postgres` is the logical follower, `polling` the polling follower
//! with its sources `sqlite` and `pg_poll`. `testing` starts throwaway upstream clusters for
//! tests and benchmarks. `upstream` reads the upstream URL and makes its TLS connections.

pub mod error;
pub mod forward;
pub mod pg_poll;
pub mod pgoutput;
pub mod polling;
pub mod postgres;
pub mod replication;
pub mod wire;
pub mod schema;
pub mod sqlite;
pub mod testing;
pub mod upstream;

use std::time::Duration;

use rhei_config::FollowMethod;

/// The longest pause between attempts to reach an upstream.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(30);

pub use error::SidecarError;
pub use polling::PollingFollower;
pub use postgres::PgFollower;

/// Starts following `config.upstream` until `shutdown`: `sqlite://` files by timestamp
/// polling; PostgreSQL by logical replication when its `wal_level` allows (or `method` says
/// so), by timestamp polling otherwise.
///
/// # Errors
/// An upstream URL that does not parse.
pub fn spawn(
    engine: rhei_engine::HtapEngine,
    config: rhei_config::SidecarConfig,
    shutdown: tokio_util::sync::CancellationToken,
) -> Result<tokio::task::JoinHandle<()>, SidecarError> {
    if config.sqlite_path().is_some() {
        let source = sqlite::SqliteSource::new(&config)?;
        return Ok(tokio::spawn(PollingFollower::new(engine, config, source).run(shutdown)));
    }
    let pg = postgres::upstream_config(&config.upstream)?;
    Ok(match config.method {
        FollowMethod::Logical => tokio::spawn(PgFollower::new(engine, config)?.run(shutdown)),
        FollowMethod::Polling => {
            let source = pg_poll::PgPollSource::new(pg, &config);
            tokio::spawn(PollingFollower::new(engine, config, source).run(shutdown))
        }
        FollowMethod::Auto => tokio::spawn(async move {
            let Some(logical) = upstream_has_logical_wal(&pg, &engine, &config, &shutdown).await else { return };
            if logical {
                match PgFollower::new(engine, config) {
                    Ok(follower) => follower.run(shutdown).await,
                    Err(e) => tracing::error!("cannot follow the upstream: {e}"),
                }
            } else {
                tracing::info!("the upstream's wal_level is not logical: following it by timestamp polling");
                let source = pg_poll::PgPollSource::new(pg, &config);
                PollingFollower::new(engine, config, source).run(shutdown).await;
            }
        }),
    })
}

/// Whether the upstream runs with `wal_level = logical`, asked until it answers (reported as
/// `connecting` in `rhei_replication` meanwhile); `None` when shut down first or when asking
/// cannot succeed (a certificate refused, a password wrong: reported as `failed`).
async fn upstream_has_logical_wal(
    pg: &upstream::UpstreamConfig,
    engine: &rhei_engine::HtapEngine,
    config: &rhei_config::SidecarConfig,
    shutdown: &tokio_util::sync::CancellationToken,
) -> Option<bool> {
    let mut status = rhei_engine::replica::UpstreamStatus {
        source: postgres::SOURCE.into(),
        upstream: rhei_config::redact(&config.upstream),
        method: "auto".into(),
        state: "connecting".into(),
        ..Default::default()
    };
    engine.report_upstream(status.clone());
    let mut backoff = Duration::from_millis(250);
    loop {
        let asked = async {
            let client = postgres::connect(pg).await?;
            let level: String = client.query_one("SHOW wal_level", &[]).await?.get(0);
            Ok::<_, SidecarError>(level == "logical")
        };
        let error = match asked.await {
            Ok(logical) => return Some(logical),
            Err(e) => e,
        };
        status.last_error = Some(format!("{error} (SQLSTATE {})", error.sqlstate()));
        if !error.is_transient() {
            status.state = "failed".into();
            engine.report_upstream(status);
            tracing::error!("cannot follow the upstream {}: {error}", rhei_config::redact(&config.upstream));
            return None;
        }
        engine.report_upstream(status.clone());
        tracing::warn!("cannot reach the upstream to choose how to follow it ({error}); retrying in {backoff:?}");
        tokio::select! {
            () = shutdown.cancelled() => return None,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}
