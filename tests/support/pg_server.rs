//! A throwaway PostgreSQL server of the test's own (temporary directory, free port, trust auth,
//! fsync off), for tests that stop and restart Postgres: they must never touch the shared one
//! at `DATABASE_URL`.
//!
//! As root, the server runs as the unprivileged `postgres` user (or `nobody`) through
//! `runuser -u USER --`, since initdb and pg_ctl refuse to run as root (as `scripts/test.sh`
//! does). The binaries come from `PATH` or `/usr/lib/postgresql/*/bin` (newest first).
//!
//! ```ignore
//! let pg = PgServer::start();
//! pg.create_database("app").await;
//! let url = pg.url_for("app");
//! pg.stop(); // connections to `url` are refused now
//! pg.restart(); // same port and data
//! ```

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use sqlx::{Connection, PgConnection};

/// How long start, stop and restart wait for the server before panicking.
const LIMIT: Duration = Duration::from_secs(30);

/// A private PostgreSQL server; stopped (`-m immediate`) and its directory removed on drop.
pub struct PgServer {
    /// Temporary directory holding the data directory; removed on drop.
    dir: tempfile::TempDir,
    /// Port on 127.0.0.1.
    port: u16,
    /// Data directory (also the Unix socket directory and home of `server.log`).
    data: PathBuf,
    /// Directory with initdb, pg_ctl and postgres.
    bin: PathBuf,
    /// `runuser -u USER --` when running as root, else empty.
    run_as: Vec<String>,
}

impl PgServer {
    /// Runs initdb and starts the server on a free 127.0.0.1 port (trust auth, superuser
    /// `postgres`, fsync off); returns once it accepts connections. Panics with a clear message
    /// when the PostgreSQL binaries are missing or the server does not come up (with its log).
    pub fn start() -> Self {
        let bin = find_bin_dir().unwrap_or_else(|| {
            panic!(
                "PgServer needs PostgreSQL's initdb, pg_ctl and postgres binaries: none found on \
                 PATH or in /usr/lib/postgresql/*/bin (install them, e.g. `apt-get install \
                 postgresql`)"
            )
        });
        let dir = tempfile::Builder::new()
            .prefix("usmca-pg-")
            .tempdir()
            .expect("create a temporary directory for PgServer");
        let data = dir.path().join("pg");
        std::fs::create_dir(&data).expect("create the PgServer data directory");
        let root = std::fs::metadata(dir.path())
            .map(|m| m.uid() == 0)
            .expect("stat the PgServer temporary directory");
        let mut run_as = Vec::new();
        if root {
            let user = if succeeds(Command::new("id").args(["-u", "postgres"])) {
                "postgres"
            } else {
                "nobody"
            };
            // The unprivileged user must reach the data directory and own it.
            set_mode(dir.path(), 0o755);
            let chown = Command::new("chown")
                .arg(user)
                .arg(&data)
                .output()
                .expect("run chown");
            assert!(
                chown.status.success(),
                "chown {user} {}: {}",
                data.display(),
                String::from_utf8_lossy(&chown.stderr)
            );
            run_as = ["runuser", "-u", user, "--"].map(String::from).to_vec();
        }
        let mut server = Self {
            dir,
            port: 0,
            data,
            bin,
            run_as,
        };
        let initdb = server
            .pg_command("initdb")
            .arg("-D")
            .arg(&server.data)
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .output()
            .expect("run initdb");
        assert!(
            initdb.status.success(),
            "initdb failed:\n{}",
            output_text(&initdb)
        );
        // A port picked free may be taken by someone else before the server binds it: retry.
        let mut last_error = String::new();
        for _ in 0..3 {
            server.port = free_port();
            match server.launch() {
                Ok(()) => {
                    server.wait_ready();
                    return server;
                }
                Err(e) => last_error = e,
            }
        }
        panic!(
            "PgServer did not start:\n{last_error}\n--- server log ---\n{}",
            server.log()
        );
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        self.url_for("postgres")
    }

    /// URL of database `db` on this server.
    pub fn url_for(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The data directory (removed on drop).
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// The server's log so far (empty when there is none yet).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data.join("server.log")).unwrap_or_default()
    }

