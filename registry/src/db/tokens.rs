//! `api_tokens`: bearer tokens, stored as SHA-256 hashes, with scopes and an expiry.

use serde::Serialize;

use super::publishers::{self, Publisher};
use super::{col, now, Db, DbError};

/// A token as listed (never the secret).
#[derive(Debug, Clone, Serialize)]
pub struct TokenInfo {
    /// Row id (used to revoke).
    pub id: i64,
    /// The owner's account name.
    pub publisher: String,
    /// A label chosen at creation.
    pub name: String,
    /// Scopes, as written (`publish:@acme/*`, `yank:*`, `moderate`, `admin`).
    pub scopes: Vec<String>,
    /// Creation time.
    pub created_at: String,
    /// Expiry, if any.
    pub expires_at: Option<String>,
    /// Last use, if any.
    pub last_used_at: Option<String>,
    /// Revocation time, if revoked.
    pub revoked_at: Option<String>,
}

/// A live token and its account.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// Token row id.
    pub token_id: i64,
    /// Scopes as written.
    pub scopes: Vec<String>,
    /// The account.
    pub publisher: Publisher,
}

impl Db {
    /// Stores a new token's hash.
    pub async fn create_token(
        &self,
        publisher_id: i64,
        name: &str,
        token_hash: &str,
        scopes: &[String],
        expires_at: Option<&str>,
    ) -> Result<i64, DbError> {
        let scopes = serde_json::to_string(scopes).map_err(|e| DbError::Corrupt(e.to_string()))?;
        let row = sqlx::query(
            "INSERT INTO api_tokens (publisher_id, name, token_hash, scopes, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(publisher_id)
        .bind(name)
        .bind(token_hash)
        .bind(scopes)
        .bind(now())
        .bind(expires_at)
        .fetch_one(self.pool())
        .await?;
        col(&row, "id")
    }

    /// The account behind a token hash, if the token exists, is not revoked and has not
    /// expired.
    pub async fn authenticate(&self, token_hash: &str) -> Result<Option<Authenticated>, DbError> {
        let at = now();
        let row = sqlx::query(
            "SELECT t.id AS token_id, t.scopes AS scopes, p.id AS p_id, p.name AS p_name, \
             p.email AS p_email, p.role AS p_role, p.created_at AS p_created_at \
             FROM api_tokens t JOIN publishers p ON p.id = t.publisher_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL \
             AND (t.expires_at IS NULL OR t.expires_at > $2)",
        )
        .bind(token_hash)
        .bind(&at)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let scopes: String = col(&row, "scopes")?;
        let auth = Authenticated {
            token_id: col(&row, "token_id")?,
            scopes: serde_json::from_str(&scopes).map_err(|e| DbError::Corrupt(e.to_string()))?,
            publisher: publishers::from_row(&row, "p_")?,
        };
        Ok(Some(auth))
    }

    /// Records a use (for the token list); best effort.
    pub async fn touch_token(&self, token_id: i64) -> Result<(), DbError> {
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(now())
            .bind(token_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Revokes a token; false when there is no such live token.
    pub async fn revoke_token(&self, token_id: i64) -> Result<bool, DbError> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(now())
        .bind(token_id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Tokens, optionally of one account, newest first.
    pub async fn list_tokens(&self, publisher: Option<&str>) -> Result<Vec<TokenInfo>, DbError> {
        let rows = sqlx::query(
            "SELECT t.id, p.name AS publisher, t.name, t.scopes, t.created_at, t.expires_at, \
             t.last_used_at, t.revoked_at FROM api_tokens t JOIN publishers p ON p.id = t.publisher_id \
             WHERE (CAST($1 AS TEXT) IS NULL OR p.name = $1) ORDER BY t.id DESC",
        )
        .bind(publisher)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let scopes: String = col(row, "scopes")?;
                Ok(TokenInfo {
                    id: col(row, "id")?,
                    publisher: col(row, "publisher")?,
                    name: col(row, "name")?,
                    scopes: serde_json::from_str(&scopes)
                        .map_err(|e| DbError::Corrupt(e.to_string()))?,
                    created_at: col(row, "created_at")?,
                    expires_at: col(row, "expires_at")?,
                    last_used_at: col(row, "last_used_at")?,
                    revoked_at: col(row, "revoked_at")?,
                })
            })
            .collect()
    }
}
