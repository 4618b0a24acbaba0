//! Network destinations: a host and a port, normalised for comparison.

use super::text::fold;

/// A destination parsed from an event's `host`, `port` and `url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// Lower-case, no trailing dot, no brackets around IPv6, full-width folded.
    pub host: String,
    /// The port, when known.
    pub port: Option<u16>,
}

/// Normalise a host name: fold Unicode and case, strip a trailing dot, IPv6 brackets, and
/// any `user@` prefix. Returns the host and a port if the string carried `:port`.
pub fn parse_host(raw: &str) -> (String, Option<u16>) {
    let s = fold(raw.trim());
    let s = s.rsplit('@').next().unwrap_or(&s).to_string();
    // `[::1]:443` or `[::1]`
    if let Some(rest) = s.strip_prefix('[') {
        if let Some((inner, after)) = rest.split_once(']') {
            let port = after.strip_prefix(':').and_then(|p| p.parse().ok());
            return (inner.to_string(), port);
        }
    }
    // `host:port` (exactly one colon; more colons is a bare IPv6 address)
    let (host, port) = match s.matches(':').count() {
        1 => {
            let (h, p) = s.split_once(':').unwrap_or((&s, ""));
            (h.to_string(), p.parse().ok())
        }
        _ => (s.clone(), None),
    };
    (host.trim_end_matches('.').to_string(), port)
}

/// Parse the authority of a URL (`scheme://user@host:port/path`) into host and port; the
/// scheme's default port is filled in for http, https, ws and wss.
pub fn parse_url(url: &str) -> Option<Destination> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() {
        return None;
    }
    let (host, port) = parse_host(authority);
    let default = match fold(scheme).as_str() {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    };
    Some(Destination {
        host,
        port: port.or(default),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_with_port_and_trailing_dot() {
        assert_eq!(
            parse_host("API.GitHub.com.:8443"),
            ("api.github.com".into(), Some(8443))
        );
    }

    #[test]
    fn ipv6_in_brackets() {
        assert_eq!(parse_host("[::1]:22"), ("::1".into(), Some(22)));
        assert_eq!(parse_host("::1"), ("::1".into(), None));
    }

    #[test]
    fn url_defaults_port_from_scheme() {
        let d = parse_url("https://user@Example.com/x?y").unwrap();
        assert_eq!(d.host, "example.com");
        assert_eq!(d.port, Some(443));
    }
}
