//! The SINP occurrence fields shared by the three readers: which column (CSV, FlatGeobuf)
//! or property (GeoJSON) gives which field, and the per-field validation that turns the raw
//! values of one row into an [`Occurrence`], or names the field at fault and says why.
//!
//! Readers only gather raw values ([`RawRecord`]); every rule lives here, so a CSV row, a
//! GeoJSON feature and a FlatGeobuf feature with the same values give the same result.

use crate::date::Day;
use crate::geo::lambert93;
use crate::ingest::nomenclature;
use crate::ingest::occurrence::Origin;
use crate::ingest::{Occurrence, Reject, Srid};
use crate::sensitivity::{DiffusionNiveauPrecision, DsPublique, SensiNiveau};
use std::borrow::Cow;

/// Rows (or features) per batch handed to the pipeline.
pub const BATCH_SIZE: usize = 65_536;

/// The SINP occurrence fields flou reads. Anything else in a file is ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    IdSinpOccTax,
    CdNom,
    CdRef,
    NomCite,
    DateDebut,
    DateFin,
    OccStatutBiologique,
    OccComportement,
    DsPublique,
    DiffusionNiveauPrecision,
    SensiNiveau,
    IdSinpJdd,
    Longitude,
    Latitude,
    /// WKT in CSV; the feature geometry in GeoJSON and FlatGeobuf.
    Geometrie,
    /// Not a SINP field: the platform's change status of the row (GeoNature's `last_action`:
    /// I inserted, U updated, D deleted). A D row deletes its `idSINPOccTax` (append).
    Action,
}

impl Field {
    pub const COUNT: usize = 16;

    pub const ALL: [Field; Field::COUNT] = [
        Field::IdSinpOccTax,
        Field::CdNom,
        Field::CdRef,
        Field::NomCite,
        Field::DateDebut,
        Field::DateFin,
        Field::OccStatutBiologique,
        Field::OccComportement,
        Field::DsPublique,
        Field::DiffusionNiveauPrecision,
        Field::SensiNiveau,
        Field::IdSinpJdd,
        Field::Longitude,
        Field::Latitude,
        Field::Geometrie,
        Field::Action,
    ];

    /// The name of the field in the SINP occurrence standard, as written in rejects.
    pub fn sinp_name(self) -> &'static str {
        match self {
            Field::IdSinpOccTax => "idSINPOccTax",
            Field::CdNom => "cdNom",
            Field::CdRef => "cdRef",
            Field::NomCite => "nomCite",
            Field::DateDebut => "dateDebut",
            Field::DateFin => "dateFin",
            Field::OccStatutBiologique => "occStatutBiologique",
            Field::OccComportement => "occComportement",
            Field::DsPublique => "dSPublique",
            Field::DiffusionNiveauPrecision => "diffusionNiveauPrecision",
            Field::SensiNiveau => "sensiNiveau",
            Field::IdSinpJdd => "idSINPJdd",
            Field::Longitude => "longitude",
            Field::Latitude => "latitude",
            Field::Geometrie => "geometrie",
            Field::Action => "action",
        }
    }

    /// The field a column or property name gives: its SINP name or one of the
    /// [`COLUMN_ALIASES`], ignoring ASCII case and surrounding blanks.
    pub fn from_column_name(name: &str) -> Option<Field> {
        let name = name.trim();
        Field::ALL
            .iter()
            .map(|f| (f.sinp_name(), *f))
            .chain(COLUMN_ALIASES.iter().copied())
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map(|(_, f)| f)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Other names accepted for a SINP field: the columns of a GeoNature synthese export
/// (`gn_synthese.synthese`, as in `geonature-synthese-sample.csv`). Its
/// `id_nomenclature_*` columns are GeoNature-internal ids, not SINP codes: they are
/// deliberately absent, so they are ignored like any unknown column.
pub const COLUMN_ALIASES: &[(&str, Field)] = &[
    ("unique_id_sinp", Field::IdSinpOccTax),
    ("cd_nom", Field::CdNom),
    ("nom_cite", Field::NomCite),
    ("date_min", Field::DateDebut),
    ("date_max", Field::DateFin),
    ("lon_wgs84", Field::Longitude),
    ("lat_wgs84", Field::Latitude),
    ("id_dataset", Field::IdSinpJdd),
    ("last_action", Field::Action),
];

/// Which column of a file gives which field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ColumnMap {
    columns: [Option<usize>; Field::COUNT],
}

impl ColumnMap {
    /// Maps column names (in file order) to fields; two columns naming the same field is
    /// an error, as the file would be ambiguous.
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<ColumnMap, String> {
        Self::from_names_mapped(names, None)
    }

