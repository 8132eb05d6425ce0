//! When the server itself fails, the client learns a request id and
//! nothing else.

use crate::helpers::{SOAP11, SOAP12, Soap, get_relations_xml, relation, spawn_app};

on_both_backends! {
    async fn health_is_503_with_a_request_id_when_the_database_fails(backend: Backend) {
        let app = spawn_app(&backend).await;
        let health = format!("{}/health", app.address);
        assert_eq!(reqwest::get(&health).await.unwrap().status(), 200);

        app.database.raw_sql("DROP TABLE customer_relation_changes; DROP TABLE customer_relations; DROP TABLE relation_types;");
        let response = reqwest::get(&health).await.unwrap();
        assert_eq!(response.status(), 503);
        let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
        let body = response.text().await.unwrap();
        assert!(body.contains(&id), "{body}");
        assert!(body.starts_with("database failing;"), "the reason: {body}");
        assert!(!body.contains("relation_types"), "no internals: {body}");
    }

    async fn liveness_never_asks_the_database_and_readiness_wants_every_migration(backend: Backend) {
        let app = spawn_app(&backend).await;
        let get = |path: &str| reqwest::get(format!("{}{path}", app.address));
        for path in ["/health/live", "/health/ready", "/health"] {
            assert_eq!(get(path).await.unwrap().status(), 200, "{path}");
        }
        // A migration this binary knows is not recorded as run.
        app.database.raw_sql(
            "DELETE FROM __diesel_schema_migrations WHERE version = (SELECT MAX(version) FROM __diesel_schema_migrations)",
        );
        for path in ["/health/ready", "/health"] {
            let response = get(path).await.unwrap();
            assert_eq!(response.status(), 503, "{path}");
            let body = response.text().await.unwrap();
            assert!(body.starts_with("migrations pending;"), "{body}");
        }
        app.database.raw_sql("DROP TABLE customer_relation_changes; DROP TABLE customer_relations; DROP TABLE relation_types;");
        let live = get("/health/live").await.unwrap();
        assert_eq!(live.status(), 200);
        assert_eq!(live.text().await.unwrap(), "live\n");
    }

    async fn a_database_failure_is_a_server_fault_naming_only_the_request_id(backend: Backend) {
        let app = spawn_app(&backend).await;
        app.create(&relation(1000, "SSO", "before"))
            .await
            .relation();
        app.database.raw_sql("DROP TABLE customer_relation_changes; DROP TABLE customer_relations;");

        for (version, namespace, code) in [
            (Soap::V11, SOAP11, "Server"),
            (Soap::V12, SOAP12, "Receiver"),
        ] {
            let response = app.call(version, &get_relations_xml(1000)).await;
            assert_eq!(response.status, 500, "{}", response.body);
            assert_eq!(
                response.fault_code(),
                (namespace.to_owned(), code.to_owned())
            );
            assert_eq!(response.detail_element(), None);
            let reason = response.fault_reason();
            assert!(!response.request_id.is_empty());
            assert!(reason.contains(&response.request_id), "{reason}");
            for leak in ["customer_relations", "table", "diesel", "sqlite", "SQL"] {
                assert!(
                    !response.body.contains(leak),
                    "leaks '{leak}': {}",
                    response.body
                );
            }
        }
    }
}
