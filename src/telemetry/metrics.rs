//! Prometheus metrics. One [`Metrics`] per process, shared as `Arc<Metrics>`; every stage
//! records into it and `/metrics` renders it in the Prometheus text format.

use prometheus::{
    exponential_buckets, Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

/// Every metric the daemon exports.
pub struct Metrics {
    registry: Registry,
    /// Messages received from the gateway.
    pub messages_received: IntCounter,
    /// Messages the classifier scored.
    pub messages_classified: IntCounter,
    /// Messages that led to an action other than `none`, by action.
    pub messages_actioned: IntCounterVec,
    /// Decisions by action (including `none`) and whether they were dry-run.
    pub decisions: IntCounterVec,
    /// Time from receipt to decision.
    pub decision_latency: Histogram,
    /// Time one inference batch took.
    pub classification_latency: Histogram,
    /// Messages per inference batch.
    pub batch_size: Histogram,
    /// Messages waiting for the classifier.
    pub queue_depth: IntGauge,
    /// Discord REST calls by route and status.
    pub discord_requests: IntCounterVec,
    /// 429 answers from Discord.
    pub discord_rate_limited: IntCounter,
    /// Invalid requests (401/403/429) in the current 10-minute window.
    pub discord_invalid_requests: IntGauge,
    /// The invalid-request guard's budget: at this many invalid answers in 10 minutes the bot
    /// stops calling Discord (alerts compare the count with it).
    pub discord_invalid_request_budget: IntGauge,
    /// Automatic actions waiting for their guild's action budget.
    pub waiting_actions: IntGauge,
    /// Records in the local journal not yet replayed into Postgres.
    pub journal_depth: IntGauge,
    /// Journal writes or replays that failed.
    pub journal_errors: IntCounter,
    /// Gateway heartbeat latency per shard, in milliseconds.
    pub gateway_latency_ms: IntGaugeVec,
    /// Brigade incidents opened, by kind.
    pub incidents: IntCounterVec,
    /// Appeals by outcome (`filed`, `approved`, `denied`).
    pub appeals: IntCounterVec,
    /// Postgres errors.
    pub postgres_errors: IntCounter,
    /// Redis errors.
    pub redis_errors: IntCounter,
    /// 1 while Redis is unreachable and in-process windows stand in.
    pub redis_degraded: IntGauge,
    /// Rows waiting in the batched message writer.
    pub writer_queue: IntGauge,
    /// Age of the oldest unwritten row, in milliseconds.
    pub writer_lag_ms: IntGauge,
}

fn counter(r: &Registry, name: &str, help: &str) -> IntCounter {
    let c = IntCounter::new(name, help).expect("metric names are static and valid");
    r.register(Box::new(c.clone()))
        .expect("each metric is registered once");
    c
}

fn counter_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels)
        .expect("metric names are static and valid");
    r.register(Box::new(c.clone()))
        .expect("each metric is registered once");
    c
}

fn gauge(r: &Registry, name: &str, help: &str) -> IntGauge {
    let g = IntGauge::new(name, help).expect("metric names are static and valid");
    r.register(Box::new(g.clone()))
        .expect("each metric is registered once");
    g
}

