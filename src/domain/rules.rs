//! A guild's own rules beside the model (word lists, allowlist, link and spam settings), laid
//! over the global `[rules]`, and the edits `/mod rules add|remove` make. Pure.

use crate::config::{RulesConfig, WordListSpec};
use crate::rules::{links, presets, words};
use serde::{Deserialize, Serialize};

/// The list a term goes to when `/mod rules add` names none.
pub const DEFAULT_LIST: &str = "custom";
/// Labels a word list may feed.
pub const LABELS: &[&str] = &[
    "toxic",
    "severe_toxic",
    "obscene",
    "insult",
    "identity_hate",
    "threat",
];
/// Severity of a term added without one: deleted at the default `enforcement.delete_at`.
pub const DEFAULT_SEVERITY: f64 = 0.99;

/// Per-guild rule overrides; unset fields keep the global `[rules]` value. Lists and domain
/// lists add to the global ones.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuleOverrides {
    /// Word-list presets (`auto`, or language codes); `[]`: none.
    pub presets: Option<Vec<String>>,
    /// The guild's own word lists.
    pub lists: Option<Vec<WordListSpec>>,
    /// Allowlisted words and phrases.
    pub allow: Option<Vec<String>>,
    /// Delete invites to other servers.
    pub invites: Option<bool>,
    /// Allowed invite codes.
    pub invite_allow: Option<Vec<String>>,
    /// Allowed domains.
    pub allow_domains: Option<Vec<String>>,
    /// Denied domains.
    pub deny_domains: Option<Vec<String>>,
    /// What a link hit does.
    pub link_action: Option<String>,
    /// Mentions that count as mass mentions (0: off).
    pub mass_mentions: Option<u32>,
    /// What a mass-mention hit does.
    pub mention_action: Option<String>,
    /// Share of capitals that counts as shouting (0: off).
    pub caps_ratio: Option<f64>,
    /// Emoji per message above which it is a flood (0: off).
    pub emoji_max: Option<u32>,
    /// Stacked combining marks above which it is zalgo (0: off).
    pub zalgo_marks: Option<u32>,
    /// Attachments per message above which it is a flood (0: off).
    pub attachments_max: Option<u32>,
    /// What a caps, emoji, zalgo or attachment hit does.
    pub spam_action: Option<String>,
}

fn extend(base: &mut Vec<String>, extra: &Option<Vec<String>>) {
    for v in extra.iter().flatten() {
        if !base.contains(v) {
            base.push(v.clone());
        }
    }
}

impl RuleOverrides {
    /// Lays these overrides over the global rules.
    pub fn apply_to(&self, r: &mut RulesConfig) {
        if let Some(p) = &self.presets {
            r.presets = p.clone();
        }
        r.lists.extend(self.lists.iter().flatten().cloned());
        extend(&mut r.allow, &self.allow);
        extend(&mut r.invite_allow, &self.invite_allow);
        extend(&mut r.allow_domains, &self.allow_domains);
        extend(&mut r.deny_domains, &self.deny_domains);
        macro_rules! set {
            ($($f:ident),*) => {$(if let Some(v) = &self.$f { r.$f = v.clone(); })*};
        }
        set!(
            invites,
            link_action,
            mass_mentions,
            mention_action,
            caps_ratio,
            emoji_max,
            zalgo_marks,
            attachments_max,
            spam_action
        );
    }

    /// Problems with the guild's own terms and presets (key, message).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for p in self.presets.iter().flatten() {
            if p != "auto" && presets::terms(p).is_none() {
                out.push((
                    "guild.rules.presets".to_string(),
                    format!("no preset `{p}`; bundled: auto, {}", presets::codes()),
                ));
            }
        }
        for l in self.lists.iter().flatten() {
            if !LABELS.contains(&l.label.as_str()) {
                out.push((
                    format!("guild.rules.lists.{}", l.name),
                    format!("label `{}` is not one of: {}", l.label, LABELS.join(", ")),
                ));
            }
            if !(l.severity > 0.0 && l.severity <= 1.0) {
                out.push((
                    format!("guild.rules.lists.{}", l.name),
                    format!("severity must be in (0, 1], got {}", l.severity),
                ));
            }
            for t in &l.terms {
                if let Err(e) = words::check_term(t) {
                    out.push((format!("guild.rules.lists.{}", l.name), e.0));
                }
            }
        }
        for t in self.allow.iter().flatten() {
            if let Err(e) = words::check_term(t) {
                out.push(("guild.rules.allow".to_string(), e.0));
            }
        }
        out
    }
}

