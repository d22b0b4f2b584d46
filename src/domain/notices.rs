//! What a member reads when the bot sanctions them: what happened and why, in plain words, in the
//! server's language — never a score. Pure.
//!
//! A notice is rendered from a template with named variables (`{guild}`, `{why}`, ... listed in
//! [`VARIABLES`]). Every shipped language ([`Locale`]) has a default template per sanction
//! ([`NoticeKind`]); a server may replace any of them with its own (`notices.warn`, ...), which is
//! validated when set: an unknown variable is rejected with the list of valid ones.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Languages with shipped wording. Anything else reads English.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    /// English (the fallback).
    #[default]
    En,
    /// Spanish.
    Es,
    /// Portuguese (Brazilian wording).
    Pt,
    /// French.
    Fr,
    /// German.
    De,
}

impl Locale {
    /// Every shipped language.
    pub const ALL: [Locale; 5] = [Locale::En, Locale::Es, Locale::Pt, Locale::Fr, Locale::De];

    /// The short code: `en`, `es`, `pt`, `fr`, `de`.
    pub fn code(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Es => "es",
            Locale::Pt => "pt",
            Locale::Fr => "fr",
            Locale::De => "de",
        }
    }

    /// The language of a locale code such as Discord's `preferred_locale` (`en-US`, `es-419`,
    /// `pt-BR`, `fr`, `de`); `None` when none is shipped for it.
    pub fn parse(code: &str) -> Option<Locale> {
        let lang = code
            .trim()
            .split(['-', '_'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        Locale::ALL.into_iter().find(|l| l.code() == lang)
    }

    /// The language for a server's `preferred_locale`: the matching one, English otherwise.
    pub fn for_discord(code: &str) -> Locale {
        Locale::parse(code).unwrap_or(Locale::En)
    }
}

/// The sanction a notice tells of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoticeKind {
    /// A warning.
    Warn,
    /// A timeout.
    Timeout,
    /// A kick.
    Kick,
    /// A ban.
    Ban,
}

impl NoticeKind {
    /// Every kind.
    pub const ALL: [NoticeKind; 4] = [
        NoticeKind::Warn,
        NoticeKind::Timeout,
        NoticeKind::Kick,
        NoticeKind::Ban,
    ];

    /// `warn`, `timeout`, `kick`, `ban` (the setting is `notices.<key>`).
    pub fn key(self) -> &'static str {
        match self {
            NoticeKind::Warn => "warn",
            NoticeKind::Timeout => "timeout",
            NoticeKind::Kick => "kick",
            NoticeKind::Ban => "ban",
        }
    }

    fn index(self) -> usize {
        match self {
            NoticeKind::Warn => 0,
            NoticeKind::Timeout => 1,
            NoticeKind::Kick => 2,
            NoticeKind::Ban => 3,
        }
    }
}

/// Why a member was sanctioned, in terms they can be told: the decision's factors without their
/// numbers (only counts of earlier sanctions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Ground {
    /// What the message said.
    Content,
    /// `count` warnings or sanctions within the last `window_secs` (one strike half-life).
    EarlierSanctions {
        /// How many.
        count: u32,
        /// The window, in seconds.
        window_secs: u64,
    },
    /// Warnings or sanctions longer ago that still count.
    SanctionedBefore,
    /// Several abusive messages shortly before.
    RecentAbuse,
    /// A young Discord account.
    NewAccount,
    /// Joined the server recently.
    NewMember,
    /// Took part in a raid or brigade.
    Raid,
    /// Many messages in a short time.
    Flooding,
    /// The same text again and again.
    Repetition,
    /// A moderator decided it (their reason follows the notice).
    ModeratorDecision,
}

/// At most this many grounds are named in one notice (the first ones weigh most).
pub const MAX_GROUNDS: usize = 3;

/// Everything a notice may say.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoticeFacts<'a> {
    /// The sanction.
    pub kind: NoticeKind,
    /// The server's name.
    pub guild: &'a str,
    /// Channel of the message, when a message is involved.
    pub channel: Option<u64>,
    /// The label the message was flagged with (`insult`), when a message is involved.
    pub label: Option<&'a str>,
    /// The message was deleted.
    pub deleted: bool,
    /// Why the sanction, most important first.
    pub grounds: &'a [Ground],
    /// Length of a timeout.
    pub duration: Option<Duration>,
    /// When a timeout ends, Unix seconds.
    pub ends_unix: Option<i64>,
    /// The case number (`None` while it waits in the journal for one).
    pub case_no: Option<i64>,
}

