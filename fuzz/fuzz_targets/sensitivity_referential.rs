//! The SINP sensitivity referential (rules, lists, department → region): one of the three
//! files is the fuzzer's, the two others the real ones; any bytes load or give an error
//! naming the file, never a panic.
#![no_main]

use flou::sensitivity::SensitivityReferential;
use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;

fn real(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../data/sensitivity")
        .join(name)
}

/// The first 400 rules of the real referential (the whole file, 1.2 MB, would make a
/// run take a quarter of a second), written once per process.
fn real_rules_head(dir: &std::path::Path) -> PathBuf {
    static HEAD: OnceLock<PathBuf> = OnceLock::new();
    HEAD.get_or_init(|| {
        let text = std::fs::read_to_string(real("especesensible.csv")).unwrap_or_default();
        let head: Vec<&str> = text.lines().take(401).collect();
        let path = dir.join("rules-head.csv");
        let _ = std::fs::write(&path, head.join("\n") + "\n");
        path
    })
    .clone()
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, text)) = data.split_first() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("flou-fuzz-sensi-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let fuzzed = dir.join("fuzzed.csv");
    if std::fs::write(&fuzzed, text).is_err() {
        return;
    }
    let (mut rules, mut lists, mut regions) = (
        real_rules_head(&dir),
        real("especesensiblelistes.csv"),
        real("departements_regions_2015.csv"),
    );
    match which % 3 {
        0 => rules = fuzzed,
        1 => lists = fuzzed,
        _ => regions = fuzzed,
    }
    let _ = SensitivityReferential::load(&rules, &lists, &regions);
});
