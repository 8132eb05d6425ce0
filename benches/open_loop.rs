//! An open-loop load generator (README, "Operations"): requests are
//! scheduled at a fixed rate, whatever the server does, and each latency is
//! measured from when its request was due, so that a slow server cannot
//! hide its queue (no coordinated omission). Answers that were served (200)
//! and answers that were refused as busy (503) are counted apart, so that
//! the latency of the served ones can be compared with an unloaded run.
//!
//!   cargo bench --bench open_loop -- URL RATE CONNECTIONS SECONDS [USER:SECRET]
//!
//! It sends GetCustomerRelationsByCustomer of customer 1001, as
//! `benches/get.lua` does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, Semaphore};

const BODY: &str = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetCustomerRelationsByCustomer xmlns="urn:customer-relations:v1"><CustomerNumber>1001</CustomerNumber></GetCustomerRelationsByCustomer></s:Body></s:Envelope>"#;

#[derive(Default)]
struct Tally {
    served: Vec<Duration>,
    busy: Vec<Duration>,
    other: usize,
    failed: usize,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let at = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[at]
}

fn summary(name: &str, mut latencies: Vec<Duration>, seconds: f64) {
    latencies.sort_unstable();
    println!(
        "{name:>7}: {:>8} ({:>8.0}/s)  p50 {:>9.2?}  p99 {:>9.2?}  max {:>9.2?}",
        latencies.len(),
        latencies.len() as f64 / seconds,
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or_default(),
    );
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.len() < 4 {
        eprintln!("usage: open_loop URL RATE CONNECTIONS SECONDS [USER:SECRET]");
        std::process::exit(2);
    }
    let url = args[0].clone();
    let rate: f64 = args[1].parse().expect("RATE: requests per second");
    let connections: usize = args[2].parse().expect("CONNECTIONS");
    let seconds: f64 = args[3].parse().expect("SECONDS");
    let login = args
        .get(4)
        .cloned()
        .unwrap_or_else(|| "demo-reader:demo-reader-secret".into());
    let (user, secret) = login.split_once(':').expect("USER:SECRET");
    let (user, secret) = (user.to_owned(), secret.to_owned());

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(connections)
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let slots = Arc::new(Semaphore::new(connections));
        let tally = Arc::new(Mutex::new(Tally::default()));
        let started = Instant::now();
        let interval = Duration::from_secs_f64(1.0 / rate);
        let total = (rate * seconds) as u64;
        let mut tasks = Vec::with_capacity(total as usize);
        for n in 0..total {
            let due = started + interval.mul_f64(n as f64);
            tokio::time::sleep_until(due.into()).await;
            let (client, slots, tally, url) =
                (client.clone(), slots.clone(), tally.clone(), url.clone());
            let (user, secret) = (user.clone(), secret.clone());
            tasks.push(tokio::spawn(async move {
                // A connection of the C the client may hold; waiting for one
                // counts in the latency.
                let _slot = slots.acquire().await.unwrap();
                let answer = client
                    .post(&url)
                    .basic_auth(user, Some(secret))
                    .header("Content-Type", "text/xml; charset=utf-8")
                    .body(BODY)
                    .send()
                    .await;
                let status = match answer {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let _ = response.bytes().await;
                        Some(status)
                    }
                    Err(_) => None,
                };
                let took = due.elapsed();
                let mut tally = tally.lock().await;
                match status {
                    Some(200) => tally.served.push(took),
                    Some(503) => tally.busy.push(took),
                    Some(_) => tally.other += 1,
                    None => tally.failed += 1,
                }
            }));
        }
        for task in tasks {
            let _ = task.await;
        }
        let elapsed = started.elapsed().as_secs_f64();
        let tally = std::mem::take(&mut *tally.lock().await);
        println!(
            "{rate} requests/s scheduled for {seconds} s over at most {connections} connections:"
        );
        summary("served", tally.served, elapsed);
        summary("busy", tally.busy, elapsed);
        println!("  other: {}  failed: {}", tally.other, tally.failed);
    });
}
