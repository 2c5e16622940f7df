//! The SINP sensitivity of an observation: the referential (`especesensible.csv` and its
//! lists) and the GINCO algorithm of DOMAIN.md, producing a [`SensitivityTimeline`].
#![forbid(unsafe_code)]

mod compute;
pub mod departement;
pub mod level;
mod referential_reader;
pub mod timeline;

#[cfg(test)]
mod tests_files;
#[cfg(test)]
mod tests_real;

pub use departement::DeptKey;
pub use level::{DiffusionNiveauPrecision, DsPublique, SensiNiveau};
pub use timeline::{SensitivityStep, SensitivityTimeline};

use crate::date::Day;
use crate::taxonomy::id_hash::IdMap;
use crate::taxonomy::table::TableError;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum SensitivityError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}: field {field}: {reason}")]
    Parse {
        file: String,
        line: u64,
        field: String,
        reason: String,
    },
}

impl From<TableError> for SensitivityError {
    fn from(e: TableError) -> Self {
        match e {
            TableError::Io { path, source } => SensitivityError::Io { path, source },
            TableError::Parse {
                file,
                line,
                field,
                reason,
            } => SensitivityError::Parse {
                file,
                line,
                field,
                reason,
            },
        }
    }
}

/// What the algorithm needs to know of one observation.
#[derive(Clone, Debug)]
pub struct SensitivityQuery<'a> {
    /// INSEE department code with its leading zero ("05", "2A", "974").
    pub departement: &'a str,
    /// The observation's cd_nom, its cd_ref and the ancestors of its cd_ref.
    pub taxa: &'a [u32],
    pub statut_biologique: Option<u8>,
    pub comportement: Option<u8>,
    pub date_fin: Day,
    /// `sensiNiveau` as given in the input, if any: the result is never lower.
    pub declared: Option<SensiNiveau>,
}

/// `cd_sl` of the national list when `especesensiblelistes.csv` names none.
pub const NATIONAL_LIST: u16 = 9;

/// One row of `especesensible.csv`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub id: u32,
    /// Normalised department code ("01", "2A", "974").
    pub departement: String,
    pub cd_nom: u32,
    /// Years the sensitivity lasts after the observation's end date; `None`: forever.
    pub duree: Option<u32>,
    pub level: SensiNiveau,
    /// `autre`: conditions a person must check (`None` when empty).
    pub comment: Option<String>,
    pub cd_sl: u16,
    /// The rule applies only to this biological status (or an unknown one).
    pub statut_biologique: Option<u8>,
    /// The rule applies only to this behaviour (or an unknown one).
    pub comportement: Option<u8>,
    pub nom_cite: String,
    /// The line of `especesensible.csv` the rule starts on.
    pub line: u64,
}

/// The parsed referential, indexed for the algorithm.
#[derive(Debug, Default)]
pub struct SensitivityReferential {
    /// Every rule of the file, sorted by id.
    rules: Vec<Rule>,
    /// Positions in `rules` of the rules that belong to the list in force in their
    /// department (step 2 resolved once at load), grouped by (department, cd_nom), then
    /// sorted by id inside a group.
    applicable: Vec<u32>,
    /// `taxon_key(department, cd_nom)` → range of `applicable`.
    by_taxon: IdMap<u64, (u32, u32)>,
    /// The keys of `by_taxon`, sorted, for per-department scans.
    sorted_keys: Vec<u64>,
    /// The regional lists in force in a department whose pre-2016 region has some.
    regional_lists: IdMap<DeptKey, Vec<u16>>,
    /// The national lists (empty `cd_insee_reg`), used everywhere else.
    national_lists: Vec<u16>,
}

fn taxon_key(dept: DeptKey, cd_nom: u32) -> u64 {
    (u64::from(dept.raw()) << 32) | u64::from(cd_nom)
}

impl SensitivityReferential {
    /// Reads the rules (`especesensible.csv`), the lists (`especesensiblelistes.csv`) and
    /// the department → pre-2016 region table (`departements_regions_2015.csv`).
    pub fn load(
        rules: &Path,
        lists: &Path,
        departement_regions: &Path,
    ) -> Result<Self, SensitivityError> {
        let rule_rows = referential_reader::read_rules(rules)?;
        let list_rows = referential_reader::read_lists(lists)?;
        let dept_regions = referential_reader::read_departement_regions(departement_regions)?;
        Self::build(rules, rule_rows, lists, &list_rows, &dept_regions)
    }

