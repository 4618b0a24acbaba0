//! Package names: which are accepted, and the canonical form used to refuse confusable
//! ones.
//!
//! * npm style (for npm tarballs): `name` or `@scope/name`; lower-case ASCII letters,
//!   digits and `-` `.` `_` `~`; no part starts with `.` or `_`; each part at most 64 bytes
//!   and the whole name at most 128 bytes (the registry's own caps, tighter than npm's
//!   214); not a reserved name (`node_modules`, `favicon.ico`).
//! * crate style (for crates): `[A-Za-z][A-Za-z0-9_-]*`, at most 64 characters; not a
//!   Windows device name (`con`, `nul`, `com1`, ...) nor a name reserved by Rust
//!   (`std`, `core`, `alloc`, `proc_macro`, `test`).
//!
//! Names that are not ASCII are refused outright, so no homoglyph from another script can
//! get in. [`canonical_name`] folds the remaining look-alikes; the registry refuses a new
//! name whose canonical form equals an existing package's.

use unicode_normalization::UnicodeNormalization;

use crate::package::ArchiveKind;

/// Longest npm-style name, in bytes (the registry's cap; npm itself allows 214).
pub const MAX_NPM_NAME: usize = 128;
/// Longest scope or name part of an npm-style name, in bytes.
pub const MAX_NPM_PART: usize = 64;
/// Longest crate name.
pub const MAX_CRATE_NAME: usize = 64;

/// npm names that cannot be packages.
const NPM_RESERVED: &[&str] = &["node_modules", "favicon.ico"];
/// Windows device names (a file or directory with one of these names cannot be created
/// there) and names reserved by Rust.
const CRATE_RESERVED: &[&str] = &[
    "con",
    "prn",
    "aux",
    "nul",
    "com1",
    "com2",
    "com3",
    "com4",
    "com5",
    "com6",
    "com7",
    "com8",
    "com9",
    "lpt1",
    "lpt2",
    "lpt3",
    "lpt4",
    "lpt5",
    "lpt6",
    "lpt7",
    "lpt8",
    "lpt9",
    "std",
    "core",
    "alloc",
    "proc_macro",
    "proc-macro",
    "test",
];

/// Why a name is refused. Messages quote the name (it is short: length is checked first
/// and a long one is cut).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The empty string.
    #[error("the package name is empty")]
    Empty,
    /// A character outside ASCII.
    #[error(
        "\"{name}\" contains a character that is not ASCII; package names are ASCII only, so \
         no letter from another script can imitate an existing name"
    )]
    NonAscii {
        /// The name, escaped and shortened.
        name: String,
    },
    /// Longer than the limit.
    #[error("\"{name}\" is {len} bytes long; this registry's limit for {what} is {limit} bytes")]
    TooLong {
        /// The name, shortened.
        name: String,
        /// Its length.
        len: usize,
        /// `an npm package name`, `an npm scope or name part`, `a crate name`.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// An upper-case letter in an npm-style name.
    #[error("\"{name}\" has upper-case letters; npm package names are lower case")]
    Uppercase {
        /// The name.
        name: String,
    },
    /// A character not allowed in this style of name.
    #[error("\"{name}\" contains {ch:?}, which {what} may not contain; use {allowed}")]
    InvalidCharacter {
        /// The name.
        name: String,
        /// The character.
        ch: char,
        /// `an npm package name`, `a crate name`.
        what: &'static str,
        /// What is allowed.
        allowed: &'static str,
    },
    /// An npm name or scope starting with `.` or `_`.
    #[error("\"{name}\": a name or scope may not start with `.` or `_`")]
    LeadingDotOrUnderscore {
        /// The name.
        name: String,
    },
    /// A crate name not starting with a letter.
    #[error("\"{name}\": a crate name must start with an ASCII letter")]
    InvalidStart {
        /// The name.
        name: String,
    },
    /// A malformed scoped name (`@scope`, `@/x`, `@a/b/c`) or an unscoped name with `/`.
    #[error("\"{name}\" is not a valid scoped name; write `@scope/name` or `name`")]
    BadScope {
        /// The name.
        name: String,
    },
    /// A reserved name.
    #[error("\"{name}\" is a reserved name")]
    Reserved {
        /// The name.
        name: String,
    },
}

/// Check a package name for a package of `kind`: npm style for [`ArchiveKind::Npm`], crate
/// style for [`ArchiveKind::Crate`]. See the module docs for the rules.
pub fn validate_name(name: &str, kind: ArchiveKind) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if !name.is_ascii() {
        return Err(NameError::NonAscii {
            name: crate::archive::shorten(name),
        });
    }
    match kind {
        ArchiveKind::Npm => validate_npm(name),
        ArchiveKind::Crate => validate_crate(name),
    }
}

