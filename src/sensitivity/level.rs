//! Sensitivity levels (`sensiNiveau`), producer restrictions (`diffusionNiveauPrecision`)
//! and public/private status (`dSPublique`), as the SINP standard codes them.

use std::fmt;

/// `sensiNiveau`: 0–4, and since 2022 the grid codes 2.1–2.8.
/// Stored as one byte: 0–4 as themselves, 2.1–2.8 as 21–28.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum SensiNiveau {
    /// 0: not sensitive, precise geometry.
    N0 = 0,
    /// 1: blurred to the commune.
    N1 = 1,
    /// 2: blurred to the 10 km cell.
    N2 = 2,
    /// 3: blurred to the department.
    N3 = 3,
    /// 4: not diffused.
    N4 = 4,
    /// 2.1: 1 km cell.
    Km1 = 21,
    /// 2.2: 2 km cell.
    Km2 = 22,
    /// 2.3: 5 km cell.
    Km5 = 23,
    /// 2.4: 10 km cell (same area as 2).
    Km10 = 24,
    /// 2.5: 20 km cell.
    Km20 = 25,
    /// 2.6: 50 km cell.
    Km50 = 26,
    /// 2.7: 5000 km² cell.
    Km2_5000 = 27,
    /// 2.8: not diffused (same as 4).
    Hidden = 28,
}

impl SensiNiveau {
    pub const ALL: [SensiNiveau; 13] = [
        SensiNiveau::N0,
        SensiNiveau::N1,
        SensiNiveau::N2,
        SensiNiveau::N3,
        SensiNiveau::N4,
        SensiNiveau::Km1,
        SensiNiveau::Km2,
        SensiNiveau::Km5,
        SensiNiveau::Km10,
        SensiNiveau::Km20,
        SensiNiveau::Km50,
        SensiNiveau::Km2_5000,
        SensiNiveau::Hidden,
    ];

    /// Parses the code as written in SINP files: "0".."4", "2.1".."2.8".
    pub fn parse(s: &str) -> Option<SensiNiveau> {
        Self::ALL.into_iter().find(|l| l.code() == s.trim())
    }

    pub fn from_u8(b: u8) -> Option<SensiNiveau> {
        Self::ALL.into_iter().find(|l| *l as u8 == b)
    }

    pub fn code(self) -> &'static str {
        match self {
            SensiNiveau::N0 => "0",
            SensiNiveau::N1 => "1",
            SensiNiveau::N2 => "2",
            SensiNiveau::N3 => "3",
            SensiNiveau::N4 => "4",
            SensiNiveau::Km1 => "2.1",
            SensiNiveau::Km2 => "2.2",
            SensiNiveau::Km5 => "2.3",
            SensiNiveau::Km10 => "2.4",
            SensiNiveau::Km20 => "2.5",
            SensiNiveau::Km50 => "2.6",
            SensiNiveau::Km2_5000 => "2.7",
            SensiNiveau::Hidden => "2.8",
        }
    }

    /// How coarse the diffusion area is: the only order in which levels may be compared
    /// (as text, "3" > "2.8" although 2.8 hides more). Equal ranks hide the same.
    /// Areas: 1 km² < 4 km² < a commune (~15 km² on average) < 25 km² < 100 km² < 400 km²
    /// < 2,500 km² < 5,000 km² < a department (~5,600 km²) < nothing.
    pub fn coarseness(self) -> u8 {
        match self {
            SensiNiveau::N0 => 0,
            SensiNiveau::Km1 => 1,
            SensiNiveau::Km2 => 2,
            SensiNiveau::N1 => 3,
            SensiNiveau::Km5 => 4,
            SensiNiveau::N2 | SensiNiveau::Km10 => 5,
            SensiNiveau::Km20 => 6,
            SensiNiveau::Km50 => 7,
            SensiNiveau::Km2_5000 => 8,
            SensiNiveau::N3 => 9,
            SensiNiveau::N4 | SensiNiveau::Hidden => 10,
        }
    }

    pub fn is_sensitive(self) -> bool {
        self != SensiNiveau::N0
    }

    /// The coarser of two levels (the first on a tie).
    pub fn coarsest(self, other: SensiNiveau) -> SensiNiveau {
        if other.coarseness() > self.coarseness() {
            other
        } else {
            self
        }
    }
}

impl fmt::Display for SensiNiveau {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// `diffusionNiveauPrecision`, the producer's own restriction, independent of sensitivity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum DiffusionNiveauPrecision {
    /// 0: platform default.
    Standard = 0,
    /// 1: commune.
    Commune = 1,
    /// 2: 10 km cell.
    Maille10 = 2,
    /// 3: department.
    Departement = 3,
    /// 4: not diffused.
    Aucune = 4,
    /// 5: precise.
    Precise = 5,
}

impl DiffusionNiveauPrecision {
    pub fn from_code(c: u8) -> Option<Self> {
        use DiffusionNiveauPrecision::*;
        [Standard, Commune, Maille10, Departement, Aucune, Precise]
            .into_iter()
            .find(|d| *d as u8 == c)
    }
}

/// `dSPublique`: whether the data was produced with public money (only private data may
/// be restricted further by its producer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum DsPublique {
    /// NSP: unknown.
    Nsp = 0,
    /// Pu: public.
    Pu = 1,
    /// Re: public, re-used (publique régie).
    Re = 2,
    /// Ac: public, acquired (publique acquise).
    Ac = 3,
    /// Pr: private.
    Pr = 4,
}

impl DsPublique {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "NSP" => Some(DsPublique::Nsp),
            "Pu" => Some(DsPublique::Pu),
            "Re" => Some(DsPublique::Re),
            "Ac" => Some(DsPublique::Ac),
            "Pr" => Some(DsPublique::Pr),
            _ => None,
        }
    }

    pub fn from_u8(b: u8) -> Option<Self> {
        use DsPublique::*;
        [Nsp, Pu, Re, Ac, Pr].into_iter().find(|d| *d as u8 == b)
    }

    pub fn code(self) -> &'static str {
        match self {
            DsPublique::Nsp => "NSP",
            DsPublique::Pu => "Pu",
            DsPublique::Re => "Re",
            DsPublique::Ac => "Ac",
            DsPublique::Pr => "Pr",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_rank_by_coarseness_not_by_text() {
        // As text "3" > "2.8"; 2.8 hides everything, 3 only blurs to the department.
        let l28 = SensiNiveau::parse("2.8").unwrap();
        let l3 = SensiNiveau::parse("3").unwrap();
        assert!(l28.coarseness() > l3.coarseness());
        assert_eq!(l3.coarsest(l28), l28);
        assert_eq!(
            SensiNiveau::parse("2").unwrap().coarseness(),
            SensiNiveau::Km10.coarseness()
        );
        assert_eq!(
            SensiNiveau::parse("4").unwrap().coarseness(),
            l28.coarseness()
        );
    }

    #[test]
    fn every_level_round_trips_through_its_code_and_byte() {
        for l in SensiNiveau::ALL {
            assert_eq!(SensiNiveau::parse(l.code()), Some(l));
            assert_eq!(SensiNiveau::from_u8(l as u8), Some(l));
        }
        assert_eq!(SensiNiveau::parse("2.9"), None);
        assert_eq!(SensiNiveau::parse("5"), None);
    }
}
