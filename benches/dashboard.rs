//! Dashboard page speed on one large guild: 1,000,000 cases, 10,000,000 messages over 100 days,
//! 50,000 members, about 29,500 appeals and 1,290,000 audit rows, in a database of its own
//! (`usmca_bench_dashboard` on the server at DATABASE_URL).
//!
//! Run: `cargo bench --bench dashboard`. Seeding runs server-side (`INSERT … SELECT
//! generate_series(…)`, about 3 minutes on 2 cores); a database kept by an earlier run (see
//! `DASHBOARD_BENCH_KEEP`) is reused when its migrations and row counts still match.
//!
//! What is timed, per page: the storage calls the page's service method makes, with the page's
//! arguments, from this process (so each sample includes the round trips and the decoding of the
//! rows); for the what-if preview, the rows' read plus the replay `Moderation::what_if` runs
//! (`moderation::replay_stored`). Rendering and the HTTP exchange are not. Each scenario runs 3
//! times untimed, then `DASHBOARD_BENCH_SAMPLES` times (default 60); the table gives p50 / p95 /
//! max in milliseconds. Before timing, every list page is checked against the plain query it
//! stands for, and the overview's counts against counting the cases.
//!
//! Environment: `DASHBOARD_BENCH_KEEP=1` keeps the database afterwards (the next run reuses it);
//! `DASHBOARD_BENCH_ONLY=text` runs only the scenarios whose name contains `text`;
//! `DASHBOARD_BENCH_SAMPLES=n`.

use chrono::{DateTime, Duration as ChronoDuration, DurationRound, Utc};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool};
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};
use usmca_bot::behaviour::{MemberStanding, Strike};
use usmca_bot::config::{load_from, ConfigSource};
use usmca_bot::decision::Policy;
use usmca_bot::moderation::{replay_stored, WHATIF_MAX_MESSAGES};
use usmca_bot::storage::{AuditFilter, CaseFilter, CaseOrigin, Storage};

const DB_NAME: &str = "usmca_bench_dashboard";
/// Bumped whenever the seeded data changes shape, so an older database is rebuilt.
const SEED_VERSION: i32 = 1;
const GUILD: i64 = 1_100_000_000_000_000_001;
const MEMBERS: i64 = 50_000;
const MESSAGES: i64 = 10_000_000;
const CASES: i64 = 1_000_000;
const DAYS: i64 = 100;
/// Moderators are the last members (rarely authors under the skewed author choice).
const MODERATORS: i64 = 25;
/// The list pages' page sizes (`web::pages::cases::PAGE`, the audit page's).
const PAGE: i64 = 50;
/// Member `i`'s id: a snowflake whose account was created between 2016 and 2026.
const UID: &str =
    "(((1451606400000::bigint + ({i})::bigint * 6307200 - 1420070400000) << 22) + ({i})::bigint)";

fn uid_sql(i: &str) -> String {
    UID.replace("{i}", i)
}

fn uid(i: i64) -> i64 {
    ((1_451_606_400_000 + i * 6_307_200 - 1_420_070_400_000) << 22) + i
}

fn admin_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

fn url_for(db: &str) -> String {
    let mut u = url::Url::parse(&admin_url()).expect("DATABASE_URL is a URL");
    u.set_path(&format!("/{db}"));
    u.to_string()
}

async fn admin() -> PgConnection {
    match PgConnection::connect(&admin_url()).await {
        Ok(c) => c,
        // DATABASE_URL may name the bot's own database, absent on a bench server.
        Err(_) => PgConnection::connect(&url_for("postgres"))
            .await
            .expect("Postgres reachable at DATABASE_URL"),
    }
}

fn log(msg: &str) {
    eprintln!("[dashboard bench] {msg}");
}

async fn exec(pool: &PgPool, sql: &str) {
    sqlx::query(sql)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{sql}"));
}

/// Runs `sql` after dropping `table`'s indexes that back no constraint, then builds them again
/// from their stored definitions: one build is much faster than millions of index updates.
async fn bulk_load(pool: &PgPool, table: &str, sql: &str, binds: &[i64]) {
    let defs: Vec<(String, String)> = sqlx::query_as(
        "SELECT i.indexname::text, i.indexdef FROM pg_indexes i
         WHERE i.schemaname = 'public' AND i.tablename = $1
           AND i.indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = $1::regclass)",
    )
    .bind(table)
    .fetch_all(pool)
    .await
    .expect("index definitions");
    for (name, _) in &defs {
        exec(pool, &format!("DROP INDEX \"{name}\"")).await;
    }
    let mut q = sqlx::query(sql);
    for b in binds {
        q = q.bind(*b);
    }
    q.execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{sql}"));
    for (_, def) in &defs {
        exec(pool, def).await;
    }
}

/// Seeded time span: `[t_end - DAYS, t_end)`.
struct Seed {
    t_end: DateTime<Utc>,
}

impl Seed {
    fn start_ms(&self) -> i64 {
        (self.t_end - ChronoDuration::days(DAYS)).timestamp_millis()
    }
}

async fn existing_seed(storage: &Storage) -> Result<Seed, String> {
    let pool = storage.pool();
    if !storage.has_table("bench_seed").await {
        return Err("no seed record".into());
    }
    let (version, t_end, messages, cases): (i32, DateTime<Utc>, i64, i64) =
        sqlx::query_as("SELECT version, t_end, messages, cases FROM bench_seed")
            .fetch_one(pool)
            .await
            .map_err(|e| format!("seed record: {e}"))?;
    if version != SEED_VERSION || messages != MESSAGES || cases != CASES {
        return Err(format!(
            "seed version {version}, {messages} messages, {cases} cases"
        ));
    }
    storage
        .migrate()
        .await
        .map_err(|e| format!("migrations no longer match: {e}"))?;
    let count = |sql: &'static str| async move {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(pool)
            .await
            .unwrap_or(-1)
    };
    let (m, c, u) = (
        count("SELECT count(*) FROM messages").await,
        count("SELECT count(*) FROM moderation_cases").await,
        count("SELECT count(*) FROM members").await,
    );
    if (m, c, u) != (MESSAGES, CASES, MEMBERS) {
        return Err(format!("row counts {m} messages, {c} cases, {u} members"));
    }
    Ok(Seed { t_end })
}

