//! Communes and departments: the diffusion areas of levels 1 and 3, read from GeoJSON, with
//! a point-in-polygon index to give each observation its commune (and so its department).
#![forbid(unsafe_code)]

mod admin_index;
mod admin_reader;

use crate::geo::{BBox, MultiPolygon};
use admin_index::PointIndex;
use admin_reader::{read_features, to_multipolygon, RawFeature};
use std::path::Path;

/// Errors name the file, and for a feature its position in the `features` array counted
/// from 0 (`features[N]`) and the field at fault (`properties.code`, `geometry.type`, …).
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: feature {feature}: field {field}: {reason}")]
    Feature {
        file: String,
        feature: u64,
        field: String,
        reason: String,
    },
    #[error("{file}: {reason}")]
    Invalid { file: String, reason: String },
}

#[derive(Clone, Debug)]
pub struct Commune {
    /// INSEE code, 5 characters ("05101", "2A004").
    pub code: String,
    pub name: String,
    /// Index into [`AdminAreas::departements`].
    pub departement: u16,
    pub geometry: MultiPolygon,
    pub bbox: BBox,
}

#[derive(Clone, Debug)]
pub struct Departement {
    /// INSEE code ("05", "2A", "974").
    pub code: String,
    pub name: String,
    pub geometry: MultiPolygon,
    pub bbox: BBox,
}

/// The referential of areas, indexed for point location.
///
/// [`AdminAreas::load`] orders communes and departments by code. The index is built once:
/// changing `communes` afterwards does not update it.
#[derive(Debug)]
pub struct AdminAreas {
    pub communes: Vec<Commune>,
    pub departements: Vec<Departement>,
    index: PointIndex,
    /// Commune indexes ordered by code, for lookups by code.
    communes_by_code: Vec<u32>,
    /// Department indexes ordered by code.
    departements_by_code: Vec<u16>,
}

/// Name used in errors about areas built in memory.
const IN_MEMORY: &str = "(areas in memory)";

