use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use customer_relations::auth::{self, ThrottleSettings};
use customer_relations::import::{demo_fixtures, import_with_progress, read_fixture_dir};
use customer_relations::operations::Service;
use customer_relations::settings::{DEFAULT_BIND, DEFAULT_DATABASE_URL, Settings, TlsFiles};
use customer_relations::soap::XmlLimits;
use customer_relations::startup::Application;
use customer_relations::store::{Database, DatabaseUrl, PoolOptions, SqliteSynchronous};
use customer_relations::telemetry::LogFormat;
use customer_relations::vocabulary::Role;

/// SOAP service for customer relations, compatible with Infosoft's Customer
/// Relation API.
#[derive(Parser)]
#[command(name = "customer-relations", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the SOAP service (migrations run first).
    Serve(Box<ServeArgs>),
    /// Run pending database migrations and exit.
    Migrate(DatabaseArgs),
    /// Load titles, customers, relation types, users and subscriptions from
    /// the CSV files of a folder. All or nothing; safe to repeat.
    Import {
        /// Folder holding titles.csv, customers.csv, relation_types.csv,
        /// users.csv and/or subscriptions.csv.
        dir: PathBuf,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Manage the API clients that may call the services (README,
    /// "Security").
    Client {
        #[command(subcommand)]
        command: ClientCommand,
    },
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Add a client; its secret is printed once and never again.
    Add {
        name: String,
        /// reader, integration or admin.
        #[arg(long, value_parser = clap::value_parser!(Role))]
        role: Role,
        /// Relation type codes it may use (reader and integration only);
        /// default: all.
        #[arg(long, value_delimiter = ',')]
        scope: Option<Vec<String>>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// List the clients (never their secrets).
    List {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Give a client a new secret (printed once); the old one stops working.
    Rotate {
        name: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Make a client invalid for good.
    Revoke {
        name: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

impl ClientCommand {
    fn database(&self) -> &DatabaseArgs {
        match self {
            Self::Add { database, .. }
            | Self::List { database }
            | Self::Rotate { database, .. }
            | Self::Revoke { database, .. } => database,
        }
    }
}

#[derive(Args)]
struct DatabaseArgs {
    /// Database URL: sqlite://PATH (relative), sqlite:///PATH (absolute) or
    /// postgres://USER:PASSWORD@HOST:PORT/DATABASE.
    // A String, not a DatabaseUrl: clap would echo a refused value, password
    // and all; DatabaseUrl's own errors never show the password.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, hide_env_values = true)]
    database: String,
}

impl DatabaseArgs {
    fn url(&self) -> anyhow::Result<DatabaseUrl> {
        Ok(self.database.parse()?)
    }

    fn open(&self, pool: &PoolOptions) -> anyhow::Result<Database> {
        let url = self.url()?;
        Database::open(&url, pool).with_context(|| format!("opening {url}"))
    }
}

/// The connection pool of a serving instance.
#[derive(Args)]
struct PoolArgs {
    /// Most connections the pool keeps open.
    #[arg(long, env = "CR_POOL_SIZE", default_value_t = PoolOptions::default().max_size,
          value_parser = clap::value_parser!(u32).range(1..))]
    pool_size: u32,
    /// Seconds a request waits for a free connection before a Server fault.
    #[arg(long, env = "CR_POOL_TIMEOUT_SECS", default_value_t = PoolOptions::default().connection_timeout.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    pool_timeout_secs: u64,
    /// Seconds a request may spend on the database in all (waiting for a
    /// connection and its statements) before a Server fault; PostgreSQL's
    /// statement_timeout and libpq's keepalives follow it.
    #[arg(long, env = "CR_DATABASE_TIMEOUT_SECS", default_value_t = PoolOptions::default().statement_timeout.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    database_timeout_secs: u64,
    /// When SQLite confirms a write: full (after the disk has it; survives
    /// a power loss) or normal (survives a crash of the service only).
    #[arg(long, env = "CR_SQLITE_SYNCHRONOUS", default_value = "full", value_parser = ["full", "normal"])]
    sqlite_synchronous: String,
}

impl PoolArgs {
    fn options(&self) -> PoolOptions {
        PoolOptions {
            max_size: self.pool_size,
            connection_timeout: Duration::from_secs(self.pool_timeout_secs),
            statement_timeout: Duration::from_secs(self.database_timeout_secs),
            sqlite_synchronous: if self.sqlite_synchronous == "normal" {
                SqliteSynchronous::Normal
            } else {
                SqliteSynchronous::Full
            },
        }
    }
}

fn log_format(raw: &str) -> Result<LogFormat, String> {
    match raw {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        other => Err(format!("'{other}' is not a log format; use text or json")),
    }
}

/// A count that must be at least 1.
fn positive() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::new().range(1..)
}

/// An absolute http or https URL with a host and nothing after the path.
fn public_url(raw: &str) -> Result<String, String> {
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
    Ok(raw.to_owned())
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "CR_BIND", default_value = DEFAULT_BIND)]
    bind: String,
    #[command(flatten)]
    database: DatabaseArgs,
    #[command(flatten)]
    pool: PoolArgs,
    /// Load the demo data set into an empty database.
    #[arg(long)]
    demo: bool,
    /// Base URL clients reach the service at (for the WSDL's address), e.g.
    /// https://crm.example.com. Default: taken from each request's Host.
    #[arg(long, env = "CR_PUBLIC_URL", value_parser = public_url)]
    public_url: Option<String>,
    /// Without --public-url, let a proxy's Forwarded / X-Forwarded-Proto /
    /// X-Forwarded-Host headers set the WSDL's address. Only behind a proxy
    /// that sets them itself.
    #[arg(long, env = "CR_TRUST_FORWARDED_HEADERS")]
    trust_forwarded_headers: bool,
    /// Largest request body in bytes.
    #[arg(long, env = "CR_MAX_BODY_BYTES", default_value_t = customer_relations::settings::DEFAULT_MAX_BODY_BYTES, value_parser = positive())]
    max_body_bytes: usize,
    /// Deepest element nesting a request may have.
    #[arg(long, env = "CR_MAX_DEPTH", default_value_t = XmlLimits::default().max_depth, value_parser = positive())]
    max_depth: usize,
    /// Most elements a request may have.
    #[arg(long, env = "CR_MAX_ELEMENTS", default_value_t = XmlLimits::default().max_elements, value_parser = positive())]
    max_elements: usize,
    /// Most attributes an element may have.
    #[arg(long, env = "CR_MAX_ATTRIBUTES", default_value_t = XmlLimits::default().max_attributes, value_parser = positive())]
    max_attributes: usize,
    /// Most bytes of text an element may hold.
    #[arg(long, env = "CR_MAX_TEXT_BYTES", default_value_t = XmlLimits::default().max_text_bytes, value_parser = positive())]
    max_text_bytes: usize,
    /// Seconds a client may take to send a request's head (408 after).
    #[arg(long, env = "CR_HEADER_TIMEOUT_SECS", default_value_t = customer_relations::settings::DEFAULT_HEADER_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    header_timeout_secs: u64,
    /// Seconds a client may take to send a request's body (408 after).
    #[arg(long, env = "CR_BODY_TIMEOUT_SECS", default_value_t = customer_relations::settings::DEFAULT_BODY_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    body_timeout_secs: u64,
    /// Seconds an idle kept-alive connection stays open.
    #[arg(long, env = "CR_KEEP_ALIVE_SECS", default_value_t = customer_relations::settings::DEFAULT_KEEP_ALIVE.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    keep_alive_secs: u64,
    /// Seconds a stopping server (SIGTERM, Ctrl-C) waits for the requests
    /// in flight; must be longer than --database-timeout-secs.
    #[arg(long, env = "CR_SHUTDOWN_GRACE_SECS", default_value_t = customer_relations::settings::DEFAULT_SHUTDOWN_GRACE.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    shutdown_grace_secs: u64,
    /// The most requests at the database at once (running or waiting for a
    /// connection); more get a busy Server fault, HTTP 503 with Retry-After.
    #[arg(long, env = "CR_MAX_DATABASE_REQUESTS", default_value_t = customer_relations::settings::DEFAULT_MAX_DATABASE_REQUESTS, value_parser = positive())]
    max_database_requests: usize,
    /// The most client connections kept open; more wait to be accepted.
    #[arg(long, env = "CR_MAX_CONNECTIONS", default_value_t = customer_relations::settings::DEFAULT_MAX_CONNECTIONS, value_parser = positive())]
    max_connections: usize,
    /// Debug builds only: let the X-Test-Panic header make a request panic
    /// (for the tests of what a panic does).
    #[cfg(debug_assertions)]
    #[arg(long, hide = true)]
    panic_trigger: bool,
    /// HTTP worker threads (default: one per CPU core).
    #[arg(long, env = "CR_WORKERS", value_parser = positive())]
    workers: Option<usize>,
    /// Log lines as text (key=value) or json (one object per line).
    #[arg(long, env = "CR_LOG_FORMAT", default_value = "text", value_parser = log_format)]
    log_format: LogFormat,
    /// Log each span's timing when it closes (see RUST_LOG for which).
    #[arg(long, env = "CR_LOG_SPANS")]
    log_spans: bool,
    /// Serve GET /metrics on this address (e.g. an internal one) instead of
    /// the main one.
    #[arg(long, env = "CR_METRICS_BIND")]
    metrics_bind: Option<String>,
    /// The smallest response, in bytes, that is gzipped for a client that
    /// sends Accept-Encoding: gzip.
    #[arg(long, env = "CR_COMPRESS_MIN_BYTES", default_value_t = customer_relations::settings::DEFAULT_COMPRESS_MIN_BYTES, value_parser = positive())]
    compress_min_bytes: usize,
    /// Serve HTTPS with this PEM certificate chain (with --tls-key).
    #[arg(long, env = "CR_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, env = "CR_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Let client certificates signed by this PEM CA authenticate as the
    /// API client their subject CN names (needs --tls-cert).
    #[arg(long, env = "CR_TLS_CLIENT_CA", requires = "tls_cert")]
    tls_client_ca: Option<PathBuf>,
    /// Failed authentications of one client name within a cool-down after
    /// which that name is refused for the cool-down, even with the right
    /// secret.
    #[arg(long, env = "CR_AUTH_CLIENT_FAILURES", default_value_t = ThrottleSettings::default().client_failures,
          value_parser = clap::value_parser!(u32).range(1..))]
    auth_client_failures: u32,
    /// Failed authentications from one address within a cool-down after
    /// which that address is refused for the cool-down.
    #[arg(long, env = "CR_AUTH_ADDRESS_FAILURES", default_value_t = ThrottleSettings::default().address_failures,
          value_parser = clap::value_parser!(u32).range(1..))]
    auth_address_failures: u32,
    /// Seconds a throttled client name or address is refused.
    #[arg(long, env = "CR_AUTH_COOLDOWN_SECS", default_value_t = ThrottleSettings::default().cooldown.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    auth_cooldown_secs: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (log_format, log_spans) = match &cli.command {
        Command::Serve(args) => (args.log_format, args.log_spans),
        _ => (LogFormat::Text, false),
    };
    customer_relations::telemetry::init(log_format, log_spans);
    let result = match cli.command {
        Command::Serve(args) => serve(*args),
        Command::Migrate(args) => args
            .open(&PoolOptions::default())
            .and_then(|db| Ok(db.migrate()?))
            .map(|()| {
                println!("Migrations are up to date.");
            }),
        Command::Import { dir, database } => import(&dir, &database),
        Command::Client { command } => client(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line, each cause once (libpq's messages span lines).
            let message = format!("{error:#}");
            eprintln!(
                "error: {}",
                message.split_whitespace().collect::<Vec<_>>().join(" ")
            );
            ExitCode::FAILURE
        }
    }
}

