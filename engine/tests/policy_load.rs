//! Loading policies: versions, extends, merge strategies, defaults, placeholders, errors.

mod common;

use clawdstrike_engine::policy::placeholders::Resolver;
use clawdstrike_engine::policy::{LoadOptions, Policy, PolicyError, Source};
use clawdstrike_engine::{Engine, PolicyEvent, Status};
use common::write;
use std::collections::HashMap;

fn load(yaml: &str) -> Result<Policy, PolicyError> {
    Policy::from_yaml(yaml)
}

fn first_problem(err: &PolicyError) -> String {
    err.problems()[0].to_string()
}

#[test]
fn supported_versions_load() {
    for v in ["1.1.0", "1.2.0"] {
        load(&format!("version: \"{v}\"\n")).unwrap();
    }
    let p = load("name: no version\n").unwrap();
    assert_eq!(p.file.version.as_deref(), Some("1.2.0"), "default version");
}

#[test]
fn unsupported_versions_are_errors_that_say_what_to_change() {
    for v in ["1.0.0", "2.0.0", "1.1", "1.1.0-beta", "01.1.0x"] {
        let err = load(&format!("version: \"{v}\"\n")).unwrap_err();
        let msg = first_problem(&err);
        assert!(msg.contains("<policy>:1:"), "{v}: {msg}");
        assert!(msg.contains("1.2.0"), "{v}: {msg}");
    }
}

#[test]
fn path_allowlist_needs_1_2_0() {
    let err =
        load("version: \"1.1.0\"\nguards:\n  path_allowlist:\n    enabled: true\n").unwrap_err();
    assert!(first_problem(&err).contains("1.2.0"));
    load("version: \"1.2.0\"\nguards:\n  path_allowlist:\n    enabled: true\n").unwrap();
}

#[test]
fn unknown_fields_are_errors_with_line_and_column() {
    let err = load("version: \"1.1.0\"\nguards:\n  forbiden_path: {}\n").unwrap_err();
    let msg = first_problem(&err);
    assert!(msg.contains(":3:"), "{msg}");
    assert!(msg.contains("forbiden_path"), "{msg}");
    let err = load("version: \"1.1.0\"\nsetings: {}\n").unwrap_err();
    assert!(first_problem(&err).contains("setings"));
}

#[test]
fn extends_builtin_with_and_without_prefix() {
    for ext in ["strict", "clawdstrike:strict"] {
        let p = load(&format!("version: \"1.1.0\"\nextends: {ext}\n")).unwrap();
        let e = Engine::new(&p).unwrap();
        let d = e.check(&PolicyEvent::file_read("e", "/srv/app/.vault/token"));
        assert_eq!(d.status, Status::Deny, "{ext}");
        assert!(p.settings().fail_fast, "strict's settings inherited");
    }
}

#[test]
fn unknown_builtin_ruleset_is_an_error() {
    let err = load("version: \"1.1.0\"\nextends: clawdstrike:nope\n").unwrap_err();
    let msg = first_problem(&err);
    assert!(msg.contains("unknown built-in ruleset"), "{msg}");
    assert!(msg.contains(":2:"), "{msg}");
}

#[test]
fn extends_relative_path_and_cycles() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("base")).unwrap();
    write(
        &dir.path().join("base"),
        "team.yaml",
        "version: \"1.1.0\"\nextends: default\nguards:\n  forbidden_path:\n    additional_patterns: [\"**/team-secrets/**\"]\n",
    );
    let child = write(
        dir.path(),
        "child.yaml",
        "version: \"1.2.0\"\nextends: ./base/team.yaml\nguards:\n  forbidden_path:\n    additional_patterns: [\"**/mine/**\"]\n",
    );
    let e = Engine::from_file(&child).unwrap();
    for path in ["/x/team-secrets/a", "/x/mine/b", "/home/u/.ssh/id_rsa"] {
        assert_eq!(
            e.check(&PolicyEvent::file_read("e", path)).status,
            Status::Deny,
            "{path}"
        );
    }

    write(
        dir.path(),
        "a.yaml",
        "version: \"1.1.0\"\nextends: ./b.yaml\n",
    );
    write(
        dir.path(),
        "b.yaml",
        "version: \"1.1.0\"\nextends: ./c.yaml\n",
    );
    let c = write(
        dir.path(),
        "c.yaml",
        "version: \"1.1.0\"\nextends: ./a.yaml\n",
    );
    let err = Policy::from_file(&c).unwrap_err();
    let msg = first_problem(&err);
    assert!(msg.contains("cycle"), "{msg}");
    assert!(msg.contains("a.yaml") && msg.contains("b.yaml"), "{msg}");
}

