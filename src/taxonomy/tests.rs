//! Oracles: rows of the real GeoNature dump quoted from grep, and small hand-made files.

use super::*;
use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

fn data_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let candidates = [
        root.join("data/taxonomy"),
        root.join("../shared/data/taxonomy"),
    ];
    candidates
        .iter()
        .find(|d| d.join("bib_noms.csv").is_file())
        .cloned()
        .unwrap_or_else(|| panic!("no bib_noms.csv in {candidates:?}"))
}

fn real() -> &'static Taxonomy {
    static TAXONOMY: OnceLock<Taxonomy> = OnceLock::new();
    TAXONOMY.get_or_init(|| {
        Taxonomy::load(&data_dir().join("bib_noms.csv"))
            .unwrap_or_else(|e| panic!("real taxonomy: {e}"))
    })
}

#[test]
fn reads_the_real_bib_noms() {
    let t = real();
    // 6,710 rows (PROVENANCE.md; `wc -l` = 6,711 with the header).
    assert_eq!(t.len(), 6710);
    // line 23: 102741,131571,83502,"Arctium minus subsp. pubens (Bab.) P.Fourn., 1928",
    assert_eq!(t.cd_ref(131571), Some(83502));
    assert_eq!(
        t.name(131571),
        Some("Arctium minus subsp. pubens (Bab.) P.Fourn., 1928")
    );
    // line 4: 1000006,64104,64104,Planorbine poilue,
    assert_eq!(t.cd_ref(64104), Some(64104));
    assert_eq!(t.name(64104), Some("Planorbine poilue"));
    // line 12: 1000081,34028,34028,, (no name)
    assert_eq!(t.name(34028), None);
    // Vipera ursinii is not in this partial TAXREF.
    assert_eq!(t.cd_ref(78164), None);
    // No CD_SUP in bib_noms: no ancestors.
    assert!(t.ancestors(131571).is_empty());
}

#[test]
fn reads_groups_through_the_lists() {
    let t = real();
    // 238249 (id_nom 1000003) is in lists 9 "Insectes", 500 and 1002 (no group).
    assert_eq!(t.group(238249), Some("Insectes"));
    // 93673 is in 1003 (no group), 307 "Angiospermes", 500.
    assert_eq!(t.group(93673), Some("Angiospermes"));
    // 190144 is in 8 "Gastéropodes" and 101 "<Autres>": the real group wins.
    assert_eq!(t.group(190144), Some("Gastéropodes"));
    // 34028 (id_nom 1000081) is only in list 1004, whose group2_inpn is empty.
    assert_eq!(t.group(34028), None);
    // 64666 → cd_ref 531208 (absent from bib_noms): lists 101 "<Autres>", 10 "Bivalves".
    assert_eq!(t.group(64666), Some("Bivalves"));
    assert_eq!(t.group(531208), Some("Bivalves"));
    // 716453 is in no list; its synonym 248334 (id_nom 1001442) is in 9 "Insectes".
    assert_eq!(t.group(716453), Some("Insectes"));
    // 5158 (id_nom 1000354) is in 1003 and 500 only; its cd_ref 436151 in 301 "Mousses".
    assert_eq!(t.group(5158), Some("Mousses"));
    // Python (same rule: real group before placeholder, then lowest id_liste): 6,441
    // cd_nom get a group of their own, 2,680 of them "Angiospermes".
    let own = |cd: &u32| t.taxa.get(cd).and_then(|x| x.group);
    assert_eq!(t.taxa.keys().filter(|cd| own(cd).is_some()).count(), 6441);
    let angio = t.groups().position(|g| g == "Angiospermes").unwrap() as u16;
    assert_eq!(
        t.taxa.keys().filter(|cd| own(cd) == Some(angio)).count(),
        2680
    );
}

fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
    path
}

/// Kingdom 1 > genus 10 > species 100 > subspecies 1000 (synonym 1001), a cycle
/// 50 > 51 > 52 > 50, tab-separated with TAXREF's upper-case names in another order.
const TAXREF_TSV: &str = "\
LB_NOM\tCD_REF\tGROUP2_INPN\tCD_SUP\tCD_NOM\tNOM_VERN
Animalia\t1\t\t\t1\t
Aquila\t10\tOiseaux\t1\t10\tAigles
Aquila chrysaetos\t100\tOiseaux\t10\t100\tAigle royal
Aquila chrysaetos chrysaetos\t1000\t\t100\t1000\t
Aquila \"fulva\" (a lone quote)\t1000\tOiseaux\t\t1001\t
Cyclus a\t50\t\t51\t50\t
Cyclus b\t51\t\t52\t51\t
\t52\t\t50\t52\tCycle c
";

fn small_taxref() -> (tempfile::TempDir, Taxonomy) {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "taxref.txt", TAXREF_TSV);
    let t = Taxonomy::load(&path).unwrap_or_else(|e| panic!("{e}"));
    (dir, t)
}

