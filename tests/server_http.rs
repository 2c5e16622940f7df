//! `flou serve` over real HTTP on loopback: valid tiles for independent decoders, HTTP
//! semantics, rights, the cache, and refusals that reveal nothing.

mod common;

use common::*;
use flou::geo::webmercator::tiles_covering;
use flou::geo::BBox;
use serde_json::json;
use std::collections::BTreeSet;

/// Around the real sample (Écrins, Hautes-Alpes and Isère).
const SAMPLE_BOX: BBox = BBox {
    min: [5.86, 44.47],
    max: [6.62, 45.15],
};

fn sample_server(min_precision: &str) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    ingest(&sample(), &store);
    let cfg = config(dir.path(), min_precision);
    let server = Server::start(&store, Some(&cfg));
    (dir, server)
}

fn ids_in(tile: &[u8]) -> BTreeSet<String> {
    decode(tile)
        .get("observations")
        .map(|fs| fs.iter().filter_map(|f| prop_str(f, "id")).collect())
        .unwrap_or_default()
}

#[test]
fn every_tile_is_valid_for_two_independent_decoders() {
    let (dir, server) = sample_server("precise");
    let agent = hs256_token(SECRET, json!([{ "max_sensitivity": 4 }]), 3600);
    let bearer = format!("Bearer {agent}");
    let mut files = Vec::new();
    let mut layers_seen = BTreeSet::new();
    for z in 3..=14u8 {
        for (k, t) in tiles_covering(&SAMPLE_BOX, z).take(12).enumerate() {
            let path = format!("/tiles/{}/{}/{}.mvt", t.z(), t.x(), t.y());
            for (who, headers) in [
                ("public", vec![]),
                ("agent", vec![("Authorization", bearer.as_str())]),
            ] {
                let r = server.get(&path, &headers);
                assert_eq!(r.status, 200, "{path} {who}: {}", r.text());
                assert_eq!(
                    r.header("content-type"),
                    Some("application/vnd.mapbox-vector-tile")
                );
                let decoded = decode(&r.body);
                for name in decoded.keys() {
                    assert!(
                        ["aggregates", "blurred", "observations", "boundaries"]
                            .contains(&name.as_str()),
                        "{name}"
                    );
                    layers_seen.insert(name.clone());
                }
                let f = dir.path().join(format!("{z}-{k}-{who}.mvt"));
                std::fs::write(&f, &r.body).unwrap();
                files.push(f);
            }
        }
    }
    for l in ["aggregates", "blurred", "observations", "boundaries"] {
        assert!(
            layers_seen.contains(l),
            "no tile had layer {l}: {layers_seen:?}"
        );
    }
    // The Python decoder (mapbox-vector-tile) plus a strict reading of the command stream.
    let out = std::process::Command::new("python3")
        .arg(root().join("tests/oracle/mvt_oracle.py"))
        .arg("64")
        .args(&files)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report.len(), files.len());
    for (r, f) in report.iter().zip(&files) {
        assert_eq!(r["problems"], json!([]), "{}", f.display());
    }
}

#[test]
fn bad_requests_get_a_clear_4xx_that_says_nothing_about_the_data() {
    let (_dir, server) = sample_server("commune");
    let cases = [
        ("/tiles/23/0/0.mvt", 400, "out of range"),
        ("/tiles/5/32/0.mvt", 400, "out of range"),
        ("/tiles/5/0/32.mvt", 400, "out of range"),
        ("/tiles/-1/0/0.mvt", 400, "out of range"),
        ("/tiles/a/b/c.mvt", 400, "out of range"),
        ("/tiles/5/16/11.png", 400, ".mvt"),
        ("/tiles/5/16/11.mvt?layer=secret", 400, "unknown filter"),
        ("/tiles/5/16/11.mvt?taxon=abc", 400, "cd_ref"),
        ("/tiles/5/16/11.mvt?taxon=0", 400, "cd_ref"),
        ("/tiles/5/16/11.mvt?from=2020-13-01", 400, "YYYY-MM-DD"),
        (
            "/tiles/5/16/11.mvt?from=2020-01-02&to=2020-01-01",
            400,
            "after",
        ),
        ("/styles/nope.json", 404, "no style"),
        ("/nothing/here", 404, "no such resource"),
    ];
    for (path, status, says) in cases {
        let r = server.get(path, &[]);
        assert_eq!(r.status, status, "{path}: {}", r.text());
        assert!(r.text().contains(says), "{path}: {}", r.text());
        assert_eq!(r.header("content-type"), Some("application/json"), "{path}");
    }
    let long = format!("/tiles/5/16/11.mvt?dataset={}", "x,".repeat(3000));
    assert_eq!(server.get(&long, &[]).status, 400);

    // Tokens: malformed, wrongly signed, expired, a scheme other than Bearer — all the same 401.
    let expired = hs256_token(SECRET, json!([{ "max_sensitivity": 4 }]), -3600);
    let forged = hs256_token(
        "another-secret-of-at-least-32-bytes-xxxxxx",
        json!([{ "max_sensitivity": 4 }]),
        3600,
    );
    let mut bodies = BTreeSet::new();
    for auth in [
        "Bearer x.y.z".to_string(),
        "Bearer ".to_string(),
        format!("Bearer {expired}"),
        format!("Bearer {forged}"),
        "Basic dXNlcjpwYXNz".to_string(),
    ] {
        let r = server.get("/tiles/5/16/11.mvt", &[("Authorization", &auth)]);
        assert_eq!(r.status, 401, "{auth}");
        assert_eq!(
            r.header("www-authenticate"),
            Some("Bearer error=\"invalid_token\"")
        );
        bodies.insert(r.text());
    }
    assert_eq!(bodies.len(), 1, "every refusal reads the same: {bodies:?}");
}

