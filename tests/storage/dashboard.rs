//! The dashboard's reads: every case filter and keyset paging, daily message counts that never
//! count a replayed batch or an edit twice, audited grants, and the member's own cases.

use crate::db::TestDb;
use crate::warn_case;
use chrono::{Duration, Utc};
use std::collections::BTreeMap;
use usmca_bot::domain::{CaseAction, CaseStatus};
use usmca_bot::storage::{AuditFilter, CaseFilter, CaseOrigin, MessageRecord};

const GUILD: u64 = 91;
const OTHER: u64 = 92;

async fn seed_cases(db: &TestDb) {
    // 30 cases in GUILD: users 1..=3, actions warn/timeout/ban in turn, every 5th manual,
    // every 7th reversed; 2 in OTHER that must never show.
    for i in 0..30u64 {
        let mut c = warn_case(GUILD, 1 + i % 3, &format!("reason {i}"));
        c.action = [CaseAction::Warn, CaseAction::Timeout, CaseAction::Ban][(i % 3) as usize];
        c.actor_id = (i % 5 == 0).then_some(500);
        c.status = if i % 7 == 0 {
            CaseStatus::Reversed
        } else {
            CaseStatus::Applied
        };
        db.storage.record_case(&c).await.expect("case");
    }
    for i in 0..2 {
        db.storage
            .record_case(&warn_case(OTHER, 1, &format!("other {i}")))
            .await
            .expect("case");
    }
}

