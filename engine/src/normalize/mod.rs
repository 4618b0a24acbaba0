//! Normalisation of what agents send before any guard compares it to a pattern.
//!
//! The old engine compared raw strings, so `/proc/self/root/etc/shadow`, `Shell_Exec` or a
//! full-width `ｓｈｅｌｌ_exec` slipped past its lists. Every guard here compares normalised
//! forms produced by this module, and deny lists match *any* plausible form.

pub(crate) mod glob;
pub mod host;
pub mod path;
pub mod text;
