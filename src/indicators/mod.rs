//! Indicators computed from occurrences for one caller (an ORB's figures): observations,
//! species richness, observation pressure, first / last year, knowledge gaps, invasive
//! species per decade and the share of precise data, per 10 km cell, commune, department,
//! 2016 region or H3 cell.
//!
//! Records are read through [`AccessView`] only, and each is placed from its diffusion
//! area for this caller alone: a unit counts a record only when the unit contains the
//! record's area, or is chosen from the area alone (a grid cell's department by
//! [`AccessContext::departement_of_cell`]). A record that cannot be placed at the requested
//! unit is counted under a reason in [`Answer::not_placed`], never dropped silently.
#![forbid(unsafe_code)]

pub mod lists;
pub mod output;

pub use lists::{InvasiveList, ListError, Lists, Regions, Thresholds};

use crate::access::diffusion::DiffusionArea;
use crate::access::view::{AccessContext, AccessView, Shown};
use crate::geo::grid::{Cell, GridSize};
use crate::taxonomy::Taxonomy;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// The indicators, by their URL name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Indicator {
    Observations,
    Richness,
    Pressure,
    FirstLast,
    KnowledgeGaps,
    Invasive,
    PreciseShare,
}

impl Indicator {
    pub const ALL: [Indicator; 7] = [
        Indicator::Observations,
        Indicator::Richness,
        Indicator::Pressure,
        Indicator::FirstLast,
        Indicator::KnowledgeGaps,
        Indicator::Invasive,
        Indicator::PreciseShare,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Indicator::Observations => "observations",
            Indicator::Richness => "richness",
            Indicator::Pressure => "pressure",
            Indicator::FirstLast => "first-last",
            Indicator::KnowledgeGaps => "knowledge-gaps",
            Indicator::Invasive => "invasive",
            Indicator::PreciseShare => "precise-share",
        }
    }

    pub fn parse(s: &str) -> Option<Indicator> {
        Indicator::ALL.into_iter().find(|i| i.name() == s)
    }

    pub fn description(self) -> &'static str {
        match self {
            Indicator::Observations => "number of observations per unit",
            Indicator::Richness => "species richness (distinct cd_ref) and observations per unit",
            Indicator::Pressure => {
                "observation pressure: distinct days observed (start dates) and datasets per unit"
            }
            Indicator::FirstLast => {
                "first year (of start dates) and last year (of end dates) observed, per unit and taxon (cd_ref)"
            }
            Indicator::KnowledgeGaps => {
                "ONB knowledge gaps: richness per taxonomic group (group2_inpn) over the last `years` years (default 20) against the group's threshold"
            }
            Indicator::Invasive => {
                "invasive taxa of the list present per unit and decade (of start dates)"
            }
            Indicator::PreciseShare => {
                "share of observations this caller sees precisely, per unit"
            }
        }
    }

    /// Whether `by=year,group` applies.
    pub fn takes_by(self) -> bool {
        matches!(
            self,
            Indicator::Observations
                | Indicator::Richness
                | Indicator::Pressure
                | Indicator::PreciseShare
        )
    }
}

/// The spatial unit of an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnitKind {
    /// The INPN 10 km Lambert-93 grid.
    Maille10,
    Commune,
    Departement,
    /// 2016 region (from the department).
    Region,
    /// H3 cells of this resolution (precise records only).
    H3(u8),
    /// The whole territory, one unit: every visible record is placed.
    All,
}

/// Finest H3 resolution accepted (about 15 m² hexagons would say more than any grid here).
pub const MAX_H3_RES: u8 = 10;

impl UnitKind {
    pub fn parse(s: &str) -> Option<UnitKind> {
        match s {
            "maille10" => Some(UnitKind::Maille10),
            "commune" => Some(UnitKind::Commune),
            "departement" => Some(UnitKind::Departement),
            "region" => Some(UnitKind::Region),
            "all" => Some(UnitKind::All),
            other => other
                .strip_prefix("h3:")
                .and_then(|r| r.parse::<u8>().ok())
                .filter(|r| *r <= MAX_H3_RES)
                .map(UnitKind::H3),
        }
    }

    pub fn name(self) -> String {
        match self {
            UnitKind::Maille10 => "maille10".into(),
            UnitKind::Commune => "commune".into(),
            UnitKind::Departement => "departement".into(),
            UnitKind::Region => "region".into(),
            UnitKind::All => "all".into(),
            UnitKind::H3(r) => format!("h3:{r}"),
        }
    }
}

/// One unit of an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UnitKey {
    All,
    Region(usize),
    Departement(u16),
    Commune(u16),
    Maille10(Cell),
    H3(u64),
}

