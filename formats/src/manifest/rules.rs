//! Syntax rules for single manifest values: names, versions, hosts, globs, secret keys and
//! entrypoints. Each returns the normalised value or a message (the caller adds the field).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Longest package name (npm's limit).
pub(crate) const MAX_PACKAGE_NAME: usize = 214;

/// Guard names: `^[a-z][a-z0-9_-]{0,63}$`.
pub(crate) fn guard_name(s: &str) -> Result<(), String> {
    let mut chars = s.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok =
        chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if first_ok && rest_ok && s.len() <= 64 {
        Ok(())
    } else {
        Err(format!(
            "\"{}\" is not a guard name: use 1 to 64 characters, a lower-case letter first, then \
             lower-case letters, digits, `_` or `-` (e.g. \"acme_secrets\")",
            shorten(s)
        ))
    }
}

/// Package names: npm style (`name`, `@scope/name`: lower-case letters, digits, `-`, `.`,
/// `_`, `~`, not starting with `.` or `_`) or crate style (`Name_1-x`: a letter first, then
/// letters, digits, `_`, `-`, at most 64); at most 214 characters.
pub(crate) fn package_name(s: &str) -> Result<(), String> {
    let fail = || {
        Err(format!(
            "\"{}\" is not a package name: write an npm name (\"acme-guard\", \
             \"@acme/secrets-guard\") or a crate name (\"acme_guard\"), at most {MAX_PACKAGE_NAME} \
             characters",
            shorten(s)
        ))
    };
    if s.is_empty() || s.len() > MAX_PACKAGE_NAME {
        return fail();
    }
    let npm_part = |p: &str| {
        !p.is_empty()
            && !p.starts_with(['.', '_'])
            && p.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.' | '_' | '~')
            })
    };
    let npm = match s.strip_prefix('@') {
        Some(scoped) => scoped
            .split_once('/')
            .is_some_and(|(scope, name)| npm_part(scope) && npm_part(name)),
        None => npm_part(s),
    };
    let crate_style = s.len() <= 64
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if npm || crate_style {
        Ok(())
    } else {
        fail()
    }
}

/// The upper bound of `clawdstrike.maxVersion`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MaxVersion {
    /// `1.4.2`: up to and including this version.
    Exact(semver::Version),
    /// `1.x` (minor = None) or `1.4.x`: any version with this major (and minor).
    Wildcard { major: u64, minor: Option<u64> },
}

impl MaxVersion {
    /// Whether `v` is at or below this bound.
    pub fn admits(&self, v: &semver::Version) -> bool {
        match self {
            MaxVersion::Exact(max) => core_version(v) <= *max,
            MaxVersion::Wildcard { major, minor: None } => v.major <= *major,
            MaxVersion::Wildcard {
                major,
                minor: Some(minor),
            } => (v.major, v.minor) <= (*major, *minor),
        }
    }
}

/// An engine version without pre-release or build tags, so a `0.2.0-dev` build counts as
/// 0.2.0 for compatibility (the manifest author wrote against the release line).
pub(crate) fn core_version(v: &semver::Version) -> semver::Version {
    semver::Version::new(v.major, v.minor, v.patch)
}

/// `clawdstrike.minVersion`: a semver version.
pub(crate) fn min_version(s: &str) -> Result<semver::Version, String> {
    semver::Version::parse(s).map_err(|_| {
        format!(
            "\"{}\" is not a semver version; write the oldest engine version the package \
             works with, e.g. \"0.1.0\"",
            shorten(s)
        )
    })
}

/// `clawdstrike.maxVersion`: a semver version or `MAJOR.x` / `MAJOR.MINOR.x` (`*` for `x`).
pub(crate) fn max_version(s: &str) -> Result<MaxVersion, String> {
    if let Ok(v) = semver::Version::parse(s) {
        return Ok(MaxVersion::Exact(v));
    }
    let parts: Vec<&str> = s.split('.').collect();
    let num = |p: &str| {
        (!p.is_empty() && p.len() <= 10 && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<u64>().ok())
            .flatten()
    };
    let wild = |p: &str| matches!(p, "x" | "X" | "*");
    let parsed = match parts.as_slice() {
        [major, w] if wild(w) => {
            num(major).map(|major| MaxVersion::Wildcard { major, minor: None })
        }
        [major, minor, w] if wild(w) => {
            num(major)
                .zip(num(minor))
                .map(|(major, minor)| MaxVersion::Wildcard {
                    major,
                    minor: Some(minor),
                })
        }
        _ => None,
    };
    parsed.ok_or_else(|| {
        format!(
            "\"{}\" is not a version bound; write a semver version (\"1.4.0\") or a wildcard \
             (\"1.x\", \"1.4.x\")",
            shorten(s)
        )
    })
}