async fn connect_pool(db: &str, connections: u32) -> PgPool {
    PgPoolOptions::new()
        .max_connections(connections)
        .acquire_timeout(Duration::from_secs(30))
        .connect(&url_for(db))
        .await
        .expect("connect to the bench database")
}

/// The bench database, seeded (or reused) and with every migration applied.
async fn prepare() -> (Storage, Seed) {
    let mut conn = admin().await;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(DB_NAME)
            .fetch_one(&mut conn)
            .await
            .expect("list databases");
    if exists {
        let storage = Storage::from_pool(connect_pool(DB_NAME, 5).await);
        match existing_seed(&storage).await {
            Ok(seed) => {
                log(&format!(
                    "reusing {DB_NAME} (seeded up to {})",
                    seed.t_end.format("%Y-%m-%d %H:%M")
                ));
                conn.close().await.ok();
                return (storage, seed);
            }
            Err(why) => log(&format!("rebuilding {DB_NAME}: {why}")),
        }
        storage.close().await;
        sqlx::query(&format!("DROP DATABASE \"{DB_NAME}\" WITH (FORCE)"))
            .execute(&mut conn)
            .await
            .expect("drop the old bench database");
    }
    sqlx::query(&format!("CREATE DATABASE \"{DB_NAME}\""))
        .execute(&mut conn)
        .await
        .expect("create the bench database");
    conn.close().await.ok();
    // One connection: the session settings below apply to every statement.
    let pool = connect_pool(DB_NAME, 1).await;
    let storage = Storage::from_pool(pool.clone());
    storage.migrate().await.expect("migrations apply");
    let t_end = Utc::now()
        .duration_trunc(ChronoDuration::hours(1))
        .expect("truncate to the hour");
    let seed = Seed { t_end };
    let started = Instant::now();
    seed_rows(&pool, &seed).await;
    log(&format!(
        "seeded in {:.0} s",
        started.elapsed().as_secs_f64()
    ));
    pool.close().await;
    (Storage::from_pool(connect_pool(DB_NAME, 5).await), seed)
}

