//! A member's standing in one guild: decayed toxicity, recent messages, strikes and the actions
//! already taken. Plain data (serde) so the daemon can persist it; all times are ms since the epoch.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Recent messages kept per member (trend, velocity and duplicate detection look no further back).
pub const RECENT_MESSAGES: usize = 32;
/// Per-message action records kept per member for idempotency on edits.
pub const MESSAGE_RECORDS: usize = 64;
/// Strikes whose weight has decayed below this are forgotten.
const STRIKE_FLOOR: f64 = 0.01;

/// One recent message.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RecentMessage {
    /// When it was sent.
    pub at_ms: i64,
    /// Weighted classifier severity (see `docs/scoring.md`).
    pub severity: f64,
    /// Normalised-text fingerprint, if the text had any letters or digits.
    pub fingerprint: Option<u64>,
}

/// One infraction: strike points at a time; they halve every `enforcement.strike_half_life`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Strike {
    /// When the action was taken.
    pub at_ms: i64,
    /// Points at that time.
    pub points: f64,
    /// Whether the action was a timeout (timeouts climb the ladder).
    pub timeout: bool,
}

/// What was done about one message (punishment rank, see `decision::Action::rank`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRecord {
    /// Discord message id.
    pub message_id: u64,
    /// Punishment rank already applied for it (0 none, 1 warn, 2 timeout, 3 kick, 4 ban).
    pub rank: u8,
    /// Whether it was deleted.
    pub deleted: bool,
    /// When the message was first handled (ms since the epoch; 0 in standings saved before this
    /// field existed). An edit is re-scored against the standing as it was then.
    #[serde(default)]
    pub at_ms: i64,
}

/// A member's standing in one guild.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemberStanding {
    /// Sum of past message severities above the toxic floor, decayed to `decayed_at_ms`.
    pub decayed_toxicity: f64,
    /// Time `decayed_toxicity` refers to.
    pub decayed_at_ms: i64,
    /// Last messages, oldest first.
    pub recent: VecDeque<RecentMessage>,
    /// Infractions still carrying weight.
    pub strikes: Vec<Strike>,
    /// Messages that were not toxic since the last infraction.
    pub clean_messages: u64,
    /// All messages seen.
    pub total_messages: u64,
    /// When the last automatic punishment was taken, and its rank.
    pub last_action: Option<(i64, u8)>,
    /// Actions per message id (newest last).
    pub message_records: VecDeque<MessageRecord>,
}

/// `2^(-elapsed / half_life)`; elapsed times before the reference count as zero.
pub fn decay(elapsed_ms: i64, half_life_ms: i64) -> f64 {
    if half_life_ms <= 0 {
        return 0.0;
    }
    let e = elapsed_ms.max(0) as f64 / half_life_ms as f64;
    (-e * std::f64::consts::LN_2).exp()
}

impl MemberStanding {
    /// Decayed toxicity of earlier messages as of `now_ms`.
    pub fn toxicity_at(&self, now_ms: i64, half_life_ms: i64) -> f64 {
        self.decayed_toxicity * decay(now_ms - self.decayed_at_ms, half_life_ms)
    }

    /// Active strike points as of `now_ms`. Never rises as time passes.
    pub fn strike_points(&self, now_ms: i64, half_life_ms: i64) -> f64 {
        self.strikes
            .iter()
            .map(|s| s.points * decay(now_ms - s.at_ms, half_life_ms))
            .sum::<f64>()
            + 0.0 // an empty float sum is -0.0; keep reports free of "-0.00"
    }

    /// Timeouts still active enough to climb the ladder: issued within two half-lives.
    pub fn active_timeouts(&self, now_ms: i64, half_life_ms: i64) -> usize {
        self.strikes
            .iter()
            .filter(|s| s.timeout && now_ms - s.at_ms < 2 * half_life_ms)
            .count()
    }

    /// What was already done about `message_id`.
    pub fn record_for(&self, message_id: u64) -> Option<MessageRecord> {
        self.message_records
            .iter()
            .rev()
            .find(|r| r.message_id == message_id)
            .copied()
    }

    /// Adds a message to the history. `toxic_excess` is the part of its severity that counts
    /// as toxic (zero for clean messages).
    pub fn push_message(&mut self, msg: RecentMessage, toxic_excess: f64, half_life_ms: i64) {
        self.decayed_toxicity = self.toxicity_at(msg.at_ms, half_life_ms) + toxic_excess;
        self.decayed_at_ms = self.decayed_at_ms.max(msg.at_ms);
        if toxic_excess > 0.0 {
            self.clean_messages = 0;
        } else {
            self.clean_messages = self.clean_messages.saturating_add(1);
        }
        self.total_messages = self.total_messages.saturating_add(1);
        self.recent.push_back(msg);
        while self.recent.len() > RECENT_MESSAGES {
            self.recent.pop_front();
        }
    }

    /// Records what was done about a message, adding a strike for a punishment.
    pub fn record_action(
        &mut self,
        record: MessageRecord,
        strike: Option<Strike>,
        now_ms: i64,
        strike_half_life_ms: i64,
    ) {
        match self
            .message_records
            .iter_mut()
            .find(|r| r.message_id == record.message_id)
        {
            Some(r) => {
                r.rank = r.rank.max(record.rank);
                r.deleted |= record.deleted;
            }
            None => self.message_records.push_back(record),
        }
        while self.message_records.len() > MESSAGE_RECORDS {
            self.message_records.pop_front();
        }
        if let Some(s) = strike {
            self.strikes.push(s);
            self.last_action = Some((now_ms, record.rank));
            self.clean_messages = 0;
        }
        self.strikes
            .retain(|s| s.points * decay(now_ms - s.at_ms, strike_half_life_ms) >= STRIKE_FLOOR);
    }

    /// Adds a strike for an action taken without a message of theirs in hand (a moderator's,
    /// or one taken in Discord's own interface): it counts toward the next offence, and the
    /// cooldown, like an automatic one.
    pub fn add_strike(&mut self, strike: Strike, rank: u8, now_ms: i64, strike_half_life_ms: i64) {
        self.strikes.push(strike);
        self.last_action = Some((strike.at_ms, rank));
        self.clean_messages = 0;
        self.strikes
            .retain(|s| s.points * decay(now_ms - s.at_ms, strike_half_life_ms) >= STRIKE_FLOOR);
    }

    /// Most recent time this member was seen (for eviction).
    pub fn last_seen_ms(&self) -> i64 {
        self.recent.back().map_or(self.decayed_at_ms, |m| m.at_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decay_halves_each_half_life() {
        assert!((decay(0, 1000) - 1.0).abs() < 1e-12);
        assert!((decay(1000, 1000) - 0.5).abs() < 1e-12);
        assert!((decay(3000, 1000) - 0.125).abs() < 1e-12);
        assert_eq!(decay(-5, 1000), 1.0);
    }

    #[test]
    fn records_merge_and_strikes_expire() {
        let mut s = MemberStanding::default();
        let hl = 1000;
        let rec = |rank| MessageRecord {
            at_ms: 0,
            message_id: 7,
            rank,
            deleted: false,
        };
        let strike = Strike {
            at_ms: 0,
            points: 1.0,
            timeout: false,
        };
        s.record_action(rec(1), Some(strike), 0, hl);
        s.record_action(rec(0), None, 0, hl);
        assert_eq!(s.record_for(7).map(|r| r.rank), Some(1));
        assert_eq!(s.strikes.len(), 1);
        // After 7 half-lives the warning is below the floor and expires.
        s.record_action(rec(0), None, 7_000, hl);
        assert!(s.strikes.is_empty());
    }
}