/// One `allowedHosts` entry, returned lower-cased. Accepted: host names, `*.domain`
/// wildcards, IPv4 and IPv6 literals (`::1`, `[::1]`), each optionally with `:port` (IPv6
/// only in brackets). No schemes, paths, user info or a bare `*`.
pub(crate) fn host_pattern(raw: &str) -> Result<String, String> {
    let s = raw.to_ascii_lowercase();
    let shown = shorten(raw);
    if s.is_empty() {
        return Err("empty host; write a host name such as \"api.example.com\"".into());
    }
    if let Some(i) = s.find("://") {
        return Err(format!(
            "\"{shown}\" is a URL; write only the host, e.g. \"{}\"",
            shorten(s[i + 3..].split(['/', '?', '#']).next().unwrap_or(""))
        ));
    }
    if s.contains(['/', '?', '#']) {
        return Err(format!(
            "\"{shown}\" has a path; allowedHosts takes host names only (no paths)"
        ));
    }
    if s.contains('@') {
        return Err(format!(
            "\"{shown}\" has user info (`@`); write only the host"
        ));
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("\"{shown}\" contains spaces or control characters"));
    }
    if s == "*" {
        return Err(
            "`*` is not a host; to allow any host write `\"network\": true` (refused for \
             community guards), otherwise list the hosts"
                .into(),
        );
    }
    // `[v6]` or `[v6]:port`
    if let Some(rest) = s.strip_prefix('[') {
        let (inner, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("\"{shown}\" has an unclosed `[`"))?;
        inner
            .parse::<Ipv6Addr>()
            .map_err(|_| format!("\"{shown}\": `{inner}` is not an IPv6 address"))?;
        if !after.is_empty() {
            let port = after
                .strip_prefix(':')
                .ok_or_else(|| format!("\"{shown}\": expected `:port` after `]`"))?;
            check_port(port, &shown)?;
        }
        return Ok(s);
    }
    if s.matches(':').count() > 1 {
        // A bare IPv6 address (a port needs brackets).
        s.parse::<Ipv6Addr>().map_err(|_| {
            format!("\"{shown}\" is not an IPv6 address; write `[addr]:port` to add a port")
        })?;
        return Ok(s);
    }
    let host = match s.split_once(':') {
        Some((h, port)) => {
            check_port(port, &shown)?;
            h
        }
        None => s.as_str(),
    };
    if let Some(domain) = host.strip_prefix("*.") {
        if domain.parse::<IpAddr>().is_ok() || looks_numeric(domain) {
            return Err(format!(
                "\"{shown}\": a wildcard needs a domain name, not an address"
            ));
        }
        hostname(domain, &shown)?;
        return Ok(s);
    }
    if host.contains('*') {
        return Err(format!(
            "\"{shown}\": only a leading `*.` wildcard is supported (e.g. \"*.example.com\")"
        ));
    }
    if host.parse::<Ipv4Addr>().is_ok() {
        return Ok(s);
    }
    if looks_numeric(host) {
        return Err(format!("\"{shown}\" is not a valid IPv4 address"));
    }
    hostname(host, &shown)?;
    Ok(s)
}

/// The last label is all digits: meant as an IPv4 address, not a name.
fn looks_numeric(host: &str) -> bool {
    host.trim_end_matches('.')
        .rsplit('.')
        .next()
        .is_some_and(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()))
}

fn check_port(port: &str, shown: &str) -> Result<(), String> {
    match port.parse::<u16>() {
        Ok(p) if p > 0 && port.bytes().all(|b| b.is_ascii_digit()) => Ok(()),
        _ => Err(format!("\"{shown}\": `{port}` is not a port (1-65535)")),
    }
}

fn hostname(h: &str, shown: &str) -> Result<(), String> {
    let h = h.strip_suffix('.').unwrap_or(h);
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if h.is_empty() || h.len() > 253 || !h.split('.').all(label_ok) {
        return Err(format!(
            "\"{shown}\" is not a host name (letters, digits and `-` in dot-separated labels; \
             no scheme, path or `_`)"
        ));
    }
    Ok(())
}

/// Number of dot-separated labels after `*.` in a wildcard host, or None if not a wildcard.
pub(crate) fn wildcard_labels(host: &str) -> Option<usize> {
    let h = host.split(':').next().unwrap_or(host);
    h.strip_prefix("*.")
        .map(|d| d.trim_end_matches('.').split('.').count())
}

