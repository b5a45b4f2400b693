//! rhei's typed configuration. A [`RawConfig`] (every field optional) is layered from the TOML
//! file, then `RHEI_*` environment variables, then command-line flags; [`RawConfig::validate`]
//! fills defaults and checks values, producing a [`Config`] with one section per crate. This is
//! the only crate that reads configuration files or environment variables.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// A configuration problem, reported before anything starts.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("could not read configuration file \"{path}\": {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("invalid configuration file \"{path}\": {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid value for {key}: \"{value}\" ({expected})")]
    InvalidValue { key: String, value: String, expected: &'static str },
}

/// How durable an acknowledged commit is: SQLite's `synchronous` pragma.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    /// No fsync: a power loss may lose recent commits (a process crash does not).
    Off,
    /// fsync at WAL checkpoints: a power loss may lose the last commits, never corrupts.
    Normal,
    /// fsync every commit.
    Full,
}

/// What an OLAP-routed query waits for before it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Consistency {
    /// Wait until the OLAP copy has applied every commit made before the query started.
    Strong,
    /// Run on whatever the OLAP copy has applied.
    Eventual,
}

/// Which engine a statement is sent to, when forced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteOverride {
    Auto,
    Oltp,
    Olap,
}

macro_rules! parse_enum {
    ($ty:ty, $key:expr, $value:expr, { $($name:literal => $variant:expr),+ $(,)? }) => {{
        match $value.to_ascii_lowercase().as_str() {
            $($name => Ok($variant),)+
            _ => Err(ConfigError::InvalidValue {
                key: $key.to_string(),
                value: $value.to_string(),
                expected: concat!("one of:", $(" ", $name),+),
            }),
        }
    }};
}

/// Where the OLAP copy lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OlapStorage {
    /// In memory only, rebuilt from SQLite at start.
    Memory,
    /// Also as Parquet files under `data_dir/olap/`, loaded from there at start.
    Parquet,
}

/// The CPU priority of the OLAP engine's threads against everything else rhei runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OlapPriority {
    /// Linux's `SCHED_IDLE`: queries run on the CPU time OLTP leaves, and a waking OLTP thread
    /// takes a core from them at once. When OLTP keeps every core busy, queries crawl.
    Idle,
    /// `nice 10`: OLTP comes first under contention, queries still get a share.
    Low,
    /// Same as every other thread.
    Normal,
}

impl OlapPriority {
    /// Parses `idle`, `low` or `normal`.
    ///
    /// # Errors
    /// [`ConfigError::InvalidValue`] for anything else.
    pub fn parse(key: &str, value: &str) -> Result<Self, ConfigError> {
        parse_enum!(Self, key, value, { "idle" => Self::Idle, "low" => Self::Low, "normal" => Self::Normal })
    }
}

impl OlapStorage {
    /// Parses `memory` or `parquet`.
    ///
    /// # Errors
    /// [`ConfigError::InvalidValue`] for anything else.
    pub fn parse(key: &str, value: &str) -> Result<Self, ConfigError> {
        parse_enum!(Self, key, value, { "memory" => Self::Memory, "parquet" => Self::Parquet })
    }
}

impl Synchronous {
    /// Parses `off`, `normal` or `full`.
    ///
    /// # Errors
    /// [`ConfigError::InvalidValue`] for anything else.
    pub fn parse(key: &str, value: &str) -> Result<Self, ConfigError> {
        parse_enum!(Self, key, value, { "off" => Self::Off, "normal" => Self::Normal, "full" => Self::Full })
    }
    /// The value of SQLite's `PRAGMA synchronous`.
    pub fn pragma_value(self) -> &'static str {
        match self {
            Self::Off => "OFF",
            Self::Normal => "NORMAL",
            Self::Full => "FULL",
        }
    }
}

impl Consistency {
    /// Parses `strong` or `eventual`.
    ///
    /// # Errors
    /// [`ConfigError::InvalidValue`] for anything else.
    pub fn parse(key: &str, value: &str) -> Result<Self, ConfigError> {
        parse_enum!(Self, key, value, { "strong" => Self::Strong, "eventual" => Self::Eventual })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Strong => "strong",
            Self::Eventual => "eventual",
        }
    }
}