async fn seed_rows(pool: &PgPool, seed: &Seed) {
    let start = seed.start_ms();
    for s in [
        "SET synchronous_commit = off",
        "SET maintenance_work_mem = '512MB'",
        "SET work_mem = '256MB'",
        "SELECT setseed(0.42)",
    ] {
        exec(pool, s).await;
    }
    sqlx::query("INSERT INTO guilds (guild_id, last_case_no) VALUES ($1, $2)")
        .bind(GUILD)
        .bind(CASES)
        .execute(pool)
        .await
        .expect("guild row");

    // Messages: one every 864 ms over 100 days (100,000 a day), authors skewed towards the
    // first members, 30 channels, scores as the writer stores them (every label, f32 values),
    // about 4% toxic; the decision from the default thresholds.
    let chunk = 1_000_000;
    let author = uid_sql("floor(50000 * power(ra, 2.5))::bigint");
    let messages_sql = format!(
        "INSERT INTO messages (message_id, guild_id, channel_id, author_id, created_at, scores,
                               max_score, decision)
         SELECT mid, $1, ch, au, at, sc, mx,
                CASE WHEN mx >= 0.92 THEN (CASE WHEN d < 0.5 THEN 'delete' WHEN d < 0.85 THEN 'timeout'
                                                WHEN d < 0.97 THEN 'kick' ELSE 'ban' END)
                     WHEN mx >= 0.75 THEN (CASE WHEN d < 0.6 THEN 'delete' ELSE 'timeout' END)
                     WHEN mx >= 0.6 THEN 'warn' ELSE 'allow' END
         FROM (
           SELECT mid, ch, au, at, d,
                  jsonb_build_object('identity_hate', ih, 'insult', ins, 'obscene', ob,
                                     'severe_toxic', st, 'threat', th, 'toxic', tx) AS sc,
                  greatest(ih, ins, ob, st, th, tx)::real AS mx
           FROM (
             SELECT mid, ch, {author} AS au, at, d, tx,
                    (tx * power(r1, 3) * 0.6)::real::float8 AS st,
                    (tx * r2)::real::float8 AS ob,
                    (tx * power(r3, 4) * 0.5)::real::float8 AS th,
                    (tx * r4)::real::float8 AS ins,
                    (tx * power(r5, 4) * 0.4)::real::float8 AS ih
             FROM (
               SELECT ((t - 1420070400000) << 22) + (i % 4096) AS mid,
                      1000 + floor(30 * power(random(), 2))::bigint AS ch,
                      random() AS ra,
                      to_timestamp(t / 1000.0) AS at,
                      random() AS d,
                      (CASE WHEN random() < 0.04 THEN 0.55 + 0.45 * random()
                            ELSE power(random(), 6) * 0.5 END)::real::float8 AS tx,
                      random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5
               FROM (SELECT i, $2::bigint + i * 864 AS t FROM generate_series($3::bigint, $4::bigint) i) g
               OFFSET 0
             ) a OFFSET 0
           ) b
         ) c"
    );
    // Indexes dropped once for all chunks.
    let defs: Vec<(String, String)> = sqlx::query_as(
        "SELECT indexname::text, indexdef FROM pg_indexes
         WHERE schemaname = 'public' AND tablename = 'messages' AND indexname <> 'messages_pkey'",
    )
    .fetch_all(pool)
    .await
    .expect("index definitions");
    for (name, _) in &defs {
        exec(pool, &format!("DROP INDEX \"{name}\"")).await;
    }
    let t = Instant::now();
    let mut from = 0;
    while from < MESSAGES {
        let to = (from + chunk).min(MESSAGES) - 1;
        sqlx::query(&messages_sql)
            .bind(GUILD)
            .bind(start)
            .bind(from)
            .bind(to)
            .execute(pool)
            .await
            .unwrap_or_else(|e| panic!("{e}\n{messages_sql}"));
        from = to + 1;
        log(&format!(
            "messages: {from} ({:.0} s)",
            t.elapsed().as_secs_f64()
        ));
    }
    for (_, def) in &defs {
        exec(pool, def).await;
    }
    log(&format!(
        "messages indexed ({:.0} s)",
        t.elapsed().as_secs_f64()
    ));

    // Members, with their activity from the messages; 5% joined at an unknown time.
    let member = uid_sql("i");
    exec(
        pool,
        &format!(
            "INSERT INTO members (guild_id, user_id, joined_at, account_created_at, first_seen,
                                  last_seen, message_count, decayed_toxicity, toxicity_at)
             SELECT {GUILD}, u, CASE WHEN i % 20 <> 7 THEN j END,
                    to_timestamp(((u >> 22) + 1420070400000) / 1000.0),
                    COALESCE(a.first, j), COALESCE(a.last, j), COALESCE(a.n, 0),
                    (i % 97) / 97.0, a.last
             FROM (SELECT i, {member} AS u,
                          to_timestamp({start} / 1000.0) - ((i * 7919) % 700) * interval '1 day' AS j
                   FROM generate_series(0, {MEMBERS} - 1) i) m
             LEFT JOIN (SELECT author_id, min(created_at) AS first, max(created_at) AS last,
                               count(*) AS n
                        FROM messages GROUP BY author_id) a ON a.author_id = m.u"
        ),
    )
    .await;
    log("members");

    // Daily counts as the writer keeps them: all messages, and flagged ones by top label
    // (the first label in key order among equal maxima).
    exec(
        pool,
        "INSERT INTO message_days (guild_id, day, label, messages)
         SELECT guild_id, (created_at AT TIME ZONE 'UTC')::date, '', count(*)
         FROM messages GROUP BY 1, 2",
    )
    .await;
    exec(
        pool,
        "INSERT INTO message_days (guild_id, day, label, messages)
         SELECT guild_id, day, top, count(*)
         FROM (SELECT guild_id, (created_at AT TIME ZONE 'UTC')::date AS day,
                      COALESCE((SELECT e.key FROM jsonb_each(scores) e
                                ORDER BY (e.value)::float8 DESC, e.key COLLATE \"C\" LIMIT 1), 'rule') AS top
               FROM messages WHERE decision IN ('warn', 'delete', 'timeout', 'kick', 'ban')) f
         GROUP BY 1, 2, 3",
    )
    .await;
    log("message_days");

    // Cases: one every 8.64 s, 12% by moderators; members skewed (member 0 has about 4,500).
    let target = uid_sql("floor(50000 * power(ru, 2))::bigint");
    let moderator = uid_sql(&format!("{MEMBERS} - 1 - floor(rx * {MODERATORS})::bigint"));
    let cases_sql = format!(
        "INSERT INTO moderation_cases (guild_id, case_no, user_id, action, reason, scores, message_id,
             actor_id, created_at, expires_at, reversed_by, reversed_at, reversed_reason, dry_run,
             status, error_note, action_key, recorded_by, behaviour_score, label, labelled_by,
             labelled_at)
         SELECT $1, n, {target}, action,
                CASE WHEN manual THEN (ARRAY['spamming invites', 'harassing members', 'slurs in voice chat',
                                             'raid account', 'off-topic after warnings'])[1 + floor(rd * 5)::int]
                     ELSE 'Automatic ' || action || ': toxic ' || round(tx::numeric, 2) END,
                CASE WHEN manual THEN '{{}}'::jsonb
                     ELSE jsonb_build_object('identity_hate', (tx * rd * 0.3)::real::float8,
                                             'insult', (tx * rl)::real::float8,
                                             'obscene', (tx * rx)::real::float8,
                                             'severe_toxic', (tx * ru * 0.5)::real::float8,
                                             'threat', (tx * rs * 0.2)::real::float8,
                                             'toxic', tx) END,
                CASE WHEN NOT manual THEN ((extract(epoch FROM at)::bigint * 1000 - 1420070400000) << 22) + 4095 END,
                CASE WHEN manual THEN {moderator} END,
                at,
                CASE WHEN action = 'timeout' THEN at + interval '1 hour' * (1 + floor(rd * 24)) END,
                CASE WHEN status = 'reversed' THEN {moderator} END,
                CASE WHEN status = 'reversed' THEN at + interval '1 minute' * floor(1 + rl * 2000) END,
                CASE WHEN status = 'reversed' THEN 'false positive' END,
                NOT manual AND rd < 0.02,
                status,
                CASE WHEN status = 'failed' THEN '403 Missing Permissions' END,
                CASE WHEN NOT manual THEN 'msg:' || n || ':' || action END,
                'bench-1',
                CASE WHEN NOT manual THEN 0.5 + tx * 0.5 END,
                CASE WHEN status = 'reversed' AND rl < 0.5 THEN 'reversed'
                     WHEN status = 'applied' AND rl < 0.03 THEN 'confirmed' END,
                CASE WHEN (status = 'reversed' AND rl < 0.5) OR (status = 'applied' AND rl < 0.03)
                     THEN {moderator} END,
                CASE WHEN (status = 'reversed' AND rl < 0.5) OR (status = 'applied' AND rl < 0.03)
                     THEN at + interval '1 hour' END
         FROM (
           SELECT n, at, manual, ru, rd, rl, rx, rs, tx,
                  CASE WHEN manual THEN (CASE WHEN ra < 0.15 THEN 'note' WHEN ra < 0.35 THEN 'warn'
                                              WHEN ra < 0.6 THEN 'timeout' WHEN ra < 0.75 THEN 'ban'
                                              WHEN ra < 0.85 THEN 'kick' WHEN ra < 0.93 THEN 'unban'
                                              ELSE 'untimeout' END)
                       ELSE (CASE WHEN ra < 0.4 THEN 'warn' WHEN ra < 0.75 THEN 'delete'
                                  WHEN ra < 0.93 THEN 'timeout' WHEN ra < 0.97 THEN 'kick' ELSE 'ban' END)
                  END AS action,
                  CASE WHEN rs < 0.06 THEN 'reversed' WHEN rs < 0.09 THEN 'failed'
                       WHEN rs < 0.092 THEN 'pending' WHEN rs < 0.2 THEN 'expired' ELSE 'applied' END AS status
           FROM (
             SELECT n, to_timestamp(($2::bigint + (n - 1) * 8640) / 1000.0) AS at,
                    random() < 0.12 AS manual, random() AS ra, random() AS rs, random() AS ru,
                    random() AS rd, random() AS rl, random() AS rx,
                    (0.6 + 0.4 * random())::real::float8 AS tx
             FROM generate_series(1, $3::bigint) n
             OFFSET 0
           ) r
         ) c"
    );
    let t = Instant::now();
    bulk_load(pool, "moderation_cases", &cases_sql, &[GUILD, start, CASES]).await;
    log(&format!("cases ({:.0} s)", t.elapsed().as_secs_f64()));

    // Appeals on 3% of the cases: 10% open, 30% accepted, 55% rejected, 5% withdrawn.
    exec(
        pool,
        &format!(
            "INSERT INTO appeals (case_id, user_id, body, status, reviewer_id, review_note,
                                  created_at, decided_at)
             SELECT case_id, user_id, 'I think this was a mistake, please look at case ' || case_no, st,
                    CASE WHEN st IN ('accepted', 'rejected') THEN {moderator} END,
                    CASE WHEN st IN ('accepted', 'rejected') THEN 'reviewed' END,
                    created_at + interval '2 hours',
                    CASE WHEN st <> 'open' THEN created_at + interval '2 hours' + rx * interval '3 days' END
             FROM (SELECT c.case_id, c.user_id, c.case_no, c.created_at, r, rx,
                          CASE WHEN r2 < 0.1 THEN 'open' WHEN r2 < 0.4 THEN 'accepted'
                               WHEN r2 < 0.95 THEN 'rejected' ELSE 'withdrawn' END AS st
                   FROM (SELECT *, random() AS r, random() AS r2, random() AS rx
                         FROM moderation_cases WHERE action <> 'note' OFFSET 0) c) s
             WHERE r < 0.03"
        ),
    )
    .await;
    log("appeals");

    // The audit chain: the rows the service writes for these cases and appeals, in time order.
    // The hashes are placeholders (verification is no part of the timed pages).
    let note_by = uid_sql(&format!("{MEMBERS} - 1 - (case_no % {MODERATORS})"));
    let audit_sql = format!(
        "INSERT INTO audit_log (guild_id, seq, kind, actor_id, target_id, created_at, payload,
                                content_digest, prev_hash, row_hash)
         SELECT $1, seq, kind, actor, target, at, payload,
                encode(sha256(convert_to(payload, 'UTF8')), 'hex'),
                encode(sha256(convert_to((seq - 1)::text, 'UTF8')), 'hex'),
                encode(sha256(convert_to(seq::text, 'UTF8')), 'hex')
         FROM (
           SELECT row_number() OVER (ORDER BY at, ord, k) AS seq, *
           FROM (
             SELECT created_at AS at, 0 AS ord, case_no AS k, 'case.created' AS kind, actor_id AS actor,
                    user_id AS target,
                    jsonb_build_object('case_no', case_no, 'action', action, 'reason', reason,
                                       'scores', scores, 'message_id', message_id::text,
                                       'expires_at', expires_at, 'dry_run', dry_run,
                                       'status', 'pending', 'error_note', NULL)::text AS payload
             FROM moderation_cases
             UNION ALL
             SELECT created_at + interval '1 second', 1, case_no, 'case.status', NULL, user_id,
                    jsonb_build_object('case_no', case_no, 'status', status, 'error_note', error_note)::text
             FROM moderation_cases WHERE status IN ('failed', 'expired')
             UNION ALL
             SELECT reversed_at, 2, case_no, 'case.reversed', reversed_by, user_id,
                    jsonb_build_object('case_no', case_no, 'reason', reversed_reason)::text
             FROM moderation_cases WHERE status = 'reversed'
             UNION ALL
             SELECT labelled_at, 3, case_no, 'case.confirmed', labelled_by, user_id,
                    jsonb_build_object('case_no', case_no)::text
             FROM moderation_cases WHERE label = 'confirmed'
             UNION ALL
             SELECT created_at + interval '30 minutes', 4, case_no, 'case.note', {note_by}, user_id,
                    jsonb_build_object('case_id', case_id, 'case_no', case_no,
                                       'note', 'talked to them in DMs')::text
             FROM moderation_cases WHERE case_no % 100 = 0
             UNION ALL
             SELECT a.created_at, 5, c.case_no, 'appeal.created', a.user_id, a.user_id,
                    jsonb_build_object('appeal_id', a.appeal_id, 'case_no', c.case_no, 'body', a.body)::text
             FROM appeals a JOIN moderation_cases c USING (case_id)
             UNION ALL
             SELECT a.decided_at, 6, c.case_no, 'appeal.decided', a.reviewer_id, a.user_id,
                    jsonb_build_object('appeal_id', a.appeal_id, 'case_no', c.case_no,
                                       'status', a.status, 'note', a.review_note)::text
             FROM appeals a JOIN moderation_cases c USING (case_id) WHERE a.decided_at IS NOT NULL
           ) e
         ) s"
    );
    let t = Instant::now();
    bulk_load(pool, "audit_log", &audit_sql, &[GUILD]).await;
    exec(
        pool,
        &format!(
            "INSERT INTO audit_heads (guild_id, last_seq, last_hash)
             SELECT {GUILD}, seq, row_hash FROM audit_log ORDER BY seq DESC LIMIT 1"
        ),
    )
    .await;
    log(&format!("audit log ({:.0} s)", t.elapsed().as_secs_f64()));

    // Standings of the members with cases, in the daemon's own format.
    let standing = MemberStanding {
        decayed_toxicity: 0.4,
        decayed_at_ms: seed.t_end.timestamp_millis() - 3_600_000,
        strikes: vec![
            Strike {
                at_ms: seed.t_end.timestamp_millis() - 2 * 86_400_000,
                points: 1.0,
                timeout: false,
            },
            Strike {
                at_ms: seed.t_end.timestamp_millis() - 86_400_000,
                points: 2.0,
                timeout: true,
            },
        ],
        clean_messages: 12,
        total_messages: 340,
        ..MemberStanding::default()
    };
    sqlx::query(
        "INSERT INTO member_standing (guild_id, user_id, standing)
         SELECT $1, user_id, $2 FROM (SELECT DISTINCT user_id FROM moderation_cases) u",
    )
    .bind(GUILD)
    .bind(serde_json::to_value(&standing).expect("standing as JSON"))
    .execute(pool)
    .await
    .expect("standings");

    // A few incidents, two still open.
    exec(
        pool,
        &format!(
            "INSERT INTO brigade_incidents (guild_id, channel_id, kind, window_start, window_end,
                                            participants, closed_at)
             SELECT {GUILD}, 1000 + i % 30, 'raid', w, w + interval '10 minutes',
                    ARRAY[{p1}, {p2}], CASE WHEN i < 198 THEN w + interval '1 hour' END
             FROM (SELECT i, to_timestamp({start} / 1000.0) + i * interval '12 hours' AS w
                   FROM generate_series(0, 199) i) s",
            p1 = uid_sql("i * 7"),
            p2 = uid_sql("i * 7 + 1"),
        ),
    )
    .await;

    for table in [
        "messages",
        "members",
        "message_days",
        "moderation_cases",
        "appeals",
        "audit_log",
        "member_standing",
        "brigade_incidents",
    ] {
        exec(pool, &format!("VACUUM (ANALYZE) {table}")).await;
    }
    exec(
        pool,
        "CREATE TABLE bench_seed (version INT NOT NULL, t_end TIMESTAMPTZ NOT NULL,
                                  messages BIGINT NOT NULL, cases BIGINT NOT NULL)",
    )
    .await;
    sqlx::query("INSERT INTO bench_seed VALUES ($1, $2, $3, $4)")
        .bind(SEED_VERSION)
        .bind(seed.t_end)
        .bind(MESSAGES)
        .bind(CASES)
        .execute(pool)
        .await
        .expect("seed record");
}

