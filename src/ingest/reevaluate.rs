//! `flou reevaluate`: a new sensitivity referential or taxonomy applied to every stored
//! observation, from the fields the segments keep (department of the commune, cd_nom, the
//! file's own cdRef, end date, biological status, behaviour, declared sensiNiveau) — the
//! observation files are not read again. Every segment is rewritten with the same records
//! in the same order (cd_ref and timelines recomputed, everything else copied), and the new
//! generation is published by manifest rename.

use super::pipeline::{evaluate, load_rules, referentials_json, EvaluationInput, ReferentialPaths};
use crate::date::Day;
use crate::error::Result;
use crate::sensitivity::{SensiNiveau, SensitivityStep};
use crate::store::dict::Interner;
use crate::store::manifest::{SegmentEntry, Staging};
use crate::store::segment::{self, SegmentContents, ABSENT};
use crate::store::Store;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Clone, Debug)]
pub struct ReevaluateOptions {
    pub store: PathBuf,
    /// Rules, lists, department → region table and taxonomy (areas are the store's).
    pub referentials: ReferentialPaths,
    /// The day "changed level" is evaluated on.
    pub today: Day,
}

/// Changes for one taxon or one department (live observations only).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ChangeCount {
    /// Observations whose level in force today changed.
    pub changed_level: u64,
    /// Observations whose timeline changed at all (levels, end dates, rule, alert).
    pub changed_timeline: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TaxonChange {
    pub cd_ref: u32,
    /// From the new taxonomy, when it knows the taxon.
    pub name: Option<String>,
    #[serde(flatten)]
    pub count: ChangeCount,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DepartementChange {
    pub code: String,
    pub name: String,
    #[serde(flatten)]
    pub count: ChangeCount,
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ReevaluateReport {
    pub generation: u64,
    pub day: String,
    /// Live observations evaluated.
    pub observations: u64,
    #[serde(flatten)]
    pub total: ChangeCount,
    /// Observations whose valid name (cd_ref) changed with the taxonomy.
    pub changed_cd_ref: u64,
    /// "old → new" level today, for the observations whose level changed.
    pub transitions: BTreeMap<String, u64>,
    /// Taxa (new cd_ref) with at least one change, most changes first.
    pub per_taxon: Vec<TaxonChange>,
    /// Departments with at least one change, by code.
    pub per_departement: Vec<DepartementChange>,
    pub seconds: f64,
}

/// Re-evaluates every observation of the store and publishes the result.
pub fn run_reevaluate(opts: &ReevaluateOptions) -> Result<ReevaluateReport> {
    let start = Instant::now();
    let store = Store::open(&opts.store)?;
    let (sensitivity, taxonomy) = load_rules(&opts.referentials)?;
    let areas = store.areas();
    let mut report = ReevaluateReport {
        day: opts.today.to_string(),
        ..ReevaluateReport::default()
    };
    let mut per_taxon: BTreeMap<u32, ChangeCount> = BTreeMap::new();
    let mut per_dept: BTreeMap<u16, ChangeCount> = BTreeMap::new();
    let mut contents = Vec::with_capacity(store.segments().len());
    for (s, seg) in store.segments().iter().enumerate() {
        let mut timelines: Interner<Vec<SensitivityStep>> = Interner::default();
        let mut records = Vec::with_capacity(seg.len());
        for r in 0..seg.len() {
            let mut row = seg.row(r);
            let dept = areas.commune_departement(row.commune as usize);
            let (cd_ref, steps) = evaluate(
                &sensitivity,
                &taxonomy,
                &EvaluationInput {
                    departement: areas.departement_code(dept as usize),
                    cd_nom: row.cd_nom,
                    cd_ref_given: (row.cd_ref_given != 0).then_some(row.cd_ref_given),
                    statut_biologique: (row.statut_biologique != ABSENT)
                        .then_some(row.statut_biologique),
                    comportement: (row.comportement != ABSENT).then_some(row.comportement),
                    date_fin: seg.date_fin(r),
                    declared: SensiNiveau::from_u8(row.declared),
                },
            );
            if store.is_live(s, r) {
                report.observations += 1;
                let old: Vec<SensitivityStep> = seg.steps(r).iter().map(|x| x.to_step()).collect();
                let old_level = crate::sensitivity::timeline::at(&old, opts.today).level;
                let new_level = crate::sensitivity::timeline::at(&steps, opts.today).level;
                let change = ChangeCount {
                    changed_level: u64::from(old_level != new_level),
                    changed_timeline: u64::from(old != steps),
                };
                report.changed_cd_ref += u64::from(cd_ref != row.cd_ref);
                if change.changed_timeline > 0 {
                    if change.changed_level > 0 {
                        *report
                            .transitions
                            .entry(format!("{} → {}", old_level.code(), new_level.code()))
                            .or_insert(0) += 1;
                    }
                    for c in [
                        &mut report.total,
                        per_taxon.entry(cd_ref).or_default(),
                        per_dept.entry(dept).or_default(),
                    ] {
                        c.changed_level += change.changed_level;
                        c.changed_timeline += change.changed_timeline;
                    }
                }
            }
            row.cd_ref = cd_ref;
            row.timeline = timelines.intern(steps.as_slice());
            records.push(row);
        }
        let meta = serde_json::json!({
            "kind": "reevaluate",
            "referentials": referentials_json(&opts.referentials),
            "previous": serde_json::from_str::<serde_json::Value>(seg.meta()).unwrap_or_default(),
        });
        contents.push(SegmentContents {
            // Same records in the same order: the sort key (commune, position, date, id)
            // does not depend on what changed.
            records,
            datasets: (0..seg.dataset_count())
                .map(|d| seg.dataset_value(d as u32).to_string())
                .collect(),
            nom_cites: (0..seg.nom_cite_count())
                .map(|n| seg.nom_cite_value(n as u32).to_string())
                .collect(),
            timelines: timelines.into_values(),
            commune_departements: areas.commune_departements().to_vec(),
            departement_count: areas.departement_count(),
            tombstones: seg.tombstones().map(str::to_string).collect(),
            meta: meta.to_string(),
        });
    }

    let mut staging = Staging::begin(&opts.store)?;
    let mut manifest = store.manifest().clone();
    manifest.generation = staging.generation();
    manifest.created = chrono::Local::now().to_rfc3339();
    manifest.segments = Vec::with_capacity(contents.len());
    for c in &contents {
        let (file, path) = staging.new_file("seg");
        let bytes = segment::write_segment(&path, c)?;
        manifest.segments.push(SegmentEntry {
            file,
            records: c.records.len() as u64,
            bytes,
        });
    }
    report.generation = manifest.generation;
    report.per_taxon = per_taxon
        .into_iter()
        .map(|(cd_ref, count)| TaxonChange {
            cd_ref,
            name: taxonomy.name(cd_ref).map(str::to_string),
            count,
        })
        .collect();
    report.per_taxon.sort_by(|a, b| {
        (b.count.changed_timeline, b.count.changed_level, a.cd_ref).cmp(&(
            a.count.changed_timeline,
            a.count.changed_level,
            b.cd_ref,
        ))
    });
    report.per_departement = per_dept
        .into_iter()
        .map(|(d, count)| DepartementChange {
            code: areas.departement_code(d as usize).to_string(),
            name: areas.departement_name(d as usize).to_string(),
            count,
        })
        .collect();
    report.per_departement.sort_by(|a, b| a.code.cmp(&b.code));
    drop(contents);
    let base = store.manifest().generation;
    drop(store);
    staging.publish_over(base, &manifest)?;
    report.seconds = start.elapsed().as_secs_f64();
    Ok(report)
}
