//! Building and running the HTTP server.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};

use anyhow::Context;

use crate::auth::Authenticator;
use crate::endpoint::{self, AppState};
use crate::monitoring::Metrics;
use crate::operations::Service;
use crate::settings::Settings;
use crate::store::{Database, PoolOptions};
use crate::telemetry::{RequestSpans, stamp_responses};

pub struct Application {
    address: SocketAddr,
    server: Server,
    /// `/metrics` on an address of its own (`--metrics-bind`).
    metrics: Option<(SocketAddr, Server)>,
}

impl Application {
    /// Binds the listener (port 0 picks a free port) and builds the server.
    /// The database must already be migrated.
    pub fn build(settings: &Settings, database: Database) -> anyhow::Result<Self> {
        let tls = settings
            .tls
            .as_ref()
            .map(crate::tls::server_config)
            .transpose()?;
        // The API clients are read on a connection of their own, so that a
        // busy pool never holds them up (see `auth`).
        let clients = Database::open_for_reading(
            &settings.database,
            &PoolOptions {
                max_size: 1,
                ..settings.pool.clone()
            },
        )
        .context("opening the database for the API clients")?;
        let authenticator = Authenticator::start(Box::new(clients), settings.throttle)
            .map_err(|e| anyhow::anyhow!("reading the API clients: {e}"))?;
        if authenticator.has_demo_clients() {
            log::warn!(
                "the demo API clients exist, with secrets printed in the README: revoke them (customer-relations client revoke NAME) before going live"
            );
        }
        let listener = TcpListener::bind(&settings.bind)
            .with_context(|| format!("listening on {}", settings.bind))?;
        let address = listener.local_addr()?;
        if tls.is_none() && !address.ip().is_loopback() {
            log::warn!(
                "serving plain HTTP on {address}, which is not a loopback address: secrets travel in clear text; use --tls-cert and --tls-key, or a TLS proxy in front"
            );
        }
        let state = web::Data::new(AppState {
            database,
            authenticator,
            public_url: settings.public_url.clone(),
            trust_forwarded_headers: settings.trust_forwarded_headers,
            max_body_bytes: settings.max_body_bytes,
            body_timeout: settings.body_timeout,
            database_timeout: settings.pool.statement_timeout,
            at_database: endpoint::Slots::new(settings.max_database_requests),
            metrics: Arc::new(Metrics::new()),
            #[cfg(debug_assertions)]
            panic_trigger: settings.panic_trigger,
            #[cfg(feature = "bench-switches")]
            switched_off: settings.switched_off,
            xml_limits: settings.xml_limits.clone(),
        });
        // actix counts connections per worker.
        let workers = settings.workers.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        });
        let compress_min_bytes = settings.compress_min_bytes;
        let metrics = match &settings.metrics_bind {
            Some(bind) => {
                let listener = TcpListener::bind(bind)
                    .with_context(|| format!("listening on {bind} for the metrics"))?;
                let address = listener.local_addr()?;
                let state = state.clone();
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(state.clone())
                        .route("/metrics", web::get().to(endpoint::metrics))
                })
                .workers(1)
                .disable_signals()
                .shutdown_timeout(1)
                .listen(listener)?
                .run();
                Some((address, server))
            }
            None => None,
        };
        let metrics_here = metrics.is_none();
        let mut server = HttpServer::new(move || {
            let mut app = App::new()
                .wrap(from_fn(move |request, next| {
                    crate::compression::compress_responses(request, next, compress_min_bytes)
                }))
                .wrap(from_fn(stamp_responses))
                .wrap(tracing_actix_web::TracingLogger::<RequestSpans>::new())
                .app_data(state.clone())
                .route("/", web::get().to(endpoint::index))
                .route("/health/live", web::get().to(endpoint::live))
                .route("/health/ready", web::get().to(endpoint::ready))
                .route("/health", web::get().to(endpoint::ready));
            if metrics_here {
                app = app.route("/metrics", web::get().to(endpoint::metrics));
            }
            for service in Service::ALL {
                let wsdl = move |request, state| endpoint::wsdl(service, request, state);
                app = app.service(
                    web::resource(service.path())
                        .route(web::post().to(move |request, payload, state| {
                            endpoint::soap_endpoint(service, request, payload, state)
                        }))
                        .route(web::get().to(wsdl))
                        .route(web::head().to(wsdl))
                        .default_service(web::to(endpoint::method_not_allowed)),
                );
            }
            app
        })
        .client_request_timeout(settings.header_timeout)
        .keep_alive(settings.keep_alive)
        .shutdown_timeout(settings.shutdown_grace.as_secs())
        // actix stops at once on SIGINT; Ctrl-C must be as graceful as
        // SIGTERM, so the signals are handled in `run_until_stopped`.
        .disable_signals()
        .max_connections(settings.max_connections.div_ceil(workers).max(1))
        .on_connect(crate::tls::note_client_certificate);
        server = match tls {
            Some(config) => server.listen_rustls_0_23(listener, config)?,
            None => server.listen(listener)?,
        };
        if let Some(workers) = settings.workers {
            server = server.workers(workers);
        }
        Ok(Self {
            address,
            server: server.run(),
            metrics,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Where `/metrics` is served when it has an address of its own.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(address, _)| *address)
    }

    /// Serves until the server is dropped (as the tests do), or stopped
    /// through its handle.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(std::future::pending()).await
    }

    /// Serves until Ctrl-C or SIGTERM, then stops accepting and finishes
    /// the requests in flight within the shutdown grace (as the binary
    /// does; actix's own handling would stop at once on Ctrl-C).
    pub async fn run_until_signalled(self) -> std::io::Result<()> {
        self.run_until(stop_signal()).await
    }

    /// Serves until `stop` is ready, then stops gracefully; the metrics
    /// server stops with it.
    async fn run_until(self, stop: impl std::future::Future<Output = ()>) -> std::io::Result<()> {
        let main = self.server.handle();
        let metrics_handle = self.metrics.as_ref().map(|(_, server)| server.handle());
        let on_stop = async move {
            stop.await;
            log::info!("stop signal received: answering the requests in flight, then exiting");
            main.stop(true).await;
        };
        let served = async {
            let served = self.server.await;
            if let Some(metrics) = metrics_handle {
                metrics.stop(true).await;
            }
            served
        };
        let metrics = async {
            if let Some((_, server)) = self.metrics {
                let _ = server.await;
            }
        };
        let served = std::pin::pin!(served);
        let on_stop = std::pin::pin!(on_stop);
        // The server ends by itself (an error) or after the graceful stop.
        let (served, ()) = futures_util::future::join(
            async {
                match futures_util::future::select(served, on_stop).await {
                    futures_util::future::Either::Left((served, _)) => served,
                    futures_util::future::Either::Right(((), served)) => served.await,
                }
            },
            metrics,
        )
        .await;
        served
    }
}

/// SIGINT (Ctrl-C) or SIGTERM; never, where they cannot be listened to.
async fn stop_signal() {
    use actix_web::rt::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut interrupt), Ok(mut terminate)) => {
            let interrupted = std::pin::pin!(interrupt.recv());
            let terminated = std::pin::pin!(terminate.recv());
            futures_util::future::select(interrupted, terminated).await;
        }
        _ => {
            log::warn!("cannot listen to SIGINT and SIGTERM; stop the server another way");
            std::future::pending::<()>().await
        }
    }
}
