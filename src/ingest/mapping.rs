//! Column mapping files (`--mapping FILE`, TOML): how a platform's own export names the SINP
//! fields and codes their values, so the export is read as it is (see docs/column-mapping.md).
//!
//! ```toml
//! [columns]            # SINP field = column (or GeoJSON property) of the source file
//! idSINPOccTax = "uuid_obs"
//! occStatutBiologique = "statut_bio"
//!
//! [values.occStatutBiologique]   # source value = SINP code, for one field
//! "Reproduction" = "3"
//! ```
//!
//! A column the mapping names gives its field; a field the mapping maps is no longer read
//! from its default names (so a renamed column wins without ambiguity); every other column
//! keeps its default names and aliases ([`Field::from_column_name`]).
#![forbid(unsafe_code)]

use super::fields::{Field, OwnedRecord, OwnedValue, RawRecord, RawValue};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: not valid TOML: {reason}")]
    Syntax { file: String, reason: String },
    #[error("{file}:{line}: {key}: {reason}")]
    Key {
        file: String,
        line: usize,
        key: String,
        reason: String,
    },
}

/// A loaded mapping file.
#[derive(Clone, Debug, Default)]
pub struct Mapping {
    file: String,
    /// (source column name, field), names compared ignoring ASCII case and blanks.
    columns: Vec<(String, Field)>,
    /// Fields the mapping takes from a named column (their default names no longer apply).
    mapped: [bool; Field::COUNT],
    /// Per field: (source value, SINP value), source values compared ignoring ASCII case.
    values: Vec<Vec<(String, String)>>,
}

/// Field names a mapping may target: the SINP names, and `action` for the status column.
fn target_field(key: &str) -> Option<Field> {
    Field::ALL
        .into_iter()
        .find(|f| f.sinp_name().eq_ignore_ascii_case(key.trim()))
}

fn known_targets() -> String {
    Field::ALL
        .iter()
        .map(|f| f.sinp_name())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Mapping {
    pub fn load(path: &Path) -> Result<Mapping, MappingError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| MappingError::Io {
            file: file.clone(),
            source,
        })?;
        Mapping::parse(&file, &text)
    }

    /// Parses the text of a mapping file; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Mapping, MappingError> {
        let table: toml::Table =
            text.parse()
                .map_err(|e: toml::de::Error| MappingError::Syntax {
                    file: file.to_string(),
                    reason: e.to_string(),
                })?;
        let key_error = |section: &str, key: &str, reason: String| MappingError::Key {
            file: file.to_string(),
            line: line_of(text, section, key),
            key: if section.is_empty() {
                key.to_string()
            } else {
                format!("{section}.{key}")
            },
            reason,
        };
        let mut m = Mapping {
            file: file.to_string(),
            values: vec![Vec::new(); Field::COUNT],
            ..Mapping::default()
        };
        for (section, value) in &table {
            match (section.as_str(), value) {
                ("columns", toml::Value::Table(cols)) => {
                    for (key, source) in cols {
                        let field = target_field(key).ok_or_else(|| {
                            key_error(
                                "columns",
                                key,
                                format!("unknown SINP field (known: {})", known_targets()),
                            )
                        })?;
                        let toml::Value::String(source) = source else {
                            return Err(key_error(
                                "columns",
                                key,
                                "expected the source column name as a string".into(),
                            ));
                        };
                        if m.mapped[field as usize] {
                            return Err(key_error(
                                "columns",
                                key,
                                format!("{} is mapped twice", field.sinp_name()),
                            ));
                        }
                        if let Some((_, other)) = m
                            .columns
                            .iter()
                            .find(|(c, _)| c.eq_ignore_ascii_case(source.trim()))
                        {
                            return Err(key_error(
                                "columns",
                                key,
                                format!("column {source:?} already gives {}", other.sinp_name()),
                            ));
                        }
                        m.mapped[field as usize] = true;
                        m.columns.push((source.trim().to_string(), field));
                    }
                }
                ("values", toml::Value::Table(fields)) => {
                    for (key, codes) in fields {
                        let section = format!("values.{key}");
                        let field = target_field(key).ok_or_else(|| {
                            key_error(
                                "values",
                                key,
                                format!("unknown SINP field (known: {})", known_targets()),
                            )
                        })?;
                        let toml::Value::Table(codes) = codes else {
                            return Err(key_error(
                                "values",
                                key,
                                "expected a table of source value = SINP value".into(),
                            ));
                        };
                        for (from, to) in codes {
                            let to = match to {
                                toml::Value::String(s) => s.clone(),
                                toml::Value::Integer(i) => i.to_string(),
                                _ => {
                                    return Err(key_error(
                                        &section,
                                        from,
                                        "expected the SINP value as a string or integer".into(),
                                    ))
                                }
                            };
                            m.values[field as usize].push((from.trim().to_string(), to));
                        }
                    }
                }
                ("columns" | "values", _) => {
                    return Err(key_error(
                        "",
                        section,
                        format!("[{section}] must be a table"),
                    ))
                }
                _ => {
                    return Err(key_error(
                        "",
                        section,
                        "unknown section (expected [columns] and [values.FIELD])".into(),
                    ))
                }
            }
        }
        Ok(m)
    }

    /// The mapping file, for messages.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The field a source column gives under this mapping (see the module doc).
    pub fn field_of(&self, column: &str) -> Option<Field> {
        let column = column.trim();
        if let Some((_, f)) = self
            .columns
            .iter()
            .find(|(c, _)| c.eq_ignore_ascii_case(column))
        {
            return Some(*f);
        }
        Field::from_column_name(column).filter(|f| !self.mapped[*f as usize])
    }

    /// Whether any value of `field` is recoded.
    pub fn recodes(&self, field: Field) -> bool {
        !self.values[field as usize].is_empty()
    }

    /// `value` of `field` as the SINP value the mapping gives it (itself when not listed).
    pub fn value<'a>(&'a self, field: Field, value: &'a str) -> &'a str {
        let v = value.trim();
        self.values[field as usize]
            .iter()
            .find(|(from, _)| from.eq_ignore_ascii_case(v))
            .map_or(value, |(_, to)| to.as_str())
    }

    /// Recodes the text values of `raw` in place.
    pub fn apply<'a>(&'a self, raw: &mut RawRecord<'a>) {
        for field in Field::ALL {
            if !self.recodes(field) {
                continue;
            }
            match raw.get(field) {
                RawValue::Text(t) => raw.set(field, RawValue::Text(self.value(field, t))),
                RawValue::Int(i) => {
                    let s = i.to_string();
                    if let Some((_, to)) = self.values[field as usize]
                        .iter()
                        .find(|(from, _)| *from == s)
                    {
                        raw.set(field, RawValue::Text(to));
                    }
                }
                _ => {}
            }
        }
    }
}

