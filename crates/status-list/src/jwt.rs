//! Status List Token in JWT form (§5.1).

use eudi_trust::AlgorithmPolicy;
use eudi_trust::Signer;
use eudi_trust::VerifyingKey;
use eudi_trust::jws::CompactJws;
use eudi_trust::jws::Header;
use eudi_trust::jws::sign_compact;
use serde_json::Map;
use serde_json::Value;

use crate::StatusList;
use crate::StatusListError;
use crate::StatusListIssueError;
use crate::StatusListTokenBuilder;
use crate::VerifiedStatusList;
use crate::VerifyOptions;
use crate::token::Claims;
use crate::token::JWT_TYPE;

/// `typ` values accepted on input: RFC 7515 §4.1.9 lets `application/` be omitted or not.
const ACCEPTED_TYPES: [&str; 2] = [JWT_TYPE, "application/statuslist+jwt"];

impl StatusListTokenBuilder<'_> {
    /// Signs the token as a compact JWT with `typ` `statuslist+jwt` and `alg` from the signer.
    pub async fn sign_jwt(&self, signer: &dyn Signer) -> Result<String, StatusListIssueError> {
        self.check()?;
        let mut header = Header::new(signer.algorithm(), Some(JWT_TYPE));
        header.kid.clone_from(&self.kid);
        if !self.x5c.is_empty() {
            header.x5c = Some(self.x5c.iter().map(eudi_trust::b64::encode_std).collect());
        }
        let mut claims = Map::new();
        claims.insert("sub".into(), Value::from(self.uri.as_str()));
        claims.insert("iat".into(), Value::from(self.iat));
        if let Some(exp) = self.exp {
            claims.insert("exp".into(), Value::from(exp));
        }
        if let Some(ttl) = self.ttl {
            claims.insert("ttl".into(), Value::from(ttl));
        }
        claims.insert("status_list".into(), self.list.to_json()?);
        let payload = serde_json::to_vec(&Value::Object(claims))
            .map_err(|e| StatusListIssueError::Encoding(e.to_string()))?;
        sign_compact(&header, &payload, signer)
            .await
            .map_err(StatusListIssueError::from_jws)
    }
}

/// A Status List Token in JWT form, split and decoded but not yet trusted.
///
/// Read [`header`](Self::header) to choose the key (`kid`, `x5c`), then call
/// [`verify`](Self::verify). Nothing from the payload is exposed before the signature checks.
#[derive(Debug, Clone)]
pub struct UnverifiedStatusListJwt<'a> {
    jws: CompactJws<'a>,
    options: VerifyOptions,
}

impl<'a> UnverifiedStatusListJwt<'a> {
    /// Parses a compact JWT with the default [`VerifyOptions`].
    pub fn parse(token: &'a str) -> Result<Self, StatusListError> {
        Self::parse_with_options(token, VerifyOptions::default())
    }

    /// Parses a compact JWT; `options` also governs the later [`verify`](Self::verify).
    pub fn parse_with_options(
        token: &'a str,
        options: VerifyOptions,
    ) -> Result<Self, StatusListError> {
        let limit = options.limits.max_token_bytes;
        if token.len() > limit {
            return Err(StatusListError::TokenTooLarge {
                len: token.len(),
                limit,
            });
        }
        let jws = CompactJws::parse(token).map_err(StatusListError::from_jws)?;
        Ok(Self { jws, options })
    }

    /// The protected header: `alg`, `kid`, `x5c` (standard base64 DER, leaf first), `typ`.
    pub fn header(&self) -> &Header {
        self.jws.header()
    }

