//! The behaviour-score formula (documented in `docs/scoring.md`). Pure: no I/O, no clock.

use super::standing::MemberStanding;
use crate::config::Config;
use serde::{Deserialize, Serialize};

/// How much of the severity a message scores on its own, before any context.
pub const BASE_GAIN: f64 = 0.62;
/// Severity at and above which a message counts as toxic (history, clean streak, brigades).
pub const TOXIC_FLOOR: f64 = 0.4;
/// Severity at which the context terms apply in full (they scale linearly below it).
pub const CONTEXT_GATE: f64 = 0.6;
/// Largest contribution of each context term.
pub const W_HISTORY: f64 = 0.12;
/// Escalation: this much times the rise of severity over the member's recent average.
pub const W_TREND: f64 = 0.06;
/// Active strikes.
pub const W_STRIKES: f64 = 0.12;
/// Young Discord account.
pub const W_NEW_ACCOUNT: f64 = 0.08;
/// Recently joined the guild.
pub const W_NEW_MEMBER: f64 = 0.05;
/// Taking part in an open raid/brigade incident.
pub const W_INCIDENT: f64 = 0.08;
/// Message velocity above `behaviour.velocity_per_minute` (not gated by toxicity).
pub const W_VELOCITY: f64 = 0.10;
/// Near-duplicate flooding (not gated by toxicity).
pub const W_DUPLICATES: f64 = 0.12;
/// Largest share of the base a long clean history takes off.
pub const CLEAN_BENEFIT: f64 = 0.15;
/// Messages the trend compares against.
const TREND_WINDOW: usize = 5;
/// Window for velocity and duplicates.
const FLOOD_WINDOW_MS: i64 = 120_000;

/// Scorer settings from `[behaviour]` and `enforcement.strike_half_life`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BehaviourParams {
    /// (label, weight); labels not listed weigh 1.0.
    pub label_weights: Vec<(String, f64)>,
    /// Half-life of decayed toxicity.
    pub history_half_life_ms: i64,
    /// Accounts younger than this are new.
    pub new_account_ms: i64,
    /// Members who joined less than this ago are new.
    pub new_member_ms: i64,
    /// Messages per minute where velocity starts to count.
    pub velocity_per_minute: f64,
    /// Clean messages for the full clean-history benefit.
    pub clean_history_messages: u64,
    /// Strike half-life.
    pub strike_half_life_ms: i64,
}

fn ms(d: &crate::config::DurationSpec) -> i64 {
    i64::try_from(d.value().as_millis()).unwrap_or(i64::MAX)
}

impl BehaviourParams {
    /// Reads the scorer settings from a validated configuration.
    pub fn from_config(c: &Config) -> Self {
        let b = &c.behaviour;
        Self {
            label_weights: b
                .label_weights
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
            history_half_life_ms: ms(&b.history_half_life),
            new_account_ms: ms(&b.new_account_age),
            new_member_ms: ms(&b.new_member_age),
            velocity_per_minute: b.velocity_per_minute,
            clean_history_messages: b.clean_history_messages.max(1),
            strike_half_life_ms: ms(&c.enforcement.strike_half_life),
        }
    }

    fn weight(&self, label: &str) -> f64 {
        self.label_weights
            .iter()
            .find(|(l, _)| l == label)
            .map_or(1.0, |(_, w)| *w)
    }

    /// Severity of one message: the largest weighted label probability, and that label.
    pub fn severity<'a>(&self, scores: impl IntoIterator<Item = (&'a str, f32)>) -> (f64, String) {
        let mut best = (0.0, String::new());
        for (label, p) in scores {
            let p = if p.is_finite() {
                f64::from(p).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let v = self.weight(label) * p;
            if v > best.0 || best.1.is_empty() {
                best = (v, label.to_string());
            }
        }
        best
    }
}

/// Labels that say a message is abusive without saying how; a member notice names a specific
/// label (insult, threat, ...) when one stands out.
const GENERIC_LABELS: &[&str] = &["toxic", "severe_toxic", "toxicity", "severe_toxicity"];