/// What `/mod rules add` and `remove` change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    /// A word, phrase or `*` pattern in a list.
    Word,
    /// An allowlisted word or phrase.
    Allow,
    /// A denied domain.
    DenyDomain,
    /// An allowed domain.
    AllowDomain,
    /// An allowed invite code.
    Invite,
}

impl RuleKind {
    /// Every kind with its name in `/mod rules`.
    pub const ALL: [(RuleKind, &'static str); 5] = [
        (RuleKind::Word, "word"),
        (RuleKind::Allow, "allow"),
        (RuleKind::DenyDomain, "deny-domain"),
        (RuleKind::AllowDomain, "allow-domain"),
        (RuleKind::Invite, "invite"),
    ];

    /// Reads a kind's name.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim().to_ascii_lowercase();
        Self::ALL
            .iter()
            .find(|(_, n)| *n == s)
            .map(|(k, _)| *k)
            .ok_or_else(|| {
                format!(
                    "`{s}` is not a kind of rule; use one of: {}",
                    Self::ALL.map(|(_, n)| n).join(", ")
                )
            })
    }
}

/// Adds a rule. `list`, `label` and `severity` apply to words (a new list takes them; an
/// existing one keeps its own label and severity unless given). Returns what was done, in words.
pub fn add(
    o: &mut RuleOverrides,
    kind: RuleKind,
    value: &str,
    list: Option<&str>,
    label: Option<&str>,
    severity: Option<f64>,
) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("give the word, phrase, domain or invite code to add".into());
    }
    let push = |v: &mut Option<Vec<String>>, item: String| {
        let v = v.get_or_insert_with(Vec::new);
        if !v.contains(&item) {
            v.push(item);
        }
    };
    match kind {
        RuleKind::Word => {
            words::check_term(value).map_err(|e| e.0)?;
            if let Some(l) = label {
                if !LABELS.contains(&l) {
                    return Err(format!("label `{l}` is not one of: {}", LABELS.join(", ")));
                }
            }
            if let Some(s) = severity {
                if !(s > 0.0 && s <= 1.0) {
                    return Err(format!("severity must be in (0, 1], e.g. 0.99; got {s}"));
                }
            }
            let name = list
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .unwrap_or(DEFAULT_LIST);
            let lists = o.lists.get_or_insert_with(Vec::new);
            let l = match lists.iter().position(|l| l.name == name) {
                Some(i) => &mut lists[i],
                None => {
                    lists.push(WordListSpec {
                        name: name.to_string(),
                        label: "toxic".into(),
                        severity: DEFAULT_SEVERITY,
                        terms: Vec::new(),
                    });
                    let last = lists.len() - 1;
                    &mut lists[last]
                }
            };
            if let Some(lab) = label {
                l.label = lab.to_string();
            }
            if let Some(s) = severity {
                l.severity = s;
            }
            if !l.terms.iter().any(|t| t == value) {
                l.terms.push(value.to_string());
            }
            Ok(format!(
                "`{value}` added to list {} ({}, severity {})",
                l.name, l.label, l.severity
            ))
        }
        RuleKind::Allow => {
            words::check_term(value).map_err(|e| e.0)?;
            push(&mut o.allow, value.to_string());
            Ok(format!(
                "`{value}` allowlisted: never a rule hit, and cut from what the model reads"
            ))
        }
        RuleKind::DenyDomain | RuleKind::AllowDomain => {
            let d = links::clean_domain(value);
            if !d.contains('.') {
                return Err(format!(
                    "`{value}` is not a domain; write e.g. scam.example"
                ));
            }
            if kind == RuleKind::DenyDomain {
                push(&mut o.deny_domains, d.clone());
                Ok(format!("links to {d} and its subdomains are hits"))
            } else {
                push(&mut o.allow_domains, d.clone());
                Ok(format!("links to {d} and its subdomains are allowed"))
            }
        }
        RuleKind::Invite => {
            let code = value
                .rsplit('/')
                .next()
                .unwrap_or(value)
                .trim()
                .to_lowercase();
            if code.is_empty() || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                return Err(format!(
                    "`{value}` is not an invite code; write e.g. discord.gg/abc123"
                ));
            }
            push(&mut o.invite_allow, code.clone());
            Ok(format!("invite {code} is allowed"))
        }
    }
}

