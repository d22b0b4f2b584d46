//! Reading chat exports: DiscordChatExporter JSON or one JSON object per line.
//!
//! A malformed file is an error naming where; a malformed single message is counted and
//! reported with its position, never dropped silently.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// One message to scan, whatever format it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanMessage {
    /// Message id.
    pub id: String,
    /// Author id.
    pub author_id: String,
    /// Display name, when the export has one.
    pub author_name: Option<String>,
    /// Whether the author is a bot (bots are not moderated).
    pub author_is_bot: bool,
    /// Role ids of the author, when known.
    pub author_roles: Vec<String>,
    /// The author holds Manage Messages or Administrator (JSON lines only; exports do not say).
    pub author_is_moderator: bool,
    /// When the author joined the guild, when known.
    pub author_joined_at: Option<DateTime<Utc>>,
    /// Channel id.
    pub channel_id: String,
    /// Guild id, when known.
    pub guild_id: Option<String>,
    /// Creation time.
    pub timestamp: DateTime<Utc>,
    /// The timestamp as written in the input (echoed in reports).
    pub timestamp_raw: String,
    /// Whether the message was edited.
    pub edited: bool,
    /// Text.
    pub content: String,
    /// Author of the message this one replies to.
    pub reply_to: Option<String>,
    /// Users mentioned.
    pub mentions: Vec<String>,
    /// Attachments.
    pub attachments: u32,
}

/// A message that could not be read, and where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    /// "line 12" or "messages[41]".
    pub location: String,
    /// What was wrong.
    pub reason: String,
}

/// Everything read from one export.
#[derive(Debug, Default)]
pub struct Export {
    /// Guild name from a DiscordChatExporter export.
    pub guild_name: Option<String>,
    /// Channel name from a DiscordChatExporter export.
    pub channel_name: Option<String>,
    /// Messages in file order.
    pub messages: Vec<ScanMessage>,
    /// Messages that could not be read.
    pub malformed: Vec<Malformed>,
}

/// Why an export could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is JSON but not a DiscordChatExporter export.
    #[error("{path}: {message}")]
    Format {
        /// File.
        path: PathBuf,
        /// What is wrong and where.
        message: String,
    },
}

/// Expands the paths given to `scan`: files as they are, folders recursively to their `.json`
/// and `.jsonl` files (sorted, hidden entries skipped). An empty result or a missing path is an
/// error naming it.
pub fn collect_inputs(paths: &[PathBuf]) -> Result<Vec<PathBuf>, InputError> {
    let mut out = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|source| InputError::Io {
            path: path.clone(),
            source,
        })?;
        if !meta.is_dir() {
            out.push(path.clone());
            continue;
        }
        let before = out.len();
        let mut stack = vec![path.clone()];
        while let Some(dir) = stack.pop() {
            let io = |source| InputError::Io {
                path: dir.clone(),
                source,
            };
            let mut entries = std::fs::read_dir(&dir)
                .map_err(io)?
                .map(|e| e.map(|e| e.path()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(io)?;
            entries.sort();
            for entry in entries {
                let hidden = entry
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with('.'));
                if hidden {
                    continue;
                }
                if entry.is_dir() {
                    stack.push(entry);
                } else if entry.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                    e.eq_ignore_ascii_case("json") || e.eq_ignore_ascii_case("jsonl")
                }) {
                    out.push(entry);
                }
            }
        }
        if out.len() == before {
            return Err(InputError::Format {
                path: path.clone(),
                message: "the folder holds no .json or .jsonl export".into(),
            });
        }
        out[before..].sort();
    }
    Ok(out)
}

/// Reads `path`, detecting the format: a JSON object with `messages` (DiscordChatExporter) or JSON lines.
pub fn read_export(path: &Path) -> Result<Export, InputError> {
    let io = |source| InputError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut head = [0u8; 4096];
    let n = file.read(&mut head).map_err(io)?;
    let file = std::fs::File::open(path).map_err(io)?;
    if is_single_document(&head[..n]) {
        read_dce(path, BufReader::new(file))
    } else {
        read_jsonl(path, BufReader::new(file))
    }
}

/// A DiscordChatExporter export is one (pretty-printed) object whose first key is `guild` or `messages`;
/// JSON lines have a complete object on the first line.
fn is_single_document(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head);
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if !trimmed.starts_with('{') {
        return false;
    }
    let first_line = trimmed.lines().next().unwrap_or("");
    serde_json::from_str::<Value>(first_line).is_err()
        || ["\"guild\"", "\"messages\""]
            .iter()
            .any(|k| first_line.contains(k))
}

#[derive(Deserialize)]
struct DceFile {
    #[serde(default)]
    guild: Option<DceNamed>,
    #[serde(default)]
    channel: Option<DceNamed>,
    messages: Vec<Value>,
}

