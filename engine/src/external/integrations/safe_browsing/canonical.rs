//! Safe Browsing's canonical form of a URL, the form its lookup expressions are built
//! from. The list entries were computed from canonical URLs, so a URL that is not
//! canonicalised the same way can dodge them: `%65vil.example`, `EVIL.example.`,
//! `/%6dalware`, `//x/../malware` and `/%252e%252e/` all name what the lists know by a
//! plainer spelling.
//!
//! The URL parser (WHATWG) already lower-cases the host, decodes its escapes, turns the
//! numeric forms of an IPv4 address into dotted quads, drops the fragment and resolves
//! `.`/`..` segments. What the protocol adds, and this module does:
//! - percent-unescape the host, path and query repeatedly until nothing changes;
//! - in the host, collapse runs of dots and trim leading and trailing dots;
//! - in the path, resolve `.`/`..` segments again (unescaping can reveal new ones) and
//!   collapse runs of slashes;
//! - percent-escape every byte at or below 0x20, at or above 0x7F, `#` and `%`.

use reqwest::Url;
use url::Host;

/// Unescaping stops after this many passes, so a URL of `%2525…25` cannot make the
/// check quadratic; real URLs settle in two or three.
const MAX_UNESCAPE_PASSES: usize = 32;

/// A URL in canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canonical {
    /// Host: a domain, a dotted IPv4 address or a bracketed IPv6 address.
    pub host: String,
    /// Path, starting with `/`.
    pub path: String,
    /// Query without the `?`, when the URL has one (possibly empty).
    pub query: Option<String>,
}

impl Canonical {
    /// The canonical form of `url`; `None` when it has no host left.
    pub fn of(url: &Url) -> Option<Canonical> {
        let host = match url.host()? {
            Host::Domain(domain) => canonical_domain(domain)?,
            Host::Ipv4(ip) => ip.to_string(),
            Host::Ipv6(ip) => format!("[{ip}]"),
        };
        let path = escape(&resolve_path(&unescape(url.path().as_bytes())));
        let query = url.query().map(|q| escape(&unescape(q.as_bytes())));
        Some(Canonical { host, path, query })
    }

    /// Whether the host is an IP address (no host suffixes are formed for those).
    pub fn host_is_ip(&self) -> bool {
        self.host.starts_with('[') || self.host.parse::<std::net::Ipv4Addr>().is_ok()
    }
}

fn canonical_domain(domain: &str) -> Option<String> {
    let raw = unescape(domain.as_bytes()).to_ascii_lowercase();
    let mut out = Vec::with_capacity(raw.len());
    for &b in &raw {
        if b == b'.' && (out.is_empty() || out.last() == Some(&b'.')) {
            continue;
        }
        out.push(b);
    }
    while out.last() == Some(&b'.') {
        out.pop();
    }
    (!out.is_empty()).then(|| escape(&out))
}

/// Percent-unescape until nothing changes (or [`MAX_UNESCAPE_PASSES`]). A `%` not
/// followed by two hex digits stays as it is.
fn unescape(input: &[u8]) -> Vec<u8> {
    let mut current = input.to_vec();
    for _ in 0..MAX_UNESCAPE_PASSES {
        let next: Vec<u8> = percent_encoding::percent_decode(&current).collect();
        if next == current {
            break;
        }
        current = next;
    }
    current
}

/// `.` and `..` segments resolved, runs of `/` collapsed; a trailing `/` kept.
fn resolve_path(path: &[u8]) -> Vec<u8> {
    let mut segments: Vec<&[u8]> = Vec::new();
    let mut trailing_slash = false;
    for segment in path.split(|&b| b == b'/') {
        trailing_slash = false;
        match segment {
            b"" => trailing_slash = true,
            b"." => trailing_slash = true,
            b".." => {
                segments.pop();
                trailing_slash = true;
            }
            s => segments.push(s),
        }
    }
    let mut out = vec![b'/'];
    for (i, s) in segments.iter().enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(s);
    }
    if trailing_slash && !segments.is_empty() {
        out.push(b'/');
    }
    out
}

