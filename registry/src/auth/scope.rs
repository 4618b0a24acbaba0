//! Token scopes: `publish:<package glob>`, `yank:<package glob>`, `moderate`, `admin`.
//! A glob's `*` matches any run of characters, so `publish:@acme/*` covers every package of
//! the `@acme` scope and `publish:*` every package the account owns.

use std::fmt;

/// What a request wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Publish a version (and manage owners).
    Publish,
    /// Yank, unyank, deprecate.
    Yank,
    /// Change trust tiers, delist.
    Moderate,
    /// Manage accounts and tokens.
    Admin,
}

impl Action {
    /// The scope word.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Publish => "publish",
            Action::Yank => "yank",
            Action::Moderate => "moderate",
            Action::Admin => "admin",
        }
    }
}

/// One scope of a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// `publish:<glob>`.
    Publish(String),
    /// `yank:<glob>`.
    Yank(String),
    /// `moderate`.
    Moderate,
    /// `admin`: everything.
    Admin,
}

impl Scope {
    /// Parses a scope as written on the command line.
    pub fn parse(s: &str) -> Result<Scope, String> {
        let glob = |g: &str| {
            if g.is_empty()
                || g.len() > 214
                || g.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                Err(format!(
                    "`{s}`: the package pattern must be a non-empty name or glob"
                ))
            } else {
                Ok(g.to_string())
            }
        };
        match s.split_once(':') {
            Some(("publish", g)) => Ok(Scope::Publish(glob(g)?)),
            Some(("yank", g)) => Ok(Scope::Yank(glob(g)?)),
            None if s == "moderate" => Ok(Scope::Moderate),
            None if s == "admin" => Ok(Scope::Admin),
            _ => Err(format!(
                "`{s}` is not a scope; use publish:<package glob>, yank:<package glob>, moderate or admin"
            )),
        }
    }

    /// Whether this scope covers `action` on `package`.
    pub fn allows(&self, action: Action, package: &str) -> bool {
        match (self, action) {
            (Scope::Admin, _) => true,
            (Scope::Publish(g), Action::Publish) | (Scope::Yank(g), Action::Yank) => {
                glob_match(g, package)
            }
            (Scope::Moderate, Action::Moderate) => true,
            _ => false,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Publish(g) => write!(f, "publish:{g}"),
            Scope::Yank(g) => write!(f, "yank:{g}"),
            Scope::Moderate => f.write_str("moderate"),
            Scope::Admin => f.write_str("admin"),
        }
    }
}

/// `*` matches any run of characters (including `/`); everything else is literal.
fn glob_match(glob: &str, text: &str) -> bool {
    let parts: Vec<&str> = glob.split('*').collect();
    if parts.len() == 1 {
        return glob == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_scope_covers_its_glob_only() {
        let s = Scope::parse("publish:@acme/*").unwrap();
        assert!(s.allows(Action::Publish, "@acme/secrets"));
        assert!(!s.allows(Action::Publish, "@evil/secrets"));
        assert!(!s.allows(Action::Yank, "@acme/secrets"));
        assert!(Scope::parse("publish:acme-*-guard")
            .unwrap()
            .allows(Action::Publish, "acme-x-guard"));
        assert!(!Scope::parse("publish:acme-*-guard")
            .unwrap()
            .allows(Action::Publish, "acme-guard"));
        assert!(Scope::parse("publish:exact")
            .unwrap()
            .allows(Action::Publish, "exact"));
    }

    #[test]
    fn admin_covers_everything_and_moderate_only_moderation() {
        assert!(Scope::Admin.allows(Action::Publish, "x"));
        assert!(Scope::Moderate.allows(Action::Moderate, "x"));
        assert!(!Scope::Moderate.allows(Action::Publish, "x"));
    }

    #[test]
    fn malformed_scopes_say_what_is_accepted() {
        for bad in ["publish", "publish:", "root", "yank:a b"] {
            assert!(Scope::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Scope::parse("yank:*").unwrap().to_string(), "yank:*");
    }
}
