//! The viewer in a real browser: `flou serve` on loopback with the real sample, driven by
//! `tests/browser/viewer.test.mjs` in Debian's headless Chromium through playwright-core.
//! The script checks the tile requests, that nothing leaves 127.0.0.1, the rendered features
//! of every layer, the layer colours in screenshots, the layer toggles, popups, the agent
//! token and the "token refused" message.
//!
//! Needs node, /usr/bin/chromium and `npm ci --prefix tests/browser`; scripts/test.sh
//! installs them. Screenshots land in `$CARGO_TARGET_TMPDIR/viewer-screenshots`.

mod common;

use common::*;
use serde_json::json;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The browser scenario takes about 20 s here; a hung browser must not hang the suite.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(300);

fn chromium() -> PathBuf {
    PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()))
}

#[test]
fn viewer_draws_every_layer_in_headless_chromium() {
    let script = root().join("tests/browser/viewer.test.mjs");
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
    // The platform default: the public sees every record at least at its commune.
    let cfg = config(dir.path(), "commune");
    let server = Server::start(&store, Some(&cfg));
    // An agent allowed everything precisely: the agent view draws every observation.
    let token = hs256_token(SECRET, json!([{ "max_sensitivity": 4 }]), 3600);

    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("viewer-screenshots");
    let _ = std::fs::remove_dir_all(&shots);
    let log_path = dir.path().join("viewer-test.log");
    let log = File::create(&log_path).unwrap();
    let mut child = Command::new("node")
        .arg(&script)
        .arg(format!("http://{}/", server.addr))
        .arg(&shots)
        .env("FLOU_VIEWER_TOKEN", &token)
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

    // The summary line the script ends with: every check passed, none failed.
    let summary = output
        .lines()
        .rev()
        .find(|l| l.starts_with("viewer: "))
        .unwrap_or_else(|| panic!("no summary line in:\n{output}"));
    assert!(summary.contains(" 0 failed"), "{summary}");
    let passed: u32 = summary["viewer: ".len()..]
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(passed >= 25, "too few checks ran: {summary}");
    // The agent part ran (the token was given), not only the public one.
    assert!(
        output
            .lines()
            .any(|l| l.starts_with("ok") && l.contains("agent: observations rendered")),
        "{output}"
    );

    // The screenshots a person can look at.
    for name in [
        "1-aggregates-z5.png",
        "2-public-detail.png",
        "3-popup.png",
        "4-agent-detail.png",
        "5-token-refused.png",
    ] {
        let png = std::fs::read(shots.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
            "{name}: not a real screenshot ({} bytes)",
            png.len()
        );
    }
}