    /// [`ColumnMap::from_names`] under a column mapping file, when one is given.
    pub fn from_names_mapped<'a>(
        names: impl IntoIterator<Item = &'a str>,
        mapping: Option<&crate::ingest::mapping::Mapping>,
    ) -> Result<ColumnMap, String> {
        let mut map = ColumnMap::default();
        let mut seen: [Option<&'a str>; Field::COUNT] = [None; Field::COUNT];
        for (i, name) in names.into_iter().enumerate() {
            let field = match mapping {
                Some(m) => m.field_of(name),
                None => Field::from_column_name(name),
            };
            let Some(field) = field else {
                continue;
            };
            if let Some(first) = seen[field.index()] {
                return Err(format!(
                    "columns {first:?} and {name:?} both give {}: keep only one",
                    field.sinp_name()
                ));
            }
            seen[field.index()] = Some(name);
            map.columns[field.index()] = Some(i);
        }
        Ok(map)
    }

    pub fn column(&self, field: Field) -> Option<usize> {
        self.columns[field.index()]
    }

    /// The first required field with no column, described for an error message;
    /// `needs_position` is false when positions come from feature geometries.
    pub fn missing_required(&self, needs_position: bool) -> Option<String> {
        for field in [Field::IdSinpOccTax, Field::CdNom, Field::DateDebut] {
            if self.column(field).is_none() {
                return Some(format!("missing required column {}", field.sinp_name()));
            }
        }
        if needs_position && self.column(Field::Geometrie).is_none() {
            match (self.column(Field::Longitude), self.column(Field::Latitude)) {
                (Some(_), Some(_)) => {}
                (Some(_), None) => return Some("missing required column latitude".into()),
                (None, Some(_)) => return Some("missing required column longitude".into()),
                (None, None) => {
                    return Some(
                        "missing required position columns: longitude and latitude, or geometrie"
                            .into(),
                    )
                }
            }
        }
        None
    }

    /// (field, column) pairs of the mapped fields.
    pub fn mapped(&self) -> impl Iterator<Item = (Field, usize)> + '_ {
        Field::ALL
            .iter()
            .filter_map(|f| self.column(*f).map(|c| (*f, c)))
    }
}

/// One value as a file gives it, before validation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RawValue<'a> {
    /// No such column or property.
    Absent,
    Text(&'a str),
    Int(i64),
    Float(f64),
    /// A value of a kind no field accepts ("a boolean", "an array", "invalid UTF-8"…).
    Unsupported(&'static str),
}

/// The raw values of one row, by field.
#[derive(Clone, Copy, Debug)]
pub struct RawRecord<'a> {
    values: [RawValue<'a>; Field::COUNT],
}

impl Default for RawRecord<'_> {
    fn default() -> Self {
        RawRecord {
            values: [RawValue::Absent; Field::COUNT],
        }
    }
}

impl<'a> RawRecord<'a> {
    pub fn get(&self, field: Field) -> RawValue<'a> {
        self.values[field.index()]
    }

    pub fn set(&mut self, field: Field, value: RawValue<'a>) {
        self.values[field.index()] = value;
    }
}

/// A value owned by a reader that decodes rows before validating them in parallel.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum OwnedValue {
    #[default]
    Absent,
    Text(String),
    Int(i64),
    Float(f64),
    Unsupported(&'static str),
}

impl OwnedValue {
    pub fn as_raw(&self) -> RawValue<'_> {
        match self {
            OwnedValue::Absent => RawValue::Absent,
            OwnedValue::Text(s) => RawValue::Text(s),
            OwnedValue::Int(i) => RawValue::Int(*i),
            OwnedValue::Float(f) => RawValue::Float(*f),
            OwnedValue::Unsupported(what) => RawValue::Unsupported(what),
        }
    }

    pub fn is_absent(&self) -> bool {
        matches!(self, OwnedValue::Absent)
    }
}

/// A row decoded by a reader (GeoJSON feature, FlatGeobuf feature), ready to be validated
/// on another thread.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OwnedRecord {
    pub values: [OwnedValue; Field::COUNT],
    pub geometry: OwnedGeometry,
    /// A problem found while decoding: the field at fault (`None`: the row) and why.
    pub problem: Option<(Option<Field>, String)>,
}

/// The geometry of a feature, as decoded.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum OwnedGeometry {
    /// No geometry (null): the position comes from `longitude`/`latitude` values.
    #[default]
    Missing,
    Point {
        x: f64,
        y: f64,
    },
    /// Another geometry type, by name.
    NotPoint(String),
    /// Unreadable, and why.
    Invalid(String),
}

