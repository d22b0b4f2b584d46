//! The moderation domain's pure types, shared by every stage and front end: cases and their
//! actions and statuses, appeals, member notices (their wording per language and the servers'
//! templates), and per-guild settings with their validation and the keys a moderator may set.
//! No I/O here: `storage` persists these types, `enforcement` acts on them, the moderation
//! service changes them.

pub mod appeals;
pub mod calibration;
pub mod cases;
pub mod hierarchy;
pub mod notices;
pub mod rules;
pub mod setting_keys;
pub mod settings;

pub use appeals::{Appeal, AppealDecision, AppealStatus};
pub use cases::{Case, CaseAction, CaseStatus, NewCase};
pub use notices::{Ground, Locale, NoticeFacts, NoticeKind};
pub use rules::{RuleKind, RuleOverrides};
pub use settings::{
    BrigadeOverrides, ExemptionOverrides, GuildSettings, NoticeOverrides, ThresholdOverrides,
};
