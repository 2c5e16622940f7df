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
//! - z ≥ 10: `observations` (precise points) and `blurred` (one feature per diffusion area);
//!   below z16, a tile with more than 4096 precise points groups those that share a 1/64th
//!   of tile side into one feature with their count (`observations`), see [`GROUP_CELL`].
//!
//! A unit's counts are the same in every tile that shows it: a unit is drawn with all the
//! records assigned to it, whichever tile asks.

use crate::access::diffusion::{grant_covers_every_record, DiffusionArea};
use crate::access::index::{block_range, PublicTallies, Tally};
use crate::access::points::{group_rows, TilePoints};
use crate::access::view::block_of;
use crate::access::view::{AccessContext, AccessView, DictText, RecordFilter, Shown};
use crate::access::Caller;
use crate::date::Day;
use crate::geo::grid::{Cell, GridSize};
use crate::geo::quantized::{quantize, TileSquare, GROUP_CELL_UNITS, TILE_UNITS};
use crate::geo::webmercator::{lonlat_to_tile_pixel, TileId};
use crate::geo::world_shapes::{
    tile_origin, RingId, WholeRings, WorldShapes, CELL_POINTS_PER_EDGE, TILE_BITS,
};
use crate::geo::{BBox, MultiPolygon};
use crate::tiles::mvt::{PolygonFeature, PropValue, TileEncoder};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};

pub const EXTENT: u32 = 4096;
// The world shapes are kept in units of 4096-unit tiles.
const _: () = assert!(EXTENT == 1 << TILE_BITS);
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
    /// Up to this zoom (above `maille10_max`): 1 km aggregates instead of points — for dense
    /// stores, where a z10 tile would carry hundreds of thousands of points. Equal to
    /// `maille10_max` (the default): no 1 km stage.
    pub maille1_max: u8,
    /// From this zoom: commune outlines in `boundaries`.
    pub communes_from: u8,
    /// Below `points_max_zoom`, a tile with more precise points than this draws them as
    /// point groups: one feature per [`GROUP_CELL`]-unit square holding two or more of
    /// them (its count, at its members' mean), single points unchanged. A dense z10 tile
    /// otherwise carries 100 k+ points (10+ MB) that no map can show apart.
    pub group_points_above: u32,
    /// From this zoom, every precise point is drawn on its own (TileJSON `maxzoom`).
    pub points_max_zoom: u8,
}

impl ZoomPlan {
    /// The grid cell size aggregated at zoom `z`, between the department and point zooms.
    pub fn cell_unit(&self, z: u8) -> Option<GridSize> {
        if z <= self.departement_max {
            None
        } else if z <= self.maille10_max {
            Some(GridSize::Km10)
        } else if z <= self.maille1_max {
            Some(GridSize::Km1)
        } else {
            None
        }
    }

    /// The highest zoom with an `aggregates` layer.
    pub fn aggregates_max(&self) -> u8 {
        self.maille1_max.max(self.maille10_max)
    }
}

impl Default for ZoomPlan {
    fn default() -> Self {
        ZoomPlan {
            departement_max: 6,
            maille10_max: 9,
            maille1_max: 9,
            communes_from: 10,
            group_points_above: 4096,
            points_max_zoom: 16,
        }
    }
}

/// How low zooms aggregate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum AggregateMode {
    /// Departments up to `departement_max`, then 10 km cells.
    #[default]
    Grid,
    /// H3 cells (h3o) for precise records; blurred records stay in `blurred`, since an H3
    /// cell cannot contain a commune, a grid cell or a department.
    H3,
}

/// One tile request.
pub struct TileRequest<'r> {
    pub tile: TileId,
    pub caller: &'r Caller,
    pub filter: &'r RecordFilter,
    pub today: Day,
    pub aggregate: AggregateMode,
}

/// H3 resolution drawn at zoom `z`, and a margin in degrees that holds any cell of it.
fn h3_resolution(z: u8) -> (h3o::Resolution, f64) {
    match z {
        0..=3 => (h3o::Resolution::Three, 1.5),
        4..=5 => (h3o::Resolution::Four, 0.6),
        6..=7 => (h3o::Resolution::Five, 0.25),
        _ => (h3o::Resolution::Six, 0.1),
    }
}

/// Observations and distinct taxa gathered while scanning.
#[derive(Default)]
struct Gathered {
    observations: u64,
    taxa: HashSet<u32>,
}

impl Gathered {
    fn add(&mut self, s: &Shown<'_>) {
        self.observations += 1;
        self.taxa.insert(s.cd_ref);
    }

    fn tally(&self) -> Tally {
        Tally {
            observations: self.observations,
            taxa: self.taxa.len() as u64,
        }
    }
}

/// Aggregation units, ordered for a deterministic feature order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Unit {
    Departement(u16),
    Cell(Cell),
    H3(u64),
}

/// Where a tile's records come from. [`render`] takes its branch from this function, so the
/// server can count tiles per source (`/metrics`) and an index that silently stops being
/// used shows up as tiles moving to `Scan`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TileSource {
    /// The day index's precomputed public tallies (public, unfiltered, grid, low zooms).
    PublicTallies,
    /// The day index's tallies as if every record were precise (an agent one of whose
    /// grants covers every record; unfiltered, grid, low zooms).
    AllPreciseTallies,
    /// Point zooms, for the public or an agent who sees every record precisely (unfiltered
    /// or filtered by taxa): the day index's area counts and the segments' point order.
    PointOrder,
    /// The day index's selection lists.
    Index,
    /// A scan of the departments near the tile (no index for this day, policy, generation).
    Scan,
}