    fn build(
        rules_path: &Path,
        mut rules: Vec<Rule>,
        lists_path: &Path,
        lists: &[referential_reader::ListRow],
        dept_regions: &[(DeptKey, u16)],
    ) -> Result<Self, SensitivityError> {
        let parse_error =
            |path: &Path, line: u64, field: &str, reason: String| SensitivityError::Parse {
                file: path.display().to_string(),
                line,
                field: field.to_string(),
                reason,
            };

        // Lists: national ones, and the regional ones per department of their region.
        let mut national_lists: Vec<u16> = lists
            .iter()
            .filter(|l| l.region.is_none())
            .map(|l| l.cd_sl)
            .collect();
        if national_lists.is_empty() {
            national_lists.push(NATIONAL_LIST);
        }
        national_lists.sort_unstable();
        national_lists.dedup();
        let mut regional_lists: IdMap<DeptKey, Vec<u16>> = IdMap::default();
        for list in lists {
            let Some(region) = list.region else { continue };
            let mut found = false;
            for (dept, _) in dept_regions.iter().filter(|(_, r)| *r == region) {
                found = true;
                let in_force = regional_lists.entry(*dept).or_default();
                if !in_force.contains(&list.cd_sl) {
                    in_force.push(list.cd_sl);
                    in_force.sort_unstable();
                }
            }
            // A list that reaches no department would silently drop its rules: a region
            // code from after 2016, or a table that lacks the region.
            if !found {
                return Err(parse_error(
                    lists_path,
                    list.line,
                    "cd_insee_reg",
                    format!(
                        "region {region} of list {} has no department in the pre-2016 region table",
                        list.cd_sl
                    ),
                ));
            }
        }

        // Rules: by id, with unique ids and known lists.
        rules.sort_by_key(|r| r.id);
        if let Some(w) = rules.windows(2).find(|w| w[0].id == w[1].id) {
            let line = w[0].line.max(w[1].line);
            let other = w[0].line.min(w[1].line);
            return Err(parse_error(
                rules_path,
                line,
                "id",
                format!("rule id {} already used on line {other}", w[0].id),
            ));
        }
        let known_list =
            |cd_sl: u16| national_lists.contains(&cd_sl) || lists.iter().any(|l| l.cd_sl == cd_sl);
        let mut keyed: Vec<(u64, u32)> = Vec::new();
        for (pos, rule) in rules.iter().enumerate() {
            if !known_list(rule.cd_sl) {
                return Err(parse_error(
                    rules_path,
                    rule.line,
                    "cd_sl",
                    format!("list {} is not in {}", rule.cd_sl, lists_path.display()),
                ));
            }
            let dept = DeptKey::parse(&rule.departement).ok_or_else(|| {
                parse_error(
                    rules_path,
                    rule.line,
                    "cd_dept",
                    format!("{:?} is not a department code", rule.departement),
                )
            })?;
            let in_force = regional_lists.get(&dept).unwrap_or(&national_lists);
            if in_force.contains(&rule.cd_sl) {
                let pos = u32::try_from(pos).map_err(|_| {
                    parse_error(rules_path, rule.line, "id", "too many rules".to_string())
                })?;
                keyed.push((taxon_key(dept, rule.cd_nom), pos));
            }
        }
        // Positions follow id order, so a stable sort keeps ids ascending in a group.
        keyed.sort_by_key(|(key, _)| *key);

        let mut by_taxon: IdMap<u64, (u32, u32)> = IdMap::default();
        let mut sorted_keys = Vec::new();
        let mut applicable = Vec::with_capacity(keyed.len());
        for (key, pos) in keyed {
            // `applicable.len()` fits in u32: it is at most the number of rules.
            let at = applicable.len() as u32;
            let range = by_taxon.entry(key).or_insert_with(|| {
                sorted_keys.push(key);
                (at, 0)
            });
            range.1 += 1;
            applicable.push(pos);
        }

        Ok(SensitivityReferential {
            rules,
            applicable,
            by_taxon,
            sorted_keys,
            regional_lists,
            national_lists,
        })
    }

    /// The number of rules in `especesensible.csv`, whether in force or not.
    pub fn rules_count(&self) -> usize {
        self.rules.len()
    }

    /// The number of rules that belong to the list in force in their department.
    pub fn applicable_rules_count(&self) -> usize {
        self.applicable.len()
    }

    /// The rule with this `id`.
    pub fn rule(&self, id: u32) -> Option<&Rule> {
        self.rules
            .binary_search_by_key(&id, |r| r.id)
            .ok()
            .map(|i| &self.rules[i])
    }

    /// Every rule, sorted by id.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The lists whose rules apply in `departement`: its region's lists when there are
    /// some, else the national list(s). Empty for an unreadable department code.
    pub fn lists_for_departement(&self, departement: &str) -> &[u16] {
        match DeptKey::parse(departement) {
            Some(dept) => self.lists_in_force(dept),
            None => &[],
        }
    }

    fn lists_in_force(&self, dept: DeptKey) -> &[u16] {
        self.regional_lists
            .get(&dept)
            .unwrap_or(&self.national_lists)
    }

    /// The `cd_sl` whose rules apply in `departement` (the lowest one when a region has
    /// several lists); [`NATIONAL_LIST`] for an unreadable department code.
    pub fn list_for_departement(&self, departement: &str) -> u16 {
        self.lists_for_departement(departement)
            .first()
            .copied()
            .unwrap_or(NATIONAL_LIST)
    }

    /// The cd_nom with at least one rule in force in `departement`, ascending (whatever
    /// their status, behaviour or duration conditions).
    pub fn sensitive_taxa(&self, departement: &str) -> impl Iterator<Item = u32> + '_ {
        let range = match DeptKey::parse(departement) {
            Some(dept) => {
                let lo = u64::from(dept.raw()) << 32;
                let hi = lo | u64::from(u32::MAX);
                let start = self.sorted_keys.partition_point(|k| *k < lo);
                let end = self.sorted_keys.partition_point(|k| *k <= hi);
                start..end
            }
            None => 0..0,
        };
        // The low 32 bits of a key are the cd_nom.
        self.sorted_keys[range].iter().map(|k| *k as u32)
    }

    /// The rules in force for `cd_nom` in `dept`, by id.
    fn rules_for(&self, dept: DeptKey, cd_nom: u32) -> impl Iterator<Item = &Rule> + '_ {
        let (start, len) = self
            .by_taxon
            .get(&taxon_key(dept, cd_nom))
            .copied()
            .unwrap_or((0, 0));
        self.applicable[start as usize..(start + len) as usize]
            .iter()
            .map(|pos| &self.rules[*pos as usize])
    }
}
