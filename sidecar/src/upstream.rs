//! How rhei reaches an upstream PostgreSQL: the settings of a libpq-style URL
//! (`postgres://user@host/db?sslmode=verify-full` or `host=... sslmode=...`) and TLS with
//! rustls under libpq's `sslmode` meanings, for every connection the sidecar opens (queries
//! through tokio-postgres, the walsender and forwarded sessions through [`crate::wire`]).
//!
//! | sslmode | TLS | the server's certificate |
//! |---|---|---|
//! | `disable` | never | |
//! | `allow`, `prefer` (the default) | when the server offers it | not checked |
//! | `require` | always | not checked, unless a root certificate is there (then as `verify-ca`) |
//! | `verify-ca` | always | signed by a root in `sslrootcert` |
//! | `verify-full` | always | as `verify-ca`, and issued for the host connected to |
//!
//! `sslrootcert` defaults to `~/.postgresql/root.crt` as in libpq; `sslrootcert=system` takes the
//! system's trusted roots (`SSL_CERT_FILE`, or the distribution's bundle) and implies
//! `verify-full`. `sslcert` and `sslkey` give a client certificate. tokio-postgres reads none of
//! these past `sslmode=require`, so they are taken out of the URL before it parses the rest.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_rustls::rustls;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::SidecarError;

/// libpq's `sslmode`, `allow` read as `prefer`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<Self, SidecarError> {
        Ok(match value {
            "disable" => Self::Disable,
            "allow" | "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            other => {
                return Err(SidecarError::UpstreamConfig(format!(
                    "invalid sslmode \"{other}\" (disable, allow, prefer, require, verify-ca or verify-full)"
                )))
            }
        })
    }

    /// Whether a server without TLS must be refused.
    pub fn requires_tls(self) -> bool {
        !matches!(self, Self::Disable | Self::Prefer)
    }

    fn name(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }
}

impl std::fmt::Display for SslMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything needed to open a connection to one upstream.
#[derive(Clone)]
pub struct UpstreamConfig {
    /// Host, port, user, password, database and options, as tokio-postgres reads them.
    pub pg: tokio_postgres::Config,
    pub ssl_mode: SslMode,
    /// TLS settings with the chosen certificate checks (built once: a bad certificate file is
    /// reported when the URL is read, not at the first connection).
    tls: Arc<ClientConfig>,
}

impl std::fmt::Debug for UpstreamConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamConfig").field("pg", &self.pg).field("ssl_mode", &self.ssl_mode).finish_non_exhaustive()
    }
}

/// The URL parameters read here rather than by tokio-postgres.
const TLS_PARAMETERS: [&str; 5] = ["sslmode", "sslrootcert", "sslcert", "sslkey", "sslnegotiation"];