impl TileSource {
    pub const ALL: [TileSource; 5] = [
        TileSource::PublicTallies,
        TileSource::AllPreciseTallies,
        TileSource::PointOrder,
        TileSource::Index,
        TileSource::Scan,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TileSource::PublicTallies => "public_tallies",
            TileSource::AllPreciseTallies => "all_precise_tallies",
            TileSource::PointOrder => "point_order",
            TileSource::Index => "index",
            TileSource::Scan => "scan",
        }
    }
}

/// The source [`render`] reads this tile from.
pub fn tile_source(ctx: &AccessContext<'_>, req: &TileRequest<'_>, plan: &ZoomPlan) -> TileSource {
    let view = AccessView {
        ctx,
        caller: req.caller,
        today: req.today,
        filter: req.filter,
    };
    // Unfiltered, or filtered by taxa only (counts kept per taxon too).
    let taxa_only = RecordFilter {
        taxa: None,
        ..req.filter.clone()
    } == RecordFilter::default();
    let low_zoom_unfiltered =
        taxa_only && req.aggregate == AggregateMode::Grid && req.tile.z() <= plan.aggregates_max();
    match view.index() {
        None => TileSource::Scan,
        Some(i) if low_zoom_unfiltered => match req.caller {
            Caller::Public => TileSource::PublicTallies,
            Caller::Agent { grants, .. }
                if i.tallies_all_precise.is_some()
                    && grants.iter().any(grant_covers_every_record) =>
            {
                TileSource::AllPreciseTallies
            }
            Caller::Agent { .. } => TileSource::Index,
        },
        Some(i) => {
            let z = req.tile.z();
            let points_zoom = z > plan.departement_max
                && plan.cell_unit(z).is_none()
                && !(req.aggregate == AggregateMode::H3 && z <= plan.aggregates_max())
                && z <= crate::geo::quantized::QUANTIZED_MAX_ZOOM;
            let tallies = match req.caller {
                Caller::Public => true,
                Caller::Agent { .. } => i.tallies_all_precise.is_some(),
            };
            if points_zoom && tallies && view.has_point_order() {
                TileSource::PointOrder
            } else {
                TileSource::Index
            }
        }
    }
}