/// Why a record could not be placed at the requested unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotPlaced {
    /// Its diffusion area is coarser than the unit, or does not nest in it.
    CoarserThanUnit,
    /// A grid-cell area none of whose fixed sample points lies in a department.
    CellInNoDepartement,
    /// Its department has no region in the region table.
    DepartementWithoutRegion,
}

impl NotPlaced {
    pub fn name(self) -> &'static str {
        match self {
            NotPlaced::CoarserThanUnit => "coarser_than_unit",
            NotPlaced::CellInNoDepartement => "cell_in_no_departement",
            NotPlaced::DepartementWithoutRegion => "departement_without_region",
        }
    }
}

/// Per-request placement: the region of each store department (by index).
pub struct Placer<'c, 'a> {
    ctx: &'c AccessContext<'a>,
    unit: UnitKind,
    region_of: Vec<Option<usize>>,
    h3_res: Option<h3o::Resolution>,
}

impl<'c, 'a> Placer<'c, 'a> {
    pub fn new(ctx: &'c AccessContext<'a>, unit: UnitKind, regions: &Regions) -> Self {
        let areas = ctx.store.areas();
        let region_of = (0..areas.departement_count())
            .map(|d| regions.of_departement(areas.departement_code(d)))
            .collect();
        let h3_res = match unit {
            UnitKind::H3(r) => h3o::Resolution::try_from(r).ok(),
            _ => None,
        };
        Placer {
            ctx,
            unit,
            region_of,
            h3_res,
        }
    }

    fn region(&self, d: u16) -> Result<UnitKey, NotPlaced> {
        self.region_of
            .get(usize::from(d))
            .copied()
            .flatten()
            .map(UnitKey::Region)
            .ok_or(NotPlaced::DepartementWithoutRegion)
    }

    /// The unit holding a record, from its diffusion area (and, when precise, its position).
    pub fn place(&self, s: &Shown<'_>) -> Result<UnitKey, NotPlaced> {
        use NotPlaced::CoarserThanUnit as Coarser;
        match (s.area, self.unit) {
            (DiffusionArea::Hidden, _) => Err(Coarser),
            (_, UnitKind::All) => Ok(UnitKey::All),
            (DiffusionArea::Precise, unit) => {
                let (Some(p), Some(c), Some(d)) = (s.position, s.commune, s.departement) else {
                    return Err(Coarser);
                };
                match unit {
                    UnitKind::Commune => Ok(UnitKey::Commune(c)),
                    UnitKind::Departement => Ok(UnitKey::Departement(d)),
                    UnitKind::Region => self.region(d),
                    UnitKind::Maille10 => Ok(UnitKey::Maille10(Cell::of_lonlat(
                        GridSize::Km10,
                        p[0],
                        p[1],
                    ))),
                    UnitKind::H3(_) => self
                        .h3_res
                        .and_then(|res| {
                            h3o::LatLng::new(p[1], p[0])
                                .ok()
                                .map(|ll| UnitKey::H3(u64::from(ll.to_cell(res))))
                        })
                        .ok_or(Coarser),
                    UnitKind::All => Ok(UnitKey::All),
                }
            }
            (DiffusionArea::Commune(c), unit) => {
                let d = self.ctx.store.areas().commune_departement(usize::from(c));
                match unit {
                    UnitKind::Commune => Ok(UnitKey::Commune(c)),
                    UnitKind::Departement => Ok(UnitKey::Departement(d)),
                    UnitKind::Region => self.region(d),
                    _ => Err(Coarser),
                }
            }
            (DiffusionArea::Cell(cell), unit) => match unit {
                UnitKind::Maille10 => cell
                    .coarsen(GridSize::Km10)
                    .map(UnitKey::Maille10)
                    .ok_or(Coarser),
                UnitKind::Departement | UnitKind::Region => {
                    let d = self
                        .ctx
                        .departement_of_cell(cell)
                        .ok_or(NotPlaced::CellInNoDepartement)?;
                    if unit == UnitKind::Region {
                        self.region(d)
                    } else {
                        Ok(UnitKey::Departement(d))
                    }
                }
                _ => Err(Coarser),
            },
            (DiffusionArea::Departement(d), unit) => match unit {
                UnitKind::Departement => Ok(UnitKey::Departement(d)),
                UnitKind::Region => self.region(d),
                _ => Err(Coarser),
            },
        }
    }
}

