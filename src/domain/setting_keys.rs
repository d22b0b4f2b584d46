//! The per-guild settings a moderator can change by key (`/mod config set KEY VALUE`, and the
//! dashboard's forms), and how their values are read. Pure; the result is validated against the
//! global configuration before it is stored.

use super::notices::{self, Locale, NoticeKind};
use super::{
    BrigadeOverrides, ExemptionOverrides, GuildSettings, NoticeOverrides, RuleOverrides,
    ThresholdOverrides,
};
use crate::config::DurationSpec;

/// Keys `/mod config set` accepts, with what they take.
pub const KEYS: &[(&str, &str)] = &[
    ("thresholds.warn", "number in (0, 1]"),
    ("thresholds.timeout", "number in (0, 1]"),
    ("thresholds.kick", "number in (0, 1]"),
    ("thresholds.ban", "number in (0, 1]"),
    ("dry_run", "on / off"),
    ("store_content", "on / off"),
    ("content_retention", "duration, e.g. 30d"),
    ("mod_log_channel", "#channel or id, or none"),
    ("appeal_channel", "#channel or id, or none"),
    ("moderator_roles", "@roles or ids, comma-separated, or none"),
    (
        "lockdown_channels",
        "#channels or ids, comma-separated, or none: what /mod raid lockdown closes",
    ),
    ("alert_role", "@role or id pinged by raid alerts, or none"),
    (
        "channel.<#channel>.thresholds.warn|timeout|kick|ban",
        "number in (0, 1], or none: that channel's own threshold",
    ),
    (
        "exemptions.roles",
        "@roles or ids, comma-separated, or none",
    ),
    (
        "exemptions.channels",
        "#channels or ids, comma-separated, or none",
    ),
    (
        "exemptions.users",
        "@users or ids, comma-separated, or none",
    ),
    (
        "notices.locale",
        "language of member notices: en, es, pt, fr or de; none: the server's language",
    ),
    (
        "notices.warn",
        "template of the warning notice (variables: /mod config show), \\n for a new line; none: the default",
    ),
    (
        "notices.timeout",
        "template of the timeout notice, as notices.warn, also {duration} and {ends}",
    ),
    ("notices.kick", "template of the kick notice, as notices.warn"),
    ("notices.ban", "template of the ban notice, as notices.warn"),
    (
        "rules.presets",
        "word-list presets: auto, or language codes comma-separated (en, es, tr, ...), or off; none: the global value",
    ),
    ("rules.invites", "on / off: delete invites to other servers"),
    ("rules.link_action", "delete, ladder or timeout"),
    ("rules.mass_mentions", "mentions in one message that count as mass mentions, 0: off"),
    ("rules.mention_action", "delete, ladder or timeout"),
    ("rules.caps_ratio", "share of capitals that counts as shouting, e.g. 0.8; 0: off"),
    ("rules.emoji_max", "emoji per message above which it is a flood, 0: off"),
    ("rules.zalgo_marks", "stacked combining marks above which it is zalgo, e.g. 3; 0: off"),
    ("rules.attachments_max", "attachments per message above which it is a flood, 0: off"),
    ("rules.spam_action", "delete, ladder or timeout (caps, emoji, zalgo, attachments)"),
    (
        "brigade.join_surge_count",
        "joins within brigade.join_surge_window that make a raid (new accounts and default avatars weigh more), at least 2",
    ),
    ("brigade.join_surge_window", "duration, e.g. 60s: the window of brigade.join_surge_count"),
    (
        "brigade.coordinated_count",
        "recently joined members toxic in one channel that make a brigade, at least 2",
    ),
    ("brigade.coordinated_window", "duration, e.g. 2m: the window of brigade.coordinated_count"),
    (
        "brigade.harassment_count",
        "members directing toxic replies or mentions at one user that make a brigade, at least 2",
    ),
    ("brigade.harassment_window", "duration, e.g. 5m: the window of brigade.harassment_count"),
    (
        "brigade.duplicate_count",
        "accounts posting one text that make a flood, at least 2",
    ),
    ("brigade.duplicate_window", "duration, e.g. 2m: the window of brigade.duplicate_count"),
    (
        "brigade.lookback",
        "duration, e.g. 10m: joins this long before an incident are its participants",
    ),
    ("brigade.quiet_period", "duration, e.g. 5m, without activity that ends an incident"),
    ("brigade.slowmode", "duration up to 6h: slow-mode during an incident; 0s: none"),
    ("brigade.timeout_new_accounts", "on / off: time out new accounts taking part"),
    ("brigade.participant_timeout", "duration, 1s to 28d: their timeout"),
];

