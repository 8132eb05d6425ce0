use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use customer_relations::auth;
use customer_relations::config::ServeConfig;
use customer_relations::import::{demo_fixtures, import_with_progress, read_fixture_dir};
use customer_relations::operations::Service;
use customer_relations::settings::DEFAULT_DATABASE_URL;
use customer_relations::startup::Application;
use customer_relations::store::{Database, DatabaseUrl, PoolOptions};
use customer_relations::telemetry::LogFormat;
use customer_relations::vocabulary::Role;

/// musl's allocator is slow under many threads; the static build uses
/// mimalloc (README, "Deploy it").
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Erase a customer's relations and their whole history for good (the
    /// right to erasure), and say what was removed. Not an operation: it
    /// is for whoever runs the service.
    Purge {
        /// The customer whose relations are erased.
        #[arg(long)]
        customer: i32,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Ask a running instance's readiness probe (for a container's
    /// HEALTHCHECK, where there is no curl): exit 0 on 200, 1 otherwise.
    Probe {
        /// The probe's URL (plain HTTP).
        #[arg(long, default_value = "http://127.0.0.1:8080/health/ready")]
        url: String,
        /// Seconds to wait for the answer in all.
        #[arg(long, default_value_t = 3, value_parser = seconds())]
        timeout_secs: u64,
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

/// A count that must be at least 1.
fn positive() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::new().range(1..)
}

/// Seconds, at least 1.
fn seconds() -> clap::builder::RangedU64ValueParser<u64> {
    clap::builder::RangedU64ValueParser::new().range(1..)
}

/// An absolute http or https URL with a host and nothing after the path.
fn public_url(raw: &str) -> Result<String, String> {
    customer_relations::config::check_public_url(raw).map(|()| raw.to_owned())
}

/// `serve`'s flags. Each is also a setting of the configuration file and
/// an environment variable (README, "Configure it"); a flag given here
/// wins over both. The defaults are those of the README's table.
#[derive(Args, serde::Serialize)]
struct ServeArgs {
    /// A TOML file with any of the settings below (their names with `_`
    /// for `-`).
    #[arg(long, env = "CR_CONFIG")]
    #[serde(skip)]
    config: Option<PathBuf>,
    /// Print the configuration in effect (TOML, passwords as ***) and exit.
    #[arg(long)]
    #[serde(skip)]
    print_config: bool,
    /// Address to listen on (port 0 picks a free port). [default: 127.0.0.1:8080]
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    bind: Option<String>,
    /// Database URL: sqlite://PATH (relative), sqlite:///PATH (absolute) or
    /// postgres://USER:PASSWORD@HOST:PORT/DATABASE. [env: DATABASE_URL]
    /// [default: sqlite://data/customer-relations.db]
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    database: Option<String>,
    /// Most connections the pool keeps open. [default: 8]
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pool_size: Option<u32>,
    /// Seconds a request waits for a free connection before a Server fault.
    /// [default: 5]
    #[arg(long, value_parser = seconds())]
    #[serde(skip_serializing_if = "Option::is_none")]
    pool_timeout_secs: Option<u64>,
    /// Seconds a request may spend on the database in all (waiting for a
    /// connection and its statements) before a Server fault; PostgreSQL's
    /// statement_timeout and libpq's keepalives follow it. [default: 10]
    #[arg(long, value_parser = seconds())]
    #[serde(skip_serializing_if = "Option::is_none")]
    database_timeout_secs: Option<u64>,
    /// When SQLite confirms a write: full (after the disk has it; survives
    /// a power loss) or normal (survives a crash of the service only).
    /// [default: full]
    #[arg(long, value_parser = ["full", "normal"])]
    #[serde(skip_serializing_if = "Option::is_none")]
    sqlite_synchronous: Option<String>,
    /// Load the demo data set into an empty database, and add the demo API
    /// clients that are missing.
    #[arg(long)]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    demo: bool,
    /// Base URL clients reach the service at (for the WSDL's address), e.g.
    /// https://crm.example.com. [default: taken from each request's Host]
    #[arg(long, value_parser = public_url)]
    #[serde(skip_serializing_if = "Option::is_none")]
    public_url: Option<String>,
    /// Without --public-url, let a proxy's Forwarded / X-Forwarded-Proto /
    /// X-Forwarded-Host headers set the WSDL's address, and its client
    /// address count for throttling. Only behind a proxy that sets them.
    #[arg(long)]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    trust_forwarded_headers: bool,
    /// Largest request body in bytes, compressed or decoded. [default: 1048576]
    #[arg(long, value_parser = positive())]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_body_bytes: Option<usize>,
    /// Deepest element nesting a request may have. [default: 32]
    #[arg(long, value_parser = positive())]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_depth: Option<usize>,
    /// Most elements a request may have. [default: 10000]
    #[arg(long, value_parser = positive())]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_elements: Option<usize>,
    /// Most attributes an element may have. [default: 64]
    #[arg(long, value_parser = positive())]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_attributes: Option<usize>,
    /// Most bytes of text an element may hold. [default: 65536]
    #[arg(long, value_parser = positive())]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_text_bytes: Option<usize>,
    /// Seconds a client may take to send a request's head (408 after).
    /// [default: 5]
    #[arg(long, value_parser = seconds())]
    #[serde(skip_serializing_if = "Option::is_none")]
    header_timeout_secs: Option<u64>,
    /// Seconds a client may take to send a request's body (408 after).
    /// [default: 10]
    #[arg(long, value_parser = seconds())]
    #[serde(skip_serializing_if = "Option::is_none")]
    body_timeout_secs: Option<u64>,
    /// Seconds an idle kept-alive connection stays open. [default: 5]
    #[arg(long, value_parser = seconds())]
    #[serde(skip_serializing_if = "Option::is_none")]
    keep_alive_secs: Option<u64>,
    /// Seconds a stopping server (SIGTERM, Ctrl-C) waits for the requests
    /// in flight; must be longer than --database-timeout-secs. [default: 30]
    #[arg(long, value_parser = seconds())]
    #[serde(skip_serializing_if = "Option::is_none")]
    shutdown_grace_secs: Option<u64>,
    /// The most requests at the database at once (running or waiting for a
    /// connection); more get a busy Server fault, HTTP 503 with Retry-After.
    /// [default: 1024]
    #[arg(long, value_parser = positive())]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_database_requests: Option<usize>,
    /// Milliseconds a request waits for its turn at a database that is
    /// answering others (every connection in use; SQLite's writer queue)
    /// before a busy Server fault, HTTP 503 with Retry-After, without having
    /// run; --max-database-wait-behind-ms while requests are being refused or
    /// the queue grows faster than it is served (README, "Timeouts and
    /// limits"). [default: 500]
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=customer_relations::config::MAX_DATABASE_WAIT_MS))]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_database_wait_ms: Option<u64>,
    /// Milliseconds a request waits for its turn while the database is
    /// behind (requests refused, or coming faster than they are served):
    /// the newest go first, and the served wait no longer than this; at most
    /// --max-database-wait-ms (README, "Timeouts and limits"). [default: 10]
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=customer_relations::config::MAX_DATABASE_WAIT_MS))]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_database_wait_behind_ms: Option<u64>,
    /// The most client connections kept open; more wait to be accepted.
    /// [default: 4096]
    #[arg(long, value_parser = positive())]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_connections: Option<usize>,
    /// HTTP worker threads. [default: one per CPU core]
    #[arg(long, value_parser = positive())]
    #[serde(skip_serializing_if = "Option::is_none")]
    workers: Option<usize>,
    /// Serve HTTPS with this PEM certificate chain (with --tls-key).
    #[arg(long, requires = "tls_key")]
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_key: Option<PathBuf>,
    /// Let client certificates signed by this PEM CA authenticate as the
    /// API client their subject CN names (needs --tls-cert).
    #[arg(long, requires = "tls_cert")]
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_client_ca: Option<PathBuf>,
    /// Failed authentications of one client name within a cool-down after
    /// which that name is refused for the cool-down, even with the right
    /// secret. [default: 5]
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_client_failures: Option<u32>,
    /// Failed authentications from one address within a cool-down after
    /// which that address is refused for the cool-down. [default: 20]
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_address_failures: Option<u32>,
    /// Seconds a throttled client name or address is refused. [default: 60]
    #[arg(long, value_parser = seconds())]
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_cooldown_secs: Option<u64>,
    /// Log lines as text (key=value) or json (one object per line).
    /// [default: text]
    #[arg(long, value_parser = ["text", "json"])]
    #[serde(skip_serializing_if = "Option::is_none")]
    log_format: Option<String>,
    /// Log each span's timing when it closes (see RUST_LOG for which).
    #[arg(long)]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    log_spans: bool,
    /// Milliseconds a log line may wait to be written with others; 0 writes
    /// each line at once (warnings and errors always are). [default: 100]
    #[arg(long, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    #[serde(skip_serializing_if = "Option::is_none")]
    log_flush_ms: Option<u64>,
    /// Export traces to this OTLP/HTTP collector, e.g. http://127.0.0.1:4318
    /// (builds with the otlp feature only).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    otlp_endpoint: Option<String>,
    /// Serve GET /metrics on this address (e.g. an internal one) instead of
    /// the main one.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics_bind: Option<String>,
    /// The smallest response, in bytes, that is gzipped for a client that
    /// sends Accept-Encoding: gzip. [default: 1024]
    #[arg(long, value_parser = positive())]
    #[serde(skip_serializing_if = "Option::is_none")]
    compress_min_bytes: Option<usize>,
    /// The most relations one customer may have; a create beyond it is an
    /// EntityValidationFault on CustomerNumber. [default: 10000]
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_relations_per_customer: Option<u32>,
    /// Debug builds only: let the X-Test-Panic header make a request panic
    /// (for the tests of what a panic does).
    #[cfg(debug_assertions)]
    #[arg(long, hide = true)]
    #[serde(skip)]
    panic_trigger: bool,
    /// Builds with the bench-switches feature only: switch authentication
    /// and/or the metrics off, to measure what they cost (the load
    /// benchmark); the server then listens on loopback addresses only.
    #[cfg(feature = "bench-switches")]
    #[arg(long, hide = true, value_delimiter = ',', value_parser = ["authentication", "metrics"])]
    #[serde(skip)]
    bench_without: Vec<String>,
}

