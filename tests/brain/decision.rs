//! Decision-engine examples: escalation, exemptions, dry-run, cooldown, idempotency, deletion.

use crate::common::*;
use usmca_bot::behaviour::{score, BehaviourScore, MemberStanding};
use usmca_bot::config::{DurationSpec, MAX_TIMEOUT};
use usmca_bot::decision::{decide, Action, Decision, DecisionInput, Policy};
use usmca_bot::domain::Ground;

struct Case<'a> {
    roles: &'a [u64],
    moderator: bool,
    channel: u64,
    guild: u64,
    message: u64,
}

const PLAIN: Case<'static> = Case {
    roles: &[],
    moderator: false,
    channel: 2,
    guild: 1,
    message: 9,
};

fn behaviour(p: &Policy, severity: f64, st: &MemberStanding, at: i64) -> BehaviourScore {
    score(&p.behaviour, &facts(severity, at), st)
}

fn decide_at(
    p: &Policy,
    b: &BehaviourScore,
    st: &MemberStanding,
    c: &Case<'_>,
    at: i64,
) -> Decision {
    decide(
        p,
        &DecisionInput {
            guild_id: c.guild,
            channel_id: c.channel,
            message_id: c.message,
            author_id: 77,
            author_roles: c.roles,
            author_is_moderator: c.moderator,
            behaviour: b,
            standing: st,
            now_ms: at,
        },
    )
}

/// A severe message (severity 1.0, above the default `delete_at`) with its behaviour score
/// pinned to `v` (decision logic only).
fn pinned(p: &Policy, v: f64) -> BehaviourScore {
    pinned_at(p, v, 1.0)
}

/// A behaviour score pinned to `v` for a message of severity `severity`.
fn pinned_at(p: &Policy, v: f64, severity: f64) -> BehaviourScore {
    let mut b = behaviour(p, severity, &MemberStanding::default(), T0);
    b.score = v;
    b
}

#[test]
fn thresholds_map_to_levels() {
    let p = policy(&default_config());
    let st = MemberStanding::default();
    let d = decide_at(&p, &pinned(&p, 0.5), &st, &PLAIN, T0);
    assert_eq!(d.action.rank(), 0);
    let d = decide_at(&p, &pinned(&p, 0.65), &st, &PLAIN, T0);
    assert_eq!(d.action, Action::Warn);
    let d = decide_at(&p, &pinned(&p, 0.8), &st, &PLAIN, T0);
    assert_eq!((d.action, d.timeout_secs), (Action::Timeout, Some(600)));
    assert_eq!(
        decide_at(&p, &pinned(&p, 0.93), &st, &PLAIN, T0).action,
        Action::Kick
    );
    assert_eq!(
        decide_at(&p, &pinned(&p, 0.99), &st, &PLAIN, T0).action,
        Action::Ban
    );
}

#[test]
fn deletion_follows_the_content_and_the_sanction_the_behaviour() {
    let p = policy(&default_config());
    assert!(
        (p.delete_at - 0.985).abs() < 1e-12,
        "the measured default (docs/scoring.md)"
    );
    let st = MemberStanding::default();
    // Every behaviour level, with a message above and below delete_at: deletion follows the
    // severity alone, the sanction the score alone.
    for (score, sanction) in [
        (0.3, Action::None),
        (0.65, Action::Warn),
        (0.8, Action::Timeout),
        (0.93, Action::Kick),
        (0.99, Action::Ban),
    ] {
        for severity in [0.5, 0.9849, 0.985, 0.999, 1.3] {
            let d = decide_at(&p, &pinned_at(&p, score, severity), &st, &PLAIN, T0);
            let delete = severity >= 0.985;
            let action = match sanction {
                Action::None if delete => Action::Delete,
                a => a,
            };
            assert_eq!(
                (d.action, d.delete_message),
                (action, delete),
                "score {score} severity {severity}: {}",
                d.moderator_reason
            );
            let verdict = if delete {
                "message deleted"
            } else {
                "message kept"
            };
            assert!(
                d.moderator_reason.contains(verdict),
                "{}",
                d.moderator_reason
            );
        }
    }
    // A severe message with no sanction due is deleted alone: action `delete`.
    let d = decide_at(&p, &pinned_at(&p, 0.5, 0.99), &st, &PLAIN, T0);
    assert_eq!((d.action, d.delete_message), (Action::Delete, true));
    assert_eq!(
        serde_json::to_string(&d.action).ok().as_deref(),
        Some("\"delete\"")
    );
    assert!(d.executable());
    // A repeat offender's mild message climbs the ladder and stays up.
    let warned = standing(0, &[(T0 - HOUR, 1.0, false)]);
    let d = decide_at(&p, &pinned_at(&p, 0.65, 0.85), &warned, &PLAIN, T0);
    assert_eq!(
        (d.action, d.delete_message, d.timeout_secs),
        (Action::Timeout, false, Some(600)),
        "{}",
        d.moderator_reason
    );
    // A lower delete_at deletes more, whoever wrote it.
    let mut c = default_config();
    c.enforcement.delete_at = 0.4;
    let p = policy(&c);
    let d = decide_at(&p, &pinned_at(&p, 0.2, 0.5), &st, &PLAIN, T0);
    assert_eq!((d.action, d.delete_message), (Action::Delete, true));
}

