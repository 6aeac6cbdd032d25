//! Status List Token in CWT form (§5.2): an untagged-as-CWT `COSE_Sign1_Tagged` (tag 18) whose
//! protected header carries `alg` and type 16 = `application/statuslist+cwt`.

use ciborium::Value;
use coset::CoseSign1;
use coset::CoseSign1Builder;
use coset::Label;
use coset::ProtectedHeader;
use coset::RegisteredLabelWithPrivate;
use coset::TaggedCborSerializable as _;
use coset::iana;
use coset::iana::EnumI64 as _;
use eudi_cbor::Budget;
use eudi_cbor::cose;
use eudi_cbor::cose::HEADER_TYPE;
use eudi_cbor::cose::HEADER_X5CHAIN;
use eudi_trust::Algorithm;
use eudi_trust::AlgorithmPolicy;
use eudi_trust::Signer;
use eudi_trust::VerifyingKey;

use crate::StatusList;
use crate::StatusListError;
use crate::StatusListIssueError;
use crate::StatusListTokenBuilder;
use crate::VerifiedStatusList;
use crate::VerifyOptions;
use crate::token::CWT_TYPE;
use crate::token::Claims;
/// CWT claim keys (RFC 8392 §4, §5.2 of the draft).
const CLAIM_SUB: i64 = 2;
const CLAIM_EXP: i64 = 4;
const CLAIM_NBF: i64 = 5;
const CLAIM_IAT: i64 = 6;
const CLAIM_STATUS_LIST: i64 = 65533;
const CLAIM_TTL: i64 = 65534;

impl StatusListTokenBuilder<'_> {
    /// Signs the token as a `COSE_Sign1_Tagged` CWT. The protected header carries `alg`, type 16
    /// `application/statuslist+cwt`, and `kid` / `x5chain` when set.
    pub async fn sign_cwt(&self, signer: &dyn Signer) -> Result<Vec<u8>, StatusListIssueError> {
        self.check()?;
        let alg_id = signer.algorithm().cose_id();
        let alg = iana::Algorithm::from_i64(alg_id)
            .ok_or_else(|| StatusListIssueError::UnsupportedAlgorithm(alg_id.to_string()))?;
        let mut rest = vec![(Label::Int(HEADER_TYPE), Value::Text(CWT_TYPE.into()))];
        match self.x5c.as_slice() {
            [] => {}
            [leaf] => rest.push((Label::Int(HEADER_X5CHAIN), Value::Bytes(leaf.clone()))),
            chain => rest.push((
                Label::Int(HEADER_X5CHAIN),
                Value::Array(chain.iter().cloned().map(Value::Bytes).collect()),
            )),
        }
        let protected = coset::Header {
            alg: Some(RegisteredLabelWithPrivate::Assigned(alg)),
            key_id: self
                .kid
                .as_ref()
                .map(|k| k.as_bytes().to_vec())
                .unwrap_or_default(),
            rest,
            ..coset::Header::default()
        };

        let int = |n: i64| Value::Integer(n.into());
        let mut claims = vec![
            (int(CLAIM_SUB), Value::Text(self.uri.clone())),
            (int(CLAIM_IAT), int(self.iat)),
        ];
        if let Some(exp) = self.exp {
            claims.push((int(CLAIM_EXP), int(exp)));
        }
        if let Some(ttl) = self.ttl {
            claims.push((int(CLAIM_TTL), Value::Integer(ttl.into())));
        }
        claims.push((int(CLAIM_STATUS_LIST), self.list.to_cbor_value()?));
        let payload = crate::list::to_vec(&Value::Map(claims))?;

        // Signed outside coset's closure, which cannot await the signer.
        let mut sign1 = CoseSign1Builder::new()
            .protected(protected)
            .payload(payload)
            .build();
        sign1.signature = signer.sign(&sign1.tbs_data(&[])).await?;
        sign1
            .to_tagged_vec()
            .map_err(|e| StatusListIssueError::Encoding(e.to_string()))
    }
}

