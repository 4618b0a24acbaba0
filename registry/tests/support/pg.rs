//! A fresh PostgreSQL database per test, on the server `DATABASE_URL` names (the test entry
//! point `scripts/test.sh` starts a throwaway cluster and sets it when it is unset).
#![allow(dead_code)]

use sqlx::Connection;

/// Creates an empty database and returns its URL. Panics with instructions when
/// `DATABASE_URL` is unset: PostgreSQL tests are never skipped silently.
pub async fn fresh_database() -> String {
    let admin = std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "DATABASE_URL is not set: run the tests with scripts/test.sh (it starts a throwaway \
             PostgreSQL), or point DATABASE_URL at a server where this user may CREATE DATABASE"
        )
    });
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to DATABASE_URL: {e}"));
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("cannot create database {name}: {e}"));
    let _ = conn.close().await;
    with_database(&admin, &name)
}

/// `url` with its database replaced.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[scheme_end..]
        .find('/')
        .map(|i| i + scheme_end)
        .unwrap_or(base.len());
    let mut out = format!("{}/{}", &base[..path_start], db);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}
