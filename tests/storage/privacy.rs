use crate::db::TestDb;
use crate::{base_config, warn_case};
use chrono::{Duration as ChronoDuration, Utc};
use std::process::Command;
use std::time::Duration;
use usmca_bot::config::DurationSpec;
use usmca_bot::domain::GuildSettings;
use usmca_bot::storage::{spawn_retention_task, MessageRecord, Storage};

fn msg(
    id: u64,
    guild: u64,
    author: u64,
    age: ChronoDuration,
    content: Option<&str>,
) -> MessageRecord {
    MessageRecord {
        message_id: id,
        guild_id: guild,
        channel_id: 1,
        author_id: author,
        created_at: Utc::now() - age,
        edited_at: None,
        scores: [("toxic".to_string(), 0.2)].into_iter().collect(),
        decision: "allow".into(),
        content: content.map(str::to_string),
    }
}

async fn count(s: &Storage, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(s.pool()).await.unwrap()
}

#[tokio::test]
async fn forget_deletes_messages_and_redacts_cases_and_appeals() {
    let db = TestDb::new().await;
    let s = &db.storage;
    let age = ChronoDuration::minutes(1);
    s.insert_messages(
        &[
            msg(1, 10, 7, age, Some("secret one")),
            msg(2, 10, 7, age, Some("secret two")),
            msg(3, 20, 7, age, Some("other guild")),
            msg(4, 10, 8, age, Some("someone else")),
        ],
        true,
    )
    .await
    .unwrap();
    let no = s
        .record_case(&warn_case(10, 7, "called someone names"))
        .await
        .unwrap();
    s.create_appeal(10, no, 7, "my personal story")
        .await
        .unwrap();
    s.record_case(&warn_case(20, 7, "elsewhere")).await.unwrap();

    let r = s.forget_user(7, Some(10), None).await.unwrap();
    assert_eq!(r.messages_deleted, 2);
    assert_eq!(r.cases_redacted, 1);
    assert_eq!(r.appeals_redacted, 1);
    // Guild 20 and other authors are untouched.
    assert_eq!(
        count(s, "SELECT count(*) FROM messages WHERE author_id = 7").await,
        1
    );
    assert_eq!(
        count(s, "SELECT count(*) FROM messages WHERE author_id = 8").await,
        1
    );
    let case = s.case(10, no).await.unwrap().expect("case kept");
    assert!(case.redacted);
    assert_eq!(case.reason, "[redacted]");
    assert_eq!(case.message_excerpt, None);
    assert_eq!(case.scores["toxic"], 0.91, "decision data is kept");
    let body: Option<String> = sqlx::query_scalar("SELECT body FROM appeals")
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert_eq!(body, None);
    assert!(!s.case(20, 1).await.unwrap().unwrap().redacted);
    s.verify_audit(None)
        .await
        .expect("every chain still verifies");

    // Through the binary, everywhere.
    let out = Command::new(env!("CARGO_BIN_EXE_usmca-bot"))
        .args(["privacy", "forget", "--user", "7"])
        .env("DATABASE_URL", &db.url)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 messages deleted"));
    assert_eq!(
        count(s, "SELECT count(*) FROM messages WHERE author_id = 7").await,
        0
    );
    assert!(s.case(20, 1).await.unwrap().unwrap().redacted);
    let forgets = count(
        s,
        "SELECT count(*) FROM audit_log WHERE kind = 'privacy.forget'",
    )
    .await;
    assert_eq!(forgets, 2, "each request is itself audited");
    s.verify_audit(None)
        .await
        .expect("every chain still verifies");
}

#[tokio::test]
async fn retention_purge_respects_guild_overrides() {
    let db = TestDb::new().await;
    let s = &db.storage;
    let base = base_config();
    // Guild 30 keeps text for one day only; others use the default (30 days here).
    let short = GuildSettings {
        store_content: Some(true),
        content_retention: Some(DurationSpec::parse("1d")),
        ..Default::default()
    };
    s.set_guild_settings(30, &short, &base, Some(1))
        .await
        .unwrap();
    s.insert_messages(
        &[
            msg(
                1,
                30,
                5,
                ChronoDuration::days(2),
                Some("old, short retention"),
            ),
            msg(2, 30, 5, ChronoDuration::hours(1), Some("fresh")),
            msg(
                3,
                40,
                5,
                ChronoDuration::days(2),
                Some("old, default retention"),
            ),
            msg(
                4,
                40,
                5,
                ChronoDuration::days(31),
                Some("older than default"),
            ),
        ],
        true,
    )
    .await
    .unwrap();
    let cleared = s
        .purge_expired_content(Duration::from_secs(30 * 86_400))
        .await
        .unwrap();
    assert_eq!(cleared, 2);
    let kept: Vec<i64> =
        sqlx::query_scalar("SELECT message_id FROM messages WHERE content IS NOT NULL ORDER BY 1")
            .fetch_all(s.pool())
            .await
            .unwrap();
    assert_eq!(kept, vec![2, 3]);
    assert_eq!(
        count(s, "SELECT count(*) FROM messages").await,
        4,
        "rows stay, text goes"
    );

    // The background task does the same on its interval and stops on shutdown.
    s.insert_messages(
        &[msg(5, 40, 5, ChronoDuration::days(40), Some("expired"))],
        true,
    )
    .await
    .unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let task = spawn_retention_task(
        s.clone(),
        Duration::from_secs(30 * 86_400),
        Duration::from_secs(1),
        stop.clone(),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while count(
        s,
        "SELECT count(*) FROM messages WHERE message_id = 5 AND content IS NOT NULL",
    )
    .await
        > 0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "retention task did not purge"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("task stops on shutdown")
        .unwrap();
}

#[tokio::test]
async fn text_is_stored_only_where_the_guild_allows_it() {
    let db = TestDb::new().await;
    let s = &db.storage;
    let base = base_config();
    let on = GuildSettings {
        store_content: Some(true),
        ..Default::default()
    };
    let off = GuildSettings {
        store_content: Some(false),
        ..Default::default()
    };
    s.set_guild_settings(1, &on, &base, None).await.unwrap();
    s.set_guild_settings(2, &off, &base, None).await.unwrap();
    let age = ChronoDuration::seconds(1);
    let batch = [
        msg(11, 1, 5, age, Some("guild 1 opted in")),
        msg(12, 2, 5, age, Some("guild 2 opted out")),
        msg(13, 3, 5, age, Some("guild 3 follows the default")),
    ];
    s.insert_messages(&batch, false).await.unwrap();
    let stored: Vec<i64> =
        sqlx::query_scalar("SELECT message_id FROM messages WHERE content IS NOT NULL ORDER BY 1")
            .fetch_all(s.pool())
            .await
            .unwrap();
    assert_eq!(stored, vec![11]);
    // With the global default on, only the guild that opted out keeps no text.
    s.insert_messages(&batch, true).await.unwrap();
    let stored: Vec<i64> =
        sqlx::query_scalar("SELECT message_id FROM messages WHERE content IS NOT NULL ORDER BY 1")
            .fetch_all(s.pool())
            .await
            .unwrap();
    assert_eq!(stored, vec![11, 13]);
}
