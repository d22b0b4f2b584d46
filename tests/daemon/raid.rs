//! A raid: fresh accounts joining together and posting the same slur.

use std::time::Duration;

use crate::fake_discord::events::{self, Author};
use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raid_of_new_accounts_opens_one_incident_and_times_them_out() {
    let d = Daemon::start(Options::default()).await;
    let raiders: Vec<Author> = (0..15)
        .map(|i| Author::new(account_aged(Duration::from_secs(86_400), 100 + i), "raider"))
        .collect();
    for r in &raiders {
        d.fake
            .dispatch("GUILD_MEMBER_ADD", events::guild_member_add(GUILD, r));
    }
    // The surge opens an incident before anyone speaks.
    d.eventually("join surge incident", || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM brigade_incidents")
            .fetch_one(d.storage().pool())
            .await
            .ok()?;
        (n > 0).then_some(())
    })
    .await;
    for r in &raiders {
        d.say(GENERAL, r, "fuck you faggot");
    }
    let incident: (i64, Vec<i64>) = d
        .eventually("incident with all 15 raiders", || async {
            let rows: Vec<(i64, Vec<i64>)> =
                sqlx::query_as("SELECT incident_id, participants FROM brigade_incidents")
                    .fetch_all(d.storage().pool())
                    .await
                    .ok()?;
            rows.into_iter()
                .find(|(_, p)| raiders.iter().all(|r| p.contains(&(r.id as i64))))
        })
        .await;
    let incidents: i64 = sqlx::query_scalar("SELECT count(*) FROM brigade_incidents")
        .fetch_one(d.storage().pool())
        .await
        .expect("count");
    assert_eq!(incidents, 1, "one incident, not one per signal");
    assert!(incident.1.len() >= 15);
    for r in &raiders {
        d.request(
            "PATCH",
            &format!("/guilds/{GUILD}/members/{}", r.id),
            |_| true,
        )
        .await;
    }
    // Moderators were alerted in the mod log.
    d.request("POST", &format!("/channels/{MOD_LOG}/messages"), |r| {
        body(r)["embeds"][0]["title"]
            .as_str()
            .is_some_and(|t| t.starts_with("Incident"))
    })
    .await;
}
