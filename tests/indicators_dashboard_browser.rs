//! The indicators dashboard in a real browser: `flou serve` on loopback with the real sample,
//! driven by `tests/browser/dashboard.test.mjs` in Debian's headless Chromium through
//! playwright-core (the harness of `viewer_browser.rs`). The script checks that the table,
//! the map's source and rendered units, the yearly series per group, the not-placed counts
//! and the downloaded CSV equal the indicator API's answers, for the public and an agent,
//! that a bad token shows the 401, and that nothing leaves 127.0.0.1.
//!
//! Needs node, /usr/bin/chromium and `npm ci --prefix tests/browser`; scripts/test.sh
//! installs them. Screenshots land in `$CARGO_TARGET_TMPDIR/dashboard-screenshots`.

mod common;

use common::*;
use serde_json::json;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const SCENARIO_TIMEOUT: Duration = Duration::from_secs(300);

fn chromium() -> PathBuf {
    PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()))
}

#[test]
fn dashboard_shows_the_api_numbers_in_headless_chromium() {
    let script = root().join("tests/browser/dashboard.test.mjs");
    let playwright = root().join("tests/browser/node_modules/playwright-core");
    assert!(
        playwright.is_dir(),
        "{} is missing: run `npm ci --prefix tests/browser` (scripts/test.sh does)",
        playwright.display()
    );
    assert!(
        chromium().exists(),
        "{} is missing: `apt-get install chromium` (scripts/test.sh does)",
        chromium().display()
    );

    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    ingest(&sample(), &store);
    let cfg = config(dir.path(), "commune");
    let server = Server::start(&store, Some(&cfg));
    let token = hs256_token(SECRET, json!([{ "max_sensitivity": 4 }]), 3600);

    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard-screenshots");
    let _ = std::fs::remove_dir_all(&shots);
    let log_path = dir.path().join("dashboard-test.log");
    let log = File::create(&log_path).unwrap();
    let mut child = Command::new("node")
        .arg(&script)
        .arg(format!("http://{}/", server.addr))
        .arg(&shots)
        .env("FLOU_DASHBOARD_TOKEN", &token)
        .env("CHROMIUM", chromium())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("run node (is Node.js installed?)");
    let deadline = Instant::now() + SCENARIO_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let output = std::fs::read_to_string(&log_path).unwrap_or_default();
    println!("{output}");
    let status = status.unwrap_or_else(|| {
        panic!("browser scenario still running after {SCENARIO_TIMEOUT:?}:\n{output}")
    });
    assert!(
        status.success(),
        "browser scenario failed ({status}):\n{output}"
    );
    let summary = output
        .lines()
        .rev()
        .find(|l| l.starts_with("dashboard: "))
        .unwrap_or_else(|| panic!("no summary line in:\n{output}"));
    assert!(summary.contains(" 0 failed"), "{summary}");
    let passed: u32 = summary["dashboard: ".len()..]
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(passed >= 20, "too few checks ran: {summary}");
    assert!(
        output
            .lines()
            .any(|l| l.starts_with("ok")
                && l.contains("agent: commune richness table equals the API")),
        "{output}"
    );
    for name in [
        "1-public-departement.png",
        "1-public-commune.png",
        "2-agent-commune.png",
    ] {
        let png = std::fs::read(shots.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
            "{name}: not a real screenshot ({} bytes)",
            png.len()
        );
    }
}
