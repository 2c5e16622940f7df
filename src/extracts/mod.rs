//! Extract requests (SINP Occitanie procedure, seed 002): a perimeter, taxa and a period
//! give a request summary and, for the caller, the files
//! - **F1**: non-sensitive records at the caller's precision and sensitive records blurred;
//! - **F2**: sensitive records the caller sees precisely (a grant covers them) whose
//!   taxonomic group is released without review (`released_groups`);
//! - **F3-GROUP**: the same for the other groups, one file per group (they need the
//!   taxon-group leads' opinion).
//!
//! Everything is read through [`AccessView`]: a record is in the extract when its
//! diffusion area *for this caller* meets the perimeter (precise: the point; commune,
//! grid cell, department: that polygon), and a blurred record's row carries its diffusion
//! area as geometry and nothing derived from its position.
//!
//! Identifiers: a blurred record's row has an empty `idSINPOccTax`. The SINP procedure's F1
//! is the file delivered without review; an id there would let its holder join the blurred
//! row to a precise copy of the same record (an F3 delivered later to someone else, a
//! producer's own export), so only precise rows carry their id — the view does not even
//! hand out the id of a blurred record.
//!
//! A record the caller sees precisely and that is sensitive is only in F2/F3 (it is not
//! repeated blurred in F1): the grant that shows it precisely is the approval.
#![forbid(unsafe_code)]

pub mod intersect;
pub mod output;

use crate::access::diffusion::DiffusionArea;
use crate::access::view::{AccessContext, AccessView, RecordFilter, Shown};
use crate::access::Caller;
use crate::date::Day;
use crate::geo::{BBox, MultiPolygon, Polygon};
use crate::taxonomy::Taxonomy;
use intersect::multipolygons_intersect;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// More communes than this needs the leads' review (procedure, seed 002).
pub const REVIEW_COMMUNES: usize = 50;
/// Most vertices in a perimeter, communes or departments in a list.
const MAX_VERTICES: usize = 200_000;
const MAX_LIST: usize = 5_000;
/// Group name of taxa the taxonomy gives no group.
pub const NO_GROUP: &str = "Autres";

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// The request itself is wrong (HTTP 400).
    #[error("extract request: {0}")]
    Request(String),
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
    #[error("{0}: {1}")]
    Write(String, String),
}

fn bad(msg: impl Into<String>) -> ExtractError {
    ExtractError::Request(msg.into())
}

/// The request body (`POST /extracts`, `flou extract --request`). Exactly one of
/// `perimeter`, `communes`, `departements`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtractRequest {
    /// A GeoJSON Polygon or MultiPolygon (or a Feature holding one), WGS84.
    pub perimeter: Option<serde_json::Value>,
    /// INSEE commune codes.
    pub communes: Option<Vec<String>>,
    /// INSEE department codes.
    pub departements: Option<Vec<String>>,
    /// cd_ref values, descendants included.
    pub taxa: Option<Vec<u32>>,
    /// YYYY-MM-DD: the observation period must meet [from, to].
    pub from: Option<String>,
    pub to: Option<String>,
    /// For a study or a scientific publication (needs review).
    #[serde(default)]
    pub study: bool,
    /// Taxonomic groups released without review (F2). The CLI takes it from the request;
    /// the server refuses it (the platform sets it, not the requester).
    pub released_groups: Option<Vec<String>>,
}

/// Where the extract is taken.
#[derive(Clone, Debug)]
pub enum Perimeter {
    Polygon(MultiPolygon),
    /// Commune indexes in the store's areas.
    Communes(BTreeSet<u16>),
    /// Department indexes.
    Departements(BTreeSet<u16>),
}

/// One file of an extract.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FileKey {
    F1,
    F2,
    /// One per taxonomic group.
    F3(String),
}

impl FileKey {
    /// `F1`, `F2`, `F3-<group>`, the group in ASCII letters and digits (accents dropped,
    /// anything else `_`), usable as a file name and in a Content-Disposition header.
    pub fn name(&self) -> String {
        match self {
            FileKey::F1 => "F1".into(),
            FileKey::F2 => "F2".into(),
            FileKey::F3(g) => format!("F3-{}", file_safe(g)),
        }
    }
}