impl OwnedRecord {
    pub fn set(&mut self, field: Field, value: OwnedValue) {
        self.values[field.index()] = value;
    }

    pub fn get(&self, field: Field) -> &OwnedValue {
        &self.values[field.index()]
    }

    /// Validates the row; `srid` is the reference system of its point geometry.
    pub fn validate(&self, srid: Srid, origin: Origin, file: &str) -> Result<Occurrence, Reject> {
        if let Some((field, reason)) = &self.problem {
            return Err(Reject {
                file: file.to_string(),
                line: origin.line,
                field: field.map_or("row", Field::sinp_name).to_string(),
                reason: reason.clone(),
            });
        }
        let mut raw = RawRecord::default();
        for field in Field::ALL {
            raw.set(field, self.get(field).as_raw());
        }
        let geometry = match &self.geometry {
            OwnedGeometry::Missing => Geometry::FromFields,
            OwnedGeometry::Point { x, y } => Geometry::Point { x: *x, y: *y },
            OwnedGeometry::NotPoint(kind) => Geometry::NotPoint(kind),
            OwnedGeometry::Invalid(reason) => Geometry::Invalid(reason.clone()),
        };
        validate(&raw, &geometry, srid, origin).map_err(|e| e.into_reject(file, origin.line))
    }
}

/// Where the position of a row comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Geometry<'a> {
    /// The `longitude`/`latitude` or `geometrie` (WKT) values of the record.
    FromFields,
    /// A point geometry in the file's reference system.
    Point { x: f64, y: f64 },
    /// A geometry of another type (its name, e.g. "LineString").
    NotPoint(&'a str),
    /// A geometry that cannot be read, and why.
    Invalid(String),
}

/// A field that failed validation, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: Field,
    pub reason: String,
}

impl FieldError {
    fn new(field: Field, reason: impl Into<String>) -> Self {
        FieldError {
            field,
            reason: reason.into(),
        }
    }

    pub fn into_reject(self, file: &str, line: u64) -> Reject {
        Reject {
            file: file.to_string(),
            line,
            field: self.field.sinp_name().to_string(),
            reason: self.reason,
        }
    }
}

/// A reject for the row as a whole (field `row`).
pub fn row_reject(file: &str, line: u64, reason: String) -> Reject {
    Reject {
        file: file.to_string(),
        line,
        field: "row".to_string(),
        reason,
    }
}

/// Longest `idSINPOccTax` accepted, in characters (a UUID has 36).
pub const MAX_ID_CHARS: usize = 100;

/// Longest `dateDebut`–`dateFin` span, in days: the store keeps it in a `u16`.
pub const MAX_SPAN_DAYS: i32 = u16::MAX as i32;

/// Lambert-93 coordinates further than this from France (EPSG:2154's area, x 75–1275 km,
/// y 6040–7120 km, plus 500 km) are refused: they are almost always degrees read with
/// `--srid 2154`.
const LAMBERT93_X: (f64, f64) = (-425_000.0, 1_775_000.0);
const LAMBERT93_Y: (f64, f64) = (5_540_000.0, 7_620_000.0);