impl UpstreamConfig {
    /// Reads a libpq-style URL or key=value string.
    ///
    /// # Errors
    /// The URL does not parse, an sslmode is unknown, or a certificate or key file cannot be
    /// read.
    pub fn parse(url: &str) -> Result<Self, SidecarError> {
        let (rest, tls_parameters) = take_parameters(url, &TLS_PARAMETERS);
        let mut pg: tokio_postgres::Config =
            rest.parse().map_err(|e| SidecarError::UpstreamConfig(format!("upstream URL: {e}")))?;
        let parameter = |name: &str| tls_parameters.iter().rev().find(|(key, _)| key == name).map(|(_, value)| value.as_str());
        let given_mode = parameter("sslmode").map(SslMode::parse).transpose()?;
        let root_cert = parameter("sslrootcert").map(PathBuf::from);
        let system_roots = root_cert.as_deref() == Some(Path::new("system"));
        let mut ssl_mode = match given_mode {
            // As libpq: the system's roots vouch for any name they signed, so names are checked.
            Some(weak) if system_roots && weak != SslMode::VerifyFull => {
                return Err(SidecarError::UpstreamConfig(format!("weak sslmode \"{weak}\" may not be used with sslrootcert=system (use verify-full)")));
            }
            None if system_roots => SslMode::VerifyFull,
            given => given.unwrap_or(SslMode::Prefer),
        };
        let root_cert = root_cert.or_else(default_root_cert);
        if ssl_mode == SslMode::Require && root_cert.as_deref().is_some_and(|path| system_roots || path.exists()) {
            // libpq: with a root certificate present, require checks the chain as verify-ca does.
            ssl_mode = SslMode::VerifyCa;
        }
        match parameter("sslnegotiation") {
            None | Some("postgres") => {}
            // tokio-postgres would start TLS without the ALPN PostgreSQL 17 requires, and the
            // walsender client always asks first: refused rather than half done.
            Some(other) => {
                return Err(SidecarError::UpstreamConfig(format!(
                    "sslnegotiation={other} is not supported for upstream connections (use postgres, the default)"
                )))
            }
        }
        let client_cert = match (parameter("sslcert"), parameter("sslkey")) {
            (Some(cert), Some(key)) => Some((PathBuf::from(cert), PathBuf::from(key))),
            (None, None) => None,
            _ => return Err(SidecarError::UpstreamConfig("sslcert and sslkey go together".into())),
        };
        let roots = match ssl_mode {
            SslMode::VerifyCa | SslMode::VerifyFull => {
                let path = root_cert.ok_or_else(|| no_root_cert(Path::new("~/.postgresql/root.crt")))?;
                Some(if system_roots { load_system_roots()? } else { load_roots(&path)? })
            }
            _ => None,
        };
        let tls = client_config(ssl_mode, roots, client_cert.as_ref())?;
        pg.ssl_mode(match ssl_mode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            _ => tokio_postgres::config::SslMode::Require,
        });
        Ok(Self { pg, ssl_mode, tls })
    }

    /// The connector tokio-postgres connects with.
    pub fn connector(&self) -> RustlsConnector {
        RustlsConnector { config: self.tls.clone(), checks_name: self.ssl_mode == SslMode::VerifyFull }
    }

    /// Runs the TLS handshake on `stream`, checking the certificate as `ssl_mode` says for `host`.
    pub(crate) async fn handshake<S>(&self, host: &str, stream: S) -> std::io::Result<TlsStream<S>>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let name = server_name(host, self.ssl_mode == SslMode::VerifyFull)?;
        tokio_rustls::TlsConnector::from(self.tls.clone()).connect(name, stream).await.map(TlsStream)
    }

    /// Settings from a tokio-postgres config alone: its `sslmode` (disable, prefer or require,
    /// the last without certificate checks), no certificate files.
    ///
    /// # Errors
    /// rustls refusing the TLS settings.
    pub fn from_pg(pg: tokio_postgres::Config) -> Result<Self, SidecarError> {
        let ssl_mode = match pg.get_ssl_mode() {
            tokio_postgres::config::SslMode::Disable => SslMode::Disable,
            tokio_postgres::config::SslMode::Require => SslMode::Require,
            _ => SslMode::Prefer,
        };
        Ok(Self { tls: client_config(ssl_mode, None, None)?, pg, ssl_mode })
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn client_config(mode: SslMode, roots: Option<Roots>, client_cert: Option<&(PathBuf, PathBuf)>) -> Result<Arc<ClientConfig>, SidecarError> {
    let provider = provider();
    let tls_error = |e: rustls::Error| SidecarError::UpstreamConfig(format!("TLS settings: {e}"));
    let verifier: Arc<dyn ServerCertVerifier> = match (mode, roots) {
        (SslMode::VerifyCa | SslMode::VerifyFull, Some(Roots { store, certificates })) => {
            let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider.clone())
                .build()
                .map_err(|e| SidecarError::UpstreamConfig(format!("root certificates: {e}")))?;
            Arc::new(LibpqVerifier { webpki, roots: certificates, checks_name: mode == SslMode::VerifyFull })
        }
        _ => Arc::new(AnyCertificate(provider.clone())),
    };
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let config = match client_cert {
        Some((cert, key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| unreadable("client certificate (sslcert)", cert, &e))?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(|e| unreadable("client key (sslkey)", key, &e))?;
            builder.with_client_auth_cert(chain, key).map_err(tls_error)?
        }
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

fn unreadable(what: &str, path: &Path, error: &dyn std::fmt::Display) -> SidecarError {
    SidecarError::UpstreamConfig(format!("cannot read the {what} \"{}\": {error}", path.display()))
}

fn no_root_cert(path: &Path) -> SidecarError {
    SidecarError::UpstreamConfig(format!(
        "root certificate file \"{}\" does not exist; give one with sslrootcert=FILE, use the system's trusted roots \
         with sslrootcert=system, or change sslmode to disable server certificate verification",
        path.display()
    ))
}

fn default_root_cert() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".postgresql").join("root.crt"))
}

