//! JSON Web Keys (RFC 7517) for EC keys and (verify-only) RSA keys, and RFC 7638 thumbprints.

use std::fmt;

use aws_lc_rs::digest;
use serde::Deserialize;
use serde::Serialize;
use zeroize::Zeroize as _;

use crate::b64;
use crate::key::Algorithm;
use crate::key::KeyError;
use crate::key::VerifyingKey;

/// A public JSON Web Key: EC (`crv`, `x`, `y`) or RSA (`n`, `e`, for verification only). Only
/// the members this workspace uses are typed.
///
/// The type has no private member, so serializing it can never write `d` (nor RSA's private
/// members): a JWKS built from these keys is safe to publish. Deserializing a JWK that carries
/// `d` *drops* it, like any member not typed here, rather than refusing the key: the public half
/// of a private test key is a valid public key, and a trust file made from one must not make its
/// key private again by being copied. Private keys are read with [`PrivateJwk`], whose `d` is
/// wiped on drop and never printed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type: `EC`, or `RSA` for keys that only verify (RS256).
    pub kty: String,
    /// Curve name (`P-256`, `P-384`, `P-521`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// Affine x coordinate, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// Affine y coordinate, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// RSA modulus, base64url (RFC 7518 §6.3.1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent, base64url (RFC 7518 §6.3.1.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// Key identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Intended algorithm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Intended use (`sig`, `enc`).
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
}

impl fmt::Debug for Jwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwk")
            .field("kty", &self.kty)
            .field("crv", &self.crv)
            .field("x", &self.x)
            .field("y", &self.y)
            .field("n", &self.n)
            .field("e", &self.e)
            .field("kid", &self.kid)
            .finish()
    }
}

/// A JWK Set (RFC 7517 §5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwkSet {
    /// The keys.
    pub keys: Vec<Jwk>,
}

impl Jwk {
    /// A public EC JWK from its members.
    pub fn ec(crv: &str, x: String, y: String) -> Self {
        Self {
            kty: "EC".into(),
            crv: Some(crv.into()),
            x: Some(x),
            y: Some(y),
            n: None,
            e: None,
            kid: None,
            alg: None,
            use_: None,
        }
    }

    /// A public RSA JWK from its base64url members `n` and `e` (for verification only).
    pub fn rsa(n: String, e: String) -> Self {
        Self {
            kty: "RSA".into(),
            crv: None,
            x: None,
            y: None,
            n: Some(n),
            e: Some(e),
            kid: None,
            alg: None,
            use_: None,
        }
    }

    /// The same key. A [`Jwk`] never holds a private part, so this is a clone; kept for
    /// callers written when it did.
    pub fn public(&self) -> Self {
        self.clone()
    }

    /// The algorithm implied by the curve, or RS256 for an RSA key (whose `alg`, when present,
    /// must be `RS256`: other RSA algorithms are not supported).
    pub fn algorithm(&self) -> Result<Algorithm, KeyError> {
        self.as_public_ref().algorithm()
    }

    /// The public members, borrowed.
    pub fn as_public_ref(&self) -> JwkRef<'_> {
        JwkRef {
            kty: &self.kty,
            crv: self.crv.as_deref(),
            x: self.x.as_deref(),
            y: self.y.as_deref(),
            n: self.n.as_deref(),
            e: self.e.as_deref(),
            alg: self.alg.as_deref(),
        }
    }

    /// Parses the public key, checking that the point is on the curve (or, for RSA, the modulus
    /// size).
    pub fn to_verifying_key(&self) -> Result<VerifyingKey, KeyError> {
        self.as_public_ref().to_verifying_key()
    }

    /// The RFC 7638 SHA-256 thumbprint, base64url encoded.
    ///
    /// For EC keys the hash input is exactly `{"crv":…,"kty":…,"x":…,"y":…}` with the members in
    /// lexicographic order and no white space (RFC 7638 §3.2); for RSA keys it is
    /// `{"e":…,"kty":"RSA","n":…}`.
    pub fn thumbprint(&self) -> String {
        if self.kty == "RSA" {
            let mut input = String::with_capacity(400);
            input.push_str("{\"e\":");
            push_json_string(&mut input, self.e.as_deref().unwrap_or_default());
            input.push_str(",\"kty\":");
            push_json_string(&mut input, &self.kty);
            input.push_str(",\"n\":");
            push_json_string(&mut input, self.n.as_deref().unwrap_or_default());
            input.push('}');
            return b64::encode(digest::digest(&digest::SHA256, input.as_bytes()));
        }
        let mut input = String::with_capacity(160);
        input.push_str("{\"crv\":");
        push_json_string(&mut input, self.crv.as_deref().unwrap_or_default());
        input.push_str(",\"kty\":");
        push_json_string(&mut input, &self.kty);
        input.push_str(",\"x\":");
        push_json_string(&mut input, self.x.as_deref().unwrap_or_default());
        input.push_str(",\"y\":");
        push_json_string(&mut input, self.y.as_deref().unwrap_or_default());
        input.push('}');
        b64::encode(digest::digest(&digest::SHA256, input.as_bytes()))
    }
}