/// Validates one row. `srid` is the reference system of WKT values and point geometries
/// (longitude/latitude values are always WGS84 degrees).
pub fn validate(
    record: &RawRecord<'_>,
    geometry: &Geometry<'_>,
    srid: Srid,
    origin: Origin,
) -> Result<Occurrence, FieldError> {
    let deleted = action(record)?;
    let id = required_text(record, Field::IdSinpOccTax)?;
    let id_chars = if id.len() <= MAX_ID_CHARS {
        id.len() // fewer bytes than the limit: fewer characters too
    } else {
        id.chars().count()
    };
    if id_chars > MAX_ID_CHARS {
        return Err(FieldError::new(
            Field::IdSinpOccTax,
            format!(
                "longer than {MAX_ID_CHARS} characters ({id_chars}): {}",
                shown(&id)
            ),
        ));
    }
    if deleted {
        // A deletion needs its id only: the rest of the row may be empty or stale.
        return Ok(Occurrence::deletion(id.into_owned(), origin));
    }
    let cd_nom = match positive_integer(record, Field::CdNom)? {
        Some(v) => v,
        None => return Err(required(record, Field::CdNom)),
    };
    let cd_ref = positive_integer(record, Field::CdRef)?;
    let nom_cite = optional_text(record, Field::NomCite)?.unwrap_or_default();
    let date_debut = match date(record, Field::DateDebut)? {
        Some(d) => d,
        None => return Err(required(record, Field::DateDebut)),
    };
    let date_fin = match date(record, Field::DateFin)? {
        Some(d) => d,
        None => date_debut,
    };
    if date_fin < date_debut {
        return Err(FieldError::new(
            Field::DateFin,
            format!("{date_fin} is before dateDebut {date_debut}"),
        ));
    }
    let span = i64::from(date_fin.0) - i64::from(date_debut.0);
    if span > i64::from(MAX_SPAN_DAYS) {
        return Err(FieldError::new(
            Field::DateFin,
            format!(
                "{date_fin} is {span} days after dateDebut {date_debut}: \
                 at most {MAX_SPAN_DAYS} days (about 179 years) are supported"
            ),
        ));
    }
    let (lon, lat) = position(record, geometry, srid)?;
    let statut_biologique = code(
        record,
        Field::OccStatutBiologique,
        nomenclature::is_statut_biologique,
        "a STATUT_BIO code (0 to 13)",
    )?;
    let comportement = code(
        record,
        Field::OccComportement,
        nomenclature::is_comportement,
        "an OCC_COMPORTEMENT code (0 to 23)",
    )?;
    let ds_publique = ds_publique(record)?;
    let diffusion_niveau_precision = code(
        record,
        Field::DiffusionNiveauPrecision,
        |c| DiffusionNiveauPrecision::from_code(c).is_some(),
        "a diffusion level (0 to 5)",
    )?;
    let sensi_niveau = sensi_niveau(record)?;
    let dataset = optional_text(record, Field::IdSinpJdd)?.unwrap_or_default();
    Ok(Occurrence {
        id: id.into_owned(),
        cd_nom,
        cd_ref,
        nom_cite: nom_cite.into_owned(),
        date_debut,
        date_fin,
        statut_biologique,
        comportement,
        ds_publique,
        diffusion_niveau_precision,
        sensi_niveau,
        dataset: dataset.into_owned(),
        lon,
        lat,
        origin,
        deleted: false,
    })
}

/// Whether the row's change status (`last_action`) says it was deleted.
fn action(record: &RawRecord<'_>) -> Result<bool, FieldError> {
    let value = record.get(Field::Action);
    match value {
        RawValue::Absent => Ok(false),
        RawValue::Text(s) => match s.trim() {
            "" | "I" | "i" | "U" | "u" => Ok(false),
            "D" | "d" => Ok(true),
            _ => Err(FieldError::new(
                Field::Action,
                format!("not a change status (I, U or D): {}", shown(s)),
            )),
        },
        other => Err(FieldError::new(
            Field::Action,
            format!("not a change status (I, U or D): {}", shown_raw(other)),
        )),
    }
}

/// A value for a message: quoted, cut to about 60 characters.
pub fn shown(value: &str) -> String {
    const MAX: usize = 60;
    match value.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{:?}…", &value[..cut]),
        None => format!("{value:?}"),
    }
}

fn shown_raw(value: RawValue<'_>) -> String {
    match value {
        RawValue::Absent => "nothing".to_string(),
        RawValue::Text(s) => shown(s),
        RawValue::Int(i) => i.to_string(),
        RawValue::Float(f) => f.to_string(),
        RawValue::Unsupported(what) => what.to_string(),
    }
}

fn required(record: &RawRecord<'_>, field: Field) -> FieldError {
    let reason = match record.get(field) {
        RawValue::Absent => "required, but missing",
        _ => "required, but empty",
    };
    FieldError::new(field, reason)
}

/// A text value, trimmed; `None` when absent or blank.
fn optional_text<'a>(
    record: &RawRecord<'a>,
    field: Field,
) -> Result<Option<Cow<'a, str>>, FieldError> {
    match record.get(field) {
        RawValue::Absent => Ok(None),
        RawValue::Text(s) => {
            let s = s.trim();
            Ok((!s.is_empty()).then_some(Cow::Borrowed(s)))
        }
        RawValue::Int(i) => Ok(Some(Cow::Owned(i.to_string()))),
        RawValue::Float(f) => Ok(Some(Cow::Owned(f.to_string()))),
        RawValue::Unsupported(what) => {
            Err(FieldError::new(field, format!("expected text, got {what}")))
        }
    }
}

fn required_text<'a>(record: &RawRecord<'a>, field: Field) -> Result<Cow<'a, str>, FieldError> {
    optional_text(record, field)?.ok_or_else(|| required(record, field))
}