/// Trusted roots, and their certificates as they were read.
struct Roots {
    store: RootCertStore,
    certificates: Vec<CertificateDer<'static>>,
}

fn load_roots(path: &Path) -> Result<Roots, SidecarError> {
    if !path.exists() {
        return Err(no_root_cert(path));
    }
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| unreadable("root certificate (sslrootcert)", path, &e))?;
    let mut store = RootCertStore::empty();
    let (added, _ignored) = store.add_parsable_certificates(certs.iter().cloned());
    if added == 0 {
        return Err(SidecarError::UpstreamConfig(format!("no usable certificate in the root certificate file \"{}\"", path.display())));
    }
    Ok(Roots { store, certificates: certs })
}

fn load_system_roots() -> Result<Roots, SidecarError> {
    let bundle = std::env::var_os("SSL_CERT_FILE")
        .map(PathBuf::from)
        .into_iter()
        .chain(["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"].map(PathBuf::from))
        .find(|path| path.exists())
        .ok_or_else(|| SidecarError::UpstreamConfig("sslrootcert=system: no system certificate bundle found (set SSL_CERT_FILE)".into()))?;
    load_roots(&bundle)
}

/// `prefer` and `require`: encrypted, the certificate not checked (libpq's meaning), while the
/// handshake's signatures still are.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca` and `verify-full` as libpq checks them, over WebPKI's chain checks: a server
/// certificate that is itself one of the trusted roots (PostgreSQL's documented self-signed
/// setup, `openssl req -x509`, marked CA:TRUE, which WebPKI refuses as a leaf) is trusted
/// while it is within its validity; without a subjectAltName the host is checked against the
/// subject's common name (`*.` wildcards too); `verify-ca` checks no name.
#[derive(Debug)]
struct LibpqVerifier {
    webpki: Arc<WebPkiServerVerifier>,
    roots: Vec<CertificateDer<'static>>,
    checks_name: bool,
}

fn is_name_error(e: &rustls::Error) -> bool {
    matches!(e, rustls::Error::InvalidCertificate(CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }))
}

impl LibpqVerifier {
    /// Whether `certificate` is one of the roots and valid `now` (an expired one is an error).
    fn is_trusted_root(&self, certificate: &CertificateDer<'_>, now: UnixTime) -> Result<bool, rustls::Error> {
        if !self.roots.iter().any(|root| root.as_ref() == certificate.as_ref()) {
            return Ok(false);
        }
        let parsed = x509_certificate::X509Certificate::from_der(certificate.as_ref())
            .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
        let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        if now > parsed.validity_not_after().timestamp() {
            return Err(rustls::Error::InvalidCertificate(CertificateError::Expired));
        }
        if now < parsed.validity_not_before().timestamp() {
            return Err(rustls::Error::InvalidCertificate(CertificateError::NotValidYet));
        }
        Ok(true)
    }

