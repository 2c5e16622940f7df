//! Lambert-93 (EPSG:2154): Lambert conformal conic, 2 standard parallels, GRS80.
//! Closed-form, no PROJ: accurate to a centimetre against PROJ (DOMAIN.md check point).
//!
//! Written with the isometric latitude `L(φ) = atanh(sin φ) − e·atanh(e·sin φ)`:
//! the cone radius is `ρ = C·exp(−n·L)` and the cone angle `θ = n·(λ − λ0)`.

/// GRS80 semi-major axis (metres).
pub const GRS80_A: f64 = 6_378_137.0;
/// GRS80 inverse flattening.
pub const GRS80_INV_F: f64 = 298.257_222_101;

/// First standard parallel of EPSG:2154 (degrees).
pub const LAT_1: f64 = 49.0;
/// Second standard parallel (degrees).
pub const LAT_2: f64 = 44.0;
/// Latitude of the false origin (degrees).
pub const LAT_0: f64 = 46.5;
/// Central meridian (degrees).
pub const LON_0: f64 = 3.0;
/// False easting (metres).
pub const X_0: f64 = 700_000.0;
/// False northing (metres).
pub const Y_0: f64 = 6_600_000.0;

// Derived constants, hard-coded so `forward` does no lazy initialisation; the test
// `derived_constants_match_their_formulas` recomputes them from the parameters above.
// They agree with IGN's published values (n = 0.7256077650, C = 11754255.426096,
// Ys = 12655612.049876).
/// First eccentricity of GRS80.
const E: f64 = 0.08181919104281579;
/// Cone constant n.
const N: f64 = 0.7256077650532683;
/// Radius scale C = a·F (metres): ρ = C·exp(−n·L).
const C: f64 = 11754255.426096007;
/// Northing of the cone apex: y_0 + ρ(lat_0).
const Y_S: f64 = 12655612.049875993;

/// Isometric latitude of a geodetic latitude (radians).
#[inline]
fn isometric_latitude(phi: f64) -> f64 {
    let s = phi.sin();
    s.atanh() - E * (E * s).atanh()
}

/// Geodetic latitude (radians) of an isometric latitude, by fixed-point iteration on
/// `sin φ = tanh(L + e·atanh(e·sin φ))`; each step shrinks the error by about e², so a
/// handful of steps reach 1e-12 rad.
fn latitude_from_isometric(iso: f64) -> f64 {
    let mut phi = 2.0 * iso.exp().atan() - std::f64::consts::FRAC_PI_2; // sphere
    for _ in 0..30 {
        let next = (iso + E * (E * phi.sin()).atanh()).tanh().asin();
        let done = (next - phi).abs() < 1e-12;
        phi = next;
        if done {
            break;
        }
    }
    phi
}

/// WGS84/ETRS89 longitude, latitude (degrees) → Lambert-93 x, y (metres).
#[inline]
pub fn forward(lon: f64, lat: f64) -> (f64, f64) {
    let rho = C * (-N * isometric_latitude(lat.to_radians())).exp();
    let (s, c) = (N * (lon - LON_0).to_radians()).sin_cos();
    (X_0 + rho * s, Y_S - rho * c)
}

/// Lambert-93 x, y (metres) → longitude, latitude (degrees).
pub fn inverse(x: f64, y: f64) -> (f64, f64) {
    let dx = x - X_0;
    let dy = Y_S - y;
    let rho = dx.hypot(dy);
    let theta = dx.atan2(dy);
    let lon = LON_0 + (theta / N).to_degrees();
    let iso = -(rho / C).ln() / N;
    (lon, latitude_from_isometric(iso).to_degrees())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_constants_match_their_formulas() {
        let f = 1.0 / GRS80_INV_F;
        let e2 = 2.0 * f - f * f;
        let e = e2.sqrt();
        let m = |phi: f64| phi.cos() / (1.0 - e2 * phi.sin() * phi.sin()).sqrt();
        let (p1, p2, p0) = (LAT_1.to_radians(), LAT_2.to_radians(), LAT_0.to_radians());
        let n = (m(p1).ln() - m(p2).ln()) / (isometric_latitude(p2) - isometric_latitude(p1));
        let c = GRS80_A * m(p1) / n * (n * isometric_latitude(p1)).exp();
        let ys = Y_0 + c * (-n * isometric_latitude(p0)).exp();
        assert!((e - E).abs() < 1e-15, "e {e}");
        assert!((n - N).abs() < 1e-14, "n {n}");
        assert!((c - C).abs() < 1e-6, "C {c}");
        assert!((ys - Y_S).abs() < 1e-6, "Ys {ys}");
        // IGN's published constants for Lambert-93 (NTG_71 algorithm note).
        assert!((N - 0.725_607_765_0).abs() < 1e-10);
        assert!((C - 11_754_255.426_096).abs() < 1e-3);
        assert!((Y_S - 12_655_612.049_876).abs() < 1e-3);
    }

    #[test]
    fn paris_check_point_from_domain_md() {
        let (x, y) = forward(2.3522, 48.8566);
        assert!((x - 652_469.02).abs() < 0.01, "x {x}");
        assert!((y - 6_862_035.26).abs() < 0.01, "y {y}");
    }

    #[test]
    fn origin_maps_to_false_origin() {
        let (x, y) = forward(LON_0, LAT_0);
        assert!((x - X_0).abs() < 1e-6 && (y - Y_0).abs() < 1e-6, "{x} {y}");
        let (lon, lat) = inverse(X_0, Y_0);
        assert!((lon - LON_0).abs() < 1e-12 && (lat - LAT_0).abs() < 1e-12);
    }

    #[test]
    fn inverse_round_trips_over_france() {
        let mut worst: f64 = 0.0;
        let mut lon = -5.5;
        while lon <= 10.0 {
            let mut lat = 41.0;
            while lat <= 51.5 {
                let (x, y) = forward(lon, lat);
                let (lon2, lat2) = inverse(x, y);
                worst = worst.max((lon2 - lon).abs()).max((lat2 - lat).abs());
                lat += 0.37;
            }
            lon += 0.41;
        }
        assert!(worst < 1e-9, "worst round-trip error {worst} degrees");
    }

    /// The 1,000 GeoNature rows carry both WGS84 and Lambert-93 coordinates, the latter
    /// computed by PostGIS (PROJ): an oracle independent of this code.
    #[test]
    fn geonature_sample_matches_postgis_within_a_centimetre() {
        let path = concat!(
            "/work/shared/data/occurrences/",
            "geonature-synthese-sample.csv"
        );
        let mut reader = csv::Reader::from_path(path).expect("sample file readable");
        let headers = reader.headers().expect("header row").clone();
        let col = |name: &str| {
            headers
                .iter()
                .position(|h| h == name)
                .unwrap_or_else(|| panic!("column {name} missing"))
        };
        let (ilon, ilat, ix, iy) = (
            col("lon_wgs84"),
            col("lat_wgs84"),
            col("x_l93"),
            col("y_l93"),
        );
        let mut rows = 0;
        let mut worst: f64 = 0.0;
        for record in reader.records() {
            let record = record.expect("csv row");
            let num = |i: usize| -> f64 { record[i].parse().expect("number") };
            let (x, y) = forward(num(ilon), num(ilat));
            worst = worst.max((x - num(ix)).hypot(y - num(iy)));
            rows += 1;
        }
        assert_eq!(rows, 1000);
        eprintln!("max forward error against PostGIS: {worst:e} m");
        assert!(worst < 0.01, "max error {worst} m");
    }
}
