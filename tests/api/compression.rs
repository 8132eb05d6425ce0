//! Compression (README, "Compression"): gzip and deflate request bodies,
//! bounded once decoded; gzipped responses for clients that accept them.

use std::io::{Read, Write};

use flate2::Compression;
use flate2::write::{GzEncoder, ZlibEncoder};

use crate::helpers::{
    Backend, DEMO_ADMIN, Soap, client_as, envelope, get_relation_types_xml, relation, spawn_app,
    spawn_with,
};

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn gunzip(bytes: &[u8]) -> String {
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut text)
        .unwrap();
    text
}

async fn post(
    app: &crate::helpers::TestApp,
    body: Vec<u8>,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = client_as(DEMO_ADMIN)
        .post(app.endpoint())
        .header("Content-Type", Soap::V11.content_type())
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

on_both_backends! {
    async fn gzip_and_deflate_requests_are_decoded(backend: Backend) {
        let app = spawn_app(&backend).await;
        let create = envelope(Soap::V11, &relation(1000, "SSO", "gzipped").to_xml());
        let response = post(&app, gzip(create.as_bytes()), &[("Content-Encoding", "gzip")]).await;
        assert_eq!(response.status(), 200);
        assert!(response.text().await.unwrap().contains("<Reference>gzipped</Reference>"));

        let mut zlib = ZlibEncoder::new(Vec::new(), Compression::default());
        zlib.write_all(envelope(Soap::V11, &get_relation_types_xml()).as_bytes()).unwrap();
        let response = post(&app, zlib.finish().unwrap(), &[("Content-Encoding", "deflate")]).await;
        assert_eq!(response.status(), 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_gzip_bomb_gets_413_and_unknown_encodings_415() {
    let app = spawn_with(&Backend::Sqlite, |settings| {
        settings.max_body_bytes = 64 * 1024
    })
    .await;
    // 10 MB of white space inside an envelope, 10 KB on the wire.
    let padded = envelope(
        Soap::V11,
        &format!("{}{}", " ".repeat(10_000_000), get_relation_types_xml()),
    );
    let bomb = gzip(padded.as_bytes());
    assert!(bomb.len() < 64 * 1024);
    let response = post(&app, bomb, &[("Content-Encoding", "gzip")]).await;
    assert_eq!(response.status(), 413);
    let body = response.text().await.unwrap();
    assert!(body.contains("decodes to more than 65536 bytes"), "{body}");

    let response = post(&app, b"x".to_vec(), &[("Content-Encoding", "br")]).await;
    assert_eq!(response.status(), 415);
    let response = post(&app, b"not gzip".to_vec(), &[("Content-Encoding", "gzip")]).await;
    assert_eq!(response.status(), 500);
    assert!(response.text().await.unwrap().contains("does not decode"));
    // The service still answers.
    let ok = post(
        &app,
        envelope(Soap::V11, &get_relation_types_xml()).into_bytes(),
        &[],
    )
    .await;
    assert_eq!(ok.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn large_responses_are_gzipped_for_clients_that_accept_it() {
    let app = spawn_app(&Backend::Sqlite).await;
    let types = || envelope(Soap::V11, &get_relation_types_xml()).into_bytes();
    let plain = post(&app, types(), &[]).await;
    assert!(plain.headers().get("content-encoding").is_none());
    let plain = plain.text().await.unwrap();
    assert!(plain.len() > 1024, "{}", plain.len());

    let gzipped = post(&app, types(), &[("Accept-Encoding", "gzip, deflate")]).await;
    assert_eq!(gzipped.status(), 200);
    assert_eq!(gzipped.headers()["content-encoding"], "gzip");
    assert!(
        gzipped.headers()["vary"]
            .to_str()
            .unwrap()
            .contains("accept-encoding")
    );
    let bytes = gzipped.bytes().await.unwrap();
    assert!(
        bytes.len() * 2 < plain.len(),
        "{} of {}",
        bytes.len(),
        plain.len()
    );
    assert_eq!(gunzip(&bytes), plain);

    // Not for a client that refuses gzip, nor for a small response.
    let refused = post(&app, types(), &[("Accept-Encoding", "gzip;q=0, identity")]).await;
    assert!(refused.headers().get("content-encoding").is_none());
    let delete = envelope(Soap::V11, &crate::helpers::delete_xml(999));
    let small = post(&app, delete.into_bytes(), &[("Accept-Encoding", "gzip")]).await;
    assert!(small.headers().get("content-encoding").is_none());

    // The WSDL too.
    let wsdl = reqwest::Client::new()
        .get(format!("{}?wsdl", app.endpoint()))
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(wsdl.headers()["content-encoding"], "gzip");
    assert!(gunzip(&wsdl.bytes().await.unwrap()).contains("wsdl:definitions"));
}
