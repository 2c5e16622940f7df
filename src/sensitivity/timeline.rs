//! A record's sensitivity over time. Rules with a duration expire, so the level is a step
//! function of the day it is read on; ingest stores the whole function, and readers evaluate
//! it at read time — a record becomes precise without being re-imported.

use super::level::SensiNiveau;
use crate::date::Day;

/// The result of the sensitivity algorithm on days before `until` (exclusive) and after the
/// previous step's `until`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SensitivityStep {
    pub until: Day,
    pub level: SensiNiveau,
    /// `id` of the referential rule chosen (0: none).
    pub rule_id: u32,
    /// `cd_sl` of the list that rule belongs to (0: none).
    pub cd_sl: u16,
    /// The chosen rule has a comment (`autre`): the result needs a manual check (`sensiAlerte`).
    pub alert: bool,
    /// The level comes from the input's own `sensiNiveau`, higher than the computed one.
    pub declared: bool,
}

impl SensitivityStep {
    pub const NOT_SENSITIVE: SensitivityStep = SensitivityStep {
        until: Day::FOREVER,
        level: SensiNiveau::N0,
        rule_id: 0,
        cd_sl: 0,
        alert: false,
        declared: false,
    };
}

/// Steps sorted by `until`, strictly increasing, the last one ending at [`Day::FOREVER`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SensitivityTimeline {
    pub steps: Vec<SensitivityStep>,
}

impl SensitivityTimeline {
    pub fn not_sensitive() -> Self {
        SensitivityTimeline {
            steps: vec![SensitivityStep::NOT_SENSITIVE],
        }
    }

    /// The step in force on `day`.
    pub fn at(&self, day: Day) -> &SensitivityStep {
        at(&self.steps, day)
    }

    /// The first day on which the record is no longer sensitive, when it is sensitive on
    /// `day` and that end is known; `None` when it is not sensitive or sensitive forever.
    pub fn sensitive_until(&self, day: Day) -> Option<Day> {
        sensitive_until(&self.steps, day)
    }
}

/// [`SensitivityTimeline::at`] on a slice of steps (as read from the store).
pub fn at(steps: &[SensitivityStep], day: Day) -> &SensitivityStep {
    let i = steps.partition_point(|s| s.until <= day);
    &steps[i.min(steps.len() - 1)]
}

/// [`SensitivityTimeline::sensitive_until`] on a slice of steps.
pub fn sensitive_until(steps: &[SensitivityStep], day: Day) -> Option<Day> {
    let i = steps
        .partition_point(|s| s.until <= day)
        .min(steps.len() - 1);
    if !steps[i].level.is_sensitive() {
        return None;
    }
    // Sensitivity ends where the step before the first non-sensitive one ends.
    let j = i + steps[i..].iter().position(|s| !s.level.is_sensitive())?;
    Some(steps[j - 1].until)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(until: Day, level: SensiNiveau) -> SensitivityStep {
        SensitivityStep {
            until,
            level,
            ..SensitivityStep::NOT_SENSITIVE
        }
    }

    #[test]
    fn evaluates_the_step_in_force_and_when_sensitivity_ends() {
        let d = |s| Day::parse(s).unwrap();
        let t = SensitivityTimeline {
            steps: vec![
                step(d("2020-01-01"), SensiNiveau::N3),
                step(d("2030-01-01"), SensiNiveau::N1),
                step(Day::FOREVER, SensiNiveau::N0),
            ],
        };
        assert_eq!(t.at(d("2019-12-31")).level, SensiNiveau::N3);
        assert_eq!(t.at(d("2020-01-01")).level, SensiNiveau::N1);
        assert_eq!(t.at(d("2031-05-01")).level, SensiNiveau::N0);
        assert_eq!(t.sensitive_until(d("2010-01-01")), Some(d("2030-01-01")));
        assert_eq!(t.sensitive_until(d("2030-01-01")), None);
        let forever = SensitivityTimeline {
            steps: vec![step(Day::FOREVER, SensiNiveau::N2)],
        };
        assert_eq!(forever.sensitive_until(d("2010-01-01")), None);
        assert_eq!(forever.at(d("2999-01-01")).level, SensiNiveau::N2);
    }
}
