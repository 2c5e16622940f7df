//! The diffusion area of a record for a caller: the only input from which anything shown
//! about the record may be computed.
//!
//! Public precision = the coarsest of
//! - the sensitivity level in force on the day of the request (timelines expire),
//! - the producer's `diffusionNiveauPrecision` (1 commune, 2 10 km, 3 department, 4 none),
//! - private data (`dSPublique` = Pr) left at the platform default: at least the commune,
//! - the platform's public policy (GINCO: anonymous callers at least at the commune;
//!   Silene shows the public 5 km cells).
//!
//! An agent sees a record precisely when one of its grants covers it entirely; otherwise at
//! its public precision.

use super::rights::{Caller, Grant};
use crate::date::Day;
use crate::geo::grid::{Cell, GridSize};
use crate::sensitivity::{DsPublique, SensiNiveau};
use crate::store::segment::ABSENT;

/// How precisely a record may be shown, coarsest last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Precision {
    Precise,
    Grid(GridSize),
    Commune,
    Departement,
    Hidden,
}

impl Precision {
    /// The order of [`SensiNiveau::coarseness`]: 1 km < 2 km < commune < 5 km < 10 km < 20 km
    /// < 50 km < department < hidden.
    pub fn coarseness(self) -> u8 {
        match self {
            Precision::Precise => 0,
            Precision::Grid(GridSize::Km1) => 1,
            Precision::Grid(GridSize::Km2) => 2,
            Precision::Commune => 3,
            Precision::Grid(GridSize::Km5) => 4,
            Precision::Grid(GridSize::Km10) => 5,
            Precision::Grid(GridSize::Km20) => 6,
            Precision::Grid(GridSize::Km50) => 7,
            Precision::Departement => 9,
            Precision::Hidden => 10,
        }
    }

    pub fn coarsest(self, other: Precision) -> Precision {
        if other.coarseness() > self.coarseness() {
            other
        } else {
            self
        }
    }

    /// The diffusion geometry of a sensitivity level (DOMAIN.md table). 2.7, a 5,000 km²
    /// cell, has no INPN grid here: the department (about 5,600 km² on average) stands in,
    /// coarser rather than finer.
    pub fn of_sensitivity(level: SensiNiveau) -> Precision {
        match level {
            SensiNiveau::N0 => Precision::Precise,
            SensiNiveau::N1 => Precision::Commune,
            SensiNiveau::N2 | SensiNiveau::Km10 => Precision::Grid(GridSize::Km10),
            SensiNiveau::N3 | SensiNiveau::Km2_5000 => Precision::Departement,
            SensiNiveau::N4 | SensiNiveau::Hidden => Precision::Hidden,
            SensiNiveau::Km1 => Precision::Grid(GridSize::Km1),
            SensiNiveau::Km2 => Precision::Grid(GridSize::Km2),
            SensiNiveau::Km5 => Precision::Grid(GridSize::Km5),
            SensiNiveau::Km20 => Precision::Grid(GridSize::Km20),
            SensiNiveau::Km50 => Precision::Grid(GridSize::Km50),
        }
    }

    /// The producer's restriction (`diffusionNiveauPrecision`); 0 (standard), 5 (precise)
    /// and absent add none.
    pub fn of_producer(code: u8) -> Option<Precision> {
        match code {
            1 => Some(Precision::Commune),
            2 => Some(Precision::Grid(GridSize::Km10)),
            3 => Some(Precision::Departement),
            4 => Some(Precision::Hidden),
            _ => None,
        }
    }

    /// Parses a policy value: `precise`, `commune`, `1km`…`50km`, `departement`, `hidden`.
    pub fn parse(s: &str) -> Option<Precision> {
        match s.trim() {
            "precise" => Some(Precision::Precise),
            "commune" => Some(Precision::Commune),
            "departement" => Some(Precision::Departement),
            "hidden" => Some(Precision::Hidden),
            other => other
                .strip_suffix("km")
                .and_then(|k| k.parse().ok())
                .and_then(GridSize::from_km)
                .map(Precision::Grid),
        }
    }
}

/// The sensitivity level as the 0–4 scale of grants' `max_sensitivity`: the 2.x grid
/// codes count as 2, except 2.8 (not diffused) which counts as 4.
pub fn sensitivity_rank(level: SensiNiveau) -> u8 {
    match level {
        SensiNiveau::N0 => 0,
        SensiNiveau::N1 => 1,
        SensiNiveau::N3 => 3,
        SensiNiveau::N4 | SensiNiveau::Hidden => 4,
        _ => 2,
    }
}