    /// The host is in the subjectAltName, or, with none there, is the common name.
    fn names(&self, certificate: &CertificateDer<'_>, server_name: &ServerName<'_>) -> bool {
        if rustls::server::ParsedCertificate::try_from(certificate).is_ok_and(|parsed| rustls::client::verify_server_name(&parsed, server_name).is_ok()) {
            return true;
        }
        let Ok(parsed) = x509_certificate::X509Certificate::from_der(certificate.as_ref()) else { return false };
        // 2.5.29.17, subjectAltName: when present it alone names the server.
        if parsed.iter_extensions().any(|extension| extension.id.as_ref() == [0x55, 0x1d, 0x11]) {
            return false;
        }
        let (Some(common_name), ServerName::DnsName(host)) = (parsed.subject_common_name(), server_name) else { return false };
        let (common_name, host) = (common_name.to_ascii_lowercase(), host.as_ref().to_ascii_lowercase());
        match common_name.strip_prefix("*.") {
            Some(domain) => host.split_once('.').is_some_and(|(label, rest)| !label.is_empty() && rest == domain),
            None => common_name == host,
        }
    }
}

impl ServerCertVerifier for LibpqVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let checked = self.webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now);
        // WebPKI checks the chain before the name, so a name error means the chain was good.
        let chain_trusted = match &checked {
            Ok(_) => return checked,
            Err(e) if is_name_error(e) => true,
            Err(_) => self.is_trusted_root(end_entity, now)?,
        };
        if !chain_trusted {
            return checked;
        }
        if !self.checks_name || self.names(end_entity, server_name) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(CertificateError::NotValidForName))
        }
    }

    fn verify_tls12_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// Whether a handshake failed on TLS's terms (a certificate refused, a setting that cannot
/// work) rather than the network's: trying again the same way will fail again.
pub(crate) fn is_tls_refusal(e: &std::io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) || e.kind() == std::io::ErrorKind::Other
}

/// The name a certificate is checked against. Without a usable host name (a connection by
/// `hostaddr` alone) only modes that do not check the name can go on, under a placeholder that
/// rustls neither sends nor checks.
fn server_name(host: &str, checks_name: bool) -> std::io::Result<ServerName<'static>> {
    match ServerName::try_from(host.to_string()) {
        Ok(name) => Ok(name),
        Err(_) if !checks_name => Ok(ServerName::IpAddress(std::net::Ipv4Addr::UNSPECIFIED.into())),
        Err(e) => Err(std::io::Error::other(format!("sslmode=verify-full needs a host name to check the certificate against ({e})"))),
    }
}

/// tokio-postgres's TLS through rustls.
#[derive(Clone)]
pub struct RustlsConnector {
    config: Arc<ClientConfig>,
    checks_name: bool,
}

impl<S> tokio_postgres::tls::MakeTlsConnect<S> for RustlsConnector
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = TlsStream<S>;
    type TlsConnect = RustlsHandshake;
    type Error = std::io::Error;

    /// Called for every connection, TLS or not (a Unix socket has no host name): a name that
    /// cannot be used fails only the handshake, if there is one.
    fn make_tls_connect(&mut self, host: &str) -> Result<RustlsHandshake, Self::Error> {
        Ok(RustlsHandshake { config: self.config.clone(), name: server_name(host, self.checks_name) })
    }
}

/// One handshake tokio-postgres runs.
pub struct RustlsHandshake {
    config: Arc<ClientConfig>,
    name: std::io::Result<ServerName<'static>>,
}

impl<S> tokio_postgres::tls::TlsConnect<S> for RustlsHandshake
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = TlsStream<S>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = std::io::Result<TlsStream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move { tokio_rustls::TlsConnector::from(self.config).connect(self.name?, stream).await.map(TlsStream) })
    }
}

/// An encrypted upstream connection.
pub struct TlsStream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for TlsStream<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for TlsStream<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> tokio_postgres::tls::TlsStream for TlsStream<S> {
    fn channel_binding(&self) -> tokio_postgres::tls::ChannelBinding {
        // SCRAM runs without channel binding, as it does over plain connections.
        tokio_postgres::tls::ChannelBinding::none()
    }
}