    /// Verifies the token as a Status List Token for `expected_uri` at time `now` (seconds since
    /// the epoch): `typ` is `statuslist+jwt`, `alg` is allowed by `policy` and matches `key`,
    /// the signature verifies, `sub` equals `expected_uri`, `iat` is present, `exp` (if present)
    /// has not passed and `nbf` (if present) has, both within the configured clock skew; then
    /// the Status List is decompressed within the configured limits.
    pub fn verify(
        &self,
        key: &VerifyingKey,
        policy: &AlgorithmPolicy,
        expected_uri: &str,
        now: i64,
    ) -> Result<VerifiedStatusList, StatusListError> {
        self.jws
            .header()
            .require_typ(&ACCEPTED_TYPES)
            .map_err(StatusListError::from_jws)?;
        self.jws
            .verify(key, policy)
            .map_err(StatusListError::from_jws)?;
        let claims = self.jws.payload_json().map_err(StatusListError::from_jws)?;
        parse_claims(&claims, &self.options)?.check(expected_uri, now, self.options.clock_skew_secs)
    }
}

fn parse_claims(
    claims: &Map<String, Value>,
    options: &VerifyOptions,
) -> Result<Claims, StatusListError> {
    let sub = match claims.get("sub") {
        None => return Err(StatusListError::MissingClaim("sub")),
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            return Err(StatusListError::InvalidClaim {
                claim: "sub",
                reason: "not a string",
            });
        }
    };
    let iat = numeric_date(claims, "iat")?.ok_or(StatusListError::MissingClaim("iat"))?;
    let exp = numeric_date(claims, "exp")?;
    let nbf = numeric_date(claims, "nbf")?;
    let ttl =
        match claims.get("ttl") {
            None => None,
            Some(v) => Some(v.as_u64().filter(|t| *t > 0).ok_or(
                StatusListError::InvalidClaim {
                    claim: "ttl",
                    reason: "not a positive integer",
                },
            )?),
        };
    let list = claims
        .get("status_list")
        .ok_or(StatusListError::MissingClaim("status_list"))?;
    let list = StatusList::from_json(list, &options.limits)?;
    Ok(Claims {
        sub,
        iat,
        exp,
        nbf,
        ttl,
        list,
    })
}