/// The platform's public diffusion policy (from the config file).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicPolicy {
    /// No record is shown to the public more precisely than this.
    pub min_precision: Precision,
}

impl Default for PublicPolicy {
    /// GINCO's rule: anonymous callers see everything at least at the commune.
    fn default() -> Self {
        PublicPolicy {
            min_precision: Precision::Commune,
        }
    }
}

/// Where a record is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DiffusionArea {
    /// At its own position.
    Precise,
    /// Anywhere in this INPN cell.
    Cell(Cell),
    /// Anywhere in this commune (index in the store's areas).
    Commune(u16),
    /// Anywhere in this department (index in the store's areas).
    Departement(u16),
    /// Not shown at all.
    Hidden,
}

/// The facts about one record the decision uses. Everything but the position is a public
/// attribute or a function of the record's commune.
#[derive(Clone, Copy, Debug)]
pub struct RecordFacts<'a> {
    pub lon: f64,
    pub lat: f64,
    pub commune: u16,
    pub departement: u16,
    pub commune_code: &'a str,
    pub departement_code: &'a str,
    pub cd_ref: u32,
    pub date_debut: Day,
    pub date_fin: Day,
    pub dataset: &'a str,
    pub level: SensiNiveau,
    pub producer: u8,
    pub ds_publique: u8,
}

/// Answers "is `cd_ref` at or below `ancestor`" for grants' taxon filters.
pub trait TaxonTree {
    fn is_within(&self, cd_ref: u32, ancestor: u32) -> bool;
}

impl TaxonTree for crate::taxonomy::Taxonomy {
    fn is_within(&self, cd_ref: u32, ancestor: u32) -> bool {
        if cd_ref == ancestor {
            return true;
        }
        let mut up = Vec::new();
        self.ancestors_into(cd_ref, &mut up);
        up.contains(&ancestor)
    }
}

/// A taxonomy that knows no parents: a taxon is within only itself.
pub struct FlatTaxa;

impl TaxonTree for FlatTaxa {
    fn is_within(&self, cd_ref: u32, ancestor: u32) -> bool {
        cd_ref == ancestor
    }
}

/// The public precision of a record.
pub fn public_precision(r: &RecordFacts<'_>, policy: &PublicPolicy) -> Precision {
    let mut p = Precision::of_sensitivity(r.level);
    let producer = Precision::of_producer(r.producer);
    if let Some(prod) = producer {
        p = p.coarsest(prod);
    }
    let private_default =
        r.ds_publique == DsPublique::Pr as u8 && (r.producer == ABSENT || r.producer == 0);
    if private_default {
        p = p.coarsest(Precision::Commune);
    }
    p.coarsest(policy.min_precision)
}

/// Whether `g` covers `r` entirely: every filter it has matches, and the record's
/// sensitivity is within its `max_sensitivity`.
pub fn grant_covers(g: &Grant, r: &RecordFacts<'_>, taxa: &dyn TaxonTree) -> bool {
    sensitivity_rank(r.level) <= g.max_sensitivity
        && g.departements
            .as_ref()
            .is_none_or(|d| d.iter().any(|c| c == r.departement_code))
        && g.communes
            .as_ref()
            .is_none_or(|c| c.iter().any(|c| c == r.commune_code))
        && g.taxa
            .as_ref()
            .is_none_or(|t| t.iter().any(|a| taxa.is_within(r.cd_ref, *a)))
        && g.from.is_none_or(|f| r.date_debut >= f)
        && g.to.is_none_or(|t| r.date_fin <= t)
        && g.datasets
            .as_ref()
            .is_none_or(|d| d.iter().any(|x| x == r.dataset))
}

/// Whether `g` covers every record whatever its facts: no restriction of place, taxon,
/// period or dataset, and every sensitivity level up to the highest rank. Such an agent sees
/// every record precisely, so its unfiltered low-zoom tiles can use counts made once a day
/// for "everything precise" instead of a scan (a platform administrator's case).
pub fn grant_covers_every_record(g: &Grant) -> bool {
    let Grant {
        departements,
        communes,
        taxa,
        from,
        to,
        datasets,
        max_sensitivity,
    } = g;
    departements.is_none()
        && communes.is_none()
        && taxa.is_none()
        && from.is_none()
        && to.is_none()
        && datasets.is_none()
        && *max_sensitivity >= sensitivity_rank(SensiNiveau::Hidden)
}

