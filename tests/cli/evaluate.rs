//! `usmca-bot evaluate` on a small labelled CSV.

use super::{stderr, stdout, usmca};

fn dataset() -> tempfile::NamedTempFile {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        f.path(),
        "text,label\n\
         you are a stupid idiot,1\n\
         shut up you worthless moron,1\n\
         i will kill you,1\n\
         thank you for your help,0\n\
         what a lovely picture of your dog,0\n\
         see you at the meeting tomorrow,0\n\
         not scored,-1\n",
    )
    .unwrap();
    f
}

#[test]
fn reports_ranking_and_threshold_metrics() {
    let f = dataset();
    let path = f.path().to_string_lossy().into_owned();
    let out = usmca(
        &[
            "evaluate",
            "--dataset",
            &path,
            "--text-column",
            "text",
            "--label-column",
            "label",
            "--skip",
            "-1",
            "--json",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value =
        serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)));
    assert_eq!(v["rows"], 6);
    assert_eq!(v["positives"], 3);
    assert_eq!(v["skipped"], 1);
    assert!(v["roc_auc"].as_f64().unwrap_or(0.0) > 0.99, "{v}");
    let names: Vec<&str> = v["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t[0].as_str())
        .collect();
    assert!(
        names.contains(&"thresholds.warn") && names.contains(&"thresholds.ban"),
        "{names:?}"
    );
}

#[test]
fn unknown_column_or_label_says_what_exists() {
    let f = dataset();
    let path = f.path().to_string_lossy().into_owned();
    let out = usmca(
        &[
            "evaluate",
            "--dataset",
            &path,
            "--text-column",
            "tweet",
            "--label-column",
            "label",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("text, label"), "{}", stderr(&out));

    let out = usmca(
        &[
            "evaluate",
            "--dataset",
            &path,
            "--text-column",
            "text",
            "--label-column",
            "label",
            "--score",
            "spam",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("identity_hate"), "{}", stderr(&out));
}

#[test]
fn severity_weighs_labels_and_reports_delete_at_and_extra_thresholds() {
    let f = dataset();
    let path = f.path().to_string_lossy().into_owned();
    let run = |score: &str| {
        let out = usmca(
            &[
                "evaluate",
                "--dataset",
                &path,
                "--text-column",
                "text",
                "--label-column",
                "label",
                "--skip",
                "-1",
                "--score",
                score,
                "--at",
                "1.2",
                "--json",
            ],
            &[],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let v: serde_json::Value =
            serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)));
        v
    };
    let at = |v: &serde_json::Value, name: &str| -> Option<serde_json::Value> {
        v["thresholds"]
            .as_array()?
            .iter()
            .find(|t| t[0] == name)
            .map(|t| t[1].clone())
    };
    let severity = run("severity");
    assert_eq!(severity["score"], "severity");
    // Only the threat reaches 1.2: threat weighs 1.4 (behaviour.label_weights).
    let extra = at(&severity, "--at").unwrap_or_default();
    assert_eq!(extra["threshold"], 1.2, "{severity}");
    assert_eq!(extra["predicted_positive"], 1, "{severity}");
    assert_eq!(extra["precision"], 1.0, "{severity}");
    let delete = at(&severity, "enforcement.delete_at").unwrap_or_default();
    assert!(
        delete["threshold"]
            .as_f64()
            .is_some_and(|t| t > 0.0 && t <= 1.0),
        "{severity}"
    );
    // The raw maximum never reaches 1.2, and delete_at is only reported for severity.
    let max = run("max");
    assert_eq!(
        at(&max, "--at").map(|m| m["predicted_positive"].clone()),
        Some(0.into())
    );
    assert!(at(&max, "enforcement.delete_at").is_none(), "{max}");
}
