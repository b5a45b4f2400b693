//! Throwaway PostgreSQL clusters, for the tests and benchmarks that need a real upstream:
//! initdb into a fresh temp dir (as the `postgres` user when running as root, since initdb
//! refuses root), logical WAL, TCP on 127.0.0.1 with a free port, immediate shutdown on drop.
//! Missing binaries are an error, so a machine without PostgreSQL cannot silently pass.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

static NEXT_ID: AtomicU32 = AtomicU32::new(0);

/// Extra configuration applied before the first start.
#[derive(Default, Clone)]
pub struct ClusterOptions {
    /// pg_hba.conf lines placed before the default trust lines, so they win.
    pub hba_first: Vec<String>,
    /// postgresql.conf lines appended after the defaults.
    pub conf: Vec<String>,
    /// A server certificate and key (PEM): TLS on, with these.
    pub tls: Option<(PathBuf, PathBuf)>,
}

/// Why a cluster could not be started.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ClusterError(String);

/// A running throwaway cluster; stopped (immediately) and removed when dropped.
pub struct PgCluster {
    bin: PathBuf,
    base: PathBuf,
    data: PathBuf,
    port: u16,
    as_postgres_user: bool,
}

impl PgCluster {
    /// Starts a cluster with the default settings.
    ///
    /// # Errors
    /// PostgreSQL binaries missing, or initdb/pg_ctl failing (with their output).
    pub fn start() -> Result<PgCluster, ClusterError> {
        PgCluster::start_with(ClusterOptions::default())
    }

    /// Starts a cluster with extra pg_hba lines and settings.
    ///
    /// # Errors
    /// PostgreSQL binaries missing, or initdb/pg_ctl failing (with their output).
    pub fn start_with(options: ClusterOptions) -> Result<PgCluster, ClusterError> {
        let bin = find_bin_dir()?;
        let as_postgres_user = running_as_root();
        let base = std::env::temp_dir().join(format!(
            "rhei-pg-cluster-{}-{}",
            std::process::id(),
            NEXT_ID.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).map_err(|e| ClusterError(format!("create cluster temp dir: {e}")))?;
        if as_postgres_user {
            // initdb refuses to run as root; the postgres user must own the
            // data dir, the socket dir and the log.
            run(
                Command::new("chown").arg("postgres:").arg(&base),
                "chown cluster dir",
            )?;
        }
        let data = base.join("data");
        let mut cluster = PgCluster {
            bin,
            base,
            data,
            port: 0,
            as_postgres_user,
        };
        let mut initdb = cluster.pg_command("initdb");
        run(
            initdb.arg("-D").arg(&cluster.data).args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ]),
            "initdb",
        )?;

        let mut tls_conf = String::new();
        if let Some((cert, key)) = &options.tls {
            // PostgreSQL wants its key owned by the server's user and private to it.
            for (from, name) in [(cert, "server.crt"), (key, "server.key")] {
                let to = cluster.data.join(name);
                std::fs::copy(from, &to).map_err(|e| ClusterError(format!("copy {}: {e}", from.display())))?;
                if as_postgres_user {
                    run(Command::new("chown").arg("postgres:").arg(&to), "chown TLS file")?;
                }
            }
            run(Command::new("chmod").arg("600").arg(cluster.data.join("server.key")), "chmod server.key")?;
            tls_conf.push_str("ssl = on\n");
        }

        let mut hba = String::from("local all all trust\n");
        for line in &options.hba_first {
            hba.push_str(line);
            hba.push('\n');
        }
        hba.push_str("host all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n");
        std::fs::write(cluster.data.join("pg_hba.conf"), hba).map_err(|e| ClusterError(format!("write pg_hba.conf: {e}")))?;

