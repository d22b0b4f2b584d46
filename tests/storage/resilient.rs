use crate::redis_support::RedisServer;
use std::sync::Arc;
use std::time::{Duration, Instant};
use usmca_bot::config::{RedisConfig, SecretUrl};
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
