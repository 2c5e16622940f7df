//! The reference tables indicators need: department → 2016 region, the invasive-species
//! list and the knowledge-gap thresholds. Each is a small CSV; defaults are embedded from
//! `data/` so a server runs without them on disk.

use crate::taxonomy::Taxonomy;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}, line {line}, field {field}: {reason}")]
    Field {
        file: String,
        line: usize,
        field: String,
        reason: String,
    },
    #[error("{file}: {reason}")]
    File { file: String, reason: String },
}

pub const REGIONS_FILE: &str = "admin/departements_regions_2016.csv";
pub const INVASIVE_FILE: &str = "indicators/invasive_example.csv";
pub const THRESHOLDS_FILE: &str = "indicators/knowledge_gap_thresholds.csv";

const REGIONS_EMBEDDED: &str = include_str!("../../data/admin/departements_regions_2016.csv");
const INVASIVE_EMBEDDED: &str = include_str!("../../data/indicators/invasive_example.csv");
const THRESHOLDS_EMBEDDED: &str =
    include_str!("../../data/indicators/knowledge_gap_thresholds.csv");

/// A CSV table: header → column index, then rows with their 1-based line numbers.
struct Table {
    file: String,
    columns: Vec<String>,
    rows: Vec<(usize, Vec<String>)>,
}

impl Table {
    fn parse(file: &str, text: &str) -> Result<Table, ListError> {
        let mut r = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(text.as_bytes());
        let bad = |reason: String| ListError::File {
            file: file.into(),
            reason,
        };
        let columns = r
            .headers()
            .map_err(|e| bad(format!("header: {e}")))?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        let mut rows = Vec::new();
        for (i, rec) in r.records().enumerate() {
            let rec = rec.map_err(|e| bad(format!("line {}: {e}", i + 2)))?;
            rows.push((i + 2, rec.iter().map(|v| v.trim().to_string()).collect()));
        }
        Ok(Table {
            file: file.into(),
            columns,
            rows,
        })
    }

    fn column(&self, name: &str) -> Result<usize, ListError> {
        self.columns
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| ListError::File {
                file: self.file.clone(),
                reason: format!("no {name} column"),
            })
    }

    fn field<'r>(
        &self,
        line: usize,
        row: &'r [String],
        col: usize,
        name: &str,
    ) -> Result<&'r str, ListError> {
        row.get(col)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ListError::Field {
                file: self.file.clone(),
                line,
                field: name.into(),
                reason: "empty".into(),
            })
    }

    fn number(
        &self,
        line: usize,
        row: &[String],
        col: usize,
        name: &str,
    ) -> Result<u32, ListError> {
        let v = self.field(line, row, col, name)?;
        v.parse().map_err(|_| ListError::Field {
            file: self.file.clone(),
            line,
            field: name.into(),
            reason: format!("{v:?} is not a non-negative integer"),
        })
    }
}

fn read_or_embedded(
    dir: Option<&Path>,
    rel: &str,
    embedded: &str,
) -> Result<(String, String), ListError> {
    match dir.map(|d| d.join(rel)).filter(|p| p.is_file()) {
        Some(p) => {
            let text = std::fs::read_to_string(&p).map_err(|e| ListError::Io {
                file: p.display().to_string(),
                source: e,
            })?;
            Ok((p.display().to_string(), text))
        }
        None => Ok((format!("(embedded) data/{rel}"), embedded.to_string())),
    }
}

/// Department code → 2016 region (code, name).
#[derive(Clone, Debug, Default)]
pub struct Regions {
    by_departement: HashMap<String, usize>,
    /// (code, name), in the order first met.
    pub regions: Vec<(String, String)>,
}

impl Regions {
    /// Reads `departement,region,region_nom`.
    pub fn parse(file: &str, text: &str) -> Result<Regions, ListError> {
        let t = Table::parse(file, text)?;
        let (d, r, n) = (
            t.column("departement")?,
            t.column("region")?,
            t.column("region_nom")?,
        );
        let mut out = Regions::default();
        for (line, row) in &t.rows {
            let dep = t.field(*line, row, d, "departement")?;
            let code = t.field(*line, row, r, "region")?;
            let name = t.field(*line, row, n, "region_nom")?;
            let idx = match out.regions.iter().position(|(c, _)| c == code) {
                Some(i) => i,
                None => {
                    out.regions.push((code.to_string(), name.to_string()));
                    out.regions.len() - 1
                }
            };
            out.by_departement.insert(dep.to_string(), idx);
        }
        Ok(out)
    }

    /// The region index of a department code.
    pub fn of_departement(&self, code: &str) -> Option<usize> {
        self.by_departement.get(code).copied()
    }
}

/// The invasive taxa, as cd_ref (each listed cd_nom resolved through the taxonomy).
#[derive(Clone, Debug, Default)]
pub struct InvasiveList {
    pub cd_refs: HashSet<u32>,
}

impl InvasiveList {
    /// Reads a `cd_nom[,name]` list.
    pub fn parse(file: &str, text: &str, taxonomy: &Taxonomy) -> Result<InvasiveList, ListError> {
        let t = Table::parse(file, text)?;
        let c = t.column("cd_nom")?;
        let mut cd_refs = HashSet::new();
        for (line, row) in &t.rows {
            let cd_nom = t.number(*line, row, c, "cd_nom")?;
            cd_refs.insert(taxonomy.cd_ref(cd_nom).unwrap_or(cd_nom));
        }
        Ok(InvasiveList { cd_refs })
    }
}

/// Knowledge-gap thresholds: taxonomic group (group2_inpn) → minimum species richness of a
/// well-known cell.
#[derive(Clone, Debug, Default)]
pub struct Thresholds {
    pub by_group: BTreeMap<String, u32>,
}

impl Thresholds {
    /// Reads `group,threshold`.
    pub fn parse(file: &str, text: &str) -> Result<Thresholds, ListError> {
        let t = Table::parse(file, text)?;
        let (g, th) = (t.column("group")?, t.column("threshold")?);
        let mut by_group = BTreeMap::new();
        for (line, row) in &t.rows {
            let group = t.field(*line, row, g, "group")?;
            let v = t.number(*line, row, th, "threshold")?;
            if by_group.insert(group.to_string(), v).is_some() {
                return Err(ListError::Field {
                    file: t.file.clone(),
                    line: *line,
                    field: "group".into(),
                    reason: format!("{group:?} listed twice"),
                });
            }
        }
        Ok(Thresholds { by_group })
    }
}

/// The three tables together.
#[derive(Clone, Debug, Default)]
pub struct Lists {
    pub regions: Regions,
    pub invasive: InvasiveList,
    pub thresholds: Thresholds,
}

impl Lists {
    /// From `dir` (a `data/` directory) where the files exist, else the embedded defaults.
    pub fn load(dir: Option<&Path>, taxonomy: &Taxonomy) -> Result<Lists, ListError> {
        let (f, t) = read_or_embedded(dir, REGIONS_FILE, REGIONS_EMBEDDED)?;
        let regions = Regions::parse(&f, &t)?;
        let (f, t) = read_or_embedded(dir, INVASIVE_FILE, INVASIVE_EMBEDDED)?;
        let invasive = InvasiveList::parse(&f, &t, taxonomy)?;
        let (f, t) = read_or_embedded(dir, THRESHOLDS_FILE, THRESHOLDS_EMBEDDED)?;
        let thresholds = Thresholds::parse(&f, &t)?;
        Ok(Lists {
            regions,
            invasive,
            thresholds,
        })
    }
}
