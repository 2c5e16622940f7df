//! The only way consumers (tiles, indicators, extracts) read records: a view of the store
//! for one caller, on one day, that hands out [`Shown`] records — public attributes and the
//! diffusion area, with the position and id only when the area is [`DiffusionArea::Precise`].
//! Selection by place is made on diffusion areas, never on precise points of blurred records.

use super::diffusion::{diffusion_area, DiffusionArea, PublicPolicy, RecordFacts, TaxonTree};
use super::rights::Caller;
use crate::admin::AdminAreas;
use crate::date::Day;
use crate::geo::grid::Cell;
use crate::geo::BBox;
use crate::sensitivity::SensiNiveau;
use crate::store::segment::E7;
use crate::store::Store;
use std::collections::{BTreeSet, HashMap};
use std::sync::RwLock;

/// Attribute filters of a request (tiles' `taxon`, `from`, `to`, `dataset`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct RecordFilter {
    /// cd_ref values, descendants already expanded.
    pub taxa: Option<BTreeSet<u32>>,
    /// The observation period must meet [from, to].
    pub from: Option<Day>,
    pub to: Option<Day>,
    pub datasets: Option<Vec<String>>,
}

impl RecordFilter {
    fn keeps(&self, cd_ref: u32, debut: Day, fin: Day, dataset: &str) -> bool {
        self.taxa.as_ref().is_none_or(|t| t.contains(&cd_ref))
            && self.from.is_none_or(|f| fin >= f)
            && self.to.is_none_or(|t| debut <= t)
            && self
                .datasets
                .as_ref()
                .is_none_or(|d| d.iter().any(|x| x == dataset))
    }
}

/// What a consumer may know of one record.
#[derive(Clone, Copy, Debug)]
pub struct Shown<'a> {
    pub area: DiffusionArea,
    pub cd_ref: u32,
    pub nom_cite: &'a str,
    pub date_debut: Day,
    pub date_fin: Day,
    pub dataset: &'a str,
    pub level: SensiNiveau,
    /// `idSINPOccTax`, only when the caller sees the record precisely.
    pub id: Option<&'a str>,
    /// (lon, lat), only when the caller sees the record precisely.
    pub position: Option<[f64; 2]>,
    /// The commune, when the area is the commune or finer than any commune (precise).
    pub commune: Option<u16>,
    /// The department, when the area is the department or lies within one (commune, precise).
    pub departement: Option<u16>,
}

/// Everything the diffusion decision depends on besides the caller: shared by all requests.
pub struct AccessContext<'a> {
    pub store: &'a Store,
    /// The store's areas, indexed (to place a grid cell in a department from the cell alone).
    pub areas: &'a AdminAreas,
    pub taxa: &'a dyn TaxonTree,
    pub policy: PublicPolicy,
    pub cells: &'a CellPlacement,
}

/// Department of each grid cell, decided from the cell alone; filled as cells are met and
/// kept for the life of a store (it depends on the areas only).
#[derive(Debug, Default)]
pub struct CellPlacement(RwLock<HashMap<Cell, Option<u16>>>);

impl<'a> AccessContext<'a> {
    pub fn new(
        store: &'a Store,
        areas: &'a AdminAreas,
        taxa: &'a dyn TaxonTree,
        policy: PublicPolicy,
        cells: &'a CellPlacement,
    ) -> Self {
        AccessContext {
            store,
            areas,
            taxa,
            policy,
            cells,
        }
    }

    /// The department a cell-level record is counted in: the one at the cell's centre, or at
    /// the first of a fixed 5 × 5 pattern of points inside the cell that lies in a commune —
    /// a function of the cell only, so it reveals nothing finer than the cell.
    pub fn departement_of_cell(&self, cell: Cell) -> Option<u16> {
        if let Some(d) = self.cells.0.read().ok().and_then(|m| m.get(&cell).copied()) {
            return d;
        }
        let sq = cell.square_l93();
        let (x0, y0, side) = (sq[0][0], sq[0][1], sq[2][0] - sq[0][0]);
        let mut order: Vec<(f64, f64)> = vec![(0.5, 0.5)];
        for i in 0..5 {
            for j in 0..5 {
                order.push((0.1 + 0.2 * f64::from(i), 0.1 + 0.2 * f64::from(j)));
            }
        }
        let found = order.into_iter().find_map(|(fx, fy)| {
            let (lon, lat) = crate::geo::lambert93::inverse(x0 + fx * side, y0 + fy * side);
            self.areas
                .locate(lon, lat)
                .map(|c| self.areas.communes[c as usize].departement)
        });
        if let Ok(mut m) = self.cells.0.write() {
            m.insert(cell, found);
        }
        found
    }

