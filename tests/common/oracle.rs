//! The test's own reading of the diffusion rules (DOMAIN.md), independent of flou's access
//! module, and the synthetic input the leak tests share.

use super::*;
use flou::access::diffusion::PublicPolicy;
use flou::access::index::DayIndex;
use flou::access::view::{AccessContext, RecordFilter};
use flou::access::Caller;
use flou::date::Day;
use flou::geo::grid::GridSize;
use flou::geo::webmercator::TileId;
use flou::server::Loaded;
use flou::tiles::mvt::TileEncoder;
use flou::tiles::render::{render, AggregateMode, TileRequest, ZoomPlan, BUFFER, EXTENT};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The test's own precision scale (coarser = larger), from DOMAIN.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Blur {
    Precise,
    Km1,
    Km2,
    Commune,
    Km5,
    Km10,
    Km20,
    Km50,
    Departement,
    Hidden,
}

pub fn blur_of_level(level: &str) -> Blur {
    match level {
        "0" => Blur::Precise,
        "1" => Blur::Commune,
        "2" | "2.4" => Blur::Km10,
        "3" | "2.7" => Blur::Departement,
        "4" | "2.8" => Blur::Hidden,
        "2.1" => Blur::Km1,
        "2.2" => Blur::Km2,
        "2.3" => Blur::Km5,
        "2.5" => Blur::Km20,
        "2.6" => Blur::Km50,
        other => panic!("unknown level {other}"),
    }
}

pub fn level_rank(level: &str) -> u8 {
    match level {
        "0" => 0,
        "1" => 1,
        "3" => 3,
        "4" | "2.8" => 4,
        _ => 2,
    }
}

#[derive(Clone, Debug)]
pub struct Row {
    pub fields: Vec<String>,
    pub id: String,
    pub cd_nom: u32,
    pub cd_ref: u32,
    pub debut: String,
    pub fin: String,
    pub dataset: String,
    pub dsp: String,
    pub producer: String,
    pub lon: f64,
    pub lat: f64,
    pub commune: String,
}

pub struct Input {
    pub header: Vec<String>,
    pub rows: Vec<Row>,
}

pub fn read_input(path: &Path) -> Input {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let cd_nom = col("cdNom");
    let (id, cd_ref, debut, fin, ds, dsp, prod, lon, lat, com) = (
        col("idSINPOccTax"),
        col("cdRef"),
        col("dateDebut"),
        col("dateFin"),
        col("idSINPJdd"),
        col("dSPublique"),
        col("diffusionNiveauPrecision"),
        col("longitude"),
        col("latitude"),
        col("codeCommune"),
    );
    let rows = r
        .records()
        .map(|rec| {
            let rec = rec.unwrap();
            Row {
                fields: rec.iter().map(String::from).collect(),
                id: rec[id].to_string(),
                cd_nom: rec[cd_nom].parse().unwrap(),
                cd_ref: rec[cd_ref].parse().unwrap(),
                debut: rec[debut].to_string(),
                fin: rec[fin].to_string(),
                dataset: rec[ds].to_string(),
                dsp: rec[dsp].to_string(),
                producer: rec[prod].to_string(),
                lon: rec[lon].parse().unwrap(),
                lat: rec[lat].parse().unwrap(),
                commune: rec[com].to_string(),
            }
        })
        .collect();
    Input { header, rows }
}

pub fn write_input(path: &Path, input: &Input) {
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(&input.header).unwrap();
    let col = |n: &str| input.header.iter().position(|h| h == n).unwrap();
    let (lon, lat, com) = (col("longitude"), col("latitude"), col("codeCommune"));
    for r in &input.rows {
        let mut f = r.fields.clone();
        f[lon] = format!("{:.7}", r.lon);
        f[lat] = format!("{:.7}", r.lat);
        f[com] = r.commune.clone();
        w.write_record(&f).unwrap();
    }
    w.flush().unwrap();
}

/// The blur this test expects for a caller, from the rules of DOMAIN.md and the issue.
pub fn expected_blur(r: &Row, level: &str, caller: &Caller, min: Blur) -> Blur {
    if let Caller::Agent { grants, .. } = caller {
        let dept = &r.commune[..2];
        let covered = grants.iter().any(|g| {
            level_rank(level) <= g.max_sensitivity
                && g.departements
                    .as_ref()
                    .is_none_or(|d| d.iter().any(|x| x == dept))
                && g.communes.as_ref().is_none_or(|c| c.contains(&r.commune))
                && g.taxa.as_ref().is_none_or(|t| t.contains(&r.cd_ref))
                && g.from
                    .is_none_or(|f| r.debut.as_str() >= f.to_string().as_str())
                && g.to
                    .is_none_or(|t| r.fin.as_str() <= t.to_string().as_str())
                && g.datasets.as_ref().is_none_or(|d| d.contains(&r.dataset))
        });
        if covered {
            return Blur::Precise;
        }
    }
    let mut b = blur_of_level(level);
    let producer = match r.producer.as_str() {
        "1" => Blur::Commune,
        "2" => Blur::Km10,
        "3" => Blur::Departement,
        "4" => Blur::Hidden,
        _ => Blur::Precise,
    };
    b = b.max(producer);
    if r.dsp == "Pr" && (r.producer.is_empty() || r.producer == "0") {
        b = b.max(Blur::Commune);
    }
    b.max(min)
}