/// The precision `caller` may see `r` at.
pub fn precision_for(
    caller: &Caller,
    r: &RecordFacts<'_>,
    policy: &PublicPolicy,
    taxa: &dyn TaxonTree,
) -> Precision {
    if let Caller::Agent { grants, .. } = caller {
        if grants.iter().any(|g| grant_covers(g, r, taxa)) {
            return Precision::Precise;
        }
    }
    public_precision(r, policy)
}

/// The area `r` is shown at, for a precision.
pub fn area_of(p: Precision, r: &RecordFacts<'_>) -> DiffusionArea {
    match p {
        Precision::Precise => DiffusionArea::Precise,
        Precision::Grid(size) => DiffusionArea::Cell(Cell::of_lonlat(size, r.lon, r.lat)),
        Precision::Commune => DiffusionArea::Commune(r.commune),
        Precision::Departement => DiffusionArea::Departement(r.departement),
        Precision::Hidden => DiffusionArea::Hidden,
    }
}

/// The diffusion area of `r` for `caller`: [`precision_for`] then [`area_of`].
pub fn diffusion_area(
    caller: &Caller,
    r: &RecordFacts<'_>,
    policy: &PublicPolicy,
    taxa: &dyn TaxonTree,
) -> DiffusionArea {
    area_of(precision_for(caller, r, policy, taxa), r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(level: SensiNiveau, producer: u8, dsp: DsPublique) -> RecordFacts<'static> {
        RecordFacts {
            lon: 6.0794,
            lat: 44.5594,
            commune: 3,
            departement: 1,
            commune_code: "05061",
            departement_code: "05",
            cd_ref: 2852,
            date_debut: Day::parse("2017-05-01").unwrap(),
            date_fin: Day::parse("2017-05-02").unwrap(),
            dataset: "jdd-a",
            level,
            producer,
            ds_publique: dsp as u8,
        }
    }

    const OPEN: PublicPolicy = PublicPolicy {
        min_precision: Precision::Precise,
    };

    #[test]
    fn each_level_maps_to_the_domain_table() {
        let cases = [
            (SensiNiveau::N0, DiffusionArea::Precise),
            (SensiNiveau::N1, DiffusionArea::Commune(3)),
            (
                SensiNiveau::N2,
                DiffusionArea::Cell(Cell::of_lonlat(GridSize::Km10, 6.0794, 44.5594)),
            ),
            (SensiNiveau::N3, DiffusionArea::Departement(1)),
            (SensiNiveau::N4, DiffusionArea::Hidden),
            (SensiNiveau::Hidden, DiffusionArea::Hidden),
            (
                SensiNiveau::Km5,
                DiffusionArea::Cell(Cell::of_lonlat(GridSize::Km5, 6.0794, 44.5594)),
            ),
        ];
        for (level, area) in cases {
            let r = facts(level, ABSENT, DsPublique::Pu);
            assert_eq!(
                diffusion_area(&Caller::Public, &r, &OPEN, &FlatTaxa),
                area,
                "{level}"
            );
        }
    }

    #[test]
    fn producer_private_data_and_policy_only_ever_coarsen() {
        let p = |level, prod, dsp, policy: &PublicPolicy| {
            public_precision(&facts(level, prod, dsp), policy)
        };
        assert_eq!(
            p(SensiNiveau::N0, 2, DsPublique::Pu, &OPEN),
            Precision::Grid(GridSize::Km10)
        );
        // A producer asking for "precise" never lowers a sensitivity blur.
        assert_eq!(
            p(SensiNiveau::N3, 5, DsPublique::Pu, &OPEN),
            Precision::Departement
        );
        assert_eq!(
            p(SensiNiveau::N0, 4, DsPublique::Pu, &OPEN),
            Precision::Hidden
        );
        // Private data at the platform default: at least the commune.
        assert_eq!(
            p(SensiNiveau::N0, ABSENT, DsPublique::Pr, &OPEN),
            Precision::Commune
        );
        assert_eq!(
            p(SensiNiveau::N0, 0, DsPublique::Pr, &OPEN),
            Precision::Commune
        );
        assert_eq!(
            p(SensiNiveau::N0, 5, DsPublique::Pr, &OPEN),
            Precision::Precise
        );
        // The default policy (GINCO): anonymous callers at least at the commune.
        assert_eq!(
            p(SensiNiveau::N0, 5, DsPublique::Pu, &PublicPolicy::default()),
            Precision::Commune
        );
        let silene = PublicPolicy {
            min_precision: Precision::Grid(GridSize::Km5),
        };
        assert_eq!(
            p(SensiNiveau::N1, ABSENT, DsPublique::Pu, &silene),
            Precision::Grid(GridSize::Km5)
        );
        assert_eq!(
            p(SensiNiveau::N2, ABSENT, DsPublique::Pu, &silene),
            Precision::Grid(GridSize::Km10)
        );
    }

    #[test]
    fn a_grant_said_to_cover_every_record_covers_every_level_and_any_restriction_breaks_it() {
        let all = Grant {
            max_sensitivity: 4,
            ..Grant::default()
        };
        assert!(grant_covers_every_record(&all));
        let levels = [
            SensiNiveau::N0,
            SensiNiveau::N1,
            SensiNiveau::N2,
            SensiNiveau::N3,
            SensiNiveau::N4,
            SensiNiveau::Km1,
            SensiNiveau::Km5,
            SensiNiveau::Hidden,
        ];
        for level in levels {
            for dsp in [DsPublique::Pu, DsPublique::Pr] {
                for producer in [0, 4, ABSENT] {
                    let r = facts(level, producer, dsp);
                    assert!(grant_covers(&all, &r, &FlatTaxa), "{level:?}");
                }
            }
        }
        let restricted = [
            Grant {
                max_sensitivity: 3,
                ..all.clone()
            },
            Grant {
                departements: Some(vec![]),
                ..all.clone()
            },
            Grant {
                communes: Some(vec!["05061".into()]),
                ..all.clone()
            },
            Grant {
                taxa: Some(vec![2852]),
                ..all.clone()
            },
            Grant {
                from: Day::parse("1900-01-01").ok(),
                ..all.clone()
            },
            Grant {
                to: Day::parse("2100-01-01").ok(),
                ..all.clone()
            },
            Grant {
                datasets: Some(vec!["jdd-a".into()]),
                ..all.clone()
            },
        ];
        for g in restricted {
            assert!(!grant_covers_every_record(&g), "{g:?}");
        }
    }

    #[test]
    fn a_grant_shows_precisely_only_what_it_covers_entirely() {
        let r = facts(SensiNiveau::N2, ABSENT, DsPublique::Pu);
        let agent = |g: Grant| Caller::Agent {
            sub: "a".into(),
            grants: vec![g],
        };
        let all = Grant {
            max_sensitivity: 4,
            ..Grant::default()
        };
        assert_eq!(
            precision_for(&agent(all.clone()), &r, &OPEN, &FlatTaxa),
            Precision::Precise
        );
        let too_low = Grant {
            max_sensitivity: 1,
            ..all.clone()
        };
        assert_eq!(
            precision_for(&agent(too_low), &r, &OPEN, &FlatTaxa),
            Precision::Grid(GridSize::Km10)
        );
        for g in [
            Grant {
                departements: Some(vec!["38".into()]),
                ..all.clone()
            },
            Grant {
                communes: Some(vec!["05062".into()]),
                ..all.clone()
            },
            Grant {
                taxa: Some(vec![1]),
                ..all.clone()
            },
            Grant {
                from: Day::parse("2017-05-02").ok(),
                ..all.clone()
            },
            Grant {
                to: Day::parse("2017-05-01").ok(),
                ..all.clone()
            },
            Grant {
                datasets: Some(vec!["jdd-b".into()]),
                ..all.clone()
            },
        ] {
            assert_eq!(
                precision_for(&agent(g.clone()), &r, &OPEN, &FlatTaxa),
                Precision::Grid(GridSize::Km10),
                "{g:?}"
            );
        }
        let matching = Grant {
            departements: Some(vec!["05".into()]),
            communes: Some(vec!["05061".into()]),
            taxa: Some(vec![2852]),
            from: Day::parse("2017-05-01").ok(),
            to: Day::parse("2017-05-02").ok(),
            datasets: Some(vec!["jdd-a".into()]),
            max_sensitivity: 2,
        };
        assert_eq!(
            precision_for(&agent(matching.clone()), &r, &OPEN, &FlatTaxa),
            Precision::Precise
        );
        // Grants are OR-ed.
        let two = Caller::Agent {
            sub: "a".into(),
            grants: vec![
                Grant {
                    max_sensitivity: 0,
                    ..all
                },
                matching,
            ],
        };
        assert_eq!(
            precision_for(&two, &r, &OPEN, &FlatTaxa),
            Precision::Precise
        );
    }

    #[test]
    fn policy_values_parse() {
        assert_eq!(
            Precision::parse("5km"),
            Some(Precision::Grid(GridSize::Km5))
        );
        assert_eq!(Precision::parse("commune"), Some(Precision::Commune));
        assert_eq!(Precision::parse("precise"), Some(Precision::Precise));
        assert_eq!(Precision::parse("3km"), None);
    }
}
