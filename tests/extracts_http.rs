//! `POST /extracts` on a real `flou serve`: the same summary and files as `flou extract`,
//! agents' files under their grant only, and requests refused with the right status.

mod common;

use common::*;
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// POST with a body; returns status and body (`Connection: close`, Content-Length body).
fn post(addr: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    // The server may answer (413) before reading a large body.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let mut body = raw[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = Vec::new();
        let mut b = &body[..];
        loop {
            let nl = b.windows(2).position(|w| w == b"\r\n").unwrap();
            let n =
                usize::from_str_radix(std::str::from_utf8(&b[..nl]).unwrap().trim(), 16).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&b[nl + 2..nl + 2 + n]);
            b = &b[nl + 2 + n + 2..];
        }
        body = out;
    }
    (status, body)
}

/// Path, headers, body, expected status.
type Refused<'a> = (&'a str, Vec<(&'a str, String)>, Vec<u8>, u16);

#[test]
fn extracts_over_http_match_the_cli_and_refuse_bad_requests() {
    let dir = tempfile::tempdir().unwrap();
    let input = common::oracle::synthetic_input(dir.path());
    let store = dir.path().join("store");
    ingest(&input, &store);
    let cfg = config(dir.path(), "commune");
    let request = json!({ "departements": ["38", "73"], "taxa": [], "from": "1990-01-01" });
    // An empty taxa list is refused; without it, the request is good.
    let good = json!({ "departements": ["38", "73"], "from": "1990-01-01" });
    let req_path = dir.path().join("req.json");
    std::fs::write(&req_path, good.to_string()).unwrap();
    let out = dir.path().join("out");
    let cli_summary: serde_json::Value = serde_json::from_str(&flou_ok(&[
        "extract",
        "--store",
        store.to_str().unwrap(),
        "--request",
        req_path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
    ]))
    .unwrap();

    let server = Server::start(&store, Some(&cfg));
    let addr = server.addr.as_str();
    let body = good.to_string();
    let (st, summary) = post(addr, "/extracts", &[], body.as_bytes());
    assert_eq!(st, 200);
    let summary: serde_json::Value = serde_json::from_slice(&summary).unwrap();
    assert_eq!(
        summary, cli_summary,
        "the API and the CLI give the same summary"
    );
    assert!(summary["totals"]["observations"].as_u64().unwrap() > 100);
    for format in ["csv", "geojson", "fgb"] {
        let (st, file) = post(
            addr,
            &format!("/extracts?file=F1&format={format}"),
            &[],
            body.as_bytes(),
        );
        assert_eq!(st, 200, "{format}");
        assert!(
            file == std::fs::read(out.join(format!("F1.{format}"))).unwrap(),
            "F1.{format}: the API and the CLI differ"
        );
    }
    // The public has no F2 / F3.
    let (st, _) = post(addr, "/extracts?file=F2", &[], body.as_bytes());
    assert_eq!(st, 404);

    // An agent covered in 38 and 73 at every level gets F3 files, the public never.
    let token = hs256_token(
        SECRET,
        json!([{ "departements": ["38", "73"], "max_sensitivity": 4 }]),
        3600,
    );
    let bearer = format!("Bearer {token}");
    let (st, agent) = post(
        addr,
        "/extracts",
        &[("Authorization", &bearer)],
        body.as_bytes(),
    );
    assert_eq!(st, 200);
    let agent: serde_json::Value = serde_json::from_slice(&agent).unwrap();
    let f3: Vec<String> = agent["files"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| k.starts_with("F3-"))
        .cloned()
        .collect();
    assert!(!f3.is_empty(), "{agent}");
    // The agent also sees records hidden from the public (level 4, 2.8) under its grant.
    assert!(agent["totals"]["observations"].as_u64() > summary["totals"]["observations"].as_u64());
    let (st, file) = post(
        addr,
        &format!("/extracts?file={}&format=csv", f3[0]),
        &[("Authorization", &bearer)],
        body.as_bytes(),
    );
    assert_eq!(st, 200);
    let text = String::from_utf8(file).unwrap();
    assert!(text.lines().skip(1).all(|l| l.contains(",precise,")));
    assert_eq!(
        text.lines().count() as u64 - 1,
        agent["files"][&f3[0]].as_u64().unwrap()
    );
    let (st, _) = post(
        addr,
        &format!("/extracts?file={}", f3[0]),
        &[],
        body.as_bytes(),
    );
    assert_eq!(st, 404, "the public cannot fetch an agent's F3");

    // Refusals.
    let forged = hs256_token("another-secret-of-at-least-32-bytes-xx", json!([]), 3600);
    let cases: Vec<Refused> = vec![
        ("/extracts", vec![], request.to_string().into_bytes(), 400),
        (
            "/extracts",
            vec![],
            json!({ "departements": ["38"], "colour": "red" })
                .to_string()
                .into_bytes(),
            400,
        ),
        (
            "/extracts",
            vec![],
            json!({ "departements": ["38"], "released_groups": ["Oiseaux"] })
                .to_string()
                .into_bytes(),
            400,
        ),
        (
            "/extracts",
            vec![],
            json!({ "departements": ["38"], "communes": ["38185"] })
                .to_string()
                .into_bytes(),
            400,
        ),
        (
            "/extracts",
            vec![],
            json!({ "perimeter": { "type": "Point", "coordinates": [5.0, 45.0] } })
                .to_string()
                .into_bytes(),
            400,
        ),
        (
            "/extracts?file=F1&format=shp",
            vec![],
            body.clone().into_bytes(),
            400,
        ),
        (
            "/extracts?colour=red",
            vec![],
            body.clone().into_bytes(),
            400,
        ),
        (
            "/extracts",
            vec![("Authorization", format!("Bearer {forged}"))],
            body.clone().into_bytes(),
            401,
        ),
        (
            "/extracts",
            vec![("Authorization", "Bearer not-a-jwt".to_string())],
            body.clone().into_bytes(),
            401,
        ),
        ("/extracts", vec![], vec![b' '; 2 * 1024 * 1024], 413),
    ];
    for (path, headers, body, status) in &cases {
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (st, resp) = post(addr, path, &h, body);
        assert_eq!(
            st,
            *status,
            "{path} {:.80}: {}",
            String::from_utf8_lossy(body),
            String::from_utf8_lossy(&resp)
        );
    }
}

/// `[extracts] released_groups` in flou.toml sends that group's sensitive data to F2, the
/// other groups to their F3 files; the same request without it has no F2.
#[test]
fn released_groups_from_the_config_go_to_f2() {
    let dir = tempfile::tempdir().unwrap();
    let input = common::oracle::synthetic_input(dir.path());
    let store = dir.path().join("store");
    ingest(&input, &store);
    let body = json!({ "departements": ["38", "73"] }).to_string();
    let token = hs256_token(
        SECRET,
        json!([{ "departements": ["38", "73"], "max_sensitivity": 4 }]),
        3600,
    );
    let bearer = format!("Bearer {token}");
    let files_of = |cfg: &std::path::Path| -> serde_json::Map<String, serde_json::Value> {
        let server = Server::start(&store, Some(cfg));
        let (st, s) = post(
            &server.addr,
            "/extracts",
            &[("Authorization", &bearer)],
            body.as_bytes(),
        );
        assert_eq!(st, 200);
        let s: serde_json::Value = serde_json::from_slice(&s).unwrap();
        s["files"].as_object().unwrap().clone()
    };
    let plain = config(dir.path(), "commune");
    let before = files_of(&plain);
    assert!(!before.contains_key("F2"), "{before:?}");
    let group = before
        .keys()
        .find_map(|k| k.strip_prefix("F3-"))
        .expect("an F3 file")
        .to_string();
    let released = dir.path().join("released.toml");
    let text = std::fs::read_to_string(&plain).unwrap();
    std::fs::write(
        &released,
        format!("{text}\n[extracts]\nreleased_groups = [{group:?}]\n"),
    )
    .unwrap();
    let after = files_of(&released);
    assert_eq!(
        after.get("F2"),
        before.get(&format!("F3-{group}")),
        "{before:?} → {after:?}"
    );
    assert!(!after.contains_key(&format!("F3-{group}")));
}