/// What to compute.
#[derive(Clone, Debug)]
pub struct Query {
    pub indicator: Indicator,
    pub unit: UnitKind,
    /// Split by year of the start date (`by=year`).
    pub by_year: bool,
    /// Split by taxonomic group (`by=group`).
    pub by_group: bool,
    /// Keep only these taxonomic groups (group2_inpn), when given.
    pub groups: Option<BTreeSet<String>>,
    /// Knowledge gaps: window of the last `years` years, the current one included.
    pub years: u32,
}

impl Query {
    pub fn new(indicator: Indicator, unit: UnitKind) -> Query {
        Query {
            indicator,
            unit,
            by_year: false,
            by_group: false,
            groups: None,
            years: 20,
        }
    }
}

/// A computed indicator: columns, rows (one value per column) and the records left out.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub indicator: Indicator,
    pub unit: UnitKind,
    pub columns: Vec<&'static str>,
    /// The unit of each row (for geometry), with the row's values in column order.
    pub rows: Vec<(UnitKey, Vec<Value>)>,
    /// Visible records placed in a unit.
    pub placed: u64,
    /// Visible records not placed at this unit, per [`NotPlaced::name`].
    pub not_placed: BTreeMap<&'static str, u64>,
    /// Placed records the indicator itself leaves out, per reason (no taxonomic group,
    /// group without threshold, before the window, not on the invasive list).
    pub excluded: BTreeMap<&'static str, u64>,
}

impl Answer {
    /// Whether the answer may hold several rows per unit (per taxon, decade, group, year).
    pub fn multi_row(&self) -> bool {
        self.columns.len() > UNIT_COLUMNS.len()
            && self.columns[UNIT_COLUMNS.len()..]
                .iter()
                .any(|c| matches!(*c, "cd_ref" | "decade" | "group" | "year"))
    }
}

/// The unit columns every answer starts with.
const UNIT_COLUMNS: [&str; 3] = ["unit", "code", "name"];

#[derive(Default)]
struct Tally {
    observations: u64,
    precise: u64,
    taxa: HashSet<u32>,
    days: HashSet<i32>,
    datasets: HashSet<Box<str>>,
    first: i32,
    last: i32,
}

/// Dimensions beside the unit (year, group, taxon, decade), as sortable keys.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Dim {
    Year(i32),
    Group(String),
    Taxon(u32),
}