fn file_safe(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'à' | 'â' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' => 'i',
            'ô' | 'ö' => 'o',
            'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            'À' | 'Â' => 'A',
            'É' | 'È' | 'Ê' => 'E',
            c if c.is_ascii_alphanumeric() => c,
            _ => '_',
        })
        .collect()
}

#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    pub observations: u64,
    pub sensitive: u64,
    pub non_sensitive: u64,
}

impl Counts {
    fn add(&mut self, sensitive: bool) {
        self.observations += 1;
        if sensitive {
            self.sensitive += 1;
        } else {
            self.non_sensitive += 1;
        }
    }
}

/// The request summary (the procedure's "synthèse des données disponibles").
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Summary {
    /// Communes the perimeter intersects (public geography).
    pub communes_intersected: usize,
    pub totals: Counts,
    /// Per taxonomic group (group2_inpn).
    pub per_group: BTreeMap<String, Counts>,
    /// Per sensitivity level in force (sensiNiveau code).
    pub per_sensitivity: BTreeMap<String, u64>,
    /// Per diffusion precision for this caller (precise, commune, 10km, departement…).
    pub per_precision: BTreeMap<String, u64>,
    /// Per public/private status of the data (`dSPublique`: Pu, Re, Ac, Pr, NSP).
    pub per_public_status: BTreeMap<String, u64>,
    /// Whether the taxon-group leads' review (tour de table) is needed, and why.
    pub review_needed: bool,
    pub review_reasons: Vec<String>,
    /// The files this caller receives and their record counts.
    pub files: BTreeMap<String, u64>,
}

/// An extract: the summary and the rows of every file, in a canonical order (sorted by
/// their content, so the order says nothing about positions).
pub struct Extract<'a> {
    pub summary: Summary,
    pub rows: Vec<(FileKey, Shown<'a>)>,
}

impl<'a> Extract<'a> {
    /// The rows of the file called `name` (`F1`, `F2`, `F3-<group>`), or None.
    pub fn file(&self, name: &str) -> Option<Vec<&Shown<'a>>> {
        let rows: Vec<&Shown<'a>> = self
            .rows
            .iter()
            .filter(|(k, _)| k.name() == name)
            .map(|(_, s)| s)
            .collect();
        (name == "F1" || !rows.is_empty()).then_some(rows)
    }
}

