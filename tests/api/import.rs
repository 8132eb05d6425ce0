//! Loading the register from fixture folders, and the migrations.

use customer_relations::import::{
    FixtureFile, demo_fixtures, import, import_with_progress, read_fixture_dir,
};

use crate::helpers::{Soap, get_relation_types_xml, spawn_empty_app};

fn file(path: &str, contents: &str) -> FixtureFile {
    FixtureFile {
        path: path.to_owned(),
        contents: contents.to_owned(),
    }
}

#[test]
fn a_file_that_is_not_utf8_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("customers.csv"),
        b"customer_number,name\n1,Ann\n2,Bj\xF8rn\n",
    )
    .unwrap();
    let error = read_fixture_dir(dir.path()).unwrap_err().to_string();
    assert!(
        error.ends_with("customers.csv:3: not UTF-8 (convert it, e.g. iconv -f latin1 -t utf-8)"),
        "{error}"
    );
}

#[test]
fn a_fixture_folder_with_an_unknown_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("customer.csv"),
        "customer_number,name\n1,Ann\n",
    )
    .unwrap();
    let error = read_fixture_dir(dir.path()).unwrap_err();
    assert!(error.to_string().contains("customer.csv"), "{error}");
    assert!(
        error.to_string().contains("unknown fixture file"),
        "{error}"
    );
}

#[test]
fn the_demo_folder_on_disk_is_the_demo_data_set_built_in() {
    let on_disk = read_fixture_dir(std::path::Path::new("fixtures/demo")).unwrap();
    let mut on_disk: Vec<_> = on_disk.into_iter().map(|f| f.contents).collect();
    let mut built_in: Vec<_> = demo_fixtures().into_iter().map(|f| f.contents).collect();
    on_disk.sort();
    built_in.sort();
    assert_eq!(on_disk, built_in);
}

