use crate::db::TestDb;
use crate::warn_case;
use chrono::Utc;
use usmca_bot::domain::{AppealDecision, AppealStatus, CaseAction, CaseStatus};
use usmca_bot::storage::{MessageRecord, NewIncident, StorageError};

#[tokio::test]
async fn case_numbers_are_sequential_per_guild_under_concurrency() {
    let db = TestDb::new().await;
    // Enough connections that all 16 inserts per guild really run at once.
    let storage = db.storage_with_pool(32).await;
    let mut tasks = Vec::new();
    for i in 0..16u64 {
        for guild in [10u64, 20] {
            let s = storage.clone();
            tasks.push(tokio::spawn(async move {
                (
                    guild,
                    s.record_case(&warn_case(guild, 500 + i, "concurrent"))
                        .await,
                )
            }));
        }
    }
    let mut per_guild: std::collections::BTreeMap<u64, Vec<i64>> = Default::default();
    for t in tasks {
        let (guild, no) = t.await.unwrap();
        per_guild
            .entry(guild)
            .or_default()
            .push(no.expect("case recorded"));
    }
    for (guild, mut nos) in per_guild {
        nos.sort_unstable();
        assert_eq!(nos, (1..=16).collect::<Vec<i64>>(), "guild {guild}");
        let stored: Vec<i64> = sqlx::query_scalar(
            "SELECT case_no FROM moderation_cases WHERE guild_id = $1 ORDER BY case_no",
        )
        .bind(guild as i64)
        .fetch_all(db.storage.pool())
        .await
        .unwrap();
        assert_eq!(stored, (1..=16).collect::<Vec<i64>>());
    }
    // Every case landed with its audit row, and concurrent appends did not fork the chain.
    let report = storage.verify_audit(None).await.expect("chain intact");
    storage.close().await;
    assert_eq!(report.rows, 32);
    assert_eq!(report.chains, 2);
}

#[tokio::test]
async fn case_lifecycle_history_and_failed_cases() {
    let db = TestDb::new().await;
    let s = &db.storage;
    let (guild, user) = (77u64, 175_928_847_299_117_063u64);
    let now = Utc::now();
    s.insert_messages(
        &[MessageRecord {
            message_id: 9001,
            guild_id: guild,
            channel_id: 5,
            author_id: user,
            created_at: now,
            edited_at: None,
            scores: [("toxic".to_string(), 0.93)].into_iter().collect(),
            decision: "warn".into(),
            content: None,
        }],
        true,
    )
    .await
    .unwrap();
    let warn = s
        .record_case(&warn_case(guild, user, "insults"))
        .await
        .unwrap();
    let mut timeout = warn_case(guild, user, "repeat");
    timeout.action = CaseAction::Timeout;
    timeout.status = CaseStatus::Pending;
    timeout.expires_at = Some(now + chrono::Duration::minutes(10));
    let to = s.record_case(&timeout).await.unwrap();
    assert_eq!((warn, to), (1, 2));

    // Discord answered 403: the case stays, marked failed with the reason.
    s.set_case_status(
        guild,
        to,
        CaseStatus::Failed,
        Some("403 Missing Permissions"),
    )
    .await
    .unwrap();
    let failed = s.case(guild, to).await.unwrap().expect("case exists");
    assert_eq!(failed.status, CaseStatus::Failed);
    assert_eq!(
        failed.error_note.as_deref(),
        Some("403 Missing Permissions")
    );
    assert!(s.case(guild, 99).await.unwrap().is_none());

    let open = s.open_cases(guild, 10).await.unwrap();
    assert_eq!(open.iter().map(|c| c.case_no).collect::<Vec<_>>(), vec![1]);

    let reversed = s
        .reverse_case(guild, warn, 4242, "false positive")
        .await
        .unwrap();
    assert_eq!(reversed.status, CaseStatus::Reversed);
    assert_eq!(reversed.reversed_by, Some(4242));
    assert!(matches!(
        s.reverse_case(guild, warn, 4242, "again").await,
        Err(StorageError::Conflict(_))
    ));
    assert!(matches!(
        s.reverse_case(guild, 50, 4242, "nope").await,
        Err(StorageError::NotFound(_))
    ));
    assert!(s.open_cases(guild, 10).await.unwrap().is_empty());

    let h = s.member_history(guild, user, 10).await.unwrap();
    assert_eq!(h.cases.len(), 2);
    assert_eq!(h.messages.len(), 1);
    let member = h.member.expect("member row from the message write");
    assert_eq!(member.message_count, 1);
    // Snowflake 175928847299117063 was created at 2016-04-30T11:18:25.796Z.
    assert_eq!(
        member.account_created_at.timestamp_millis(),
        1_462_015_105_796
    );
    assert_eq!(s.verify_audit(Some(guild)).await.unwrap().rows, 4);
}

