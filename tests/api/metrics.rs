//! `GET /metrics` (README, "Metrics"): what was answered is counted, in the
//! Prometheus text format, on the main address or one of its own.

use crate::helpers::{
    Backend, Soap, envelope, get_relation_types_xml, get_relations_xml, relation, spawn_app,
    spawn_with,
};

/// The value of the sample whose line starts with `series` (name and
/// labels), if there is one.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
}

async fn scrape(url: &str) -> String {
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    response.text().await.unwrap()
}

on_both_backends! {
    async fn answers_faults_and_refused_credentials_are_counted(backend: Backend) {
        let app = spawn_app(&backend).await;
        for _ in 0..3 {
            app.call(Soap::V11, &get_relation_types_xml()).await;
        }
        app.create(&relation(1000, "SSO", "m")).await;
        app.create(&relation(1000, "SSO", "m")).await;
        app.call(Soap::V12, &get_relations_xml(99999)).await;
        let anonymous = reqwest::Client::new();
        app.send_with(&anonymous, customer_relations::operations::Service::Relations, Soap::V11, envelope(Soap::V11, &get_relation_types_xml())).await;

        let text = scrape(&format!("{}/metrics", app.address)).await;
        let requests = |operation: &str, outcome: &str| {
            sample(&text, &format!(
                r#"customer_relations_soap_requests_total{{operation="{operation}",outcome="{outcome}",service="CustomerRelationService"}}"#
            ))
        };
        assert_eq!(requests("GetRelationTypes", "ok"), Some(3.0), "{text}");
        assert_eq!(requests("CreateCustomerRelation", "ok"), Some(1.0));
        assert_eq!(requests("CreateCustomerRelation", "CustomerRelationAlreadyExistsFault"), Some(1.0));
        assert_eq!(requests("GetCustomerRelationsByCustomer", "CustomerNotFoundFault"), Some(1.0));
        assert_eq!(requests("GetRelationTypes", "AuthenticationFault"), Some(1.0));
        assert_eq!(sample(&text, r#"customer_relations_auth_failures_total{reason="missing"}"#), Some(1.0));
        assert_eq!(
            sample(&text, r#"customer_relations_soap_request_duration_seconds_count{operation="GetRelationTypes",service="CustomerRelationService"}"#),
            Some(4.0)
        );
        assert_eq!(sample(&text, "customer_relations_soap_requests_in_flight"), Some(0.0));
        // SQLite's pool has one more, which its writer keeps.
        assert!(sample(&text, r#"customer_relations_database_pool_connections{state="max"}"#).unwrap() >= 8.0);
        assert!(sample(&text, r#"customer_relations_database_pool_connections{state="open"}"#).unwrap() >= 1.0);
        assert!(text.contains("customer_relations_build_info{version="), "{text}");

        // A database failure is counted as one.
        app.database.raw_sql("DROP TABLE customer_relation_changes; DROP TABLE customer_relations;");
        app.call(Soap::V11, &get_relations_xml(1000)).await;
        let text = scrape(&format!("{}/metrics", app.address)).await;
        assert_eq!(sample(&text, "customer_relations_database_errors_total"), Some(1.0));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_may_have_an_address_of_their_own() {
    let app = spawn_with(&Backend::Sqlite, |settings| {
        settings.metrics_bind = Some("127.0.0.1:0".to_owned())
    })
    .await;
    let metrics = app.metrics_address.clone().expect("a metrics address");
    app.call(Soap::V11, &get_relation_types_xml()).await;
    let text = scrape(&format!("{metrics}/metrics")).await;
    assert!(text.contains(r#"outcome="ok""#), "{text}");
    // Not on the main address then.
    let main = reqwest::get(format!("{}/metrics", app.address))
        .await
        .unwrap();
    assert_eq!(main.status(), 404);
}
