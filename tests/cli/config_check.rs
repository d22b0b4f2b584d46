//! `usmca-bot config check`.

use super::{stderr, stdout, usmca};

#[test]
fn misordered_thresholds_exit_2_naming_both_keys() {
    let out = usmca(
        &["config", "check"],
        &[
            ("USMCA_THRESHOLDS__WARN", "0.9"),
            ("USMCA_THRESHOLDS__TIMEOUT", "0.5"),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("thresholds.warn") && err.contains("thresholds.timeout"),
        "{err}"
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let out = usmca(
        &["config", "check"],
        &[
            ("USMCA_THRESHOLDS__BAN", "1.5"),
            ("USMCA_ENFORCEMENT__TIMEOUT_LADDER", "[\"10m\", \"30d\"]"),
            ("USMCA_ENFORCEMENT__COOLDOWN", "soon"),
            ("USMCA_MODEL__DIR", "/nonexistent/model"),
            ("REDIS_URL", "http://cache:6379"),
            ("USMCA_MODEL__MAX_BATCH", "lots"),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    for key in [
        "thresholds.ban",
        "enforcement.timeout_ladder[1]",
        "enforcement.cooldown",
        "model.dir",
        "redis.url",
        "model.max_batch",
    ] {
        assert!(err.contains(key), "{key} missing from:\n{err}");
    }
}

#[test]
fn valid_configuration_prints_with_secrets_redacted() {
    let token = "MTAxMjM0NTY3ODkw.secret-token-value";
    let out = usmca(
        &["config", "check"],
        &[
            ("DISCORD_TOKEN", token),
            ("DATABASE_URL", "postgres://bot:hunter2@db:5432/usmca"),
            ("USMCA_THRESHOLDS__TIMEOUT", "0.8"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("timeout = 0.8"), "{text}");
    assert!(text.contains("[redacted]"), "{text}");
    assert!(text.contains("bot:***@db"), "{text}");
    let all = text + &stderr(&out);
    assert!(
        !all.contains("secret-token-value") && !all.contains("hunter2"),
        "{all}"
    );
}

#[test]
fn config_file_layers_under_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mine.toml");
    std::fs::write(&file, "[thresholds]\nwarn = 0.5\ntimeout = 0.7\n").unwrap();
    let path = file.to_string_lossy().into_owned();
    let out = usmca(
        &["--config", &path, "config", "check"],
        &[("USMCA_THRESHOLDS__TIMEOUT", "0.65")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("warn = 0.5") && text.contains("timeout = 0.65"),
        "{text}"
    );

    let missing = usmca(&["--config", "/nonexistent.toml", "config", "check"], &[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("/nonexistent.toml"));
}
