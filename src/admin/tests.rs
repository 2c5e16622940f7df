//! Oracles: GeoNature's own commune assignment (PostGIS) for 1,000 real observations,
//! hand-checked places, synthetic shapes whose answer is known by construction, and the
//! published counts of the national files.

use super::*;
use crate::geo::Polygon;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

const SHARED: &str = "/work/shared/data";

fn embedded_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/admin")
}

/// The default areas of data/admin (AURA + PACA), loaded once for all tests.
fn embedded() -> &'static AdminAreas {
    static AREAS: OnceLock<AdminAreas> = OnceLock::new();
    AREAS.get_or_init(|| {
        let dir = embedded_dir();
        match AdminAreas::load(
            &dir.join("communes.geojson"),
            &dir.join("departements.geojson"),
        ) {
            Ok(areas) => areas,
            Err(e) => panic!("embedded admin data: {e}"),
        }
    })
}

fn code_at(areas: &AdminAreas, lon: f64, lat: f64) -> Option<&str> {
    areas
        .locate(lon, lat)
        .map(|c| areas.communes[c as usize].code.as_str())
}

#[test]
fn embedded_data_holds_the_two_regions() {
    let areas = embedded();
    let deps: Vec<&str> = areas.departements.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(
        deps,
        [
            "01", "03", "04", "05", "06", "07", "13", "15", "26", "38", "42", "43", "63", "69",
            "73", "74", "83", "84"
        ]
    );
    // Counted with `grep -o '"code":"[0-9AB]*"'` on the extracted file: 5,039 communes.
    assert_eq!(areas.communes.len(), 5039);
    assert!(areas
        .communes
        .iter()
        .all(|c| departement_code_of(&c.code)
            == Some(&areas.departements[c.departement as usize].code)));
}

/// Old INSEE codes → the current code (COG 2026, `anciensCodes` of current communes).
/// The sample predates mergers (e.g. 05175 Vallouise joined 05101 Vallouise-Pelvoux in
/// 2017) and a few 2018 codes merged later, so both sides are brought to 2026 codes.
fn current_codes() -> BTreeMap<String, String> {
    let path = format!("{SHARED}/admin/cog-2026/communes.json");
    let text = std::fs::read_to_string(&path).expect("cog 2026");
    let cog: serde_json::Value = serde_json::from_str(&text).expect("cog json");
    let mut current = BTreeMap::new();
    for commune in cog.as_array().expect("array") {
        if commune["type"] != "commune-actuelle" {
            continue;
        }
        let code = commune["code"].as_str().expect("code").to_owned();
        for old in commune["anciensCodes"].as_array().into_iter().flatten() {
            let old = old.as_str().expect("old code").to_owned();
            current.entry(old).or_insert_with(|| code.clone());
        }
        current.insert(code.clone(), code);
    }
    current
}

/// Metres from (lon, lat) to the nearest boundary edge of `commune` (equirectangular).
fn metres_to_boundary(commune: &Commune, lon: f64, lat: f64) -> f64 {
    let k = lat.to_radians().cos();
    let mut best = f64::INFINITY;
    for p in &commune.geometry.polygons {
        for ring in std::iter::once(&p.exterior).chain(&p.interiors) {
            for w in ring.windows(2) {
                let (ax, ay, bx, by) = (w[0][0] * k, w[0][1], w[1][0] * k, w[1][1]);
                let (dx, dy) = (bx - ax, by - ay);
                let len2 = dx * dx + dy * dy;
                if len2 == 0.0 {
                    continue;
                }
                let t = (((lon * k - ax) * dx + (lat - ay) * dy) / len2).clamp(0.0, 1.0);
                best = best.min((lon * k - ax - t * dx).hypot(lat - ay - t * dy));
            }
        }
    }
    best * 111_320.0
}

