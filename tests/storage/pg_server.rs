//! The private Postgres server helper (tests/support/pg_server.rs): it starts, stops (refusing
//! connections), restarts with its data, and leaves the shared server alone.

use sqlx::{Connection, PgConnection};

use crate::pg_support::PgServer;

#[tokio::test]
async fn pg_server_stops_and_restarts_with_its_data() {
    let pg = PgServer::start();
    assert!(pg.is_running());
    assert_eq!(
        pg.url(),
        format!("postgres://postgres@127.0.0.1:{}/postgres", pg.port())
    );
    pg.create_database("pg_helper_check").await;
    let url = pg.url_for("pg_helper_check");
    let mut conn = PgConnection::connect(&url)
        .await
        .expect("connect to the new database");
    sqlx::query("CREATE TABLE kept (v TEXT NOT NULL)")
        .execute(&mut conn)
        .await
        .expect("create table");
    sqlx::query("INSERT INTO kept (v) VALUES ('still here')")
        .execute(&mut conn)
        .await
        .expect("insert");
    conn.close().await.expect("close");

    pg.stop();
    assert!(!pg.is_running());
    assert!(
        PgConnection::connect(&url).await.is_err(),
        "a stopped server refuses connections"
    );

    pg.restart();
    assert!(pg.is_running());
    let mut conn = PgConnection::connect(&url)
        .await
        .expect("connect after restart");
    let v: String = sqlx::query_scalar("SELECT v FROM kept")
        .fetch_one(&mut conn)
        .await
        .expect("the row survives the restart");
    assert_eq!(v, "still here");
    conn.close().await.expect("close");

    let data = pg.data_dir().to_path_buf();
    drop(pg);
    assert!(!data.exists(), "drop removes the data directory");
    assert!(
        PgConnection::connect(&url).await.is_err(),
        "dropped server is down"
    );
    // The shared server was never touched.
    let shared = PgConnection::connect(&crate::db::admin_url())
        .await
        .expect("shared Postgres still answers");
    shared.close().await.expect("close");
}
