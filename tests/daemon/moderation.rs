//! Messages in, actions out: deletion, timeouts, escalation, exemptions, dry-run.

use std::time::Duration;

use crate::fake_discord::events::Author;
use crate::harness::*;

const INSULT: &str = "i will kill you, you stupid bitch";

fn newcomer(seq: u64) -> Author {
    Author::new(account_aged(Duration::from_secs(3 * 3600), seq), "newcomer")
}

/// A member with a years-old account and no history in the server.
fn first_timer(seq: u64) -> Author {
    Author::new(
        account_aged(Duration::from_secs(400 * 86_400), seq),
        "first-timer",
    )
}

/// A first offence the model is sure of: toxic 0.99, an insult.
const WORTHLESS: &str = "you are a worthless idiot";
/// Rude but borderline: toxic 0.92, severity below `enforcement.delete_at`.
const BORDERLINE: &str = "what a stupid idea";

/// Member notices say what happened in words: no probability, no score.
fn assert_no_score(text: &str) {
    let c: Vec<char> = text.chars().collect();
    let decimal = c
        .windows(3)
        .any(|w| w[0].is_ascii_digit() && w[1] == '.' && w[2].is_ascii_digit());
    assert!(
        !decimal && !text.to_lowercase().contains("score"),
        "a score in the member's notice: {text}"
    );
}

/// The notice DMed (or posted) to the member that contains `needle`.
async fn notice(d: &Daemon, needle: &str) -> String {
    let r = d
        .request("POST", "/channels/*/messages", |r| {
            body(r)["content"]
                .as_str()
                .is_some_and(|c| c.contains(needle))
        })
        .await;
    assert!(
        body(&r)["components"].to_string().contains("appeal:"),
        "the notice carries the Appeal button: {}",
        body(&r)
    );
    body(&r)["content"].as_str().unwrap_or_default().to_string()
}

