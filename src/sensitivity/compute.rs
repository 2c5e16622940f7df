//! The GINCO algorithm (DOMAIN.md, "Computing the sensitivity of an observation"), as a
//! step function of the day the record is read on.

use super::departement::DeptKey;
use super::{Rule, SensitivityQuery, SensitivityReferential, SensitivityStep, SensitivityTimeline};
use crate::date::Day;

/// Biological status and behaviour codes that say nothing (0 Inconnu, 1 Non renseigné,
/// 2 Non déterminé): a rule restricted to a status still applies, by precaution.
const UNKNOWN_CODES: u8 = 2;

/// Step 4: a rule restricted to a status (or behaviour) applies to observations with that
/// status or an unknown one.
fn criterion_applies(rule: Option<u8>, observation: Option<u8>) -> bool {
    match (rule, observation) {
        (None, _) | (Some(_), None) => true,
        (Some(r), Some(o)) => o <= UNKNOWN_CODES || o == r,
    }
}

/// Step 5: highest level (by coarseness, never by text), then a rule without comment,
/// then the lowest id so the choice does not depend on file order.
fn better(candidate: &Rule, current: Option<&Rule>) -> bool {
    let Some(current) = current else { return true };
    let rank = |r: &Rule| {
        (
            r.level.coarseness(),
            r.comment.is_none(),
            std::cmp::Reverse(r.id),
        )
    };
    rank(candidate) > rank(current)
}

/// Step 3: the first day the rule no longer applies to an observation ending on `date_fin`.
fn expiry(rule: &Rule, date_fin: Day) -> Day {
    match rule.duree {
        Some(years) => date_fin.add_years(years),
        None => Day::FOREVER,
    }
}

/// The step a chosen rule gives (step 6 when there is none), before the declared level.
fn computed_step(until: Day, chosen: Option<&Rule>) -> SensitivityStep {
    match chosen {
        Some(rule) => SensitivityStep {
            until,
            level: rule.level,
            rule_id: rule.id,
            cd_sl: rule.cd_sl,
            alert: rule.comment.is_some(),
            declared: false,
        },
        None => SensitivityStep {
            until,
            ..SensitivityStep::NOT_SENSITIVE
        },
    }
}

/// The input's own `sensiNiveau` is never lowered: it replaces a computed level that is
/// strictly less coarse, keeping the computed rule's identity for reports.
fn with_declared(mut step: SensitivityStep, q: &SensitivityQuery<'_>) -> SensitivityStep {
    if let Some(declared) = q.declared {
        if declared.coarseness() > step.level.coarseness() {
            step.level = declared;
            step.declared = true;
        }
    }
    step
}

/// Appends `step`, merging it into the previous one when only `until` differs.
fn push_merged(steps: &mut Vec<SensitivityStep>, step: SensitivityStep) {
    if let Some(last) = steps.last_mut() {
        let same_but_until = SensitivityStep {
            until: step.until,
            ..*last
        } == step;
        if same_but_until {
            last.until = step.until;
            return;
        }
    }
    steps.push(step);
}

impl SensitivityReferential {
    /// The observation's sensitivity over time (DOMAIN.md algorithm, steps 1–6, then the
    /// declared level). Allocates only the returned steps when no rule has a duration.
    pub fn timeline(&self, q: &SensitivityQuery<'_>) -> SensitivityTimeline {
        // A department the referential cannot name has no rule (step 6).
        let dept = DeptKey::parse(q.departement);

        // First pass: the rule chosen while every candidate applies, and whether any of
        // them expires (then the result has several steps).
        let mut chosen: Option<&Rule> = None;
        let mut any_expires = false;
        if let Some(dept) = dept {
            self.for_each_candidate(dept, q, |rule| {
                any_expires |= rule.duree.is_some();
                if better(rule, chosen) {
                    chosen = Some(rule);
                }
            });
        }
        if !any_expires {
            let step = with_declared(computed_step(Day::FOREVER, chosen), q);
            return SensitivityTimeline { steps: vec![step] };
        }

        // Some rule expires: on day t the candidates are the rules whose expiry is after t,
        // so the chosen rule can only change at an expiry.
        let mut candidates: Vec<(Day, &Rule)> = Vec::new();
        if let Some(dept) = dept {
            self.for_each_candidate(dept, q, |rule| {
                candidates.push((expiry(rule, q.date_fin), rule));
            });
        }
        let mut ends: Vec<Day> = candidates.iter().map(|(end, _)| *end).collect();
        ends.push(Day::FOREVER);
        ends.sort_unstable();
        ends.dedup();

        let mut steps = Vec::with_capacity(ends.len());
        for until in ends {
            // In force on the days just before `until`: the rules ending at or after it.
            let mut best: Option<&Rule> = None;
            for (end, rule) in &candidates {
                if *end >= until && better(rule, best) {
                    best = Some(rule);
                }
            }
            push_merged(&mut steps, with_declared(computed_step(until, best), q));
        }
        SensitivityTimeline { steps }
    }

    /// Calls `f` on every rule of steps 1, 2 and 4: in force in the department's list,
    /// about one of the query's taxa (each taxon once), and matching the status and
    /// behaviour by precaution.
    fn for_each_candidate<'s>(
        &'s self,
        dept: DeptKey,
        q: &SensitivityQuery<'_>,
        mut f: impl FnMut(&'s Rule),
    ) {
        for (i, &taxon) in q.taxa.iter().enumerate() {
            // cd_nom and cd_ref are often equal: do not count a rule twice.
            if q.taxa[..i].contains(&taxon) {
                continue;
            }
            for rule in self.rules_for(dept, taxon) {
                if criterion_applies(rule.statut_biologique, q.statut_biologique)
                    && criterion_applies(rule.comportement, q.comportement)
                {
                    f(rule);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sensitivity::SensiNiveau;

    #[test]
    fn status_criterion_is_precautionary() {
        assert!(criterion_applies(None, Some(5)));
        assert!(criterion_applies(Some(3), None));
        for unknown in 0..=2 {
            assert!(criterion_applies(Some(3), Some(unknown)));
        }
        assert!(criterion_applies(Some(3), Some(3)));
        assert!(!criterion_applies(Some(3), Some(4)));
    }

    #[test]
    fn merging_keeps_the_later_end_and_distinct_steps() {
        let a = SensitivityStep {
            until: Day(10),
            level: SensiNiveau::N2,
            ..SensitivityStep::NOT_SENSITIVE
        };
        let mut steps = vec![a];
        push_merged(
            &mut steps,
            SensitivityStep {
                until: Day(20),
                ..a
            },
        );
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].until, Day(20));
        push_merged(
            &mut steps,
            SensitivityStep {
                until: Day(30),
                alert: true,
                ..a
            },
        );
        assert_eq!(steps.len(), 2);
    }
}