#[test]
fn repeat_offence_and_ladder_climb_and_cap() {
    let mut c = default_config();
    c.enforcement.timeout_ladder = vec![DurationSpec::parse("10m"), DurationSpec::parse("60d")];
    let p = policy(&c);
    // A warn-level score from a member warned an hour ago becomes a timeout.
    let warned = standing(0, &[(T0 - HOUR, 1.0, false)]);
    let d = decide_at(&p, &pinned(&p, 0.65), &warned, &PLAIN, T0);
    assert_eq!(d.action, Action::Timeout, "{d:?}");
    assert!(d
        .note
        .as_deref()
        .is_some_and(|n| n.contains("repeat offence")));
    // Without strikes it stays a warning.
    let d = decide_at(
        &p,
        &pinned(&p, 0.65),
        &MemberStanding::default(),
        &PLAIN,
        T0,
    );
    assert_eq!(d.action, Action::Warn);
    // Each active timeout moves one step up the ladder; the top is capped at 28 days.
    let once = standing(0, &[(T0 - DAY, 2.0, true)]);
    let d = decide_at(&p, &pinned(&p, 0.8), &once, &PLAIN, T0);
    assert_eq!(d.timeout_secs, Some(MAX_TIMEOUT.as_secs()));
    // Timeouts older than two strike half-lives no longer count.
    let old = standing(0, &[(T0 - 15 * DAY, 2.0, true)]);
    assert_eq!(
        decide_at(&p, &pinned(&p, 0.8), &old, &PLAIN, T0).timeout_secs,
        Some(600)
    );
}

#[test]
fn exemptions_cover_moderators_roles_channels_users() {
    let mut c = default_config();
    c.exemptions.roles = vec![500];
    c.exemptions.channels = vec![600];
    c.exemptions.users = vec![77];
    let p = policy(&c);
    let st = MemberStanding::default();
    let b = pinned(&p, 0.99);
    for case in [
        Case {
            moderator: true,
            ..PLAIN
        },
        Case {
            roles: &[1, 500],
            ..PLAIN
        },
        Case {
            channel: 600,
            ..PLAIN
        },
    ] {
        let d = decide_at(&p, &b, &st, &case, T0);
        assert_eq!((d.action, d.delete_message), (Action::None, false));
        assert!(
            d.note.as_deref().is_some_and(|n| n.starts_with("exempt")),
            "{d:?}"
        );
        assert_eq!(d.level, Action::Ban);
    }
    // User 77 is exempt by id even in a normal channel.
    let d = decide_at(&p, &b, &st, &PLAIN, T0);
    assert_eq!(d.action, Action::None);
    let p = policy(&default_config());
    assert_eq!(decide_at(&p, &b, &st, &PLAIN, T0).action, Action::Ban);
}