#[test]
fn geonature_sample_agrees_with_postgis() {
    let areas = embedded();
    let current = current_codes();
    let now = |code: &str| {
        current
            .get(code)
            .cloned()
            .unwrap_or_else(|| code.to_owned())
    };
    let path = format!("{SHARED}/occurrences/geonature-synthese-sample.csv");
    let mut reader = csv::Reader::from_path(&path).expect("sample csv");
    let headers = reader.headers().expect("headers").clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    let (lon_col, lat_col, commune_col) =
        (col("lon_wgs84"), col("lat_wgs84"), col("id_municipality"));
    let (mut total, mut same_code, mut agree) = (0, 0, 0);
    let mut disagreements = Vec::new();
    for record in reader.records() {
        let record = record.expect("record");
        let lon: f64 = record[lon_col].parse().expect("lon");
        let lat: f64 = record[lat_col].parse().expect("lat");
        let expected = &record[commune_col];
        total += 1;
        let found = areas
            .locate(lon, lat)
            .expect("every sample point is in a commune");
        let found_code = &areas.communes[found as usize].code;
        same_code += usize::from(found_code == expected);
        if now(found_code) == now(expected) {
            agree += 1;
        } else {
            let metres = metres_to_boundary(&areas.communes[found as usize], lon, lat);
            disagreements.push((lon, lat, expected.to_owned(), found_code.clone(), metres));
        }
    }
    eprintln!(
        "GeoNature sample: {same_code}/{total} same code, {agree}/{total} same commune once \
         merged communes are mapped to COG 2026; disagreements (lon, lat, GeoNature, ours, \
         metres to our commune's border): {disagreements:?}"
    );
    assert_eq!(total, 1000);
    assert!(
        agree >= 990,
        "only {agree}/{total} agree: {disagreements:?}"
    );
    // What remains are border cases: GeoNature's commune layer differs from ADMIN EXPRESS
    // 2018 by a few metres.
    for d in &disagreements {
        assert!(d.4 < 25.0, "disagreement far from a border: {d:?}");
    }
}

#[test]
fn hand_picked_places() {
    let areas = embedded();
    // Town centres read on the IGN map; the sea point is 5 km off the Marseille coast.
    assert_eq!(code_at(areas, 6.0794, 44.5594), Some("05061")); // Gap
    assert_eq!(code_at(areas, 5.7245, 45.1885), Some("38185")); // Grenoble
    assert_eq!(code_at(areas, 5.3698, 43.2965), Some("13055")); // Marseille
    assert_eq!(code_at(areas, 4.8357, 45.7640), Some("69123")); // Lyon
    assert_eq!(code_at(areas, 7.2620, 43.7102), Some("06088")); // Nice
    assert_eq!(code_at(areas, 3.0870, 45.7772), Some("63113")); // Clermont-Ferrand
    assert_eq!(code_at(areas, 5.30, 43.22), None); // sea between Marseille and Frioul
    assert_eq!(code_at(areas, 2.3522, 48.8566), None); // Paris: outside the two regions
    assert_eq!(code_at(areas, f64::NAN, 45.0), None);
    assert_eq!(code_at(areas, 5.0, f64::INFINITY), None);

    let gap = areas.commune_by_code("05061").expect("Gap");
    assert_eq!(areas.communes[gap as usize].name, "Gap");
    assert_eq!(areas.departement_of(gap).code, "05");
    assert_eq!(areas.departement_of(gap).name, "Hautes-Alpes");
    let d = areas.departement_by_code("05").expect("05");
    assert_eq!(areas.departements[d as usize].name, "Hautes-Alpes");
    assert_eq!(areas.departement_by_code("75"), None);
    assert_eq!(areas.commune_by_code("75056"), None);
}

#[test]
fn departement_code_of_commune_codes() {
    assert_eq!(departement_code_of("05101"), Some("05"));
    assert_eq!(departement_code_of("2A004"), Some("2A"));
    assert_eq!(departement_code_of("2B033"), Some("2B"));
    assert_eq!(departement_code_of("97411"), Some("974"));
    assert_eq!(departement_code_of("9741"), None);
    assert_eq!(departement_code_of("2C004"), None);
    assert_eq!(departement_code_of("05 01"), None);
    assert!(is_departement_code("976") && is_departement_code("2B") && is_departement_code("01"));
    assert!(!is_departement_code("981") && !is_departement_code("2C") && !is_departement_code("1"));
}

/// Vertices shared by at least two communes, with the communes having them.
fn shared_vertices(areas: &AdminAreas, codes: &[&str]) -> BTreeMap<(u64, u64), Vec<u32>> {
    let mut owners: BTreeMap<(u64, u64), Vec<u32>> = BTreeMap::new();
    for (i, c) in areas.communes.iter().enumerate() {
        for p in &c.geometry.polygons {
            for ring in std::iter::once(&p.exterior).chain(&p.interiors) {
                for v in ring {
                    let owners = owners.entry((v[0].to_bits(), v[1].to_bits())).or_default();
                    if owners.last() != Some(&(i as u32)) {
                        owners.push(i as u32);
                    }
                }
            }
        }
    }
    owners.retain(|_, o| {
        o.len() >= 2
            && o.iter()
                .any(|&c| codes.contains(&areas.communes[c as usize].code.as_str()))
    });
    owners
}

