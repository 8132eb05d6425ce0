//! The register service, black-box: every operation and every fault, over
//! HTTP, on both backends.

use crate::helpers::{
    Record, Soap, SoapResponse, TestApp, escape, register_xml, relation, spawn_app, spawn_empty_app,
};

/// `<Name>value</Name>` for each given pair; `None` values are left out.
fn fields(pairs: &[(&str, Option<&str>)]) -> String {
    pairs
        .iter()
        .filter_map(|(name, value)| value.map(|v| format!("<{name}>{}</{name}>", escape(v))))
        .collect()
}

impl TestApp {
    async fn create_customer(&self, pairs: &[(&str, Option<&str>)]) -> SoapResponse {
        self.register(
            "CreateCustomer",
            &format!("<Customer>{}</Customer>", fields(pairs)),
        )
        .await
    }

    async fn get_customer(&self, number: i64) -> SoapResponse {
        self.register(
            "GetCustomer",
            &format!("<CustomerNumber>{number}</CustomerNumber>"),
        )
        .await
    }

    async fn search(&self, pairs: &[(&str, Option<&str>)]) -> SoapResponse {
        self.register("SearchCustomers", &fields(pairs)).await
    }

    async fn create_relation_type(&self, code: &str, reference: &str, mode: &str) -> SoapResponse {
        self.register(
            "CreateRelationType",
            &format!(
                "<RelationType><Code>{code}</Code><Name>{code} relation</Name><ReferenceType>{reference}</ReferenceType><TitleMode>{mode}</TitleMode></RelationType>"
            ),
        )
        .await
    }

    async fn create_title(&self, code: &str, name: &str) -> SoapResponse {
        self.register(
            "CreateTitle",
            &format!(
                "<Title><Code>{code}</Code><Name>{}</Name></Title>",
                escape(name)
            ),
        )
        .await
    }

    async fn create_subscription(
        &self,
        customer: i64,
        title: &str,
        start: &str,
        end: Option<&str>,
    ) -> SoapResponse {
        self.register(
            "CreateSubscription",
            &format!(
                "<Subscription><CustomerNumber>{customer}</CustomerNumber><TitleCode>{title}</TitleCode><StartDate>{start}</StartDate>{}</Subscription>",
                fields(&[("EndDate", end)])
            ),
        )
        .await
    }

    async fn create_user(&self, pairs: &[(&str, Option<&str>)]) -> SoapResponse {
        self.register("CreateUser", &format!("<User>{}</User>", fields(pairs)))
            .await
    }

    async fn set_validity(&self, operation: &str, key: &str, validity: &str) -> SoapResponse {
        self.register(operation, &format!("{key}<Validity>{validity}</Validity>"))
            .await
    }

    /// The customer numbers a search returned, in order, and its total.
    async fn numbers(&self, pairs: &[(&str, Option<&str>)]) -> (Vec<i64>, i64) {
        let response = self.search(pairs).await;
        response.assert_register_ok("SearchCustomersResponse");
        let numbers = response
            .records("Customers")
            .iter()
            .map(|c| c["CustomerNumber"].parse().unwrap())
            .collect();
        let total = response.value("TotalCount").unwrap().parse().unwrap();
        (numbers, total)
    }
}

fn record(pairs: &[(&str, &str)]) -> Record {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn today_plus(days: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(days)).to_string()
}