#[tokio::test]
async fn case_filters_and_keyset_pages_cover_every_case_once() {
    let db = TestDb::new().await;
    seed_cases(&db).await;
    let s = &db.storage;

    // Keyset paging: 7 per page, newest first, every case exactly once.
    let mut seen = Vec::new();
    let mut f = CaseFilter::default();
    loop {
        let page = s.list_cases(GUILD, &f, 7).await.expect("page");
        if page.is_empty() {
            break;
        }
        assert!(page.windows(2).all(|w| w[0].case_no > w[1].case_no));
        f.before_case_no = page.last().map(|c| c.case_no);
        seen.extend(page.into_iter().map(|c| c.case_no));
    }
    assert_eq!(seen, (1..=30).rev().collect::<Vec<i64>>());

    let count = |f: CaseFilter| async move { s.list_cases(GUILD, &f, 100).await.expect("list") };
    let by_member = count(CaseFilter {
        member: Some(2),
        ..Default::default()
    })
    .await;
    assert_eq!(by_member.len(), 10);
    assert!(by_member
        .iter()
        .all(|c| c.user_id == 2 && c.guild_id == GUILD));

    let bans = count(CaseFilter {
        action: Some("ban".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(bans.len(), 10);
    assert!(bans.iter().all(|c| c.action == CaseAction::Ban));

    let reversed = count(CaseFilter {
        status: Some("reversed".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(reversed.len(), 5, "cases 0, 7, 14, 21, 28");

    let manual = count(CaseFilter {
        origin: Some(CaseOrigin::Manual),
        ..Default::default()
    })
    .await;
    assert_eq!(manual.len(), 6);
    assert!(manual.iter().all(|c| c.actor_id == Some(500)));
    let auto = count(CaseFilter {
        origin: Some(CaseOrigin::Automatic),
        ..Default::default()
    })
    .await;
    assert_eq!(auto.len(), 24);

    let now = Utc::now();
    let today = count(CaseFilter {
        from: Some(now - Duration::hours(1)),
        to: Some(now + Duration::hours(1)),
        ..Default::default()
    })
    .await;
    assert_eq!(today.len(), 30);
    let tomorrow = count(CaseFilter {
        from: Some(now + Duration::days(1)),
        ..Default::default()
    })
    .await;
    assert!(tomorrow.is_empty());

    // Filters combine.
    let both = count(CaseFilter {
        member: Some(1),
        action: Some("warn".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(both.len(), 10);
}

fn message(id: u64, at: chrono::DateTime<Utc>, decision: &str, toxic: f64) -> MessageRecord {
    MessageRecord {
        message_id: id,
        guild_id: GUILD,
        channel_id: 5,
        author_id: 7,
        created_at: at,
        edited_at: None,
        scores: BTreeMap::from([("toxic".to_string(), toxic), ("insult".to_string(), 0.1)]),
        decision: decision.to_string(),
        content: None,
    }
}

#[tokio::test]
async fn daily_counts_never_count_a_replay_or_an_edit_twice() {
    let db = TestDb::new().await;
    let s = &db.storage;
    let today = Utc::now();
    let yesterday = today - Duration::days(1);
    let batch = vec![
        message(1, yesterday, "none", 0.1),
        message(2, today, "none", 0.2),
        message(3, today, "warn", 0.9),
        message(4, today, "delete", 0.95),
    ];
    s.insert_messages(&batch, false).await.expect("insert");
    // The same batch again (a writer retry after a lost commit reply) and an edit of #3.
    s.insert_messages(&batch, false).await.expect("replay");
    let mut edit = message(3, today, "timeout", 0.97);
    edit.edited_at = Some(today);
    s.insert_messages(&[edit], false).await.expect("edit");

    let days = s
        .message_days(
            GUILD,
            yesterday.date_naive(),
            today.date_naive() + Duration::days(1),
        )
        .await
        .expect("days");
    let get = |day: chrono::NaiveDate, key: &str| {
        days.iter()
            .find(|d| d.day == day && d.key == key)
            .map_or(0, |d| d.count)
    };
    assert_eq!(get(yesterday.date_naive(), ""), 1);
    assert_eq!(get(today.date_naive(), ""), 3);
    assert_eq!(get(today.date_naive(), "toxic"), 2, "{days:?}");
    assert_eq!(s.count_messages(GUILD).await.expect("count"), 4);
}

#[tokio::test]
async fn grants_are_audited_and_idempotent() {
    let db = TestDb::new().await;
    let s = &db.storage;
    assert!(s
        .set_grant(GUILD, "user", 42, 1, true)
        .await
        .expect("grant"));
    assert!(!s
        .set_grant(GUILD, "user", 42, 1, true)
        .await
        .expect("again"));
    assert!(s.set_grant(GUILD, "role", 43, 1, true).await.expect("role"));
    let grants = s.grants(GUILD).await.expect("list");
    assert_eq!(grants.len(), 2);
    assert!(s.grants(OTHER).await.expect("other").is_empty());
    assert!(s
        .set_grant(GUILD, "user", 42, 1, false)
        .await
        .expect("revoke"));
    assert_eq!(s.grants(GUILD).await.expect("list").len(), 1);

    let rows = s
        .list_audit(GUILD, &AuditFilter::default(), 10)
        .await
        .expect("audit");
    let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "dashboard.access_revoked",
            "dashboard.access_granted",
            "dashboard.access_granted"
        ],
        "newest first, one row per change, none for the no-op"
    );
    let only = s
        .list_audit(
            GUILD,
            &AuditFilter {
                kind: Some("dashboard.access_revoked".into()),
                ..Default::default()
            },
            10,
        )
        .await
        .expect("filtered");
    assert_eq!(only.len(), 1);
    assert_eq!(only[0].target_id, Some(42));
    s.verify_audit(Some(GUILD)).await.expect("chain intact");
}

#[tokio::test]
async fn a_member_sees_only_their_own_cases_everywhere() {
    let db = TestDb::new().await;
    seed_cases(&db).await;
    let mine = db.storage.cases_of_user(1, 100).await.expect("mine");
    // User 1: 10 cases in GUILD and 2 in OTHER; nobody else's.
    assert_eq!(mine.len(), 12);
    assert!(mine.iter().all(|c| c.user_id == 1));
    let guilds: std::collections::BTreeSet<u64> = mine.iter().map(|c| c.guild_id).collect();
    assert_eq!(guilds.into_iter().collect::<Vec<_>>(), vec![GUILD, OTHER]);
}

/// The overview's counts (kept by triggers, the first day's rest read from the cases) and the
/// day-by-day list with dates agree with plain queries over the cases, for any `from`.
#[tokio::test]
async fn overview_counts_and_dated_lists_match_plain_queries() {
    let db = TestDb::new().await;
    let s = &db.storage;
    // Cases at 10:00 UTC three days ago, one a minute apart, then some now: automatic warns,
    // a manual ban, a dry run; one reversed.
    let base = (Utc::now() - Duration::days(3))
        .date_naive()
        .and_hms_opt(10, 0, 0)
        .expect("a time")
        .and_utc();
    for i in 0..6i64 {
        let mut c = warn_case(GUILD, 1 + i as u64 % 2, &format!("old {i}"));
        c.action = if i % 2 == 0 {
            CaseAction::Timeout
        } else {
            CaseAction::Warn
        };
        s.record_case_keyed(&c, Some(base + Duration::minutes(i)), None)
            .await
            .expect("backdated case");
    }
    let mut manual = warn_case(GUILD, 3, "manual");
    manual.action = CaseAction::Ban;
    manual.actor_id = Some(500);
    s.record_case(&manual).await.expect("manual");
    let mut dry = warn_case(GUILD, 3, "dry run");
    dry.dry_run = true;
    s.record_case(&dry).await.expect("dry run");
    for i in 0..3 {
        s.record_case(&warn_case(GUILD, 4, &format!("new {i}")))
            .await
            .expect("case");
    }
    s.record_case(&warn_case(OTHER, 4, "other guild"))
        .await
        .expect("other");
    s.reverse_case(GUILD, 2, 500, "mistake")
        .await
        .expect("reverse");
    s.reverse_case(GUILD, 9, 500, "mistake")
        .await
        .expect("reverse");

    let days_ref = |from: chrono::DateTime<Utc>| async move {
        let rows: Vec<(chrono::NaiveDate, String, i64)> = sqlx::query_as(
            "SELECT (created_at AT TIME ZONE 'UTC')::date, action, count(*) FROM moderation_cases
             WHERE guild_id = $1 AND created_at >= $2 AND NOT dry_run GROUP BY 1, 2 ORDER BY 1, 2",
        )
        .bind(GUILD as i64)
        .bind(from)
        .fetch_all(s.pool())
        .await
        .expect("reference days");
        rows
    };
    let rates_ref = |from: chrono::DateTime<Utc>| async move {
        let row: (i64, i64) = sqlx::query_as(
            "SELECT count(*), count(*) FILTER (WHERE status = 'reversed') FROM moderation_cases
             WHERE guild_id = $1 AND created_at >= $2 AND actor_id IS NULL AND NOT dry_run",
        )
        .bind(GUILD as i64)
        .bind(from)
        .fetch_one(s.pool())
        .await
        .expect("reference rates");
        row
    };
    for from in [
        base - Duration::days(2),
        base,
        base + Duration::seconds(90),
        base + Duration::minutes(10),
        Utc::now() + Duration::days(1),
    ] {
        let days: Vec<_> = s
            .case_days(GUILD, from)
            .await
            .expect("days")
            .into_iter()
            .map(|d| (d.day, d.key, d.count))
            .collect();
        assert_eq!(days, days_ref(from).await, "case_days from {from}");
        let r = s.decision_rates(GUILD, from).await.expect("rates");
        assert_eq!(
            (r.automatic_cases, r.automatic_reversed),
            rates_ref(from).await,
            "decision_rates from {from}"
        );
    }
    let r = s.decision_rates(GUILD, base).await.expect("rates");
    assert_eq!((r.automatic_cases, r.automatic_reversed), (9, 2));

    // Dates: the same pages, in case-number order, as one query over every case.
    for (from, to) in [
        (Some(base + Duration::seconds(30)), None),
        (None, Some(base + Duration::minutes(3))),
        (
            Some(base - Duration::days(1)),
            Some(Utc::now() + Duration::hours(1)),
        ),
    ] {
        for action in [None, Some("warn".to_string())] {
            let mut f = CaseFilter {
                from,
                to,
                action: action.clone(),
                ..Default::default()
            };
            let mut seen = Vec::new();
            loop {
                let page = s.list_cases(GUILD, &f, 2).await.expect("page");
                if page.is_empty() {
                    break;
                }
                f.before_case_no = page.last().map(|c| c.case_no);
                seen.extend(page.into_iter().map(|c| c.case_no));
            }
            let want: Vec<i64> = sqlx::query_scalar(
                "SELECT case_no FROM moderation_cases WHERE guild_id = $1
                   AND ($2::timestamptz IS NULL OR created_at >= $2)
                   AND ($3::timestamptz IS NULL OR created_at < $3)
                   AND ($4::text IS NULL OR action = $4)
                 ORDER BY case_no DESC",
            )
            .bind(GUILD as i64)
            .bind(from)
            .bind(to)
            .bind(action)
            .fetch_all(s.pool())
            .await
            .expect("reference list");
            assert_eq!(seen, want, "from {from:?} to {to:?}");
        }
    }

    // A case's audit rows: its creation and reversal.
    let case = s.case(GUILD, 2).await.expect("read").expect("case 2");
    let kinds: Vec<String> = s
        .audit_for_case(GUILD, case.case_id, 2)
        .await
        .expect("case audit")
        .into_iter()
        .map(|r| r.kind)
        .collect();
    assert_eq!(kinds, ["case.created", "case.reversed"]);
}
