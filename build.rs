//! Tells the test suite what this machine can run, so that a test it cannot
//! run is reported as ignored, never as passed: the PostgreSQL variants need
//! `TEST_POSTGRES_URL`, the schema check needs `xmllint`, the failover test
//! PostgreSQL's server binaries, the service page test Chromium (Debian's
//! `chromium`). With `CI=true`
//! both count as present, so that on CI a missing one fails the tests rather
//! than leaving them out.

use std::process::Command;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(postgres_tests)");
    println!("cargo::rustc-check-cfg=cfg(xmllint)");
    println!("cargo::rustc-check-cfg=cfg(postgres_binaries)");
    println!("cargo::rustc-check-cfg=cfg(chromium)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=TEST_POSTGRES_URL");
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rerun-if-env-changed=PATH");
    let ci = std::env::var("CI").as_deref() == Ok("true");
    let postgres = std::env::var("TEST_POSTGRES_URL").is_ok_and(|url| !url.is_empty());
    if ci || postgres {
        println!("cargo::rustc-cfg=postgres_tests");
    }
    if ci || runs("xmllint") {
        println!("cargo::rustc-cfg=xmllint");
    }
    // The service page test loads the pages in a real browser.
    if ci || runs("chromium") {
        println!("cargo::rustc-cfg=chromium");
    }
    // The failover test builds a cluster of its own with the server's
    // binaries (initdb, pg_ctl, pg_basebackup).
    let server_binaries = std::fs::read_dir("/usr/lib/postgresql").is_ok_and(|versions| {
        versions
            .flatten()
            .any(|v| v.path().join("bin/pg_basebackup").exists())
    });
    if ci || server_binaries {
        println!("cargo::rustc-cfg=postgres_binaries");
    }
}

/// Whether `program --version` runs here.
fn runs(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success())
}
