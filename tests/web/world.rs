//! The servers and people every dashboard test uses: the harness's test server (moderated by
//! the users below) and a second server the bot is also in, where only `OTHER_MOD` moderates.

use serde_json::json;
use usmca_bot::domain::{CaseAction, CaseStatus, NewCase};

use crate::fake_discord::events::Author;
use crate::fake_discord::{GuildSpec, OAuthUser};
use crate::harness::{guild, Daemon, Options, ADMINISTRATOR, GUILD, MANAGE_MESSAGES, MOD_ROLE};

/// The second server.
pub const OTHER: u64 = 1_000_000_000_000_000_201;
/// Its moderator role.
pub const OTHER_MOD_ROLE: u64 = OTHER + 10;
/// The bot's role in the test server, above everyone it acts on.
pub const BOT_ROLE: u64 = GUILD + 20;
/// An Administrator role in the test server.
pub const ADMIN_ROLE: u64 = GUILD + 22;
/// The fake's bot user.
pub const BOT_USER: u64 = 900_000_000_000_000_001;

/// Administrator of the test server; a plain member of the other.
pub const ADMIN: u64 = 600_000_000_000_000_701;
/// Moderator of the test server only; a plain member of the other.
pub const MODERATOR: u64 = 600_000_000_000_000_702;
/// Moderator of the other server only.
pub const OTHER_MOD: u64 = 600_000_000_000_000_703;
/// A plain member of both servers.
pub const OUTSIDER: u64 = 600_000_000_000_000_704;
/// A moderator of the test server whose Discord name is markup.
pub const EVIL: u64 = 600_000_000_000_000_705;
/// A member the browser test bans; they appeal through the portal.
pub const BANNED: u64 = 600_000_000_000_000_706;
/// A member the browser test times out; the moderator reverses it.
pub const NOISY: u64 = 600_000_000_000_000_707;

/// Markup that must never reach a page unescaped.
pub const SCRIPT: &str = "<script>alert(1)</script>";
/// An attribute break-out that must never reach a page unescaped.
pub const IMG: &str = "\"><img src=x onerror=alert(1)>";

/// [`SCRIPT`] as escaped HTML text.
pub const SCRIPT_ESCAPED: &str = "&lt;script&gt;alert(1)&lt;/script&gt;";
/// [`IMG`] as escaped HTML text.
pub const IMG_ESCAPED: &str = "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;";

/// The test server as the fake serves it.
pub fn test_server() -> GuildSpec {
    guild()
        .role(
            BOT_ROLE,
            "usmca-bot",
            // Ban, kick, moderate members, manage messages.
            0x10_0000_0000 | 0x2 | 0x4 | MANAGE_MESSAGES,
            5,
        )
        .role(ADMIN_ROLE, "admins", ADMINISTRATOR, 3)
        .member(Author::new(BOT_USER, "usmca-bot").with_roles(&[BOT_ROLE]))
        .member(Author::new(ADMIN, "admin").with_roles(&[ADMIN_ROLE]))
        .member(Author::new(MODERATOR, "moderator").with_roles(&[MOD_ROLE]))
        .member(Author::new(EVIL, "evil").with_roles(&[MOD_ROLE]))
        .member(Author::new(OUTSIDER, "outsider"))
        .member(Author::new(BANNED, "banned"))
        .member(Author::new(NOISY, "noisy"))
}

/// The other server: the bot is in it, and only [`OTHER_MOD`] moderates it.
pub fn other_server() -> GuildSpec {
    GuildSpec::new(OTHER, "Other Server")
        .channel(OTHER + 1, "general")
        .channel(OTHER + 2, "mod-log")
        .channel(OTHER + 3, "appeals")
        .role(OTHER_MOD_ROLE, "other-mods", MANAGE_MESSAGES, 1)
        .member(Author::new(OTHER_MOD, "othermod").with_roles(&[OTHER_MOD_ROLE]))
        .member(Author::new(ADMIN, "admin"))
        .member(Author::new(MODERATOR, "moderator"))
        .member(Author::new(OUTSIDER, "outsider"))
}

/// A moderator as the gateway sends them (for `/mod` commands).
pub fn moderator() -> Author {
    Author::new(MODERATOR, "moderator").with_roles(&[MOD_ROLE])
}

/// The daemon's options: both servers, every user able to log in, the dashboard on.
pub fn options() -> Options {
    let (ours, other) = (test_server(), other_server());
    let user = |id: u64, name: &str| OAuthUser::new(id, name).member_of(&ours).member_of(&other);
    let oauth_users = vec![
        user(ADMIN, "admin"),
        user(MODERATOR, "moderator"),
        user(OTHER_MOD, "othermod"),
        user(OUTSIDER, "outsider"),
        user(EVIL, &format!("{SCRIPT}{IMG}")),
        // Banned: Discord lists no shared server any more.
        OAuthUser::new(BANNED, "banned"),
        user(NOISY, "noisy"),
    ];
    let mut o = Options {
        guilds: vec![ours, other],
        web: true,
        oauth_users,
        ..Options::default()
    };
    // Tests log in many times from one address.
    o.env
        .push(("USMCA_WEB__LOGINS_PER_MINUTE".into(), "1000".into()));
    o
}