impl RouteOverride {
    /// Parses `auto`, `oltp` or `olap`.
    ///
    /// # Errors
    /// [`ConfigError::InvalidValue`] for anything else.
    pub fn parse(key: &str, value: &str) -> Result<Self, ConfigError> {
        parse_enum!(Self, key, value, { "auto" => Self::Auto, "oltp" => Self::Oltp, "olap" => Self::Olap })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Oltp => "oltp",
            Self::Olap => "olap",
        }
    }
}

/// The `[engine]` section, as used by rhei-engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Holds `oltp.db` (SQLite, WAL).
    pub data_dir: PathBuf,
    pub synchronous: Synchronous,
    pub consistency: Consistency,
    /// How often the background loop moves the change log into the OLAP copy.
    pub sync_interval: Duration,
    /// The least time between sync steps that commits ask for: how far behind eventual reads
    /// may fall under a stream of writes, traded against sync's CPU.
    pub sync_nudge_gap: Duration,
    /// Most change-log events read per sync step.
    pub sync_batch_events: usize,
    /// SQLite reader connections (threads).
    pub readers: usize,
    /// Autocommit writes merged into one SQLite transaction, at most.
    pub group_commit_max: usize,
    /// DataFusion's target partitions (0 = number of cores).
    pub olap_threads: usize,
    pub olap_storage: OlapStorage,
    /// Also of the thread writing Parquet files, which never goes below `Low`.
    pub olap_priority: OlapPriority,
    /// With Parquet storage, how often changed tables are written out, at most.
    pub olap_persist_interval: Duration,
}

impl EngineConfig {
    /// Defaults with the given data directory; what tests and the Rust API start from.
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            synchronous: Synchronous::Normal,
            consistency: Consistency::Strong,
            sync_interval: Duration::from_millis(100),
            sync_nudge_gap: Duration::from_millis(3),
            sync_batch_events: 1_000_000,
            readers: 4,
            group_commit_max: 1024,
            olap_threads: 0,
            olap_storage: OlapStorage::Memory,
            olap_priority: OlapPriority::Idle,
            olap_persist_interval: Duration::from_secs(10),
        }
    }
}

/// A user allowed to log in, from `[server.users.NAME]`.
#[derive(Debug, Clone, Deserialize)]
pub struct UserConfig {
    pub password: Option<String>,
    #[serde(default)]
    pub read_only: bool,
}

/// The `[server]` section, as used by rhei-proxy.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// `trust` (default) or `password` / `scram-sha-256` (users below).
    pub auth: String,
    pub users: BTreeMap<String, UserConfig>,
    pub max_connections: usize,
    /// Certificate chain and private key (PEM) for TLS; both or neither.
    pub tls: Option<TlsConfig>,
    /// The PostgreSQL upstream that writes, transactions and point reads are passed to
    /// (`[sidecar] forward_writes = true`); `None` answers everything locally.
    pub forward_writes_to: Option<String>,
}

/// PEM files for TLS.
#[derive(Debug, Clone)]
pub struct TlsConfig {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// How sidecar tables keep upstream rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaMode {
    /// Every version, with `_rhei_valid_from`/`_rhei_valid_to` (SCD Type 2).
    Temporal,
    /// Current rows only.
    Mirror,
}

/// How changes are read from a PostgreSQL upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowMethod {
    /// Logical replication when the upstream runs with `wal_level = logical`, polling otherwise.
    Auto,
    /// Logical replication (pgoutput) from a slot.
    Logical,
    /// Timestamp polling (`updated_at` and friends): needs no upstream privileges or settings,
    /// but sees only the latest version of a row between two polls.
    Polling,
}

