//! Issuing SD-JWTs (RFC 9901 §4): choose what is selectively disclosable by claim path, add decoy
//! digests, bind a holder key, sign.

use std::borrow::Cow;
use std::collections::HashSet;
use std::ops::Range;

use eudi_trust::jws::{Header, PreparedHeader};
use eudi_trust::{Jwk, Signer};
use serde_json::{Map, Value};

use crate::SdJwtError;
use crate::disclosure::SaltSource;
use crate::hash::{DigestText, SdAlg};
use crate::path::{ClaimPath, PathElement};
use crate::serialization::SdJwt;

/// What the issuer makes selectively disclosable.
#[derive(Clone, Debug)]
enum SdSelection {
    /// Exactly these concrete paths.
    Paths(HashSet<Vec<PathElement>>),
    /// Every claim at every level (every object member and every array element), except the
    /// named top-level claims. This is what the PID rulebook (PID_21) asks for.
    /// A short list, scanned linearly: cheaper than hashing for the handful of names it holds.
    All { except: Except },
}

/// The top-level claims [`SdSelection::All`] leaves plain.
#[derive(Clone, Debug)]
enum Except {
    Static(&'static [&'static str]),
    Owned(Vec<String>),
}

impl Except {
    fn contains(&self, name: &str) -> bool {
        match self {
            Self::Static(names) => names.contains(&name),
            Self::Owned(names) => names.iter().any(|n| n == name),
        }
    }
}

/// The claims a builder starts from: owned, or borrowed so that issuing many credentials from
/// one claim set does not copy it.
pub trait IntoClaims<'c> {
    /// The claims, owned or borrowed.
    fn into_claims(self) -> Cow<'c, Map<String, Value>>;
}

impl<'c> IntoClaims<'c> for Map<String, Value> {
    fn into_claims(self) -> Cow<'c, Map<String, Value>> {
        Cow::Owned(self)
    }
}

impl<'c> IntoClaims<'c> for &'c Map<String, Value> {
    fn into_claims(self) -> Cow<'c, Map<String, Value>> {
        Cow::Borrowed(self)
    }
}

/// Builds and signs an SD-JWT.
#[derive(Clone, Debug)]
pub struct SdJwtBuilder<'c> {
    /// Boxed, and only once a header member is set: with a prepared header the builder (moved
    /// through every step of a builder chain) stays small and allocates no header.
    header: Option<Box<Header>>,
    default_typ: Option<&'static str>,
    claims: Cow<'c, Map<String, Value>>,
    /// Top-level claims the builder itself sets (`vct`, `iss`, `iat`, `cnf`), with their JSON
    /// values. They are never selectively disclosable and replace a claim of the same name in
    /// `claims`.
    added: Added,
    /// The first error of an infallible-looking builder step, reported by `sign`.
    error: Option<String>,
    selection: SdSelection,
    decoys: usize,
    sd_alg: SdAlg,
}