/// A Status List Token in CWT form, decoded but not yet trusted.
///
/// Read [`kid`](Self::kid) or [`x5chain`](Self::x5chain) to choose the key, then call
/// [`verify`](Self::verify). The claims are decoded only after the signature checks.
#[derive(Debug, Clone)]
pub struct UnverifiedStatusListCwt {
    sign1: CoseSign1,
    kid: Option<Vec<u8>>,
    x5chain: Vec<Vec<u8>>,
    options: VerifyOptions,
}

impl UnverifiedStatusListCwt {
    /// Parses a CWT with the default [`VerifyOptions`].
    pub fn parse(bytes: &[u8]) -> Result<Self, StatusListError> {
        Self::parse_with_options(bytes, VerifyOptions::default())
    }

    /// Parses a CWT; `options` also governs the later [`verify`](Self::verify).
    ///
    /// The input must be exactly one `COSE_Sign1_Tagged` item (tag 18), not wrapped in the CWT
    /// tag 61 (§5.2), within [`Limits::max_token_bytes`](crate::Limits::max_token_bytes) and
    /// [`Limits::max_cbor_items`](crate::Limits::max_cbor_items).
    pub fn parse_with_options(
        bytes: &[u8],
        options: VerifyOptions,
    ) -> Result<Self, StatusListError> {
        let limits = options.limits;
        if bytes.len() > limits.max_token_bytes {
            return Err(StatusListError::TokenTooLarge {
                len: bytes.len(),
                limit: limits.max_token_bytes,
            });
        }
        let malformed = |why: &str| StatusListError::MalformedCwt(why.into());
        // One item budget for the token and the protected header embedded in it.
        let mut budget = Budget::with_max_items(limits.max_cbor_items);
        let item = eudi_cbor::decode(bytes, &mut budget).map_err(StatusListError::Cbor)?;
        match item.as_tag() {
            Some((cose::TAG_COSE_SIGN1, _)) => {}
            Some((cose::TAG_CWT, _)) => {
                return Err(malformed("must not be wrapped in the CWT tag 61"));
            }
            Some((cose::TAG_COSE_MAC0, _)) => {
                return Err(malformed("COSE_Mac0 is not accepted, only COSE_Sign1"));
            }
            _ => return Err(malformed("not a COSE_Sign1 tagged 18")),
        }
        let sign1 = cose::decode_sign1(&item, &mut budget).map_err(|e| match e {
            cose::CoseError::ProtectedHeader { source, .. } => StatusListError::Cbor(source),
            e => StatusListError::MalformedCwt(e.to_string()),
        })?;
        if sign1.payload.is_none() {
            return Err(malformed("payload is detached"));
        }

        let kid = [&sign1.protected.header, &sign1.unprotected]
            .into_iter()
            .map(|h| &h.key_id)
            .find(|k| !k.is_empty())
            .cloned();
        let x5chain = cose::x5chain(&sign1.protected.header, &sign1.unprotected)
            .map_err(|_| malformed("x5chain is not a byte string or array of them"))?
            .unwrap_or_default()
            .into_iter()
            .map(<[u8]>::to_vec)
            .collect();
        Ok(Self {
            sign1,
            kid,
            x5chain,
            options,
        })
    }

    /// The key identifier (label 4), protected header first.
    pub fn kid(&self) -> Option<&[u8]> {
        self.kid.as_deref()
    }

    /// The X.509 chain (label 33), DER, leaf first, protected header first; empty if absent.
    pub fn x5chain(&self) -> &[Vec<u8>] {
        &self.x5chain
    }

    /// The algorithm the protected header names, if it is one this workspace knows.
    pub fn algorithm(&self) -> Option<Algorithm> {
        cose_algorithm(&self.sign1).ok()
    }

