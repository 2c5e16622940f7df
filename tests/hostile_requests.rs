//! Hostile requests over real TCP: absurd tile coordinates, huge filter lists, long URLs,
//! many parameters, oversized and slow bodies, slow and silent clients. Each gets a 4xx
//! or its connection closed, never a 5xx and never a hang; silent connections are freed
//! by the header timeout; the server's memory stays bounded.

mod common;

use common::*;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// Short timeouts so the slow-client cases take seconds.
const HEADER_TIMEOUT: u64 = 2;
const REQUEST_TIMEOUT: u64 = 3;
const MAX_CONNECTIONS: usize = 8;

fn start(dir: &Path) -> Server {
    let store = dir.join("store");
    ingest(&sample(), &store);
    let cfg = dir.join("flou.toml");
    std::fs::write(
        &cfg,
        format!(
            "[limits]\nheader_timeout_seconds = {HEADER_TIMEOUT}\nrequest_timeout_seconds = {REQUEST_TIMEOUT}\nmax_connections = {MAX_CONNECTIONS}\nmax_body_bytes = 65536\n"
        ),
    )
    .unwrap();
    Server::start(&store, Some(&cfg))
}

/// What came back on a raw connection.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// A response: status and body.
    Answer(u16, String),
    /// Closed (or reset) by the server without a response.
    Closed,
}

impl Outcome {
    fn status(&self) -> Option<u16> {
        match self {
            Outcome::Answer(s, _) => Some(*s),
            Outcome::Closed => None,
        }
    }
}

/// Sends `bytes` (write errors ignored: the server may close before reading them all) and
/// reads until the server closes, at most `wait`.
fn raw(addr: &str, bytes: &[u8], wait: Duration) -> Outcome {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(wait)).unwrap();
    s.set_write_timeout(Some(wait)).unwrap();
    let _ = s.write_all(bytes);
    read_outcome(&mut s)
}

fn read_outcome(s: &mut TcpStream) -> Outcome {
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!(
                    "no answer and no close: the server hangs ({} bytes read)",
                    got.len()
                )
            }
            // Reset: the server closed with our unread bytes in its buffer.
            Err(_) => break,
        }
    }
    let text = String::from_utf8_lossy(&got);
    let Some(status) = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|c| c.parse().ok())
    else {
        return Outcome::Closed;
    };
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    Outcome::Answer(status, body.to_string())
}

fn get_request(target: &str) -> Vec<u8> {
    format!("GET {target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").into_bytes()
}

fn vm_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// A 4xx, or the connection closed without a response; anything else fails.
fn assert_refused(what: &str, o: &Outcome) {
    match o {
        Outcome::Answer(s, body) => {
            assert!((400..500).contains(s), "{what}: {s} {body}");
            if !body.is_empty() {
                assert!(
                    body.starts_with("{\"error\":"),
                    "{what}: refusal body {body}"
                );
            }
        }
        Outcome::Closed => {}
    }
}

