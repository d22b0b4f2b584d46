//! What-if: replays stored messages through two policies (the current settings and a draft) and
//! reports where their decisions differ. Each policy builds its own member standings as it
//! goes, so an earlier difference (a strike one policy gave and the other did not) carries into
//! later decisions as it would have live. Pure: nothing is executed.
//!
//! Both sides start every member with a clean standing at the first message replayed, and
//! neither knows the authors' roles (role exemptions and moderators are not applied), so the
//! counts are an estimate of the change, not a forecast of each case.
//!
//! Lower thresholds act earlier, but not always more often: a harsher action starts a cooldown
//! in which a later message of the same level is not punished again (see the tests).

use super::engine::{decide_quiet, Action, DecisionInput};
use super::policy::Policy;
use crate::behaviour::{score_quiet, toxic_excess, MemberStanding, MessageFacts, RecentMessage};
use std::collections::{BTreeMap, HashMap};

/// One stored message, as replayed.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayMessage {
    /// Message id.
    pub message_id: u64,
    /// Channel (per-channel thresholds apply).
    pub channel_id: u64,
    /// Author.
    pub author_id: u64,
    /// Posted at, ms since the epoch.
    pub at_ms: i64,
    /// Account created, ms since the epoch.
    pub account_created_ms: i64,
    /// Joined the guild, where known.
    pub joined_ms: Option<i64>,
    /// Label scores.
    pub scores: Vec<(String, f32)>,
}

/// A message whose decision differs between the two policies.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    /// Message.
    pub message_id: u64,
    /// Author.
    pub author_id: u64,
    /// When.
    pub at_ms: i64,
    /// Under the current settings.
    pub before: Action,
    /// Under the draft.
    pub after: Action,
}

/// The result of a replay.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WhatIf {
    /// Messages replayed.
    pub messages: u64,
    /// Actions under the current settings, by action name.
    pub before: BTreeMap<&'static str, u64>,
    /// Actions under the draft.
    pub after: BTreeMap<&'static str, u64>,
    /// Every message decided differently, in time order.
    pub differences: Vec<Difference>,
    /// Set by the caller when it stopped reading messages at its limit: only the oldest
    /// `messages` of the period were replayed.
    pub truncated: bool,
}

impl WhatIf {
    /// Number of messages decided differently whose action is `action` on either side.
    pub fn changed(&self, action: Action) -> u64 {
        self.differences
            .iter()
            .filter(|d| d.before == action || d.after == action)
            .count() as u64
    }

    /// Actions of one kind under the current settings and under the draft.
    pub fn count(&self, action: Action) -> (u64, u64) {
        let get = |m: &BTreeMap<&'static str, u64>| m.get(action.as_str()).copied().unwrap_or(0);
        (get(&self.before), get(&self.after))
    }

    /// Distinct members with at least one message decided differently.
    pub fn members_changed(&self) -> usize {
        self.differences
            .iter()
            .map(|d| d.author_id)
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    }
}

struct Side<'a> {
    policy: &'a Policy,
    standings: HashMap<u64, MemberStanding>,
}

impl Side<'_> {
    fn decide(&mut self, m: &ReplayMessage, severity: f64, top_label: &str) -> Action {
        let p = &self.policy.behaviour;
        let facts = MessageFacts {
            severity,
            top_label: top_label.to_string(),
            at_ms: m.at_ms,
            account_created_ms: m.account_created_ms,
            joined_ms: m.joined_ms,
            fingerprint: None,
            incident_participant: false,
        };
        let st = self.standings.entry(m.author_id).or_default();
        // Only the action is read: skip the explanation texts (most of the cost per message).
        let behaviour = score_quiet(p, &facts, st);
        let decision = decide_quiet(
            self.policy,
            &DecisionInput {
                guild_id: 0,
                channel_id: m.channel_id,
                message_id: m.message_id,
                author_id: m.author_id,
                author_roles: &[],
                author_is_moderator: false,
                behaviour: &behaviour,
                standing: st,
                now_ms: m.at_ms,
            },
        );
        decision.apply_to(st, m.message_id, m.at_ms, self.policy);
        st.push_message(
            RecentMessage {
                at_ms: m.at_ms,
                severity,
                fingerprint: None,
            },
            toxic_excess(severity),
            p.history_half_life_ms,
        );
        // A dry-run decision is recorded only: nothing would have been done.
        if decision.dry_run {
            Action::None
        } else {
            decision.action
        }
    }
}

/// Replays shorter than this run both sides on the calling thread.
const PARALLEL_FROM: usize = 10_000;

impl Side<'_> {
    /// This side's action for each message, in order.
    fn run(mut self, messages: &[&ReplayMessage]) -> Vec<Action> {
        messages
            .iter()
            .map(|m| {
                let scores = m.scores.iter().map(|(k, v)| (k.as_str(), *v));
                let (severity, label) = self.policy.behaviour.severity(scores);
                self.decide(m, severity, &label)
            })
            .collect()
    }
}

