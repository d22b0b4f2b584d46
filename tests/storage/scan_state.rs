//! `scan` with Postgres and Redis configured: it reads members' stored standings (so a member
//! with active strikes is judged as a repeat offender) and keeps its windows apart from the
//! daemon's, writing nothing the daemon reads.

use crate::db::TestDb;
use crate::redis_support::TestRedis;
use std::process::Command;
use usmca_bot::behaviour::{MemberStanding, Strike};

const GUILD: u64 = 1_000_000_000_000_000_001;
/// An account from 2020.
const AUTHOR: u64 = 700_000_000_000_000_123;

fn scan(db: &TestDb, redis: &TestRedis, file: &std::path::Path, state: &str) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_usmca-bot"))
        .args(["scan", "--format", "jsonl", "--state", state])
        .arg(file)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("DATABASE_URL", &db.url)
        .env("REDIS_URL", &redis.url)
        .env("USMCA_REDIS__KEY_PREFIX", &redis.prefix)
        .output()
        .expect("run scan");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn action(jsonl: &str) -> String {
    let v: serde_json::Value =
        serde_json::from_str(jsonl.lines().next().unwrap_or("{}")).unwrap_or_default();
    v["action"].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_reads_stored_standings_and_keeps_its_windows_apart() {
    let db = TestDb::new().await;
    let redis = TestRedis::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("history.jsonl");
    let at = chrono::Utc::now();
    let line = serde_json::json!({
        "id": "1576000000000000001", "author_id": AUTHOR.to_string(), "channel_id": (GUILD + 1).to_string(),
        "guild_id": GUILD.to_string(), "timestamp": at.to_rfc3339(),
        "content": "shut up you worthless piece of shit",
    });
    std::fs::write(&file, format!("{line}\n")).expect("write export");

    let (memory, note) = scan(&db, &redis, &file, "memory");
    assert!(note.contains("state: in-process"), "{note}");
    assert_eq!(action(&memory), "warn", "{memory}");

    // The member was timed out an hour ago: the same message is now a repeat offence.
    let standing = MemberStanding {
        strikes: vec![Strike {
            at_ms: at.timestamp_millis() - 3_600_000,
            points: 2.0,
            timeout: true,
        }],
        ..MemberStanding::default()
    };
    let guild = GUILD;
    db.storage
        .save_standing(guild, AUTHOR, &standing)
        .await
        .expect("standing stored");
    let (live, note) = scan(&db, &redis, &file, "auto");
    assert!(
        note.contains("Redis windows") && note.contains("stored standings"),
        "{note}"
    );
    assert_eq!(action(&live), "timeout", "{live}");

    // Read only: the stored standing is unchanged, and every window key is scan-only.
    let after = db
        .storage
        .standing(guild, AUTHOR)
        .await
        .expect("read")
        .unwrap_or_default();
    assert_eq!(after, standing);
    let keys = redis.keys();
    assert!(!keys.is_empty(), "windows went to Redis");
    assert!(
        keys.iter()
            .all(|k| k.starts_with(&format!("{}scan:", redis.prefix))),
        "{keys:?}"
    );
}
