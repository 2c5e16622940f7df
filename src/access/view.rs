//! The only way consumers (tiles, indicators, extracts) read records: a view of the store
//! for one caller, on one day, that hands out [`Shown`] records — public attributes and the
//! diffusion area, with the position and id only when the area is [`DiffusionArea::Precise`].
//! Selection by place is made on diffusion areas, never on precise points of blurred records.

use super::diffusion::{
    area_of, grant_covers, public_precision, DiffusionArea, Precision, PublicPolicy, RecordFacts,
    TaxonTree,
};
use super::index::{
    precision_code, precision_of_code, CellTallies, DayIndex, PublicTallies, Tally, TaxonCells,
    TaxonCounts, TaxonTallies,
};
use super::index::{AreaTallies, CellTally};
use super::rights::Caller;
use crate::admin::AdminAreas;
use crate::date::Day;
use crate::geo::grid::Cell;
use crate::geo::grid::GridSize;
use crate::geo::BBox;
use crate::sensitivity::{DsPublique, SensiNiveau};
use crate::store::segment::{Segment, E7};
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
    /// The filters on numbers, checked before any string is read.
    fn keeps_numbers(&self, cd_ref: u32, debut: Day, fin: Day) -> bool {
        self.taxa.as_ref().is_none_or(|t| t.contains(&cd_ref))
            && self.from.is_none_or(|f| fin >= f)
            && self.to.is_none_or(|t| debut <= t)
    }

    fn keeps_dataset(&self, dataset: &str) -> bool {
        self.datasets
            .as_ref()
            .is_none_or(|d| d.iter().any(|x| x == dataset))
    }
}

/// What a consumer may know of one record.
#[derive(Clone, Copy, Debug)]
pub struct Shown<'a> {
    pub area: DiffusionArea,
    pub cd_ref: u32,
    pub date_debut: Day,
    pub date_fin: Day,
    pub level: SensiNiveau,
    /// `dSPublique`: publicly or privately funded data (a public attribute).
    pub ds_publique: DsPublique,
    /// (lon, lat), only when the caller sees the record precisely.
    pub position: Option<[f64; 2]>,
    /// The commune, when the area is the commune or finer than any commune (precise).
    pub commune: Option<u16>,
    /// The department, when the area is the department or lies within one (commune, precise).
    pub departement: Option<u16>,
    /// Where the record's text attributes are read from, on demand: a dense tile groups
    /// most of its points and never needs their names, datasets or ids.
    segment: &'a Segment,
    record: usize,
}

/// One entry of a segment's dictionary of cited names or of datasets, its text read on
/// demand: a tile that draws thousands of points memoizes their values by entry instead of
/// reading (and checking) the same text for each.
#[derive(Clone, Copy)]
pub struct DictText<'a> {
    segment: &'a Segment,
    entry: u32,
    datasets: bool,
}

impl<'a> DictText<'a> {
    pub fn text(&self) -> &'a str {
        if self.datasets {
            self.segment.dataset_value(self.entry)
        } else {
            self.segment.nom_cite_value(self.entry)
        }
    }

    /// Equal keys, equal texts: the segment (by address, alive for the borrow) and entry.
    pub fn key(&self) -> (usize, u32) {
        (std::ptr::from_ref(self.segment) as usize, self.entry)
    }
}

impl<'a> Shown<'a> {
    /// `nomCite`, as its dictionary entry.
    pub fn nom_cite_entry(&self) -> DictText<'a> {
        DictText {
            segment: self.segment,
            entry: self.segment.nom_cite()[self.record],
            datasets: false,
        }
    }

    /// The dataset, as its dictionary entry.
    pub fn dataset_entry(&self) -> DictText<'a> {
        DictText {
            segment: self.segment,
            entry: self.segment.dataset()[self.record],
            datasets: true,
        }
    }

    /// `nomCite`.
    pub fn nom_cite(&self) -> &'a str {
        self.segment.nom_cite_text(self.record)
    }

    /// The dataset (`idSINPJdd`).
    pub fn dataset(&self) -> &'a str {
        self.segment.dataset_name(self.record)
    }

    /// `idSINPOccTax`, only when the caller sees the record precisely.
    pub fn id(&self) -> Option<&'a str> {
        (self.area == DiffusionArea::Precise).then(|| self.segment.id(self.record))
    }

    /// [`Shown::id`] as its UTF-8 bytes.
    pub fn id_bytes(&self) -> Option<&'a [u8]> {
        (self.area == DiffusionArea::Precise).then(|| self.segment.id_bytes(self.record))
    }

    /// The cell of `size` that contains this record's diffusion area, when one does:
    /// precise records, and records blurred to a cell that nests in it.
    pub fn cell_unit(&self, size: GridSize) -> Option<Cell> {
        match (self.area, self.position) {
            (DiffusionArea::Precise, Some(p)) => Some(Cell::of_lonlat(size, p[0], p[1])),
            (DiffusionArea::Cell(c), _) if c.size.nests_in(size) => c.coarsen(size),
            _ => None,
        }
    }

    /// The 10 km cell that contains this record's diffusion area, when one does.
    pub fn maille10(&self) -> Option<Cell> {
        self.cell_unit(GridSize::Km10)
    }
}

