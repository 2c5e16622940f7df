//! Extract files with SINP field names, as CSV (geometry as WKT), GeoJSON or FlatGeobuf.
//! A blurred row's geometry is its diffusion area; its id is empty (see the module doc).

use super::{area_code, area_geometry, group_of, precision_label, ExtractError};
use crate::access::diffusion::DiffusionArea;
use crate::access::view::{AccessContext, Shown};
use crate::geo::MultiPolygon;
use crate::taxonomy::Taxonomy;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write;

/// The columns, in order (the CSV adds `geometrie` as WKT).
pub const FIELDS: [&str; 10] = [
    "idSINPOccTax",
    "cdRef",
    "nomCite",
    "dateDebut",
    "dateFin",
    "idSINPJdd",
    "sensiNiveau",
    "precisionDiffusion",
    "codeDiffusion",
    "groupeTaxonomique",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    GeoJson,
    FlatGeobuf,
    Csv,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "geojson" => Some(Format::GeoJson),
            "fgb" => Some(Format::FlatGeobuf),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::GeoJson => "geojson",
            Format::FlatGeobuf => "fgb",
            Format::Csv => "csv",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::GeoJson => "application/geo+json",
            Format::FlatGeobuf => "application/flatgeobuf",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }
}

fn ring_wkt(out: &mut String, ring: &[[f64; 2]]) {
    out.push('(');
    for (i, p) in ring.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{} {}", p[0], p[1]);
    }
    // WKT rings are closed.
    if let (Some(first), Some(last)) = (ring.first(), ring.last()) {
        if first != last {
            let _ = write!(out, ", {} {}", first[0], first[1]);
        }
    }
    out.push(')');
}

fn multipolygon_wkt(m: &MultiPolygon) -> String {
    let mut out = String::from("MULTIPOLYGON (");
    for (i, p) in m.polygons.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push('(');
        ring_wkt(&mut out, &p.exterior);
        for h in &p.interiors {
            out.push_str(", ");
            ring_wkt(&mut out, h);
        }
        out.push(')');
    }
    out.push(')');
    out
}

/// The WKT geometry of each row: the point of a precise record, else its area's polygon
/// (computed once per area).
struct Geometries<'c, 'a> {
    ctx: &'c AccessContext<'a>,
    areas: HashMap<DiffusionArea, String>,
    areas_geojson: HashMap<DiffusionArea, String>,
}

impl Geometries<'_, '_> {
    fn wkt(&mut self, s: &Shown<'_>) -> String {
        if let (DiffusionArea::Precise, Some(p)) = (s.area, s.position) {
            return format!("POINT ({} {})", p[0], p[1]);
        }
        let ctx = self.ctx;
        self.areas
            .entry(s.area)
            .or_insert_with(|| {
                area_geometry(ctx, &s.area)
                    .map(|g| multipolygon_wkt(&g))
                    .unwrap_or_else(|| "MULTIPOLYGON EMPTY".into())
            })
            .clone()
    }
}

fn values(ctx: &AccessContext<'_>, taxonomy: &Taxonomy, s: &Shown<'_>) -> [String; 10] {
    [
        s.id().unwrap_or("").to_string(),
        s.cd_ref.to_string(),
        s.nom_cite().to_string(),
        s.date_debut.to_string(),
        s.date_fin.to_string(),
        s.dataset().to_string(),
        s.level.code().to_string(),
        precision_label(&s.area),
        area_code(ctx, &s.area),
        group_of(taxonomy, s.cd_ref).to_string(),
    ]
}