/// One `filesystem.read`/`write` pattern: must compile the way the host compiles it
/// (globset, `*` within one path component).
pub(crate) fn glob(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("empty pattern; write a path or glob such as \"/etc/acme/*.conf\"".into());
    }
    if s.contains('\0') {
        return Err("the pattern contains a NUL byte".into());
    }
    globset::GlobBuilder::new(s)
        .literal_separator(true)
        .build()
        .map(|_| ())
        .map_err(|e| format!("\"{}\" is not a valid glob: {e}", shorten(s)))
}

/// One `secrets.allowedKeys` entry: a literal name (letters, digits, `_`, `-`, `.`, `/`).
pub(crate) fn secret_key(s: &str) -> Result<(), String> {
    if s.contains(['*', '?', '[', '{']) {
        return Err(format!(
            "\"{}\": secret keys are named one by one; wildcards are not allowed",
            shorten(s)
        ));
    }
    let ok = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "\"{}\" is not a secret key: use letters, digits, `_`, `-`, `.` or `/` \
             (e.g. \"ACME_API_KEY\")",
            shorten(s)
        ))
    }
}

/// An HTTP method, returned upper-cased.
pub(crate) fn http_method(s: &str) -> Result<String, String> {
    let upper = s.to_ascii_uppercase();
    if super::model::HTTP_METHODS.contains(&upper.as_str()) {
        Ok(upper)
    } else {
        Err(format!(
            "unknown HTTP method \"{}\"; expected one of {}",
            shorten(s),
            super::model::HTTP_METHODS.join(", ")
        ))
    }
}

/// A guard's entrypoint as written: a relative path inside the package, no `..`.
pub(crate) fn entrypoint(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err(
            "empty entrypoint; write the component's path, e.g. \"dist/guard.wasm\"".into(),
        );
    }
    if s.contains('\0') {
        return Err("the entrypoint contains a NUL byte".into());
    }
    if s.contains('\\') {
        return Err(format!(
            "\"{}\" uses `\\`; write the path with `/` separators, e.g. \"dist/guard.wasm\"",
            shorten(s)
        ));
    }
    let b = s.as_bytes();
    if s.starts_with('/') || (b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':') {
        return Err(format!(
            "\"{}\" is an absolute path; write a path relative to the package directory, e.g. \
             \"dist/guard.wasm\"",
            shorten(s)
        ));
    }
    if s.split('/').any(|c| c == "..") {
        return Err(format!(
            "\"{}\" leaves the package directory (`..`); the component must be inside the \
             package, e.g. \"dist/guard.wasm\"",
            shorten(s)
        ));
    }
    Ok(())
}

