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

/// The actions `scan` may decide.
const ACTIONS: [&str; 6] = ["none", "warn", "delete", "timeout", "kick", "ban"];

#[test]
fn every_row_carries_a_decision_and_json_is_one_report() {
    let out = usmca(&["scan", SAMPLE, "--format", "jsonl"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    let mut acted = 0;
    for row in &rows {
        let action = row["action"].as_str().unwrap_or("missing");
        assert!(ACTIONS.contains(&action), "action {action:?} in {row}");
        let reason = row["reason"].as_str().unwrap_or_default();
        assert!(!reason.is_empty(), "reason missing in {row}");
        if action != "none" {
            acted += 1;
        }
    }
    // The sample has two heavy offenders: some decisions must be more than "none".
    assert!(acted > 0, "no message of the sample was acted on");

    let out = usmca(&["scan", SAMPLE, "--format", "json"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("--format json is not one JSON object: {e}"));
    let messages = report["messages"].as_array().map(Vec::len);
    assert_eq!(messages, Some(sample_message_count()));
    assert!(report["actions"].is_object(), "{}", report["actions"]);
    assert!(report["incidents"].is_array(), "{}", report["incidents"]);
}

/// Writes a JSON-lines export of `n` messages: the sample's real tweets reused round-robin,
/// 200 synthetic authors in 5 channels, one message every 0.5–3 s (deterministic).
fn large_export(n: usize) -> tempfile::NamedTempFile {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/davidson-conversation.json"
    ))
    .unwrap_or_else(|e| panic!("sample export: {e}"));
    let v: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("sample export: {e}"));
    let tweets: Vec<String> = v["messages"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(|m| m["content"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    assert!(tweets.len() >= 300, "the sample has its tweets");
    let start = chrono::DateTime::parse_from_rfc3339("2026-10-01T00:00:00Z")
        .unwrap_or_else(|e| panic!("{e}"));
    let mut rng = 7u64;
    let mut next = |m: u64| {
        // xorshift64: deterministic, no dependency.
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % m
    };
    let mut f = std::io::BufWriter::new(tempfile::NamedTempFile::new().unwrap());
    let mut at_ms = 0i64;
    for i in 0..n {
        at_ms += 500 + next(2_500) as i64;
        let row = serde_json::json!({
            "id": (1_180_000_000_001_000_000u64 + i as u64).to_string(),
            "author_id": (1_100_000_000_000_000_000u64 + next(200)).to_string(),
            "channel_id": (1_180_000_000_000_000_100u64 + next(5)).to_string(),
            "guild_id": "1180000000000000001",
            "timestamp": (start + chrono::Duration::milliseconds(at_ms)).to_rfc3339(),
            "content": tweets[i % tweets.len()],
        });
        writeln!(f, "{row}").unwrap();
    }
    f.into_inner().unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_50000_message_export_completes() {
    const N: usize = 50_000;
    let export = large_export(N);
    let path = export.path().to_string_lossy().into_owned();
    let started = std::time::Instant::now();
    let out = usmca(&["scan", &path, "--format", "jsonl"], &[]);
    let elapsed = started.elapsed();
    assert!(out.status.success(), "{}", stderr(&out));
    let mut ids = std::collections::HashSet::new();
    let mut actions = std::collections::BTreeMap::<String, usize>::new();
    for line in stdout(&out).lines() {
        let row: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON: {line}: {e}"));
        ids.insert(row["id"].as_str().unwrap_or_default().to_string());
        let action = row["action"].as_str().unwrap_or("missing").to_string();
        assert!(ACTIONS.contains(&action.as_str()), "{row}");
        *actions.entry(action).or_default() += 1;
    }
    assert_eq!(ids.len(), N, "one row per message, none dropped or doubled");
    assert!(
        actions.get("none").copied().unwrap_or(0) < N,
        "nothing decided: {actions:?}"
    );
    eprintln!("scanned {N} messages in {elapsed:?}: {actions:?}");
}

#[test]
fn rows_split_deletion_by_content_from_sanction_by_behaviour() {
    let out = usmca(
        &["scan", SAMPLE, "--format", "jsonl", "--state", "memory"],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    let (mut deleted_unsanctioned, mut sanctioned_kept) = (0, 0);
    for row in &rows {
        let delete = row["delete"].as_bool().unwrap_or_else(|| panic!("{row}"));
        let severity = row["severity"].as_f64().unwrap_or_else(|| panic!("{row}"));
        let sanction = row["sanction"].as_str().unwrap_or_else(|| panic!("{row}"));
        // Deletion follows the message's severity alone (delete_at 0.985 by default).
        assert_eq!(delete, severity >= 0.985, "{row}");
        let action = row["action"].as_str().unwrap_or_default();
        let expected = match action {
            "delete" => "none",
            "timeout" => "timeout",
            a => a,
        };
        assert!(
            sanction.starts_with(expected),
            "{sanction} for {action}: {row}"
        );
        let reason = row["reason"].as_str().unwrap_or_default();
        assert!(
            reason.contains(if delete {
                "message deleted by content"
            } else {
                "message kept by content"
            }),
            "{row}"
        );
        if delete && sanction == "none" {
            deleted_unsanctioned += 1;
        }
        if !delete && sanction != "none" {
            sanctioned_kept += 1;
        }
    }
    // The sample has both: abuse from members whose standing calls for no sanction is removed,
    // and repeat offenders' milder messages stay up while the ladder climbs.
    assert!(
        deleted_unsanctioned > 0 && sanctioned_kept > 0,
        "{deleted_unsanctioned} / {sanctioned_kept}"
    );

    let table = usmca(&["scan", SAMPLE, "--state", "memory"], &[]);
    let text = stdout(&table);
    assert!(
        text.contains("Deleted for what they say (severity >= enforcement.delete_at 0.985)")
            && text.contains(
                "Sanctioned for how the member behaves (behaviour score >= thresholds warn 0.60"
            ),
        "{text}"
    );
    // A server trying a lower delete_at sees more deleted, and the same sanctions.
    let lower = usmca(
        &["scan", SAMPLE, "--state", "memory"],
        &[("USMCA_ENFORCEMENT__DELETE_AT", "0.9")],
    );
    let lower = stdout(&lower);
    let count = |t: &str, prefix: &str| -> u64 {
        t.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.split("): ").nth(1))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {prefix:?} line in:\n{t}"))
    };
    let prefix = "Deleted for what they say";
    assert!(
        count(&lower, prefix) > count(&text, prefix),
        "{lower}\n{text}"
    );
    // The sanction table: (sanction, messages) per row.
    let sanctions = |t: &str| -> Vec<String> {
        let table = t.split("\nsanction ").nth(1).unwrap_or_default();
        table
            .lines()
            .skip(1)
            .take_while(|l| !l.trim().is_empty())
            .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
            .collect()
    };
    assert!(sanctions(&text).len() >= 2, "{text}");
    assert_eq!(sanctions(&lower), sanctions(&text));
}

const SERVER_EXPORT: &str = "examples/server-export";

#[test]
fn a_folder_of_channel_exports_is_one_merged_report() {
    // Three channels, one file each (as DiscordChatExporter writes them): one report, the same
    // decisions as the single-channel sample they were split from (merged back in time order).
    let whole = usmca(
        &["scan", SAMPLE, "--state", "memory", "--format", "json"],
        &[],
    );
    let split = usmca(
        &[
            "scan",
            SERVER_EXPORT,
            "--state",
            "memory",
            "--format",
            "json",
        ],
        &[],
    );
    assert!(split.status.success(), "{}", stderr(&split));
    let a: serde_json::Value = serde_json::from_str(&stdout(&whole)).unwrap();
    let b: serde_json::Value = serde_json::from_str(&stdout(&split)).unwrap();
    assert_eq!(
        b["sources"].as_array().map(Vec::len),
        Some(3),
        "{}",
        b["sources"]
    );
    assert_eq!(
        b["messages"].as_array().map(Vec::len),
        Some(sample_message_count())
    );
    let names: Vec<&str> = b["channels"]
        .as_object()
        .map(|m| m.values().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names.len(), 3, "{names:?}");
    for n in ["general", "memes", "off-topic"] {
        assert!(names.contains(&n), "{names:?}");
    }
    // Time order across the files, and the decisions of the unsplit conversation.
    let stamps: Vec<&str> = b["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["timestamp"].as_str())
        .collect();
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "not in time order");
    assert_eq!(a["actions"], b["actions"]);
    // The table names the file count.
    let table = usmca(&["scan", SERVER_EXPORT, "--state", "memory"], &[]);
    assert!(
        stdout(&table).contains(&format!(
            "Scanned {} message(s) from 3 files",
            sample_message_count()
        )),
        "{}",
        stdout(&table)
    );
}

#[test]
fn a_folder_without_exports_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = usmca(&["scan", dir.path().to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no .json or .jsonl"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn csv_has_a_header_and_one_row_per_message() {
    let out = usmca(
        &["scan", SAMPLE, "--state", "memory", "--format", "csv"],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let header = text.lines().next().unwrap_or_default();
    assert!(
        header.starts_with("id,timestamp,channel_id,author_id,max_label,max_score,severity,delete")
            && header.ends_with("identity_hate"),
        "{header}"
    );
    // Reasons span lines inside quotes: count records by their leading message id.
    let records = text
        .split("\r\n")
        .filter(|r| r.starts_with("118000000000010"))
        .count();
    assert_eq!(records, sample_message_count());
}

/// Chromium and where it is, or `None` (the test then says why it skips).
fn chromium() -> Option<std::path::PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|p| p.join(name))
                    .find(|p| p.is_file())
            })
        })
}