fn histogram(r: &Registry, name: &str, help: &str, buckets: Vec<f64>) -> Histogram {
    let h = Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets))
        .expect("valid buckets");
    r.register(Box::new(h.clone()))
        .expect("each metric is registered once");
    h
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// A fresh registry with every metric at zero.
    pub fn new() -> Self {
        let r = Registry::new_custom(Some("usmca".into()), None).expect("static prefix is valid");
        // 0.5 ms .. ~4 s: inference and decisions live at the low end, stalls at the high end.
        let latency = exponential_buckets(0.0005, 2.0, 14).expect("static buckets");
        let m = Metrics {
            messages_received: counter(
                &r,
                "messages_received_total",
                "Messages received from the gateway",
            ),
            messages_classified: counter(
                &r,
                "messages_classified_total",
                "Messages scored by the classifier",
            ),
            messages_actioned: counter_vec(
                &r,
                "messages_actioned_total",
                "Messages that led to an action, by action",
                &["action"],
            ),
            decisions: counter_vec(
                &r,
                "decisions_total",
                "Decisions by action and dry-run",
                &["action", "dry_run"],
            ),
            decision_latency: histogram(
                &r,
                "receipt_to_decision_seconds",
                "Time from message receipt to decision",
                latency.clone(),
            ),
            classification_latency: histogram(
                &r,
                "classification_seconds",
                "Time one inference batch took",
                latency,
            ),
            batch_size: histogram(
                &r,
                "classifier_batch_size",
                "Messages per inference batch",
                vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0],
            ),
            queue_depth: gauge(
                &r,
                "classifier_queue_depth",
                "Messages waiting for the classifier",
            ),
            discord_requests: counter_vec(
                &r,
                "discord_requests_total",
                "Discord REST calls by route and status",
                &["route", "status"],
            ),
            discord_rate_limited: counter(
                &r,
                "discord_rate_limited_total",
                "429 answers from Discord",
            ),
            discord_invalid_requests: gauge(
                &r,
                "discord_invalid_requests",
                "Invalid requests (401/403/429) in the current 10-minute window",
            ),
            journal_depth: gauge(
                &r,
                "journal_depth",
                "Records in the local journal waiting to be replayed into Postgres",
            ),
            journal_errors: counter(
                &r,
                "journal_errors_total",
                "Journal writes or replays that failed",
            ),
            waiting_actions: gauge(
                &r,
                "actions_waiting",
                "Automatic actions waiting for their guild's budget (limits.actions_per_minute)",
            ),
            discord_invalid_request_budget: gauge(
                &r,
                "discord_invalid_request_budget",
                "Invalid requests in 10 minutes at which the bot stops calling Discord",
            ),
            gateway_latency_ms: {
                let g = IntGaugeVec::new(
                    Opts::new(
                        "gateway_latency_milliseconds",
                        "Gateway heartbeat latency per shard",
                    ),
                    &["shard"],
                )
                .expect("static");
                r.register(Box::new(g.clone())).expect("registered once");
                g
            },
            incidents: counter_vec(
                &r,
                "incidents_total",
                "Brigade incidents opened, by kind",
                &["kind"],
            ),
            appeals: counter_vec(&r, "appeals_total", "Appeals by outcome", &["outcome"]),
            postgres_errors: counter(&r, "postgres_errors_total", "Postgres errors"),
            redis_errors: counter(&r, "redis_errors_total", "Redis errors"),
            redis_degraded: gauge(
                &r,
                "redis_degraded",
                "1 while in-process windows stand in for Redis",
            ),
            writer_queue: gauge(
                &r,
                "writer_queue_rows",
                "Rows waiting in the batched message writer",
            ),
            writer_lag_ms: gauge(
                &r,
                "writer_lag_milliseconds",
                "Age of the oldest unwritten row",
            ),
            registry: r,
        };
        // Label sets that always exist, so dashboards show zeros rather than gaps.
        for action in ["none", "warn", "delete", "timeout", "kick", "ban"] {
            m.messages_actioned.with_label_values(&[action]);
        }
        m
    }

    /// Renders every metric in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let families = self.registry.gather();
        if let Err(e) = TextEncoder::new().encode(&families, &mut buf) {
            return format!("# error encoding metrics: {e}\n");
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text_with_prefix() {
        let m = Metrics::new();
        m.messages_received.inc_by(3);
        m.decisions.with_label_values(&["warn", "false"]).inc();
        let text = m.render();
        assert!(text.contains("usmca_messages_received_total 3"), "{text}");
        assert!(
            text.contains("usmca_decisions_total{action=\"warn\",dry_run=\"false\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE usmca_receipt_to_decision_seconds histogram"),
            "{text}"
        );
    }
}
