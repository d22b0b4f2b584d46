use crate::db::TestDb;
use chrono::Utc;
use std::time::Duration;
use usmca_bot::storage::{MessageRecord, MessageWriter, WriterOptions};

fn record(i: u64) -> MessageRecord {
    MessageRecord {
        message_id: 1_000_000 + i,
        guild_id: 1 + i % 3,
        channel_id: 10,
        author_id: 100 + i % 17,
        created_at: Utc::now(),
        edited_at: None,
        scores: [("toxic".to_string(), (i % 100) as f64 / 100.0)]
            .into_iter()
            .collect(),
        decision: "allow".into(),
        content: None,
    }
}

fn options(flush_ms: u64, batch: usize) -> WriterOptions {
    WriterOptions {
        flush_every: Duration::from_millis(flush_ms),
        batch_rows: batch,
        queue_capacity: batch * 4,
        max_retry_delay: Duration::from_millis(200),
        shutdown_attempts: 3,
        store_content_default: false,
    }
}

#[tokio::test]
async fn shutdown_mid_stream_loses_no_row() {
    let db = TestDb::new().await;
    let writer = MessageWriter::spawn(db.storage.clone(), options(50, 64));
    let total = 5_000u64;
    for i in 0..total {
        writer.submit(record(i)).await.unwrap();
    }
    // Shut down at once, while rows are still queued.
    let stats = writer.shutdown().await.expect("drains");
    assert_eq!(stats.accepted, total);
    assert_eq!(stats.written, total);
    assert_eq!(stats.pending, 0);
    // A backlog goes out in full batches, not row by row.
    assert!(
        stats.flushes <= total / 64 + 10,
        "{} flushes for {total} rows",
        stats.flushes
    );
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM messages")
        .fetch_one(db.storage.pool())
        .await
        .unwrap();
    assert_eq!(rows as u64, total);
    // Authors' activity was aggregated alongside.
    let counted: i64 = sqlx::query_scalar("SELECT sum(message_count)::bigint FROM members")
        .fetch_one(db.storage.pool())
        .await
        .unwrap();
    assert_eq!(counted as u64, total);
}

#[tokio::test]
async fn small_batches_are_flushed_by_time() {
    let db = TestDb::new().await;
    let writer = MessageWriter::spawn(db.storage.clone(), options(30, 10_000));
    for i in 0..3 {
        writer.submit(record(i)).await.unwrap();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while writer.stats().written < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "not flushed by the timer"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let s = writer.stats();
    assert_eq!((s.flushes, s.pending), (1, 0));
    // An edit replaces the row and does not count as a new message.
    let mut edit = record(1);
    edit.edited_at = Some(Utc::now());
    edit.decision = "delete".into();
    writer.submit(edit).await.unwrap();
    writer.shutdown().await.unwrap();
    let decision: String =
        sqlx::query_scalar("SELECT decision FROM messages WHERE message_id = 1000001")
            .fetch_one(db.storage.pool())
            .await
            .unwrap();
    assert_eq!(decision, "delete");
    let total: i64 = sqlx::query_scalar("SELECT sum(message_count)::bigint FROM members")
        .fetch_one(db.storage.pool())
        .await
        .unwrap();
    assert_eq!(total, 3);
}

#[tokio::test]
async fn failed_flushes_are_retried_until_the_database_accepts() {
    let db = TestDb::new().await;
    // Make inserts fail, queue rows, then repair: nothing may be lost meanwhile.
    sqlx::query("ALTER TABLE messages RENAME TO messages_away")
        .execute(db.storage.pool())
        .await
        .unwrap();
    let writer = MessageWriter::spawn(db.storage.clone(), options(10, 50));
    for i in 0..120 {
        writer.submit(record(i)).await.unwrap();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while writer.stats().failed_flushes < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "flush never attempted"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(writer.stats().written, 0);
    sqlx::query("ALTER TABLE messages_away RENAME TO messages")
        .execute(db.storage.pool())
        .await
        .unwrap();
    let stats = writer.shutdown().await.expect("retries succeed");
    assert_eq!(stats.written, 120);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM messages")
        .fetch_one(db.storage.pool())
        .await
        .unwrap();
    assert_eq!(rows, 120);
}
