//! Referential updates: `flou reevaluate` recomputes every stored observation's sensitivity
//! from the fields the store keeps, on a store of two segments. A rule added for one taxon in
//! one department moves its record to level 3; an empty referential leaves only the levels
//! the files declared; the original referential brings back the original levels. At every
//! generation, what the public and an agent are shown matches this test's own oracle
//! (`expected_blur` of tests/common/oracle.rs): a record is drawn as a point exactly when the
//! oracle says it may be, so nothing finer than allowed is served in between.

mod common;

use common::delta::*;
use common::oracle::*;
use common::*;
use flou::access::Caller;
use flou::date::Day;
use flou::geo::webmercator::tiles_covering;
use flou::geo::BBox;
use flou::ingest::pipeline::ReferentialPaths;
use flou::ingest::reevaluate::{run_reevaluate, ReevaluateOptions, ReevaluateReport};
use flou::store::Store;
use flou::tiles::render::{AggregateMode, ZoomPlan};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;

fn reevaluate(store: &Path, rules: &Path) -> ReevaluateReport {
    let mut referentials = ReferentialPaths::embedded(&data());
    referentials.rules = rules.to_path_buf();
    run_reevaluate(&ReevaluateOptions {
        store: store.to_path_buf(),
        referentials,
        today: Day::today(),
    })
    .unwrap()
}