/// The `[sidecar]` section, as used by rhei-sidecar: which upstream to follow and how.
#[derive(Debug, Clone)]
pub struct SidecarConfig {
    /// `postgres://user[:password]@host:port/db`.
    pub upstream: String,
    pub mode: ReplicaMode,
    /// How a PostgreSQL upstream is read (SQLite upstreams are always polled).
    pub method: FollowMethod,
    /// Upstream schemas to follow (default `public`).
    pub schemas: Vec<String>,
    /// Table name patterns to follow (`*` matches any run of characters; default all).
    pub include: Vec<String>,
    /// Table name patterns to leave out (applied after `include`).
    pub exclude: Vec<String>,
    /// Logical replication slot rhei creates or reuses on the upstream.
    pub slot: String,
    /// Publication rhei creates (FOR ALL TABLES) or reuses.
    pub publication: String,
    /// Throw away the local replica and its history and take a fresh snapshot (the recovery
    /// when the upstream lost the slot or the position).
    pub resnapshot: bool,
    /// Timestamp polling (SQLite upstreams, and PostgreSQL without logical replication): how
    /// often, and by which columns.
    pub polling: PollingConfig,
}

/// How a polled upstream is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollingConfig {
    pub interval: Duration,
    /// The column every writer sets to the time of its change.
    pub updated_at: String,
    /// A column marking a row as deleted (soft deletes), if the upstream has one: any value but
    /// NULL and false (a `deleted_at` time, or an `is_deleted` flag).
    pub soft_delete: Option<String>,
    /// Every this many polls all keys are compared, to see hard deletes.
    pub key_check_polls: u32,
}

impl SidecarConfig {
    /// The SQLite file of a `sqlite://` upstream.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        self.upstream.strip_prefix("sqlite://").map(PathBuf::from)
    }
}

impl SidecarConfig {
    /// Whether an upstream table (`schema`, `name`) is followed.
    pub fn selects(&self, schema: &str, name: &str) -> bool {
        let qualified = format!("{schema}.{name}");
        let matches = |pattern: &String| glob_match(pattern, name) || glob_match(pattern, &qualified);
        self.schemas.iter().any(|s| s == schema)
            && (self.include.is_empty() || self.include.iter().any(matches))
            && !self.exclude.iter().any(matches)
    }
}

/// `*` matches any run of characters, everything else itself.
fn glob_match(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, rest)) => {
            let Some(tail) = text.strip_prefix(head) else { return false };
            (0..=tail.len()).filter(|&i| tail.is_char_boundary(i)).any(|i| glob_match(rest, &tail[i..]))
        }
    }
}

/// Validated configuration for every crate.
#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub engine: EngineConfig,
    /// Set when rhei follows an upstream database.
    pub sidecar: Option<SidecarConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    pub listen: Option<String>,
    pub auth: Option<String>,
    #[serde(default)]
    pub users: BTreeMap<String, UserConfig>,
    pub max_connections: Option<usize>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEngine {
    pub data_dir: Option<PathBuf>,
    pub synchronous: Option<String>,
    pub consistency: Option<String>,
    pub sync_interval_ms: Option<u64>,
    pub sync_nudge_gap_ms: Option<u64>,
    pub sync_batch_events: Option<usize>,
    pub readers: Option<usize>,
    pub group_commit_max: Option<usize>,
    pub olap_threads: Option<usize>,
    pub olap_storage: Option<String>,
    pub olap_priority: Option<String>,
    pub olap_persist_interval_ms: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSidecar {
    pub upstream: Option<String>,
    pub mode: Option<String>,
    pub method: Option<String>,
    pub schemas: Option<Vec<String>>,
    pub include: Option<Vec<String>>,
    pub exclude: Option<Vec<String>>,
    pub slot: Option<String>,
    pub publication: Option<String>,
    pub forward_writes: Option<bool>,
    pub resnapshot: Option<bool>,
    pub poll_interval_ms: Option<u64>,
    pub updated_at_column: Option<String>,
    pub soft_delete_column: Option<String>,
    pub key_check_polls: Option<u32>,
}

/// Configuration before defaults and validation; each layer overwrites what it sets.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub server: RawServer,
    #[serde(default)]
    pub engine: RawEngine,
    #[serde(default)]
    pub sidecar: RawSidecar,
}

