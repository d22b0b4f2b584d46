//! Property tests: intact and redacted chains verify; any edit, deletion or swap is caught.

use super::*;
use proptest::prelude::*;

/// A valid chain of `n` rows built the way `append` builds them.
fn chain(n: usize) -> Vec<AuditRow> {
    let mut rows = Vec::with_capacity(n);
    let mut prev = GENESIS_HASH.to_string();
    for i in 0..n {
        let payload = format!("{{\"n\":{i}}}");
        let mut row = AuditRow {
            id: 10 + i as i64,
            guild_id: 7,
            seq: i as i64 + 1,
            kind: "case.created".into(),
            actor_id: None,
            target_id: Some(i as i64 % 3),
            created_at: DateTime::from_timestamp_micros(1_700_000_000_000_000 + i as i64)
                .unwrap_or_default(),
            content_digest: sha256_hex(payload.as_bytes()),
            payload: Some(payload),
            prev_hash: prev.clone(),
            row_hash: String::new(),
        };
        row.row_hash = row_hash(&row);
        prev = row.row_hash.clone();
        rows.push(row);
    }
    rows
}

fn head(rows: &[AuditRow]) -> Option<(i64, &str)> {
    Some(
        rows.last()
            .map_or((0, GENESIS_HASH), |r| (r.seq, r.row_hash.as_str())),
    )
}

proptest! {
    #[test]
    fn intact_and_redacted_chains_verify(n in 0usize..20, redact in proptest::collection::vec(any::<bool>(), 20)) {
        let mut rows = chain(n);
        for (r, red) in rows.iter_mut().zip(redact) {
            if red { r.payload = None; }
        }
        prop_assert_eq!(verify_rows(7, &rows, head(&rows)), Ok(n as u64));
    }

    #[test]
    fn any_single_edit_is_detected(n in 2usize..20, pick in any::<prop::sample::Index>(), field in 0u8..7) {
        let mut rows = chain(n);
        let head_seq = rows[n - 1].seq;
        let head_hash = rows[n - 1].row_hash.clone();
        let i = pick.index(n);
        let r = &mut rows[i];
        match field {
            0 => r.payload = Some("{\"n\":-1}".into()),
            1 => r.kind.push('x'),
            2 => r.actor_id = Some(99),
            3 => r.target_id = Some(99),
            4 => r.created_at += chrono::Duration::microseconds(1),
            5 => r.content_digest = sha256_hex(b"other"),
            _ => r.prev_hash = sha256_hex(b"other"),
        }
        let fault = verify_rows(7, &rows, Some((head_seq, &head_hash))).unwrap_err();
        prop_assert_eq!(fault.seq, rows[i].seq);
    }

    #[test]
    fn deletions_and_swaps_are_detected(n in 3usize..20, a in any::<prop::sample::Index>(), b in any::<prop::sample::Index>()) {
        let rows = chain(n);
        let full_head = (rows[n - 1].seq, rows[n - 1].row_hash.clone());
        let mut deleted = rows.clone();
        deleted.remove(a.index(n));
        prop_assert!(verify_rows(7, &deleted, Some((full_head.0, &full_head.1))).is_err());

        let (i, j) = (a.index(n), b.index(n));
        prop_assume!(i != j);
        let mut swapped = rows.clone();
        // Rows trade places in the chain (their stored positions swap).
        let (si, sj) = (swapped[i].seq, swapped[j].seq);
        swapped[i].seq = sj;
        swapped[j].seq = si;
        swapped.sort_by_key(|r| r.seq);
        let fault = verify_rows(7, &swapped, Some((full_head.0, &full_head.1))).unwrap_err();
        prop_assert_eq!(fault.seq, si.min(sj));
    }
}
