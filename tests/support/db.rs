//! A fresh Postgres database per test: random name, migrations applied, dropped afterwards
//! (also when the test panics, from `Drop`). Uses `DATABASE_URL` (default: local trust auth).

#![allow(dead_code)]

use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection};
use usmca_bot::storage::Storage;

/// The server tests use: `DATABASE_URL` or a local default.
pub fn admin_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// A connection for CREATE/DROP DATABASE: to `admin`, or, when the database it names does
/// not exist (e.g. the bot's own `usmca`), to the `postgres` database of that server.
async fn admin_connect(admin: &str) -> Result<PgConnection, sqlx::Error> {
    match PgConnection::connect(admin).await {
        Ok(c) => Ok(c),
        Err(e) => match url::Url::parse(admin) {
            Ok(mut u) if u.path() != "/postgres" => {
                u.set_path("/postgres");
                PgConnection::connect(u.as_str()).await
            }
            _ => Err(e),
        },
    }
}

/// A throwaway database.
pub struct TestDb {
    /// Storage over a small pool on the database.
    pub storage: Storage,
    /// Database name.
    pub name: String,
    /// URL of the database (for the binary under test).
    pub url: String,
    /// The server's admin URL (where it is dropped from).
    admin: String,
}

impl TestDb {
    /// A new database with every migration applied.
    pub async fn new() -> Self {
        Self::on(&admin_url()).await
    }

    /// A new database with every migration applied, on the server at `admin` (a test's own).
    pub async fn on(admin: &str) -> Self {
        let db = Self::empty_on(admin).await;
        db.storage.migrate().await.expect("migrations apply");
        db
    }

    /// A new database without migrations.
    pub async fn empty() -> Self {
        Self::empty_on(&admin_url()).await
    }

    async fn empty_on(admin: &str) -> Self {
        let name = format!("usmca_test_{:016x}", rand::random::<u64>());
        let mut conn = admin_connect(admin)
            .await
            .expect("Postgres reachable at DATABASE_URL");
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await
            .expect("create test database");
        conn.close().await.ok();
        let mut url = url::Url::parse(admin).expect("DATABASE_URL is a URL");
        url.set_path(&format!("/{name}"));
        let url = url.to_string();
        // Small, so many tests in parallel stay under the server's max_connections.
        let pool = PgPoolOptions::new()
            .max_connections(5)
            .connect(&url)
            .await
            .expect("connect to test database");
        Self {
            storage: Storage::from_pool(pool),
            name,
            url,
            admin: admin.to_string(),
        }
    }
}

impl TestDb {
    /// Another storage handle on this database with its own pool of `connections`.
    pub async fn storage_with_pool(&self, connections: u32) -> Storage {
        let pool = PgPoolOptions::new()
            .max_connections(connections)
            .connect(&self.url)
            .await
            .expect("connect to test database");
        Storage::from_pool(pool)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let admin = self.admin.clone();
        // Drop may run inside a runtime (async tests): do the blocking cleanup on its own thread.
        // The pool's connections belong to the test's runtime, which is blocked here, so they
        // are not closed from this side; WITH (FORCE) ends them on the server.
        let cleaned = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("cleanup runtime");
            rt.block_on(async move {
                let mut conn = admin_connect(&admin).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&mut conn)
                    .await?;
                conn.close().await
            })
        })
        .join();
        if !matches!(cleaned, Ok(Ok(()))) {
            eprintln!("warning: could not drop test database {}", self.name);
        }
    }
}