#[test]
fn absent_section_runs_with_defaults_and_only_enabled_false_disables() {
    // No guards at all: forbidden_path still protects ssh keys.
    let e = Engine::from_yaml("version: \"1.1.0\"\n").unwrap();
    let ssh = PolicyEvent::file_read("e", "/home/u/.ssh/id_rsa");
    assert_eq!(e.check(&ssh).status, Status::Deny);
    // An empty section is not "off" either.
    let e = Engine::from_yaml("version: \"1.1.0\"\nguards:\n  forbidden_path: {}\n").unwrap();
    assert_eq!(e.check(&ssh).status, Status::Deny);
    let e =
        Engine::from_yaml("version: \"1.1.0\"\nguards:\n  forbidden_path:\n    enabled: false\n")
            .unwrap();
    assert_eq!(e.check(&ssh).status, Status::Allow);
}

#[test]
fn deep_merge_adds_and_removes_list_entries() {
    let e = Engine::from_yaml(
        "version: \"1.1.0\"\nextends: default\nguards:\n  forbidden_path:\n    remove_patterns: [\"**/.env\"]\n    additional_patterns: [\"**/*.pem\"]\n",
    )
    .unwrap();
    assert_eq!(
        e.check(&PolicyEvent::file_read("e", "/app/.env")).status,
        Status::Allow
    );
    assert_eq!(
        e.check(&PolicyEvent::file_read("e", "/app/key.pem")).status,
        Status::Deny
    );
    assert_eq!(
        e.check(&PolicyEvent::file_read("e", "/home/u/.ssh/x"))
            .status,
        Status::Deny
    );
}

#[test]
fn non_empty_child_list_replaces_base() {
    let e = Engine::from_yaml(
        "version: \"1.1.0\"\nextends: default\nguards:\n  forbidden_path:\n    patterns: [\"**/only-this/**\"]\n",
    )
    .unwrap();
    assert_eq!(
        e.check(&PolicyEvent::file_read("e", "/home/u/.ssh/x"))
            .status,
        Status::Allow
    );
    assert_eq!(
        e.check(&PolicyEvent::file_read("e", "/a/only-this/b"))
            .status,
        Status::Deny
    );
}

#[test]
fn replace_strategy_ignores_the_base() {
    let p = load(
        "version: \"1.1.0\"\nextends: strict\nmerge_strategy: replace\nsettings:\n  fail_fast: false\n",
    )
    .unwrap();
    assert!(!p.settings().fail_fast);
    let e = Engine::new(&p).unwrap();
    // strict forbids **/.vault/**; the replaced policy has only the default patterns.
    assert_eq!(
        e.check(&PolicyEvent::file_read("e", "/srv/.vault/t"))
            .status,
        Status::Allow
    );
}

#[test]
fn merge_strategy_replaces_whole_sections() {
    let p = load(
        "version: \"1.1.0\"\nextends: strict\nmerge_strategy: merge\nguards:\n  mcp_tool:\n    default_action: allow\n",
    )
    .unwrap();
    // The child's guards section replaced strict's: strict's forbidden paths are gone.
    let e = Engine::new(&p).unwrap();
    assert_eq!(
        e.check(&PolicyEvent::file_read("e", "/srv/.vault/t"))
            .status,
        Status::Allow
    );
    // Settings were not given by the child: strict's are kept.
    assert!(p.settings().fail_fast);
}

#[test]
fn settings_defaults() {
    let s = load("version: \"1.1.0\"\n").unwrap().settings();
    assert!(!s.fail_fast);
    assert!(!s.verbose_logging);
    assert_eq!(s.session_timeout_secs, 3600);
    assert_eq!(s.unexamined_events, Status::Allow);
}

#[test]
fn placeholders_expand_in_guard_patterns() {
    let opts = LoadOptions {
        resolver: Some(Resolver::fixed(
            HashMap::from([("CORP_HOST".to_string(), "git.corp.example.com".to_string())]),
            HashMap::from([("vault_dir".to_string(), "**/corp-vault/**".to_string())]),
        )),
        ..LoadOptions::default()
    };
    let p = Policy::load(
        "version: \"1.1.0\"\nguards:\n  egress_allowlist:\n    allow: [\"${CORP_HOST}\"]\n  forbidden_path:\n    additional_patterns: [\"${secrets.vault_dir}\"]\n",
        Source::Text,
        &opts,
    )
    .unwrap();
    let e = Engine::new(&p).unwrap();
    assert_eq!(
        e.check(&PolicyEvent::network("e", "git.corp.example.com", 443))
            .status,
        Status::Allow
    );
    assert_eq!(
        e.check(&PolicyEvent::file_read("e", "/x/corp-vault/y"))
            .status,
        Status::Deny
    );
}

#[test]
fn missing_placeholder_is_a_located_error() {
    let opts = LoadOptions {
        resolver: Some(Resolver::fixed(HashMap::new(), HashMap::new())),
        ..LoadOptions::default()
    };
    let err = Policy::load(
        "version: \"1.1.0\"\nguards:\n  egress_allowlist:\n    allow:\n      - \"${NOT_SET_ANYWHERE}\"\n",
        Source::Text,
        &opts,
    )
    .unwrap_err();
    let msg = first_problem(&err);
    assert!(msg.contains(":5:"), "{msg}");
    assert!(msg.contains("NOT_SET_ANYWHERE"), "{msg}");
}