/// Removes a rule; an error says what is there when nothing matches.
pub fn remove(o: &mut RuleOverrides, kind: RuleKind, value: &str) -> Result<String, String> {
    let value = value.trim();
    let take = |v: &mut Option<Vec<String>>, item: &str| -> bool {
        let Some(list) = v else { return false };
        let before = list.len();
        list.retain(|x| !x.eq_ignore_ascii_case(item));
        let removed = list.len() != before;
        if list.is_empty() {
            *v = None;
        }
        removed
    };
    let done = match kind {
        RuleKind::Word => {
            let mut removed = false;
            if let Some(lists) = &mut o.lists {
                for l in lists.iter_mut() {
                    let before = l.terms.len();
                    l.terms.retain(|t| t != value);
                    removed |= l.terms.len() != before;
                }
                lists.retain(|l| !l.terms.is_empty());
                if lists.is_empty() {
                    o.lists = None;
                }
            }
            removed
        }
        RuleKind::Allow => take(&mut o.allow, value),
        RuleKind::DenyDomain => take(&mut o.deny_domains, &links::clean_domain(value)),
        RuleKind::AllowDomain => take(&mut o.allow_domains, &links::clean_domain(value)),
        RuleKind::Invite => take(
            &mut o.invite_allow,
            value.rsplit('/').next().unwrap_or(value).trim(),
        ),
    };
    if done {
        Ok(format!("`{value}` removed"))
    } else {
        Err(format!(
            "`{value}` is not among this server's rules of that kind; see /mod rules list"
        ))
    }
}

/// The guild's rules in lines, for `/mod rules list`.
pub fn describe(effective: &RulesConfig, own: &RuleOverrides) -> Vec<String> {
    let mut out = vec![format!(
        "Presets: {} (label {}, severity {})",
        if effective.presets.is_empty() {
            "none".to_string()
        } else {
            effective.presets.join(", ")
        },
        effective.preset_label,
        effective.preset_severity
    )];
    for l in &effective.lists {
        out.push(format!(
            "List {} ({}, severity {}): {}",
            l.name,
            l.label,
            l.severity,
            l.terms.join(", ")
        ));
    }
    if !effective.terms.is_empty() {
        out.push(format!("Global terms: {}", effective.terms.join(", ")));
    }
    let join = |v: &[String]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    out.push(format!(
        "Allowlist (never a rule hit, and cut from what the model reads): {}",
        join(&effective.allow)
    ));
    out.push(format!(
        "Invites to other servers: {} (allowed codes: {}); links: deny {}, allow {}{}; action {}",
        if effective.invites { "hits" } else { "allowed" },
        join(&effective.invite_allow),
        join(&effective.deny_domains),
        join(&effective.allow_domains),
        if effective.deny_domains_file.is_empty() {
            String::new()
        } else {
            " (and the operator's deny-list file)".to_string()
        },
        effective.link_action
    ));
    let off = |v: u32| {
        if v == 0 {
            "off".to_string()
        } else {
            v.to_string()
        }
    };
    out.push(format!(
        "Spam: mass mentions {} ({}); caps {}; emoji {}; zalgo {}; attachments {} ({})",
        off(effective.mass_mentions),
        effective.mention_action,
        if effective.caps_ratio > 0.0 {
            format!(
                "{:.0}% of {}+ letters",
                effective.caps_ratio * 100.0,
                effective.caps_min_letters
            )
        } else {
            "off".into()
        },
        off(effective.emoji_max),
        off(effective.zalgo_marks),
        off(effective.attachments_max),
        effective.spam_action
    ));
    if *own == RuleOverrides::default() {
        out.push("This server uses the global rules only.".into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_and_remove_words_and_domains() {
        let mut o = RuleOverrides::default();
        assert!(add(&mut o, RuleKind::Word, "badword", None, None, None).is_ok());
        assert!(add(
            &mut o,
            RuleKind::Word,
            "slur",
            Some("slurs"),
            Some("identity_hate"),
            Some(1.0)
        )
        .is_ok());
        assert!(add(&mut o, RuleKind::Word, "x", None, Some("rude"), None).is_err());
        assert!(add(&mut o, RuleKind::Word, "a*b", None, None, None).is_err());
        assert!(add(
            &mut o,
            RuleKind::DenyDomain,
            "https://www.Scam.example/x",
            None,
            None,
            None
        )
        .is_ok());
        assert_eq!(o.deny_domains, Some(vec!["scam.example".to_string()]));
        assert_eq!(o.lists.as_ref().map(Vec::len), Some(2));
        assert!(remove(&mut o, RuleKind::Word, "badword").is_ok());
        assert!(remove(&mut o, RuleKind::Word, "badword").is_err());
        assert_eq!(o.lists.as_ref().map(Vec::len), Some(1));
        assert!(remove(&mut o, RuleKind::DenyDomain, "scam.example").is_ok());
        assert_eq!(o.deny_domains, None);
        assert!(o.problems().is_empty());
    }
}
