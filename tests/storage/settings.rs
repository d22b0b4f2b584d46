use crate::base_config;
use crate::db::TestDb;
use crate::redis_support::TestRedis;
use std::time::Duration;
use usmca_bot::config::DurationSpec;
use usmca_bot::state::RedisState;
use usmca_bot::storage::{
    settings_read_through, ExemptionOverrides, GuildSettings, StorageError, ThresholdOverrides,
};

#[test]
fn effective_config_overlays_only_what_is_set() {
    let base = base_config();
    let s = GuildSettings {
        thresholds: Some(ThresholdOverrides {
            warn: Some(0.5),
            ..Default::default()
        }),
        exemptions: Some(ExemptionOverrides {
            roles: Some(vec![11]),
            ..Default::default()
        }),
        dry_run: Some(true),
        store_content: Some(true),
        content_retention: Some(DurationSpec::parse("2d")),
        moderator_roles: Some(vec![22]),
        ..Default::default()
    };
    assert!(s.validate(&base).is_empty(), "{:?}", s.validate(&base));
    let e = s.effective(&base);
    assert_eq!(e.thresholds.warn, 0.5);
    assert_eq!(e.thresholds.timeout, base.thresholds.timeout);
    assert!(e.exemptions.roles.contains(&11));
    assert!(e.discord.moderator_roles.contains(&22));
    assert!(e.enforcement.dry_run);
    assert!(e.storage.store_content);
    assert_eq!(
        e.storage.content_retention.get(),
        Some(Duration::from_secs(2 * 86_400))
    );
    // Nothing set: the global configuration unchanged.
    let same = GuildSettings::default().effective(&base);
    assert_eq!(same.thresholds, base.thresholds);
    assert_eq!(same.enforcement.dry_run, base.enforcement.dry_run);
}

#[test]
fn validation_reports_every_problem() {
    let base = base_config();
    let bad = GuildSettings {
        thresholds: Some(ThresholdOverrides {
            warn: Some(1.5),
            kick: Some(0.1),
            ..Default::default()
        }),
        content_retention: Some(DurationSpec::parse("forever")),
        mod_log_channel: Some(0),
        ..Default::default()
    };
    let problems = bad.validate(&base);
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    for k in [
        "guild.thresholds.warn",
        "guild.thresholds.timeout",
        "guild.storage.content_retention",
        "guild.mod_log_channel",
    ] {
        assert!(keys.contains(&k), "{k} not reported: {problems:?}");
    }
    // Unknown keys are refused when parsing JSON.
    let err = GuildSettings::from_json(serde_json::json!({ "treshold": 1 })).unwrap_err();
    assert!(err[0].message.contains("treshold"), "{err:?}");
}

#[tokio::test]
async fn settings_are_stored_versioned_and_cached() {
    let db = TestDb::new().await;
    let base = base_config();
    let s = &db.storage;
    assert_eq!(
        s.guild_settings(5).await.unwrap(),
        (GuildSettings::default(), 0)
    );
    let settings = GuildSettings {
        mod_log_channel: Some(1234),
        dry_run: Some(true),
        ..Default::default()
    };
    assert_eq!(
        s.set_guild_settings(5, &settings, &base, Some(9))
            .await
            .unwrap(),
        1
    );
    assert_eq!(s.guild_settings(5).await.unwrap(), (settings.clone(), 1));
    let invalid = GuildSettings {
        thresholds: Some(ThresholdOverrides {
            ban: Some(0.0),
            ..Default::default()
        }),
        ..Default::default()
    };
    match s.set_guild_settings(5, &invalid, &base, Some(9)).await {
        Err(StorageError::Invalid(p)) => assert!(p.iter().any(|p| p.key == "guild.thresholds.ban")),
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert_eq!(
        s.guild_settings(5).await.unwrap().1,
        1,
        "rejected change not stored"
    );

    // Cache: set, read back, an older version never overwrites a newer one, invalidate.
    let r = TestRedis::new();
    let redis = RedisState::connect(&r.config()).await.unwrap();
    assert!(redis.cached_guild_settings(5).await.unwrap().is_none());
    redis
        .cache_guild_settings(5, &settings, 2, Duration::from_secs(60))
        .await
        .unwrap();
    redis
        .cache_guild_settings(5, &GuildSettings::default(), 1, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        redis.cached_guild_settings(5).await.unwrap(),
        Some((settings, 2))
    );
    let mut conn = r.conn();
    let ttl: i64 = redis::cmd("PTTL")
        .arg(format!("{}guild:5:settings", r.prefix))
        .query(&mut conn)
        .unwrap();
    assert!(ttl > 0 && ttl <= 60_000, "cache entry has a TTL: {ttl}");
    redis.invalidate_guild_settings(5).await.unwrap();
    assert!(redis.cached_guild_settings(5).await.unwrap().is_none());

    // Read-through: a miss fills the cache from Postgres at the stored version.
    let ttl = Duration::from_secs(60);
    let got = settings_read_through(s, Some(&redis), 5, ttl)
        .await
        .unwrap();
    assert_eq!(got.mod_log_channel, Some(1234));
    assert_eq!(
        redis.cached_guild_settings(5).await.unwrap().map(|c| c.1),
        Some(1)
    );
    // A hit is served from Redis (prove it by changing Postgres behind the cache's back).
    sqlx::query("UPDATE guilds SET settings = '{}'::jsonb WHERE guild_id = 5")
        .execute(s.pool())
        .await
        .unwrap();
    let cached = settings_read_through(s, Some(&redis), 5, ttl)
        .await
        .unwrap();
    assert_eq!(cached.mod_log_channel, Some(1234));
    let direct = settings_read_through(s, None, 5, ttl).await.unwrap();
    assert_eq!(direct, GuildSettings::default());
}
