//! The viewer in a real browser: `flou serve` on loopback with the real sample, driven by
//! `tests/browser/viewer.test.mjs` in Debian's headless Chromium through playwright-core.
//! The script checks the tile requests, that nothing leaves 127.0.0.1, the rendered features
//! of every layer, the layer colours in screenshots, the layer toggles, popups, the agent
//! token and the "token refused" message.
//!
//! Needs node, /usr/bin/chromium and `npm ci --prefix tests/browser`; scripts/test.sh
//! installs them. Screenshots land in `$CARGO_TARGET_TMPDIR/viewer-screenshots`.

mod common;

use common::browser::{assert_screenshots, run_scenario};

#[test]
fn viewer_draws_every_layer_in_headless_chromium() {
    let run = run_scenario("viewer", "FLOU_VIEWER_TOKEN", 25);
    let output = &run.output;
    // The agent part ran (the token was given), not only the public one.
    assert!(
        output
            .lines()
            .any(|l| l.starts_with("ok") && l.contains("agent: observations rendered")),
        "{output}"
    );

    // The screenshots a person can look at.
    assert_screenshots(
        &run.shots,
        &[
            "1-aggregates-z5.png",
            "2-public-detail.png",
            "3-popup.png",
            "4-agent-detail.png",
            "5-token-refused.png",
        ],
    );
}
