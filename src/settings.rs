//! Everything the server is configured with.

use std::path::PathBuf;
use std::time::Duration;

use crate::auth::ThrottleSettings;
use crate::soap::XmlLimits;
use crate::store::{DatabaseUrl, PoolOptions};

pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/customer-relations.db";
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(5);
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(5);
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
pub const DEFAULT_MAX_DATABASE_REQUESTS: usize = 1024;
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;
/// Responses smaller than this are not worth compressing.
pub const DEFAULT_COMPRESS_MIN_BYTES: usize = 1024;

#[derive(Debug, Clone)]
pub struct Settings {
    /// Address to listen on; port 0 picks a free port.
    pub bind: String,
    pub database: DatabaseUrl,
    pub pool: PoolOptions,
    /// Base URL clients reach the service at, for the WSDL's address; when
    /// unset, it is built from the request's Host.
    pub public_url: Option<String>,
    /// Whether, without `public_url`, a proxy's `Forwarded` and
    /// `X-Forwarded-*` headers may set the WSDL's address.
    pub trust_forwarded_headers: bool,
    pub max_body_bytes: usize,
    pub xml_limits: XmlLimits,
    /// How long a client may take to send a request's head.
    pub header_timeout: Duration,
    /// How long a client may take to send a request's body.
    pub body_timeout: Duration,
    /// How long an idle kept-alive connection stays open.
    pub keep_alive: Duration,
    /// How long a stopping server waits for the requests in flight; longer
    /// than the database timeout, so that each of them gets its answer.
    pub shutdown_grace: Duration,
    /// The most requests at the database at once, running or waiting for a
    /// connection; more get a busy fault (503) at once.
    pub max_database_requests: usize,
    /// The most client connections the server keeps open (all workers).
    pub max_connections: usize,
    /// Debug builds only: a request with the header `X-Test-Panic:
    /// answering` or `database` panics there, to test that a panic becomes
    /// a Server fault and the worker survives.
    #[cfg(debug_assertions)]
    pub panic_trigger: bool,
    /// Builds with the `bench-switches` feature only (the load benchmark's
    /// server): what is switched off to measure what it costs.
    #[cfg(feature = "bench-switches")]
    pub switched_off: SwitchedOff,
    /// HTTP worker threads; `None` for one per CPU core.
    pub workers: Option<usize>,
    /// Serve `/metrics` on this address instead of the main one.
    pub metrics_bind: Option<String>,
    /// The smallest response body that is gzipped for a client that
    /// accepts gzip.
    pub compress_min_bytes: usize,
    /// When failed authentications refuse a client name or an address.
    pub throttle: ThrottleSettings,
    /// Serve HTTPS instead of HTTP.
    pub tls: Option<TlsFiles>,
}

/// PEM files for HTTPS (README, "Security").
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The server's certificate chain.
    pub certificate: PathBuf,
    pub private_key: PathBuf,
    /// When set, a client certificate signed by one of these CAs
    /// authenticates as the API client its subject CN names.
    pub client_ca: Option<PathBuf>,
}

impl Settings {
    pub fn new(bind: impl Into<String>, database: DatabaseUrl) -> Self {
        Self {
            bind: bind.into(),
            database,
            pool: PoolOptions::default(),
            public_url: None,
            trust_forwarded_headers: false,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            xml_limits: XmlLimits::default(),
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            keep_alive: DEFAULT_KEEP_ALIVE,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            max_database_requests: DEFAULT_MAX_DATABASE_REQUESTS,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            #[cfg(debug_assertions)]
            panic_trigger: false,
            #[cfg(feature = "bench-switches")]
            switched_off: SwitchedOff::default(),
            workers: None,
            metrics_bind: None,
            compress_min_bytes: DEFAULT_COMPRESS_MIN_BYTES,
            throttle: ThrottleSettings::default(),
            tls: None,
        }
    }
}

/// What the load benchmark switches off to measure its cost (README,
/// "Performance"), in builds with the `bench-switches` feature only, which
/// the benchmarks and tests are (a dev-dependency of the crate on itself
/// turns it on for them); `cargo build` leaves it out.
#[cfg(feature = "bench-switches")]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SwitchedOff {
    /// Every request is an admin, without credentials.
    pub authentication: bool,
    /// Requests are not counted for `/metrics`.
    pub metrics: bool,
}