fn import(dir: &std::path::Path, args: &DatabaseArgs) -> anyhow::Result<()> {
    let database = args.open(&PoolOptions::default())?;
    database.migrate()?;
    let files = read_fixture_dir(dir)?;
    let started = std::time::Instant::now();
    let summary = import_with_progress(&database, &files, &mut |file, rows| {
        eprintln!("{file}: {rows} rows read");
    })?;
    println!(
        "Imported {} ({summary}) in {:.1} s.",
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn client(command: ClientCommand) -> anyhow::Result<()> {
    let database = command.database().open(&PoolOptions::default())?;
    database.migrate()?;
    match command {
        ClientCommand::Add {
            name, role, scope, ..
        } => {
            let secret = auth::add_client(&database, &name, role, scope)?;
            println!("Added client {name} ({role}). Its secret, shown this once:");
            println!("{secret}");
        }
        ClientCommand::List { .. } => {
            use customer_relations::auth::ClientStore;
            let clients = database.api_clients().map_err(|e| anyhow::anyhow!("{e}"))?;
            if clients.is_empty() {
                println!(
                    "No clients; add one with: customer-relations client add NAME --role ROLE"
                );
            }
            for client in clients {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    client.name,
                    client.role,
                    client
                        .scope
                        .map_or_else(|| "all relation types".to_owned(), |codes| codes.join(",")),
                    client.validity,
                    client.created_at.format("%Y-%m-%dT%H:%M:%SZ")
                );
            }
        }
        ClientCommand::Rotate { name, .. } => {
            let secret = auth::rotate_client(&database, &name)?;
            println!(
                "Client {name} has a new secret (the old one no longer works), shown this once:"
            );
            println!("{secret}");
        }
        ClientCommand::Revoke { name, .. } => {
            auth::revoke_client(&database, &name)?;
            println!("Client {name} is revoked; every instance refuses it within a second.");
        }
    }
    Ok(())
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.shutdown_grace_secs > args.pool.database_timeout_secs,
        "--shutdown-grace-secs ({}) must be longer than --database-timeout-secs ({}), so that every request in flight is answered before the server stops",
        args.shutdown_grace_secs,
        args.pool.database_timeout_secs
    );
    let database = args.database.open(&args.pool.options())?;
    database.migrate()?;
    if args.demo {
        if database.is_empty()? {
            let summary = customer_relations::import::import(&database, &demo_fixtures())?;
            log::info!("loaded the demo data set ({summary})");
        } else {
            log::info!("the database is not empty; --demo left it as it is");
        }
        let added = auth::ensure_demo_clients(&database)?;
        if added > 0 {
            log::info!("added {added} demo API clients (README, \"Security\")");
        }
    }
    let mut settings = Settings::new(args.bind, args.database.url()?);
    settings.pool = args.pool.options();
    settings.public_url = args.public_url;
    settings.trust_forwarded_headers = args.trust_forwarded_headers;
    settings.max_body_bytes = args.max_body_bytes;
    settings.xml_limits = XmlLimits {
        max_depth: args.max_depth,
        max_elements: args.max_elements,
        max_attributes: args.max_attributes,
        max_text_bytes: args.max_text_bytes,
    };
    settings.workers = args.workers;
    settings.header_timeout = Duration::from_secs(args.header_timeout_secs);
    settings.body_timeout = Duration::from_secs(args.body_timeout_secs);
    settings.keep_alive = Duration::from_secs(args.keep_alive_secs);
    settings.shutdown_grace = Duration::from_secs(args.shutdown_grace_secs);
    settings.max_database_requests = args.max_database_requests;
    settings.max_connections = args.max_connections;
    settings.compress_min_bytes = args.compress_min_bytes;
    settings.metrics_bind = args.metrics_bind;
    settings.throttle = ThrottleSettings {
        client_failures: args.auth_client_failures,
        address_failures: args.auth_address_failures,
        cooldown: Duration::from_secs(args.auth_cooldown_secs),
    };
    settings.tls = match (args.tls_cert, args.tls_key) {
        (Some(certificate), Some(private_key)) => Some(TlsFiles {
            certificate,
            private_key,
            client_ca: args.tls_client_ca,
        }),
        _ => None,
    };
    #[cfg(debug_assertions)]
    {
        settings.panic_trigger = args.panic_trigger;
    }

    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(&settings, database)?;
        let scheme = if settings.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let base = format!("{scheme}://{}", app.address());
        for service in Service::ALL {
            let path = service.path();
            println!("{} listening on {base}{path}", service.name());
            println!("WSDL: {base}{path}?wsdl");
        }
        println!("Database: {}", settings.database);
        if let Some(address) = app.metrics_address() {
            println!("Metrics: http://{address}/metrics");
        }
        std::io::stdout().flush().ok();
        app.run_until_stopped().await.context("serving")
    })
}