/// Reads a GeoJSON Polygon / MultiPolygon (or a Feature holding one) in lon/lat.
pub fn parse_geojson_polygon(v: &serde_json::Value) -> Result<MultiPolygon, ExtractError> {
    let v = match v.get("type").and_then(|t| t.as_str()) {
        Some("Feature") => v
            .get("geometry")
            .ok_or_else(|| bad("perimeter: Feature without geometry"))?,
        _ => v,
    };
    let coords = v
        .get("coordinates")
        .ok_or_else(|| bad("perimeter: no coordinates"))?;
    let polys: Vec<&serde_json::Value> = match v.get("type").and_then(|t| t.as_str()) {
        Some("Polygon") => vec![coords],
        Some("MultiPolygon") => coords
            .as_array()
            .ok_or_else(|| bad("perimeter: MultiPolygon coordinates must be an array"))?
            .iter()
            .collect(),
        _ => return Err(bad("perimeter: expected a GeoJSON Polygon or MultiPolygon")),
    };
    let mut vertices = 0usize;
    let mut ring_of = |r: &serde_json::Value| -> Result<Vec<[f64; 2]>, ExtractError> {
        let pts = r
            .as_array()
            .ok_or_else(|| bad("perimeter: a ring must be an array of positions"))?;
        vertices += pts.len();
        if vertices > MAX_VERTICES {
            return Err(bad(format!("perimeter: more than {MAX_VERTICES} vertices")));
        }
        let ring = pts
            .iter()
            .map(|p| {
                let lon = p.get(0).and_then(|x| x.as_f64());
                let lat = p.get(1).and_then(|x| x.as_f64());
                match (lon, lat) {
                    (Some(lon), Some(lat))
                        if (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat) =>
                    {
                        Ok([lon, lat])
                    }
                    _ => Err(bad(
                        "perimeter: a position must be [longitude, latitude] in WGS84 degrees",
                    )),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        if ring.len() < 4 {
            return Err(bad("perimeter: a ring needs at least 4 positions"));
        }
        Ok(ring)
    };
    let mut out = MultiPolygon::default();
    for p in polys {
        let rings = p
            .as_array()
            .ok_or_else(|| bad("perimeter: a polygon must be an array of rings"))?;
        let mut it = rings.iter();
        let exterior = ring_of(
            it.next()
                .ok_or_else(|| bad("perimeter: a polygon without rings"))?,
        )?;
        let interiors = it.map(&mut ring_of).collect::<Result<Vec<_>, _>>()?;
        out.polygons.push(Polygon {
            exterior,
            interiors,
        });
    }
    if out.polygons.is_empty() {
        return Err(bad("perimeter: no polygon"));
    }
    Ok(out)
}

impl ExtractRequest {
    /// The perimeter, with codes resolved against the store's areas.
    pub fn perimeter(&self, ctx: &AccessContext<'_>) -> Result<Perimeter, ExtractError> {
        let a = ctx.store.areas();
        let given = usize::from(self.perimeter.is_some())
            + usize::from(self.communes.is_some())
            + usize::from(self.departements.is_some());
        if given != 1 {
            return Err(bad(
                "give exactly one of perimeter (GeoJSON), communes, departements",
            ));
        }
        if let Some(p) = &self.perimeter {
            return parse_geojson_polygon(p).map(Perimeter::Polygon);
        }
        let list = |v: &Vec<String>, what: &str| -> Result<(), ExtractError> {
            if v.is_empty() || v.len() > MAX_LIST {
                return Err(bad(format!("{what}: 1 to {MAX_LIST} codes")));
            }
            Ok(())
        };
        if let Some(codes) = &self.communes {
            list(codes, "communes")?;
            let index: HashMap<&str, u16> = (0..a.commune_count())
                .map(|i| (a.commune_code(i), i as u16))
                .collect();
            let set = codes
                .iter()
                .map(|c| {
                    index.get(c.trim()).copied().ok_or_else(|| {
                        bad(format!(
                            "communes: {:?} is not a commune of the store's areas",
                            short(c)
                        ))
                    })
                })
                .collect::<Result<BTreeSet<u16>, _>>()?;
            return Ok(Perimeter::Communes(set));
        }
        let codes = self.departements.as_ref().map_or(&[][..], Vec::as_slice);
        list(&codes.to_vec(), "departements")?;
        let set = codes
            .iter()
            .map(|c| {
                (0..a.departement_count())
                    .find(|d| a.departement_code(*d) == c.trim())
                    .map(|d| d as u16)
                    .ok_or_else(|| {
                        bad(format!(
                            "departements: {:?} is not a department of the store's areas",
                            short(c)
                        ))
                    })
            })
            .collect::<Result<BTreeSet<u16>, _>>()?;
        Ok(Perimeter::Departements(set))
    }

    /// The attribute filter: taxa with their descendants, the period.
    pub fn filter(&self, taxonomy: &Taxonomy) -> Result<RecordFilter, ExtractError> {
        let day = |s: &Option<String>, what: &str| -> Result<Option<Day>, ExtractError> {
            s.as_deref()
                .map(|t| Day::parse(t).map_err(|_| bad(format!("{what}: expected YYYY-MM-DD"))))
                .transpose()
        };
        let (from, to) = (day(&self.from, "from")?, day(&self.to, "to")?);
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                return Err(bad("from is after to"));
            }
        }
        let taxa = match &self.taxa {
            None => None,
            Some(t) if t.is_empty() || t.len() > MAX_LIST => {
                return Err(bad(format!("taxa: 1 to {MAX_LIST} cd_ref values")))
            }
            Some(t) => {
                let mut set = BTreeSet::new();
                for cd in t {
                    set.insert(*cd);
                    set.extend(taxonomy.descendants(*cd));
                }
                Some(set)
            }
        };
        Ok(RecordFilter {
            taxa,
            from,
            to,
            datasets: None,
        })
    }
}

fn short(s: &str) -> String {
    s.chars().take(20).collect()
}

/// The geometry of a diffusion area, as the extract shows it (cells: the Lambert-93
/// square, each edge in 4 segments, inverse-projected).
pub fn area_geometry(ctx: &AccessContext<'_>, area: &DiffusionArea) -> Option<MultiPolygon> {
    let a = ctx.store.areas();
    match area {
        DiffusionArea::Commune(c) => Some(a.commune_geometry(usize::from(*c))),
        DiffusionArea::Departement(d) => Some(a.departement_geometry(usize::from(*d))),
        DiffusionArea::Cell(cell) => Some(MultiPolygon {
            polygons: vec![Polygon {
                exterior: cell.polygon_wgs84(4),
                interiors: vec![],
            }],
        }),
        DiffusionArea::Precise | DiffusionArea::Hidden => None,
    }
}

impl Perimeter {
    fn bbox(&self, ctx: &AccessContext<'_>) -> BBox {
        let a = ctx.store.areas();
        match self {
            Perimeter::Polygon(p) => p.bbox(),
            Perimeter::Communes(s) => s.iter().fold(BBox::EMPTY, |b, c| {
                b.union(&a.commune_bbox(usize::from(*c)))
            }),
            Perimeter::Departements(s) => s.iter().fold(BBox::EMPTY, |b, d| {
                b.union(&a.departement_bbox(usize::from(*d)))
            }),
        }
    }

    /// The perimeter as polygons (commune and department lists: their geometries).
    fn geometry(&self, ctx: &AccessContext<'_>) -> MultiPolygon {
        let a = ctx.store.areas();
        match self {
            Perimeter::Polygon(p) => p.clone(),
            Perimeter::Communes(s) => MultiPolygon {
                polygons: s
                    .iter()
                    .flat_map(|c| a.commune_geometry(usize::from(*c)).polygons)
                    .collect(),
            },
            Perimeter::Departements(s) => MultiPolygon {
                polygons: s
                    .iter()
                    .flat_map(|d| a.departement_geometry(usize::from(*d)).polygons)
                    .collect(),
            },
        }
    }

    /// Communes the perimeter intersects (lists: the communes listed, or those of the
    /// departments listed).
    fn communes(&self, ctx: &AccessContext<'_>) -> usize {
        let a = ctx.store.areas();
        match self {
            Perimeter::Polygon(p) => {
                let pb = p.bbox();
                (0..a.commune_count())
                    .filter(|c| {
                        a.commune_bbox(*c).intersects(&pb)
                            && multipolygons_intersect(&a.commune_geometry(*c), p)
                    })
                    .count()
            }
            Perimeter::Communes(s) => s.len(),
            Perimeter::Departements(s) => (0..a.commune_count())
                .filter(|c| s.contains(&a.commune_departement(*c)))
                .count(),
        }
    }
}

/// Decides whether a diffusion area meets the perimeter; one decision per area, cached.
struct Matcher<'p, 'c, 'a> {
    ctx: &'c AccessContext<'a>,
    perimeter: &'p Perimeter,
    shape: MultiPolygon,
    cache: HashMap<DiffusionArea, bool>,
}

