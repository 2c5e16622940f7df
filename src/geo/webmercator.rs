//! Web Mercator (EPSG:3857) and XYZ tile arithmetic, for the tile server.

/// Longitude, latitude (degrees) → Web Mercator metres.
pub fn forward(lon: f64, lat: f64) -> (f64, f64) {
    let _ = (lon, lat);
    unimplemented!("helper geo")
}