/// Template variables and what each becomes.
pub const VARIABLES: &[(&str, &str)] = &[
    ("guild", "the server's name"),
    (
        "channel",
        "the channel of the message, as a link (#general); empty when no message is involved",
    ),
    (
        "label",
        "what the message was flagged as, in words (an insult, a threat)",
    ),
    (
        "message",
        "one sentence on the message: where, flagged as what, and whether it was removed; empty when no message is involved",
    ),
    (
        "why",
        "why the sanction, in words, to follow \"because\" (you were already warned once in the last 7 days)",
    ),
    (
        "duration",
        "the timeout's length in words (10 minutes); notices.timeout only",
    ),
    (
        "ends",
        "when the timeout ends, as Discord timestamps shown in the reader's time zone; notices.timeout only",
    ),
    ("case", "the case number"),
    ("appeal", "the sentence pointing to the Appeal button"),
];

/// Variables only a timeout has.
const TIMEOUT_ONLY: &[&str] = &["duration", "ends"];

/// Longest template accepted (a notice must fit Discord's 2,000 characters with its values).
pub const MAX_TEMPLATE_CHARS: usize = 1_500;

/// The variables a template for `kind` may use.
pub fn variables_for(kind: NoticeKind) -> Vec<&'static str> {
    VARIABLES
        .iter()
        .map(|(v, _)| *v)
        .filter(|v| kind == NoticeKind::Timeout || !TIMEOUT_ONLY.contains(v))
        .collect()
}

/// A parsed template: literal text and variables.
#[derive(Debug, PartialEq)]
enum Piece<'a> {
    Text(String),
    Var(&'a str),
}

/// Splits a template into text and `{variable}`s; `{{` and `}}` are literal braces.
fn parse(template: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        text.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix("{{") {
            text.push('{');
            rest = after;
        } else if let Some(after) = tail.strip_prefix("}}") {
            text.push('}');
            rest = after;
        } else if tail.starts_with('}') {
            return Err("a `}` without its `{`; write `}}` for a literal brace".to_string());
        } else {
            let Some(end) = tail.find('}') else {
                return Err("a `{` is not closed; write `{{` for a literal brace".to_string());
            };
            let name = &tail[1..end];
            if !out.is_empty() || !text.is_empty() {
                out.push(Piece::Text(std::mem::take(&mut text)));
            }
            out.push(Piece::Var(name));
            rest = &tail[end + 1..];
        }
    }
    text.push_str(rest);
    if !text.is_empty() {
        out.push(Piece::Text(text));
    }
    Ok(out)
}