#[test]
fn hostile_requests_get_4xx_or_close_and_memory_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let addr = server.addr.clone();
    let wait = Duration::from_secs(20);
    // Warm up (day index, first tiles) before the memory baseline.
    for p in ["/health", "/tiles/5/16/11.mvt", "/tiles/10/529/367.mvt"] {
        assert_eq!(server.get(p, &[]).status, 200, "{p}");
    }
    let rss_before = vm_rss_kb(server.pid());

    // Absurd coordinates: a clear 400 each.
    for target in [
        "/tiles/99/0/0.mvt",
        "/tiles/23/0/0.mvt",
        "/tiles/-1/0/0.mvt",
        "/tiles/3/-1/0.mvt",
        "/tiles/3/8/0.mvt",
        "/tiles/3/0/8.mvt",
        "/tiles/22/4194304/0.mvt",
        "/tiles/a/b/c.mvt",
        "/tiles/1/0/0",
        "/tiles/1/0/0.mvt.mvt",
        "/tiles/1/0/0.pbf",
        "/tiles/4294967296/0/0.mvt",
        "/tiles/256/0/0.mvt",
        "/tiles/1/4294967296/0.mvt",
        "/tiles/1/0/18446744073709551616.mvt",
        "/tiles/1/0/340282366920938463463374607431768211456.mvt",
        "/tiles/1%00/0/0.mvt",
        "/tiles/+1/0/0.mvt",
        "/tiles/1/0x0/0.mvt",
    ] {
        let o = raw(&addr, &get_request(target), wait);
        assert_eq!(o.status(), Some(400), "{target}: {o:?}");
    }

    // Huge filter lists: 10,000 taxa (a 49 kB URL), 150 taxa, 1,000 parameters.
    let taxa: Vec<String> = (1..=10_000).map(|i| i.to_string()).collect();
    let o = raw(
        &addr,
        &get_request(&format!("/tiles/10/529/367.mvt?taxon={}", taxa.join(","))),
        wait,
    );
    assert_refused("10,000 taxa", &o);
    assert!(o.status().is_some(), "10,000 taxa: {o:?}");
    for target in [
        format!("/tiles/10/529/367.mvt?taxon={}", taxa[..150].join(",")),
        format!("/indicators/richness?taxon={}", taxa[..150].join(",")),
        format!("/tiles/10/529/367.mvt?{}", vec!["_=1"; 1000].join("&")),
        format!(
            "/tiles/10/529/367.mvt?{}",
            (1..=150)
                .map(|i| format!("taxon={i}"))
                .collect::<Vec<_>>()
                .join("&")
        ),
        format!("/tiles/10/529/367.mvt?dataset={}", "d,".repeat(1000)),
    ] {
        let o = raw(&addr, &get_request(&target), wait);
        assert_eq!(o.status(), Some(400), "{:.60}…: {o:?}", target);
    }

    // Long URLs: 1 MB and 100 kB (hyper: 431 / 414 or close), 10 kB (ours: 414).
    for len in [1 << 20, 100_000, 10_000] {
        let target = format!("/tiles/1/0/0.mvt?v={}", "a".repeat(len));
        let o = raw(&addr, &get_request(&target), wait);
        assert_refused(&format!("URL of {len} bytes"), &o);
    }
    let o = raw(
        &addr,
        &get_request(&format!("/health?v={}", "a".repeat(10_000))),
        wait,
    );
    assert_eq!(o.status(), Some(414), "{o:?}");

    // Bodies: declared beyond the limit (413 before reading), on the POST route and on
    // GET routes; chunked beyond the limit; a body on a GET-only route.
    let big = vec![b'x'; 200_000];
    for target in ["/extracts", "/tiles/1/0/0.mvt", "/health", "/nowhere"] {
        let mut req = format!(
            "POST {target} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            big.len()
        )
        .into_bytes();
        req.extend_from_slice(&big);
        let o = raw(&addr, &req, wait);
        assert_refused(&format!("POST {target} 200 kB"), &o);
        if let Some(s) = o.status() {
            assert_eq!(s, 413, "{target}");
        }
    }
    let mut chunked = b"POST /extracts HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
    for _ in 0..20 {
        chunked.extend_from_slice(format!("{:x}\r\n", 10_000).as_bytes());
        chunked.extend_from_slice(&[b' '; 10_000]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let o = raw(&addr, &chunked, wait);
    assert_refused("chunked 200 kB", &o);
    let o = raw(
        &addr,
        b"POST /tiles/1/0/0.mvt HTTP/1.1\r\nHost: test\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
        wait,
    );
    assert_eq!(o.status(), Some(405), "{o:?}");
    let o = raw(
        &addr,
        b"GET /health HTTP/1.1\r\nHost: test\r\nContent-Length: nope\r\nConnection: close\r\n\r\n",
        wait,
    );
    assert_refused("bad Content-Length", &o);
    assert!(o.status().is_some());

    // A body sent too slowly: 408 once the request timeout passes, and the connection closed.
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(wait)).unwrap();
    s.write_all(b"POST /extracts HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"taxa\"")
        .unwrap();
    let t = Instant::now();
    let o = read_outcome(&mut s);
    assert_eq!(o.status(), Some(408), "{o:?}");
    assert!(o.status().is_some_and(|s| s == 408));
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(REQUEST_TIMEOUT * 1000 - 500)
            && took < Duration::from_secs(REQUEST_TIMEOUT + 5),
        "slow body answered after {took:?}"
    );

    // The server still answers, and hostile traffic did not grow its memory by more than
    // a bounded amount (no per-request leak of URLs, bodies or connections).
    assert_eq!(server.get("/health", &[]).status, 200);
    let rss_after = vm_rss_kb(server.pid());
    eprintln!("server VmRSS: {rss_before} kB before, {rss_after} kB after hostile requests");
    assert!(
        rss_after < rss_before + 64 * 1024,
        "VmRSS grew from {rss_before} kB to {rss_after} kB"
    );
}

#[test]
fn slow_and_silent_clients_are_cut_off_and_their_connections_freed() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let addr = server.addr.clone();
    let timeout = Duration::from_secs(HEADER_TIMEOUT);

    // Headers one byte every 150 ms, never finished in time: the server closes the
    // connection at the header timeout although bytes keep coming.
    let mut slow = TcpStream::connect(&addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut writer = slow.try_clone().unwrap();
    let started = Instant::now();
    let drip = std::thread::spawn(move || {
        let req = b"GET /health HTTP/1.1\r\nHost: test\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
        for b in req {
            if writer.write_all(&[*b]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(150));
        }
    });
    let o = read_outcome(&mut slow);
    let took = started.elapsed();
    assert!(o.status().is_none_or(|s| s == 408), "slow headers: {o:?}");
    assert!(
        took >= timeout - Duration::from_millis(300) && took < timeout + Duration::from_secs(3),
        "slow headers cut off after {took:?}"
    );
    let _ = drip.join();

    // As many silent connections as the server takes: a further client waits until the
    // header timeout frees them, then is served; the silent ones are closed.
    let mut silent: Vec<TcpStream> = (0..MAX_CONNECTIONS)
        .map(|_| {
            let s = TcpStream::connect(&addr).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let o = raw(&addr, &get_request("/health"), Duration::from_secs(30));
    let waited = started.elapsed();
    assert_eq!(o.status(), Some(200), "{o:?}");
    assert!(
        waited >= timeout - Duration::from_millis(500),
        "served after {waited:?}: the connection limit did not hold"
    );
    assert!(
        waited < timeout + Duration::from_secs(4),
        "served after {waited:?}: silent connections were not freed"
    );
    for s in &mut silent {
        assert_eq!(read_outcome(s), Outcome::Closed);
    }

    // And afterwards the server is as responsive as before.
    let t = Instant::now();
    assert_eq!(server.get("/health", &[]).status, 200);
    assert!(t.elapsed() < Duration::from_secs(2));
}
