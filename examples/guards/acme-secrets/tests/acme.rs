//! `acme_secrets` vectors, run natively and (feature `sandbox`) against the built
//! component in the engine's plugin host.
#![cfg(not(target_arch = "wasm32"))]

use acme_secrets_guard::AcmeSecrets;
use clawdstrike_guard_sdk::testing::{events, GuardTest};
use clawdstrike_guard_sdk::Severity;
use serde_json::json;

const API_KEY: &str = "ACME-0123456789ABCDEFGHIJKLMNOPQRSTUV";
const TOKEN: &str = "acme_live_abcdefghij0123456789wxyz";

fn defaults(t: &GuardTest) {
    let content = format!("fn main() {{\n    let key = \"{API_KEY}\";\n}}\n");
    t.check(events::file_write("src/main.rs", &content))
        .expect_deny()
        .severity(Severity::Critical)
        .reason("ACME secret \"acme_api_key\" found in src/main.rs (line 2)")
        .reason_lacks(API_KEY)
        .remediation_contains("rotate")
        .details(json!({
            "path": "src/main.rs",
            "findings": [{"pattern": "acme_api_key", "severity": "critical", "line": 2,
                          "matches": 1, "redacted": "[REDACTED 37 chars]"}]
        }));

    let both = format!("token={TOKEN}\nkey={API_KEY}\nagain={TOKEN}\n");
    let v = t
        .check(events::file_write(".env", &both))
        .expect_deny()
        .severity(Severity::Critical)
        .reason("ACME secret \"acme_api_key\" found in .env (line 2) and 1 more pattern(s)")
        .reason_lacks(TOKEN);
    let details = v.verdict().details.clone().unwrap_or_default();
    assert_eq!(details["findings"][1]["pattern"], "acme_live_token");
    assert_eq!(details["findings"][1]["matches"], 2);
    assert!(
        !details.to_string().contains(TOKEN),
        "details leak the token: {details}"
    );

    t.check(events::file_write(
        "README.md",
        "ACME-short and acme_live_TOOSHORT",
    ))
    .expect_allow()
    .reason("no ACME secrets in README.md");
    // A literal prefix on an earlier line that does not match must not hide a later
    // match, and line numbers stay right.
    let later = format!("ACME-short\nplain\nacme_live_x\n\nkey {API_KEY} {API_KEY}\n");
    t.check(events::file_write("notes.txt", &later))
        .expect_deny()
        .reason("ACME secret \"acme_api_key\" found in notes.txt (line 5)")
        .details(json!({
            "path": "notes.txt",
            "findings": [{"pattern": "acme_api_key", "severity": "critical", "line": 5,
                          "matches": 2, "redacted": "[REDACTED 37 chars]"}]
        }));

    // Patches: only added lines count; removing a leaked key is allowed.
    let add =
        format!("--- a/cfg.toml\n+++ b/cfg.toml\n@@ -1 +1 @@\n-key = \"\"\n+key = \"{TOKEN}\"\n");
    t.check(events::patch("cfg.toml", &add))
        .expect_deny()
        .severity(Severity::High)
        .reason("ACME secret \"acme_live_token\" found in cfg.toml (patch line 5)");
    let remove =
        format!("--- a/cfg.toml\n+++ b/cfg.toml\n@@ -1 +1 @@\n-key = \"{TOKEN}\"\n+key = \"\"\n");
    t.check(events::patch("cfg.toml", &remove)).expect_allow();

    // Reads are not this guard's business.
    t.check(events::file_read(".env")).expect_skipped();
}

fn configured(t: &GuardTest) {
    let warn = t.clone().with_config(json!({
        "patterns": [{"name": "internal_id", "regex": "INT-[0-9]{6}", "severity": "medium"}],
        "allow_paths": ["/repo/tests/", "**/fixtures/*.txt"],
        "action": "warn"
    }));
    warn.check(events::file_write("/repo/src/a.rs", "id INT-123456"))
        .expect_warn()
        .severity(Severity::Medium)
        .reason_contains("\"internal_id\" found in /repo/src/a.rs");
    // The configured patterns replace the defaults.
    warn.check(events::file_write("/repo/src/a.rs", API_KEY))
        .expect_allow();
    warn.check(events::file_write("/repo/tests/a.rs", "INT-123456"))
        .expect_allow()
        .reason("/repo/tests/a.rs is in allow_paths");
    warn.check(events::file_write(
        "/repo/x/fixtures/data.txt",
        "INT-123456",
    ))
    .expect_allow();
    // A path that climbs out of an allowed prefix is scanned (old engine defect).
    warn.check(events::file_write("/repo/tests/../src/a.rs", "INT-123456"))
        .expect_warn();
    warn.check(events::file_write("/repo/tests2/a.rs", "INT-123456"))
        .expect_warn();

    let init = |c| t.clone().with_config(c).init();
    // In the sandbox the manifest's configSchema refuses these before the guard runs.
    init(json!({"action": "block"})).expect_config_rejected("unknown variant `block`");
    init(json!({"pattern": []})).expect_config_rejected("unknown field `pattern`");
    init(json!({"patterns": []})).expect_config_rejected("config.patterns is empty");
    // What only the guard can check: the regular expressions themselves.
    init(json!({"patterns": [{"name": "x", "regex": "("}]}))
        .expect_init_error("config.patterns[0].regex");
    init(json!({"patterns": [{"name": "big", "regex": "(?:\\w{1000}){20}"}]}))
        .expect_init_error("size limit");
}

#[test]
fn native_vectors() {
    let t = GuardTest::native::<AcmeSecrets>();
    defaults(&t);
    configured(&t);
}

#[test]
fn file_write_without_content_is_allowed() {
    GuardTest::native::<AcmeSecrets>()
        .check(json!({"eventId": "e", "eventType": "file_write", "data": {"type": "file", "path": "a"}}))
        .expect_allow()
        .reason("no content to scan in a");
}

/// `init` compiles every pattern once and remembers that in the state store; later
/// inits compile only what a scan needs. The memory must never let a bad pattern in.
#[test]
fn pattern_validation_is_remembered_per_pattern_set() {
    let good = json!({"patterns": [{"name": "id", "regex": "INT-[0-9]{6}"}]});
    let t = GuardTest::native::<AcmeSecrets>().with_config(good.clone());
    t.init().expect_ok();
    assert_eq!(
        t.host().state("acme_secrets.validated_patterns"),
        Some(&b"INT-[0-9]{6}\0"[..])
    );
    t.check(events::file_write("a", "INT-123456")).expect_deny();

    // Remembered patterns do not vouch for different ones.
    let bad = json!({"patterns": [{"name": "x", "regex": "INT-("}]});
    t.clone()
        .with_config(bad.clone())
        .init()
        .expect_init_error("config.patterns[0].regex");

    // Even a record that claims the bad pattern passed (which only the guard itself
    // can write) fails closed: the check that needs the regex is an error, a deny.
    let forged = GuardTest::native::<AcmeSecrets>()
        .with_config(bad)
        .with_state("acme_secrets.validated_patterns", &b"INT-(\0"[..]);
    forged.init().expect_ok();
    forged
        .check(events::file_write("a", "plain text"))
        .expect_allow();
    forged
        .check(events::file_write("a", "INT-1"))
        .expect_error("pattern \"x\"");
}

#[cfg(feature = "sandbox")]
#[test]
fn sandbox_vectors() {
    let t = GuardTest::sandbox(env!("CARGO_MANIFEST_DIR"));
    defaults(&t);
    configured(&t);
}
