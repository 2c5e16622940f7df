//! Answers as JSON, CSV (with a header) and GeoJSON (unit polygons with the values). Unit
//! geometry is public geography only: the store's communes and departments (regions as
//! their departments), INPN 10 km cells, H3 hexagons.

use super::{Answer, Lists, Regions, UnitKey};
use crate::access::view::AccessContext;
use crate::geo::MultiPolygon;
use serde_json::{json, Map, Value};

/// Codes and names of units.
pub struct UnitLabels<'c, 'a> {
    ctx: &'c AccessContext<'a>,
    regions: &'c Regions,
}

impl<'c, 'a> UnitLabels<'c, 'a> {
    pub fn new(ctx: &'c AccessContext<'a>, regions: &'c Regions) -> Self {
        UnitLabels { ctx, regions }
    }

    pub fn code_name(&self, u: &UnitKey) -> (String, String) {
        let a = self.ctx.store.areas();
        match u {
            UnitKey::All => ("all".into(), "all".into()),
            UnitKey::Region(r) => self.regions.regions.get(*r).cloned().unwrap_or_default(),
            UnitKey::Departement(d) => (
                a.departement_code(usize::from(*d)).into(),
                a.departement_name(usize::from(*d)).into(),
            ),
            UnitKey::Commune(c) => (
                a.commune_code(usize::from(*c)).into(),
                a.commune_name(usize::from(*c)).into(),
            ),
            UnitKey::Maille10(cell) => (cell.code(), cell.code()),
            UnitKey::H3(h) => (format!("{h:x}"), format!("{h:x}")),
        }
    }
}

/// The JSON answer: `{indicator, unit, columns, rows: [{column: value}], placed,
/// not_placed, excluded}`.
pub fn to_json(a: &Answer) -> Value {
    let rows: Vec<Value> = a
        .rows
        .iter()
        .map(|(_, v)| {
            let m: Map<String, Value> = a
                .columns
                .iter()
                .zip(v)
                .map(|(c, x)| ((*c).to_string(), x.clone()))
                .collect();
            Value::Object(m)
        })
        .collect();
    json!({
        "indicator": a.indicator.name(),
        "unit": a.unit.name(),
        "columns": a.columns,
        "rows": rows,
        "placed": a.placed,
        "not_placed": a.not_placed,
        "excluded": a.excluded,
    })
}

fn csv_field(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// CSV with a header row; the records not placed go in the JSON / GeoJSON answers and in
/// the `X-Not-Placed` header the route adds.
pub fn to_csv(a: &Answer) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    // Writing into a Vec cannot fail but for a bug; an empty body is then returned.
    let _ = w.write_record(&a.columns);
    for (_, v) in &a.rows {
        let _ = w.write_record(v.iter().map(csv_field));
    }
    w.into_inner().unwrap_or_default()
}

/// Vertices closer than this (degrees, about 200 m) to the previous kept one are dropped
/// from commune / department outlines: a choropleth needs no more.
const SIMPLIFY_DEG: f64 = 0.002;

fn round5(p: [f64; 2]) -> [f64; 2] {
    [(p[0] * 1e5).round() / 1e5, (p[1] * 1e5).round() / 1e5]
}

fn simplify_ring(ring: &[[f64; 2]]) -> Vec<[f64; 2]> {
    let mut out: Vec<[f64; 2]> = Vec::with_capacity(ring.len() / 4 + 4);
    for (i, p) in ring.iter().enumerate() {
        let keep = i == 0
            || i + 1 == ring.len()
            || out.last().is_none_or(|q| {
                (p[0] - q[0]).abs() > SIMPLIFY_DEG || (p[1] - q[1]).abs() > SIMPLIFY_DEG
            });
        if keep {
            out.push(round5(*p));
        }
    }
    if out.len() < 4 {
        return ring.iter().copied().map(round5).collect();
    }
    out
}