/// Renders the tile; `enc` is reused between calls (its buffers are kept).
pub fn render(
    ctx: &AccessContext<'_>,
    req: &TileRequest<'_>,
    plan: &ZoomPlan,
    enc: &mut TileEncoder,
) -> Vec<u8> {
    // Layers in a fixed order, whatever this (reused) encoder rendered before: the bytes of
    // a tile must not depend on which tiles, of which callers, the thread drew earlier.
    for layer in [
        LAYER_AGGREGATES,
        LAYER_BLURRED,
        LAYER_OBSERVATIONS,
        LAYER_BOUNDARIES,
    ] {
        enc.layer(layer);
    }
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

    let mut units: BTreeMap<Unit, Gathered> = BTreeMap::new();
    let mut blurred: BTreeMap<DiffusionArea, Gathered> = BTreeMap::new();
    // Grid-aggregated low zooms, unfiltered or filtered by taxa only: counts precomputed for
    // the day, for the public and for agents who see every record precisely.
    let precomputed = match (tile_source(ctx, req, plan), view.index()) {
        (TileSource::PublicTallies, Some(i)) => Some(&i.tallies),
        (TileSource::AllPreciseTallies, Some(i)) => i.tallies_all_precise.as_ref(),
        _ => None,
    };
    let mut unit_tallies: Tallies<Unit> = Tallies::default();
    let mut blurred_tallies: Tallies<DiffusionArea> = Tallies::default();
    // Precise points above z20: their pixel and record.
    let mut rows: Vec<PointRow<'_>> = Vec::new();
    // Precise points up to z20 (quantized): single ones and groups.
    let mut points: Option<TilePoints<'_>> = None;

    if let (Some(t), Some(taxa)) = (precomputed, &req.filter.taxa) {
        taxon_tallies(
            ctx,
            t,
            taxa,
            z,
            plan,
            &buffered,
            &mut unit_tallies,
            &mut blurred_tallies,
        );
    } else if let Some(t) = precomputed {
        if z <= plan.departement_max {
            for (d, tally) in t.departements.iter().enumerate() {
                if tally.observations > 0 && areas.departement_bbox(d).intersects(&buffered) {
                    unit_tallies.insert(Unit::Departement(d as u16), *tally);
                }
            }
        } else if let Some(cells) = plan
            .cell_unit(z)
            .and_then(|size| t.cells.iter().find(|c| c.size == size))
        {
            for (cell, bbox, tally) in cells.meeting(&buffered) {
                if bbox.intersects(&buffered) {
                    unit_tallies.insert(Unit::Cell(*cell), *tally);
                }
            }
            for (area, bbox, tally) in &cells.coarse {
                if bbox.intersects(&buffered) {
                    blurred_tallies.insert(*area, *tally);
                }
            }
        }
    } else if req.aggregate == AggregateMode::H3 && z <= plan.aggregates_max() {
        let (res, margin) = h3_resolution(z);
        let scan = BBox {
            min: [buffered.min[0] - margin, buffered.min[1] - margin],
            max: [buffered.max[0] + margin, buffered.max[1] + margin],
        };
        let mut hex_meets: BTreeMap<u64, bool> = BTreeMap::new();
        view.for_each_in(&scan, |s| match (&s.area, s.position) {
            (DiffusionArea::Precise, Some(p)) => {
                let Ok(ll) = h3o::LatLng::new(p[1], p[0]) else {
                    return;
                };
                let cell = ll.to_cell(res);
                let meets = *hex_meets.entry(u64::from(cell)).or_insert_with(|| {
                    let b = hexagon(u64::from(cell)).bbox();
                    b.intersects(&buffered)
                });
                if meets {
                    units.entry(Unit::H3(u64::from(cell))).or_default().add(s);
                }
            }
            (area, _) => {
                if ctx.area_bbox(area).is_some_and(|b| b.intersects(&buffered)) {
                    blurred.entry(*area).or_default().add(s);
                }
            }
        });
    } else if z <= plan.departement_max {
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
                if let Some(d) = ctx.assigned_departement(s).filter(|d| meeting.contains(d)) {
                    units.entry(Unit::Departement(d)).or_default().add(s);
                }
            });
        }
    } else {
        let aggregate = plan.cell_unit(z);
        // Point zooms up to z20: points are those of the tile's quantized square.
        let square = if aggregate.is_none() {
            TileSquare::new(req.tile)
        } else {
            None
        };
        let group_above = (z < plan.points_max_zoom).then_some(u64::from(plan.group_points_above));
        // The public, or an agent who sees every record precisely, unfiltered or filtered
        // by taxa: blurred areas' counts from the day index, points from the point order.
        let fast = match (tile_source(ctx, req, plan), square, view.index()) {
            (TileSource::PointOrder, Some(sq), Some(i)) => {
                let t = match req.caller {
                    Caller::Public => Some(&i.tallies),
                    Caller::Agent { .. } => i.tallies_all_precise.as_ref(),
                };
                t.zip(Some(sq))
            }
            _ => None,
        };
        if let Some((t, sq)) = fast {
            blurred_tallies.extend(t.areas.meeting(&buffered, req.filter.taxa.as_ref()));
            if let Some(p) = view.tile_points(sq, group_above) {
                points = Some(p);
            }
        } else {
            // Aggregating: wide enough to hold every cell meeting the tile (a cell is drawn
            // with all its records). Otherwise each record's own area must meet the tile,
            // and points must be found in the whole square.
            let scan = match (aggregate, square) {
                (Some(size), _) => {
                    let (dx, dy) = (
                        0.025 * size.metres() / 1000.0,
                        0.015 * size.metres() / 1000.0,
                    );
                    BBox {
                        min: [buffered.min[0] - dx, buffered.min[1] - dy],
                        max: [buffered.max[0] + dx, buffered.max[1] + dy],
                    }
                }
                (None, Some(sq)) => buffered.union(&square_lonlat(sq)),
                (None, None) => buffered,
            };
            let mut cell_meets: BTreeMap<Cell, bool> = BTreeMap::new();
            // Whether a diffusion area meets the tile, once per area: a cell's box costs a
            // Lambert-93 inverse projection, and a dense tile has tens of thousands of
            // records in a few dozen areas.
            let mut area_meets: BTreeMap<DiffusionArea, bool> = BTreeMap::new();
            let mut quantized: Vec<([u32; 2], Shown<'_>)> = Vec::new();
            view.for_each_in(&scan, |s| {
                if let Some(size) = aggregate {
                    if let Some(cell) = s.cell_unit(size) {
                        let meets = *cell_meets.entry(cell).or_insert_with(|| {
                            ctx.area_bbox(&DiffusionArea::Cell(cell))
                                .is_some_and(|b| b.intersects(&buffered))
                        });
                        if meets {
                            units.entry(Unit::Cell(cell)).or_default().add(s);
                        }
                        return;
                    }
                }
                match (&s.area, s.position, square) {
                    (DiffusionArea::Precise, Some(p), Some(sq)) => {
                        let q = quantize(p[0], p[1]);
                        if sq.cell_index(q).is_some() {
                            quantized.push((q, *s));
                        }
                    }
                    (DiffusionArea::Precise, Some(p), None) => {
                        if buffered.contains(p) {
                            let (x, y) = lonlat_to_tile_pixel(p[0], p[1], req.tile, EXTENT);
                            rows.push(PointRow { xy: [x, y], s: *s });
                        }
                    }
                    (area, _, _) => {
                        let meets = *area_meets.entry(*area).or_insert_with(|| {
                            ctx.area_bbox(area).is_some_and(|b| b.intersects(&buffered))
                        });
                        if meets {
                            blurred.entry(*area).or_default().add(s);
                        }
                    }
                }
            });
            if let Some(sq) = square.filter(|_| aggregate.is_none()) {
                points = Some(group_rows(sq, quantized, group_above));
            }
        }
    }

    let project = |p: [f64; 2]| {
        let (x, y) = lonlat_to_tile_pixel(p[0], p[1], req.tile, EXTENT);
        [x, y]
    };
    let shapes = ctx.store.world_shapes();
    let nc = areas.commune_count();
    let draw = Draw {
        shapes,
        zoom: req.tile.z(),
        origin: tile_origin(req.tile.x(), req.tile.y()),
        whole: shapes.whole_rings(req.tile.z()),
        scratch: Default::default(),
        lonlat: &project,
    };

    unit_tallies.extend(units.iter().map(|(u, g)| (*u, g.tally())));
    blurred_tallies.extend(blurred.iter().map(|(a, g)| (*a, g.tally())));
    for (unit, t) in &unit_tallies.in_key_order() {
        let (code, name, unit_name, geometry) = match unit {
            Unit::Departement(d) => (
                Cow::Borrowed(areas.departement_code(*d as usize)),
                Cow::Borrowed(areas.departement_name(*d as usize)),
                "departement",
                Outline::Area(nc + *d as usize),
            ),
            Unit::Cell(c) => (
                Cow::Owned(c.code()),
                Cow::Owned(c.code()),
                if c.size == GridSize::Km1 {
                    "maille1"
                } else {
                    "maille10"
                },
                Outline::Cell(*c),
            ),
            Unit::H3(h) => {
                let code = format!("{h:x}");
                (
                    Cow::Owned(code.clone()),
                    Cow::Owned(code),
                    "h3",
                    Outline::LonLat(hexagon(*h)),
                )
            }
        };
        draw.polygon(
            enc,
            LAYER_AGGREGATES,
            &geometry,
            stable_id(unit_name, &code),
            &[
                ("unit", PropValue::Str(unit_name)),
                ("code", PropValue::Str(&code)),
                ("name", PropValue::Str(&name)),
                ("observations", PropValue::UInt(t.observations)),
                ("taxa", PropValue::UInt(t.taxa)),
            ],
        );
    }

    for (area, t) in &blurred_tallies.in_key_order() {
        let (kind, precision, code, name, geometry) = match area {
            DiffusionArea::Commune(c) => (
                "commune",
                Cow::Borrowed("commune"),
                Cow::Borrowed(areas.commune_code(*c as usize)),
                Cow::Borrowed(areas.commune_name(*c as usize)),
                Outline::Area(*c as usize),
            ),
            DiffusionArea::Departement(d) => (
                "departement",
                Cow::Borrowed("departement"),
                Cow::Borrowed(areas.departement_code(*d as usize)),
                Cow::Borrowed(areas.departement_name(*d as usize)),
                Outline::Area(nc + *d as usize),
            ),
            DiffusionArea::Cell(c) => (
                "maille",
                Cow::Owned(format!("{}km", c.size.km())),
                Cow::Owned(c.code()),
                Cow::Owned(c.code()),
                Outline::Cell(*c),
            ),
            DiffusionArea::Precise | DiffusionArea::Hidden => continue,
        };
        draw.polygon(
            enc,
            LAYER_BLURRED,
            &geometry,
            stable_id(kind, &code),
            &[
                ("kind", PropValue::Str(kind)),
                ("precision", PropValue::Str(&precision)),
                ("code", PropValue::Str(&code)),
                ("name", PropValue::Str(&name)),
                ("observations", PropValue::UInt(t.observations)),
                ("taxa", PropValue::UInt(t.taxa)),
            ],
        );
    }

    // Points up to z20 drawn at their quantized position; dense tiles below
    // `points_max_zoom` come with point groups (see `access::points`), which count only
    // records this caller sees precisely.
    let mut groups: Vec<PointGroup> = Vec::new();
    if let (Some(p), Some(sq)) = (points, TileSquare::new(req.tile)) {
        rows.extend(
            p.single
                .into_iter()
                .map(|(q, s)| PointRow { xy: sq.units(q), s }),
        );
        groups = p
            .groups
            .iter()
            .map(|g| PointGroup {
                id: group_id(z, g.world),
                xy: sq.mean_units(g.sum, g.observations),
                observations: g.observations,
                cd_ref: g.cd_ref,
                level: g.level.map_or("mixed", |l| l.code()),
            })
            .collect();
        groups.sort_unstable_by_key(|g| (g.id, g.xy[0] as i64, g.xy[1] as i64));
    }
    // Single points: their text read from the store here, in the order gathered (reading
    // it after sorting waited on a cache miss per field), and only for them (a grouped
    // point's is never needed).
    let texts: Vec<(&[u8], PointText<'_>)> = rows
        .iter()
        .filter_map(|r| {
            let text = PointText {
                xy: r.xy,
                name: r.s.nom_cite_entry(),
                dataset: r.s.dataset_entry(),
                cd_ref: r.s.cd_ref,
                date_debut: r.s.date_debut,
                date_fin: r.s.date_fin,
                level: r.s.level,
            };
            Some((r.s.id_bytes()?, text))
        })
        .collect();
    drop(rows);
    // Sorted by id hash, then id: the order of features reveals nothing about how the
    // store is laid out.
    let mut order: Vec<(u64, u32)> = texts
        .iter()
        .enumerate()
        .map(|(k, (id, _))| (observation_id(id), k as u32))
        .collect();
    let id_of = |k: u32| texts.get(k as usize).map(|t| t.0).unwrap_or_default();
    order.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| id_of(a.1).cmp(id_of(b.1))));
    // Gathered in a tight loop of independent reads (the memory system overlaps them),
    // then encoded in sequence: reading each row from the encoding loop waited on one
    // cache miss per point. Ids are copied here too, into one string in that order.
    let mut ids: Vec<u8> = Vec::with_capacity(order.len() * 36);
    let sorted: Vec<(u64, PointText<'_>, [usize; 2])> = order
        .iter()
        .filter_map(|(h, k)| {
            let (id, text) = texts.get(*k as usize)?;
            let start = ids.len();
            ids.extend_from_slice(id);
            Some((*h, *text, [start, ids.len()]))
        })
        .collect();
    // Each id was checked as UTF-8 at open: one check of them all costs less than one per
    // id. Should it fail (the file changed under us), the ids are dropped, not the points.
    let ids = String::from_utf8(ids).unwrap_or_default();
    drop(order);
    drop(texts);
    if !sorted.is_empty() {
        add_points(enc.layer(LAYER_OBSERVATIONS), &sorted, &ids);
    }
    if !groups.is_empty() {
        add_groups(enc.layer(LAYER_OBSERVATIONS), &groups);
    }

    add_boundaries(ctx, req.tile, plan, &buffered, enc, &draw);
    let mut out = Vec::new();
    enc.encode_into(&mut out);
    out
}