fn is_none(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "none" | "unset" | "default" | ""
    )
}

/// Reads an on/off value.
pub fn parse_bool(v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" | "enable" | "enabled" => Ok(true),
        "off" | "false" | "no" | "0" | "disable" | "disabled" => Ok(false),
        _ => Err(format!("`{v}` is not on or off")),
    }
}

/// Reads one id from `123`, `<#123>`, `<@123>`, `<@!123>` or `<@&123>`.
pub fn parse_id(v: &str) -> Result<u64, String> {
    let t = v.trim();
    let digits = t
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim_start_matches(['#', '@', '!', '&']);
    match digits.parse::<u64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(format!(
            "`{t}` is not a Discord id; mention it or paste its id (Developer Mode → Copy ID)"
        )),
    }
}

fn parse_ids(v: &str) -> Result<Option<Vec<u64>>, String> {
    if is_none(v) {
        return Ok(None);
    }
    v.split([',', ' '])
        .filter(|s| !s.trim().is_empty())
        .map(parse_id)
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn parse_channel(v: &str) -> Result<Option<u64>, String> {
    if is_none(v) {
        Ok(None)
    } else {
        parse_id(v).map(Some)
    }
}

fn parse_threshold(v: &str) -> Result<Option<f64>, String> {
    if is_none(v) {
        return Ok(None);
    }
    v.trim()
        .parse::<f64>()
        .map(Some)
        .map_err(|_| format!("`{v}` is not a number; write e.g. 0.8"))
}

/// Applies `key = value` to `settings`. `none` clears a setting back to the global value.
pub fn apply(settings: &mut GuildSettings, key: &str, value: &str) -> Result<(), String> {
    let key = key.trim().to_ascii_lowercase();
    if let Some(rest) = key.strip_prefix("channel.") {
        return apply_channel_threshold(settings, rest, value);
    }
    match key.as_str() {
        "thresholds.warn" | "thresholds.timeout" | "thresholds.kick" | "thresholds.ban" => {
            let v = parse_threshold(value)?;
            let t = settings
                .thresholds
                .get_or_insert_with(ThresholdOverrides::default);
            match key.as_str() {
                "thresholds.warn" => t.warn = v,
                "thresholds.timeout" => t.timeout = v,
                "thresholds.kick" => t.kick = v,
                _ => t.ban = v,
            }
            if *t == ThresholdOverrides::default() {
                settings.thresholds = None;
            }
        }
        "dry_run" => {
            settings.dry_run = if is_none(value) {
                None
            } else {
                Some(parse_bool(value)?)
            }
        }
        "store_content" => {
            settings.store_content = if is_none(value) {
                None
            } else {
                Some(parse_bool(value)?)
            }
        }
        "content_retention" => {
            settings.content_retention = if is_none(value) {
                None
            } else {
                let d = DurationSpec::parse(value.trim());
                if d.get().is_none() {
                    return Err(format!(
                        "`{value}` is not a duration; write e.g. 30d or 12h"
                    ));
                }
                Some(d)
            }
        }
        "mod_log_channel" => settings.mod_log_channel = parse_channel(value)?,
        "appeal_channel" => settings.appeal_channel = parse_channel(value)?,
        "moderator_roles" => settings.moderator_roles = parse_ids(value)?,
        "lockdown_channels" => settings.lockdown_channels = parse_ids(value)?,
        "alert_role" => settings.alert_role = parse_channel(value)?,
        "exemptions.roles" | "exemptions.channels" | "exemptions.users" => {
            let ids = parse_ids(value)?;
            let e = settings
                .exemptions
                .get_or_insert_with(ExemptionOverrides::default);
            match key.as_str() {
                "exemptions.roles" => e.roles = ids,
                "exemptions.channels" => e.channels = ids,
                _ => e.users = ids,
            }
            if *e == ExemptionOverrides::default() {
                settings.exemptions = None;
            }
        }
        "notices.locale" => {
            let locale = if is_none(value) {
                None
            } else {
                let code = value.trim();
                match Locale::parse(code) {
                    Some(l) => Some(l.code().to_string()),
                    None => {
                        return Err(format!(
                            "`{code}` has no shipped wording; use one of: {}",
                            super::settings::locale_list()
                        ))
                    }
                }
            };
            let n = settings
                .notices
                .get_or_insert_with(NoticeOverrides::default);
            n.locale = locale;
            if *n == NoticeOverrides::default() {
                settings.notices = None;
            }
        }
        "notices.warn" | "notices.timeout" | "notices.kick" | "notices.ban" => {
            let kind = NoticeKind::ALL
                .into_iter()
                .find(|k| key.strip_prefix("notices.") == Some(k.key()))
                .unwrap_or(NoticeKind::Warn);
            let template = if is_none(value) {
                None
            } else {
                // A slash-command option cannot hold a line break: `\n` stands for one.
                let t = value.trim().replace("\\n", "\n");
                notices::validate_template(kind, &t)?;
                Some(t)
            };
            let n = settings
                .notices
                .get_or_insert_with(NoticeOverrides::default);
            *n.template_mut(kind) = template;
            if *n == NoticeOverrides::default() {
                settings.notices = None;
            }
        }
        k if k.starts_with("rules.") => apply_rule_key(settings, k, value)?,
        k if k.starts_with("brigade.") => apply_brigade_key(settings, k, value)?,
        _ => {
            let known: Vec<&str> = KEYS.iter().map(|(k, _)| *k).collect();
            return Err(format!(
                "unknown setting `{key}`; settable keys: {}",
                known.join(", ")
            ));
        }
    }
    Ok(())
}

/// `channel.<id>.thresholds.<level>`: one channel's threshold over the guild's.
fn apply_channel_threshold(
    settings: &mut GuildSettings,
    rest: &str,
    value: &str,
) -> Result<(), String> {
    let usage = || {
        "write channel.<#channel>.thresholds.warn (or timeout, kick, ban), e.g. channel.#memes.thresholds.warn"
            .to_string()
    };
    let (channel, level) = rest.split_once(".thresholds.").ok_or_else(usage)?;
    let channel = parse_id(channel)?;
    let v = parse_threshold(value)?;
    let map = settings
        .channel_thresholds
        .get_or_insert_with(Default::default);
    let t = map.entry(channel).or_default();
    match level {
        "warn" => t.warn = v,
        "timeout" => t.timeout = v,
        "kick" => t.kick = v,
        "ban" => t.ban = v,
        _ => return Err(usage()),
    }
    if *t == ThresholdOverrides::default() {
        map.remove(&channel);
    }
    if map.is_empty() {
        settings.channel_thresholds = None;
    }
    Ok(())
}

fn parse_count(v: &str) -> Result<u32, String> {
    v.trim()
        .parse::<u32>()
        .map_err(|_| format!("`{v}` is not a whole number; write e.g. 10, or 0 to turn it off"))
}

fn parse_action(v: &str) -> Result<String, String> {
    let a = v.trim().to_ascii_lowercase();
    if crate::config::RULE_ACTIONS.contains(&a.as_str()) {
        Ok(a)
    } else {
        Err(format!(
            "`{v}` is not an action; write delete, ladder or timeout"
        ))
    }
}

fn apply_rule_key(settings: &mut GuildSettings, key: &str, value: &str) -> Result<(), String> {
    let clear = is_none(value);
    let r = settings.rules.get_or_insert_with(RuleOverrides::default);
    macro_rules! set {
        ($field:ident, $parse:expr) => {
            r.$field = if clear { None } else { Some($parse(value)?) }
        };
    }
    match key {
        "rules.presets" => {
            r.presets = if clear {
                None
            } else if matches!(value.trim().to_ascii_lowercase().as_str(), "off" | "[]") {
                Some(Vec::new())
            } else {
                let codes: Vec<String> = value
                    .split([',', ' '])
                    .map(|c| c.trim().to_ascii_lowercase())
                    .filter(|c| !c.is_empty())
                    .collect();
                for c in &codes {
                    if c != "auto" && crate::rules::presets::terms(c).is_none() {
                        return Err(format!(
                            "no word-list preset `{c}`; bundled: auto, {}",
                            crate::rules::presets::codes()
                        ));
                    }
                }
                Some(codes)
            }
        }
        "rules.invites" => set!(invites, parse_bool),
        "rules.link_action" => set!(link_action, parse_action),
        "rules.mention_action" => set!(mention_action, parse_action),
        "rules.spam_action" => set!(spam_action, parse_action),
        "rules.mass_mentions" => set!(mass_mentions, parse_count),
        "rules.emoji_max" => set!(emoji_max, parse_count),
        "rules.zalgo_marks" => set!(zalgo_marks, parse_count),
        "rules.attachments_max" => set!(attachments_max, parse_count),
        "rules.caps_ratio" => set!(caps_ratio, |v: &str| v
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|r| (0.0..=1.0).contains(r))
            .ok_or_else(|| format!(
                "`{v}` is not a share in [0, 1]; write e.g. 0.8, or 0 to turn it off"
            ))),
        _ => {
            let known: Vec<&str> = KEYS
                .iter()
                .map(|(k, _)| *k)
                .filter(|k| k.starts_with("rules."))
                .collect();
            return Err(format!(
                "unknown setting `{key}`; rule keys: {} (word lists: /mod rules add)",
                known.join(", ")
            ));
        }
    }
    if settings.rules.as_ref() == Some(&RuleOverrides::default()) {
        settings.rules = None;
    }
    Ok(())
}

