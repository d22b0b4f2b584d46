//! Rules beside the model: per-guild word lists (and the bundled presets by language), link and
//! invite rules, spam rules. Pure: [`RuleSet::compile`] builds everything once per settings
//! change (one Aho-Corasick automaton for every list), [`RuleSet::check`] reads one message.
//!
//! A word-list hit is a score for its label, merged with the model's (max per label) before the
//! severity; link and spam hits either delete the message only, count toward the ladder like a
//! word, or delete it and draw at least the next timeout of the ladder (see docs/scoring.md).

pub mod lang;
pub mod links;
pub mod presets;
pub mod spam;
pub mod words;

use crate::config::RulesConfig;
use serde::{Deserialize, Serialize};
use words::{Source, WordMatcher};

/// What a link or spam hit does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleAction {
    /// Its severity counts like the model's score: deletion and sanction follow the ladder.
    Ladder,
    /// The message is deleted; the member is not sanctioned for it.
    Delete,
    /// The message is deleted and the member draws at least the next timeout of the ladder.
    Timeout,
}

impl RuleAction {
    /// Reads `delete`, `ladder` or `timeout`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ladder" => Some(Self::Ladder),
            "delete" => Some(Self::Delete),
            "timeout" => Some(Self::Timeout),
            _ => None,
        }
    }

    /// The word used in settings and reasons.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ladder => "ladder",
            Self::Delete => "delete",
            Self::Timeout => "timeout",
        }
    }
}

/// One rule that a message broke.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleHit {
    /// The rule: `preset:es`, `list:NAME`, `terms`, `invite`, `deny-domain`, `mass-mentions`,
    /// `caps`, `emoji`, `zalgo`, `attachments`.
    pub rule: String,
    /// What matched: the term as listed, the link, or the count.
    pub term: String,
    /// The label its score feeds.
    pub label: String,
    /// That score.
    pub severity: f64,
    /// What the hit does.
    pub action: RuleAction,
}

/// What the rules found in one message.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleReport {
    /// Detected language (ISO 639-1), when it was detected (only when a language-specific
    /// list needed it, or given) and the detector was confident.
    pub lang: Option<String>,
    /// Rules broken, word lists first.
    pub hits: Vec<RuleHit>,
}

impl RuleReport {
    /// The scores rule hits give, per label (max), for hits that count on the ladder.
    pub fn scores(&self) -> Vec<(String, f32)> {
        let mut out: Vec<(String, f32)> = Vec::new();
        for h in self.hits.iter().filter(|h| h.action == RuleAction::Ladder) {
            let v = h.severity.clamp(0.0, 1.0) as f32;
            match out.iter_mut().find(|(l, _)| *l == h.label) {
                Some((_, best)) => *best = best.max(v),
                None => out.push((h.label.clone(), v)),
            }
        }
        out
    }

    /// The strongest action of the hits that act beside the ladder (delete, timeout).
    pub fn floor(&self) -> Option<RuleAction> {
        self.hits
            .iter()
            .map(|h| h.action)
            .filter(|a| *a != RuleAction::Ladder)
            .max()
    }

    /// The hits for moderators: `rule list:slurs "term"; rule invite "discord.gg/x"`.
    pub fn describe(&self) -> String {
        self.hits
            .iter()
            .map(|h| format!("rule {} \"{}\"", h.rule, h.term))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// What the rules read of one message.
#[derive(Debug, Clone, Copy, Default)]
pub struct RuleInput<'a> {
    /// The text as sent.
    pub text: &'a str,
    /// Distinct users and roles mentioned.
    pub mentions: usize,
    /// Attachments.
    pub attachments: u32,
}

/// Why rules could not be compiled.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct RuleError(pub String);

/// One guild's rules, compiled.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    words: WordMatcher,
    invites: bool,
    invite_allow: Vec<String>,
    allow_domains: Vec<String>,
    deny_domains: Vec<String>,
    link_action: Option<RuleAction>,
    link_severity: f64,
    link_label: String,
    mass_mentions: u32,
    mention_action: Option<RuleAction>,
    caps_ratio: f64,
    caps_min_letters: u32,
    emoji_max: u32,
    zalgo_marks: u32,
    attachments_max: u32,
    spam_action: Option<RuleAction>,
}

