//! `${VAR}` and `${secrets.NAME}` placeholders, expanded in every string of a policy.
//!
//! Expansion happens on parsed values, never on the YAML text, so a value cannot inject
//! YAML structure. `$${` writes a literal `${`. `${VAR:-fallback}` uses the fallback when
//! the variable is unset. A placeholder that cannot be resolved is an error: the policy
//! does not load (fail closed).

use std::collections::HashMap;
use std::path::PathBuf;

use serde_json::Value;

use super::locate::{PathSeg, YamlPath};

/// Where placeholder values come from. The default resolves nothing (no environment, no
/// secrets): the process environment is read only through [`Resolver::from_env`].
#[derive(Debug, Clone)]
pub struct Resolver {
    /// Secrets loaded from a secrets file (a YAML or JSON mapping of name to string).
    secrets: HashMap<String, String>,
    /// The file they came from, for messages.
    secrets_file: Option<PathBuf>,
    /// Overrides for environment variables (tests, the daemon); `None` reads the process env.
    env: Option<HashMap<String, String>>,
}

impl Default for Resolver {
    fn default() -> Self {
        Resolver::fixed(HashMap::new(), HashMap::new())
    }
}

impl Resolver {
    /// Read the process environment; secrets from `secrets_file` if given.
    pub fn from_env(secrets_file: Option<PathBuf>) -> Result<Self, String> {
        let mut resolver = Resolver {
            secrets: HashMap::new(),
            secrets_file: None,
            env: None,
        };
        if let Some(path) = secrets_file {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read secrets file {}: {e}", path.display()))?;
            resolver.secrets = serde_saphyr::from_str(&text)
                .map_err(|e| format!("secrets file {}: {e}", path.display()))?;
            resolver.secrets_file = Some(path);
        }
        Ok(resolver)
    }

    /// A resolver with a fixed environment and secrets (for tests and embedding).
    pub fn fixed(env: HashMap<String, String>, secrets: HashMap<String, String>) -> Self {
        Resolver {
            secrets,
            secrets_file: None,
            env: Some(env),
        }
    }

    fn env_var(&self, name: &str) -> Option<String> {
        match &self.env {
            Some(map) => map.get(name).cloned(),
            None => std::env::var(name).ok(),
        }
    }

    /// The value of secret `name`: from the secrets file, else `$CLAWDSTRIKE_SECRET_<NAME>`.
    pub fn secret(&self, name: &str) -> Result<String, String> {
        if let Some(v) = self.secrets.get(name) {
            return Ok(v.clone());
        }
        let var = format!("CLAWDSTRIKE_SECRET_{}", name.to_ascii_uppercase());
        if let Some(v) = self.env_var(&var) {
            return Ok(v);
        }
        Err(match &self.secrets_file {
            Some(f) => format!(
                "secret `{name}` is not set (not in {} and ${var} is unset)",
                f.display()
            ),
            None => format!(
                "secret `{name}` is not set (set ${var}, or pass a secrets file with --secrets)"
            ),
        })
    }

    /// Expand the placeholders in one string.
    pub fn expand(&self, s: &str) -> Result<String, String> {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i..];
            if let Some(tail) = after.strip_prefix("$${") {
                out.push_str("${");
                rest = tail;
            } else if let Some(tail) = after.strip_prefix("${") {
                let end = tail
                    .find('}')
                    .ok_or_else(|| format!("unterminated placeholder in `{s}`"))?;
                out.push_str(&self.resolve(&tail[..end])?);
                rest = &tail[end + 1..];
            } else {
                out.push('$');
                rest = &after[1..];
            }
        }
        out.push_str(rest);
        Ok(out)
    }

    fn resolve(&self, inner: &str) -> Result<String, String> {
        let (name, fallback) = match inner.split_once(":-") {
            Some((n, f)) => (n, Some(f)),
            None => (inner, None),
        };
        if let Some(secret) = name.strip_prefix("secrets.") {
            check_name(secret, inner)?;
            return self.secret(secret);
        }
        check_name(name, inner)?;
        match (self.env_var(name), fallback) {
            (Some(v), _) => Ok(v),
            (None, Some(f)) => Ok(f.to_string()),
            (None, None) => Err(format!(
                "environment variable `{name}` is not set (write `${{{name}:-default}}` for a fallback)"
            )),
        }
    }

    /// Expand every string in a parsed document; on failure, the path of the string.
    pub fn expand_value(&self, value: &mut Value) -> Result<(), (YamlPath, String)> {
        let mut path = Vec::new();
        self.walk(value, &mut path)
    }

    fn walk(&self, value: &mut Value, path: &mut Vec<PathSeg>) -> Result<(), (YamlPath, String)> {
        match value {
            Value::String(s) if s.contains('$') => {
                *s = self.expand(s).map_err(|e| (YamlPath(path.clone()), e))?;
            }
            Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    path.push(PathSeg::Index(i));
                    self.walk(item, path)?;
                    path.pop();
                }
            }
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    path.push(PathSeg::Key(k.clone()));
                    self.walk(v, path)?;
                    path.pop();
                }
            }
            _ => {}
        }
        Ok(())
    }
}

fn check_name(name: &str, inner: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`${{{inner}}}` is not a valid placeholder (use ${{NAME}} or ${{secrets.NAME}})"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolver() -> Resolver {
        Resolver::fixed(
            HashMap::from([("HOME_DIR".into(), "/home/me".into())]),
            HashMap::from([("vt_key".into(), "abc".into())]),
        )
    }

    #[test]
    fn env_and_secret_placeholders_expand() {
        let r = resolver();
        assert_eq!(r.expand("${HOME_DIR}/.ssh/**").unwrap(), "/home/me/.ssh/**");
        assert_eq!(r.expand("key=${secrets.vt_key}").unwrap(), "key=abc");
    }

    #[test]
    fn escape_and_fallback() {
        let r = resolver();
        assert_eq!(r.expand("$${HOME_DIR}").unwrap(), "${HOME_DIR}");
        assert_eq!(r.expand("${NOPE:-x}").unwrap(), "x");
        assert_eq!(r.expand("cost $5").unwrap(), "cost $5");
    }

    #[test]
    fn missing_variable_is_an_error() {
        let err = resolver().expand("${NOPE}").unwrap_err();
        assert!(err.contains("NOPE"), "{err}");
        assert!(resolver().expand("${secrets.nope}").is_err());
        assert!(resolver().expand("${unterminated").is_err());
        assert!(resolver().expand("${a b}").is_err());
    }
}
