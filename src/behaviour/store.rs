//! Where member standings persist between runs. The daemon implements it over Postgres
//! (`storage::PgStandingStore`); the pipeline only sees this trait.

use super::MemberStanding;
use async_trait::async_trait;

/// Why a standing could not be loaded or saved.
#[derive(Debug, thiserror::Error)]
#[error("member standing store: {0}")]
pub struct StandingStoreError(pub String);

/// Where member standings persist between runs (the daemon implements it over Postgres).
#[async_trait]
pub trait StandingStore: Send + Sync {
    /// The stored standing, if any.
    async fn load(
        &self,
        guild_id: u64,
        user_id: u64,
    ) -> Result<Option<MemberStanding>, StandingStoreError>;
    /// Stores a standing after it changed.
    async fn save(
        &self,
        guild_id: u64,
        user_id: u64,
        standing: &MemberStanding,
    ) -> Result<(), StandingStoreError>;
}