/// Serves `body` at `/report.html` on a loopback port and records every request path.
fn serve_recording(
    body: Vec<u8>,
) -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) {
    use std::io::{BufRead, BufReader};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
            // Chromium opens spare (preconnect) sockets that never carry a request.
            if path.is_empty() {
                continue;
            }
            log.lock().unwrap().push(path.clone());
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).map_or(true, |n| n == 0) || h == "\r\n" {
                    break;
                }
            }
            let mut stream = reader.into_inner();
            let (status, bytes): (&str, &[u8]) = if path == "/report.html" {
                ("200 OK", &body)
            } else {
                ("404 Not Found", b"not here")
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                bytes.len()
            );
            let _ = stream.write_all(bytes);
        }
    });
    (addr, seen)
}

#[test]
fn html_report_draws_its_charts_offline_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.html");
    let out = usmca(
        &[
            "scan",
            SERVER_EXPORT,
            "--state",
            "memory",
            "--format",
            "html",
            "--output",
            report.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("default-src 'none'"));
    let Some(browser) = chromium() else {
        eprintln!(
            "SKIPPED html_report_draws_its_charts_offline_in_chromium: no chromium on PATH \
             (apt-get install -y chromium chromium-driver; scripts/test.sh installs it)"
        );
        return;
    };
    let (addr, seen) = serve_recording(html.into_bytes());
    let profile = tempfile::tempdir().unwrap();
    let dom = std::process::Command::new(&browser)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("http://{addr}/report.html"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", browser.display()));
    let dom = String::from_utf8_lossy(&dom.stdout).into_owned();
    assert!(
        dom.contains("data-rendered=\"true\""),
        "the page script did not finish:\n{}",
        &dom[..dom.len().min(2000)]
    );
    // Both histograms, the member bars and the timeline are drawn as SVG.
    assert_eq!(
        dom.matches("class=\"usmca-chart\"").count(),
        4,
        "charts missing"
    );
    assert!(
        dom.matches("class=\"bar\"").count() >= 50,
        "histogram bars missing"
    );
    assert!(
        dom.contains("class=\"threshold\""),
        "threshold lines missing"
    );
    assert!(dom.contains("class=\"point\""), "timeline points missing");
    assert!(dom.contains("class=\"seg\""), "member action bars missing");
    assert!(dom.contains("hemlock"), "top messages table missing");
    // The page itself was the only request: it fetches nothing else, not even a favicon.
    let requests = seen.lock().unwrap().clone();
    assert_eq!(
        requests,
        vec!["/report.html".to_string()],
        "requests: {requests:?}"
    );
}
