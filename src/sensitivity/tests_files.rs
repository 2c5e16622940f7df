//! Small referentials written to a temp dir: list replacement cases the shipped file does
//! not contain, the behaviour column, and the error messages.

use super::*;
use std::io::Write;
use std::path::PathBuf;

const HEADER: &str =
    "cd_dept,id,cd_nom,duree,codage,autre,cd_sl,cd_occ_statut_biologique,nom_cite\n";
const LISTS: &str = "cd_sl,cd_insee_reg\n9,\n8,83\n15,4\n";
const REGIONS: &str = "code_departement,code_region_2015\n01,82\n03,83\n63,83\n974,04\n";

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Files {
        Files {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::File::create(&path)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        path
    }

    fn load(
        &self,
        rules: &str,
        lists: &str,
        regions: &str,
    ) -> Result<SensitivityReferential, SensitivityError> {
        SensitivityReferential::load(
            &self.write("especesensible.csv", rules),
            &self.write("especesensiblelistes.csv", lists),
            &self.write("departements_regions_2015.csv", regions),
        )
    }
}

fn query<'a>(departement: &'a str, taxa: &'a [u32]) -> SensitivityQuery<'a> {
    SensitivityQuery {
        departement,
        taxa,
        statut_biologique: None,
        comportement: None,
        date_fin: Day::parse("2015-06-01").unwrap(),
        declared: None,
    }
}

fn rule_id(r: &SensitivityReferential, q: &SensitivityQuery<'_>) -> u32 {
    let t = r.timeline(q);
    assert_eq!(t.steps.len(), 1, "{t:?}");
    t.steps[0].rule_id
}

/// A real Auvergne rule, and the real national Vipera ursinii rule of department 1 moved
/// to Puy-de-Dôme (the shipped referential has no national rule in a region that has
/// its own list, newer ones may).
const MIXED_RULES: &str =
    "63,7273,100515,,1,,8,,\"Gnaphalium supinum L., 1768\"\n63,2016,78164,,1,,9,,Vipera ursinii\n";

#[test]
fn in_a_region_with_a_list_national_rules_do_not_apply() {
    let f = Files::new();
    let r = f
        .load(&format!("{HEADER}{MIXED_RULES}"), LISTS, REGIONS)
        .unwrap();
    assert_eq!(r.rules_count(), 2);
    assert_eq!(r.applicable_rules_count(), 1);
    assert_eq!(r.list_for_departement("63"), 8);
    assert_eq!(rule_id(&r, &query("63", &[100515])), 7273);
    assert_eq!(rule_id(&r, &query("63", &[78164])), 0);
    assert_eq!(r.sensitive_taxa("63").collect::<Vec<_>>(), [100515]);
}

#[test]
fn a_department_missing_from_the_region_table_uses_the_national_list() {
    let f = Files::new();
    let regions_without_63 = "code_departement,code_region_2015\n03,83\n974,04\n";
    let r = f
        .load(&format!("{HEADER}{MIXED_RULES}"), LISTS, regions_without_63)
        .unwrap();
    assert_eq!(r.list_for_departement("63"), 9);
    assert_eq!(r.list_for_departement("03"), 8);
    assert_eq!(rule_id(&r, &query("63", &[100515])), 0);
    assert_eq!(rule_id(&r, &query("63", &[78164])), 2016);
}

#[test]
fn behaviour_applies_by_precaution_when_the_column_exists() {
    let f = Files::new();
    // Newer layout: extra column, columns in another order, upper-case header.
    let rules = "NOM_CITE,CD_OCC_COMPORTEMENT,ID,CD_DEPT,CD_NOM,DUREE,CODAGE,AUTRE,CD_SL,CD_OCC_STATUT_BIOLOGIQUE\n\
                 Myotis myotis,5,1,01,60418,,2,,9,\n";
    let r = f.load(rules, LISTS, REGIONS).unwrap();
    assert_eq!(r.rule(1).unwrap().comportement, Some(5));
    let taxa = [60418];
    for (behaviour, applies) in [
        (Some(5), true),
        (None, true),
        (Some(0), true),
        (Some(1), true),
        (Some(2), true),
        (Some(6), false),
    ] {
        let mut q = query("01", &taxa);
        q.comportement = behaviour;
        assert_eq!(rule_id(&r, &q) == 1, applies, "behaviour {behaviour:?}");
    }
}

