//! The algorithm on the real referential (`data/sensitivity/`, GINCO @ 5ea4119). Every
//! expected value comes from the CSV rows quoted in comments (found with grep / Python's
//! csv module), not from this code. Line numbers are where a record starts (header = 1).

use super::*;
use std::path::PathBuf;
use std::sync::OnceLock;

/// The referential folder: the main repository's copy, or the shared data beside it.
fn data_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let candidates = [
        root.join("data/sensitivity"),
        root.join("../shared/data/sensitivity"),
    ];
    candidates
        .iter()
        .find(|d| d.join("especesensible.csv").is_file())
        .cloned()
        .unwrap_or_else(|| panic!("no especesensible.csv in {candidates:?}"))
}

fn real() -> &'static SensitivityReferential {
    static REFERENTIAL: OnceLock<SensitivityReferential> = OnceLock::new();
    REFERENTIAL.get_or_init(|| {
        let d = data_dir();
        SensitivityReferential::load(
            &d.join("especesensible.csv"),
            &d.join("especesensiblelistes.csv"),
            &d.join("departements_regions_2015.csv"),
        )
        .unwrap_or_else(|e| panic!("real referential: {e}"))
    })
}

fn day(s: &str) -> Day {
    Day::parse(s).unwrap()
}

/// An observation with unknown status and behaviour, no declared level.
fn query<'a>(departement: &'a str, taxa: &'a [u32], date_fin: &str) -> SensitivityQuery<'a> {
    SensitivityQuery {
        departement,
        taxa,
        statut_biologique: None,
        comportement: None,
        date_fin: day(date_fin),
        declared: None,
    }
}

fn step(until: Day, level: SensiNiveau, rule_id: u32, cd_sl: u16, alert: bool) -> SensitivityStep {
    SensitivityStep {
        until,
        level,
        rule_id,
        cd_sl,
        alert,
        declared: false,
    }
}

/// The single step of a timeline that must not change with time.
fn only_step(t: &SensitivityTimeline) -> SensitivityStep {
    assert_eq!(t.steps.len(), 1, "expected one step: {t:?}");
    t.steps[0]
}

#[test]
fn loads_every_rule_and_counts_match_python() {
    let r = real();
    // PROVENANCE.md and Python's csv module: 15,155 rules, 2,324 distinct cd_nom; all
    // of them belong to the list in force in their department.
    assert_eq!(r.rules_count(), 15155);
    assert_eq!(r.applicable_rules_count(), 15155);
    let distinct: std::collections::HashSet<u32> = r.rules().iter().map(|x| x.cd_nom).collect();
    assert_eq!(distinct.len(), 2324);
    // line 2: 95,1,79300,,2,Gîtes hypogés et fortifications (…),9,4,Myotis brandtii
    let first = r.rule(1).unwrap();
    assert_eq!(
        (
            first.departement.as_str(),
            first.cd_nom,
            first.duree,
            first.level
        ),
        ("95", 79300, None, SensiNiveau::N2)
    );
    assert_eq!(
        (first.cd_sl, first.statut_biologique, first.line),
        (9, Some(4), 2)
    );
    assert!(first
        .comment
        .as_deref()
        .unwrap()
        .starts_with("Gîtes hypogés"));
    assert_eq!(first.nom_cite, "Myotis brandtii");
    assert_eq!(first.comportement, None);
    assert!(r.rule(0).is_none() && r.rule(15156).is_none());
}

#[test]
fn department_codes_are_normalised() {
    let r = real();
    // line 9903: D4,9902,528736,,2,,15,,"Heterophasma multispinosum Cliquennois & Brock, 2004"
    assert_eq!(r.rule(9902).unwrap().departement, "974");
    let t = r.timeline(&query("974", &[528736], "2019-03-01"));
    assert_eq!(
        only_step(&t),
        step(Day::FOREVER, SensiNiveau::N2, 9902, 15, false)
    );
    // line 2018: 1,2016,78164,,1,,9,,Vipera ursinii — written "1", queried as "01".
    assert_eq!(r.rule(2016).unwrap().departement, "01");
    let t = r.timeline(&query("01", &[78164], "2019-03-01"));
    assert_eq!(
        only_step(&t),
        step(Day::FOREVER, SensiNiveau::N1, 2016, 9, false)
    );
}