fn main() -> ExitCode {
    // OpenSSL (libpq's, for PostgreSQL over TLS) initialised before libpq
    // does it, without the clean-up it otherwise registers for the exit:
    // that clean-up frees OpenSSL's state while other threads (a request's
    // blocking thread, the pool's) may still be closing a TLS connection,
    // and the process then dies of a segmentation fault instead of exiting
    // 0 after a graceful stop (README, "Operations"). The operating system
    // frees the memory at the exit anyway.
    openssl_sys::init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(*args),
        command => {
            let _tracing = customer_relations::telemetry::init(LogFormat::Text, false, None, None);
            match command {
                Command::Serve(_) => unreachable!("handled above"),
                Command::Migrate(args) => args
                    .open(&PoolOptions::default())
                    .and_then(|db| Ok(db.migrate()?))
                    .map(|()| {
                        println!("Migrations are up to date.");
                    }),
                Command::Import { dir, database } => import(&dir, &database),
                Command::Client { command } => client(command),
                Command::Purge { customer, database } => purge(customer, &database),
                Command::Probe { url, timeout_secs } => {
                    probe(&url, std::time::Duration::from_secs(timeout_secs))
                }
            }
        }
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

fn purge(customer_number: i32, args: &DatabaseArgs) -> anyhow::Result<()> {
    let database = args.open(&PoolOptions::default())?;
    database.migrate()?;
    let purged = database.purge_customer(customer_number)?;
    println!(
        "customer {customer_number}: erased {} relations and {} changes of their history",
        purged.relations, purged.changes
    );
    Ok(())
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

/// GET `url` over plain HTTP/1.0 within `timeout`; Ok on a 200.
fn probe(url: &str, timeout: std::time::Duration) -> anyhow::Result<()> {
    use std::io::Read;
    use std::net::ToSocketAddrs;
    let parsed = url::Url::parse(url).with_context(|| format!("'{url}' is not a URL"))?;
    anyhow::ensure!(
        parsed.scheme() == "http",
        "the probe speaks plain HTTP only; '{url}' is not http://"
    );
    let host = parsed.host_str().context("the URL has no host")?;
    let port = parsed.port_or_known_default().unwrap_or(80);
    let deadline = std::time::Instant::now() + timeout;
    let address = (host, port)
        .to_socket_addrs()?
        .next()
        .with_context(|| format!("{host} has no address"))?;
    let mut stream = std::net::TcpStream::connect_timeout(&address, timeout)?;
    let left = || {
        deadline
            .saturating_duration_since(std::time::Instant::now())
            .max(std::time::Duration::from_millis(1))
    };
    stream.set_write_timeout(Some(left()))?;
    write!(
        stream,
        "GET {} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n",
        &parsed[url::Position::BeforePath..]
    )?;
    stream.set_read_timeout(Some(left()))?;
    let mut answer = Vec::new();
    stream.take(64 * 1024).read_to_end(&mut answer)?;
    let answer = String::from_utf8_lossy(&answer);
    let status = answer.lines().next().unwrap_or_default();
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default().trim();
    anyhow::ensure!(
        status.split_whitespace().nth(1) == Some("200"),
        "not ready: {status} {body}"
    );
    println!("{body}");
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

/// `--bench-without`: what the load benchmark switches off. Never on an
/// address other machines can reach.
#[cfg(feature = "bench-switches")]
fn switch_off(
    settings: &mut customer_relations::settings::Settings,
    without: &[String],
) -> anyhow::Result<()> {
    let off = |what: &str| without.iter().any(|w| w == what);
    settings.switched_off = customer_relations::settings::SwitchedOff {
        authentication: off("authentication"),
        metrics: off("metrics"),
    };
    if without.is_empty() {
        return Ok(());
    }
    let loopback = settings
        .bind
        .parse::<std::net::SocketAddr>()
        .is_ok_and(|address| address.ip().is_loopback());
    anyhow::ensure!(
        loopback,
        "--bench-without is for the load benchmark, on a loopback address; --bind is {}",
        settings.bind
    );
    log::warn!(
        "switched off for a benchmark: {}; never serve clients with this",
        without.join(", ")
    );
    Ok(())
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = ServeConfig::load(args.config.as_deref(), &args)?;
    if args.print_config {
        print!("{}", config.redacted_toml());
        return Ok(());
    }
    let _tracing = customer_relations::telemetry::init(
        config.log_format(),
        config.log_spans,
        config.otlp_endpoint.as_deref(),
        config.log_flush_every(),
    )?;
    log::info!(
        "configuration: {}",
        config.redacted_toml().trim().replace('\n', "; ")
    );
    let url: DatabaseUrl = config.database.parse()?;
    let database =
        Database::open(&url, &config.pool_options()).with_context(|| format!("opening {url}"))?;
    database.migrate()?;
    if config.demo {
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
    #[allow(unused_mut)]
    let mut settings = config.settings()?;
    #[cfg(debug_assertions)]
    {
        settings.panic_trigger = args.panic_trigger;
    }
    #[cfg(feature = "bench-switches")]
    switch_off(&mut settings, &args.bench_without)?;

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
        app.run_until_signalled().await.context("serving")
    })
}
