//! Tile paths and tile query strings, parsed without the store: pure functions of the
//! request text, so a fuzzer can drive them (`fuzz/fuzz_targets/tile_request.rs`) and a
//! refusal depends on the request only.

use super::routes::{bad, Refusal};
use crate::access::view::RecordFilter;
use crate::date::Day;
use crate::geo::webmercator::TileId;
use crate::taxonomy::Taxonomy;
use crate::tiles::render::AggregateMode;
use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

/// Longest query string accepted (bounded work and memory per request).
pub const MAX_QUERY: usize = 4096;
/// Most values in one list filter.
pub const MAX_LIST: usize = 100;

/// The record filters of a query (`taxon`, `from`, `to`, `dataset`) as written: taxa not
/// yet expanded to their descendants. Tiles, TileJSON and indicators read them alike.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FilterQuery {
    pub taxa: Option<BTreeSet<u32>>,
    pub from: Option<Day>,
    pub to: Option<Day>,
    /// Sorted, without duplicates.
    pub datasets: Option<Vec<String>>,
}

impl FilterQuery {
    /// Takes `key=value` when `key` is a record filter: Ok(false) for any other key.
    pub fn take(&mut self, key: &str, value: &str) -> Result<bool, Refusal> {
        match key {
            "taxon" => {
                let set = self.taxa.get_or_insert_with(BTreeSet::new);
                for t in list(value)? {
                    let cd: u32 = t.parse().ok().filter(|c| *c > 0).ok_or_else(|| {
                        bad(format!(
                            "taxon {:?}: expected a cd_ref (positive integer)",
                            truncate(&t)
                        ))
                    })?;
                    set.insert(cd);
                    // Repeated `taxon=` parameters add up to the same bound.
                    if set.len() > MAX_LIST {
                        return Err(list_refusal());
                    }
                }
            }
            "from" => {
                self.from = Some(Day::parse(value).map_err(|_| bad("from: expected YYYY-MM-DD"))?)
            }
            "to" => self.to = Some(Day::parse(value).map_err(|_| bad("to: expected YYYY-MM-DD"))?),
            "dataset" => {
                let d = self.datasets.get_or_insert_with(Vec::new);
                d.extend(list(value)?);
                if d.len() > MAX_LIST {
                    return Err(list_refusal());
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Checks what spans parameters (`from` ≤ `to`) and puts datasets in canonical order.
    pub fn finish(&mut self) -> Result<(), Refusal> {
        if let (Some(f), Some(t)) = (self.from, self.to) {
            if f > t {
                return Err(bad("from is after to"));
            }
        }
        if let Some(d) = &mut self.datasets {
            d.sort();
            d.dedup();
        }
        Ok(())
    }

    /// The record filter, each taxon with its descendants.
    pub fn into_filter(self, taxonomy: &Taxonomy) -> RecordFilter {
        let taxa = self.taxa.map(|written| {
            let mut set = written.clone();
            for cd in written {
                set.extend(taxonomy.descendants(cd));
            }
            set
        });
        RecordFilter {
            taxa,
            from: self.from,
            to: self.to,
            datasets: self.datasets,
        }
    }
}

/// The query of a tile or TileJSON request: the record filters and the aggregate mode.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TileQuery {
    pub filter: FilterQuery,
    pub aggregate: AggregateMode,
}

/// The tile cache's text for a tile query: equal queries (as parsed: taxa as a set, datasets
/// sorted) give equal text, different ones different text. Taxa are as written, before
/// their expansion to descendants, which depends only on the generation (also in the key).
pub fn tile_query_key(q: &TileQuery) -> Arc<str> {
    use std::fmt::Write;
    if *q == TileQuery::default() {
        // The unfiltered tile, most requests: one shared text, no allocation.
        static NONE: OnceLock<Arc<str>> = OnceLock::new();
        return NONE.get_or_init(|| Arc::from("")).clone();
    }
    let f = &q.filter;
    let mut key = String::with_capacity(48);
    // Each part tagged; numbers only, but for datasets, which are written quoted (Debug),
    // so no dataset can imitate another part.
    if let Some(taxa) = &f.taxa {
        key.push_str("taxa");
        for t in taxa {
            let _ = write!(key, ",{t}");
        }
    }
    if let Some(d) = f.from {
        let _ = write!(key, ";from{}", d.0);
    }
    if let Some(d) = f.to {
        let _ = write!(key, ";to{}", d.0);
    }
    if let Some(ds) = &f.datasets {
        let _ = write!(key, ";datasets{ds:?}");
    }
    let _ = write!(key, ";{:?}", q.aggregate);
    Arc::from(key)
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

/// `/tiles/{z}/{x}/{y}.mvt`: the three path segments as received.
pub fn parse_tile_path(z: &str, x: &str, y: &str) -> Result<TileId, Refusal> {
    let out_of_range =
        || bad("tile out of range: /tiles/{z}/{x}/{y}.mvt with 0 ≤ z ≤ 22 and 0 ≤ x, y < 2^z");
    let y = y
        .strip_suffix(".mvt")
        .ok_or_else(|| bad("tiles are /tiles/{z}/{x}/{y}.mvt"))?;
    // Digits only: Rust's integer parser also takes a leading '+', and "/tiles/+1/0/0.mvt"
    // would be a second URL (a second CDN cache entry) for the same tile.
    let number = |s: &str| -> Result<u32, Refusal> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(out_of_range());
        }
        s.parse().map_err(|_| out_of_range())
    };
    let (z, x, y) = (number(z)?, number(x)?, number(y)?);
    let z = u8::try_from(z).map_err(|_| out_of_range())?;
    TileId::new(z, x, y).ok_or_else(out_of_range)
}

/// A comma-separated list of 1 to [`MAX_LIST`] non-empty values.
pub fn list(v: &str) -> Result<Vec<String>, Refusal> {
    let mut items = Vec::new();
    for item in v.split(',').map(str::trim).filter(|x| !x.is_empty()) {
        // Stop counting at the limit: a list of a million commas costs no more than 101.
        if items.len() == MAX_LIST {
            return Err(list_refusal());
        }
        items.push(item.to_string());
    }
    if items.is_empty() {
        return Err(list_refusal());
    }
    Ok(items)
}

fn list_refusal() -> Refusal {
    bad(format!(
        "a list filter takes 1 to {MAX_LIST} comma-separated values"
    ))
}

/// The query string of a tile or TileJSON request: `taxon`, `from`, `to`, `dataset`,
/// `aggregate`, and the cache-busters `_` and `v`.
pub fn parse_tile_query(query: Option<&str>) -> Result<TileQuery, Refusal> {
    let q = query.unwrap_or("");
    if q.len() > MAX_QUERY {
        return Err(bad(format!("query string longer than {MAX_QUERY} bytes")));
    }
    let mut out = TileQuery::default();
    for (k, v) in form_urlencoded::parse(q.as_bytes()) {
        if out.filter.take(&k, &v)? {
            continue;
        }
        match k.as_ref() {
            "aggregate" => {
                out.aggregate = match v.as_ref() {
                    "grid" => AggregateMode::Grid,
                    "h3" => AggregateMode::H3,
                    _ => return Err(bad("aggregate: expected grid or h3")),
                }
            }
            // Cache-busting parameters a viewer may add; they filter nothing.
            "_" | "v" => {}
            other => {
                return Err(bad(format!(
                    "unknown filter {:?}: tiles take taxon, from, to, dataset and aggregate",
                    truncate(other)
                )))
            }
        }
    }
    out.filter.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(q: &str) -> String {
        match parse_tile_query(Some(q)) {
            Ok(t) => panic!("{q:?} accepted as {t:?}"),
            Err(r) => r.1,
        }
    }

    #[test]
    fn tile_paths_within_range_only() {
        let t = parse_tile_path("3", "7", "0.mvt").ok().unwrap();
        assert_eq!((t.z(), t.x(), t.y()), (3, 7, 0));
        for (z, x, y) in [
            ("3", "8", "0.mvt"),
            ("23", "0", "0.mvt"),
            ("99", "0", "0.mvt"),
            ("-1", "0", "0.mvt"),
            ("1", "-1", "0.mvt"),
            ("1", "0", "x.mvt"),
            ("1", "0", "0"),
            ("4294967296", "0", "0.mvt"),
            ("1", "18446744073709551616", "0.mvt"),
            ("", "", ".mvt"),
            ("+1", "0", "0.mvt"),
            ("1", "+0", "0.mvt"),
            ("1", "0", "+0.mvt"),
            (" 1", "0", "0.mvt"),
        ] {
            assert!(parse_tile_path(z, x, y).is_err(), "{z}/{x}/{y}");
        }
    }

    #[test]
    fn tile_query_keys_are_equal_exactly_for_equal_queries() {
        let key = |q: &str| tile_query_key(&parse_tile_query(Some(q)).ok().unwrap());
        // The same query written differently: one key.
        assert_eq!(key(""), key("_=123&v=2"));
        assert_eq!(
            key("taxon=3,1&dataset=b,a"),
            key("dataset=a,b,a&taxon=1&taxon=3")
        );
        assert_eq!(key("aggregate=grid"), key(""), "grid is the default");
        assert_eq!(&*key(""), "");
        // Different queries: different keys, whatever the values hold.
        let distinct = [
            "",
            "taxon=1",
            "taxon=1,2",
            "taxon=12",
            "from=2020-01-01",
            "to=2020-01-01",
            "from=2020-01-01&to=2020-01-01",
            "dataset=a",
            "dataset=a,b",
            "dataset=%22%5D%3Bto1",
            "dataset=taxa,1",
            "aggregate=h3",
            "taxon=1&aggregate=h3",
        ];
        let keys: BTreeSet<String> = distinct.iter().map(|q| key(q).to_string()).collect();
        assert_eq!(keys.len(), distinct.len(), "{keys:?}");
    }

    #[test]
    fn filters_parse_and_are_bounded() {
        let q = parse_tile_query(Some(
            "taxon=3,1,3&dataset=b,a,b&aggregate=h3&from=2020-01-01&to=2021-01-01&_=9",
        ))
        .ok()
        .unwrap();
        assert_eq!(q.filter.taxa, Some(BTreeSet::from([1, 3])));
        assert_eq!(
            q.filter.datasets,
            Some(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(q.aggregate, AggregateMode::H3);
        assert!(refused("from=2021-01-01&to=2020-01-01").contains("after"));
        assert!(refused("taxon=0").contains("taxon"));
        assert!(refused("taxon=4294967296").contains("taxon"));
        assert!(refused("colour=red").contains("unknown filter"));
        // 101 taxa in one list, or over repeated parameters.
        let many: Vec<String> = (1..=101).map(|i| i.to_string()).collect();
        assert!(refused(&format!("taxon={}", many.join(","))).contains("1 to 100"));
        let repeated: Vec<String> = (1..=101).map(|i| format!("taxon={i}")).collect();
        assert!(refused(&repeated.join("&")).contains("1 to 100"));
        assert!(refused(&"a".repeat(MAX_QUERY + 1)).contains("longer than"));
    }
}