/// Top-level claims the builder sets itself: `"name":value` members, comma-separated, in one
/// buffer.
#[derive(Clone, Debug, Default)]
struct Added {
    json: Vec<u8>,
    /// Each member's name and where its `"name":value` is in `json`; inline, as the builder
    /// sets at most a handful.
    members: [(&'static str, usize, usize); MAX_ADDED],
    count: usize,
}

/// Most top-level claims a builder sets itself (`vct`, `iss`, `iat`, `cnf` and room to grow).
const MAX_ADDED: usize = 8;

impl Added {
    fn members(&self) -> &[(&'static str, usize, usize)] {
        self.members.get(..self.count).unwrap_or_default()
    }

    fn contains(&self, name: &str) -> bool {
        self.members().iter().any(|(n, ..)| *n == name)
    }

    /// Sets `name` to the JSON `write` produces, replacing an earlier value.
    fn set(
        &mut self,
        name: &'static str,
        write: impl FnOnce(&mut Vec<u8>) -> Result<(), SdJwtError>,
    ) -> Result<(), SdJwtError> {
        if self.contains(name) {
            // Set twice (rare): keep the other members as they were written.
            let old = std::mem::take(self);
            for &(other, start, end) in old.members().iter().filter(|(n, ..)| *n != name) {
                let member = old.json.get(start..end).unwrap_or_default();
                self.append(other, |out| {
                    out.extend_from_slice(member);
                    Ok(())
                })?;
            }
        }
        self.append(name, |out| {
            write_json_str(out, name)?;
            out.push(b':');
            write(out)
        })
    }

    /// Appends the member `name` that `write_member` writes as `"name":value`.
    fn append(
        &mut self,
        name: &'static str,
        write_member: impl FnOnce(&mut Vec<u8>) -> Result<(), SdJwtError>,
    ) -> Result<(), SdJwtError> {
        let Some(slot) = self.members.get_mut(self.count) else {
            return Err(SdJwtError::Creation("too many builder-set claims".into()));
        };
        let before = self.json.len();
        if before == 0 {
            self.json.reserve(256);
        } else {
            self.json.push(b',');
        }
        let start = self.json.len();
        if let Err(e) = write_member(&mut self.json) {
            // Nothing half-written stays behind.
            self.json.truncate(before);
            return Err(e);
        }
        *slot = (name, start, self.json.len());
        self.count += 1;
        Ok(())
    }
}

/// What [`SdJwtBuilder::encode`] produces.
/// Also the buffers an issuance works in: they are kept per thread between issuances, so an
/// issuance writes into warm memory it already owns instead of allocating ~10 buffers.
#[derive(Default)]
struct Encoded {
    /// The payload JSON.
    payload: Vec<u8>,
    /// The disclosures, each followed by `~`.
    disclosures: Vec<u8>,
    /// Where each disclosure is in `disclosures`.
    spans: Vec<Range<usize>>,
    /// Scratch buffers for disclosures being written, one per nesting level.
    pool: Vec<Vec<u8>>,
    /// The digests of the objects being written, innermost last.
    digests: Vec<DigestText>,
    /// Scratch for sorting one object's digests.
    order: Vec<(u64, usize)>,
}

/// Buffers larger than this in total are not kept for the next issuance (one credential with
/// a large portrait must not pin its buffers to the thread).
const KEEP_BUFFERS_UP_TO: usize = 64 * 1024;

thread_local! {
    static BUFFERS: std::cell::Cell<Option<Encoded>> = const { std::cell::Cell::new(None) };
}

impl Encoded {
    /// The thread's buffers, empty, or new ones.
    fn take() -> Self {
        BUFFERS
            .try_with(std::cell::Cell::take)
            .ok()
            .flatten()
            .unwrap_or_else(|| Self {
                payload: Vec::with_capacity(2048),
                disclosures: Vec::with_capacity(4096),
                spans: Vec::with_capacity(32),
                pool: Vec::new(),
                digests: Vec::with_capacity(64),
                order: Vec::with_capacity(32),
            })
    }

    /// Clears the buffers and keeps them for the thread's next issuance.
    fn give_back(mut self) {
        let size = self.payload.capacity()
            + self.disclosures.capacity()
            + self.pool.iter().map(Vec::capacity).sum::<usize>()
            + self.digests.capacity() * size_of::<DigestText>();
        if size > KEEP_BUFFERS_UP_TO {
            return;
        }
        self.payload.clear();
        self.disclosures.clear();
        self.spans.clear();
        self.digests.clear();
        self.order.clear();
        // Pool buffers are cleared when taken.
        let _ = BUFFERS.try_with(|cell| cell.set(Some(self)));
    }
}

impl<'c> SdJwtBuilder<'c> {
    /// Starts from the plain claims (a map, or a reference to one). Nothing is selectively
    /// disclosable until you say so.
    pub fn new(claims: impl IntoClaims<'c>) -> Self {
        Self {
            header: None,
            default_typ: None,
            claims: claims.into_claims(),
            added: Added::default(),
            error: None,
            selection: SdSelection::Paths(HashSet::new()),
            decoys: 0,
            sd_alg: SdAlg::Sha256,
        }
    }

    fn header_mut(&mut self) -> &mut Header {
        self.header.get_or_insert_default()
    }

    /// The header `sign` uses: the one set, with the default `typ` if none was set.
    fn effective_header(&self) -> Header {
        let mut header = self.header.as_deref().cloned().unwrap_or_default();
        if header.typ.is_none() {
            header.typ = self.default_typ.map(str::to_owned);
        }
        header
    }

    /// Sets the `typ` header (`dc+sd-jwt` for SD-JWT VC, `example+sd-jwt` in RFC 9901).
    pub fn typ(mut self, typ: &str) -> Self {
        self.header_mut().typ = Some(typ.to_owned());
        self
    }

    /// The `typ` header [`Self::sign`] uses unless [`Self::typ`] sets another (set without
    /// allocating: a prepared header makes it unused).
    pub(crate) fn default_typ(mut self, typ: &'static str) -> Self {
        self.default_typ = Some(typ);
        self
    }

    /// Sets the `kid` header.
    pub fn kid(mut self, kid: &str) -> Self {
        self.header_mut().kid = Some(kid.to_owned());
        self
    }

    /// Puts an X.509 chain (leaf first, DER) in the `x5c` header.
    pub fn x5c(mut self, chain: &[impl AsRef<[u8]>]) -> Self {
        self.header_mut().x5c = Some(chain.iter().map(eudi_trust::b64::encode_std).collect());
        self
    }

    /// Adds any other protected header member.
    pub fn header_param(mut self, name: &str, value: Value) -> Self {
        self.header_mut().extra.insert(name.to_owned(), value);
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
            except: Except::Owned(except.iter().map(|s| (*s).to_owned()).collect()),
        };
        self
    }

    /// [`Self::sd_all_except`] for names known at compile time.
    pub(crate) fn sd_all_except_static(mut self, except: &'static [&'static str]) -> Self {
        self.selection = SdSelection::All {
            except: Except::Static(except),
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

    /// Sets a plain (never selectively disclosable) top-level claim, replacing any claim of the
    /// same name.
    pub(crate) fn plain_claim(
        mut self,
        name: &'static str,
        value: &(impl serde::Serialize + ?Sized),
    ) -> Self {
        if let Err(e) = self.added.set(name, |out| write_json(out, value)) {
            // Reported when signing, so the builder chain stays infallible.
            self.error = self.error.or(Some(e.to_string()));
        }
        self
    }

    /// [`Self::plain_claim`] for a string, written without going through serde.
    pub(crate) fn plain_str(mut self, name: &'static str, value: &str) -> Self {
        if let Err(e) = self.added.set(name, |out| write_json_str(out, value)) {
            self.error = self.error.or(Some(e.to_string()));
        }
        self
    }

    /// Binds the credential to the holder's key (`cnf.jwk`, RFC 7800).
    /// Only public members are written: a private `d` never reaches the credential.
    pub fn holder_key(mut self, jwk: &Jwk) -> Result<Self, SdJwtError> {
        self.added.set("cnf", |out| {
            out.extend_from_slice(b"{\"jwk\":");
            write_public_jwk(out, jwk)?;
            out.push(b'}');
            Ok(())
        })?;
        Ok(self)
    }

    /// Encodes the disclosures and signs. The signer's algorithm goes into `alg`.
    pub async fn sign(self, signer: &dyn Signer) -> Result<SdJwt, SdJwtError> {
        let header = prepare(&self.effective_header(), signer)?;
        self.sign_prepared(&header, signer).await
    }

    /// Signs under a header prepared once for many credentials (an issuer's `typ` and `x5c`
    /// or `kid`), instead of the header set on this builder.
    pub async fn sign_prepared(
        self,
        header: &PreparedHeader,
        signer: &dyn Signer,
    ) -> Result<SdJwt, SdJwtError> {
        let encoded = self.encode()?;
        let signed = sign_encoded(
            header,
            signer,
            &encoded.payload,
            &encoded.disclosures,
            &encoded.spans,
        )
        .await;
        encoded.give_back();
        signed
    }

    /// Like [`Self::sign`], with several signatures (general JWS JSON serialization, RFC 9901
    /// §8.3); each signer's `kid` header is taken from `kids`.
    pub async fn sign_general(self, signers: &[(&dyn Signer, &str)]) -> Result<SdJwt, SdJwtError> {
        let (first, rest) = signers
            .split_first()
            .ok_or_else(|| SdJwtError::Creation("no signer".into()))?;
        let builder = self.kid(first.1);
        let mut header = builder.effective_header();
        let encoded = builder.encode()?;
        let mut sd = sign_encoded(
            &prepare(&header, first.0)?,
            first.0,
            &encoded.payload,
            &encoded.disclosures,
            &encoded.spans,
        )
        .await?;
        for (signer, kid) in rest {
            header.kid = Some((*kid).to_owned());
            let other = sign_encoded(
                &prepare(&header, *signer)?,
                *signer,
                &encoded.payload,
                &[],
                &[],
            )
            .await?;
            if let Some(sig) = other.signatures().next() {
                sd.push_signature(sig.protected, sig.signature);
            }
        }
        Ok(sd)
    }

    /// Produces the payload JSON and the disclosures.
    fn encode(self) -> Result<Encoded, SdJwtError> {
        if let Some(e) = self.error {
            return Err(SdJwtError::Creation(e));
        }
        for reserved in ["_sd", "_sd_alg", "..."] {
            if self.claims.contains_key(reserved) {
                return Err(SdJwtError::InvalidSdPath {
                    path: format!("[{reserved:?}]"),
                    reason: "the claim name is reserved by RFC 9901",
                });
            }
        }
        if let SdSelection::Paths(paths) = &self.selection {
            let root = Value::Object(self.claims.clone().into_owned());
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
        let mut buffers = Encoded::take();
        let mut payload = std::mem::take(&mut buffers.payload);
        let mut enc = Encoder::new(&self.selection, self.decoys, self.sd_alg, buffers);
        enc.root(&self.claims, &self.added, &mut payload)?;
        Ok(Encoded {
            payload,
            disclosures: enc.disclosures,
            spans: enc.spans,
            pool: enc.pool,
            digests: enc.digests,
            order: enc.order,
        })
    }
}

fn prepare(header: &Header, signer: &dyn Signer) -> Result<PreparedHeader, SdJwtError> {
    PreparedHeader::new(header, signer.algorithm()).map_err(|e| SdJwtError::Creation(e.to_string()))
}

/// Signs `payload` and lays out `header.payload.signature~` followed by `disclosures` (each
/// ended by `~`, at `spans`) as an [`SdJwt`].
async fn sign_encoded(
    header: &PreparedHeader,
    signer: &dyn Signer,
    payload: &[u8],
    disclosures: &[u8],
    spans: &[Range<usize>],
) -> Result<SdJwt, SdJwtError> {
    let mut text =
        Vec::with_capacity(header.encoded().len() + payload.len() * 4 / 3 + 96 + disclosures.len());
    header
        .sign_into(payload, signer, &mut text)
        .await
        .map_err(|e| SdJwtError::Creation(e.to_string()))?;
    let jwt_end = text.len();
    let first_dot = header.encoded().len();
    let second_dot = first_dot + 1 + eudi_trust::b64::encoded_len(payload.len());
    text.push(b'~');
    text.extend_from_slice(disclosures);
    let offset = jwt_end + 1;
    let spans = spans
        .iter()
        .map(|r| r.start + offset..r.end + offset)
        .collect();
    let text = String::from_utf8(text)
        .map_err(|_| SdJwtError::Creation("issued SD-JWT is not ASCII".into()))?;
    SdJwt::from_issued(text, [first_dot, second_dot, jwt_end], spans)
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

/// Writes the payload JSON directly, bottom-up: a claim's value is encoded first, then either
/// embedded in its parent or wrapped in a Disclosure whose digest the parent lists. Scratch
/// buffers are reused, so issuing allocates little beyond the output itself.
struct Encoder<'a> {
    selection: &'a SdSelection,
    decoys: usize,
    sd_alg: SdAlg,
    salts: SaltSource,
    /// The encoded disclosures, each followed by `~`.
    disclosures: Vec<u8>,
    /// Where each disclosure is in `disclosures`.
    spans: Vec<Range<usize>>,
    /// Current path; maintained only for [`SdSelection::Paths`].
    path: Vec<PathElement>,
    /// Nesting depth below the root object.
    depth: usize,
    /// Under a top-level claim that [`SdSelection::All`] excepts.
    excepted: bool,
    /// Scratch buffers for disclosures being written, one per nesting level.
    pool: Vec<Vec<u8>>,
    /// The digests of the objects being written, innermost last.
    digests: Vec<DigestText>,
    /// Scratch for sorting one object's digests.
    order: Vec<(u64, usize)>,
}

/// Pushes the digest of `input` onto `stack`, written in place.
fn push_digest(stack: &mut Vec<DigestText>, alg: SdAlg, input: &[u8]) {
    stack.push(DigestText::EMPTY);
    if let Some(last) = stack.last_mut() {
        last.set(alg, input);
    }
}

enum Child<'k> {
    Key(&'k str),
    Index(usize),
}

impl<'a> Encoder<'a> {
    fn new(selection: &'a SdSelection, decoys: usize, sd_alg: SdAlg, buffers: Encoded) -> Self {
        Self {
            selection,
            decoys,
            sd_alg,
            salts: SaltSource::new(),
            disclosures: buffers.disclosures,
            spans: buffers.spans,
            path: Vec::new(),
            depth: 0,
            excepted: false,
            pool: buffers.pool,
            digests: buffers.digests,
            order: buffers.order,
        }
    }

    /// Enters a child; returns whether it is selectively disclosable.
    fn enter(&mut self, child: Child<'_>) -> bool {
        match self.selection {
            SdSelection::Paths(paths) => {
                self.path.push(match child {
                    Child::Key(k) => PathElement::Key(k.to_owned()),
                    Child::Index(i) => PathElement::Index(i),
                });
                paths.contains(self.path.as_slice())
            }
            // The exceptions cover their sub-claims too (SD-JWT VC §3.2.2.2: "including any of
            // their sub-claims").
            SdSelection::All { except } => {
                if self.depth == 0 {
                    self.excepted = match child {
                        Child::Key(k) => except.contains(k),
                        Child::Index(_) => false,
                    };
                }
                !self.excepted
            }
        }
    }

    fn leave(&mut self) {
        if let SdSelection::Paths(_) = self.selection {
            self.path.pop();
        }
        if self.depth == 0 {
            self.excepted = false;
        }
    }

    fn value(&mut self, value: &Value, out: &mut Vec<u8>) -> Result<(), SdJwtError> {
        self.depth += 1;
        let result = match value {
            Value::Object(map) => self.object(map, out),
            Value::Array(items) => self.array(items, out),
            Value::String(s) => write_json_str(out, s),
            Value::Bool(b) => {
                out.extend_from_slice(if *b { b"true" } else { b"false" });
                Ok(())
            }
            Value::Null => {
                out.extend_from_slice(b"null");
                Ok(())
            }
            scalar => write_json(out, scalar),
        };
        self.depth -= 1;
        result
    }

    /// Writes `["salt","name",value]` (or `["salt",value]`) into a scratch buffer and appends
    /// its base64url form to the disclosures; returns its digest.
    /// The digest goes on top of the digest stack.
    fn disclose(&mut self, name: Option<&str>, value: &Value) -> Result<(), SdJwtError> {
        let mut json = self.pool.pop().unwrap_or_else(|| Vec::with_capacity(256));
        json.clear();
        let result = self.disclosure_json(name, value, &mut json).map(|()| {
            let start = self.disclosures.len();
            eudi_trust::b64::encode_into_vec(&json[..], &mut self.disclosures);
            let end = self.disclosures.len();
            self.disclosures.push(b'~');
            self.spans.push(start..end);
            push_digest(
                &mut self.digests,
                self.sd_alg,
                self.disclosures.get(start..end).unwrap_or_default(),
            );
        });
        self.pool.push(json);
        result
    }

    fn disclosure_json(
        &mut self,
        name: Option<&str>,
        value: &Value,
        json: &mut Vec<u8>,
    ) -> Result<(), SdJwtError> {
        let salt = self.salts.next_bytes()?;
        json.extend_from_slice(b"[\"");
        eudi_trust::b64::encode_into_vec(salt, json);
        json.extend_from_slice(b"\",");
        if let Some(name) = name {
            write_json_str(json, name)?;
            json.push(b',');
        }
        self.value(value, json)?;
        json.push(b']');
        Ok(())
    }

    /// The payload: the claims (less those `added` replaces), the `added` members, `_sd` and,
    /// last, `_sd_alg`.
    fn root(
        &mut self,
        claims: &Map<String, Value>,
        added: &Added,
        out: &mut Vec<u8>,
    ) -> Result<(), SdJwtError> {
        self.members(claims, Some(added), out)?;
        if out.len() > 1 {
            out.push(b',');
        }
        out.extend_from_slice(b"\"_sd_alg\":");
        write_json_str(out, self.sd_alg.name())?;
        out.push(b'}');
        Ok(())
    }

    fn object(&mut self, map: &Map<String, Value>, out: &mut Vec<u8>) -> Result<(), SdJwtError> {
        self.members(map, None, out)?;
        out.push(b'}');
        Ok(())
    }

    /// `{` and the members of an object, without the closing `}`.
    fn members(
        &mut self,
        map: &Map<String, Value>,
        added: Option<&Added>,
        out: &mut Vec<u8>,
    ) -> Result<(), SdJwtError> {
        out.push(b'{');
        let mut first = true;
        // This object's digests go on a stack shared by all levels, from `base` on.
        let base = self.digests.len();
        for (key, value) in map {
            if added.is_some_and(|a| a.contains(key)) {
                continue;
            }
            if key == "_sd" || key == "..." || (key == "_sd_alg" && self.depth > 0) {
                let mut path = self.path.clone();
                path.push(PathElement::Key(key.clone()));
                return Err(SdJwtError::InvalidSdPath {
                    path: ClaimPath(path).to_string(),
                    reason: "the claim name is reserved by RFC 9901",
                });
            }
            let sd = self.enter(Child::Key(key));
            let result = if sd {
                self.disclose(Some(key), value)
            } else {
                if !first {
                    out.push(b',');
                }
                first = false;
                write_json_str(out, key).and_then(|()| {
                    out.push(b':');
                    self.value(value, out)
                })
            };
            self.leave();
            result?;
        }
        if let Some(added) = added.filter(|a| !a.json.is_empty()) {
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(&added.json);
        }
        if self.digests.len() > base || self.decoys > 0 {
            for _ in 0..self.decoys {
                let random = self.salts.next_bytes()?;
                push_digest(&mut self.digests, self.sd_alg, &random);
            }
            let digests = self.digests.get(base..).unwrap_or_default();
            // Sorting hides the original claim order (RFC 9901 §4.2.4.1).
            sort_digests(digests, &mut self.order);
            if !first {
                out.push(b',');
            }
            out.extend_from_slice(b"\"_sd\":[");
            for (n, (_, i)) in self.order.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                out.push(b'"');
                out.extend_from_slice(
                    digests
                        .get(*i)
                        .map(DigestText::as_bytes)
                        .unwrap_or_default(),
                );
                out.push(b'"');
            }
            self.digests.truncate(base);
            out.push(b']');
        }
        Ok(())
    }

    fn array(&mut self, items: &[Value], out: &mut Vec<u8>) -> Result<(), SdJwtError> {
        out.push(b'[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let sd = self.enter(Child::Index(i));
            let result = if sd {
                self.disclose(None, item).map(|()| {
                    out.extend_from_slice(b"{\"...\":\"");
                    if let Some(d) = self.digests.pop() {
                        out.extend_from_slice(d.as_bytes());
                    }
                    out.extend_from_slice(b"\"}");
                })
            } else {
                self.value(item, out)
            };
            self.leave();
            result?;
        }
        out.push(b']');
        Ok(())
    }
}

fn write_json<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) -> Result<(), SdJwtError> {
    serde_json::to_writer(out, v).map_err(|e| SdJwtError::Creation(e.to_string()))
}

/// A JSON string, byte-for-byte what `serde_json` writes: strings that need no escaping (no
/// `"`, `\\` or control character, the common case for claim names and values) are copied
/// as they are, anything else goes through `serde_json`.
fn write_json_str(out: &mut Vec<u8>, s: &str) -> Result<(), SdJwtError> {
    if !needs_escape(s.as_bytes()) {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        Ok(())
    } else {
        write_json(out, s)
    }
}

/// The public members of `jwk` as a JSON object, member for member what `serde_json` writes for
/// [`Jwk::public`], without copying the key.
fn write_public_jwk(out: &mut Vec<u8>, jwk: &Jwk) -> Result<(), SdJwtError> {
    out.extend_from_slice(b"{\"kty\":");
    write_json_str(out, &jwk.kty)?;
    let optional = [
        ("crv", &jwk.crv),
        ("x", &jwk.x),
        ("y", &jwk.y),
        ("n", &jwk.n),
        ("e", &jwk.e),
        ("kid", &jwk.kid),
        ("alg", &jwk.alg),
        ("use", &jwk.use_),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            out.push(b',');
            write_json_str(out, name)?;
            out.push(b':');
            write_json_str(out, value)?;
        }
    }
    out.push(b'}');
    Ok(())
}

/// Sets `order` to the indices of `digests` in ascending text order: `(prefix, index)` pairs
/// are sorted, so most comparisons are of one integer and no digest is moved; equal prefixes
/// (practically never) are then ordered by the whole digest.
fn sort_digests(digests: &[DigestText], order: &mut Vec<(u64, usize)>) {
    order.clear();
    order.extend(digests.iter().map(DigestText::prefix).zip(0..));
    order.sort_unstable();
    if order.windows(2).any(|w| w[0].0 == w[1].0) {
        order.sort_unstable_by(|a, b| {
            a.0.cmp(&b.0).then_with(|| {
                let text = |i: usize| digests.get(i).map(DigestText::as_bytes);
                text(a.1).cmp(&text(b.1))
            })
        });
    }
}

/// Whether `s` has a byte JSON must escape: a control character, `"` or `\\`. Eight bytes at a
/// time (the "has a byte less than / equal to" tricks of Bit Twiddling Hacks): claim names and
/// values are checked on every issuance.
fn needs_escape(s: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH != 0;
    let (chunks, rest) = s.as_chunks::<8>();
    for chunk in chunks {
        let v = u64::from_le_bytes(*chunk);
        let control = v.wrapping_sub(ONES * 0x20) & !v & HIGH != 0;
        if control
            || has_zero(v ^ (ONES * u64::from(b'"')))
            || has_zero(v ^ (ONES * u64::from(b'\\')))
        {
            return true;
        }
    }
    rest.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_set_claims_are_bounded_and_replaced_in_place() {
        let names = ["a", "b", "c", "d", "e", "f", "g", "h"];
        let mut added = Added::default();
        for (i, name) in names.into_iter().enumerate() {
            added.set(name, |out| write_json(out, &i)).unwrap();
        }
        let full = added.json.clone();
        assert!(matches!(
            added.set("i", |out| write_json(out, &8)),
            Err(SdJwtError::Creation(_))
        ));
        assert_eq!(added.json, full, "a refused claim leaves nothing behind");
        added.set("c", |out| write_json(out, "new")).unwrap();
        assert_eq!(
            String::from_utf8(added.json).unwrap(),
            r#""a":0,"b":1,"d":3,"e":4,"f":5,"g":6,"h":7,"c":"new""#
        );
    }

    #[test]
    fn public_jwk_writer_matches_serde() {
        let mut jwk: Jwk = serde_json::from_value(serde_json::json!({
            "kty": "EC", "crv": "P-256", "x": "eA", "y": "eQ", "d": "SECRET",
            "kid": "k\"1", "alg": "ES256", "use": "sig"
        }))
        .unwrap();
        for _ in 0..2 {
            let mut ours = Vec::new();
            write_public_jwk(&mut ours, &jwk).unwrap();
            assert_eq!(ours, serde_json::to_vec(&jwk.public()).unwrap());
            assert!(!String::from_utf8(ours).unwrap().contains("SECRET"));
            jwk = Jwk::rsa("bg".into(), "AQAB".into());
        }
    }

    #[test]
    fn digests_sort_by_text() {
        let mut order = Vec::new();
        for n in [0usize, 1, 2, 15, 32, 33, 100] {
            let mut digests: Vec<DigestText> = (0..n)
                .map(|i| DigestText::of(SdAlg::Sha256, &i.to_le_bytes()))
                .collect();
            // Equal prefixes and equal digests too.
            if n > 3 {
                digests[1] = digests[0];
                digests[2] = DigestText::from_text("AAAAAAAAzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz");
                digests[3] = DigestText::from_text("AAAAAAAAyzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz");
            }
            sort_digests(&digests, &mut order);
            let got: Vec<&[u8]> = order.iter().map(|&(_, i)| digests[i].as_bytes()).collect();
            let mut want: Vec<&[u8]> = digests.iter().map(DigestText::as_bytes).collect();
            want.sort();
            assert_eq!(got, want, "n = {n}");
            let mut seen: Vec<usize> = order.iter().map(|&(_, i)| i).collect();
            seen.sort();
            assert_eq!(seen, (0..n).collect::<Vec<_>>(), "a permutation, n = {n}");
        }
    }

    #[test]
    fn escape_detection_matches_the_bytewise_rule() {
        let slow = |s: &[u8]| s.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
        let base = "Heidestraße 17, Köln ok".as_bytes().to_vec();
        for len in 0..base.len() {
            for pos in 0..len {
                for byte in 0..=255u8 {
                    let mut s = base[..len].to_vec();
                    s[pos] = byte;
                    assert_eq!(needs_escape(&s), slow(&s), "{s:?}");
                }
            }
            assert_eq!(needs_escape(&base[..len]), slow(&base[..len]));
        }
    }

    #[tokio::test]
    async fn builder_set_claims_replace_user_claims_and_earlier_settings() {
        use eudi_trust::{Algorithm, SoftwareKey};
        let key = SoftwareKey::generate(Algorithm::Es256).unwrap();
        let first = SoftwareKey::generate(Algorithm::Es256).unwrap();
        let second = SoftwareKey::generate(Algorithm::Es256).unwrap();
        let claims = serde_json::json!({"vct": "user-chosen", "given_name": "Erika"});
        let claims = claims.as_object().unwrap();
        let sd = crate::vc::builder("urn:eudi:pid:1", "https://issuer.example", 1, claims)
            .holder_key(&first.verifying_key().to_jwk())
            .unwrap()
            .holder_key(&second.verifying_key().to_jwk())
            .unwrap()
            .sign(&key)
            .await
            .unwrap();
        let payload = crate::verifier::unverified_payload(&sd).unwrap();
        assert_eq!(payload["vct"], "urn:eudi:pid:1");
        assert_eq!(payload["iss"], "https://issuer.example");
        assert_eq!(payload["iat"], 1);
        let cnf: Jwk = serde_json::from_value(payload["cnf"]["jwk"].clone()).unwrap();
        assert_eq!(cnf, second.verifying_key().to_jwk());
        // Each name once, in the JSON text itself (a map would hide duplicates).
        let text = String::from_utf8(eudi_trust::b64::decode(sd.payload_b64()).unwrap()).unwrap();
        for name in ["\"vct\"", "\"iss\"", "\"iat\"", "\"cnf\""] {
            assert_eq!(text.matches(name).count(), 1, "{name} in {text}");
        }
        assert_eq!(sd.disclosures().len(), 1);
    }

    #[test]
    fn fast_string_writer_matches_serde_json() {
        for s in [
            "",
            "plain",
            "Heidestraße 17",
            "quote\"d",
            "back\\slash",
            "tab\there",
            "nul\u{0}",
            "del\u{7f}",
            "slash/ok",
            "emoji 😀",
            "\u{1f}",
        ] {
            let mut ours = Vec::new();
            write_json_str(&mut ours, s).unwrap();
            assert_eq!(ours, serde_json::to_vec(s).unwrap(), "{s:?}");
        }
    }
}
