//! The headless-browser harness of the viewer and dashboard tests: `flou serve` on loopback
//! with the real sample (public policy: the commune), a `tests/browser/*.test.mjs` script
//! driving Debian's Chromium through playwright-core, bounded in time.

use super::*;
use serde_json::json;
use std::fs::File;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// A scenario takes about 20 s here; a hung browser must not hang the suite.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(300);

fn chromium() -> PathBuf {
    PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()))
}

/// What a scenario printed, and where its screenshots are.
pub struct BrowserRun {
    pub output: String,
    pub shots: PathBuf,
}

/// Runs `tests/browser/{name}.test.mjs` against a real server, with an agent token allowed
/// everything in `$token_env`; asserts it succeeded, that its summary line
/// (`{name}: N passed, 0 failed`) shows no failure and at least `min_checks` checks.
pub fn run_scenario(name: &str, token_env: &str, min_checks: u32) -> BrowserRun {
    let script = root().join(format!("tests/browser/{name}.test.mjs"));
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
    // An agent allowed everything precisely.
    let token = hs256_token(SECRET, json!([{ "max_sensitivity": 4 }]), 3600);

    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-screenshots"));
    let _ = std::fs::remove_dir_all(&shots);
    let log_path = dir.path().join(format!("{name}-test.log"));
    let log = File::create(&log_path).unwrap();
    let mut child = Command::new("node")
        .arg(&script)
        .arg(format!("http://{}/", server.addr))
        .arg(&shots)
        .env(token_env, &token)
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
    let prefix = format!("{name}: ");
    let summary = output
        .lines()
        .rev()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no summary line in:\n{output}"));
    assert!(summary.contains(" 0 failed"), "{summary}");
    let passed: u32 = summary[prefix.len()..]
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(passed >= min_checks, "too few checks ran: {summary}");
    BrowserRun { output, shots }
}

/// Each named file in `shots` is a real PNG screenshot, not an empty one.
pub fn assert_screenshots(shots: &Path, names: &[&str]) {
    for name in names {
        let png = std::fs::read(shots.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
            "{name}: not a real screenshot ({} bytes)",
            png.len()
        );
    }
}
