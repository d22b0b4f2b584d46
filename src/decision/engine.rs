//! The decision: what to do about one message. Pure. Two questions, answered apart:
//! whether the message stays visible (its own severity against `delete_at`), and how the
//! member is sanctioned (the behaviour score and the standing against the ladder).

use super::policy::{
    Policy, REPEAT_OFFENCE_POINTS, STRIKE_BAN, STRIKE_KICK, STRIKE_TIMEOUT, STRIKE_WARN,
};
use crate::behaviour::{BehaviourScore, MemberStanding, MessageRecord, Strike, TOXIC_FLOOR};
use crate::domain::Ground;
use serde::{Deserialize, Serialize};

/// What happens to the member (and message). `delete` means only the message is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Nothing.
    None,
    /// A warning.
    Warn,
    /// The message is deleted, the member not punished.
    Delete,
    /// A timeout (duration in the decision).
    Timeout,
    /// A kick.
    Kick,
    /// A ban.
    Ban,
}

impl Action {
    /// Punishment rank: 0 none/delete, 1 warn, 2 timeout, 3 kick, 4 ban.
    pub fn rank(self) -> u8 {
        match self {
            Action::None | Action::Delete => 0,
            Action::Warn => 1,
            Action::Timeout => 2,
            Action::Kick => 3,
            Action::Ban => 4,
        }
    }

    /// Strike points this action adds to a member's standing (automatic or not).
    pub fn strike_points(self) -> f64 {
        match self {
            Action::None | Action::Delete => 0.0,
            Action::Warn => STRIKE_WARN,
            Action::Timeout => STRIKE_TIMEOUT,
            Action::Kick => STRIKE_KICK,
            Action::Ban => STRIKE_BAN,
        }
    }

    fn from_rank(rank: u8) -> Self {
        match rank {
            0 => Action::None,
            1 => Action::Warn,
            2 => Action::Timeout,
            3 => Action::Kick,
            _ => Action::Ban,
        }
    }

    /// The word used in reasons and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::None => "none",
            Action::Warn => "warn",
            Action::Delete => "delete",
            Action::Timeout => "timeout",
            Action::Kick => "kick",
            Action::Ban => "ban",
        }
    }
}

/// The message and author a decision is about.
#[derive(Debug, Clone, Copy)]
pub struct DecisionInput<'a> {
    /// Guild.
    pub guild_id: u64,
    /// Channel.
    pub channel_id: u64,
    /// Message.
    pub message_id: u64,
    /// Author.
    pub author_id: u64,
    /// Author's roles.
    pub author_roles: &'a [u64],
    /// Author holds Manage Messages or Administrator.
    pub author_is_moderator: bool,
    /// The message's behaviour score.
    pub behaviour: &'a BehaviourScore,
    /// The author's standing before this message's action.
    pub standing: &'a MemberStanding,
    /// Now, ms since the epoch.
    pub now_ms: i64,
}

/// What to do about one message, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// The action to execute.
    pub action: Action,
    /// Delete the message (also true alongside a punishment).
    pub delete_message: bool,
    /// Timeout length in seconds when `action` is `timeout`.
    pub timeout_secs: Option<u64>,
    /// The level the score alone reached on the thresholds.
    pub level: Action,
    /// Recorded only, not executed.
    pub dry_run: bool,
    /// Why nothing was done although the score called for it (exempt, cooldown, already handled).
    pub note: Option<String>,
    /// One line for moderators (mod log, Discord's audit log): action, score, top label, main
    /// factors. Members never read it; their notice says the same in words.
    pub summary: String,
    /// Detailed breakdown for moderators.
    pub moderator_reason: String,
    /// Why the sanction, in terms a member can be told (empty without a sanction).
    #[serde(default)]
    pub grounds: Vec<Ground>,
}

impl Decision {
    /// Whether there is anything to execute on Discord.
    pub fn executable(&self) -> bool {
        !self.dry_run && (self.action != Action::None || self.delete_message)
    }

