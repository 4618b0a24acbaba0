//! # clawdstrike-formats
//!
//! The formats every part of Clawdstrike shares, and nothing else: no WebAssembly
//! runtime, no HTTP client, no server. The engine, the scanner, the registry and the
//! `clawdstrike` CLI all read and write these types, so the parts cannot disagree about
//! a field.
//!
//! * [`event`]: the canonical `PolicyEvent` an agent runtime submits;
//! * [`decision`]: verdicts, severities and the decision JSON the engine answers with;
//! * [`manifest`]: the guard package manifest (`clawdstrike.plugin.json` / `.toml`),
//!   trust tiers and their limits;
//! * [`imports`]: which imports a guard component may have (the guard world plus the
//!   deny-all WASI set);
//! * [`signed`]: signed release manifests (DSSE envelope over an in-toto Statement),
//!   signing and offline verification;
//! * [`pack`]: the package archive a publish uploads;
//! * [`api`]: the registry API's wire types.
//!
//! ```
//! use clawdstrike_formats::event::{EventType, PolicyEvent};
//! use clawdstrike_formats::decision::Status;
//!
//! let event = PolicyEvent::file_read("e1", "/etc/passwd");
//! assert_eq!(event.event_type, EventType::FileRead);
//! assert_eq!(Status::Deny.as_str(), "deny");
//! ```

#![warn(missing_docs)]

pub mod api;
pub mod decision;
pub mod event;
pub mod imports;
pub mod manifest;
pub mod pack;
pub mod signed;
