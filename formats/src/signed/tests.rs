//! Unit tests of signing and verification.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{DateTime, Duration, TimeZone, Utc};

use super::*;

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
}

fn pair() -> KeyPair {
    KeyPair::from_seed(&[7; 32])
}

fn pinned(p: &KeyPair) -> Vec<TrustedKey> {
    vec![p.trusted(at(2020, 1, 1), None)]
}

/// A time at which [`test_statement`] is valid.
fn now() -> DateTime<Utc> {
    at(2027, 1, 1)
}

fn signed_bytes(p: &KeyPair) -> Vec<u8> {
    p.sign_envelope(&test_statement().to_payload()).to_json()
}

fn envelope_json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).unwrap()
}

#[test]
fn round_trip() {
    let p = pair();
    let release = verify(&signed_bytes(&p), &pinned(&p), now()).unwrap();
    assert_eq!(release.statement, test_statement());
    assert_eq!(release.key_id, p.key_id());
    assert_eq!(release.statement.subject.len(), 2);
    assert_eq!(release.statement.subject[0].name, "acme-secrets-0.1.0.tgz");
    release
        .check_subject("dist/guard.wasm", b"\0asm-example-component")
        .unwrap();
    release
        .check_subject("acme-secrets-0.1.0.tgz", b"example archive bytes")
        .unwrap();
}

#[test]
fn envelope_json_shape_matches_the_contract() {
    let p = pair();
    let v = envelope_json(&signed_bytes(&p));
    assert_eq!(v["payloadType"], "application/vnd.in-toto+json");
    assert!(v["payload"].is_string());
    assert_eq!(v["signatures"][0]["keyid"], p.key_id());
    assert!(v["signatures"][0]["sig"].is_string());
    let payload = STANDARD.decode(v["payload"].as_str().unwrap()).unwrap();
    let st: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(st["_type"], STATEMENT_TYPE);
    assert_eq!(st["predicateType"], PREDICATE_TYPE);
    assert_eq!(
        st["subject"][1]["digest"]["sha256"].as_str().unwrap().len(),
        64
    );
    let pr = &st["predicate"];
    assert_eq!(pr["trustTier"], "verified");
    assert_eq!(pr["scan"]["scannerVersion"], "0.1.0");
    assert_eq!(pr["scan"]["findings"]["critical"], 0);
    assert_eq!(pr["publisher"]["identity"], serde_json::Value::Null);
    assert_eq!(pr["issuedAt"], "2026-11-24T13:00:00Z");
    assert_eq!(pr["expiresAt"], "2027-11-24T13:00:00Z");
    assert_eq!(pr["archive"]["kind"], "npm");
    assert_eq!(pr["components"][0]["path"], "dist/guard.wasm");
}

#[test]
fn pae_matches_the_dsse_specification_example() {
    assert_eq!(
        pae("http://example.com/HelloWorld", b"hello world"),
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
    );
    assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
}

/// RFC 8032 §7.1 test 1 key; the envelope was cross-checked with an independent ed25519
/// implementation. Other implementations of the format can check against these values.
#[test]
fn known_answer_vector() {
    let seed: [u8; 32] =
        hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
            .unwrap()
            .try_into()
            .unwrap();
    let p = KeyPair::from_seed(&seed);
    assert_eq!(
        hex::encode(p.public_key()),
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    );
    assert_eq!(
        p.public_key_base64(),
        "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
    );
    assert_eq!(p.key_id(), "ed25519:21fe31dfa154a261");
    assert_eq!(p.seed(), seed);
    let payload = br#"{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"urn:clawdstrike:guard-release:v1","predicate":{}}"#;
    let env = p.sign_envelope(payload);
    assert_eq!(
        env.payload,
        "eyJfdHlwZSI6Imh0dHBzOi8vaW4tdG90by5pby9TdGF0ZW1lbnQvdjEiLCJzdWJqZWN0IjpbXSwicHJlZGljYXRlVHlwZSI6InVybjpjbGF3ZHN0cmlrZTpndWFyZC1yZWxlYXNlOnYxIiwicHJlZGljYXRlIjp7fX0="
    );
    assert_eq!(
        env.signatures[0].sig,
        "4MqMEa4T3uJ1oRivcu9DlZryOsCzMuRyWEDVs8810/naX4myF+rGv+zfK1irAet52UQNoXmlzmyGLXDIjaEgCg=="
    );
    // The signature verifies, and then the (empty) predicate is refused as malformed.
    let key = TrustedKey::from_base64(
        "ed25519:21fe31dfa154a261",
        "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
        at(2020, 1, 1),
        None,
    )
    .unwrap();
    let err = verify(&env.to_json(), &[key], now()).unwrap_err();
    assert!(matches!(err, VerifyError::MalformedStatement(_)), "{err}");
}

#[test]
fn generated_keys_differ_and_sign() {
    let a = KeyPair::generate().unwrap();
    let b = KeyPair::generate().unwrap();
    assert_ne!(a.seed(), b.seed());
    assert!(a.key_id().starts_with("ed25519:") && a.key_id().len() == 24);
    let again = KeyPair::from_seed(&a.seed());
    assert_eq!(again.key_id(), a.key_id());
    verify(&signed_bytes(&a), &pinned(&a), now()).unwrap();
    assert!(!format!("{a:?}").contains(&hex::encode(a.seed())));
}

