use crate::redis_support::RedisServer;
use std::sync::Arc;
use std::time::{Duration, Instant};
use usmca_bot::behaviour::snowflake_at;
use usmca_bot::classifier::Scores;
use usmca_bot::config::{RedisConfig, SecretUrl};
use usmca_bot::decision::{Action, Policy};
use usmca_bot::pipeline::{MessageEvent, Pipeline};
use usmca_bot::state::{RedisTimeouts, ResilientOptions, ResilientState, WindowStore};

fn options() -> ResilientOptions {
    ResilientOptions {
        probe_interval: Duration::from_millis(100),
        timeouts: RedisTimeouts {
            connect: Duration::from_millis(300),
            response: Duration::from_millis(300),
        },
    }
}

async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn zcard(url: &str, key: &str) -> i64 {
    let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
    redis::cmd("ZCARD").arg(key).query(&mut c).unwrap()
}

#[tokio::test]
async fn keeps_moderating_through_a_redis_outage_and_recovers_without_restart() {
    let mut server = RedisServer::start();
    let cfg = RedisConfig {
        url: SecretUrl::new(server.url()),
        key_prefix: "resilient:".into(),
    };
    let state = Arc::new(ResilientState::connect_with(&cfg, options()).await);
    let store: Arc<dyn WindowStore> = state.clone();
    assert!(!state.is_degraded());
    let snap = store.touch("w", "m1", 1_000, 60_000, false).await.unwrap();
    assert_eq!(snap.count, 1);
    assert_eq!(zcard(&server.url(), "resilient:w:w"), 1, "served by Redis");

    server.stop();
    // Moderation goes on in-process: every call succeeds.
    for i in 0..5 {
        let s = store
            .touch("w", &format!("x{i}"), 2_000 + i, 60_000, false)
            .await
            .expect("falls back instead of failing");
        assert!(s.count >= 1);
        assert!(store.take_token("b", 10, 60, 2_000 + i).await.unwrap());
    }
    assert!(state.is_degraded());
    assert!(state.fallbacks() >= 10);
    let in_process = store.peek("w", 2_010, 60_000).await.unwrap();
    assert!(in_process.members.iter().any(|m| m == "x4"));

    server.restart();
    wait_until("Redis used again", || !state.is_degraded()).await;
    assert_eq!(state.recoveries(), 1);
    let fallbacks = state.fallbacks();
    // The restarted server is empty (no persistence): a write lands there again.
    store
        .touch("w", "after", 3_000, 60_000, false)
        .await
        .unwrap();
    assert_eq!(zcard(&server.url(), "resilient:w:w"), 1);
    assert_eq!(
        state.fallbacks(),
        fallbacks,
        "no more fallbacks once recovered"
    );
}

#[tokio::test]
async fn starts_degraded_when_redis_is_down_and_connects_later() {
    let mut server = RedisServer::start();
    let url = server.url();
    server.stop();
    let cfg = RedisConfig {
        url: SecretUrl::new(url.clone()),
        key_prefix: "late:".into(),
    };
    let state = ResilientState::connect_with(&cfg, options()).await;
    assert!(state.is_degraded());
    assert!(state.take_token("b", 1, 1, 0).await.unwrap());
    assert!(
        !state.take_token("b", 1, 1, 0).await.unwrap(),
        "in-process bucket still limits"
    );
    server.restart();
    wait_until("first connection", || !state.is_degraded()).await;
    state.touch("w", "m", 1, 1_000, false).await.unwrap();
    assert_eq!(zcard(&url, "late:w:w"), 1);
}

/// A slur-level message by a member created an hour ago who joined a minute ago.
fn raid_message(n: u64, at_ms: i64) -> MessageEvent {
    MessageEvent {
        guild_id: 7,
        channel_id: 70,
        message_id: n,
        author_id: snowflake_at(at_ms - 3_600_000, n),
        author_roles: vec![],
        author_is_moderator: false,
        author_joined_at: chrono::DateTime::from_timestamp_millis(at_ms - 60_000),
        author_default_avatar: false,
        content: format!("toxic message {n}"),
        created_at: chrono::DateTime::from_timestamp_millis(at_ms).unwrap_or_default(),
        edited: false,
        reply_to_author: None,
        mentions: vec![],
        role_mentions: vec![],
        attachments: 0,
    }
}

fn toxic_scores() -> Scores {
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
    Scores::new(labels, vec![0.99, 0.40, 0.90, 0.02, 0.95, 0.85])
}

fn key_count(url: &str, prefix: &str) -> usize {
    let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query(&mut c)
        .unwrap();
    keys.len()
}

/// The whole decision path (behaviour scorer, brigade detector, decision engine) over the
/// resilient store: decisions keep coming while Redis is down, and the pipeline's window
/// updates land in Redis again once it is back — same pipeline, no restart.
#[tokio::test]
async fn the_pipeline_keeps_deciding_through_an_outage_and_returns_to_redis() {
    let mut server = RedisServer::start();
    let url = server.url();
    let cfg = RedisConfig {
        url: SecretUrl::new(url.clone()),
        key_prefix: "pipeline:".into(),
    };
    let state = Arc::new(ResilientState::connect_with(&cfg, options()).await);
    let policy = Policy::from_config(&crate::base_config()).expect("policy");
    let pipeline = Pipeline::without_classifier(state.clone(), policy);
    let t0 = 1_767_225_600_000i64;

    let before = pipeline
        .score_message(raid_message(1, t0), toxic_scores())
        .await
        .expect("decides with Redis up");
    assert_ne!(before.decision.action, Action::None, "{before:?}");
    assert!(key_count(&url, "pipeline:") > 0, "windows kept in Redis");
    assert!(!state.is_degraded());

    server.stop();
    for n in 2..6u64 {
        let o = pipeline
            .score_message(raid_message(n, t0 + n as i64 * 1_000), toxic_scores())
            .await
            .expect("keeps deciding while Redis is down");
        assert_ne!(o.decision.action, Action::None, "{o:?}");
    }
    assert!(state.is_degraded(), "the outage is reported");
    assert!(state.fallbacks() > 0);

    server.restart();
    wait_until("Redis used again", || !state.is_degraded()).await;
    // The restarted server is empty: keys appear only if the pipeline writes there again.
    assert_eq!(key_count(&url, "pipeline:"), 0);
    let fallbacks = state.fallbacks();
    let after = pipeline
        .score_message(raid_message(9, t0 + 10_000), toxic_scores())
        .await
        .expect("decides after recovery");
    assert_ne!(after.decision.action, Action::None, "{after:?}");
    assert!(key_count(&url, "pipeline:") > 0, "windows back in Redis");
    assert_eq!(state.fallbacks(), fallbacks, "no fallback once recovered");
}