/// Default listen address: loopback only, one above Postgres's port.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:5433";
/// Default data directory, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = "./rhei-data";

impl RawConfig {
    /// Reads a TOML file.
    ///
    /// # Errors
    /// Unreadable file, or TOML that does not match the schema (unknown keys are errors).
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        Self::from_toml(&text).map_err(|message| ConfigError::Parse { path: path.to_path_buf(), message })
    }

    fn from_toml(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// Applies `RHEI_SERVER_LISTEN`, `RHEI_ENGINE_DATA_DIR`, ... from the given variables
    /// (pass `std::env::vars()`); a variable overrides the file.
    ///
    /// # Errors
    /// A numeric variable that does not parse.
    pub fn apply_env(&mut self, vars: impl IntoIterator<Item = (String, String)>) -> Result<(), ConfigError> {
        for (key, value) in vars {
            let Some(name) = key.strip_prefix("RHEI_") else { continue };
            match name {
                "SERVER_LISTEN" | "LISTEN" => self.server.listen = Some(value),
                "SERVER_AUTH" => self.server.auth = Some(value),
                "SERVER_TLS_CERT" => self.server.tls_cert = Some(value.into()),
                "SERVER_TLS_KEY" => self.server.tls_key = Some(value.into()),
                "SERVER_MAX_CONNECTIONS" => self.server.max_connections = Some(parse_num(&key, &value)?),
                "ENGINE_DATA_DIR" | "DATA_DIR" => self.engine.data_dir = Some(value.into()),
                "ENGINE_SYNCHRONOUS" => self.engine.synchronous = Some(value),
                "ENGINE_CONSISTENCY" => self.engine.consistency = Some(value),
                "ENGINE_SYNC_INTERVAL_MS" => self.engine.sync_interval_ms = Some(parse_num(&key, &value)?),
                "ENGINE_SYNC_NUDGE_GAP_MS" => self.engine.sync_nudge_gap_ms = Some(parse_num(&key, &value)?),
                "ENGINE_SYNC_BATCH_EVENTS" => self.engine.sync_batch_events = Some(parse_num(&key, &value)?),
                "ENGINE_READERS" => self.engine.readers = Some(parse_num(&key, &value)?),
                "ENGINE_GROUP_COMMIT_MAX" => self.engine.group_commit_max = Some(parse_num(&key, &value)?),
                "ENGINE_OLAP_THREADS" => self.engine.olap_threads = Some(parse_num(&key, &value)?),
                "ENGINE_OLAP_STORAGE" => self.engine.olap_storage = Some(value),
                "ENGINE_OLAP_PRIORITY" => self.engine.olap_priority = Some(value),
                "ENGINE_OLAP_PERSIST_INTERVAL_MS" => self.engine.olap_persist_interval_ms = Some(parse_num(&key, &value)?),
                "SIDECAR_UPSTREAM" | "UPSTREAM" => self.sidecar.upstream = Some(value),
                "SIDECAR_MODE" => self.sidecar.mode = Some(value),
                "SIDECAR_METHOD" => self.sidecar.method = Some(value),
                "SIDECAR_SLOT" => self.sidecar.slot = Some(value),
                "SIDECAR_PUBLICATION" => self.sidecar.publication = Some(value),
                "SIDECAR_POLL_INTERVAL_MS" => self.sidecar.poll_interval_ms = Some(parse_num(&key, &value)?),
                "SIDECAR_FORWARD_WRITES" => self.sidecar.forward_writes = Some(parse_bool(&key, &value)?),
                _ => {}
            }
        }
        Ok(())
    }

    /// Fills defaults and checks every value.
    ///
    /// # Errors
    /// The first invalid value found.
    pub fn validate(self) -> Result<Config, ConfigError> {
        let listen_text = self.server.listen.unwrap_or_else(|| DEFAULT_LISTEN.to_string());
        let listen = listen_text.parse().map_err(|_| ConfigError::InvalidValue {
            key: "server.listen".into(),
            value: listen_text.clone(),
            expected: "an address such as 127.0.0.1:5433",
        })?;
        let auth = self.server.auth.unwrap_or_else(|| "trust".into()).to_ascii_lowercase();
        if !matches!(auth.as_str(), "trust" | "password" | "scram-sha-256") {
            return Err(ConfigError::InvalidValue {
                key: "server.auth".into(),
                value: auth,
                expected: "one of: trust password scram-sha-256",
            });
        }
        if auth == "trust" && !listen_is_loopback(&listen) {
            return Err(ConfigError::InvalidValue {
                key: "server.auth".into(),
                value: auth,
                expected: "password or scram-sha-256 with [server.users] when listening beyond loopback",
            });
        }
        if auth != "trust" {
            if self.server.users.is_empty() {
                return Err(ConfigError::InvalidValue {
                    key: "server.users".into(),
                    value: String::new(),
                    expected: "at least one user with a password when auth is not trust",
                });
            }
            if let Some((name, _)) = self.server.users.iter().find(|(_, u)| u.password.is_none()) {
                return Err(ConfigError::InvalidValue {
                    key: format!("server.users.{name}.password"),
                    value: String::new(),
                    expected: "a password (auth is not trust)",
                });
            }
        }
        let tls = match (self.server.tls_cert, self.server.tls_key) {
            (Some(cert), Some(key)) => Some(TlsConfig { cert, key }),
            (None, None) => None,
            (cert, _) => {
                return Err(ConfigError::InvalidValue {
                    key: if cert.is_some() { "server.tls_key" } else { "server.tls_cert" }.into(),
                    value: String::new(),
                    expected: "both tls_cert and tls_key, or neither",
                });
            }
        };
        let mut engine = EngineConfig::with_data_dir(self.engine.data_dir.unwrap_or_else(|| DEFAULT_DATA_DIR.into()));
        if let Some(v) = self.engine.synchronous {
            engine.synchronous = Synchronous::parse("engine.synchronous", &v)?;
        }
        if let Some(v) = self.engine.consistency {
            engine.consistency = Consistency::parse("engine.consistency", &v)?;
        }
        if let Some(ms) = self.engine.sync_interval_ms {
            engine.sync_interval = Duration::from_millis(ms.max(1));
        }
        if let Some(ms) = self.engine.sync_nudge_gap_ms {
            engine.sync_nudge_gap = Duration::from_millis(ms);
        }
        if let Some(n) = self.engine.sync_batch_events {
            engine.sync_batch_events = positive("engine.sync_batch_events", n)?;
        }
        if let Some(n) = self.engine.readers {
            engine.readers = positive("engine.readers", n)?;
        }
        if let Some(n) = self.engine.group_commit_max {
            engine.group_commit_max = positive("engine.group_commit_max", n)?;
        }
        if let Some(n) = self.engine.olap_threads {
            engine.olap_threads = n;
        }
        if let Some(v) = self.engine.olap_priority {
            engine.olap_priority = OlapPriority::parse("engine.olap_priority", &v)?;
        }
        if let Some(ms) = self.engine.olap_persist_interval_ms {
            engine.olap_persist_interval = Duration::from_millis(ms.max(1));
        }
        let server = ServerConfig {
            listen,
            auth,
            users: self.server.users,
            max_connections: positive("server.max_connections", self.server.max_connections.unwrap_or(500))?,
            tls,
            forward_writes_to: None,
        };
        let forward = self.sidecar.forward_writes == Some(true);
        let sidecar = self.sidecar.validate()?;
        // A sidecar's temporal history exists nowhere else, so it is kept on disk by default.
        engine.olap_storage = match (self.engine.olap_storage, &sidecar) {
            (Some(v), _) => OlapStorage::parse("engine.olap_storage", &v)?,
            (None, Some(_)) => OlapStorage::Parquet,
            (None, None) => OlapStorage::Memory,
        };
        let server = match &sidecar {
            Some(s) if forward => ServerConfig { forward_writes_to: Some(s.upstream.clone()), ..server },
            _ => server,
        };
        Ok(Config { server, engine, sidecar })
    }
}