    /// Comparable severity: punishment rank, then timeout length, then deletion.
    pub fn severity(&self) -> (u8, u64, bool) {
        (
            self.action.rank(),
            self.timeout_secs.unwrap_or(0),
            self.delete_message,
        )
    }

    /// The sanction alone, in the words the logs use: `none` (also for a deletion alone),
    /// `warn`, `timeout 10m`, `kick`, `ban`.
    pub fn sanction(&self) -> String {
        match (self.action, self.timeout_secs) {
            (Action::Delete, _) => Action::None.as_str().to_string(),
            (Action::Timeout, Some(s)) => format!(
                "timeout {}",
                humantime::format_duration(std::time::Duration::from_secs(s))
            ),
            (a, _) => a.as_str().to_string(),
        }
    }

    /// Strike points this decision adds.
    pub fn strike_points(&self) -> f64 {
        self.action.strike_points()
    }

    /// Records the decision in the member's standing: the per-message record always (so an edit
    /// never repeats it), a strike and the cooldown only when it is acted on (not in dry-run).
    pub fn apply_to(&self, st: &mut MemberStanding, message_id: u64, now_ms: i64, policy: &Policy) {
        let record = MessageRecord {
            at_ms: now_ms,
            message_id,
            rank: self.action.rank(),
            deleted: self.delete_message,
        };
        let strike = (!self.dry_run && self.action.rank() > 0).then(|| Strike {
            at_ms: now_ms,
            points: self.strike_points(),
            timeout: self.action == Action::Timeout,
        });
        st.record_action(record, strike, now_ms, policy.strike_half_life_ms);
    }
}

fn level_for(policy: &Policy, channel: u64, score: f64) -> Action {
    let t = policy.thresholds_for(channel);
    if score >= t.ban {
        Action::Ban
    } else if score >= t.kick {
        Action::Kick
    } else if score >= t.timeout {
        Action::Timeout
    } else if score >= t.warn {
        Action::Warn
    } else {
        Action::None
    }
}

