//! Persistence throughput: rows/s of the batched message writer (Postgres at DATABASE_URL) and
//! Redis round trips per message for the window/bucket updates (Redis at REDIS_URL).
//!
//! Run: `cargo bench --bench storage`. Round-trip counts are printed (stderr) before the Redis
//! timings; they come from the store's own counter, cross-checked with Redis' INFO commandstats.
//! Two counts: the real decision pipeline (`Pipeline::score_message` over `RedisState`, a busy
//! server's message mix), and a fixed set of four window/bucket updates.

mod common;
#[path = "../tests/support/db.rs"]
mod db;
#[path = "../tests/support/redis.rs"]
mod redis_support;

use chrono::Utc;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use usmca_bot::behaviour::snowflake_at;
use usmca_bot::classifier::Scores;
use usmca_bot::pipeline::{MessageEvent, Pipeline};
use usmca_bot::state::{RedisState, WindowStore};
use usmca_bot::storage::{MessageRecord, MessageWriter, WriterOptions};

const ROWS_PER_ITER: u64 = 5_000;
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn record(i: u64) -> MessageRecord {
    MessageRecord {
        message_id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        guild_id: 1 + i % 4,
        channel_id: 10 + i % 8,
        author_id: 1_000 + i % 500,
        created_at: Utc::now(),
        edited_at: None,
        scores: [
            ("toxic".to_string(), (i % 97) as f64 / 97.0),
            ("insult".to_string(), (i % 89) as f64 / 89.0),
            ("threat".to_string(), 0.01),
        ]
        .into_iter()
        .collect(),
        decision: "allow".into(),
        content: None,
    }
}

fn writer_throughput(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    // Created on first use, so listing the benchmarks touches no database.
    let db_cell = std::cell::OnceCell::new();
    let mut group = c.benchmark_group("message_writer");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(ROWS_PER_ITER));
    for batch in [100usize, 500] {
        group.bench_function(format!("submit_and_drain/batch_{batch}"), |b| {
            b.iter_custom(|iters| {
                let db = db_cell.get_or_init(|| rt.block_on(db::TestDb::new()));
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let writer = MessageWriter::spawn(
                            db.storage.clone(),
                            WriterOptions {
                                flush_every: Duration::from_millis(50),
                                batch_rows: batch,
                                queue_capacity: batch * 8,
                                max_retry_delay: Duration::from_secs(1),
                                shutdown_attempts: 5,
                                store_content_default: false,
                            },
                        );
                        let start = Instant::now();
                        for i in 0..ROWS_PER_ITER {
                            writer.submit(record(i)).await.expect("accepted");
                        }
                        let stats = writer.shutdown().await.expect("drained");
                        total += start.elapsed();
                        assert_eq!(stats.written, ROWS_PER_ITER);
                    }
                    total
                })
            })
        });
    }
    group.finish();
    drop(db_cell);
}

/// The state updates one message causes in the pipeline: the author's velocity window, the
/// channel's toxic-author window (with members), the duplicate-text window and the guild's
/// action bucket.
async fn per_message(store: &RedisState, i: i64) {
    let at = 1_700_000_000_000 + i;
    let user = format!("u{}", i % 300);
    store
        .touch(&format!("vel:{user}"), &format!("m{i}"), at, 60_000, false)
        .await
        .expect("touch");
    store
        .touch("coord:c1", &user, at, 120_000, true)
        .await
        .expect("touch");
    store
        .touch(&format!("dup:{}", i % 50), &user, at, 120_000, false)
        .await
        .expect("touch");
    store
        .take_token("actions:g1", 60, 60, at)
        .await
        .expect("bucket");
}

const T0: i64 = 1_767_225_600_000;

