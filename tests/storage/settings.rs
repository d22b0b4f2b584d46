use crate::base_config;
use crate::db::TestDb;
use crate::redis_support::TestRedis;
use std::time::Duration;
use usmca_bot::config::DurationSpec;
use usmca_bot::domain::{ExemptionOverrides, GuildSettings, NoticeOverrides, ThresholdOverrides};
use usmca_bot::state::RedisState;
use usmca_bot::storage::StorageError;

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
        notices: Some(NoticeOverrides {
            locale: Some("tlh".into()),
            warn: Some("warned: {score}".into()),
            kick: Some("kicked until {ends}".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let problems = bad.validate(&base);
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    for k in [
        "guild.thresholds.warn",
        "guild.thresholds.timeout",
        "guild.storage.content_retention",
        "guild.mod_log_channel",
        "guild.notices.locale",
        "guild.notices.warn",
        "guild.notices.kick",
    ] {
        assert!(keys.contains(&k), "{k} not reported: {problems:?}");
    }
    // A bad template is refused with the variables it may use.
    let warn = problems
        .iter()
        .find(|p| p.key == "guild.notices.warn")
        .map(|p| p.message.clone())
        .unwrap_or_default();
    assert!(
        warn.contains("{score}") && warn.contains("{why}") && warn.contains("{case}"),
        "{warn}"
    );
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
}

#[tokio::test]
async fn settings_changes_are_announced_to_every_subscriber() {
    use futures::StreamExt;
    let r = TestRedis::new();
    let publisher = RedisState::connect(&r.config()).await.unwrap();
    let a = RedisState::connect(&r.config()).await.unwrap();
    let b = RedisState::connect(&r.config()).await.unwrap();
    let mut sub_a = a.settings_changes().await.unwrap();
    let mut sub_b = b.settings_changes().await.unwrap();
    assert_eq!(publisher.publish_settings_change(5, 3).await.unwrap(), 2);
    let wait = Duration::from_secs(5);
    assert_eq!(
        tokio::time::timeout(wait, sub_a.next()).await.unwrap(),
        Some((5, 3))
    );
    assert_eq!(
        tokio::time::timeout(wait, sub_b.next()).await.unwrap(),
        Some((5, 3))
    );
    // Another deployment's prefix is another channel: its announcements never arrive here.
    let mut other_cfg = r.config();
    other_cfg.key_prefix = format!("{}other:", r.prefix);
    let other = RedisState::connect(&other_cfg).await.unwrap();
    assert_eq!(other.publish_settings_change(6, 1).await.unwrap(), 0);
    // Garbage on the channel is skipped, not fatal.
    let mut conn = r.conn();
    let _: i64 = redis::cmd("PUBLISH")
        .arg(format!("{}settings-changed", r.prefix))
        .arg("not-a-change")
        .query(&mut conn)
        .unwrap();
    publisher.publish_settings_change(7, 2).await.unwrap();
    assert_eq!(
        tokio::time::timeout(wait, sub_a.next()).await.unwrap(),
        Some((7, 2))
    );
}
