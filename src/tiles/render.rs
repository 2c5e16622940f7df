//! One vector tile for one caller: built only from [`Shown`] records (the access view), so
//! everything in it is a function of each record's diffusion area for that caller and of
//! its public attributes.
//!
//! Zoom plan (defaults):
//! - z ≤ 6: `aggregates` per department — every visible record counted in the department
//!   that contains its diffusion area (a cell-level record: the department chosen from the
//!   cell alone);
//! - z 7–9: `aggregates` per 10 km cell for precise records and records blurred to a cell
//!   nested in it (1, 2, 5, 10 km); `blurred` for coarser areas (communes, departments,
//!   20/50 km cells);
//! - z ≥ 10: `observations` (precise points) and `blurred` (one feature per diffusion area).
//!
//! A unit's counts are the same in every tile that shows it: a unit is drawn with all the
//! records assigned to it, whichever tile asks.

use crate::access::diffusion::DiffusionArea;
use crate::access::view::{AccessContext, AccessView, RecordFilter, Shown};
use crate::access::Caller;
use crate::date::Day;
use crate::geo::grid::{Cell, GridSize};
use crate::geo::webmercator::{lonlat_to_tile_pixel, TileId};
use crate::geo::{BBox, MultiPolygon};
use crate::tiles::mvt::{PropValue, TileEncoder};
use std::collections::{BTreeMap, HashSet};

pub const EXTENT: u32 = 4096;
pub const BUFFER: u32 = 64;

/// Layer names, as the styles and TileJSON name them.
pub const LAYER_OBSERVATIONS: &str = "observations";
pub const LAYER_BLURRED: &str = "blurred";
pub const LAYER_AGGREGATES: &str = "aggregates";
pub const LAYER_BOUNDARIES: &str = "boundaries";

/// Which layers each zoom carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZoomPlan {
    /// Up to this zoom: department aggregates only.
    pub departement_max: u8,
    /// Up to this zoom: 10 km aggregates and blurred coarse areas.
    pub maille10_max: u8,
    /// From this zoom: commune outlines in `boundaries`.
    pub communes_from: u8,
}

impl Default for ZoomPlan {
    fn default() -> Self {
        ZoomPlan {
            departement_max: 6,
            maille10_max: 9,
            communes_from: 10,
        }
    }
}

/// One tile request.
pub struct TileRequest<'r> {
    pub tile: TileId,
    pub caller: &'r Caller,
    pub filter: &'r RecordFilter,
    pub today: Day,
}

#[derive(Default)]
struct Tally {
    observations: u64,
    taxa: HashSet<u32>,
}

impl Tally {
    fn add(&mut self, s: &Shown<'_>) {
        self.observations += 1;
        self.taxa.insert(s.cd_ref);
    }
}

/// Aggregation units, ordered for a deterministic feature order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Unit {
    Departement(u16),
    Maille10(Cell),
}

