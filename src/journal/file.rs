//! The journal file: one JSON line per entry, appended and fsync'd before the caller acts, and
//! a position file saying how many lines are already in Postgres. One process per directory
//! (an exclusive lock on `journal.lock`).

use super::{Entry, JournalError};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

const LOG: &str = "journal.jsonl";
const POS: &str = "journal.pos";
const LOCK: &str = "journal.lock";

/// An append-only journal in a directory of its own.
#[derive(Debug)]
pub struct JournalFile {
    dir: PathBuf,
    inner: Mutex<Inner>,
    // Held for the process's life: a second process on the same directory is refused.
    _lock: File,
}

#[derive(Debug)]
struct Inner {
    log: File,
    /// Lines in the log.
    lines: u64,
    /// Lines already replayed into Postgres.
    replayed: u64,
}

fn io(dir: &Path, what: &str, e: std::io::Error) -> JournalError {
    JournalError::Io {
        path: dir.display().to_string(),
        what: what.to_string(),
        source: e,
    }
}

impl JournalFile {
    /// Opens (creating) the journal in `dir`.
    pub fn open(dir: &Path) -> Result<Self, JournalError> {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, "create the directory", e))?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(LOCK))
            .map_err(|e| io(dir, "open the lock file", e))?;
        if lock.try_lock().is_err() {
            return Err(JournalError::Locked(dir.display().to_string()));
        }
        drop_torn_tail(&dir.join(LOG)).map_err(|e| io(dir, "repair the journal", e))?;
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(dir.join(LOG))
            .map_err(|e| io(dir, "open the journal", e))?;
        let lines = count_lines(&dir.join(LOG)).map_err(|e| io(dir, "read the journal", e))?;
        let replayed = std::fs::read_to_string(dir.join(POS))
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(0)
            .min(lines);
        Ok(Self {
            dir: dir.to_path_buf(),
            inner: Mutex::new(Inner {
                log,
                lines,
                replayed,
            }),
            _lock: lock,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Entries written and not yet replayed.
    pub fn depth(&self) -> u64 {
        let i = self.lock();
        i.lines - i.replayed
    }

    /// Appends one entry and waits until it is on disk. Blocking: call it off the runtime.
    pub fn append(&self, entry: &Entry) -> Result<(), JournalError> {
        let mut line = serde_json::to_vec(entry).map_err(JournalError::Encode)?;
        line.push(b'\n');
        let mut i = self.lock();
        i.log
            .write_all(&line)
            .and_then(|_| i.log.sync_data())
            .map_err(|e| io(&self.dir, "append to the journal", e))?;
        i.lines += 1;
        Ok(())
    }

    /// The entries not yet replayed, in order, with their line numbers.
    pub fn unreplayed(&self) -> Result<Vec<(u64, Entry)>, JournalError> {
        let skip = self.lock().replayed;
        let file =
            File::open(self.dir.join(LOG)).map_err(|e| io(&self.dir, "read the journal", e))?;
        let mut out = Vec::new();
        for (n, line) in BufReader::new(file).lines().enumerate() {
            let n = n as u64;
            let line = line.map_err(|e| io(&self.dir, "read the journal", e))?;
            if n < skip || line.trim().is_empty() {
                continue;
            }
            let entry: Entry = serde_json::from_str(&line).map_err(|e| JournalError::Corrupt {
                line: n + 1,
                source: e,
            })?;
            out.push((n, entry));
        }
        Ok(out)
    }

    /// Records that lines up to and including `line` are in Postgres; once everything is,
    /// the journal is emptied.
    pub fn replayed_through(&self, line: u64) -> Result<(), JournalError> {
        let mut i = self.lock();
        i.replayed = (line + 1).max(i.replayed).min(i.lines);
        if i.replayed == i.lines {
            // Everything is in Postgres: start afresh (the position first, so a crash between
            // the two steps replays nothing twice).
            write_synced(&self.dir.join(POS), b"0")
                .map_err(|e| io(&self.dir, "write the position", e))?;
            i.log
                .set_len(0)
                .and_then(|_| i.log.seek(SeekFrom::Start(0)).map(drop))
                .and_then(|_| i.log.sync_all())
                .map_err(|e| io(&self.dir, "empty the journal", e))?;
            i.lines = 0;
            i.replayed = 0;
        } else {
            write_synced(&self.dir.join(POS), i.replayed.to_string().as_bytes())
                .map_err(|e| io(&self.dir, "write the position", e))?;
        }
        Ok(())
    }
}

fn count_lines(path: &Path) -> std::io::Result<u64> {
    let file = File::open(path)?;
    let mut n = 0;
    for line in BufReader::new(file).lines() {
        line?;
        n += 1;
    }
    Ok(n)
}

/// A crash in the middle of an append leaves a line without its newline: that entry was never
/// acknowledged (nothing was acted on), so it is cut off before appending after it.
fn drop_torn_tail(path: &Path) -> std::io::Result<()> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if bytes.is_empty() || bytes.ends_with(b"\n") {
        return Ok(());
    }
    let keep = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let f = OpenOptions::new().write(true).open(path)?;
    f.set_len(keep as u64)?;
    f.sync_all()?;
    tracing::warn!(path = %path.display(), dropped = bytes.len() - keep, "journal: cut off an entry torn by a crash");
    Ok(())
}

/// Replaces `path`'s content durably (write to a temporary file, fsync, rename).
fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}