fn positive_integer(record: &RawRecord<'_>, field: Field) -> Result<Option<u32>, FieldError> {
    let value = record.get(field);
    let parsed: Option<i128> = match value {
        RawValue::Absent => return Ok(None),
        RawValue::Text(s) => {
            let s = s.trim();
            if s.is_empty() {
                return Ok(None);
            }
            if s.bytes().all(|b| b.is_ascii_digit()) {
                // All digits: only its size can be wrong.
                Some(
                    s.parse::<u128>()
                        .map_or(i128::MAX, |v| v.min(i128::MAX as u128) as i128),
                )
            } else {
                None
            }
        }
        RawValue::Int(i) => Some(i128::from(i)),
        RawValue::Float(f) if f.fract() == 0.0 && f.abs() < 1e30 => Some(f as i128),
        RawValue::Float(_) | RawValue::Unsupported(_) => None,
    };
    match parsed {
        Some(v) if v >= 1 && v <= i128::from(u32::MAX) => Ok(Some(v as u32)),
        Some(v) if v < 1 => Err(FieldError::new(
            field,
            format!("must be a positive integer, got {}", shown_raw(value)),
        )),
        Some(_) => Err(FieldError::new(
            field,
            format!("too large: {} (at most {})", shown_raw(value), u32::MAX),
        )),
        None => Err(FieldError::new(
            field,
            format!("not a positive integer: {}", shown_raw(value)),
        )),
    }
}

fn date(record: &RawRecord<'_>, field: Field) -> Result<Option<Day>, FieldError> {
    let value = record.get(field);
    match value {
        RawValue::Absent => Ok(None),
        RawValue::Text(s) => {
            let s = s.trim();
            if s.is_empty() {
                return Ok(None);
            }
            parse_day(s).map(Some).ok_or_else(|| {
                FieldError::new(
                    field,
                    format!(
                        "not a date (expected YYYY-MM-DD, optionally followed by a time): {}",
                        shown(s)
                    ),
                )
            })
        }
        _ => Err(FieldError::new(
            field,
            format!(
                "not a date (expected text YYYY-MM-DD): {}",
                shown_raw(value)
            ),
        )),
    }
}

/// `Day::parse`, with a fast path for the common plain `YYYY-MM-DD`.
fn parse_day(s: &str) -> Option<Day> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        if let (Some(y), Some(m), Some(d)) = (digits(0..4), digits(5..7), digits(8..10)) {
            return Day::from_ymd(y as i32, m, d);
        }
    }
    Day::parse(s).ok()
}

fn number(value: RawValue<'_>) -> Option<f64> {
    match value {
        RawValue::Text(s) => {
            let s = s.trim();
            s.parse::<f64>().ok().or_else(|| decimal_comma(s))
        }
        RawValue::Int(i) => Some(i as f64),
        RawValue::Float(f) => Some(f),
        RawValue::Absent | RawValue::Unsupported(_) => None,
    }
}

/// "44,93" as spreadsheets in French write it.
fn decimal_comma(s: &str) -> Option<f64> {
    if s.bytes().filter(|&b| b == b',').count() != 1 || s.contains('.') {
        return None;
    }
    s.replacen(',', ".", 1).parse().ok()
}

fn is_blank(value: RawValue<'_>) -> bool {
    match value {
        RawValue::Absent => true,
        RawValue::Text(s) => s.trim().is_empty(),
        _ => false,
    }
}

fn position(
    record: &RawRecord<'_>,
    geometry: &Geometry<'_>,
    srid: Srid,
) -> Result<(f64, f64), FieldError> {
    match geometry {
        Geometry::Point { x, y } => projected(*x, *y, srid, Field::Geometrie),
        Geometry::NotPoint(kind) => Err(FieldError::new(
            Field::Geometrie,
            format!("only point geometries are supported, got {}", shown(kind)),
        )),
        Geometry::Invalid(reason) => Err(FieldError::new(Field::Geometrie, reason.clone())),
        Geometry::FromFields => {
            let lon = record.get(Field::Longitude);
            let lat = record.get(Field::Latitude);
            let wkt = record.get(Field::Geometrie);
            if !is_blank(lon) || !is_blank(lat) {
                let lon = coordinate(lon, Field::Longitude, 180.0)?;
                let lat = coordinate(lat, Field::Latitude, 90.0)?;
                Ok((lon, lat))
            } else if !is_blank(wkt) {
                let text = match wkt {
                    RawValue::Text(s) => s,
                    other => {
                        return Err(FieldError::new(
                            Field::Geometrie,
                            format!("expected WKT text, got {}", shown_raw(other)),
                        ))
                    }
                };
                let point = parse_wkt_point(text)
                    .map_err(|reason| FieldError::new(Field::Geometrie, reason))?;
                let srid = match point.srid {
                    None => srid,
                    Some(4326) => Srid::Wgs84,
                    Some(2154) => Srid::Lambert93,
                    Some(other) => {
                        return Err(FieldError::new(
                            Field::Geometrie,
                            format!("SRID={other} is not supported (only 4326 and 2154)"),
                        ))
                    }
                };
                projected(point.x, point.y, srid, Field::Geometrie)
            } else if matches!(lon, RawValue::Absent) && !matches!(wkt, RawValue::Absent) {
                Err(FieldError::new(Field::Geometrie, "required, but empty"))
            } else if matches!(lon, RawValue::Absent) && matches!(lat, RawValue::Absent) {
                Err(FieldError::new(
                    Field::Geometrie,
                    "no position: no geometry and no longitude/latitude",
                ))
            } else {
                Err(FieldError::new(
                    Field::Longitude,
                    "required, but empty (as is latitude)",
                ))
            }
        }
    }
}