#[test]
fn a_rule_applies_only_in_its_department() {
    let r = real();
    // Numenius arquata (2576), list 16 (Languedoc-Roussillon) has it in Lozère only:
    // line 15050: 48,15033,2576,,1,,16,,Numenius arquata
    // line 10869: 31,10868,2576,,1,,14,,Numenius arquata (Linnaeus, 1758)
    let taxa = [2576];
    let lozere = r.timeline(&query("48", &taxa, "2018-05-01"));
    assert_eq!(
        only_step(&lozere),
        step(Day::FOREVER, SensiNiveau::N1, 15033, 16, false)
    );
    // Gard: same region, same list, no rule for it.
    let gard = r.timeline(&query("30", &taxa, "2018-05-01"));
    assert_eq!(only_step(&gard), SensitivityStep::NOT_SENSITIVE);
    let haute_garonne = r.timeline(&query("31", &taxa, "2018-05-01"));
    assert_eq!(only_step(&haute_garonne).rule_id, 10868);
    // Hautes-Alpes (national list): no rule for it.
    assert_eq!(
        only_step(&r.timeline(&query("05", &taxa, "2018-05-01"))),
        SensitivityStep::NOT_SENSITIVE
    );
    // An unreadable department code has no rule.
    assert_eq!(
        only_step(&r.timeline(&query("ZZ", &taxa, "2018-05-01"))),
        SensitivityStep::NOT_SENSITIVE
    );
}

#[test]
fn matches_through_cd_ref_from_the_real_taxonomy() {
    let r = real();
    // bib_noms.csv: 102...,110063,100515,"Omalotheca supina (L.) DC., 1838" (a synonym)
    // especesensible.csv line 7274: 63,7273,100515,,1,,8,,"Gnaphalium supinum L., 1768"
    let tax_dir = data_dir().join("../taxonomy");
    let taxonomy = crate::taxonomy::Taxonomy::load(&tax_dir.join("bib_noms.csv")).unwrap();
    let mut taxa = Vec::new();
    taxonomy.lineage_into(110063, &mut taxa);
    assert_eq!(taxa, [110063, 100515]);
    let t = r.timeline(&query("63", &taxa, "2012-07-01"));
    assert_eq!(
        only_step(&t),
        step(Day::FOREVER, SensiNiveau::N1, 7273, 8, false)
    );
    // The algorithm does not resolve synonyms itself: the cd_nom alone matches nothing.
    let alone = r.timeline(&query("63", &[110063], "2012-07-01"));
    assert_eq!(only_step(&alone), SensitivityStep::NOT_SENSITIVE);
}

#[test]
fn matches_a_rule_on_an_ancestor() {
    let r = real();
    // A species of the genus Islamia (cd_nom absent from the referential, here 999999999)
    // whose ancestors include the genus:
    // line 12550: 31,12532,193637,,1,,14,,"Islamia Radoman, 1973"
    let taxa = [999_999_999, 999_999_999, 193637];
    let t = r.timeline(&query("31", &taxa, "2001-01-01"));
    assert_eq!(
        only_step(&t),
        step(Day::FOREVER, SensiNiveau::N1, 12532, 14, false)
    );
}

#[test]
fn a_regional_list_replaces_the_national_one() {
    let r = real();
    // especesensiblelistes.csv: cd_sl 8 = region 83 (Auvergne: 03, 15, 43, 63), cd_sl 15 =
    // region "4" (Réunion, "04" in the region table), cd_sl 14 = region 73, national = 9.
    for (dept, list) in [
        ("63", 8),
        ("03", 8),
        ("15", 8),
        ("43", 8),
        ("974", 15),
        ("31", 14),
        ("01", 9),
        ("2A", 9),
    ] {
        assert_eq!(r.list_for_departement(dept), list, "department {dept}");
    }
    assert_eq!(r.lists_for_departement("63"), [8]);
    // Vipera ursinii is on the national list in 64 departments (line 2018:
    // 1,2016,78164,,1,,9,,Vipera ursinii) but not on Auvergne's list.
    assert_eq!(
        only_step(&r.timeline(&query("01", &[78164], "2019-03-01"))).rule_id,
        2016
    );
    assert_eq!(
        only_step(&r.timeline(&query("63", &[78164], "2019-03-01"))),
        SensitivityStep::NOT_SENSITIVE
    );
}