on_both_backends! {
    async fn a_new_user_builds_everything_with_the_two_services_alone(backend: Backend) {
        // An empty register, filled and related over SOAP (README, "Tests").
        let app = spawn_empty_app(&backend).await;
        let kari = app
            .create_customer(&[("Name", Some("Kari Nordmann")), ("City", Some("Oslo")), ("Country", Some("NO"))])
            .await;
        kari.assert_register_ok("CreateCustomerResponse");
        let kari: i64 = kari.record("Customer")["CustomerNumber"].parse().unwrap();
        let ola = app.create_customer(&[("Name", Some("Ola Nordmann"))]).await;
        let ola: i64 = ola.record("Customer")["CustomerNumber"].parse().unwrap();
        assert_eq!((kari, ola), (1, 2), "numbers are assigned from 1 up");

        app.create_title("DAILY", "The Daily Ledger")
            .await
            .assert_register_ok("CreateTitleResponse");
        let subscription = app.create_subscription(ola, "DAILY", "2024-01-01", None).await;
        subscription.assert_register_ok("CreateSubscriptionResponse");
        assert_eq!(subscription.record("Subscription")["Status"], "Active");
        app.create_user(&[("Email", Some("Ola@Example.com")), ("CustomerNumber", Some("2"))])
            .await
            .assert_register_ok("CreateUserResponse");
        for (code, reference, mode) in [
            ("PERSONAL", "Customer", "Forbidden"),
            ("SHARE", "Subscription", "Required"),
            ("LOGIN", "User", "Optional"),
            ("FACEBOOK", "External", "Forbidden"),
        ] {
            app.create_relation_type(code, reference, mode)
                .await
                .assert_register_ok("CreateRelationTypeResponse");
        }

        let ola_text = ola.to_string();
        for request in [
            relation(kari, "PERSONAL", &ola_text),
            relation(kari, "SHARE", &ola_text).title("DAILY"),
            relation(kari, "LOGIN", "OLA@example.com"),
            relation(kari, "FACEBOOK", "20531316728"),
        ] {
            app.create(&request).await.relation();
        }
        let relations = app.get_relations(kari).await.relations();
        let references: Vec<_> = relations.iter().map(|r| r.reference.as_str()).collect();
        assert_eq!(references, ["2", "2", "ola@example.com", "20531316728"]);

        // And every refusal on the way is a typed fault.
        app.create(&relation(kari, "SHARE", &ola_text).title("WEEKLY"))
            .await
            .assert_fault("EntityValidationFault");
        app.create(&relation(kari, "LOGIN", "nobody@example.com"))
            .await
            .assert_fault("InvalidReferenceFault");
    }

    async fn relation_types_are_created_read_listed_updated_and_deleted(backend: Backend) {
        let app = spawn_app(&backend).await;
        let created = app.create_relation_type("CRM-1", "External", "Optional").await;
        created.assert_register_ok("CreateRelationTypeResponse");
        let expected = record(&[
            ("Code", "CRM-1"),
            ("Name", "CRM-1 relation"),
            ("ReferenceType", "External"),
            ("TitleMode", "Optional"),
        ]);
        assert_eq!(created.record("RelationType"), expected);
        let got = app.register("GetRelationType", "<Code>CRM-1</Code>").await;
        assert_eq!(got.record("RelationType"), expected);

        let listed = app.register("ListRelationTypes", "").await;
        listed.assert_register_ok("ListRelationTypesResponse");
        let codes: Vec<_> = listed.records("RelationTypes").iter().map(|t| t["Code"].clone()).collect();
        assert_eq!(
            codes,
            ["CRM-1", "FACEBOOK", "LOGIN", "PERSONAL", "SHARE", "SHARE-NONE", "SHARE-OPT", "SSO"],
            "ordered by code; the misconfigured fixture types are still listed"
        );
        // The relation service sees the new type at once.
        let types = app.call(Soap::V11, &crate::helpers::get_relation_types_xml()).await.relation_types();
        assert!(types.iter().any(|t| t[0] == "CRM-1"));

        let updated = app
            .register(
                "UpdateRelationType",
                "<RelationType><Code>CRM-1</Code><Name>CRM id</Name><ReferenceType>User</ReferenceType><TitleMode>Forbidden</TitleMode></RelationType>",
            )
            .await;
        updated.assert_register_ok("UpdateRelationTypeResponse");
        assert_eq!(updated.record("RelationType")["ReferenceType"], "User");
        assert_eq!(updated.record("RelationType")["Name"], "CRM id");

        app.register("DeleteRelationType", "<Code>CRM-1</Code>")
            .await
            .assert_register_ok("DeleteRelationTypeResponse");
        let gone = app.register("GetRelationType", "<Code>CRM-1</Code>").await;
        gone.assert_register_fault("RelationTypeNotFoundFault");
        assert_eq!(gone.detail_field("RelationTypeCode").as_deref(), Some("CRM-1"));
        app.register("DeleteRelationType", "<Code>CRM-1</Code>")
            .await
            .assert_register_fault("RelationTypeNotFoundFault");
        app.register(
            "UpdateRelationType",
            "<RelationType><Code>CRM-1</Code><Name>x</Name><ReferenceType>User</ReferenceType><TitleMode>Optional</TitleMode></RelationType>",
        )
        .await
        .assert_register_fault("RelationTypeNotFoundFault");
    }

    async fn relation_type_rules_are_all_reported_and_change_nothing(backend: Backend) {
        let app = spawn_app(&backend).await;
        let broken = app
            .register(
                "CreateRelationType",
                "<RelationType><Code>crm id</Code><Name> </Name><ReferenceType>Phone</ReferenceType><TitleMode>Sometimes</TitleMode></RelationType>",
            )
            .await;
        broken.assert_register_fault("EntityValidationFault");
        assert_eq!(broken.validation_fields(), ["Code", "Name", "ReferenceType", "TitleMode"]);

        let duplicate = app.create_relation_type("FACEBOOK", "External", "Forbidden").await;
        duplicate.assert_register_fault("RelationTypeAlreadyExistsFault");
        assert_eq!(duplicate.detail_field("RelationTypeCode").as_deref(), Some("FACEBOOK"));
        let facebook = app.register("GetRelationType", "<Code>FACEBOOK</Code>").await;
        assert_eq!(facebook.record("RelationType")["Name"], "Facebook account");

        // A subscription without a title names nothing (README, "The register service").
        for mode in ["Optional", "Forbidden"] {
            let refused = app.create_relation_type("SHARE2", "Subscription", mode).await;
            refused.assert_register_fault("EntityValidationFault");
            assert_eq!(refused.validation_fields(), ["TitleMode"]);
            assert!(refused.fault_reason().contains("must have TitleMode Required"), "{}", refused.body);
        }
        app.register("GetRelationType", "<Code>SHARE2</Code>")
            .await
            .assert_register_fault("RelationTypeNotFoundFault");
        // Updates are held to the same rules, and change nothing when refused.
        let loosened = app
            .register(
                "UpdateRelationType",
                "<RelationType><Code>SHARE</Code><Name></Name><ReferenceType>Subscription</ReferenceType><TitleMode>Optional</TitleMode></RelationType>",
            )
            .await;
        loosened.assert_register_fault("EntityValidationFault");
        assert_eq!(loosened.validation_fields(), ["Name", "TitleMode"]);
        let share = app.register("GetRelationType", "<Code>SHARE</Code>").await;
        assert_eq!(share.record("RelationType")["TitleMode"], "Required");
    }

    async fn a_relation_type_in_use_keeps_its_reference_type_and_cannot_be_deleted(backend: Backend) {
        let app = spawn_app(&backend).await;
        app.create(&relation(1000, "PERSONAL", "1001")).await.relation();
        app.create(&relation(1000, "PERSONAL", "1002")).await.relation();

        let deleting = app.register("DeleteRelationType", "<Code>PERSONAL</Code>").await;
        deleting.assert_register_fault("InUseFault");
        assert_eq!(deleting.detail_field("Entity").as_deref(), Some("RelationType"));
        assert_eq!(deleting.detail_field("Key").as_deref(), Some("PERSONAL"));
        assert_eq!(deleting.detail_field("ReferenceCount").as_deref(), Some("2"));

        let retyping = app
            .register(
                "UpdateRelationType",
                "<RelationType><Code>PERSONAL</Code><Name>Personal</Name><ReferenceType>External</ReferenceType><TitleMode>Forbidden</TitleMode></RelationType>",
            )
            .await;
        retyping.assert_register_fault("InUseFault");
        assert_eq!(retyping.detail_field("ReferenceCount").as_deref(), Some("2"));
        // Name and title mode may change while in use.
        let renamed = app
            .register(
                "UpdateRelationType",
                "<RelationType><Code>PERSONAL</Code><Name>Family</Name><ReferenceType>Customer</ReferenceType><TitleMode>Optional</TitleMode></RelationType>",
            )
            .await;
        assert_eq!(renamed.record("RelationType")["Name"], "Family");

        // Deleted relations stay in the history, which still uses the type
        // (README, "History and the change feed").
        for relation in app.get_relations(1000).await.relations() {
            app.delete(relation.id).await.assert_ok("DeleteCustomerRelationResponse");
        }
        let still = app.register("DeleteRelationType", "<Code>PERSONAL</Code>").await;
        still.assert_register_fault("InUseFault");
        assert!(still.fault_reason().contains("live or deleted"), "{}", still.body);
        // Once the customer is purged, nothing uses it: it can be deleted.
        let purged = app.database.open().purge_customer(1000).unwrap();
        assert_eq!((purged.relations, purged.changes), (2, 4));
        app.register("DeleteRelationType", "<Code>PERSONAL</Code>")
            .await
            .assert_register_ok("DeleteRelationTypeResponse");
        app.create(&relation(1000, "PERSONAL", "1001"))
            .await
            .assert_fault("RelationTypeNotFoundFault");
    }

    async fn customers_are_created_with_given_or_assigned_numbers(backend: Backend) {
        let app = spawn_app(&backend).await;
        let full = app
            .create_customer(&[
                ("CustomerNumber", Some("5000")),
                ("Name", Some("  Nordvik Fisk AS ")),
                ("Street", Some("Kaiveien 1")),
                ("Zip", Some("9008")),
                ("City", Some("Tromsø")),
                ("Country", Some("no")),
                ("Url", Some("https://nordvik.example/")),
                ("Comment", Some("Key account")),
            ])
            .await;
        full.assert_register_ok("CreateCustomerResponse");
        let expected = record(&[
            ("CustomerNumber", "5000"),
            ("Name", "Nordvik Fisk AS"),
            ("Street", "Kaiveien 1"),
            ("Zip", "9008"),
            ("City", "Tromsø"),
            ("Country", "NO"),
            ("Url", "https://nordvik.example/"),
            ("Comment", "Key account"),
            ("Validity", "Valid"),
        ]);
        assert_eq!(full.record("Customer"), expected);
        assert_eq!(app.get_customer(5000).await.record("Customer"), expected);

        let assigned = app.create_customer(&[("Name", Some("Next AS")), ("Validity", Some("InvalidTemporarily"))]).await;
        let assigned = assigned.record("Customer");
        assert_eq!(assigned["CustomerNumber"], "5001", "the highest number plus one");
        assert_eq!(assigned["Validity"], "InvalidTemporarily");

        let duplicate = app.create_customer(&[("CustomerNumber", Some("1000")), ("Name", Some("Other"))]).await;
        duplicate.assert_register_fault("CustomerAlreadyExistsFault");
        assert_eq!(duplicate.detail_field("CustomerNumber").as_deref(), Some("1000"));
        assert_eq!(app.get_customer(1000).await.record("Customer")["Name"], "Kari Nordmann");

        // Above the highest possible number none can be assigned: a field rule.
        app.create_customer(&[("CustomerNumber", Some("2147483647")), ("Name", Some("Last"))])
            .await
            .assert_register_ok("CreateCustomerResponse");
        let exhausted = app.create_customer(&[("Name", Some("One more"))]).await;
        exhausted.assert_register_fault("EntityValidationFault");
        assert_eq!(exhausted.validation_fields(), ["CustomerNumber"]);

        let missing = app.get_customer(4242).await;
        missing.assert_register_fault("CustomerNotFoundFault");
        assert_eq!(missing.detail_field("CustomerNumber").as_deref(), Some("4242"));
    }

    async fn customer_field_rules_are_all_reported_and_change_nothing(backend: Backend) {
        let app = spawn_app(&backend).await;
        let broken = app
            .create_customer(&[
                ("CustomerNumber", Some("-4")),
                ("Name", Some(" ")),
                ("Zip", Some(&"9".repeat(21))),
                ("Country", Some("XX")),
                ("Url", Some("javascript:alert(1)")),
                ("Comment", Some(&"c".repeat(251))),
                ("Validity", Some("Deleted")),
            ])
            .await;
        broken.assert_register_fault("EntityValidationFault");
        assert_eq!(
            broken.validation_fields(),
            ["CustomerNumber", "Name", "Zip", "Country", "Url", "Comment", "Validity"]
        );
        let (_, total) = app.numbers(&[]).await;
        assert_eq!(total, 4, "nothing was created");

        // A schema type breach is a plain Client fault.
        app.create_customer(&[("CustomerNumber", Some("many")), ("Name", Some("X"))])
            .await
            .assert_client_fault();
        assert!(app.create_customer(&[("CustomerNumber", Some("7")), ("Name", Some("X")), ("Phone", Some("1"))]).await.fault_reason().contains("Phone"));
    }

    async fn customers_are_updated_and_made_invalid_never_deleted(backend: Backend) {
        let app = spawn_app(&backend).await;
        let existing = app.create(&relation(1000, "PERSONAL", "1001")).await.relation();
        let updated = app
            .register(
                "UpdateCustomer",
                "<Customer><CustomerNumber>1001</CustomerNumber><Name>Ola N. Nordmann</Name><City>Bergen</City></Customer>",
            )
            .await;
        updated.assert_register_ok("UpdateCustomerResponse");
        assert_eq!(
            updated.record("Customer"),
            record(&[("CustomerNumber", "1001"), ("Name", "Ola N. Nordmann"), ("City", "Bergen"), ("Validity", "Valid")])
        );
        let cleared = app
            .register(
                "UpdateCustomer",
                "<Customer><CustomerNumber>1001</CustomerNumber><Name>Ola Nordmann</Name></Customer>",
            )
            .await;
        assert!(!cleared.record("Customer").contains_key("City"), "absent fields are cleared");
        app.register("UpdateCustomer", "<Customer><CustomerNumber>999</CustomerNumber><Name>X</Name></Customer>")
            .await
            .assert_register_fault("CustomerNotFoundFault");
        let invalid_update = app
            .register("UpdateCustomer", "<Customer><CustomerNumber>1001</CustomerNumber><Name></Name><Country>Norway</Country></Customer>")
            .await;
        invalid_update.assert_register_fault("EntityValidationFault");
        assert_eq!(invalid_update.validation_fields(), ["Name", "Country"]);
        assert_eq!(app.get_customer(1001).await.record("Customer")["Name"], "Ola Nordmann");

        let invalidated = app
            .set_validity("SetCustomerValidity", "<CustomerNumber>1000</CustomerNumber>", "Invalid")
            .await;
        invalidated.assert_register_ok("SetCustomerValidityResponse");
        assert_eq!(invalidated.record("Customer")["Validity"], "Invalid");
        // New relations cannot use it, as owner or reference; existing ones stay readable.
        app.create(&relation(1000, "FACEBOOK", "1")).await.assert_fault("CustomerNotFoundFault");
        app.create(&relation(1001, "PERSONAL", "1000")).await.assert_fault("InvalidReferenceFault");
        assert_eq!(app.get_relations(1000).await.relations(), [existing]);

        app.set_validity("SetCustomerValidity", "<CustomerNumber>1000</CustomerNumber>", "Valid")
            .await
            .assert_register_ok("SetCustomerValidityResponse");
        app.create(&relation(1000, "FACEBOOK", "1")).await.relation();
        let bad = app
            .set_validity("SetCustomerValidity", "<CustomerNumber>1000</CustomerNumber>", "Gone")
            .await;
        bad.assert_register_fault("EntityValidationFault");
        assert_eq!(bad.validation_fields(), ["Validity"]);
        app.set_validity("SetCustomerValidity", "<CustomerNumber>77</CustomerNumber>", "Invalid")
            .await
            .assert_register_fault("CustomerNotFoundFault");
    }

    async fn customers_are_searched_with_wildcards_ignoring_case(backend: Backend) {
        let app = spawn_app(&backend).await;
        for (number, name, city, zip) in [
            ("2000", "ÅSE BAKKEN", "Tromsø", "9008"),
            ("2001", "Fjord_Fisk 100%", "TROMSØ", "9010"),
            ("2002", "FjordXFisk AS", "Oslo", "0150"),
        ] {
            app.create_customer(&[("CustomerNumber", Some(number)), ("Name", Some(name)), ("City", Some(city)), ("Zip", Some(zip))])
                .await
                .assert_register_ok("CreateCustomerResponse");
        }
        type Criteria<'a> = &'a [(&'a str, Option<&'a str>)];
        let cases: &[(Criteria, &[i64])] = &[
            (&[("Name", Some("nord*"))], &[1002]),
            (&[("Name", Some("*nordmann"))], &[1000, 1001]),
            (&[("Name", Some("*NORD*"))], &[1000, 1001, 1002]),
            (&[("Name", Some("åse*"))], &[1003, 2000]),
            (&[("Name", Some("ola nordmann"))], &[1001]),
            (&[("Name", Some("fjord_fisk*"))], &[2001]),
            (&[("Name", Some("*100%"))], &[2001]),
            (&[("Name", Some("*"))], &[1000, 1001, 1002, 1003, 2000, 2001, 2002]),
            (&[("City", Some("tromsø"))], &[2000, 2001]),
            (&[("City", Some("TROM*")), ("Zip", Some("*10"))], &[2001]),
            (&[("Zip", Some("01*"))], &[2002]),
            (&[("CustomerNumber", Some("100*"))], &[1000, 1001, 1002, 1003]),
            (&[("CustomerNumber", Some("*2"))], &[1002, 2002]),
            (&[("CustomerNumber", Some("02001"))], &[2001]),
            (&[("Validity", Some("Invalid"))], &[1003]),
            (&[("Name", Some("*e*")), ("Validity", Some("Valid"))], &[2000]),
        ];
        for (criteria, expected) in cases {
            let (numbers, total) = app.numbers(criteria).await;
            assert_eq!(&numbers, expected, "{criteria:?}");
            assert_eq!(total, expected.len() as i64, "{criteria:?}");
        }
    }

    async fn search_results_sort_by_any_field_and_page_with_the_total(backend: Backend) {
        let app = spawn_app(&backend).await;
        app.create_customer(&[("CustomerNumber", Some("900")), ("Name", Some("bjørn")), ("City", Some("Bodø")), ("Country", Some("NO")), ("Street", Some("A gate"))])
            .await;
        app.create_customer(&[("CustomerNumber", Some("901")), ("Name", Some("Anna")), ("City", Some("Arendal")), ("Country", Some("SE")), ("Url", Some("https://a.example"))])
            .await;
        let by = |field: &'static str, direction: &'static str| {
            vec![("SortBy", Some(field)), ("SortDirection", Some(direction))]
        };
        let cases: &[(&str, &str, &[i64])] = &[
            ("CustomerNumber", "Descending", &[1003, 1002, 1001, 1000, 901, 900]),
            ("Name", "Ascending", &[901, 900, 1000, 1002, 1001, 1003]),
            ("Name", "Descending", &[1003, 1001, 1002, 1000, 900, 901]),
            // Empty values come last in both directions; ties by number.
            ("City", "Ascending", &[901, 900, 1000, 1001, 1002, 1003]),
            ("City", "Descending", &[900, 901, 1000, 1001, 1002, 1003]),
            ("Country", "Descending", &[901, 900, 1000, 1001, 1002, 1003]),
            ("Street", "Ascending", &[900, 901, 1000, 1001, 1002, 1003]),
            ("Url", "Ascending", &[901, 900, 1000, 1001, 1002, 1003]),
            ("Validity", "Ascending", &[1003, 900, 901, 1000, 1001, 1002]),
        ];
        for (field, direction, expected) in cases {
            let (numbers, _) = app.numbers(&by(field, direction)).await;
            assert_eq!(&numbers, expected, "{field} {direction}");
        }

        let page = app
            .search(&[("SortBy", Some("CustomerNumber")), ("Offset", Some("2")), ("Limit", Some("3"))])
            .await;
        assert_eq!(page.value("TotalCount").as_deref(), Some("6"));
        assert_eq!(page.value("Offset").as_deref(), Some("2"));
        let numbers: Vec<_> = page.records("Customers").iter().map(|c| c["CustomerNumber"].clone()).collect();
        assert_eq!(numbers, ["1000", "1001", "1002"]);
        let beyond = app.search(&[("Offset", Some("50"))]).await;
        assert_eq!(beyond.value("TotalCount").as_deref(), Some("6"));
        assert!(beyond.records("Customers").is_empty());

        let broken = app
            .search(&[
                ("CustomerNumber", Some("10a*")),
                ("Validity", Some("Maybe")),
                ("SortBy", Some("Phone")),
                ("SortDirection", Some("Up")),
                ("Offset", Some("-1")),
                ("Limit", Some("1001")),
            ])
            .await;
        broken.assert_register_fault("EntityValidationFault");
        assert_eq!(
            broken.validation_fields(),
            ["CustomerNumber", "Validity", "SortBy", "SortDirection", "Offset", "Limit"]
        );
        app.search(&[("Limit", Some("0"))]).await.assert_register_fault("EntityValidationFault");
        let (numbers, _) = app.numbers(&[("Limit", Some("1000"))]).await;
        assert_eq!(numbers.len(), 6);
    }

    async fn a_search_returns_250_customers_unless_told_otherwise(backend: Backend) {
        let app = spawn_app(&backend).await;
        let mut csv = String::from("customer_number,name\n");
        for n in 0..300 {
            csv.push_str(&format!("{},Bulk {n}\n", 10_000 + n));
        }
        customer_relations::import::import(
            &app.database.open(),
            &[customer_relations::import::FixtureFile { path: "customers.csv".into(), contents: csv }],
        )
        .unwrap();
        let (numbers, total) = app.numbers(&[("Name", Some("bulk*"))]).await;
        assert_eq!(total, 300);
        assert_eq!(numbers.len(), 250);
        assert_eq!(numbers.first(), Some(&10_000));
    }

    async fn titles_are_created_updated_listed_and_made_invalid(backend: Backend) {
        let app = spawn_app(&backend).await;
        let created = app.create_title("AMAG", "A Magazine").await;
        created.assert_register_ok("CreateTitleResponse");
        assert_eq!(created.record("Title"), record(&[("Code", "AMAG"), ("Name", "A Magazine"), ("Validity", "Valid")]));
        let duplicate = app.create_title("DAILY", "Again").await;
        duplicate.assert_register_fault("TitleAlreadyExistsFault");
        assert_eq!(duplicate.detail_field("TitleCode").as_deref(), Some("DAILY"));
        let broken = app.register("CreateTitle", "<Title><Code>a b</Code><Name/><Validity>No</Validity></Title>").await;
        broken.assert_register_fault("EntityValidationFault");
        assert_eq!(broken.validation_fields(), ["Code", "Name", "Validity"]);

        let renamed = app.register("UpdateTitle", "<Code>AMAG</Code><Name>Another Magazine</Name>").await;
        renamed.assert_register_ok("UpdateTitleResponse");
        assert_eq!(renamed.record("Title")["Name"], "Another Magazine");
        app.register("UpdateTitle", "<Code>NOPE</Code><Name>x</Name>")
            .await
            .assert_register_fault("TitleNotFoundFault");
        app.register("UpdateTitle", "<Code>AMAG</Code><Name> </Name>")
            .await
            .assert_register_fault("EntityValidationFault");

        app.set_validity("SetTitleValidity", "<Code>WEEKLY</Code>", "Invalid")
            .await
            .assert_register_ok("SetTitleValidityResponse");
        app.set_validity("SetTitleValidity", "<Code>NOPE</Code>", "Invalid")
            .await
            .assert_register_fault("TitleNotFoundFault");
        app.set_validity("SetTitleValidity", "<Code>WEEKLY</Code>", "Never")
            .await
            .assert_register_fault("EntityValidationFault");

        let codes = |r: SoapResponse| -> Vec<String> {
            r.assert_register_ok("ListTitlesResponse");
            r.records("Titles").iter().map(|t| t["Code"].clone()).collect()
        };
        assert_eq!(codes(app.register("ListTitles", "").await), ["AMAG", "DAILY", "TECH", "WEEKLY"]);
        assert_eq!(codes(app.register("ListTitles", "<Validity>Invalid</Validity>").await), ["WEEKLY"]);
        app.register("ListTitles", "<Validity>Odd</Validity>")
            .await
            .assert_register_fault("EntityValidationFault");

        // An invalid title cannot be used by new relations or subscriptions.
        app.create_subscription(1000, "WEEKLY", "2026-01-01", None)
            .await
            .assert_register_fault("EntityValidationFault");
        app.create(&relation(1002, "SHARE", "1002").title("WEEKLY"))
            .await
            .assert_fault("EntityValidationFault");
    }

    async fn subscriptions_have_a_status_from_their_dates(backend: Backend) {
        let app = spawn_app(&backend).await;
        let tomorrow = today_plus(1);
        let pending = app.create_subscription(1002, "DAILY", &tomorrow, None).await;
        pending.assert_register_ok("CreateSubscriptionResponse");
        let pending = pending.record("Subscription");
        assert_eq!(pending["Status"], "Pending");
        assert_eq!(pending["StartDate"], tomorrow);
        let ended = app.create_subscription(1002, "TECH", "2020-01-01", Some("2021-01-01")).await;
        assert_eq!(ended.record("Subscription")["Status"], "Ended");

        let duplicate = app.create_subscription(1002, "DAILY", &tomorrow, Some(&today_plus(9))).await;
        duplicate.assert_register_fault("SubscriptionAlreadyExistsFault");
        assert_eq!(duplicate.detail_field("SubscriptionId"), Some(pending["Id"].clone()));

        let listed = app.register("ListSubscriptionsByCustomer", "<CustomerNumber>1002</CustomerNumber>").await;
        listed.assert_register_ok("ListSubscriptionsByCustomerResponse");
        let starts: Vec<_> = listed.records("Subscriptions").iter().map(|s| (s["TitleCode"].clone(), s["Status"].clone())).collect();
        assert_eq!(
            starts,
            [("TECH".into(), "Ended".into()), ("WEEKLY".into(), "Ended".into()), ("DAILY".into(), "Pending".into())],
            "ordered by start date"
        );

        // Ending: today by default, then it cannot end again.
        let active = app.create_subscription(1001, "TECH", "2025-01-01", None).await.record("Subscription");
        assert_eq!(active["Status"], "Active");
        let app = &app;
        let end = |id: &str, date: Option<&str>| {
            let body = format!("<Id>{id}</Id>{}", fields(&[("EndDate", date)]));
            async move { app.register("EndSubscription", &body).await }
        };
        let too_early = end(&active["Id"], Some("2024-12-31")).await;
        too_early.assert_register_fault("EntityValidationFault");
        assert_eq!(too_early.validation_fields(), ["EndDate"]);
        let ended = end(&active["Id"], None).await;
        ended.assert_register_ok("EndSubscriptionResponse");
        let ended = ended.record("Subscription");
        assert_eq!((ended["Status"].as_str(), ended["EndDate"].clone()), ("Ended", today_plus(0)));
        end(&active["Id"], None).await.assert_register_fault("EntityValidationFault");
        let unknown = end("987654", None).await;
        unknown.assert_register_fault("SubscriptionNotFoundFault");
        assert_eq!(unknown.detail_field("SubscriptionId").as_deref(), Some("987654"));
        end(&pending["Id"], Some(&today_plus(30))).await.assert_register_ok("EndSubscriptionResponse");

        // An ended subscription still counts as "has or had" for relations.
        app.create(&relation(1000, "SHARE", "1001").title("TECH")).await.relation();
    }

    async fn subscriptions_name_existing_valid_customers_and_titles(backend: Backend) {
        let app = spawn_app(&backend).await;
        let no_customer = app.create_subscription(4444, "DAILY", "2026-01-01", None).await;
        no_customer.assert_register_fault("CustomerNotFoundFault");
        assert_eq!(no_customer.detail_field("CustomerNumber").as_deref(), Some("4444"));
        let no_title = app.create_subscription(1000, "MONTHLY", "2026-01-01", None).await;
        no_title.assert_register_fault("TitleNotFoundFault");
        assert_eq!(no_title.detail_field("TitleCode").as_deref(), Some("MONTHLY"));
        let invalid = app.create_subscription(1003, "DAILY", "2026-01-01", None).await;
        invalid.assert_register_fault("EntityValidationFault");
        assert_eq!(invalid.validation_fields(), ["CustomerNumber"]);
        let broken = app.create_subscription(0, "daily", "2026-01-01", Some("2025-01-01")).await;
        broken.assert_register_fault("EntityValidationFault");
        assert_eq!(broken.validation_fields(), ["CustomerNumber", "TitleCode", "EndDate"]);
        app.create_subscription(1000, "DAILY", "2026-02-30", None).await.assert_client_fault();
        app.register("ListSubscriptionsByCustomer", "<CustomerNumber>4444</CustomerNumber>")
            .await
            .assert_register_fault("CustomerNotFoundFault");
        let listed = app.register("ListSubscriptionsByCustomer", "<CustomerNumber>1000</CustomerNumber>").await;
        assert_eq!(listed.records("Subscriptions").len(), 1, "nothing was added");
    }

    async fn users_are_keyed_by_email_ignoring_case(backend: Backend) {
        let app = spawn_app(&backend).await;
        let created = app
            .create_user(&[("Email", Some(" Nora.Berg@Example.COM ")), ("Name", Some("Nora Berg")), ("CustomerNumber", Some("1002"))])
            .await;
        created.assert_register_ok("CreateUserResponse");
        let expected = record(&[("Email", "nora.berg@example.com"), ("Name", "Nora Berg"), ("CustomerNumber", "1002"), ("Validity", "Valid")]);
        assert_eq!(created.record("User"), expected);
        let got = app.register("GetUser", "<Email>NORA.BERG@example.com</Email>").await;
        got.assert_register_ok("GetUserResponse");
        assert_eq!(got.record("User"), expected);

        let duplicate = app.create_user(&[("Email", Some("KARI@example.com"))]).await;
        duplicate.assert_register_fault("UserAlreadyExistsFault");
        assert_eq!(duplicate.detail_field("Email").as_deref(), Some("kari@example.com"));
        let broken = app
            .create_user(&[("Email", Some("nora at example")), ("Name", Some(&"n".repeat(201))), ("CustomerNumber", Some("0")), ("Validity", Some("Sure"))])
            .await;
        broken.assert_register_fault("EntityValidationFault");
        assert_eq!(broken.validation_fields(), ["Email", "Name", "CustomerNumber", "Validity"]);
        let no_customer = app.create_user(&[("Email", Some("x@example.com")), ("CustomerNumber", Some("5555"))]).await;
        no_customer.assert_register_fault("CustomerNotFoundFault");
        app.register("GetUser", "<Email>x@example.com</Email>")
            .await
            .assert_register_fault("UserNotFoundFault");

        let updated = app
            .register("UpdateUser", "<User><Email>nora.berg@EXAMPLE.com</Email><Name>Nora B. Berg</Name></User>")
            .await;
        updated.assert_register_ok("UpdateUserResponse");
        assert_eq!(
            updated.record("User"),
            record(&[("Email", "nora.berg@example.com"), ("Name", "Nora B. Berg"), ("Validity", "Valid")])
        );
        let unknown = app.register("UpdateUser", "<User><Email>ghost@example.com</Email></User>").await;
        unknown.assert_register_fault("UserNotFoundFault");
        assert_eq!(unknown.detail_field("Email").as_deref(), Some("ghost@example.com"));
        app.register("UpdateUser", "<User><Email>nora.berg@example.com</Email><CustomerNumber>6000</CustomerNumber></User>")
            .await
            .assert_register_fault("CustomerNotFoundFault");
        app.register("UpdateUser", "<User><Email>nora.berg@example.com</Email><CustomerNumber>1003</CustomerNumber></User>")
            .await
            .assert_register_fault("EntityValidationFault");

        // An invalid user cannot be referenced by new relations.
        let made_invalid = app.set_validity("SetUserValidity", "<Email>Ola@Example.com</Email>", "InvalidTemporarily").await;
        made_invalid.assert_register_ok("SetUserValidityResponse");
        assert_eq!(made_invalid.record("User")["Validity"], "InvalidTemporarily");
        app.create(&relation(1000, "LOGIN", "ola@example.com")).await.assert_fault("InvalidReferenceFault");
        app.create(&relation(1000, "LOGIN", "nora.berg@example.com")).await.relation();
        app.set_validity("SetUserValidity", "<Email>ghost@example.com</Email>", "Invalid")
            .await
            .assert_register_fault("UserNotFoundFault");
        app.set_validity("SetUserValidity", "<Email>ola@example.com</Email>", "Later")
            .await
            .assert_register_fault("EntityValidationFault");
    }

    async fn the_register_speaks_soap_11_and_12_and_refuses_what_is_not_its_own(backend: Backend) {
        let app = spawn_app(&backend).await;
        for version in Soap::BOTH {
            let ok = app.register_call(version, &register_xml("GetCustomer", "<CustomerNumber>1000</CustomerNumber>")).await;
            ok.assert_register_ok("GetCustomerResponse");
            assert_eq!(ok.version(), version);
            let fault = app.register_call(version, &register_xml("GetCustomer", "<CustomerNumber>9</CustomerNumber>")).await;
            fault.assert_register_fault("CustomerNotFoundFault");
            assert_eq!(fault.version(), version);

            // An operation of the relation service, or a register element in the
            // wrong namespace, is not an operation of this endpoint.
            let wrong_service = app.register_call(version, &crate::helpers::get_relation_types_xml()).await;
            wrong_service.assert_client_fault();
            assert!(wrong_service.fault_reason().contains("CustomerRegisterService"), "{}", wrong_service.body);
            app.call(version, &register_xml("ListTitles", "")).await.assert_client_fault();
            let foreign_child = app
                .register_call(version, &register_xml("GetCustomer", r#"<CustomerNumber xmlns="urn:customer-relations:v1">1000</CustomerNumber>"#))
                .await;
            foreign_child.assert_client_fault();
        }
    }

    async fn concurrent_creates_get_distinct_numbers_and_one_winner(backend: Backend) {
        let app = spawn_app(&backend).await;
        let assigned = futures_util::future::join_all(
            (0..16).map(|i| {
                let name = format!("Parallel {i}");
                let app = &app;
                async move { app.create_customer(&[("Name", Some(&name))]).await }
            }),
        )
        .await;
        let mut numbers: Vec<i64> = assigned
            .iter()
            .map(|r| r.record("Customer")["CustomerNumber"].parse().unwrap())
            .collect();
        numbers.sort();
        assert_eq!(numbers, (1004..1020).collect::<Vec<_>>());

        // Ending one subscription from many requests at once ends it once.
        let running = app.create_subscription(1002, "TECH", "2025-01-01", None).await.record("Subscription");
        let body = format!("<Id>{}</Id>", running["Id"]);
        let ends = futures_util::future::join_all((0..8).map(|_| app.register("EndSubscription", &body))).await;
        assert_eq!(ends.iter().filter(|r| !r.is_fault()).count(), 1);
        for refused in ends.iter().filter(|r| r.is_fault()) {
            refused.assert_register_fault("EntityValidationFault");
            assert_eq!(refused.validation_fields(), ["Id"]);
        }

        let same = futures_util::future::join_all(
            (0..16).map(|_| app.create_customer(&[("CustomerNumber", Some("7777")), ("Name", Some("Same"))])),
        )
        .await;
        let created = same.iter().filter(|r| !r.is_fault()).count();
        assert_eq!(created, 1);
        for refused in same.iter().filter(|r| r.is_fault()) {
            refused.assert_register_fault("CustomerAlreadyExistsFault");
        }
    }

    async fn a_date_that_is_not_one_is_a_client_fault_whatever_its_characters(backend: Backend) {
        let app = spawn_app(&backend).await;
        for date in ["2024-01-0é", "2024-01-01+0é00", "2024-01-01+99:99", "𝄞", "2024-01-01+14:01"] {
            let response = app
                .register("EndSubscription", &format!("<Id>1</Id><EndDate>{date}</EndDate>"))
                .await;
            response.assert_client_fault();
            assert!(response.fault_reason().contains("xs:date"), "{date}: {}", response.body);
        }
        // The subscription was not touched.
        app.register("EndSubscription", "<Id>1</Id><EndDate>2099-01-01+14:00</EndDate>")
            .await
            .assert_register_ok("EndSubscriptionResponse");
    }

    async fn one_line_fields_refuse_control_characters(backend: Backend) {
        let app = spawn_app(&backend).await;
        let refused = app
            .register(
                "CreateCustomer",
                "<Customer><Name>Bob&#10;Smith</Name><City>Os&#9;lo</City><Comment>two&#10;lines</Comment></Customer>",
            )
            .await;
        refused.assert_register_fault("EntityValidationFault");
        assert_eq!(refused.validation_fields(), ["Name", "City"]);
        app.register("CreateTitle", "<Title><Code>T1</Code><Name>a&#13;b</Name></Title>")
            .await
            .assert_register_fault("EntityValidationFault");
        app.register(
            "CreateCustomer",
            "<Customer><Name>Bob Smith</Name><Comment>two&#10;lines</Comment></Customer>",
        )
        .await
        .assert_register_ok("CreateCustomerResponse");
    }
}