#[test]
fn flipped_payload_byte_fails() {
    let p = pair();
    let mut env = p.sign_envelope(&test_statement().to_payload());
    let mut payload = env.payload_bytes().unwrap();
    // Change one character inside the package name.
    let at = payload.windows(7).position(|w| w == b"secrets").unwrap();
    payload[at] ^= 0x01;
    env.payload = STANDARD.encode(&payload);
    let err = verify(&env.to_json(), &pinned(&p), now()).unwrap_err();
    assert_eq!(err, VerifyError::BadSignature(p.key_id().to_string()));
    assert!(err.to_string().contains("altered after signing"));
}

#[test]
fn flipped_signature_byte_fails() {
    let p = pair();
    let mut env = p.sign_envelope(&test_statement().to_payload());
    let mut sig = STANDARD.decode(&env.signatures[0].sig).unwrap();
    sig[10] ^= 0x80;
    env.signatures[0].sig = STANDARD.encode(&sig);
    let err = verify(&env.to_json(), &pinned(&p), now()).unwrap_err();
    assert!(matches!(err, VerifyError::BadSignature(_)), "{err}");
}

#[test]
fn changed_keyid_is_an_unknown_key() {
    let p = pair();
    let mut env = p.sign_envelope(&test_statement().to_payload());
    env.signatures[0].keyid = "ed25519:0000000000000000".into();
    let err = verify(&env.to_json(), &pinned(&p), now()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, VerifyError::UnknownKey { .. }), "{err}");
    assert!(msg.contains("ed25519:0000000000000000"), "{msg}");
    assert!(msg.contains(p.key_id()), "{msg}");
    assert!(msg.contains("clawdstrike guard keys"), "{msg}");
}

#[test]
fn signature_by_another_key_under_a_pinned_id_fails() {
    let p = pair();
    let other = KeyPair::from_seed(&[9; 32]);
    let mut env = other.sign_envelope(&test_statement().to_payload());
    env.signatures[0].keyid = p.key_id().to_string();
    let err = verify(&env.to_json(), &pinned(&p), now()).unwrap_err();
    assert!(matches!(err, VerifyError::BadSignature(_)), "{err}");
}

#[test]
fn re_encoded_payload_with_other_whitespace_fails() {
    let p = pair();
    let mut env = p.sign_envelope(&test_statement().to_payload());
    let value: serde_json::Value = serde_json::from_slice(&env.payload_bytes().unwrap()).unwrap();
    let pretty = serde_json::to_vec_pretty(&value).unwrap();
    assert_ne!(pretty, test_statement().to_payload());
    env.payload = STANDARD.encode(&pretty);
    let err = verify(&env.to_json(), &pinned(&p), now()).unwrap_err();
    assert!(matches!(err, VerifyError::BadSignature(_)), "{err}");
}

#[test]
fn whitespace_in_the_envelope_itself_is_fine() {
    let p = pair();
    let env = p.sign_envelope(&test_statement().to_payload());
    let pretty = serde_json::to_vec_pretty(&env).unwrap();
    verify(&pretty, &pinned(&p), now()).unwrap();
}

#[test]
fn malformed_envelopes() {
    let p = pair();
    let keys = pinned(&p);
    let err = verify(b"not json", &keys, now()).unwrap_err();
    assert!(matches!(err, VerifyError::MalformedEnvelope(_)), "{err}");

    let mut env = p.sign_envelope(&test_statement().to_payload());
    env.payload = "%%% not base64".into();
    let err = verify(&env.to_json(), &keys, now()).unwrap_err();
    assert!(matches!(err, VerifyError::MalformedEnvelope(_)), "{err}");

    let mut env = p.sign_envelope(&test_statement().to_payload());
    env.signatures[0].sig = "!!".into();
    let err = verify(&env.to_json(), &keys, now()).unwrap_err();
    assert!(matches!(err, VerifyError::MalformedEnvelope(_)), "{err}");

    let mut env = p.sign_envelope(&test_statement().to_payload());
    env.signatures[0].sig = STANDARD.encode([0u8; 12]);
    let err = verify(&env.to_json(), &keys, now()).unwrap_err();
    assert!(err.to_string().contains("64 bytes"), "{err}");
}

#[test]
fn wrong_payload_type_and_unsigned() {
    let p = pair();
    let mut env = p.sign_envelope(&test_statement().to_payload());
    env.payload_type = "application/json".into();
    let err = verify(&env.to_json(), &pinned(&p), now()).unwrap_err();
    assert_eq!(
        err,
        VerifyError::WrongPayloadType("application/json".into())
    );

    let mut env = p.sign_envelope(&test_statement().to_payload());
    env.signatures.clear();
    let err = verify(&env.to_json(), &pinned(&p), now()).unwrap_err();
    assert_eq!(err, VerifyError::Unsigned);
}