    /// The lon/lat box of an area (cells: their corners, inverse-projected, with a margin
    /// for the curved edges).
    pub fn area_bbox(&self, area: &DiffusionArea) -> Option<BBox> {
        let a = self.store.areas();
        match area {
            DiffusionArea::Precise | DiffusionArea::Hidden => None,
            DiffusionArea::Commune(c) => Some(a.commune_bbox(*c as usize)),
            DiffusionArea::Departement(d) => Some(a.departement_bbox(*d as usize)),
            DiffusionArea::Cell(cell) => {
                let mut b = BBox::EMPTY;
                for p in cell.polygon_wgs84(2) {
                    b.extend(p);
                }
                let m = 1e-4;
                Some(BBox {
                    min: [b.min[0] - m, b.min[1] - m],
                    max: [b.max[0] + m, b.max[1] + m],
                })
            }
        }
    }
}

/// The store as one caller may see it on one day.
pub struct AccessView<'c, 'a> {
    pub ctx: &'c AccessContext<'a>,
    pub caller: &'c Caller,
    pub today: Day,
    pub filter: &'c RecordFilter,
}

/// The largest diffusion cell (50 km) in degrees, with room: departments whose box lies
/// within this margin of a place may hold cell-level records whose cell reaches it.
const CELL_MARGIN_DEG: f64 = 0.8;

impl<'a> AccessView<'_, 'a> {
    /// Calls `f` with every live record that passes the filter and whose diffusion area
    /// (for this caller) meets `bbox`; hidden records never. Records are visited per
    /// department; the order carries no information beyond the areas themselves.
    pub fn for_each_in(&self, bbox: &BBox, mut f: impl FnMut(&Shown<'a>)) {
        let store = self.ctx.store;
        let areas = store.areas();
        let wide = BBox {
            min: [bbox.min[0] - CELL_MARGIN_DEG, bbox.min[1] - CELL_MARGIN_DEG],
            max: [bbox.max[0] + CELL_MARGIN_DEG, bbox.max[1] + CELL_MARGIN_DEG],
        };
        let mut cell_meets: HashMap<Cell, bool> = HashMap::new();
        for d in 0..areas.departement_count() {
            if !areas.departement_bbox(d).intersects(&wide) {
                continue;
            }
            self.for_each_of_departement(d, |s| {
                let meets = match &s.area {
                    DiffusionArea::Precise => s.position.is_some_and(|p| bbox.contains(p)),
                    DiffusionArea::Cell(c) => *cell_meets.entry(*c).or_insert_with(|| {
                        self.ctx
                            .area_bbox(&s.area)
                            .is_some_and(|b| b.intersects(bbox))
                    }),
                    other => self
                        .ctx
                        .area_bbox(other)
                        .is_some_and(|b| b.intersects(bbox)),
                };
                if meets {
                    f(s);
                }
            });
        }
    }

    /// Calls `f` with every visible (not hidden) live record passing the filter.
    pub fn for_each(&self, mut f: impl FnMut(&Shown<'a>)) {
        for d in 0..self.ctx.store.areas().departement_count() {
            self.for_each_of_departement(d, &mut f);
        }
    }

    fn for_each_of_departement(&self, d: usize, mut f: impl FnMut(&Shown<'a>)) {
        let store: &'a Store = self.ctx.store;
        let areas = store.areas();
        for (si, seg) in store.segments().iter().enumerate() {
            let (cd_ref, debut, span) = (seg.cd_ref(), seg.date_debut(), seg.date_span());
            let (commune, producer, dsp) = (seg.commune(), seg.producer(), seg.ds_publique());
            for r in seg.departement_records(d) {
                let date_fin = Day(debut[r].0 + i32::from(span[r]));
                let dataset = seg.dataset_name(r);
                if !self.filter.keeps(cd_ref[r], debut[r], date_fin, dataset)
                    || !store.is_live(si, r)
                {
                    continue;
                }
                let c = commune[r] as usize;
                let dep = areas.commune_departement(c);
                let level = seg.step_at(r, self.today).level;
                let (lon, lat) = (
                    f64::from(seg.lon_e7()[r]) / E7,
                    f64::from(seg.lat_e7()[r]) / E7,
                );
                let facts = RecordFacts {
                    lon,
                    lat,
                    commune: c as u16,
                    departement: dep,
                    commune_code: areas.commune_code(c),
                    departement_code: areas.departement_code(dep as usize),
                    cd_ref: cd_ref[r],
                    date_debut: debut[r],
                    date_fin,
                    dataset,
                    level,
                    producer: producer[r],
                    ds_publique: dsp[r],
                };
                let area = diffusion_area(self.caller, &facts, &self.ctx.policy, self.ctx.taxa);
                if area == DiffusionArea::Hidden {
                    continue;
                }
                let precise = area == DiffusionArea::Precise;
                let known_commune =
                    matches!(area, DiffusionArea::Precise | DiffusionArea::Commune(_));
                let known_departement =
                    known_commune || matches!(area, DiffusionArea::Departement(_));
                f(&Shown {
                    area,
                    cd_ref: cd_ref[r],
                    nom_cite: seg.nom_cite_text(r),
                    date_debut: debut[r],
                    date_fin,
                    dataset,
                    level,
                    id: precise.then(|| seg.id(r)),
                    position: precise.then_some([lon, lat]),
                    commune: known_commune.then_some(c as u16),
                    departement: known_departement.then_some(dep),
                });
            }
        }
    }
}