/// A precise point while the tile is gathered: its pixel and its record.
#[derive(Clone, Copy)]
struct PointRow<'a> {
    xy: [f64; 2],
    s: Shown<'a>,
}

/// What a single point's feature is written from: its pixel and public attributes.
#[derive(Clone, Copy)]
struct PointText<'a> {
    xy: [f64; 2],
    name: DictText<'a>,
    dataset: DictText<'a>,
    cd_ref: u32,
    date_debut: Day,
    date_fin: Day,
    level: crate::sensitivity::SensiNiveau,
}

/// Properties of an observation point, in the order they are written.
const POINT_KEYS: [&str; 7] = [
    "id",
    "cd_ref",
    "name",
    "date_debut",
    "date_fin",
    "dataset",
    "level",
];

/// Token namespaces of [`add_points`]'s value memo.
const TOKEN_CD_REF: u64 = 1 << 60;
const TOKEN_DAY: u64 = 2 << 60;
const TOKEN_NAME: u64 = 3 << 60;
const TOKEN_DATASET: u64 = 4 << 60;
const TOKEN_LEVEL: u64 = 5 << 60;
const TOKEN_COUNT: u64 = 6 << 60;

/// A memo token for a dictionary entry: its segment's address and its entry.
fn dict_token(namespace: u64, t: DictText<'_>) -> (u64, u64) {
    let (segment, entry) = t.key();
    (namespace | u64::from(entry), segment as u64)
}

