//! The service pages in a real browser (README, "Service pages"): headless
//! Chromium loads `/` and each service's page from the running server, and
//! the test reads what it rendered.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use customer_relations::operations::Service;

use crate::helpers::{Backend, spawn_app};

/// Runs headless Chromium with `args` and the URL; its stdout. Killed after
/// 60 s.
fn chromium(args: &[&str], url: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", dir.path().display()))
        .args(args)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium runs (Debian package chromium)");
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("chromium did not finish within 60 s on {url}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    out
}

/// The text a page shows: its DOM without tags, entities decoded, white
/// space folded.
fn text_of(dom: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in dom.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    // As a browser shows it: runs of white space as one.
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(chromium),
    ignore = "install Chromium (Debian package chromium) to run it"
)]
async fn the_service_pages_render_in_a_browser() {
    let app = spawn_app(&Backend::Sqlite).await;
    let address = app.address.clone();
    let index = tokio::task::spawn_blocking({
        let url = format!("{address}/");
        move || text_of(&chromium(&["--dump-dom"], &url))
    })
    .await
    .unwrap();
    for service in Service::ALL {
        assert!(index.contains(service.name()), "{index}");
        assert!(
            index.contains(&format!("{}?wsdl", service.path())),
            "{index}"
        );
    }

    for service in Service::ALL {
        let url = format!("{address}{}", service.path());
        let shown = tokio::task::spawn_blocking(move || text_of(&chromium(&["--dump-dom"], &url)))
            .await
            .unwrap();
        assert!(shown.contains(service.name()), "{shown}");
        assert!(
            shown.contains("Every operation needs credentials"),
            "{shown}"
        );
        for operation in service.operations() {
            assert!(shown.contains(operation.name()), "{operation:?}");
            // Its sample request, whole, as a client would copy it.
            assert!(
                shown.contains(&operation.example_request()),
                "{operation:?}"
            );
            assert!(
                shown.contains(&format!(
                    "{} {} and above",
                    operation.name(),
                    operation.role().as_str()
                )),
                "{operation:?}"
            );
        }
        // The fault table names each fault with what it means.
        assert!(
            shown.contains("AuthenticationFault") && shown.contains("every operation"),
            "{shown}"
        );
    }
    let relation_page = text_of(
        &tokio::task::spawn_blocking({
            let url = format!("{address}/CustomerRelationService");
            move || chromium(&["--dump-dom"], &url)
        })
        .await
        .unwrap(),
    );
    assert!(
        relation_page.contains("No customer relation has the given Id."),
        "{relation_page}"
    );

    // A screenshot, as the README shows one.
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("page.png");
    let shot = format!("--screenshot={}", png.display());
    let url = format!("{address}/CustomerRelationService");
    tokio::task::spawn_blocking(move || chromium(&[&shot, "--window-size=1200,900"], &url))
        .await
        .unwrap();
    let bytes = std::fs::read(&png).expect("a screenshot was written");
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000,
        "{}",
        bytes.len()
    );
}