#[derive(Deserialize)]
struct DceNamed {
    #[serde(default, deserialize_with = "id_string")]
    id: String,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DceMessage {
    #[serde(deserialize_with = "id_string")]
    id: String,
    timestamp: String,
    #[serde(default)]
    timestamp_edited: Option<String>,
    #[serde(default)]
    content: String,
    author: DceAuthor,
    #[serde(default)]
    mentions: Vec<DceNamed>,
    #[serde(default)]
    attachments: Vec<Value>,
    #[serde(default)]
    reference: Option<DceReference>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DceAuthor {
    #[serde(deserialize_with = "id_string")]
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    is_bot: bool,
    #[serde(default)]
    roles: Vec<DceNamed>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DceReference {
    #[serde(default)]
    message_id: Option<String>,
}

fn read_dce(path: &Path, reader: impl Read) -> Result<Export, InputError> {
    let file: DceFile = serde_json::from_reader(reader).map_err(|e| InputError::Format {
        path: path.to_path_buf(),
        message: if e.is_data() {
            format!("not a DiscordChatExporter JSON export ({e}); expected an object with a \"messages\" array")
        } else {
            format!("invalid JSON at line {}, column {}: {e}", e.line(), e.column())
        },
    })?;
    let guild_id = file
        .guild
        .as_ref()
        .map(|g| g.id.clone())
        .filter(|s| !s.is_empty());
    let channel_id = file
        .channel
        .as_ref()
        .map(|c| c.id.clone())
        .unwrap_or_default();
    let mut export = Export {
        guild_name: file.guild.and_then(|g| g.name),
        channel_name: file.channel.and_then(|c| c.name),
        ..Export::default()
    };
    // Replies name a message id; map it to that message's author once all authors are known.
    let mut pending_replies = Vec::new();
    for (i, raw) in file.messages.into_iter().enumerate() {
        let location = format!("messages[{i}]");
        let parsed = serde_json::from_value::<DceMessage>(raw)
            .map_err(|e| e.to_string())
            .and_then(|m| {
                let timestamp = parse_time(&m.timestamp)?;
                Ok((m, timestamp))
            });
        match parsed {
            Ok((m, timestamp)) => {
                if let Some(target) = m.reference.and_then(|r| r.message_id) {
                    pending_replies.push((export.messages.len(), target));
                }
                export.messages.push(ScanMessage {
                    id: m.id,
                    author_id: m.author.id,
                    author_name: m.author.name,
                    author_is_bot: m.author.is_bot,
                    author_roles: m.author.roles.into_iter().map(|r| r.id).collect(),
                    author_is_moderator: false,
                    author_joined_at: None,
                    channel_id: channel_id.clone(),
                    guild_id: guild_id.clone(),
                    timestamp,
                    timestamp_raw: m.timestamp,
                    edited: m.timestamp_edited.is_some(),
                    content: m.content,
                    reply_to: None,
                    mentions: m.mentions.into_iter().map(|u| u.id).collect(),
                    attachments: u32::try_from(m.attachments.len()).unwrap_or(u32::MAX),
                });
            }
            Err(reason) => export.malformed.push(Malformed { location, reason }),
        }
    }
    let authors: std::collections::HashMap<String, String> = export
        .messages
        .iter()
        .map(|m| (m.id.clone(), m.author_id.clone()))
        .collect();
    for (idx, target) in pending_replies {
        export.messages[idx].reply_to = authors.get(&target).cloned();
    }
    Ok(export)
}

#[derive(Deserialize)]
struct JsonlMessage {
    #[serde(deserialize_with = "id_string")]
    id: String,
    #[serde(deserialize_with = "id_string")]
    author_id: String,
    #[serde(deserialize_with = "id_string")]
    channel_id: String,
    timestamp: String,
    content: String,
    #[serde(default, deserialize_with = "opt_id_string")]
    guild_id: Option<String>,
    #[serde(default)]
    author_name: Option<String>,
    #[serde(default)]
    author_is_bot: bool,
    #[serde(default)]
    author_roles: Vec<Value>,
    #[serde(default)]
    author_is_moderator: bool,
    #[serde(default)]
    author_joined_at: Option<String>,
    #[serde(default)]
    edited: bool,
    #[serde(default, deserialize_with = "opt_id_string")]
    reply_to: Option<String>,
    #[serde(default)]
    mentions: Vec<Value>,
    #[serde(default)]
    attachments: u32,
}

fn read_jsonl(path: &Path, reader: impl BufRead) -> Result<Export, InputError> {
    let mut export = Export::default();
    for (i, line) in reader.split(b'\n').enumerate() {
        let location = format!("line {}", i + 1);
        let bytes = line.map_err(|source| InputError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let Ok(text) = std::str::from_utf8(&bytes) else {
            export.malformed.push(Malformed {
                location,
                reason: "not valid UTF-8".into(),
            });
            continue;
        };
        let text = text.trim_start_matches('\u{feff}').trim();
        if text.is_empty() {
            continue;
        }
        match parse_jsonl_line(text) {
            Ok(m) => export.messages.push(m),
            Err(reason) => export.malformed.push(Malformed { location, reason }),
        }
    }
    if export.messages.is_empty()
        && !export.malformed.is_empty()
        && export.malformed.len() == count_lines(path)
    {
        return Err(InputError::Format {
            path: path.to_path_buf(),
            message: format!(
                "no line is a message ({}: {}); expected a DiscordChatExporter JSON export or one JSON object per line with id, author_id, channel_id, timestamp, content",
                export.malformed[0].location, export.malformed[0].reason
            ),
        });
    }
    Ok(export)
}

fn count_lines(path: &Path) -> usize {
    std::fs::File::open(path)
        .map(|f| {
            BufReader::new(f)
                .split(b'\n')
                .filter_map(Result::ok)
                .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
                .count()
        })
        .unwrap_or(0)
}

fn parse_jsonl_line(text: &str) -> Result<ScanMessage, String> {
    let m: JsonlMessage = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let timestamp = parse_time(&m.timestamp)?;
    let author_joined_at = m.author_joined_at.as_deref().map(parse_time).transpose()?;
    Ok(ScanMessage {
        id: m.id,
        author_id: m.author_id,
        author_name: m.author_name,
        author_is_bot: m.author_is_bot,
        author_roles: m.author_roles.iter().filter_map(value_id).collect(),
        author_is_moderator: m.author_is_moderator,
        author_joined_at,
        channel_id: m.channel_id,
        guild_id: m.guild_id,
        timestamp,
        timestamp_raw: m.timestamp,
        edited: m.edited,
        content: m.content,
        reply_to: m.reply_to,
        mentions: m.mentions.iter().filter_map(value_id).collect(),
        attachments: m.attachments,
    })
}

fn value_id(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Object(o) => o.get("id").and_then(value_id),
        _ => None,
    }
}

fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("timestamp {s:?} is not RFC 3339 ({e})"))
}

/// Accepts ids written as strings or numbers (snowflakes overflow JavaScript numbers, so exports use strings).
fn id_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = Value::deserialize(d)?;
    value_id(&v).filter(|s| !s.is_empty()).ok_or_else(|| {
        serde::de::Error::custom(format!("expected an id (string or number), got {v}"))
    })
}