#[test]
fn placeholder_value_cannot_inject_yaml() {
    let opts = LoadOptions {
        resolver: Some(Resolver::fixed(
            HashMap::from([(
                "EVIL".to_string(),
                "x\"]\n    enabled: false\n#".to_string(),
            )]),
            HashMap::new(),
        )),
        ..LoadOptions::default()
    };
    let p = Policy::load(
        "version: \"1.1.0\"\nguards:\n  forbidden_path:\n    additional_patterns: [\"${EVIL}\"]\n",
        Source::Text,
        &opts,
    )
    .unwrap();
    let e = Engine::new(&p).unwrap();
    assert_eq!(
        e.check(&PolicyEvent::file_read("e", "/home/u/.ssh/id_rsa"))
            .status,
        Status::Deny
    );
}

#[test]
fn legacy_custom_guards_parse_and_unknown_ids_are_unresolvable() {
    let p = load("version: \"1.1.0\"\ncustom_guards:\n  - id: acme\n    enabled: false\n    config: {a: 1}\n").unwrap();
    Engine::new(&p).unwrap();
    let p = load("version: \"1.1.0\"\ncustom_guards:\n  - id: acme\n    config: {a: 1}\n").unwrap();
    let err = Engine::new(&p).unwrap_err();
    assert!(first_problem(&err).contains("acme"));
}

#[test]
fn custom_guard_forms_parse() {
    let p = load(
        r#"version: "1.2.0"
guards:
  custom:
    - package: "@acme/clawdstrike-secrets"
      version: "^1.2"
      enabled: false
      config: {patterns: [{name: acme, pattern: "ACME_[A-Z0-9]{32}"}]}
    - path: ./guards/acme
      enabled: false
    - inline:
        name: no_prod_env
        handles: [file_read]
        logic:
          if: {path_matches: "**/prod.env"}
          then: deny
          reason: production env files are off limits
"#,
    )
    .unwrap();
    let e = Engine::new(&p).unwrap();
    let d = e.check(&PolicyEvent::file_read("e", "/srv/prod.env"));
    assert_eq!(d.status, Status::Deny);
    assert_eq!(d.guard.as_deref(), Some("no_prod_env"));
}

#[test]
fn custom_guard_entry_with_two_kinds_is_an_error() {
    let err = load("version: \"1.2.0\"\nguards:\n  custom:\n    - package: a\n      path: ./b\n")
        .unwrap_err();
    assert!(
        first_problem(&err).contains("only one of"),
        "{}",
        first_problem(&err)
    );
}

#[test]
fn enabled_package_guard_is_unresolvable_until_plugins_land() {
    let p = load("version: \"1.2.0\"\nguards:\n  custom:\n    - package: \"@acme/x\"\n").unwrap();
    let err = Engine::new(&p).unwrap_err();
    let msg = first_problem(&err);
    assert!(msg.contains("@acme/x"), "{msg}");
    assert!(msg.contains(":4:"), "{msg}");
}

#[test]
fn unexamined_events_setting_is_explicit_and_configurable() {
    let allow = Engine::from_yaml("version: \"1.1.0\"\n").unwrap();
    let secret = PolicyEvent::secret("s", "AWS_SECRET_ACCESS_KEY");
    let d = allow.check(&secret);
    assert_eq!(d.status, Status::Allow);
    assert!(d.reason.contains("secret_access"), "{}", d.reason);
    assert!(d.reason.contains("unexamined_events"), "{}", d.reason);

    let deny =
        Engine::from_yaml("version: \"1.1.0\"\nsettings:\n  unexamined_events: deny\n").unwrap();
    let d = deny.check(&secret);
    assert_eq!(d.status, Status::Deny);
    assert_eq!(d.guard.as_deref(), Some("unexamined_events"));
}

#[test]
fn engine_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Engine>();
}

#[test]
fn async_blocks_are_validated_with_the_field_named() {
    for (block, field, words) in [
        (
            "{timeout_ms: 0}",
            "guards.custom[0].async.timeout_ms",
            "between 1 and 300000",
        ),
        (
            "{rate_limit: {requests_per_minute: 4, requests_per_second: 1}}",
            "guards.custom[0].async.rate_limit",
            "not both",
        ),
        ("{on_timeout: explode}", "guards.custom[0].async", "explode"),
    ] {
        let p = load(&format!(
            "version: \"1.2.0\"\nguards:\n  custom:\n    - path: ./guards/acme\n      async: {block}\n"
        ))
        .unwrap();
        let err = Engine::new(&p).unwrap_err();
        let msg = first_problem(&err);
        assert!(msg.contains(field) && msg.contains(words), "{block}: {msg}");
    }
}
