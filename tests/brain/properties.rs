//! Property tests: monotonicity of the score and the decision, strike decay, threshold order.

use crate::common::*;
use proptest::prelude::*;
use usmca_bot::behaviour::{score, MemberStanding, Strike};
use usmca_bot::config::{load_from, ConfigSource};
use usmca_bot::decision::{decide, thresholds_ordered, Decision, DecisionInput, Policy};

/// Arbitrary standing: strikes in the past month, recent messages, clean streak, last action.
fn arb_standing() -> impl Strategy<Value = MemberStanding> {
    (
        prop::collection::vec((0i64..30 * DAY, 0.5f64..5.0, any::<bool>()), 0..6),
        prop::collection::vec(
            (0i64..20 * MIN, 0.0f64..1.4, prop::option::of(0u64..3)),
            0..20,
        ),
        0u64..400,
        prop::option::of((0i64..10 * MIN, 0u8..5)),
        prop::option::of((0u8..5, any::<bool>())),
    )
        .prop_map(|(strikes, recent, clean, last, record)| {
            let mut st = standing(0, &[]);
            let mut recent = recent;
            recent.sort_by_key(|r| std::cmp::Reverse(r.0));
            for (ago, sev, fp) in recent {
                st.push_message(
                    usmca_bot::behaviour::RecentMessage {
                        at_ms: T0 - ago,
                        severity: sev,
                        fingerprint: fp,
                    },
                    usmca_bot::behaviour::toxic_excess(sev),
                    30 * MIN,
                );
            }
            st.clean_messages = clean;
            st.strikes = strikes
                .into_iter()
                .map(|(ago, points, timeout)| Strike {
                    at_ms: T0 - ago,
                    points,
                    timeout,
                })
                .collect();
            st.last_action = last.map(|(ago, rank)| (T0 - ago, rank));
            if let Some((rank, deleted)) = record {
                st.message_records
                    .push_back(usmca_bot::behaviour::MessageRecord {
                        at_ms: 0,
                        message_id: 42,
                        rank,
                        deleted,
                    });
            }
            st
        })
}

fn run(policy: &Policy, st: &MemberStanding, severity: f64, new_account: bool) -> Decision {
    let mut f = facts(severity, T0);
    f.fingerprint = Some(1);
    if new_account {
        f.account_created_ms = T0 - HOUR;
        f.joined_ms = Some(T0 - 10 * MIN);
    }
    let b = score(&policy.behaviour, &f, st);
    assert_unit(&b);
    decide(
        policy,
        &DecisionInput {
            guild_id: 1,
            channel_id: 2,
            message_id: 42,
            author_id: 3,
            author_roles: &[],
            author_is_moderator: false,
            behaviour: &b,
            standing: st,
            now_ms: T0,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn higher_toxicity_never_milder(st in arb_standing(), a in 0.0f64..1.4, d in 0.0f64..0.7, new in any::<bool>()) {
        let policy = policy(&default_config());
        let (lo, hi) = (a, a + d);
        let f_lo = facts(lo, T0);
        let f_hi = facts(hi, T0);
        let s_lo = score(&policy.behaviour, &f_lo, &st).score;
        let s_hi = score(&policy.behaviour, &f_hi, &st).score;
        prop_assert!(s_hi >= s_lo, "score fell from {s_lo} to {s_hi}");
        let d_lo = run(&policy, &st, lo, new);
        let d_hi = run(&policy, &st, hi, new);
        prop_assert!(d_hi.severity() >= d_lo.severity(), "{:?} at {hi} milder than {:?} at {lo}", d_hi.severity(), d_lo.severity());
    }

    #[test]
    fn deletion_follows_the_message_not_the_member(
        st in arb_standing(),
        sev in 0.0f64..1.4,
        new in any::<bool>(),
    ) {
        let policy = policy(&default_config());
        // Not an edit of a message already handled (idempotency has its own examples).
        let mut st = st;
        st.message_records.clear();
        let d = run(&policy, &st, sev, new);
        prop_assert_eq!(
            d.delete_message,
            sev >= policy.delete_at,
            "severity {} with standing {:?}: {}", sev, st, d.moderator_reason
        );
    }

    #[test]
    fn more_strikes_never_milder(
        st in arb_standing(),
        extra in prop::collection::vec((0i64..30 * DAY, 0.5f64..5.0, any::<bool>()), 1..4),
        sev in 0.0f64..1.4,
    ) {
        let policy = policy(&default_config());
        let mut more = st.clone();
        more.strikes.extend(extra.into_iter().map(|(ago, points, timeout)| Strike { at_ms: T0 - ago, points, timeout }));
        let f = facts(sev, T0);
        let s_few = score(&policy.behaviour, &f, &st).score;
        let s_more = score(&policy.behaviour, &f, &more).score;
        prop_assert!(s_more >= s_few, "score fell from {s_few} to {s_more}");
        let d_few = run(&policy, &st, sev, false);
        let d_more = run(&policy, &more, sev, false);
        prop_assert!(d_more.severity() >= d_few.severity(), "{:?} with more strikes milder than {:?}", d_more.severity(), d_few.severity());
    }

    #[test]
    fn strike_decay_is_monotone_in_time(st in arb_standing(), t in 0i64..60 * DAY, dt in 0i64..60 * DAY) {
        let hl = 7 * DAY;
        let earlier = st.strike_points(T0 - 30 * DAY + t, hl);
        let later = st.strike_points(T0 - 30 * DAY + t + dt, hl);
        prop_assert!(later <= earlier + 1e-12, "strikes grew from {earlier} to {later}");
        prop_assert!(later >= 0.0);
    }

    #[test]
    fn valid_configs_keep_threshold_order(
        t in prop::array::uniform4(prop_oneof![0.0f64..1.2, Just(0.5), Just(1.0)]),
        score_a in 0.0f64..1.0,
        score_b in 0.0f64..1.0,
    ) {
        let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let file = dir.path().join("t.toml");
        let text = format!("[thresholds]\nwarn = {:?}\ntimeout = {:?}\nkick = {:?}\nban = {:?}\n", t[0], t[1], t[2], t[3]);
        std::fs::write(&file, text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let loaded = load_from(&ConfigSource { defaults_file: None, file: Some(file), use_env: false });
        let strictly = t[0] > 0.0 && t.windows(2).all(|w| w[0] < w[1]) && t[3] <= 1.0;
        prop_assert_eq!(loaded.is_ok(), strictly, "thresholds {:?}", t);
        if let Ok(c) = loaded {
            prop_assert!(thresholds_ordered(&c.thresholds));
            let policy = Policy::from_config(&c).map_err(|e| TestCaseError::fail(e.to_string()))?;
            // The threshold level is monotone in the score under every valid configuration.
            let st = MemberStanding::default();
            let mut b = score(&policy.behaviour, &facts(0.0, T0), &st);
            let (lo, hi) = if score_a <= score_b { (score_a, score_b) } else { (score_b, score_a) };
            b.score = lo;
            let level = |b: &usmca_bot::behaviour::BehaviourScore| decide(&policy, &DecisionInput {
                guild_id: 1, channel_id: 2, message_id: 3, author_id: 4, author_roles: &[],
                author_is_moderator: false, behaviour: b, standing: &st, now_ms: T0,
            }).level.rank();
            let l_lo = level(&b);
            b.score = hi;
            prop_assert!(level(&b) >= l_lo);
        }
    }
}