#[test]
fn no_pinned_keys_is_an_unknown_key() {
    let p = pair();
    let err = verify(&signed_bytes(&p), &[], now()).unwrap_err();
    assert!(err.to_string().contains("pinned keys are none"), "{err}");
}

#[test]
fn wrong_statement_or_predicate_type_is_malformed() {
    let p = pair();
    let mut st = test_statement();
    st.type_ = "https://in-toto.io/Statement/v0.1".into();
    let err = verify(
        &p.sign_envelope(&st.to_payload()).to_json(),
        &pinned(&p),
        now(),
    )
    .unwrap_err();
    assert!(matches!(err, VerifyError::MalformedStatement(_)), "{err}");
    assert!(err.to_string().contains("_type"));

    let mut st = test_statement();
    st.predicate_type = "https://slsa.dev/provenance/v1".into();
    let err = verify(
        &p.sign_envelope(&st.to_payload()).to_json(),
        &pinned(&p),
        now(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("predicateType"), "{err}");

    let err = verify(
        &p.sign_envelope(br#"{"hello":1}"#).to_json(),
        &pinned(&p),
        now(),
    )
    .unwrap_err();
    assert!(matches!(err, VerifyError::MalformedStatement(_)), "{err}");
}

#[test]
fn key_windows() {
    let p = pair();
    let bytes = signed_bytes(&p);
    let issued = test_statement().predicate.issued_at;
    // Window starting exactly at issuedAt: accepted (inclusive start).
    verify(&bytes, &[p.trusted(issued, None)], now()).unwrap();
    // Window ending exactly at issuedAt: refused (exclusive end).
    let err = verify(&bytes, &[p.trusted(at(2020, 1, 1), Some(issued))], now()).unwrap_err();
    assert!(matches!(err, VerifyError::KeyNotValid { .. }), "{err}");
    // Window starting after issuedAt: refused.
    let err = verify(
        &bytes,
        &[p.trusted(issued + Duration::seconds(1), None)],
        now(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("validity window"), "{err}");
    // A retired key stays valid for what it signed while it was current.
    verify(
        &bytes,
        &[p.trusted(at(2020, 1, 1), Some(issued + Duration::days(1)))],
        now(),
    )
    .unwrap();
}

#[test]
fn rotation_two_signatures_one_pinned() {
    let old = pair();
    let new = KeyPair::from_seed(&[8; 32]);
    let payload = test_statement().to_payload();
    let mut env = old.sign_envelope(&payload);
    env.signatures
        .extend(new.sign_envelope(&payload).signatures);
    let release = verify(&env.to_json(), &pinned(&new), now()).unwrap();
    assert_eq!(release.key_id, new.key_id());
    let release = verify(&env.to_json(), &pinned(&old), now()).unwrap();
    assert_eq!(release.key_id, old.key_id());
}

#[test]
fn expiry() {
    let p = pair();
    let bytes = signed_bytes(&p);
    let expires = test_statement().predicate.expires_at;
    verify(&bytes, &pinned(&p), expires - Duration::seconds(1)).unwrap();
    let err = verify(&bytes, &pinned(&p), expires).unwrap_err();
    assert!(matches!(err, VerifyError::Expired { .. }), "{err}");
    assert!(
        err.to_string().contains("@acme/secrets@0.1.0 expired"),
        "{err}"
    );
}

#[test]
fn subjects() {
    let p = pair();
    let release = verify(&signed_bytes(&p), &pinned(&p), now()).unwrap();
    let err = release
        .check_subject("dist/guard.wasm", b"other bytes")
        .unwrap_err();
    match &err {
        VerifyError::SubjectMismatch {
            name,
            expected,
            actual,
        } => {
            assert_eq!(name, "dist/guard.wasm");
            assert_eq!(expected, &sha256_hex(b"\0asm-example-component"));
            assert_eq!(actual, &sha256_hex(b"other bytes"));
        }
        other => panic!("{other}"),
    }
    let err = release.check_subject("dist/other.wasm", b"").unwrap_err();
    assert!(matches!(err, VerifyError::MissingSubject { .. }), "{err}");
    assert!(err.to_string().contains("dist/guard.wasm"), "{err}");
}

#[test]
fn trusted_key_from_base64() {
    let p = pair();
    let k =
        TrustedKey::from_base64(p.key_id(), &p.public_key_base64(), at(2020, 1, 1), None).unwrap();
    assert_eq!(k.public_key, p.public_key());
    let err = TrustedKey::from_base64(
        "ed25519:ffffffffffffffff",
        &p.public_key_base64(),
        at(2020, 1, 1),
        None,
    )
    .unwrap_err();
    assert!(matches!(err, SignedError::KeyIdMismatch { .. }), "{err}");
    let err = TrustedKey::from_base64(p.key_id(), "AAAA", at(2020, 1, 1), None).unwrap_err();
    assert!(err.to_string().contains("32 bytes"), "{err}");
    let err = TrustedKey::from_base64(p.key_id(), "***", at(2020, 1, 1), None).unwrap_err();
    assert!(err.to_string().contains("base64"), "{err}");
}
