//! `usmca-bot doctor`, the real binary, against the fake Discord, a fresh database and Redis:
//! a missing permission and a role below a member are each reported with their fix (exit 1);
//! with everything in place it exits 0.

use crate::db::TestDb;
use crate::fake_discord::{Author, FakeConfig, FakeDiscord, GuildSpec};
use crate::redis_support::redis_url;
use std::process::Output;
use std::time::Duration;

const GUILD: u64 = 810_000_000_000_000_000;
const BOT_ROLE: u64 = 810_000_000_000_000_100;
const MEMBER_ROLE: u64 = 810_000_000_000_000_101;
const VIP_ROLE: u64 = 810_000_000_000_000_102;
const BOT: u64 = 900_000_000_000_000_001;

/// Everything the bot needs, as the invite asks for it.
const ALL_NEEDED: u64 = usmca_bot::discord::permissions::needed_bits();
const MODERATE_MEMBERS: u64 = 1 << 40;

fn guild(bot_permissions: u64, vip_position: u16) -> GuildSpec {
    let bot = Author {
        bot: true,
        ..Author::new(BOT, "usmca-bot")
    }
    .with_roles(&[BOT_ROLE]);
    GuildSpec::new(GUILD, "Doctor Guild")
        .role(BOT_ROLE, "usmca-bot", bot_permissions, 5)
        .role(MEMBER_ROLE, "member", 0, 1)
        .role(VIP_ROLE, "vip", 0, vip_position)
        .member(bot)
        .member(Author::new(810_000_000_000_001_000, "alice").with_roles(&[MEMBER_ROLE]))
        .member(Author::new(810_000_000_000_001_001, "victor").with_roles(&[MEMBER_ROLE, VIP_ROLE]))
}

async fn doctor(fake: &FakeDiscord, db: &TestDb) -> Output {
    crate::no_proxy();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_usmca-bot"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR")).arg("doctor");
    for (k, _) in std::env::vars() {
        if k.starts_with("USMCA_") || k == "DISCORD_TOKEN" || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    cmd.env("DISCORD_TOKEN", "doctor-token")
        .env("USMCA_DISCORD__API_BASE", fake.api_base())
        .env("DATABASE_URL", &db.url)
        .env("REDIS_URL", redis_url())
        .env("USMCA_HTTP__ADDR", "127.0.0.1:0")
        .env("NO_PROXY", "127.0.0.1,localhost");
    tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .expect("doctor finishes")
        .expect("doctor runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_permission_and_a_role_below_a_member_fail_with_their_fixes() {
    let fake = FakeDiscord::start(FakeConfig {
        // No Timeout Members; the "vip" role (position 7) sits above the bot's (5).
        guilds: vec![guild(ALL_NEEDED & !MODERATE_MEMBERS, 7)],
        ..FakeConfig::default()
    })
    .await;
    let db = TestDb::new().await;
    let out = doctor(&fake, &db).await;
    let t = text(&out);
    eprintln!("{t}");
    assert_eq!(out.status.code(), Some(1), "{t}");
    let missing = t
        .lines()
        .find(|l| l.starts_with("✗") && l.contains("missing permission"))
        .unwrap_or_else(|| panic!("no missing-permission line:\n{t}"));
    assert!(
        missing.contains("Timeout Members")
            && missing
                .contains("— fix: Server Settings → Roles → usmca-bot → enable Timeout Members"),
        "{missing}"
    );
    let below = t
        .lines()
        .find(|l| l.starts_with("✗") && l.contains("is not above"))
        .unwrap_or_else(|| panic!("no role-position line:\n{t}"));
    assert!(
        below.contains("victor")
            && below.contains("vip")
            && below.contains("— fix: Server Settings → Roles: drag usmca-bot above vip"),
        "{below}"
    );
    // alice (role below the bot's) is not named.
    assert!(!below.contains("alice"), "{below}");
    assert!(t.contains("✓ Discord token is valid"), "{t}");
    assert!(t.contains("✓ Postgres reachable and migrated"), "{t}");
    assert!(t.contains("✓ Redis reachable"), "{t}");
    assert!(t.contains("✓ model toxblock-lstm loads"), "{t}");
    assert!(
        t.contains("invite URL: https://discord.com/oauth2/authorize?client_id=900000000000000002"),
        "{t}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_everything_in_place_it_exits_0() {
    let fake = FakeDiscord::start(FakeConfig {
        guilds: vec![guild(ALL_NEEDED, 3)],
        ..FakeConfig::default()
    })
    .await;
    let db = TestDb::new().await;
    let out = doctor(&fake, &db).await;
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(!t.contains('✗'), "{t}");
    assert!(t.contains("the bot has every permission it needs"), "{t}");
    assert!(
        t.contains("is above every member it moderates (3 checked)"),
        "{t}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_privileged_intents_fail_with_the_portal_fix() {
    let fake = FakeDiscord::start(FakeConfig {
        guilds: vec![guild(ALL_NEEDED, 3)],
        application_flags: 0,
        ..FakeConfig::default()
    })
    .await;
    let db = TestDb::new().await;
    let out = doctor(&fake, &db).await;
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    for intent in ["Server Members", "Message Content"] {
        assert!(
            t.lines().any(|l| l.starts_with("✗")
                && l.contains(&format!("privileged intent {intent} is not enabled"))
                && l.contains("Privileged Gateway Intents")),
            "{intent}:\n{t}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_logs_the_invite_url_at_ready_and_runs_the_checks_as_warnings() {
    // The harness's guild gives the bot no role: the start-up checks warn about permissions.
    let d = crate::harness::Daemon::start(crate::harness::Options::default()).await;
    d.eventually("invite URL and start-up warnings logged", || async {
        let logs = d.logs();
        (logs.contains("client_id=900000000000000002&scope=bot%20applications.commands&permissions=1099511721110")
            && logs.contains("start-up check: ✗")
            && logs.contains("missing permissions"))
        .then_some(())
    })
    .await;
}