impl Matcher<'_, '_, '_> {
    fn meets(&mut self, s: &Shown<'_>) -> bool {
        let a = self.ctx.store.areas();
        match (&s.area, self.perimeter) {
            // A precise record: its point (lists: its commune or department, exactly).
            (DiffusionArea::Precise, Perimeter::Polygon(p)) => {
                s.position.is_some_and(|pt| p.contains(pt))
            }
            (DiffusionArea::Precise, Perimeter::Communes(set)) => {
                s.commune.is_some_and(|c| set.contains(&c))
            }
            (DiffusionArea::Precise, Perimeter::Departements(set)) => {
                s.departement.is_some_and(|d| set.contains(&d))
            }
            // Lists against areas made of the same communes: by identity, so neighbours
            // sharing only a border are not drawn in.
            (DiffusionArea::Commune(c), Perimeter::Communes(set)) => set.contains(c),
            (DiffusionArea::Commune(c), Perimeter::Departements(set)) => {
                set.contains(&a.commune_departement(usize::from(*c)))
            }
            (DiffusionArea::Departement(d), Perimeter::Departements(set)) => set.contains(d),
            (DiffusionArea::Departement(d), Perimeter::Communes(set)) => set
                .iter()
                .any(|c| a.commune_departement(usize::from(*c)) == *d),
            (DiffusionArea::Hidden, _) => false,
            // Anything else: the area's polygon against the perimeter's.
            (area, _) => {
                if let Some(v) = self.cache.get(area) {
                    return *v;
                }
                let v = area_geometry(self.ctx, area)
                    .is_some_and(|g| multipolygons_intersect(&g, &self.shape));
                self.cache.insert(*area, v);
                v
            }
        }
    }
}