    /// Creates database `name` through a connection to the `postgres` database.
    pub async fn create_database(&self, name: &str) {
        let mut conn = PgConnection::connect(&self.url())
            .await
            .unwrap_or_else(|e| panic!("connect to PgServer on port {}: {e}", self.port));
        let quoted = name.replace('"', "\"\"");
        sqlx::query(&format!("CREATE DATABASE \"{quoted}\""))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name} on PgServer: {e}"));
        conn.close().await.ok();
    }

    /// `pg_ctl stop -m fast`; returns once the server is down and connections are refused.
    pub fn stop(&self) {
        let out = self
            .pg_ctl()
            .args([
                "-m",
                "fast",
                "-w",
                "-t",
                &LIMIT.as_secs().to_string(),
                "stop",
            ])
            .output()
            .expect("run pg_ctl stop");
        assert!(
            out.status.success(),
            "pg_ctl stop (port {}) failed:\n{}\n--- server log ---\n{}",
            self.port,
            output_text(&out),
            self.log()
        );
        let deadline = Instant::now() + LIMIT;
        while self.accepts_tcp() {
            assert!(
                Instant::now() < deadline,
                "PgServer on port {} still accepts connections after pg_ctl stop\n\
                 --- server log ---\n{}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the server again on the same port and data directory; returns once it accepts
    /// connections.
    pub fn restart(&self) {
        if let Err(e) = self.launch() {
            panic!(
                "PgServer did not restart on port {}:\n{e}\n--- server log ---\n{}",
                self.port,
                self.log()
            );
        }
        self.wait_ready();
    }

    /// Whether the postmaster is running (`pg_ctl status`).
    pub fn is_running(&self) -> bool {
        self.pg_ctl()
            .arg("status")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// `BIN/program`, run as the unprivileged user when needed.
    fn pg_command(&self, program: &str) -> Command {
        let exe = self.bin.join(program);
        match self.run_as.split_first() {
            Some((runner, args)) => {
                let mut c = Command::new(runner);
                c.args(args).arg(exe);
                c
            }
            None => Command::new(exe),
        }
    }

    /// `pg_ctl -D DATA`.
    fn pg_ctl(&self) -> Command {
        let mut c = self.pg_command("pg_ctl");
        c.arg("-D").arg(&self.data);
        c
    }

    /// `pg_ctl start -w`: the error text (pg_ctl's output) when it fails.
    fn launch(&self) -> Result<(), String> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100",
            self.port,
            self.data.display()
        );
        let out = self
            .pg_ctl()
            .arg("-l")
            .arg(self.data.join("server.log"))
            .args([
                "-w",
                "-t",
                &LIMIT.as_secs().to_string(),
                "-o",
                &options,
                "start",
            ])
            // pg_ctl's server inherits these; a null stdout keeps `output()` from waiting on it.
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("run pg_ctl start: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "pg_ctl start (port {}) failed:\n{}",
                self.port,
                output_text(&out)
            ))
        }
    }

    /// Waits until the server accepts connections (pg_isready, or a TCP connect when it is
    /// missing); panics with the server log after [`LIMIT`].
    fn wait_ready(&self) {
        let isready = self.bin.join("pg_isready");
        let deadline = Instant::now() + LIMIT;
        loop {
            let ready = if isready.exists() {
                succeeds(Command::new(&isready).args([
                    "-q",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &self.port.to_string(),
                    "-t",
                    "1",
                ]))
            } else {
                self.accepts_tcp()
            };
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "PgServer on port {} not ready after {LIMIT:?}\n--- server log ---\n{}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn accepts_tcp(&self) -> bool {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if self.data.join("postmaster.pid").exists() {
            let _ = self
                .pg_ctl()
                .args(["-m", "immediate", "-w", "stop"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        // `dir` (a TempDir) removes the directory when dropped after this.
    }
}

/// The first directory with initdb, pg_ctl and postgres: those on `PATH` (symlinks resolved),
/// then `/usr/lib/postgresql/*/bin`, newest version first.
fn find_bin_dir() -> Option<PathBuf> {
    let complete = |d: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|p| d.join(p).is_file())
    };
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|d| std::fs::canonicalize(d.join("initdb")).ok())
        .filter_map(|initdb| initdb.parent().map(Path::to_path_buf));
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| {
                    let version = e.file_name().to_str()?.parse::<u32>().ok()?;
                    Some((version, e.path().join("bin")))
                })
                .collect()
        })
        .unwrap_or_default();
    versions.sort_by_key(|v| std::cmp::Reverse(v.0));
    on_path
        .chain(versions.into_iter().map(|(_, d)| d))
        .find(|d| complete(d))
}

/// A free TCP port on 127.0.0.1.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn succeeds(c: &mut Command) -> bool {
    c.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {mode:o} {}: {e}", path.display()));
}

fn output_text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
