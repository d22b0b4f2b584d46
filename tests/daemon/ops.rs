//! What an operator relies on: readiness, metrics, hot reload, and several processes splitting
//! the shards while sharing state through Postgres and Redis.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::db::TestDb;
use crate::fake_discord::events::{self, Author};
use crate::fake_discord::GuildSpec;
use crate::harness::*;
use crate::redis_support::{RedisServer, TestRedis};

const THREAT: &str = "i will kill you, you stupid bitch";

fn offender(seq: u64) -> Author {
    Author::new(account_aged(Duration::from_secs(2 * 3600), seq), "offender")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_redis_and_moderation_goes_on_without_it() {
    let mut server = RedisServer::start();
    let opts = Options::default();
    let fake = Daemon::fake(&opts).await;
    let db = Arc::new(TestDb::new().await);
    db.storage
        .set_guild_settings(GUILD, &opts.settings, &crate::base_config(), None)
        .await
        .expect("settings");
    let redis = Arc::new(TestRedis {
        url: server.url(),
        prefix: "usmca-ready:".into(),
    });
    let d = Daemon::spawn(fake, db, redis, &opts);
    d.until_ready(1).await;
    let ready = || async {
        let (code, body) = d.http_get("/readyz").await;
        (code == 200).then_some(body)
    };
    let body = d.eventually("ready", ready).await;
    assert!(body.contains("\"redis\":\"ok\""), "{body}");
    assert_eq!(d.http_get("/healthz").await.0, 200);

    server.stop();
    let (_, body) = d
        .eventually("not ready without Redis", || async {
            let (code, body) = d.http_get("/readyz").await;
            (code == 503).then_some((code, body))
        })
        .await;
    let v: serde_json::Value = serde_json::from_str(&body).expect("JSON readiness");
    assert_eq!(v["failing"][0]["component"], "redis", "{body}");
    assert_eq!(v["components"]["postgres"], "ok");
    // Still moderating, with in-process windows.
    let who = offender(1);
    let msg = d.say(GENERAL, &who, THREAT);
    d.request(
        "DELETE",
        &format!("/channels/{GENERAL}/messages/{msg}"),
        |_| true,
    )
    .await;

    server.restart();
    d.eventually("ready again without a restart", ready).await;
    d.eventually("degraded gauge back to 0", || async {
        let (_, metrics) = d.http_get("/metrics").await;
        metrics.contains("usmca_redis_degraded 0").then_some(())
    })
    .await;
}

/// Every sample line of the Prometheus text format: `name{labels} value`.
fn samples(text: &str) -> Vec<(String, f64)> {
    let re = regex::Regex::new(
        r#"^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})?) (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$"#,
    )
    .expect("regex");
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let c = re
                .captures(l)
                .unwrap_or_else(|| panic!("not Prometheus text: {l:?}"));
            (c[1].to_string(), c[2].parse().unwrap_or(f64::NAN))
        })
        .collect()
}