impl AdminAreas {
    /// Reads communes (properties `code`, `nom`) and departments (`code`, `nom`) from
    /// GeoJSON files in WGS84.
    pub fn load(communes: &Path, departements: &Path) -> Result<Self, AdminError> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|source| AdminError::Io {
                path: path.display().to_string(),
                source,
            })
        };
        let departements_json = read(departements)?;
        let communes_json = read(communes)?;
        Self::from_geojson(
            &communes.display().to_string(),
            &communes_json,
            &departements.display().to_string(),
            &departements_json,
        )
    }

    /// Same as [`AdminAreas::load`] from GeoJSON already in memory (e.g. embedded with
    /// `include_bytes!`); the names are used in errors.
    pub fn from_geojson(
        communes_name: &str,
        communes_json: &[u8],
        departements_name: &str,
        departements_json: &[u8],
    ) -> Result<Self, AdminError> {
        let departements = read_departements(departements_name, departements_json)?;
        let communes = read_communes(communes_name, communes_json, &departements)?;
        Self::build(communes, departements, communes_name)
    }

    /// Builds the index over areas already in memory (e.g. read back from a store).
    pub fn from_parts(
        communes: Vec<Commune>,
        departements: Vec<Departement>,
    ) -> Result<Self, AdminError> {
        Self::build(communes, departements, IN_MEMORY)
    }

    fn build(
        communes: Vec<Commune>,
        departements: Vec<Departement>,
        file: &str,
    ) -> Result<Self, AdminError> {
        let invalid = |reason: String| AdminError::Invalid {
            file: file.to_owned(),
            reason,
        };
        if u16::try_from(departements.len()).is_err() || u32::try_from(communes.len()).is_err() {
            return Err(invalid(format!(
                "{} communes and {} departments: too many to index",
                communes.len(),
                departements.len()
            )));
        }
        let mut departements_by_code: Vec<u16> = (0..departements.len() as u16).collect();
        departements_by_code.sort_by(|&a, &b| {
            departements[a as usize]
                .code
                .cmp(&departements[b as usize].code)
        });
        if let Some(pair) = departements_by_code
            .windows(2)
            .find(|w| departements[w[0] as usize].code == departements[w[1] as usize].code)
        {
            return Err(invalid(format!(
                "department code {} appears twice",
                departements[pair[0] as usize].code
            )));
        }
        if let Some(c) = communes
            .iter()
            .find(|c| c.departement as usize >= departements.len())
        {
            return Err(invalid(format!(
                "commune {} refers to department #{}, only {} departments",
                c.code,
                c.departement,
                departements.len()
            )));
        }
        let mut communes_by_code: Vec<u32> = (0..communes.len() as u32).collect();
        communes_by_code
            .sort_by(|&a, &b| communes[a as usize].code.cmp(&communes[b as usize].code));
        if let Some(pair) = communes_by_code
            .windows(2)
            .find(|w| communes[w[0] as usize].code == communes[w[1] as usize].code)
        {
            return Err(invalid(format!(
                "commune code {} appears twice",
                communes[pair[0] as usize].code
            )));
        }
        // Ties (overlaps) go to the lowest INSEE code: rank = position in code order.
        let mut rank = vec![0u32; communes.len()];
        for (position, &c) in communes_by_code.iter().enumerate() {
            rank[c as usize] = position as u32;
        }
        let shapes: Vec<&MultiPolygon> = communes.iter().map(|c| &c.geometry).collect();
        let index = PointIndex::build(&shapes, &rank).map_err(invalid)?;
        Ok(AdminAreas {
            communes,
            departements,
            index,
            communes_by_code,
            departements_by_code,
        })
    }

    /// The index of the commune containing (lon, lat), if any. A point on a border shared
    /// by two communes gets exactly one of them, always the same.
    ///
    /// Inside means inside by the even-odd rule over all rings of the commune, with the
    /// south and west sides of the boundary inside and the north and east sides outside;
    /// where communes overlap, the lowest INSEE code wins.
    #[inline]
    pub fn locate(&self, lon: f64, lat: f64) -> Option<u32> {
        self.index.locate(lon, lat)
    }

    /// Whether commune `commune` contains (lon, lat), by the rule of [`AdminAreas::locate`]
    /// without the tie-break; false for an index out of range.
    pub fn commune_contains(&self, commune: u32, lon: f64, lat: f64) -> bool {
        self.index.contains(commune, lon, lat)
    }

    /// The index of the commune with INSEE code `code`.
    pub fn commune_by_code(&self, code: &str) -> Option<u32> {
        self.communes_by_code
            .binary_search_by(|&c| self.communes[c as usize].code.as_str().cmp(code))
            .ok()
            .map(|position| self.communes_by_code[position])
    }

    /// The index of the department with INSEE code `code` ("05", "2A", "974").
    pub fn departement_by_code(&self, code: &str) -> Option<u16> {
        self.departements_by_code
            .binary_search_by(|&d| self.departements[d as usize].code.as_str().cmp(code))
            .ok()
            .map(|position| self.departements_by_code[position])
    }

    /// The department of commune `commune` (an index from [`AdminAreas::locate`] or
    /// [`AdminAreas::commune_by_code`]).
    ///
    /// # Panics
    /// If `commune` is not an index of `self.communes`.
    pub fn departement_of(&self, commune: u32) -> &Departement {
        &self.departements[self.communes[commune as usize].departement as usize]
    }

    /// Approximate heap bytes of the point-location tables (edges and bands).
    pub fn index_bytes(&self) -> usize {
        self.index.table_bytes()
    }
}

/// Department code of an INSEE commune code: "2A004" → "2A", "97411" → "974", else the
/// first two characters. `None` when `code` is not a commune code.
pub fn departement_code_of(commune_code: &str) -> Option<&str> {
    if !is_commune_code(commune_code) {
        return None;
    }
    let len = if commune_code.starts_with("97") { 3 } else { 2 };
    commune_code.get(..len)
}

/// Five characters: two digits or 2A/2B (Corsica), then three digits.
fn is_commune_code(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 5
        && (b[..2].iter().all(u8::is_ascii_digit) || b[..2] == *b"2A" || b[..2] == *b"2B")
        && b[2..].iter().all(u8::is_ascii_digit)
}

/// Two digits, 2A/2B, or three digits starting with 97 (overseas).
fn is_departement_code(code: &str) -> bool {
    let b = code.as_bytes();
    match b.len() {
        2 => b.iter().all(u8::is_ascii_digit) || b == b"2A" || b == b"2B",
        3 => b.starts_with(b"97") && b[2].is_ascii_digit(),
        _ => false,
    }
}

/// The checked content of one feature.
struct Area {
    code: String,
    name: String,
    geometry: MultiPolygon,
    bbox: BBox,
}

