//! The request log of a real `flou serve` (stderr captured): one JSON line per request with
//! its id, route name, zoom, status, latency, caller kind and generation, and nothing that
//! locates a record or a caller's interest: no token, no Authorization header, no tile x/y,
//! no filter value, no coordinate of any record of the input file nor of an extract
//! perimeter, no record id.

mod common;

use common::*;
use flou::geo::webmercator::tiles_covering;
use flou::geo::BBox;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Around the real sample (Écrins, Hautes-Alpes and Isère).
const SAMPLE_BOX: BBox = BBox {
    min: [5.86, 44.47],
    max: [6.62, 45.15],
};

/// POST a JSON body; returns the status and the response head (lower-cased names).
fn post(
    addr: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, BTreeMap<String, String>) {
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
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers)
}

/// A dataset filter value, to look for in the log.
const SECRET_DATASET: &str = "jdd-7f3a9c1e-interest-of-an-agent";

/// A coordinate's text cut to `decimals` decimals, and rounded to them.
fn forms(text: &str, decimals: usize) -> Vec<String> {
    let mut out = Vec::new();
    if let Some((int, frac)) = text.split_once('.') {
        if frac.len() >= decimals {
            out.push(format!("{int}.{}", &frac[..decimals]));
        }
    }
    if let Ok(v) = text.parse::<f64>() {
        out.push(format!("{v:.decimals$}"));
    }
    out
}

/// What the log line of a request must say.
struct Expected {
    what: String,
    id: String,
    method: &'static str,
    route: &'static str,
    zoom: Option<u8>,
    status: u16,
    caller: &'static str,
    filters: &'static str,
}