        // The port is only reserved until we drop the probe socket, so a
        // parallel process may grab it; retry with a fresh one.
        let mut last_log = String::new();
        for _ in 0..3 {
            let port = free_port()?;
            let mut conf = format!(
                "\n# rhei throwaway cluster\nwal_level = logical\nmax_replication_slots = 10\nmax_wal_senders = 10\n\
                 listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\nfsync = off\n\
                 max_connections = 30\nshared_buffers = 16MB\n",
                cluster.base.display()
            );
            conf.push_str(&tls_conf);
            for line in &options.conf {
                conf.push_str(line);
                conf.push('\n');
            }
            let conf_path = cluster.data.join("postgresql.conf");
            let mut existing =
                std::fs::read_to_string(&conf_path).map_err(|e| ClusterError(format!("read postgresql.conf: {e}")))?;
            existing.push_str(&conf);
            std::fs::write(&conf_path, existing).map_err(|e| ClusterError(format!("write postgresql.conf: {e}")))?;

            let out = cluster.pg_ctl_start()?;
            if out.status.success() {
                cluster.port = port;
                return Ok(cluster);
            }
            last_log = std::fs::read_to_string(cluster.log_path()).unwrap_or_default();
        }
        Err(ClusterError(format!("pg_ctl start failed three times; server log:\n{last_log}")))
    }

    /// Shuts the cluster down as a service manager would (`pg_ctl -m fast`): sessions are
    /// ended, and walsenders first wait for their clients to confirm everything sent.
    ///
    /// # Errors
    /// The server did not stop within `timeout` (with the server log's end).
    pub fn stop_fast(&self, timeout: std::time::Duration) -> Result<(), ClusterError> {
        let out = self
            .pg_command("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "fast", "-w", "-t", &timeout.as_secs().max(1).to_string(), "stop"])
            .output()
            .map_err(|e| ClusterError(format!("spawn pg_ctl stop: {e}")))?;
        if out.status.success() {
            return Ok(());
        }
        let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(10).collect();
        Err(ClusterError(format!(
            "pg_ctl stop: {}{}\nserver log tail:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )))
    }

    /// Starts the cluster again after [`Self::stop_fast`], on the same port.
    ///
    /// # Errors
    /// pg_ctl failed (with the server log's end).
    pub fn start_again(&self) -> Result<(), ClusterError> {
        if self.pg_ctl_start()?.status.success() {
            return Ok(());
        }
        let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        Err(ClusterError(format!("pg_ctl start failed; server log:\n{log}")))
    }

    /// The cluster's data directory (owned by `postgres` when started as root).
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// The directory of the cluster's binaries (pgbench, psql, ... are there too).
    pub fn bin_dir(&self) -> &Path {
        &self.bin
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// A tokio-postgres config for `user` (and optional password).
    pub fn config_for(&self, user: &str, password: Option<&str>) -> tokio_postgres::Config {
        let mut c = tokio_postgres::Config::new();
        c.host("127.0.0.1")
            .port(self.port)
            .user(user)
            .dbname("postgres");
        if let Some(p) = password {
            c.password(p);
        }
        c
    }

    pub fn config(&self) -> tokio_postgres::Config {
        self.config_for("postgres", None)
    }

    /// [`Self::config`] as the sidecar's connections take it (TLS when the server offers it).
    ///
    /// # Panics
    /// rustls refusing its default settings.
    pub fn upstream(&self) -> crate::upstream::UpstreamConfig {
        Self::as_upstream(self.config())
    }

    /// A tokio-postgres config as the sidecar's connections take it.
    ///
    /// # Panics
    /// rustls refusing its default settings.
    #[allow(clippy::expect_used)]
    pub fn as_upstream(config: tokio_postgres::Config) -> crate::upstream::UpstreamConfig {
        crate::upstream::UpstreamConfig::from_pg(config).expect("default TLS settings")
    }

    pub fn log_path(&self) -> PathBuf {
        self.base.join("server.log")
    }

    fn pg_ctl_start(&self) -> Result<std::process::Output, ClusterError> {
        self.pg_command("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(self.log_path())
            .args(["-w", "-t", "60", "start"])
            .output()
            .map_err(|e| ClusterError(format!("spawn pg_ctl start: {e}")))
    }

    fn pg_command(&self, program: &str) -> Command {
        let exe = self.bin.join(program);
        if self.as_postgres_user {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = self
            .pg_command("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .output();
        if std::thread::panicking() {
            // Keep the evidence of a failed test.
            let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!(
                "--- server log tail ({}) ---\n{}",
                self.log_path().display(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.base);
        }
    }
}

fn run(cmd: &mut Command, what: &str) -> Result<Output, ClusterError> {
    let out = cmd.output().map_err(|e| ClusterError(format!("failed to spawn {what}: {e}")))?;
    if !out.status.success() {
        return Err(ClusterError(format!(
            "{what} failed: {}\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(out)
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> Result<u16, ClusterError> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| ClusterError(format!("bind 127.0.0.1:0 to find a free port: {e}")))
}

/// PATH first (resolving symlinks so pg_ctl finds its `postgres`), then the
/// highest /usr/lib/postgresql/<version>/bin.
fn find_bin_dir() -> Result<PathBuf, ClusterError> {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if has_both(&dir) {
                let real = std::fs::canonicalize(dir.join("initdb")).unwrap_or(dir.join("initdb"));
                if let Some(real_dir) = real.parent().filter(|d| has_both(d)) {
                    return Ok(real_dir.to_path_buf());
                }
                return Ok(dir);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            has_both(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).ok_or_else(|| {
        ClusterError(
            "PostgreSQL server binaries (initdb, pg_ctl) not found in PATH or /usr/lib/postgresql/*/bin; \
             install PostgreSQL (e.g. apt-get install postgresql-15)"
                .into(),
        )
    })
}