fn check_feature(
    file: &str,
    feature: u64,
    raw: RawFeature,
    code_ok: fn(&str) -> bool,
    code_shape: &str,
) -> Result<Area, AdminError> {
    let fail = |field: &str, reason: String| AdminError::Feature {
        file: file.to_owned(),
        feature,
        field: field.to_owned(),
        reason,
    };
    let code = match raw.code {
        None => return Err(fail("properties.code", "missing".to_owned())),
        Some(Err(kind)) => {
            return Err(fail(
                "properties.code",
                format!("{kind} where a string was expected"),
            ))
        }
        Some(Ok(code)) => code,
    };
    if !code_ok(&code) {
        return Err(fail(
            "properties.code",
            format!("{code:?} is not {code_shape}"),
        ));
    }
    let name = match raw.nom {
        None => return Err(fail("properties.nom", "missing".to_owned())),
        Some(Err(kind)) => {
            return Err(fail(
                "properties.nom",
                format!("{kind} where a string was expected"),
            ))
        }
        Some(Ok(name)) => name,
    };
    let raw_geometry = raw
        .geometry
        .ok_or_else(|| fail("geometry", "missing or null".to_owned()))?;
    let geometry =
        to_multipolygon(&raw_geometry).map_err(|(field, reason)| fail(&field, reason))?;
    let bbox = geometry.bbox();
    Ok(Area {
        code,
        name,
        geometry,
        bbox,
    })
}

fn no_features(file: &str) -> AdminError {
    AdminError::Invalid {
        file: file.to_owned(),
        reason: "the FeatureCollection has no features".to_owned(),
    }
}

/// Departments ordered by code.
fn read_departements(file: &str, json: &[u8]) -> Result<Vec<Departement>, AdminError> {
    let mut read = Vec::new();
    let count = read_features(file, json, &mut |feature, raw| {
        let area = check_feature(
            file,
            feature,
            raw,
            is_departement_code,
            "a department code (2 digits, 2A, 2B or 97x)",
        )?;
        read.push((feature, area));
        Ok(())
    })?;
    if count == 0 {
        return Err(no_features(file));
    }
    read.sort_by(|a, b| a.1.code.cmp(&b.1.code));
    if let Some(pair) = read.windows(2).find(|w| w[0].1.code == w[1].1.code) {
        return Err(AdminError::Feature {
            file: file.to_owned(),
            feature: pair[1].0,
            field: "properties.code".to_owned(),
            reason: format!("{} already used by feature {}", pair[1].1.code, pair[0].0),
        });
    }
    Ok(read
        .into_iter()
        .map(|(_, a)| Departement {
            code: a.code,
            name: a.name,
            geometry: a.geometry,
            bbox: a.bbox,
        })
        .collect())
}

/// Communes ordered by code, each tied to its department in `departements` (sorted).
fn read_communes(
    file: &str,
    json: &[u8],
    departements: &[Departement],
) -> Result<Vec<Commune>, AdminError> {
    let mut read = Vec::new();
    let count = read_features(file, json, &mut |feature, raw| {
        let area = check_feature(
            file,
            feature,
            raw,
            is_commune_code,
            "an INSEE commune code (5 characters: 2 digits, 2A or 2B, then 3 digits)",
        )?;
        // The code was just checked, so it has a department part.
        let dep_code = departement_code_of(&area.code).unwrap_or_default();
        let departement = departements
            .binary_search_by(|d| d.code.as_str().cmp(dep_code))
            .map_err(|_| AdminError::Feature {
                file: file.to_owned(),
                feature,
                field: "properties.code".to_owned(),
                reason: format!(
                    "department {dep_code} of commune {} is not in the departments file",
                    area.code
                ),
            })?;
        let departement = u16::try_from(departement).map_err(|_| AdminError::Invalid {
            file: file.to_owned(),
            reason: "more than 65,536 departments".to_owned(),
        })?;
        read.push((feature, departement, area));
        Ok(())
    })?;
    if count == 0 {
        return Err(no_features(file));
    }
    read.sort_by(|a, b| a.2.code.cmp(&b.2.code));
    if let Some(pair) = read.windows(2).find(|w| w[0].2.code == w[1].2.code) {
        return Err(AdminError::Feature {
            file: file.to_owned(),
            feature: pair[1].0,
            field: "properties.code".to_owned(),
            reason: format!("{} already used by feature {}", pair[1].2.code, pair[0].0),
        });
    }
    Ok(read
        .into_iter()
        .map(|(_, departement, a)| Commune {
            code: a.code,
            name: a.name,
            departement,
            geometry: a.geometry,
            bbox: a.bbox,
        })
        .collect())
}

#[cfg(test)]
mod tests;
