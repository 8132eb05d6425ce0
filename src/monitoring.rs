//! Metrics in the Prometheus text format at `GET /metrics` (README,
//! "Metrics"). Each server has a registry of its own (no process-wide
//! state), filled as requests are answered; the database gauges are read
//! when the metrics are scraped.

use std::time::Duration;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use crate::store::PoolState;

/// Latency buckets, in seconds: from well under a millisecond (a Get on
/// SQLite) to the database timeout.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
    in_flight: IntGauge,
    database_errors: IntCounter,
    auth_failures: IntCounterVec,
    pool: IntGaugeVec,
    at_database: IntGauge,
    log_lines_dropped: IntCounter,
}

fn registered<T: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    metric: T,
) -> T {
    registry
        .register(Box::new(metric.clone()))
        .expect("each metric is registered once");
    metric
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry =
            Registry::new_custom(Some("customer_relations".into()), None).expect("a valid prefix");
        let requests = registered(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "soap_requests_total",
                    "SOAP requests answered, by service, operation and outcome (ok or the fault's name).",
                ),
                &["service", "operation", "outcome"],
            )
            .expect("valid labels"),
        );
        let duration = registered(
            &registry,
            HistogramVec::new(
                HistogramOpts::new(
                    "soap_request_duration_seconds",
                    "Time from a SOAP request's arrival to its answer, by service and operation.",
                )
                .buckets(BUCKETS.to_vec()),
                &["service", "operation"],
            )
            .expect("valid labels"),
        );
        let in_flight = registered(
            &registry,
            IntGauge::new(
                "soap_requests_in_flight",
                "SOAP requests being answered now.",
            )
            .expect("valid name"),
        );
        let database_errors = registered(
            &registry,
            IntCounter::new(
                "database_errors_total",
                "Requests answered with a Server fault because the database failed or did not answer.",
            )
            .expect("valid name"),
        );
        let auth_failures = registered(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "auth_failures_total",
                    "Refused authentications, by reason (missing, refused, throttled, malformed).",
                ),
                &["reason"],
            )
            .expect("valid labels"),
        );
        let pool = registered(
            &registry,
            IntGaugeVec::new(
                Opts::new(
                    "database_pool_connections",
                    "Connections of the request pool: max, open and idle.",
                ),
                &["state"],
            )
            .expect("valid labels"),
        );
        let at_database = registered(
            &registry,
            IntGauge::new(
                "database_requests",
                "Requests at the database now, running or waiting for a connection (see --max-database-requests).",
            )
            .expect("valid name"),
        );
        let log_lines_dropped = registered(
            &registry,
            IntCounter::new(
                "log_lines_dropped_total",
                "Log lines dropped because stderr took none while 8 MiB of them waited (a stalled log reader; README, \"Logs\"). Counted for the whole process.",
            )
            .expect("valid name"),
        );
        let build = registered(
            &registry,
            IntGaugeVec::new(
                Opts::new("build_info", "The running build: always 1."),
                &["version"],
            )
            .expect("valid labels"),
        );
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        Self {
            registry,
            requests,
            duration,
            in_flight,
            database_errors,
            auth_failures,
            pool,
            at_database,
            log_lines_dropped,
        }
    }

    /// A SOAP request is being answered until the guard is dropped.
    pub fn in_flight(&self) -> InFlight<'_> {
        self.in_flight.inc();
        InFlight(&self.in_flight)
    }

    /// A SOAP request was answered.
    pub fn answered(&self, service: &str, operation: &str, outcome: &str, took: Duration) {
        self.requests
            .with_label_values(&[service, operation, outcome])
            .inc();
        self.duration
            .with_label_values(&[service, operation])
            .observe(took.as_secs_f64());
    }

    pub fn database_error(&self) {
        self.database_errors.inc();
    }

    /// `reason`: missing, refused, throttled or malformed.
    pub fn auth_failure(&self, reason: &str) {
        self.auth_failures.with_label_values(&[reason]).inc();
    }

    /// The text format, with the database gauges and the count of dropped
    /// log lines as they are now.
    pub fn render(&self, pool: PoolState, at_database: usize, log_lines_dropped: u64) -> String {
        self.pool
            .with_label_values(&["max"])
            .set(i64::from(pool.max));
        self.pool
            .with_label_values(&["open"])
            .set(i64::from(pool.open));
        self.pool
            .with_label_values(&["idle"])
            .set(i64::from(pool.idle));
        self.at_database
            .set(i64::try_from(at_database).unwrap_or(i64::MAX));
        // A counter only rises: by what was dropped since the last scrape.
        let counted = self.log_lines_dropped.get();
        self.log_lines_dropped
            .inc_by(log_lines_dropped.saturating_sub(counted));
        let mut text = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut text)
            .expect("the text format encodes");
        String::from_utf8(text).expect("the text format is UTF-8")
    }
}

pub struct InFlight<'a>(&'a IntGauge);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_counted_is_rendered() {
        let metrics = Metrics::new();
        {
            let _guard = metrics.in_flight();
            metrics.answered(
                "CustomerRelationService",
                "GetRelationTypes",
                "ok",
                Duration::from_millis(2),
            );
        }
        metrics.auth_failure("refused");
        let text = metrics.render(
            PoolState {
                max: 8,
                open: 2,
                idle: 1,
            },
            0,
            7,
        );
        for line in [
            r#"customer_relations_soap_requests_total{operation="GetRelationTypes",outcome="ok",service="CustomerRelationService"} 1"#,
            r#"customer_relations_soap_request_duration_seconds_bucket{operation="GetRelationTypes",service="CustomerRelationService",le="0.0025"} 1"#,
            "customer_relations_soap_requests_in_flight 0",
            r#"customer_relations_auth_failures_total{reason="refused"} 1"#,
            r#"customer_relations_database_pool_connections{state="max"} 8"#,
            r#"customer_relations_build_info{version=""#,
            "customer_relations_log_lines_dropped_total 7",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
    }
}
