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

/// Geodetic latitude (radians) of an isometric latitude, by Newton's method on
/// `L(φ) − iso = 0` with `dL/dφ = (1 − e²) / ((1 − e²·sin²φ)·cos φ)`, starting from the
/// spherical solution (off by < 0.2°): three or four steps reach 1e-12 rad.
fn latitude_from_isometric(iso: f64) -> f64 {
    let e2 = E * E;
    let mut phi = iso.tanh().asin(); // sphere: sin φ = tanh L
    for _ in 0..20 {
        let (s, c) = phi.sin_cos();
        let residual = s.atanh() - E * (E * s).atanh() - iso;
        let step = residual * (1.0 - e2 * s * s) * c / (1.0 - e2);
        phi -= step;
        if step.abs() < 1e-12 {
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

    /// Reference values computed with pyproj 3.7.2 / PROJ 9.5.1
    /// (`Transformer.from_crs("EPSG:4171", "EPSG:2154", always_xy=True)`; EPSG:4326 as
    /// source gives the same numbers to 1 µm): name, lon, lat, x, y.
    const PYPROJ_FORWARD: [(&str, f64, f64, f64, f64); 32] = [
        ("Dunkerque", 2.3768, 51.0344, 656187.5173, 7104472.9240),
        ("Bray-Dunes", 2.517, 51.079, 666074.1980, 7109376.8069),
        ("Perpignan", 2.8948, 42.6887, 691368.1071, 6176570.5885),
        ("Cerbère", 3.166, 42.443, 713678.1182, 6149248.3662),
        (
            "Lamanère (southmost mainland)",
            2.5206,
            42.333,
            660424.1667,
            6137115.8989,
        ),
        ("Brest", -4.4861, 48.3904, 146632.9785, 6836262.3267),
        (
            "Pointe de Corsen",
            -4.795,
            48.413,
            124119.6436,
            6840971.4432,
        ),
        ("Ouessant", -5.088, 48.459, 103070.5339, 6848234.7213),
        ("Strasbourg", 7.7521, 48.5734, 1050362.6954, 6840899.6472),
        ("Lauterbourg", 8.23, 48.967, 1082651.6273, 6886793.7449),
        ("Menton", 7.4975, 43.7747, 1061957.5166, 6307608.7493),
        ("Bonifacio", 9.159, 41.3875, 1216132.2385, 6051878.9472),
        ("Ajaccio", 8.7369, 41.9192, 1176526.6023, 6108263.0226),
        ("Bastia", 9.45, 42.7, 1228546.0453, 6199420.6440),
        ("Cap Corse", 9.35, 43.01, 1217600.0063, 6233119.0116),
        ("Paris", 2.3522, 48.8566, 652469.0227, 6862035.2594),
        ("Lyon", 4.8357, 45.764, 842666.6592, 6519924.3668),
        ("Marseille", 5.3698, 43.2965, 892390.2216, 6247035.2568),
        ("Bordeaux", -0.5792, 44.8378, 417241.5391, 6421813.3459),
        ("Toulouse", 1.4442, 43.6047, 574357.8201, 6279642.9723),
        ("Nantes", -1.5536, 47.2184, 355577.8016, 6689723.1029),
        ("Lille", 3.0573, 50.6292, 704061.1459, 7059136.5895),
        ("Biarritz", -1.5586, 43.4832, 331261.3332, 6275547.9177),
        ("Hendaye", -1.7814, 43.358, 312418.7048, 6262722.7004),
        ("Nice", 7.262, 43.7102, 1043410.1597, 6299400.0430),
        ("Chamonix", 6.8694, 45.9237, 999759.4832, 6543346.7469),
        (
            "Clermont-Ferrand",
            3.087,
            45.7772,
            706760.4457,
            6519735.5469,
        ),
        ("Cherbourg", -1.6222, 49.6339, 366104.0165, 6958080.5797),
        ("Metz", 6.1757, 49.1193, 931775.5569, 6895716.1659),
        ("Dijon", 5.0415, 47.322, 854184.5476, 6693290.4615),
        ("Limoges", 1.2611, 45.8336, 565025.3747, 6527481.3325),
        ("Origin (3, 46.5)", 3.0, 46.5, 700000.0000, 6600000.0000),
    ];

    /// pyproj 3.7.2 / PROJ 9.5.1, EPSG:2154 → EPSG:4171 at whole-metre points near the
    /// places above: x, y, lon, lat.
    const PYPROJ_INVERSE: [(f64, f64, f64, f64); 32] = [
        (656188.0, 7104473.0, 2.376806856556, 51.034400716124),
        (666074.0, 7109377.0, 2.516997163892, 51.079001720858),
        (691368.0, 6176571.0, 2.894798688525, 42.688703698681),
        (713678.0, 6149248.0, 3.165998556202, 42.442996710718),
        (660424.0, 6137116.0, 2.520597973739, 42.333000899630),
        (146633.0, 6836262.0, -4.486099293550, 48.390397092667),
        (124120.0, 6840971.0, -4.794994616812, 48.412996348280),
        (103071.0, 6848235.0, -5.087994114397, 48.459002923205),
        (1050363.0, 6840900.0, 7.752104409646, 48.573403003114),
        (1082652.0, 6886794.0, 8.230005309617, 48.967002066943),
        (1061958.0, 6307609.0, 7.497506171299, 43.774702004374),
        (1216132.0, 6051879.0, 9.158997214956, 41.387500638949),
        (1176527.0, 6108263.0, 8.736904751782, 41.919199537802),
        (1228546.0, 6199421.0, 9.449999803556, 42.700003223596),
        (1217600.0, 6233119.0, 9.349999911312, 43.009999900697),
        (652469.0, 6862035.0, 2.352199719516, 48.856597665384),
        (842667.0, 6519924.0, 4.835704273975, 45.763996626508),
        (892390.0, 6247035.0, 5.369797177552, 43.296497750750),
        (417242.0, 6421813.0, -0.579193975723, 44.837797076705),
        (574358.0, 6279643.0, 1.444202219871, 43.604700280688),
        (355578.0, 6689723.0, -1.553597304113, 47.218399178101),
        (704061.0, 7059137.0, 3.057297945775, 50.629203685283),
        (331261.0, 6275548.0, -1.558604168900, 43.483200566443),
        (312419.0, 6262723.0, -1.781396590709, 43.358002850583),
        (1043410.0, 6299400.0, 7.261997992805, 43.710199691417),
        (999759.0, 6543347.0, 6.869393932833, 45.923702489962),
        (706760.0, 6519736.0, 3.086994270990, 45.777204084376),
        (366104.0, 6958081.0, -1.622200568057, 49.633903762062),
        (931776.0, 6895716.0, 6.175705972703, 49.119298349424),
        (854185.0, 6693290.0, 5.041505829410, 47.321995741459),
        (565025.0, 6527481.0, 1.261095269151, 45.833596932158),
        (700000.0, 6600000.0, 3.000000000000, 46.500000000000),
    ];

    #[test]
    fn forward_matches_pyproj_within_a_centimetre() {
        let mut worst: f64 = 0.0;
        for (name, lon, lat, x_ref, y_ref) in PYPROJ_FORWARD {
            let (x, y) = forward(lon, lat);
            let err = (x - x_ref).hypot(y - y_ref);
            worst = worst.max(err);
            assert!(
                err < 0.01,
                "{name}: ({x}, {y}) vs ({x_ref}, {y_ref}), {err} m"
            );
            let (lon2, lat2) = inverse(x, y);
            assert!(
                (lon2 - lon).abs() < 1e-9 && (lat2 - lat).abs() < 1e-9,
                "{name}: round trip gives ({lon2}, {lat2})"
            );
        }
        eprintln!("max forward error against pyproj: {worst:e} m");
    }

    #[test]
    fn inverse_matches_pyproj() {
        for (x, y, lon_ref, lat_ref) in PYPROJ_INVERSE {
            let (lon, lat) = inverse(x, y);
            assert!(
                (lon - lon_ref).abs() < 1e-9 && (lat - lat_ref).abs() < 1e-9,
                "({x}, {y}) → ({lon}, {lat}) vs ({lon_ref}, {lat_ref})"
            );
            let (x2, y2) = forward(lon, lat);
            assert!((x2 - x).hypot(y2 - y) < 1e-6, "round trip ({x2}, {y2})");
        }
    }
}
