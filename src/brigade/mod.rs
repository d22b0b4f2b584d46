//! Raid and brigade detection per guild: join surges, coordinated toxicity, targeted harassment
//! and cross-user duplicate floods. Counting state lives in a `WindowStore`; incident changes are
//! returned as data for the caller to persist and execute.

mod detector;
mod incident;
mod record;
mod signals;

pub use detector::BrigadeDetector;
pub use incident::{BrigadeParams, IncidentKind, IncidentUpdate, Response};
pub use record::IncidentRecord;
pub use signals::{BrigadeError, JoinSignal, MessageSignal};