    /// The parsed `COSE_Sign1`, for header parameters not exposed above.
    pub fn cose_sign1(&self) -> &CoseSign1 {
        &self.sign1
    }

    /// Verifies the token as a Status List Token for `expected_uri` at time `now` (seconds since
    /// the epoch): no critical headers, protected type 16 is `application/statuslist+cwt`, the
    /// protected `alg` is allowed by `policy` and matches `key`, the RFC 9052 `Sig_structure`
    /// signature verifies, claim 2 (`sub`) equals `expected_uri`, claim 6 (`iat`) is present,
    /// claim 4 (`exp`, if present) has not passed and claim 5 (`nbf`, if present) has, both
    /// within the clock skew; then claim 65533 is decompressed within the limits.
    pub fn verify(
        &self,
        key: &VerifyingKey,
        policy: &AlgorithmPolicy,
        expected_uri: &str,
        now: i64,
    ) -> Result<VerifiedStatusList, StatusListError> {
        let protected: &ProtectedHeader = &self.sign1.protected;
        if !protected.header.crit.is_empty() {
            return Err(StatusListError::UnsupportedCritical);
        }
        check_type(protected)?;
        let alg = cose_algorithm(&self.sign1)?;
        if !policy.allows(alg) {
            return Err(StatusListError::AlgorithmNotAllowed(alg));
        }
        if alg != key.algorithm() {
            return Err(StatusListError::AlgorithmKeyMismatch {
                token: alg,
                key: key.algorithm(),
            });
        }
        // RFC 9052 §4.4 Sig_structure over the protected header as received.
        let tbs = cose::sign1_tbs(&self.sign1)
            .map_err(|e| StatusListError::MalformedCwt(e.to_string()))?;
        key.verify(&tbs, &self.sign1.signature)
            .map_err(|_| StatusListError::BadSignature)?;
        let payload = self
            .sign1
            .payload
            .as_deref()
            .ok_or_else(|| StatusListError::MalformedCwt("payload is detached".into()))?;
        parse_claims(payload, &self.options)?.check(expected_uri, now, self.options.clock_skew_secs)
    }
}

fn check_type(protected: &ProtectedHeader) -> Result<(), StatusListError> {
    let found = protected
        .header
        .rest
        .iter()
        .find(|(l, _)| *l == Label::Int(HEADER_TYPE))
        .map(|(_, v)| v);
    match found {
        // Media types compare case-insensitively (RFC 6838 §4.2).
        Some(Value::Text(t)) if t.eq_ignore_ascii_case(CWT_TYPE) => Ok(()),
        Some(Value::Text(t)) => Err(StatusListError::WrongCwtType {
            found: format!("{t:?}"),
        }),
        // The draft's CoAP Content-Format ID is still "TBD", so no number is accepted yet.
        Some(Value::Integer(i)) => Err(StatusListError::WrongCwtType {
            found: format!("content format {}", i128::from(*i)),
        }),
        Some(_) => Err(StatusListError::WrongCwtType {
            found: "not a text string".into(),
        }),
        None => Err(StatusListError::WrongCwtType {
            found: "absent".into(),
        }),
    }
}

/// The protected `alg`; an unprotected one is never used (RFC 9052 §3.1 wants it protected).
fn cose_algorithm(sign1: &CoseSign1) -> Result<Algorithm, StatusListError> {
    cose::algorithm(&sign1.protected.header).map_err(|e| match e {
        cose::AlgError::Absent => {
            StatusListError::UnsupportedAlgorithm("(absent from the protected header)".into())
        }
        cose::AlgError::Unknown(alg) => StatusListError::UnsupportedAlgorithm(alg),
        other => StatusListError::UnsupportedAlgorithm(other.to_string()),
    })
}