/// A memo token for a string borrowed for the whole tile: equal address and length mean
/// equal text.
fn str_token(namespace: u64, s: &str) -> (u64, u64) {
    (namespace | s.len() as u64, s.as_ptr() as u64)
}

/// Writes the precise points, sorted. A dense z10 tile holds over 100 k of them: keys are
/// resolved once, values that repeat (taxon, name, dates, dataset, level) are found by
/// integer tokens instead of hashing text, and ids — unique per record — go straight to
/// the dictionary. The bytes are those [`LayerEncoder::add_point`] would write.
fn add_points(
    layer: &mut crate::tiles::mvt::LayerEncoder,
    points: &[(u64, PointText<'_>, [usize; 2])],
    ids: &str,
) {
    let keys = POINT_KEYS.map(|k| layer.key_index(k));
    let memo = |layer: &mut crate::tiles::mvt::LayerEncoder, token, value: PropValue<'_>| {
        layer
            .token_value(token)
            .unwrap_or_else(|| layer.value_index_for_token(token, value))
    };
    // Dictionary texts are read (and their UTF-8 checked) once per entry and tile.
    let text = |layer: &mut crate::tiles::mvt::LayerEncoder, namespace, t: DictText<'_>| {
        let token = dict_token(namespace, t);
        layer
            .token_value(token)
            .unwrap_or_else(|| layer.value_index_for_token(token, PropValue::Str(t.text())))
    };
    let day = |layer: &mut crate::tiles::mvt::LayerEncoder, d: Day| {
        let token = (TOKEN_DAY, d.0 as u64);
        match layer.token_value(token) {
            Some(i) => i,
            None => {
                let iso = d.iso();
                let text;
                let value = match iso.as_str() {
                    Some(t) => t,
                    None => {
                        text = d.to_string();
                        &text
                    }
                };
                layer.value_index_for_token(token, PropValue::Str(value))
            }
        }
    };
    for (hash, s, [a, b]) in points {
        let (id, xy) = (ids.get(*a..*b).unwrap_or_default(), s.xy);
        if !layer.keeps_point(xy) {
            continue;
        }
        let values = [
            layer.unique_value_index(PropValue::Str(id)),
            memo(
                layer,
                (TOKEN_CD_REF, u64::from(s.cd_ref)),
                PropValue::UInt(u64::from(s.cd_ref)),
            ),
            text(layer, TOKEN_NAME, s.name),
            day(layer, s.date_debut),
            day(layer, s.date_fin),
            text(layer, TOKEN_DATASET, s.dataset),
            memo(
                layer,
                str_token(TOKEN_LEVEL, s.level.code()),
                PropValue::Str(s.level.code()),
            ),
        ];
        let mut tags = [[0u32; 2]; 7];
        for (tag, (k, v)) in tags.iter_mut().zip(keys.iter().zip(values)) {
            *tag = [*k, v];
        }
        layer.add_point_tags(Some(*hash), xy, &tags);
    }
}

