//! Chaos: the real binary while its Postgres, its Redis (servers of the test's own, on their
//! own ports) or the fake Discord fail, and after a SIGKILL. Nothing accepted is lost, nothing
//! is done twice, every action is explained by a case.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::db::TestDb;
use crate::fake_discord::events::Author;
use crate::fake_discord::{FakeDiscord, Fault};
use crate::harness::*;
use crate::pg_support::PgServer;
use crate::redis_support::{RedisServer, TestRedis};

const THREAT: &str = "i will kill you, you stupid bitch";
const CLEAN: &str = "good morning everyone, the meeting is at noon";

fn opts() -> Options {
    let mut o = Options::default();
    // Every abusive author posts once: no brigade response muddles the counts.
    for (k, v) in [
        ("USMCA_BRIGADE__DUPLICATE_COUNT", "1000"),
        ("USMCA_BRIGADE__COORDINATED_COUNT", "1000"),
        ("USMCA_BRIGADE__HARASSMENT_COUNT", "1000"),
    ] {
        o.env.push((k.into(), v.into()));
    }
    o
}

/// A fresh account (its first threat earns a timeout and the message's deletion).
fn newcomer(seq: u64) -> Author {
    Author::new(account_aged(Duration::from_secs(2 * 3600), seq), "member")
}

/// Messages sent, and the (author, message) pairs that must be acted on.
#[derive(Default)]
struct Stream {
    sent: Vec<u64>,
    abusive: Vec<(Author, u64)>,
    next: u64,
}

impl Stream {
    /// Sends `n` messages `every` apart, every third one a threat from a new member.
    async fn run(&mut self, d: &Daemon, n: usize, every: Duration) {
        for _ in 0..n {
            self.next += 1;
            let who = newcomer(3_000 + self.next);
            let abusive = self.next.is_multiple_of(3);
            let id = d.say(GENERAL, &who, if abusive { THREAT } else { CLEAN });
            self.sent.push(id);
            if abusive {
                self.abusive.push((who, id));
            }
            tokio::time::sleep(every).await;
        }
    }
}

/// Waits up to `limit` for `check`.
async fn within<T, F, Fut>(limit: Duration, what: &str, d: &Daemon, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {limit:?}\nlogs:\n{}",
            d.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every abusive message was deleted and its author timed out, each exactly once.
fn assert_each_acted_on_once(fake: &FakeDiscord, stream: &Stream) {
    for (who, id) in &stream.abusive {
        let deletes = fake
            .requests_to("DELETE", &format!("/channels/{GENERAL}/messages/{id}"))
            .iter()
            .filter(|r| r.status < 300)
            .count();
        let timeouts = fake
            .requests_to("PATCH", &format!("/guilds/{GUILD}/members/{}", who.id))
            .iter()
            .filter(|r| r.status < 300 && !body(r)["communication_disabled_until"].is_null())
            .count();
        assert_eq!(
            (deletes, timeouts),
            (1, 1),
            "message {id} by {}: deletes, timeouts",
            who.id
        );
    }
}

/// The guild's cases are numbered 1..=n without gaps, all applied, and the audit chain holds.
async fn assert_cases_complete(d: &Daemon, n: usize) {
    let cases = d.cases().await;
    let numbers: Vec<i64> = cases.iter().map(|c| c.0).collect();
    assert_eq!(numbers, (1..=n as i64).collect::<Vec<_>>(), "{cases:?}");
    assert!(
        cases.iter().all(|c| c.2 == "timeout" && c.3 == "applied"),
        "{cases:?}"
    );
    let report = d
        .storage()
        .verify_audit(None)
        .await
        .unwrap_or_else(|e| panic!("audit chain broken: {e}"));
    assert!(report.rows >= 2 * n as u64, "{report:?}");
}

/// Waits until the guild's `n` cases are all in Postgres and applied.
async fn every_case_applied(d: &Daemon, n: usize) {
    within(
        Duration::from_secs(30),
        "every case in Postgres",
        d,
        || async {
            let c = d.cases().await;
            (c.len() == n && c.iter().all(|c| c.3 == "applied")).then_some(())
        },
    )
    .await;
}

async fn message_rows(d: &Daemon) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM messages")
        .fetch_one(d.storage().pool())
        .await
        .unwrap_or(-1)
}

