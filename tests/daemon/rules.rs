//! Rules beside the model, end to end: a word list added by command, typed with zero-width and
//! full-width letters, an allowlisted phrase, invites, mass mentions, exemptions and dry-run.

use std::time::Duration;

use serde_json::{json, Value};

use crate::fake_discord::events::{self, Author};
use crate::harness::*;

const ADMIN_ID: u64 = 4_000_000_000_000_000_001;

fn member(seq: u64) -> Author {
    Author::new(
        account_aged(Duration::from_secs(400 * 86_400), seq),
        "member",
    )
}

fn rules_cmd(sub: &str, args: Value) -> Value {
    json!([{"name": "rules", "type": 2, "options": [{"name": sub, "type": 1, "options": args}]}])
}

fn arg(name: &str, value: &str) -> Value {
    json!({"name": name, "type": 3, "value": value})
}

async fn admin_says(d: &Daemon, sub: &str, args: Value) -> String {
    let r = slash(
        d,
        &Author::new(ADMIN_ID, "admin"),
        ADMINISTRATOR,
        rules_cmd(sub, args),
    )
    .await;
    callback_data(&r)["content"].to_string()
}

fn deleted(d: &Daemon, id: u64) -> bool {
    !d.fake
        .requests_to("DELETE", &format!("/channels/{GENERAL}/messages/{id}"))
        .is_empty()
}

async fn wait_deleted(d: &Daemon, id: u64) {
    d.request(
        "DELETE",
        &format!("/channels/{GENERAL}/messages/{id}"),
        |_| true,
    )
    .await;
}

/// Waits until the message was decided, then asserts it stayed.
async fn assert_kept(d: &Daemon, id: u64) {
    let decision = d.decision_of(id).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !deleted(d, id),
        "message {id} deleted ({decision})\n{}",
        d.logs()
    );
}

async fn reasons(d: &Daemon) -> Vec<String> {
    sqlx::query_scalar("SELECT reason FROM moderation_cases ORDER BY case_no")
        .fetch_all(d.storage().pool())
        .await
        .unwrap_or_default()
}

