//! The indicator API over real HTTP: the list, the three formats, `by=year,group`, and the
//! refusals (400 naming the parameter at fault, 401 on a bad token — never a silent
//! downgrade to public).

mod common;

use common::*;
use serde_json::{json, Value};

fn start() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    ingest(&sample(), &store);
    let cfg = config(dir.path(), "commune");
    let server = Server::start(&store, Some(&cfg));
    (dir, server)
}

#[test]
fn indicator_api_formats_and_refusals() {
    let (_dir, s) = start();

    // The list names every indicator.
    let r = s.get("/indicators", &[]);
    assert_eq!(r.status, 200);
    let list: Value = serde_json::from_slice(&r.body).unwrap();
    let names: Vec<&str> = list["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "observations",
            "richness",
            "pressure",
            "first-last",
            "knowledge-gaps",
            "invasive",
            "precise-share"
        ]
    );

    // JSON: rows and the records not placed, per reason.
    let r = s.get("/indicators/observations?unit=commune", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("cache-control"), Some("public, max-age=300"));
    let j: Value = serde_json::from_slice(&r.body).unwrap();
    let total: u64 = j["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["observations"].as_u64().unwrap())
        .sum();
    assert_eq!(total, j["placed"].as_u64().unwrap());
    // The sample's 8 level-2 records (10 km cells) cannot be placed in a commune.
    assert_eq!(j["not_placed"], json!({"coarser_than_unit": 8}));
    assert_eq!(total + 8, 1000);

    // CSV: a header, one line per row, an attachment name.
    let r = s.get("/indicators/richness?unit=departement&format=csv", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    assert_eq!(
        r.header("content-disposition"),
        Some("attachment; filename=\"richness-departement.csv\"")
    );
    let text = r.text();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("unit,code,name,richness,observations"));
    let body: Vec<&str> = lines.collect();
    assert_eq!(body.len(), 2, "{text}");
    assert!(body
        .iter()
        .any(|l| l.starts_with("departement,05,Hautes-Alpes,")));

    // GeoJSON: unit polygons with the values.
    let r = s.get(
        "/indicators/observations?unit=departement&format=geojson",
        &[],
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/geo+json"));
    let g: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(g["type"], "FeatureCollection");
    let f = g["features"].as_array().unwrap();
    assert_eq!(f.len(), 2);
    for feat in f {
        assert_eq!(feat["geometry"]["type"], "MultiPolygon");
        let ring = &feat["geometry"]["coordinates"][0][0];
        assert!(ring.as_array().unwrap().len() >= 4);
        assert_eq!(
            ring[0],
            ring[ring.as_array().unwrap().len() - 1],
            "closed ring"
        );
    }
    // Several rows per unit (per taxon): one feature per unit, its rows nested.
    let r = s.get(
        "/indicators/first-last?unit=departement&format=geojson",
        &[],
    );
    let g: Value = serde_json::from_slice(&r.body).unwrap();
    let f = g["features"].as_array().unwrap();
    assert_eq!(f.len(), 2);
    let nested: usize = f
        .iter()
        .map(|x| x["properties"]["rows"].as_array().unwrap().len())
        .sum();
    let j: Value =
        serde_json::from_slice(&s.get("/indicators/first-last?unit=departement", &[]).body)
            .unwrap();
    assert_eq!(nested, j["rows"].as_array().unwrap().len());
    assert!(nested > 200, "{nested} taxon rows");
    let r = s.get("/indicators/precise-share?unit=h3:5&format=geojson", &[]);
    let g: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        g["features"].as_array().unwrap().len(),
        0,
        "public: nothing precise"
    );
    assert_eq!(g["not_placed"], json!({"coarser_than_unit": 1000}));

    // by=year,group: the yearly series per group sums to the plain count.
    let r = s.get("/indicators/observations?unit=all&by=year,group", &[]);
    let j: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        j["columns"],
        json!(["unit", "code", "name", "year", "group", "observations"])
    );
    let sum: u64 = j["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["observations"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, 1000);

    // Refusals name the parameter.
    for (path, needle) in [
        ("/indicators/bogus", "unknown indicator \\\"bogus\\\""),
        (
            "/indicators/richness?unit=canton",
            "unknown unit \\\"canton\\\"",
        ),
        (
            "/indicators/richness?unit=h3:16",
            "unknown unit \\\"h3:16\\\"",
        ),
        (
            "/indicators/richness?format=xml",
            "unknown format \\\"xml\\\"",
        ),
        (
            "/indicators/richness?colour=red",
            "unknown parameter \\\"colour\\\"",
        ),
        ("/indicators/richness?by=month", "by \\\"month\\\""),
        ("/indicators/invasive?by=year", "does not take by"),
        (
            "/indicators/richness?from=2020-13-01",
            "from: expected YYYY-MM-DD",
        ),
        (
            "/indicators/richness?from=2020-01-01&to=2019-01-01",
            "from is after to",
        ),
        ("/indicators/richness?taxon=abc", "taxon \\\"abc\\\""),
        ("/indicators/knowledge-gaps?years=0", "years: expected"),
    ] {
        let r = s.get(path, &[]);
        assert_eq!(r.status, 400, "{path}: {}", r.text());
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert!(r.text().contains(needle), "{path}: {}", r.text());
    }

    // A bad token is refused, whatever the request.
    for token in ["Bearer not-a-jwt", "Basic abc"] {
        let r = s.get(
            "/indicators/richness?unit=commune",
            &[("Authorization", token)],
        );
        assert_eq!(r.status, 401, "{token}");
        assert!(r.header("www-authenticate").is_some());
    }
    let expired = hs256_token(SECRET, json!([{ "max_sensitivity": 4 }]), -3600);
    let r = s.get(
        "/indicators/richness",
        &[("Authorization", &format!("Bearer {expired}"))],
    );
    assert_eq!(r.status, 401);

    // A valid agent token: private answers, more precise data.
    let token = hs256_token(SECRET, json!([{ "max_sensitivity": 4 }]), 3600);
    let auth = format!("Bearer {token}");
    let r = s.get(
        "/indicators/precise-share?unit=all",
        &[("Authorization", &auth)],
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("cache-control"), Some("private, no-store"));
    let j: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(j["rows"][0]["precise"], json!(1000));
    // The same request again, public: answers are cached per rights, never shared.
    for _ in 0..2 {
        let r = s.get("/indicators/precise-share?unit=all", &[]);
        let j: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(j["rows"][0]["precise"], json!(0));
        assert_eq!(j["rows"][0]["observations"], json!(1000));
        let r = s.get(
            "/indicators/precise-share?unit=all",
            &[("Authorization", &auth)],
        );
        let j: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(j["rows"][0]["precise"], json!(1000));
        assert_eq!(r.header("cache-control"), Some("private, no-store"));
    }

    // The dashboard page.
    let r = s.get("/dashboard", &[]);
    assert_eq!(r.status, 200);
    assert!(r.text().contains("dashboard.js"));
}