fn exemption(policy: &Policy, i: &DecisionInput<'_>) -> Option<&'static str> {
    let ex = &policy.exemptions;
    let member = ex.member_exemption(i.author_id, i.author_roles, i.author_is_moderator);
    match member {
        // A moderator or exempt user is named as such even in an exempt channel.
        Some("exempt role") | None if ex.channels.contains(&i.channel_id) => Some("exempt channel"),
        other => other,
    }
}

/// Decides what to do about one message: whether it stays visible from what it says (its
/// severity against `delete_at`), the sanction from how the member behaves (the behaviour
/// score against the thresholds, then repeat offence, cooldown and the ladder).
pub fn decide(policy: &Policy, i: &DecisionInput<'_>) -> Decision {
    decide_with(policy, i, true)
}

/// [`decide`] without the texts (summary and moderator reason left empty): the same action,
/// deletion, timeout, level and notes, for replays that read only those.
pub fn decide_quiet(policy: &Policy, i: &DecisionInput<'_>) -> Decision {
    decide_with(policy, i, false)
}

fn decide_with(policy: &Policy, i: &DecisionInput<'_>, explain: bool) -> Decision {
    let b = i.behaviour;
    let st = i.standing;
    let level = level_for(policy, i.channel_id, b.score);
    let mut rank = level.rank();
    // The content alone decides deletion: the member's standing never keeps an abusive message
    // up, nor takes a harmless one down.
    let abusive = b.severity >= policy.delete_at;
    let mut delete = abusive;
    let mut notes: Vec<String> = Vec::new();

    if let Some(why) = exemption(policy, i) {
        if rank > 0 || delete {
            notes.push(format!("exempt: {why}"));
        }
        rank = 0;
        delete = false;
    }
    // A warn-level message from a member with active strikes is a repeat offence. Not for a
    // re-scored edit: its own earlier warning must not escalate it.
    let previous = st.record_for(i.message_id);
    let strikes = st.strike_points(i.now_ms, policy.strike_half_life_ms);
    let repeat =
        rank == Action::Warn.rank() && strikes >= REPEAT_OFFENCE_POINTS && previous.is_none();
    if repeat {
        rank = Action::Timeout.rank();
        notes.push(format!("repeat offence: {strikes:.1} active strike points"));
    }
    // Cooldown: within it, only a level above the last punishment's counts.
    if let Some((at, last_rank)) = st.last_action {
        if rank > 0 && i.now_ms - at < policy.cooldown_ms && level.rank() <= last_rank {
            notes.push(format!(
                "cooldown: last punishment {}s ago",
                (i.now_ms - at).max(0) / 1000
            ));
            rank = 0;
        }
    }
    // Idempotency: an edited message only adds what was not already done for it.
    if let Some(prev) = previous {
        if rank > 0 && rank <= prev.rank {
            notes.push(format!(
                "already handled: {} for this message",
                Action::from_rank(prev.rank).as_str()
            ));
            rank = 0;
        }
        if prev.deleted {
            delete = false;
        }
    }

    let action = match Action::from_rank(rank) {
        Action::None if delete => Action::Delete,
        a => a,
    };
    let timeout_secs = (action == Action::Timeout).then(|| {
        policy
            .timeout_step(st.active_timeouts(i.now_ms, policy.strike_half_life_ms))
            .as_secs()
    });
    let dry_run = policy.is_dry_run(i.guild_id);
    if !explain {
        return Decision {
            action,
            delete_message: delete,
            timeout_secs,
            level,
            dry_run,
            note: (!notes.is_empty()).then(|| notes.join("; ")),
            summary: String::new(),
            moderator_reason: String::new(),
            grounds: Vec::new(),
        };
    }
    let what = match timeout_secs {
        Some(s) => format!(
            "timeout {}",
            humantime::format_duration(std::time::Duration::from_secs(s))
        ),
        None => action.as_str().to_string(),
    };
    let note = (!notes.is_empty()).then(|| notes.join("; "));
    let summary = format!(
        "{what}{}: {}",
        if delete { " + delete" } else { "" },
        b.summary()
    );
    let grounds = if action.rank() > 0 {
        grounds(policy, b, st, i.now_ms, repeat)
    } else {
        Vec::new()
    };
    let message = if delete {
        "deleted"
    } else if abusive {
        "not deleted (exempt, or deleted already)"
    } else {
        "kept"
    };
    let moderator_reason = format!(
        "{what}{}{}: sanction by behaviour score {:.3} (level {}; thresholds warn {:.2} / timeout {:.2} / kick {:.2} / ban {:.2}); message {message} by content: severity {:.4} ({}) {} delete_at {}{}\n{}",
        if delete { " + delete message" } else { "" },
        if dry_run { " [dry run]" } else { "" },
        b.score,
        level.as_str(),
        policy.thresholds.warn,
        policy.thresholds.timeout,
        policy.thresholds.kick,
        policy.thresholds.ban,
        b.severity,
        b.top_label,
        if abusive { ">=" } else { "<" },
        policy.delete_at,
        note.as_deref().map(|n| format!("; {n}")).unwrap_or_default(),
        b.breakdown()
    );
    Decision {
        action,
        delete_message: delete,
        timeout_secs,
        level,
        dry_run,
        note,
        summary,
        moderator_reason,
        grounds,
    }
}

/// Why a sanction, for the member: a repeat offence first, then what the message said, earlier
/// sanctions, and the context terms that added to the score — names and counts, no numbers.
fn grounds(
    policy: &Policy,
    b: &BehaviourScore,
    st: &MemberStanding,
    now_ms: i64,
    repeat: bool,
) -> Vec<Ground> {
    let window = policy.strike_half_life_ms;
    let earlier = st
        .strikes
        .iter()
        .filter(|s| s.at_ms <= now_ms && now_ms - s.at_ms < window)
        .count();
    let added = |name: &str| {
        b.factors
            .iter()
            .any(|f| f.name == name && f.contribution > 0.0)
    };
    let mut sanctions = if earlier > 0 {
        Some(Ground::EarlierSanctions {
            count: u32::try_from(earlier).unwrap_or(u32::MAX),
            window_secs: u64::try_from(window / 1000).unwrap_or(0),
        })
    } else if added("strikes") {
        Some(Ground::SanctionedBefore)
    } else {
        None
    };
    let mut out = Vec::new();
    if repeat {
        out.extend(sanctions.take());
    }
    if b.severity >= TOXIC_FLOOR {
        out.push(Ground::Content);
    }
    out.extend(sanctions);
    for (factor, ground) in [
        ("raid participant", Ground::Raid),
        ("history", Ground::RecentAbuse),
        ("new account", Ground::NewAccount),
        ("new member", Ground::NewMember),
        ("velocity", Ground::Flooding),
        ("duplicates", Ground::Repetition),
    ] {
        if added(factor) {
            out.push(ground);
        }
    }
    if out.is_empty() {
        out.push(Ground::Content);
    }
    out
}

/// Lays a rule's own action over a decision: the message is deleted, and the member draws at
/// least `min` (`Action::None`: deletion only; `Action::Timeout`: the ladder's next timeout).
/// Pure, like [`decide`]: exemptions, dry-run, the cooldown and per-message idempotency hold as
/// for every automatic action. `why` names the rule and what matched; it joins the reasons.
pub fn with_rule_floor(
    policy: &Policy,
    i: &DecisionInput<'_>,
    mut d: Decision,
    min: Action,
    why: &str,
) -> Decision {
    if let Some(ex) = exemption(policy, i) {
        let note = format!("exempt from {why}: {ex}");
        d.note = Some(match d.note.take() {
            Some(n) => format!("{n}; {note}"),
            None => note,
        });
        d.moderator_reason = format!("{}\n{why} (exempt: {ex})", d.moderator_reason);
        return d;
    }
    let st = i.standing;
    let previous = st.record_for(i.message_id);
    if !previous.is_some_and(|p| p.deleted) {
        d.delete_message = true;
    }
    if min.rank() > d.action.rank() {
        let cooled = st
            .last_action
            .is_some_and(|(at, r)| i.now_ms - at < policy.cooldown_ms && r >= min.rank());
        let handled = previous.is_some_and(|p| p.rank >= min.rank());
        if !cooled && !handled {
            d.action = min;
            d.timeout_secs = (min == Action::Timeout).then(|| {
                policy
                    .timeout_step(st.active_timeouts(i.now_ms, policy.strike_half_life_ms))
                    .as_secs()
            });
            let ground = if why.contains("rule mass-mentions")
                || why.contains("rule caps")
                || why.contains("rule emoji")
                || why.contains("rule zalgo")
                || why.contains("rule attachments")
            {
                Ground::Flooding
            } else {
                Ground::Content
            };
            if !d.grounds.contains(&ground) {
                d.grounds.insert(0, ground);
            }
        }
    }
    if d.action == Action::None && d.delete_message {
        d.action = Action::Delete;
    }
    let what = match (d.action, d.timeout_secs) {
        (Action::Timeout, Some(s)) => format!(
            "timeout {}",
            humantime::format_duration(std::time::Duration::from_secs(s))
        ),
        (a, _) => a.as_str().to_string(),
    };
    d.summary = format!(
        "{what}{}: {why}",
        if d.delete_message && d.action != Action::Delete {
            " + delete"
        } else {
            ""
        }
    );
    d.moderator_reason = format!(
        "{what}{}{} by rule: {why}\n{}",
        if d.delete_message && d.action != Action::Delete {
            " + delete message"
        } else {
            ""
        },
        if d.dry_run { " [dry run]" } else { "" },
        d.moderator_reason
    );
    d
}
