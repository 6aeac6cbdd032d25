//! JWE interop between `eudi_trust::jwe` and `jose` 6 (github.com/panva/jose), driven through
//! `tests/interop/jose.mjs`: what HAIP 1.0 uses for OpenID4VP `direct_post.jwt` and OpenID4VCI
//! credential response encryption (`ECDH-ES` on P-256 with `A128GCM` and `A256GCM`).
//!
//! Both directions, both content encryptions, with `kid`, `apu` and `apv`; and both sides must
//! refuse a token whose tag or ciphertext was changed, and this side must refuse what HAIP does
//! not allow even when a peer makes it (key wrapping, CBC). Keys are fresh on every run and are
//! always made by `jose`, so a key this side could not export is never needed.
//!
//! Needs `npm ci --prefix tests/interop`; without it every test fails and says so.

use std::error::Error;

use eudi_tests::run_node;
use eudi_trust::b64;
use eudi_trust::jwe::ContentEncryption;
use eudi_trust::jwe::DecryptionKey;
use eudi_trust::jwe::EncryptOptions;
use eudi_trust::jwe::JweError;
use eudi_trust::jwe::{self};
use eudi_trust::jwk::Jwk;
use eudi_trust::jwk::PrivateJwk;
use serde_json::Value;
use serde_json::json;

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

/// A `vp_token` response as a wallet sends it in `direct_post.jwt`.
const PLAINTEXT: &str =
    r#"{"vp_token":{"pid":["eyJhbGciOiJFUzI1NiJ9.e30.c2ln~"]},"state":"æøå-1"}"#;

struct PeerKey {
    public: Jwk,
    private: Value,
}

fn peer_key() -> Result<PeerKey> {
    let pair = run_node("jose.mjs", "keypair", &json!({}))?;
    Ok(PeerKey {
        public: serde_json::from_value(pair["publicJwk"].clone())?,
        private: pair["privateJwk"].clone(),
    })
}

fn our_key(peer: &PeerKey) -> Result<DecryptionKey> {
    let private: PrivateJwk = serde_json::from_value(peer.private.clone())?;
    Ok(DecryptionKey::from_private_jwk(&private)?)
}

fn npm_decrypt(token: &str, key: &PeerKey) -> Result<Value> {
    Ok(run_node(
        "jose.mjs",
        "decrypt",
        &json!({"jwe": token, "privateJwk": key.private}),
    )?)
}

fn npm_encrypt(key: &PeerKey, alg: &str, enc: &str) -> Result<String> {
    let out = run_node(
        "jose.mjs",
        "encrypt",
        &json!({
            "plaintext": PLAINTEXT,
            "publicJwk": key.public,
            "alg": alg,
            "enc": enc,
            "kid": "rp-enc-1",
            "apu": b64::encode(b"wallet-nonce"),
            "apv": b64::encode(b"verifier-nonce"),
        }),
    )?;
    out["jwe"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("jose.mjs encrypt printed no `jwe`: {out}").into())
}

/// Changes one character in the middle of part `index` of a compact JWE (0 header … 4 tag),
/// keeping it base64url.
fn tamper(token: &str, index: usize) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    if let Some(part) = parts.get_mut(index) {
        let mut bytes = part.clone().into_bytes();
        let at = bytes.len() / 2;
        if let Some(b) = bytes.get_mut(at) {
            *b = if *b == b'A' { b'B' } else { b'A' };
        }
        *part = String::from_utf8(bytes).unwrap_or_default();
    }
    parts.join(".")
}

#[test]
fn npm_decrypts_what_we_encrypt_with_both_encryptions() -> Result<()> {
    let key = peer_key()?;
    for enc in ContentEncryption::ALL {
        let options = EncryptOptions {
            kid: Some("rp-enc-1".into()),
            apu: Some(b"wallet-nonce".to_vec()),
            apv: Some(b"verifier-nonce".to_vec()),
            typ: None,
            cty: None,
        };
        let token = jwe::encrypt(PLAINTEXT.as_bytes(), &key.public, enc, &options)?;
        let out = npm_decrypt(&token, &key)?;
        assert_eq!(out["ok"], true, "{enc:?}: {out}");
        assert_eq!(out["plaintext"], PLAINTEXT, "{enc:?}");
        let header = &out["header"];
        assert_eq!(header["alg"], "ECDH-ES");
        assert_eq!(header["enc"], enc.jose_name());
        assert_eq!(header["kid"], "rp-enc-1");
        assert_eq!(header["apu"], b64::encode(b"wallet-nonce"));
        assert_eq!(header["apv"], b64::encode(b"verifier-nonce"));
        assert_eq!(header["epk"]["crv"], "P-256");
        assert!(
            header["epk"].get("d").is_none(),
            "the ephemeral key is public"
        );
    }
    Ok(())
}

