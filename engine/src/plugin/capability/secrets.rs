//! `get-secret`: named keys only, resolved like `${secrets.NAME}` placeholders.

use std::collections::HashSet;

use super::{Capability, HostCallError};
use crate::plugin::manifest::SecretsCapability;
use crate::policy::placeholders::Resolver;

/// The secrets a guard may read.
#[derive(Debug, Clone)]
pub struct SecretAccess {
    allowed: Allowed,
    resolver: Resolver,
}

#[derive(Debug, Clone)]
enum Allowed {
    Undeclared,
    Any,
    Keys(HashSet<String>),
}

impl SecretAccess {
    /// From the manifest's declaration and the engine's secret source.
    pub fn new(declared: &SecretsCapability, resolver: Resolver) -> Self {
        let allowed = match declared {
            SecretsCapability::Denied => Allowed::Undeclared,
            SecretsCapability::Any => Allowed::Any,
            SecretsCapability::Keys(keys) => Allowed::Keys(keys.iter().cloned().collect()),
        };
        SecretAccess { allowed, resolver }
    }

    /// Read secret `name` if the manifest names it.
    pub fn get(&self, name: &str) -> Result<String, HostCallError> {
        match &self.allowed {
            Allowed::Undeclared => {
                return Err(HostCallError::Undeclared {
                    capability: Capability::Secrets,
                    call: "get-secret",
                })
            }
            Allowed::Keys(keys) if !keys.contains(name) => {
                return Err(HostCallError::Denied(format!(
                    "secret `{name}` is not in capabilities.secrets.allowedKeys"
                )))
            }
            _ => {}
        }
        self.resolver
            .secret(name)
            .map_err(|_| HostCallError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn resolver() -> Resolver {
        Resolver::fixed(
            HashMap::from([("CLAWDSTRIKE_SECRET_FROM_ENV".into(), "e".into())]),
            HashMap::from([("API_KEY".to_string(), "s3cret".to_string())]),
        )
    }

    #[test]
    fn only_named_keys_are_readable() {
        let access =
            SecretAccess::new(&SecretsCapability::Keys(vec!["API_KEY".into()]), resolver());
        assert_eq!(access.get("API_KEY").unwrap(), "s3cret");
        assert!(
            matches!(access.get("OTHER"), Err(HostCallError::Denied(m)) if m.contains("OTHER"))
        );
    }

    #[test]
    fn undeclared_stops_and_missing_is_not_found() {
        let none = SecretAccess::new(&SecretsCapability::Denied, resolver());
        assert!(matches!(
            none.get("API_KEY"),
            Err(HostCallError::Undeclared { .. })
        ));
        let any = SecretAccess::new(&SecretsCapability::Any, resolver());
        assert_eq!(any.get("FROM_ENV").unwrap(), "e");
        assert_eq!(any.get("MISSING"), Err(HostCallError::NotFound));
    }
}