fn validate_npm(name: &str) -> Result<(), NameError> {
    let quoted = || crate::archive::shorten(name);
    if name.len() > MAX_NPM_NAME {
        return Err(NameError::TooLong {
            name: quoted(),
            len: name.len(),
            what: "an npm package name",
            limit: MAX_NPM_NAME,
        });
    }
    let parts: Vec<&str> = match name.strip_prefix('@') {
        Some(scoped) => match scoped.split_once('/') {
            Some((scope, bare)) if !scope.is_empty() && !bare.is_empty() && !bare.contains('/') => {
                vec![scope, bare]
            }
            _ => return Err(NameError::BadScope { name: quoted() }),
        },
        None if name.contains('/') => return Err(NameError::BadScope { name: quoted() }),
        None => vec![name],
    };
    for part in &parts {
        if part.len() > MAX_NPM_PART {
            return Err(NameError::TooLong {
                name: quoted(),
                len: part.len(),
                what: "an npm scope or name part",
                limit: MAX_NPM_PART,
            });
        }
        if part.starts_with(['.', '_']) {
            return Err(NameError::LeadingDotOrUnderscore { name: quoted() });
        }
        if part.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(NameError::Uppercase { name: quoted() });
        }
        if let Some(ch) = part
            .chars()
            .find(|&c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || "-._~".contains(c)))
        {
            return Err(NameError::InvalidCharacter {
                name: quoted(),
                ch,
                what: "an npm package name",
                allowed: "lower-case letters, digits, `-`, `.`, `_` and `~`",
            });
        }
    }
    let bare = parts[parts.len() - 1];
    if parts.len() == 1 && NPM_RESERVED.contains(&bare) {
        return Err(NameError::Reserved { name: quoted() });
    }
    Ok(())
}

fn validate_crate(name: &str) -> Result<(), NameError> {
    let quoted = || crate::archive::shorten(name);
    if name.len() > MAX_CRATE_NAME {
        return Err(NameError::TooLong {
            name: quoted(),
            len: name.len(),
            what: "a crate name",
            limit: MAX_CRATE_NAME,
        });
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(NameError::InvalidStart { name: quoted() });
    }
    if let Some(ch) = name
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
    {
        return Err(NameError::InvalidCharacter {
            name: quoted(),
            ch,
            what: "a crate name",
            allowed: "ASCII letters, digits, `_` and `-`",
        });
    }
    if CRATE_RESERVED.contains(&name.to_ascii_lowercase().as_str()) {
        return Err(NameError::Reserved { name: quoted() });
    }
    Ok(())
}

/// Look-alikes folded by [`canonical_name`], applied after lower-casing, in this order:
/// multi-character sequences first.
///
/// | written | read as | why |
/// |---|---|---|
/// | `rn` | `m` | `rn` and `m` are hard to tell apart in many fonts |
/// | `vv` | `w` | likewise |
/// | `0` | `o` | digit zero / letter o |
/// | `1` | `l` | digit one / letter l |
/// | `_` `.` `-` | `-` | separators (runs collapse to one, none at either end) |
///
/// Deliberately small: every entry also refuses some legitimate names (`corn` vs `com`).
/// Lower-casing already folds `I`/`i`; `i`/`l` is left apart.
pub const CONFUSABLES: &[(&str, &str)] = &[("rn", "m"), ("vv", "w"), ("0", "o"), ("1", "l")];

/// The form of `name` used to refuse confusable names: NFKC, lower case, separators
/// (`_`, `.`, `-`) folded to `-` with runs collapsed and leading/trailing ones dropped,
/// then the [`CONFUSABLES`] table. A scope stays a scope (`@acme/x` canonicalises to
/// `@acme/x`, and does not collide with `acme-x`): owning a scope is a separate claim.
///
/// ```
/// use clawdstrike_scanner::canonical_name;
/// assert_eq!(canonical_name("acme_secrets"), canonical_name("acme-secrets"));
/// assert_eq!(canonical_name("acme.secrets"), canonical_name("Acme-Secrets"));
/// assert_eq!(canonical_name("acme-secrets"), canonical_name("acrne-secrets"));
/// assert_ne!(canonical_name("@acme/secrets"), canonical_name("acme-secrets"));
/// ```
pub fn canonical_name(name: &str) -> String {
    let normal: String = name.nfkc().collect::<String>().to_lowercase();
    match normal.strip_prefix('@').and_then(|s| s.split_once('/')) {
        Some((scope, bare)) => format!("@{}/{}", fold(scope), fold(bare)),
        None => fold(&normal),
    }
}

/// Separators to `-` (collapsed, trimmed), then the confusables table.
fn fold(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    for c in part.chars() {
        if matches!(c, '_' | '.' | '-') {
            if !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c);
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    for (from, to) in CONFUSABLES {
        out = out.replace(from, to);
    }
    out
}