impl RawSidecar {
    fn validate(self) -> Result<Option<SidecarConfig>, ConfigError> {
        let Some(upstream) = self.upstream.filter(|u| !u.trim().is_empty()) else { return Ok(None) };
        if !(upstream.starts_with("postgres://") || upstream.starts_with("postgresql://") || upstream.starts_with("sqlite://")) {
            return Err(ConfigError::InvalidValue {
                key: "sidecar.upstream".into(),
                value: redact(&upstream),
                expected: "a postgres://user@host:port/db URL or sqlite:///path/to/app.db",
            });
        }
        if self.forward_writes == Some(true) && upstream.starts_with("sqlite://") {
            return Err(ConfigError::InvalidValue {
                key: "sidecar.forward_writes".into(),
                value: "true".into(),
                expected: "false for a SQLite upstream: writes are forwarded to a PostgreSQL upstream only",
            });
        }
        let mode = match self.mode.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("temporal") => ReplicaMode::Temporal,
            Some("mirror") => ReplicaMode::Mirror,
            Some(other) => {
                return Err(ConfigError::InvalidValue { key: "sidecar.mode".into(), value: other.into(), expected: "one of: temporal mirror" });
            }
        };
        let sqlite = upstream.starts_with("sqlite://");
        let method = match self.method.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("auto") => FollowMethod::Auto,
            Some("polling") => FollowMethod::Polling,
            Some("logical") if !sqlite => FollowMethod::Logical,
            Some(other) => {
                let expected = if sqlite { "auto or polling (an SQLite upstream is polled)" } else { "one of: auto logical polling" };
                return Err(ConfigError::InvalidValue { key: "sidecar.method".into(), value: other.into(), expected });
            }
        };
        let name = |key: &str, value: Option<String>, default: &str| -> Result<String, ConfigError> {
            let value = value.unwrap_or_else(|| default.to_string());
            if value.is_empty() || value.len() > 63 || !value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
                return Err(ConfigError::InvalidValue { key: key.into(), value, expected: "lower-case letters, digits and _, at most 63" });
            }
            Ok(value)
        };
        Ok(Some(SidecarConfig {
            upstream,
            mode,
            method,
            schemas: self.schemas.unwrap_or_else(|| vec!["public".into()]),
            include: self.include.unwrap_or_default(),
            exclude: self.exclude.unwrap_or_default(),
            slot: name("sidecar.slot", self.slot, "rhei_sidecar")?,
            publication: name("sidecar.publication", self.publication, "rhei_sidecar")?,
            resnapshot: self.resnapshot.unwrap_or(false),
            polling: PollingConfig {
                interval: Duration::from_millis(self.poll_interval_ms.unwrap_or(1000).max(1)),
                updated_at: self.updated_at_column.unwrap_or_else(|| "updated_at".into()),
                soft_delete: self.soft_delete_column.filter(|c| !c.is_empty()),
                key_check_polls: self.key_check_polls.unwrap_or(10).max(1),
            },
        }))
    }
}

