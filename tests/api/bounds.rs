//! The bound on one customer's relations (README, "The API"): a create
//! beyond `--max-relations-per-customer` is an EntityValidationFault on
//! CustomerNumber that names the limit, also under concurrent creates.

use crate::helpers::{relation, spawn_with};

on_both_backends! {
    async fn a_customer_holds_at_most_the_bound_of_relations(backend: Backend) {
        let app = spawn_with(&backend, |settings| settings.pool.max_relations_per_customer = 3).await;
        let mut ids = Vec::new();
        for reference in ["a", "b", "c"] {
            ids.push(app.create(&relation(1000, "SSO", reference)).await.relation().id);
        }
        let refused = app.create(&relation(1000, "SSO", "d")).await;
        refused.assert_fault("EntityValidationFault");
        assert_eq!(refused.validation_fields(), vec!["CustomerNumber".to_owned()]);
        assert!(refused.fault_reason().contains("Customer 1000 has 3 relations"), "{}", refused.body);
        // A create retried after a lost answer still learns its relation exists.
        let again = app.create(&relation(1000, "SSO", "b")).await;
        again.assert_fault("CustomerRelationAlreadyExistsFault");
        assert_eq!(again.detail_field("ExistingId"), Some(ids[1].to_string()));
        // Other customers are not affected; a delete makes room.
        app.create(&relation(1001, "SSO", "d")).await.relation();
        app.delete(ids[0]).await.assert_ok("DeleteCustomerRelationResponse");
        app.create(&relation(1000, "SSO", "d")).await.relation();
        assert_eq!(app.get_relations(1000).await.relations().len(), 3);
    }

    async fn concurrent_creates_do_not_pass_the_bound_together(backend: Backend) {
        let app = spawn_with(&backend, |settings| settings.pool.max_relations_per_customer = 3).await;
        let creates = (0..16).map(|n| {
            let app = &app;
            async move { app.create(&relation(1002, "SSO", &format!("race-{n}"))).await }
        });
        let answers = futures_util::future::join_all(creates).await;
        let confirmed = answers.iter().filter(|a| !a.is_fault()).count();
        for refused in answers.iter().filter(|a| a.is_fault()) {
            refused.assert_fault("EntityValidationFault");
        }
        assert_eq!(confirmed, 3);
        assert_eq!(app.get_relations(1002).await.relations().len(), 3);
    }
}
