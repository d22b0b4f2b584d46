//! Every fixture the fake sends must deserialise with serenity's own types; a missing field
//! would otherwise turn a known event into `Event::Unknown` and no handler would run.

use serde_json::{json, Value};
use serenity::model::application::{
    CommandDataOptionValue, CommandType, ComponentInteractionDataKind, Interaction,
};
use serenity::model::channel::Message;
use serenity::model::event::{Event, GatewayEvent};
use serenity::model::guild::{Guild, Member};

use crate::fake_discord::events::{self, Author, GuildSpec};

const GUILD: u64 = 1_000_000_000_000_000_001;
const CHANNEL: u64 = GUILD + 1;

fn alice() -> Author {
    Author::new(42, "alice").with_roles(&[77])
}

fn guild() -> GuildSpec {
    GuildSpec::new(GUILD, "Test Guild")
        .channel(CHANNEL + 10, "mod-log")
        .role(77, "regular", 0x800, 1)
        .role(78, "moderator", 0x2000, 2)
        .member(alice())
}

/// Wraps `d` in a dispatch frame and parses it the way serenity's shard does.
fn dispatch(t: &str, d: Value) -> Event {
    let frame = json!({"op": 0, "t": t, "s": 7, "d": d});
    match serde_json::from_value::<GatewayEvent>(frame) {
        Ok(GatewayEvent::Dispatch(7, event)) => event,
        other => panic!("{t}: not a dispatch with s=7: {other:?}"),
    }
}

fn interaction(d: Value) -> Interaction {
    match dispatch("INTERACTION_CREATE", d) {
        Event::InteractionCreate(e) => e.interaction,
        other => panic!("INTERACTION_CREATE fell into {other:?}"),
    }
}

#[test]
fn ready_and_guild_create_parse() {
    let ready = events::ready(5, 6, "sess", &[GUILD], (0, 2), "ws://127.0.0.1:1");
    match dispatch("READY", ready) {
        Event::Ready(r) => {
            assert_eq!(r.ready.session_id, "sess");
            assert_eq!(r.ready.application.id.get(), 6);
            assert_eq!(r.ready.shard.map(|s| (s.id.0, s.total)), Some((0, 2)));
        }
        other => panic!("READY fell into {other:?}"),
    }
    match dispatch("GUILD_CREATE", events::guild_create(&guild())) {
        Event::GuildCreate(g) => {
            assert_eq!(g.guild.id.get(), GUILD);
            assert_eq!(g.guild.channels.len(), 2);
            assert_eq!(g.guild.roles.len(), 3, "@everyone + 2 roles");
            assert_eq!(g.guild.members.len(), 1);
        }
        other => panic!("GUILD_CREATE fell into {other:?}"),
    }
    let g: Guild = serde_json::from_value(events::guild_create(&guild())).expect("Guild");
    assert_eq!(g.name, "Test Guild");
}

#[test]
fn messages_parse_with_member_roles() {
    let m = events::message_create(GUILD, CHANNEL, 500, &alice(), "hello there");
    match dispatch("MESSAGE_CREATE", m.clone()) {
        Event::MessageCreate(e) => {
            assert_eq!(e.message.content, "hello there");
            assert_eq!(e.message.guild_id.map(|g| g.get()), Some(GUILD));
            let roles = e
                .message
                .member
                .as_ref()
                .map(|m| m.roles.clone())
                .unwrap_or_default();
            assert_eq!(roles.iter().map(|r| r.get()).collect::<Vec<_>>(), vec![77]);
        }
        other => panic!("MESSAGE_CREATE fell into {other:?}"),
    }
    let msg: Message = serde_json::from_value(m).expect("Message");
    assert_eq!(msg.author.id.get(), 42);
    match dispatch(
        "MESSAGE_UPDATE",
        events::message_update(GUILD, CHANNEL, 500, &alice(), "edited"),
    ) {
        Event::MessageUpdate(e) => {
            assert_eq!(e.content.as_deref(), Some("edited"));
            assert!(e.edited_timestamp.is_some());
        }
        other => panic!("MESSAGE_UPDATE fell into {other:?}"),
    }
    let dm: Message =
        serde_json::from_value(events::dm_message(9, 10, &alice(), "hi")).expect("DM");
    assert!(dm.guild_id.is_none());
}

