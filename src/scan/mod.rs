//! `scan`: classify (and later decide on) every message of a chat export, offline.

pub mod input;
pub mod report;

pub use input::{read_export, Export, InputError, Malformed, ScanMessage};
pub use report::{LabelScores, Row, Summary};
