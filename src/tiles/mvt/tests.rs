//! Tiles checked with decoders that share no code with the encoder: the `mvt-reader`
//! crate and Python's `mapbox-vector-tile` package (tests/oracle/mvt_oracle.py, which
//! also reads the raw command stream strictly against the spec).

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};

use geo_types::{Geometry, LineString, Polygon};
use mvt_reader::feature::Value;
use mvt_reader::Reader;
use proptest::prelude::*;
use serde_json::{json, Value as Json};

use super::{PropValue, TileEncoder};

const EXTENT: u32 = 4096;
const BUFFER: u32 = 64;
const LO: i32 = -(BUFFER as i32);
const HI: i32 = (EXTENT + BUFFER) as i32;

// ---------- decoder helpers ----------

fn oracle_script() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oracle/mvt_oracle.py").to_owned()
}

fn run_oracle(args: &[String], stdin: Option<&[u8]>) -> Vec<Json> {
    let mut child = Command::new("python3")
        .arg(oracle_script())
        .arg(BUFFER.to_string())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}): install Python 3 and `python3 -m pip install mapbox-vector-tile`"));
    if let Some(mut pipe) = child.stdin.take() {
        pipe.write_all(stdin.unwrap_or_default())
            .expect("write tile to python3");
    }
    let out = child.wait_with_output().expect("python3 output");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code() != Some(3),
        "the Python decoder is missing — run `python3 -m pip install mapbox-vector-tile`: {stderr}"
    );
    assert!(out.status.success(), "mvt_oracle.py failed: {stderr}");
    serde_json::from_slice(&out.stdout).expect("oracle JSON")
}

/// Python's reading of one tile; fails the test on any spec violation it found.
fn python(tile: &[u8]) -> Json {
    let mut all = run_oracle(&[], Some(tile));
    let result = all.pop().expect("one result");
    assert_eq!(
        result["problems"],
        json!([]),
        "spec violations found by the Python oracle"
    );
    result
}

fn py_layer<'a>(decoded: &'a Json, name: &str) -> &'a Json {
    decoded["layers"]
        .as_array()
        .and_then(|ls| ls.iter().find(|l| l["name"] == name))
        .unwrap_or_else(|| panic!("layer {name} in {decoded}"))
}

/// mvt-reader's reading: layer name → features with integer coordinates.
fn reader(tile: &[u8]) -> HashMap<String, Vec<mvt_reader::feature::Feature<i32>>> {
    let reader = Reader::new(tile.to_vec()).expect("mvt-reader accepts the tile");
    let names = reader.get_layer_names().expect("layer names");
    let meta = reader.get_layer_metadata().expect("layer metadata");
    names
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            assert_eq!(meta[i].version, 2, "layer {name} version");
            assert_eq!(meta[i].extent, EXTENT, "layer {name} extent");
            (
                name,
                reader
                    .get_features_as::<i32>(i)
                    .expect("mvt-reader decodes every feature"),
            )
        })
        .collect()
}

fn polygons_of(g: &Geometry<i32>) -> Vec<Polygon<i32>> {
    match g {
        Geometry::Polygon(p) => vec![p.clone()],
        Geometry::MultiPolygon(mp) => mp.0.clone(),
        other => panic!("not a polygon: {other:?}"),
    }
}

/// Ring vertices without the closing repeat mvt-reader appends.
fn open_ring(ls: &LineString<i32>) -> Vec<[i64; 2]> {
    let mut pts: Vec<[i64; 2]> =
        ls.0.iter()
            .map(|c| [i64::from(c.x), i64::from(c.y)])
            .collect();
    assert_eq!(pts.first(), pts.last(), "mvt-reader closes rings");
    pts.pop();
    pts
}

/// Twice the signed area by the spec's surveyor's formula, computed here from the decoded
/// coordinates (not with the encoder's function).
fn spec_area2(ring: &[[i64; 2]]) -> i64 {
    let n = ring.len();
    (0..n)
        .map(|i| ring[i][0] * ring[(i + 1) % n][1] - ring[(i + 1) % n][0] * ring[i][1])
        .sum()
}

/// Same ring up to the starting vertex (same direction).
fn same_cycle(a: &[[i64; 2]], b: &[[i64; 2]]) -> bool {
    a.len() == b.len() && (0..a.len()).any(|s| (0..a.len()).all(|i| a[(s + i) % a.len()] == b[i]))
}