/// Replays `messages` (oldest first) through `current` and `draft`.
pub fn replay<'a>(
    current: &Policy,
    draft: &Policy,
    messages: impl IntoIterator<Item = &'a ReplayMessage>,
) -> WhatIf {
    let messages: Vec<&ReplayMessage> = messages.into_iter().collect();
    let side = |policy| Side {
        policy,
        standings: HashMap::new(),
    };
    // The sides share nothing (each builds its own standings): on a large replay the draft's
    // runs on a second thread, halving the wait where a core is free.
    let (before, after) = if messages.len() < PARALLEL_FROM {
        (side(current).run(&messages), side(draft).run(&messages))
    } else {
        std::thread::scope(|s| {
            let draft_side = s.spawn(|| side(draft).run(&messages));
            let before = side(current).run(&messages);
            let after = draft_side
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (before, after)
        })
    };
    let mut out = WhatIf::default();
    for ((m, before), after) in messages.iter().zip(before).zip(after) {
        out.messages += 1;
        if before != Action::None {
            *out.before.entry(before.as_str()).or_default() += 1;
        }
        if after != Action::None {
            *out.after.entry(after.as_str()).or_default() += 1;
        }
        if before != after {
            out.differences.push(Difference {
                message_id: m.message_id,
                author_id: m.author_id,
                at_ms: m.at_ms,
                before,
                after,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The built-in configuration with these thresholds (warn, timeout, kick, ban).
    fn policy_with(t: [f64; 4], dry_run: bool) -> Policy {
        let mut c = crate::config::load_from(&crate::config::ConfigSource::default())
            .unwrap_or_else(|e| panic!("built-in configuration must load: {e}"));
        c.thresholds.warn = t[0];
        c.thresholds.timeout = t[1];
        c.thresholds.kick = t[2];
        c.thresholds.ban = t[3];
        c.enforcement.dry_run = dry_run;
        Policy::from_config(&c).unwrap_or_else(|e| panic!("policy for {t:?}: {e}"))
    }

    fn policy(t: [f64; 4]) -> Policy {
        policy_with(t, false)
    }

    /// The shipped thresholds.
    const SHIPPED: [f64; 4] = [0.60, 0.75, 0.92, 0.97];

    /// Messages from (author, toxicity, seconds since the previous message).
    fn messages(spec: &[(u64, f32, i64)]) -> Vec<ReplayMessage> {
        let mut at = 1_700_000_000_000i64;
        spec.iter()
            .enumerate()
            .map(|(i, (author, toxic, gap))| {
                at += gap * 1000;
                ReplayMessage {
                    message_id: 1000 + i as u64,
                    channel_id: 7,
                    author_id: author + 1,
                    at_ms: at,
                    account_created_ms: 1_500_000_000_000,
                    joined_ms: Some(1_600_000_000_000),
                    scores: vec![("toxic".into(), *toxic), ("insult".into(), *toxic / 2.0)],
                }
            })
            .collect()
    }

    /// Strictly increasing thresholds in (0, 1].
    fn thresholds() -> impl Strategy<Value = [f64; 4]> {
        (0.05f64..0.9, 0.0f64..1.0, 0.0f64..1.0, 0.0f64..1.0).prop_map(|(warn, a, b, c)| {
            let timeout = warn + (1.0 - warn) * a * 0.9 + 0.001;
            let kick = timeout + (1.0 - timeout) * b * 0.9 + 0.001;
            let ban = (kick + (1.0 - kick) * c * 0.9 + 0.001).min(1.0);
            [warn, timeout, kick, ban]
        })
    }

    /// Up to 80 messages of 3 members, some within the cooldown of each other.
    fn traffic() -> impl Strategy<Value = Vec<(u64, f32, i64)>> {
        proptest::collection::vec((0u64..3, 0.0f32..1.0, 0i64..400), 0..80)
    }

    fn total(m: &BTreeMap<&'static str, u64>) -> u64 {
        m.values().sum()
    }

    #[test]
    fn a_lower_warn_threshold_warns_more() {
        // Moderately toxic messages, each member's a day apart: no cooldown in the way.
        let spec: Vec<_> = (0..20).map(|i| (i % 4, 0.5, 6 * 3600)).collect();
        let msgs = messages(&spec);
        let w = replay(&policy(SHIPPED), &policy([0.2, 0.75, 0.92, 0.97]), &msgs);
        assert_eq!(w.messages, 20);
        let (before, after) = w.count(Action::Warn);
        assert!(after > before, "{w:?}");
        assert!(total(&w.after) > total(&w.before), "{w:?}");
        assert!(!w.differences.is_empty());
        assert!(w.differences.iter().all(|d| d.before != d.after));
        assert!(w.members_changed() >= 1 && w.members_changed() <= 4);
        assert!(!w.truncated);
    }

    #[test]
    fn a_dry_run_draft_acts_on_nothing() {
        let spec: Vec<_> = (0..30).map(|i| (i % 3, 0.9, 60)).collect();
        let msgs = messages(&spec);
        let w = replay(&policy(SHIPPED), &policy_with(SHIPPED, true), &msgs);
        assert!(total(&w.before) > 0, "{w:?}");
        assert!(w.after.is_empty(), "{w:?}");
        assert_eq!(w.differences.len() as u64, total(&w.before));
        assert!(w.differences.iter().all(|d| d.after == Action::None));
    }

    #[test]
    fn a_harsher_action_can_mean_fewer_actions() {
        // Found by searching: with every threshold lower, the draft bans at once where the
        // current settings kick, and the ban's cooldown swallows the next message, which the
        // current settings ban. So lower thresholds do not always mean more actions.
        let spec = [
            (0, 0.0, 0),
            (1, 0.658_203_4, 0),
            (1, 0.773_678_5, 120),
            (1, 0.277_985_33, 120),
            (1, 0.796_826_96, 0),
            (0, 0.0, 0),
        ];
        let current = policy([0.05, 0.051, 0.052, 0.402]);
        let draft = policy([0.005, 0.0051, 0.0052, 0.0402]);
        let w = replay(&current, &draft, &messages(&spec));
        assert!(total(&w.after) < total(&w.before), "{w:?}");
        // Still, where they first part, the lower thresholds act harder.
        let first = w.differences.first().map(|d| (d.before, d.after));
        assert_eq!(first, Some((Action::Kick, Action::Ban)), "{w:?}");
    }

    proptest! {
        /// The replay's quiet scoring and deciding act exactly as the live path's explained
        /// ones, message by message, standings included.
        #[test]
        fn quiet_decisions_match_explained_ones(spec in traffic(), t in thresholds()) {
            let p = policy(t);
            let mut st = MemberStanding::default();
            for m in messages(&spec) {
                let scores = m.scores.iter().map(|(k, v)| (k.as_str(), *v));
                let (severity, top_label) = p.behaviour.severity(scores);
                let facts = MessageFacts {
                    severity,
                    top_label,
                    at_ms: m.at_ms,
                    account_created_ms: m.account_created_ms,
                    joined_ms: m.joined_ms,
                    fingerprint: None,
                    incident_participant: false,
                };
                let loud = crate::behaviour::score(&p.behaviour, &facts, &st);
                let quiet = score_quiet(&p.behaviour, &facts, &st);
                prop_assert_eq!(loud.score, quiet.score);
                let input = |b| DecisionInput {
                    guild_id: 0,
                    channel_id: m.channel_id,
                    message_id: m.message_id,
                    author_id: m.author_id,
                    author_roles: &[],
                    author_is_moderator: false,
                    behaviour: b,
                    standing: &st,
                    now_ms: m.at_ms,
                };
                let a = super::super::engine::decide(&p, &input(&loud));
                let b = decide_quiet(&p, &input(&quiet));
                prop_assert_eq!(
                    (a.action, a.delete_message, a.timeout_secs, a.level, a.dry_run, &a.note),
                    (b.action, b.delete_message, b.timeout_secs, b.level, b.dry_run, &b.note)
                );
                a.apply_to(&mut st, m.message_id, m.at_ms, &p);
            }
        }

        #[test]
        fn the_same_policy_changes_nothing(spec in traffic(), t in thresholds()) {
            let p = policy(t);
            let msgs = messages(&spec);
            let w = replay(&p, &p, &msgs);
            prop_assert!(w.differences.is_empty());
            prop_assert_eq!(&w.before, &w.after);
            prop_assert_eq!(w.messages, msgs.len() as u64);
        }

        #[test]
        fn counts_and_differences_agree(spec in traffic(), a in thresholds(), b in thresholds()) {
            let msgs = messages(&spec);
            let w = replay(&policy(a), &policy(b), &msgs);
            // Each action's count changes by at most the messages decided differently that
            // have it on either side.
            for action in [Action::Warn, Action::Delete, Action::Timeout, Action::Kick, Action::Ban] {
                let (before, after) = w.count(action);
                prop_assert!(before.abs_diff(after) <= w.changed(action), "{:?}: {:?}", action, w);
            }
            prop_assert!(total(&w.before).abs_diff(total(&w.after)) <= w.differences.len() as u64);
            prop_assert!(w.differences.iter().all(|d| d.before != d.after));
            prop_assert!(w.differences.windows(2).all(|p| p[0].at_ms <= p[1].at_ms));
        }

        #[test]
        fn lower_thresholds_act_harder_where_the_two_first_part(
            spec in traffic(),
            t in thresholds(),
            factor in 0.1f64..1.0,
        ) {
            // Until the first difference both sides saw the same decisions, so the standings
            // are equal and only the thresholds differ there: the lower ones rank at least as
            // high, and deletion does not depend on them. Later, cooldowns can reverse it
            // (a_harsher_action_can_mean_fewer_actions).
            let lower = t.map(|v| v * factor);
            let msgs = messages(&spec);
            let w = replay(&policy(t), &policy(lower), &msgs);
            if let Some(first) = w.differences.first() {
                prop_assert!(first.after.rank() > first.before.rank(), "{:?}", first);
            }
            let back = replay(&policy(lower), &policy(t), &msgs);
            if let Some(first) = back.differences.first() {
                prop_assert!(first.after.rank() < first.before.rank(), "{:?}", first);
            }
        }
    }
}