#[test]
fn one_log_line_per_request_with_its_fields_and_no_location_token_or_filter_value() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    ingest(&sample(), &store);
    let cfg = config(dir.path(), "commune");
    let log = dir.path().join("serve.log");
    let server = Server::start_with_log(&store, Some(&cfg), &log);
    let addr = server.addr.clone();

    // The input file, read with the csv crate: every record's position and id.
    let mut reader = csv::Reader::from_path(sample()).unwrap();
    let head = reader.headers().unwrap().clone();
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    let (lon_i, lat_i, x_i, y_i, id_i, ds_i) = (
        col("lon_wgs84"),
        col("lat_wgs84"),
        col("x_l93"),
        col("y_l93"),
        col("unique_id_sinp"),
        col("id_dataset"),
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert!(rows.len() > 500, "the sample has its records");
    let cd_nom_i = col("cd_nom");
    let taxon = rows[0][cd_nom_i].to_string();
    let dataset = rows[0][ds_i].to_string();

    let token = hs256_token(SECRET, json!([{ "max_sensitivity": 4 }]), 3600);
    let bearer = format!("Bearer {token}");
    let mut expected: Vec<Expected> = Vec::new();
    let mut tile_xy: Vec<(u32, u32)> = Vec::new();
    let mut check = |what: String,
                     r: &Response,
                     method: &'static str,
                     route: &'static str,
                     zoom: Option<u8>,
                     status: u16,
                     caller: &'static str,
                     filters: &'static str| {
        assert_eq!(r.status, status, "{what}: {}", r.text());
        let id = r
            .header("x-request-id")
            .unwrap_or_else(|| panic!("{what}: no X-Request-Id"))
            .to_string();
        expected.push(Expected {
            what,
            id,
            method,
            route,
            zoom,
            status,
            caller,
            filters,
        });
    };

    // Tiles, public and agent, at an aggregate zoom and at point zooms, with filters.
    for z in [5u8, 10, 14] {
        let t = tiles_covering(&SAMPLE_BOX, z).last().unwrap();
        tile_xy.push((t.x(), t.y()));
        let path = format!("/tiles/{z}/{}/{}.mvt", t.x(), t.y());
        let r = server.get(&path, &[]);
        check(path.clone(), &r, "GET", "tile", Some(z), 200, "public", "");
        let filtered = format!("{path}?taxon={taxon}&dataset={dataset}&from=2010-01-01");
        let r = server.get(&filtered, &[("Authorization", &bearer)]);
        check(
            filtered,
            &r,
            "GET",
            "tile",
            Some(z),
            200,
            "agent",
            "taxon,dataset,from",
        );
    }
    let path = format!("/tiles/12/2120/1467.mvt?dataset={SECRET_DATASET}&aggregate=h3");
    let r = server.get(&path, &[("Authorization", &bearer)]);
    check(
        path,
        &r,
        "GET",
        "tile",
        Some(12),
        200,
        "agent",
        "dataset,aggregate",
    );
    tile_xy.push((2120, 1467));
    // A rejected token: a 401, logged as such, the token nowhere.
    let bad_token = format!("{token}x");
    let r = server.get(
        "/tiles/10/530/366.mvt",
        &[("Authorization", &format!("Bearer {bad_token}"))],
    );
    check(
        "bad token".into(),
        &r,
        "GET",
        "tile",
        Some(10),
        401,
        "rejected",
        "",
    );
    tile_xy.push((530, 366));
    // Indicators for an agent, with filters.
    let r = server.get(
        &format!("/indicators/richness?unit=commune&taxon={taxon}&from=2015-01-01"),
        &[("Authorization", &bearer)],
    );
    check(
        "indicator".into(),
        &r,
        "GET",
        "indicator",
        None,
        200,
        "agent",
        "unit,taxon,from",
    );
    // Other routes; a caller's safe request id is kept, an unsafe one replaced.
    let r = server.get("/tiles.json", &[("X-Request-Id", "trace-Abc_123")]);
    assert_eq!(r.header("x-request-id"), Some("trace-Abc_123"));
    check(
        "tilejson".into(),
        &r,
        "GET",
        "tilejson",
        None,
        200,
        "public",
        "",
    );
    let unsafe_id = "45.1234,6.5432";
    let r = server.get("/health", &[("X-Request-Id", unsafe_id)]);
    assert_ne!(r.header("x-request-id"), Some(unsafe_id));
    check(
        "health".into(),
        &r,
        "GET",
        "health",
        None,
        200,
        "public",
        "",
    );
    let r = server.get("/no/such/thing?lon=6.48631", &[]);
    check(
        "404".into(),
        &r,
        "GET",
        "other",
        None,
        404,
        "public",
        "other",
    );

    // An extract by an agent over a perimeter around the first record.
    let lon: f64 = rows[0][lon_i].parse().unwrap();
    let lat: f64 = rows[0][lat_i].parse().unwrap();
    let ring = [
        [lon - 0.01234, lat - 0.01234],
        [lon + 0.01234, lat - 0.01234],
        [lon + 0.01234, lat + 0.01234],
        [lon - 0.01234, lat + 0.01234],
        [lon - 0.01234, lat - 0.01234],
    ];
    let body = json!({ "perimeter": { "type": "Polygon", "coordinates": [ring] } }).to_string();
    let mut extract_ids = Vec::new();
    for (path, filters) in [
        ("/extracts", ""),
        ("/extracts?file=F1&format=csv", "file,format"),
    ] {
        let (status, headers) = post(&addr, path, &[("Authorization", &bearer)], body.as_bytes());
        assert_eq!(status, 200, "{path}");
        let id = headers.get("x-request-id").expect("X-Request-Id").clone();
        extract_ids.push(id.clone());
        expected.push(Expected {
            what: path.into(),
            id,
            method: "POST",
            route: "extracts",
            zoom: None,
            status: 200,
            caller: "agent",
            filters,
        });
    }

    // The log: every line JSON; one request line per request, with its fields.
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let requests: Vec<&Value> = lines
        .iter()
        .filter(|l| l["target"] == "flou::request")
        .collect();
    assert_eq!(
        requests.len(),
        expected.len(),
        "one line per request:\n{text}"
    );
    for e in &expected {
        let matching: Vec<&&Value> = requests.iter().filter(|l| l["id"] == e.id).collect();
        assert_eq!(matching.len(), 1, "{}: one line with id {}", e.what, e.id);
        let l = matching[0];
        assert_eq!(l["method"], e.method, "{}: {l}", e.what);
        assert_eq!(l["route"], e.route, "{}: {l}", e.what);
        assert_eq!(l["status"], e.status, "{}: {l}", e.what);
        assert_eq!(l["caller"], e.caller, "{}: {l}", e.what);
        assert_eq!(l["filters"], e.filters, "{}: {l}", e.what);
        assert_eq!(l["generation"], 1, "{}: {l}", e.what);
        assert_eq!(l["level"], "INFO", "{}: {l}", e.what);
        assert!(l["latency_us"].as_u64().is_some(), "{}: {l}", e.what);
        assert!(l["timestamp"].as_str().is_some(), "{}: {l}", e.what);
        match e.zoom {
            Some(z) => assert_eq!(l["zoom"], z, "{}: {l}", e.what),
            None => assert!(l.get("zoom").is_none(), "{}: {l}", e.what),
        }
        let keys: Vec<&str> = l.as_object().unwrap().keys().map(String::as_str).collect();
        for k in &keys {
            assert!(
                [
                    "timestamp",
                    "level",
                    "message",
                    "target",
                    "id",
                    "method",
                    "route",
                    "zoom",
                    "status",
                    "latency_us",
                    "caller",
                    "generation",
                    "filters"
                ]
                .contains(k),
                "{}: unexpected field {k} in {l}",
                e.what
            );
        }
    }
    assert!(
        extract_ids.iter().all(|id| text.contains(id.as_str())),
        "extract lines are there"
    );

    // Nothing that locates a record, a perimeter or a caller's interest; no secret.
    for secret in [
        token.as_str(),
        bad_token.as_str(),
        &token[token.len() - 20..],
        "Bearer",
        "bearer",
        "uthorization",
        unsafe_id,
    ] {
        assert!(!text.contains(secret), "the log holds {secret:?}");
    }
    for row in &rows {
        for (i, decimals) in [(lon_i, 4), (lat_i, 4), (x_i, 1), (y_i, 1)] {
            for form in forms(&row[i], decimals) {
                assert!(
                    !text.contains(&form),
                    "the log holds a record's coordinate {form} ({})",
                    &row[i]
                );
            }
        }
        assert!(!text.contains(&row[id_i]), "the log holds a record id");
    }
    for p in ring {
        for c in p {
            for form in forms(&c.to_string(), 4) {
                assert!(
                    !text.contains(&form),
                    "the log holds a perimeter vertex {form}"
                );
            }
        }
    }
    assert!(!text.contains("6.48631"), "a query value of a 404");
    assert!(
        !text.contains("/tiles/") && !text.contains("no/such"),
        "no raw path"
    );
    assert!(!text.contains(SECRET_DATASET), "a dataset filter value");
    // Values that are short numbers (tile x/y, the taxon) are looked for as whole values of
    // the request lines: as substrings they would meet latencies and timestamps.
    for l in &requests {
        for v in l.as_object().unwrap().values() {
            let v = v.to_string();
            let v = v.trim_matches('"');
            assert_ne!(v, taxon, "a taxon value: {l}");
            for (x, y) in &tile_xy {
                assert!(
                    v != x.to_string() && v != y.to_string(),
                    "a tile x/y ({x}, {y}): {l}"
                );
            }
        }
    }
}
