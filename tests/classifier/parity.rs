//! The bundled model reproduces the Python reference (tokenisation + onnxruntime) row for row.

use usmca_bot::classifier::Rules;

#[derive(serde::Deserialize)]
struct Row {
    text: String,
    input_ids: Vec<i64>,
    probs: serde_json::Map<String, serde_json::Value>,
}

fn rows() -> Vec<Row> {
    let text = std::fs::read_to_string(crate::repo_path("tests/fixtures/toxblock-reference.jsonl"))
        .unwrap_or_else(|e| panic!("reference fixture: {e}"));
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad row {l}: {e}")))
        .collect()
}

#[test]
fn raw_path_matches_reference_ids_and_probabilities() {
    let clf = crate::load("models/toxblock-lstm");
    let rows = rows();
    assert_eq!(rows.len(), 300, "the fixture has 300 rows");
    let texts: Vec<String> = rows.iter().map(|r| r.text.clone()).collect();
    let scores = clf
        .classify_raw_blocking(&texts)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(scores.len(), rows.len());
    let mut worst = 0f32;
    for (row, s) in rows.iter().zip(&scores) {
        let ids = clf
            .tokenize(&row.text, &Rules::NONE)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ids, row.input_ids, "ids differ for {:?}", row.text);
        assert_eq!(row.probs.len(), clf.labels().len());
        for (label, expected) in &row.probs {
            let expected = expected.as_f64().unwrap_or(f64::NAN) as f32;
            let got = s.get(label).unwrap_or(f32::NAN);
            let diff = (got - expected).abs();
            worst = worst.max(diff);
            assert!(
                diff <= 1e-4,
                "{label} for {:?}: {got} vs {expected}",
                row.text
            );
        }
    }
    eprintln!("largest probability difference: {worst:e}");
}

#[test]
fn batching_does_not_change_results() {
    let clf = crate::load("models/toxblock-lstm");
    let texts: Vec<String> = rows().into_iter().take(40).map(|r| r.text).collect();
    let together = clf
        .classify_raw_blocking(&texts)
        .unwrap_or_else(|e| panic!("{e}"));
    for (t, s) in texts.iter().zip(&together) {
        let alone = clf
            .classify_raw_blocking(std::slice::from_ref(t))
            .unwrap_or_else(|e| panic!("{e}"));
        for (a, b) in alone[0].values().iter().zip(s.values()) {
            assert!((a - b).abs() <= 1e-5, "{t:?}: {a} vs {b}");
        }
    }
}

#[test]
fn normalised_path_catches_evasions_the_raw_path_misses() {
    let clf = crate::load("models/toxblock-lstm");
    let evasions = [
        "s.t.u.p.i.d i.d.i.o.t",
        "ｙｏｕ ａｒｅ ａ ｓｔｕｐｉｄ ｉｄｉｏｔ",
        "st\u{200B}up\u{200B}id id\u{200D}iot",
    ];
    let texts: Vec<String> = evasions.iter().map(|s| s.to_string()).collect();
    let raw = clf
        .classify_raw_blocking(&texts)
        .unwrap_or_else(|e| panic!("{e}"));
    let norm = clf
        .classify_blocking(&texts)
        .unwrap_or_else(|e| panic!("{e}"));
    for ((t, r), n) in texts.iter().zip(&raw).zip(&norm) {
        let (r, n) = (r.get("toxic").unwrap_or(1.0), n.get("toxic").unwrap_or(0.0));
        assert!(r < 0.5 && n > 0.9, "{t:?}: raw {r}, normalised {n}");
    }
}

#[test]
fn fully_spaced_messages_are_re_split_into_words() {
    let clf = crate::load("models/toxblock-lstm");
    let texts = vec!["y o u a r e s t u p i d".to_string()];
    let raw = clf
        .classify_raw_blocking(&texts)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut no_segment = Rules::DEFAULT;
    no_segment.segment = false;
    let joined = clf
        .classify_blocking_with(&texts, &no_segment)
        .unwrap_or_else(|e| panic!("{e}"));
    let split = clf
        .classify_blocking(&texts)
        .unwrap_or_else(|e| panic!("{e}"));
    let toxic = |s: &[usmca_bot::classifier::Scores]| s[0].get("toxic").unwrap_or(f32::NAN);
    assert!(toxic(&raw) < 0.5 && toxic(&joined) < 0.5 && toxic(&split) > 0.9);
    let ids = clf
        .tokenize(&texts[0], &Rules::DEFAULT)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ids, vec![6, 18, 457]);
    // Words typed normally are never split, known or not.
    let plain = clf
        .tokenize("youarestupid", &Rules::DEFAULT)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(plain.is_empty());
}