#[test]
fn dry_run_per_guild() {
    let p = policy(&default_config());
    p.set_guild_dry_run(5, Some(true));
    let st = MemberStanding::default();
    let b = pinned(&p, 0.8);
    let d = decide_at(&p, &b, &st, &Case { guild: 5, ..PLAIN }, T0);
    assert!(d.dry_run && !d.executable());
    assert_eq!(d.action, Action::Timeout);
    // Recording a dry-run decision adds no strike and starts no cooldown.
    let mut after = st.clone();
    d.apply_to(&mut after, 9, T0, &p);
    assert!(after.strikes.is_empty() && after.last_action.is_none());
    assert_eq!(after.record_for(9).map(|r| r.rank), Some(2));
    let other = decide_at(&p, &b, &st, &PLAIN, T0);
    assert!(!other.dry_run && other.executable());
    p.set_guild_dry_run(5, None);
    assert!(!p.is_dry_run(5));
}

#[test]
fn cooldown_stops_stacking_but_still_deletes() {
    let p = policy(&default_config());
    let mut st = MemberStanding::default();
    let first = decide_at(&p, &pinned(&p, 0.8), &st, &PLAIN, T0);
    assert_eq!(first.action, Action::Timeout);
    first.apply_to(&mut st, 9, T0, &p);
    let burst = Case {
        message: 10,
        ..PLAIN
    };
    let d = decide_at(&p, &pinned(&p, 0.8), &st, &burst, T0 + 30_000);
    assert_eq!(
        (d.action, d.delete_message),
        (Action::Delete, true),
        "{d:?}"
    );
    assert!(d.note.as_deref().is_some_and(|n| n.contains("cooldown")));
    // A higher level than the last punishment still goes through.
    assert_eq!(
        decide_at(&p, &pinned(&p, 0.95), &st, &burst, T0 + 30_000).action,
        Action::Kick
    );
    // After the cooldown the next timeout climbs the ladder.
    let d = decide_at(&p, &pinned(&p, 0.8), &st, &burst, T0 + 3 * MIN);
    assert_eq!((d.action, d.timeout_secs), (Action::Timeout, Some(3600)));
}

#[test]
fn edits_escalate_but_never_double_punish() {
    let p = policy(&default_config());
    let mut st = MemberStanding::default();
    // A mild message: warned, kept.
    let warn = decide_at(&p, &pinned_at(&p, 0.65, 0.9), &st, &PLAIN, T0);
    assert_eq!((warn.action, warn.delete_message), (Action::Warn, false));
    warn.apply_to(&mut st, 9, T0, &p);
    // Same message re-scored at the same level after the cooldown: nothing more.
    let again = decide_at(&p, &pinned_at(&p, 0.65, 0.9), &st, &PLAIN, T0 + 10 * MIN);
    assert_eq!(again.action, Action::None);
    assert!(
        again
            .note
            .as_deref()
            .is_some_and(|n| n.contains("already handled")),
        "{again:?}"
    );
    // Edited into something worse: only the difference (a timeout plus the deletion).
    let worse = decide_at(&p, &pinned(&p, 0.8), &st, &PLAIN, T0 + 10 * MIN);
    assert_eq!(
        (worse.action, worse.delete_message),
        (Action::Timeout, true)
    );
    worse.apply_to(&mut st, 9, T0 + 10 * MIN, &p);
    let same = decide_at(&p, &pinned(&p, 0.8), &st, &PLAIN, T0 + 20 * MIN);
    assert_eq!(
        (same.action, same.delete_message),
        (Action::None, false),
        "{same:?}"
    );
}

#[test]
fn reasons_carry_the_scores() {
    let p = policy(&default_config());
    let st = standing(10, &[(T0 - HOUR, 1.0, false)]);
    let b = behaviour(&p, 0.97, &st, T0);
    let d = decide_at(&p, &b, &st, &PLAIN, T0);
    assert!(!d.summary.contains('\n'));
    assert!(
        d.summary.contains(&format!("{:.2}", b.score)),
        "{}",
        d.summary
    );
    assert!(
        d.moderator_reason.contains("strikes"),
        "{}",
        d.moderator_reason
    );
    assert!(
        d.moderator_reason.lines().count() > 2,
        "{}",
        d.moderator_reason
    );
}

