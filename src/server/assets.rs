//! The viewer's files and the MapLibre styles, embedded in the binary: the viewer works
//! with no internet (MapLibre GL JS is vendored, not loaded from a CDN).

pub struct Asset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $ct:literal) => {
        Asset {
            path: $path,
            content_type: $ct,
            bytes: include_bytes!(concat!("assets/", $path)),
        }
    };
}

pub const ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("viewer.js", "text/javascript; charset=utf-8"),
    asset!("viewer.css", "text/css; charset=utf-8"),
    asset!("dashboard.html", "text/html; charset=utf-8"),
    asset!("dashboard.js", "text/javascript; charset=utf-8"),
    asset!("dashboard.css", "text/css; charset=utf-8"),
    asset!("vendor/maplibre-gl.js", "text/javascript; charset=utf-8"),
    asset!("vendor/maplibre-gl.css", "text/css; charset=utf-8"),
];

/// MapLibre GL styles of `styles/`, by name.
pub const STYLES: &[(&str, &[u8])] = &[("flou", include_bytes!("../../styles/flou.json"))];

pub fn asset(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

pub fn style(name: &str) -> Option<&'static [u8]> {
    STYLES.iter().find(|(n, _)| *n == name).map(|(_, b)| *b)
}