fn parse_claims(payload: &[u8], options: &VerifyOptions) -> Result<Claims, StatusListError> {
    let value = eudi_cbor::decode_value(payload, options.limits.max_cbor_items)
        .map_err(StatusListError::Cbor)?;
    let entries = value
        .as_map()
        .ok_or_else(|| StatusListError::MalformedCwt("claims set is not a map".into()))?;
    let claim = |label: i64, name: &'static str| {
        eudi_cbor::int_key(entries, label).map_err(|_| StatusListError::InvalidClaim {
            claim: name,
            reason: "appears more than once",
        })
    };
    let sub = match claim(CLAIM_SUB, "sub (2)")? {
        None => return Err(StatusListError::MissingClaim("sub (2)")),
        Some(Value::Text(s)) => s.clone(),
        Some(_) => {
            return Err(StatusListError::InvalidClaim {
                claim: "sub (2)",
                reason: "not a text string",
            });
        }
    };
    let iat = numeric_date(claim(CLAIM_IAT, "iat (6)")?, "iat (6)")?
        .ok_or(StatusListError::MissingClaim("iat (6)"))?;
    let exp = numeric_date(claim(CLAIM_EXP, "exp (4)")?, "exp (4)")?;
    let nbf = numeric_date(claim(CLAIM_NBF, "nbf (5)")?, "nbf (5)")?;
    let ttl = match claim(CLAIM_TTL, "ttl (65534)")? {
        None => None,
        Some(Value::Integer(i)) => Some(u64::try_from(*i).ok().filter(|t| *t > 0).ok_or(
            StatusListError::InvalidClaim {
                claim: "ttl (65534)",
                reason: "not a positive integer",
            },
        )?),
        Some(_) => {
            return Err(StatusListError::InvalidClaim {
                claim: "ttl (65534)",
                reason: "not a positive integer",
            });
        }
    };
    let list = claim(CLAIM_STATUS_LIST, "status_list (65533)")?
        .ok_or(StatusListError::MissingClaim("status_list (65533)"))?;
    let list = StatusList::from_cbor_value(list, &options.limits)?;
    Ok(Claims {
        sub,
        iat,
        exp,
        nbf,
        ttl,
        list,
    })
}

/// A CWT NumericDate (RFC 8392 §2): an integer or a finite float, rounded down; tag 1 allowed.
fn numeric_date(
    value: Option<&Value>,
    claim: &'static str,
) -> Result<Option<i64>, StatusListError> {
    let invalid = StatusListError::InvalidClaim {
        claim,
        reason: "not a NumericDate",
    };
    let value = match value {
        None => return Ok(None),
        Some(Value::Tag(1, inner)) => inner.as_ref(),
        Some(v) => v,
    };
    match value {
        Value::Integer(i) => i64::try_from(*i).map(Some).map_err(|_| invalid),
        // `as` saturates for out-of-range floats; a date that far out is clamped, not wrapped.
        Value::Float(f) if f.is_finite() => Ok(Some(f.floor() as i64)),
        _ => Err(invalid),
    }
}