fn value(text: &str, name: &str) -> f64 {
    samples(text)
        .into_iter()
        .find(|(n, _)| n == name)
        .map_or(0.0, |(_, v)| v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_parse_and_move_when_messages_flow() {
    let d = Daemon::start(Options::default()).await;
    let (code, before) = d.http_get("/metrics").await;
    assert_eq!(code, 200);
    assert!(!samples(&before).is_empty());
    let received = value(&before, "usmca_messages_received_total");

    let who = offender(2);
    d.say(GENERAL, &who, "hello there");
    d.say(GENERAL, &who, "how is everyone");
    d.say(GENERAL, &who, THREAT);
    d.request(
        "PATCH",
        &format!("/guilds/{GUILD}/members/{}", who.id),
        |_| true,
    )
    .await;
    let after = d
        .eventually("counters moved", || async {
            let (_, text) = d.http_get("/metrics").await;
            (value(&text, "usmca_messages_received_total") >= received + 3.0
                && value(&text, r#"usmca_messages_actioned_total{action="timeout"}"#) >= 1.0)
                .then_some(text)
        })
        .await;
    assert!(
        value(
            &after,
            r#"usmca_decisions_total{action="timeout",dry_run="false"}"#
        ) >= 1.0
    );
    assert!(
        value(
            &after,
            r#"usmca_decisions_total{action="none",dry_run="false"}"#
        ) >= 2.0
    );
    assert!(value(&after, "usmca_receipt_to_decision_seconds_count") >= 3.0);
    assert!(value(&after, "usmca_classification_seconds_count") >= 1.0);
    assert!(value(&after, "usmca_classifier_batch_size_count") >= 1.0);
    assert!(
        samples(&after)
            .iter()
            .any(|(n, v)| n.starts_with("usmca_discord_requests_total{")
                && n.contains("status=\"204\"")
                && *v >= 1.0),
        "{after}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_applies_a_good_configuration_and_keeps_the_old_one_on_a_bad_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("usmca.toml");
    let write = |warn: f64, timeout: f64| {
        std::fs::write(
            &file,
            format!("[thresholds]\nwarn = {warn}\ntimeout = {timeout}\nkick = 0.95\nban = 0.99\n"),
        )
        .expect("write config");
    };
    write(0.5, 0.9);
    let mut opts = Options::default();
    opts.env
        .push(("USMCA_CONFIG".into(), file.display().to_string()));
    let d = Daemon::start(opts).await;
    let action_of = |n: i64| {
        let d = &d;
        async move {
            d.eventually("case", || async {
                sqlx::query_scalar::<_, String>(
                    "SELECT action FROM moderation_cases WHERE case_no = $1",
                )
                .bind(n)
                .fetch_optional(d.storage().pool())
                .await
                .ok()
                .flatten()
            })
            .await
        }
    };
    d.say(GENERAL, &offender(10), THREAT);
    assert_eq!(action_of(1).await, "warn", "timeout threshold 0.9 at start");

    write(0.95, 0.9);
    d.signal("HUP");
    d.eventually("bad configuration rejected", || async {
        d.logs()
            .contains("new configuration rejected")
            .then_some(())
    })
    .await;
    d.say(GENERAL, &offender(11), THREAT);
    assert_eq!(action_of(2).await, "warn", "old thresholds kept");

    write(0.5, 0.7);
    d.signal("HUP");
    d.eventually("good configuration applied", || async {
        d.logs().contains("decision policy updated").then_some(())
    })
    .await;
    d.say(GENERAL, &offender(12), THREAT);
    assert_eq!(
        action_of(3).await,
        "timeout",
        "new thresholds applied without restart"
    );
}

/// A guild id whose shard out of 2 is `shard`.
fn guild_on_shard(shard: u64) -> u64 {
    (0..)
        .map(|i| GUILD + (i << 22))
        .find(|g| (g >> 22) % 2 == shard)
        .unwrap_or(GUILD)
}

/// Two guilds, one on each of 2 shards, with their settings stored: the fake, the database,
/// Redis and the options (shards still to set) two processes share.
struct TwoShards {
    g0: u64,
    g1: u64,
    opts: Options,
    fake: Arc<crate::fake_discord::FakeDiscord>,
    db: Arc<TestDb>,
    redis: Arc<TestRedis>,
}

async fn two_shards() -> TwoShards {
    let (g0, g1) = (guild_on_shard(0), guild_on_shard(1));
    let spec = |g: u64| {
        GuildSpec::new(g, &format!("Guild {g}"))
            .channel(g + 2, "mod-log")
            .role(g + 10, "moderators", MANAGE_MESSAGES, 1)
    };
    let opts = Options {
        guilds: vec![spec(g0), spec(g1)],
        recommended_shards: 2,
        ..Options::default()
    };
    let fake = Daemon::fake(&opts).await;
    let db = Arc::new(TestDb::new().await);
    for g in [g0, g1] {
        let mut s = opts.settings.clone();
        s.mod_log_channel = Some(g + 2);
        s.appeal_channel = None;
        db.storage
            .set_guild_settings(g, &s, &crate::base_config(), None)
            .await
            .expect("settings");
    }
    TwoShards {
        g0,
        g1,
        opts,
        fake,
        db,
        redis: Arc::new(TestRedis::new()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_split_the_shards_and_share_strikes_and_incidents() {
    let TwoShards {
        g0,
        g1,
        mut opts,
        fake,
        db,
        redis,
    } = two_shards().await;
    opts.shards = "0-0/2".into();
    let mut p0 = Daemon::spawn(fake.clone(), db.clone(), redis.clone(), &opts);
    opts.shards = "1-1/2".into();
    let mut p1 = Daemon::spawn(fake.clone(), db.clone(), redis.clone(), &opts);
    p0.until_ready(2).await;
    assert_eq!(fake.connected_shards(), vec![(0, 2), (1, 2)]);

    // Each process moderates its own guild.
    let member = offender(20);
    let say = |g: u64, who: &Author, text: &str| {
        let id = account_aged(Duration::ZERO, rand::random::<u64>() % 4096);
        assert_eq!(
            fake.dispatch(
                "MESSAGE_CREATE",
                events::message_create(g, g + 1, id, who, text)
            ),
            1
        );
        id
    };
    say(g0, &member, THREAT);
    p0.request(
        "PATCH",
        &format!("/guilds/{g0}/members/{}", member.id),
        |_| true,
    )
    .await;
    p0.eventually("shard 0's process acted", || async {
        p0.logs().contains("moderation action").then_some(())
    })
    .await;
    assert!(!p1.logs().contains("moderation action"));

    // /mod status in one process lists the other's shard (heartbeats in Redis).
    // Each attempt comes from another admin: retries must not run into the per-user command limit.
    let attempt = std::sync::atomic::AtomicU64::new(0);
    let status = p1
        .eventually("status lists the other process", || async {
            let n = attempt.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let admin = Author::new(600_000_000_000_000_901 + n, "admin");
            let before = fake.requests_to("POST", "/interactions/*/*/callback").len();
            fake.dispatch(
                "INTERACTION_CREATE",
                events::slash_command(
                    g1,
                    g1 + 1,
                    &admin,
                    ADMINISTRATOR,
                    "mod",
                    json!([{"name": "status", "type": 1, "options": []}]),
                ),
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
            let answers = fake.requests_to("POST", "/interactions/*/*/callback");
            let text = answers
                .get(before)
                .map(|r| body(r)["data"]["content"].to_string())?;
            text.contains("shard 0 in").then_some(text)
        })
        .await;
    assert!(status.contains("shard 1"), "{status}");

    // A raid starts while shard 0 lives in the first process: 8 joins, below the surge of 10.
    let raiders: Vec<Author> = (0..12)
        .map(|i| Author::new(account_aged(Duration::from_secs(86_400), 300 + i), "raider"))
        .collect();
    for r in &raiders[..8] {
        fake.dispatch("GUILD_MEMBER_ADD", events::guild_member_add(g0, r));
    }
    p0.eventually("joins recorded", || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM members WHERE guild_id = $1")
            .bind(g0 as i64)
            .fetch_one(p0.storage().pool())
            .await
            .ok()?;
        (n >= 8).then_some(())
    })
    .await;

    // Hand both shards to one process: the first stops (flushing what it holds) and the second
    // restarts with shards 0-1.
    p0.signal("TERM");
    assert_eq!(
        p0.wait_exit(Duration::from_secs(20)).await,
        Some(0),
        "{}",
        p0.logs()
    );
    p1.signal("TERM");
    assert_eq!(
        p1.wait_exit(Duration::from_secs(20)).await,
        Some(0),
        "{}",
        p1.logs()
    );
    let installs = fake
        .requests_to("PUT", "/applications/*/guilds/*/commands")
        .len();
    opts.shards = "0-1/2".into();
    let both = Daemon::spawn(fake.clone(), db.clone(), redis.clone(), &opts);
    both.until_ready(installs + 2).await;

    // The member's strike from the first process makes their next offence the ladder's second step.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    say(g0, &member, "you are a stupid idiot and i hate you");
    let second = both
        .request(
            "PATCH",
            &format!("/guilds/{g0}/members/{}", member.id),
            |r| {
                body(r)["communication_disabled_until"]
                    .as_str()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    .is_some_and(|t| {
                        (t.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_minutes() > 30
                    })
            },
        )
        .await;
    assert!(second.audit_reason().is_some());

    // The raid continues: 4 more joins complete the surge, and the incident lists all 12.
    for r in &raiders[8..] {
        fake.dispatch("GUILD_MEMBER_ADD", events::guild_member_add(g0, r));
    }
    let participants: Vec<i64> = both
        .eventually("incident with every raider", || async {
            let rows: Vec<Vec<i64>> = sqlx::query_scalar(
                "SELECT participants FROM brigade_incidents WHERE guild_id = $1",
            )
            .bind(g0 as i64)
            .fetch_all(both.storage().pool())
            .await
            .ok()?;
            rows.into_iter()
                .find(|p| raiders.iter().all(|r| p.contains(&(r.id as i64))))
        })
        .await;
    assert!(participants.len() >= 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settings_change_in_one_process_applies_in_the_other_within_a_second() {
    let TwoShards {
        g0,
        g1: _,
        mut opts,
        fake,
        db,
        redis,
    } = two_shards().await;
    opts.shards = "0-0/2".into();
    let p0 = Daemon::spawn(fake.clone(), db.clone(), redis.clone(), &opts);
    opts.shards = "1-1/2".into();
    let p1 = Daemon::spawn(fake.clone(), db.clone(), redis.clone(), &opts);
    p0.until_ready(2).await;

    // g0 lives in the first process. Its dry-run is switched on through the second one, as
    // another front end (the dashboard, a shard hand-over) would: the interaction reaches shard 1.
    let admin = Author::new(600_000_000_000_000_950, "admin");
    let set = json!([{"name": "config", "type": 2, "options": [
        {"name": "set", "type": 1, "options": [
            {"name": "key", "type": 3, "value": "dry_run"},
            {"name": "value", "type": 3, "value": "on"}]}]}]);
    assert_eq!(
        fake.dispatch_to_shard(
            1,
            "INTERACTION_CREATE",
            events::slash_command(g0, g0 + 1, &admin, ADMINISTRATOR, "mod", set),
        ),
        1
    );
    let answered = p1
        .request("POST", "/interactions/*/*/callback", |r| {
            body(r)["data"]["content"]
                .as_str()
                .is_some_and(|c| c.starts_with("Set `dry_run`"))
        })
        .await;
    // The first process applies it within a second of the answer.
    let applied = "applied guild settings changed by another process";
    let deadline = answered.at + Duration::from_secs(1);
    while !p0.logs().contains(applied) {
        assert!(
            std::time::Instant::now() < deadline,
            "not applied within 1 s of the change\nfirst process:\n{}",
            p0.logs()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        !p1.logs().contains(applied),
        "the changing process applied it itself"
    );

    // And it decides with it: a threat in g0 is recorded as a dry-run case, nothing is done.
    let member = offender(40);
    let id = account_aged(Duration::ZERO, 77);
    fake.dispatch(
        "MESSAGE_CREATE",
        events::message_create(g0, g0 + 1, id, &member, THREAT),
    );
    let dry: bool = p0
        .eventually("the threat's case", || async {
            sqlx::query_scalar(
                "SELECT dry_run FROM moderation_cases WHERE guild_id = $1 AND user_id = $2",
            )
            .bind(g0 as i64)
            .bind(member.id as i64)
            .fetch_optional(p0.storage().pool())
            .await
            .ok()
            .flatten()
        })
        .await;
    assert!(dry, "the case was not a dry run:\n{}", p0.logs());
    assert!(fake
        .requests_to("PATCH", &format!("/guilds/{g0}/members/{}", member.id))
        .is_empty());
}
