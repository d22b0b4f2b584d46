//! `usmca-bot classify` as a user runs it: the built binary, stdin and exit status.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn classify(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_usmca-bot"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("USMCA_CONFIG")
        .arg("classify")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn usmca-bot: {e}"));
    let mut input = child.stdin.take().unwrap_or_else(|| panic!("no stdin"));
    let data = stdin.to_vec();
    // Write from another thread so a large input cannot deadlock against a full stdout pipe.
    let writer = std::thread::spawn(move || input.write_all(&data));
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("wait: {e}"));
    let _ = writer.join();
    out
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

#[test]
fn empty_lines_are_classified_and_stay_aligned() {
    let out = classify(
        &["--json"],
        b"you are a stupid idiot\n\nthank you for your help\r\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["text"], "you are a stupid idiot");
    assert_eq!(lines[1]["text"], "");
    assert_eq!(lines[2]["text"], "thank you for your help");
    assert!(lines[0]["max_score"].as_f64().unwrap_or(0.0) > 0.9);
    assert!(lines[1]["scores"]["toxic"].as_f64().unwrap_or(1.0) < 0.1);
    let labels: Vec<&String> = lines[0]["scores"]
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(labels.len(), 6);
}

#[test]
fn a_100_kb_line_is_classified() {
    let mut input = "hello friend ".repeat(100 * 1024 / 13).into_bytes();
    input.extend_from_slice(b"you stupid idiot\nnext line\n");
    assert!(input.len() > 100 * 1024);
    let out = classify(&["--json"], &input);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2);
    // The word-index model keeps the LAST 100 tokens, so the insult at the end counts.
    assert!(
        lines[0]["scores"]["insult"].as_f64().unwrap_or(0.0) > 0.5,
        "{}",
        lines[0]["scores"]
    );
    assert_eq!(lines[1]["text"], "next line");
}

#[test]
fn invalid_utf8_names_the_line_and_fails_after_printing_earlier_lines() {
    let out = classify(
        &[],
        b"first line\nsecond line\nbad \xff\xfe bytes\nnever classified\n",
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 3") && stderr.contains("UTF-8"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert!(stdout.contains("first line") && stdout.contains("second line"));
    assert!(!stdout.contains("never classified"));
}

#[test]
fn arguments_are_classified_in_text_form() {
    let out = classify(
        &["i will kill you", "what a lovely picture of your dog"],
        b"",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0].contains("threat=0.9") && lines[0].ends_with("i will kill you"),
        "{stdout}"
    );
    assert!(lines[1].starts_with("toxic=0.1"), "{stdout}");
}

#[test]
fn a_missing_runtime_library_names_the_fix() {
    let out = Command::new(env!("CARGO_BIN_EXE_usmca-bot"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env(
            "USMCA_MODEL__RUNTIME_PATH",
            "/nonexistent/libonnxruntime.so",
        )
        .args(["classify", "hello"])
        .output()
        .unwrap_or_else(|e| panic!("spawn usmca-bot: {e}"));
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("scripts/setup-onnxruntime.sh") && stderr.contains("model.runtime_path"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn shows_deletion_by_content_and_sanction_by_behaviour() {
    let run = |env: &[(&str, &str)]| {
        let out = Command::new(env!("CARGO_BIN_EXE_usmca-bot"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_remove("USMCA_CONFIG")
            .env_remove("USMCA_ENFORCEMENT__DELETE_AT")
            .envs(env.iter().copied())
            .args([
                "classify",
                "--json",
                "you are a worthless idiot",
                "what a stupid idea",
            ])
            .output()
            .unwrap_or_else(|e| panic!("spawn usmca-bot: {e}"));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        json_lines(&out)
    };
    let lines = run(&[]);
    let (insult, rude) = (&lines[0], &lines[1]);
    // What it says: the insult is deleted whoever writes it, the rude remark stays.
    assert_eq!(insult["delete"], true, "{insult}");
    assert_eq!(rude["delete"], false, "{rude}");
    assert!(
        insult["severity"].as_f64().unwrap_or(0.0) >= 0.985,
        "{insult}"
    );
    // How the member behaves: a first offence is a warning (or nothing), a repeat offence a
    // timeout — for the kept message too.
    assert_eq!(insult["first_offence"]["sanction"], "warn", "{insult}");
    assert_eq!(
        insult["repeat_offence"]["sanction"], "timeout 10m",
        "{insult}"
    );
    assert_eq!(rude["first_offence"]["sanction"], "none", "{rude}");
    assert_eq!(rude["repeat_offence"]["sanction"], "timeout 10m", "{rude}");
    assert!(
        rude["repeat_offence"]["behaviour"].as_f64().unwrap_or(0.0)
            > rude["first_offence"]["behaviour"].as_f64().unwrap_or(1.0),
        "{rude}"
    );
    // Trying a lower delete_at: the rude remark would be deleted too; the sanctions stay.
    let lower = run(&[("USMCA_ENFORCEMENT__DELETE_AT", "0.9")]);
    assert_eq!(lower[1]["delete"], true, "{}", lower[1]);
    assert_eq!(lower[1]["repeat_offence"], rude["repeat_offence"]);

    // The text form says the same.
    let out = classify(&["what a stupid idea"], b"");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("\tkeep (severity 0.92")
            && stdout.contains(
                "< delete_at 0.985)\tfirst offence: none · repeat offence: timeout 10m\t"
            ),
        "{stdout}"
    );
}
