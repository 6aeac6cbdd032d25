//! Issuing SD-JWTs (RFC 9901 §4): choose what is selectively disclosable by claim path, add decoy
//! digests, bind a holder key, sign.

use std::collections::HashSet;

use eudi_trust::jws::{self, Header};
use eudi_trust::{Jwk, Signer};
use serde_json::{Map, Value};

use crate::SdJwtError;
use crate::disclosure::{self, SaltSource};
use crate::hash::SdAlg;
use crate::path::{ClaimPath, PathElement};
use crate::serialization::SdJwt;

/// What the issuer makes selectively disclosable.
#[derive(Clone, Debug)]
enum SdSelection {
    /// Exactly these concrete paths.
    Paths(HashSet<Vec<PathElement>>),
    /// Every claim at every level (every object member and every array element), except the
    /// named top-level claims. This is what the PID rulebook (PID_21) asks for.
    All { except: HashSet<String> },
}

/// Builds and signs an SD-JWT.
#[derive(Clone, Debug)]
pub struct SdJwtBuilder {
    header: Header,
    claims: Map<String, Value>,
    selection: SdSelection,
    decoys: usize,
    sd_alg: SdAlg,
}

impl SdJwtBuilder {
    /// Starts from the plain claims. Nothing is selectively disclosable until you say so.
    pub fn new(claims: Map<String, Value>) -> Self {
        Self {
            header: Header::default(),
            claims,
            selection: SdSelection::Paths(HashSet::new()),
            decoys: 0,
            sd_alg: SdAlg::Sha256,
        }
    }

    /// Sets the `typ` header (`dc+sd-jwt` for SD-JWT VC, `example+sd-jwt` in RFC 9901).
    pub fn typ(mut self, typ: &str) -> Self {
        self.header.typ = Some(typ.to_owned());
        self
    }

    /// Sets the `kid` header.
    pub fn kid(mut self, kid: &str) -> Self {
        self.header.kid = Some(kid.to_owned());
        self
    }

    /// Puts an X.509 chain (leaf first, DER) in the `x5c` header.
    pub fn x5c(mut self, chain: &[impl AsRef<[u8]>]) -> Self {
        self.header.x5c = Some(chain.iter().map(eudi_trust::b64::encode_std).collect());
        self
    }

    /// Adds any other protected header member.
    pub fn header_param(mut self, name: &str, value: Value) -> Self {
        self.header.extra.insert(name.to_owned(), value);
        self
    }

    /// Makes the claim (object member or array element) at `path` selectively disclosable.
    /// A `null` path element means every element of the array. Making both a claim and one of
    /// its sub-claims disclosable gives recursive disclosures (RFC 9901 §4.2.6).
    pub fn sd(mut self, path: ClaimPath) -> Self {
        if let SdSelection::All { .. } = self.selection {
            self.selection = SdSelection::Paths(HashSet::new());
        }
        if let SdSelection::Paths(paths) = &mut self.selection {
            if path.0.iter().any(|e| matches!(e, PathElement::All(_))) {
                // Wildcards are expanded against the claims as they are now.
                paths.extend(expand(&self.claims, &path));
            } else {
                // Checked against the claims when signing, so a typo is an error, not a no-op.
                paths.insert(path.0);
            }
        }
        self
    }

    /// Makes every claim at every level selectively disclosable, except the named top-level
    /// claims (for SD-JWT VC: see [`crate::vc::NEVER_DISCLOSABLE`]).
    pub fn sd_all_except(mut self, except: &[&str]) -> Self {
        self.selection = SdSelection::All {
            except: except.iter().map(|s| (*s).to_owned()).collect(),
        };
        self
    }

    /// Adds `n` decoy digests to every `_sd` array (RFC 9901 §4.2.5).
    pub fn decoys(mut self, n: usize) -> Self {
        self.decoys = n;
        self
    }

    /// Chooses the `_sd_alg` hash (default SHA-256).
    pub fn hash_alg(mut self, alg: SdAlg) -> Self {
        self.sd_alg = alg;
        self
    }

