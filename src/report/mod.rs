//! Reports for data managers, read from a store: the per-observation sensitivity report
//! GINCO offers (seed 004) and the store summary of `flou info`. Both are administrator
//! tools run on the store's machine, not something served to callers.
#![forbid(unsafe_code)]

use crate::date::Day;
use crate::store::Store;
use std::collections::BTreeMap;
use std::io::Write;

/// Header of `flou sensitivity-report`.
pub const SENSITIVITY_REPORT_HEADER: [&str; 6] = [
    "idSINPOccTax",
    "sensiNiveau",
    "sensiAlerte",
    "cdSl",
    "ruleId",
    "sensitiveUntil",
];

/// Writes one CSV row per live observation (store order), evaluated on `at`:
/// the level in force, `OUI`/`NON` alert, the list and rule chosen (empty when none), and
/// the first day the observation is no longer sensitive (empty when not sensitive now or
/// sensitive with no end). `dataset` keeps only that `idSINPJdd`, as GINCO's per-dataset report.
pub fn sensitivity_report(
    store: &Store,
    at: Day,
    dataset: Option<&str>,
    out: impl Write,
) -> csv::Result<u64> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(SENSITIVITY_REPORT_HEADER)?;
    let mut n = 0;
    for (s, r) in store.live_records() {
        let seg = &store.segments()[s];
        if dataset.is_some_and(|d| d != seg.dataset_name(r)) {
            continue;
        }
        let steps: Vec<_> = seg.steps(r).iter().map(|s| s.to_step()).collect();
        let step = crate::sensitivity::timeline::at(&steps, at);
        let until = crate::sensitivity::timeline::sensitive_until(&steps, at);
        let opt = |v: u32| if v == 0 { String::new() } else { v.to_string() };
        w.write_record([
            seg.id(r),
            step.level.code(),
            if step.alert { "OUI" } else { "NON" },
            &opt(u32::from(step.cd_sl)),
            &opt(step.rule_id),
            &until.map(|d| d.to_string()).unwrap_or_default(),
        ])?;
        n += 1;
    }
    w.flush()?;
    Ok(n)
}

/// What `flou info` prints.
#[derive(Debug, serde::Serialize)]
pub struct StoreInfo {
    pub path: String,
    pub format_version: u32,
    pub generation: u64,
    pub created: String,
    pub segments: usize,
    pub records: u64,
    pub live_records: u64,
    pub communes: usize,
    pub departements: usize,
    pub datasets: usize,
    /// `[min_lon, min_lat, max_lon, max_lat]` of the observations.
    pub extent: Option<[f64; 4]>,
    pub first_date: Option<String>,
    pub last_date: Option<String>,
    /// Bytes of the segments (observations and their indexes).
    pub segment_bytes: u64,
    /// Bytes of the areas file (commune and department geometry).
    pub areas_bytes: u64,
    /// Segment bytes per record, strings and indexes included.
    pub bytes_per_record: f64,
    /// Live observations per sensitivity level in force on `on`.
    pub per_level: BTreeMap<String, u64>,
    pub on: String,
}

pub fn store_info(store: &Store, on: Day) -> StoreInfo {
    let mut extent: Option<[i32; 4]> = None;
    let (mut first, mut last) = (None::<Day>, None::<Day>);
    let mut per_level = BTreeMap::new();
    let mut datasets = std::collections::HashSet::new();
    for (s, r) in store.live_records() {
        let seg = &store.segments()[s];
        let (x, y) = (seg.lon_e7()[r], seg.lat_e7()[r]);
        extent = Some(match extent {
            None => [x, y, x, y],
            Some(e) => [e[0].min(x), e[1].min(y), e[2].max(x), e[3].max(y)],
        });
        let d0 = seg.date_debut()[r];
        first = Some(first.map_or(d0, |f| f.min(d0)));
        let d1 = seg.date_fin(r);
        last = Some(last.map_or(d1, |l| l.max(d1)));
        *per_level
            .entry(seg.step_at(r, on).level.code().to_string())
            .or_insert(0) += 1;
        datasets.insert(seg.dataset_name(r));
    }
    let records: u64 = store.segments().iter().map(|s| s.len() as u64).sum();
    let segment_bytes: u64 = store.segments().iter().map(|s| s.size_bytes()).sum();
    let e7 = crate::store::segment::E7;
    StoreInfo {
        path: store.dir().display().to_string(),
        format_version: crate::store::container::FORMAT_VERSION,
        generation: store.manifest().generation,
        created: store.manifest().created.clone(),
        segments: store.segments().len(),
        records,
        live_records: store.live_count(),
        communes: store.areas().commune_count(),
        departements: store.areas().departement_count(),
        datasets: datasets.len(),
        extent: extent.map(|e| e.map(|v| f64::from(v) / e7)),
        first_date: first.map(|d| d.to_string()),
        last_date: last.map(|d| d.to_string()),
        segment_bytes,
        areas_bytes: store.areas().size_bytes(),
        bytes_per_record: if records > 0 {
            segment_bytes as f64 / records as f64
        } else {
            0.0
        },
        per_level,
        on: on.to_string(),
    }
}
