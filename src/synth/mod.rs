//! `flou synth`: realistic synthetic SINP CSV for scale tests.
//!
//! Observations cluster around hotspots placed inside real communes (a heavy-tailed weight
//! per hotspot, as naturalists' effort is), taxa follow a skewed frequency over the real
//! taxonomy, and a few percent are real sensitive taxa of the hotspot's department drawn
//! from the real referential, so a realistic share comes out sensitive. Dates span decades,
//! weighted to recent years; datasets, public/private status and producer restrictions vary.
//! Deterministic for a given seed, generated in parallel chunks.
#![forbid(unsafe_code)]

use crate::admin::AdminAreas;
use crate::ingest::pipeline::ReferentialPaths;
use crate::ingest::IngestError;
use crate::sensitivity::SensitivityReferential;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

pub const HEADER: &str = "idSINPOccTax,cdNom,cdRef,nomCite,dateDebut,dateFin,occStatutBiologique,occComportement,dSPublique,diffusionNiveauPrecision,idSINPJdd,longitude,latitude,codeCommune";

/// Share of observations drawn among the department's sensitive taxa.
const SENSITIVE_SHARE: f64 = 0.06;
const CHUNK: u64 = 1 << 16;

struct Hotspot {
    lon: f64,
    lat: f64,
    /// Scatter (standard deviation) in metres.
    sigma_m: f64,
    departement: usize,
    dataset: usize,
}

struct Taxon {
    cd_nom: u32,
    cd_ref: u32,
    name: String,
}

struct Model {
    /// To write `codeCommune` (the SINP attached commune) of each generated point.
    areas: AdminAreas,
    hotspots: Vec<Hotspot>,
    /// Cumulative hotspot weights, for weighted choice by binary search.
    cumulative: Vec<f64>,
    common: Vec<Taxon>,
    sensitive_by_departement: Vec<Vec<Taxon>>,
    datasets: Vec<String>,
    last_day: crate::date::Day,
}

/// Writes `records` synthetic observations to `out`; returns how many were written.
pub fn write_csv(
    refs: &ReferentialPaths,
    records: u64,
    seed: u64,
    out: &Path,
) -> crate::Result<u64> {
    let model = build_model(refs, records, seed)?;
    let io = |e| IngestError::Io {
        path: out.display().to_string(),
        source: e,
    };
    let file = std::fs::File::create(out).map_err(io)?;
    let mut w = std::io::BufWriter::with_capacity(1 << 22, file);
    writeln!(w, "{HEADER}").map_err(io)?;
    let chunks = records.div_ceil(CHUNK);
    // A window of chunks at a time keeps memory bounded while both cores generate.
    let window = 8u64;
    let mut c = 0;
    while c < chunks {
        let end = (c + window).min(chunks);
        let texts: Vec<String> = (c..end)
            .into_par_iter()
            .map(|k| {
                let n = CHUNK.min(records - k * CHUNK);
                chunk_text(&model, seed, k, n)
            })
            .collect();
        for t in texts {
            w.write_all(t.as_bytes()).map_err(io)?;
        }
        c = end;
    }
    w.flush().map_err(io)?;
    Ok(records)
}

fn build_model(refs: &ReferentialPaths, records: u64, seed: u64) -> crate::Result<Model> {
    let (areas, sensitivity) = rayon::join(
        || AdminAreas::load(&refs.communes, &refs.departements),
        || SensitivityReferential::load(&refs.rules, &refs.lists, &refs.departement_regions),
    );
    let (areas, sensitivity) = (areas?, sensitivity?);
    let common = match &refs.taxonomy {
        Some(p) => read_taxa(p)?,
        None => Vec::new(),
    };
    let common = if common.is_empty() {
        // No taxonomy: a handful of frequent real taxa.
        [
            (3608, "Dryocopus martius"),
            (53754, "Aglais urticae"),
            (4355, "Parus montanus"),
        ]
        .into_iter()
        .map(|(c, n)| Taxon {
            cd_nom: c,
            cd_ref: c,
            name: n.into(),
        })
        .collect()
    } else {
        common
    };
    let names: std::collections::HashMap<u32, &str> =
        common.iter().map(|t| (t.cd_nom, t.name.as_str())).collect();
    let sensitive_by_departement = areas
        .departements
        .iter()
        .map(|d| {
            let mut taxa: Vec<u32> = sensitivity.sensitive_taxa(&d.code).collect();
            taxa.sort_unstable();
            taxa.dedup();
            taxa.into_iter()
                .map(|c| Taxon {
                    cd_nom: c,
                    cd_ref: c,
                    name: names
                        .get(&c)
                        .map_or_else(|| format!("Taxon {c}"), |n| (*n).to_string()),
                })
                .collect()
        })
        .collect();

    let mut rng = SmallRng::seed_from_u64(seed);
    let n_datasets = (records / 20_000).clamp(5, 200) as usize;
    let datasets: Vec<String> = (0..n_datasets).map(|_| uuid(&mut rng)).collect();
    let n_hotspots = (records / 400).clamp(50, 25_000) as usize;
    let mut hotspots = Vec::with_capacity(n_hotspots);
    let mut cumulative = Vec::with_capacity(n_hotspots);
    let mut total = 0.0;
    let mut attempts = 0;
    while hotspots.len() < n_hotspots && attempts < n_hotspots * 20 {
        attempts += 1;
        let ci = rng.gen_range(0..areas.communes.len());
        let c = &areas.communes[ci];
        let lon = rng.gen_range(c.bbox.min[0]..=c.bbox.max[0]);
        let lat = rng.gen_range(c.bbox.min[1]..=c.bbox.max[1]);
        if areas.locate(lon, lat) != Some(ci as u32) {
            continue;
        }
        // Pareto-like effort: a few hotspots (reserves, towns) gather most observations.
        let weight = 1.0 / (1.0 - rng.gen::<f64>()).powf(0.8);
        total += weight;
        cumulative.push(total);
        hotspots.push(Hotspot {
            lon,
            lat,
            sigma_m: 50.0 + 2_000.0 * rng.gen::<f64>().powi(2),
            departement: c.departement as usize,
            dataset: rng.gen_range(0..n_datasets),
        });
    }
    Ok(Model {
        areas,
        hotspots,
        cumulative,
        common,
        sensitive_by_departement,
        datasets,
        last_day: crate::date::Day::today(),
    })
}

