//! `POST /extracts` bodies: any bytes are a request whose perimeter parses to polygons of
//! valid WGS84 positions (then intersected with a fixed square and a fixed commune-like
//! polygon, as the extract does with areas), or a refusal; never a panic.
#![no_main]

use flou::extracts::intersect::multipolygons_intersect;
use flou::extracts::{parse_geojson_polygon, ExtractRequest};
use flou::geo::{MultiPolygon, Polygon};
use libfuzzer_sys::fuzz_target;

fn square(x0: f64, y0: f64, side: f64) -> MultiPolygon {
    MultiPolygon {
        polygons: vec![Polygon {
            exterior: vec![
                [x0, y0],
                [x0 + side, y0],
                [x0 + side, y0 + side],
                [x0, y0 + side],
                [x0, y0],
            ],
            interiors: vec![vec![
                [x0 + side / 4.0, y0 + side / 4.0],
                [x0 + side / 2.0, y0 + side / 4.0],
                [x0 + side / 2.0, y0 + side / 2.0],
                [x0 + side / 4.0, y0 + side / 4.0],
            ]],
        }],
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(req) = serde_json::from_slice::<ExtractRequest>(data) else {
        return;
    };
    let Some(p) = &req.perimeter else { return };
    if let Ok(mp) = parse_geojson_polygon(p) {
        for poly in &mp.polygons {
            assert!(poly.exterior.len() >= 4);
            for [lon, lat] in poly.exterior.iter().chain(poly.interiors.iter().flatten()) {
                assert!((-180.0..=180.0).contains(lon) && (-90.0..=90.0).contains(lat));
            }
        }
        let _ = multipolygons_intersect(&mp, &square(6.0, 44.5, 0.5));
        let _ = multipolygons_intersect(&square(-180.0, -90.0, 360.0), &mp);
    }
});