#[test]
fn grid_codes_rank_by_coarseness() {
    let f = Files::new();
    // "3" as text sorts after "2.8", but 2.8 hides everything.
    let rules = format!("{HEADER}01,1,7,,3,,9,,a\n01,2,8,,2.8,,9,,b\n01,3,9,,2.1,,9,,c\n");
    let r = f.load(&rules, LISTS, REGIONS).unwrap();
    let t = r.timeline(&query("01", &[7, 8, 9]));
    assert_eq!(
        (t.steps[0].level, t.steps[0].rule_id),
        (SensiNiveau::Hidden, 2)
    );
    let t = r.timeline(&query("01", &[7, 9]));
    assert_eq!(t.steps[0].rule_id, 1);
}

/// Loads files that must fail and returns the error's fields and message.
fn parse_error(rules: &str, lists: &str, regions: &str) -> (String, u64, String, String) {
    let f = Files::new();
    match f.load(rules, lists, regions) {
        Err(e @ SensitivityError::Parse { .. }) => {
            let message = e.to_string();
            let SensitivityError::Parse {
                file, line, field, ..
            } = e
            else {
                unreachable!()
            };
            (file, line, field, message)
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn every_bad_rule_field_is_reported_with_file_line_and_field() {
    // A record with a quoted newline first, so the bad one starts on line 4, not 3.
    let before = "01,1,7,,1,,9,,\"two\nlines\"\n";
    for (bad_row, field, hint) in [
        ("ZZ,2,8,,1,,9,,x", "cd_dept", "\"ZZ\""),
        ("01,,8,,1,,9,,x", "id", "empty"),
        ("01,2,8a,,1,,9,,x", "cd_nom", "\"8a\""),
        ("01,2,8,dix,1,,9,,x", "duree", "\"dix\""),
        ("01,2,8,,5,,9,,x", "codage", "\"5\""),
        ("01,2,8,,2.9,,9,,x", "codage", "\"2.9\""),
        ("01,2,8,,1,,99999,,x", "cd_sl", "\"99999\""),
        ("01,2,8,,1,,9,3a,x", "cd_occ_statut_biologique", "\"3a\""),
        ("01,2,8,,1,,9,300,x", "cd_occ_statut_biologique", "\"300\""),
        ("01,2,8,,1,,12,,x", "cd_sl", "list 12 is not in"),
        ("01,1,8,,1,,9,,x", "id", "already used on line 2"),
        ("01,2,8,,1,,9", "(record)", "found record with 7 fields"),
    ] {
        let rules = format!("{HEADER}{before}{bad_row}\n");
        let (file, line, got_field, message) = parse_error(&rules, LISTS, REGIONS);
        assert!(file.ends_with("especesensible.csv"), "{message}");
        assert_eq!((line, got_field.as_str()), (4, field), "{message}");
        assert!(
            message.contains(&format!("especesensible.csv:4: field {field}: ")),
            "{message}"
        );
        assert!(message.contains(hint), "{bad_row}: {message}");
    }
}

#[test]
fn missing_columns_and_bad_companion_files_are_reported() {
    let (_, line, field, _) = parse_error("cd_dept,id,cd_nom\n01,1,2\n", LISTS, REGIONS);
    assert_eq!((line, field.as_str()), (1, "duree"));

    let rules = format!("{HEADER}01,1,7,,1,,9,,a\n");
    let (file, line, field, _) = parse_error(&rules, "cd_sl,cd_insee_reg\n9,\nx,83\n", REGIONS);
    assert!(file.ends_with("especesensiblelistes.csv"));
    assert_eq!((line, field.as_str()), (3, "cd_sl"));

    // A post-2016 region code would silently drop a whole list: refused.
    let (file, line, field, message) =
        parse_error(&rules, "cd_sl,cd_insee_reg\n9,\n8,84\n", REGIONS);
    assert!(file.ends_with("especesensiblelistes.csv"));
    assert_eq!((line, field.as_str()), (3, "cd_insee_reg"), "{message}");

    let (file, line, field, _) = parse_error(
        &rules,
        LISTS,
        "code_departement,code_region_2015\n01,82\n0A,83\n",
    );
    assert!(file.ends_with("departements_regions_2015.csv"));
    assert_eq!((line, field.as_str()), (3, "code_departement"));

    let (_, line, field, _) = parse_error(
        &rules,
        LISTS,
        "code_departement,code_region_2015\n01,82\n1,83\n",
    );
    assert_eq!((line, field.as_str()), (3, "code_region_2015"));
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let f = Files::new();
    let e = SensitivityReferential::load(
        &f.dir.path().join("absent.csv"),
        &f.write("l.csv", LISTS),
        &f.write("r.csv", REGIONS),
    )
    .unwrap_err();
    assert!(matches!(e, SensitivityError::Io { .. }));
    assert!(e.to_string().contains("absent.csv"));
}
