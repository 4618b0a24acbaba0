//! Which imports a guard component may have.
//!
//! The world's own interfaces, and the WASI interfaces a Rust `wasm32-wasip2` standard
//! library imports for stdio, environment, clocks, randomness, exit and (unused, with
//! no preopened directories) the file system. The host links those to a deny-all
//! context. Anything else — sockets, HTTP, a newer world version, another package — is
//! refused at load with the list of offending imports.

/// Packages and interfaces a guard component may import, as `namespace:package/interface`
/// prefixes (the `@version` suffix is checked separately).
const ALLOWED: &[&str] = &[
    "clawdstrike:guard/host",
    "clawdstrike:guard/state",
    "clawdstrike:guard/types",
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:clocks/wall-clock",
    "wasi:clocks/monotonic-clock",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
    "wasi:filesystem/types",
    "wasi:filesystem/preopens",
];

/// Whether one import name (`wasi:cli/stdout@0.2.3`) is allowed.
pub fn is_allowed(import: &str) -> bool {
    let (name, version) = match import.split_once('@') {
        Some((n, v)) => (n, Some(v)),
        None => (import, None),
    };
    if !ALLOWED.contains(&name) {
        return false;
    }
    match version {
        // This host implements world 1.0.0 and WASI 0.2.x.
        Some(v) if name.starts_with("clawdstrike:") => v.starts_with("1.0."),
        Some(v) => v.starts_with("0.2."),
        None => false,
    }
}

/// The imports of a component that are not allowed.
pub fn disallowed<'a>(imports: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    imports
        .into_iter()
        .filter(|i| !is_allowed(i))
        .map(String::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn world_and_deny_all_wasi_are_allowed_everything_else_is_not() {
        assert!(is_allowed("clawdstrike:guard/host@1.0.0"));
        assert!(is_allowed("wasi:cli/stdout@0.2.6"));
        assert!(is_allowed("wasi:filesystem/preopens@0.2.0"));
        assert!(!is_allowed("clawdstrike:guard/host@2.0.0"));
        assert!(!is_allowed("clawdstrike:guard/host@1.1.0"));
        assert!(!is_allowed("wasi:sockets/tcp@0.2.0"));
        assert!(!is_allowed("wasi:http/outgoing-handler@0.2.0"));
        assert!(!is_allowed("wasi:cli/stdout@0.3.0"));
        assert!(!is_allowed("evil:pkg/iface@1.0.0"));
        assert!(!is_allowed("log"));
        assert_eq!(
            disallowed(["wasi:io/error@0.2.0", "wasi:sockets/udp@0.2.0"]),
            vec!["wasi:sockets/udp@0.2.0".to_string()]
        );
    }
}
