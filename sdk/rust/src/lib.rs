//! # clawdstrike-guard-sdk
//!
//! Write a Clawdstrike guard in Rust and build it as a WebAssembly component
//! (`wasm32-wasip2`) that implements the `clawdstrike:guard@1.0.0` world
//! (`sdk/wit/guard.wit`). The SDK hides the generated bindings behind idiomatic types:
//! an [`Event`] in, a [`Verdict`] out, a [`Guard`] trait to implement and the
//! [`export_guard!`] macro that wires it to the component's exports.
//!
//! ```
//! use clawdstrike_guard_sdk::{export_guard, Event, EventData, EventType, Guard, Severity, Verdict};
//! use serde::Deserialize;
//!
//! #[derive(Default, Deserialize)]
//! #[serde(deny_unknown_fields, default)]
//! pub struct Config {
//!     words: Vec<String>,
//! }
//!
//! pub struct NoWords(Config);
//!
//! impl Guard for NoWords {
//!     const NAME: &'static str = "no_words";
//!     const VERSION: &'static str = env!("CARGO_PKG_VERSION");
//!     const HANDLES: &'static [EventType] = &[EventType::FileWrite];
//!     type Config = Config;
//!
//!     fn new(config: Config) -> Result<Self, String> {
//!         Ok(NoWords(config))
//!     }
//!
//!     fn check(&self, event: &Event) -> Result<Verdict, String> {
//!         let EventData::File(file) = &event.data else {
//!             return Ok(Verdict::allow("not a file event"));
//!         };
//!         let content = file.content.as_deref().unwrap_or("");
//!         Ok(match self.0.words.iter().find(|w| content.contains(w.as_str())) {
//!             Some(w) => Verdict::deny(Severity::High, format!("{} contains \"{w}\"", file.path)),
//!             None => Verdict::allow("no banned words"),
//!         })
//!     }
//! }
//!
//! export_guard!(NoWords);
//! ```
//!
//! Test it natively with [`testing::GuardTest`] (the host imports go to an in-process
//! test host that denies every capability unless the test grants it), and against the
//! built component inside the engine's sandbox with the `sandbox` feature.
//!
//! Layout: [`event`] (what the guard receives), [`verdict`] (what it answers), [`host`]
//! and [`state`] (the capability-gated imports), [`testing`] (the harness, native
//! targets only).

#![warn(missing_docs)]

// Lets the `export_guard!` expansion and the generated bindings name this crate as
// `::clawdstrike_guard_sdk` from inside it too.
extern crate self as clawdstrike_guard_sdk;

pub mod event;
pub mod host;
pub mod state;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;
pub mod verdict;

#[doc(hidden)]
pub mod __private;

pub use event::{
    CommandData, CustomData, Event, EventData, EventType, FileData, NetworkData, PatchData,
    SecretData, ToolData,
};
pub use host::{HostError, Level};
pub use verdict::{Severity, Status, Verdict};

/// The config of a guard that takes none: accepts `{}` (or no config) and refuses any
/// key, so a policy that configures the guard by mistake fails to load.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoConfig {}

/// A guard: what a guard author implements.
///
/// The engine creates a fresh component instance for every event it checks, calls
/// `init` with the policy's `config` (which builds the guard with [`Guard::new`]) and
/// then `check`. `new` therefore runs before every check: keep it cheap (compile
/// regular expressions with small size limits, do no I/O). State that must survive from
/// one check to the next goes to the host's [`state`] store.
pub trait Guard: Sized + 'static {
    /// The guard name used in policies and decisions: lower-case letters, digits, `_`
    /// and `-`, at most 64 characters (e.g. `"acme_secrets"`).
    const NAME: &'static str;

    /// The guard's own version (semver). Usually `env!("CARGO_PKG_VERSION")`; a trait
    /// cannot default to the implementing crate's version, so it is required.
    const VERSION: &'static str;

    /// The event types the guard examines; the engine only calls `check` for these.
    const HANDLES: &'static [EventType];

    /// The configuration, deserialised from the policy's `config` object. An absent or
    /// `null` config yields `Config::default()`. Mark it `#[serde(deny_unknown_fields)]`
    /// to turn a misspelt key into an init error.
    type Config: serde::de::DeserializeOwned + Default;

    /// Turn the config JSON into [`Guard::Config`]. The default deserialises it with
    /// serde and reports `invalid config: <serde message>`; override it when the
    /// guard's error messages are part of its contract.
    fn parse_config(config: serde_json::Value) -> Result<Self::Config, String> {
        serde_json::from_value(config).map_err(|e| format!("invalid config: {e}"))
    }

    /// Build the guard from its configuration. An `Err` fails the policy load (and
    /// every check) with its message.
    fn new(config: Self::Config) -> Result<Self, String>;

    /// Examine one event. An `Err` becomes a deny carrying the message (fail closed).
    fn check(&self, event: &Event) -> Result<Verdict, String>;
}

/// Export a [`Guard`] as the component's `describe`, `init` and `check`.
///
/// Use it once per crate, at the top level: `export_guard!(MyGuard);`. On
/// `wasm32` it implements the generated world; on native targets it only checks that
/// the type implements [`Guard`] (native tests call the guard through
/// [`testing::GuardTest`]).
///
/// `init` parses the config JSON (an empty string or `null` is the default config),
/// builds the guard and keeps it for the following `check` on the same instance;
/// `check` parses the event JSON into an [`Event`] and returns
/// `Err("invalid event: ...")` when it is malformed.
#[macro_export]
macro_rules! export_guard {
    ($guard:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct __ClawdstrikeGuardExports;

            impl $crate::__private::bindings::Guest for __ClawdstrikeGuardExports {
                fn describe() -> $crate::__private::bindings::GuardInfo {
                    $crate::__private::wit_describe::<$guard>()
                }

                fn init(
                    config: ::std::string::String,
                ) -> ::core::result::Result<(), ::std::string::String> {
                    $crate::__private::init::<$guard>(&config)
                }

                fn check(
                    event: ::std::string::String,
                ) -> ::core::result::Result<
                    $crate::__private::bindings::Verdict,
                    ::std::string::String,
                > {
                    $crate::__private::wit_check::<$guard>(&event)
                }
            }

            $crate::__private::bindings::__export_guard_world!(
                __ClawdstrikeGuardExports with_types_in $crate::__private::bindings
            );
        };

        // Natively there is nothing to export, but a typo in the guard type should still
        // fail to compile.
        #[cfg(not(target_arch = "wasm32"))]
        const _: fn() = $crate::__private::assert_guard::<$guard>;
    };
}
