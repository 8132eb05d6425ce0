//! Every wait on a client has a bound, tested over real sockets: a slow
//! head or body gets 408 and the connection is closed, an idle kept-alive
//! connection is closed, a body larger than the limit is refused from its
//! Content-Length before it is sent (README, "Operations").

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::helpers::{Backend, TestApp, spawn_with};

const SHORT: Duration = Duration::from_secs(1);

const HEAD: &str =
    "POST /CustomerRelationService HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n";

/// Sends `parts` with `pause` after each, then reads until the server
/// closes the connection (at most 10 s); (what it answered, how long from
/// the first byte sent to the first byte of the answer, how long until the
/// server closed).
async fn exchange(
    app: &TestApp,
    parts: Vec<String>,
    pause: Duration,
) -> (String, Duration, Duration) {
    let address = app.address.trim_start_matches("http://").to_owned();
    tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let started = Instant::now();
        for part in parts {
            // The server may have closed already; that is the point.
            if stream.write_all(part.as_bytes()).is_err() {
                break;
            }
            std::thread::sleep(pause);
        }
        let mut first = [0u8; 1];
        let _ = stream.read_exact(&mut first);
        let answered = started.elapsed();
        let mut answer = first.to_vec();
        let _ = stream.read_to_end(&mut answer);
        (
            String::from_utf8_lossy(&answer).into_owned(),
            answered,
            started.elapsed(),
        )
    })
    .await
    .unwrap()
}

async fn app_with_short_timeouts(backend: &Backend) -> TestApp {
    spawn_with(backend, |s| {
        s.header_timeout = SHORT;
        s.body_timeout = SHORT;
        s.keep_alive = SHORT;
        s.max_body_bytes = 1024;
    })
    .await
}

on_both_backends! {
    async fn a_slow_body_is_cut_off_with_408_and_the_connection_closed(backend: Backend) {
        let app = app_with_short_timeouts(&backend).await;
        let mut parts = vec![format!("{HEAD}Content-Length: 100\r\n\r\n")];
        parts.extend(std::iter::repeat_n("<".to_owned(), 30));
        let (answer, _, took) = exchange(&app, parts, Duration::from_millis(200)).await;
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("did not arrive within 1 s"), "{answer}");
        assert!(took < Duration::from_secs(4), "cut off after {took:?}");
    }

    async fn a_slow_head_gets_408_and_the_connection_closed(backend: Backend) {
        let app = app_with_short_timeouts(&backend).await;
        let parts: Vec<String> = HEAD.chars().map(String::from).collect();
        let (answer, _, took) = exchange(&app, parts, Duration::from_millis(100)).await;
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(took < Duration::from_secs(5), "cut off after {took:?}");
    }

    async fn an_idle_kept_alive_connection_is_closed(backend: Backend) {
        let app = app_with_short_timeouts(&backend).await;
        let request = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n".to_owned();
        let (answer, _, took) = exchange(&app, vec![request], Duration::ZERO).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        // actix-http counts the keep-alive from a clock it refreshes every
        // 500 ms, so the close may come up to that much early (seen once:
        // 999.9 ms for 1 s).
        let earliest = SHORT - Duration::from_millis(500);
        assert!(took >= earliest && took < Duration::from_secs(5), "closed after {took:?}");
    }

    async fn a_body_declared_too_large_is_refused_before_it_is_sent(backend: Backend) {
        let app = app_with_short_timeouts(&backend).await;
        // The head only: the answer must not wait for the body.
        let head = format!("{HEAD}Content-Length: 10485760\r\n\r\n");
        let (answer, answered, closed) = exchange(&app, vec![head], Duration::ZERO).await;
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        assert!(answer.contains("larger than 1024 bytes"), "{answer}");
        assert!(answered < Duration::from_millis(500), "answered after {answered:?}");
        assert!(closed < Duration::from_secs(5), "closed after {closed:?}");
    }
}