/// Escape bytes <= 0x20, >= 0x7F, `#` and `%` as `%XX` (upper-case hex).
fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b <= 0x20 || b >= 0x7f || b == b'#' || b == b'%' {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push(b as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(url: &str) -> String {
        let c = Canonical::of(&crate::external::integrations::parse_url(url).unwrap()).unwrap();
        let query = c.query.map(|q| format!("?{q}")).unwrap_or_default();
        format!("{}{}{query}", c.host, c.path)
    }

    /// The protocol documentation's canonicalisation examples (those whose host the URL
    /// standard accepts; the scheme and port are not part of an expression).
    #[test]
    fn matches_the_documented_examples() {
        for (input, want) in [
            ("http://host/%25%32%35", "host/%25"),
            ("http://host/%25%32%35%25%32%35", "host/%25%25"),
            ("http://host/%2525252525252525", "host/%25"),
            ("http://host/asdf%25%32%35asd", "host/asdf%25asd"),
            ("http://host/%%%25%32%35asd%%", "host/%25%25%25asd%25%25"),
            ("http://www.google.com/", "www.google.com/"),
            (
                "http://%31%36%38%2e%31%38%38%2e%39%39%2e%32%36/%2E%73%65%63%75%72%65/%77%77%77%2E%65%62%61%79%2E%63%6F%6D/",
                "168.188.99.26/.secure/www.ebay.com/",
            ),
            (
                "http://195.127.0.11/uploads/%20%20%20%20/.verify/.eBaysecure=updateuserdataxplimnbqmn-xplmvalidateinfoswqpcmlx=hgplmcx/",
                "195.127.0.11/uploads/%20%20%20%20/.verify/.eBaysecure=updateuserdataxplimnbqmn-xplmvalidateinfoswqpcmlx=hgplmcx/",
            ),
            ("http://3279880203/blah", "195.127.0.11/blah"),
            ("http://www.google.com/blah/..", "www.google.com/"),
            ("www.google.com/", "www.google.com/"),
            ("www.google.com", "www.google.com/"),
            ("http://www.evil.com/blah#frag", "www.evil.com/blah"),
            ("http://www.GOOgle.com/", "www.google.com/"),
            ("http://www.google.com.../", "www.google.com/"),
            ("http://www.google.com/foo\tbar\rbaz\n2", "www.google.com/foobarbaz2"),
            ("http://www.google.com/q?", "www.google.com/q?"),
            ("http://www.google.com/q?r?", "www.google.com/q?r?"),
            ("http://www.google.com/q?r?s", "www.google.com/q?r?s"),
            ("http://evil.com/foo#bar#baz", "evil.com/foo"),
            ("http://evil.com/foo;", "evil.com/foo;"),
            ("http://evil.com/foo?bar;", "evil.com/foo?bar;"),
            ("http://notrailingslash.com", "notrailingslash.com/"),
            ("http://www.gotaport.com:1234/", "www.gotaport.com/"),
            ("  http://www.google.com/  ", "www.google.com/"),
            ("https://www.securesite.com/", "www.securesite.com/"),
            ("http://host.com/ab%23cd", "host.com/ab%23cd"),
            (
                "http://host.com//twoslashes?more//slashes",
                "host.com/twoslashes?more//slashes",
            ),
        ] {
            assert_eq!(canonical(input), want, "{input}");
        }
    }

    #[test]
    fn escapes_cannot_hide_a_listed_url() {
        for spelling in [
            "http://%65vil.example/malware",
            "http://EVIL.example./malware",
            "http://evil..example/%6dalware",
            "http://evil.example//x/../malware",
            "http://evil.example/x/%252e%252e/malware",
            "http://evil.example/./malware",
        ] {
            assert_eq!(canonical(spelling), "evil.example/malware", "{spelling}");
        }
    }

    #[test]
    fn hostile_escapes_stay_bounded() {
        let deep = format!("http://h.example/{}41", "%25".repeat(10_000));
        let c = canonical(&deep);
        assert!(c.starts_with("h.example/%25"), "{}", &c[..40]);
    }
}
