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

use common::browser::{assert_screenshots, run_scenario};

#[test]
fn dashboard_shows_the_api_numbers_in_headless_chromium() {
    let run = run_scenario("dashboard", "FLOU_DASHBOARD_TOKEN", 20);
    let output = &run.output;
    assert!(
        output
            .lines()
            .any(|l| l.starts_with("ok")
                && l.contains("agent: commune richness table equals the API")),
        "{output}"
    );
    assert_screenshots(
        &run.shots,
        &[
            "1-public-departement.png",
            "1-public-commune.png",
            "2-agent-commune.png",
        ],
    );
}
