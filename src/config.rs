//! The configuration of `serve` (README, "Configure it"): every setting
//! from a TOML file (`--config`), the environment and the command line,
//! merged by figment with flags over environment over file over defaults.

use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::auth::ThrottleSettings;
use crate::settings::{self, Settings, TlsFiles};
use crate::soap::XmlLimits;
use crate::store::{PoolOptions, SqliteSynchronous, redact_url};
use crate::telemetry::LogFormat;

/// How often log lines are written at the least (README, "Logs").
pub const DEFAULT_LOG_FLUSH: Duration = Duration::from_millis(100);
/// The longest a line may wait to be written.
const MAX_LOG_FLUSH_MS: u64 = 10_000;
/// The longest a request may be set to wait for its turn at the database:
/// an hour, far beyond any database timeout that would end it first.
pub const MAX_DATABASE_WAIT_MS: u64 = 3_600_000;

/// Every setting of `serve`, by the name of its flag (with `_` for `-`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    pub bind: String,
    pub database: String,
    pub pool_size: u32,
    pub pool_timeout_secs: u64,
    pub database_timeout_secs: u64,
    pub sqlite_synchronous: String,
    pub demo: bool,
    pub public_url: Option<String>,
    pub trust_forwarded_headers: bool,
    pub max_body_bytes: usize,
    pub max_depth: usize,
    pub max_elements: usize,
    pub max_attributes: usize,
    pub max_text_bytes: usize,
    pub header_timeout_secs: u64,
    pub body_timeout_secs: u64,
    pub keep_alive_secs: u64,
    pub shutdown_grace_secs: u64,
    pub max_database_requests: usize,
    pub max_database_wait_ms: u64,
    pub max_database_wait_behind_ms: u64,
    pub max_connections: usize,
    pub workers: Option<usize>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub tls_client_ca: Option<PathBuf>,
    pub auth_client_failures: u32,
    pub auth_address_failures: u32,
    pub auth_cooldown_secs: u64,
    pub log_format: String,
    pub log_spans: bool,
    pub log_flush_ms: u64,
    pub otlp_endpoint: Option<String>,
    pub metrics_bind: Option<String>,
    pub compress_min_bytes: usize,
    pub max_relations_per_customer: u32,
}

impl Default for ServeConfig {
    fn default() -> Self {
        let pool = PoolOptions::default();
        let xml = XmlLimits::default();
        let throttle = ThrottleSettings::default();
        Self {
            bind: settings::DEFAULT_BIND.to_owned(),
            database: settings::DEFAULT_DATABASE_URL.to_owned(),
            pool_size: pool.max_size,
            pool_timeout_secs: pool.connection_timeout.as_secs(),
            database_timeout_secs: pool.statement_timeout.as_secs(),
            sqlite_synchronous: "full".to_owned(),
            demo: false,
            public_url: None,
            trust_forwarded_headers: false,
            max_body_bytes: settings::DEFAULT_MAX_BODY_BYTES,
            max_depth: xml.max_depth,
            max_elements: xml.max_elements,
            max_attributes: xml.max_attributes,
            max_text_bytes: xml.max_text_bytes,
            header_timeout_secs: settings::DEFAULT_HEADER_TIMEOUT.as_secs(),
            body_timeout_secs: settings::DEFAULT_BODY_TIMEOUT.as_secs(),
            keep_alive_secs: settings::DEFAULT_KEEP_ALIVE.as_secs(),
            shutdown_grace_secs: settings::DEFAULT_SHUTDOWN_GRACE.as_secs(),
            max_database_requests: settings::DEFAULT_MAX_DATABASE_REQUESTS,
            max_database_wait_ms: pool.max_wait.as_millis() as u64,
            max_database_wait_behind_ms: pool.behind_wait.as_millis() as u64,
            max_connections: settings::DEFAULT_MAX_CONNECTIONS,
            workers: None,
            tls_cert: None,
            tls_key: None,
            tls_client_ca: None,
            auth_client_failures: throttle.client_failures,
            auth_address_failures: throttle.address_failures,
            auth_cooldown_secs: throttle.cooldown.as_secs(),
            log_format: "text".to_owned(),
            log_spans: false,
            log_flush_ms: DEFAULT_LOG_FLUSH.as_millis() as u64,
            otlp_endpoint: None,
            metrics_bind: None,
            compress_min_bytes: settings::DEFAULT_COMPRESS_MIN_BYTES,
            max_relations_per_customer: pool.max_relations_per_customer,
        }
    }
}

/// Why the configuration cannot be used; the text names the setting and
/// where its value came from.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