#[test]
fn walks_a_taxref_hierarchy() {
    let (_dir, t) = small_taxref();
    assert_eq!(t.len(), 8);
    assert_eq!(t.ancestors(1000), [100, 10, 1]);
    assert_eq!(t.ancestors(100), [10, 1]);
    assert!(t.ancestors(1).is_empty());
    // A synonym is resolved to its cd_ref first; it has no CD_SUP of its own.
    assert_eq!(t.cd_ref(1001), Some(1000));
    assert_eq!(t.ancestors(1001), [100, 10, 1]);
    let mut lineage = vec![42];
    t.lineage_into(1001, &mut lineage);
    assert_eq!(lineage, [1001, 1000, 100, 10, 1]);
    t.lineage_into(100, &mut lineage);
    assert_eq!(lineage, [100, 10, 1]);
    assert_eq!(t.descendants(1), [10, 100, 1000]);
    assert_eq!(t.descendants(10), [100, 1000]);
    assert!(t.descendants(1000).is_empty());
    // Names: LB_NOM, else NOM_VERN; the lone quote survives in a tab file.
    assert_eq!(t.name(100), Some("Aquila chrysaetos"));
    assert_eq!(t.name(1001), Some("Aquila \"fulva\" (a lone quote)"));
    assert_eq!(t.name(52), Some("Cycle c"));
    // Groups: own, else from the cd_ref, else from a synonym.
    assert_eq!(t.group(100), Some("Oiseaux"));
    assert_eq!(t.group(1000), Some("Oiseaux"));
    assert_eq!(t.group(1), None);
}

#[test]
fn a_cycle_in_the_parents_ends_the_walk() {
    let (_dir, t) = small_taxref();
    assert_eq!(t.ancestors(50), [51, 52]);
    assert_eq!(t.ancestors(52), [50, 51]);
    assert_eq!(t.descendants(50), [51, 52]);
    let mut lineage = Vec::new();
    t.lineage_into(51, &mut lineage);
    assert_eq!(lineage, [51, 52, 50]);
}

#[test]
fn reads_comma_separated_taxref_with_cd_taxsup_and_caps_the_depth() {
    let dir = tempfile::tempdir().unwrap();
    // A chain of 100 taxa, 1 > 2 > … > 100, written with CD_TAXSUP and lower-case names.
    let mut text = String::from("cd_nom,cd_taxsup,cd_ref,lb_nom\n1,,1,root\n");
    for cd in 2..=100 {
        text.push_str(&format!("{cd},{},{cd},\"taxon, {cd}\"\n", cd - 1));
    }
    let path = write_file(dir.path(), "chain.csv", &text);
    let t = Taxonomy::load(&path).unwrap();
    assert_eq!(t.ancestors(10), [9, 8, 7, 6, 5, 4, 3, 2, 1]);
    assert_eq!(t.ancestors(100).len(), MAX_DEPTH);
    assert_eq!(t.ancestors(100)[0], 99);
    assert_eq!(t.descendants(95), [96, 97, 98, 99, 100]);
    assert_eq!(t.name(7), Some("taxon, 7"));
}

#[test]
fn the_empty_taxonomy_knows_nothing() {
    let t = Taxonomy::empty();
    assert!(t.is_empty());
    assert_eq!(t.cd_ref(5), None);
    assert!(t.ancestors(5).is_empty());
    let mut lineage = Vec::new();
    t.lineage_into(5, &mut lineage);
    assert_eq!(lineage, [5]);
}

fn parse_error(text: &str) -> (String, u64, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "bad.csv", text);
    match Taxonomy::load(&path) {
        Err(e @ TaxonomyError::Parse { .. }) => {
            let message = e.to_string();
            assert!(message.contains("bad.csv"), "{message}");
            let TaxonomyError::Parse { line, field, .. } = e else {
                unreachable!()
            };
            (message, line, field)
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn errors_name_the_file_line_and_field() {
    let (m, line, field) = parse_error("CD_NOM,CD_REF\n1,1\n2,x2\n");
    assert_eq!((line, field.as_str()), (3, "cd_ref"));
    assert!(
        m.contains(":3: field cd_ref") && m.contains("\"x2\""),
        "{m}"
    );

    let (_, line, field) = parse_error("CD_NOM,LB_NOM\n1,a\n");
    assert_eq!((line, field.as_str()), (1, "cd_ref"));

    // A quoted newline on line 2 moves the bad record to line 4.
    let (_, line, field) = parse_error("cd_nom,cd_ref,lb_nom\n1,1,\"a\nb\"\n,2,c\n");
    assert_eq!((line, field.as_str()), (4, "cd_nom"));

    let (m, line, _) = parse_error("cd_nom,cd_ref\n5,5\n5,6\n");
    assert_eq!(line, 3);
    assert!(m.contains("already read with cd_ref 5"), "{m}");

    let (_, line, field) = parse_error("id_nom,cd_nom,cd_ref\n1,5,5\n1,6,6\n");
    assert_eq!((line, field.as_str()), (3, "id_nom"));

    let (_, line, field) = parse_error("cd_nom,cd_ref\n1,1,1\n");
    assert_eq!((line, field.as_str()), (2, "(record)"));
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let e = Taxonomy::load(Path::new("/nonexistent/taxref.txt")).unwrap_err();
    assert!(matches!(e, TaxonomyError::Io { .. }));
    assert!(e.to_string().contains("/nonexistent/taxref.txt"));
}