type Job<'a> = Box<dyn Fn() -> Pin<Box<dyn Future<Output = usize> + 'a>> + 'a>;

struct Scenario<'a> {
    page: &'static str,
    name: String,
    target_ms: f64,
    /// Where the job leaves its own time, when only part of it is timed.
    self_timed: Option<std::rc::Rc<std::cell::Cell<f64>>>,
    job: Job<'a>,
}

struct Row {
    page: &'static str,
    name: String,
    rows: usize,
    p50: f64,
    p95: f64,
    max: f64,
    target_ms: f64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

/// The case number of the last row of page `pages` (1-based) under `where_`, or of the last
/// matching row when there are fewer: the cursor a reader paging that deep would hold.
async fn case_cursor(pool: &PgPool, where_: &str, pages: i64) -> i64 {
    let sql = format!(
        "SELECT case_no FROM (SELECT case_no FROM moderation_cases WHERE guild_id = {GUILD} {where_}
                              ORDER BY case_no DESC LIMIT {}) s ORDER BY case_no LIMIT 1",
        pages * PAGE
    );
    sqlx::query_scalar(&sql)
        .fetch_optional(pool)
        .await
        .expect("cursor")
        .unwrap_or(1)
}

async fn audit_cursor(pool: &PgPool, where_: &str, pages: i64) -> i64 {
    let sql = format!(
        "SELECT seq FROM (SELECT seq FROM audit_log WHERE guild_id = {GUILD} {where_}
                          ORDER BY seq DESC LIMIT {}) s ORDER BY seq LIMIT 1",
        pages * PAGE
    );
    sqlx::query_scalar(&sql)
        .fetch_optional(pool)
        .await
        .expect("cursor")
        .unwrap_or(1)
}

