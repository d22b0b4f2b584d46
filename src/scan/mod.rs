//! `scan`: classify and decide on every message of a chat export, offline (dry-run).

pub mod driver;
pub mod event;
pub mod incidents;
pub mod input;
pub mod page;
pub mod report;

pub use driver::{
    scan_file, scan_files, ScanError, ScanObserver, ScanOptions, ScanReport, StateMode,
};
pub use event::to_event;
pub use incidents::{IncidentLog, IncidentReport};
pub use input::{collect_inputs, read_export, Export, InputError, Malformed, ScanMessage};
pub use report::{LabelScores, Row, Summary};