#[test]
fn we_decrypt_what_npm_encrypts_with_both_encryptions() -> Result<()> {
    let key = peer_key()?;
    let ours = our_key(&key)?;
    for enc in ContentEncryption::ALL {
        let token = npm_encrypt(&key, "ECDH-ES", enc.jose_name())?;
        let opened = jwe::decrypt(&token, &ours, &ContentEncryption::ALL)?;
        assert_eq!(opened.plaintext, PLAINTEXT.as_bytes(), "{enc:?}");
        assert_eq!(opened.enc, enc);
        assert_eq!(opened.kid(), Some("rp-enc-1"));
        assert_eq!(opened.apu().as_deref(), Some(&b"wallet-nonce"[..]));
        assert_eq!(opened.apv().as_deref(), Some(&b"verifier-nonce"[..]));

        // Only the encryptions the caller allows.
        let other: Vec<ContentEncryption> = ContentEncryption::ALL
            .into_iter()
            .filter(|e| *e != enc)
            .collect();
        let refused = jwe::decrypt(&token, &ours, &other);
        assert!(
            matches!(refused, Err(JweError::UnsupportedEncryption(_))),
            "{refused:?}"
        );
    }
    Ok(())
}

#[test]
fn npm_refuses_our_tokens_when_tampered() -> Result<()> {
    let key = peer_key()?;
    let token = jwe::encrypt(
        PLAINTEXT.as_bytes(),
        &key.public,
        ContentEncryption::A128Gcm,
        &EncryptOptions::default(),
    )?;
    assert_eq!(npm_decrypt(&token, &key)?["ok"], true);
    // IV, ciphertext, tag.
    for part in [2, 3, 4] {
        let out = npm_decrypt(&tamper(&token, part), &key)?;
        assert_eq!(
            out["ok"], false,
            "part {part} changed, yet jose decrypted: {out}"
        );
    }
    // Another recipient's key.
    let other = peer_key()?;
    assert_eq!(npm_decrypt(&token, &other)?["ok"], false);
    Ok(())
}

#[test]
fn we_refuse_npm_tokens_when_tampered_or_for_another_key() -> Result<()> {
    let key = peer_key()?;
    let ours = our_key(&key)?;
    let token = npm_encrypt(&key, "ECDH-ES", "A256GCM")?;
    for part in [3, 4] {
        let refused = jwe::decrypt(&tamper(&token, part), &ours, &ContentEncryption::ALL);
        assert!(
            matches!(refused, Err(JweError::Decryption)),
            "part {part}: {refused:?}"
        );
    }
    // A changed protected header is authenticated data: the tag no longer verifies, or the
    // header no longer parses; either way nothing is decrypted.
    assert!(jwe::decrypt(&tamper(&token, 0), &ours, &ContentEncryption::ALL).is_err());
    let other = our_key(&peer_key()?)?;
    let refused = jwe::decrypt(&token, &other, &ContentEncryption::ALL);
    assert!(matches!(refused, Err(JweError::Decryption)), "{refused:?}");
    Ok(())
}

#[test]
fn we_refuse_what_haip_does_not_allow_even_from_a_real_peer() -> Result<()> {
    let key = peer_key()?;
    let ours = our_key(&key)?;

    let wrapped = npm_encrypt(&key, "ECDH-ES+A128KW", "A128GCM")?;
    let refused = jwe::decrypt(&wrapped, &ours, &ContentEncryption::ALL);
    assert!(
        matches!(&refused, Err(JweError::UnsupportedAlgorithm(alg)) if alg == "ECDH-ES+A128KW"),
        "{refused:?}"
    );

    let cbc = npm_encrypt(&key, "ECDH-ES", "A128CBC-HS256")?;
    let refused = jwe::decrypt(&cbc, &ours, &ContentEncryption::ALL);
    assert!(
        matches!(&refused, Err(JweError::UnsupportedEncryption(enc)) if enc == "A128CBC-HS256"),
        "{refused:?}"
    );
    Ok(())
}
