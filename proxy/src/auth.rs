//! Who may connect, and over what: client authentication (`trust`, cleartext `password`, or
//! `scram-sha-256`) against the users of the `[server]` configuration, and TLS from the
//! configured PEM files. `trust` is accepted only on a loopback listen address (config checks it).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use pgwire::api::auth::sasl::scram::{SCRAM_ITERATIONS, gen_salted_password};
use pgwire::api::auth::{AuthSource, LoginInfo, Password};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::tokio::TlsAcceptor;
use pgwire::tokio::tokio_rustls::rustls;
use rhei_config::{ServerConfig, TlsConfig, UserConfig};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// How clients prove who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Trust,
    Password,
    Scram,
}

/// The configured method and users, shared by every connection.
#[derive(Debug)]
pub(crate) struct Auth {
    pub(crate) method: Method,
    users: BTreeMap<String, UserConfig>,
}

impl Auth {
    pub(crate) fn from_config(config: &ServerConfig) -> Self {
        let method = match config.auth.as_str() {
            "password" => Method::Password,
            "scram-sha-256" => Method::Scram,
            _ => Method::Trust,
        };
        Self { method, users: config.users.clone() }
    }

    /// Whether `user` may only read (unknown users under `trust` may write, as in PostgreSQL's
    /// trust where every role is whoever it claims).
    pub(crate) fn read_only(&self, user: &str) -> bool {
        self.users.get(user).is_some_and(|u| u.read_only)
    }

    /// Checks a cleartext password, in time independent of where it differs.
    pub(crate) fn password_matches(&self, user: &str, given: &str) -> bool {
        let Some(expected) = self.users.get(user).and_then(|u| u.password.as_deref()) else { return false };
        let (a, b) = (expected.as_bytes(), given.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

#[async_trait]
impl AuthSource for Auth {
    /// The salted password SCRAM verifies against; a fresh salt per attempt, since passwords
    /// are configured in cleartext.
    async fn get_password(&self, login: &LoginInfo) -> PgWireResult<Password> {
        let user = login.user().unwrap_or_default();
        let password = self
            .users
            .get(user)
            .and_then(|u| u.password.as_deref())
            .ok_or_else(|| PgWireError::InvalidPassword(user.to_string()))?;
        let salt: [u8; 16] = rand::random();
        Ok(Password::new(Some(salt.to_vec()), gen_salted_password(password, &salt, SCRAM_ITERATIONS)))
    }
}

/// Builds the TLS acceptor from PEM files.
///
/// # Errors
/// Unreadable or invalid certificate or key files, with the file named.
pub(crate) fn tls_acceptor(tls: &TlsConfig) -> std::io::Result<TlsAcceptor> {
    let invalid = |what: &str, path: &std::path::Path, e: &dyn std::fmt::Display| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("TLS {what} {}: {e}", path.display()))
    };
    let certs = CertificateDer::pem_file_iter(&tls.cert)
        .map_err(|e| invalid("certificate", &tls.cert, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid("certificate", &tls.cert, &e))?;
    if certs.is_empty() {
        return Err(invalid("certificate", &tls.cert, &"no certificate in the file"));
    }
    let key = PrivateKeyDer::from_pem_file(&tls.key).map_err(|e| invalid("key", &tls.key, &e))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid("setup for", &tls.cert, &e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| invalid("certificate and key", &tls.cert, &e))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