pub fn grid(b: Blur) -> Option<GridSize> {
    match b {
        Blur::Km1 => Some(GridSize::Km1),
        Blur::Km2 => Some(GridSize::Km2),
        Blur::Km5 => Some(GridSize::Km5),
        Blur::Km10 => Some(GridSize::Km10),
        Blur::Km20 => Some(GridSize::Km20),
        Blur::Km50 => Some(GridSize::Km50),
        _ => None,
    }
}

pub fn levels_of(store: &Path) -> HashMap<String, String> {
    let text = flou_ok(&[
        "sensitivity-report",
        "--store",
        store.to_str().unwrap(),
        "--at",
        &Day::today().to_string(),
    ]);
    text.lines()
        .skip(1)
        .map(|l| {
            let mut f = l.split(',');
            (f.next().unwrap().to_string(), f.next().unwrap().to_string())
        })
        .collect()
}

pub fn render_tile(
    l: &Loaded,
    policy: PublicPolicy,
    caller: &Caller,
    filter: &RecordFilter,
    t: TileId,
    aggregate: AggregateMode,
    index: Option<&DayIndex>,
) -> Vec<u8> {
    render_tile_with(
        l,
        policy,
        caller,
        filter,
        t,
        aggregate,
        index,
        &ZoomPlan::default(),
    )
}

/// [`render_tile`] with a zoom plan.
#[allow(clippy::too_many_arguments)]
pub fn render_tile_with(
    l: &Loaded,
    policy: PublicPolicy,
    caller: &Caller,
    filter: &RecordFilter,
    t: TileId,
    aggregate: AggregateMode,
    index: Option<&DayIndex>,
    plan: &ZoomPlan,
) -> Vec<u8> {
    with_request(
        l,
        policy,
        caller,
        filter,
        t,
        aggregate,
        index,
        |ctx, req| render(ctx, req, plan, &mut TileEncoder::new(EXTENT, BUFFER)),
    )
}

/// Runs `f` with the context and request [`render_tile_with`] renders from.
#[allow(clippy::too_many_arguments)]
pub fn with_request<T>(
    l: &Loaded,
    policy: PublicPolicy,
    caller: &Caller,
    filter: &RecordFilter,
    t: TileId,
    aggregate: AggregateMode,
    index: Option<&DayIndex>,
    f: impl FnOnce(&AccessContext<'_>, &TileRequest<'_>) -> T,
) -> T {
    let ctx =
        AccessContext::new(&l.store, &l.areas, &l.taxonomy, policy, &l.cells).with_index(index);
    let req = TileRequest {
        tile: t,
        caller,
        filter,
        today: Day::today(),
        aggregate,
    };
    f(&ctx, &req)
}

/// Synthetic input with declared levels on some rows (so every kind of area occurs).
pub fn synthetic_input(dir: &Path) -> PathBuf {
    let raw = dir.join("synth.csv");
    flou_ok(&[
        "synth",
        "--records",
        "3000",
        "--seed",
        "11",
        "--out",
        raw.to_str().unwrap(),
    ]);
    let mut r = csv::Reader::from_path(&raw).unwrap();
    let mut header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    header.push("sensiNiveau".into());
    let path = dir.join("input.csv");
    let mut w = csv::Writer::from_path(&path).unwrap();
    w.write_record(&header).unwrap();
    let declared = ["", "", "", "3", "2.3", "1", "2.8", "2.1", "2", "2.6"];
    for (i, rec) in r.records().enumerate() {
        let mut f: Vec<String> = rec.unwrap().iter().map(String::from).collect();
        f.push(declared[i % declared.len()].to_string());
        w.write_record(&f).unwrap();
    }
    w.flush().unwrap();
    path
}

/// [`synthetic_input`] ingested: its rows, the levels in force today and the opened store.
pub struct SyntheticStore {
    pub dir: tempfile::TempDir,
    pub store: PathBuf,
    pub input: Input,
    pub levels: HashMap<String, String>,
    pub loaded: Loaded,
}

pub fn synthetic_store() -> SyntheticStore {
    let dir = tempfile::tempdir().unwrap();
    let input_path = synthetic_input(dir.path());
    let input = read_input(&input_path);
    let store = dir.path().join("store");
    ingest(&input_path, &store);
    let levels = levels_of(&store);
    let loaded = Loaded::open(&store, Some(&data().join("taxonomy/bib_noms.csv"))).unwrap();
    SyntheticStore {
        dir,
        store,
        input,
        levels,
        loaded,
    }
}

/// Web-Mercator world pixel (4096 per tile) of a point at zoom `z`, written here from the
/// formulas (not flou's projection).
pub fn pixel(lon: f64, lat: f64, z: u8) -> (f64, f64) {
    let n = f64::from(1u32 << z) * 4096.0;
    let x = (lon + 180.0) / 360.0 * n;
    let r = lat.to_radians();
    let y = (1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n;
    (x, y)
}