#[test]
fn points_on_shared_vertices_and_edges_get_one_commune() {
    let areas = embedded();
    // Communes well inside the data (every neighbour is present), so their borders are
    // shared on both sides.
    let inner = ["05061", "38185", "69123", "63113", "26362"];
    let shared = shared_vertices(areas, &inner);
    assert!(shared.len() > 500, "{} shared vertices", shared.len());
    let reversed = AdminAreas::from_parts(
        areas.communes.iter().rev().cloned().collect(),
        areas.departements.clone(),
    )
    .expect("reversed areas");
    let mut checked = 0;
    for ((x, y), owners) in &shared {
        let (lon, lat) = (f64::from_bits(*x), f64::from_bits(*y));
        // Exactly one of the communes meeting at the vertex contains it.
        let containing = owners
            .iter()
            .filter(|&&c| areas.commune_contains(c, lon, lat))
            .count();
        assert_eq!(containing, 1, "vertex ({lon}, {lat}) shared by {owners:?}");
        let found = code_at(areas, lon, lat).expect("a shared vertex is in a commune");
        assert!(owners
            .iter()
            .any(|&c| areas.communes[c as usize].code == found));
        // Same answer again, and whatever the order of the communes.
        assert_eq!(code_at(areas, lon, lat), Some(found));
        assert_eq!(code_at(&reversed, lon, lat), Some(found));
        checked += 1;
    }
    // Midpoints of shared edges: not exactly on the edge in floating point, but within
    // an ulp of it; every one must still get a commune, the same whatever the order.
    let gap = areas.commune_by_code("05061").expect("Gap") as usize;
    let ring = &areas.communes[gap].geometry.polygons[0].exterior;
    let mut midpoints = 0;
    for w in ring.windows(2) {
        let a = shared.get(&(w[0][0].to_bits(), w[0][1].to_bits()));
        let b = shared.get(&(w[1][0].to_bits(), w[1][1].to_bits()));
        if let (Some(a), Some(b)) = (a, b) {
            if a.len() == 2 && a == b {
                let (lon, lat) = ((w[0][0] + w[1][0]) / 2.0, (w[0][1] + w[1][1]) / 2.0);
                let found = code_at(areas, lon, lat).expect("edge midpoint in a commune");
                assert!(a.iter().any(|&c| areas.communes[c as usize].code == found));
                assert_eq!(code_at(&reversed, lon, lat), Some(found));
                midpoints += 1;
            }
        }
    }
    assert!(
        checked > 500 && midpoints > 100,
        "{checked} vertices, {midpoints} midpoints"
    );
}

fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> Vec<[f64; 2]> {
    vec![[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
}

fn commune(code: &str, polygons: Vec<Polygon>) -> Commune {
    let geometry = MultiPolygon { polygons };
    Commune {
        code: code.to_owned(),
        name: code.to_owned(),
        departement: 0,
        bbox: geometry.bbox(),
        geometry,
    }
}

fn one_departement() -> Vec<Departement> {
    let geometry = MultiPolygon {
        polygons: vec![Polygon {
            exterior: square(0.0, 0.0, 10.0, 10.0),
            interiors: vec![],
        }],
    };
    vec![Departement {
        code: "05".to_owned(),
        name: "Hautes-Alpes".to_owned(),
        bbox: geometry.bbox(),
        geometry,
    }]
}

#[test]
fn synthetic_borders_holes_and_overlaps() {
    // 05002 and 05001 share the edge x = 1 (rings run opposite ways); 05003 has a hole
    // filled by the enclave 05004; 05005 overlaps 05006 on [5, 6] × [0, 1].
    let mut cw = square(1.0, 0.0, 2.0, 1.0);
    cw.reverse();
    let parts = vec![
        commune(
            "05002",
            vec![Polygon {
                exterior: square(0.0, 0.0, 1.0, 1.0),
                interiors: vec![],
            }],
        ),
        commune(
            "05001",
            vec![Polygon {
                exterior: cw,
                interiors: vec![],
            }],
        ),
        commune(
            "05003",
            vec![Polygon {
                exterior: square(0.0, 2.0, 3.0, 5.0),
                interiors: vec![square(1.0, 3.0, 2.0, 4.0)],
            }],
        ),
        commune(
            "05004",
            vec![Polygon {
                exterior: square(1.0, 3.0, 2.0, 4.0),
                interiors: vec![],
            }],
        ),
        commune(
            "05006",
            vec![Polygon {
                exterior: square(5.0, 0.0, 7.0, 1.0),
                interiors: vec![],
            }],
        ),
        commune(
            "05005",
            vec![Polygon {
                exterior: square(4.0, 0.0, 6.0, 1.0),
                interiors: vec![],
            }],
        ),
    ];
    let mut reversed = parts.clone();
    reversed.reverse();
    for parts in [parts, reversed] {
        let areas = AdminAreas::from_parts(parts, one_departement()).expect("areas");
        let at = |x, y| code_at(&areas, x, y);
        assert_eq!(at(0.5, 0.5), Some("05002"));
        assert_eq!(at(1.5, 0.5), Some("05001"));
        // On the shared edge and its ends: the commune to the east (half-open rule).
        assert_eq!(at(1.0, 0.5), Some("05001"));
        assert_eq!(at(1.0, 0.0), Some("05001"));
        assert_eq!(at(1.0, 1.0), None); // north edge of both: outside
        assert_eq!(at(0.5, 1.0), None);
        assert_eq!(at(1.5, 3.5), Some("05004")); // in the hole, i.e. the enclave
        assert_eq!(at(0.5, 3.5), Some("05003"));
        assert_eq!(at(1.0, 3.5), Some("05004")); // hole border: the enclave side
        assert_eq!(at(5.5, 0.5), Some("05005")); // overlap: lowest code
        assert_eq!(at(6.5, 0.5), Some("05006"));
        assert_eq!(at(4.5, 0.5), Some("05005"));
        assert_eq!(at(3.5, 0.5), None);
        assert_eq!(at(-0.5, 0.5), None);
        let c1 = areas.commune_by_code("05001").expect("05001");
        assert!(areas.commune_contains(c1, 1.0, 0.5));
        let c2 = areas.commune_by_code("05002").expect("05002");
        assert!(!areas.commune_contains(c2, 1.0, 0.5));
        assert!(!areas.commune_contains(u32::MAX, 0.5, 0.5));
    }
}

#[test]
fn from_parts_rejects_inconsistent_parts() {
    let a = commune(
        "05001",
        vec![Polygon {
            exterior: square(0.0, 0.0, 1.0, 1.0),
            interiors: vec![],
        }],
    );
    let mut bad_dep = a.clone();
    bad_dep.departement = 3;
    let err = AdminAreas::from_parts(vec![bad_dep], one_departement())
        .expect_err("department out of range")
        .to_string();
    assert!(
        err.contains("05001") && err.contains("department #3"),
        "{err}"
    );
    let err = AdminAreas::from_parts(vec![a.clone(), a], one_departement())
        .expect_err("duplicate")
        .to_string();
    assert!(err.contains("05001 appears twice"), "{err}");
}

/// The national files: counts published with the data (35,357 communes, 101 departments).
#[test]
fn national_files_load() {
    let dir = PathBuf::from(SHARED).join("admin");
    let start = std::time::Instant::now();
    let areas = AdminAreas::load(
        &dir.join("communes.geojson"),
        &dir.join("departements.geojson"),
    )
    .expect("national files");
    eprintln!("national load: {:?}", start.elapsed());
    assert_eq!(areas.communes.len(), 35_357);
    assert_eq!(areas.departements.len(), 101);
    assert_eq!(code_at(&areas, 2.3522, 48.8566), Some("75056")); // Paris
    assert_eq!(code_at(&areas, 55.4504, -20.8823), Some("97411")); // Saint-Denis (Réunion)
    assert_eq!(code_at(&areas, 8.7369, 41.9192), Some("2A004")); // Ajaccio
    let reunion = areas.commune_by_code("97411").expect("97411");
    assert_eq!(areas.departement_of(reunion).code, "974");
    let ajaccio = areas.commune_by_code("2A004").expect("2A004");
    assert_eq!(areas.departement_of(ajaccio).code, "2A");
    // 01338 (Groslée-Saint-Benoît), the commune with an invalid polygon, still locates:
    // this point is 1.8 km inside its ring (ray cast and distance computed in Python).
    assert_eq!(code_at(&areas, 5.5776, 45.7144), Some("01338"));
}

#[test]
fn simplified_files_load() {
    let dir = PathBuf::from(SHARED).join("admin");
    let areas = AdminAreas::load(
        &dir.join("communes-metropole-simplified.geojson"),
        &dir.join("departements-metropole-simplified.geojson"),
    )
    .expect("simplified files");
    assert_eq!(areas.communes.len(), 35_228);
    assert_eq!(areas.departements.len(), 96);
    assert_eq!(code_at(&areas, 6.0794, 44.5594), Some("05061"));
}

/// Writes `json` to a temporary file and returns the error of loading it as communes
/// (with a valid departments file) or as departments.
fn load_error(communes_json: &str, departements_json: &str) -> (String, String, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let communes = dir.path().join("bad-communes.geojson");
    let departements = dir.path().join("bad-departements.geojson");
    std::fs::write(&communes, communes_json).expect("write");
    std::fs::write(&departements, departements_json).expect("write");
    let err = AdminAreas::load(&communes, &departements)
        .expect_err("bad file")
        .to_string();
    (
        err,
        communes.display().to_string(),
        departements.display().to_string(),
    )
}

const SQUARE: &str = r#"{"type":"Polygon","coordinates":[[[6,44],[6.1,44],[6.1,44.1],[6,44]]]}"#;

fn feature(props: &str, geometry: &str) -> String {
    format!(r#"{{"type":"Feature","properties":{props},"geometry":{geometry}}}"#)
}

fn collection(features: &[String]) -> String {
    format!(
        r#"{{"type":"FeatureCollection","features":[{}]}}"#,
        features.join(",")
    )
}

#[test]
fn errors_name_file_feature_and_field() {
    let deps = collection(&[feature(r#"{"code":"05","nom":"Hautes-Alpes"}"#, SQUARE)]);
    let good = feature(r#"{"code":"05061","nom":"Gap"}"#, SQUARE);
    let cases: Vec<(String, &str)> = vec![
        (
            collection(&[good.clone(), feature(r#"{"nom":"X"}"#, SQUARE)]),
            "feature 1: field properties.code: missing",
        ),
        (
            collection(&[good.clone(), feature(r#"{"code":5101,"nom":"X"}"#, SQUARE)]),
            "feature 1: field properties.code: a number where a string was expected",
        ),
        (
            collection(&[feature(r#"{"code":"5101","nom":"X"}"#, SQUARE)]),
            "feature 0: field properties.code: \"5101\" is not an INSEE commune code",
        ),
        (
            collection(&[
                good.clone(),
                good.clone(),
                feature(
                    r#"{"code":"05062","nom":"X"}"#,
                    r#"{"type":"Point","coordinates":[6,44]}"#,
                ),
            ]),
            "feature 2: field geometry.type: Point where Polygon or MultiPolygon was expected",
        ),
        (
            collection(&[feature(
                r#"{"code":"05062","nom":"X"}"#,
                r#"{"type":"MultiPolygon","coordinates":[[[6,44],[6.1,44],[6.1,44.1],[6,44]]]}"#,
            )]),
            "feature 0: field geometry.coordinates: not nested as a MultiPolygon",
        ),
        (
            collection(&[feature(
                r#"{"code":"05062","nom":"X"}"#,
                r#"{"type":"Polygon","coordinates":[[[6,44],[6.1,44]]]}"#,
            )]),
            "feature 0: field geometry.coordinates: ring 0 has 2 positions",
        ),
        (
            collection(&[good.clone(), feature(r#"{"code":"05062","nom":"X"}"#, "null")]),
            "feature 1: field geometry: missing or null",
        ),
        (
            collection(&[feature(r#"{"code":"38185","nom":"Grenoble"}"#, SQUARE)]),
            "feature 0: field properties.code: department 38 of commune 38185 is not in the departments file",
        ),
        (
            collection(&[good.clone(), good.clone()]),
            "feature 1: field properties.code: 05061 already used by feature 0",
        ),
        (
            format!(r#"{{"type":"FeatureCollection","features":[{good},{{"type":"Feature","properties":{{"code":"05062","#),
            "feature 1: field (json): EOF while parsing",
        ),
    ];
    for (communes_json, expected) in cases {
        let (err, communes, _) = load_error(&communes_json, &deps);
        assert!(
            err.starts_with(&format!("{communes}: ")) && err.contains(expected),
            "{err:?} should start with the file name and contain {expected:?}"
        );
    }
    // Errors in the departments file name it.
    let good_communes = collection(std::slice::from_ref(&good));
    let (err, _, departements) = load_error(
        &good_communes,
        &collection(&[feature(r#"{"code":"5","nom":"X"}"#, SQUARE)]),
    );
    assert!(
        err.starts_with(&format!(
            "{departements}: feature 0: field properties.code: \"5\""
        )),
        "{err}"
    );
    let (err, _, departements) = load_error(&good_communes, r#"{"type":"Feature","features":[]}"#);
    assert_eq!(
        err,
        format!("{departements}: top-level \"type\" is not \"FeatureCollection\"")
    );
    let (err, _, departements) = load_error(&good_communes, "[1, 2]");
    assert!(
        err.starts_with(&format!("{departements}: not a GeoJSON FeatureCollection")),
        "{err}"
    );
    let missing = AdminAreas::load(
        Path::new("/nonexistent/c.geojson"),
        Path::new("/nonexistent/d.geojson"),
    )
    .expect_err("missing file")
    .to_string();
    assert!(missing.starts_with("/nonexistent/d.geojson: "), "{missing}");
}

#[test]
fn reads_multipolygons_and_ignores_other_members() {
    let deps = collection(&[feature(
        r#"{"code":"05","nom":"Hautes-Alpes","extra":[1,{"a":2}]}"#,
        SQUARE,
    )]);
    // `coordinates` before `type`, a foreign member, an escaped key ("n\u006fm" is
    // "nom"), extra and null properties.
    let communes = r#"{"type":"FeatureCollection","crs":{"type":"name"},"features":[{"geometry":{"coordinates":[[[[0,0],[2,0],[2,2],[0,2],[0,0]],[[0.5,0.5],[1.5,0.5],[1.5,1.5],[0.5,1.5]]],[[[3,0],[4,0],[4,1],[3,0]]]],"type":"MultiPolygon"},"id":7,"properties":{"n\u006fm":"Multi","code":"05001","population":12,"x":null},"type":"Feature"}]}"#;
    let dir = tempfile::tempdir().expect("tempdir");
    let (c, d) = (dir.path().join("c.json"), dir.path().join("d.json"));
    std::fs::write(&c, communes).expect("write");
    std::fs::write(&d, deps).expect("write");
    let areas = AdminAreas::load(&c, &d).expect("load");
    let multi = &areas.communes[0];
    assert_eq!(
        (multi.code.as_str(), multi.name.as_str()),
        ("05001", "Multi")
    );
    assert_eq!(multi.geometry.polygons.len(), 2);
    assert_eq!(multi.geometry.polygons[0].interiors.len(), 1);
    assert_eq!(multi.geometry.polygons[0].interiors[0].len(), 4);
    assert_eq!(
        multi.bbox,
        BBox {
            min: [0.0, 0.0],
            max: [4.0, 2.0]
        }
    );
    assert_eq!(code_at(&areas, 0.25, 1.0), Some("05001"));
    assert_eq!(code_at(&areas, 1.0, 1.0), None); // in the hole
    assert_eq!(code_at(&areas, 3.7, 0.3), Some("05001")); // second polygon
    assert_eq!(code_at(&areas, 3.2, 0.8), None); // beside the triangle
}

#[test]
fn raster_shortcut_never_changes_an_answer() {
    use rand::{Rng, SeedableRng};
    let areas = embedded();
    let mut rng = rand::rngs::SmallRng::seed_from_u64(93);
    let (mut tested, mut inside) = (0, 0);
    for _ in 0..20_000 {
        let c = rng.gen_range(0..areas.communes.len());
        let b = areas.communes[c].bbox;
        // Random points, and points on the commune's vertices (on its boundary).
        let ring = &areas.communes[c].geometry.polygons[0].exterior;
        let points = [
            [
                rng.gen_range(b.min[0]..=b.max[0]),
                rng.gen_range(b.min[1]..=b.max[1]),
            ],
            ring[rng.gen_range(0..ring.len())],
        ];
        for [x, y] in points {
            let fast = areas.commune_contains(c as u32, x, y);
            assert_eq!(
                fast,
                areas.index.contains_by_ray_cast(c as u32, x, y),
                "commune {} at ({x}, {y})",
                areas.communes[c].code
            );
            tested += 1;
            inside += usize::from(fast);
        }
    }
    // Both answers occur, so the comparison is not vacuous.
    assert!(
        inside > tested / 4 && inside < tested * 3 / 4,
        "{inside}/{tested}"
    );
}