/// For every caller, renders the z14 tile of each record of `rows` and checks its id is
/// drawn as a point exactly when the oracle's blur for `levels` is precise.
fn assert_shown_as_oracle(
    what: &str,
    store: &Path,
    rows: &[&Row],
    levels: &HashMap<String, String>,
    callers: &[(&'static str, Caller, flou::access::diffusion::PublicPolicy)],
) -> usize {
    let l = open(store);
    let mut checked = 0;
    for (name, caller, policy) in callers {
        let min = match policy.min_precision {
            flou::access::diffusion::Precision::Precise => Blur::Precise,
            _ => Blur::Commune,
        };
        let index = flou::server::build_day_index(&l, Day::today(), *policy, &ZoomPlan::default());
        let mut drawn: HashMap<(u32, u32), HashSet<String>> = HashMap::new();
        for r in rows {
            let t = tiles_covering(
                &BBox {
                    min: [r.lon, r.lat],
                    max: [r.lon, r.lat],
                },
                14,
            )
            .next()
            .unwrap();
            let ids = drawn.entry((t.x(), t.y())).or_insert_with(|| {
                let tile = render_tile(
                    &l,
                    *policy,
                    caller,
                    &Default::default(),
                    t,
                    AggregateMode::Grid,
                    Some(&index),
                );
                decode(&tile)
                    .get("observations")
                    .map(|fs| fs.iter().filter_map(|f| prop_str(f, "id")).collect())
                    .unwrap_or_default()
            });
            let level = &levels[&r.id];
            let expected = expected_blur(r, level, caller, min) == Blur::Precise;
            assert_eq!(
                ids.contains(&r.id),
                expected,
                "{what}: {name}: {} at level {level} drawn as a point: {}",
                r.id,
                !expected
            );
            checked += 1;
        }
    }
    checked
}

#[test]
fn referential_changes_move_records_between_levels_and_nothing_finer_is_shown() {
    let dir = tempfile::tempdir().unwrap();
    let raw = synthetic_input(dir.path());
    let probe = dir.path().join("probe");
    full_ingest(&raw, &probe);
    let original_levels = levels_in(&probe);
    let mut input = read_input(&raw);
    input.rows.retain(|r| original_levels.contains_key(&r.id));
    let declared_col = col(&input, "sensiNiveau");

    // A store of two segments: 90 % first, the rest appended.
    let n = input.rows.len() * 9 / 10;
    let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    let part = |rows: &[Row]| Input {
        header: input.header.clone(),
        rows: rows.to_vec(),
    };
    write_input(&a, &part(&input.rows[..n]));
    write_input(&b, &part(&input.rows[n..]));
    let store = dir.path().join("store");
    full_ingest(&a, &store);
    append(&store, &[&b], &[]).unwrap();
    assert_eq!(levels_in(&store), original_levels);

    // The record the new rule targets: not sensitive, nothing declared, public data the
    // producer lets through, whose taxon no rule names yet.
    let ruled: HashSet<u32> = csv::Reader::from_path(data().join("sensitivity/especesensible.csv"))
        .unwrap()
        .records()
        .map(|r| r.unwrap()[2].parse().unwrap())
        .collect();
    let x = input
        .rows
        .iter()
        .find(|r| {
            original_levels[&r.id] == "0"
                && r.fields[declared_col].is_empty()
                && r.dsp == "Pu"
                && matches!(r.producer.as_str(), "" | "0" | "5")
                && !ruled.contains(&r.cd_nom)
                && !ruled.contains(&r.cd_ref)
        })
        .unwrap()
        .clone();
    let dept = x.commune[..2].to_string();

    // Rules for x's taxon in x's department at level 3, one per list (whichever list is in
    // force there), no duration, no condition.
    let rules_text =
        std::fs::read_to_string(data().join("sensitivity/especesensible.csv")).unwrap();
    let max_id: u32 = csv::Reader::from_path(data().join("sensitivity/especesensible.csv"))
        .unwrap()
        .records()
        .map(|r| r.unwrap()[1].parse::<u32>().unwrap())
        .max()
        .unwrap();
    let lists: BTreeSet<String> =
        csv::Reader::from_path(data().join("sensitivity/especesensiblelistes.csv"))
            .unwrap()
            .records()
            .map(|r| r.unwrap()[6].to_string())
            .collect();
    let mut added = rules_text.trim_end().to_string();
    for (k, cd_sl) in lists.iter().enumerate() {
        added.push_str(&format!(
            "\n{dept},{},{},,3,,{cd_sl},,test rule",
            max_id + 1 + k as u32,
            x.cd_nom
        ));
    }
    added.push('\n');
    let with_rule = dir.path().join("with-rule.csv");
    std::fs::write(&with_rule, added).unwrap();
    let empty = dir.path().join("empty.csv");
    std::fs::write(
        &empty,
        rules_text.lines().next().unwrap().to_string() + "\n",
    )
    .unwrap();

    let sensitive_taxon = input
        .rows
        .iter()
        .find(|r| original_levels[&r.id] != "0")
        .unwrap()
        .cd_ref;
    let callers = callers(sensitive_taxon);
    // Rows whose tiles are looked at: x, every record of its taxon, and a sample.
    let mut watched: Vec<&Row> = input
        .rows
        .iter()
        .filter(|r| r.cd_nom == x.cd_nom || r.cd_ref == x.cd_ref)
        .collect();
    watched.extend(input.rows.iter().step_by(15));
    let checked =
        assert_shown_as_oracle("generation 2", &store, &watched, &original_levels, &callers);
    assert!(checked > 500);

    // 1. The rule: x moves from 0 to 3; nothing outside x's department changes.
    let report = reevaluate(&store, &with_rule);
    assert_eq!(report.generation, 3);
    let after_rule = levels_in(&store);
    assert_eq!(after_rule[&x.id], "3");
    for r in &input.rows {
        if r.commune[..2] != dept {
            assert_eq!(after_rule[&r.id], original_levels[&r.id], "{}", r.id);
        }
    }
    let changed: Vec<&Row> = input
        .rows
        .iter()
        .filter(|r| after_rule[&r.id] != original_levels[&r.id])
        .collect();
    assert_eq!(report.total.changed_level, changed.len() as u64);
    assert!(report.transitions.get("0 → 3").copied().unwrap_or(0) >= 1);
    assert_eq!(
        report
            .per_departement
            .iter()
            .map(|d| d.code.as_str())
            .collect::<Vec<_>>(),
        vec![dept.as_str()]
    );
    assert!(report.per_taxon.iter().any(|t| t.cd_ref == x.cd_ref));
    let s = Store::open(&store).unwrap();
    assert_eq!(s.segments().len(), 2, "same segments, rewritten");
    assert_eq!(s.live_count() as usize, input.rows.len());
    drop(s);
    assert_shown_as_oracle(
        "generation 3 (rule added)",
        &store,
        &watched,
        &after_rule,
        &callers,
    );

    // 2. An empty referential: each record keeps only the level its file declared.
    let report = reevaluate(&store, &empty);
    let declared_only: HashMap<String, String> = input
        .rows
        .iter()
        .map(|r| {
            let d = &r.fields[declared_col];
            let level = if d.is_empty() {
                "0".to_string()
            } else {
                d.clone()
            };
            (r.id.clone(), level)
        })
        .collect();
    assert_eq!(levels_in(&store), declared_only);
    let expected_changes = input
        .rows
        .iter()
        .filter(|r| after_rule[&r.id] != declared_only[&r.id])
        .count() as u64;
    assert_eq!(report.total.changed_level, expected_changes);
    assert!(expected_changes > 10);
    let mut all_watched = watched.clone();
    all_watched.extend(
        input
            .rows
            .iter()
            .filter(|r| after_rule[&r.id] != declared_only[&r.id]),
    );
    assert_shown_as_oracle(
        "generation 4 (empty)",
        &store,
        &all_watched,
        &declared_only,
        &callers,
    );

    // 3. The original referential: the original levels, and what a fresh ingest serves.
    reevaluate(&store, &data().join("sensitivity/especesensible.csv"));
    assert_eq!(levels_in(&store), original_levels);
    assert_eq!(
        live_records(&Store::open(&store).unwrap()),
        live_records(&Store::open(&probe).unwrap())
    );
    assert_shown_as_oracle(
        "generation 5 (original)",
        &store,
        &all_watched,
        &original_levels,
        &callers,
    );
}