/// Everything the diffusion decision depends on besides the caller: shared by all requests.
pub struct AccessContext<'a> {
    pub store: &'a Store,
    /// The store's areas, indexed (to place a grid cell in a department from the cell alone).
    pub areas: &'a AdminAreas,
    pub taxa: &'a dyn TaxonTree,
    pub policy: PublicPolicy,
    pub cells: &'a CellPlacement,
    /// The day index, when one was built for this store and policy (see `index.rs`);
    /// without it (or for another day) the view scans departments.
    pub index: Option<&'a DayIndex>,
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
            index: None,
        }
    }

    pub fn with_index(mut self, index: Option<&'a DayIndex>) -> Self {
        self.index = index;
        self
    }

    /// The department a record is aggregated in, decided from its diffusion area only:
    /// precise, commune and department areas lie in one; a cell is placed by
    /// [`AccessContext::departement_of_cell`].
    pub fn assigned_departement(&self, s: &Shown<'_>) -> Option<u16> {
        match s.area {
            DiffusionArea::Cell(c) => self.departement_of_cell(c),
            _ => s.departement,
        }
    }

    /// The department a cell-level record is counted in: the one at the cell's centre, or at
    /// the first of a fixed 5 × 5 pattern of points inside the cell that lies in a commune,
    /// or else of the lowest-coded commune met on a 41 × 41 grid of points — a function of
    /// the cell only, so it reveals nothing finer than the cell.
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
        let commune_at = |fx: f64, fy: f64| {
            let (lon, lat) = crate::geo::lambert93::inverse(x0 + fx * side, y0 + fy * side);
            self.areas.locate(lon, lat)
        };
        let found = order
            .into_iter()
            .find_map(|(fx, fy)| commune_at(fx, fy))
            .or_else(|| {
                // A cell mostly at sea: the lowest INSEE code met on a 41 × 41 grid of
                // points (still a function of the cell alone).
                (0..41)
                    .flat_map(|i| (0..41).map(move |j| (f64::from(i) / 40.0, f64::from(j) / 40.0)))
                    .filter_map(|(fx, fy)| commune_at(fx, fy))
                    .min_by(|a, b| {
                        self.areas.communes[*a as usize]
                            .code
                            .cmp(&self.areas.communes[*b as usize].code)
                    })
            })
            .map(|c| self.areas.communes[c as usize].departement);
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
                let b = self.store.world_shapes().cell_box(cell);
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
    /// (for this caller) meets `bbox`; hidden records never. Records are selected by their
    /// diffusion area, never by a blurred record's point.
    pub fn for_each_in(&self, bbox: &BBox, f: impl FnMut(&Shown<'a>)) {
        match self.index() {
            Some(index) => self.for_each_in_indexed(index, bbox, f),
            None => self.for_each_in_scanned(bbox, f),
        }
    }

    /// The day index, if it is for this store generation, day and policy.
    pub fn index(&self) -> Option<&'a DayIndex> {
        self.ctx.index.filter(|i| {
            i.day == self.today
                && i.policy == self.ctx.policy
                && i.generation == self.ctx.store.manifest().generation
        })
    }

    /// [`AccessView::for_each_in`] by scanning the departments near `bbox`: the reference
    /// the indexed path is tested against.
    pub fn for_each_in_scanned(&self, bbox: &BBox, mut f: impl FnMut(&Shown<'a>)) {
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
                if self.meets(s, bbox, &mut cell_meets) {
                    f(s);
                }
            });
        }
    }

    fn meets(&self, s: &Shown<'_>, bbox: &BBox, cell_meets: &mut HashMap<Cell, bool>) -> bool {
        match &s.area {
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
        }
    }

    fn for_each_in_indexed(&self, index: &'a DayIndex, bbox: &BBox, mut f: impl FnMut(&Shown<'a>)) {
        // A taxon filter: only that taxon's records are candidates, whatever their area.
        if let Some(taxa) = &self.filter.taxa {
            let mut cell_meets: HashMap<Cell, bool> = HashMap::new();
            for (si, sidx) in index.segments.iter().enumerate() {
                for records in taxa.iter().filter_map(|t| sidx.taxa.get(t)) {
                    for r in records {
                        let r = *r as usize;
                        if let Some(s) = self.shown_record(si, r, Some(sidx.public[r])) {
                            if self.meets(&s, bbox, &mut cell_meets) {
                                f(&s);
                            }
                        }
                    }
                }
            }
            return;
        }
        let store = self.ctx.store;
        let areas = store.areas();
        let agent = matches!(self.caller, Caller::Agent { .. });
        let e7 = |b: &BBox| {
            [
                (b.min[0] * E7).floor() as i32,
                (b.min[1] * E7).floor() as i32,
                (b.max[0] * E7).ceil() as i32,
                (b.max[1] * E7).ceil() as i32,
            ]
        };
        let precise_code = precision_code(Precision::Precise);
        let commune_code = precision_code(Precision::Commune);
        let communes: Vec<usize> = (0..areas.commune_count())
            .filter(|c| areas.commune_bbox(*c).intersects(bbox))
            .collect();
        let departements: Vec<usize> = (0..areas.departement_count())
            .filter(|d| areas.departement_bbox(*d).intersects(bbox))
            .collect();
        let mut cell_meets: HashMap<Cell, bool> = HashMap::new();
        let mut ranges = Vec::new();
        for (si, seg) in store.segments().iter().enumerate() {
            let sidx = &index.segments[si];
            // 1. Precise: publicly precise records, or any record an agent's grant covers.
            if agent || self.ctx.policy.min_precision == Precision::Precise {
                ranges.clear();
                let b7 = e7(bbox);
                seg.blocks_in(b7, &mut ranges);
                let (lons, lats) = (seg.lon_e7(), seg.lat_e7());
                for r in ranges.iter().cloned().flatten() {
                    let code = sidx.public[r];
                    if code != precise_code && !agent {
                        continue;
                    }
                    // Edge blocks hold points outside the box: two integer tests skip the
                    // record before it is read (the exact test on degrees follows).
                    let (x, y) = (lons[r], lats[r]);
                    if x < b7[0] || x > b7[2] || y < b7[1] || y > b7[3] {
                        continue;
                    }
                    if let Some(s) = self.shown_record(si, r, Some(code)) {
                        if s.area == DiffusionArea::Precise
                            && s.position.is_some_and(|p| bbox.contains(p))
                        {
                            f(&s);
                        }
                    }
                }
            }
            // 2. Blurred to a commune meeting the box: its commune's record range.
            for c in &communes {
                for r in seg.commune_records(*c) {
                    if sidx.public[r] == commune_code {
                        if let Some(s) = self.shown_record(si, r, Some(commune_code)) {
                            if matches!(s.area, DiffusionArea::Commune(_)) {
                                f(&s);
                            }
                        }
                    }
                }
            }
            // 3. Blurred to a grid cell: positions within a cell's width of the box.
            for (slot, list) in sidx.grids.iter().enumerate() {
                if list.records.is_empty() {
                    continue;
                }
                let km = f64::from(GridSize::ALL[slot].km());
                let dlat = km * 1.1 / 111.0;
                let top = bbox.max[1].abs().max(bbox.min[1].abs()) + dlat;
                let dlon = km * 1.1 / (111.0 * top.min(89.0).to_radians().cos());
                let wide = BBox {
                    min: [bbox.min[0] - dlon, bbox.min[1] - dlat],
                    max: [bbox.max[0] + dlon, bbox.max[1] + dlat],
                };
                for r in list.candidates(e7(&wide)) {
                    let r = r as usize;
                    if let Some(s) = self.shown_record(si, r, Some(sidx.public[r])) {
                        if matches!(s.area, DiffusionArea::Cell(_))
                            && self.meets(&s, bbox, &mut cell_meets)
                        {
                            f(&s);
                        }
                    }
                }
            }
            // 4. Blurred to a department meeting the box.
            for d in &departements {
                for r in &sidx.departements[*d] {
                    let r = *r as usize;
                    if let Some(s) = self.shown_record(si, r, Some(sidx.public[r])) {
                        if matches!(s.area, DiffusionArea::Departement(_)) {
                            f(&s);
                        }
                    }
                }
            }
        }
    }

    /// Calls `f` with every visible (not hidden) live record passing the filter.
    pub fn for_each(&self, mut f: impl FnMut(&Shown<'a>)) {
        for d in 0..self.ctx.store.areas().departement_count() {
            self.for_each_of_departement(d, &mut f);
        }
    }

    fn for_each_of_departement(&self, d: usize, mut f: impl FnMut(&Shown<'a>)) {
        for (si, seg) in self.ctx.store.segments().iter().enumerate() {
            for r in seg.departement_records(d) {
                if let Some(s) = self.shown_record(si, r, None) {
                    f(&s);
                }
            }
        }
    }

    /// Record `r` of segment `si` when this caller sees it precisely (the point order's
    /// lone points), else None.
    pub(super) fn shown_precise(
        &self,
        si: usize,
        r: usize,
        public: Option<u8>,
    ) -> Option<Shown<'a>> {
        self.shown_record(si, r, public)
            .filter(|s| s.area == DiffusionArea::Precise)
    }

    /// Record `r` of segment `si` as this caller may see it, or None when it is dead,
    /// filtered out or hidden. `public` is its public precision code when already known.
    fn shown_record(&self, si: usize, r: usize, public: Option<u8>) -> Option<Shown<'a>> {
        let store: &'a Store = self.ctx.store;
        let seg = &store.segments()[si];
        let areas = store.areas();
        let (cd_ref, debut) = (seg.cd_ref()[r], seg.date_debut()[r]);
        let date_fin = Day(debut.0 + i32::from(seg.date_span()[r]));
        if !self.filter.keeps_numbers(cd_ref, debut, date_fin) || !store.is_live(si, r) {
            return None;
        }
        if self.filter.datasets.is_some() && !self.filter.keeps_dataset(seg.dataset_name(r)) {
            return None;
        }
        let c = seg.commune()[r] as usize;
        let dep = areas.commune_departement(c);
        let level = seg.step_at(r, self.today).level;
        let (lon, lat) = (
            f64::from(seg.lon_e7()[r]) / E7,
            f64::from(seg.lat_e7()[r]) / E7,
        );
        // Codes and dataset name are read only for grants, the one decision that uses them
        // (the public precision depends on level, producer and funding alone).
        let agent = matches!(self.caller, Caller::Agent { .. });
        let facts = RecordFacts {
            lon,
            lat,
            commune: c as u16,
            departement: dep,
            commune_code: if agent { areas.commune_code(c) } else { "" },
            departement_code: if agent {
                areas.departement_code(dep as usize)
            } else {
                ""
            },
            cd_ref,
            date_debut: debut,
            date_fin,
            dataset: if agent { seg.dataset_name(r) } else { "" },
            level,
            producer: seg.producer()[r],
            ds_publique: seg.ds_publique()[r],
        };
        let covered = match self.caller {
            Caller::Agent { grants, .. } => grants
                .iter()
                .any(|g| grant_covers(g, &facts, self.ctx.taxa)),
            Caller::Public => false,
        };
        let precision = if covered {
            Precision::Precise
        } else {
            public.map_or_else(
                || public_precision(&facts, &self.ctx.policy),
                precision_of_code,
            )
        };
        let area = area_of(precision, &facts);
        if area == DiffusionArea::Hidden {
            return None;
        }
        let precise = area == DiffusionArea::Precise;
        let known_commune = matches!(area, DiffusionArea::Precise | DiffusionArea::Commune(_));
        let known_departement = known_commune || matches!(area, DiffusionArea::Departement(_));
        Some(Shown {
            area,
            cd_ref,
            date_debut: debut,
            date_fin,
            level,
            ds_publique: DsPublique::from_u8(seg.ds_publique()[r]).unwrap_or(DsPublique::Nsp),
            position: precise.then_some([lon, lat]),
            commune: known_commune.then_some(c as u16),
            departement: known_departement.then_some(dep),
            segment: seg,
            record: r,
        })
    }

    /// The public, unfiltered tallies of the day index: every visible record counted in its
    /// department, and for each aggregation grid of `sizes`, in its cell when its area fits
    /// one, else in its own area.
    pub fn public_tallies(&self, sizes: &[GridSize]) -> PublicTallies {
        use std::collections::HashSet;
        type Acc = (u64, HashSet<u32>);
        let nd = self.ctx.store.areas().departement_count();
        let mut departements: Vec<Acc> = vec![(0, HashSet::new()); nd];
        let mut cells: Vec<(HashMap<Cell, Acc>, HashMap<DiffusionArea, Acc>)> =
            sizes.iter().map(|_| Default::default()).collect();
        let add = |t: &mut Acc, cd_ref: u32| {
            t.0 += 1;
            t.1.insert(cd_ref);
        };
        // The same counts per (taxon, unit), for taxon-filtered tiles.
        let mut taxon_departements: HashMap<(u32, u16), u64> = HashMap::new();
        type TaxonGrid = (
            HashMap<(u32, Cell), u64>,
            HashMap<(u32, DiffusionArea), u64>,
        );
        let mut taxon_cells: Vec<TaxonGrid> = sizes.iter().map(|_| Default::default()).collect();
        // Every blurred area, for the point zooms' `blurred` layer.
        let mut area_accs: HashMap<DiffusionArea, Acc> = HashMap::new();
        let mut taxon_areas: HashMap<(u32, DiffusionArea), u64> = HashMap::new();
        self.for_each(|s| {
            if s.area != DiffusionArea::Precise {
                add(area_accs.entry(s.area).or_default(), s.cd_ref);
                *taxon_areas.entry((s.cd_ref, s.area)).or_default() += 1;
            }
            if let Some(d) = self.ctx.assigned_departement(s) {
                add(&mut departements[d as usize], s.cd_ref);
                *taxon_departements.entry((s.cd_ref, d)).or_default() += 1;
            }
            for ((size, (units, coarse)), (t_units, t_coarse)) in sizes
                .iter()
                .zip(cells.iter_mut())
                .zip(taxon_cells.iter_mut())
            {
                match s.cell_unit(*size) {
                    Some(c) => {
                        add(units.entry(c).or_default(), s.cd_ref);
                        *t_units.entry((s.cd_ref, c)).or_default() += 1;
                    }
                    None => {
                        add(coarse.entry(s.area).or_default(), s.cd_ref);
                        *t_coarse.entry((s.cd_ref, s.area)).or_default() += 1;
                    }
                }
            }
        });
        let by_taxon = TaxonTallies {
            departements: TaxonCounts::from_counts(taxon_departements),
            cells: taxon_cells
                .into_iter()
                .map(|(t_units, t_coarse)| TaxonCells {
                    units: TaxonCounts::from_counts(t_units),
                    coarse: TaxonCounts::from_counts(t_coarse),
                })
                .collect(),
        };
        let tally = |(n, t): &Acc| Tally {
            observations: *n,
            taxa: t.len() as u64,
        };
        let areas = AreaTallies::build(
            area_accs
                .iter()
                .filter_map(|(a, acc)| self.ctx.area_bbox(a).map(|b| (*a, b, tally(acc))))
                .collect(),
            taxon_areas,
        );
        PublicTallies {
            areas,
            by_taxon,
            departements: departements.iter().map(tally).collect(),
            cells: sizes
                .iter()
                .zip(cells)
                .map(|(size, (units, coarse))| {
                    let mut by_block: HashMap<(i32, i32), Vec<CellTally>> = HashMap::new();
                    for (c, acc) in &units {
                        if let Some(b) = self.ctx.area_bbox(&DiffusionArea::Cell(*c)) {
                            by_block
                                .entry(block_of(c))
                                .or_default()
                                .push((*c, b, tally(acc)));
                        }
                    }
                    let coarse = coarse
                        .iter()
                        .filter_map(|(a, acc)| self.ctx.area_bbox(a).map(|b| (*a, b, tally(acc))))
                        .collect();
                    CellTallies {
                        size: *size,
                        by_block,
                        coarse,
                    }
                })
                .collect(),
        }
    }
}

/// The 10 km block (Lambert-93 E, N in 10 km steps) a cell's south-west corner lies in.
pub fn block_of(c: &Cell) -> (i32, i32) {
    let sw = c.square_l93()[0];
    (
        (sw[0] / 10_000.0).floor() as i32,
        (sw[1] / 10_000.0).floor() as i32,
    )
}
