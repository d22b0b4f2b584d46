//! `Policy`: the decision engine's settings, read once from the configuration.

use crate::behaviour::BehaviourParams;
use crate::brigade::BrigadeParams;
use crate::config::{Config, Thresholds, MAX_TIMEOUT};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::sync::RwLock;
use std::time::Duration;

/// Strike points each action adds (before decay).
pub const STRIKE_WARN: f64 = 1.0;
/// Strike points for a timeout.
pub const STRIKE_TIMEOUT: f64 = 2.0;
/// Strike points for a kick.
pub const STRIKE_KICK: f64 = 3.0;
/// Strike points for a ban.
pub const STRIKE_BAN: f64 = 5.0;
/// Active strike points from which a warn-level message becomes a timeout (a warning within
/// one strike half-life).
pub const REPEAT_OFFENCE_POINTS: f64 = 0.5;

/// Who and where is never punished automatically.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExemptionSet {
    /// Role ids.
    pub roles: BTreeSet<u64>,
    /// Channel ids.
    pub channels: BTreeSet<u64>,
    /// User ids.
    pub users: BTreeSet<u64>,
}

impl ExemptionSet {
    /// Why a member is never punished automatically, if they are: moderators, exempt users,
    /// members holding an exempt role. (Channels are checked where a message is in hand.)
    pub fn member_exemption(
        &self,
        user_id: u64,
        roles: &[u64],
        is_moderator: bool,
    ) -> Option<&'static str> {
        if is_moderator {
            Some("moderator (Manage Messages or Administrator)")
        } else if self.users.contains(&user_id) {
            Some("exempt user")
        } else if roles.iter().any(|r| self.roles.contains(r)) {
            Some("exempt role")
        } else {
            None
        }
    }
}

/// Moderation settings: decision thresholds and escalation, plus the scorer's and the
/// brigade detector's parameters. Cheap to share behind an `Arc`; per-guild dry-run can change at run time.
#[derive(Debug)]
pub struct Policy {
    /// Score thresholds, strictly increasing.
    pub thresholds: Thresholds,
    /// Channels with thresholds of their own (a support channel can be stricter, a banter
    /// channel laxer).
    pub channel_thresholds: HashMap<u64, Thresholds>,
    /// Message severity (the weighted label maximum, before any history) at which the message
    /// is deleted, whoever wrote it.
    pub delete_at: f64,
    /// Timeout ladder, each step capped at 28 days.
    pub timeout_ladder: Vec<Duration>,
    /// Minimum gap between automatic punishments, in ms.
    pub cooldown_ms: i64,
    /// Strike half-life, in ms.
    pub strike_half_life_ms: i64,
    /// Exempt roles, channels and users.
    pub exemptions: ExemptionSet,
    /// Default dry-run for guilds without an override.
    pub dry_run: bool,
    /// Behaviour-scorer settings.
    pub behaviour: BehaviourParams,
    /// Raid/brigade detector settings.
    pub brigade: BrigadeParams,
    guild_dry_run: RwLock<HashMap<u64, bool>>,
}

/// Why a policy could not be built.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PolicyError {
    /// Thresholds out of (0, 1] or not strictly increasing.
    #[error(
        "thresholds must satisfy 0 < warn < timeout < kick < ban <= 1, got {0:?}; fix [thresholds]"
    )]
    Thresholds(Thresholds),
    /// The timeout ladder is empty.
    #[error("enforcement.timeout_ladder needs at least one duration, e.g. [\"10m\", \"1h\"]")]
    EmptyLadder,
}

/// Whether thresholds are in (0, 1] and strictly increasing.
pub fn thresholds_ordered(t: &Thresholds) -> bool {
    let o = t.ordered();
    o.iter().all(|(_, v)| *v > 0.0 && *v <= 1.0) && o.windows(2).all(|w| w[0].1 < w[1].1)
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Policy {
    /// Builds the policy from a loaded configuration. Configuration loading already validated it;
    /// the checks here guard callers that build a `Config` by hand.
    pub fn from_config(c: &Config) -> Result<Self, PolicyError> {
        if !thresholds_ordered(&c.thresholds) {
            return Err(PolicyError::Thresholds(c.thresholds));
        }
        let ladder: Vec<Duration> = c
            .enforcement
            .timeout_ladder
            .iter()
            .map(|d| d.value().min(MAX_TIMEOUT))
            .collect();
        if ladder.is_empty() {
            return Err(PolicyError::EmptyLadder);
        }
        let e = &c.exemptions;
        Ok(Self {
            thresholds: c.thresholds,
            channel_thresholds: HashMap::new(),
            delete_at: c.enforcement.delete_at,
            timeout_ladder: ladder,
            cooldown_ms: ms(c.enforcement.cooldown.value()),
            strike_half_life_ms: ms(c.enforcement.strike_half_life.value()).max(1),
            exemptions: ExemptionSet {
                roles: e.roles.iter().copied().collect(),
                channels: e.channels.iter().copied().collect(),
                users: e.users.iter().copied().collect(),
            },
            dry_run: c.enforcement.dry_run,
            behaviour: BehaviourParams::from_config(c),
            brigade: BrigadeParams::from_config(c),
            guild_dry_run: RwLock::new(HashMap::new()),
        })
    }

    /// Sets (Some) or clears (None) the dry-run override for one guild.
    pub fn set_guild_dry_run(&self, guild_id: u64, dry_run: Option<bool>) {
        let mut m = self
            .guild_dry_run
            .write()
            .unwrap_or_else(|e| e.into_inner());
        match dry_run {
            Some(v) => m.insert(guild_id, v),
            None => m.remove(&guild_id),
        };
    }

    /// Whether decisions in this guild are recorded only.
    pub fn is_dry_run(&self, guild_id: u64) -> bool {
        let m = self.guild_dry_run.read().unwrap_or_else(|e| e.into_inner());
        m.get(&guild_id).copied().unwrap_or(self.dry_run)
    }

    /// Timeout for the `n`-th (0-based) active timeout: the ladder's step, or its last one.
    /// The thresholds that judge a message in `channel`.
    pub fn thresholds_for(&self, channel: u64) -> &Thresholds {
        self.channel_thresholds
            .get(&channel)
            .unwrap_or(&self.thresholds)
    }

    /// The timeout for a member with `n` active timeouts.
    pub fn timeout_step(&self, n: usize) -> Duration {
        self.timeout_ladder
            .get(n)
            .or(self.timeout_ladder.last())
            .copied()
            .unwrap_or(Duration::from_secs(600))
            .min(MAX_TIMEOUT)
    }
}