on_both_backends! {
    async fn importing_the_same_files_twice_changes_nothing(backend: Backend) {
        let fresh = backend.fresh_database();
        let database = fresh.open();
        let first = import(&database, &demo_fixtures()).unwrap();
        let second = import(&database, &demo_fixtures()).unwrap();
        assert_eq!(first, second);
        assert_eq!(
            first.to_string(),
            "titles: 3, customers: 4, relation_types: 7, users: 3, subscriptions: 3"
        );
    }

    async fn a_bad_row_names_its_file_and_line_and_changes_nothing(backend: Backend) {
        let cases = [
            (file("x/customers.csv", "customer_number,name,validity\n1,Ann,Valid\n2,Bob,Sometimes\n"), "x/customers.csv", 3),
            (file("x/customers.csv", "customer_number,name\n1,Ann\nabc,Bob\n"), "x/customers.csv", 3),
            (file("x/customers.csv", "customer_number,name,country\n1,Ann,NO\n2,Bob,Norway\n"), "x/customers.csv", 3),
            (file("x/customers.csv", "customer_number,name,url\n1,Ann,\n2,Bob,ftp://bob.example\n"), "x/customers.csv", 3),
            (file("x/customers.csv", "customer_number,name\n1,Ann\n2,Bob\n1,Ann again\n"), "x/customers.csv", 4),
            (file("x/subscriptions.csv", "customer_number,title_code,start_date,end_date\n1,DAILY,2024-01-01,\n"), "x/subscriptions.csv", 2),
            (file("x/users.csv", "email,name,customer_number,validity\nann@example.com,Ann,,\nnot-mail,Bob,,\n"), "x/users.csv", 3),
            (file("x/relation_types.csv", "code,name,reference_type,title_mode\nok,Lower case,External,Optional\n"), "x/relation_types.csv", 2),
            (file("x/titles.csv", "code,name,colour\nDAILY,Daily,red\n"), "x/titles.csv", 2),
            (file("x/customers.csv", "customer_number,name\n1,Ann\n2,\"Bob\n3,Cid\n"), "x/customers.csv", 3),
            (file("x/titles.csv", "code,name\nDAILY,\"Daily\nWEEKLY,Weekly\n"), "x/titles.csv", 2),
            (file("x/users.csv", "email,name\nann@example.com,\"Ann\nbob@example.com,Bob\n"), "x/users.csv", 2),
        ];
        for (bad, path, line) in cases {
            let fresh = backend.fresh_database();
            let database = fresh.open();
            // A good file loaded in the same import must be rolled back too.
            let good = file("x/titles.csv", "code,name\nWEEKLY,Weekly\n");
            let files = if bad.path.ends_with("titles.csv") { vec![bad] } else { vec![good, bad] };
            let error = import(&database, &files).unwrap_err().to_string();
            assert!(error.starts_with(&format!("{path}:{line}:")), "{error}");
            assert!(database.is_empty().unwrap(), "{path}: nothing was loaded");
        }
    }

    async fn a_quote_left_open_is_reported_where_it_opens(backend: Backend) {
        let fresh = backend.fresh_database();
        let database = fresh.open();
        let bad = file("x/customers.csv", "customer_number,name\n1,Ann\n2,\"Bob\n3,Cid\n");
        let error = import(&database, &[bad]).unwrap_err().to_string();
        assert!(error.starts_with("x/customers.csv:3: Name must be one line"), "{error}");
        assert!(error.contains("from line 3 to line 4"), "{error}");
        assert!(database.is_empty().unwrap());
    }

    async fn customers_import_in_batches_with_every_field_and_are_searchable(backend: Backend) {
        // More rows than one statement writes, so that batches are crossed.
        let mut csv = String::from("customer_number,name,street,zip,city,country,url,comment,validity\n");
        for n in 1..=2_500 {
            csv.push_str(&format!(
                "{n},KUNDE {n} ÆØÅ,Gate {n},{zip:04},TROMSØ,no,https://k{n}.example,,{validity}\n",
                zip = n % 10_000,
                validity = if n % 2 == 0 { "Valid" } else { "Invalid" }
            ));
        }
        let fresh = backend.fresh_database();
        let database = fresh.open();
        let mut progress = Vec::new();
        let summary = import_with_progress(
            &database,
            &[file("big/customers.csv", &csv)],
            &mut |file, rows| progress.push((file.to_owned(), rows)),
        )
        .unwrap();
        assert_eq!(summary.to_string(), "customers: 2500");
        assert!(progress.is_empty(), "progress is reported every 10,000 rows");

        customer_relations::auth::ensure_demo_clients(&database).unwrap();
        let settings = customer_relations::settings::Settings::new("127.0.0.1:0", fresh.url.clone());
        let app = customer_relations::startup::Application::build(&settings, database).unwrap();
        let endpoint = format!("http://{}/CustomerRegisterService", app.address());
        tokio::spawn(app.run_until_stopped());
        let body = format!(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><SearchCustomers xmlns="{}"><Name>kunde 2499 æøå</Name><City>tromsø</City></SearchCustomers></s:Body></s:Envelope>"#,
            crate::helpers::REGISTER
        );
        let found = crate::helpers::client_as(crate::helpers::DEMO_ADMIN)
            .post(&endpoint)
            .header("Content-Type", "text/xml; charset=utf-8")
            .body(body)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for expected in [
            "<TotalCount>1</TotalCount>",
            "<Name>KUNDE 2499 ÆØÅ</Name><Street>Gate 2499</Street><Zip>2499</Zip><City>TROMSØ</City><Country>NO</Country><Url>https://k2499.example</Url><Validity>Invalid</Validity>",
        ] {
            assert!(found.contains(expected), "{found}");
        }
    }

    async fn migrations_run_up_down_and_up_again(backend: Backend) {
        let fresh = backend.fresh_database();
        let database = fresh.open();
        import(&database, &demo_fixtures()).unwrap();
        database.revert_all_migrations().unwrap();
        database.migrate().unwrap();
        assert!(database.is_empty().unwrap());
        import(&database, &demo_fixtures()).unwrap();
        assert!(!database.is_empty().unwrap());
        // Running them again is a no-op.
        database.migrate().unwrap();
        assert!(!database.is_empty().unwrap());
    }

    async fn an_empty_database_has_no_relation_types(backend: Backend) {
        let app = spawn_empty_app(&backend).await;
        assert_eq!(
            app.call(Soap::V11, &get_relation_types_xml()).await.relation_types(),
            Vec::<[String; 4]>::new()
        );
    }
}