/// Side, in tile units (of [`EXTENT`]), of the square cells points are grouped in: 64 per
/// tile side, aligned on the world grid of the zoom so that neighbouring tiles agree on
/// the cells of their shared buffer.
pub const GROUP_CELL: i64 = GROUP_CELL_UNITS;
// The quantized square is this tile and buffer, its cells these groups.
const _: () = assert!(BUFFER as i64 == GROUP_CELL && EXTENT as i64 == TILE_UNITS);

/// Two or more precise points of one group cell, drawn as one feature.
struct PointGroup {
    /// `stable_id("group", "z/x/y")` of the cell on the zoom's world grid.
    id: u64,
    /// The members' mean position, in integer tile units.
    xy: [f64; 2],
    observations: u64,
    /// The members' taxon when they all share it.
    cd_ref: Option<u32>,
    /// The members' sensitivity level code when they all share it, else "mixed".
    level: &'static str,
}

/// The lon/lat box of a tile's quantized square, with a margin of about 1 cm.
fn square_lonlat(sq: TileSquare) -> BBox {
    use crate::geo::webmercator::{inverse, HALF_WORLD};
    let [x0, y0, x1, y1] = sq.bounds();
    let step = 2.0 * HALF_WORLD / 4_294_967_296.0;
    let metres = |v: i64| v as f64 * step - HALF_WORLD;
    let (west, north) = inverse(metres(x0), -metres(y0));
    let (east, south) = inverse(metres(x1), -metres(y1));
    let m = 1e-7;
    BBox {
        min: [west - m, south - m],
        max: [east + m, north + m],
    }
}

/// Writes point groups after the single points: `observations` and, when uniform,
/// `cd_ref` and `level` (else "mixed"); no id, name, date or dataset of any member. The
/// bytes are those [`LayerEncoder::add_point`] would write; a dense tile has thousands of
/// groups, whose values repeat and are found by integer tokens.
fn add_groups(layer: &mut crate::tiles::mvt::LayerEncoder, groups: &[PointGroup]) {
    // Keys are added when first used, as add_point would: the same dictionary order.
    let mut keys: [Option<u32>; 3] = [None; 3];
    let mut key = |layer: &mut crate::tiles::mvt::LayerEncoder, i: usize| {
        let name = ["observations", "cd_ref", "level"][i];
        *keys[i].get_or_insert_with(|| layer.key_index(name))
    };
    let memo = |layer: &mut crate::tiles::mvt::LayerEncoder, token, value: PropValue<'_>| {
        layer
            .token_value(token)
            .unwrap_or_else(|| layer.value_index_for_token(token, value))
    };
    let mut tags: Vec<[u32; 2]> = Vec::with_capacity(3);
    for g in groups {
        if !layer.keeps_point(g.xy) {
            continue;
        }
        tags.clear();
        let k_obs = key(layer, 0);
        tags.push([
            k_obs,
            memo(
                layer,
                (TOKEN_COUNT, g.observations),
                PropValue::UInt(g.observations),
            ),
        ]);
        if let Some(cd) = g.cd_ref {
            let k_cd = key(layer, 1);
            let v = memo(
                layer,
                (TOKEN_CD_REF, u64::from(cd)),
                PropValue::UInt(u64::from(cd)),
            );
            tags.push([k_cd, v]);
        }
        let k_level = key(layer, 2);
        tags.push([
            k_level,
            memo(
                layer,
                str_token(TOKEN_LEVEL, g.level),
                PropValue::Str(g.level),
            ),
        ]);
        layer.add_point_tags(Some(g.id), g.xy, &tags);
    }
}

