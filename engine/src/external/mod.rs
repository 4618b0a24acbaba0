//! Guards that consult external services (SPEC.md §4), and the machinery that runs them.
//!
//! * [`service`]: the [`ServiceGuard`] trait a reference integration implements — what
//!   to ask about an event, and how to read one answer.
//! * [`http`]: the one HTTP client those guards use: TLS only (loopback excepted), no
//!   redirects, capped answers, and an `external_call` audit record for every request,
//!   including the ones a deadline cancels.
//! * [`hosts`]: which hosts are internal, so they are never sent out.
//! * [`slot`]: one async guard as the engine runs it — the resilience layer
//!   ([`crate::resilience`]) around it, `on_timeout`, and background results.
//! * [`runtime`]: the engine's own tokio runtime, where every external call and every
//!   background check runs.
//! * [`integrations`]: `clawdstrike-virustotal`, `clawdstrike-safe-browsing`,
//!   `clawdstrike-snyk` and `clawdstrike-webhook`, first-party and built in.

pub mod hosts;
pub mod http;
pub mod integrations;
pub mod runtime;
pub mod service;
pub mod slot;

pub use http::{Call, ServiceClient, ServiceRequest, ServiceResponse};
pub use service::{ServiceGuard, Subject};
pub use slot::{AsyncSlot, SlotKind};