    /// Binds the credential to the holder's key (`cnf.jwk`, RFC 7800).
    pub fn holder_key(mut self, jwk: &Jwk) -> Result<Self, SdJwtError> {
        let public =
            serde_json::to_value(jwk.public()).map_err(|e| SdJwtError::Creation(e.to_string()))?;
        let mut cnf = Map::new();
        cnf.insert("jwk".into(), public);
        self.claims.insert("cnf".into(), Value::Object(cnf));
        Ok(self)
    }

    /// Encodes the disclosures and signs. The signer's algorithm goes into `alg`.
    pub fn sign(self, signer: &dyn Signer) -> Result<SdJwt, SdJwtError> {
        let header = self.header.clone();
        let (payload, disclosures) = self.encode()?;
        sign_one(&header, &payload, signer, disclosures)
    }

    /// Like [`Self::sign`], with several signatures (general JWS JSON serialization, RFC 9901
    /// §8.3); each signer's `kid` header is taken from `kids`.
    pub fn sign_general(self, signers: &[(&dyn Signer, &str)]) -> Result<SdJwt, SdJwtError> {
        let (first, rest) = signers
            .split_first()
            .ok_or_else(|| SdJwtError::Creation("no signer".into()))?;
        let builder = self.kid(first.1);
        let header = builder.header.clone();
        let (payload, disclosures) = builder.encode()?;
        let mut sd = sign_one(&header, &payload, first.0, disclosures)?;
        for (signer, kid) in rest {
            let mut h = header.clone();
            h.kid = Some((*kid).to_owned());
            let other = sign_one(&h, &payload, *signer, Vec::new())?;
            if let Some(sig) = other.signatures().first() {
                sd.push_signature(sig.clone());
            }
        }
        Ok(sd)
    }

    /// Produces the payload JSON bytes and the disclosures.
    fn encode(self) -> Result<(Vec<u8>, Vec<String>), SdJwtError> {
        for reserved in ["_sd", "_sd_alg", "..."] {
            if self.claims.contains_key(reserved) {
                return Err(SdJwtError::InvalidSdPath {
                    path: format!("[{reserved:?}]"),
                    reason: "the claim name is reserved by RFC 9901",
                });
            }
        }
        if let SdSelection::Paths(paths) = &self.selection {
            let root = Value::Object(self.claims.clone());
            for p in paths {
                let path = ClaimPath(p.clone());
                if path.is_empty() {
                    return Err(SdJwtError::InvalidSdPath {
                        path: path.to_string(),
                        reason: "the root cannot be selectively disclosable",
                    });
                }
                if path.select(&root).is_empty() {
                    return Err(SdJwtError::InvalidSdPath {
                        path: path.to_string(),
                        reason: "no such claim",
                    });
                }
            }
        }
        let mut enc = Encoder {
            selection: &self.selection,
            decoys: self.decoys,
            sd_alg: self.sd_alg,
            salts: SaltSource::new(),
            disclosures: Vec::new(),
            path: Vec::new(),
        };
        let mut payload = enc.object(self.claims)?;
        payload.insert("_sd_alg".into(), Value::String(self.sd_alg.name().into()));
        let bytes =
            serde_json::to_vec(&payload).map_err(|e| SdJwtError::Creation(e.to_string()))?;
        Ok((bytes, enc.disclosures))
    }
}

fn sign_one(
    header: &Header,
    payload: &[u8],
    signer: &dyn Signer,
    disclosures: Vec<String>,
) -> Result<SdJwt, SdJwtError> {
    let jwt = jws::sign_compact(header, payload, signer)
        .map_err(|e| SdJwtError::Creation(e.to_string()))?;
    SdJwt::from_parts(&jwt, disclosures, None)
}