/// Whether Discord was asked to delete message `id`.
fn deleted(d: &Daemon, id: u64) -> bool {
    !d.fake
        .requests_to("DELETE", &format!("/channels/{GENERAL}/messages/{id}"))
        .is_empty()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_offence_insult_is_deleted_and_warned_in_plain_words() {
    let d = Daemon::start(Options::default()).await;
    let author = first_timer(11);
    let msg = d.say(GENERAL, &author, WORTHLESS);
    // What it says removes it, although the member's standing only calls for a warning.
    d.request(
        "DELETE",
        &format!("/channels/{GENERAL}/messages/{msg}"),
        |_| true,
    )
    .await;
    let text = notice(&d, "You have received a warning").await;
    assert_eq!(
        text,
        format!(
            "Your message in <#{GENERAL}> was removed because it was flagged as an insult.\n\
             You have received a warning in **Test Server** because the message was abusive and \
             you joined the server recently.\n\
             Case #1. If you think this is a mistake, press **Appeal** below and tell the \
             moderators why."
        )
    );
    assert_no_score(&text);
    let cases = d
        .eventually("case applied", || async {
            let c = d.cases().await;
            (c.first().map(|c| c.3.as_str()) == Some("applied")).then_some(c)
        })
        .await;
    assert_eq!((cases[0].1, cases[0].2.as_str()), (author.id, "warn"));
    // No timeout; the scores and terms stay with the moderators.
    assert!(d
        .fake
        .requests_to("PATCH", "/guilds/*/members/*")
        .is_empty());
    let post = d
        .request("POST", &format!("/channels/{MOD_LOG}/messages"), |_| true)
        .await;
    let embed = body(&post)["embeds"][0].to_string();
    assert!(
        embed.contains("behaviour score")
            && embed.contains("severity")
            && embed.contains("delete_at"),
        "{embed}"
    );
    let reason: String =
        sqlx::query_scalar("SELECT reason FROM moderation_cases WHERE case_no = 1")
            .fetch_one(d.storage().pool())
            .await
            .expect("case reason");
    assert!(reason.contains("message deleted by content"), "{reason}");
    assert_eq!(d.decision_of(msg).await, "warn");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_offence_borderline_message_is_kept() {
    let d = Daemon::start(Options::default()).await;
    let author = first_timer(12);
    let msg = d.say(GENERAL, &author, BORDERLINE);
    // Warned for it (behaviour), but its content is below delete_at: it stays up.
    let text = notice(&d, "You have received a warning").await;
    assert!(
        text.starts_with(&format!(
            "Your message in <#{GENERAL}> was flagged as an insult.\n"
        )),
        "{text}"
    );
    assert_no_score(&text);
    assert_eq!(d.decision_of(msg).await, "warn");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!deleted(&d, msg), "{}", d.logs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeat_offenders_mild_message_is_kept_and_climbs_the_ladder() {
    let d = Daemon::start(Options::default()).await;
    let author = first_timer(13);
    let first = d.say(GENERAL, &author, WORTHLESS);
    notice(&d, "You have received a warning").await;
    assert!(deleted(&d, first));
    // After the (test) cooldown of 1 s: a mild message, kept, but a repeat offence.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let second = d.say(GENERAL, &author, BORDERLINE);
    let timeout = d
        .request(
            "PATCH",
            &format!("/guilds/{GUILD}/members/{}", author.id),
            |_| true,
        )
        .await;
    let minutes = timeout_minutes(&timeout);
    assert!(
        (8..=10).contains(&minutes),
        "first step of the ladder: {minutes}m"
    );
    let text = notice(&d, "You have been timed out").await;
    assert!(
        text.starts_with(&format!(
            "Your message in <#{GENERAL}> was flagged as an insult.\n\
             You have been timed out in **Test Server** for 10 minutes because you were already \
             warned or sanctioned once in the last 7 days"
        )),
        "{text}"
    );
    assert!(text.contains("<t:") && text.contains("Case #2"), "{text}");
    assert_no_score(&text);
    assert_eq!(d.decision_of(second).await, "timeout");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!deleted(&d, second), "the mild message stays up");
    assert_eq!(
        d.fake.requests_to("DELETE", "/channels/*/messages/*").len(),
        1,
        "only the insult was deleted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notices_speak_the_servers_language_or_its_own_template() {
    let mut opts = Options {
        guilds: vec![guild().locale("de")],
        ..Options::default()
    };
    opts.settings.notices = Some(usmca_bot::domain::NoticeOverrides {
        warn: Some("{guild}: {label}. {why}. Fall {case}".into()),
        ..Default::default()
    });
    let d = Daemon::start(opts).await;
    // A timeout, in the server's language (German).
    d.say(GENERAL, &newcomer(14), INSULT);
    let text = notice(&d, "stummgeschaltet").await;
    assert!(
        text.starts_with(&format!(
            "Deine Nachricht in <#{GENERAL}> wurde entfernt, weil sie als Drohung markiert wurde.\n\
             Du wurdest auf **Test Server** für 10 Minuten stummgeschaltet (Timeout), weil"
        )),
        "{text}"
    );
    assert!(
        text.contains("Fall Nr. 1.") && text.contains("**Appeal**"),
        "{text}"
    );
    assert_no_score(&text);
    // A warning, in the server's own template (its words in the server's language).
    d.say(GENERAL, &first_timer(15), WORTHLESS);
    let text = notice(&d, "Test Server: Beleidigung.").await;
    assert_eq!(
        text,
        "Test Server: Beleidigung. die Nachricht beleidigend war und du dem Server erst kürzlich beigetreten bist. Fall 2"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toxic_message_is_deleted_and_timed_out_with_case_audit_and_mod_log() {
    let d = Daemon::start(Options::default()).await;
    let author = newcomer(1);
    let msg = d.say(GENERAL, &author, INSULT);

    let delete = d
        .request(
            "DELETE",
            &format!("/channels/{GENERAL}/messages/{msg}"),
            |_| true,
        )
        .await;
    let reason = delete.audit_reason().unwrap_or_default();
    assert!(reason.starts_with("usmca-bot case #1:"), "{reason}");
    assert!(
        reason.contains("toxic"),
        "the reason carries the scores: {reason}"
    );
    assert!(reason.chars().count() <= 512);

    let timeout = d
        .request(
            "PATCH",
            &format!("/guilds/{GUILD}/members/{}", author.id),
            |_| true,
        )
        .await;
    let until = body(&timeout)["communication_disabled_until"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .expect("a timeout end");
    let minutes = (until.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_minutes();
    assert!(
        (8..=10).contains(&minutes),
        "first step of the ladder is 10m, got {minutes}m"
    );
    assert!(timeout.audit_reason().is_some());

    let post = d
        .request("POST", &format!("/channels/{MOD_LOG}/messages"), |_| true)
        .await;
    let embed = &body(&post)["embeds"][0];
    assert_eq!(embed["title"], "Case #1 · timeout (10m)");
    let fields = embed["fields"].to_string();
    assert!(
        fields.contains(&author.id.to_string()) && fields.contains("toxic"),
        "{fields}"
    );
    let buttons = body(&post)["components"][0]["components"].to_string();
    assert!(
        buttons.contains("Reverse") && buttons.contains("Confirm"),
        "{buttons}"
    );

    // The member hears about it in words, with when it ends and an Appeal button (DM).
    let dm = d
        .request("POST", "/channels/*/messages", |r| {
            body(r)["content"]
                .as_str()
                .is_some_and(|c| c.contains("timed out in **Test Server** for 10 minutes"))
        })
        .await;
    let text = body(&dm)["content"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        text.contains(&format!(
            "<#{GENERAL}> was removed because it was flagged as a threat"
        )),
        "{text}"
    );
    let ends = until.timestamp();
    assert!(
        text.contains(&format!("<t:{ends}:R>")),
        "ends as Discord set it: {text}"
    );
    assert!(text.contains("Case #1"), "{text}");
    assert_no_score(&text);
    assert!(body(&dm)["components"].to_string().contains("appeal:"));

    let cases = d
        .eventually("case applied", || async {
            let c = d.cases().await;
            (c.first().map(|c| c.3.as_str()) == Some("applied")).then_some(c)
        })
        .await;
    assert_eq!(cases.len(), 1);
    assert_eq!((cases[0].1, cases[0].2.as_str()), (author.id, "timeout"));
    let audit: Vec<String> =
        sqlx::query_scalar("SELECT kind FROM audit_log WHERE guild_id = $1 ORDER BY seq")
            .bind(GUILD as i64)
            .fetch_all(d.storage().pool())
            .await
            .expect("audit rows");
    assert!(audit.contains(&"case.created".to_string()), "{audit:?}");
    assert!(d.storage().verify_audit(Some(GUILD)).await.is_ok());
    // The message row is written too (batched), with its decision.
    let decision = d.decision_of(msg).await;
    assert_eq!(decision, "timeout");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_messages_are_left_alone() {
    let d = Daemon::start(Options::default()).await;
    let author = newcomer(2);
    for text in [
        "good morning everyone",
        "has anyone tried the new patch?",
        "thanks, that helped",
    ] {
        d.say(GENERAL, &author, text);
    }
    d.eventually("three rows", || async {
        (d.message_rows().await == 3).then_some(())
    })
    .await;
    assert!(d.cases().await.is_empty());
    d.assert_no_enforcement();
}

/// End of the timeout a PATCH asked for, in minutes from now.
fn timeout_minutes(r: &crate::fake_discord::RecordedRequest) -> i64 {
    let until = body(r)["communication_disabled_until"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .expect("a timeout end");
    (until.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_minutes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeat_offences_climb_the_timeout_ladder() {
    let d = Daemon::start(Options::default()).await;
    let author = newcomer(3);
    let member = format!("/guilds/{GUILD}/members/{}", author.id);
    d.say(GENERAL, &author, INSULT);
    let first = d.request("PATCH", &member, |_| true).await;
    assert!((8..=10).contains(&timeout_minutes(&first)));

    // After the (test) cooldown of 1 s, the next offence gets the ladder's next step.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    d.say(GENERAL, &author, "you are a stupid idiot and i hate you");
    let second = d
        .request("PATCH", &member, |r| timeout_minutes(r) > 15)
        .await;
    assert!(
        (55..=60).contains(&timeout_minutes(&second)),
        "second timeout is 1h"
    );
    let cases = d
        .eventually("two applied cases", || async {
            let c = d.cases().await;
            (c.len() == 2 && c.iter().all(|c| c.3 == "applied")).then_some(c)
        })
        .await;
    assert!(cases.iter().all(|c| c.2 == "timeout" && c.1 == author.id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edited_message_is_rescored_but_never_punished_twice() {
    let d = Daemon::start(Options::default()).await;
    let author = newcomer(4);
    let msg = d.say(GENERAL, &author, INSULT);
    d.request(
        "PATCH",
        &format!("/guilds/{GUILD}/members/{}", author.id),
        |_| true,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    // The same message edited to something as bad: re-scored, not punished again.
    d.fake.dispatch(
        "MESSAGE_UPDATE",
        crate::fake_discord::events::message_update(GUILD, GENERAL, msg, &author, INSULT),
    );
    d.eventually("edit scored", || async {
        let edited: Option<bool> =
            sqlx::query_scalar("SELECT edited_at IS NOT NULL FROM messages WHERE message_id = $1")
                .bind(msg as i64)
                .fetch_optional(d.storage().pool())
                .await
                .ok()
                .flatten();
        edited.filter(|e| *e).map(drop)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(d.cases().await.len(), 1, "{}", d.logs());
    assert_eq!(d.fake.requests_to("PATCH", "/guilds/*/members/*").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moderators_are_exempt() {
    let d = Daemon::start(Options::default()).await;
    let moderator = newcomer(5).with_roles(&[MOD_ROLE]);
    let msg = d.say(GENERAL, &moderator, INSULT);
    let decision = d.decision_of(msg).await;
    assert_eq!(decision, "none");
    assert!(d.cases().await.is_empty());
    d.assert_no_enforcement();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_guild_records_and_reports_but_never_acts() {
    let mut opts = Options::default();
    opts.settings.dry_run = Some(true);
    let d = Daemon::start(opts).await;
    let author = newcomer(6);
    d.say(GENERAL, &author, INSULT);
    let post = d
        .request("POST", &format!("/channels/{MOD_LOG}/messages"), |_| true)
        .await;
    let title = body(&post)["embeds"][0]["title"].to_string();
    assert!(title.contains("dry run"), "{title}");
    let cases = d.cases().await;
    assert_eq!(cases.len(), 1);
    assert!(cases[0].4, "recorded as dry-run");
    assert_eq!(cases[0].2, "timeout");
    tokio::time::sleep(Duration::from_millis(300)).await;
    d.assert_no_enforcement();
    assert!(
        d.fake.requests_to("POST", "/users/@me/channels").is_empty(),
        "no DM"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ban_is_preceded_by_the_notice_that_carries_the_appeal_button() {
    let mut opts = Options::default();
    // This server is strict: the same threat is a ban here.
    opts.settings.thresholds = Some(usmca_bot::domain::ThresholdOverrides {
        warn: Some(0.3),
        timeout: Some(0.4),
        kick: Some(0.5),
        ban: Some(0.6),
    });
    let d = Daemon::start(opts).await;
    let author = newcomer(7);
    d.say(GENERAL, &author, INSULT);
    let ban = d
        .request(
            "PUT",
            &format!("/guilds/{GUILD}/bans/{}", author.id),
            |_| true,
        )
        .await;
    assert_eq!(
        ban.query_param("delete_message_seconds").as_deref(),
        Some("86400")
    );
    assert!(ban.audit_reason().is_some_and(|r| r.contains("case #1")));
    let requests = d.fake.requests();
    let position = |pred: &dyn Fn(&crate::fake_discord::RecordedRequest) -> bool| {
        requests.iter().position(pred)
    };
    let notice = position(&|r| {
        r.is("POST", "/channels/*/messages")
            && body(r)["content"]
                .as_str()
                .is_some_and(|c| c.contains("You are being banned from **Test Server**"))
    });
    let banned = position(&|r| r.is("PUT", "/guilds/*/bans/*"));
    assert!(
        notice.is_some() && notice < banned,
        "notice first: {notice:?} < {banned:?}"
    );
    assert!(requests[notice.unwrap_or(0)]
        .body
        .as_ref()
        .is_some_and(|b| b["components"].to_string().contains("appeal:")));
}
