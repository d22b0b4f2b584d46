//! The `StandingStore` seam against a real Postgres (fresh database per test): a restarted
//! pipeline picks a member's strikes up again, so escalation survives restarts.

use crate::common::*;
use async_trait::async_trait;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::Row;
use std::sync::Arc;
use usmca_bot::behaviour::{snowflake_at, MemberStanding};
use usmca_bot::classifier::Scores;
use usmca_bot::decision::Action;
use usmca_bot::pipeline::{MessageEvent, Pipeline, StandingStore, StandingStoreError};
use usmca_bot::state::MemoryState;

const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Standings as JSON rows, the way the daemon can keep them.
struct PgStandings(PgPool);

fn err(e: impl std::fmt::Display) -> StandingStoreError {
    StandingStoreError(e.to_string())
}

#[async_trait]
impl StandingStore for PgStandings {
    async fn load(
        &self,
        guild_id: u64,
        user_id: u64,
    ) -> Result<Option<MemberStanding>, StandingStoreError> {
        let row = sqlx::query(
            "SELECT standing FROM member_standing WHERE guild_id = $1 AND user_id = $2",
        )
        .bind(guild_id as i64)
        .bind(user_id as i64)
        .fetch_optional(&self.0)
        .await
        .map_err(err)?;
        row.map(|r| {
            let v: serde_json::Value = r.try_get("standing").map_err(err)?;
            serde_json::from_value(v).map_err(err)
        })
        .transpose()
    }

    async fn save(
        &self,
        guild_id: u64,
        user_id: u64,
        standing: &MemberStanding,
    ) -> Result<(), StandingStoreError> {
        let v = serde_json::to_value(standing).map_err(err)?;
        sqlx::query(
            "INSERT INTO member_standing (guild_id, user_id, standing) VALUES ($1, $2, $3)
             ON CONFLICT (guild_id, user_id) DO UPDATE SET standing = EXCLUDED.standing",
        )
        .bind(guild_id as i64)
        .bind(user_id as i64)
        .bind(v)
        .execute(&self.0)
        .await
        .map_err(err)?;
        Ok(())
    }
}

/// A fresh, uniquely named database, dropped by `cleanup`.
async fn fresh_db() -> Result<(PgPool, PgPool, String), Box<dyn std::error::Error>> {
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(ADMIN_URL)
        .await?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos();
    let name = format!("brain_test_{}_{nanos}", std::process::id());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await?;
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(&format!("postgres://postgres@127.0.0.1:5432/{name}"))
        .await?;
    sqlx::query("CREATE TABLE member_standing (guild_id BIGINT, user_id BIGINT, standing JSONB NOT NULL, PRIMARY KEY (guild_id, user_id))")
        .execute(&pool)
        .await?;
    Ok((admin, pool, name))
}

fn insult(author: u64, id: u64, at_ms: i64) -> MessageEvent {
    MessageEvent {
        guild_id: 1,
        channel_id: 2,
        message_id: id,
        author_id: author,
        author_roles: vec![],
        author_is_moderator: false,
        author_joined_at: chrono::DateTime::from_timestamp_millis(at_ms - 100 * DAY),
        author_default_avatar: false,
        content: format!("insult number {id}"),
        created_at: chrono::DateTime::from_timestamp_millis(at_ms).unwrap_or_default(),
        edited: false,
        reply_to_author: None,
        mentions: vec![],
    }
}

fn insult_scores() -> Scores {
    let labels: Arc<[String]> = [
        "toxic",
        "severe_toxic",
        "obscene",
        "threat",
        "insult",
        "identity_hate",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    Scores::new(labels, vec![0.997, 0.093, 0.855, 0.014, 0.960, 0.053])
}

#[tokio::test]
async fn strikes_survive_a_restart() -> Result<(), Box<dyn std::error::Error>> {
    let (admin, pool, name) = fresh_db().await?;
    let store: Arc<dyn StandingStore> = Arc::new(PgStandings(pool.clone()));
    let member = snowflake_at(T0 - 400 * DAY, 1);
    let cfg = default_config();

    let before = Pipeline::without_classifier(Arc::new(MemoryState::new()), policy(&cfg))
        .with_standing_store(store.clone());
    let first = before
        .score_message(insult(member, 1, T0), insult_scores())
        .await?;
    assert_eq!(
        first.decision.action,
        Action::Warn,
        "{}",
        first.decision.moderator_reason
    );
    drop(before);

    // A new process: empty memory, same database. The earlier warning makes this a repeat offence.
    let after = Pipeline::without_classifier(Arc::new(MemoryState::new()), policy(&cfg))
        .with_standing_store(store.clone());
    let second = after
        .score_message(insult(member, 2, T0 + HOUR), insult_scores())
        .await?;
    assert_eq!(
        second.decision.action,
        Action::Timeout,
        "{}",
        second.decision.moderator_reason
    );
    let st = store.load(1, member).await?.ok_or("standing saved")?;
    assert_eq!(st.strikes.len(), 2);
    assert_eq!(st.total_messages, 2);

    // Without the store the same message would only be a warning.
    let forgetful = Pipeline::without_classifier(Arc::new(MemoryState::new()), policy(&cfg));
    let third = forgetful
        .score_message(insult(member, 3, T0 + HOUR), insult_scores())
        .await?;
    assert_eq!(third.decision.action, Action::Warn);

    pool.close().await;
    sqlx::query(&format!("DROP DATABASE {name}"))
        .execute(&admin)
        .await?;
    Ok(())
}
