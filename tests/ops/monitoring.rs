//! deploy/prometheus and deploy/grafana: valid, and every `usmca_*` series they use is one the
//! daemon exports (src/telemetry/metrics.rs).

use crate::{assert_success, read, root, which, yaml};
use regex::Regex;
use serde_yaml::Value;
use std::collections::BTreeSet;
use usmca_bot::telemetry::Metrics;

const RULES: &str = "deploy/prometheus/rules/usmca-bot.yml";
const RULE_TESTS: &str = "deploy/prometheus/tests/usmca-bot.test.yml";
const DASHBOARD: &str = "deploy/grafana/dashboards/usmca-bot.json";

/// Every series name `/metrics` can contain (histograms as `_bucket`, `_sum`, `_count`).
fn exported_series() -> BTreeSet<String> {
    let m = Metrics::new();
    // Vectors appear only once a label set exists.
    m.decisions.with_label_values(&["warn", "false"]).inc();
    m.discord_requests
        .with_label_values(&["POST /channels/{id}/messages", "200"])
        .inc();
    m.gateway_latency_ms.with_label_values(&["0"]).set(40);
    m.incidents.with_label_values(&["join_surge"]).inc();
    m.appeals.with_label_values(&["filed"]).inc();
    let mut out = BTreeSet::new();
    for line in m.render().lines() {
        let mut parts = line.split_whitespace();
        if let (Some("#"), Some("TYPE"), Some(name), Some(kind)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        {
            if kind == "histogram" || kind == "summary" {
                for suffix in ["_bucket", "_sum", "_count"] {
                    out.insert(format!("{name}{suffix}"));
                }
            } else {
                out.insert(name.to_string());
            }
        }
    }
    out
}

fn usmca_names(expr: &str) -> Vec<String> {
    let re = Regex::new(r"\busmca_[a-z0-9_]+").expect("static");
    re.find_iter(expr).map(|m| m.as_str().to_string()).collect()
}

/// (alert name, expr, severity) for every rule.
fn alert_rules() -> Vec<(String, String, String)> {
    let doc = yaml(RULES);
    let groups = doc["groups"].as_sequence().expect("rules file has groups");
    let mut out = Vec::new();
    for group in groups {
        for rule in group["rules"].as_sequence().expect("group has rules") {
            let name = rule["alert"].as_str().expect("only alerting rules");
            let expr = rule["expr"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: no expr"));
            let severity = rule["labels"]["severity"].as_str().unwrap_or_default();
            assert!(
                rule["annotations"]["summary"].as_str().is_some(),
                "{name}: no summary annotation"
            );
            out.push((name.to_string(), expr.to_string(), severity.to_string()));
        }
    }
    out
}

/// Every PromQL expression of the dashboard, with its panel title.
fn dashboard_exprs() -> Vec<(String, String)> {
    let dash: serde_json::Value =
        serde_json::from_str(&read(DASHBOARD)).expect("dashboard is valid JSON");
    let provisioned = yaml("deploy/grafana/provisioning/datasources/prometheus.yml");
    let uid = provisioned["datasources"][0]["uid"]
        .as_str()
        .expect("datasource uid");
    let mut out = Vec::new();
    for panel in dash["panels"].as_array().expect("panels") {
        let title = panel["title"].as_str().unwrap_or_default().to_string();
        assert_eq!(panel["datasource"]["uid"], uid, "{title}: datasource uid");
        for target in panel["targets"].as_array().expect("targets") {
            out.push((
                title.clone(),
                target["expr"].as_str().expect("expr").to_string(),
            ));
        }
    }
    out
}

#[test]
fn rules_and_dashboard_use_only_exported_metrics() {
    let exported = exported_series();
    assert!(
        exported.contains("usmca_messages_received_total"),
        "{exported:?}"
    );
    let mut unknown = Vec::new();
    let rules = alert_rules()
        .into_iter()
        .map(|(n, e, _)| (format!("alert {n}"), e));
    let panels = dashboard_exprs()
        .into_iter()
        .map(|(t, e)| (format!("panel {t}"), e));
    for (place, expr) in rules.chain(panels) {
        for name in usmca_names(&expr) {
            if !exported.contains(&name) {
                unknown.push(format!("{place}: {name}"));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "series not exported by Metrics (src/telemetry/metrics.rs): {unknown:#?}"
    );
}

#[test]
fn dashboard_covers_the_operators_questions() {
    let exprs: Vec<String> = dashboard_exprs().into_iter().map(|(_, e)| e).collect();
    let shows = |needle: &str| exprs.iter().any(|e| e.contains(needle));
    for needle in [
        "rate(usmca_messages_received_total",
        "histogram_quantile(0.5, sum by (le) (rate(usmca_receipt_to_decision_seconds_bucket",
        "histogram_quantile(0.99, sum by (le) (rate(usmca_receipt_to_decision_seconds_bucket",
        "usmca_messages_actioned_total",
        "usmca_classifier_queue_depth",
        "usmca_discord_rate_limited_total",
        "usmca_incidents_total",
        "probe_success",
    ] {
        assert!(shows(needle), "no dashboard panel queries {needle}");
    }
}

#[test]
fn alerts_cover_down_not_ready_queue_429s_and_invalid_requests() {
    let rules = alert_rules();
    let alerting_on = |needle: &str| rules.iter().any(|(_, e, _)| e.contains(needle));
    for needle in [
        "up{job=\"usmca-bot\"} == 0",
        "probe_success",
        "usmca_classifier_queue_depth",
        "usmca_discord_rate_limited_total",
        "usmca_discord_invalid_requests",
    ] {
        assert!(alerting_on(needle), "no alert rule on {needle}");
    }
    for (name, _, severity) in &rules {
        assert!(
            ["critical", "warning", "info"].contains(&severity.as_str()),
            "{name}: severity {severity:?}"
        );
    }
}

#[test]
fn invalid_request_alerts_follow_the_guard_budget() {
    let rules = alert_rules();
    let expr = |name: &str| {
        rules
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, e, _)| e.clone())
            .unwrap_or_else(|| panic!("no alert {name}"))
    };
    // Both compare the count with the budget the bot exports, so they fire at the guard's own
    // numbers, not at Discord's 10,000 which the guard never lets the bot reach.
    assert_eq!(
        expr("UsmcaInvalidRequestGuardHalfSpent"),
        "usmca_discord_invalid_requests >= 0.5 * usmca_discord_invalid_request_budget"
    );
    assert_eq!(
        expr("UsmcaInvalidRequestGuardTripped"),
        "usmca_discord_invalid_requests >= usmca_discord_invalid_request_budget"
    );
    // The promtool rule test feeds the guard's real default budget.
    let tests = yaml(RULE_TESTS);
    let budget_series = tests["tests"]
        .as_sequence()
        .expect("tests")
        .iter()
        .flat_map(|t| t["input_series"].as_sequence().cloned().unwrap_or_default())
        .find(|s| {
            s["series"]
                .as_str()
                .is_some_and(|n| n.starts_with("usmca_discord_invalid_request_budget"))
        })
        .expect("a rule test feeds usmca_discord_invalid_request_budget");
    let values = budget_series["values"].as_str().unwrap_or_default();
    assert_eq!(
        values.split('x').next(),
        Some(
            usmca_bot::discord::guard::DEFAULT_INVALID_REQUEST_BUDGET
                .to_string()
                .as_str()
        ),
        "the rule test's budget is not the guard's default"
    );
}

#[test]
fn prometheus_scrapes_the_compose_bot_and_loads_the_rules() {
    let config = yaml("deploy/prometheus/prometheus.yml");
    let files = config["rule_files"].as_sequence().expect("rule_files");
    assert!(
        files.iter().any(|f| f.as_str() == Some("rules/*.yml")),
        "rule_files must load rules/*.yml: {files:?}"
    );
    let jobs = config["scrape_configs"]
        .as_sequence()
        .expect("scrape_configs");
    let targets = |job: &str| -> Vec<String> {
        let cfg = jobs
            .iter()
            .find(|j| j["job_name"].as_str() == Some(job))
            .unwrap_or_else(|| panic!("no scrape job {job}"));
        cfg["static_configs"][0]["targets"]
            .as_sequence()
            .map(|t| {
                t.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    };
    // The rules select these job names; the compose service is `bot` on port 8080.
    assert_eq!(targets("usmca-bot"), ["bot:8080"]);
    assert_eq!(targets("usmca-bot-ready"), ["http://bot:8080/readyz"]);
}

#[test]
fn promtool_accepts_config_rules_and_rule_tests() {
    let Some(promtool) = which("promtool") else {
        // The structural tests above still run; promtool comes with Debian's `prometheus` package.
        eprintln!("promtool not on PATH: skipping promtool check config/rules and test rules");
        return;
    };
    let dir = root();
    assert_success(
        "promtool check config",
        &crate::run(
            &promtool,
            &["check", "config", "deploy/prometheus/prometheus.yml"],
            dir,
        ),
    );
    assert_success(
        "promtool check rules",
        &crate::run(&promtool, &["check", "rules", RULES], dir),
    );
    assert_success(
        "promtool test rules",
        &crate::run(&promtool, &["test", "rules", RULE_TESTS], dir),
    );
}