/// The precision label of an area (`precisionDiffusion`).
pub fn precision_label(area: &DiffusionArea) -> String {
    match area {
        DiffusionArea::Precise => "precise".into(),
        DiffusionArea::Cell(c) => format!("{}km", c.size.km()),
        DiffusionArea::Commune(_) => "commune".into(),
        DiffusionArea::Departement(_) => "departement".into(),
        DiffusionArea::Hidden => "hidden".into(),
    }
}

/// The code of an area (`codeDiffusion`): INSEE commune or department code, INPN cell code;
/// empty for precise records.
pub fn area_code(ctx: &AccessContext<'_>, area: &DiffusionArea) -> String {
    let a = ctx.store.areas();
    match area {
        DiffusionArea::Cell(c) => c.code(),
        DiffusionArea::Commune(c) => a.commune_code(usize::from(*c)).to_string(),
        DiffusionArea::Departement(d) => a.departement_code(usize::from(*d)).to_string(),
        DiffusionArea::Precise | DiffusionArea::Hidden => String::new(),
    }
}

/// The taxonomic group of a record.
pub fn group_of(taxonomy: &Taxonomy, cd_ref: u32) -> &str {
    taxonomy.group(cd_ref).unwrap_or(NO_GROUP)
}

/// A row's content, as a sort key: rows are ordered by what they show only.
type RowKey<'s> = (
    DiffusionArea,
    Option<&'s str>,
    u32,
    Day,
    Day,
    &'s str,
    &'s str,
    &'static str,
    Option<[u64; 2]>,
);

fn row_key<'s>(s: &'s Shown<'_>) -> RowKey<'s> {
    (
        s.area,
        s.id(),
        s.cd_ref,
        s.date_debut,
        s.date_fin,
        s.dataset(),
        s.nom_cite(),
        s.level.code(),
        s.position.map(|p| [p[0].to_bits(), p[1].to_bits()]),
    )
}

