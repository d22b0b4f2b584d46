//! Outgoing messages: content, embed and buttons, fitted to Discord's limits.

use serde_json::{json, Value};
use serenity::model::id::UserId;

use super::RestError;
use crate::discord::limits::{
    truncate, truncate_message, EmbedText, ACTION_ROWS_MAX, BUTTONS_PER_ROW, BUTTON_LABEL_MAX,
    CUSTOM_ID_MAX,
};
/// Prefix of the appeal button's `custom_id`; the case number follows it.
pub const APPEAL_CUSTOM_ID_PREFIX: &str = "appeal:";
/// Prefix of the appeal button of a case recorded while Postgres was down (it has no id yet):
/// `appeal-key:{guild}:{idempotency key}`.
pub const APPEAL_KEY_PREFIX: &str = "appeal-key:";

/// Which case an appeal button is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppealRef {
    /// The case's database id.
    Case(u64),
    /// A case known by its idempotency key in a guild (recorded in the journal).
    Key {
        /// Guild.
        guild: u64,
        /// The case's idempotency key.
        key: String,
    },
}

/// The `custom_id` of the appeal button for `case`.
pub fn appeal_custom_id(case: u64) -> String {
    format!("{APPEAL_CUSTOM_ID_PREFIX}{case}")
}

impl AppealRef {
    /// The button's `custom_id`.
    pub fn custom_id(&self) -> String {
        match self {
            AppealRef::Case(id) => appeal_custom_id(*id),
            AppealRef::Key { guild, key } => format!("{APPEAL_KEY_PREFIX}{guild}:{key}"),
        }
    }

    /// Reads an appeal button's `custom_id`.
    pub fn parse(custom_id: &str) -> Option<Self> {
        if let Some(rest) = custom_id.strip_prefix(APPEAL_KEY_PREFIX) {
            let (guild, key) = rest.split_once(':')?;
            return Some(AppealRef::Key {
                guild: guild.parse().ok()?,
                key: key.to_string(),
            });
        }
        parse_appeal_custom_id(custom_id).map(AppealRef::Case)
    }
}

/// The case number in an appeal button's `custom_id`, if it is one.
pub fn parse_appeal_custom_id(custom_id: &str) -> Option<u64> {
    custom_id
        .strip_prefix(APPEAL_CUSTOM_ID_PREFIX)?
        .parse()
        .ok()
}

/// Button colours Discord offers for interactive (non-link) buttons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ButtonStyle {
    /// Blurple.
    Primary,
    /// Grey.
    Secondary,
    /// Green.
    Success,
    /// Red.
    Danger,
}

/// An interactive button; a click arrives as a component interaction carrying `custom_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    /// Text on the button (cut to 80 characters).
    pub label: String,
    /// Routing id of the click, at most 100 characters.
    pub custom_id: String,
    /// Colour.
    pub style: ButtonStyle,
}

/// A message to post: text, an optional embed and buttons. Content and embed are fitted to
/// Discord's limits; only `mention_users` can ping anyone (no @everyone or role pings).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// Text (cut to 2,000 characters).
    pub content: String,
    /// Optional embed (fitted to the embed limits).
    pub embed: Option<EmbedText>,
    /// Embed colour as 0xRRGGBB.
    pub embed_color: Option<u32>,
    /// Buttons, five to a row, at most 25.
    pub buttons: Vec<Button>,
    /// Users this message may ping.
    pub mention_users: Vec<UserId>,
    /// Roles the message may ping (an alert role); no other role is ever pinged.
    pub mention_roles: Vec<u64>,
}

impl OutgoingMessage {
    /// A plain text message.
    pub fn text(content: impl Into<String>) -> Self {
        Self {
            content: content.into(),
            ..Self::default()
        }
    }