/// Cut a value for quoting in a message, so a hostile 1 MB string does not become a 1 MB
/// error.
pub fn shorten(s: &str) -> String {
    const MAX: usize = 80;
    let escaped: String = s.chars().flat_map(char::escape_debug).collect();
    if escaped.chars().count() <= MAX {
        escaped
    } else {
        let cut: String = escaped.chars().take(MAX).collect();
        format!("{cut}...")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_names_follow_the_pattern() {
        for ok in ["a", "acme_secrets", "x-1", &format!("a{}", "b".repeat(63))] {
            assert!(guard_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "A",
            "1a",
            "_a",
            "a b",
            "a.b",
            "é",
            &format!("a{}", "b".repeat(64)),
        ] {
            assert!(guard_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn package_names_accept_npm_and_crate_styles() {
        for ok in [
            "acme-guard",
            "@acme/secrets-guard",
            "a.b~c",
            "Acme_Guard",
            "acme_guard",
            &"a".repeat(214),
        ] {
            assert!(package_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "@acme",
            "@/x",
            "@acme/",
            ".hidden",
            "a b",
            "../x",
            "@acme/Upper",
            &"a".repeat(215),
        ] {
            assert!(package_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn max_version_takes_versions_and_wildcards() {
        let v = |s| semver::Version::parse(s).unwrap();
        let one_x = max_version("1.x").unwrap();
        assert!(one_x.admits(&v("1.99.0")));
        assert!(one_x.admits(&v("0.1.0")));
        assert!(!one_x.admits(&v("2.0.0")));
        let one_two = max_version("1.2.*").unwrap();
        assert!(one_two.admits(&v("1.2.9")));
        assert!(!one_two.admits(&v("1.3.0")));
        let exact = max_version("0.5.0").unwrap();
        assert!(exact.admits(&v("0.5.0")));
        assert!(
            exact.admits(&v("0.5.0-dev")),
            "pre-release tags are ignored"
        );
        assert!(!exact.admits(&v("0.5.1")));
        for bad in ["", "x", "1", "1.2", "v1.x", "1.x.x", ">=1.0", "1.x.0"] {
            assert!(max_version(bad).is_err(), "{bad}");
        }
        assert!(min_version("0.1.0").is_ok());
        assert!(min_version("1.x").is_err());
    }

    #[test]
    fn hosts_accept_names_wildcards_and_literals() {
        for (raw, norm) in [
            ("api.example.com", "api.example.com"),
            ("API.Example.com", "api.example.com"),
            ("*.example.org", "*.example.org"),
            ("127.0.0.1", "127.0.0.1"),
            ("localhost:8080", "localhost:8080"),
            ("::1", "::1"),
            ("[::1]", "[::1]"),
            ("[2001:db8::1]:443", "[2001:db8::1]:443"),
            ("*.example.org:443", "*.example.org:443"),
        ] {
            assert_eq!(host_pattern(raw).as_deref(), Ok(norm), "{raw}");
        }
    }

    #[test]
    fn hosts_refuse_urls_paths_and_bare_star() {
        for (bad, needle) in [
            (
                "https://api.example.com/v1",
                "is a URL; write only the host, e.g. \"api.example.com\"",
            ),
            ("api.example.com/v1", "no paths"),
            ("user@example.com", "user info"),
            ("*", "`\"network\": true`"),
            ("a.*.com", "only a leading `*.`"),
            ("*.1.2.3.4", "not an address"),
            ("1.2.3.999", "not a valid IPv4"),
            ("host:0", "not a port"),
            ("host:70000", "not a port"),
            ("host:+80", "not a port"),
            ("[::1", "unclosed"),
            ("[nope]", "not an IPv6"),
            ("::1:80:zz", "not an IPv6"),
            ("my_host", "not a host name"),
            ("-a.com", "not a host name"),
            ("a b", "spaces"),
            ("", "empty host"),
        ] {
            let err = host_pattern(bad).unwrap_err();
            assert!(err.contains(needle), "{bad}: {err}");
        }
    }

    #[test]
    fn wildcard_labels_count_the_domain() {
        assert_eq!(wildcard_labels("*.example.com"), Some(2));
        assert_eq!(wildcard_labels("*.com:443"), Some(1));
        assert_eq!(wildcard_labels("example.com"), None);
    }

    #[test]
    fn globs_must_compile() {
        assert!(glob("/etc/acme/*.conf").is_ok());
        assert!(
            glob("**/*").is_ok(),
            "syntax is fine; the tier check refuses it"
        );
        assert!(glob("/etc/[").is_err());
        assert!(glob("").is_err());
        assert!(glob("/etc/\0x").is_err());
    }

    #[test]
    fn secret_keys_are_literal_names() {
        assert!(secret_key("ACME_API_KEY").is_ok());
        assert!(secret_key("team/acme.key-1").is_ok());
        assert!(secret_key("ACME_*").unwrap_err().contains("wildcards"));
        assert!(secret_key("a b").is_err());
        assert!(secret_key("").is_err());
    }

    #[test]
    fn methods_are_upper_cased_and_limited() {
        assert_eq!(http_method("post").as_deref(), Ok("POST"));
        assert!(http_method("CONNECT").unwrap_err().contains("GET, HEAD"));
    }

    #[test]
    fn entrypoints_stay_inside_the_package() {
        assert!(entrypoint("dist/guard.wasm").is_ok());
        assert!(entrypoint("./dist/guard.wasm").is_ok());
        assert!(
            entrypoint("dist/..guard.wasm").is_ok(),
            "`..` only as a whole component"
        );
        for (bad, needle) in [
            ("../guard.wasm", "leaves the package"),
            ("dist/../../x.wasm", "leaves the package"),
            ("/usr/lib/x.wasm", "absolute"),
            ("C:/x.wasm", "absolute"),
            ("dist\\guard.wasm", "`/` separators"),
            ("", "empty"),
            ("a\0b", "NUL"),
        ] {
            let err = entrypoint(bad).unwrap_err();
            assert!(err.contains(needle), "{bad}: {err}");
        }
    }

    #[test]
    fn long_values_are_shortened_in_messages() {
        let s = shorten(&"x".repeat(10_000));
        assert!(s.len() < 100);
        assert!(s.ends_with("..."));
        assert_eq!(shorten("a\nb"), "a\\nb");
    }
}