/// Starts the daemon with [`options`].
pub async fn start() -> Daemon {
    Daemon::start(options()).await
}

/// Records a case directly in storage; returns (case number, case id).
pub async fn seed_case(
    d: &Daemon,
    guild_id: u64,
    user_id: u64,
    action: CaseAction,
    reason: &str,
    excerpt: Option<&str>,
) -> (i64, i64) {
    let case = NewCase {
        guild_id,
        user_id,
        action,
        reason: reason.into(),
        scores: json!({"toxic": 0.97}),
        message_id: None,
        message_excerpt: excerpt.map(str::to_owned),
        actor_id: None,
        expires_at: None,
        dry_run: false,
        status: CaseStatus::Applied,
        error_note: None,
        key: None,
        behaviour_score: Some(0.9),
    };
    let r = d
        .storage()
        .record_case_keyed(&case, None, None)
        .await
        .expect("case recorded");
    (r.case_no, r.case_id)
}

/// Files an appeal on a stored case directly in storage; returns its id.
pub async fn seed_appeal(d: &Daemon, guild_id: u64, case_no: i64, user_id: u64, text: &str) -> i64 {
    d.storage()
        .create_appeal(guild_id, case_no, user_id, text)
        .await
        .expect("appeal recorded")
        .appeal_id
}

/// Four weeks of chat in the test server, as the message writer stores it: mostly harmless
/// messages, a few flagged ones (what the overview charts and the what-if preview read), and
/// the automatic warnings they drew. Deterministic. Returns the number of messages.
pub async fn seed_history(d: &Daemon) -> usize {
    use chrono::{Duration as Days, Utc};
    use std::collections::BTreeMap;
    use usmca_bot::behaviour::snowflake_at;
    use usmca_bot::storage::MessageRecord;

    let mut seed: u64 = 0x5eed;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) as f64 / (1u64 << 31) as f64
    };
    let now = Utc::now();
    let mut batch = Vec::new();
    let mut warned = Vec::new();
    for day in (0..28).rev() {
        let per_day = 25 + (next() * 30.0) as usize;
        for i in 0..per_day {
            let at = now - Days::days(day) - Days::minutes((i * 37 % 1_400) as i64);
            let author = 700_000_000_000_000_000 + (next() * 12.0) as u64;
            let roll = next();
            // Most messages score near zero; about one in ten is rude, a few are threats.
            let toxicity = if roll < 0.88 {
                next() * 0.3
            } else if roll < 0.97 {
                0.55 + next() * 0.3
            } else {
                0.86 + next() * 0.12
            };
            let label = if roll < 0.97 { "insult" } else { "threat" };
            let scores = BTreeMap::from([
                ("toxic".to_string(), toxicity * 0.95),
                (label.to_string(), toxicity),
            ]);
            let decision = match toxicity {
                t if t >= 0.75 => "timeout",
                t if t >= 0.6 => "warn",
                _ => "allow",
            };
            let message_id = snowflake_at(at.timestamp_millis(), batch.len() as u64 % 4096);
            if decision == "warn" {
                warned.push((author, message_id, at, toxicity));
            }
            batch.push(MessageRecord {
                message_id,
                guild_id: GUILD,
                channel_id: crate::harness::GENERAL,
                author_id: author,
                created_at: at,
                edited_at: None,
                scores,
                decision: decision.into(),
                content: None,
            });
        }
    }
    d.storage()
        .insert_messages(&batch, false)
        .await
        .expect("history stored");
    // Numbered in time order, as the bot would have.
    warned.sort_by_key(|w| w.2);
    for (author, message_id, at, score) in warned {
        let case = NewCase {
            guild_id: GUILD,
            user_id: author,
            action: CaseAction::Warn,
            reason: format!("insult {score:.2}"),
            scores: json!({"toxic": score * 0.95, "insult": score}),
            message_id: Some(message_id),
            message_excerpt: None,
            actor_id: None,
            expires_at: None,
            dry_run: false,
            status: CaseStatus::Applied,
            error_note: None,
            key: Some(format!("history:{message_id}")),
            behaviour_score: Some(score),
        };
        d.storage()
            .record_case_keyed(&case, Some(at), None)
            .await
            .expect("history case");
    }
    batch.len()
}

/// The status of case `case_no` in `guild`.
pub async fn case_status(d: &Daemon, guild: u64, case_no: i64) -> String {
    sqlx::query_scalar("SELECT status FROM moderation_cases WHERE guild_id = $1 AND case_no = $2")
        .bind(guild as i64)
        .bind(case_no)
        .fetch_one(d.storage().pool())
        .await
        .expect("case status")
}
