//! Moderator slash commands, the "Check toxicity" context menu, and the buttons and modals of
//! the appeal and mod-log flows.
//!
//! - [`moderator`]: `/mod status | history | case | pardon | config show | config set | dryrun`.
//! - [`appeals`]: Appeal button → modal → review post → Approve / Deny; mod-log Reverse / Confirm.
//! - [`reply`]: answering within 3 seconds (deferring when the work takes longer), split into
//!   several messages when the answer is longer than one.
//!
//! A front end only: each handler parses the interaction, calls the
//! [`Moderation`] service and renders its answer.

pub mod appeals;
pub mod autocomplete;
pub mod history;
pub mod manual;
pub mod moderator;
pub mod raid;
pub mod reply;
pub mod tuning;

use crate::moderation::{Access, Moderation};
use serenity::all::{
    CommandDataOption, CommandDataOptionValue, CommandOptionType, CommandType, Context,
    CreateCommand, CreateCommandOption, GuildId, Http, Interaction, Member, Permissions,
};
use std::sync::Arc;

/// Name of the message context-menu command.
pub const CHECK_TOXICITY: &str = "Check toxicity";

/// The commands installed in every guild.
pub fn definitions() -> Vec<CreateCommand> {
    let sub = |name: &str, desc: &str| {
        CreateCommandOption::new(CommandOptionType::SubCommand, name, desc)
    };
    let mod_cmd = CreateCommand::new("mod")
        .description("usmca-bot moderation")
        .dm_permission(false)
        .add_option(sub(
            "status",
            "Uptime, shards, model, queue, Postgres/Redis health, dry-run",
        ))
        .add_option(
            sub("history", "A member's cases and recent messages").add_sub_option(
                CreateCommandOption::new(CommandOptionType::User, "user", "The member")
                    .required(true),
            ),
        )
        .add_option(
            sub("case", "Show one case").add_sub_option(
                CreateCommandOption::new(CommandOptionType::Integer, "number", "Case number")
                    .required(true)
                    .min_int_value(1)
                    .set_autocomplete(true),
            ),
        )
        .add_option(
            sub(
                "pardon",
                "Reverse a case (lifts a timeout or ban) and record why",
            )
            .add_sub_option(
                CreateCommandOption::new(CommandOptionType::Integer, "case", "Case number")
                    .required(true)
                    .min_int_value(1)
                    .set_autocomplete(true),
            )
            .add_sub_option(CreateCommandOption::new(
                CommandOptionType::String,
                "reason",
                "Why (kept in the audit trail)",
            )),
        )
        .add_option(
            CreateCommandOption::new(
                CommandOptionType::SubCommandGroup,
                "config",
                "This server's settings",
            )
            .add_sub_option(sub("show", "Show the effective settings"))
            .add_sub_option(
                sub(
                    "suggest",
                    "Thresholds suggested by the moderators' Confirm and Reverse clicks",
                )
                .add_sub_option(CreateCommandOption::new(
                    CommandOptionType::String,
                    "max_reversal_rate",
                    "Highest share of actions reversed, e.g. 10% (default)",
                )),
            )
            .add_sub_option(
                sub("set", "Change a setting (administrators)")
                    .add_sub_option(
                        CreateCommandOption::new(
                            CommandOptionType::String,
                            "key",
                            "e.g. thresholds.timeout, mod_log_channel, dry_run",
                        )
                        .required(true)
                        .set_autocomplete(true),
                    )
                    .add_sub_option(
                        CreateCommandOption::new(
                            CommandOptionType::String,
                            "value",
                            "New value; `none` restores the global default",
                        )
                        .required(true),
                    ),
            ),
        )
        .add_option(rules_group())
        .add_option(
            sub("dryrun", "Record decisions without acting (administrators)").add_sub_option(
                CreateCommandOption::new(CommandOptionType::String, "state", "on or off")
                    .required(true)
                    .add_string_choice("on", "on")
                    .add_string_choice("off", "off"),
            ),
        );
    let mod_cmd = mod_cmd.add_option(raid::group()).add_option(sub(
        "appeals",
        "Open appeals, oldest first, with Approve and Deny",
    ));
    let mod_cmd = manual::subcommands()
        .into_iter()
        .fold(mod_cmd, |cmd, sub| cmd.add_option(sub))
        // Hidden from members without Manage Messages (server admins can widen it in
        // Server Settings → Integrations); the bot checks every use itself too.
        .default_member_permissions(Permissions::MANAGE_MESSAGES);
    let check = CreateCommand::new(CHECK_TOXICITY)
        .kind(CommandType::Message)
        .default_member_permissions(Permissions::MANAGE_MESSAGES);
    let moderate = CreateCommand::new(manual::MODERATE)
        .kind(CommandType::User)
        .default_member_permissions(Permissions::MANAGE_MESSAGES);
    vec![mod_cmd, check, moderate]
}