#[test]
fn etag_not_modified_gzip_and_cache_headers() {
    let (_dir, server) = sample_server("precise");
    let path = "/tiles/10/529/367.mvt";
    let plain = server.get(path, &[]);
    assert_eq!(plain.status, 200);
    assert_eq!(plain.header("cache-control"), Some("public, max-age=300"));
    assert_eq!(plain.header("vary"), Some("Authorization, Accept-Encoding"));
    let etag = plain.header("etag").expect("etag").to_string();
    let again = server.get(path, &[("If-None-Match", &etag)]);
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    let gz = server.get(path, &[("Accept-Encoding", "gzip, deflate")]);
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&gz.body[..]),
        &mut unzipped,
    )
    .unwrap();
    assert_eq!(unzipped, plain.body);

    let token = hs256_token(SECRET, json!([{ "max_sensitivity": 4 }]), 3600);
    let agent = server.get(path, &[("Authorization", &format!("Bearer {token}"))]);
    assert_eq!(agent.status, 200);
    assert_eq!(agent.header("cache-control"), Some("private, max-age=60"));
}

#[test]
fn agents_see_precisely_what_their_grants_cover_and_the_cache_never_mixes_rights() {
    let (_dir, server) = sample_server("precise");
    // A z10 tile over the sample with both sensitive and non-sensitive observations.
    let path = "/tiles/10/529/367.mvt";
    let public_first = server.get(path, &[]);
    let all = hs256_token(SECRET, json!([{ "max_sensitivity": 4 }]), 3600);
    let agent = server.get(path, &[("Authorization", &format!("Bearer {all}"))]);
    let public_again = server.get(path, &[]);
    assert_eq!(
        public_first.body, public_again.body,
        "the public tile is stable"
    );
    let (p, a) = (ids_in(&public_first.body), ids_in(&agent.body));
    assert!(
        p.is_subset(&a),
        "an agent sees at least what the public sees"
    );
    assert!(
        a.len() > p.len(),
        "the agent sees sensitive observations precisely: {} vs {}",
        a.len(),
        p.len()
    );

    // A grant for Isère adds exactly the Isère observations of this border tile; which
    // observations are in Isère comes from GeoNature's own commune column, not from flou.
    let in_isere: BTreeSet<String> = csv::Reader::from_path(sample())
        .unwrap()
        .records()
        .map(|r| r.unwrap())
        .filter(|r| r[12].starts_with("38"))
        .map(|r| r[1].to_string())
        .collect();
    let isere = hs256_token(
        SECRET,
        json!([{ "departements": ["38"], "max_sensitivity": 4 }]),
        3600,
    );
    let r = server.get(path, &[("Authorization", &format!("Bearer {isere}"))]);
    let expected: BTreeSet<String> = p
        .union(&a.intersection(&in_isere).cloned().collect())
        .cloned()
        .collect();
    assert!(
        expected.len() > p.len(),
        "the tile holds sensitive Isère observations"
    );
    assert_eq!(ids_in(&r.body), expected);
    // An agent whose grant stops at level 0 sees no more than the public either.
    let level0 = hs256_token(SECRET, json!([{ "max_sensitivity": 0 }]), 3600);
    let r = server.get(path, &[("Authorization", &format!("Bearer {level0}"))]);
    assert_eq!(ids_in(&r.body), p);
    // And the full agent's tile, asked again after those, is still the full one.
    let again = server.get(path, &[("Authorization", &format!("Bearer {all}"))]);
    assert_eq!(again.body, agent.body);
}

#[test]
fn tilejson_styles_and_viewer_are_served() {
    let (_dir, server) = sample_server("commune");
    let tj = server.get("/tiles.json?taxon=2852", &[]);
    assert_eq!(tj.status, 200);
    let v: serde_json::Value = serde_json::from_slice(&tj.body).unwrap();
    assert_eq!(v["tilejson"], "3.0.0");
    let url = v["tiles"][0].as_str().unwrap();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/tiles/{z}/{x}/{y}.mvt?taxon=2852"),
        "{url}"
    );
    let ids: Vec<&str> = v["vector_layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["aggregates", "blurred", "observations", "boundaries"]);
    let style = server.get("/styles/flou.json", &[]);
    assert_eq!(style.status, 200);
    let s: serde_json::Value = serde_json::from_slice(&style.body).unwrap();
    assert_eq!(s["version"], 8);
    let index = server.get("/", &[]);
    assert_eq!(index.status, 200);
    assert!(index
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(server.get("/assets/vendor/maplibre-gl.js", &[]).status, 200);
}