/// Checks a server's template for `kind`: balanced braces, known variables, a sensible length.
/// The error names the problem and lists the valid variables.
pub fn validate_template(kind: NoticeKind, template: &str) -> Result<(), String> {
    let valid = variables_for(kind);
    let list = || {
        valid
            .iter()
            .map(|v| format!("{{{v}}}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if template.trim().is_empty() {
        return Err(format!(
            "the template is empty; use `none` for the default wording. Variables: {}",
            list()
        ));
    }
    let chars = template.chars().count();
    if chars > MAX_TEMPLATE_CHARS {
        return Err(format!(
            "the template has {chars} characters; at most {MAX_TEMPLATE_CHARS} fit a Discord message with its values"
        ));
    }
    let pieces = parse(template).map_err(|e| format!("{e}. Variables: {}", list()))?;
    for p in &pieces {
        if let Piece::Var(name) = p {
            if !valid.contains(name) {
                let hint = if TIMEOUT_ONLY.contains(name) {
                    " (only timeouts have it)"
                } else {
                    ""
                };
                return Err(format!(
                    "unknown variable `{{{name}}}`{hint}; notices.{} can use: {}",
                    kind.key(),
                    list()
                ));
            }
        }
    }
    Ok(())
}

/// The shipped wording of one language.
struct Words {
    /// Templates for warn, timeout, kick, ban.
    templates: [&'static str; 4],
    /// The message sentence when it was deleted (`{channel}`, `{label}`).
    removed: &'static str,
    /// ... when it was kept.
    flagged: &'static str,
    appeal: &'static str,
    /// Model labels in words, to follow "flagged as".
    labels: &'static [(&'static str, &'static str)],
    /// Joins the last two items of a list.
    and: &'static str,
    content: &'static str,
    /// One earlier sanction within `{within}`.
    earlier_one: &'static str,
    /// `{n}` earlier sanctions within `{within}`.
    earlier_many: &'static str,
    before: &'static str,
    recent: &'static str,
    new_account: &'static str,
    new_member: &'static str,
    raid: &'static str,
    flooding: &'static str,
    repetition: &'static str,
    moderator: &'static str,
    /// (singular, plural) of day, hour, minute, second.
    units: [(&'static str, &'static str); 4],
    /// "in the last day / hour / minute".
    within_one: [&'static str; 3],
    /// "in the last {n} days / hours / minutes".
    within_many: [&'static str; 3],
}

const EN: Words = Words {
    templates: [
        "{message}\nYou have received a warning in **{guild}** because {why}.\nCase #{case}. {appeal}",
        "{message}\nYou have been timed out in **{guild}** for {duration} because {why}. You can write again {ends}.\nCase #{case}. {appeal}",
        "{message}\nYou are being removed (kicked) from **{guild}** because {why}.\nCase #{case}. {appeal}",
        "{message}\nYou are being banned from **{guild}** because {why}.\nCase #{case}. {appeal}",
    ],
    removed: "Your message in {channel} was removed because it was flagged as {label}.",
    flagged: "Your message in {channel} was flagged as {label}.",
    appeal: "If you think this is a mistake, press **Appeal** below and tell the moderators why.",
    labels: &[
        ("toxic", "abusive"),
        ("severe_toxic", "severely abusive"),
        ("obscene", "obscene"),
        ("threat", "a threat"),
        ("insult", "an insult"),
        ("identity_hate", "hate speech"),
    ],
    and: " and ",
    content: "the message was abusive",
    earlier_one: "you were already warned or sanctioned once {within}",
    earlier_many: "you were already warned or sanctioned {n} times {within}",
    before: "you were warned or sanctioned before",
    recent: "you sent several abusive messages recently",
    new_account: "your account is new",
    new_member: "you joined the server recently",
    raid: "you took part in a raid on the server",
    flooding: "you were sending messages very fast",
    repetition: "you repeated the same message several times",
    moderator: "a moderator decided so",
    units: [
        ("day", "days"),
        ("hour", "hours"),
        ("minute", "minutes"),
        ("second", "seconds"),
    ],
    within_one: ["in the last day", "in the last hour", "in the last minute"],
    within_many: [
        "in the last {n} days",
        "in the last {n} hours",
        "in the last {n} minutes",
    ],
};

const ES: Words = Words {
    templates: [
        "{message}\nRecibiste una advertencia en **{guild}** porque {why}.\nCaso n.º {case}. {appeal}",
        "{message}\nSe te aisló temporalmente (timeout) en **{guild}** durante {duration} porque {why}. Podrás volver a escribir {ends}.\nCaso n.º {case}. {appeal}",
        "{message}\nSe te expulsa (kick) de **{guild}** porque {why}.\nCaso n.º {case}. {appeal}",
        "{message}\nSe te prohíbe el acceso (ban) a **{guild}** porque {why}.\nCaso n.º {case}. {appeal}",
    ],
    removed: "Tu mensaje en {channel} fue eliminado porque se marcó como {label}.",
    flagged: "Tu mensaje en {channel} se marcó como {label}.",
    appeal: "Si crees que es un error, pulsa **Appeal** abajo y explica a los moderadores por qué.",
    labels: &[
        ("toxic", "ofensivo"),
        ("severe_toxic", "muy ofensivo"),
        ("obscene", "obsceno"),
        ("threat", "una amenaza"),
        ("insult", "un insulto"),
        ("identity_hate", "discurso de odio"),
    ],
    and: " y ",
    content: "el mensaje era ofensivo",
    earlier_one: "ya recibiste una advertencia o sanción {within}",
    earlier_many: "ya recibiste {n} advertencias o sanciones {within}",
    before: "ya habías recibido advertencias o sanciones antes",
    recent: "enviaste varios mensajes ofensivos hace poco",
    new_account: "tu cuenta es nueva",
    new_member: "te uniste al servidor hace poco",
    raid: "participaste en un ataque coordinado (raid) contra el servidor",
    flooding: "enviabas mensajes muy rápido",
    repetition: "repetiste el mismo mensaje varias veces",
    moderator: "un moderador lo decidió",
    units: [
        ("día", "días"),
        ("hora", "horas"),
        ("minuto", "minutos"),
        ("segundo", "segundos"),
    ],
    within_one: ["en el último día", "en la última hora", "en el último minuto"],
    within_many: [
        "en los últimos {n} días",
        "en las últimas {n} horas",
        "en los últimos {n} minutos",
    ],
};

const PT: Words = Words {
    templates: [
        "{message}\nVocê recebeu uma advertência em **{guild}** porque {why}.\nCaso nº {case}. {appeal}",
        "{message}\nVocê recebeu um castigo (timeout) de {duration} em **{guild}** porque {why}. Você poderá escrever de novo {ends}.\nCaso nº {case}. {appeal}",
        "{message}\nVocê está sendo expulso (kick) de **{guild}** porque {why}.\nCaso nº {case}. {appeal}",
        "{message}\nVocê está sendo banido de **{guild}** porque {why}.\nCaso nº {case}. {appeal}",
    ],
    removed: "Sua mensagem em {channel} foi removida porque foi sinalizada como {label}.",
    flagged: "Sua mensagem em {channel} foi sinalizada como {label}.",
    appeal: "Se você acha que isso é um engano, clique em **Appeal** abaixo e explique o motivo aos moderadores.",
    labels: &[
        ("toxic", "ofensiva"),
        ("severe_toxic", "muito ofensiva"),
        ("obscene", "obscena"),
        ("threat", "uma ameaça"),
        ("insult", "um insulto"),
        ("identity_hate", "discurso de ódio"),
    ],
    and: " e ",
    content: "a mensagem era ofensiva",
    earlier_one: "você já recebeu uma advertência ou sanção {within}",
    earlier_many: "você já recebeu {n} advertências ou sanções {within}",
    before: "você já tinha recebido advertências ou sanções antes",
    recent: "você enviou várias mensagens ofensivas recentemente",
    new_account: "sua conta é nova",
    new_member: "você entrou no servidor há pouco tempo",
    raid: "você participou de um ataque coordenado (raid) contra o servidor",
    flooding: "você estava enviando mensagens muito rápido",
    repetition: "você repetiu a mesma mensagem várias vezes",
    moderator: "um moderador decidiu assim",
    units: [
        ("dia", "dias"),
        ("hora", "horas"),
        ("minuto", "minutos"),
        ("segundo", "segundos"),
    ],
    within_one: ["no último dia", "na última hora", "no último minuto"],
    within_many: [
        "nos últimos {n} dias",
        "nas últimas {n} horas",
        "nos últimos {n} minutos",
    ],
};

const FR: Words = Words {
    templates: [
        "{message}\nTu as reçu un avertissement sur **{guild}** parce que {why}.\nCas n° {case}. {appeal}",
        "{message}\nTu es exclu temporairement (timeout) de **{guild}** pour {duration} parce que {why}. Tu pourras écrire à nouveau {ends}.\nCas n° {case}. {appeal}",
        "{message}\nTu es expulsé (kick) de **{guild}** parce que {why}.\nCas n° {case}. {appeal}",
        "{message}\nTu es banni de **{guild}** parce que {why}.\nCas n° {case}. {appeal}",
    ],
    removed: "Ton message dans {channel} a été supprimé, car il a été signalé comme {label}.",
    flagged: "Ton message dans {channel} a été signalé comme {label}.",
    appeal: "Si tu penses qu'il s'agit d'une erreur, appuie sur **Appeal** ci-dessous et explique pourquoi aux modérateurs.",
    labels: &[
        ("toxic", "offensant"),
        ("severe_toxic", "très offensant"),
        ("obscene", "obscène"),
        ("threat", "une menace"),
        ("insult", "une insulte"),
        ("identity_hate", "un discours haineux"),
    ],
    and: " et ",
    content: "le message était offensant",
    earlier_one: "tu as déjà reçu un avertissement ou une sanction {within}",
    earlier_many: "tu as déjà reçu {n} avertissements ou sanctions {within}",
    before: "tu as déjà reçu des avertissements ou des sanctions auparavant",
    recent: "tu as envoyé plusieurs messages offensants récemment",
    new_account: "ton compte est récent",
    new_member: "tu as rejoint le serveur récemment",
    raid: "tu as participé à un raid contre le serveur",
    flooding: "tu envoyais des messages très rapidement",
    repetition: "tu as répété le même message plusieurs fois",
    moderator: "un modérateur l'a décidé",
    units: [
        ("jour", "jours"),
        ("heure", "heures"),
        ("minute", "minutes"),
        ("seconde", "secondes"),
    ],
    within_one: [
        "au cours du dernier jour",
        "au cours de la dernière heure",
        "au cours de la dernière minute",
    ],
    within_many: [
        "au cours des {n} derniers jours",
        "au cours des {n} dernières heures",
        "au cours des {n} dernières minutes",
    ],
};

const DE: Words = Words {
    templates: [
        "{message}\nDu hast auf **{guild}** eine Verwarnung erhalten, weil {why}.\nFall Nr. {case}. {appeal}",
        "{message}\nDu wurdest auf **{guild}** für {duration} stummgeschaltet (Timeout), weil {why}. Du kannst {ends} wieder schreiben.\nFall Nr. {case}. {appeal}",
        "{message}\nDu wirst von **{guild}** entfernt (Kick), weil {why}.\nFall Nr. {case}. {appeal}",
        "{message}\nDu wirst von **{guild}** gebannt, weil {why}.\nFall Nr. {case}. {appeal}",
    ],
    removed: "Deine Nachricht in {channel} wurde entfernt, weil sie als {label} markiert wurde.",
    flagged: "Deine Nachricht in {channel} wurde als {label} markiert.",
    appeal: "Wenn du das für einen Fehler hältst, drücke unten auf **Appeal** und erkläre den Moderatoren, warum.",
    labels: &[
        ("toxic", "beleidigend"),
        ("severe_toxic", "schwer beleidigend"),
        ("obscene", "obszön"),
        ("threat", "Drohung"),
        ("insult", "Beleidigung"),
        ("identity_hate", "Hassrede"),
    ],
    and: " und ",
    content: "die Nachricht beleidigend war",
    earlier_one: "du {within} bereits einmal verwarnt oder sanktioniert wurdest",
    earlier_many: "du {within} bereits {n}-mal verwarnt oder sanktioniert wurdest",
    before: "du schon früher verwarnt oder sanktioniert wurdest",
    recent: "du kürzlich mehrere beleidigende Nachrichten geschickt hast",
    new_account: "dein Konto neu ist",
    new_member: "du dem Server erst kürzlich beigetreten bist",
    raid: "du an einem Raid gegen den Server beteiligt warst",
    flooding: "du sehr schnell viele Nachrichten geschickt hast",
    repetition: "du dieselbe Nachricht mehrmals wiederholt hast",
    moderator: "ein Moderator es so entschieden hat",
    units: [
        ("Tag", "Tage"),
        ("Stunde", "Stunden"),
        ("Minute", "Minuten"),
        ("Sekunde", "Sekunden"),
    ],
    within_one: [
        "innerhalb des letzten Tages",
        "innerhalb der letzten Stunde",
        "innerhalb der letzten Minute",
    ],
    within_many: [
        "in den letzten {n} Tagen",
        "in den letzten {n} Stunden",
        "in den letzten {n} Minuten",
    ],
};

fn words(locale: Locale) -> &'static Words {
    match locale {
        Locale::En => &EN,
        Locale::Es => &ES,
        Locale::Pt => &PT,
        Locale::Fr => &FR,
        Locale::De => &DE,
    }
}

/// The shipped template for `kind` in `locale`.
pub fn default_template(locale: Locale, kind: NoticeKind) -> &'static str {
    words(locale).templates[kind.index()]
}

/// A label in words ("an insult"); labels of other models read as their name.
pub fn label_in_words(locale: Locale, label: &str) -> String {
    words(locale)
        .labels
        .iter()
        .find(|(l, _)| *l == label)
        .map_or_else(|| label.replace('_', " "), |(_, w)| (*w).to_string())
}

/// A duration in words: "10 minutes", "1 day and 2 hours" (the two largest units).
pub fn duration_in_words(locale: Locale, d: Duration) -> String {
    let w = words(locale);
    let mut rest = d.as_secs();
    let mut parts = Vec::new();
    for (size, (one, many)) in [86_400, 3_600, 60, 1].into_iter().zip(w.units) {
        if rest >= size && parts.len() < 2 {
            let n = rest / size;
            parts.push(format!("{n} {}", if n == 1 { one } else { many }));
            rest %= size;
        }
    }
    if parts.is_empty() {
        return format!("0 {}", w.units[3].1);
    }
    parts.join(w.and)
}

/// "in the last 7 days": whole days when the window is, else hours, else minutes.
fn within(w: &Words, secs: u64) -> String {
    let (unit, n) = if secs >= 86_400 && secs.is_multiple_of(86_400) {
        (0, secs / 86_400)
    } else if secs >= 3_600 && secs.is_multiple_of(3_600) {
        (1, secs / 3_600)
    } else {
        (2, (secs / 60).max(1))
    };
    if n == 1 {
        w.within_one[unit].to_string()
    } else {
        w.within_many[unit].replace("{n}", &n.to_string())
    }
}

fn ground_in_words(w: &Words, g: &Ground) -> String {
    match *g {
        Ground::Content => w.content.to_string(),
        Ground::EarlierSanctions { count, window_secs } => {
            let phrase = if count <= 1 {
                w.earlier_one
            } else {
                w.earlier_many
            };
            phrase
                .replace("{n}", &count.to_string())
                .replace("{within}", &within(w, window_secs))
        }
        Ground::SanctionedBefore => w.before.to_string(),
        Ground::RecentAbuse => w.recent.to_string(),
        Ground::NewAccount => w.new_account.to_string(),
        Ground::NewMember => w.new_member.to_string(),
        Ground::Raid => w.raid.to_string(),
        Ground::Flooding => w.flooding.to_string(),
        Ground::Repetition => w.repetition.to_string(),
        Ground::ModeratorDecision => w.moderator.to_string(),
    }
}

/// Why, in words: the first [`MAX_GROUNDS`] grounds as "a, b and c" ("the message was abusive"
/// when there are none).
pub fn why_in_words(locale: Locale, grounds: &[Ground]) -> String {
    let w = words(locale);
    let mut items: Vec<String> = grounds
        .iter()
        .take(MAX_GROUNDS)
        .map(|g| ground_in_words(w, g))
        .collect();
    if items.is_empty() {
        items.push(w.content.to_string());
    }
    match items.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, init)) => format!("{}{}{last}", init.join(", "), w.and),
        None => String::new(),
    }
}