/// Splits `names` out of a URL (`postgres://...?a=b&c=d`) or key=value string (`a=b c='d e'`):
/// the rest of it, and the values taken out (unescaped), in order.
fn take_parameters(url: &str, names: &[&str]) -> (String, Vec<(String, String)>) {
    let mut taken = Vec::new();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let Some((base, query)) = url.split_once('?') else { return (url.to_string(), taken) };
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                let key = percent_decode(key);
                if names.contains(&key.as_str()) {
                    taken.push((key, percent_decode(value)));
                    false
                } else {
                    true
                }
            })
            .collect();
        let rest = if kept.is_empty() { base.to_string() } else { format!("{base}?{}", kept.join("&")) };
        return (rest, taken);
    }
    // key=value pairs; anything malformed is left for tokio-postgres to report.
    let chars: Vec<char> = url.chars().collect();
    let mut removed = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        let start = i;
        let mut key = String::new();
        while i < chars.len() && chars[i] != '=' && !chars[i].is_whitespace() {
            key.push(chars[i]);
            i += 1;
        }
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if key.is_empty() || chars.get(i) != Some(&'=') {
            return (url.to_string(), Vec::new());
        }
        i += 1;
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        let quoted = chars.get(i) == Some(&'\'');
        if quoted {
            i += 1;
        }
        while i < chars.len() && (if quoted { chars[i] != '\'' } else { !chars[i].is_whitespace() }) {
            if chars[i] == '\\' && i + 1 < chars.len() {
                i += 1;
            }
            value.push(chars[i]);
            i += 1;
        }
        if quoted {
            i += 1;
        }
        if names.contains(&key.as_str()) {
            taken.push((key, value));
            removed.push(start..i.min(chars.len()));
        }
    }
    let rest = chars.iter().enumerate().filter(|(at, _)| !removed.iter().any(|span| span.contains(at))).map(|(_, c)| *c).collect();
    (rest, taken)
}

/// `%XX` escapes of a URL component decoded (invalid escapes kept as they are).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_parameters_are_taken_out_of_urls() {
        let (rest, taken) = take_parameters(
            "postgres://u@h:5432/db?sslmode=verify-full&application_name=x&sslrootcert=%2Ftmp%2Fca.crt",
            &TLS_PARAMETERS,
        );
        assert_eq!(rest, "postgres://u@h:5432/db?application_name=x");
        assert_eq!(taken, vec![("sslmode".into(), "verify-full".into()), ("sslrootcert".into(), "/tmp/ca.crt".into())]);
        let (rest, _) = take_parameters("postgres://u@h/db?sslmode=require", &TLS_PARAMETERS);
        assert_eq!(rest, "postgres://u@h/db");
    }

    #[test]
    fn tls_parameters_are_taken_out_of_key_value_strings() {
        let (rest, taken) = take_parameters("host=h sslmode = verify-ca sslrootcert='/a b/c\\'s.crt' user=u", &TLS_PARAMETERS);
        assert_eq!(rest.split_whitespace().collect::<Vec<_>>(), ["host=h", "user=u"]);
        assert_eq!(taken, vec![("sslmode".into(), "verify-ca".into()), ("sslrootcert".into(), "/a b/c's.crt".into())]);
    }

    #[test]
    fn sslmodes_follow_libpq() {
        let config = UpstreamConfig::parse("postgres://u@127.0.0.1/db").unwrap();
        assert_eq!(config.ssl_mode, SslMode::Prefer);
        let config = UpstreamConfig::parse("host=127.0.0.1 user=u sslmode=disable").unwrap();
        assert_eq!(config.ssl_mode, SslMode::Disable);
        assert_eq!(config.pg.get_ssl_mode(), tokio_postgres::config::SslMode::Disable);
        let missing = UpstreamConfig::parse("postgres://u@h/db?sslmode=verify-full&sslrootcert=/nonexistent/root.crt").err().unwrap();
        assert!(missing.to_string().contains("does not exist"), "{missing}");
        let bad = UpstreamConfig::parse("postgres://u@h/db?sslmode=always").err().unwrap();
        assert!(bad.to_string().contains("invalid sslmode"), "{bad}");
        let direct = UpstreamConfig::parse("host=h user=u sslnegotiation=direct").err().unwrap();
        assert!(direct.to_string().contains("sslnegotiation=direct is not supported"), "{direct}");
        assert!(UpstreamConfig::parse("host=h user=u sslnegotiation=postgres").is_ok());
    }
}
