use crate::db::TestDb;
use crate::warn_case;
use std::process::Command;
use usmca_bot::storage::{AuditVerifyError, ChainFault, FaultKind, Storage};

const GUILD: u64 = 4_000;

async fn seed(s: &Storage, rows: u64) {
    for i in 0..rows {
        s.record_case(&warn_case(GUILD, 100 + i, &format!("reason {i}")))
            .await
            .unwrap();
    }
}

async fn fault(s: &Storage) -> ChainFault {
    match s.verify_audit(Some(GUILD)).await {
        Err(AuditVerifyError::Fault(f)) => f,
        other => panic!("expected a chain fault, got {other:?}"),
    }
}

async fn exec(s: &Storage, sql: &str) {
    sqlx::query(sql).execute(s.pool()).await.unwrap();
}

fn verify_binary(db: &TestDb, guild: Option<u64>) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_usmca-bot"));
    cmd.args(["audit", "verify"]);
    if let Some(g) = guild {
        cmd.args(["--guild", &g.to_string()]);
    }
    cmd.env("DATABASE_URL", &db.url)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run binary")
}

#[tokio::test]
async fn intact_chain_verifies() {
    let db = TestDb::new().await;
    seed(&db.storage, 5).await;
    let r = db.storage.verify_audit(Some(GUILD)).await.unwrap();
    assert_eq!((r.chains, r.rows), (1, 5));
}

#[tokio::test]
async fn detects_update_of_payload_and_of_hashed_field() {
    let db = TestDb::new().await;
    let s = &db.storage;
    seed(s, 5).await;
    exec(s, "UPDATE audit_log SET payload = replace(payload, 'reason 2', 'nothing happened') WHERE seq = 3").await;
    let f = fault(s).await;
    assert_eq!((f.seq, f.kind.clone()), (3, FaultKind::ContentMismatch));
    assert!(f.to_string().contains("seq 3"), "{f}");

    // An edit that keeps the payload but changes a hashed column.
    let db = TestDb::new().await;
    let s = &db.storage;
    seed(s, 5).await;
    exec(s, "UPDATE audit_log SET target_id = 1 WHERE seq = 2").await;
    let f = fault(s).await;
    assert_eq!((f.seq, f.kind), (2, FaultKind::HashMismatch));
}

#[tokio::test]
async fn detects_deleted_rows_in_the_middle_and_at_the_end() {
    let db = TestDb::new().await;
    let s = &db.storage;
    seed(s, 5).await;
    exec(s, "DELETE FROM audit_log WHERE seq = 3").await;
    let f = fault(s).await;
    assert_eq!((f.seq, f.kind.clone()), (4, FaultKind::Gap { expected: 3 }));
    assert!(f.to_string().contains("row seq 3 is missing"), "{f}");

    let db = TestDb::new().await;
    let s = &db.storage;
    seed(s, 5).await;
    exec(s, "DELETE FROM audit_log WHERE seq = 5").await;
    let f = fault(s).await;
    assert_eq!(f.kind, FaultKind::MissingTail { head_seq: 5 });
}

#[tokio::test]
async fn detects_swapped_rows() {
    let db = TestDb::new().await;
    let s = &db.storage;
    seed(s, 5).await;
    // Swap the positions of rows 2 and 4.
    exec(s, "UPDATE audit_log SET seq = -seq WHERE seq IN (2, 4)").await;
    exec(
        s,
        "UPDATE audit_log SET seq = CASE seq WHEN -2 THEN 4 ELSE 2 END WHERE seq < 0",
    )
    .await;
    let f = fault(s).await;
    assert_eq!(f.seq, 2);
    assert_eq!(
        f.kind,
        FaultKind::Order {
            follows_seq: Some(3)
        }
    );

    // Adjacent swap, including the ids, so only the hashes tell.
    let db = TestDb::new().await;
    let s = &db.storage;
    seed(s, 4).await;
    exec(
        s,
        "UPDATE audit_log SET seq = -seq, id = -id WHERE seq IN (2, 3)",
    )
    .await;
    exec(s, "UPDATE audit_log SET seq = CASE seq WHEN -2 THEN 3 ELSE 2 END, id = CASE id WHEN -2 THEN 3 ELSE 2 END WHERE seq < 0").await;
    let f = fault(s).await;
    assert_eq!(f.seq, 2);
    assert!(matches!(f.kind, FaultKind::Order { .. }), "{f}");
}

#[tokio::test]
async fn binary_reports_first_bad_row_and_passes_when_intact() {
    let db = TestDb::new().await;
    seed(&db.storage, 4).await;
    let ok = verify_binary(&db, Some(GUILD));
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("4 rows checked"));

    exec(
        &db.storage,
        "UPDATE audit_log SET kind = 'case.deleted' WHERE seq = 2",
    )
    .await;
    let bad = verify_binary(&db, None);
    assert_eq!(bad.status.code(), Some(4));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("seq 2") && err.contains("hash mismatch"),
        "{err}"
    );
}

#[tokio::test]
async fn chain_still_verifies_after_privacy_forget() {
    let db = TestDb::new().await;
    let s = &db.storage;
    seed(s, 3).await;
    let n = s
        .record_case(&warn_case(GUILD, 101, "second offence"))
        .await
        .unwrap();
    assert_eq!(n, 4);
    let report = s.forget_user(101, Some(GUILD), Some(9)).await.unwrap();
    assert_eq!(report.cases_redacted, 2);
    assert_eq!(report.audit_rows_redacted, 2);
    // Payloads are gone but digests remain.
    let redacted: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE target_id = 101 AND payload IS NULL AND content_digest <> ''",
    )
    .fetch_one(s.pool())
    .await
    .unwrap();
    assert_eq!(redacted, 2);
    // 4 cases + the forget record itself.
    assert_eq!(s.verify_audit(Some(GUILD)).await.unwrap().rows, 5);
    let kind: String =
        sqlx::query_scalar("SELECT kind FROM audit_log WHERE seq = 5 AND guild_id = $1")
            .bind(GUILD as i64)
            .fetch_one(s.pool())
            .await
            .unwrap();
    assert_eq!(kind, "privacy.forget");
    let out = verify_binary(&db, Some(GUILD));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Tampering with a redacted row is still caught through its digest.
    exec(
        s,
        "UPDATE audit_log SET content_digest = repeat('0', 64) WHERE seq = 2",
    )
    .await;
    let f = fault(s).await;
    assert_eq!((f.seq, f.kind), (2, FaultKind::HashMismatch));
}
