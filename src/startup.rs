//! Building and running the HTTP server.

use std::net::{SocketAddr, TcpListener};

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};

use crate::endpoint::{self, AppState};
use crate::operations::Service;
use crate::settings::Settings;
use crate::store::Database;
use crate::telemetry::log_requests;

pub struct Application {
    address: SocketAddr,
    server: Server,
}

impl Application {
    /// Binds the listener (port 0 picks a free port) and builds the server.
    /// The database must already be migrated.
    pub fn build(settings: &Settings, database: Database) -> std::io::Result<Self> {
        let listener = TcpListener::bind(&settings.bind)?;
        let address = listener.local_addr()?;
        let state = web::Data::new(AppState {
            database,
            public_url: settings.public_url.clone(),
            trust_forwarded_headers: settings.trust_forwarded_headers,
            max_body_bytes: settings.max_body_bytes,
            xml_limits: settings.xml_limits.clone(),
        });
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(log_requests))
                .app_data(state.clone())
                .service(
                    web::resource(Service::Relations.path())
                        .route(web::post().to(endpoint::relation_endpoint))
                        .route(web::get().to(endpoint::relation_wsdl))
                        .route(web::head().to(endpoint::relation_wsdl))
                        .default_service(web::to(endpoint::method_not_allowed)),
                )
                .service(
                    web::resource(Service::Register.path())
                        .route(web::post().to(endpoint::register_endpoint))
                        .route(web::get().to(endpoint::register_wsdl))
                        .route(web::head().to(endpoint::register_wsdl))
                        .default_service(web::to(endpoint::method_not_allowed)),
                )
                .route("/health", web::get().to(endpoint::health))
        })
        .listen(listener)?;
        if let Some(workers) = settings.workers {
            server = server.workers(workers);
        }
        Ok(Self {
            address,
            server: server.run(),
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves until Ctrl-C or SIGTERM, then finishes the requests in flight.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
