//! Capability enforcement for the host calls a guard can make.
//!
//! Each module turns one manifest capability into a checker that is consulted at the
//! moment of the call, on the actual resource: the real path after symlinks, the address
//! DNS returned, every redirect hop. A call to a capability the manifest does not declare
//! at all stops the guard (the check fails closed); a call within a declared capability
//! that asks for something outside it is refused with `denied` and the guard may carry on.
//! Both are audit-logged as `capability_denied`.

pub mod filesystem;
pub mod network;
pub mod resilient_network;
pub mod secrets;

use std::fmt;

/// A capability a guard can declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    /// `http-request`.
    Network,
    /// `read-file`.
    FilesystemRead,
    /// `get-secret`.
    Secrets,
}

impl Capability {
    /// The manifest field that declares it.
    pub fn manifest_field(self) -> &'static str {
        match self {
            Capability::Network => "capabilities.network",
            Capability::FilesystemRead => "capabilities.filesystem.read",
            Capability::Secrets => "capabilities.secrets",
        }
    }

    /// The name used in audit records.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Network => "network",
            Capability::FilesystemRead => "filesystem.read",
            Capability::Secrets => "secrets",
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a host call did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostCallError {
    /// The manifest does not declare the capability at all: the guard is stopped.
    #[error("the guard called {call} but its manifest does not declare {}", capability.manifest_field())]
    Undeclared {
        /// The capability reached for.
        capability: Capability,
        /// The host function called.
        call: &'static str,
    },
    /// Declared capability, but this resource is outside it.
    #[error("{0}")]
    Denied(String),
    /// The resource does not exist.
    #[error("not found")]
    NotFound,
    /// The call ran out of its deadline.
    #[error("timed out")]
    Timeout,
    /// A size limit was exceeded.
    #[error("{0}")]
    TooLarge(String),
    /// Anything else.
    #[error("{0}")]
    Failed(String),
}

impl HostCallError {
    /// Whether this is a refusal by the sandbox (audited as `capability_denied`).
    pub fn is_denial(&self) -> bool {
        matches!(
            self,
            HostCallError::Undeclared { .. } | HostCallError::Denied(_)
        )
    }
}