fn coordinate(value: RawValue<'_>, field: Field, limit: f64) -> Result<f64, FieldError> {
    if is_blank(value) {
        let other = if field == Field::Longitude {
            "latitude"
        } else {
            "longitude"
        };
        return Err(FieldError::new(
            field,
            format!("required with {other}, but empty"),
        ));
    }
    let Some(v) = number(value) else {
        return Err(FieldError::new(
            field,
            format!("not a number: {}", shown_raw(value)),
        ));
    };
    if !v.is_finite() {
        return Err(FieldError::new(
            field,
            format!("not a finite number: {}", shown_raw(value)),
        ));
    }
    if v.abs() > limit {
        return Err(FieldError::new(
            field,
            format!(
                "out of range [-{limit}, {limit}] degrees: {}",
                shown_raw(value)
            ),
        ));
    }
    Ok(v)
}

/// A geometry's coordinates in `srid` → WGS84 longitude, latitude.
fn projected(x: f64, y: f64, srid: Srid, field: Field) -> Result<(f64, f64), FieldError> {
    if !x.is_finite() || !y.is_finite() {
        return Err(FieldError::new(
            field,
            format!("coordinates are not finite numbers: ({x}, {y})"),
        ));
    }
    let (lon, lat) = match srid {
        Srid::Wgs84 => (x, y),
        Srid::Lambert93 => {
            let inside = (LAMBERT93_X.0..=LAMBERT93_X.1).contains(&x)
                && (LAMBERT93_Y.0..=LAMBERT93_Y.1).contains(&y);
            if !inside {
                return Err(FieldError::new(
                    field,
                    format!(
                        "({x}, {y}) is far outside Lambert-93's area (EPSG:2154): \
                         degrees given with --srid 2154?"
                    ),
                ));
            }
            lambert93::inverse(x, y)
        }
    };
    if !(lon.is_finite() && lat.is_finite() && lon.abs() <= 180.0 && lat.abs() <= 90.0) {
        return Err(FieldError::new(
            field,
            format!("({x}, {y}) is not a longitude, latitude in degrees (WGS84, EPSG:4326)"),
        ));
    }
    Ok((lon, lat))
}

fn code(
    record: &RawRecord<'_>,
    field: Field,
    valid: impl Fn(u8) -> bool,
    expected: &str,
) -> Result<Option<u8>, FieldError> {
    let value = record.get(field);
    let parsed = match value {
        RawValue::Absent => return Ok(None),
        RawValue::Text(s) => {
            let s = s.trim();
            if s.is_empty() {
                return Ok(None);
            }
            s.parse::<u8>().ok()
        }
        RawValue::Int(i) => u8::try_from(i).ok(),
        RawValue::Float(f) if f.fract() == 0.0 && (0.0..=255.0).contains(&f) => Some(f as u8),
        RawValue::Float(_) | RawValue::Unsupported(_) => None,
    };
    match parsed {
        Some(c) if valid(c) => Ok(Some(c)),
        _ => Err(FieldError::new(
            field,
            format!("not {expected}: {}", shown_raw(value)),
        )),
    }
}

fn ds_publique(record: &RawRecord<'_>) -> Result<DsPublique, FieldError> {
    let value = record.get(Field::DsPublique);
    let parsed = match value {
        RawValue::Absent => Some(DsPublique::Nsp),
        RawValue::Text(s) if s.trim().is_empty() => Some(DsPublique::Nsp),
        RawValue::Text(s) => DsPublique::parse(s),
        _ => None,
    };
    parsed.ok_or_else(|| {
        FieldError::new(
            Field::DsPublique,
            format!(
                "not a dSPublique code (Pu, Re, Ac, Pr or NSP): {}",
                shown_raw(value)
            ),
        )
    })
}

