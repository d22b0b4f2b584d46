//! What the bot would do with one message on its own, for `classify`: whether it is deleted
//! (decided by its content) and the sanction (decided by behaviour) for a member without history
//! and for a repeat offender. Pure.

use super::engine::{decide, Decision, DecisionInput};
use super::policy::{Policy, STRIKE_WARN};
use crate::behaviour::{score, MemberStanding, MessageFacts, Strike};

/// One day in ms.
const DAY_MS: i64 = 86_400_000;

/// The two halves of a decision for one text.
#[derive(Debug, Clone, PartialEq)]
pub struct Preview {
    /// Weighted label maximum.
    pub severity: f64,
    /// The label behind it.
    pub label: String,
    /// Deleted whoever writes it: `severity >= delete_at`.
    pub delete: bool,
    /// From a long-standing member with no history in the server.
    pub first_offence: Sanction,
    /// From that member warned one day earlier.
    pub repeat_offence: Sanction,
}

/// The behaviour score of one kind of member and the decision on it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sanction {
    /// Behaviour score.
    pub behaviour: f64,
    /// The decision.
    pub decision: Decision,
}

/// Previews the decision for a message with these classifier `scores` at `now_ms`.
pub fn preview<'a>(
    policy: &Policy,
    scores: impl IntoIterator<Item = (&'a str, f32)>,
    now_ms: i64,
) -> Preview {
    let (severity, label) = policy.behaviour.severity(scores);
    let facts = MessageFacts {
        severity,
        top_label: label.clone(),
        at_ms: now_ms,
        account_created_ms: now_ms - 365 * DAY_MS,
        joined_ms: Some(now_ms - 365 * DAY_MS),
        fingerprint: None,
        incident_participant: false,
    };
    let decide_for = |st: &MemberStanding| {
        let b = score(&policy.behaviour, &facts, st);
        let decision = decide(
            policy,
            &DecisionInput {
                guild_id: 0,
                channel_id: 0,
                message_id: 1,
                author_id: 1,
                author_roles: &[],
                author_is_moderator: false,
                behaviour: &b,
                standing: st,
                now_ms,
            },
        );
        Sanction {
            behaviour: b.score,
            decision,
        }
    };
    let first_offence = decide_for(&MemberStanding::default());
    let warned = MemberStanding {
        strikes: vec![Strike {
            at_ms: now_ms - DAY_MS,
            points: STRIKE_WARN,
            timeout: false,
        }],
        ..MemberStanding::default()
    };
    let repeat_offence = decide_for(&warned);
    Preview {
        delete: first_offence.decision.delete_message,
        severity,
        label,
        first_offence,
        repeat_offence,
    }
}
