//! Reads and checks guard packages before the registry accepts them.
//!
//! The registry calls this crate on every publish (and the mirror on every package it
//! follows). It never panics on input, never allocates without a bound and never writes to
//! disk: an archive is read in memory under [`Limits`], and every way it can be wrong has
//! its own error variant with a message a publisher can act on.
//!
//! * [`archive`]: gzip + tar in memory, with limits ([`read_archive`], [`ArchiveError`]).
//! * [`package`]: an npm tarball or a `.crate` → [`Package`]: metadata, the plugin manifest,
//!   each guard's component, the archive's digests ([`read_package`], [`PackageError`]).
//! * [`component`]: a guard component validated without compiling it: imports, exports,
//!   the engine's import allow-list ([`check_component`], [`ComponentError`]).
//! * [`name`]: package-name rules and the canonical form that catches confusable names
//!   ([`validate_name`], [`canonical_name`]).
//! * [`scan`](mod@scan): static checks producing a [`ScanReport`] and its summary.
//!
//! ```no_run
//! use clawdstrike_scanner::{read_package, scan, Limits};
//!
//! let bytes = std::fs::read("acme-secrets-guard-0.1.0.crate").unwrap();
//! let package = read_package(&bytes, &Limits::default())?;
//! let report = scan(&package);
//! println!(
//!     "{} {} ({}): {} component(s), scan passed: {}",
//!     package.name,
//!     package.version,
//!     package.archive.file_name,
//!     package.components.len(),
//!     report.passed
//! );
//! let summary = serde_json::to_value(report.summary()).unwrap();
//! assert!(summary["findings"]["critical"].is_number());
//! # Ok::<(), clawdstrike_scanner::PackageError>(())
//! ```

#![warn(missing_docs)]

pub mod archive;
pub mod component;
pub mod name;
pub mod package;
pub mod scan;

pub use archive::{read_archive, ArchiveError, Limits, Unpacked};
pub use component::{check_component, ComponentError, ComponentInfo};
pub use name::{canonical_name, validate_name, NameError};
pub use package::{
    archive_file_name, read_package, ArchiveInfo, ArchiveKind, Component, Package, PackageError,
    PackageMetadata,
};
pub use scan::{scan, Finding, Rule, ScanReport, RULES, SCANNER_VERSION};