/// A private EC JSON Web Key (RFC 7518 §6.2.2): the public members and the private scalar `d`.
///
/// Only for loading keys (published test keys, development key files) into
/// [`SoftwareKey::from_jwk`](crate::key::SoftwareKey::from_jwk); a private key is otherwise
/// kept behind a [`Signer`](crate::key::Signer) and never leaves it. Hence: no `Serialize`, a
/// `Debug` that never prints `d`, and `d` overwritten with zeros when the value is dropped
/// (what the caller read the JSON from is the caller's to wipe). Deserializing refuses a JWK
/// without `d`. RSA private keys are not supported (nothing here signs with RSA).
#[derive(Deserialize)]
pub struct PrivateJwk {
    /// Key type: `EC`.
    kty: String,
    /// Curve name.
    crv: Option<String>,
    /// Affine x coordinate, base64url.
    x: Option<String>,
    /// Affine y coordinate, base64url.
    y: Option<String>,
    /// Private scalar, base64url.
    d: String,
    /// Key identifier.
    #[serde(default)]
    kid: Option<String>,
    /// Intended algorithm.
    #[serde(default)]
    alg: Option<String>,
    /// Intended use.
    #[serde(default, rename = "use")]
    use_: Option<String>,
}

impl Drop for PrivateJwk {
    fn drop(&mut self) {
        self.d.zeroize();
    }
}

impl fmt::Debug for PrivateJwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateJwk")
            .field("kty", &self.kty)
            .field("crv", &self.crv)
            .field("x", &self.x)
            .field("y", &self.y)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl PrivateJwk {
    /// A private EC JWK from the public key and the base64url private scalar `d`.
    pub fn new(public: &Jwk, d: String) -> Self {
        Self {
            kty: public.kty.clone(),
            crv: public.crv.clone(),
            x: public.x.clone(),
            y: public.y.clone(),
            d,
            kid: public.kid.clone(),
            alg: public.alg.clone(),
            use_: public.use_.clone(),
        }
    }

    /// The public half (every member but `d`).
    pub fn to_public(&self) -> Jwk {
        Jwk {
            kty: self.kty.clone(),
            crv: self.crv.clone(),
            x: self.x.clone(),
            y: self.y.clone(),
            n: None,
            e: None,
            kid: self.kid.clone(),
            alg: self.alg.clone(),
            use_: self.use_.clone(),
        }
    }

    /// The key identifier, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The public members, borrowed.
    pub fn as_public_ref(&self) -> JwkRef<'_> {
        JwkRef {
            kty: &self.kty,
            crv: self.crv.as_deref(),
            x: self.x.as_deref(),
            y: self.y.as_deref(),
            n: None,
            e: None,
            alg: self.alg.as_deref(),
        }
    }

    /// The private scalar, base64url; only for [`crate::key::SoftwareKey::from_jwk`].
    pub(crate) fn d(&self) -> &str {
        &self.d
    }
}

fn push_json_string(out: &mut String, value: &str) {
    // serde_json's string escaping is exactly what RFC 7638 §3.3 asks for.
    match serde_json::to_string(value) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => out.push_str("\"\""),
    }
}

/// The public members of a JWK, borrowed: from a [`Jwk`], or deserialized straight from a
/// `serde_json::Value` (such as a `cnf.jwk` claim) without copying any string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub struct JwkRef<'a> {
    /// Key type.
    pub kty: &'a str,
    /// Curve name.
    #[serde(default)]
    pub crv: Option<&'a str>,
    /// Affine x coordinate, base64url.
    #[serde(default)]
    pub x: Option<&'a str>,
    /// Affine y coordinate, base64url.
    #[serde(default)]
    pub y: Option<&'a str>,
    /// RSA modulus, base64url.
    #[serde(default)]
    pub n: Option<&'a str>,
    /// RSA public exponent, base64url.
    #[serde(default)]
    pub e: Option<&'a str>,
    /// Intended algorithm.
    #[serde(default)]
    pub alg: Option<&'a str>,
}