fn py_rings(feature: &Json) -> Vec<(Vec<[i64; 2]>, i64)> {
    feature["raw"]
        .as_array()
        .expect("raw rings")
        .iter()
        .map(|r| {
            let ring = r["ring"]
                .as_array()
                .expect("ring")
                .iter()
                .map(|p| [p[0].as_i64().expect("x"), p[1].as_i64().expect("y")])
                .collect();
            (ring, r["area2"].as_i64().expect("area"))
        })
        .collect()
}

fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> Vec<[f64; 2]> {
    // Clockwise on screen (y down): positive spec area.
    vec![[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
}

fn reversed(ring: &[[f64; 2]]) -> Vec<[f64; 2]> {
    ring.iter().rev().copied().collect()
}

// ---------- points ----------

#[test]
fn points_round_trip_with_ids_and_every_property_type() {
    let mut tile = TileEncoder::new(EXTENT, BUFFER);
    let layer = tile.layer("obs");
    let props = [
        ("name", PropValue::Str("Lynx lynx (Linnaeus, 1758)")),
        ("neg", PropValue::Int(-42)),
        ("big", PropValue::UInt(u64::MAX)),
        ("ratio", PropValue::Double(0.1)),
        ("f32", PropValue::Float(1.5)),
        ("sensible", PropValue::Bool(true)),
        ("absent", PropValue::Bool(false)),
    ];
    assert!(layer.add_point(Some(7), [100.0, 200.0], &props));
    assert!(layer.add_point(
        None,
        [4096.0, 0.0],
        &[("name", PropValue::Str("Ursus arctos"))]
    ));
    assert!(layer.add_point(Some(0), [-64.0, 4160.0], &[]));
    assert!(
        !layer.add_point(Some(9), [-65.0, 10.0], &props),
        "beyond the buffer"
    );
    assert!(
        !layer.add_point(Some(9), [10.0, 4160.6], &props),
        "rounds beyond the buffer"
    );
    assert!(!layer.add_point(Some(9), [f64::NAN, 10.0], &props));
    let bytes = tile.encode();

    let decoded = reader(&bytes);
    let features = &decoded["obs"];
    assert_eq!(features.len(), 3);
    assert_eq!(
        features.iter().map(|f| f.id).collect::<Vec<_>>(),
        [Some(7), None, Some(0)]
    );
    let coords: Vec<Vec<(i32, i32)>> = features
        .iter()
        .map(|f| match &f.geometry {
            Geometry::MultiPoint(mp) => mp.0.iter().map(|p| (p.x(), p.y())).collect(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        coords,
        [vec![(100, 200)], vec![(4096, 0)], vec![(-64, 4160)]]
    );
    let p = features[0].properties.as_ref().expect("props");
    assert_eq!(
        p["name"],
        Value::String("Lynx lynx (Linnaeus, 1758)".into())
    );
    assert_eq!(p["neg"], Value::Int(-42));
    assert_eq!(p["big"], Value::UInt(u64::MAX));
    assert_eq!(p["ratio"], Value::Double(0.1));
    assert_eq!(p["f32"], Value::Float(1.5));
    assert_eq!(p["sensible"], Value::Bool(true));
    assert_eq!(p["absent"], Value::Bool(false));
    assert_eq!(p.len(), 7);
    assert!(features[2].properties.as_ref().is_none_or(|p| p.is_empty()));

    let py = python(&bytes);
    let layer = py_layer(&py, "obs");
    assert_eq!(layer["version"], 2);
    assert_eq!(layer["extent"], EXTENT);
    let f = &layer["features"];
    assert_eq!(
        [&f[0]["id"], &f[1]["id"], &f[2]["id"]],
        [&json!(7), &Json::Null, &json!(0)]
    );
    assert_eq!(
        f[0]["geometry"],
        json!({"type": "Point", "coordinates": [100, 200]})
    );
    assert_eq!(
        f[2]["geometry"],
        json!({"type": "Point", "coordinates": [-64, 4160]})
    );
    assert_eq!(
        f[0]["properties"],
        json!({"name": "Lynx lynx (Linnaeus, 1758)", "neg": -42, "big": u64::MAX, "ratio": 0.1, "f32": 1.5, "sensible": true, "absent": false})
    );
    // The value types on the wire, as protobuf names them.
    let value_fields: Vec<&str> = layer["values"]
        .as_array()
        .expect("values")
        .iter()
        .map(|v| v[0].as_str().expect("field"))
        .collect();
    assert_eq!(
        value_fields,
        [
            "string_value",
            "int_value",
            "uint_value",
            "double_value",
            "float_value",
            "bool_value",
            "bool_value",
            "string_value"
        ]
    );
}

#[test]
fn coordinates_are_rounded_to_nearest_not_floored() {
    let mut tile = TileEncoder::new(EXTENT, BUFFER);
    let layer = tile.layer("obs");
    for p in [[10.6, 10.4], [-0.6, 4095.5], [2047.49, 0.51]] {
        assert!(layer.add_point(None, p, &[]));
    }
    assert!(layer.add_multi_point(Some(1), [[1.6, 1.4], [9999.0, 0.0], [3.5, -3.5]], &[]));
    let bytes = tile.encode();
    let expected = [
        vec![(11, 10)],
        vec![(-1, 4096)],
        vec![(2047, 1)],
        vec![(2, 1), (4, -4)],
    ];
    let decoded: Vec<Vec<(i32, i32)>> = reader(&bytes)["obs"]
        .iter()
        .map(|f| match &f.geometry {
            Geometry::MultiPoint(mp) => mp.0.iter().map(|p| (p.x(), p.y())).collect(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(decoded, expected);
    let py = python(&bytes);
    let f = &py_layer(&py, "obs")["features"];
    assert_eq!(f[0]["geometry"]["coordinates"], json!([11, 10]));
    assert_eq!(f[1]["geometry"]["coordinates"], json!([-1, 4096]));
    assert_eq!(
        f[3]["geometry"],
        json!({"type": "MultiPoint", "coordinates": [[2, 1], [4, -4]]})
    );
}

// ---------- polygons ----------

#[test]
fn square_inside_the_tile_is_kept_as_is() {
    let mut tile = TileEncoder::new(EXTENT, BUFFER);
    let ring = square(100.0, 100.0, 200.4, 199.6);
    assert!(tile
        .layer("areas")
        .add_polygon(Some(3), &[vec![ring]], &[("code", "75056".into())]));
    let bytes = tile.encode();
    let features = &reader(&bytes)["areas"];
    assert_eq!(features.len(), 1);
    assert_eq!(features[0].id, Some(3));
    let polys = polygons_of(&features[0].geometry);
    assert_eq!(polys.len(), 1);
    let ext = open_ring(polys[0].exterior());
    assert!(
        same_cycle(&ext, &[[100, 100], [200, 100], [200, 200], [100, 200]]),
        "{ext:?}"
    );
    assert!(polys[0].interiors().is_empty());
    let py = python(&bytes);
    let f = &py_layer(&py, "areas")["features"][0];
    assert_eq!(f["geometry"]["type"], "Polygon");
    assert_eq!(f["properties"], json!({"code": "75056"}));
    let rings = py_rings(f);
    assert_eq!(rings.len(), 1);
    assert!(same_cycle(&rings[0].0, &ext));
    assert_eq!(rings[0].1, 2 * 100 * 100);
}

#[test]
fn polygon_larger_than_the_tile_becomes_the_buffer_square() {
    let mut tile = TileEncoder::new(EXTENT, BUFFER);
    let huge = square(-1.0e6, -2.5e5, 3.3e6, 9.9e5);
    assert!(tile.layer("areas").add_polygon(None, &[vec![huge]], &[]));
    let bytes = tile.encode();
    let buffer_square = [
        [LO as i64, LO as i64],
        [HI as i64, LO as i64],
        [HI as i64, HI as i64],
        [LO as i64, HI as i64],
    ];
    let polys = polygons_of(&reader(&bytes)["areas"][0].geometry);
    assert_eq!(polys.len(), 1);
    let ext = open_ring(polys[0].exterior());
    assert!(same_cycle(&ext, &buffer_square), "{ext:?}");
    let py = python(&bytes);
    let rings = py_rings(&py_layer(&py, "areas")["features"][0]);
    assert_eq!(rings.len(), 1);
    assert!(same_cycle(&rings[0].0, &buffer_square));
    assert!(rings[0].1 > 0);
}

#[test]
fn polygon_entirely_outside_writes_no_feature() {
    let mut tile = TileEncoder::new(EXTENT, BUFFER);
    let outside = square(4200.0, 10.0, 5000.0, 500.0);
    assert!(!tile
        .layer("areas")
        .add_polygon(Some(1), &[vec![outside.clone()]], &[]));
    assert!(tile.is_empty());
    assert_eq!(tile.layer("areas").feature_count(), 0);
    // Its bounding box straddles the tile's corner, the ring does not enter the square.
    let l_shape = vec![
        [-300.0, -300.0],
        [5000.0, -300.0],
        [5000.0, -100.0],
        [-100.0, -100.0],
        [-100.0, 5000.0],
        [-300.0, 5000.0],
    ];
    assert!(!tile
        .layer("areas")
        .add_polygon(Some(2), &[vec![l_shape]], &[]));
    assert!(tile.layer("points").add_point(Some(5), [1.0, 1.0], &[]));
    let bytes = tile.encode();
    let decoded = reader(&bytes);
    assert_eq!(
        decoded.keys().collect::<Vec<_>>(),
        ["points"],
        "empty layer is not written"
    );
    let py = python(&bytes);
    assert_eq!(py["layers"].as_array().map(Vec::len), Some(1));
    // A tile with nothing at all encodes to zero bytes.
    let mut empty = TileEncoder::new(EXTENT, BUFFER);
    empty
        .layer("areas")
        .add_polygon(Some(1), &[vec![outside]], &[]);
    assert!(empty.encode().is_empty());
}

#[test]
fn polygon_with_hole_gets_spec_winding_on_both_rings() {
    // Both rings given with the same (exterior) winding: the hole must be rewound.
    let exterior = square(100.0, 100.0, 1100.0, 1100.0);
    let hole = square(400.0, 400.0, 600.0, 600.0);
    for (ext, hole) in [
        (exterior.clone(), hole.clone()),
        (reversed(&exterior), reversed(&hole)),
        (reversed(&exterior), hole.clone()),
    ] {
        let mut tile = TileEncoder::new(EXTENT, BUFFER);
        assert!(tile
            .layer("areas")
            .add_polygon(Some(1), &[vec![ext, hole]], &[]));
        let bytes = tile.encode();
        let polys = polygons_of(&reader(&bytes)["areas"][0].geometry);
        assert_eq!(polys.len(), 1);
        assert!(spec_area2(&open_ring(polys[0].exterior())) > 0);
        assert_eq!(spec_area2(&open_ring(polys[0].exterior())), 2 * 1000 * 1000);
        assert_eq!(polys[0].interiors().len(), 1);
        assert_eq!(
            spec_area2(&open_ring(&polys[0].interiors()[0])),
            -2 * 200 * 200
        );
        let py = python(&bytes);
        let f = &py_layer(&py, "areas")["features"][0];
        assert_eq!(f["geometry"]["type"], "Polygon");
        let areas: Vec<i64> = py_rings(f).iter().map(|r| r.1).collect();
        assert_eq!(areas, [2 * 1000 * 1000, -2 * 200 * 200]);
    }
}

#[test]
fn clockwise_and_counterclockwise_input_decode_the_same() {
    // A GeoJSON-style exterior (counterclockwise in lon/lat) is clockwise once y is flipped.
    let cw = vec![[10.0, 10.0], [300.0, 40.0], [250.0, 280.0], [30.0, 200.0]];
    let ccw = reversed(&cw);
    let decode = |ring: Vec<[f64; 2]>| {
        let mut tile = TileEncoder::new(EXTENT, BUFFER);
        assert!(tile.layer("areas").add_polygon(None, &[vec![ring]], &[]));
        let bytes = tile.encode();
        let ext = open_ring(polygons_of(&reader(&bytes)["areas"][0].geometry)[0].exterior());
        let py = python(&bytes);
        let rings = py_rings(&py_layer(&py, "areas")["features"][0]);
        assert!(same_cycle(&rings[0].0, &ext));
        ext
    };
    let a = decode(cw);
    let b = decode(ccw);
    assert!(same_cycle(&a, &b), "{a:?} vs {b:?}");
    assert!(spec_area2(&a) > 0);
}

#[test]
fn slivers_that_collapse_after_rounding_are_dropped() {
    let mut tile = TileEncoder::new(EXTENT, BUFFER);
    let layer = tile.layer("areas");
    // Three vertices rounding to two points; a thin sliver rounding onto one line.
    assert!(!layer.add_polygon(
        Some(1),
        &[vec![vec![[5.0, 5.0], [5.2, 5.0], [5.3, 5.4]]]],
        &[]
    ));
    assert!(!layer.add_polygon(
        Some(2),
        &[vec![vec![
            [0.0, 0.0],
            [1000.0, 0.2],
            [2000.0, 0.4],
            [1000.0, 0.3]
        ]]],
        &[]
    ));
    // A hole that collapses leaves the exterior alone.
    let ext = square(0.0, 0.0, 100.0, 100.0);
    let sliver_hole = vec![[10.0, 10.0], [90.0, 10.2], [50.0, 10.3]];
    assert!(layer.add_polygon(Some(3), &[vec![ext, sliver_hole]], &[]));
    let bytes = tile.encode();
    let features = &reader(&bytes)["areas"];
    assert_eq!(features.len(), 1);
    assert_eq!(features[0].id, Some(3));
    let polys = polygons_of(&features[0].geometry);
    assert_eq!((polys.len(), polys[0].interiors().len()), (1, 0));
    let py = python(&bytes);
    assert_eq!(py_rings(&py_layer(&py, "areas")["features"][0]).len(), 1);
}

#[test]
fn multipolygon_part_outside_is_left_out() {
    let mut tile = TileEncoder::new(EXTENT, BUFFER);
    let inside = vec![square(10.0, 10.0, 50.0, 50.0)];
    let outside = vec![square(-500.0, 10.0, -100.0, 50.0)];
    let straddling = vec![
        square(4000.0, 4000.0, 4500.0, 4500.0),
        square(4300.0, 4300.0, 4400.0, 4400.0),
    ];
    assert!(tile
        .layer("areas")
        .add_polygon(Some(1), &[inside, outside, straddling], &[]));
    let bytes = tile.encode();
    let polys = polygons_of(&reader(&bytes)["areas"][0].geometry);
    assert_eq!(polys.len(), 2, "{polys:?}");
    assert!(same_cycle(
        &open_ring(polys[0].exterior()),
        &[[10, 10], [50, 10], [50, 50], [10, 50]]
    ));
    // The hole of the straddling part lies beyond the buffer: gone with the clip.
    assert!(same_cycle(
        &open_ring(polys[1].exterior()),
        &[[4000, 4000], [4160, 4000], [4160, 4160], [4000, 4160]]
    ));
    assert!(polys[1].interiors().is_empty());
    let py = python(&bytes);
    let f = &py_layer(&py, "areas")["features"][0];
    assert_eq!(f["geometry"]["type"], "MultiPolygon");
    assert_eq!(py_rings(f).len(), 2);
}

#[test]
fn no_zero_length_segment_is_emitted() {
    let mut tile = TileEncoder::new(EXTENT, BUFFER);
    let layer = tile.layer("areas");
    // Repeated vertices, vertices rounding together, a closing repeat, and edges that
    // leave and re-enter the buffer near a corner (clipped vertices on the boundary).
    let ring = vec![
        [10.0, 10.0],
        [10.0, 10.0],
        [10.2, 9.9],
        [500.0, 10.0],
        [500.4, 10.3],
        [4159.6, -63.7],
        [4200.0, -100.0],
        [4161.0, 30.0],
        [4160.2, 200.0],
        [500.0, 500.0],
        [10.0, 10.0],
    ];
    assert!(layer.add_polygon(None, &[vec![ring.clone()]], &[]));
    assert!(layer.add_polygon(None, &[vec![reversed(&ring)]], &[]));
    let bytes = tile.encode();
    for f in &reader(&bytes)["areas"] {
        for poly in polygons_of(&f.geometry) {
            let ext = open_ring(poly.exterior());
            assert!(
                ext.windows(2).all(|w| w[0] != w[1]),
                "consecutive duplicates {ext:?}"
            );
            assert_ne!(
                ext.first(),
                ext.last(),
                "first point repeated before ClosePath"
            );
            assert!(spec_area2(&ext) > 0);
        }
    }
    // The Python oracle reads the raw command stream and reports any zero-length LineTo.
    let py = python(&bytes);
    assert_eq!(
        py_layer(&py, "areas")["features"].as_array().map(Vec::len),
        Some(2)
    );
}

#[test]
fn keys_and_values_are_stored_once_per_layer() {
    let mut tile = TileEncoder::new(EXTENT, BUFFER);
    let layer = tile.layer("obs");
    let shared = [
        ("taxon", PropValue::Str("Lynx lynx")),
        ("level", PropValue::Int(2)),
    ];
    assert!(layer.add_point(Some(1), [1.0, 1.0], &shared));
    assert!(layer.add_point(Some(2), [2.0, 2.0], &shared));
    assert!(layer.add_point(
        Some(3),
        [3.0, 3.0],
        &[
            ("taxon", "Ursus arctos".into()),
            ("level", PropValue::UInt(2))
        ]
    ));
    // A key repeated inside one feature keeps its first value.
    assert!(layer.add_point(
        Some(4),
        [4.0, 4.0],
        &[
            ("taxon", "Lynx lynx".into()),
            ("taxon", "Canis lupus".into())
        ]
    ));
    assert!(tile
        .layer("areas")
        .add_polygon(Some(5), &[vec![square(0.0, 0.0, 9.0, 9.0)]], &shared));
    let bytes = tile.encode();
    let py = python(&bytes);
    let obs = py_layer(&py, "obs");
    assert_eq!(obs["keys"], json!(["taxon", "level"]));
    assert_eq!(
        obs["values"],
        json!([
            ["string_value", "Lynx lynx"],
            ["int_value", 2],
            ["string_value", "Ursus arctos"],
            ["uint_value", 2]
        ])
    );
    assert_eq!(obs["features"][1]["tags"], json!([0, 0, 1, 1]));
    assert_eq!(
        obs["features"][3]["properties"],
        json!({"taxon": "Lynx lynx"})
    );
    // Dictionaries are per layer.
    assert_eq!(py_layer(&py, "areas")["keys"], json!(["taxon", "level"]));
    let decoded = reader(&bytes);
    assert_eq!(
        decoded["obs"][3].properties.as_ref().map(|p| p.len()),
        Some(1)
    );
}

#[test]
fn reused_encoder_gives_the_same_bytes_as_a_fresh_one() {
    let fill = |tile: &mut TileEncoder, shift: f64| {
        tile.layer("obs")
            .add_point(Some(1), [shift, 5.0], &[("k", PropValue::Str("v"))]);
        tile.layer("areas").add_polygon(
            Some(2),
            &[vec![square(shift, 0.0, shift + 50.0, 50.0)]],
            &[("k", PropValue::Int(1))],
        );
    };
    let mut reused = TileEncoder::new(EXTENT, BUFFER);
    let mut first = Vec::new();
    fill(&mut reused, 10.0);
    reused.encode_into(&mut first);
    let mut second = Vec::new();
    fill(&mut reused, 20.0);
    reused.encode_into(&mut second);
    let mut fresh = TileEncoder::new(EXTENT, BUFFER);
    fill(&mut fresh, 20.0);
    assert_eq!(second, fresh.encode());
    assert_ne!(first, second);
    python(&second);
}

#[test]
fn polygon_builder_streams_rings_from_iterators() {
    let mut tile = TileEncoder::new(EXTENT, BUFFER);
    let layer = tile.layer("areas");
    let mut feature = layer.polygon();
    // Exterior as a circle projected on the fly; a hole; then a dropped exterior whose hole is ignored.
    let circle = (0..64).map(|i| {
        let a = f64::from(i) * std::f64::consts::TAU / 64.0;
        [2048.0 + 1000.0 * a.cos(), 2048.0 + 1000.0 * a.sin()]
    });
    assert!(feature.exterior(circle));
    assert!(feature.interior(square(2000.0, 2000.0, 2100.0, 2100.0)));
    assert!(!feature.exterior(square(9000.0, 9000.0, 9100.0, 9100.0)));
    assert!(!feature.interior(square(9010.0, 9010.0, 9020.0, 9020.0)));
    assert!(feature.finish(Some(11), &[]));
    let bytes = tile.encode();
    let polys = polygons_of(&reader(&bytes)["areas"][0].geometry);
    assert_eq!(polys.len(), 1);
    assert_eq!(polys[0].exterior().0.len(), 65);
    assert_eq!(polys[0].interiors().len(), 1);
    python(&bytes);
}

// ---------- random polygons ----------

fn arb_ring() -> impl Strategy<Value = Vec<[f64; 2]>> {
    // Star-shaped rings around a centre that may lie well outside the tile, with radii
    // from sub-pixel (collapsing) to several tiles (clipped), either winding.
    (
        -3000.0..7000.0f64,
        -3000.0..7000.0f64,
        prop::collection::vec((0.0..1.0f64, 0.1..6000.0f64), 3..40),
        any::<bool>(),
        0.0..1.0f64,
    )
        .prop_map(|(cx, cy, spokes, clockwise, scale)| {
            let n = spokes.len() as f64;
            let scale = scale * scale;
            let mut ring: Vec<[f64; 2]> = spokes
                .iter()
                .enumerate()
                .map(|(i, (jitter, r))| {
                    let a = (i as f64 + jitter * 0.9) / n * std::f64::consts::TAU;
                    [cx + r * scale * a.cos(), cy + r * scale * a.sin()]
                })
                .collect();
            if !clockwise {
                ring.reverse();
            }
            ring
        })
}

fn arb_multipolygon() -> impl Strategy<Value = Vec<Vec<Vec<[f64; 2]>>>> {
    prop::collection::vec(prop::collection::vec(arb_ring(), 1..4), 1..4)
}

/// Checks what every polygon tile must satisfy, on mvt-reader's decoding.
fn check_polygon_tile(bytes: &[u8], written: usize) -> Result<(), TestCaseError> {
    if written == 0 {
        prop_assert!(bytes.is_empty());
        return Ok(());
    }
    let decoded = reader(bytes);
    let features = &decoded["areas"];
    prop_assert_eq!(features.len(), written);
    for f in features {
        for poly in polygons_of(&f.geometry) {
            let ext = open_ring(poly.exterior());
            prop_assert!(ext.len() >= 3);
            prop_assert!(spec_area2(&ext) > 0, "exterior area {}", spec_area2(&ext));
            for ring in std::iter::once(&ext).chain(
                poly.interiors()
                    .iter()
                    .map(open_ring)
                    .collect::<Vec<_>>()
                    .iter(),
            ) {
                prop_assert!(
                    ring.iter()
                        .all(|p| (i64::from(LO)..=i64::from(HI)).contains(&p[0])
                            && (i64::from(LO)..=i64::from(HI)).contains(&p[1])),
                    "{:?}",
                    ring
                );
                prop_assert!(ring.windows(2).all(|w| w[0] != w[1]));
                prop_assert_ne!(ring.first(), ring.last());
            }
            for hole in poly.interiors() {
                prop_assert!(spec_area2(&open_ring(hole)) < 0);
            }
        }
    }
    Ok(())
}

fn encode_random(polys: &[Vec<Vec<Vec<[f64; 2]>>>]) -> (Vec<u8>, usize) {
    let mut tile = TileEncoder::new(EXTENT, BUFFER);
    let layer = tile.layer("areas");
    let mut written = 0;
    for (i, p) in polys.iter().enumerate() {
        if layer.add_polygon(Some(i as u64), p, &[("i", PropValue::UInt(i as u64))]) {
            written += 1;
        }
    }
    (tile.encode(), written)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_polygons_decode_with_spec_winding_inside_the_buffer(polys in prop::collection::vec(arb_multipolygon(), 1..6)) {
        let (bytes, written) = encode_random(&polys);
        check_polygon_tile(&bytes, written)?;
    }
}

/// The same random generator, 300 tiles checked by the strict Python reading in one call.
#[test]
fn random_polygon_tiles_pass_the_python_oracle() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

    let dir = tempfile::tempdir().expect("temp dir");
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let strategy = prop::collection::vec(arb_multipolygon(), 1..6);
    let mut paths = Vec::new();
    let mut counts = Vec::new();
    let mut total = 0;
    for n in 0..300 {
        let polys = strategy.new_tree(&mut runner).expect("value").current();
        let (bytes, written) = encode_random(&polys);
        if written == 0 {
            continue;
        }
        total += written;
        let path = dir.path().join(format!("{n}.mvt"));
        std::fs::write(&path, &bytes).expect("write tile");
        paths.push(path.display().to_string());
        counts.push(written);
    }
    assert!(
        total > 300,
        "the generator should produce many visible polygons, got {total}"
    );
    let results = run_oracle(&paths, None);
    assert_eq!(results.len(), paths.len());
    for ((result, path), written) in results.iter().zip(&paths).zip(&counts) {
        assert_eq!(result["problems"], json!([]), "{path}");
        assert_eq!(
            py_layer(result, "areas")["features"]
                .as_array()
                .map(Vec::len),
            Some(*written),
            "{path}"
        );
    }
}

// ---------- rings encoded whole ----------

/// A polygon in world units: rings of integer vertices, often repeated or collinear
/// (small steps on a coarse lattice), the first exterior.
fn arb_world_polygon() -> impl Strategy<Value = Vec<Vec<[i64; 2]>>> {
    let ring = (
        0i64..20_000,
        0i64..20_000,
        prop::collection::vec((-3i64..=3, -3i64..=3, 1i64..120), 0..30),
    )
        .prop_map(|(x0, y0, steps)| {
            let mut p = [x0, y0];
            let mut ring = vec![p];
            for (dx, dy, k) in steps {
                p = [p[0] + dx * k, p[1] + dy * k];
                ring.push(p);
            }
            ring
        });
    prop::collection::vec(ring, 1..4)
}

/// The tile a feature of `polygon` gives, each ring copied when it can be
/// (`whole`) or always drawn from its vertices.
fn encode_world_polygon(polygon: &[Vec<[i64; 2]>], origin: [i64; 2], whole: bool) -> Vec<u8> {
    let mut encoder = super::WholeRingEncoder::default();
    let mut tile = TileEncoder::new(EXTENT, BUFFER);
    let mut f = tile.layer("areas").polygon();
    for (k, ring) in polygon.iter().enumerate() {
        let exterior = k == 0;
        let mut bytes = Vec::new();
        let copied = if whole {
            encoder
                .encode(ring.iter().copied(), exterior, &mut bytes)
                .and_then(|w| f.whole_ring(&w, &bytes, origin, exterior))
        } else {
            None
        };
        if copied.is_none() {
            let local = ring.iter().map(|p| [p[0] - origin[0], p[1] - origin[1]]);
            if exterior {
                f.exterior_int(local);
            } else {
                f.interior_int(local);
            }
        }
    }
    let _ = f.finish(Some(1), &[]);
    tile.encode()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Rings copied whole give the bytes of rings drawn from their vertices, wherever
    /// the tile lies (held whole, clipped, or missed).
    #[test]
    fn whole_rings_give_the_bytes_of_rings_drawn_from_vertices(
        polygon in arb_world_polygon(),
        tile in (0i64..6, 0i64..6),
    ) {
        let origin = [tile.0 * i64::from(EXTENT), tile.1 * i64::from(EXTENT)];
        prop_assert_eq!(
            encode_world_polygon(&polygon, origin, true),
            encode_world_polygon(&polygon, origin, false)
        );
    }
}

/// The whole path is taken (not just the fallback): a ring held whole is copied, and
/// one crossing the buffered square's side is refused.
#[test]
fn whole_ring_is_copied_only_when_the_square_holds_it() {
    let mut encoder = super::WholeRingEncoder::default();
    let ring = [
        [5000, 5000],
        [6000, 5000],
        [6000, 6000],
        [5000, 6000],
        [5000, 5000],
    ];
    let mut bytes = Vec::new();
    let Some(whole) = encoder.encode(ring, true, &mut bytes) else {
        panic!("ring within ±2^30 not encoded");
    };
    assert!(!bytes.is_empty());
    let mut tile = TileEncoder::new(EXTENT, BUFFER);
    let mut f = tile.layer("areas").polygon();
    assert_eq!(f.whole_ring(&whole, &bytes, [4096, 4096], true), Some(true));
    // From the tile at [0, 4096], the ring's x reaches 6000 > 4096 + 64: clipped.
    assert_eq!(f.whole_ring(&whole, &bytes, [0, 4096], true), None);
    assert!(f.finish(Some(1), &[]));
    let far = [[1 << 31, 0], [(1 << 31) + 10, 0], [1 << 31, 10]];
    assert_eq!(encoder.encode(far, true, &mut bytes), None);
}