fn multipolygon_json(m: &MultiPolygon) -> Value {
    let polys: Vec<Value> = m
        .polygons
        .iter()
        .map(|p| {
            let mut rings = vec![json!(simplify_ring(&p.exterior))];
            rings.extend(p.interiors.iter().map(|r| json!(simplify_ring(r))));
            Value::Array(rings)
        })
        .collect();
    json!({"type": "MultiPolygon", "coordinates": polys})
}

fn ring_polygon(ring: Vec<[f64; 2]>) -> Value {
    let ring: Vec<[f64; 2]> = ring.into_iter().map(round5).collect();
    json!({"type": "Polygon", "coordinates": [ring]})
}

/// The geometry of a unit (public geography); `null` for the whole territory.
pub fn unit_geometry(ctx: &AccessContext<'_>, lists: &Lists, u: &UnitKey) -> Value {
    let a = ctx.store.areas();
    match u {
        UnitKey::All => Value::Null,
        UnitKey::Commune(c) => multipolygon_json(&a.commune_geometry(usize::from(*c))),
        UnitKey::Departement(d) => multipolygon_json(&a.departement_geometry(usize::from(*d))),
        UnitKey::Region(r) => {
            let mut m = MultiPolygon::default();
            for d in 0..a.departement_count() {
                if lists.regions.of_departement(a.departement_code(d)) == Some(*r) {
                    m.polygons.extend(a.departement_geometry(d).polygons);
                }
            }
            multipolygon_json(&m)
        }
        UnitKey::Maille10(cell) => ring_polygon(cell.polygon_wgs84(4)),
        UnitKey::H3(h) => {
            let ring: Vec<[f64; 2]> = h3o::CellIndex::try_from(*h)
                .map(|c| {
                    let mut r: Vec<[f64; 2]> =
                        c.boundary().iter().map(|ll| [ll.lng(), ll.lat()]).collect();
                    if let Some(f) = r.first().copied() {
                        r.push(f);
                    }
                    r
                })
                .unwrap_or_default();
            ring_polygon(ring)
        }
    }
}

/// A FeatureCollection, one feature per unit with the unit's polygon. When the indicator
/// has one row per unit, the row's values are the feature's properties; when it has several
/// (per taxon, decade, group or year), the properties are the unit columns and `rows`, the
/// list of the unit's rows — so a polygon is written once. The collection's own members
/// carry `indicator`, `unit`, `placed`, `not_placed`, `excluded`.
pub fn to_geojson(ctx: &AccessContext<'_>, lists: &Lists, a: &Answer) -> Value {
    let unit_cols = super::UNIT_COLUMNS.len();
    let mut features: Vec<Value> = Vec::new();
    let mut i = 0;
    while i < a.rows.len() {
        let u = a.rows[i].0;
        let end = a.rows[i..]
            .iter()
            .position(|(k, _)| *k != u)
            .map_or(a.rows.len(), |n| i + n);
        let object = |v: &[Value], skip: usize| -> Map<String, Value> {
            a.columns
                .iter()
                .zip(v)
                .skip(skip)
                .map(|(c, x)| ((*c).to_string(), x.clone()))
                .collect()
        };
        let props = if end - i == 1 && !a.multi_row() {
            object(&a.rows[i].1, 0)
        } else {
            let mut p = object(&a.rows[i].1[..unit_cols], 0);
            let rows: Vec<Value> = a.rows[i..end]
                .iter()
                .map(|(_, v)| Value::Object(object(v, unit_cols)))
                .collect();
            p.insert("rows".into(), Value::Array(rows));
            p
        };
        features.push(json!({
            "type": "Feature",
            "geometry": unit_geometry(ctx, lists, &u),
            "properties": props,
        }));
        i = end;
    }
    json!({
        "type": "FeatureCollection",
        "indicator": a.indicator.name(),
        "unit": a.unit.name(),
        "placed": a.placed,
        "not_placed": a.not_placed,
        "excluded": a.excluded,
        "features": features,
    })
}