/// The presets `cfg.presets` enables for a guild whose language is `preferred_locale`: the
/// always-on ones and, with `auto`, the rest for messages detected in their language.
pub fn preset_plan(presets: &[String], preferred_locale: &str) -> (Vec<String>, bool) {
    let mut on: Vec<String> = Vec::new();
    let mut auto = false;
    for p in presets {
        let p = p.trim().to_ascii_lowercase();
        if p == "auto" {
            auto = true;
            on.push("en".into());
            if let Some(l) = presets::for_locale(preferred_locale) {
                on.push(l.into());
            }
        } else {
            on.push(p);
        }
    }
    on.dedup();
    let mut seen = Vec::new();
    on.retain(|p| {
        let new = !seen.contains(p);
        seen.push(p.clone());
        new
    });
    (on, auto)
}

impl RuleSet {
    /// Compiles `cfg` for a guild: `preferred_locale` picks the presets under `auto`,
    /// `own_invites` are the guild's own invite codes, `file_domains` the operator's deny-list file.
    pub fn compile(
        cfg: &RulesConfig,
        preferred_locale: &str,
        own_invites: &[String],
        file_domains: &[String],
    ) -> Result<Self, RuleError> {
        let (on, auto) = preset_plan(&cfg.presets, preferred_locale);
        let mut lists: Vec<(Source, Vec<String>)> = Vec::new();
        for code in &on {
            let terms = presets::terms(code).ok_or_else(|| {
                RuleError(format!(
                    "no word-list preset `{code}`; bundled: auto, {}",
                    presets::codes()
                ))
            })?;
            lists.push((
                Source {
                    rule: format!("preset:{code}"),
                    label: cfg.preset_label.clone(),
                    severity: cfg.preset_severity,
                    only_lang: None,
                },
                terms,
            ));
        }
        if auto {
            for (code, _) in presets::PRESETS {
                if !on.iter().any(|c| c == code) {
                    lists.push((
                        Source {
                            rule: format!("preset:{code}"),
                            label: cfg.preset_label.clone(),
                            severity: cfg.preset_severity,
                            only_lang: Some((*code).to_string()),
                        },
                        presets::terms(code).unwrap_or_default(),
                    ));
                }
            }
        }
        if !cfg.terms.is_empty() {
            lists.push((
                Source {
                    rule: "terms".into(),
                    label: cfg.term_label.clone(),
                    severity: cfg.term_severity,
                    only_lang: None,
                },
                cfg.terms.clone(),
            ));
        }
        for l in &cfg.lists {
            lists.push((
                Source {
                    rule: format!("list:{}", l.name),
                    label: l.label.clone(),
                    severity: l.severity,
                    only_lang: None,
                },
                l.terms.clone(),
            ));
        }
        let words = WordMatcher::compile(lists, &cfg.allow).map_err(|e| RuleError(e.0))?;
        let action = |key: &str, s: &str| {
            RuleAction::parse(s).ok_or_else(|| {
                RuleError(format!(
                    "rules.{key} must be delete, ladder or timeout, got `{s}`"
                ))
            })
        };
        let mut invite_allow: Vec<String> = own_invites
            .iter()
            .chain(&cfg.invite_allow)
            .map(|c| c.trim().to_lowercase())
            .filter(|c| !c.is_empty())
            .collect();
        invite_allow.dedup();
        let domains = |v: &[String]| -> Vec<String> {
            v.iter()
                .map(|d| links::clean_domain(d))
                .filter(|d| !d.is_empty())
                .collect()
        };
        let mut deny_domains = domains(&cfg.deny_domains);
        deny_domains.extend(file_domains.iter().cloned());
        Ok(Self {
            words,
            invites: cfg.invites,
            invite_allow,
            allow_domains: domains(&cfg.allow_domains),
            deny_domains,
            link_action: Some(action("link_action", &cfg.link_action)?),
            link_severity: cfg.term_severity,
            link_label: cfg.term_label.clone(),
            mass_mentions: cfg.mass_mentions,
            mention_action: Some(action("mention_action", &cfg.mention_action)?),
            caps_ratio: cfg.caps_ratio,
            caps_min_letters: cfg.caps_min_letters,
            emoji_max: cfg.emoji_max,
            zalgo_marks: cfg.zalgo_marks,
            attachments_max: cfg.attachments_max,
            spam_action: Some(action("spam_action", &cfg.spam_action)?),
        })
    }

    /// Number of compiled terms.
    pub fn terms(&self) -> usize {
        self.words.len()
    }