/// Starts the daemon on a Postgres of the test's own.
async fn on_own_postgres(pg: &PgServer, redis: Arc<TestRedis>) -> Daemon {
    let o = opts();
    let db = Arc::new(TestDb::on(&pg.url()).await);
    db.storage
        .set_guild_settings(GUILD, &o.settings, &crate::base_config(), None)
        .await
        .expect("guild settings stored");
    let fake = Daemon::fake(&o).await;
    let d = Daemon::spawn(fake, db, redis, &o);
    d.until_ready(1).await;
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_for_10_s_mid_stream_loses_and_doubles_nothing() {
    let pg = PgServer::start();
    let d = on_own_postgres(&pg, Arc::new(TestRedis::new())).await;
    let mut stream = Stream::default();
    stream.run(&d, 6, Duration::from_millis(150)).await;

    tokio::task::block_in_place(|| pg.stop());
    let outage = Instant::now();
    stream.run(&d, 18, Duration::from_millis(500)).await;
    // Moderating, not recording: degraded, still ready.
    let (code, body) = d.http_get("/readyz").await;
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"status\":\"degraded\""), "{body}");
    let during: Vec<(Author, u64)> = stream.abusive[2..].to_vec();
    // Every threat of the outage was acted on while Postgres was still down.
    for (who, id) in &during {
        d.request(
            "DELETE",
            &format!("/channels/{GENERAL}/messages/{id}"),
            |_| true,
        )
        .await;
        d.request(
            "PATCH",
            &format!("/guilds/{GUILD}/members/{}", who.id),
            |_| true,
        )
        .await;
    }
    let wait = Duration::from_secs(10).saturating_sub(outage.elapsed());
    tokio::time::sleep(wait).await;
    tokio::task::block_in_place(|| pg.restart());
    stream.run(&d, 6, Duration::from_millis(150)).await;

    let n = stream.abusive.len();
    every_case_applied(&d, n).await;
    within(Duration::from_secs(30), "every message row", &d, || async {
        (message_rows(&d).await == stream.sent.len() as i64).then_some(())
    })
    .await;
    assert_cases_complete(&d, n).await;
    assert_each_acted_on_once(&d.fake, &stream);
    let logs = d.logs();
    assert!(logs.contains("recording to the journal"), "{logs}");
    let replayed: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("journal replayed"))
        .collect();
    assert!(!replayed.is_empty(), "{logs}");
    let (_, metrics) = d.http_get("/metrics").await;
    assert!(metrics.contains("usmca_journal_depth 0"), "{metrics}");
    // The figures docs/reliability.md quotes.
    eprintln!(
        "outage figures: {} messages, {} acted on ({} during the outage), {} cases, rows {}, replay: {}",
        stream.sent.len(),
        stream.abusive.len(),
        during.len(),
        n,
        message_rows(&d).await,
        replayed.join(" | ")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_and_redis_down_together_then_both_recover_without_a_restart() {
    let pg = PgServer::start();
    let mut redis_server = RedisServer::start();
    let redis = Arc::new(TestRedis {
        url: redis_server.url(),
        prefix: format!("usmca-test:{:016x}:", rand::random::<u64>()),
    });
    let d = on_own_postgres(&pg, redis).await;
    let mut stream = Stream::default();
    stream.run(&d, 3, Duration::from_millis(150)).await;

    tokio::task::block_in_place(|| {
        pg.stop();
        redis_server.stop();
    });
    stream.run(&d, 12, Duration::from_millis(500)).await;
    for (who, _) in &stream.abusive[1..] {
        d.request(
            "PATCH",
            &format!("/guilds/{GUILD}/members/{}", who.id),
            |_| true,
        )
        .await;
    }
    tokio::task::block_in_place(|| {
        pg.restart();
        redis_server.restart();
    });
    stream.run(&d, 3, Duration::from_millis(150)).await;

    let n = stream.abusive.len();
    every_case_applied(&d, n).await;
    within(
        Duration::from_secs(30),
        "ready again on both",
        &d,
        || async {
            let (code, body) = d.http_get("/readyz").await;
            (code == 200 && body.contains("\"status\":\"ready\"")).then_some(())
        },
    )
    .await;
    within(Duration::from_secs(30), "every message row", &d, || async {
        (message_rows(&d).await == stream.sent.len() as i64).then_some(())
    })
    .await;
    assert_cases_complete(&d, n).await;
    assert_each_acted_on_once(&d.fake, &stream);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_stream_then_restart_reconciles_and_repeats_nothing() {
    let mut o = opts();
    // Two actions a minute: the rest of the burst waits, recorded as pending, when the kill
    // comes; the first timeout is on its way to Discord (its answer held back).
    o.env
        .push(("USMCA_LIMITS__ACTIONS_PER_MINUTE".into(), "2".into()));
    let fake = Daemon::fake(&o).await;
    let db = Arc::new(TestDb::new().await);
    db.storage
        .set_guild_settings(GUILD, &o.settings, &crate::base_config(), None)
        .await
        .expect("guild settings stored");
    let redis = Arc::new(TestRedis::new());
    let mut d = Daemon::spawn(fake.clone(), db.clone(), redis.clone(), &o);
    d.until_ready(1).await;
    fake.delay_next("PATCH", "/guilds/*/members/*", 1, Duration::from_secs(30));
    let offenders: Vec<Author> = (0..4).map(|i| newcomer(4_000 + i)).collect();
    for who in &offenders {
        d.say(GENERAL, who, THREAT);
    }
    d.eventually("two actions waiting, one in flight", || async {
        let queued = d
            .logs()
            .matches("action over the guild's budget queued")
            .count();
        let in_flight = !fake.requests_to("PATCH", "/guilds/*/members/*").is_empty();
        (queued == 2 && in_flight).then_some(())
    })
    .await;
    d.signal("KILL");
    // Killed by a signal: no exit code.
    assert_eq!(d.wait_exit(Duration::from_secs(10)).await, None);
    let pending: i64 =
        sqlx::query_scalar("SELECT count(*) FROM moderation_cases WHERE status = 'pending'")
            .fetch_one(db.storage.pool())
            .await
            .expect("count");
    assert!(pending >= 3, "the kill left cases pending ({pending})");

    let journal = d.journal();
    let d2 = Daemon::spawn_with_journal(fake.clone(), db.clone(), redis, &o, journal);
    d2.until_ready(2).await;
    let cases = within(
        Duration::from_secs(60),
        "no case left pending",
        &d2,
        || async {
            let c = d2.cases().await;
            (c.len() == offenders.len() && c.iter().all(|c| c.3 != "pending")).then_some(c)
        },
    )
    .await;
    assert!(
        cases.iter().all(|c| c.3 == "applied"),
        "{cases:?}\n{}",
        d2.logs()
    );
    let notes: Vec<Option<String>> =
        sqlx::query_scalar("SELECT error_note FROM moderation_cases ORDER BY case_no")
            .fetch_all(db.storage.pool())
            .await
            .expect("notes");
    assert!(
        notes
            .iter()
            .flatten()
            .filter(|n| n.contains("after a restart"))
            .count()
            >= 3,
        "{notes:?}"
    );
    eprintln!("sigkill figures: case notes after the restart: {notes:?}");
    // Each offender timed out once on Discord, and every timeout has its case.
    for who in &offenders {
        let timeouts = fake
            .requests_to("PATCH", &format!("/guilds/{GUILD}/members/{}", who.id))
            .iter()
            .filter(|r| !body(r)["communication_disabled_until"].is_null())
            .count();
        assert_eq!(
            timeouts, 1,
            "offender {} timed out {timeouts} times",
            who.id
        );
        assert!(fake.timed_out_until(GUILD, who.id).is_some());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_answering_5xx_for_30_s_delays_actions_and_completes_each_once() {
    let d = Daemon::start(opts()).await;
    d.fake.fail_for(
        "PATCH",
        "/guilds/*/members/*",
        Duration::from_secs(30),
        Fault::ServerError,
    );
    let who = newcomer(5_000);
    let started = Instant::now();
    d.say(GENERAL, &who, THREAT);
    let case = within(
        Duration::from_secs(75),
        "the timeout applied",
        &d,
        || async {
            let c = d.cases().await;
            c.first().filter(|c| c.3 != "pending").cloned()
        },
    )
    .await;
    assert_eq!(case.3, "applied", "{case:?}");
    let member = format!("/guilds/{GUILD}/members/{}", who.id);
    let attempts = d.fake.requests_to("PATCH", &member);
    let ok: Vec<_> = attempts.iter().filter(|r| r.status < 300).collect();
    assert_eq!(ok.len(), 1, "applied once");
    assert!(attempts.len() > 3, "retried while Discord failed");
    assert!(
        ok[0].at.duration_since(started) >= Duration::from_secs(29),
        "the success came after the outage"
    );
    eprintln!(
        "5xx figures: {} attempts, applied {:?} after the message",
        attempts.len(),
        ok[0].at.duration_since(started)
    );
    // The member was told once, after the timeout took effect.
    assert_eq!(d.fake.requests_to("POST", "/users/@me/channels").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_nowhere_to_record_nothing_is_done_and_the_bot_is_not_ready() {
    // No journal (storage.journal_dir empty) stands for a journal that cannot write (a full
    // disk): the record-first rule then forbids every action while Postgres is down.
    let pg = PgServer::start();
    let mut o = opts();
    o.env
        .push(("USMCA_STORAGE__JOURNAL_DIR".into(), String::new()));
    let db = Arc::new(TestDb::on(&pg.url()).await);
    db.storage
        .set_guild_settings(GUILD, &o.settings, &crate::base_config(), None)
        .await
        .expect("guild settings stored");
    let fake = Daemon::fake(&o).await;
    let d = Daemon::spawn(fake, db, Arc::new(TestRedis::new()), &o);
    d.until_ready(1).await;
    tokio::task::block_in_place(|| pg.stop());
    let who = newcomer(6_000);
    let id = d.say(GENERAL, &who, THREAT);
    d.eventually("the action refused", || async {
        d.logs()
            .contains("could not record the action; nothing was sent to Discord")
            .then_some(())
    })
    .await;
    let (code, body) = d.http_get("/readyz").await;
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("journal cannot record"), "{body}");
    assert!(d
        .fake
        .requests_to("PATCH", &format!("/guilds/{GUILD}/members/{}", who.id))
        .is_empty());
    assert!(d
        .fake
        .requests_to("DELETE", &format!("/channels/{GENERAL}/messages/{id}"))
        .is_empty());
    tokio::task::block_in_place(|| pg.restart());
}
