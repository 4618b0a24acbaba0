//! Bearer tokens: how they are made and stored, what their scopes allow, and the extractor
//! that turns an `Authorization` header into an account.

pub mod scope;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};

pub use scope::{Action, Scope};

use crate::db::tokens::Authenticated;
use crate::error::ApiError;
use crate::state::AppState;

/// Tokens start with this, so secret scanners and people recognise them.
pub const TOKEN_PREFIX: &str = "cstk_";

/// A new random token and the hash stored for it. The token is shown once, never stored.
pub fn generate_token() -> Result<(String, String), getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    let token = format!("{TOKEN_PREFIX}{}", hex::encode(bytes));
    let hash = hash_token(&token);
    Ok((token, hash))
}

/// The stored form of a token. Tokens carry 256 random bits, so a plain SHA-256 suffices
/// (no password stretching needed).
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The caller of an authenticated route.
#[derive(Debug, Clone)]
pub struct Caller(pub Authenticated);

impl Caller {
    /// Whether the token's scopes (or the account's role) allow `action` on `package`.
    pub fn may(&self, action: Action, package: &str) -> bool {
        use crate::db::publishers::Role;
        let role = self.0.publisher.role;
        let scopes = self.0.scopes.iter().filter_map(|s| Scope::parse(s).ok());
        let scoped = scopes.clone().any(|s| s.allows(action, package));
        match action {
            // Moderation also needs the role: a token cannot grant more than its account has.
            Action::Moderate => scoped && matches!(role, Role::Moderator | Role::Admin),
            Action::Admin => scoped && role == Role::Admin,
            _ => scoped,
        }
    }

    /// Whether any scope of the token allows publishing at all (checked before an upload
    /// is read, so a token without one cannot make the server scan archives).
    pub fn may_publish_something(&self) -> bool {
        self.0
            .scopes
            .iter()
            .filter_map(|s| Scope::parse(s).ok())
            .any(|s| matches!(s, Scope::Publish(_) | Scope::Admin))
    }

    /// Refuses unless [`Caller::may`].
    pub fn require(&self, action: Action, package: &str) -> Result<(), ApiError> {
        if self.may(action, package) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "this token has no `{}` scope covering `{package}` (its scopes: {})",
                action.as_str(),
                if self.0.scopes.is_empty() {
                    "none".to_string()
                } else {
                    self.0.scopes.join(", ")
                }
            )))
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| {
                ApiError::Unauthorized("this route needs `Authorization: Bearer <token>`".into())
            })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::Unauthorized("the Authorization header must be `Bearer <token>`".into())
            })?;
        let found = state.db.authenticate(&hash_token(token)).await?;
        let auth = found.ok_or_else(|| {
            ApiError::Unauthorized("the token is unknown, revoked or expired".into())
        })?;
        Ok(Caller(auth))
    }
}
