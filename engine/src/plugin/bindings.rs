//! Host-side bindings of the `clawdstrike:guard@1.0.0` world (`sdk/wit/guard.wit`).
//!
//! Every import is generated as `trappable`: a host function returns a trap, not a
//! `host-error`, when the guard reaches for a capability its manifest does not declare,
//! which stops the guard (fail closed).

// Generated from the WIT world, whose own comments document it.
#![allow(missing_docs)]

wasmtime::component::bindgen!({
    path: "../sdk/wit",
    world: "clawdstrike:guard/guard@1.0.0",
    imports: { default: trappable },
});

pub use self::clawdstrike::guard::host::{HostError, LogLevel, Request, Response};
pub use self::clawdstrike::guard::types::{Severity, Status};
