//! # clawdstrike-engine
//!
//! The reference evaluation engine for Clawdstrike guards. An AI-agent runtime asks "may
//! this action happen?" and gets a [`Decision`] it can enforce.
//!
//! ```
//! use clawdstrike_engine::{Engine, PolicyEvent, Status};
//!
//! let engine = Engine::from_ruleset("default").unwrap();
//! let decision = engine.check(&PolicyEvent::file_read("e1", "/home/me/.ssh/id_rsa"));
//! assert_eq!(decision.status, Status::Deny);
//! assert_eq!(decision.guard.as_deref(), Some("forbidden_path"));
//! ```
//!
//! Layout: [`policy`] (model, load, extends, merge, placeholders, validation), [`guards`]
//! (one file per built-in guard), [`compose`] (composition rules and CEL expressions),
//! [`engine`] (building and evaluating), [`audit`] (the JSON-lines audit log), [`signed`]
//! (signed release manifests of the guard registry), [`resolve`] (resolving, fetching and
//! caching registry packages).

#![warn(missing_docs)]

pub mod audit;
pub mod compose;
pub mod engine;
pub mod external;
pub mod guard_table;
pub mod guards;
pub mod normalize;
pub mod plugin;
pub mod policy;
pub mod resilience;
pub mod resolve;

// The shared formats, re-exported so an embedder needs one dependency.
pub use clawdstrike_formats::{decision, event, signed};

pub use decision::{
    Contribution, ContributionKind, Decision, Severity, Status, TraceEntry, Verdict,
};
pub use engine::{Engine, EngineBuilder, EngineError};
pub use event::{EventData, EventLimits, EventType, PolicyEvent};
pub use policy::{Policy, PolicyError};