/// `/mod rules list | add | remove | test`.
fn rules_group() -> CreateCommandOption {
    let sub = |name: &str, desc: &str| {
        CreateCommandOption::new(CommandOptionType::SubCommand, name, desc)
    };
    let string =
        |name: &str, desc: &str| CreateCommandOption::new(CommandOptionType::String, name, desc);
    let kind = || {
        let mut k = string("kind", "What to add or remove").required(true);
        for (_, name) in crate::domain::RuleKind::ALL {
            k = k.add_string_choice(name, name);
        }
        k
    };
    CreateCommandOption::new(
        CommandOptionType::SubCommandGroup,
        "rules",
        "Word lists, links and spam rules beside the model",
    )
    .add_sub_option(sub("list", "Show this server's rules"))
    .add_sub_option(
        sub(
            "add",
            "Add a word, allowlisted phrase, domain or invite (administrators)",
        )
        .add_sub_option(kind())
        .add_sub_option(
            string(
                "value",
                "Word, phrase or pattern (scam*, *coin), domain or invite",
            )
            .required(true),
        )
        .add_sub_option(string("list", "Word list name (default: custom)"))
        .add_sub_option(
            string("label", "Label a hit feeds (default: toxic)")
                .add_string_choice("toxic", "toxic")
                .add_string_choice("obscene", "obscene")
                .add_string_choice("insult", "insult")
                .add_string_choice("identity_hate", "identity_hate")
                .add_string_choice("threat", "threat"),
        )
        .add_sub_option(CreateCommandOption::new(
            CommandOptionType::Number,
            "severity",
            "Score a hit gives the label, in (0, 1] (default 0.99: deleted)",
        )),
    )
    .add_sub_option(
        sub("remove", "Remove a rule (administrators)")
            .add_sub_option(kind())
            .add_sub_option(string("value", "What to remove").required(true)),
    )
    .add_sub_option(
        sub("test", "What the rules find in a text")
            .add_sub_option(string("text", "Text to try").required(true)),
    )
}

/// Installs the commands in `guild` (replacing older versions).
pub async fn install(http: &Http, guild: GuildId) -> serenity::Result<()> {
    guild.set_commands(http, definitions()).await.map(drop)
}

/// A string option's value.
pub(crate) fn opt_string(opts: &[CommandDataOption], name: &str) -> Option<String> {
    match opts.iter().find(|o| o.name == name).map(|o| &o.value)? {
        CommandDataOptionValue::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// An integer option's value (a string like `#12` is read too).
pub(crate) fn opt_int(opts: &[CommandDataOption], name: &str) -> Option<i64> {
    match opts.iter().find(|o| o.name == name).map(|o| &o.value)? {
        CommandDataOptionValue::Integer(i) => Some(*i),
        CommandDataOptionValue::String(s) => s.trim().trim_start_matches('#').parse().ok(),
        _ => None,
    }
}

/// A user option's id.
pub(crate) fn opt_user(opts: &[CommandDataOption], name: &str) -> Option<u64> {
    match opts.iter().find(|o| o.name == name).map(|o| &o.value)? {
        CommandDataOptionValue::User(u) => Some(u.get()),
        _ => None,
    }
}

/// The invoker's access in `guild_id`, from the member the interaction carries.
pub fn access(service: &Moderation, guild_id: u64, member: Option<&Member>) -> Access {
    let Some(m) = member else {
        return Access::Member;
    };
    let roles: Vec<u64> = m.roles.iter().map(|r| r.get()).collect();
    service.access(
        guild_id,
        m.permissions.unwrap_or(Permissions::empty()),
        &roles,
    )
}

/// Routes one interaction.
pub async fn dispatch(service: &Arc<Moderation>, ctx: &Context, interaction: Interaction) {
    match interaction {
        Interaction::Command(c) => moderator::on_command(service, ctx, c).await,
        Interaction::Component(c) => appeals::on_component(service, ctx, c).await,
        Interaction::Modal(m) => appeals::on_modal(service, ctx, m).await,
        Interaction::Autocomplete(a) => autocomplete::respond(service, ctx, a).await,
        _ => {}
    }
}
