//! The Hugging Face path: the real Detoxify tokenizer and a BERT-architecture graph
//! (tests/fixtures/tiny-bert, from scripts/make-test-bert.py) against Python onnxruntime outputs.

use usmca_bot::classifier::{Classifier, ClassifierError, Rules};

#[derive(serde::Deserialize)]
struct Row {
    text: String,
    input_ids: Vec<i64>,
    probs: serde_json::Map<String, serde_json::Value>,
}

fn rows() -> Vec<Row> {
    let text =
        std::fs::read_to_string(crate::repo_path("tests/fixtures/tiny-bert/reference.jsonl"))
            .unwrap_or_else(|e| panic!("reference fixture: {e}"));
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad row {l}: {e}")))
        .collect()
}

#[test]
fn padded_batches_match_python_onnxruntime() {
    let clf = crate::load("tests/fixtures/tiny-bert");
    assert_eq!(clf.model_name(), "tiny-bert-test");
    let rows = rows();
    assert!(rows.len() >= 36, "a few dozen reference texts");
    // Python ran each text alone; here they go in padded batches of up to 32 of mixed lengths.
    let texts: Vec<String> = rows.iter().map(|r| r.text.clone()).collect();
    let scores = clf
        .classify_raw_blocking(&texts)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut worst = 0f32;
    for (row, s) in rows.iter().zip(&scores) {
        let ids = clf
            .tokenize(&row.text, &Rules::NONE)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ids, row.input_ids, "ids differ for {:?}", row.text);
        assert!(ids.len() <= 64, "truncated to max_length");
        for (label, expected) in &row.probs {
            let expected = expected.as_f64().unwrap_or(f64::NAN) as f32;
            let got = s.get(label).unwrap_or(f32::NAN);
            worst = worst.max((got - expected).abs());
            assert!(
                (got - expected).abs() <= 1e-4,
                "{label} for {:?}: {got} vs {expected}",
                row.text
            );
        }
    }
    eprintln!("largest probability difference: {worst:e}");
}

#[test]
fn the_real_tokenizer_produces_wordpiece_ids() {
    let clf = crate::load("tests/fixtures/tiny-bert");
    let ids = clf
        .tokenize("You are a stupid idiot!", &Rules::NONE)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ids, vec![101, 2017, 2024, 1037, 5236, 10041, 999, 102]);
    // Normalisation runs before the tokenizer on this path too.
    let evaded = clf
        .tokenize("ｓｔｕｐｉｄ i.d.i.o.t", &Rules::DEFAULT)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(evaded, vec![101, 5236, 10041, 102]);
}

#[tokio::test]
async fn the_worker_serves_transformer_models() {
    let clf = crate::load("tests/fixtures/tiny-bert");
    let rows = rows();
    let texts: Vec<String> = rows.iter().map(|r| r.text.clone()).collect();
    let queued = clf
        .classify_batch(texts.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let direct = clf
        .classify_blocking(&texts)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(queued.len(), texts.len());
    for (a, b) in queued.iter().zip(&direct) {
        for (x, y) in a.values().iter().zip(b.values()) {
            assert!((x - y).abs() <= 1e-5);
        }
    }
}

#[test]
fn a_weights_checksum_mismatch_is_refused() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let src = crate::repo_path("tests/fixtures/tiny-bert");
    for f in ["model.onnx", "model.toml"] {
        std::fs::copy(src.join(f), dir.path().join(f)).unwrap_or_else(|e| panic!("{e}"));
    }
    let tok = crate::repo_path("tests/fixtures/detoxify-tokenizer/tokenizer.json");
    let manifest = std::fs::read_to_string(dir.path().join("model.toml")).unwrap_or_default();
    let sha_line = manifest
        .lines()
        .find(|l| l.starts_with("sha256"))
        .unwrap_or_default()
        .to_string();
    let manifest = manifest
        .replace(
            "../detoxify-tokenizer/tokenizer.json",
            &tok.display().to_string(),
        )
        .replace(&sha_line, &format!("sha256 = \"{}\"", "0".repeat(64)));
    std::fs::write(dir.path().join("model.toml"), manifest).unwrap_or_else(|e| panic!("{e}"));
    let mut cfg = crate::model_config("unused");
    cfg.dir = dir.path().to_path_buf();
    match Classifier::load(&cfg) {
        Err(ClassifierError::Checksum { expected, .. }) => assert_eq!(expected, "0".repeat(64)),
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("a model with the wrong checksum loaded"),
    }
}
