//! Member notices: every shipped template in every shipped language says what happened and why
//! in words, with the case number, the timeout's end and the appeal — and never a score.

use crate::common::*;
use std::time::Duration;
use usmca_bot::domain::notices::{
    default_template, duration_in_words, label_in_words, render, why_in_words, Locale, NoticeFacts,
    NoticeKind, VARIABLES,
};
use usmca_bot::domain::Ground;

const GUILD: &str = "Chess Club";
const CASE: i64 = 4_217;
const ENDS: i64 = 1_800_000_600;

/// `d.d` anywhere: a probability or a score.
fn has_decimal_number(text: &str) -> bool {
    let c: Vec<char> = text.chars().collect();
    c.windows(3)
        .any(|w| w[0].is_ascii_digit() && (w[1] == '.' || w[1] == ',') && w[2].is_ascii_digit())
}

fn facts<'a>(kind: NoticeKind, grounds: &'a [Ground], deleted: bool) -> NoticeFacts<'a> {
    NoticeFacts {
        kind,
        guild: GUILD,
        channel: Some(555),
        label: Some("insult"),
        deleted,
        grounds,
        duration: (kind == NoticeKind::Timeout).then_some(Duration::from_secs(600)),
        ends_unix: (kind == NoticeKind::Timeout).then_some(ENDS),
        case_no: Some(CASE),
    }
}

#[test]
fn every_template_renders_in_every_language_without_scores() {
    let grounds = [
        Ground::EarlierSanctions {
            count: 2,
            window_secs: 7 * 86_400,
        },
        Ground::Content,
        Ground::NewAccount,
    ];
    let english_appeal = "If you think this is a mistake";
    let mut seen = std::collections::HashSet::new();
    for locale in Locale::ALL {
        for kind in NoticeKind::ALL {
            for deleted in [true, false] {
                let text = render(None, locale, &facts(kind, &grounds, deleted));
                let ctx = format!("{locale:?} {kind:?} deleted={deleted}:\n{text}");
                assert!(
                    !text.contains('{') && !text.contains('}'),
                    "unfilled: {ctx}"
                );
                assert!(!has_decimal_number(&text), "a number like a score: {ctx}");
                assert!(!text.to_lowercase().contains("score"), "{ctx}");
                assert!(text.contains(GUILD), "{ctx}");
                assert!(text.contains(&CASE.to_string()), "{ctx}");
                assert!(text.contains("**Appeal**"), "{ctx}");
                assert!(text.contains("<#555>"), "{ctx}");
                assert!(
                    text.contains(&label_in_words(locale, "insult")),
                    "the label in words: {ctx}"
                );
                assert!(
                    text.contains(&why_in_words(locale, &grounds)),
                    "why in words: {ctx}"
                );
                if kind == NoticeKind::Timeout {
                    assert!(
                        text.contains(&format!("<t:{ENDS}:R>"))
                            && text.contains(&format!("<t:{ENDS}:f>")),
                        "{ctx}"
                    );
                    assert!(
                        text.contains(&duration_in_words(locale, Duration::from_secs(600))),
                        "{ctx}"
                    );
                } else {
                    assert!(!text.contains("<t:"), "{ctx}");
                }
                if locale != Locale::En {
                    assert!(!text.contains(english_appeal), "still English: {ctx}");
                }
                assert!(!text.starts_with('\n') && !text.contains("\n\n"), "{ctx}");
                assert!(text.chars().count() < 2_000, "{ctx}");
                assert!(seen.insert(text.clone()), "two cases read the same: {ctx}");
            }
            // Deleted and kept read differently.
            assert_ne!(
                render(None, locale, &facts(kind, &grounds, true)),
                render(None, locale, &facts(kind, &grounds, false))
            );
        }
    }
}

#[test]
fn a_sanction_without_a_message_has_no_message_sentence() {
    // A raid participant's timeout: no channel, no label.
    let grounds = [Ground::Raid, Ground::NewAccount];
    for locale in Locale::ALL {
        let f = NoticeFacts {
            channel: None,
            label: None,
            deleted: false,
            ..facts(NoticeKind::Timeout, &grounds, false)
        };
        let text = render(None, locale, &f);
        assert!(!text.contains("<#"), "{text}");
        assert!(text.contains(&why_in_words(locale, &grounds)), "{text}");
        assert!(!text.starts_with(char::is_whitespace), "{text:?}");
    }
}

#[test]
fn english_reads_as_the_issue_asks() {
    let grounds = [
        Ground::EarlierSanctions {
            count: 1,
            window_secs: 7 * 86_400,
        },
        Ground::Content,
    ];
    let text = render(
        None,
        Locale::En,
        &facts(NoticeKind::Timeout, &grounds, true),
    );
    assert_eq!(
        text,
        format!(
            "Your message in <#555> was removed because it was flagged as an insult.\n\
             You have been timed out in **Chess Club** for 10 minutes because you were already \
             warned or sanctioned once in the last 7 days and the message was abusive. You can \
             write again <t:{ENDS}:R> (<t:{ENDS}:f>).\n\
             Case #{CASE}. If you think this is a mistake, press **Appeal** below and tell the \
             moderators why."
        )
    );
}

#[test]
fn a_servers_template_uses_every_variable_and_falls_back_when_broken() {
    let template: String = VARIABLES
        .iter()
        .map(|(v, _)| format!("[{v}={{{v}}}]"))
        .collect();
    let grounds = [Ground::Content];
    let text = render(
        Some(&template),
        Locale::De,
        &facts(NoticeKind::Timeout, &grounds, true),
    );
    assert!(text.contains("[guild=Chess Club]"), "{text}");
    assert!(text.contains("[channel=<#555>]"), "{text}");
    assert!(text.contains("[label=Beleidigung]"), "{text}");
    assert!(text.contains("[duration=10 Minuten]"), "{text}");
    assert!(text.contains(&format!("[case={CASE}]")), "{text}");
    assert!(
        text.contains("[why=die Nachricht beleidigend war]"),
        "{text}"
    );
    // A stored template that no longer validates (unknown variable) falls back to the default.
    let text = render(
        Some("{nope}"),
        Locale::Fr,
        &facts(NoticeKind::Warn, &grounds, false),
    );
    assert!(text.starts_with("Ton message dans <#555>"), "{text}");
    assert_eq!(
        default_template(Locale::Fr, NoticeKind::Warn)
            .lines()
            .count(),
        3
    );
}

#[test]
fn the_notice_names_the_most_telling_label() {
    let p = policy(&default_config());
    // The worked example: toxic is highest, but it is an insult.
    let insult = [
        ("toxic", 0.997f32),
        ("severe_toxic", 0.093),
        ("obscene", 0.855),
        ("threat", 0.014),
        ("insult", 0.960),
        ("identity_hate", 0.053),
    ];
    assert_eq!(p.behaviour.notice_label(insult), "insult");
    let threat = [("toxic", 0.94f32), ("threat", 0.937), ("insult", 0.41)];
    assert_eq!(p.behaviour.notice_label(threat), "threat");
    // Nothing specific stands out: the label behind the severity.
    let vague = [("toxic", 0.8f32), ("obscene", 0.2), ("insult", 0.25)];
    assert_eq!(p.behaviour.notice_label(vague), "toxic");
}
