use crate::redis_support::TestRedis;
use std::sync::Arc;
use usmca_bot::state::{MemoryState, RedisState, WindowStore};

#[tokio::test]
async fn window_counts_are_exact_under_8_concurrent_writers() {
    let r = TestRedis::new();
    let redis = Arc::new(RedisState::connect(&r.config()).await.unwrap());
    let per_writer = 250u64;
    let mut tasks = Vec::new();
    for w in 0..8u64 {
        let redis = redis.clone();
        tasks.push(tokio::spawn(async move {
            let mut max_seen = 0;
            for i in 0..per_writer {
                let member = format!("{w}-{i}");
                // All inside one long window: nothing expires, every add must count once.
                let snap = redis
                    .touch("chan:1", &member, 1_000_000 + i as i64, 3_600_000, false)
                    .await
                    .unwrap();
                max_seen = max_seen.max(snap.count);
            }
            max_seen
        }));
    }
    let mut max_seen = 0;
    for t in tasks {
        max_seen = max_seen.max(t.await.unwrap());
    }
    let total = 8 * per_writer;
    assert_eq!(max_seen, total, "the last update sees every member");
    let snap = redis
        .peek("chan:1", 1_000_000 + per_writer as i64, 3_600_000)
        .await
        .unwrap();
    assert_eq!(snap.count, total);
    assert_eq!(snap.members.len() as u64, total);
    // One round trip per update: 8 * 250 touches + 1 peek.
    assert_eq!(redis.round_trips(), total + 1);
}

#[tokio::test]
async fn every_key_written_has_a_ttl() {
    let r = TestRedis::new();
    let redis = RedisState::connect(&r.config()).await.unwrap();
    for i in 0..20i64 {
        redis
            .touch(&format!("w{i}"), "m", 10_000 + i, 60_000, i % 2 == 0)
            .await
            .unwrap();
        redis
            .take_token(&format!("b{i}"), 5, 10, 10_000 + i)
            .await
            .unwrap();
    }
    redis
        .shard_heartbeat("0@test", "{}", std::time::Duration::from_secs(30))
        .await
        .unwrap();
    let keys = r.keys();
    assert_eq!(keys.len(), 41, "{keys:?}");
    let mut conn = r.conn();
    for k in keys {
        assert!(k.starts_with(&r.prefix));
        let ttl: i64 = redis::cmd("PTTL").arg(&k).query(&mut conn).unwrap();
        assert!(ttl > 0, "key {k} has no TTL ({ttl})");
    }
}

#[tokio::test]
async fn redis_scripts_match_in_process_semantics() {
    let r = TestRedis::new();
    let redis = RedisState::connect(&r.config()).await.unwrap();
    let mem = MemoryState::new();
    let window = 500;
    let steps: [(&str, i64); 8] = [
        ("a", 1_000),
        ("b", 1_200),
        ("a", 1_300),
        ("c", 1_700),
        ("d", 1_701),
        ("b", 1_800),
        ("e", 2_400),
        ("f", 3_000),
    ];
    for (member, at) in steps {
        let x = redis.touch("k", member, at, window, true).await.unwrap();
        let y = mem.touch("k", member, at, window, true).await.unwrap();
        assert_eq!(x, y, "touch {member}@{at}");
        let x = redis.peek("k", at + 100, window).await.unwrap();
        let y = mem.peek("k", at + 100, window).await.unwrap();
        assert_eq!(x, y, "peek after {member}@{at}");
    }
    // Token bucket: capacity 3, 60 a minute (one a second).
    for (at, _) in [
        (0, ()),
        (0, ()),
        (0, ()),
        (0, ()),
        (500, ()),
        (1_000, ()),
        (1_000, ()),
        (5_000, ()),
    ] {
        assert_eq!(
            redis.take_token("t", 3, 60, at).await.unwrap(),
            mem.take_token("t", 3, 60, at).await.unwrap(),
            "bucket at {at}"
        );
    }
}

#[tokio::test]
async fn add_new_reports_each_member_once_and_matches_memory() {
    let r = TestRedis::new();
    let redis = Arc::new(RedisState::connect(&r.config()).await.unwrap());
    let mem = MemoryState::new();
    let s = |v: &[&str]| v.iter().map(|m| m.to_string()).collect::<Vec<_>>();
    // (members offered, at, expected additions): duplicates within one call count once, members
    // already present are not new, and members past the window are new again.
    let steps: [(&[&str], i64, &[&str]); 5] = [
        (&["a", "b", "a"], 1_000, &["a", "b"]),
        (&["b", "c"], 1_100, &["c"]),
        (&[], 1_200, &[]),
        (&["a", "d"], 1_400, &["d"]),
        (&["a", "b", "c", "d"], 1_650, &["a", "b", "c"]),
    ];
    for (offered, at, want) in steps {
        let x = redis.add_new("p", &s(offered), at, 500).await.unwrap();
        let y = mem.add_new("p", &s(offered), at, 500).await.unwrap();
        assert_eq!(x, s(want), "redis at {at}");
        assert_eq!(y, s(want), "memory at {at}");
        let x = redis.peek("p", at, 500).await.unwrap();
        let y = mem.peek("p", at, 500).await.unwrap();
        assert_eq!(x, y, "peek at {at}");
    }

    // Concurrent callers offering overlapping sets: each member is added by exactly one of them.
    let mut tasks = Vec::new();
    for w in 0..8u32 {
        let redis = redis.clone();
        tasks.push(tokio::spawn(async move {
            let offered: Vec<String> = (0..100u32)
                .map(|i| format!("m{}", (i + w * 37) % 200))
                .collect();
            redis.add_new("q", &offered, 5_000, 60_000).await.unwrap()
        }));
    }
    let mut added = Vec::new();
    for t in tasks {
        added.extend(t.await.unwrap());
    }
    let total = added.len();
    added.sort();
    added.dedup();
    assert_eq!(added.len(), total, "a member was added twice");
    let snap = redis.peek("q", 5_000, 60_000).await.unwrap();
    assert_eq!(snap.count as usize, total);
}