#[cfg(test)]
mod tests {
    use eudi_trust::SoftwareKey;

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
        token: &[u8],
        key: &SoftwareKey,
        now: i64,
    ) -> Result<VerifiedStatusList, StatusListError> {
        UnverifiedStatusListCwt::parse(token)?.verify(
            key.verifying_key(),
            &AlgorithmPolicy::default(),
            URI,
            now,
        )
    }

    fn int(n: i64) -> Value {
        Value::Integer(n.into())
    }

    fn good_claims() -> Vec<(Value, Value)> {
        vec![
            (int(CLAIM_SUB), Value::Text(URI.into())),
            (int(CLAIM_IAT), int(NOW)),
            (
                int(CLAIM_STATUS_LIST),
                small_list().to_cbor_value().unwrap(),
            ),
        ]
    }

    fn typed_protected() -> coset::Header {
        coset::Header {
            alg: Some(RegisteredLabelWithPrivate::Assigned(iana::Algorithm::ES256)),
            rest: vec![(Label::Int(HEADER_TYPE), Value::Text(CWT_TYPE.into()))],
            ..coset::Header::default()
        }
    }

    /// Signs arbitrary headers and claims, for tokens the builder refuses to make.
    fn sign_raw(
        protected: coset::Header,
        unprotected: coset::Header,
        claims: &Value,
        key: &SoftwareKey,
    ) -> Vec<u8> {
        CoseSign1Builder::new()
            .protected(protected)
            .unprotected(unprotected)
            .payload(crate::list::to_vec(claims).unwrap())
            .try_create_signature(&[], |tbs| eudi_bench::block_on(key.sign(tbs)))
            .unwrap()
            .build()
            .to_tagged_vec()
            .unwrap()
    }

    #[tokio::test]
    async fn round_trip_every_bits_value() {
        let key = key();
        for bits in [Bits::One, Bits::Two, Bits::Four, Bits::Eight] {
            let mut list = StatusList::new(bits, 1000).unwrap();
            for i in (0..1000u64).step_by(5) {
                let value = u8::try_from(i % (u64::from(bits.max_status()) + 1)).unwrap();
                list.set_status(i, Status::from(value)).unwrap();
            }
            let cwt = StatusListTokenBuilder::new(URI, &list, NOW)
                .exp(NOW + 3600)
                .ttl(600)
                .sign_cwt(&key)
                .await
                .unwrap();
            assert_eq!(cwt.first(), Some(&0xd2), "tag 18");
            let verified = verify(&cwt, &key, NOW).unwrap();
            assert_eq!(verified.list(), &list);
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
    async fn headers_carry_type_kid_and_x5chain() {
        let key = key();
        let list = small_list();
        for chain in [
            vec![],
            vec![b"leaf".to_vec()],
            vec![b"leaf".to_vec(), b"ca".to_vec()],
        ] {
            let cwt = StatusListTokenBuilder::new(URI, &list, NOW)
                .kid("12")
                .x5c(chain.clone())
                .sign_cwt(&key)
                .await
                .unwrap();
            let token = UnverifiedStatusListCwt::parse(&cwt).unwrap();
            assert_eq!(token.kid(), Some(&b"12"[..]));
            assert_eq!(token.x5chain(), chain.as_slice());
            assert_eq!(token.algorithm(), Some(Algorithm::Es256));
            verify(&cwt, &key, NOW).unwrap();
        }
    }

    #[tokio::test]
    async fn signature_covers_the_rfc_9052_sig_structure() {
        let key = key();
        let list = small_list();
        let cwt = StatusListTokenBuilder::new(URI, &list, NOW)
            .sign_cwt(&key)
            .await
            .unwrap();
        let token = UnverifiedStatusListCwt::parse(&cwt).unwrap();
        let sign1 = token.cose_sign1();
        // Sig_structure = ["Signature1", protected bstr, external_aad h'', payload bstr]
        let tbs = crate::list::to_vec(&Value::Array(vec![
            Value::Text("Signature1".into()),
            Value::Bytes(sign1.protected.original_data.clone().unwrap()),
            Value::Bytes(vec![]),
            Value::Bytes(sign1.payload.clone().unwrap()),
        ]))
        .unwrap();
        key.verifying_key().verify(&tbs, &sign1.signature).unwrap();
    }

    #[tokio::test]
    async fn wrong_key_is_a_bad_signature() {
        let list = small_list();
        let cwt = StatusListTokenBuilder::new(URI, &list, NOW)
            .sign_cwt(&key())
            .await
            .unwrap();
        assert_eq!(
            verify(&cwt, &key(), NOW),
            Err(StatusListError::BadSignature)
        );
    }

    #[tokio::test]
    async fn tampered_lst_is_a_bad_signature() {
        let key = key();
        let list = small_list();
        let cwt = StatusListTokenBuilder::new(URI, &list, NOW)
            .sign_cwt(&key)
            .await
            .unwrap();
        let mut sign1 = CoseSign1::from_tagged_slice(&cwt).unwrap();
        let mut claims = good_claims();
        claims[2].1 = StatusList::new(Bits::One, 16)
            .unwrap()
            .to_cbor_value()
            .unwrap();
        sign1.payload = Some(crate::list::to_vec(&Value::Map(claims)).unwrap());
        let tampered = sign1.to_tagged_vec().unwrap();
        assert_eq!(
            verify(&tampered, &key, NOW),
            Err(StatusListError::BadSignature)
        );
    }

    #[test]
    fn wrong_content_type_is_rejected() {
        let key = key();
        let claims = Value::Map(good_claims());
        let with_type = |v: Value| coset::Header {
            rest: vec![(Label::Int(HEADER_TYPE), v)],
            ..typed_protected()
        };
        for (value, found) in [
            (Value::Text("application/cwt".into()), "\"application/cwt\""),
            (
                Value::Text("application/statuslist+jwt".into()),
                "\"application/statuslist+jwt\"",
            ),
            (int(61), "content format 61"),
            (Value::Bytes(vec![]), "not a text string"),
        ] {
            let cwt = sign_raw(with_type(value), coset::Header::default(), &claims, &key);
            assert_eq!(
                verify(&cwt, &key, NOW),
                Err(StatusListError::WrongCwtType {
                    found: found.into()
                })
            );
        }
        // Absent, or only in the unprotected header, where it is not integrity protected.
        let untyped = coset::Header {
            rest: vec![],
            ..typed_protected()
        };
        let typed_unprotected = coset::Header {
            rest: vec![(Label::Int(HEADER_TYPE), Value::Text(CWT_TYPE.into()))],
            ..coset::Header::default()
        };
        let cwt = sign_raw(untyped, typed_unprotected, &claims, &key);
        assert_eq!(
            verify(&cwt, &key, NOW),
            Err(StatusListError::WrongCwtType {
                found: "absent".into()
            })
        );
        // A content type (label 3) is not the type (label 16).
        let content_type = coset::Header {
            rest: vec![],
            content_type: Some(coset::ContentType::Text(CWT_TYPE.into())),
            ..typed_protected()
        };
        let cwt = sign_raw(content_type, coset::Header::default(), &claims, &key);
        assert_eq!(
            verify(&cwt, &key, NOW),
            Err(StatusListError::WrongCwtType {
                found: "absent".into()
            })
        );
    }

    #[tokio::test]
    async fn sub_mismatch_is_rejected() {
        let key = key();
        let list = small_list();
        let cwt = StatusListTokenBuilder::new("https://example.com/statuslists/2", &list, NOW)
            .sign_cwt(&key)
            .await
            .unwrap();
        assert_eq!(
            verify(&cwt, &key, NOW),
            Err(StatusListError::SubjectMismatch {
                expected: URI.into(),
                found: "https://example.com/statuslists/2".into()
            })
        );
    }

    #[tokio::test]
    async fn expired_token_is_rejected() {
        let key = key();
        let list = small_list();
        let exp = NOW + 100;
        let cwt = StatusListTokenBuilder::new(URI, &list, NOW)
            .exp(exp)
            .sign_cwt(&key)
            .await
            .unwrap();
        verify(&cwt, &key, exp).unwrap();
        let late = exp + i64::try_from(crate::DEFAULT_CLOCK_SKEW_SECS).unwrap();
        assert_eq!(
            verify(&cwt, &key, late),
            Err(StatusListError::Expired { exp, now: late })
        );
    }

    #[test]
    fn claims_are_checked() {
        let key = key();
        let without = |label: i64| {
            Value::Map(
                good_claims()
                    .into_iter()
                    .filter(|(k, _)| *k != int(label))
                    .collect(),
            )
        };
        let with = |extra: (Value, Value)| {
            let mut claims = good_claims();
            claims.push(extra);
            Value::Map(claims)
        };
        for (claims, err) in [
            (without(CLAIM_SUB), StatusListError::MissingClaim("sub (2)")),
            (without(CLAIM_IAT), StatusListError::MissingClaim("iat (6)")),
            (
                without(CLAIM_STATUS_LIST),
                StatusListError::MissingClaim("status_list (65533)"),
            ),
            // A claim twice: the decoder refuses the map (RFC 8949 §5.6) before any lookup.
            (
                with((int(CLAIM_SUB), Value::Text(URI.into()))),
                StatusListError::Cbor(eudi_cbor::CborError::DuplicateKey),
            ),
            (
                with((int(CLAIM_EXP), Value::Text("tomorrow".into()))),
                StatusListError::InvalidClaim {
                    claim: "exp (4)",
                    reason: "not a NumericDate",
                },
            ),
            (
                with((int(CLAIM_TTL), int(0))),
                StatusListError::InvalidClaim {
                    claim: "ttl (65534)",
                    reason: "not a positive integer",
                },
            ),
            (
                with((int(CLAIM_NBF), int(NOW + 3600))),
                StatusListError::NotYetValid {
                    nbf: NOW + 3600,
                    now: NOW,
                },
            ),
            (
                Value::Array(vec![]),
                StatusListError::MalformedCwt("claims set is not a map".into()),
            ),
        ] {
            let cwt = sign_raw(typed_protected(), coset::Header::default(), &claims, &key);
            assert_eq!(verify(&cwt, &key, NOW), Err(err));
        }
        // bits = 3 inside a correctly signed token.
        let mut claims = good_claims();
        claims[2].1 = Value::Map(vec![
            (Value::Text("bits".into()), int(3)),
            (
                Value::Text("lst".into()),
                Value::Bytes(small_list().compress().unwrap()),
            ),
        ]);
        let cwt = sign_raw(
            typed_protected(),
            coset::Header::default(),
            &Value::Map(claims),
            &key,
        );
        assert_eq!(
            verify(&cwt, &key, NOW),
            Err(StatusListError::InvalidBits(3))
        );
        // A tag-1 NumericDate is accepted.
        let cwt = sign_raw(
            typed_protected(),
            coset::Header::default(),
            &with((int(CLAIM_EXP), Value::Tag(1, Box::new(Value::Float(1.8e9))))),
            &key,
        );
        assert_eq!(verify(&cwt, &key, NOW).unwrap().exp(), Some(1_800_000_000));
    }

    #[test]
    fn headers_are_checked() {
        let key = key();
        let claims = Value::Map(good_claims());
        let critical = coset::Header {
            crit: vec![RegisteredLabelWithPrivate::PrivateUse(-65_537)],
            ..typed_protected()
        };
        let cwt = sign_raw(critical, coset::Header::default(), &claims, &key);
        assert_eq!(
            verify(&cwt, &key, NOW),
            Err(StatusListError::UnsupportedCritical)
        );

        let no_alg = coset::Header {
            alg: None,
            ..typed_protected()
        };
        let cwt = sign_raw(no_alg, coset::Header::default(), &claims, &key);
        assert!(matches!(
            verify(&cwt, &key, NOW),
            Err(StatusListError::UnsupportedAlgorithm(_))
        ));

        let hmac = coset::Header {
            alg: Some(RegisteredLabelWithPrivate::Assigned(
                iana::Algorithm::HMAC_256_256,
            )),
            ..typed_protected()
        };
        let cwt = sign_raw(hmac, coset::Header::default(), &claims, &key);
        assert_eq!(
            verify(&cwt, &key, NOW),
            Err(StatusListError::UnsupportedAlgorithm("5".into()))
        );
    }

    #[tokio::test]
    async fn envelope_must_be_cose_sign1_tagged_18() {
        let key = key();
        let list = small_list();
        let cwt = StatusListTokenBuilder::new(URI, &list, NOW)
            .sign_cwt(&key)
            .await
            .unwrap();
        let Value::Tag(18, inner) = eudi_cbor::decode_value(&cwt, 1000).unwrap() else {
            panic!("not tag 18");
        };
        let untagged = crate::list::to_vec(&inner).unwrap();
        let cwt_tagged =
            crate::list::to_vec(&Value::Tag(61, Box::new(Value::Tag(18, inner.clone())))).unwrap();
        let mac0 = crate::list::to_vec(&Value::Tag(17, inner)).unwrap();
        for (bytes, why) in [
            (untagged, "not a COSE_Sign1 tagged 18"),
            (cwt_tagged, "must not be wrapped in the CWT tag 61"),
            (mac0, "COSE_Mac0 is not accepted, only COSE_Sign1"),
        ] {
            assert_eq!(
                UnverifiedStatusListCwt::parse(&bytes).err(),
                Some(StatusListError::MalformedCwt(why.into()))
            );
        }
        let mut trailing = cwt.clone();
        trailing.push(0);
        assert!(UnverifiedStatusListCwt::parse(&trailing).is_err());

        let mut detached = CoseSign1::from_tagged_slice(&cwt).unwrap();
        detached.payload = None;
        let detached = detached.to_tagged_vec().unwrap();
        assert_eq!(
            UnverifiedStatusListCwt::parse(&detached).err(),
            Some(StatusListError::MalformedCwt("payload is detached".into()))
        );
    }

    #[tokio::test]
    async fn input_limits_apply() {
        let key = key();
        let list = small_list();
        let cwt = StatusListTokenBuilder::new(URI, &list, NOW)
            .sign_cwt(&key)
            .await
            .unwrap();
        let mut options = VerifyOptions::default();
        options.limits.max_token_bytes = cwt.len() - 1;
        assert_eq!(
            UnverifiedStatusListCwt::parse_with_options(&cwt, options).err(),
            Some(StatusListError::TokenTooLarge {
                len: cwt.len(),
                limit: cwt.len() - 1
            })
        );
        // An unprotected header of a million small integers is refused before it is decoded.
        let flood = coset::Header {
            rest: vec![(Label::Int(-70_000), Value::Array(vec![int(0); 1 << 20]))],
            ..coset::Header::default()
        };
        let cwt = sign_raw(typed_protected(), flood, &Value::Map(good_claims()), &key);
        assert_eq!(
            UnverifiedStatusListCwt::parse(&cwt).err(),
            Some(StatusListError::Cbor(eudi_cbor::CborError::TooManyItems {
                max: crate::DEFAULT_MAX_CBOR_ITEMS
            }))
        );
    }

    #[test]
    fn garbage_is_rejected_without_panicking() {
        for garbage in [
            &[][..],
            &[0xd2],
            &[0xd2, 0x84],
            &[0xd2, 0x84, 0x40, 0xa0, 0xf6, 0x40],
            &[0xd2, 0x84, 0x41, 0xff, 0xa0, 0x40, 0x40],
            &[0xd2, 0x80],
            &[0xff; 16],
            b"eyJhbGciOiJFUzI1NiJ9.e30.",
        ] {
            let parsed = UnverifiedStatusListCwt::parse(garbage);
            assert!(
                parsed
                    .and_then(|t| t.verify(
                        key().verifying_key(),
                        &AlgorithmPolicy::default(),
                        URI,
                        NOW
                    ))
                    .is_err(),
                "{garbage:02x?}"
            );
        }
    }

    #[tokio::test]
    async fn index_out_of_range_is_an_error() {
        let key = key();
        let list = small_list();
        let cwt = StatusListTokenBuilder::new(URI, &list, NOW)
            .sign_cwt(&key)
            .await
            .unwrap();
        assert_eq!(
            verify(&cwt, &key, NOW).unwrap().status_at(16),
            Err(StatusListError::IndexOutOfRange { idx: 16, len: 16 })
        );
    }
}