#[test]
fn member_add_parses() {
    match dispatch(
        "GUILD_MEMBER_ADD",
        events::guild_member_add(GUILD, &alice()),
    ) {
        Event::GuildMemberAdd(e) => {
            assert_eq!(e.member.guild_id.get(), GUILD);
            assert_eq!(e.member.user.name, "alice");
        }
        other => panic!("GUILD_MEMBER_ADD fell into {other:?}"),
    }
    let m: Member =
        serde_json::from_value(events::guild_member_add(GUILD, &alice())).expect("Member");
    assert_eq!(m.roles.len(), 1);
}

#[test]
fn slash_command_parses_with_options_and_permissions() {
    let opts = json!([{"name": "user", "type": 6, "value": "42"}, {"name": "reason", "type": 3, "value": "spam"}]);
    let i = interaction(events::slash_command(
        GUILD,
        CHANNEL,
        &alice(),
        0x2000,
        "mod",
        opts,
    ));
    let Interaction::Command(c) = i else {
        panic!("not a command: {i:?}")
    };
    assert_eq!(c.data.name, "mod");
    assert_eq!(c.data.kind, CommandType::ChatInput);
    assert_eq!(c.data.options.len(), 2);
    assert!(matches!(c.data.options[0].value, CommandDataOptionValue::User(u) if u.get() == 42));
    let perms = c
        .member
        .as_ref()
        .and_then(|m| m.permissions)
        .map(|p| p.bits());
    assert_eq!(perms, Some(0x2000));
    assert_eq!(c.guild_id.map(|g| g.get()), Some(GUILD));
}

#[test]
fn message_context_command_parses_with_target() {
    let target = events::message(GUILD, CHANNEL, 501, &Author::new(43, "bob"), "rude text");
    let i = interaction(events::message_command(
        GUILD,
        CHANNEL,
        &alice(),
        0x2000,
        "Report message",
        target,
    ));
    let Interaction::Command(c) = i else {
        panic!("not a command: {i:?}")
    };
    assert_eq!(c.data.kind, CommandType::Message);
    assert_eq!(c.data.target_id.map(|t| t.get()), Some(501));
    let resolved = c
        .data
        .resolved
        .messages
        .values()
        .next()
        .map(|m| m.content.clone());
    assert_eq!(resolved.as_deref(), Some("rude text"));
}

#[test]
fn button_click_in_dm_and_guild_parse() {
    let bot = Author {
        bot: true,
        ..Author::new(5, "usmca-bot")
    };
    let dm = events::dm_message(9, 600, &bot, "You were timed out.");
    let i = interaction(events::button_click(None, 9, &alice(), "appeal:17", dm));
    let Interaction::Component(c) = i else {
        panic!("not a component: {i:?}")
    };
    assert_eq!(c.data.custom_id, "appeal:17");
    assert!(matches!(c.data.kind, ComponentInteractionDataKind::Button));
    assert!(c.guild_id.is_none());
    assert_eq!(c.user.id.get(), 42);
    let msg = events::message(GUILD, CHANNEL, 601, &bot, "case");
    let i = interaction(events::button_click(
        Some(GUILD),
        CHANNEL,
        &alice(),
        "case:1:ban",
        msg,
    ));
    assert!(matches!(i, Interaction::Component(c) if c.member.is_some()));
}

#[test]
fn modal_submit_parses_text_inputs() {
    let i = interaction(events::modal_submit(
        None,
        9,
        &alice(),
        "appeal:17",
        &[("why", "I was joking")],
    ));
    let Interaction::Modal(m) = i else {
        panic!("not a modal: {i:?}")
    };
    assert_eq!(m.data.custom_id, "appeal:17");
    let text = m
        .data
        .components
        .first()
        .and_then(|row| row.components.first())
        .map(|c| format!("{c:?}"));
    assert!(text.is_some_and(|t| t.contains("I was joking")));
}