/// Probability from which a specific label stands out.
const SPECIFIC_LABEL_FLOOR: f32 = 0.5;

impl BehaviourParams {
    /// What a member is told their message was flagged as: the most severe specific label
    /// (weighted, probability at least 0.5), else the label behind the severity.
    pub fn notice_label<'a>(&self, scores: impl IntoIterator<Item = (&'a str, f32)>) -> String {
        let scores: Vec<(&str, f32)> = scores.into_iter().collect();
        let specific = self.severity(
            scores
                .iter()
                .filter(|(l, p)| !GENERIC_LABELS.contains(l) && *p >= SPECIFIC_LABEL_FLOOR)
                .copied(),
        );
        if specific.1.is_empty() {
            self.severity(scores).1
        } else {
            specific.1
        }
    }
}

/// The facts about one message the scorer needs besides the member's standing.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageFacts {
    /// Weighted severity (`BehaviourParams::severity`).
    pub severity: f64,
    /// The label that gave the severity.
    pub top_label: String,
    /// When the message was sent.
    pub at_ms: i64,
    /// Account creation time (from the user id snowflake).
    pub account_created_ms: i64,
    /// When the member joined the guild, if known.
    pub joined_ms: Option<i64>,
    /// Normalised-text fingerprint.
    pub fingerprint: Option<u64>,
    /// The author takes part in an open raid/brigade incident.
    pub incident_participant: bool,
}

/// One contribution to the score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Factor {
    /// Short name (`message`, `history`, `trend`, `strikes`, ...).
    pub name: String,
    /// Amount added to the score (negative for the clean-history benefit).
    pub contribution: f64,
    /// The measured input, e.g. "3 messages in the last minute".
    pub detail: String,
}

/// The behaviour score of one message and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BehaviourScore {
    /// Final score in [0, 1].
    pub score: f64,
    /// Weighted classifier severity of the message.
    pub severity: f64,
    /// Label behind the severity.
    pub top_label: String,
    /// Active strike points when scored.
    pub strike_points: f64,
    /// Non-zero contributions, largest first.
    pub factors: Vec<Factor>,
}

impl BehaviourScore {
    /// One line for the member: the score and the main reasons.
    pub fn summary(&self) -> String {
        let reasons: Vec<String> = self
            .factors
            .iter()
            .filter(|f| f.contribution > 0.0)
            .take(3)
            .map(|f| f.name.clone())
            .collect();
        format!(
            "behaviour score {:.2} ({} {:.2}; {})",
            self.score,
            self.top_label,
            self.severity,
            reasons.join(", ")
        )
    }

    /// Every factor with its value, for moderators.
    pub fn breakdown(&self) -> String {
        let mut s = format!(
            "score {:.3} = clamp(sum): severity {:.3} ({}), strikes {:.2}",
            self.score, self.severity, self.top_label, self.strike_points
        );
        for f in &self.factors {
            s.push_str(&format!(
                "\n  {:+.3} {}: {}",
                f.contribution, f.name, f.detail
            ));
        }
        s
    }
}

/// Scores one message from `facts` and the member's standing before it. Monotone: a higher
/// severity or more strike points never lower the result.
pub fn score(p: &BehaviourParams, facts: &MessageFacts, st: &MemberStanding) -> BehaviourScore {
    score_with(p, facts, st, true)
}

/// [`score`] without the factors' details (left empty): the same numbers, for replays that
/// read only the score (the dashboard's what-if decides hundreds of thousands of messages).
pub fn score_quiet(
    p: &BehaviourParams,
    facts: &MessageFacts,
    st: &MemberStanding,
) -> BehaviourScore {
    score_with(p, facts, st, false)
}