fn sensi_niveau(record: &RawRecord<'_>) -> Result<Option<SensiNiveau>, FieldError> {
    let value = record.get(Field::SensiNiveau);
    let parsed = match value {
        RawValue::Absent => return Ok(None),
        RawValue::Text(s) if s.trim().is_empty() => return Ok(None),
        RawValue::Text(s) => SensiNiveau::parse(s),
        RawValue::Int(i) => SensiNiveau::parse(&i.to_string()),
        // 2.1 as a JSON number prints back as "2.1".
        RawValue::Float(f) => SensiNiveau::parse(&f.to_string()),
        RawValue::Unsupported(_) => None,
    };
    parsed.map(Some).ok_or_else(|| {
        FieldError::new(
            Field::SensiNiveau,
            format!(
                "not a sensiNiveau code (0 to 4, or 2.1 to 2.8): {}",
                shown_raw(value)
            ),
        )
    })
}

/// A WKT (or EWKT) point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WktPoint {
    pub x: f64,
    pub y: f64,
    /// From an EWKT `SRID=…;` prefix.
    pub srid: Option<u32>,
}

const WKT_TYPES: [&str; 17] = [
    "LINESTRING",
    "POLYGON",
    "MULTIPOINT",
    "MULTILINESTRING",
    "MULTIPOLYGON",
    "GEOMETRYCOLLECTION",
    "CIRCULARSTRING",
    "COMPOUNDCURVE",
    "CURVEPOLYGON",
    "MULTICURVE",
    "MULTISURFACE",
    "CURVE",
    "SURFACE",
    "POLYHEDRALSURFACE",
    "TIN",
    "TRIANGLE",
    "GEOMETRY",
];