/// Writes `rows` in `format` into a byte vector.
pub fn write(
    ctx: &AccessContext<'_>,
    taxonomy: &Taxonomy,
    rows: &[&Shown<'_>],
    format: Format,
    name: &str,
) -> Result<Vec<u8>, ExtractError> {
    let mut geoms = Geometries {
        ctx,
        areas: HashMap::new(),
        areas_geojson: HashMap::new(),
    };
    let werr = |e: &dyn std::fmt::Display| ExtractError::Write(name.to_string(), e.to_string());
    match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let mut header: Vec<&str> = FIELDS.to_vec();
            header.push("geometrie");
            w.write_record(&header).map_err(|e| werr(&e))?;
            for s in rows {
                let v = values(ctx, taxonomy, s);
                w.write_record(v.iter().map(String::as_str).chain([geoms.wkt(s).as_str()]))
                    .map_err(|e| werr(&e))?;
            }
            w.into_inner().map_err(|e| werr(&e))
        }
        Format::GeoJson => {
            let mut out = Vec::new();
            out.extend_from_slice(b"{\"type\":\"FeatureCollection\",\"features\":[");
            for (i, s) in rows.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let v = values(ctx, taxonomy, s);
                let mut props = serde_json::Map::new();
                for (k, val) in FIELDS.iter().zip(v) {
                    let j = if val.is_empty() {
                        serde_json::Value::Null
                    } else if *k == "cdRef" {
                        serde_json::Value::from(s.cd_ref)
                    } else {
                        serde_json::Value::String(val)
                    };
                    props.insert((*k).to_string(), j);
                }
                // The area's geometry is serialized once and reused for its rows.
                out.extend_from_slice(b"{\"type\":\"Feature\",\"geometry\":");
                out.extend_from_slice(geoms.geojson(s).as_bytes());
                out.extend_from_slice(b",\"properties\":");
                serde_json::to_writer(&mut out, &props).map_err(|e| werr(&e))?;
                out.push(b'}');
            }
            out.extend_from_slice(b"]}\n");
            Ok(out)
        }
        Format::FlatGeobuf => {
            use flatgeobuf::{ColumnType, FgbWriter, FgbWriterOptions, GeometryType};
            use geozero::{ColumnValue, PropertyProcessor};
            let opts = FgbWriterOptions {
                write_index: false,
                detect_type: false,
                promote_to_multi: false,
                crs: flatgeobuf::FgbCrs {
                    code: 4326,
                    ..Default::default()
                },
                ..Default::default()
            };
            let mut fgb = FgbWriter::create_with_options(name, GeometryType::Unknown, opts)
                .map_err(|e| werr(&e))?;
            for f in FIELDS {
                let t = if f == "cdRef" {
                    ColumnType::UInt
                } else {
                    ColumnType::String
                };
                fgb.add_column(f, t, |_, c| c.nullable = true);
            }
            for s in rows {
                let v = values(ctx, taxonomy, s);
                let wkt = geoms.wkt(s);
                let mut perr = None;
                fgb.add_feature_geom(geozero::wkt::Wkt(wkt.as_bytes()), |feat| {
                    for (i, (k, val)) in FIELDS.iter().zip(v.iter()).enumerate() {
                        let col = if *k == "cdRef" {
                            ColumnValue::UInt(s.cd_ref)
                        } else {
                            ColumnValue::String(val)
                        };
                        if val.is_empty() {
                            continue;
                        }
                        if let Err(e) = feat.property(i, k, &col) {
                            perr = Some(e.to_string());
                        }
                    }
                })
                .map_err(|e| werr(&e))?;
                if let Some(e) = perr {
                    return Err(werr(&e));
                }
            }
            let mut out = Vec::new();
            fgb.write(&mut out).map_err(|e| werr(&e))?;
            Ok(out)
        }
    }
}

impl Geometries<'_, '_> {
    /// The GeoJSON geometry of a row, serialized.
    fn geojson(&mut self, s: &Shown<'_>) -> String {
        if s.area == DiffusionArea::Precise {
            return geojson_geometry(self.ctx, s).to_string();
        }
        let ctx = self.ctx;
        self.areas_geojson
            .entry(s.area)
            .or_insert_with(|| geojson_geometry(ctx, s).to_string())
            .clone()
    }
}

fn geojson_geometry(ctx: &AccessContext<'_>, s: &Shown<'_>) -> serde_json::Value {
    if let (DiffusionArea::Precise, Some(p)) = (s.area, s.position) {
        return serde_json::json!({"type": "Point", "coordinates": [p[0], p[1]]});
    }
    match area_geometry(ctx, &s.area) {
        Some(m) => {
            let close = |r: &Vec<[f64; 2]>| {
                let mut r = r.clone();
                if r.first() != r.last() {
                    if let Some(f) = r.first().copied() {
                        r.push(f);
                    }
                }
                r
            };
            let coords: Vec<Vec<Vec<[f64; 2]>>> = m
                .polygons
                .iter()
                .map(|p| {
                    std::iter::once(close(&p.exterior))
                        .chain(p.interiors.iter().map(close))
                        .collect()
                })
                .collect();
            serde_json::json!({"type": "MultiPolygon", "coordinates": coords})
        }
        None => serde_json::Value::Null,
    }
}

/// Writes every file of an extract (`F1`, `F2`, `F3-<group>`) in every format into `dir`,
/// plus `summary.json`; returns the file names.
pub fn write_all(
    ctx: &AccessContext<'_>,
    taxonomy: &Taxonomy,
    extract: &super::Extract<'_>,
    dir: &std::path::Path,
) -> Result<Vec<String>, ExtractError> {
    let io = |p: &std::path::Path, e| ExtractError::Io(p.display().to_string(), e);
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let mut written = Vec::new();
    let summary = dir.join("summary.json");
    let text = serde_json::to_string_pretty(&extract.summary)
        .map_err(|e| ExtractError::Write("summary.json".into(), e.to_string()))?;
    std::fs::write(&summary, text + "\n").map_err(|e| io(&summary, e))?;
    written.push("summary.json".to_string());
    for name in extract.summary.files.keys() {
        let rows = extract.file(name).unwrap_or_default();
        for format in [Format::GeoJson, Format::FlatGeobuf, Format::Csv] {
            let file = format!("{name}.{}", format.extension());
            let bytes = write(ctx, taxonomy, &rows, format, name)?;
            let path = dir.join(&file);
            let mut f = std::fs::File::create(&path).map_err(|e| io(&path, e))?;
            f.write_all(&bytes).map_err(|e| io(&path, e))?;
            written.push(file);
        }
    }
    Ok(written)
}