/// Renders the tile; `enc` is reused between calls (its buffers are kept).
pub fn render(
    ctx: &AccessContext<'_>,
    req: &TileRequest<'_>,
    plan: &ZoomPlan,
    enc: &mut TileEncoder,
) -> Vec<u8> {
    let z = req.tile.z();
    let tile_box = req.tile.bounds_lonlat();
    // The buffer, in degrees, on each side.
    let bx = (tile_box.max[0] - tile_box.min[0]) * f64::from(BUFFER) / f64::from(EXTENT);
    let by = (tile_box.max[1] - tile_box.min[1]) * f64::from(BUFFER) / f64::from(EXTENT);
    let buffered = BBox {
        min: [tile_box.min[0] - bx, tile_box.min[1] - by],
        max: [tile_box.max[0] + bx, tile_box.max[1] + by],
    };
    let view = AccessView {
        ctx,
        caller: req.caller,
        today: req.today,
        filter: req.filter,
    };
    let areas = ctx.store.areas();

    let mut units: BTreeMap<Unit, Tally> = BTreeMap::new();
    let mut blurred: BTreeMap<DiffusionArea, Tally> = BTreeMap::new();
    let mut points: Vec<(String, [f64; 2], Shown<'_>)> = Vec::new();

    if z <= plan.departement_max {
        // Units meeting the tile; every record assigned to one of them is counted.
        let meeting: Vec<u16> = (0..areas.departement_count())
            .filter(|d| areas.departement_bbox(*d).intersects(&buffered))
            .map(|d| d as u16)
            .collect();
        let scan = meeting.iter().fold(BBox::EMPTY, |b, d| {
            b.union(&areas.departement_bbox(*d as usize))
        });
        if !meeting.is_empty() {
            view.for_each_in(&scan, |s| {
                if let Some(d) = departement_of(ctx, s).filter(|d| meeting.contains(d)) {
                    units.entry(Unit::Departement(d)).or_default().add(s);
                }
            });
        }
    } else {
        // Wide enough to hold every 10 km cell meeting the tile.
        let scan = BBox {
            min: [buffered.min[0] - 0.25, buffered.min[1] - 0.15],
            max: [buffered.max[0] + 0.25, buffered.max[1] + 0.15],
        };
        let aggregate = z <= plan.maille10_max;
        let mut cell_meets: BTreeMap<Cell, bool> = BTreeMap::new();
        view.for_each_in(&scan, |s| {
            if aggregate {
                if let Some(cell) = maille10_of(s) {
                    let meets = *cell_meets.entry(cell).or_insert_with(|| {
                        ctx.area_bbox(&DiffusionArea::Cell(cell))
                            .is_some_and(|b| b.intersects(&buffered))
                    });
                    if meets {
                        units.entry(Unit::Maille10(cell)).or_default().add(s);
                    }
                    return;
                }
            }
            match (&s.area, s.position, s.id) {
                (DiffusionArea::Precise, Some(p), Some(id)) => {
                    if buffered.contains(p) {
                        points.push((id.to_string(), p, *s));
                    }
                }
                (area, _, _) => {
                    if ctx.area_bbox(area).is_some_and(|b| b.intersects(&buffered)) {
                        blurred.entry(*area).or_default().add(s);
                    }
                }
            }
        });
    }

    let project = |p: [f64; 2]| {
        let (x, y) = lonlat_to_tile_pixel(p[0], p[1], req.tile, EXTENT);
        [x, y]
    };

    for (unit, t) in &units {
        let (code, name, unit_name, geometry) = match unit {
            Unit::Departement(d) => (
                areas.departement_code(*d as usize).to_string(),
                areas.departement_name(*d as usize).to_string(),
                "departement",
                areas.departement_geometry(*d as usize),
            ),
            Unit::Maille10(c) => (c.code(), c.code(), "maille10", cell_geometry(c)),
        };
        add_polygon(
            enc,
            LAYER_AGGREGATES,
            &geometry,
            &project,
            stable_id(unit_name, &code),
            &[
                ("unit", PropValue::Str(unit_name)),
                ("code", PropValue::Str(&code)),
                ("name", PropValue::Str(&name)),
                ("observations", PropValue::UInt(t.observations)),
                ("taxa", PropValue::UInt(t.taxa.len() as u64)),
            ],
        );
    }

    for (area, t) in &blurred {
        let (kind, precision, code, name, geometry) = match area {
            DiffusionArea::Commune(c) => (
                "commune",
                "commune".to_string(),
                areas.commune_code(*c as usize).to_string(),
                areas.commune_name(*c as usize).to_string(),
                areas.commune_geometry(*c as usize),
            ),
            DiffusionArea::Departement(d) => (
                "departement",
                "departement".to_string(),
                areas.departement_code(*d as usize).to_string(),
                areas.departement_name(*d as usize).to_string(),
                areas.departement_geometry(*d as usize),
            ),
            DiffusionArea::Cell(c) => (
                "maille",
                format!("{}km", c.size.km()),
                c.code(),
                c.code(),
                cell_geometry(c),
            ),
            DiffusionArea::Precise | DiffusionArea::Hidden => continue,
        };
        add_polygon(
            enc,
            LAYER_BLURRED,
            &geometry,
            &project,
            stable_id(kind, &code),
            &[
                ("kind", PropValue::Str(kind)),
                ("precision", PropValue::Str(&precision)),
                ("code", PropValue::Str(&code)),
                ("name", PropValue::Str(&name)),
                ("observations", PropValue::UInt(t.observations)),
                ("taxa", PropValue::UInt(t.taxa.len() as u64)),
            ],
        );
    }

    // Sorted by id: the order of features reveals nothing about how the store is laid out.
    points.sort_by(|a, b| a.0.cmp(&b.0));
    for (id, p, s) in &points {
        let (debut, fin) = (s.date_debut.to_string(), s.date_fin.to_string());
        enc.layer(LAYER_OBSERVATIONS).add_point(
            Some(stable_id("observation", id)),
            project(*p),
            &[
                ("id", PropValue::Str(id)),
                ("cd_ref", PropValue::UInt(u64::from(s.cd_ref))),
                ("name", PropValue::Str(s.nom_cite)),
                ("date_debut", PropValue::Str(&debut)),
                ("date_fin", PropValue::Str(&fin)),
                ("dataset", PropValue::Str(s.dataset)),
                ("level", PropValue::Str(s.level.code())),
            ],
        );
    }

    add_boundaries(ctx, req.tile, plan, &buffered, enc, &project);
    let mut out = Vec::new();
    enc.encode_into(&mut out);
    out
}

/// The department a record is aggregated in, decided from its diffusion area only.
fn departement_of(ctx: &AccessContext<'_>, s: &Shown<'_>) -> Option<u16> {
    match s.area {
        DiffusionArea::Cell(c) => ctx.departement_of_cell(c),
        _ => s.departement,
    }
}

/// The 10 km cell holding a record's diffusion area, when one does.
fn maille10_of(s: &Shown<'_>) -> Option<Cell> {
    match (s.area, s.position) {
        (DiffusionArea::Precise, Some(p)) => Some(Cell::of_lonlat(GridSize::Km10, p[0], p[1])),
        (DiffusionArea::Cell(c), _) if c.size.nests_in(GridSize::Km10) => c.coarsen(GridSize::Km10),
        _ => None,
    }
}

fn cell_geometry(c: &Cell) -> MultiPolygon {
    MultiPolygon {
        polygons: vec![crate::geo::Polygon {
            exterior: c.polygon_wgs84(8),
            interiors: Vec::new(),
        }],
    }
}

fn add_polygon(
    enc: &mut TileEncoder,
    layer: &str,
    g: &MultiPolygon,
    project: &dyn Fn([f64; 2]) -> [f64; 2],
    id: u64,
    props: &[(&str, PropValue<'_>)],
) -> bool {
    let mut f = enc.layer(layer).polygon();
    for p in &g.polygons {
        if f.exterior(p.exterior.iter().map(|v| project(*v))) {
            for hole in &p.interiors {
                f.interior(hole.iter().map(|v| project(*v)));
            }
        }
    }
    f.finish(Some(id), props)
}

fn add_boundaries(
    ctx: &AccessContext<'_>,
    tile: TileId,
    plan: &ZoomPlan,
    buffered: &BBox,
    enc: &mut TileEncoder,
    project: &dyn Fn([f64; 2]) -> [f64; 2],
) {
    let areas = ctx.store.areas();
    for d in 0..areas.departement_count() {
        if areas.departement_bbox(d).intersects(buffered) {
            let code = areas.departement_code(d);
            add_polygon(
                enc,
                LAYER_BOUNDARIES,
                &areas.departement_geometry(d),
                project,
                stable_id("boundary-departement", code),
                &[
                    ("kind", PropValue::Str("departement")),
                    ("code", PropValue::Str(code)),
                    ("name", PropValue::Str(areas.departement_name(d))),
                ],
            );
        }
    }
    if tile.z() >= plan.communes_from {
        for c in 0..areas.commune_count() {
            if areas.commune_bbox(c).intersects(buffered) {
                let code = areas.commune_code(c);
                add_polygon(
                    enc,
                    LAYER_BOUNDARIES,
                    &areas.commune_geometry(c),
                    project,
                    stable_id("boundary-commune", code),
                    &[
                        ("kind", PropValue::Str("commune")),
                        ("code", PropValue::Str(code)),
                        ("name", PropValue::Str(areas.commune_name(c))),
                    ],
                );
            }
        }
    }
}

/// FNV-1a of kind and code: a feature id that depends on nothing but what it names.
pub fn stable_id(kind: &str, code: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in kind.bytes().chain([0u8]).chain(code.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // MVT ids are uint64, but JavaScript reads them as doubles: keep 53 bits.
    h & ((1 << 53) - 1)
}
