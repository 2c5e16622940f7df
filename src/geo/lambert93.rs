//! Lambert-93 (EPSG:2154): Lambert conformal conic, 2 standard parallels, GRS80.
//! Closed-form, no PROJ: accurate to a centimetre against PROJ (DOMAIN.md check point).

/// WGS84/ETRS89 longitude, latitude (degrees) → Lambert-93 x, y (metres).
pub fn forward(lon: f64, lat: f64) -> (f64, f64) {
    let _ = (lon, lat);
    unimplemented!("helper geo")
}

/// Lambert-93 x, y (metres) → longitude, latitude (degrees).
pub fn inverse(x: f64, y: f64) -> (f64, f64) {
    let _ = (x, y);
    unimplemented!("helper geo")
}