fn policy(warn: Option<f64>) -> Policy {
    let mut cfg = load_from(&ConfigSource {
        defaults_file: None,
        file: None,
        use_env: false,
    })
    .expect("default configuration");
    if let Some(w) = warn {
        cfg.thresholds.warn = w;
    }
    Policy::from_config(&cfg).expect("policy")
}

async fn run() {
    // Before the scenarios, which borrow them.
    let policies = (policy(None), policy(Some(0.45)));
    let (storage, seed) = prepare().await;
    let pool = storage.pool().clone();
    let g = GUILD as u64;
    let t_end = seed.t_end;
    let day = |d: i64| t_end - ChronoDuration::days(d);

    // Members: the one with the most cases, and a typical one (median case count).
    let heavy = uid(0) as u64;
    let typical: i64 = sqlx::query_scalar(
        "SELECT user_id FROM (SELECT user_id, count(*) AS n FROM moderation_cases GROUP BY user_id) c
         ORDER BY n, user_id OFFSET (SELECT count(DISTINCT user_id) / 2 FROM moderation_cases) LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .expect("a typical member");
    let typical = typical as u64;
    let moderator = uid(MEMBERS - 1) as u64;

    let filters: Vec<(String, CaseFilter, String)> = vec![
        ("no filter".into(), CaseFilter::default(), String::new()),
        (
            "member (most cases)".into(),
            CaseFilter {
                member: Some(heavy),
                ..Default::default()
            },
            format!("AND user_id = {}", heavy as i64),
        ),
        (
            "member (typical)".into(),
            CaseFilter {
                member: Some(typical),
                ..Default::default()
            },
            format!("AND user_id = {}", typical as i64),
        ),
        (
            "action = ban (3%)".into(),
            CaseFilter {
                action: Some("ban".into()),
                ..Default::default()
            },
            "AND action = 'ban'".into(),
        ),
        (
            "action = warn (38%)".into(),
            CaseFilter {
                action: Some("warn".into()),
                ..Default::default()
            },
            "AND action = 'warn'".into(),
        ),
        (
            "status = reversed (6%)".into(),
            CaseFilter {
                status: Some("reversed".into()),
                ..Default::default()
            },
            "AND status = 'reversed'".into(),
        ),
        (
            "status = pending (0.2%)".into(),
            CaseFilter {
                status: Some("pending".into()),
                ..Default::default()
            },
            "AND status = 'pending'".into(),
        ),
        (
            "automatic".into(),
            CaseFilter {
                origin: Some(CaseOrigin::Automatic),
                ..Default::default()
            },
            "AND actor_id IS NULL".into(),
        ),
        (
            "manual".into(),
            CaseFilter {
                origin: Some(CaseOrigin::Manual),
                ..Default::default()
            },
            "AND actor_id IS NOT NULL".into(),
        ),
        (
            "dates: last 7 days".into(),
            CaseFilter {
                from: Some(day(7)),
                to: Some(t_end),
                ..Default::default()
            },
            format!(
                "AND created_at >= '{}' AND created_at < '{}'",
                day(7).to_rfc3339(),
                t_end.to_rfc3339()
            ),
        ),
        (
            "dates: a week 50 days ago".into(),
            CaseFilter {
                from: Some(day(50)),
                to: Some(day(43)),
                ..Default::default()
            },
            format!(
                "AND created_at >= '{}' AND created_at < '{}'",
                day(50).to_rfc3339(),
                day(43).to_rfc3339()
            ),
        ),
        (
            "dates: 30 days, 90 to 60 days ago".into(),
            CaseFilter {
                from: Some(day(90)),
                to: Some(day(60)),
                ..Default::default()
            },
            format!(
                "AND created_at >= '{}' AND created_at < '{}'",
                day(90).to_rfc3339(),
                day(60).to_rfc3339()
            ),
        ),
        (
            "dates: since 80 days ago".into(),
            CaseFilter {
                from: Some(day(80)),
                ..Default::default()
            },
            format!("AND created_at >= '{}'", day(80).to_rfc3339()),
        ),
        (
            "ban + manual + reversed".into(),
            CaseFilter {
                action: Some("ban".into()),
                status: Some("reversed".into()),
                origin: Some(CaseOrigin::Manual),
                ..Default::default()
            },
            "AND action = 'ban' AND status = 'reversed' AND actor_id IS NOT NULL".into(),
        ),
        (
            "timeout + a week 50 days ago".into(),
            CaseFilter {
                action: Some("timeout".into()),
                from: Some(day(50)),
                to: Some(day(43)),
                ..Default::default()
            },
            format!(
                "AND action = 'timeout' AND created_at >= '{}' AND created_at < '{}'",
                day(50).to_rfc3339(),
                day(43).to_rfc3339()
            ),
        ),
    ];

    let mut scenarios: Vec<Scenario> = Vec::new();
    let s = &storage;
    for (label, filter, where_) in filters {
        // First page, 500 pages in, and the page past the last one (a reader at the end).
        let deep = case_cursor(&pool, &where_, 500).await;
        let total: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM moderation_cases WHERE guild_id = {GUILD} {where_}"
        ))
        .fetch_one(&pool)
        .await
        .expect("count");
        let last = case_cursor(&pool, &where_, (total + PAGE - 1) / PAGE).await;
        let mut pages = vec![("page 1".to_string(), None)];
        if total > 500 * PAGE {
            pages.push(("page 501".to_string(), Some(deep)));
        }
        if total > PAGE {
            pages.push((format!("past the end ({total} rows)"), Some(last)));
        }
        for (which, before) in pages {
            let f = CaseFilter {
                before_case_no: before.or(filter.before_case_no),
                ..filter.clone()
            };
            // The page must be what the plain query returns, however it is planned.
            let got: Vec<i64> = s
                .list_cases(g, &f, PAGE)
                .await
                .expect("list")
                .iter()
                .map(|c| c.case_no)
                .collect();
            let want: Vec<i64> = sqlx::query_scalar(&format!(
                "SELECT case_no FROM moderation_cases WHERE guild_id = {GUILD} {where_} {}
                 ORDER BY case_no DESC LIMIT {PAGE}",
                before
                    .map(|b| format!("AND case_no < {b}"))
                    .unwrap_or_default()
            ))
            .fetch_all(&pool)
            .await
            .expect("reference page");
            assert_eq!(
                got, want,
                "cases list, {label}, {which}: not the reference page"
            );
            scenarios.push(Scenario {
                page: "cases list",
                name: format!("{label}, {which}"),
                target_ms: 100.0,
                self_timed: None,
                job: Box::new(move || {
                    let f = f.clone();
                    Box::pin(async move { s.list_cases(g, &f, PAGE).await.expect("list").len() })
                }),
            });
        }
    }

    // A member's record page (`Moderation::member_record`): a page of cases with the total,
    // the member row with recent cases and messages, and the stored standing.
    for (label, member, page) in [
        ("most cases, page 1", heavy, 0),
        ("most cases, page 200", heavy, 199),
        ("typical, page 1", typical, 0),
    ] {
        scenarios.push(Scenario {
            page: "member history",
            name: label.into(),
            target_ms: 100.0,
            self_timed: None,
            job: Box::new(move || {
                Box::pin(async move {
                    let (cases, _) = s
                        .member_cases_page(g, member, page * 5, 5)
                        .await
                        .expect("cases page");
                    let h = s.member_history(g, member, 10).await.expect("history");
                    let st = s.standing(g, member).await.expect("standing");
                    cases.len() + h.messages.len() + usize::from(st.is_some())
                })
            }),
        });
    }
    for (label, prefix) in [
        ("search: id prefix \"1\"", Some("1".to_string())),
        (
            "search: 8-digit id prefix",
            Some(heavy.to_string()[..8].to_string()),
        ),
        ("search: no prefix (most cases, 30 days)", None),
    ] {
        scenarios.push(Scenario {
            page: "members search",
            name: label.into(),
            target_ms: f64::NAN,
            self_timed: None,
            job: Box::new(move || {
                let p = prefix.clone();
                Box::pin(async move {
                    s.search_members(g, p.as_deref(), 50)
                        .await
                        .expect("search")
                        .len()
                })
            }),
        });
    }

    // The overview (`Moderation::overview(guild, 30)`): its four queries at once, as the
    // service runs them; then each alone.
    let from30 = day(30);
    let tomorrow = t_end.date_naive() + ChronoDuration::days(1);
    // The counts kept by triggers must be what counting the cases gives.
    {
        let days: Vec<(chrono::NaiveDate, String, i64)> = s
            .case_days(g, from30)
            .await
            .expect("case days")
            .into_iter()
            .map(|d| (d.day, d.key, d.count))
            .collect();
        let want: Vec<(chrono::NaiveDate, String, i64)> = sqlx::query_as(
            "SELECT (created_at AT TIME ZONE 'UTC')::date, action, count(*) FROM moderation_cases
             WHERE guild_id = $1 AND created_at >= $2 AND NOT dry_run GROUP BY 1, 2 ORDER BY 1, 2",
        )
        .bind(GUILD)
        .bind(from30)
        .fetch_all(&pool)
        .await
        .expect("reference days");
        assert_eq!(days, want, "case_days");
        let r = s.decision_rates(g, from30).await.expect("rates");
        let want: (i64, i64) = sqlx::query_as(
            "SELECT count(*), count(*) FILTER (WHERE status = 'reversed') FROM moderation_cases
             WHERE guild_id = $1 AND created_at >= $2 AND actor_id IS NULL AND NOT dry_run",
        )
        .bind(GUILD)
        .bind(from30)
        .fetch_one(&pool)
        .await
        .expect("reference rates");
        assert_eq!(
            (r.automatic_cases, r.automatic_reversed),
            want,
            "decision_rates"
        );
    }
    scenarios.push(Scenario {
        page: "overview",
        name: "30 days, all four queries".into(),
        target_ms: 100.0,
        self_timed: None,
        job: Box::new(move || {
            Box::pin(async move {
                let (m, c, _r, i) = tokio::try_join!(
                    s.message_days(g, from30.date_naive(), tomorrow),
                    s.case_days(g, from30),
                    s.decision_rates(g, from30),
                    s.open_incidents(g),
                )
                .expect("overview");
                m.len() + c.len() + i.len()
            })
        }),
    });
    scenarios.push(Scenario {
        page: "overview",
        name: "  message_days".into(),
        target_ms: f64::NAN,
        self_timed: None,
        job: Box::new(move || {
            Box::pin(async move {
                s.message_days(g, from30.date_naive(), tomorrow)
                    .await
                    .expect("days")
                    .len()
            })
        }),
    });
    scenarios.push(Scenario {
        page: "overview",
        name: "  case_days".into(),
        target_ms: f64::NAN,
        self_timed: None,
        job: Box::new(move || {
            Box::pin(async move { s.case_days(g, from30).await.expect("days").len() })
        }),
    });
    scenarios.push(Scenario {
        page: "overview",
        name: "  decision_rates".into(),
        target_ms: f64::NAN,
        self_timed: None,
        job: Box::new(move || {
            Box::pin(async move {
                s.decision_rates(g, from30).await.expect("rates");
                2
            })
        }),
    });

    // The audit page and a case's audit rows.
    let audit_filters: Vec<(String, AuditFilter, String)> = vec![
        ("no filter".into(), AuditFilter::default(), String::new()),
        (
            "kind = case.reversed".into(),
            AuditFilter {
                kind: Some("case.reversed".into()),
                ..Default::default()
            },
            "AND kind = 'case.reversed'".into(),
        ),
        (
            "kind = appeal.decided".into(),
            AuditFilter {
                kind: Some("appeal.decided".into()),
                ..Default::default()
            },
            "AND kind = 'appeal.decided'".into(),
        ),
        (
            "user = member with most cases".into(),
            AuditFilter {
                user: Some(heavy),
                ..Default::default()
            },
            format!("AND (actor_id = {0} OR target_id = {0})", heavy as i64),
        ),
        (
            "user = typical member".into(),
            AuditFilter {
                user: Some(typical),
                ..Default::default()
            },
            format!("AND (actor_id = {0} OR target_id = {0})", typical as i64),
        ),
        (
            "user = a moderator".into(),
            AuditFilter {
                user: Some(moderator),
                ..Default::default()
            },
            format!("AND (actor_id = {0} OR target_id = {0})", moderator as i64),
        ),
    ];
    for (label, filter, where_) in audit_filters {
        let deep = audit_cursor(&pool, &where_, 500).await;
        let total: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM audit_log WHERE guild_id = {GUILD} {where_}"
        ))
        .fetch_one(&pool)
        .await
        .expect("count");
        let mut pages = vec![("page 1".to_string(), None)];
        if total > 500 * PAGE {
            pages.push(("page 501".to_string(), Some(deep)));
        }
        if total > PAGE {
            let last = audit_cursor(&pool, &where_, (total + PAGE - 1) / PAGE).await;
            pages.push((format!("past the end ({total} rows)"), Some(last)));
        }
        for (which, before) in pages {
            let f = AuditFilter {
                before_seq: before,
                ..filter.clone()
            };
            let got: Vec<i64> = s
                .list_audit(g, &f, PAGE)
                .await
                .expect("audit")
                .iter()
                .map(|r| r.seq)
                .collect();
            let want: Vec<i64> = sqlx::query_scalar(&format!(
                "SELECT seq FROM audit_log WHERE guild_id = {GUILD} {where_} {}
                 ORDER BY seq DESC LIMIT {PAGE}",
                before.map(|b| format!("AND seq < {b}")).unwrap_or_default()
            ))
            .fetch_all(&pool)
            .await
            .expect("reference page");
            assert_eq!(got, want, "audit, {label}, {which}: not the reference page");
            scenarios.push(Scenario {
                page: "audit",
                name: format!("{label}, {which}"),
                target_ms: 100.0,
                self_timed: None,
                job: Box::new(move || {
                    let f = f.clone();
                    Box::pin(async move { s.list_audit(g, &f, PAGE).await.expect("audit").len() })
                }),
            });
        }
    }
    for (label, case_no) in [
        ("newest case", CASES),
        ("case 500,000", CASES / 2),
        ("case 300 (with a note)", 300),
    ] {
        let case_id: i64 =
            sqlx::query_scalar("SELECT case_id FROM moderation_cases WHERE case_no = $1")
                .bind(case_no)
                .fetch_one(&pool)
                .await
                .expect("case id");
        if case_no == 300 {
            // Against the containment query the index replaced (it reads every payload).
            let got: Vec<i64> = s
                .audit_for_case(g, case_id, case_no)
                .await
                .expect("case audit")
                .iter()
                .map(|r| r.seq)
                .collect();
            let want: Vec<i64> = sqlx::query_scalar(
                "SELECT seq FROM audit_log WHERE guild_id = $1 AND payload IS NOT NULL
                   AND (payload::jsonb @> jsonb_build_object('case_id', $2::bigint)
                        OR payload::jsonb @> jsonb_build_object('case_no', $3::bigint))
                 ORDER BY seq LIMIT 200",
            )
            .bind(GUILD)
            .bind(case_id)
            .bind(case_no)
            .fetch_all(&pool)
            .await
            .expect("reference rows");
            assert_eq!(got, want, "case {case_no}'s audit rows");
        }
        scenarios.push(Scenario {
            page: "case page audit rows",
            name: label.into(),
            target_ms: 100.0,
            self_timed: None,
            job: Box::new(move || {
                Box::pin(async move {
                    s.audit_for_case(g, case_id, case_no)
                        .await
                        .expect("case audit")
                        .len()
                })
            }),
        });
    }

    // The replay's rows: every message of the period, in (time, id) order, with join times.
    {
        let rows = s
            .replay_rows(g, day(7), WHATIF_MAX_MESSAGES)
            .await
            .expect("replay rows");
        let want: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM messages WHERE guild_id = $1 AND created_at >= $2",
        )
        .bind(GUILD)
        .bind(day(7))
        .fetch_one(&pool)
        .await
        .expect("count");
        assert_eq!(rows.len() as i64, want, "replay rows");
        assert!(rows
            .windows(2)
            .all(|w| (w[0].created_at, w[0].message_id) < (w[1].created_at, w[1].message_id)));
        assert!(rows.iter().all(|r| r.scores.len() == 6));
        let joined: Vec<(i64, Option<DateTime<Utc>>)> = sqlx::query_as(
            "SELECT msg.message_id, mem.joined_at FROM messages msg
             LEFT JOIN members mem ON mem.guild_id = msg.guild_id AND mem.user_id = msg.author_id
             WHERE msg.guild_id = $1 AND msg.created_at >= $2
             ORDER BY msg.created_at, msg.message_id LIMIT 1000",
        )
        .bind(GUILD)
        .bind(day(7))
        .fetch_all(&pool)
        .await
        .expect("join times");
        for ((id, at), r) in joined.iter().zip(&rows) {
            assert_eq!((*id as u64, *at), (r.message_id, r.joined_at), "join time");
        }
    }

    // What-if: 7 days (700,000 messages) through the current policy and a draft with a lower
    // warn threshold, as `Moderation::what_if` fetches and replays them.
    let (current, draft) = (&policies.0, &policies.1);
    scenarios.push(Scenario {
        page: "what-if",
        name: "7 days, 700,000 messages".into(),
        target_ms: 2000.0,
        self_timed: None,
        job: Box::new(move || {
            Box::pin(async move {
                let rows = s
                    .replay_rows(g, day(7), WHATIF_MAX_MESSAGES)
                    .await
                    .expect("replay rows");
                let w = replay_stored(current, draft, rows);
                w.messages as usize
            })
        }),
    });
    // Its two parts: reading the rows, and the replay of rows already in memory (timed
    // alone; the copy of the rows it starts from is not).
    scenarios.push(Scenario {
        page: "what-if",
        name: "  reading the rows".into(),
        target_ms: f64::NAN,
        self_timed: None,
        job: Box::new(move || {
            Box::pin(async move {
                s.replay_rows(g, day(7), WHATIF_MAX_MESSAGES)
                    .await
                    .expect("replay rows")
                    .len()
            })
        }),
    });
    let replay_only = std::rc::Rc::new(std::cell::Cell::new(0.0));
    let rows_cell = std::rc::Rc::new(std::cell::OnceCell::new());
    let (took, cell) = (replay_only.clone(), rows_cell.clone());
    scenarios.push(Scenario {
        page: "what-if",
        name: "  the replay".into(),
        target_ms: f64::NAN,
        self_timed: Some(replay_only),
        job: Box::new(move || {
            let (took, cell) = (took.clone(), cell.clone());
            Box::pin(async move {
                if cell.get().is_none() {
                    let rows = s
                        .replay_rows(g, day(7), WHATIF_MAX_MESSAGES)
                        .await
                        .expect("replay rows");
                    let _ = cell.set(rows);
                }
                let rows = cell.get().expect("rows read").clone();
                let t = Instant::now();
                let w = replay_stored(current, draft, rows);
                took.set(t.elapsed().as_secs_f64() * 1000.0);
                w.messages as usize
            })
        }),
    });

    let only = std::env::var("DASHBOARD_BENCH_ONLY").unwrap_or_default();
    let samples: usize = std::env::var("DASHBOARD_BENCH_SAMPLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60)
        .max(1);
    let mut results = Vec::new();
    for sc in scenarios
        .iter()
        .filter(|sc| only.is_empty() || format!("{} {}", sc.page, sc.name).contains(&only))
    {
        let mut rows = 0;
        for _ in 0..3 {
            rows = (sc.job)().await;
        }
        let mut times = Vec::with_capacity(samples);
        for _ in 0..samples {
            let t = Instant::now();
            rows = (sc.job)().await;
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            times.push(sc.self_timed.as_ref().map_or(ms, |c| c.get()));
        }
        times.sort_by(f64::total_cmp);
        let row = Row {
            page: sc.page,
            name: sc.name.clone(),
            rows,
            p50: percentile(&times, 0.5),
            p95: percentile(&times, 0.95),
            max: times[times.len() - 1],
            target_ms: sc.target_ms,
        };
        log(&format!(
            "{} / {}: p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms ({} rows)",
            row.page, row.name, row.p50, row.p95, row.max, row.rows
        ));
        results.push(row);
    }

    println!(
        "\n{samples} samples each; milliseconds; server and this process on the same machine\n"
    );
    println!("| page | scenario | rows | p50 | p95 | max | target (p95) |");
    println!("|---|---|---:|---:|---:|---:|---|");
    let mut missed = 0;
    for r in &results {
        let target = if r.target_ms.is_nan() {
            String::new()
        } else if r.p95 <= r.target_ms {
            format!("≤ {} ms: met", r.target_ms)
        } else {
            missed += 1;
            format!("≤ {} ms: **missed**", r.target_ms)
        };
        println!(
            "| {} | {} | {} | {:.1} | {:.1} | {:.1} | {} |",
            r.page,
            r.name.trim(),
            r.rows,
            r.p50,
            r.p95,
            r.max,
            target
        );
    }
    println!("\n{missed} scenario(s) over target");

    storage.close().await;
    if std::env::var("DASHBOARD_BENCH_KEEP").is_ok_and(|v| !v.is_empty() && v != "0") {
        log(&format!("kept {DB_NAME} (DASHBOARD_BENCH_KEEP)"));
    } else {
        let mut conn = admin().await;
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS \"{DB_NAME}\" WITH (FORCE)"
        ))
        .execute(&mut conn)
        .await
        .expect("drop the bench database");
        log(&format!("dropped {DB_NAME}"));
    }
}

fn main() {
    // `cargo test --benches` runs bench targets without `--bench`: nothing to seed then.
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("dashboard: run with `cargo bench --bench dashboard`");
        return;
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(run());
}
