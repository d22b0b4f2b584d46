//! Helpers shared by the brain tests: configuration, standings and behaviour facts.

use usmca_bot::behaviour::{BehaviourScore, MemberStanding, MessageFacts, RecentMessage, Strike};
use usmca_bot::config::{load_from, Config, ConfigSource};
use usmca_bot::decision::Policy;

/// 2026-01-01T00:00:00Z in ms.
pub const T0: i64 = 1_767_225_600_000;
pub const MIN: i64 = 60_000;
pub const HOUR: i64 = 60 * MIN;
pub const DAY: i64 = 24 * HOUR;

/// The shipped defaults, without environment overrides.
pub fn default_config() -> Config {
    match load_from(&ConfigSource {
        defaults_file: None,
        file: None,
        use_env: false,
    }) {
        Ok(c) => c,
        Err(e) => panic!("default configuration must load: {e}"),
    }
}

pub fn policy(c: &Config) -> Policy {
    match Policy::from_config(c) {
        Ok(p) => p,
        Err(e) => panic!("policy: {e}"),
    }
}

/// Facts for a message by an old account that joined long ago.
pub fn facts(severity: f64, at_ms: i64) -> MessageFacts {
    MessageFacts {
        severity,
        top_label: "toxic".into(),
        at_ms,
        account_created_ms: at_ms - 400 * DAY,
        joined_ms: Some(at_ms - 300 * DAY),
        fingerprint: None,
        incident_participant: false,
    }
}

/// A member with `clean` clean messages spread over the last days and the given strikes.
pub fn standing(clean: u64, strikes: &[(i64, f64, bool)]) -> MemberStanding {
    let mut st = MemberStanding::default();
    for i in 0..clean.min(40) {
        st.push_message(
            RecentMessage {
                at_ms: T0 - (clean as i64 - i as i64) * HOUR,
                severity: 0.02,
                fingerprint: Some(i),
            },
            0.0,
            30 * MIN,
        );
    }
    st.clean_messages = clean;
    st.strikes = strikes
        .iter()
        .map(|&(at_ms, points, timeout)| Strike {
            at_ms,
            points,
            timeout,
        })
        .collect();
    st
}

pub fn assert_unit(b: &BehaviourScore) {
    assert!((0.0..=1.0).contains(&b.score), "score out of range: {b:?}");
}