impl JwkRef<'_> {
    /// See [`Jwk::algorithm`].
    pub fn algorithm(&self) -> Result<Algorithm, KeyError> {
        if self.kty == "RSA" {
            return match self.alg {
                None | Some("RS256") => Ok(Algorithm::Rs256),
                Some(_) => Err(KeyError::InvalidKey("JWK `alg` of an RSA key is not RS256")),
            };
        }
        if self.kty != "EC" {
            return Err(KeyError::InvalidKey("JWK `kty` is not `EC` or `RSA`"));
        }
        let crv = self.crv.ok_or(KeyError::InvalidKey("JWK has no `crv`"))?;
        Algorithm::from_curve(crv).ok_or(KeyError::InvalidKey("JWK `crv` is not supported"))
    }

    /// See [`Jwk::to_verifying_key`].
    pub fn to_verifying_key(&self) -> Result<VerifyingKey, KeyError> {
        let alg = self.algorithm()?;
        if alg == Algorithm::Rs256 {
            let member = |v: Option<&str>, name: &'static str| -> Result<Vec<u8>, KeyError> {
                let text = v.ok_or(KeyError::InvalidKey(name))?;
                b64::decode(text).map_err(|_| KeyError::InvalidKey(name))
            };
            let n = member(self.n, "JWK `n` is missing or malformed")?;
            let e = member(self.e, "JWK `e` is missing or malformed")?;
            return VerifyingKey::from_rsa_components(&n, &e);
        }
        // Coordinates are decoded on the stack: reading a holder key allocates nothing.
        let len = alg.field_len();
        let mut point = [0u8; 1 + 2 * 66];
        point[0] = 4;
        let (x_out, y_out) = point[1..].split_at_mut(len);
        let coord = |v: Option<&str>, out: &mut [u8], name: &'static str| {
            let text = v.ok_or(KeyError::InvalidKey(name))?;
            match b64::decode_to_slice(text, out) {
                Ok(n) if n == len => Ok(()),
                _ => Err(KeyError::InvalidKey(name)),
            }
        };
        coord(self.x, x_out, "JWK `x` is missing or malformed")?;
        coord(self.y, &mut y_out[..len], "JWK `y` is missing or malformed")?;
        VerifyingKey::from_sec1(alg, &point[..1 + 2 * len])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrowed_jwk_reads_a_claim_without_copying_and_checks_coordinates() {
        use crate::key::Signer as _;
        use crate::key::SoftwareKey;
        for alg in [Algorithm::Es256, Algorithm::Es384, Algorithm::Es512] {
            let key = SoftwareKey::generate(alg).unwrap();
            let claim = serde_json::to_value(key.verifying_key().to_jwk()).unwrap();
            let jwk = JwkRef::deserialize(&claim).unwrap();
            assert_eq!(&jwk.to_verifying_key().unwrap(), key.verifying_key());
        }
        let key = SoftwareKey::generate(Algorithm::Es256).unwrap();
        let good = serde_json::to_value(key.verifying_key().to_jwk()).unwrap();
        let x = good["x"].as_str().unwrap().to_owned();
        let y = good["y"].as_str().unwrap().to_owned();
        for (member, value) in [
            ("x", format!("{x}AA")),               // 33 bytes
            ("y", format!("{y}AA")),               // 33 bytes
            ("x", x[..40].to_owned()),             // short
            ("y", y[..40].to_owned()),             // short
            ("x", x.replace(|_: char| true, "=")), // not base64url
            ("crv", "P-192".to_owned()),
            ("kty", "OKP".to_owned()),
        ] {
            let mut bad = good.clone();
            bad[member] = serde_json::Value::String(value);
            let jwk = JwkRef::deserialize(&bad).unwrap();
            assert!(jwk.to_verifying_key().is_err(), "{member}: {bad}");
        }
        // A point that is not on the curve.
        let mut off_curve = good.clone();
        off_curve["y"] = serde_json::Value::String(x.clone());
        assert!(
            JwkRef::deserialize(&off_curve)
                .unwrap()
                .to_verifying_key()
                .is_err()
        );
    }

    #[test]
    fn thumbprint_matches_the_openid4vci_example_key_id() {
        // OpenID4VCI 1.0 examples/issuer_jwks.json: its kid is the RFC 7638 thumbprint of the key.
        let jwk: Jwk = serde_json::from_str(
            r#"{"kty":"EC","crv":"P-256","alg":"ES256","x":"_LC1FTUl0MltKAOQzXNsofVMpWFV2obLGrNCat_CQ-g","y":"kBjoyjNuMVAOq--qVUgylDoLKuMdk4imS-Kk5ahuYIU"}"#,
        )
        .unwrap();
        assert_eq!(
            jwk.thumbprint(),
            "mlUpog7vEewFBem6Ul09c2dtTwc8dFzVpIDX3sqGWW0"
        );
    }

    #[test]
    fn parses_and_rejects() {
        let good: Jwk = serde_json::from_str(
            r#"{"kty":"EC","crv":"P-256","x":"b28d4MwZMjw8-00CG4xfnn9SLMVMM19SlqZpVb_uNtQ","y":"Xv5zWwuoaTgdS6hV43yI6gBwTnjukmFQQnJ_kCxzqk8"}"#,
        )
        .unwrap();
        let key = good.to_verifying_key().unwrap();
        assert_eq!(key.to_jwk().thumbprint(), good.thumbprint());

        let mut bad = good.clone();
        bad.kty = "oct".into();
        assert!(bad.to_verifying_key().is_err());
        let mut bad = good.clone();
        bad.x = Some("AAAA".into());
        assert!(bad.to_verifying_key().is_err());
        let mut bad = good;
        bad.crv = Some("secp256k1".into());
        assert!(bad.to_verifying_key().is_err());
    }

    #[test]
    fn rfc7638_rsa_thumbprint_example() {
        // RFC 7638 §3.1: the example RSA key and its thumbprint.
        let jwk: Jwk = serde_json::from_str(
            r#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#,
        )
        .unwrap();
        assert_eq!(
            jwk.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        let key = jwk.to_verifying_key().unwrap();
        assert_eq!(key.algorithm(), Algorithm::Rs256);
        let back = key.to_jwk();
        assert_eq!(
            (back.n.as_ref(), back.e.as_ref()),
            (jwk.n.as_ref(), jwk.e.as_ref())
        );
        assert_eq!(back.thumbprint(), jwk.thumbprint());

        let mut other = jwk.clone();
        other.alg = Some("PS256".into());
        assert!(other.to_verifying_key().is_err());
        let mut short = jwk.clone();
        short.n = Some("AQAB".into());
        assert!(short.to_verifying_key().is_err());
        let mut missing = jwk;
        missing.e = None;
        assert!(missing.to_verifying_key().is_err());
    }

    #[test]
    fn debug_hides_d() {
        let private: PrivateJwk = serde_json::from_value(serde_json::json!({
            "kty": "EC", "crv": "P-256", "x": "eA", "y": "eQ", "d": "SECRET", "kid": "k"
        }))
        .unwrap();
        let debug = format!("{private:?}");
        assert!(!debug.contains("SECRET"), "{debug}");
        assert!(debug.contains("eA"), "{debug}");
        assert_eq!(private.kid(), Some("k"));
        assert_eq!(private.d(), "SECRET");
    }

    #[test]
    fn public_jwk_drops_d_and_never_writes_it() {
        let json = serde_json::json!({
            "kty": "EC", "crv": "P-256", "x": "eA", "y": "eQ", "d": "SECRET", "kid": "k"
        });
        // Read as a public key, `d` is dropped; written again, it is not there.
        let public: Jwk = serde_json::from_value(json.clone()).unwrap();
        let written = serde_json::to_value(&public).unwrap();
        assert!(written.get("d").is_none(), "{written}");
        assert_eq!(written["x"], "eA");
        let set: JwkSet =
            serde_json::from_value(serde_json::json!({"keys": [json.clone()]})).unwrap();
        assert!(!serde_json::to_string(&set).unwrap().contains("SECRET"));
        // The private type's public half has no `d` either.
        let private: PrivateJwk = serde_json::from_value(json).unwrap();
        let half = serde_json::to_value(private.to_public()).unwrap();
        assert!(half.get("d").is_none(), "{half}");
        assert_eq!(private.to_public(), public);
    }

    #[test]
    fn private_jwk_needs_d() {
        let err = serde_json::from_value::<PrivateJwk>(serde_json::json!({
            "kty": "EC", "crv": "P-256", "x": "eA", "y": "eQ"
        }));
        assert!(err.is_err());
    }
}
