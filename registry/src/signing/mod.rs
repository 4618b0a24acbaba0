//! The registry's signing keys and the signed manifest it writes for every version
//! (DESIGN.md §3.7). The envelope format itself lives in the engine
//! (`clawdstrike_formats::signed`), which verifies what this module signs.

pub mod keyring;
pub mod release;
pub mod renew;

pub use keyring::{KeyRing, KeyRingError};