fn parse_duration(v: &str) -> Result<DurationSpec, String> {
    let d = DurationSpec::parse(v.trim());
    if d.get().is_none() {
        return Err(format!(
            "`{v}` is not a duration; write e.g. 30s, 10m or 1h"
        ));
    }
    Ok(d)
}

/// `brigade.<knob>`: raid and brigade detection for this guild. Ranges are checked with the
/// global rules when the settings are validated.
fn apply_brigade_key(settings: &mut GuildSettings, key: &str, value: &str) -> Result<(), String> {
    let clear = is_none(value);
    // Parsed before anything changes: a bad value leaves the settings as they were.
    macro_rules! set {
        ($field:ident, $parse:expr) => {{
            let v = if clear { None } else { Some($parse(value)?) };
            settings
                .brigade
                .get_or_insert_with(BrigadeOverrides::default)
                .$field = v;
        }};
    }
    let count = |v: &str| {
        v.trim()
            .parse::<u32>()
            .map_err(|_| format!("`{v}` is not a whole number; write e.g. 5 (at least 2)"))
    };
    match key {
        "brigade.join_surge_count" => set!(join_surge_count, count),
        "brigade.coordinated_count" => set!(coordinated_count, count),
        "brigade.harassment_count" => set!(harassment_count, count),
        "brigade.duplicate_count" => set!(duplicate_count, count),
        "brigade.join_surge_window" => set!(join_surge_window, parse_duration),
        "brigade.coordinated_window" => set!(coordinated_window, parse_duration),
        "brigade.harassment_window" => set!(harassment_window, parse_duration),
        "brigade.duplicate_window" => set!(duplicate_window, parse_duration),
        "brigade.lookback" => set!(lookback, parse_duration),
        "brigade.quiet_period" => set!(quiet_period, parse_duration),
        "brigade.slowmode" => set!(slowmode, parse_duration),
        "brigade.participant_timeout" => set!(participant_timeout, parse_duration),
        "brigade.timeout_new_accounts" => set!(timeout_new_accounts, parse_bool),
        _ => {
            let known: Vec<&str> = KEYS
                .iter()
                .map(|(k, _)| *k)
                .filter(|k| k.starts_with("brigade."))
                .collect();
            return Err(format!(
                "unknown setting `{key}`; brigade keys: {}",
                known.join(", ")
            ));
        }
    }
    if settings.brigade.as_ref() == Some(&BrigadeOverrides::default()) {
        settings.brigade = None;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_parse_and_none_clears() {
        let mut s = GuildSettings::default();
        assert!(apply(&mut s, "thresholds.warn", "0.5").is_ok());
        assert_eq!(s.thresholds.and_then(|t| t.warn), Some(0.5));
        assert!(apply(&mut s, "thresholds.warn", "none").is_ok());
        assert_eq!(s.thresholds, None);
        assert!(apply(&mut s, "mod_log_channel", "<#123>").is_ok());
        assert_eq!(s.mod_log_channel, Some(123));
        assert!(apply(&mut s, "exemptions.roles", "<@&5>, 6").is_ok());
        assert_eq!(
            s.exemptions.as_ref().and_then(|e| e.roles.clone()),
            Some(vec![5, 6])
        );
        assert!(apply(&mut s, "dry_run", "on").is_ok());
        assert_eq!(s.dry_run, Some(true));
        assert!(apply(&mut s, "content_retention", "12h").is_ok());
    }

    #[test]
    fn a_channel_gets_thresholds_of_its_own() {
        let mut s = GuildSettings::default();
        assert!(apply(&mut s, "channel.<#42>.thresholds.warn", "0.8").is_ok());
        let t = s
            .channel_thresholds
            .as_ref()
            .and_then(|m| m.get(&42).copied());
        assert_eq!(t.and_then(|t| t.warn), Some(0.8));
        assert!(apply(&mut s, "channel.42.thresholds.warn", "none").is_ok());
        assert_eq!(s.channel_thresholds, None);
        let e = apply(&mut s, "channel.42.warn", "0.8").unwrap_err();
        assert!(e.contains("thresholds.warn"), "{e}");
    }

    #[test]
    fn bad_values_say_what_to_write() {
        let mut s = GuildSettings::default();
        let e = apply(&mut s, "thresholds.kick", "high").unwrap_err();
        assert!(e.contains("not a number"), "{e}");
        let e = apply(&mut s, "dry_run", "maybe").unwrap_err();
        assert!(e.contains("on or off"), "{e}");
        let e = apply(&mut s, "mod_log_channel", "#general").unwrap_err();
        assert!(e.contains("Copy ID"), "{e}");
        let e = apply(&mut s, "colour", "red").unwrap_err();
        assert!(
            e.contains("settable keys") && e.contains("thresholds.warn"),
            "{e}"
        );
        let e = apply(&mut s, "content_retention", "forever").unwrap_err();
        assert!(e.contains("duration"), "{e}");
        let e = apply(&mut s, "notices.warn", "warned, score {score}").unwrap_err();
        assert!(e.contains("{score}") && e.contains("{why}"), "{e}");
        let e = apply(&mut s, "notices.locale", "klingon").unwrap_err();
        assert!(e.contains("en, es, pt, fr, de"), "{e}");
        assert_eq!(s, GuildSettings::default());
    }

    #[test]
    fn brigade_knobs_are_settable_validated_like_the_global_ones_and_cleared_by_none() {
        let base = crate::config::load_from(&crate::config::ConfigSource::default())
            .expect("the default configuration loads");
        let mut s = GuildSettings::default();
        for (key, value) in [
            ("brigade.join_surge_count", "3"),
            ("brigade.join_surge_window", "30s"),
            ("brigade.duplicate_count", "2"),
            ("brigade.slowmode", "0s"),
            ("brigade.timeout_new_accounts", "off"),
            ("brigade.participant_timeout", "2h"),
        ] {
            assert!(apply(&mut s, key, value).is_ok(), "{key} = {value}");
        }
        assert!(s.validate(&base).is_empty(), "{:?}", s.validate(&base));
        let b = s.effective(&base).brigade;
        assert_eq!(b.join_surge_count, 3);
        assert_eq!(
            b.join_surge_window.get(),
            Some(std::time::Duration::from_secs(30))
        );
        assert_eq!(b.duplicate_count, 2);
        assert_eq!(b.slowmode.get(), Some(std::time::Duration::ZERO));
        assert!(!b.timeout_new_accounts);
        // What the guild did not set keeps the global value.
        assert_eq!(b.coordinated_count, base.brigade.coordinated_count);
        assert_eq!(b.quiet_period, base.brigade.quiet_period);

        // Out of range: accepted by the parser, refused by the global rules, naming the key.
        for (key, value, says) in [
            ("brigade.join_surge_count", "1", "at least 2"),
            ("brigade.harassment_count", "0", "at least 2"),
            ("brigade.slowmode", "7h", "at most 6h"),
            ("brigade.participant_timeout", "30d", "at most 28days"),
            ("brigade.quiet_period", "0s", "must be positive"),
        ] {
            let mut bad = s.clone();
            assert!(apply(&mut bad, key, value).is_ok(), "{key} = {value}");
            let problems = bad.validate(&base);
            let p = problems
                .iter()
                .find(|p| p.key == format!("guild.{key}"))
                .unwrap_or_else(|| panic!("{key} = {value}: {problems:?}"));
            assert!(p.message.contains(says), "{key} = {value}: {p}");
        }

        // Malformed values say what to write and change nothing.
        let before = s.clone();
        let e = apply(&mut s, "brigade.join_surge_count", "lots").unwrap_err();
        assert!(e.contains("whole number"), "{e}");
        let e = apply(&mut s, "brigade.lookback", "a while").unwrap_err();
        assert!(e.contains("not a duration"), "{e}");
        let e = apply(&mut s, "brigade.timeout_new_accounts", "maybe").unwrap_err();
        assert!(e.contains("on or off"), "{e}");
        let e = apply(&mut s, "brigade.surge", "3").unwrap_err();
        assert!(e.contains("brigade.join_surge_count"), "{e}");
        assert_eq!(s, before);

        // `none` gives each back to the global value; with none left, no overrides at all.
        for key in [
            "brigade.join_surge_count",
            "brigade.join_surge_window",
            "brigade.duplicate_count",
            "brigade.slowmode",
            "brigade.timeout_new_accounts",
        ] {
            assert!(apply(&mut s, key, "none").is_ok());
        }
        assert!(s.brigade.is_some(), "participant_timeout is still set");
        assert!(apply(&mut s, "brigade.participant_timeout", "none").is_ok());
        assert_eq!(s, GuildSettings::default());
        // Every brigade key is listed (what autocomplete offers).
        for knob in [
            "join_surge_count",
            "join_surge_window",
            "coordinated_count",
            "coordinated_window",
            "harassment_count",
            "harassment_window",
            "duplicate_count",
            "duplicate_window",
            "lookback",
            "quiet_period",
            "slowmode",
            "timeout_new_accounts",
            "participant_timeout",
        ] {
            let key = format!("brigade.{knob}");
            assert!(KEYS.iter().any(|(k, _)| *k == key), "{key} not in KEYS");
        }
    }

    #[test]
    fn notice_templates_and_language_are_settable() {
        let mut s = GuildSettings::default();
        assert!(apply(&mut s, "notices.locale", "pt-BR").is_ok());
        assert!(apply(
            &mut s,
            "notices.timeout",
            "Muted {duration} in {guild}.\\nCase {case}"
        )
        .is_ok());
        let n = s.notices.clone().unwrap_or_default();
        assert_eq!(n.locale.as_deref(), Some("pt"));
        assert_eq!(
            n.template(NoticeKind::Timeout),
            Some("Muted {duration} in {guild}.\nCase {case}")
        );
        assert!(apply(&mut s, "notices.locale", "none").is_ok());
        assert!(apply(&mut s, "notices.timeout", "none").is_ok());
        assert_eq!(s.notices, None);
    }
}
