//! Package names: what is accepted, what is refused (and why), and which names collide.

use clawdstrike_scanner::{canonical_name, validate_name, ArchiveKind, NameError};

#[test]
fn npm_names_accepted() {
    for name in [
        "acme-secrets",
        "@acme/secrets",
        "@clawdstrike/example-parity-ts",
        "a.b~c_d",
        "x",
        "0day",
        &"a".repeat(64),
        &format!("@{}/{}", "s".repeat(63), "n".repeat(63)),
    ] {
        assert_eq!(validate_name(name, ArchiveKind::Npm), Ok(()), "{name}");
    }
}

#[test]
fn npm_names_refused_with_the_reason() {
    type Check = fn(&NameError) -> bool;
    let cases: &[(&str, Check)] = &[
        ("", |e| matches!(e, NameError::Empty)),
        ("Acme", |e| matches!(e, NameError::Uppercase { .. })),
        ("@Acme/x", |e| matches!(e, NameError::Uppercase { .. })),
        ("acme secrets", |e| {
            matches!(e, NameError::InvalidCharacter { ch: ' ', .. })
        }),
        ("acme!", |e| {
            matches!(e, NameError::InvalidCharacter { ch: '!', .. })
        }),
        (".hidden", |e| {
            matches!(e, NameError::LeadingDotOrUnderscore { .. })
        }),
        ("_private", |e| {
            matches!(e, NameError::LeadingDotOrUnderscore { .. })
        }),
        ("@_x/y", |e| {
            matches!(e, NameError::LeadingDotOrUnderscore { .. })
        }),
        ("@acme", |e| matches!(e, NameError::BadScope { .. })),
        ("@/x", |e| matches!(e, NameError::BadScope { .. })),
        ("@a/b/c", |e| matches!(e, NameError::BadScope { .. })),
        ("a/b", |e| matches!(e, NameError::BadScope { .. })),
        ("node_modules", |e| matches!(e, NameError::Reserved { .. })),
        ("favicon.ico", |e| matches!(e, NameError::Reserved { .. })),
        ("ас", |e| matches!(e, NameError::NonAscii { .. })), // Cyrillic а and с
        ("acme-sеcrets", |e| matches!(e, NameError::NonAscii { .. })), // Cyrillic е
        (&"a".repeat(65), |e| {
            matches!(e, NameError::TooLong { limit: 64, .. })
        }),
        (&format!("@{}/{}", "s".repeat(64), "n".repeat(64)), |e| {
            matches!(e, NameError::TooLong { limit: 128, .. })
        }),
    ];
    for (name, check) in cases {
        match validate_name(name, ArchiveKind::Npm) {
            Err(e) => assert!(check(&e), "{name}: unexpected {e:?}"),
            Ok(()) => panic!("{name} was accepted"),
        }
    }
}

#[test]
fn the_length_message_says_it_is_this_registrys_cap() {
    let e = validate_name(&"a".repeat(200), ArchiveKind::Npm).unwrap_err();
    assert!(e.to_string().contains("this registry's limit"), "{e}");
    assert!(
        e.to_string().len() < 300,
        "the name is cut in the message: {e}"
    );
}

#[test]
fn crate_names_accepted() {
    for name in [
        "acme-secrets-guard",
        "acme_secrets",
        "Acme",
        "a1",
        &"a".repeat(64),
    ] {
        assert_eq!(validate_name(name, ArchiveKind::Crate), Ok(()), "{name}");
    }
}

#[test]
fn crate_names_refused_with_the_reason() {
    type Check = fn(&NameError) -> bool;
    let cases: &[(&str, Check)] = &[
        ("", |e| matches!(e, NameError::Empty)),
        ("1abc", |e| matches!(e, NameError::InvalidStart { .. })),
        ("-abc", |e| matches!(e, NameError::InvalidStart { .. })),
        ("a.b", |e| {
            matches!(e, NameError::InvalidCharacter { ch: '.', .. })
        }),
        ("@acme/x", |e| matches!(e, NameError::InvalidStart { .. })),
        ("con", |e| matches!(e, NameError::Reserved { .. })),
        ("NUL", |e| matches!(e, NameError::Reserved { .. })),
        ("com1", |e| matches!(e, NameError::Reserved { .. })),
        ("lpt9", |e| matches!(e, NameError::Reserved { .. })),
        ("std", |e| matches!(e, NameError::Reserved { .. })),
        ("proc_macro", |e| matches!(e, NameError::Reserved { .. })),
        ("ácme", |e| matches!(e, NameError::NonAscii { .. })),
        (&"a".repeat(65), |e| {
            matches!(e, NameError::TooLong { limit: 64, .. })
        }),
    ];
    for (name, check) in cases {
        match validate_name(name, ArchiveKind::Crate) {
            Err(e) => assert!(check(&e), "{name}: unexpected {e:?}"),
            Ok(()) => panic!("{name} was accepted"),
        }
    }
}

#[test]
fn confusable_names_collide() {
    let groups: &[&[&str]] = &[
        &[
            "acme-secrets",
            "acme_secrets",
            "acme.secrets",
            "Acme-Secrets",
            "acme--secrets",
            "acme-secrets-",
        ],
        &["acme-secrets", "acrne-secrets"],
        &["cool-guard", "c00l-guard", "co0l_guard"],
        &["ssh-keys", "ssh-keys", "ssh_keys"],
        &["all-guard", "a11-guard", "al1.guard"],
        &["www-guard", "vvvvvv-guard"],
    ];
    for group in groups {
        let first = canonical_name(group[0]);
        for name in &group[1..] {
            assert_eq!(canonical_name(name), first, "{name} vs {}", group[0]);
        }
    }
    assert_eq!(
        canonical_name("@acme/secrets"),
        canonical_name("@acme/secrets_")
    );
    assert_eq!(canonical_name("@acme_co/x"), canonical_name("@acme-co/x"));
}

#[test]
fn distinct_names_stay_distinct() {
    let pairs = [
        ("acme-secrets", "acme-secret"),
        ("@acme/secrets", "acme-secrets"),
        ("@acme/secrets", "@acme-secrets/x"),
        ("mail-guard", "mall-guard"),
        ("guard-a", "guard-b"),
    ];
    for (a, b) in pairs {
        assert_ne!(canonical_name(a), canonical_name(b), "{a} vs {b}");
    }
}

#[test]
fn canonical_form_applies_nfkc() {
    // Full-width letters (which validate_name refuses anyway) fold to ASCII.
    assert_eq!(canonical_name("ａｃｍｅ"), canonical_name("acme"));
    // The ligature ﬁ (U+FB01) is "fi".
    assert_eq!(canonical_name("ﬁle-guard"), canonical_name("file-guard"));
}