fn score_with(
    p: &BehaviourParams,
    facts: &MessageFacts,
    st: &MemberStanding,
    explain: bool,
) -> BehaviourScore {
    let now = facts.at_ms;
    let s = facts.severity.max(0.0);
    let mut factors = Vec::new();
    // The detail is formatted only for a factor that counts, and only when it will be read.
    let mut push = |name: &str, contribution: f64, detail: &dyn Fn() -> String| {
        if contribution != 0.0 {
            factors.push(Factor {
                name: name.to_string(),
                contribution,
                detail: if explain { detail() } else { String::new() },
            });
        }
    };

    let strikes = st.strike_points(now, p.strike_half_life_ms);
    let clean_share = (st.clean_messages as f64 / p.clean_history_messages as f64).min(1.0);
    // The benefit fades with every active strike point.
    let benefit = CLEAN_BENEFIT * clean_share * (-strikes).exp();
    let base = BASE_GAIN * s;
    push("message", base, &|| {
        format!("{} severity {s:.2}", facts.top_label)
    });
    push("clean history", -base * benefit, &|| {
        format!("{} clean messages", st.clean_messages)
    });

    // Context only weighs in as far as this message is toxic itself.
    let gate = (s / CONTEXT_GATE).min(1.0);
    let history = st.toxicity_at(now, p.history_half_life_ms);
    push(
        "history",
        gate * W_HISTORY * (1.0 - (-history).exp()),
        &|| format!("decayed toxicity {history:.2}"),
    );
    let prior: Vec<f64> = st
        .recent
        .iter()
        .rev()
        .take(TREND_WINDOW)
        .map(|m| m.severity)
        .collect();
    if prior.len() >= 2 {
        let mean = prior.iter().sum::<f64>() / prior.len() as f64;
        let rise = (s.min(1.0) - mean).max(0.0);
        push("trend", gate * W_TREND * rise, &|| {
            format!("severity {s:.2} vs recent average {mean:.2}")
        });
    }
    push(
        "strikes",
        gate * W_STRIKES * (1.0 - (-strikes / 3.0).exp()),
        &|| format!("{strikes:.2} active strike points"),
    );
    let account_age = now - facts.account_created_ms;
    if account_age < p.new_account_ms {
        push("new account", gate * W_NEW_ACCOUNT, &|| {
            format!("account {}h old", account_age.max(0) / 3_600_000)
        });
    }
    if let Some(joined) = facts.joined_ms {
        if now - joined < p.new_member_ms {
            push("new member", gate * W_NEW_MEMBER, &|| {
                format!("joined {} min ago", (now - joined).max(0) / 60_000)
            });
        }
    }
    if facts.incident_participant {
        push("raid participant", gate * W_INCIDENT, &|| {
            "part of an open raid/brigade incident".to_string()
        });
    }

    // Flooding counts even when the text is harmless.
    let last_minute = 1 + st.recent.iter().filter(|m| now - m.at_ms < 60_000).count();
    let over = (last_minute as f64 / p.velocity_per_minute - 1.0).clamp(0.0, 1.0);
    push("velocity", W_VELOCITY * over, &|| {
        format!("{last_minute} messages in the last minute")
    });
    if let Some(fp) = facts.fingerprint {
        let dups = st
            .recent
            .iter()
            .filter(|m| m.fingerprint == Some(fp) && now - m.at_ms < FLOOD_WINDOW_MS)
            .count();
        push(
            "duplicates",
            W_DUPLICATES * (dups as f64 / 4.0).min(1.0),
            &|| format!("{dups} earlier copies in 2 min"),
        );
    }

    let sum: f64 = factors.iter().map(|f| f.contribution).sum();
    factors.sort_by(|a, b| b.contribution.abs().total_cmp(&a.contribution.abs()));
    BehaviourScore {
        score: sum.clamp(0.0, 1.0),
        severity: s,
        top_label: facts.top_label.clone(),
        strike_points: strikes,
        factors,
    }
}

/// The part of a severity that counts toward decayed toxicity (0 for a clean message).
pub fn toxic_excess(severity: f64) -> f64 {
    ((severity - TOXIC_FLOOR) / (1.0 - TOXIC_FLOOR)).max(0.0)
}