/// The cd_nom / cd_ref / name columns of a taxonomy file (GeoNature bib_noms or TAXREF).
fn read_taxa(path: &Path) -> crate::Result<Vec<Taxon>> {
    let err = |reason: String| IngestError::File {
        file: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| IngestError::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    let delimiter = if text.lines().next().is_some_and(|l| l.contains('\t')) {
        b'\t'
    } else {
        b','
    };
    let mut r = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let headers = r.headers().map_err(|e| err(e.to_string()))?.clone();
    let col = |names: &[&str]| {
        headers
            .iter()
            .position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)))
    };
    let cd_nom = col(&["cd_nom"]).ok_or_else(|| err("no cd_nom column".into()))?;
    let cd_ref = col(&["cd_ref"]).unwrap_or(cd_nom);
    let name = col(&["lb_nom", "nom_francais", "nom_valide"]);
    let mut taxa = Vec::new();
    for rec in r.records().flatten() {
        let (Some(Ok(n)), Some(Ok(rf))) = (
            rec.get(cd_nom).map(str::parse),
            rec.get(cd_ref).map(str::parse),
        ) else {
            continue;
        };
        let label = name.and_then(|i| rec.get(i)).unwrap_or("").to_string();
        taxa.push(Taxon {
            cd_nom: n,
            cd_ref: rf,
            name: if label.is_empty() {
                format!("Taxon {n}")
            } else {
                label
            },
        });
    }
    Ok(taxa)
}

fn uuid(rng: &mut SmallRng) -> String {
    let a: u128 = rng.gen();
    let h = format!("{a:032x}");
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// Standard normal deviate (Box–Muller).
fn normal(rng: &mut SmallRng) -> f64 {
    let u1: f64 = 1.0 - rng.gen::<f64>();
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn chunk_text(m: &Model, seed: u64, chunk: u64, n: u64) -> String {
    let mut rng = SmallRng::seed_from_u64(seed ^ (chunk + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut s = String::with_capacity(n as usize * 170);
    let total = m.cumulative.last().copied().unwrap_or(1.0);
    for _ in 0..n {
        let pick = rng.gen::<f64>() * total;
        let h = &m.hotspots[m
            .cumulative
            .partition_point(|c| *c < pick)
            .min(m.hotspots.len() - 1)];
        let dx = normal(&mut rng) * h.sigma_m;
        let dy = normal(&mut rng) * h.sigma_m;
        let lat = h.lat + dy / 111_320.0;
        let lon = h.lon + dx / (111_320.0 * h.lat.to_radians().cos());
        let sensitive = &m.sensitive_by_departement[h.departement];
        let is_sensitive = !sensitive.is_empty() && rng.gen::<f64>() < SENSITIVE_SHARE;
        let taxon = if is_sensitive {
            &sensitive[rng.gen_range(0..sensitive.len())]
        } else {
            // Skewed: a few common taxa make most observations.
            let u: f64 = rng.gen();
            &m.common[((u * u * u) * m.common.len() as f64) as usize % m.common.len()]
        };
        let status = match (is_sensitive, rng.gen_range(0..10)) {
            (true, 0..=3) => "3",
            (true, 4) => "4",
            (true, _) => "",
            (false, 0..=6) => "",
            (false, 7) => "1",
            (false, 8) => "3",
            (false, _) => "12",
        };
        let years_ago = (46.0 * rng.gen::<f64>().powi(2)) as i32;
        let start = crate::date::Day(m.last_day.0 - years_ago * 365 - rng.gen_range(0..365));
        let end = if rng.gen_range(0..100) < 85 {
            start
        } else {
            crate::date::Day(start.0 + rng.gen_range(1..30))
        };
        let end = crate::date::Day(end.0.min(m.last_day.0));
        let dsp = match rng.gen_range(0..100) {
            0..=64 => "Pu",
            65..=94 => "Pr",
            _ => "NSP",
        };
        let producer = match rng.gen_range(0..100) {
            0..=59 => "",
            60..=84 => "0",
            85..=89 => "1",
            90..=94 => "2",
            _ => "5",
        };
        let dataset = if rng.gen_range(0..10) < 8 {
            &m.datasets[h.dataset]
        } else {
            &m.datasets[rng.gen_range(0..m.datasets.len())]
        };
        let _ = writeln!(
            s,
            "{},{},{},\"{}\",{},{},{},,{},{},{},{:.6},{:.6},{}",
            uuid(&mut rng),
            taxon.cd_nom,
            taxon.cd_ref,
            taxon.name.replace('"', "\"\""),
            start,
            end,
            status,
            dsp,
            producer,
            dataset,
            lon,
            lat,
            m.areas
                .locate(lon, lat)
                .map_or("", |c| m.areas.communes[c as usize].code.as_str())
        );
    }
    s
}