#[tokio::test]
async fn one_open_appeal_per_case() {
    let db = TestDb::new().await;
    let s = &db.storage;
    let no = s.record_case(&warn_case(1, 2, "spam")).await.unwrap();
    let appeal = s.create_appeal(1, no, 2, "it was a joke").await.unwrap();
    assert_eq!(appeal.status, AppealStatus::Open);
    assert!(matches!(
        s.create_appeal(1, no, 2, "again").await,
        Err(StorageError::Conflict(_))
    ));
    // Only the member the case is about may appeal it.
    assert!(matches!(
        s.create_appeal(1, no, 3, "me too").await,
        Err(StorageError::NotFound(_))
    ));
    assert_eq!(s.open_appeals(1).await.unwrap().len(), 1);
    let decided = s
        .decide_appeal(appeal.appeal_id, 99, AppealDecision::Reject, "no")
        .await
        .unwrap();
    assert_eq!(decided.status, AppealStatus::Rejected);
    assert_eq!(decided.reviewer_id, Some(99));
    assert!(matches!(
        s.decide_appeal(
            appeal.appeal_id,
            99,
            AppealDecision::Accept,
            "changed my mind"
        )
        .await,
        Err(StorageError::Conflict(_))
    ));
    // Once decided, a new appeal may be filed.
    let second = s.create_appeal(1, no, 2, "new evidence").await.unwrap();
    assert_ne!(second.appeal_id, appeal.appeal_id);
    assert!(s.open_appeals(1).await.unwrap().len() == 1);
}

#[tokio::test]
async fn incidents_open_extend_close() {
    let db = TestDb::new().await;
    let s = &db.storage;
    let t0 = Utc::now();
    let id = s
        .insert_incident(&NewIncident {
            guild_id: 8,
            channel_id: Some(80),
            kind: "coordinated".into(),
            window_start: t0,
            window_end: t0,
            participants: vec![1, 2, 2, 3],
            response: serde_json::json!({ "slowmode_s": 30 }),
        })
        .await
        .unwrap();
    let later = t0 + chrono::Duration::seconds(40);
    let inc = s.update_incident(id, later, &[3, 4], None).await.unwrap();
    let mut p = inc.participants.clone();
    p.sort_unstable();
    assert_eq!(p, vec![1, 2, 3, 4]);
    assert_eq!(inc.window_end.timestamp_micros(), later.timestamp_micros());
    let closed = s
        .close_incident(id, &serde_json::json!({ "slowmode_s": 30, "timeouts": 2 }))
        .await
        .unwrap();
    assert!(closed.closed_at.is_some());
    assert!(matches!(
        s.update_incident(id, later, &[5], None).await,
        Err(StorageError::NotFound(_))
    ));
    let found = s
        .incidents_between(
            8,
            t0 - chrono::Duration::minutes(1),
            t0 + chrono::Duration::minutes(1),
        )
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].response["timeouts"], 2);
    assert!(s
        .incidents_between(
            8,
            t0 + chrono::Duration::hours(1),
            t0 + chrono::Duration::hours(2)
        )
        .await
        .unwrap()
        .is_empty());
    assert_eq!(s.verify_audit(Some(8)).await.unwrap().rows, 2);
}
