use crate::db::TestDb;

#[tokio::test]
async fn migrations_apply_to_empty_database_and_rerun_is_noop() {
    let db = TestDb::empty().await;
    let first = db.storage.migrate().await.expect("first run");
    assert_eq!(first.applied, first.known);
    assert!(first.known >= 1);

    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
    )
    .fetch_all(db.storage.pool())
    .await
    .unwrap();
    for t in [
        "appeals",
        "audit_heads",
        "audit_log",
        "brigade_incidents",
        "guilds",
        "members",
        "messages",
        "moderation_cases",
    ] {
        assert!(
            tables.iter().any(|x| x == t),
            "table {t} missing: {tables:?}"
        );
    }

    let second = db.storage.migrate().await.expect("second run");
    assert_eq!(second.applied, 0, "second run must be a no-op");
    let recorded: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(db.storage.pool())
        .await
        .unwrap();
    assert_eq!(recorded as usize, first.known);
}

#[tokio::test]
async fn open_migrates_only_when_configured() {
    let mut cfg = crate::base_config().database;
    let db = TestDb::empty().await;
    cfg.url = usmca_bot::config::SecretUrl::new(db.url.clone());
    cfg.migrate_on_start = false;
    let s = usmca_bot::storage::Storage::open(&cfg).await.unwrap();
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('moderation_cases') IS NOT NULL")
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert!(!exists);
    s.close().await;
    cfg.migrate_on_start = true;
    let s = usmca_bot::storage::Storage::open(&cfg).await.unwrap();
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('moderation_cases') IS NOT NULL")
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert!(exists);
    s.close().await;
}

#[tokio::test]
async fn connect_error_names_the_setting_without_the_password() {
    let mut cfg = crate::base_config().database;
    cfg.url = usmca_bot::config::SecretUrl::new("postgres://bot:hunter2@127.0.0.1:1/usmca");
    let err = usmca_bot::storage::Storage::connect(&cfg)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("DATABASE_URL"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

#[tokio::test]
async fn hot_query_indexes_exist() {
    let db = TestDb::new().await;
    let idx: Vec<String> =
        sqlx::query_scalar("SELECT indexname::text FROM pg_indexes WHERE schemaname = 'public'")
            .fetch_all(db.storage.pool())
            .await
            .unwrap();
    for i in [
        "messages_author_recent",
        "cases_member_recent",
        "cases_guild_open",
        "incidents_guild_time",
        "appeals_one_open_per_case",
    ] {
        assert!(idx.iter().any(|x| x == i), "index {i} missing");
    }
}

#[test]
fn binary_migrate_is_idempotent() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let db = rt.block_on(TestDb::empty());
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_usmca-bot"))
            .arg("migrate")
            .env("DATABASE_URL", &db.url)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("run binary")
    };
    let first = run();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let known = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
        })
        .count();
    let out = String::from_utf8_lossy(&first.stdout).to_string();
    assert!(out.contains(&format!("{known} applied")), "{out}");
    let second = run();
    assert!(second.status.success());
    assert!(String::from_utf8_lossy(&second.stdout).contains("0 applied"));
    drop(db);
}