/// The environment variable of each setting: `CR_` and its name in capitals;
/// the database's is `DATABASE_URL`, as libpq and diesel have it.
pub fn environment_variable(setting: &str) -> String {
    match setting {
        "database" => "DATABASE_URL".to_owned(),
        other => format!("CR_{}", other.to_ascii_uppercase()),
    }
}

/// The names of the settings.
fn setting_names() -> Vec<String> {
    match figment::value::Value::serialize(ServeConfig::default()) {
        Ok(figment::value::Value::Dict(_, dict)) => dict.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

impl ServeConfig {
    /// Defaults, then the file (when given; it must exist), then the
    /// environment, then `flags` (the settings given on the command line).
    pub fn load(file: Option<&Path>, flags: impl Serialize) -> Result<Self, ConfigError> {
        let names = setting_names();
        let mut figment = Figment::from(Serialized::defaults(ServeConfig::default()));
        if let Some(file) = file {
            if !file.is_file() {
                return Err(ConfigError(format!(
                    "the configuration file {} does not exist",
                    file.display()
                )));
            }
            figment = figment.merge(Toml::file_exact(file));
        }
        let known: Vec<&str> = names
            .iter()
            .filter(|name| *name != "database")
            .map(String::as_str)
            .collect();
        figment = figment
            .merge(Env::prefixed("CR_").only(&known))
            .merge(
                Env::raw()
                    .only(&["database_url"])
                    .map(|_| "database".into()),
            )
            .merge(Serialized::defaults(flags));
        let config: ServeConfig = figment.extract().map_err(|error| {
            let errors: Vec<String> = error.into_iter().map(|e| e.to_string()).collect();
            ConfigError(format!(
                "the configuration is not valid: {}",
                errors.join("; ")
            ))
        })?;
        config.validate(&figment)?;
        Ok(config)
    }

    /// What figment cannot check: ranges, choices, pairs.
    fn validate(&self, figment: &Figment) -> Result<(), ConfigError> {
        let source = |name: &str| {
            figment
                .find_metadata(name)
                .map(|m| match &m.source {
                    Some(source) => format!("{} ({source})", m.name),
                    None => m.name.to_string(),
                })
                .unwrap_or_else(|| "the defaults".to_owned())
        };
        let at_least_one = [
            ("pool_size", self.pool_size as u64),
            ("pool_timeout_secs", self.pool_timeout_secs),
            ("database_timeout_secs", self.database_timeout_secs),
            ("max_body_bytes", self.max_body_bytes as u64),
            ("max_depth", self.max_depth as u64),
            ("max_elements", self.max_elements as u64),
            ("max_attributes", self.max_attributes as u64),
            ("max_text_bytes", self.max_text_bytes as u64),
            ("header_timeout_secs", self.header_timeout_secs),
            ("body_timeout_secs", self.body_timeout_secs),
            ("keep_alive_secs", self.keep_alive_secs),
            ("shutdown_grace_secs", self.shutdown_grace_secs),
            ("max_database_requests", self.max_database_requests as u64),
            ("max_database_wait_ms", self.max_database_wait_ms),
            (
                "max_database_wait_behind_ms",
                self.max_database_wait_behind_ms,
            ),
            ("max_connections", self.max_connections as u64),
            ("workers", self.workers.unwrap_or(1) as u64),
            ("auth_client_failures", u64::from(self.auth_client_failures)),
            (
                "auth_address_failures",
                u64::from(self.auth_address_failures),
            ),
            ("auth_cooldown_secs", self.auth_cooldown_secs),
            ("compress_min_bytes", self.compress_min_bytes as u64),
            (
                "max_relations_per_customer",
                u64::from(self.max_relations_per_customer),
            ),
        ];
        for (name, value) in at_least_one {
            if value == 0 {
                return Err(ConfigError(format!(
                    "{name} must be at least 1; it is 0, from {}",
                    source(name)
                )));
            }
        }
        let choices = [
            (
                "sqlite_synchronous",
                &self.sqlite_synchronous,
                &["full", "normal"][..],
            ),
            ("log_format", &self.log_format, &["text", "json"][..]),
        ];
        for (name, value, allowed) in choices {
            if !allowed.contains(&value.as_str()) {
                return Err(ConfigError(format!(
                    "{name} must be one of {}; it is '{value}', from {}",
                    allowed.join(", "),
                    source(name)
                )));
            }
        }
        if let Some(url) = &self.public_url {
            check_public_url(url).map_err(|why| {
                ConfigError(format!("public_url: {why}, from {}", source("public_url")))
            })?;
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(ConfigError(
                "tls_cert and tls_key go together: give both or neither".into(),
            ));
        }
        if self.tls_client_ca.is_some() && self.tls_cert.is_none() {
            return Err(ConfigError(
                "tls_client_ca needs tls_cert and tls_key".into(),
            ));
        }
        if self.log_flush_ms > MAX_LOG_FLUSH_MS {
            return Err(ConfigError(format!(
                "log_flush_ms must be at most {MAX_LOG_FLUSH_MS}; it is {}, from {}",
                self.log_flush_ms,
                source("log_flush_ms")
            )));
        }
        for (name, value) in [
            ("max_database_wait_ms", self.max_database_wait_ms),
            (
                "max_database_wait_behind_ms",
                self.max_database_wait_behind_ms,
            ),
        ] {
            if value > MAX_DATABASE_WAIT_MS {
                return Err(ConfigError(format!(
                    "{name} must be at most {MAX_DATABASE_WAIT_MS}; it is {value}, from {}",
                    source(name)
                )));
            }
        }
        if self.shutdown_grace_secs <= self.database_timeout_secs {
            return Err(ConfigError(format!(
                "shutdown_grace_secs ({}) must be longer than database_timeout_secs ({}), so that every request in flight is answered before the server stops",
                self.shutdown_grace_secs, self.database_timeout_secs
            )));
        }
        Ok(())
    }

    pub fn log_format(&self) -> LogFormat {
        if self.log_format == "json" {
            LogFormat::Json
        } else {
            LogFormat::Text
        }
    }

    /// How often batched log lines are written; `None` (0): each at once.
    pub fn log_flush_every(&self) -> Option<Duration> {
        (self.log_flush_ms > 0).then(|| Duration::from_millis(self.log_flush_ms))
    }

    pub fn pool_options(&self) -> PoolOptions {
        PoolOptions {
            max_size: self.pool_size,
            connection_timeout: Duration::from_secs(self.pool_timeout_secs),
            max_wait: Duration::from_millis(self.max_database_wait_ms),
            behind_wait: Duration::from_millis(self.max_database_wait_behind_ms),
            statement_timeout: Duration::from_secs(self.database_timeout_secs),
            sqlite_synchronous: if self.sqlite_synchronous == "normal" {
                SqliteSynchronous::Normal
            } else {
                SqliteSynchronous::Full
            },
            max_relations_per_customer: self.max_relations_per_customer,
        }
    }

    /// The server's settings (the database URL is parsed here).
    pub fn settings(&self) -> anyhow::Result<Settings> {
        let mut settings = Settings::new(self.bind.clone(), self.database.parse()?);
        settings.pool = self.pool_options();
        settings.public_url = self.public_url.clone();
        settings.trust_forwarded_headers = self.trust_forwarded_headers;
        settings.max_body_bytes = self.max_body_bytes;
        settings.xml_limits = XmlLimits {
            max_depth: self.max_depth,
            max_elements: self.max_elements,
            max_attributes: self.max_attributes,
            max_text_bytes: self.max_text_bytes,
        };
        settings.workers = self.workers;
        settings.header_timeout = Duration::from_secs(self.header_timeout_secs);
        settings.body_timeout = Duration::from_secs(self.body_timeout_secs);
        settings.keep_alive = Duration::from_secs(self.keep_alive_secs);
        settings.shutdown_grace = Duration::from_secs(self.shutdown_grace_secs);
        settings.max_database_requests = self.max_database_requests;
        settings.max_connections = self.max_connections;
        settings.compress_min_bytes = self.compress_min_bytes;
        settings.metrics_bind = self.metrics_bind.clone();
        settings.throttle = ThrottleSettings {
            client_failures: self.auth_client_failures,
            address_failures: self.auth_address_failures,
            cooldown: Duration::from_secs(self.auth_cooldown_secs),
        };
        settings.tls = match (&self.tls_cert, &self.tls_key) {
            (Some(certificate), Some(private_key)) => Some(TlsFiles {
                certificate: certificate.clone(),
                private_key: private_key.clone(),
                client_ca: self.tls_client_ca.clone(),
            }),
            _ => None,
        };
        Ok(settings)
    }

    /// The configuration as a TOML file would hold it, with the database
    /// password shown as `***`.
    pub fn redacted_toml(&self) -> String {
        let mut shown = self.clone();
        shown.database = redact_url(&self.database);
        toml::to_string(&shown)
            .unwrap_or_else(|e| format!("# cannot show the configuration: {e}\n"))
    }
}

/// An absolute http or https URL with a host and nothing after the path.
pub fn check_public_url(raw: &str) -> Result<(), String> {
    let url = url::Url::parse(raw).map_err(|e| format!("'{raw}' is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!(
            "'{raw}' is not an http or https URL with a host, such as https://crm.example.com"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(format!(
            "'{raw}' may hold a scheme, host, port and path, nothing more"
        ));
    }
    Ok(())
}
