//! Callers and their grants (GeoNature's model: grants are OR-ed, the filters inside one
//! grant AND-ed; a filter left out does not restrict).

use crate::date::Day;

/// One grant of an authenticated agent. A record is covered when every present filter
/// matches it and its sensitivity is at most `max_sensitivity`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Grant {
    /// INSEE department codes ("34", "2A").
    pub departements: Option<Vec<String>>,
    /// INSEE commune codes ("34172").
    pub communes: Option<Vec<String>>,
    /// cd_ref values; a record matches when its cd_ref is one of them or below one of them.
    pub taxa: Option<Vec<u32>>,
    /// Observation period: the record's dates must lie within [from, to].
    pub from: Option<Day>,
    pub to: Option<Day>,
    /// idSINPJdd values.
    pub datasets: Option<Vec<String>>,
    /// 0–4: the highest sensitivity level (0, 1 commune, 2 10 km, 3 department, 4 hidden)
    /// this grant shows precisely.
    pub max_sensitivity: u8,
}

/// Who is asking.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Caller {
    /// No token: the public diffusion rules.
    Public,
    /// A verified token's subject and grants.
    Agent { sub: String, grants: Vec<Grant> },
}