/// The precomputed tallies of the units meeting the tile, for a filter on `taxa` alone: per
/// unit, the sum of its taxa's observations and the number of its taxa present (the same
/// units and counts as the scan: see `tests/fast_path_equivalence.rs`).
#[allow(clippy::too_many_arguments)]
fn taxon_tallies(
    ctx: &AccessContext<'_>,
    t: &PublicTallies,
    taxa: &std::collections::BTreeSet<u32>,
    z: u8,
    plan: &ZoomPlan,
    buffered: &BBox,
    unit_tallies: &mut Tallies<Unit>,
    blurred_tallies: &mut Tallies<DiffusionArea>,
) {
    let add = |tally: &mut Tally, n: u64| {
        tally.observations += n;
        tally.taxa += 1;
    };
    let areas = ctx.store.areas();
    if z <= plan.departement_max {
        let mut per: BTreeMap<u16, Tally> = BTreeMap::new();
        for cd in taxa {
            for (d, n) in t.by_taxon.departements.get(cd).into_iter().flatten() {
                add(per.entry(*d).or_default(), *n);
            }
        }
        for (d, tally) in per {
            if areas.departement_bbox(d as usize).intersects(buffered) {
                unit_tallies.insert(Unit::Departement(d), tally);
            }
        }
        return;
    }
    let Some(k) = plan
        .cell_unit(z)
        .and_then(|size| t.cells.iter().position(|c| c.size == size))
    else {
        return;
    };
    let Some(grid) = t.by_taxon.cells.get(k) else {
        return;
    };
    let (e0, e1, n0, n1) = block_range(buffered);
    // Per taxon, its count in each cell; summed per cell after sorting (a z7 tile meets
    // thousands of cells: a map insert each cost more than the sort).
    let mut cells: Vec<(Cell, u64)> = Vec::new();
    let mut coarse: Vec<(DiffusionArea, u64)> = Vec::new();
    for cd in taxa {
        for (c, n) in grid.units.get(cd).into_iter().flatten() {
            let (e, n_) = block_of(c);
            if (e0..=e1).contains(&e) && (n0..=n1).contains(&n_) {
                cells.push((*c, *n));
            }
        }
        coarse.extend(
            grid.coarse
                .get(cd)
                .into_iter()
                .flatten()
                .map(|(a, n)| (*a, *n)),
        );
    }
    fn summed<K: Ord + Copy>(mut v: Vec<(K, u64)>) -> Vec<(K, Tally)> {
        v.sort_unstable_by_key(|(k, _)| *k);
        let mut out: Vec<(K, Tally)> = Vec::new();
        for (k, n) in v {
            if out.last().is_none_or(|(last, _)| *last != k) {
                out.push((k, Tally::default()));
            }
            if let Some((_, tally)) = out.last_mut() {
                tally.observations += n;
                tally.taxa += 1;
            }
        }
        out
    }
    let (cells, coarse) = (summed(cells), summed(coarse));
    for (c, tally) in cells {
        if ctx
            .area_bbox(&DiffusionArea::Cell(c))
            .is_some_and(|b| b.intersects(buffered))
        {
            unit_tallies.insert(Unit::Cell(c), tally);
        }
    }
    for (a, tally) in coarse {
        if ctx.area_bbox(&a).is_some_and(|b| b.intersects(buffered)) {
            blurred_tallies.insert(a, tally);
        }
    }
}

/// The hexagon of an H3 cell index in lon/lat.
fn hexagon(h: u64) -> MultiPolygon {
    let exterior = h3o::CellIndex::try_from(h)
        .map(|c| c.boundary().iter().map(|ll| [ll.lng(), ll.lat()]).collect())
        .unwrap_or_default();
    MultiPolygon {
        polygons: vec![crate::geo::Polygon {
            exterior,
            interiors: Vec::new(),
        }],
    }
}

/// Counts per unit or area, added in any order and drawn in key order (a tile meets
/// thousands of cells: a map insert each cost more than one sort).
struct Tallies<K> {
    entries: Vec<(K, Tally)>,
}

impl<K> Default for Tallies<K> {
    fn default() -> Self {
        Tallies {
            entries: Vec::new(),
        }
    }
}

impl<K: Ord + Copy> Tallies<K> {
    fn insert(&mut self, key: K, tally: Tally) {
        self.entries.push((key, tally));
    }

    fn extend(&mut self, entries: impl IntoIterator<Item = (K, Tally)>) {
        self.entries.extend(entries);
    }

    /// Sorted by key; of a key added twice, the last tally (as a map insert would keep).
    fn in_key_order(mut self) -> Vec<(K, Tally)> {
        self.entries.reverse();
        // Stable: of equal keys, the last added comes first and is the one kept.
        self.entries.sort_by_key(|(k, _)| *k);
        self.entries.dedup_by_key(|(k, _)| *k);
        self.entries
    }
}

/// What a polygon feature is drawn from.
enum Outline {
    /// Area `i` of the store's [`WorldShapes`] (communes, then departments).
    Area(usize),
    /// A grid cell: from the shapes when it is a 10 km cell over the areas.
    Cell(Cell),
    /// Anything else, in lon/lat.
    LonLat(MultiPolygon),
}

/// Draws outlines into one tile: from Web-Mercator vertices projected once per store when
/// there are some, else from lon/lat.
struct Draw<'a> {
    shapes: &'a WorldShapes,
    zoom: u8,
    /// The tile's corner in its zoom's world units.
    origin: [i64; 2],
    /// The zoom's rings encoded whole, when it has them.
    whole: Option<&'a WholeRings>,
    /// A ring's vertices in tile units, reused.
    scratch: std::cell::RefCell<Vec<[i64; 2]>>,
    lonlat: &'a dyn Fn([f64; 2]) -> [f64; 2],
}

