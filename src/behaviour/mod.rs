//! Behaviour scoring: the classifier's label probabilities, the member's recent history and
//! standing → one score in [0, 1] with the factors that produced it. Pure logic, no I/O; the
//! [`StandingStore`] trait is where a caller plugs in persistence.

mod book;
mod fingerprint;
mod score;
mod standing;
mod store;

pub use book::{MemberBook, MemberKey};
pub use fingerprint::{fingerprint, normalise};
pub use score::{
    score, score_quiet, toxic_excess, BehaviourParams, BehaviourScore, Factor, MessageFacts,
    BASE_GAIN, CLEAN_BENEFIT, CONTEXT_GATE, TOXIC_FLOOR, W_DUPLICATES, W_HISTORY, W_INCIDENT,
    W_NEW_ACCOUNT, W_NEW_MEMBER, W_STRIKES, W_TREND, W_VELOCITY,
};
pub use standing::{
    decay, MemberStanding, MessageRecord, RecentMessage, Strike, MESSAGE_RECORDS, RECENT_MESSAGES,
};
pub use store::{StandingStore, StandingStoreError};

/// Discord's epoch (2015-01-01) in ms since the Unix epoch.
pub const DISCORD_EPOCH_MS: i64 = 1_420_070_400_000;

/// When a Discord account (or any snowflake) was created, in ms since the Unix epoch.
pub fn snowflake_ms(id: u64) -> i64 {
    // id >> 22 is at most 2^42, well inside i64.
    (id >> 22) as i64 + DISCORD_EPOCH_MS
}

/// The snowflake for an account created at `ms` (the low 22 bits carry `seq`); for tests and tools.
pub fn snowflake_at(ms: i64, seq: u64) -> u64 {
    (((ms - DISCORD_EPOCH_MS).max(0) as u64) << 22) | (seq & 0x3f_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snowflake_timestamps() {
        // The example from Discord's API reference.
        assert_eq!(snowflake_ms(175_928_847_299_117_063), 1_462_015_105_796);
        let id = snowflake_at(1_700_000_000_000, 12);
        assert_eq!(snowflake_ms(id), 1_700_000_000_000);
    }
}