#[test]
fn a_rule_with_a_duration_expires() {
    let r = real();
    // line 950: 5,948,3076,10,3,uniquement si observation de nidification,9,3,Grus grus
    let taxa = [3076];
    let mut q = query("05", &taxa, "2015-06-01");
    q.statut_biologique = Some(3);
    let t = r.timeline(&q);
    assert_eq!(
        t.steps,
        [
            step(day("2025-06-01"), SensiNiveau::N3, 948, 9, true),
            SensitivityStep::NOT_SENSITIVE
        ]
    );
    assert_eq!(t.at(day("2025-05-31")).level, SensiNiveau::N3);
    assert_eq!(t.at(day("2025-06-01")).level, SensiNiveau::N0);
    assert_eq!(
        t.sensitive_until(day("2020-01-01")),
        Some(day("2025-06-01"))
    );

    // 1 year from a leap day: line 1017: 5,1015,60577,1,2,uniquement l'emplacement des
    // terriers,9,3,Canis lupus
    let t = r.timeline(&query("05", &[60577], "2020-02-29"));
    assert_eq!(t.steps[0].until, day("2021-02-28"));
    assert_eq!(
        (t.steps[0].level, t.steps[0].rule_id),
        (SensiNiveau::N2, 1015)
    );
    assert_eq!(t.steps[1], SensitivityStep::NOT_SENSITIVE);

    // 20 years: line 946: 5,944,159453,20,2,,9,,Cottus petiti
    let t = r.timeline(&query("05", &[159453], "2003-07-14"));
    assert_eq!(
        t.steps,
        [
            step(day("2023-07-14"), SensiNiveau::N2, 944, 9, false),
            SensitivityStep::NOT_SENSITIVE
        ]
    );
}

#[test]
fn expiring_rules_give_steps_down_to_the_lasting_rule() {
    let r = real();
    // Three real rules of Hautes-Alpes passed together (as an observation's taxon and two
    // ancestors would be):
    // line 950: 5,948,3076,10,3,uniquement si observation de nidification,9,3,Grus grus
    // line 946: 5,944,159453,20,2,,9,,Cottus petiti
    // line 945: 5,943,78164,,1,,9,,Vipera ursinii
    let taxa = [3076, 159453, 78164];
    let t = r.timeline(&query("05", &taxa, "2010-05-01"));
    assert_eq!(
        t.steps,
        [
            step(day("2020-05-01"), SensiNiveau::N3, 948, 9, true),
            step(day("2030-05-01"), SensiNiveau::N2, 944, 9, false),
            step(Day::FOREVER, SensiNiveau::N1, 943, 9, false),
        ]
    );
    assert_eq!(t.at(day("2029-12-31")).rule_id, 944);
    assert_eq!(t.at(day("2031-01-01")).level, SensiNiveau::N1);
    assert_eq!(
        t.sensitive_until(day("2015-01-01")),
        None,
        "sensitive forever"
    );
}

#[test]
fn biological_status_applies_by_precaution() {
    let r = real();
    // line 950: 5,948,3076,10,3,uniquement si observation de nidification,9,3,Grus grus
    let taxa = [3076];
    let level_with = |status: Option<u8>| {
        let mut q = query("05", &taxa, "2015-06-01");
        q.statut_biologique = status;
        r.timeline(&q).at(day("2016-01-01")).level
    };
    for status in [Some(3), None, Some(0), Some(1), Some(2)] {
        assert_eq!(level_with(status), SensiNiveau::N3, "status {status:?}");
    }
    assert_eq!(level_with(Some(4)), SensiNiveau::N0);

    // Plecotus auritus in 05, one rule per status (same level and comment):
    // line 943: 5,941,60518,,2,Gîtes hypogés …,9,7,Plecotus auritus
    // line 944: 5,942,60518,,2,Gîtes hypogés …,9,4,Plecotus auritus
    // line 973: 5,971,60518,,2,Gîtes hypogés …,9,3,Plecotus auritus
    let bats = [60518];
    let rule_with = |status: Option<u8>| {
        let mut q = query("05", &bats, "2015-06-01");
        q.statut_biologique = status;
        only_step(&r.timeline(&q)).rule_id
    };
    assert_eq!(rule_with(Some(4)), 942);
    assert_eq!(rule_with(Some(3)), 971);
    assert_eq!(rule_with(Some(7)), 941);
    assert_eq!(rule_with(Some(5)), 0);
    // Unknown status: all three apply, the lowest id is chosen.
    assert_eq!(rule_with(None), 941);
}

#[test]
fn the_highest_level_wins_over_a_rule_without_comment() {
    let r = real();
    // line 945: 5,943,78164,,1,,9,,Vipera ursinii               (level 1, no comment)
    // line 943: 5,941,60518,,2,Gîtes hypogés …,9,7,Plecotus auritus (level 2, comment)
    let t = r.timeline(&query("05", &[78164, 60518], "2015-06-01"));
    assert_eq!(
        only_step(&t),
        step(Day::FOREVER, SensiNiveau::N2, 941, 9, true)
    );
}