    /// What the model should read of a message: `None` when no allowlisted phrase is in it
    /// (the model reads the text as sent); otherwise the text as the word lists read it
    /// (normalised: leetspeak, spacing, homoglyphs and invisible characters undone) with every
    /// allowlisted phrase cut out. Empty when nothing else is left: then there is nothing for
    /// the model to judge.
    pub fn model_text(&self, text: &str) -> Option<String> {
        if !self.words.has_allowlist() || text.is_empty() {
            return None;
        }
        self.words
            .without_allowed(&words::normalize_for_match(text))
    }

    /// Checks one message against every rule.
    pub fn check(&self, input: &RuleInput<'_>) -> RuleReport {
        self.check_in(input, None)
    }

    /// Checks one message, with its language already known (`None`: detect it when a
    /// language-specific list needs it).
    pub fn check_in(&self, input: &RuleInput<'_>, lang: Option<&str>) -> RuleReport {
        let text = input.text;
        let mut hits = Vec::new();
        // Language identification costs about 100 times the matching: it runs only when a
        // term of a language-specific list (the `auto` presets) matched.
        let known = lang.map(String::from);
        let mut found_lang = known.clone();
        if !self.words.is_empty() && !text.is_empty() {
            let normalized = words::normalize_for_match(text);
            let (found, l) = self.words.find_lazy(&normalized, known.is_some(), || {
                known
                    .clone()
                    .or_else(|| lang::detect(text).map(String::from))
            });
            found_lang = l.or(found_lang);
            for h in found {
                hits.push(RuleHit {
                    rule: h.source.rule.clone(),
                    term: h.term.to_string(),
                    label: h.source.label.clone(),
                    severity: h.source.severity,
                    action: RuleAction::Ladder,
                });
            }
        }
        let lang = found_lang;
        self.check_links(text, &mut hits);
        self.check_spam(input, &mut hits);
        RuleReport { lang, hits }
    }

    fn hit(&self, rule: &str, term: String, action: Option<RuleAction>) -> RuleHit {
        RuleHit {
            rule: rule.into(),
            term,
            label: self.link_label.clone(),
            severity: self.link_severity,
            action: action.unwrap_or(RuleAction::Delete),
        }
    }

    fn check_links(&self, text: &str, hits: &mut Vec<RuleHit>) {
        let may_link = text.contains('.');
        if !may_link || (!self.invites && self.deny_domains.is_empty()) {
            return;
        }
        let clean: String = crate::classifier::normalize(
            text,
            &crate::classifier::Rules {
                invisible: true,
                nfkc: true,
                ..crate::classifier::Rules::NONE
            },
        );
        for link in links::find(&clean) {
            if self
                .allow_domains
                .iter()
                .any(|d| links::covers(d, &link.host))
            {
                continue;
            }
            if let Some(code) = &link.invite {
                if self.invites && !self.invite_allow.iter().any(|c| c == code) {
                    hits.push(self.hit(
                        "invite",
                        format!("{}/{code}", link.host),
                        self.link_action,
                    ));
                }
                continue;
            }
            if let Some(d) = self
                .deny_domains
                .iter()
                .find(|d| links::covers(d, &link.host))
            {
                hits.push(self.hit("deny-domain", d.clone(), self.link_action));
            }
        }
    }

    fn check_spam(&self, input: &RuleInput<'_>, hits: &mut Vec<RuleHit>) {
        let n = u32::try_from(input.mentions).unwrap_or(u32::MAX);
        if self.mass_mentions > 0 && n >= self.mass_mentions {
            hits.push(self.hit(
                "mass-mentions",
                format!("{n} mentions"),
                self.mention_action,
            ));
        }
        if self.caps_ratio > 0.0 {
            let (ratio, letters) = spam::caps(input.text);
            if letters >= self.caps_min_letters && ratio >= self.caps_ratio {
                hits.push(self.hit(
                    "caps",
                    format!("{:.0}% capitals", ratio * 100.0),
                    self.spam_action,
                ));
            }
        }
        if self.emoji_max > 0 {
            let e = spam::emoji(input.text);
            if e > self.emoji_max {
                hits.push(self.hit("emoji", format!("{e} emoji"), self.spam_action));
            }
        }
        if self.zalgo_marks > 0 {
            let z = spam::combining_run(input.text);
            if z > self.zalgo_marks {
                hits.push(self.hit("zalgo", format!("{z} stacked marks"), self.spam_action));
            }
        }
        if self.attachments_max > 0 && input.attachments > self.attachments_max {
            hits.push(self.hit(
                "attachments",
                format!("{} attachments", input.attachments),
                self.spam_action,
            ));
        }
    }
}
