//! The decision engine: the message's severity → delete or keep; behaviour score + standing →
//! none / warn / timeout / kick / ban, with escalation, exemptions, dry-run, cooldown and
//! per-message idempotency. Pure logic.

mod engine;
mod policy;
mod preview;
mod whatif;

pub use engine::{decide, decide_quiet, with_rule_floor, Action, Decision, DecisionInput};
pub use policy::{
    thresholds_ordered, ExemptionSet, Policy, PolicyError, REPEAT_OFFENCE_POINTS, STRIKE_BAN,
    STRIKE_KICK, STRIKE_TIMEOUT, STRIKE_WARN,
};
pub use preview::{preview, Preview, Sanction};
pub use whatif::{replay, Difference, ReplayMessage, WhatIf};