#[test]
fn grounds_say_why_in_words_the_member_can_be_told() {
    let p = policy(&default_config());
    // A repeat offence leads: warned an hour ago, then a warn-level message.
    let warned = standing(0, &[(T0 - HOUR, 1.0, false)]);
    let b = behaviour(&p, 0.95, &warned, T0);
    let d = decide_at(&p, &b, &warned, &PLAIN, T0);
    assert_eq!(d.action, Action::Timeout, "{}", d.moderator_reason);
    assert_eq!(
        d.grounds,
        vec![
            Ground::EarlierSanctions {
                count: 1,
                window_secs: 7 * 24 * 3600
            },
            Ground::Content
        ]
    );
    // A first offence from a new account that just joined: the content, then who wrote it.
    let mut f = facts(0.99, T0);
    f.account_created_ms = T0 - HOUR;
    f.joined_ms = Some(T0 - 10 * MIN);
    let st = MemberStanding::default();
    let b = score(&p.behaviour, &f, &st);
    let d = decide_at(&p, &b, &st, &PLAIN, T0);
    assert_eq!(d.action, Action::Warn, "{}", d.moderator_reason);
    assert_eq!(
        d.grounds,
        vec![Ground::Content, Ground::NewAccount, Ground::NewMember]
    );
    // No sanction, no grounds (a deletion alone is not a sanction).
    let d = decide_at(&p, &pinned_at(&p, 0.3, 0.99), &st, &PLAIN, T0);
    assert_eq!((d.action, d.grounds.len()), (Action::Delete, 0));
}

#[test]
fn worked_example_in_docs_holds() {
    let p = policy(&default_config());
    let probs = [
        ("toxic", 0.997f32),
        ("severe_toxic", 0.093),
        ("obscene", 0.855),
        ("threat", 0.014),
        ("insult", 0.960),
        ("identity_hate", 0.053),
    ];
    let (severity, label) = p.behaviour.severity(probs);
    assert_eq!(label, "toxic");
    assert!((severity - 0.997).abs() < 1e-6);
    // 100 clean messages since a warning one day ago.
    let st = standing(100, &[(T0 - DAY, 1.0, false)]);
    let b = behaviour(&p, severity, &st, T0);
    assert!((b.score - 0.6893).abs() < 5e-4, "{}", b.breakdown());
    let d = decide_at(&p, &b, &st, &PLAIN, T0);
    // Timed out as a repeat offence, and deleted for what it says (0.997 >= delete_at 0.985).
    assert_eq!(
        (d.level, d.action, d.timeout_secs, d.delete_message),
        (Action::Warn, Action::Timeout, Some(600), true)
    );

    // The same message from a member with no infractions and three clean messages: 0.675, a
    // warning, and deleted all the same.
    let first = standing(3, &[]);
    let b = behaviour(&p, severity, &first, T0);
    assert!((b.score - 0.675).abs() < 5e-4, "{}", b.breakdown());
    let d = decide_at(&p, &b, &first, &PLAIN, T0);
    assert_eq!(
        (d.action, d.delete_message),
        (Action::Warn, true),
        "{}",
        d.moderator_reason
    );

    // A borderline message ("what a stupid idea": toxic 0.921, below delete_at) from that
    // member: a warning, and the message stays.
    let b = behaviour(&p, 0.921, &first, T0);
    assert!((b.score - 0.624).abs() < 5e-4, "{}", b.breakdown());
    let d = decide_at(&p, &b, &first, &PLAIN, T0);
    assert_eq!(
        (d.action, d.delete_message),
        (Action::Warn, false),
        "{}",
        d.moderator_reason
    );
    // From the member warned yesterday: still kept, and a timeout as a repeat offence.
    let b = behaviour(&p, 0.921, &st, T0);
    assert!((b.score - 0.639).abs() < 5e-4, "{}", b.breakdown());
    let d = decide_at(&p, &b, &st, &PLAIN, T0);
    assert_eq!(
        (d.action, d.timeout_secs, d.delete_message),
        (Action::Timeout, Some(600), false),
        "{}",
        d.moderator_reason
    );
}
