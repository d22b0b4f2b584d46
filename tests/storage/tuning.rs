//! The tuning loop: labelled cases exported for `evaluate`, and `calibrate` proposing thresholds
//! whose reversal rate on the labelled set meets the target.

use crate::db::TestDb;
use crate::warn_case;
use usmca_bot::domain::calibration::{self, Labelled};

const GUILD: u64 = 77;

/// 40 labelled cases: reversals cluster at low scores, as false positives do.
fn seeded() -> Vec<(f64, bool, &'static str)> {
    (0..40)
        .map(|i| {
            let score = 0.60 + f64::from(i) * 0.01;
            // Below 0.70, two in three were reversed; above, one in ten.
            let reversed = if score < 0.70 {
                i % 3 != 0
            } else {
                i % 10 == 0
            };
            let text = if reversed {
                "that movie was killer"
            } else {
                "you worthless idiot"
            };
            (score, !reversed, text)
        })
        .collect()
}

async fn seed(db: &TestDb) {
    for (i, (score, confirmed, text)) in seeded().into_iter().enumerate() {
        let mut case = warn_case(GUILD, 1_000 + i as u64, "automatic");
        case.behaviour_score = Some(score);
        case.message_excerpt = Some(text.to_string());
        let r = db
            .storage
            .record_case_keyed(&case, None, None)
            .await
            .expect("case");
        db.storage
            .set_case_label(
                r.case_id,
                if confirmed { "confirmed" } else { "reversed" },
                5,
            )
            .await
            .expect("label");
    }
}

fn run(db: &TestDb, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_usmca-bot"))
        .args(args)
        .env("DATABASE_URL", &db.url)
        .env_remove("USMCA_CONFIG")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run binary")
}

#[test]
fn calibrate_meets_the_target_on_the_labelled_set_and_says_what_recall_it_keeps() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let db = rt.block_on(TestDb::new());
    rt.block_on(seed(&db));

    let out = run(
        &db,
        &[
            "calibrate",
            "--guild",
            &GUILD.to_string(),
            "--max-reversal-rate",
            "0.1",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The proposal, measured again here on the same labelled set.
    let line = text
        .lines()
        .find(|l| l.starts_with("proposal: warn "))
        .unwrap_or_else(|| panic!("no proposal in\n{text}"));
    let warn: f64 = line["proposal: warn ".len()..]
        .split_whitespace()
        .next()
        .and_then(|w| w.parse().ok())
        .expect("warn threshold");
    let labelled: Vec<Labelled> = seeded()
        .into_iter()
        .map(|(score, confirmed, _)| Labelled { score, confirmed })
        .collect();
    let kept: Vec<&Labelled> = labelled.iter().filter(|l| l.score >= warn - 1e-9).collect();
    let reversed = kept.iter().filter(|l| !l.confirmed).count();
    let rate = reversed as f64 / kept.len() as f64;
    assert!(rate <= 0.1, "reversal rate {rate} at warn {warn}");
    let confirmed_total = labelled.iter().filter(|l| l.confirmed).count();
    let recall = kept.iter().filter(|l| l.confirmed).count() as f64 / confirmed_total as f64;
    assert!(recall > 0.8, "recall kept {recall}");
    assert!(line.contains(&format!("recall {recall:.3}")), "{line}");
    // And it is the best such threshold.
    let best = calibration::propose(&labelled, 0.1).expect("proposal");
    assert!((best.threshold - warn).abs() < 1e-3, "{best:?} vs {warn}");
}

#[test]
fn exported_labels_feed_evaluate_directly() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let db = rt.block_on(TestDb::new());
    rt.block_on(seed(&db));
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("labels.csv");
    let out = run(
        &db,
        &[
            "labels",
            "export",
            "--guild",
            &GUILD.to_string(),
            "--output",
            csv.to_str().unwrap_or_default(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&csv).expect("csv");
    assert_eq!(text.lines().count(), 41, "header and 40 cases");
    assert!(text.starts_with("case_no,action,behaviour_score,label,text"));
    let eval = run(
        &db,
        &[
            "evaluate",
            "--dataset",
            csv.to_str().unwrap_or_default(),
            "--text-column",
            "text",
            "--label-column",
            "label",
            "--positive",
            "confirmed",
        ],
    );
    let report = String::from_utf8_lossy(&eval.stdout).to_string();
    assert!(
        eval.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&eval.stderr)
    );
    assert!(report.contains("40"), "{report}");
}