/// All concrete paths a (possibly wildcard) path selects in `claims`.
fn expand(claims: &Map<String, Value>, path: &ClaimPath) -> Vec<Vec<PathElement>> {
    fn walk(
        v: &Value,
        rest: &[PathElement],
        prefix: &mut Vec<PathElement>,
        out: &mut Vec<Vec<PathElement>>,
    ) {
        let Some((first, rest_tail)) = rest.split_first() else {
            out.push(prefix.clone());
            return;
        };
        match (first, v) {
            (PathElement::Key(k), Value::Object(m)) => {
                if let Some(child) = m.get(k) {
                    prefix.push(first.clone());
                    walk(child, rest_tail, prefix, out);
                    prefix.pop();
                }
            }
            (PathElement::Index(i), Value::Array(a)) => {
                if let Some(child) = a.get(*i) {
                    prefix.push(first.clone());
                    walk(child, rest_tail, prefix, out);
                    prefix.pop();
                }
            }
            (PathElement::All(_), Value::Array(a)) => {
                for (i, child) in a.iter().enumerate() {
                    prefix.push(PathElement::Index(i));
                    walk(child, rest_tail, prefix, out);
                    prefix.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(
        &Value::Object(claims.clone()),
        &path.0,
        &mut Vec::new(),
        &mut out,
    );
    out
}

struct Encoder<'a> {
    selection: &'a SdSelection,
    decoys: usize,
    sd_alg: SdAlg,
    salts: SaltSource,
    disclosures: Vec<String>,
    path: Vec<PathElement>,
}

impl Encoder<'_> {
    fn is_sd(&self) -> bool {
        match self.selection {
            SdSelection::Paths(paths) => paths.contains(self.path.as_slice()),
            // The exceptions cover their sub-claims too (SD-JWT VC §3.2.2.2: "including any of
            // their sub-claims").
            SdSelection::All { except } => match self.path.first() {
                Some(PathElement::Key(k)) => !except.contains(k),
                _ => true,
            },
        }
    }

    fn value(&mut self, value: Value) -> Result<Value, SdJwtError> {
        match value {
            Value::Object(map) => Ok(Value::Object(self.object(map)?)),
            Value::Array(items) => self.array(items).map(Value::Array),
            other => Ok(other),
        }
    }

    fn object(&mut self, map: Map<String, Value>) -> Result<Map<String, Value>, SdJwtError> {
        let mut out = Map::new();
        let mut digests = Vec::new();
        for (key, value) in map {
            if key == "_sd" || key == "..." || (key == "_sd_alg" && !self.path.is_empty()) {
                return Err(SdJwtError::InvalidSdPath {
                    path: ClaimPath(self.path.clone()).key(&key).to_string(),
                    reason: "the claim name is reserved by RFC 9901",
                });
            }
            self.path.push(PathElement::Key(key.clone()));
            let sd = self.is_sd();
            let encoded = self.value(value)?;
            self.path.pop();
            if sd {
                let salt = self.salts.next_salt()?;
                let d = disclosure::encode_property(&salt, &key, &encoded)?;
                digests.push(self.sd_alg.digest_b64(d.as_bytes()));
                self.disclosures.push(d);
            } else {
                out.insert(key, encoded);
            }
        }
        if !digests.is_empty() || self.decoys > 0 {
            for _ in 0..self.decoys {
                let random = self.salts.next_bytes()?;
                digests.push(self.sd_alg.digest_b64(&random));
            }
            // Sorting hides the original claim order (RFC 9901 §4.2.4.1).
            digests.sort_unstable();
            out.insert(
                "_sd".into(),
                Value::Array(digests.into_iter().map(Value::String).collect()),
            );
        }
        Ok(out)
    }

    fn array(&mut self, items: Vec<Value>) -> Result<Vec<Value>, SdJwtError> {
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            self.path.push(PathElement::Index(i));
            let sd = self.is_sd();
            let encoded = self.value(item)?;
            self.path.pop();
            if sd {
                let salt = self.salts.next_salt()?;
                let d = disclosure::encode_element(&salt, &encoded)?;
                let mut digest = Map::new();
                digest.insert(
                    "...".into(),
                    Value::String(self.sd_alg.digest_b64(d.as_bytes())),
                );
                self.disclosures.push(d);
                out.push(Value::Object(digest));
            } else {
                out.push(encoded);
            }
        }
        Ok(out)
    }
}