fn options(dry_run: bool) -> Options {
    let mut o = Options {
        guilds: vec![guild().vanity("ourserver")],
        ..Options::default()
    };
    if dry_run {
        o.settings.dry_run = Some(true);
    }
    o
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guild_rules_delete_name_the_rule_and_respect_allowlist_invites_and_exemptions() {
    let d = Daemon::start(options(false)).await;
    // A term the model does not know, added by an administrator.
    let said = admin_says(
        &d,
        "add",
        json!([
            arg("kind", "word"),
            arg("value", "flurbo"),
            arg("list", "slang")
        ]),
    )
    .await;
    assert!(said.contains("added to list slang"), "{said}");
    let said = admin_says(&d, "test", json!([arg("text", "you f\u{200b}lurbo")])).await;
    assert!(
        said.contains("list:slang") && said.contains("flurbo"),
        "{said}"
    );

    let a = member(21);
    let plain = d.say(GENERAL, &a, "you are a flurbo");
    wait_deleted(&d, plain).await;
    let zero_width = d.say(GENERAL, &member(22), "total f\u{200b}l\u{200b}urbo");
    wait_deleted(&d, zero_width).await;
    let full_width = d.say(GENERAL, &member(23), "ｆｌｕｒｂｏ again");
    wait_deleted(&d, full_width).await;
    let r = d
        .eventually("cases recorded", || async {
            let r = reasons(&d).await;
            (r.len() >= 3).then_some(r)
        })
        .await;
    assert!(
        r.iter().all(|r| r.contains("rule list:slang \"flurbo\"")),
        "the case names the rule and the term: {r:#?}"
    );

    // An allowlisted phrase beats the list.
    admin_says(
        &d,
        "add",
        json!([arg("kind", "allow"), arg("value", "flurbo pie")]),
    )
    .await;
    let allowed = d.say(GENERAL, &member(24), "i love flurbo pie");
    assert_kept(&d, allowed).await;

    // A moderator is exempt.
    let moderator = member(25).with_roles(&[MOD_ROLE]);
    let exempt = d.say(GENERAL, &moderator, "flurbo");
    assert_kept(&d, exempt).await;

    // Invites: another server's is deleted, the server's own is not.
    let other = d.say(GENERAL, &member(26), "join us at discord.gg/otherplace !");
    wait_deleted(&d, other).await;
    let own = d.say(
        GENERAL,
        &member(27),
        "our server: https://discord.gg/ourserver",
    );
    assert_kept(&d, own).await;

    // Mass mentions: 15 members in one message draw a timeout.
    let spammer = member(28);
    let users: Vec<u64> = (0..15)
        .map(|i| account_aged(Duration::from_secs(86_400), 500 + i))
        .collect();
    let id = d.message_id();
    d.fake.dispatch(
        "MESSAGE_CREATE",
        events::message_create_mentioning(GUILD, GENERAL, id, &spammer, "hey all", &users),
    );
    d.request(
        "PATCH",
        &format!("/guilds/{GUILD}/members/{}", spammer.id),
        |r| body(r)["communication_disabled_until"].is_string(),
    )
    .await;
    wait_deleted(&d, id).await;

    // The list is gone once removed.
    let said = admin_says(
        &d,
        "remove",
        json!([arg("kind", "word"), arg("value", "flurbo")]),
    )
    .await;
    assert!(said.contains("removed"), "{said}");
    let after = d.say(GENERAL, &member(29), "flurbo");
    assert_kept(&d, after).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_in_dry_run_are_recorded_only() {
    let d = Daemon::start(options(true)).await;
    admin_says(
        &d,
        "add",
        json!([arg("kind", "word"), arg("value", "flurbo")]),
    )
    .await;
    let word = d.say(GENERAL, &member(31), "flurbo");
    let invite = d.say(GENERAL, &member(32), "discord.gg/otherplace");
    let users: Vec<u64> = (0..15)
        .map(|i| account_aged(Duration::from_secs(86_400), 600 + i))
        .collect();
    let id = d.message_id();
    d.fake.dispatch(
        "MESSAGE_CREATE",
        events::message_create_mentioning(GUILD, GENERAL, id, &member(33), "hey", &users),
    );
    let cases = d
        .eventually("three dry-run cases", || async {
            let c = d.cases().await;
            (c.len() >= 3).then_some(c)
        })
        .await;
    assert!(cases.iter().all(|c| c.4), "all dry-run: {cases:?}");
    assert!(cases.iter().any(|c| c.2 == "timeout"), "{cases:?}");
    for m in [word, invite, id] {
        d.decision_of(m).await;
    }
    d.assert_no_enforcement();
}

/// Cases of one member.
async fn cases_of(d: &Daemon, who: &Author) -> Vec<(String, String)> {
    sqlx::query_as("SELECT action, reason FROM moderation_cases WHERE user_id = $1")
        .bind(who.id as i64)
        .fetch_all(d.storage().pool())
        .await
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowlisted_phrase_is_not_the_models_to_flag_however_it_is_written() {
    let d = Daemon::start(options(false)).await;
    // Without the allowlist the model flags the server's in-joke, spelled either way.
    let (first, first_leet) = (member(41), member(42));
    let plain = d.say(GENERAL, &first, "damn son");
    let leet = d.say(GENERAL, &first_leet, "D4MN s0n!!");
    for (who, id) in [(&first, plain), (&first_leet, leet)] {
        let decision = d.decision_of(id).await;
        assert_ne!(decision, "none", "the model did not flag message {id}");
        d.eventually("a case for the flagged message", || async {
            (!cases_of(&d, who).await.is_empty()).then_some(())
        })
        .await;
    }

    let said = admin_says(
        &d,
        "add",
        json!([arg("kind", "allow"), arg("value", "damn son")]),
    )
    .await;
    assert!(said.contains("cut from what the model reads"), "{said}");
    let listed = admin_says(&d, "list", json!([])).await;
    assert!(
        listed
            .contains("Allowlist (never a rule hit, and cut from what the model reads): damn son"),
        "{listed}"
    );

    // Now the phrase is not the model's to judge, nor its leetspeak or spaced-out spelling.
    let quiet: Vec<(Author, u64)> = [(43, "damn son"), (44, "D4MN s0n!!"), (45, "d a m n son")]
        .into_iter()
        .map(|(seq, text)| {
            let who = member(seq);
            let id = d.say(GENERAL, &who, text);
            (who, id)
        })
        .collect();
    // Beside it, an insult is still the model's to judge: deleted, with a case.
    let rude = member(46);
    let mixed = d.say(GENERAL, &rude, "damn son, you are a worthless idiot");
    wait_deleted(&d, mixed).await;
    let c = d
        .eventually("a case for the insult", || async {
            let c = cases_of(&d, &rude).await;
            (!c.is_empty()).then_some(c)
        })
        .await;
    assert!(c.iter().any(|(a, _)| a != "note"), "{c:?}");
    for (who, id) in &quiet {
        assert_eq!(
            d.decision_of(*id).await,
            "none",
            "message {id} was acted on"
        );
        assert!(!deleted(&d, *id), "message {id} deleted");
        assert!(
            cases_of(&d, who).await.is_empty(),
            "member {} has a case: {:?}",
            who.id,
            cases_of(&d, who).await
        );
    }
}