/// The value of `{name}` for these facts.
fn value(w: &Words, locale: Locale, facts: &NoticeFacts<'_>, name: &str) -> String {
    let channel = facts.channel.map(|c| format!("<#{c}>"));
    let label = facts.label.map(|l| label_in_words(locale, l));
    match name {
        "guild" => facts.guild.to_string(),
        "channel" => channel.unwrap_or_default(),
        "label" => label.unwrap_or_default(),
        "message" => match (channel, label) {
            (Some(c), Some(l)) => {
                let sentence = if facts.deleted { w.removed } else { w.flagged };
                sentence.replace("{channel}", &c).replace("{label}", &l)
            }
            _ => String::new(),
        },
        "why" => why_in_words(locale, facts.grounds),
        "duration" => facts
            .duration
            .map(|d| duration_in_words(locale, d))
            .unwrap_or_default(),
        "ends" => facts
            .ends_unix
            .map(|t| format!("<t:{t}:R> (<t:{t}:f>)"))
            .unwrap_or_default(),
        "case" => facts
            .case_no
            .map_or_else(|| "(number pending)".to_string(), |n| n.to_string()),
        "appeal" => w.appeal.to_string(),
        _ => String::new(),
    }
}

/// Renders the notice: the server's `template` when it has one (and it is valid), otherwise
/// the default wording of `locale`. Lines left empty by empty values are dropped.
pub fn render(template: Option<&str>, locale: Locale, facts: &NoticeFacts<'_>) -> String {
    let w = words(locale);
    let fallback = default_template(locale, facts.kind);
    let template = template
        .filter(|t| validate_template(facts.kind, t).is_ok())
        .unwrap_or(fallback);
    let pieces = parse(template)
        .or_else(|_| parse(fallback))
        .unwrap_or_default();
    let mut out = String::new();
    for p in pieces {
        match p {
            Piece::Text(t) => out.push_str(&t),
            Piece::Var(name) => out.push_str(&value(w, locale, facts, name)),
        }
    }
    // An empty value must not leave a blank first line or a double gap.
    let mut kept: Vec<&str> = Vec::new();
    for line in out.lines().map(str::trim_end) {
        let blank = line.trim().is_empty();
        if blank && kept.last().is_none_or(|l| l.trim().is_empty()) {
            continue;
        }
        kept.push(line);
    }
    kept.join("\n").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_variables_and_escaped_braces() {
        assert_eq!(
            parse("a {guild} {{b}} c"),
            Ok(vec![
                Piece::Text("a ".into()),
                Piece::Var("guild"),
                Piece::Text(" {b} c".into())
            ])
        );
        assert!(parse("a {guild").is_err());
        assert!(parse("a } b").is_err());
    }

    #[test]
    fn validation_names_the_valid_variables() {
        let e = validate_template(NoticeKind::Warn, "hi {score}").unwrap_err();
        assert!(
            e.contains("{score}") && e.contains("{guild}") && e.contains("{why}"),
            "{e}"
        );
        let e = validate_template(NoticeKind::Warn, "until {ends}").unwrap_err();
        assert!(e.contains("only timeouts"), "{e}");
        assert!(validate_template(NoticeKind::Timeout, "until {ends}").is_ok());
        assert!(validate_template(NoticeKind::Ban, " ").is_err());
        assert!(validate_template(NoticeKind::Ban, &"x".repeat(1_501)).is_err());
        assert!(validate_template(NoticeKind::Kick, "{oops").is_err());
        for locale in Locale::ALL {
            for kind in NoticeKind::ALL {
                assert!(
                    validate_template(kind, default_template(locale, kind)).is_ok(),
                    "{locale:?} {kind:?}"
                );
            }
        }
    }

    #[test]
    fn discord_locales_map_to_languages_with_english_fallback() {
        assert_eq!(Locale::for_discord("en-US"), Locale::En);
        assert_eq!(Locale::for_discord("es-419"), Locale::Es);
        assert_eq!(Locale::for_discord("es-ES"), Locale::Es);
        assert_eq!(Locale::for_discord("pt-BR"), Locale::Pt);
        assert_eq!(Locale::for_discord("fr"), Locale::Fr);
        assert_eq!(Locale::for_discord("de"), Locale::De);
        assert_eq!(Locale::for_discord("ja"), Locale::En);
        assert_eq!(Locale::for_discord(""), Locale::En);
        assert_eq!(Locale::parse("zh-CN"), None);
    }

    #[test]
    fn durations_and_windows_read_as_words() {
        assert_eq!(
            duration_in_words(Locale::En, Duration::from_secs(600)),
            "10 minutes"
        );
        assert_eq!(
            duration_in_words(Locale::En, Duration::from_secs(3_600)),
            "1 hour"
        );
        assert_eq!(
            duration_in_words(Locale::De, Duration::from_secs(93_600)),
            "1 Tag und 2 Stunden"
        );
        assert_eq!(within(&EN, 7 * 86_400), "in the last 7 days");
        assert_eq!(within(&FR, 86_400), "au cours du dernier jour");
        assert_eq!(within(&ES, 7_200), "en las últimas 2 horas");
    }

    #[test]
    fn reasons_join_as_a_list() {
        let g = [
            Ground::EarlierSanctions {
                count: 2,
                window_secs: 7 * 86_400,
            },
            Ground::NewAccount,
            Ground::NewMember,
            Ground::Flooding,
        ];
        assert_eq!(
            why_in_words(Locale::En, &g),
            "you were already warned or sanctioned 2 times in the last 7 days, your account is new and you joined the server recently"
        );
        assert_eq!(why_in_words(Locale::Fr, &[]), "le message était offensant");
    }
}
