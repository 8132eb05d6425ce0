//! The worked cases on the demo data, in their order (README, "Tests").

use crate::helpers::{Relation, relation, spawn_app};

on_both_backends! {
    async fn the_worked_cases_hold_in_order(backend: Backend) {
        let app = spawn_app(&backend).await;
        let mut created: Vec<Relation> = Vec::new();

        // 1. create 1000 FACEBOOK "20531316728" → relation
        let facebook = app
            .create(&relation(1000, "FACEBOOK", "20531316728"))
            .await
            .relation();
        assert_eq!(facebook.customer, 1000);
        assert_eq!(facebook.relation_type, "FACEBOOK");
        assert_eq!(facebook.reference_type, "External");
        assert_eq!(facebook.reference, "20531316728");
        assert_eq!(facebook.title, None);
        assert_eq!(facebook.created_by, "demo-admin");
        created.push(facebook.clone());

        // 2. the same again → AlreadyExists, ExistingId of #1
        let again = app.create(&relation(1000, "FACEBOOK", "20531316728")).await;
        again.assert_fault("CustomerRelationAlreadyExistsFault");
        assert_eq!(
            again.detail_field("ExistingId"),
            Some(facebook.id.to_string())
        );
        assert!(again.detail_field("Message").is_some_and(|m| !m.is_empty()));

        // 3. create 1000 FACEBOOK "x" title DAILY → EntityValidation (TitleCode)
        let titled = app
            .create(&relation(1000, "FACEBOOK", "x").title("DAILY"))
            .await;
        titled.assert_fault("EntityValidationFault");
        assert_eq!(titled.validation_fields(), ["TitleCode"]);

        // 4. create 1000 PERSONAL "1001" AdditionalValue SISTER → relation
        let sister = app
            .create(&relation(1000, "PERSONAL", "1001").additional_value("SISTER"))
            .await
            .relation();
        assert_eq!(sister.reference_type, "Customer");
        assert_eq!(sister.reference, "1001");
        assert_eq!(sister.additional_value.as_deref(), Some("SISTER"));
        assert_eq!(sister.source, None);
        created.push(sister.clone());

        // 5. create 1000 PERSONAL "01001" AdditionalValue BROTHER → AlreadyExists (#4)
        let brother = app
            .create(&relation(1000, "PERSONAL", "01001").additional_value("BROTHER"))
            .await;
        brother.assert_fault("CustomerRelationAlreadyExistsFault");
        assert_eq!(
            brother.detail_field("ExistingId"),
            Some(sister.id.to_string())
        );

        // 6. create 1000 PERSONAL "abc" / "99999" / "1003" → InvalidReference each
        for reference in ["abc", "99999", "1003"] {
            let response = app.create(&relation(1000, "PERSONAL", reference)).await;
            response.assert_fault("InvalidReferenceFault");
            assert_eq!(
                response.detail_field("RelationTypeCode").as_deref(),
                Some("PERSONAL")
            );
            assert_eq!(
                response.detail_field("ReferenceType").as_deref(),
                Some("Customer")
            );
            assert_eq!(
                response.detail_field("Reference").as_deref(),
                Some(reference)
            );
        }

        // 7. create 99999 FACEBOOK "x"; create 1003 FACEBOOK "x" → CustomerNotFound each
        for customer in [99999, 1003] {
            let response = app.create(&relation(customer, "FACEBOOK", "x")).await;
            response.assert_fault("CustomerNotFoundFault");
            assert_eq!(
                response.detail_field("CustomerNumber"),
                Some(customer.to_string())
            );
        }

        // 8. create 1000 SHARE "1001" title DAILY → relation
        let share = app
            .create(&relation(1000, "SHARE", "1001").title("DAILY"))
            .await
            .relation();
        assert_eq!(share.reference_type, "Subscription");
        assert_eq!(share.title.as_deref(), Some("DAILY"));
        created.push(share);

        // 9. create 1000 SHARE "1002" title WEEKLY → relation (ended counts)
        created.push(
            app.create(&relation(1000, "SHARE", "1002").title("WEEKLY"))
                .await
                .relation(),
        );

        // 10. create 1000 SHARE "1002" title DAILY → InvalidReference
        let unsubscribed = app
            .create(&relation(1000, "SHARE", "1002").title("DAILY"))
            .await;
        unsubscribed.assert_fault("InvalidReferenceFault");
        assert_eq!(
            unsubscribed.detail_field("ReferenceType").as_deref(),
            Some("Subscription")
        );

        // 11. create 1000 SHARE "1001" (no title) → EntityValidation (TitleCode)
        let untitled = app.create(&relation(1000, "SHARE", "1001")).await;
        untitled.assert_fault("EntityValidationFault");
        assert_eq!(untitled.validation_fields(), ["TitleCode"]);

        // 12. create 1000 SHARE-OPT "1001" (no title) → InvalidReference
        app.create(&relation(1000, "SHARE-OPT", "1001"))
            .await
            .assert_fault("InvalidReferenceFault");

        // 13. SHARE-NONE "1001" title DAILY → EntityValidation; no title → InvalidReference
        let forbidden = app
            .create(&relation(1000, "SHARE-NONE", "1001").title("DAILY"))
            .await;
        forbidden.assert_fault("EntityValidationFault");
        assert_eq!(forbidden.validation_fields(), ["TitleCode"]);
        app.create(&relation(1000, "SHARE-NONE", "1001"))
            .await
            .assert_fault("InvalidReferenceFault");

        // 14. create 1000 LOGIN "ola@example.com" → relation
        let login = app
            .create(&relation(1000, "LOGIN", "ola@example.com"))
            .await
            .relation();
        assert_eq!(login.reference_type, "User");
        assert_eq!(login.reference, "ola@example.com");
        created.push(login.clone());

        // 15. create 1000 LOGIN "OLA@Example.com " → AlreadyExists (#14)
        let shouting = app
            .create(&relation(1000, "LOGIN", "OLA@Example.com "))
            .await;
        shouting.assert_fault("CustomerRelationAlreadyExistsFault");
        assert_eq!(
            shouting.detail_field("ExistingId"),
            Some(login.id.to_string())
        );

        // 16. LOGIN "nobody@example.com" / "not-an-email" → InvalidReference each
        for reference in ["nobody@example.com", "not-an-email"] {
            let response = app.create(&relation(1000, "LOGIN", reference)).await;
            response.assert_fault("InvalidReferenceFault");
            assert_eq!(
                response.detail_field("ReferenceType").as_deref(),
                Some("User")
            );
            assert_eq!(
                response.detail_field("Reference").as_deref(),
                Some(reference)
            );
        }

        // 17. SSO "abc"; then SSO "abc" title DAILY → relation; relation
        let sso = app.create(&relation(1000, "SSO", "abc")).await.relation();
        created.push(sso.clone());
        let sso_daily = app
            .create(&relation(1000, "SSO", "abc").title("DAILY"))
            .await
            .relation();
        assert_ne!(sso.id, sso_daily.id);
        created.push(sso_daily);

        // 18. SSO "abc" again (no title) → AlreadyExists (#17 first)
        let sso_again = app.create(&relation(1000, "SSO", "abc")).await;
        sso_again.assert_fault("CustomerRelationAlreadyExistsFault");
        assert_eq!(
            sso_again.detail_field("ExistingId"),
            Some(sso.id.to_string())
        );

        // 19. SSO "abc" title NOPE → EntityValidation (TitleCode)
        let nope = app
            .create(&relation(1000, "SSO", "abc").title("NOPE"))
            .await;
        nope.assert_fault("EntityValidationFault");
        assert_eq!(nope.validation_fields(), ["TitleCode"]);

        // 20. SSO with a Reference of 400 characters → relation
        let long = "é".repeat(400);
        let longest = app.create(&relation(1000, "SSO", &long)).await.relation();
        assert_eq!(
            longest.reference, long,
            "400 characters (800 bytes) are accepted"
        );
        created.push(longest);

        // 21. Reference of 401 characters, Source of 101 → one EntityValidation listing both
        let too_long = app
            .create(&relation(1000, "SSO", &"r".repeat(401)).source(&"s".repeat(101)))
            .await;
        too_long.assert_fault("EntityValidationFault");
        assert_eq!(too_long.validation_fields(), ["Reference", "Source"]);

        // 22. create 1000 NOPE "x" → RelationTypeNotFound
        let no_type = app.create(&relation(1000, "NOPE", "x")).await;
        no_type.assert_fault("RelationTypeNotFoundFault");
        assert_eq!(
            no_type.detail_field("RelationTypeCode").as_deref(),
            Some("NOPE")
        );

        // 23. get 1000 → the relations made above, by Id; 99999 → CustomerNotFound; 1003 → empty
        let listed = app.get_relations(1000).await.relations();
        assert_eq!(
            listed, created,
            "exactly the relations created above, in Id order"
        );
        assert!(listed.windows(2).all(|w| w[0].id < w[1].id));
        let unknown = app.get_relations(99999).await;
        unknown.assert_fault("CustomerNotFoundFault");
        assert_eq!(
            unknown.detail_field("CustomerNumber").as_deref(),
            Some("99999")
        );
        assert_eq!(app.get_relations(1003).await.relations(), []);

        // 24. delete #1's Id → empty response; again → CustomerRelationNotFound
        let deleted = app.delete(facebook.id).await;
        deleted.assert_ok("DeleteCustomerRelationResponse");
        assert!(
            deleted
                .document()
                .descendants()
                .all(|n| n.tag_name().name() != "DeleteCustomerRelationResponse" || !n.has_children()),
            "the delete response is empty: {}",
            deleted.body
        );
        let gone = app.delete(facebook.id).await;
        gone.assert_fault("CustomerRelationNotFoundFault");
        assert_eq!(gone.detail_field("Id"), Some(facebook.id.to_string()));
        let remaining = app.get_relations(1000).await.relations();
        assert_eq!(remaining, created[1..], "only #1 is gone");
    }

    async fn created_at_is_utc_with_at_most_three_fraction_digits(backend: Backend) {
        let app = spawn_app(&backend).await;
        let created = app
            .create(&relation(1000, "FACEBOOK", "1"))
            .await
            .relation();
        let at = &created.created_at;
        assert!(at.ends_with('Z'), "{at}");
        let fraction = at
            .split_once('.')
            .map_or("", |(_, f)| f.trim_end_matches('Z'));
        assert!(fraction.len() <= 3, "{at}");
        assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok(), "{at}");
        assert_eq!(app.get_relations(1000).await.relations()[0].created_at, *at);
    }

    async fn every_broken_field_rule_is_reported_at_once(backend: Backend) {
        let app = spawn_app(&backend).await;
        let mut all_wrong = relation(1000, "FACEBOOK", &"r".repeat(401))
            .title("DAILY")
            .additional_value(&"a".repeat(401))
            .source(&"s".repeat(101));
        let response = app.create(&all_wrong).await;
        response.assert_fault("EntityValidationFault");
        assert_eq!(
            response.validation_fields(),
            ["Reference", "AdditionalValue", "Source", "TitleCode"]
        );

        all_wrong.reference = Some("   ".into());
        let blank = app.create(&all_wrong).await;
        assert!(blank.validation_fields().contains(&"Reference".to_owned()));

        all_wrong.reference = None;
        let missing = app.create(&all_wrong).await;
        assert!(
            missing
                .validation_fields()
                .contains(&"Reference".to_owned())
        );
        assert_eq!(
            app.get_relations(1000).await.relations(),
            [],
            "nothing was stored"
        );
    }

    async fn rules_are_checked_in_their_order(backend: Backend) {
        let app = spawn_app(&backend).await;
        // Unknown type and unknown customer: the type is checked first.
        app.create(&relation(99999, "NOPE", ""))
            .await
            .assert_fault("RelationTypeNotFoundFault");
        // Unknown customer and a broken field: the customer comes first.
        app.create(&relation(99999, "FACEBOOK", ""))
            .await
            .assert_fault("CustomerNotFoundFault");
        // A broken field and a bad reference: fields come first.
        app.create(&relation(1000, "PERSONAL", "abc").source(&"s".repeat(101)))
            .await
            .assert_fault("EntityValidationFault");
    }

    async fn external_references_are_stored_exactly_as_given(backend: Backend) {
        let app = spawn_app(&backend).await;
        let padded = app.create(&relation(1000, "SSO", " Abc ")).await.relation();
        assert_eq!(padded.reference, " Abc ");
        // A different spelling is a different external id.
        app.create(&relation(1000, "SSO", "abc")).await.relation();
        app.create(&relation(1000, "SSO", " Abc "))
            .await
            .assert_fault("CustomerRelationAlreadyExistsFault");
    }

    async fn non_ascii_text_round_trips(backend: Backend) {
        let app = spawn_app(&backend).await;
        let created = app
            .create(
                &relation(1000, "SSO", "Åse Ødegård <&> \"quoted\"")
                    .additional_value("søster ✓")
                    .source("Kundesenter Bodø"),
            )
            .await
            .relation();
        assert_eq!(created.reference, "Åse Ødegård <&> \"quoted\"");
        assert_eq!(created.additional_value.as_deref(), Some("søster ✓"));
        let listed = app.get_relations(1000).await.relations();
        assert_eq!(listed, [created]);
    }

    async fn relation_types_are_listed_by_code(backend: Backend) {
        let app = spawn_app(&backend).await;
        let response = app
            .call(
                crate::helpers::Soap::V11,
                &crate::helpers::get_relation_types_xml(),
            )
            .await;
        let types = response.relation_types();
        let codes: Vec<_> = types.iter().map(|t| t[0].as_str()).collect();
        assert_eq!(
            codes,
            [
                "FACEBOOK",
                "LOGIN",
                "PERSONAL",
                "SHARE",
                "SHARE-NONE",
                "SHARE-OPT",
                "SSO"
            ]
        );
        assert!(types.contains(&[
            "SHARE-OPT".into(),
            "Misconfigured share (optional title)".into(),
            "Subscription".into(),
            "Optional".into()
        ]));
    }
}
