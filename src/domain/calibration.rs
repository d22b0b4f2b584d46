//! Tuning thresholds from the moderators' verdicts: every automatic case a moderator confirmed
//! (the action was right) or reversed (it was not, or an appeal was approved), with the
//! behaviour score it was decided at. A candidate warn threshold keeps the cases scored at or
//! above it; the proposal is the lowest threshold whose reversal rate stays at or under the
//! target, which keeps the most confirmed cases. Pure.

use serde::Serialize;

/// One labelled case.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Labelled {
    /// The behaviour score it was decided at.
    pub score: f64,
    /// Confirmed (true) or reversed (false).
    pub confirmed: bool,
}

/// What a candidate warn threshold would have done to the labelled cases.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Candidate {
    /// The warn threshold.
    pub threshold: f64,
    /// Cases still acted on.
    pub acted: usize,
    /// Confirmed cases still acted on.
    pub confirmed: usize,
    /// Reversed cases still acted on.
    pub reversed: usize,
    /// `reversed / acted` (0 when nothing is acted on).
    pub reversal_rate: f64,
    /// Share of the confirmed cases still acted on.
    pub recall: f64,
}

/// Every distinct score as a candidate threshold, lowest first.
pub fn candidates(cases: &[Labelled]) -> Vec<Candidate> {
    let total_confirmed = cases.iter().filter(|c| c.confirmed).count();
    let mut scores: Vec<f64> = cases
        .iter()
        .map(|c| c.score)
        .filter(|s| s.is_finite())
        .collect();
    scores.sort_by(f64::total_cmp);
    scores.dedup();
    scores
        .into_iter()
        .map(|t| {
            let kept: Vec<&Labelled> = cases.iter().filter(|c| c.score >= t).collect();
            let confirmed = kept.iter().filter(|c| c.confirmed).count();
            let reversed = kept.len() - confirmed;
            Candidate {
                threshold: t,
                acted: kept.len(),
                confirmed,
                reversed,
                reversal_rate: if kept.is_empty() {
                    0.0
                } else {
                    reversed as f64 / kept.len() as f64
                },
                recall: if total_confirmed == 0 {
                    0.0
                } else {
                    confirmed as f64 / total_confirmed as f64
                },
            }
        })
        .collect()
}

/// The lowest threshold whose reversal rate is at or under `max_reversal_rate` (so the most
/// confirmed cases are kept), or `None` when no candidate meets it.
pub fn propose(cases: &[Labelled], max_reversal_rate: f64) -> Option<Candidate> {
    candidates(cases)
        .into_iter()
        .find(|c| c.acted > 0 && c.reversal_rate <= max_reversal_rate)
}

/// New thresholds (warn, timeout, kick, ban) that move `warn` to `new_warn` and the others by
/// the same amount, kept in (0, 1] and strictly increasing.
pub fn shifted(current: [f64; 4], new_warn: f64) -> [f64; 4] {
    // In thousandths, so rounding can never make two thresholds equal.
    let delta = new_warn - current[0];
    let mut milli = current.map(|t| ((t + delta).clamp(0.01, 1.0) * 1000.0).round() as i64);
    for i in (0..3).rev() {
        if milli[i] >= milli[i + 1] {
            milli[i] = (milli[i + 1] - 1).max(1);
        }
    }
    milli.map(|m| m as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn l(score: f64, confirmed: bool) -> Labelled {
        Labelled { score, confirmed }
    }

    #[test]
    fn the_lowest_threshold_within_the_target_keeps_the_most() {
        let cases = [
            l(0.62, false),
            l(0.64, false),
            l(0.66, true),
            l(0.70, false),
            l(0.75, true),
            l(0.80, true),
            l(0.90, true),
        ];
        let p = propose(&cases, 0.25).expect("a proposal");
        assert_eq!(p.threshold, 0.66);
        assert_eq!((p.acted, p.confirmed, p.reversed), (5, 4, 1));
        assert!((p.recall - 1.0).abs() < 1e-9);
        let strict = propose(&cases, 0.0).expect("a proposal");
        assert_eq!(strict.threshold, 0.75);
        assert!((strict.recall - 0.75).abs() < 1e-9);
        assert_eq!(
            shifted([0.6, 0.75, 0.92, 0.97], 0.66),
            [0.66, 0.81, 0.98, 1.0]
        );
    }

    proptest! {
        #[test]
        fn a_proposal_meets_its_target(
            cases in proptest::collection::vec((0.0f64..1.0, any::<bool>()), 1..60),
            target in 0.0f64..1.0,
        ) {
            let cases: Vec<Labelled> = cases.into_iter().map(|(s, c)| l(s, c)).collect();
            if let Some(p) = propose(&cases, target) {
                prop_assert!(p.reversal_rate <= target);
                // No lower threshold meets the target with more confirmed cases.
                for c in candidates(&cases) {
                    if c.threshold < p.threshold {
                        prop_assert!(c.reversal_rate > target);
                    }
                }
            }
        }

        #[test]
        fn shifted_thresholds_stay_ordered(w in 0.05f64..1.0, t in 0.05f64..1.0) {
            let s = shifted([0.6, 0.75, 0.92, 0.97], w.min(t));
            prop_assert!(s.windows(2).all(|p| p[0] < p[1]), "{:?}", s);
            prop_assert!(s.iter().all(|x| *x > 0.0 && *x <= 1.0));
        }
    }
}