/// Runs a request for a caller.
pub fn run<'a>(
    ctx: &AccessContext<'a>,
    taxonomy: &Taxonomy,
    caller: &Caller,
    req: &ExtractRequest,
    released_groups: &BTreeSet<String>,
    today: Day,
) -> Result<Extract<'a>, ExtractError> {
    let perimeter = req.perimeter(ctx)?;
    let filter = req.filter(taxonomy)?;
    let view = AccessView {
        ctx,
        caller,
        today,
        filter: &filter,
    };
    let mut matcher = Matcher {
        ctx,
        perimeter: &perimeter,
        shape: perimeter.geometry(ctx),
        cache: HashMap::new(),
    };
    let mut rows: Vec<(FileKey, Shown<'a>)> = Vec::new();
    view.for_each_in(&perimeter.bbox(ctx), |s| {
        if !matcher.meets(s) {
            return;
        }
        let sensitive = s.level.is_sensitive();
        let key = if s.area == DiffusionArea::Precise && sensitive {
            let g = group_of(taxonomy, s.cd_ref);
            if released_groups.contains(g) {
                FileKey::F2
            } else {
                FileKey::F3(g.to_string())
            }
        } else {
            FileKey::F1
        };
        rows.push((key, *s));
    });
    rows.sort_by(|(ka, a), (kb, b)| ka.cmp(kb).then_with(|| row_key(a).cmp(&row_key(b))));

    let communes_intersected = perimeter.communes(ctx);
    let mut totals = Counts::default();
    let mut per_group: BTreeMap<String, Counts> = BTreeMap::new();
    let mut per_sensitivity: BTreeMap<String, u64> = BTreeMap::new();
    let mut per_precision: BTreeMap<String, u64> = BTreeMap::new();
    let mut per_public_status: BTreeMap<String, u64> = BTreeMap::new();
    let mut files: BTreeMap<String, u64> = BTreeMap::from([("F1".to_string(), 0)]);
    for (k, s) in &rows {
        let sensitive = s.level.is_sensitive();
        totals.add(sensitive);
        per_group
            .entry(group_of(taxonomy, s.cd_ref).to_string())
            .or_default()
            .add(sensitive);
        *per_sensitivity
            .entry(s.level.code().to_string())
            .or_default() += 1;
        *per_precision.entry(precision_label(&s.area)).or_default() += 1;
        *per_public_status
            .entry(s.ds_publique.code().to_string())
            .or_default() += 1;
        *files.entry(k.name()).or_default() += 1;
    }
    let mut review_reasons = Vec::new();
    if communes_intersected > REVIEW_COMMUNES {
        review_reasons.push(format!("more than {REVIEW_COMMUNES} communes"));
    }
    if req.study {
        review_reasons.push("study or scientific publication".to_string());
    }
    if *caller == Caller::Public {
        review_reasons.push("requester is not a member (no token)".to_string());
    }
    if totals.sensitive > 0 {
        review_reasons.push("sensitive data included".to_string());
    }
    Ok(Extract {
        summary: Summary {
            communes_intersected,
            totals,
            per_group,
            per_sensitivity,
            per_precision,
            per_public_status,
            review_needed: !review_reasons.is_empty(),
            review_reasons,
            files,
        },
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(v: serde_json::Value) -> String {
        match parse_geojson_polygon(&v) {
            Err(ExtractError::Request(m)) => m,
            other => panic!("{v}: expected a request error, got {other:?}"),
        }
    }

    #[test]
    fn perimeters_are_read_or_refused_with_a_reason() {
        let ring = json!([[5.0, 45.0], [5.1, 45.0], [5.1, 45.1], [5.0, 45.0]]);
        let hole = json!([[5.02, 45.01], [5.03, 45.01], [5.03, 45.02], [5.02, 45.01]]);
        let p = parse_geojson_polygon(&json!({"type": "Polygon", "coordinates": [ring, hole]}))
            .unwrap();
        assert_eq!(p.polygons.len(), 1);
        assert_eq!(p.polygons[0].interiors.len(), 1);
        assert!(p.contains([5.08, 45.01]) && !p.contains([5.025, 45.015]));
        let f = json!({"type": "Feature", "properties": {},
            "geometry": {"type": "MultiPolygon", "coordinates": [[ring], [ring]]}});
        assert_eq!(parse_geojson_polygon(&f).unwrap().polygons.len(), 2);

        assert!(err(json!({"type": "Point", "coordinates": [5.0, 45.0]}))
            .contains("Polygon or MultiPolygon"));
        assert!(err(json!({"type": "Polygon"})).contains("no coordinates"));
        assert!(err(
            json!({"type": "Polygon", "coordinates": [[[5.0, 45.0], [5.1, 45.0], [5.0, 45.0]]]})
        )
        .contains("at least 4"));
        assert!(err(json!({"type": "Polygon", "coordinates": [[[500.0, 45.0], [5.1, 45.0], [5.1, 45.1], [500.0, 45.0]]]}))
            .contains("WGS84"));
        assert!(err(json!({"type": "Polygon", "coordinates": [[["a", 45.0]]]})).contains("WGS84"));
        assert!(err(json!({"type": "Polygon", "coordinates": []})).contains("without rings"));
        assert!(err(json!({"type": "MultiPolygon", "coordinates": []})).contains("no polygon"));
        assert!(err(json!({"type": "Feature"})).contains("without geometry"));
    }

    #[test]
    fn requests_refuse_unknown_fields_and_bad_periods() {
        let r: Result<ExtractRequest, _> =
            serde_json::from_value(json!({"departements": ["38"], "colour": "red"}));
        assert!(r.unwrap_err().to_string().contains("colour"));
        let r: ExtractRequest = serde_json::from_value(
            json!({"departements": ["38"], "from": "2020-01-01", "to": "2019-01-01"}),
        )
        .unwrap();
        assert!(
            matches!(r.filter(&Taxonomy::empty()), Err(ExtractError::Request(m)) if m.contains("after"))
        );
        let r: ExtractRequest =
            serde_json::from_value(json!({"departements": ["38"], "from": "2020-13-01"})).unwrap();
        assert!(r.filter(&Taxonomy::empty()).is_err());
        let r: ExtractRequest =
            serde_json::from_value(json!({"departements": ["38"], "taxa": [1, 2]})).unwrap();
        assert_eq!(
            r.filter(&Taxonomy::empty()).unwrap().taxa,
            Some(BTreeSet::from([1, 2]))
        );
    }

    #[test]
    fn f3_file_names_are_ascii() {
        assert_eq!(FileKey::F3("Crustacés".into()).name(), "F3-Crustaces");
        assert_eq!(
            FileKey::F3("Algues / Lichens".into()).name(),
            "F3-Algues___Lichens"
        );
        assert_eq!(FileKey::F1.name(), "F1");
    }
}
