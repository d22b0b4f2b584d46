//! The daemon's Postgres standing store against a real database (fresh per test): a restarted
//! pipeline picks a member's strikes up again, so escalation survives restarts.

use crate::common::*;
use std::sync::Arc;
use usmca_bot::behaviour::snowflake_at;
use usmca_bot::behaviour::StandingStore;
use usmca_bot::classifier::Scores;
use usmca_bot::decision::Action;
use usmca_bot::pipeline::{MessageEvent, Pipeline};
use usmca_bot::storage::PgStandingStore;

use crate::db::TestDb;
use usmca_bot::state::MemoryState;

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
        role_mentions: vec![],
        attachments: 0,
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
    let db = TestDb::new().await;
    let pg = Arc::new(PgStandingStore::new(db.storage.clone()));
    let store: Arc<dyn StandingStore> = pg.clone();
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
    pg.flush().await?;
    let st = db
        .storage
        .standing(1, member)
        .await?
        .ok_or("standing saved")?;
    assert_eq!(st.strikes.len(), 2);
    assert_eq!(st.total_messages, 2);

    // Without the store the same message would only be a warning.
    let forgetful = Pipeline::without_classifier(Arc::new(MemoryState::new()), policy(&cfg));
    let third = forgetful
        .score_message(insult(member, 3, T0 + HOUR), insult_scores())
        .await?;
    assert_eq!(third.decision.action, Action::Warn);

    Ok(())
}