/// ASCII-case-insensitive prefix test (never slices inside a character).
fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.as_bytes()
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// Reads `POINT(x y)` (also `POINT Z (x y z)`, `SRID=2154;POINT(…)`, any case). Other
/// geometry types are refused: only points are supported.
pub fn parse_wkt_point(text: &str) -> Result<WktPoint, String> {
    let mut rest = text.trim();
    let mut srid = None;
    if starts_with_ignore_case(rest, "SRID=") {
        let (prefix, after) = rest
            .split_once(';')
            .ok_or_else(|| format!("not WKT: SRID= without ';': {}", shown(text)))?;
        srid = Some(
            prefix[5..]
                .trim()
                .parse::<u32>()
                .map_err(|_| format!("not WKT: bad SRID in {}", shown(text)))?,
        );
        rest = after.trim_start();
    }
    let keyword_end = rest
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(rest.len());
    let keyword = &rest[..keyword_end];
    if !keyword.eq_ignore_ascii_case("POINT") {
        let known = WKT_TYPES.iter().find(|t| t.eq_ignore_ascii_case(keyword));
        return Err(match known {
            Some(t) => format!("only point geometries are supported, got {t}"),
            None => format!("not a WKT POINT: {}", shown(text)),
        });
    }
    rest = rest[keyword_end..].trim_start();
    // Optional dimension tag: Z, M or ZM.
    let tag_end = rest
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(rest.len());
    let tag = &rest[..tag_end];
    if tag.eq_ignore_ascii_case("EMPTY") {
        return Err("empty point: POINT EMPTY has no coordinates".to_string());
    }
    if !(tag.is_empty() || ["Z", "M", "ZM"].iter().any(|t| t.eq_ignore_ascii_case(tag))) {
        return Err(format!("not a WKT POINT: {}", shown(text)));
    }
    rest = rest[tag_end..].trim_start();
    if starts_with_ignore_case(rest, "EMPTY") {
        return Err("empty point: POINT EMPTY has no coordinates".to_string());
    }
    let inner = rest
        .strip_prefix('(')
        .and_then(|r| r.trim_end().strip_suffix(')'))
        .ok_or_else(|| format!("not a WKT POINT (expected POINT(x y)): {}", shown(text)))?;
    let mut numbers = inner.split_ascii_whitespace();
    let mut next = || -> Option<Result<f64, String>> {
        numbers.next().map(|n| {
            n.parse::<f64>()
                .map_err(|_| format!("not a number in WKT POINT: {}", shown(n)))
        })
    };
    let wrong = || format!("a WKT POINT needs 2 to 4 coordinates: {}", shown(text));
    let x = next().ok_or_else(wrong)??;
    let y = next().ok_or_else(wrong)??;
    for _ in 0..2 {
        if let Some(extra) = next() {
            extra?;
        }
    }
    if next().is_some() {
        return Err(wrong());
    }
    if !x.is_finite() || !y.is_finite() {
        return Err(format!(
            "coordinates are not finite numbers: {}",
            shown(text)
        ));
    }
    Ok(WktPoint { x, y, srid })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record<'a>(pairs: &[(Field, &'a str)]) -> RawRecord<'a> {
        let mut r = RawRecord::default();
        for (f, v) in pairs {
            r.set(*f, RawValue::Text(v));
        }
        r
    }

    fn minimal<'a>() -> RawRecord<'a> {
        record(&[
            (Field::IdSinpOccTax, "a"),
            (Field::CdNom, "3608"),
            (Field::DateDebut, "2017-09-20"),
            (Field::Longitude, "6.4"),
            (Field::Latitude, "44.6"),
        ])
    }

    fn check(r: &RawRecord<'_>) -> Result<Occurrence, FieldError> {
        validate(r, &Geometry::FromFields, Srid::Wgs84, Origin::default())
    }

    #[test]
    fn aliases_and_sinp_names_match_ignoring_case() {
        assert_eq!(Field::from_column_name("CDNOM"), Some(Field::CdNom));
        assert_eq!(Field::from_column_name(" cd_nom "), Some(Field::CdNom));
        assert_eq!(Field::from_column_name("Lat_WGS84"), Some(Field::Latitude));
        assert_eq!(Field::from_column_name("id_nomenclature_bio_status"), None);
        for f in Field::ALL {
            assert_eq!(Field::from_column_name(f.sinp_name()), Some(f));
            assert_eq!(Field::ALL[f.index()], f);
        }
    }

    #[test]
    fn two_columns_for_one_field_are_refused() {
        let err = ColumnMap::from_names(["cdNom", "cd_nom"]).unwrap_err();
        assert!(err.contains("both give cdNom"), "{err}");
    }

    #[test]
    fn numbers_and_text_give_the_same_occurrence() {
        let text = minimal();
        let mut numeric = minimal();
        numeric.set(Field::CdNom, RawValue::Int(3608));
        numeric.set(Field::Longitude, RawValue::Float(6.4));
        numeric.set(Field::Latitude, RawValue::Float(44.6));
        assert_eq!(check(&text).unwrap(), check(&numeric).unwrap());
    }

    #[test]
    fn decimal_comma_is_read_as_a_decimal_point() {
        let mut r = minimal();
        r.set(Field::Longitude, RawValue::Text("6,4"));
        assert_eq!(check(&r).unwrap().lon, 6.4);
    }

    #[test]
    fn fast_date_path_agrees_with_day_parse() {
        for s in ["2017-08-03", "1900-02-28", "2000-02-29", "2024-12-31"] {
            assert_eq!(parse_day(s), Day::parse(s).ok(), "{s}");
        }
        for s in ["2017-02-30", "2017-13-01", "2017-00-10", "2017-1a-01"] {
            assert_eq!(parse_day(s), None, "{s}");
        }
    }

    #[test]
    fn shown_cuts_long_values() {
        let long = "x".repeat(200);
        let s = shown(&long);
        assert!(s.chars().count() < 70 && s.ends_with('…'), "{s}");
        assert_eq!(shown("é"), "\"é\"");
    }

    proptest::proptest! {
        #[test]
        fn wkt_parsing_never_panics(tail in "\\PC{0,12}", prefix in "(SRID=|POINT|point Z|)") {
            let _ = parse_wkt_point(&format!("{prefix}{tail}"));
            let _ = parse_wkt_point(&format!("SRIDé{tail}"));
        }

        #[test]
        fn validation_never_panics(values in proptest::collection::vec("\\PC{0,8}", Field::COUNT)) {
            let mut r = RawRecord::default();
            for (f, v) in Field::ALL.iter().zip(&values) {
                r.set(*f, RawValue::Text(v));
            }
            for srid in [Srid::Wgs84, Srid::Lambert93] {
                let _ = validate(&r, &Geometry::FromFields, srid, Origin::default());
            }
        }
    }

    #[test]
    fn wkt_points_in_their_usual_spellings() {
        let p = |s| parse_wkt_point(s).unwrap();
        assert_eq!((p("POINT(1 2)").x, p("POINT(1 2)").y), (1.0, 2.0));
        assert_eq!(p("point ( 1.5   -2 )").y, -2.0);
        assert_eq!(p("POINT Z (1 2 3)").x, 1.0);
        assert_eq!(p("SRID=2154;POINT(700000 6600000)").srid, Some(2154));
        for bad in [
            "POINT(1)",
            "POINT(1 2 3 4 5)",
            "POINT(a b)",
            "POINT 1 2",
            "PT(1 2)",
        ] {
            assert!(parse_wkt_point(bad).is_err(), "{bad}");
        }
        assert!(parse_wkt_point("POINT EMPTY")
            .unwrap_err()
            .contains("empty"));
        assert!(parse_wkt_point("MultiPoint((1 2))")
            .unwrap_err()
            .contains("only point geometries are supported"));
    }
}