fn opt_id_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.as_ref().and_then(value_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(content: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(content.as_bytes()).unwrap();
        f
    }

    #[test]
    fn jsonl_counts_malformed_lines() {
        let f = write(concat!(
            r#"{"id":"1","author_id":"2","channel_id":"3","timestamp":"2026-01-01T00:00:00Z","content":"hi"}"#,
            "\n\n",
            r#"{"id":"4","author_id":"2","channel_id":"3","timestamp":"yesterday","content":"x"}"#,
            "\n",
            "{not json\n",
            r#"{"id":5,"author_id":2,"channel_id":3,"timestamp":"2026-01-01T00:01:00+01:00","content":"yo"}"#,
            "\n"
        ));
        let e = read_export(f.path()).unwrap();
        assert_eq!(e.messages.len(), 2);
        assert_eq!(e.messages[1].id, "5");
        assert_eq!(e.malformed.len(), 2);
        assert_eq!(e.malformed[0].location, "line 3");
        assert!(e.malformed[0].reason.contains("yesterday"));
        assert_eq!(e.malformed[1].location, "line 4");
    }

    #[test]
    fn dce_reads_replies_and_reports_bad_messages() {
        let f = write(
            r#"{"guild":{"id":"10","name":"G"},"channel":{"id":"20","name":"general"},"messages":[
              {"id":"1","timestamp":"2026-01-01T00:00:00+00:00","content":"hello","author":{"id":"7","name":"a","isBot":false}},
              {"id":"2","timestamp":"2026-01-01T00:00:05+00:00","content":"shut up","author":{"id":"8","name":"b"},
               "reference":{"messageId":"1"},"mentions":[{"id":"7","name":"a"}]},
              {"id":"3","content":"no timestamp","author":{"id":"8"}}
            ]}"#,
        );
        let e = read_export(f.path()).unwrap();
        assert_eq!(e.guild_name.as_deref(), Some("G"));
        assert_eq!(e.messages.len(), 2);
        assert_eq!(e.messages[1].reply_to.as_deref(), Some("7"));
        assert_eq!(e.messages[1].mentions, vec!["7".to_string()]);
        assert_eq!(e.messages[1].guild_id.as_deref(), Some("10"));
        assert_eq!(e.malformed.len(), 1);
        assert_eq!(e.malformed[0].location, "messages[2]");
    }

    #[test]
    fn broken_dce_names_line_and_column() {
        let f = write("{\n  \"guild\": {\"id\": \"1\"},\n  \"messages\": [ {,\n");
        let err = read_export(f.path()).unwrap_err().to_string();
        assert!(err.contains("line 3"), "{err}");
    }

    #[test]
    fn file_of_garbage_is_an_error() {
        let f = write("hello\nworld\n");
        assert!(read_export(f.path()).is_err());
    }
}
