//! When the server itself fails, the client learns a request id and
//! nothing else.

use crate::helpers::{SOAP11, SOAP12, Soap, get_relations_xml, relation, spawn_app};

on_both_backends! {
    async fn health_is_503_with_a_request_id_when_the_database_fails(backend: Backend) {
        let app = spawn_app(&backend).await;
        let health = format!("{}/health", app.address);
        assert_eq!(reqwest::get(&health).await.unwrap().status(), 200);

        app.database.raw_sql("DROP TABLE customer_relations; DROP TABLE relation_types;");
        let response = reqwest::get(&health).await.unwrap();
        assert_eq!(response.status(), 503);
        let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
        let body = response.text().await.unwrap();
        assert!(body.contains(&id), "{body}");
        assert!(body.starts_with("database failing;"), "the reason: {body}");
        assert!(!body.contains("relation_types"), "no internals: {body}");
    }

    async fn a_database_failure_is_a_server_fault_naming_only_the_request_id(backend: Backend) {
        let app = spawn_app(&backend).await;
        app.create(&relation(1000, "SSO", "before"))
            .await
            .relation();
        app.database.raw_sql("DROP TABLE customer_relations;");

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
