//! Members: when they joined, when their account was made, activity and decayed toxicity.

use super::{db_id, ensure_guild, from_db_id, Storage, StorageError};
use chrono::{DateTime, Utc};

/// Milliseconds between the Unix epoch and Discord's epoch (2015-01-01).
const DISCORD_EPOCH_MS: i64 = 1_420_070_400_000;

/// When the account behind a snowflake id was created: `(id >> 22) + 1420070400000` ms.
pub fn account_created_at(user_id: u64) -> DateTime<Utc> {
    let ms = (user_id >> 22) as i64 + DISCORD_EPOCH_MS;
    DateTime::from_timestamp_millis(ms).unwrap_or(DateTime::UNIX_EPOCH)
}

/// A sighting of a member (join, message, command).
#[derive(Debug, Clone, PartialEq)]
pub struct MemberSeen {
    /// Guild id.
    pub guild_id: u64,
    /// User id.
    pub user_id: u64,
    /// When they joined, if known (kept once set).
    pub joined_at: Option<DateTime<Utc>>,
    /// When they were seen.
    pub seen_at: DateTime<Utc>,
}

/// A stored member.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// Guild id.
    pub guild_id: u64,
    /// User id.
    pub user_id: u64,
    /// When they joined.
    pub joined_at: Option<DateTime<Utc>>,
    /// When the account was created (from the snowflake).
    pub account_created_at: DateTime<Utc>,
    /// First sighting.
    pub first_seen: DateTime<Utc>,
    /// Latest sighting.
    pub last_seen: DateTime<Utc>,
    /// Messages recorded.
    pub message_count: i64,
    /// Decayed toxicity as of `toxicity_at`.
    pub decayed_toxicity: f64,
    /// When `decayed_toxicity` was computed.
    pub toxicity_at: Option<DateTime<Utc>>,
}

type MemberRow = (
    i64,
    i64,
    Option<DateTime<Utc>>,
    DateTime<Utc>,
    DateTime<Utc>,
    DateTime<Utc>,
    i64,
    f64,
    Option<DateTime<Utc>>,
);

pub(crate) const MEMBER_COLUMNS: &str = "guild_id, user_id, joined_at, account_created_at, first_seen, last_seen, message_count, decayed_toxicity, toxicity_at";

pub(crate) fn member_from_row(r: MemberRow) -> Member {
    Member {
        guild_id: from_db_id(r.0),
        user_id: from_db_id(r.1),
        joined_at: r.2,
        account_created_at: r.3,
        first_seen: r.4,
        last_seen: r.5,
        message_count: r.6,
        decayed_toxicity: r.7,
        toxicity_at: r.8,
    }
}

impl Storage {
    /// Records a sighting: creates the member or moves `last_seen` forward (one statement).
    pub async fn upsert_member(&self, seen: &MemberSeen) -> Result<(), StorageError> {
        let mut conn = self.pool.acquire().await?;
        ensure_guild(&mut conn, seen.guild_id).await?;
        sqlx::query(
            "INSERT INTO members (guild_id, user_id, joined_at, account_created_at, first_seen, last_seen)
             VALUES ($1, $2, $3, $4, $5, $5)
             ON CONFLICT (guild_id, user_id) DO UPDATE SET
               joined_at = COALESCE(EXCLUDED.joined_at, members.joined_at),
               last_seen = GREATEST(members.last_seen, EXCLUDED.last_seen)",
        )
        .bind(db_id(seen.guild_id))
        .bind(db_id(seen.user_id))
        .bind(seen.joined_at)
        .bind(account_created_at(seen.user_id))
        .bind(seen.seen_at)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Stores a member's decayed toxicity as of `at` (creating the member if needed).
    pub async fn set_member_toxicity(
        &self,
        guild_id: u64,
        user_id: u64,
        value: f64,
        at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let mut conn = self.pool.acquire().await?;
        ensure_guild(&mut conn, guild_id).await?;
        sqlx::query(
            "INSERT INTO members (guild_id, user_id, account_created_at, first_seen, last_seen, decayed_toxicity, toxicity_at)
             VALUES ($1, $2, $3, $5, $5, $4, $5)
             ON CONFLICT (guild_id, user_id) DO UPDATE SET
               decayed_toxicity = EXCLUDED.decayed_toxicity, toxicity_at = EXCLUDED.toxicity_at",
        )
        .bind(db_id(guild_id))
        .bind(db_id(user_id))
        .bind(account_created_at(user_id))
        .bind(value)
        .bind(at)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// One member, if known.
    pub async fn member(
        &self,
        guild_id: u64,
        user_id: u64,
    ) -> Result<Option<Member>, StorageError> {
        let row: Option<MemberRow> = sqlx::query_as(&format!(
            "SELECT {MEMBER_COLUMNS} FROM members WHERE guild_id = $1 AND user_id = $2"
        ))
        .bind(db_id(guild_id))
        .bind(db_id(user_id))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(member_from_row))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snowflake_creation_time() {
        // Discord's documented example: 175928847299117063 → 2016-04-30T11:18:25.796Z.
        let t = account_created_at(175_928_847_299_117_063);
        assert_eq!(t.timestamp_millis(), 1_462_015_105_796);
    }
}
