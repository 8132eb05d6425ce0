//! The operations beyond Infosoft's API (README, "Beyond Infosoft's API"):
//! finding relations by reference, reading one with its version, updating
//! it against that version, the history that keeps deleted relations, and
//! the change feed.

use std::collections::BTreeMap;

use customer_relations::operations::Service;

use crate::helpers::{
    Backend, DEMO_BUS, DEMO_READER, DEMO_SSO, Login, Record, Soap, SoapResponse, TNS, TestApp,
    client_as, envelope, escape, relation, spawn_app,
};

/// Sends the relation operation `operation` with the inner XML `inner`.
async fn op(app: &TestApp, operation: &str, inner: &str) -> SoapResponse {
    op_in(app, Soap::V11, operation, inner).await
}

async fn op_in(app: &TestApp, version: Soap, operation: &str, inner: &str) -> SoapResponse {
    app.call(
        version,
        &format!(r#"<{operation} xmlns="{TNS}">{inner}</{operation}>"#),
    )
    .await
}

async fn op_as(app: &TestApp, login: Login, operation: &str, inner: &str) -> SoapResponse {
    let payload = format!(r#"<{operation} xmlns="{TNS}">{inner}</{operation}>"#);
    app.send_with(
        &client_as(login),
        Service::Relations,
        Soap::V11,
        envelope(Soap::V11, &payload),
    )
    .await
}

/// A `CustomerRelationRecord`'s fields by name, the audit's beside the
/// others.
fn flat(node: roxmltree::Node) -> Record {
    let mut record = Record::new();
    for field in node.children().filter(|c| c.is_element()) {
        assert_eq!(field.tag_name().namespace(), Some(TNS));
        if field.tag_name().name() == "Audit" {
            record.extend(flat(field));
        } else {
            let text = field.text().unwrap_or_else(|| {
                panic!(
                    "empty {} (absent values are omitted)",
                    field.tag_name().name()
                )
            });
            record.insert(field.tag_name().name().to_owned(), text.to_owned());
        }
    }
    record
}

fn children<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> Vec<roxmltree::Node<'a, 'i>> {
    node.children()
        .filter(|c| c.is_element() && c.tag_name().name() == name)
        .collect()
}

fn only<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> roxmltree::Node<'a, 'i> {
    let found = children(node, name);
    assert_eq!(found.len(), 1, "one {name}");
    found[0]
}

/// The payload of a successful response of `operation`.
fn payload<'a, 'i>(doc: &'a roxmltree::Document<'i>, operation: &str) -> roxmltree::Node<'a, 'i> {
    let payload = doc
        .descendants()
        .find(|n| n.is_element() && n.tag_name().name() == format!("{operation}Response"))
        .unwrap_or_else(|| panic!("no {operation}Response"));
    assert_eq!(payload.tag_name().namespace(), Some(TNS));
    payload
}

/// The one record of a GetCustomerRelation or UpdateCustomerRelation
/// response.
fn record_of(response: &SoapResponse, operation: &str) -> Record {
    response.assert_ok(&format!("{operation}Response"));
    let doc = response.document();
    flat(only(payload(&doc, operation), "CustomerRelation"))
}

/// The records of a FindCustomerRelationsByReference response.
fn found(response: &SoapResponse) -> Vec<Record> {
    response.assert_ok("FindCustomerRelationsByReferenceResponse");
    let doc = response.document();
    let list = only(
        payload(&doc, "FindCustomerRelationsByReference"),
        "CustomerRelations",
    );
    children(list, "CustomerRelation")
        .into_iter()
        .map(flat)
        .collect()
}

fn ids(records: &[Record]) -> Vec<i64> {
    records.iter().map(|r| r["Id"].parse().unwrap()).collect()
}

async fn find(app: &TestApp, reference: &str, relation_type: Option<&str>) -> SoapResponse {
    let mut inner = format!("<Reference>{}</Reference>", escape(reference));
    if let Some(code) = relation_type {
        inner.push_str(&format!("<RelationTypeCode>{code}</RelationTypeCode>"));
    }
    op(app, "FindCustomerRelationsByReference", &inner).await
}

async fn get(app: &TestApp, id: i64) -> SoapResponse {
    op(app, "GetCustomerRelation", &format!("<Id>{id}</Id>")).await
}

/// An update's inner XML: Id, Version, Reference, then the optional fields.
fn update_xml(id: i64, version: &str, reference: &str, optional: &[(&str, &str)]) -> String {
    let mut inner = format!(
        "<Id>{id}</Id><Version>{version}</Version><Reference>{}</Reference>",
        escape(reference)
    );
    for (name, value) in optional {
        inner.push_str(&format!("<{name}>{}</{name}>", escape(value)));
    }
    inner
}

/// One change of a history or of the feed.
#[derive(Debug, Clone)]
struct Change {
    sequence: Option<i64>,
    kind: String,
    at: String,
    by: String,
    relation: Record,
}

fn change_of(node: roxmltree::Node) -> Change {
    let text = |name: &str| {
        children(node, name)
            .first()
            .and_then(|n| n.text())
            .map(str::to_owned)
    };
    Change {
        sequence: text("Sequence").map(|s| s.parse().expect("xs:long")),
        kind: text("Kind").expect("Kind"),
        at: text("At").expect("At"),
        by: text("By").expect("By"),
        relation: flat(only(node, "CustomerRelation")),
    }
}

/// A customer's history: each relation as it is now, with its changes.
fn history(response: &SoapResponse) -> Vec<(Record, Vec<Change>)> {
    response.assert_ok("GetCustomerRelationHistoryResponse");
    let doc = response.document();
    let list = only(
        payload(&doc, "GetCustomerRelationHistory"),
        "RelationHistories",
    );
    children(list, "RelationHistory")
        .into_iter()
        .map(|h| {
            let changes = children(only(h, "Changes"), "Change")
                .into_iter()
                .map(change_of)
                .collect();
            (flat(only(h, "CustomerRelation")), changes)
        })
        .collect()
}

async fn history_of(app: &TestApp, customer: i64) -> SoapResponse {
    op(
        app,
        "GetCustomerRelationHistory",
        &format!("<CustomerNumber>{customer}</CustomerNumber>"),
    )
    .await
}

/// A page of the change feed: its changes and LastSequence.
fn page(response: &SoapResponse) -> (Vec<Change>, i64) {
    response.assert_ok("GetCustomerRelationChangesResponse");
    let doc = response.document();
    let payload = payload(&doc, "GetCustomerRelationChanges");
    let changes = children(only(payload, "Changes"), "Change")
        .into_iter()
        .map(change_of)
        .collect();
    let last = only(payload, "LastSequence")
        .text()
        .unwrap()
        .parse()
        .unwrap();
    (changes, last)
}

fn changes_xml(after: i64, limit: Option<i64>) -> String {
    let limit = limit
        .map(|l| format!("<Limit>{l}</Limit>"))
        .unwrap_or_default();
    format!("<AfterSequence>{after}</AfterSequence>{limit}")
}

/// The whole feed from the start, page by page; every change has its
/// sequence, and the sequences rise.
async fn whole_feed(app: &TestApp, login: Login, limit: i64) -> Vec<Change> {
    let mut all: Vec<Change> = Vec::new();
    let mut after = 0;
    loop {
        let response = op_as(
            app,
            login,
            "GetCustomerRelationChanges",
            &changes_xml(after, Some(limit)),
        )
        .await;
        let (changes, last) = page(&response);
        if changes.is_empty() {
            assert_eq!(last, after, "an empty page continues where it was asked to");
            return all;
        }
        assert!(changes.len() as i64 <= limit);
        for change in changes {
            let sequence = change.sequence.expect("a feed change has its Sequence");
            assert!(sequence > after, "{sequence} after {after}");
            after = sequence;
            all.push(change);
        }
        assert_eq!(last, after, "LastSequence is the page's last");
    }
}

/// The live relations a feed replays to, by Id.
fn replay(changes: &[Change]) -> BTreeMap<i64, Record> {
    let mut live = BTreeMap::new();
    for change in changes {
        let id: i64 = change.relation["Id"].parse().unwrap();
        match change.kind.as_str() {
            "Created" => assert!(
                live.insert(id, change.relation.clone()).is_none(),
                "{id} created twice"
            ),
            "Updated" => assert!(
                live.insert(id, change.relation.clone()).is_some(),
                "{id} updated before created"
            ),
            "Deleted" => assert!(live.remove(&id).is_some(), "{id} deleted while not live"),
            other => panic!("no kind {other}"),
        }
    }
    live
}

/// Every live relation of the demo customers, as records, by Id.
async fn live_state(app: &TestApp) -> BTreeMap<i64, Record> {
    let mut live = BTreeMap::new();
    for customer in [1000, 1001, 1002] {
        let response = op(
            app,
            "GetCustomerRelationHistory",
            &format!("<CustomerNumber>{customer}</CustomerNumber>"),
        )
        .await;
        for (record, _) in history(&response) {
            if !record.contains_key("DeletedAt") {
                live.insert(record["Id"].parse().unwrap(), record);
            }
        }
        // And the history's live ones are exactly Infosoft's list.
        let listed: Vec<i64> = app
            .get_relations(customer)
            .await
            .relations()
            .iter()
            .map(|r| r.id)
            .collect();
        let mine: Vec<i64> = live
            .iter()
            .filter(|(_, r)| r["CustomerNumber"] == customer.to_string())
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(listed, mine, "customer {customer}");
    }
    live
}

/// The migration that added the history, undone, as on a database of the
/// version before it.
fn undo_history_migration(backend: &Backend) -> String {
    // The migrations after it first, newest first.
    let downs = match backend {
        Backend::Sqlite => [
            include_str!("../../migrations/sqlite/2026-12-04-000006_live_relation_count/down.sql"),
            include_str!("../../migrations/sqlite/2026-12-04-000005_relation_history/down.sql"),
        ],
        Backend::Postgres { .. } => [
            include_str!(
                "../../migrations/postgresql/2026-12-04-000006_live_relation_count/down.sql"
            ),
            include_str!("../../migrations/postgresql/2026-12-04-000005_relation_history/down.sql"),
        ],
    };
    format!(
        "{}\n{}\nDELETE FROM __diesel_schema_migrations WHERE version IN ('20261204000005', '20261204000006');",
        downs[0], downs[1]
    )
}

on_both_backends! {
    async fn relations_from_before_the_history_begin_it_with_their_creation(backend: Backend) {
        // A database of the version before: relations without a history.
        let app = spawn_app(&backend).await;
        let first = app.create(&relation(1000, "SSO", "old-1").source("crm")).await.relation();
        let second = app.create(&relation(1001, "PERSONAL", "1000")).await.relation();
        app.database.raw_sql(&undo_history_migration(&backend));

        // An instance of this version migrates it when it starts.
        let upgraded = app.another_instance().await;
        let endpoint = format!("{upgraded}/CustomerRelationService");
        let call = |operation: &str, inner: &str| {
            let payload = format!(r#"<{operation} xmlns="{TNS}">{inner}</{operation}>"#);
            app.post_to(&endpoint, Soap::V11.content_type(), None, envelope(Soap::V11, &payload))
        };
        let (feed, last) = page(&call("GetCustomerRelationChanges", &changes_xml(0, None)).await);
        assert_eq!(feed.len(), 2);
        assert!(last > 0);
        for (change, created) in feed.iter().zip([&first, &second]) {
            assert_eq!(change.kind, "Created");
            assert_eq!(change.relation["Id"], created.id.to_string());
            assert_eq!(change.by, created.created_by);
            assert_eq!(change.at, created.created_at);
            assert_eq!(change.relation["Version"], "1");
        }
        assert_eq!(feed[0].relation["Source"], "crm");
        let histories = history(&call("GetCustomerRelationHistory", "<CustomerNumber>1000</CustomerNumber>").await);
        assert_eq!(histories.len(), 1);
        assert_eq!(histories[0].1.len(), 1);
        // And it goes on from there: an update is the next change.
        let updated = call("UpdateCustomerRelation", &update_xml(first.id, "1", "old-1-new", &[])).await;
        assert_eq!(record_of(&updated, "UpdateCustomerRelation")["Version"], "2");
        let (next, _) = page(&call("GetCustomerRelationChanges", &changes_xml(last, None)).await);
        assert_eq!(next.iter().map(|c| c.kind.as_str()).collect::<Vec<_>>(), ["Updated"]);
    }

    async fn a_reference_finds_its_relations_in_canonical_form(backend: Backend) {
        let app = spawn_app(&backend).await;
        let sso = app.create(&relation(1001, "SSO", "Sso-4711")).await.relation();
        let personal = app.create(&relation(1000, "PERSONAL", "1001")).await.relation();
        let share = app.create(&relation(1002, "SHARE", "1001").title("DAILY")).await.relation();
        let external = app.create(&relation(1000, "FACEBOOK", "1001")).await.relation();
        let login = app.create(&relation(1000, "LOGIN", "Kari@Example.COM")).await.relation();

        // An SSO id finds its customer, exactly as stored.
        let by_sso = found(&find(&app, "Sso-4711", Some("SSO")).await);
        assert_eq!(ids(&by_sso), [sso.id]);
        assert_eq!(by_sso[0]["CustomerNumber"], "1001");
        assert_eq!(by_sso[0]["Version"], "1");
        assert!(found(&find(&app, "sso-4711", Some("SSO")).await).is_empty(), "external ids compare exactly");

        // Without a type, each type by its own rule: " 01001 " is customer
        // 1001 to the Customer and Subscription types, and nothing to the
        // External one, whose reference "1001" is another text.
        assert_eq!(ids(&found(&find(&app, " 01001 ", None).await)), [personal.id, share.id]);
        assert_eq!(ids(&found(&find(&app, "1001", None).await)), [personal.id, share.id, external.id]);
        assert_eq!(ids(&found(&find(&app, " 01001 ", Some("PERSONAL")).await)), [personal.id]);
        assert!(found(&find(&app, "1001x", Some("PERSONAL")).await).is_empty());
        // E-mail addresses by their lower-cased form.
        assert_eq!(ids(&found(&find(&app, "KARI@example.com", None).await)), [login.id]);
        assert_eq!(ids(&found(&find(&app, "kari@example.com", Some("LOGIN")).await)), [login.id]);
        // A title narrows it.
        let titled = op(&app, "FindCustomerRelationsByReference", "<Reference>1001</Reference><TitleCode>WEEKLY</TitleCode>").await;
        assert!(found(&titled).is_empty());
        let titled = op(&app, "FindCustomerRelationsByReference", "<Reference>1001</Reference><TitleCode>DAILY</TitleCode>").await;
        assert_eq!(ids(&found(&titled)), [share.id]);

        // Faults: an unknown type, a blank reference.
        let unknown = find(&app, "1001", Some("NOPE")).await;
        unknown.assert_fault("RelationTypeNotFoundFault");
        assert_eq!(unknown.detail_field("RelationTypeCode").as_deref(), Some("NOPE"));
        let blank = find(&app, "   ", None).await;
        blank.assert_fault("EntityValidationFault");
        assert_eq!(blank.validation_fields(), ["Reference"]);
        let missing = op(&app, "FindCustomerRelationsByReference", "").await;
        missing.assert_client_fault();

        // A deleted relation is not found any more.
        app.delete(sso.id).await.assert_ok("DeleteCustomerRelationResponse");
        assert!(found(&find(&app, "Sso-4711", Some("SSO")).await).is_empty());

        // A reader may find; a scoped client finds only its types, and is
        // refused a type outside its scope.
        let as_reader = op_as(&app, DEMO_READER, "FindCustomerRelationsByReference", "<Reference>1001</Reference>").await;
        assert_eq!(ids(&found(&as_reader)), [personal.id, share.id, external.id]);
        let scoped = op_as(&app, DEMO_SSO, "FindCustomerRelationsByReference", "<Reference>1001</Reference>").await;
        assert_eq!(ids(&found(&scoped)), [external.id]);
        let outside = op_as(&app, DEMO_SSO, "FindCustomerRelationsByReference", "<Reference>1001</Reference><RelationTypeCode>PERSONAL</RelationTypeCode>").await;
        outside.assert_fault("AccessDeniedFault");
        assert_eq!(outside.detail_field("RelationTypeCode").as_deref(), Some("PERSONAL"));
    }

    async fn an_update_needs_the_version_it_read_and_changes_nothing_when_refused(backend: Backend) {
        let app = spawn_app(&backend).await;
        let created = app
            .create(&relation(1000, "SSO", "sso-1").additional_value("first").source("crm"))
            .await
            .relation();
        let other = app.create(&relation(1000, "SSO", "sso-2")).await.relation();

        let read = record_of(&get(&app, created.id).await, "GetCustomerRelation");
        assert_eq!(read["Version"], "1");
        assert_eq!(read["AdditionalValue"], "first");
        assert_eq!(read["CreatedBy"], "demo-admin");
        for absent in ["ModifiedAt", "ModifiedBy", "DeletedAt", "DeletedBy"] {
            assert!(!read.contains_key(absent), "{absent}: {read:?}");
        }

        // Replace semantics: the left-out AdditionalValue is cleared. SOAP
        // 1.2 and another client this time.
        let payload = format!(
            r#"<UpdateCustomerRelation xmlns="{TNS}">{}</UpdateCustomerRelation>"#,
            update_xml(created.id, "1", "sso-1-new", &[("TitleCode", "DAILY"), ("Source", "bus")])
        );
        let updated = app
            .send_with(&client_as(DEMO_BUS), Service::Relations, Soap::V12, envelope(Soap::V12, &payload))
            .await;
        assert_eq!(updated.version(), Soap::V12);
        let updated = record_of(&updated, "UpdateCustomerRelation");
        assert_eq!(updated["Version"], "2");
        assert_eq!(updated["Reference"], "sso-1-new");
        assert_eq!(updated["TitleCode"], "DAILY");
        assert_eq!(updated["Source"], "bus");
        assert!(!updated.contains_key("AdditionalValue"), "{updated:?}");
        assert_eq!(updated["ModifiedBy"], "demo-bus");
        assert!(updated["ModifiedAt"] >= updated["CreatedAt"]);
        // The customer, type and creation never change.
        for kept in ["Id", "CustomerNumber", "RelationTypeCode", "ReferenceType", "CreatedAt", "CreatedBy"] {
            assert_eq!(updated[kept], read[kept], "{kept}");
        }
        assert_eq!(record_of(&get(&app, created.id).await, "GetCustomerRelation"), updated);

        // A second writer that read version 1 too: refused, nothing changes.
        let stale = op(&app, "UpdateCustomerRelation", &update_xml(created.id, "1", "sso-1-stale", &[])).await;
        stale.assert_fault("ConcurrencyFault");
        assert_eq!(stale.detail_field("Id"), Some(created.id.to_string()));
        assert_eq!(stale.detail_field("CurrentVersion").as_deref(), Some("2"));
        assert!(stale.fault_reason().contains("version 2"), "{}", stale.body);
        let ahead = op(&app, "UpdateCustomerRelation", &update_xml(created.id, "3", "sso-1-ahead", &[])).await;
        ahead.assert_fault("ConcurrencyFault");

        // The create rules on the new values, each refusing without change.
        let blank = op(&app, "UpdateCustomerRelation", &update_xml(created.id, "2", " ", &[])).await;
        blank.assert_fault("EntityValidationFault");
        assert_eq!(blank.validation_fields(), ["Reference"]);
        let long = op(&app, "UpdateCustomerRelation", &update_xml(created.id, "2", "x", &[("Source", &"s".repeat(101))])).await;
        assert_eq!(long.validation_fields(), ["Source"]);
        let duplicate = op(&app, "UpdateCustomerRelation", &update_xml(created.id, "2", "sso-2", &[])).await;
        duplicate.assert_fault("CustomerRelationAlreadyExistsFault");
        assert_eq!(duplicate.detail_field("ExistingId"), Some(other.id.to_string()));
        let personal = app.create(&relation(1000, "PERSONAL", "1001")).await.relation();
        let invalid = op(&app, "UpdateCustomerRelation", &update_xml(personal.id, "1", "1003", &[])).await;
        invalid.assert_fault("InvalidReferenceFault");
        assert_eq!(invalid.detail_field("Reference").as_deref(), Some("1003"));
        assert_eq!(record_of(&get(&app, created.id).await, "GetCustomerRelation"), updated);
        assert_eq!(record_of(&get(&app, personal.id).await, "GetCustomerRelation")["Version"], "1");
        // A Customer-type reference is stored canonically, as by create.
        let canonical = op(&app, "UpdateCustomerRelation", &update_xml(personal.id, "1", " 01002 ", &[])).await;
        assert_eq!(record_of(&canonical, "UpdateCustomerRelation")["Reference"], "1002");

        // Unknown and deleted Ids; a version that is not a number.
        let unknown = op(&app, "UpdateCustomerRelation", &update_xml(999_999, "1", "x", &[])).await;
        unknown.assert_fault("CustomerRelationNotFoundFault");
        assert_eq!(unknown.detail_field("Id").as_deref(), Some("999999"));
        app.delete(other.id).await.assert_ok("DeleteCustomerRelationResponse");
        op(&app, "UpdateCustomerRelation", &update_xml(other.id, "1", "x", &[]))
            .await
            .assert_fault("CustomerRelationNotFoundFault");
        op(&app, "UpdateCustomerRelation", &update_xml(created.id, "two", "x", &[]))
            .await
            .assert_client_fault();
        get(&app, 999_999).await.assert_fault("CustomerRelationNotFoundFault");

        // A reader may read but not update; a scoped client neither reads
        // nor updates a relation outside its scope.
        let as_reader = op_as(&app, DEMO_READER, "GetCustomerRelation", &format!("<Id>{}</Id>", created.id)).await;
        assert_eq!(record_of(&as_reader, "GetCustomerRelation"), updated);
        op_as(&app, DEMO_READER, "UpdateCustomerRelation", &update_xml(created.id, "2", "x", &[]))
            .await
            .assert_fault("AccessDeniedFault");
        let scoped_get = op_as(&app, DEMO_SSO, "GetCustomerRelation", &format!("<Id>{}</Id>", personal.id)).await;
        scoped_get.assert_fault("AccessDeniedFault");
        let scoped_update = op_as(&app, DEMO_SSO, "UpdateCustomerRelation", &update_xml(personal.id, "2", "1001", &[])).await;
        scoped_update.assert_fault("AccessDeniedFault");
        assert_eq!(record_of(&get(&app, personal.id).await, "GetCustomerRelation")["Reference"], "1002");
        let own = op_as(&app, DEMO_SSO, "UpdateCustomerRelation", &update_xml(created.id, "2", "sso-1-by-sso", &[])).await;
        assert_eq!(record_of(&own, "UpdateCustomerRelation")["Version"], "3");
    }

    async fn a_deleted_relation_stays_in_the_history_and_may_be_created_again(backend: Backend) {
        let app = spawn_app(&backend).await;
        let first = app.create(&relation(1000, "SSO", "sso-h").source("crm")).await.relation();
        let updated = op(&app, "UpdateCustomerRelation", &update_xml(first.id, "1", "sso-h", &[("Source", "bus")])).await;
        record_of(&updated, "UpdateCustomerRelation");
        let deleting = app
            .send_with(&client_as(DEMO_BUS), Service::Relations, Soap::V11, envelope(Soap::V11, &crate::helpers::delete_xml(first.id)))
            .await;
        deleting.assert_ok("DeleteCustomerRelationResponse");
        app.delete(first.id).await.assert_fault("CustomerRelationNotFoundFault");

        // Live reads no longer show it; an identical one may be created
        // again, with a new Id.
        assert!(app.get_relations(1000).await.relations().is_empty());
        let again = app.create(&relation(1000, "SSO", "sso-h").source("crm")).await.relation();
        assert!(again.id > first.id);

        // Read by its Id, it shows who deleted it and when.
        let deleted = record_of(&get(&app, first.id).await, "GetCustomerRelation");
        assert_eq!(deleted["DeletedBy"], "demo-bus");
        assert!(deleted["DeletedAt"] >= deleted["ModifiedAt"]);
        assert_eq!(deleted["Version"], "2");

        // The history: both relations by Id, each with its changes in order.
        let histories = history(&history_of(&app, 1000).await);
        assert_eq!(histories.len(), 2);
        let (now, changes) = &histories[0];
        assert_eq!(now, &deleted);
        let kinds: Vec<_> = changes.iter().map(|c| c.kind.as_str()).collect();
        assert_eq!(kinds, ["Created", "Updated", "Deleted"]);
        let by: Vec<_> = changes.iter().map(|c| c.by.as_str()).collect();
        assert_eq!(by, ["demo-admin", "demo-admin", "demo-bus"]);
        assert!(changes.iter().all(|c| c.sequence.is_none()), "the history has no feed positions");
        assert_eq!(changes[0].relation["Source"], "crm");
        assert_eq!(changes[0].relation["Version"], "1");
        assert_eq!(changes[0].at, changes[0].relation["CreatedAt"]);
        assert_eq!(changes[1].relation["Source"], "bus");
        assert_eq!(changes[1].at, changes[1].relation["ModifiedAt"]);
        assert!(!changes[1].relation.contains_key("DeletedAt"));
        assert_eq!(changes[2].relation, deleted);
        assert_eq!(changes[2].at, deleted["DeletedAt"]);
        let (live, changes) = &histories[1];
        assert_eq!(live["Id"], again.id.to_string());
        assert_eq!(changes.len(), 1);

        // A scoped client sees the history of its types only; an unknown
        // customer is a fault; a customer without relations has none.
        app.create(&relation(1000, "PERSONAL", "1001")).await.relation();
        assert_eq!(history(&history_of(&app, 1000).await).len(), 3);
        let scoped = op_as(&app, DEMO_SSO, "GetCustomerRelationHistory", "<CustomerNumber>1000</CustomerNumber>").await;
        assert_eq!(history(&scoped).len(), 2);
        let unknown = history_of(&app, 4242).await;
        unknown.assert_fault("CustomerNotFoundFault");
        assert!(history(&history_of(&app, 1002).await).is_empty());
    }

    async fn the_change_feed_replays_to_the_live_state(backend: Backend) {
        let app = spawn_app(&backend).await;
        let (nothing, last) = page(&op(&app, "GetCustomerRelationChanges", &changes_xml(0, None)).await);
        assert!(nothing.is_empty());
        assert_eq!(last, 0);
        let mut ids = Vec::new();
        for n in 0..7 {
            ids.push(app.create(&relation(1000 + n % 3, "SSO", &format!("feed-{n}"))).await.relation().id);
        }
        app.create(&relation(1000, "PERSONAL", "1001")).await.relation();
        for id in &ids[..3] {
            op(&app, "UpdateCustomerRelation", &update_xml(*id, "1", &format!("feed-{id}-new"), &[]))
                .await
                .assert_ok("UpdateCustomerRelationResponse");
        }
        for id in &ids[2..5] {
            app.delete(*id).await.assert_ok("DeleteCustomerRelationResponse");
        }
        // Refused writes leave no change behind.
        op(&app, "UpdateCustomerRelation", &update_xml(ids[0], "1", "x", &[]))
            .await
            .assert_fault("ConcurrencyFault");
        app.create(&relation(1000, "SSO", "feed-0")).await.relation();

        // Small pages and one big one give the same feed: 9 creates, 3
        // updates, 3 deletes, and it replays to what the service holds.
        let feed = whole_feed(&app, DEMO_READER, 2).await;
        assert_eq!(feed.len(), 15);
        let big = whole_feed(&app, DEMO_READER, 1000).await;
        assert_eq!(
            feed.iter().map(|c| c.sequence).collect::<Vec<_>>(),
            big.iter().map(|c| c.sequence).collect::<Vec<_>>()
        );
        assert_eq!(replay(&feed), live_state(&app).await);
        // A change's time and author are those the record says.
        for change in &feed {
            let stamp = match change.kind.as_str() {
                "Created" => "Created",
                "Updated" => "Modified",
                _ => "Deleted",
            };
            assert_eq!(change.at, change.relation[&format!("{stamp}At")]);
            assert_eq!(change.by, change.relation[&format!("{stamp}By")]);
        }

        // The default page is 100; a reader continues where it stopped.
        let (first, last) = page(&op(&app, "GetCustomerRelationChanges", &changes_xml(0, None)).await);
        assert_eq!(first.len(), 15);
        let (rest, after) = page(&op(&app, "GetCustomerRelationChanges", &changes_xml(feed[9].sequence.unwrap(), Some(100))).await);
        assert_eq!(rest.len(), 5);
        assert_eq!(after, last);

        // A scoped client's feed holds its types only.
        let scoped = whole_feed(&app, DEMO_SSO, 3).await;
        assert_eq!(scoped.len(), 14);
        assert!(scoped.iter().all(|c| c.relation["RelationTypeCode"] == "SSO"));

        // Bounds.
        for (inner, field) in [
            (changes_xml(0, Some(0)), "Limit"),
            (changes_xml(0, Some(1001)), "Limit"),
            (changes_xml(-1, Some(10)), "AfterSequence"),
        ] {
            let refused = op(&app, "GetCustomerRelationChanges", &inner).await;
            refused.assert_fault("EntityValidationFault");
            assert_eq!(refused.validation_fields(), [field], "{inner}");
        }
        op(&app, "GetCustomerRelationChanges", "<Limit>5</Limit>").await.assert_client_fault();
    }
}

/// The feed under writers on two instances of one PostgreSQL database: their
/// transactions commit in any order, yet a reader paging the feed while
/// they write sees every change once, and the feed replayed from the start
/// afterwards is the live state (README, "History and the change feed").
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
#[cfg_attr(not(postgres_tests), ignore = "set TEST_POSTGRES_URL to run it")]
async fn the_feed_misses_nothing_while_two_instances_commit_out_of_order() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    const WRITERS: usize = 16;
    const RELATIONS_PER_WRITER: usize = 12;

    let app = Arc::new(spawn_app(&Backend::postgres()).await);
    // Each write waits a random few milliseconds between writing its change
    // and committing, as on a loaded database: commits come out of order.
    app.database.raw_sql(
        "CREATE FUNCTION wait_before_commit() RETURNS trigger LANGUAGE plpgsql AS
             $$ BEGIN PERFORM pg_sleep(random() * 0.03); RETURN NEW; END $$;
         CREATE TRIGGER wait_before_commit AFTER INSERT ON customer_relation_changes
             FOR EACH ROW EXECUTE FUNCTION wait_before_commit();",
    );
    let second = app.another_instance().await;
    let endpoints = [app.endpoint(), format!("{second}/CustomerRelationService")];
    let call_at = |app: Arc<TestApp>, endpoint: String, operation: &'static str, inner: String| async move {
        let payload = format!(r#"<{operation} xmlns="{TNS}">{inner}</{operation}>"#);
        app.post_to(
            &endpoint,
            Soap::V11.content_type(),
            None,
            envelope(Soap::V11, &payload),
        )
        .await
    };

    // The reader pages the feed, through both instances in turn, while the
    // writers write; its pages are big enough for it to keep up, so that it
    // reads between commits that come out of order (with pages too small it
    // lags behind, and a feed numbered in the order changes were written
    // would pass too: checked).
    let writing = Arc::new(AtomicBool::new(true));
    let reader = {
        let (app, endpoints, writing) = (app.clone(), endpoints.clone(), writing.clone());
        tokio::spawn(async move {
            let mut seen: Vec<Change> = Vec::new();
            let mut after = 0;
            for turn in 0.. {
                let still_writing = writing.load(Ordering::SeqCst);
                let response = call_at(
                    app.clone(),
                    endpoints[turn % 2].clone(),
                    "GetCustomerRelationChanges",
                    changes_xml(after, Some(100)),
                )
                .await;
                let (changes, last) = page(&response);
                if changes.is_empty() && !still_writing {
                    return seen;
                }
                for change in changes {
                    let sequence = change.sequence.unwrap();
                    assert!(
                        sequence > after,
                        "sequence {sequence} after {after}: seen twice or out of order"
                    );
                    after = sequence;
                    seen.push(change);
                }
                assert_eq!(last, after);
            }
            unreachable!()
        })
    };

    // Each writer creates relations through one instance, updates them
    // through the other, and deletes every third.
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (app, endpoints) = (app.clone(), endpoints.clone());
        writers.push(tokio::spawn(async move {
            for n in 0..RELATIONS_PER_WRITER {
                let (mine, other) = (&endpoints[(w + n) % 2], &endpoints[(w + n + 1) % 2]);
                let customer = 1000 + (w + n) % 3;
                let create = call_at(app.clone(), mine.clone(), "CreateCustomerRelation", format!(
                    "<CustomerRelation><CustomerNumber>{customer}</CustomerNumber><RelationTypeCode>SSO</RelationTypeCode><Reference>w{w}-{n}</Reference></CustomerRelation>"
                )).await;
                let id = crate::helpers::id_in(&create.body).unwrap_or_else(|| panic!("{}", create.body));
                call_at(app.clone(), other.clone(), "UpdateCustomerRelation", update_xml(id, "1", &format!("w{w}-{n}-updated"), &[]))
                    .await
                    .assert_ok("UpdateCustomerRelationResponse");
                if n % 3 == 0 {
                    call_at(app.clone(), mine.clone(), "DeleteCustomerRelation", format!("<Id>{id}</Id>"))
                        .await
                        .assert_ok("DeleteCustomerRelationResponse");
                }
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    writing.store(false, Ordering::SeqCst);
    let seen = reader.await.unwrap();

    let creates = WRITERS * RELATIONS_PER_WRITER;
    let expected = creates * 2 + creates.div_ceil(3);
    assert_eq!(seen.len(), expected, "the reader saw every change");
    let replayed = whole_feed(&app, DEMO_READER, 1000).await;
    assert_eq!(
        seen.iter().map(|c| c.sequence).collect::<Vec<_>>(),
        replayed.iter().map(|c| c.sequence).collect::<Vec<_>>(),
        "the feed read afterwards is the one read while writing"
    );
    assert_eq!(replay(&replayed), live_state(&app).await);

    // And commits did come out of order: some change written earlier (a
    // lower Id) committed after one written later.
    use diesel::{Connection, QueryableByName, RunQueryDsl};
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = diesel::pg::PgConnection::establish(&app.database.raw_url).unwrap();
    let overtaken = diesel::sql_query(
        "SELECT count(*) AS n FROM customer_relation_changes a
         JOIN customer_relation_changes b ON a.id < b.id AND a.sequence > b.sequence",
    )
    .get_result::<Count>(&mut conn)
    .unwrap();
    assert!(
        overtaken.n > 0,
        "no commit came out of order: the test proved nothing"
    );
}