/// The same message mix as the decision bench: most messages clean and from long-standing
/// members, one in eight toxic, one in five a reply, every 50th a common text.
fn mixed_event(i: u64) -> (MessageEvent, Scores) {
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
    let values = if i.is_multiple_of(8) {
        vec![0.97, 0.2, 0.9, 0.02, 0.85, 0.05]
    } else {
        vec![0.03, 0.0, 0.01, 0.0, 0.01, 0.0]
    };
    let at = T0 + i as i64 * 10;
    let ev = MessageEvent {
        guild_id: 1 + i % 4,
        channel_id: 10 + i % 16,
        message_id: i,
        author_id: snowflake_at(T0 - 400 * 86_400_000, i % 1_000),
        author_roles: vec![],
        author_is_moderator: false,
        author_joined_at: chrono::DateTime::from_timestamp_millis(T0 - 100 * 86_400_000),
        author_default_avatar: false,
        content: if i.is_multiple_of(50) {
            format!("common reply {}", i % 3)
        } else {
            format!("message {i} about the game tonight")
        },
        created_at: chrono::DateTime::from_timestamp_millis(at).unwrap_or_default(),
        edited: false,
        reply_to_author: i
            .is_multiple_of(5)
            .then_some(snowflake_at(T0 - 500 * 86_400_000, 7)),
        mentions: vec![],
        role_mentions: vec![],
        attachments: 0,
    };
    (ev, Scores::new(labels, values))
}

/// Round trips the real decision pipeline makes per message, counted by the store.
fn count_pipeline_round_trips(rt: &tokio::runtime::Runtime, store: &Arc<RedisState>) {
    let pipeline = Pipeline::without_classifier(store.clone(), common::default_policy());
    let before = store.round_trips();
    let messages = 10_000u64;
    rt.block_on(async {
        for i in 0..messages {
            let (ev, scores) = mixed_event(i);
            pipeline.score_message(ev, scores).await.expect("decides");
        }
    });
    let trips = store.round_trips() - before;
    eprintln!(
        "redis round trips per message, decision pipeline: {:.2} ({trips} for {messages} messages)",
        trips as f64 / messages as f64
    );
}

fn commandstat(conn: &mut redis::Connection, cmd: &str) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(conn)
        .unwrap_or_default();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("cmdstat_{cmd}:calls=")))
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Counts round trips for 1,000 messages with the store's counter and the server's own
/// statistics (the server may be shared, so its figure is an upper bound), and prints them.
fn count_round_trips(
    rt: &tokio::runtime::Runtime,
    test_redis: &redis_support::TestRedis,
    store: &RedisState,
) {
    let mut conn = test_redis.conn();
    let evalsha_before = commandstat(&mut conn, "evalsha");
    let trips_before = store.round_trips();
    let messages = 1_000i64;
    rt.block_on(async {
        for i in 0..messages {
            per_message(store, -1 - i).await;
        }
    });
    let trips = store.round_trips() - trips_before;
    let evalsha = commandstat(&mut conn, "evalsha") - evalsha_before;
    eprintln!(
        "redis round trips per message, four window/bucket updates: {:.2} (client counter: {trips} for {messages} messages; \
         server EVALSHA calls: {evalsha}); per window/bucket update: 1",
        trips as f64 / messages as f64
    );
}

fn redis_round_trips(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    // Connected on first use, so listing the benchmarks touches no server.
    let cell = std::cell::OnceCell::new();
    let setup = || {
        cell.get_or_init(|| {
            let test_redis = redis_support::TestRedis::new();
            let store = Arc::new(
                rt.block_on(RedisState::connect(&test_redis.config()))
                    .expect("Redis reachable"),
            );
            count_pipeline_round_trips(&rt, &store);
            count_round_trips(&rt, &test_redis, &store);
            (test_redis, store)
        })
    };

    let mut group = c.benchmark_group("redis_state");
    group.sample_size(20);
    group.throughput(Throughput::Elements(1));
    let counter = AtomicU64::new(0);
    group.bench_function("per_message_updates", |b| {
        let (_, store) = setup();
        b.iter(|| {
            let i = counter.fetch_add(1, Ordering::Relaxed) as i64;
            rt.block_on(per_message(store, i))
        })
    });
    group.bench_function("pipeline_score_message", |b| {
        let (_, store) = setup();
        let pipeline = Pipeline::without_classifier(store.clone(), common::default_policy());
        b.iter(|| {
            let i = counter.fetch_add(1, Ordering::Relaxed);
            let (ev, scores) = mixed_event(i);
            rt.block_on(pipeline.score_message(ev, scores))
                .expect("decides")
        })
    });
    group.bench_function("single_touch", |b| {
        let (_, store) = setup();
        b.iter(|| {
            let i = counter.fetch_add(1, Ordering::Relaxed) as i64;
            rt.block_on(store.touch(
                "single",
                &format!("m{i}"),
                1_700_000_000_000 + i,
                60_000,
                false,
            ))
            .expect("touch")
        })
    });
    group.finish();
}

criterion_group!(benches, writer_throughput, redis_round_trips);
criterion_main!(benches);