/// A URL with its password replaced, for messages and logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let Some((auth, host)) = rest.split_once('@') else { return url.to_string() };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

fn listen_is_loopback(listen: &SocketAddr) -> bool {
    listen.ip().is_loopback()
}

fn parse_num<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, ConfigError> {
    value.trim().parse().map_err(|_| ConfigError::InvalidValue {
        key: key.to_string(),
        value: value.to_string(),
        expected: "a non-negative integer",
    })
}

/// A boolean as PostgreSQL spells one in settings.
fn parse_bool(key: &str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "on" | "yes" | "1" => Ok(true),
        "false" | "off" | "no" | "0" => Ok(false),
        _ => Err(ConfigError::InvalidValue { key: key.to_string(), value: value.to_string(), expected: "true or false" }),
    }
}

fn positive(key: &str, n: usize) -> Result<usize, ConfigError> {
    if n == 0 {
        return Err(ConfigError::InvalidValue { key: key.into(), value: "0".into(), expected: "at least 1" });
    }
    Ok(n)
}

#[cfg(test)]
mod auth_tests {
    use super::*;

    fn validate(toml: &str) -> Result<Config, ConfigError> {
        RawConfig::from_toml(toml).unwrap().validate()
    }

    #[test]
    fn trust_only_on_loopback_and_passwords_for_everyone_else() {
        assert!(validate("[server]\nlisten = \"0.0.0.0:5433\"\n").is_err());
        assert!(validate("[server]\nauth = \"scram-sha-256\"\n").is_err(), "no users");
        assert!(validate("[server]\nauth = \"password\"\n[server.users.app]\nread_only = true\n").is_err());
        let cfg = validate(
            "[server]\nlisten = \"0.0.0.0:5433\"\nauth = \"scram-sha-256\"\n[server.users.app]\npassword = \"pw\"\nread_only = true\n",
        )
        .unwrap();
        assert!(cfg.server.users["app"].read_only);
        assert!(validate("[server]\ntls_cert = \"c.pem\"\n").is_err(), "key missing");
        assert!(validate("[server]\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n").unwrap().server.tls.is_some());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sidecar_selection_and_defaults() {
        assert!(RawConfig::default().validate().unwrap().sidecar.is_none());
        let raw = RawConfig::from_toml(
            "[sidecar]\nupstream = \"postgres://app:pw@127.0.0.1:5432/app\"\ninclude = [\"order*\", \"public.users\"]\nexclude = [\"*_tmp\"]\n",
        )
        .unwrap();
        let sidecar = raw.validate().unwrap().sidecar.unwrap();
        assert_eq!(sidecar.mode, ReplicaMode::Temporal);
        assert!(sidecar.selects("public", "orders"));
        assert!(sidecar.selects("public", "users"));
        assert!(!sidecar.selects("public", "orders_tmp"));
        assert!(!sidecar.selects("public", "items"));
        assert!(!sidecar.selects("audit", "orders"), "only the configured schemas");
        assert_eq!(redact(&sidecar.upstream), "postgres://app:***@127.0.0.1:5432/app");
        let bad = RawConfig::from_toml("[sidecar]\nupstream = \"mysql://x\"\n").unwrap().validate().unwrap_err();
        assert!(bad.to_string().contains("sidecar.upstream"), "{bad}");
        assert!(RawConfig::from_toml("[sidecar]\nupstream = \"postgres://x/y\"\nslot = \"Bad-Name\"\n").unwrap().validate().is_err());
        let method = |toml: &str| RawConfig::from_toml(toml).unwrap().validate().map(|c| c.sidecar.map(|s| s.method));
        assert_eq!(method("[sidecar]\nupstream = \"postgres://x/y\"\n").unwrap(), Some(FollowMethod::Auto));
        assert_eq!(method("[sidecar]\nupstream = \"postgres://x/y\"\nmethod = \"Polling\"\n").unwrap(), Some(FollowMethod::Polling));
        assert!(method("[sidecar]\nupstream = \"sqlite:///a.db\"\nmethod = \"logical\"\n").is_err(), "SQLite has no logical replication");
        assert!(method("[sidecar]\nupstream = \"postgres://x/y\"\nmethod = \"trigger\"\n").is_err());
    }

    #[test]
    fn olap_priority_is_idle_unless_configured() {
        let priority = |toml: &str| RawConfig::from_toml(toml).unwrap().validate().map(|c| c.engine.olap_priority);
        assert_eq!(priority("").unwrap(), OlapPriority::Idle);
        assert_eq!(priority("[engine]\nolap_priority = \"Low\"\n").unwrap(), OlapPriority::Low);
        assert_eq!(priority("[engine]\nolap_priority = \"normal\"\n").unwrap(), OlapPriority::Normal);
        let err = priority("[engine]\nolap_priority = \"high\"\n").unwrap_err().to_string();
        assert!(err.contains("engine.olap_priority") && err.contains("idle low normal"), "{err}");
    }

    #[test]
    fn olap_storage_is_parquet_by_default_for_a_sidecar_only() {
        let storage = |toml: &str| RawConfig::from_toml(toml).unwrap().validate().map(|c| c.engine.olap_storage);
        assert_eq!(storage("").unwrap(), OlapStorage::Memory);
        assert_eq!(storage("[sidecar]\nupstream = \"sqlite:///a.db\"\n").unwrap(), OlapStorage::Parquet);
        assert_eq!(storage("[engine]\nolap_storage = \"memory\"\n[sidecar]\nupstream = \"sqlite:///a.db\"\n").unwrap(), OlapStorage::Memory);
        assert_eq!(storage("[engine]\nolap_storage = \"Parquet\"\n").unwrap(), OlapStorage::Parquet);
        let err = storage("[engine]\nolap_storage = \"tape\"\n").unwrap_err().to_string();
        assert!(err.contains("engine.olap_storage") && err.contains("parquet"), "{err}");
    }

    #[test]
    fn defaults_serve_loopback_from_rhei_data() {
        let cfg = RawConfig::default().validate().unwrap();
        assert_eq!(cfg.server.listen.to_string(), "127.0.0.1:5433");
        assert_eq!(cfg.engine.data_dir, PathBuf::from("./rhei-data"));
        assert_eq!(cfg.engine.consistency, Consistency::Strong);
        assert_eq!(cfg.engine.synchronous, Synchronous::Normal);
        assert_eq!(cfg.server.auth, "trust");
    }

    #[test]
    fn env_overrides_file() {
        let mut raw = RawConfig::from_toml(
            "[server]\nlisten = \"127.0.0.1:7000\"\n[engine]\nsynchronous = \"full\"\nsync_interval_ms = 5\n",
        )
        .unwrap();
        raw.apply_env([("RHEI_SERVER_LISTEN".to_string(), "127.0.0.1:7001".to_string())]).unwrap();
        let cfg = raw.validate().unwrap();
        assert_eq!(cfg.server.listen.port(), 7001);
        assert_eq!(cfg.engine.synchronous, Synchronous::Full);
        assert_eq!(cfg.engine.sync_interval, Duration::from_millis(5));
    }

    #[test]
    fn bad_values_are_rejected_with_the_key() {
        let raw = RawConfig::from_toml("[engine]\nconsistency = \"sometimes\"\n").unwrap();
        let err = raw.validate().unwrap_err().to_string();
        assert!(err.contains("engine.consistency"), "{err}");
        assert!(RawConfig::from_toml("[engine]\nbogus = 1\n").is_err());
        let mut raw = RawConfig::default();
        assert!(raw.apply_env([("RHEI_ENGINE_READERS".into(), "many".into())]).is_err());
        assert!(raw.apply_env([("RHEI_SIDECAR_FORWARD_WRITES".into(), "maybe".into())]).is_err());
    }

    #[test]
    fn forwarding_is_set_from_the_environment_for_postgres_upstreams_only() {
        let forwarding = |upstream: &str| {
            let mut raw = RawConfig::default();
            let vars = [("RHEI_SIDECAR_UPSTREAM", upstream), ("RHEI_SIDECAR_FORWARD_WRITES", "on")];
            raw.apply_env(vars.map(|(k, v)| (k.to_string(), v.to_string()))).unwrap();
            raw.validate()
        };
        let cfg = forwarding("postgres://app@127.0.0.1:5432/app").unwrap();
        assert_eq!(cfg.server.forward_writes_to.as_deref(), Some("postgres://app@127.0.0.1:5432/app"));
        let err = forwarding("sqlite:///tmp/app.db").unwrap_err().to_string();
        assert!(err.contains("sidecar.forward_writes"), "{err}");
    }

    #[test]
    fn users_are_read_from_the_file() {
        let raw = RawConfig::from_toml(
            "[server]\nauth = \"scram-sha-256\"\n[server.users.alice]\npassword = \"s3cret\"\nread_only = true\n",
        )
        .unwrap();
        let cfg = raw.validate().unwrap();
        assert!(cfg.server.users["alice"].read_only);
    }
}
