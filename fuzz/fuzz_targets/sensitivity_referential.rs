//! The SINP sensitivity referential (rules, lists, department → region): one of the three
//! files is the fuzzer's, the two others the real ones; any bytes load or give an error
//! naming the file, never a panic.
#![no_main]

use flou::sensitivity::SensitivityReferential;
use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;

fn real(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../data/sensitivity")
        .join(name)
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
        real("especesensible.csv"),
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
