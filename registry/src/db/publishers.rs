//! `publishers`: accounts that publish, moderate or administer.

use serde::Serialize;
use sqlx::any::AnyRow;

use super::{col, now, Db, DbError};

/// What an account may do beyond its tokens' scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Publishes its own packages.
    Publisher,
    /// Also changes trust tiers and delists.
    Moderator,
    /// Also manages accounts and tokens.
    Admin,
}

impl Role {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Publisher => "publisher",
            Role::Moderator => "moderator",
            Role::Admin => "admin",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "publisher" => Some(Role::Publisher),
            "moderator" => Some(Role::Moderator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// One account.
#[derive(Debug, Clone, Serialize)]
pub struct Publisher {
    /// Row id.
    pub id: i64,
    /// Unique account name.
    pub name: String,
    /// Contact address.
    pub email: Option<String>,
    /// Role.
    pub role: Role,
    /// When it was created.
    pub created_at: String,
}

pub(crate) fn from_row(row: &AnyRow, prefix: &str) -> Result<Publisher, DbError> {
    let role: String = col(row, &format!("{prefix}role"))?;
    Ok(Publisher {
        id: col(row, &format!("{prefix}id"))?,
        name: col(row, &format!("{prefix}name"))?,
        email: col(row, &format!("{prefix}email"))?,
        role: Role::parse(&role).ok_or_else(|| DbError::Corrupt(format!("role `{role}`")))?,
        created_at: col(row, &format!("{prefix}created_at"))?,
    })
}

/// Valid account names: what a URL path and a log line can carry without escaping.
pub fn valid_name(name: &str) -> bool {
    (1..=39).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && name.as_bytes()[0].is_ascii_alphanumeric()
}

impl Db {
    /// Creates an account; a taken name is a [`DbError::Conflict`].
    pub async fn create_publisher(
        &self,
        name: &str,
        email: Option<&str>,
        role: Role,
    ) -> Result<Publisher, DbError> {
        let row = sqlx::query(
            "INSERT INTO publishers (name, email, role, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING id, name, email, role, created_at",
        )
        .bind(name)
        .bind(email)
        .bind(role.as_str())
        .bind(now())
        .fetch_one(self.pool())
        .await
        .map_err(|e| match DbError::from(e) {
            DbError::Conflict(_) => DbError::Conflict(format!("publisher `{name}` already exists")),
            other => other,
        })?;
        from_row(&row, "")
    }

    /// Finds an account by name.
    pub async fn publisher_by_name(&self, name: &str) -> Result<Option<Publisher>, DbError> {
        let row =
            sqlx::query("SELECT id, name, email, role, created_at FROM publishers WHERE name = $1")
                .bind(name)
                .fetch_optional(self.pool())
                .await?;
        row.as_ref().map(|r| from_row(r, "")).transpose()
    }

    /// Every account, by name.
    pub async fn list_publishers(&self) -> Result<Vec<Publisher>, DbError> {
        let rows =
            sqlx::query("SELECT id, name, email, role, created_at FROM publishers ORDER BY name")
                .fetch_all(self.pool())
                .await?;
        rows.iter().map(|r| from_row(r, "")).collect()
    }

    /// How many accounts exist (the first start creates the admin when there are none).
    pub async fn count_publishers(&self) -> Result<i64, DbError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM publishers")
            .fetch_one(self.pool())
            .await?;
        col(&row, "n")
    }
}
