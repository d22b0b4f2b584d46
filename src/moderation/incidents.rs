//! Incident queries over what the responder recorded.

use super::{Moderation, ServiceError};
use crate::storage::Incident;
use chrono::{DateTime, Utc};

impl Moderation {
    /// A guild's incidents that overlap `[from, to]`, newest first.
    pub async fn incidents_between(
        &self,
        guild_id: u64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Incident>, ServiceError> {
        Ok(self.storage.incidents_between(guild_id, from, to).await?)
    }

    /// A guild's incidents that are still open, newest first.
    pub async fn open_incidents(&self, guild_id: u64) -> Result<Vec<Incident>, ServiceError> {
        Ok(self.storage.open_incidents(guild_id).await?)
    }
}