/// Computes `q` for the view's caller.
pub fn compute(view: &AccessView<'_, '_>, taxonomy: &Taxonomy, lists: &Lists, q: &Query) -> Answer {
    let placer = Placer::new(view.ctx, q.unit, &lists.regions);
    let mut tallies: BTreeMap<(UnitKey, Vec<Dim>), Tally> = BTreeMap::new();
    let mut units_seen: BTreeSet<UnitKey> = BTreeSet::new();
    let mut not_placed: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut excluded: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut placed = 0u64;
    let first_year = view.today.year() - i32::try_from(q.years).unwrap_or(i32::MAX) + 1;
    let mut dims: Vec<Dim> = Vec::new();
    view.for_each(|s| {
        let group = taxonomy.group(s.cd_ref);
        if let Some(wanted) = &q.groups {
            if !group.is_some_and(|g| wanted.contains(g)) {
                return;
            }
        }
        let unit = match placer.place(s) {
            Ok(u) => u,
            Err(why) => {
                *not_placed.entry(why.name()).or_default() += 1;
                return;
            }
        };
        placed += 1;
        dims.clear();
        match q.indicator {
            Indicator::KnowledgeGaps => {
                units_seen.insert(unit);
                if s.date_fin.year() < first_year {
                    *excluded.entry("before_window").or_default() += 1;
                    return;
                }
                let Some(g) = group else {
                    *excluded.entry("no_group").or_default() += 1;
                    return;
                };
                if !lists.thresholds.by_group.contains_key(g) {
                    *excluded.entry("group_without_threshold").or_default() += 1;
                    return;
                }
                dims.push(Dim::Group(g.to_string()));
            }
            Indicator::Invasive => {
                if !lists.invasive.cd_refs.contains(&s.cd_ref) {
                    *excluded.entry("not_invasive").or_default() += 1;
                    return;
                }
                dims.push(Dim::Year(s.date_debut.year().div_euclid(10) * 10));
            }
            Indicator::FirstLast => dims.push(Dim::Taxon(s.cd_ref)),
            _ => {
                if q.by_year {
                    dims.push(Dim::Year(s.date_debut.year()));
                }
                if q.by_group {
                    dims.push(Dim::Group(group.unwrap_or("").to_string()));
                }
            }
        }
        let t = match tallies.get_mut(&(unit, dims.clone())) {
            Some(t) => t,
            None => tallies.entry((unit, dims.clone())).or_insert(Tally {
                first: i32::MAX,
                last: i32::MIN,
                ..Tally::default()
            }),
        };
        t.observations += 1;
        if s.area == DiffusionArea::Precise {
            t.precise += 1;
        }
        t.taxa.insert(s.cd_ref);
        t.first = t.first.min(s.date_debut.year());
        t.last = t.last.max(s.date_fin.year());
        if q.indicator == Indicator::Pressure {
            t.days.insert(s.date_debut.0);
            if !t.datasets.contains(s.dataset()) {
                t.datasets.insert(s.dataset().into());
            }
        }
    });

    let mut columns: Vec<&'static str> = UNIT_COLUMNS.to_vec();
    let labels = output::UnitLabels::new(view.ctx, &lists.regions);
    let mut rows = Vec::new();
    let unit_values = |u: &UnitKey| -> Vec<Value> {
        let (code, name) = labels.code_name(u);
        vec![
            Value::from(q.unit.name()),
            Value::from(code),
            Value::from(name),
        ]
    };
    match q.indicator {
        Indicator::KnowledgeGaps => {
            columns.extend(["group", "richness", "threshold", "status"]);
            for u in &units_seen {
                for (g, th) in &lists.thresholds.by_group {
                    let rich = tallies
                        .get(&(*u, vec![Dim::Group(g.clone())]))
                        .map_or(0, |t| t.taxa.len() as u64);
                    let mut v = unit_values(u);
                    v.extend([
                        Value::from(g.as_str()),
                        Value::from(rich),
                        Value::from(*th),
                        Value::from(if rich >= u64::from(*th) {
                            "known"
                        } else {
                            "gap"
                        }),
                    ]);
                    rows.push((*u, v));
                }
            }
        }
        _ => {
            match q.indicator {
                Indicator::FirstLast => columns.push("cd_ref"),
                Indicator::Invasive => columns.push("decade"),
                _ => {
                    if q.by_year {
                        columns.push("year");
                    }
                    if q.by_group {
                        columns.push("group");
                    }
                }
            }
            columns.extend(match q.indicator {
                Indicator::Observations => &["observations"][..],
                Indicator::Richness => &["richness", "observations"][..],
                Indicator::Pressure => &["days", "datasets", "observations"][..],
                Indicator::FirstLast => {
                    &["taxon_name", "first_year", "last_year", "observations"][..]
                }
                Indicator::Invasive => &["taxa", "observations", "cd_refs"][..],
                Indicator::PreciseShare => &["precise", "observations", "share"][..],
                Indicator::KnowledgeGaps => &[][..],
            });
            for ((u, ds), t) in &tallies {
                let mut v = unit_values(u);
                for d in ds {
                    v.push(match d {
                        Dim::Year(y) => Value::from(*y),
                        Dim::Group(g) => Value::from(g.as_str()),
                        Dim::Taxon(c) => Value::from(*c),
                    });
                }
                let n = t.observations;
                match q.indicator {
                    Indicator::Observations => v.push(Value::from(n)),
                    Indicator::Richness => v.extend([Value::from(t.taxa.len() as u64), n.into()]),
                    Indicator::Pressure => v.extend([
                        Value::from(t.days.len() as u64),
                        Value::from(t.datasets.len() as u64),
                        Value::from(n),
                    ]),
                    Indicator::FirstLast => {
                        let cd = match ds.first() {
                            Some(Dim::Taxon(c)) => *c,
                            _ => 0,
                        };
                        v.extend([
                            Value::from(taxonomy.name(cd).unwrap_or("")),
                            Value::from(t.first),
                            Value::from(t.last),
                            Value::from(n),
                        ]);
                    }
                    Indicator::Invasive => {
                        let mut cds: Vec<u32> = t.taxa.iter().copied().collect();
                        cds.sort_unstable();
                        let list: Vec<String> = cds.iter().map(u32::to_string).collect();
                        v.extend([
                            Value::from(cds.len() as u64),
                            Value::from(n),
                            Value::from(list.join(" ")),
                        ]);
                    }
                    Indicator::PreciseShare => {
                        let share = (t.precise as f64 / n as f64 * 1e4).round() / 1e4;
                        v.extend([Value::from(t.precise), Value::from(n), Value::from(share)]);
                    }
                    Indicator::KnowledgeGaps => {}
                }
                rows.push((*u, v));
            }
        }
    }
    Answer {
        indicator: q.indicator,
        unit: q.unit,
        columns,
        rows,
        placed,
        not_placed,
        excluded,
    }
}

#[cfg(test)]
mod tests;
