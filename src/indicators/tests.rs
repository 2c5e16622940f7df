use super::lists::*;
use super::*;
use crate::taxonomy::Taxonomy;

#[test]
fn names_round_trip_and_unknown_ones_are_refused() {
    for i in Indicator::ALL {
        assert_eq!(Indicator::parse(i.name()), Some(i));
    }
    assert_eq!(Indicator::parse("richnes"), None);
    for u in [
        "maille10",
        "commune",
        "departement",
        "region",
        "all",
        "h3:0",
        "h3:10",
    ] {
        assert_eq!(UnitKind::parse(u).map(UnitKind::name).as_deref(), Some(u));
    }
    for u in ["h3:11", "h3:", "h3:-1", "maille5", "Commune", ""] {
        assert_eq!(UnitKind::parse(u), None, "{u}");
    }
}

#[test]
fn regions_file_maps_departments_and_reports_bad_lines() {
    let r = Regions::parse(
        "r.csv",
        "departement,region,region_nom\n05,93,PACA\n38,84,ARA\n04,93,PACA\n",
    )
    .unwrap();
    assert_eq!(r.regions.len(), 2);
    assert_eq!(r.of_departement("05"), r.of_departement("04"));
    assert_ne!(r.of_departement("05"), r.of_departement("38"));
    assert_eq!(r.of_departement("75"), None);
    let e = Regions::parse("r.csv", "departement,region,region_nom\n05,,PACA\n").unwrap_err();
    assert_eq!(e.to_string(), "r.csv, line 2, field region: empty");
    let e = Regions::parse("r.csv", "dep,region\n05,93\n").unwrap_err();
    assert_eq!(e.to_string(), "r.csv: no departement column");
}

#[test]
fn embedded_region_table_has_every_department_of_the_default_data() {
    let l = Lists::load(None, &Taxonomy::empty()).unwrap();
    // INSEE codes of the 2016 regions (published): 84 Auvergne-Rhône-Alpes, 93 PACA, 94 Corse.
    for (dep, reg) in [
        ("05", "93"),
        ("38", "84"),
        ("13", "93"),
        ("2A", "94"),
        ("971", "01"),
    ] {
        let i = l.regions.of_departement(dep).unwrap();
        assert_eq!(l.regions.regions[i].0, reg, "{dep}");
    }
    assert!(
        l.invasive.cd_refs.contains(&82080),
        "Ambrosia artemisiifolia"
    );
    assert_eq!(l.thresholds.by_group.get("Oiseaux"), Some(&80));
}

#[test]
fn thresholds_and_invasive_lists_refuse_bad_values_naming_line_and_field() {
    let e = Thresholds::parse("t.csv", "group,threshold\nOiseaux,80\nInsectes,many\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "t.csv, line 3, field threshold: \"many\" is not a non-negative integer"
    );
    let e = Thresholds::parse("t.csv", "group,threshold\nOiseaux,80\nOiseaux,10\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "t.csv, line 3, field group: \"Oiseaux\" listed twice"
    );
    let e = InvasiveList::parse("i.csv", "cd_nom,name\n-3,x\n", &Taxonomy::empty()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "i.csv, line 2, field cd_nom: \"-3\" is not a non-negative integer"
    );
}

#[test]
fn invasive_cd_nom_resolve_to_their_valid_name() {
    let tax = Taxonomy::load(
        &std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/taxonomy/bib_noms.csv"),
    )
    .unwrap();
    // Conyza canadensis (92379) is a synonym of Erigeron canadensis (96749) in bib_noms.csv.
    let l = InvasiveList::parse("i.csv", "cd_nom\n92379\n", &tax).unwrap();
    assert_eq!(l.cd_refs.into_iter().collect::<Vec<_>>(), vec![96749]);
}