impl Draw<'_> {
    fn polygon(
        &self,
        enc: &mut TileEncoder,
        layer: &str,
        outline: &Outline,
        id: u64,
        props: &[(&str, PropValue<'_>)],
    ) -> bool {
        let mut f = enc.layer(layer).polygon();
        match outline {
            Outline::Area(i) => {
                for rings in self.shapes.area_polygons(*i) {
                    let mut rings = rings.map(|r| self.shapes.area_ring(r));
                    let Some(exterior) = rings.next() else {
                        continue;
                    };
                    if self.ring(&mut f, exterior, true) {
                        for hole in rings {
                            self.ring(&mut f, hole, false);
                        }
                    }
                }
            }
            Outline::Cell(c) => match self.shapes.cell_ring(c) {
                Some(ring) => {
                    self.ring(&mut f, ring, true);
                }
                None => {
                    let ring = c.polygon_wgs84(CELL_POINTS_PER_EDGE);
                    f.exterior(ring.iter().map(|v| (self.lonlat)(*v)));
                }
            },
            Outline::LonLat(g) => {
                for p in &g.polygons {
                    if f.exterior(p.exterior.iter().map(|v| (self.lonlat)(*v))) {
                        for hole in &p.interiors {
                            f.interior(hole.iter().map(|v| (self.lonlat)(*v)));
                        }
                    }
                }
            }
        }
        f.finish(Some(id), props)
    }

    /// One ring of the shapes: copied when the zoom has it encoded and the tile holds it
    /// whole, else drawn from its vertices.
    fn ring(&self, f: &mut PolygonFeature<'_>, ring: RingId, exterior: bool) -> bool {
        if let Some((whole, bytes)) = self.whole.and_then(|w| w.get(ring)) {
            if let Some(kept) = f.whole_ring(whole, bytes, self.origin, exterior) {
                return kept;
            }
        }
        let mut points = self.scratch.borrow_mut();
        let square = [-i64::from(BUFFER), i64::from(EXTENT + BUFFER)];
        self.shapes
            .ring_for_clipping(ring, self.zoom, self.origin, square, &mut points);
        if exterior {
            f.exterior_int(points.iter().copied())
        } else {
            f.interior_int(points.iter().copied())
        }
    }
}

fn add_boundaries(
    ctx: &AccessContext<'_>,
    tile: TileId,
    plan: &ZoomPlan,
    buffered: &BBox,
    enc: &mut TileEncoder,
    draw: &Draw<'_>,
) {
    let areas = ctx.store.areas();
    let nc = areas.commune_count();
    for d in 0..areas.departement_count() {
        if areas.departement_bbox(d).intersects(buffered) {
            let code = areas.departement_code(d);
            draw.polygon(
                enc,
                LAYER_BOUNDARIES,
                &Outline::Area(nc + d),
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
                draw.polygon(
                    enc,
                    LAYER_BOUNDARIES,
                    &Outline::Area(c),
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
/// `stable_id("group", "z/x/y")` of a world group cell, written without allocating (a
/// dense tile has thousands of groups).
fn group_id(z: u8, world: [i64; 2]) -> u64 {
    const GROUP: u64 = fnv(fnv(FNV_OFFSET, b"group"), &[0]);
    let h = fnv_decimal(GROUP, i64::from(z));
    let h = fnv_decimal(fnv(h, b"/"), world[0]);
    fnv_decimal(fnv(h, b"/"), world[1]) & ((1 << 53) - 1)
}

/// [`fnv`] over `v` written in decimal, as `format!("{v}")` writes it.
fn fnv_decimal(h: u64, v: i64) -> u64 {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut u = v.unsigned_abs();
    while let Some(slot) = i.checked_sub(1).and_then(|k| digits.get_mut(k)) {
        *slot = b'0' + (u % 10) as u8;
        i -= 1;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    let h = if v < 0 { fnv(h, b"-") } else { h };
    fnv(h, digits.get(i..).unwrap_or_default())
}

pub fn stable_id(kind: &str, code: &str) -> u64 {
    fnv_finish(fnv(fnv(FNV_OFFSET, kind.as_bytes()), &[0]), code.as_bytes())
}

/// [`stable_id`]`("observation", id)`, with the kind's part of the hash computed once: a
/// dense tile hashes over 100 k ids.
fn observation_id(id: &[u8]) -> u64 {
    const OBSERVATION: u64 = fnv(fnv(FNV_OFFSET, b"observation"), &[0]);
    fnv_finish(OBSERVATION, id)
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

const fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    h
}

fn fnv_finish(h: u64, code: &[u8]) -> u64 {
    // MVT ids are uint64, but JavaScript reads them as doubles: keep 53 bits.
    fnv(h, code) & ((1 << 53) - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The precomputed prefix gives the same ids as hashing the kind each time, and the
    /// ids are FNV-1a-64 cut to 53 bits (reference values computed by hand from the FNV
    /// definition with Python).
    #[test]
    fn observation_ids_are_stable_ids() {
        for id in ["", "a", "5f0e4c1a-2b3d-4e5f-8a9b-0c1d2e3f4a5b"] {
            assert_eq!(observation_id(id.as_bytes()), stable_id("observation", id));
        }
        assert_eq!(stable_id("", ""), 0xaf63_bd4c_8601_b7df & ((1 << 53) - 1));
    }

    #[test]
    fn group_ids_are_stable_ids_of_the_cell_path() {
        for (z, w) in [
            (0u8, [0i64, 0]),
            (10, [-1, 65_536]),
            (20, [67_108_863, 1]),
            (9, [i64::MIN, i64::MAX]),
            (255, [-1_000_000_007, 10]),
        ] {
            let code = format!("{z}/{}/{}", w[0], w[1]);
            assert_eq!(group_id(z, w), stable_id("group", &code));
        }
    }
}