    /// The JSON body of a create-message request.
    pub fn to_json(&self) -> Result<Value, RestError> {
        if self.buttons.len() > BUTTONS_PER_ROW * ACTION_ROWS_MAX {
            return Err(RestError::Invalid(format!(
                "{} buttons; a message holds at most {}",
                self.buttons.len(),
                BUTTONS_PER_ROW * ACTION_ROWS_MAX
            )));
        }
        let mut rows = Vec::new();
        for chunk in self.buttons.chunks(BUTTONS_PER_ROW) {
            let mut buttons = Vec::new();
            for b in chunk {
                if b.custom_id.is_empty() || b.custom_id.chars().count() > CUSTOM_ID_MAX {
                    return Err(RestError::Invalid(format!(
                        "button custom_id `{}` must be 1-{CUSTOM_ID_MAX} characters",
                        b.custom_id
                    )));
                }
                let style = match b.style {
                    ButtonStyle::Primary => 1,
                    ButtonStyle::Secondary => 2,
                    ButtonStyle::Success => 3,
                    ButtonStyle::Danger => 4,
                };
                buttons.push(json!({"type": 2, "style": style,
                    "label": truncate(&b.label, BUTTON_LABEL_MAX), "custom_id": b.custom_id}));
            }
            rows.push(json!({"type": 1, "components": buttons}));
        }
        let users: Vec<String> = self.mention_users.iter().map(|u| u.to_string()).collect();
        let mut body = json!({
            "content": truncate_message(&self.content),
            "allowed_mentions": {"parse": [], "users": users},
            "components": rows,
        });
        if !self.mention_roles.is_empty() {
            body["allowed_mentions"]["roles"] = json!(self
                .mention_roles
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>());
        }
        if let Some(embed) = &self.embed {
            body["embeds"] = json!([embed_json(&embed.clone().fit(), self.embed_color)]);
        }
        Ok(body)
    }
}

fn embed_json(e: &EmbedText, color: Option<u32>) -> Value {
    let mut v = json!({});
    if let Some(t) = &e.title {
        v["title"] = json!(t);
    }
    if let Some(d) = &e.description {
        v["description"] = json!(d);
    }
    if !e.fields.is_empty() {
        let fields: Vec<Value> = e
            .fields
            .iter()
            .map(|(n, val, inline)| json!({"name": n, "value": val, "inline": inline}))
            .collect();
        v["fields"] = json!(fields);
    }
    if let Some(f) = &e.footer {
        v["footer"] = json!({ "text": f });
    }
    if let Some(a) = &e.author {
        v["author"] = json!({ "name": a });
    }
    if let Some(c) = color {
        v["color"] = json!(c);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appeal_ids_round_trip() {
        assert_eq!(parse_appeal_custom_id(&appeal_custom_id(42)), Some(42));
        assert_eq!(parse_appeal_custom_id("appeal:x"), None);
        assert_eq!(parse_appeal_custom_id("other:1"), None);
        let k = AppealRef::Key {
            guild: 7,
            key: "msg:9:timeout".into(),
        };
        assert_eq!(AppealRef::parse(&k.custom_id()), Some(k));
        assert_eq!(AppealRef::parse("appeal:5"), Some(AppealRef::Case(5)));
        assert_eq!(AppealRef::parse("appeal-key:x:y"), None);
    }

    #[test]
    fn message_json_rows_buttons_and_blocks_mass_pings() {
        let mut m = OutgoingMessage::text("@everyone ".repeat(300));
        m.buttons = (0..7)
            .map(|i| Button {
                label: "L".repeat(100),
                custom_id: format!("b{i}"),
                style: ButtonStyle::Danger,
            })
            .collect();
        let v = m.to_json().unwrap_or_default();
        assert_eq!(
            v["content"].as_str().map(|s| s.chars().count()),
            Some(2_000)
        );
        assert_eq!(v["components"].as_array().map(Vec::len), Some(2));
        assert_eq!(
            v["components"][1]["components"].as_array().map(Vec::len),
            Some(2)
        );
        assert_eq!(v["components"][0]["components"][0]["style"], 4);
        assert_eq!(v["allowed_mentions"]["parse"], json!([]));
        let label = v["components"][0]["components"][0]["label"].as_str();
        assert_eq!(label.map(|s| s.chars().count()), Some(80));
    }

    #[test]
    fn bad_custom_id_and_too_many_buttons_are_refused() {
        let b = |id: String| Button {
            label: "x".into(),
            custom_id: id,
            style: ButtonStyle::Primary,
        };
        let mut m = OutgoingMessage::text("x");
        m.buttons.push(b("y".repeat(101)));
        assert!(matches!(m.to_json(), Err(RestError::Invalid(_))));
        m.buttons = (0..26).map(|i| b(i.to_string())).collect();
        assert!(matches!(m.to_json(), Err(RestError::Invalid(_))));
    }
}