#[test]
fn on_equal_levels_a_rule_without_comment_comes_first() {
    let r = real();
    // line 943: 5,941,60518,,2,Gîtes hypogés …,9,7,Plecotus auritus (level 2, comment)
    // line 946: 5,944,159453,20,2,,9,,Cottus petiti                (level 2, none, 20 y)
    let t = r.timeline(&query("05", &[60518, 159453], "2015-06-01"));
    assert_eq!(
        t.steps,
        [
            // Rule 944 has the higher id but no comment: no alert while it lasts.
            step(day("2035-06-01"), SensiNiveau::N2, 944, 9, false),
            step(Day::FOREVER, SensiNiveau::N2, 941, 9, true),
        ]
    );
}

#[test]
fn the_declared_level_is_never_lowered() {
    let r = real();
    // line 2018: 1,2016,78164,,1,,9,,Vipera ursinii (level 1 = the commune)
    let taxa = [78164];
    let with_declared = |declared: Option<SensiNiveau>| {
        let mut q = query("01", &taxa, "2019-03-01");
        q.declared = declared;
        only_step(&r.timeline(&q))
    };
    let computed = step(Day::FOREVER, SensiNiveau::N1, 2016, 9, false);
    assert_eq!(with_declared(None), computed);
    assert_eq!(with_declared(Some(SensiNiveau::N0)), computed);
    // 2.1 (1 km cell) is finer than the commune: the computed level stays.
    assert_eq!(with_declared(Some(SensiNiveau::Km1)), computed);
    for coarser in [SensiNiveau::N3, SensiNiveau::Km5, SensiNiveau::Hidden] {
        assert_eq!(
            with_declared(Some(coarser)),
            SensitivityStep {
                level: coarser,
                declared: true,
                ..computed
            }
        );
    }

    // No rule at all: the declared level alone.
    let mut q = query("05", &[1], "2019-03-01");
    q.declared = Some(SensiNiveau::N2);
    assert_eq!(
        only_step(&r.timeline(&q)),
        SensitivityStep {
            level: SensiNiveau::N2,
            declared: true,
            ..SensitivityStep::NOT_SENSITIVE
        }
    );

    // An expiring rule above the declared level: the declared level takes over after.
    // line 950: 5,948,3076,10,3,uniquement si observation de nidification,9,3,Grus grus
    let mut q = query("05", &[3076], "2015-06-01");
    q.declared = Some(SensiNiveau::N2);
    assert_eq!(
        r.timeline(&q).steps,
        [
            step(day("2025-06-01"), SensiNiveau::N3, 948, 9, true),
            SensitivityStep {
                level: SensiNiveau::N2,
                declared: true,
                ..SensitivityStep::NOT_SENSITIVE
            },
        ]
    );
}

#[test]
fn newlines_inside_nom_cite_keep_line_numbers_right() {
    let r = real();
    // Python csv: rule 12184 starts on line 12185 and spans two lines; 16 such records.
    let rule = r.rule(12184).unwrap();
    assert_eq!(
        rule.nom_cite,
        "Ophrys bertolonii Moretti, 1823 \nOphrys bertolonii subsp. magniflora (Melki & Geniez) R.Soca, 2001"
    );
    assert_eq!(rule.line, 12185);
    assert_eq!(
        r.rules()
            .iter()
            .filter(|x| x.nom_cite.contains('\n'))
            .count(),
        16
    );
    // Records after them: 12187 starts on line 12191, 12200 on 12209, the last on 15172.
    assert_eq!(r.rule(12187).unwrap().line, 12191);
    assert_eq!(r.rule(12200).unwrap().line, 12209);
    assert_eq!(r.rule(15155).unwrap().line, 15172);
}

#[test]
fn sensitive_taxa_lists_the_rules_in_force() {
    let r = real();
    // Python: distinct cd_nom of the rules in force per department, their count and sum.
    for (dept, count, sum) in [
        ("05", 47, 3_982_974u64),
        ("63", 455, 47_887_716),
        ("974", 1119, 737_590_069),
    ] {
        let taxa: Vec<u32> = r.sensitive_taxa(dept).collect();
        assert_eq!(taxa.len(), count, "department {dept}");
        assert_eq!(taxa.iter().map(|&c| u64::from(c)).sum::<u64>(), sum);
        assert!(taxa.windows(2).all(|w| w[0] < w[1]));
    }
    assert_eq!(r.sensitive_taxa("05").next(), Some(240));
    assert_eq!(r.sensitive_taxa("ZZ").count(), 0);
}