/// A JWT NumericDate (RFC 7519 §2): an integer or a finite number of seconds, rounded down.
fn numeric_date(
    claims: &Map<String, Value>,
    claim: &'static str,
) -> Result<Option<i64>, StatusListError> {
    let Some(value) = claims.get(claim) else {
        return Ok(None);
    };
    let invalid = StatusListError::InvalidClaim {
        claim,
        reason: "not a NumericDate",
    };
    if let Some(n) = value.as_i64() {
        return Ok(Some(n));
    }
    match value.as_f64() {
        // `as` saturates for out-of-range floats; a date that far out is clamped, not wrapped.
        Some(f) if f.is_finite() && value.is_f64() => Ok(Some(f.floor() as i64)),
        _ => Err(invalid),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use eudi_trust::Algorithm;
    use eudi_trust::SoftwareKey;
    use eudi_trust::b64;
    use serde_json::json;

    use super::*;
    use crate::Bits;
    use crate::Status;

    const URI: &str = "https://example.com/statuslists/1";
    const NOW: i64 = 1_700_000_000;

    fn key() -> SoftwareKey {
        SoftwareKey::generate(Algorithm::Es256).unwrap()
    }

    fn small_list() -> StatusList {
        let mut list = StatusList::new(Bits::One, 16).unwrap();
        list.set_status(0, Status::Invalid).unwrap();
        list
    }

    fn verify(
        token: &str,
        key: &SoftwareKey,
        now: i64,
    ) -> Result<VerifiedStatusList, StatusListError> {
        UnverifiedStatusListJwt::parse(token)?.verify(
            key.verifying_key(),
            &AlgorithmPolicy::default(),
            URI,
            now,
        )
    }

    /// Signs an arbitrary header and payload, for tokens the builder refuses to make.
    fn sign_raw(header: &Header, payload: &Value, key: &SoftwareKey) -> String {
        eudi_bench::block_on(sign_compact(
            header,
            &serde_json::to_vec(payload).unwrap(),
            key,
        ))
        .unwrap()
    }

    fn typed_header() -> Header {
        Header::new(Algorithm::Es256, Some(JWT_TYPE))
    }

    #[tokio::test]
    async fn round_trip_every_bits_value() {
        let key = key();
        for bits in [Bits::One, Bits::Two, Bits::Four, Bits::Eight] {
            let mut list = StatusList::new(bits, 1000).unwrap();
            for i in (0..1000u64).step_by(7) {
                let value = u8::try_from(i % (u64::from(bits.max_status()) + 1)).unwrap();
                list.set_status(i, Status::from(value)).unwrap();
            }
            let jwt = StatusListTokenBuilder::new(URI, &list, NOW)
                .exp(NOW + 3600)
                .ttl(600)
                .sign_jwt(&key)
                .await
                .unwrap();
            let verified = verify(&jwt, &key, NOW).unwrap();
            assert_eq!(verified.list(), &list);
            assert_eq!(verified.list().bits(), bits);
            assert_eq!(verified.uri(), URI);
            assert_eq!(verified.iat(), NOW);
            assert_eq!(verified.exp(), Some(NOW + 3600));
            assert_eq!(verified.ttl(), Some(600));
            for i in 0..list.len() {
                assert_eq!(verified.status_at(i), list.status(i));
            }
        }
    }

    #[tokio::test]
    async fn header_carries_typ_kid_and_x5c() {
        let key = key();
        let list = small_list();
        let jwt = StatusListTokenBuilder::new(URI, &list, NOW)
            .kid("k1")
            .x5c(vec![b"leaf".to_vec(), b"ca".to_vec()])
            .sign_jwt(&key)
            .await
            .unwrap();
        let token = UnverifiedStatusListJwt::parse(&jwt).unwrap();
        assert_eq!(token.header().typ.as_deref(), Some("statuslist+jwt"));
        assert_eq!(token.header().alg, "ES256");
        assert_eq!(token.header().kid.as_deref(), Some("k1"));
        assert_eq!(
            token.header().x5c,
            Some(vec!["bGVhZg==".to_string(), "Y2E=".to_string()])
        );
        // Optional claims are left out when not set.
        let payload = CompactJws::parse(&jwt).unwrap().payload_json().unwrap();
        assert!(!payload.contains_key("exp") && !payload.contains_key("ttl"));
        assert_eq!(verify(&jwt, &key, NOW).unwrap().ttl(), None);
    }

    #[tokio::test]
    async fn wrong_key_is_a_bad_signature() {
        let list = small_list();
        let jwt = StatusListTokenBuilder::new(URI, &list, NOW)
            .sign_jwt(&key())
            .await
            .unwrap();
        assert_eq!(
            verify(&jwt, &key(), NOW),
            Err(StatusListError::BadSignature)
        );
    }

    #[tokio::test]
    async fn tampered_lst_is_a_bad_signature() {
        let key = key();
        let list = small_list();
        let jwt = StatusListTokenBuilder::new(URI, &list, NOW)
            .sign_jwt(&key)
            .await
            .unwrap();
        let mut parts: Vec<String> = jwt.split('.').map(String::from).collect();
        let mut payload: Value = serde_json::from_slice(&b64::decode(&parts[1]).unwrap()).unwrap();
        // Un-revoke index 0.
        let clean = StatusList::new(Bits::One, 16).unwrap().to_json().unwrap();
        payload["status_list"] = clean;
        parts[1] = b64::encode(serde_json::to_vec(&payload).unwrap());
        assert_eq!(
            verify(&parts.join("."), &key, NOW),
            Err(StatusListError::BadSignature)
        );
    }

    #[test]
    fn wrong_typ_is_rejected() {
        let key = key();
        let list = small_list();
        let payload = json!({"sub": URI, "iat": NOW, "status_list": list.to_json().unwrap()});
        for typ in [Some("JWT"), Some("statuslist+cwt"), None] {
            let jwt = sign_raw(&Header::new(Algorithm::Es256, typ), &payload, &key);
            assert_eq!(
                verify(&jwt, &key, NOW),
                Err(StatusListError::WrongJwtType {
                    found: typ.map(String::from)
                })
            );
        }
        // The long form and other casing are the same media type.
        for typ in ["application/statuslist+jwt", "StatusList+JWT"] {
            let jwt = sign_raw(&Header::new(Algorithm::Es256, Some(typ)), &payload, &key);
            verify(&jwt, &key, NOW).unwrap();
        }
    }

    #[tokio::test]
    async fn sub_mismatch_is_rejected() {
        let key = key();
        let list = small_list();
        let jwt = StatusListTokenBuilder::new("https://example.com/statuslists/2", &list, NOW)
            .sign_jwt(&key)
            .await
            .unwrap();
        assert_eq!(
            verify(&jwt, &key, NOW),
            Err(StatusListError::SubjectMismatch {
                expected: URI.into(),
                found: "https://example.com/statuslists/2".into()
            })
        );
    }

    #[tokio::test]
    async fn expired_token_is_rejected_after_the_clock_skew() {
        let key = key();
        let list = small_list();
        let exp = NOW + 100;
        let jwt = StatusListTokenBuilder::new(URI, &list, NOW)
            .exp(exp)
            .sign_jwt(&key)
            .await
            .unwrap();
        let skew = i64::try_from(crate::DEFAULT_CLOCK_SKEW_SECS).unwrap();
        verify(&jwt, &key, exp - 1).unwrap();
        verify(&jwt, &key, exp + skew - 1).unwrap();
        assert_eq!(
            verify(&jwt, &key, exp + skew),
            Err(StatusListError::Expired {
                exp,
                now: exp + skew
            })
        );
        let strict = VerifyOptions {
            clock_skew_secs: 0,
            ..VerifyOptions::default()
        };
        let token = UnverifiedStatusListJwt::parse_with_options(&jwt, strict).unwrap();
        assert_eq!(
            token.verify(key.verifying_key(), &AlgorithmPolicy::default(), URI, exp),
            Err(StatusListError::Expired { exp, now: exp })
        );
    }

    #[test]
    fn future_nbf_is_rejected() {
        let key = key();
        let list = small_list();
        let payload = json!({"sub": URI, "iat": NOW, "nbf": NOW + 3600, "status_list": list.to_json().unwrap()});
        let jwt = sign_raw(&typed_header(), &payload, &key);
        assert_eq!(
            verify(&jwt, &key, NOW),
            Err(StatusListError::NotYetValid {
                nbf: NOW + 3600,
                now: NOW
            })
        );
        verify(&jwt, &key, NOW + 3600).unwrap();
    }

    #[test]
    fn missing_and_malformed_claims_are_named() {
        let key = key();
        let lst = small_list().to_json().unwrap();
        for (payload, err) in [
            (
                json!({"iat": NOW, "status_list": lst}),
                StatusListError::MissingClaim("sub"),
            ),
            (
                json!({"sub": 1, "iat": NOW, "status_list": lst}),
                StatusListError::InvalidClaim {
                    claim: "sub",
                    reason: "not a string",
                },
            ),
            (
                json!({"sub": URI, "status_list": lst}),
                StatusListError::MissingClaim("iat"),
            ),
            (
                json!({"sub": URI, "iat": "yesterday", "status_list": lst}),
                StatusListError::InvalidClaim {
                    claim: "iat",
                    reason: "not a NumericDate",
                },
            ),
            (
                json!({"sub": URI, "iat": NOW, "exp": null, "status_list": lst}),
                StatusListError::InvalidClaim {
                    claim: "exp",
                    reason: "not a NumericDate",
                },
            ),
            (
                json!({"sub": URI, "iat": NOW, "ttl": 0, "status_list": lst}),
                StatusListError::InvalidClaim {
                    claim: "ttl",
                    reason: "not a positive integer",
                },
            ),
            (
                json!({"sub": URI, "iat": NOW, "ttl": -5, "status_list": lst}),
                StatusListError::InvalidClaim {
                    claim: "ttl",
                    reason: "not a positive integer",
                },
            ),
            (
                json!({"sub": URI, "iat": NOW}),
                StatusListError::MissingClaim("status_list"),
            ),
            (
                json!({"sub": URI, "iat": NOW, "status_list": {"bits": 3, "lst": lst["lst"]}}),
                StatusListError::InvalidBits(3),
            ),
        ] {
            let jwt = sign_raw(&typed_header(), &payload, &key);
            assert_eq!(verify(&jwt, &key, NOW), Err(err), "{payload}");
        }
        // A fractional NumericDate is accepted and rounded down.
        let payload = json!({"sub": URI, "iat": 1.7e9 + 0.5, "status_list": lst});
        let jwt = sign_raw(&typed_header(), &payload, &key);
        assert_eq!(verify(&jwt, &key, NOW).unwrap().iat(), 1_700_000_000);
    }

    #[test]
    fn decompression_bomb_in_a_signed_token_is_rejected() {
        let key = key();
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..64 {
            encoder.write_all(&zeros).unwrap();
        }
        let bomb = encoder.finish().unwrap();
        let payload =
            json!({"sub": URI, "iat": NOW, "status_list": {"bits": 1, "lst": b64::encode(bomb)}});
        let jwt = sign_raw(&typed_header(), &payload, &key);
        assert_eq!(
            verify(&jwt, &key, NOW),
            Err(StatusListError::DecompressedTooLarge {
                limit: crate::DEFAULT_MAX_DECOMPRESSED_BYTES
            })
        );
    }

    #[tokio::test]
    async fn index_out_of_range_is_an_error() {
        let key = key();
        let list = small_list();
        let jwt = StatusListTokenBuilder::new(URI, &list, NOW)
            .sign_jwt(&key)
            .await
            .unwrap();
        let verified = verify(&jwt, &key, NOW).unwrap();
        assert_eq!(verified.status_at(15), Ok(Status::Valid));
        assert_eq!(
            verified.status_at(16),
            Err(StatusListError::IndexOutOfRange { idx: 16, len: 16 })
        );
    }

    #[tokio::test]
    async fn algorithm_outside_policy_is_rejected() {
        let key384 = SoftwareKey::generate(Algorithm::Es384).unwrap();
        let list = small_list();
        let jwt = StatusListTokenBuilder::new(URI, &list, NOW)
            .sign_jwt(&key384)
            .await
            .unwrap();
        assert_eq!(
            verify(&jwt, &key384, NOW),
            Err(StatusListError::AlgorithmNotAllowed(Algorithm::Es384))
        );
        let both = AlgorithmPolicy::new([Algorithm::Es256, Algorithm::Es384]);
        let token = UnverifiedStatusListJwt::parse(&jwt).unwrap();
        token
            .verify(key384.verifying_key(), &both, URI, NOW)
            .unwrap();
        assert_eq!(
            token.verify(key().verifying_key(), &both, URI, NOW),
            Err(StatusListError::AlgorithmKeyMismatch {
                token: Algorithm::Es384,
                key: Algorithm::Es256
            })
        );
    }

    #[test]
    fn oversized_and_garbage_input_is_rejected() {
        let mut options = VerifyOptions::default();
        options.limits.max_token_bytes = 10;
        assert_eq!(
            UnverifiedStatusListJwt::parse_with_options("a.b.cdefghijk", options).err(),
            Some(StatusListError::TokenTooLarge { len: 13, limit: 10 })
        );
        for garbage in ["", "...", "a.b", "e30.e30.e30", "\u{0}.\u{1}.\u{2}"] {
            assert!(
                UnverifiedStatusListJwt::parse(garbage)
                    .and_then(|t| t.verify(
                        key().verifying_key(),
                        &AlgorithmPolicy::default(),
                        URI,
                        NOW
                    ))
                    .is_err(),
                "{garbage:?}"
            );
        }
    }

    #[tokio::test]
    async fn builder_refuses_bad_claims() {
        let list = small_list();
        assert_eq!(
            StatusListTokenBuilder::new(URI, &list, NOW)
                .ttl(0)
                .sign_jwt(&key())
                .await
                .err(),
            Some(StatusListIssueError::InvalidInput {
                field: "ttl",
                reason: "must be positive"
            })
        );
        assert_eq!(
            StatusListTokenBuilder::new("not a uri", &list, NOW)
                .sign_jwt(&key())
                .await
                .err(),
            Some(StatusListIssueError::InvalidInput {
                field: "sub",
                reason: "must be a URI"
            })
        );
    }
}
