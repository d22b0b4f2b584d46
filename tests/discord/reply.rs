//! Interactions are answered within Discord's 3 seconds: directly when the work is quick,
//! deferred and then edited when it is not.

use std::time::Duration;

use serde_json::json;
use serenity::all::{CommandInteraction, Interaction};
use usmca_bot::commands::reply::{answer, Target, DEFER_AFTER};
use usmca_bot::config::Secret;
use usmca_bot::discord::client::{build_http, ApiRoute};

use crate::fake_discord::events::{self, Author};
use crate::fake_discord::{FakeConfig, FakeDiscord};

fn command() -> CommandInteraction {
    let v = events::slash_command(1, 2, &Author::new(42, "mod"), 0x2000, "mod", json!([]));
    match serde_json::from_value::<Interaction>(v) {
        Ok(Interaction::Command(c)) => c,
        other => panic!("not a command: {other:?}"),
    }
}

#[tokio::test]
async fn quick_work_is_answered_directly_and_slow_work_is_deferred_then_edited() {
    crate::no_proxy();
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let http = build_http(
        &Secret::new("t"),
        &ApiRoute::parse(&fake.api_base()).expect("url"),
    )
    .expect("http");
    // The gateway's READY sets this on the daemon's client.
    http.set_application_id(serenity::all::ApplicationId::new(
        fake.config().application_id,
    ));
    let c = command();

    answer(&http, Target::Command(&c), async { "quick".to_string() }).await;
    let direct = fake.requests_to("POST", "/interactions/*/*/callback");
    assert_eq!(direct.len(), 1);
    let body = direct[0].body.clone().unwrap_or_default();
    assert_eq!(body["type"], 4);
    assert_eq!(body["data"]["content"], "quick");
    assert_eq!(body["data"]["flags"], 64, "ephemeral");

    fake.clear_requests();
    let started = std::time::Instant::now();
    answer(&http, Target::Command(&c), async {
        tokio::time::sleep(DEFER_AFTER + Duration::from_millis(500)).await;
        "slow".to_string()
    })
    .await;
    let deferred = fake.requests_to("POST", "/interactions/*/*/callback");
    assert_eq!(deferred.len(), 1);
    let body = deferred[0].body.clone().unwrap_or_default();
    assert_eq!(body["type"], 5, "deferred (thinking…)");
    assert!(
        deferred[0].at.duration_since(started) < Duration::from_secs(3),
        "within 3 s"
    );
    let edit = fake.requests_to("PATCH", "/webhooks/*/*/messages/@original");
    assert_eq!(edit.len(), 1, "{:?}", fake.requests());
    assert_eq!(edit[0].body.clone().unwrap_or_default()["content"], "slow");
}

#[tokio::test]
async fn a_long_answer_is_split_into_follow_ups_not_truncated() {
    crate::no_proxy();
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let http = build_http(
        &Secret::new("t"),
        &ApiRoute::parse(&fake.api_base()).expect("url"),
    )
    .expect("http");
    http.set_application_id(serenity::all::ApplicationId::new(
        fake.config().application_id,
    ));
    let c = command();
    // 120 numbered lines of ~50 characters: about 6,000 characters, three messages' worth.
    let lines: Vec<String> = (0..120)
        .map(|i| format!("line {i:03}: {}", "x".repeat(40)))
        .collect();
    let text = lines.join("\n");
    let sent = |fake: &FakeDiscord| -> Vec<String> {
        let first = fake
            .requests_to("POST", "/interactions/*/*/callback")
            .into_iter()
            .chain(fake.requests_to("PATCH", "/webhooks/*/*/messages/@original"))
            .filter_map(|r| {
                let b = r.body.unwrap_or_default();
                b["data"]["content"]
                    .as_str()
                    .or(b["content"].as_str())
                    .map(str::to_owned)
            });
        let follow_ups = fake
            .requests_to("POST", "/webhooks/*/*")
            .into_iter()
            .map(|r| {
                let b = r.body.unwrap_or_default();
                assert_eq!(b["flags"], 64, "follow-ups are ephemeral too");
                b["content"].as_str().unwrap_or_default().to_owned()
            });
        first.chain(follow_ups).collect()
    };

    let t = text.clone();
    answer(&http, Target::Command(&c), async move { t }).await;
    let parts = sent(&fake);
    assert!(parts.len() >= 3, "{} parts", parts.len());
    assert!(parts.iter().all(|p| p.chars().count() <= 2_000));
    assert_eq!(parts.join("\n"), text, "every line arrives, in order");

    // Deferred work splits the same way: the edit carries the first part.
    fake.clear_requests();
    let t = text.clone();
    answer(&http, Target::Command(&c), async move {
        tokio::time::sleep(DEFER_AFTER + Duration::from_millis(300)).await;
        t
    })
    .await;
    let parts = sent(&fake);
    assert!(parts.len() >= 3, "{} parts", parts.len());
    assert_eq!(parts.join("\n"), text);
}
