//! Internal hosts: names and addresses that must not leave the organisation in a query
//! to an outside service (SPEC.md §4, data minimisation).

use std::net::IpAddr;

/// Suffixes of names that only mean something inside a network.
const INTERNAL_SUFFIXES: [&str; 9] = [
    ".localhost",
    ".local",
    ".internal",
    ".intranet",
    ".lan",
    ".corp",
    ".home",
    ".home.arpa",
    ".localdomain",
];

/// Whether `host` (a name or an IP literal, brackets allowed) is internal: a
/// non-public address, `localhost`, a single-label name, or a name under a suffix
/// reserved for private networks.
pub fn is_internal(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if let Ok(ip) = host.parse::<IpAddr>() {
        return !crate::plugin::capability::network::is_public(ip);
    }
    host.is_empty()
        || host == "localhost"
        || !host.contains('.')
        || INTERNAL_SUFFIXES.iter().any(|s| host.ends_with(s))
}

/// `host` itself, or `[internal]` when it is internal.
pub fn redact(host: &str) -> String {
    if is_internal(host) {
        "[internal]".to_string()
    } else {
        host.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_names_and_addresses() {
        for h in [
            "localhost",
            "db",
            "build.corp",
            "api.internal",
            "printer.local",
            "10.0.0.8",
            "192.168.1.1",
            "127.0.0.1",
            "[::1]",
            "fd00::1",
            "169.254.169.254",
            "Intranet.Home.Arpa.",
        ] {
            assert!(is_internal(h), "{h}");
        }
        for h in [
            "example.com",
            "8.8.8.8",
            "[2606:4700::1111]",
            "pkg.example.org",
        ] {
            assert!(!is_internal(h), "{h}");
        }
        assert_eq!(redact("db.internal"), "[internal]");
        assert_eq!(redact("example.com"), "example.com");
    }
}