impl Mapping {
    /// Recodes the values of a decoded feature in place.
    pub fn apply_owned(&self, row: &mut OwnedRecord) {
        for field in Field::ALL {
            if !self.recodes(field) {
                continue;
            }
            let text = match row.get(field) {
                OwnedValue::Text(t) => t.clone(),
                OwnedValue::Int(i) => i.to_string(),
                _ => continue,
            };
            let mapped = self.value(field, &text);
            if mapped != text {
                let mapped = OwnedValue::Text(mapped.to_string());
                row.set(field, mapped);
            }
        }
    }
}

/// The 1-based line of `key` in `[section]` (`""`: top level); 0 when not found.
fn line_of(text: &str, section: &str, key: &str) -> usize {
    let mut current = String::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if let Some(h) = t.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            current = h.trim().to_string();
            if section.is_empty() && (current == key || current.starts_with(&format!("{key}."))) {
                return i + 1;
            }
            if section == "values" && current == format!("values.{key}") {
                return i + 1;
            }
            continue;
        }
        if current != section {
            continue;
        }
        if let Some((k, _)) = t.split_once('=') {
            if k.trim().trim_matches('"').trim_matches('\'') == key {
                return i + 1;
            }
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_renamed_column_wins_over_the_default_name() {
        let m = Mapping::parse("m.toml", "[columns]\ncdNom = \"espece\"\n").unwrap();
        assert_eq!(m.field_of("espece"), Some(Field::CdNom));
        assert_eq!(m.field_of("ESPECE "), Some(Field::CdNom));
        // The default names of a mapped field no longer give it…
        assert_eq!(m.field_of("cdNom"), None);
        assert_eq!(m.field_of("cd_nom"), None);
        // …and other fields keep theirs.
        assert_eq!(m.field_of("date_min"), Some(Field::DateDebut));
    }

    #[test]
    fn values_are_recoded_ignoring_case() {
        let text = "[values.occStatutBiologique]\n\"Reproduction\" = \"3\"\n\"Inconnu\" = 0\n";
        let m = Mapping::parse("m.toml", text).unwrap();
        assert_eq!(m.value(Field::OccStatutBiologique, "reproduction"), "3");
        assert_eq!(m.value(Field::OccStatutBiologique, "Inconnu"), "0");
        assert_eq!(m.value(Field::OccStatutBiologique, "12"), "12");
        assert_eq!(
            m.value(Field::OccComportement, "Reproduction"),
            "Reproduction"
        );
    }

    #[test]
    fn an_unknown_target_field_names_file_line_and_key() {
        let text = "# comment\n[columns]\ncdNom = \"a\"\ncdNomm = \"b\"\n";
        let e = Mapping::parse("maps/x.toml", text).unwrap_err().to_string();
        assert!(
            e.starts_with("maps/x.toml:4: columns.cdNomm: unknown SINP field"),
            "{e}"
        );
        let text = "[columns]\n\n[values.statut]\n\"x\" = \"1\"\n";
        let e = Mapping::parse("x.toml", text).unwrap_err().to_string();
        assert!(
            e.starts_with("x.toml:3: values.statut: unknown SINP field"),
            "{e}"
        );
        let e = Mapping::parse("x.toml", "[colums]\na = \"b\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("x.toml:1: colums: unknown section"), "{e}");
    }

    #[test]
    fn one_column_for_two_fields_is_refused() {
        let text = "[columns]\ncdNom = \"a\"\ncdRef = \"A\"\n";
        let e = Mapping::parse("x.toml", text).unwrap_err().to_string();
        assert!(
            e.contains("x.toml:3: columns.cdRef: column \"A\" already gives cdNom"),
            "{e}"
        );
    }
}
