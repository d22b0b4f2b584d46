//! `usmca-bot scan` on the bundled sample export and on broken inputs.

use super::{stderr, stdout, usmca};
use std::io::Write;

const SAMPLE: &str = "examples/davidson-conversation.json";

fn sample_message_count() -> usize {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/davidson-conversation.json"
    ))
    .unwrap_or_else(|e| panic!("sample export: {e}"));
    let v: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("sample export: {e}"));
    v["messages"].as_array().map(Vec::len).unwrap_or(0)
}

#[test]
fn table_summarises_the_sample() {
    let out = usmca(&["scan", SAMPLE], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("Scanned {} message(s)", sample_message_count())),
        "{text}"
    );
    for section in [
        "label",
        "toxic",
        "identity_hate",
        "Top offending users",
        "Most toxic messages",
    ] {
        assert!(text.contains(section), "{section} missing:\n{text}");
    }
    // The sample's two heaviest offenders are its most flagged authors.
    let offenders = text.split("Top offending users").nth(1).unwrap_or_default();
    let first = offenders.lines().nth(2).unwrap_or_default();
    assert!(
        first.contains("hemlock") || first.contains("spruce"),
        "{offenders}"
    );
}

#[test]
fn jsonl_has_one_object_per_message() {
    let out = usmca(&["scan", SAMPLE, "--format", "jsonl"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    assert_eq!(lines.len(), sample_message_count());
    for row in &lines {
        for key in [
            "id",
            "author_id",
            "channel_id",
            "timestamp",
            "scores",
            "max_label",
            "max_score",
        ] {
            assert!(row.get(key).is_some(), "{key} missing in {row}");
        }
        let max = row["max_score"].as_f64().unwrap_or(-1.0);
        let scores = row["scores"].as_object().map(|o| o.len()).unwrap_or(0);
        assert_eq!(scores, 6);
        assert!((0.0..=1.0).contains(&max));
        assert_eq!(
            row["scores"][row["max_label"].as_str().unwrap_or("?")].as_f64(),
            Some(max)
        );
    }
}

#[test]
fn malformed_messages_are_counted_not_dropped() {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    writeln!(f, r#"{{"id":"1","author_id":"9","channel_id":"3","timestamp":"2026-01-01T00:00:00Z","content":"you are a stupid idiot"}}"#).unwrap();
    writeln!(
        f,
        r#"{{"id":"2","author_id":"9","channel_id":"3","content":"no timestamp"}}"#
    )
    .unwrap();
    writeln!(f, r#"{{"id":"3","author_id":"8","channel_id":"3","timestamp":"2026-01-01T00:01:00Z","content":"lovely day"}}"#).unwrap();
    let path = f.path().to_string_lossy().into_owned();

    let table = usmca(&["scan", &path], &[]);
    assert!(table.status.success(), "{}", stderr(&table));
    let text = stdout(&table);
    assert!(text.contains("Scanned 2 message(s)"), "{text}");
    assert!(
        text.contains("Skipped 1 malformed message(s)") && text.contains("line 2"),
        "{text}"
    );

    let jsonl = usmca(&["scan", &path, "--format", "jsonl"], &[]);
    assert_eq!(stdout(&jsonl).lines().count(), 2);
    assert!(
        stderr(&jsonl).contains("1 malformed message(s) skipped; first at line 2"),
        "{}",
        stderr(&jsonl)
    );
}

#[test]
fn broken_file_is_a_clear_error() {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    write!(
        f,
        "{{\n  \"guild\": {{\"id\": \"1\"}},\n  \"messages\": [ {{ \"id\": \n"
    )
    .unwrap();
    let out = usmca(&["scan", &f.path().to_string_lossy()], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("line"), "{}", stderr(&out));

    let missing = usmca(&["scan", "does-not-exist.json"], &[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("does-not-exist.json"));
}
