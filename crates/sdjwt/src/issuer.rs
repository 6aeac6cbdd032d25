//! Issuing SD-JWTs (RFC 9901 §4): choose what is selectively disclosable by claim path, add decoy
//! digests, bind a holder key, sign.

use std::borrow::Cow;

use eudi_trust::Jwk;
use eudi_trust::Signer;
use eudi_trust::jws::Header;
use eudi_trust::jws::PreparedHeader;
use serde_json::Map;
use serde_json::Value;
use zeroize::Zeroize as _;

use crate::IssueError;
use crate::disclosure::SaltSource;
use crate::hash::DigestText;
use crate::hash::SdAlg;
use crate::path::ClaimPath;
use crate::path::PathElement;
use crate::serialization::SdJwt;

/// What the issuer makes selectively disclosable.
#[derive(Clone, Debug)]
enum SdSelection<'p> {
    /// Exactly the claims of a plan: built by [`SdJwtBuilder::sd`], or lent by an issuer that
    /// resolved its paths once ([`SdJwtBuilder::sd_plan`]).
    Plan(Cow<'p, DisclosurePlan>),
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

/// Which claims are selectively disclosable, by claim path, resolved into a tree once so
/// that issuing looks each claim up in its parent's few children instead of comparing whole
/// paths (and never copies the claims).
///
/// A `null` path element (every array element) also applies to the elements other paths
/// name by index. An issuer that issues many credentials with the same paths builds the plan
/// once and lends it to each builder ([`SdJwtBuilder::sd_plan`]).
#[derive(Clone, Debug)]
pub struct DisclosurePlan {
    /// The tree; the root (the claims object) is node 0.
    nodes: Vec<PlanNode>,
    /// Where the paths without wildcards end: each must name a claim when issuing.
    required: Vec<u32>,
}

#[derive(Clone, Debug, Default)]
struct PlanNode {
    /// The claim here is selectively disclosable.
    sd: bool,
    /// A path without wildcards ends here: it must exist.
    required: bool,
    /// The node above (the root's is [`NONE`]), to name a path in an error.
    parent: u32,
    keys: Vec<(String, u32)>,
    indices: Vec<(usize, u32)>,
    /// Every element of the array here.
    all: Option<u32>,
}

/// No plan node: nothing at or below this claim is selectively disclosable.
const NONE: u32 = u32::MAX;

/// A plan node id out of range (a bug).
const BAD_NODE: IssueError = IssueError::Internal("disclosure plan node out of range");

impl Default for DisclosurePlan {
    fn default() -> Self {
        Self {
            nodes: vec![PlanNode {
                parent: NONE,
                ..PlanNode::default()
            }],
            required: Vec::new(),
        }
    }
}

impl DisclosurePlan {
    /// An empty plan: nothing selectively disclosable.
    pub fn new() -> Self {
        Self::default()
    }

    /// A plan of these paths.
    pub fn of(paths: &[ClaimPath]) -> Result<Self, IssueError> {
        let mut plan = Self::new();
        for path in paths {
            plan.add(path)?;
        }
        Ok(plan)
    }

    /// Makes the claim at `path` selectively disclosable (see [`SdJwtBuilder::sd`]).
    pub fn add(&mut self, path: &ClaimPath) -> Result<(), IssueError> {
        self.add_owned(path.clone())
    }

    /// [`Self::add`], moving the path's names into the plan.
    fn add_owned(&mut self, path: ClaimPath) -> Result<(), IssueError> {
        if path.is_empty() {
            return Err(IssueError::InvalidSdPath {
                path: path.to_string(),
                reason: "the root cannot be selectively disclosable",
            });
        }
        if self.nodes.len() == 1 {
            // A PID-sized plan in one allocation each for the nodes and the top-level names.
            self.nodes.reserve(32);
            if let Some(root) = self.nodes.first_mut() {
                root.keys.reserve(16);
            }
        }
        let concrete = !path.0.iter().any(|e| matches!(e, PathElement::All(_)));
        if let Some(end) = self.insert(0, path.0.into_iter(), concrete)? {
            self.required.push(end);
        }
        Ok(())
    }

    /// The path of node `id`, for an error message.
    fn path_of(&self, mut id: u32) -> Result<ClaimPath, IssueError> {
        let mut path = Vec::new();
        while id != 0 {
            let parent_id = self.node(id)?.parent;
            let parent = self.node(parent_id)?;
            let element = if let Some((key, _)) = parent.keys.iter().find(|c| c.1 == id) {
                PathElement::Key(key.clone())
            } else if let Some((index, _)) = parent.indices.iter().find(|c| c.1 == id) {
                PathElement::Index(*index)
            } else {
                PathElement::All(crate::path::AllElements)
            };
            path.push(element);
            id = parent_id;
        }
        path.reverse();
        Ok(ClaimPath(path))
    }

    fn node(&self, id: u32) -> Result<&PlanNode, IssueError> {
        self.nodes.get(id as usize).ok_or(BAD_NODE)
    }

    fn node_mut(&mut self, id: u32) -> Result<&mut PlanNode, IssueError> {
        self.nodes.get_mut(id as usize).ok_or(BAD_NODE)
    }

    fn push(&mut self, parent: u32, mut node: PlanNode) -> Result<u32, IssueError> {
        node.parent = parent;
        let id = u32::try_from(self.nodes.len())
            .ok()
            .filter(|&id| id != NONE)
            .ok_or(IssueError::InvalidSdPath {
                path: String::new(),
                reason: "too many paths",
            })?;
        self.nodes.push(node);
        Ok(id)
    }

    /// Copies the subtree at `id` below `parent` (for an index child of an array that has a
    /// `null` child), with nothing in it required.
    fn copy(&mut self, id: u32, parent: u32) -> Result<u32, IssueError> {
        let node = self.node(id)?.clone();
        let copy = self.push(
            parent,
            PlanNode {
                sd: node.sd,
                ..PlanNode::default()
            },
        )?;
        for (key, child) in node.keys {
            let child = self.copy(child, copy)?;
            self.node_mut(copy)?.keys.push((key, child));
        }
        for (index, child) in node.indices {
            let child = self.copy(child, copy)?;
            self.node_mut(copy)?.indices.push((index, child));
        }
        if let Some(all) = node.all {
            let child = self.copy(all, copy)?;
            self.node_mut(copy)?.all = Some(child);
        }
        Ok(copy)
    }

    /// Marks `rest` below node `id`; returns the node that became required, if one did.
    fn insert(
        &mut self,
        id: u32,
        mut rest: std::vec::IntoIter<PathElement>,
        required: bool,
    ) -> Result<Option<u32>, IssueError> {
        let Some(first) = rest.next() else {
            let node = self.node_mut(id)?;
            node.sd = true;
            let newly = required && !node.required;
            node.required |= required;
            return Ok(newly.then_some(id));
        };
        match first {
            PathElement::Key(key) => {
                let node = self.node(id)?;
                let found = node.keys.iter().find(|(k, _)| *k == key).map(|c| c.1);
                let child = match found {
                    Some(child) => child,
                    None => {
                        let child = self.push(id, PlanNode::default())?;
                        self.node_mut(id)?.keys.push((key, child));
                        child
                    }
                };
                self.insert(child, rest, required)
            }
            PathElement::Index(index) => {
                let node = self.node(id)?;
                let found = node.indices.iter().find(|(i, _)| *i == index).map(|c| c.1);
                let child = match (found, node.all) {
                    (Some(child), _) => child,
                    // What `null` selects applies to this element too.
                    (None, Some(all)) => {
                        let child = self.copy(all, id)?;
                        self.node_mut(id)?.indices.push((index, child));
                        child
                    }
                    (None, None) => {
                        let child = self.push(id, PlanNode::default())?;
                        self.node_mut(id)?.indices.push((index, child));
                        child
                    }
                };
                self.insert(child, rest, required)
            }
            PathElement::All(_) => {
                let all = match self.node(id)?.all {
                    Some(all) => all,
                    None => {
                        let all = self.push(id, PlanNode::default())?;
                        self.node_mut(id)?.all = Some(all);
                        all
                    }
                };
                // And to every element named by index so far.
                let indexed: Vec<u32> = self.node(id)?.indices.iter().map(|c| c.1).collect();
                for child in indexed {
                    self.insert(child, rest.clone(), false)?;
                }
                self.insert(all, rest, false)?;
                Ok(None)
            }
        }
    }

    /// The node of `child` under node `id`, or [`NONE`].
    fn child(&self, id: u32, child: Child<'_>) -> Result<u32, IssueError> {
        if id == NONE {
            return Ok(NONE);
        }
        let node = self.node(id)?;
        let found = match child {
            Child::Key(key) => node.keys.iter().find(|(k, _)| k == key).map(|c| c.1),
            Child::Index(index) => node
                .indices
                .iter()
                .find(|(i, _)| *i == index)
                .map(|c| c.1)
                .or(node.all),
        };
        Ok(found.unwrap_or(NONE))
    }

    /// Salts an issuance with this plan needs at least (one per selectively disclosable
    /// node; an array's `null` node may stand for more).
    fn disclosures_hint(&self) -> usize {
        self.nodes.iter().filter(|n| n.sd).count()
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
    error: Option<Deferred>,
    selection: SdSelection<'c>,
    /// Top-level claims that must never be selectively disclosable, whatever the selection
    /// says (SD-JWT VC §3.2.2.2 for an SD-JWT VC): asking for one is an error.
    never_sd: &'static [&'static str],
    decoys: usize,
    sd_alg: SdAlg,
}

/// An error of a builder step, kept (and cloned with the builder) until `sign` reports it.
#[derive(Clone, Debug)]
enum Deferred {
    Path { path: String, reason: &'static str },
    Encoding(String),
    Internal(&'static str),
}

impl Deferred {
    fn of(e: IssueError) -> Self {
        match e {
            IssueError::InvalidSdPath { path, reason } => Self::Path { path, reason },
            IssueError::Encoding(m) => Self::Encoding(m),
            IssueError::Internal(m) => Self::Internal(m),
            // The builder steps fail with the three above only; anything else keeps its
            // message.
            other => Self::Encoding(other.to_string()),
        }
    }

    fn into_error(self) -> IssueError {
        match self {
            Self::Path { path, reason } => IssueError::InvalidSdPath { path, reason },
            Self::Encoding(m) => IssueError::Encoding(m),
            Self::Internal(m) => IssueError::Internal(m),
        }
    }
}

/// Top-level claims the builder sets itself: `"name":value` members, comma-separated, in one
/// buffer.
#[derive(Clone, Debug, Default)]
struct Added {
    json: Vec<u8>,
    /// Each member's name and where its `"name":value` is in `json`; inline, as the builder
    /// sets at most a handful. The first `count` are set.
    members: [(&'static str, usize, usize); MAX_ADDED],
    count: usize,
}

/// Most top-level claims a builder sets itself (`vct`, `iss`, `iat`, `cnf` and room to grow).
const MAX_ADDED: usize = 8;

impl Added {
    fn members(&self) -> impl Iterator<Item = &(&'static str, usize, usize)> {
        self.members.iter().take(self.count)
    }

    fn contains(&self, name: &str) -> bool {
        self.members().any(|(n, ..)| *n == name)
    }

    /// Sets `name` to the JSON `write` produces, replacing an earlier value.
    fn set(
        &mut self,
        name: &'static str,
        write: impl FnOnce(&mut Vec<u8>) -> Result<(), IssueError>,
    ) -> Result<(), IssueError> {
        if self.contains(name) {
            // Set twice (rare): keep the other members as they were written.
            let old = std::mem::take(self);
            for &(other, start, end) in old.members().filter(|(n, ..)| *n != name) {
                let member = old
                    .json
                    .get(start..end)
                    .ok_or(IssueError::Internal("builder-set claim out of range"))?;
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
        write_member: impl FnOnce(&mut Vec<u8>) -> Result<(), IssueError>,
    ) -> Result<(), IssueError> {
        let Some(slot) = self.members.get_mut(self.count) else {
            return Err(IssueError::Internal("too many builder-set claims"));
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

/// The buffers an issuance works in. They are kept per thread between issuances, so an
/// issuance writes into warm memory it already owns instead of allocating ~10 buffers; what
/// they held (plain claims, disclosure JSON: personal data) is zeroed when an issuance
/// releases them ([`zeroize`]), not only cleared. The disclosures themselves are written
/// straight into the issued text, which goes to the caller.
#[derive(Default)]
struct Scratch {
    /// The payload JSON.
    payload: Vec<u8>,
    /// Scratch buffers for disclosures being written, one per nesting level, each with the
    /// most bytes it has held since it was last wiped.
    pool: Vec<(Vec<u8>, usize)>,
    /// The digests of the objects being written, innermost last.
    digests: Vec<DigestText>,
    /// Scratch for sorting one object's digests.
    order: Vec<(u64, usize)>,
    /// The length of the thread's last issued text, to size the next one.
    last_len: usize,
}

/// Buffers larger than this in total are not kept for the next issuance (one credential with
/// a large portrait must not pin its buffers to the thread).
const KEEP_BUFFERS_UP_TO: usize = 64 * 1024;

thread_local! {
    static BUFFERS: std::cell::Cell<Option<Scratch>> = const { std::cell::Cell::new(None) };
}

impl Scratch {
    /// The thread's buffers, empty, or new ones.
    fn take() -> Self {
        BUFFERS
            .try_with(std::cell::Cell::take)
            .ok()
            .flatten()
            .unwrap_or_else(|| Self {
                payload: Vec::with_capacity(2048),
                pool: Vec::new(),
                digests: Vec::with_capacity(64),
                order: Vec::with_capacity(32),
                last_len: 4096,
            })
    }

    /// Zeroes what the buffers held, keeping their lengths: the payload up to its length (it
    /// only grows during an issuance; the bytes beyond were wiped the last time, or never
    /// written), a pool buffer up to the most it held (it is cleared and rewritten for each
    /// disclosure, so shorter ones leave longer ones' bytes beyond their length).
    fn zero(&mut self) {
        self.payload.as_mut_slice().zeroize();
        for (buf, high) in &mut self.pool {
            let len = buf.len();
            buf.as_mut_slice().zeroize();
            let beyond = high.saturating_sub(len);
            let spare = buf.spare_capacity_mut();
            let end = beyond.min(spare.len());
            if let Some(spare) = spare.get_mut(..end) {
                spare.zeroize();
            }
            *high = 0;
        }
    }

    /// [`Self::zero`], then empties the buffers.
    fn wipe(&mut self) {
        self.zero();
        self.payload.clear();
        for (buf, _) in &mut self.pool {
            buf.clear();
        }
    }

    /// Wipes the buffers and keeps them for the thread's next issuance.
    fn give_back(mut self) {
        self.wipe();
        let size = self.payload.capacity()
            + self
                .pool
                .iter()
                .map(|(buf, _)| buf.capacity())
                .sum::<usize>()
            + self.digests.capacity() * size_of::<DigestText>();
        if size > KEEP_BUFFERS_UP_TO {
            return;
        }
        self.digests.clear();
        self.order.clear();
        let _ = BUFFERS.try_with(|cell| cell.set(Some(self)));
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // An issuance that failed, or buffers too large to keep: wiped all the same.
        self.wipe();
    }
}

/// What [`SdJwtBuilder::encode`] produces.
struct Encoded {
    scratch: Scratch,
    /// The disclosures, each followed by `~`: the start of the issued text.
    out: Vec<u8>,
    /// How many.
    count: usize,
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
            selection: SdSelection::Plan(Cow::Owned(DisclosurePlan::new())),
            never_sd: &[],
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

    /// Top-level claims that can never be selectively disclosable (SD-JWT VC §3.2.2.2).
    pub(crate) fn never_sd(mut self, names: &'static [&'static str]) -> Self {
        self.never_sd = names;
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
    /// its sub-claims disclosable gives recursive disclosures (RFC 9901 §4.2.6). A path
    /// without `null` must name a claim when signing, so a typo is an error, not a no-op.
    pub fn sd(mut self, path: ClaimPath) -> Self {
        if let SdSelection::All { .. } = self.selection {
            self.selection = SdSelection::Plan(Cow::Owned(DisclosurePlan::new()));
        }
        if let SdSelection::Plan(plan) = &mut self.selection
            && let Err(e) = plan.to_mut().add_owned(path)
        {
            self.error = self.error.or(Some(Deferred::of(e)));
        }
        self
    }

    /// Makes the claims of `plan` selectively disclosable, replacing any selection made so far
    /// (later [`Self::sd`] calls add to a copy).
    pub fn sd_plan(mut self, plan: &'c DisclosurePlan) -> Self {
        self.selection = SdSelection::Plan(Cow::Borrowed(plan));
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
            self.error = self.error.or(Some(Deferred::of(e)));
        }
        self
    }

    /// [`Self::plain_claim`] for a string, written without going through serde.
    pub(crate) fn plain_str(mut self, name: &'static str, value: &str) -> Self {
        if let Err(e) = self.added.set(name, |out| write_json_str(out, value)) {
            self.error = self.error.or(Some(Deferred::of(e)));
        }
        self
    }

    /// Binds the credential to the holder's key (`cnf.jwk`, RFC 7800).
    /// Only public members are written: a private `d` never reaches the credential.
    pub fn holder_key(mut self, jwk: &Jwk) -> Result<Self, IssueError> {
        self.added.set("cnf", |out| {
            out.extend_from_slice(b"{\"jwk\":");
            write_public_jwk(out, jwk)?;
            out.push(b'}');
            Ok(())
        })?;
        Ok(self)
    }

    /// Encodes the disclosures and signs. The signer's algorithm goes into `alg`.
    pub async fn sign(self, signer: &dyn Signer) -> Result<SdJwt, IssueError> {
        let header = prepare(&self.effective_header(), signer)?;
        self.sign_prepared(&header, signer).await
    }

    /// Signs under a header prepared once for many credentials (an issuer's `typ` and `x5c`
    /// or `kid`), instead of the header set on this builder.
    pub async fn sign_prepared(
        self,
        header: &PreparedHeader,
        signer: &dyn Signer,
    ) -> Result<SdJwt, IssueError> {
        let mut encoded = self.encode()?;
        let signed = sign_encoded(
            header,
            signer,
            &encoded.scratch.payload,
            std::mem::take(&mut encoded.out),
            encoded.count,
        )
        .await;
        encoded.scratch.give_back();
        signed
    }

    /// Like [`Self::sign`], with several signatures (general JWS JSON serialization, RFC 9901
    /// §8.3); each signer's `kid` header is taken from `kids`.
    pub async fn sign_general(self, signers: &[(&dyn Signer, &str)]) -> Result<SdJwt, IssueError> {
        let (first, rest) = signers.split_first().ok_or(IssueError::NoSigner)?;
        let builder = self.kid(first.1);
        let mut header = builder.effective_header();
        let mut encoded = builder.encode()?;
        let mut sd = sign_encoded(
            &prepare(&header, first.0)?,
            first.0,
            &encoded.scratch.payload,
            std::mem::take(&mut encoded.out),
            encoded.count,
        )
        .await?;
        for (signer, kid) in rest {
            header.kid = Some((*kid).to_owned());
            let other = sign_encoded(
                &prepare(&header, *signer)?,
                *signer,
                &encoded.scratch.payload,
                Vec::new(),
                0,
            )
            .await?;
            if let Some(sig) = other.signatures()?.first() {
                sd.push_signature(sig.protected, sig.signature);
            }
        }
        Ok(sd)
    }

    /// Produces the payload JSON and the disclosures.
    fn encode(self) -> Result<Encoded, IssueError> {
        if let Some(e) = self.error {
            return Err(e.into_error());
        }
        for reserved in ["_sd", "_sd_alg", "..."] {
            if self.claims.contains_key(reserved) {
                return Err(IssueError::ReservedClaimName {
                    path: format!("[{reserved:?}]"),
                    reason: "the claim name is reserved by RFC 9901",
                });
            }
        }
        let expected = match &self.selection {
            // Every object written gets the decoys, disclosed or not.
            SdSelection::Plan(plan) if self.decoys > 0 => {
                plan.disclosures_hint() + self.decoys * count_objects(&self.claims)
            }
            SdSelection::Plan(plan) => plan.disclosures_hint(),
            SdSelection::All { .. } => count_all(&self.claims, self.decoys),
        };
        let mut scratch = Scratch::take();
        let mut payload = std::mem::take(&mut scratch.payload);
        let out = Vec::with_capacity(scratch.last_len + 256);
        let mut enc = Encoder::new(
            &self.selection,
            self.never_sd,
            self.decoys,
            self.sd_alg,
            SaltSource::new(expected),
            scratch,
            out,
        );
        let result = enc
            .root(&self.claims, &self.added, &mut payload)
            .and_then(|()| match &self.selection {
                SdSelection::Plan(plan) => {
                    check_all_matched(plan, enc.matched, &self.claims, &self.added)
                }
                SdSelection::All { .. } => Ok(()),
            });
        if let Err(e) = result {
            // Nothing half-issued stays in memory (the scratch wipes itself when dropped).
            payload.zeroize();
            enc.out.zeroize();
            return Err(e);
        }
        let mut scratch = std::mem::take(&mut enc.scratch);
        // The next issued text gets room for this one's disclosures, payload and a header
        // with a certificate, so it is not moved (copying personal data) while written.
        scratch.last_len = enc.out.len() + payload.len() * 4 / 3 + 2048;
        scratch.payload = payload;
        Ok(Encoded {
            scratch,
            out: std::mem::take(&mut enc.out),
            count: enc.count,
        })
    }
}

/// About how many salts an issuance of every claim needs: one per claim at every level and
/// the decoys of each object. It counts excepted claims too (no names are compared): a few
/// salts too many cost less than a second fill.
fn count_all(claims: &Map<String, Value>, decoys: usize) -> usize {
    fn count(v: &Value, decoys: usize) -> usize {
        match v {
            Value::Object(m) => decoys + m.values().map(|c| 1 + count(c, decoys)).sum::<usize>(),
            Value::Array(a) => a.iter().map(|c| 1 + count(c, decoys)).sum(),
            _ => 0,
        }
    }
    decoys + claims.values().map(|v| 1 + count(v, decoys)).sum::<usize>()
}

/// How many objects `claims` has at every level, itself included.
fn count_objects(claims: &Map<String, Value>) -> usize {
    fn count(v: &Value) -> usize {
        match v {
            Value::Object(m) => 1 + m.values().map(count).sum::<usize>(),
            Value::Array(a) => a.iter().map(count).sum(),
            _ => 0,
        }
    }
    1 + claims.values().map(count).sum::<usize>()
}

/// Every path without wildcards must have named a claim that was made disclosable: if fewer
/// were met than the plan requires, names the first that was not and why.
fn check_all_matched(
    plan: &DisclosurePlan,
    matched: usize,
    claims: &Map<String, Value>,
    added: &Added,
) -> Result<(), IssueError> {
    if matched == plan.required.len() {
        return Ok(());
    }
    for &end in &plan.required {
        let path = plan.path_of(end)?;
        let mut current: Option<&Value> = None;
        for (depth, element) in path.0.iter().enumerate() {
            current = match (depth, element, current) {
                (0, PathElement::Key(k), _) => claims.get(k),
                (_, PathElement::Key(k), Some(Value::Object(m))) => m.get(k),
                (_, PathElement::Index(i), Some(Value::Array(a))) => a.get(*i),
                _ => None,
            };
            if current.is_none() {
                break;
            }
        }
        let reason = match path.0.first() {
            _ if current.is_none() => "no such claim",
            Some(PathElement::Key(k)) if added.contains(k) => {
                "the builder sets this claim, which is never selectively disclosable"
            }
            _ => continue,
        };
        return Err(IssueError::InvalidSdPath {
            path: path.to_string(),
            reason,
        });
    }
    Err(IssueError::Internal(
        "a claim path of the plan was neither met nor missing",
    ))
}

fn prepare(header: &Header, signer: &dyn Signer) -> Result<PreparedHeader, IssueError> {
    PreparedHeader::new(header, signer.algorithm()).map_err(IssueError::Signing)
}

/// Signs `payload` and lays out `header.payload.signature~` followed by the `count`
/// disclosures `text` holds (each ended by `~`) as an [`SdJwt`].
async fn sign_encoded(
    header: &PreparedHeader,
    signer: &dyn Signer,
    payload: &[u8],
    mut text: Vec<u8>,
    count: usize,
) -> Result<SdJwt, IssueError> {
    let disclosures_len = text.len();
    text.reserve(header.encoded().len() + payload.len() * 4 / 3 + 96);
    let signed = header
        .sign_into(payload, signer, &mut text)
        .await
        .map_err(IssueError::Signing);
    if let Err(e) = signed {
        // The disclosures (personal data) are not left behind in freed memory.
        text.zeroize();
        return Err(e);
    }
    text.push(b'~');
    let jwt_end = text.len() - disclosures_len - 1;
    // `D1~…~Dn~JWT~` becomes `JWT~D1~…~Dn~`: one move, instead of keeping the disclosures
    // (personal data) in a buffer of their own and copying them.
    text.rotate_right(jwt_end + 1);
    let first_dot = header.encoded().len();
    let second_dot = first_dot + 1 + eudi_trust::b64::encoded_len(payload.len());
    let text = String::from_utf8(text)
        .map_err(|_| IssueError::Internal("the issued SD-JWT is not ASCII"))?;
    SdJwt::from_issued(text, [first_dot, second_dot, jwt_end], count)
        .map_err(|_| IssueError::Internal("the issued SD-JWT is not laid out as expected"))
}

/// Writes the payload JSON directly, bottom-up: a claim's value is encoded first, then either
/// embedded in its parent or wrapped in a Disclosure whose digest the parent lists. Scratch
/// buffers are reused, so issuing allocates little beyond the output itself.
struct Encoder<'a> {
    selection: &'a SdSelection<'a>,
    never_sd: &'static [&'static str],
    decoys: usize,
    sd_alg: SdAlg,
    salts: SaltSource,
    scratch: Scratch,
    /// The encoded disclosures, each followed by `~`.
    out: Vec<u8>,
    /// How many.
    count: usize,
    /// Current path, borrowed from the claims (for error messages).
    path: Vec<Child<'a>>,
    /// The plan node of the current claim ([`NONE`]: outside the plan).
    node: u32,
    /// Required plan nodes met.
    matched: usize,
    /// Nesting depth below the root object.
    depth: usize,
    /// Under a top-level claim that [`SdSelection::All`] excepts.
    excepted: bool,
}

/// Pushes the digest of `input` onto `stack`, written in place.
fn push_digest(stack: &mut Vec<DigestText>, alg: SdAlg, input: &[u8]) -> Result<(), IssueError> {
    stack.push(DigestText::EMPTY);
    let set = stack.last_mut().is_some_and(|last| last.set(alg, input));
    if set {
        Ok(())
    } else {
        Err(IssueError::Internal("a digest does not fit its buffer"))
    }
}

#[derive(Clone, Copy, Debug)]
enum Child<'k> {
    Key(&'k str),
    Index(usize),
}

impl<'a> Encoder<'a> {
    fn new(
        selection: &'a SdSelection<'a>,
        never_sd: &'static [&'static str],
        decoys: usize,
        sd_alg: SdAlg,
        salts: SaltSource,
        scratch: Scratch,
        out: Vec<u8>,
    ) -> Self {
        Self {
            selection,
            never_sd,
            decoys,
            sd_alg,
            salts,
            scratch,
            out,
            count: 0,
            path: Vec::new(),
            node: 0,
            matched: 0,
            depth: 0,
            excepted: false,
        }
    }

    fn current_path(&self) -> String {
        ClaimPath(
            self.path
                .iter()
                .map(|c| match c {
                    Child::Key(k) => PathElement::Key((*k).to_owned()),
                    Child::Index(i) => PathElement::Index(*i),
                })
                .collect(),
        )
        .to_string()
    }

    /// Enters a child; returns whether it is selectively disclosable. The caller restores
    /// the plan node with [`Self::leave`].
    fn enter(&mut self, child: Child<'a>) -> Result<bool, IssueError> {
        self.path.push(child);
        match self.selection {
            SdSelection::Plan(plan) => {
                self.node = plan.child(self.node, child)?;
                if self.node == NONE {
                    return Ok(false);
                }
                if self.depth == 0
                    && let Child::Key(k) = child
                    && self.never_sd.contains(&k)
                {
                    return Err(IssueError::ReservedClaimName {
                        path: self.current_path(),
                        reason: "SD-JWT VC (§3.2.2.2) forbids it, or a sub-claim of it, to be \
                                 selectively disclosable",
                    });
                }
                let node = plan.node(self.node)?;
                if node.sd && node.required {
                    self.matched += 1;
                }
                Ok(node.sd)
            }
            // The exceptions cover their sub-claims too (SD-JWT VC §3.2.2.2: "including any of
            // their sub-claims").
            SdSelection::All { except } => {
                if self.depth == 0 {
                    self.excepted = match (child, except) {
                        // The crate's own lists already name every never-disclosable claim.
                        (Child::Key(k), Except::Static(names)) => names.contains(&k),
                        (Child::Key(k), Except::Owned(_)) => {
                            except.contains(k) || self.never_sd.contains(&k)
                        }
                        (Child::Index(_), _) => false,
                    };
                }
                Ok(!self.excepted)
            }
        }
    }

    fn leave(&mut self, parent: u32) {
        self.path.pop();
        self.node = parent;
        if self.depth == 0 {
            self.excepted = false;
        }
    }

    fn value(&mut self, value: &'a Value, out: &mut Vec<u8>) -> Result<(), IssueError> {
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
            // With `arbitrary_precision`, serde_json writes a number's digits exactly as read.
            scalar => write_json(out, scalar),
        };
        self.depth -= 1;
        result
    }

    /// Writes `["salt","name",value]` (or `["salt",value]`) into a scratch buffer and appends
    /// its base64url form to the disclosures; its digest goes on top of the digest stack.
    fn disclose(&mut self, name: Option<&str>, value: &'a Value) -> Result<(), IssueError> {
        let (mut json, high) = self
            .scratch
            .pool
            .pop()
            .unwrap_or_else(|| (Vec::with_capacity(256), 0));
        json.clear();
        let result = self.disclosure_json(name, value, &mut json).and_then(|()| {
            let start = self.out.len();
            eudi_trust::b64::encode_into_vec(&json[..], &mut self.out);
            let encoded = self
                .out
                .get(start..)
                .ok_or(IssueError::Internal("disclosure out of range"))?;
            push_digest(&mut self.scratch.digests, self.sd_alg, encoded)?;
            self.out.push(b'~');
            self.count += 1;
            Ok(())
        });
        let high = high.max(json.len());
        self.scratch.pool.push((json, high));
        result
    }

    fn disclosure_json(
        &mut self,
        name: Option<&str>,
        value: &'a Value,
        json: &mut Vec<u8>,
    ) -> Result<(), IssueError> {
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
        claims: &'a Map<String, Value>,
        added: &Added,
        out: &mut Vec<u8>,
    ) -> Result<(), IssueError> {
        self.members(claims, Some(added), out)?;
        if out.len() > 1 {
            out.push(b',');
        }
        out.extend_from_slice(b"\"_sd_alg\":");
        write_json_str(out, self.sd_alg.name())?;
        out.push(b'}');
        Ok(())
    }

    fn object(&mut self, map: &'a Map<String, Value>, out: &mut Vec<u8>) -> Result<(), IssueError> {
        self.members(map, None, out)?;
        out.push(b'}');
        Ok(())
    }

    /// `{` and the members of an object, without the closing `}`.
    fn members(
        &mut self,
        map: &'a Map<String, Value>,
        added: Option<&Added>,
        out: &mut Vec<u8>,
    ) -> Result<(), IssueError> {
        out.push(b'{');
        let mut first = true;
        // This object's digests go on a stack shared by all levels, from `base` on.
        let base = self.scratch.digests.len();
        for (key, value) in map {
            if added.is_some_and(|a| a.contains(key)) {
                continue;
            }
            if key == "_sd" || key == "..." || (key == "_sd_alg" && self.depth > 0) {
                self.path.push(Child::Key(key));
                return Err(IssueError::ReservedClaimName {
                    path: self.current_path(),
                    reason: "the claim name is reserved by RFC 9901",
                });
            }
            let parent = self.node;
            let result = self.enter(Child::Key(key)).and_then(|sd| {
                if sd {
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
                }
            });
            self.leave(parent);
            result?;
        }
        if let Some(added) = added.filter(|a| !a.json.is_empty()) {
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(&added.json);
        }
        if self.scratch.digests.len() > base || self.decoys > 0 {
            for _ in 0..self.decoys {
                let random = self.salts.next_bytes()?;
                push_digest(&mut self.scratch.digests, self.sd_alg, &random)?;
            }
            let Scratch { digests, order, .. } = &mut self.scratch;
            let digests = digests
                .get_mut(base..)
                .ok_or(IssueError::Internal("digest stack out of range"))?;
            // Sorting hides the original claim order (RFC 9901 §4.2.4.1).
            sort_digests(digests, order);
            if !first {
                out.push(b',');
            }
            out.extend_from_slice(b"\"_sd\":[");
            for (n, (_, i)) in order.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                out.push(b'"');
                let digest = digests
                    .get(*i)
                    .and_then(DigestText::as_bytes)
                    .ok_or(IssueError::Internal("digest out of range"))?;
                out.extend_from_slice(digest);
                out.push(b'"');
            }
            self.scratch.digests.truncate(base);
            out.push(b']');
        }
        Ok(())
    }

    fn array(&mut self, items: &'a [Value], out: &mut Vec<u8>) -> Result<(), IssueError> {
        out.push(b'[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let parent = self.node;
            let result = self.enter(Child::Index(i)).and_then(|sd| {
                if sd {
                    self.disclose(None, item)?;
                    let digest = self
                        .scratch
                        .digests
                        .pop()
                        .ok_or(IssueError::Internal("digest stack is empty"))?;
                    out.extend_from_slice(b"{\"...\":\"");
                    out.extend_from_slice(
                        digest
                            .as_bytes()
                            .ok_or(IssueError::Internal("digest out of range"))?,
                    );
                    out.extend_from_slice(b"\"}");
                    Ok(())
                } else {
                    self.value(item, out)
                }
            });
            self.leave(parent);
            result?;
        }
        out.push(b']');
        Ok(())
    }
}

fn write_json<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) -> Result<(), IssueError> {
    serde_json::to_writer(out, v).map_err(|e| IssueError::Encoding(e.to_string()))
}

/// A JSON string, byte-for-byte what `serde_json` writes: strings that need no escaping (no
/// `"`, `\\` or control character, the common case for claim names and values) are copied
/// as they are, anything else goes through `serde_json`.
fn write_json_str(out: &mut Vec<u8>, s: &str) -> Result<(), IssueError> {
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
fn write_public_jwk(out: &mut Vec<u8>, jwk: &Jwk) -> Result<(), IssueError> {
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
/// are sorted, so most comparisons are of one integer and no digest is moved. If two prefixes
/// are equal (practically never), the digests themselves are sorted (by prefix, then text) and
/// `order` is the identity.
fn sort_digests(digests: &mut [DigestText], order: &mut Vec<(u64, usize)>) {
    order.clear();
    order.extend(digests.iter().map(DigestText::prefix).zip(0..));
    order.sort_unstable();
    if order.windows(2).any(|w| w[0].0 == w[1].0) {
        digests.sort_unstable();
        order.clear();
        order.extend(digests.iter().map(DigestText::prefix).zip(0..));
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
    use eudi_trust::Algorithm;
    use eudi_trust::SoftwareKey;
    use serde_json::json;

    use super::*;

    fn claims() -> Map<String, Value> {
        let Value::Object(map) = json!({
            "given_name": "Erika",
            "address": {"locality": "Köln", "postal_code": "51147", "country": "DE"},
            "nationalities": ["DE", "DK", "SE"],
            "children": [{"name": "A", "age": 3}, {"name": "B", "age": 5}],
            "empty": [],
        }) else {
            unreachable!("an object literal")
        };
        map
    }

    /// The paths of every disclosure of an SD-JWT, sorted.
    fn disclosed(sd: &SdJwt) -> Vec<String> {
        let (_, list) = crate::holder::disclosable_claims(sd).unwrap();
        let mut paths: Vec<String> = list.iter().map(|c| c.path.to_string()).collect();
        paths.sort();
        paths
    }

    fn path(json: Value) -> ClaimPath {
        serde_json::from_value(json).unwrap()
    }

    #[tokio::test]
    async fn explicit_paths_disclose_exactly_what_they_name() {
        let key = SoftwareKey::generate(Algorithm::Es256).unwrap();
        let claims = claims();
        let paths = [
            path(json!(["given_name"])),
            path(json!(["address", "locality"])),
            path(json!(["address"])),
            // An index and `null` over the same array: `null` covers index 1 as well.
            path(json!(["nationalities", 1])),
            path(json!(["nationalities", null])),
            // `null` first, then a member below one index: that element keeps `null`'s part.
            path(json!(["children", null, "age"])),
            path(json!(["children", 0])),
            // `null` over an empty array names nothing, and that is no error.
            path(json!(["empty", null])),
        ];
        let by_sd = paths
            .iter()
            .fold(SdJwtBuilder::new(&claims), |b, p| b.sd(p.clone()))
            .sign(&key)
            .await
            .unwrap();
        let want = [
            "[\"address\",\"locality\"]",
            "[\"address\"]",
            "[\"children\",0,\"age\"]",
            "[\"children\",0]",
            "[\"children\",1,\"age\"]",
            "[\"given_name\"]",
            "[\"nationalities\",0]",
            "[\"nationalities\",1]",
            "[\"nationalities\",2]",
        ];
        assert_eq!(disclosed(&by_sd), want);
        // The same plan, built once and lent.
        let plan = DisclosurePlan::of(&paths).unwrap();
        for _ in 0..2 {
            let lent = SdJwtBuilder::new(&claims)
                .sd_plan(&plan)
                .sign(&key)
                .await
                .unwrap();
            assert_eq!(disclosed(&lent), want);
        }
        // Everything else is plain in the payload.
        let payload = crate::verifier::unverified_payload(&by_sd).unwrap();
        assert!(!payload.contains_key("given_name"));
        assert_eq!(payload["empty"], json!([]));
    }

    #[tokio::test]
    async fn explicit_paths_that_name_nothing_are_errors() {
        let key = SoftwareKey::generate(Algorithm::Es256).unwrap();
        let claims = claims();
        for (bad, reason) in [
            (json!(["nope"]), "no such claim"),
            (json!(["address", "street"]), "no such claim"),
            (json!(["nationalities", 7]), "no such claim"),
            (json!(["given_name", "x"]), "no such claim"),
            (json!([]), "the root cannot be selectively disclosable"),
        ] {
            let err = SdJwtBuilder::new(&claims)
                .sd(path(json!(["given_name"])))
                .sd(path(bad.clone()))
                .sign(&key)
                .await
                .err();
            assert!(
                matches!(&err, Some(IssueError::InvalidSdPath { path, reason: r })
                    if *r == reason && (path == &bad.to_string() || bad == json!([]))),
                "{bad}: {err:?}"
            );
        }
    }

    #[tokio::test]
    async fn reserved_names_below_the_top_are_refused() {
        let key = SoftwareKey::generate(Algorithm::Es256).unwrap();
        for claims in [
            json!({"a": {"_sd": ["x"]}}),
            json!({"a": {"...": "x"}}),
            json!({"a": [{"_sd_alg": "sha-256"}]}),
            json!({"_sd_alg": "sha-256"}),
        ] {
            let Value::Object(map) = claims.clone() else {
                unreachable!()
            };
            for builder in [
                SdJwtBuilder::new(&map),
                SdJwtBuilder::new(&map).sd_all_except(&[]),
            ] {
                let err = builder.sign(&key).await.err();
                assert!(
                    matches!(err, Some(IssueError::ReservedClaimName { .. })),
                    "{claims}: {err:?}"
                );
            }
        }
    }

    #[test]
    fn released_buffers_are_zeroed() {
        let mut scratch = Scratch::default();
        scratch.payload = b"{\"given_name\":\"Erika\"}".to_vec();
        scratch.pool = vec![(b"[\"salt\",\"family_name\",\"Mustermann\"]".to_vec(), 0)];
        scratch.zero();
        assert!(scratch.payload.iter().all(|&b| b == 0));
        assert!(scratch.pool.iter().all(|(b, _)| b.iter().all(|&b| b == 0)));
        assert!(
            !scratch.payload.is_empty(),
            "zeroed in place, not only cleared"
        );
    }

    #[tokio::test]
    async fn one_random_fill_per_issuance() {
        // Every salt and decoy of a PID-sized credential comes from one fill of the system
        // generator (counted by the salt source the encoder ends with).
        let Value::Object(map) = json!({
            "a": 1, "b": {"c": 2, "d": [3, 4]}, "e": [{"f": 5}], "g": "h"
        }) else {
            unreachable!()
        };
        let selection = SdSelection::All {
            except: Except::Static(&[]),
        };
        let expected = count_all(&map, 2);
        let mut enc = Encoder::new(
            &selection,
            &[],
            2,
            SdAlg::Sha256,
            SaltSource::new(expected),
            Scratch::default(),
            Vec::new(),
        );
        let mut payload = Vec::new();
        enc.root(&map, &Added::default(), &mut payload).unwrap();
        assert_eq!(enc.count, 10);
        assert_eq!(enc.salts.fills(), 1);
        // Explicit paths with decoys: the estimate covers every object's decoys too.
        let key = SoftwareKey::generate(Algorithm::Es256).unwrap();
        let plan = DisclosurePlan::of(&[path(json!(["b", "c"])), path(json!(["a"]))]).unwrap();
        let builder = SdJwtBuilder::new(&map).sd_plan(&plan).decoys(3);
        let SdSelection::Plan(p) = &builder.selection else {
            unreachable!()
        };
        let expected = p.disclosures_hint() + 3 * count_objects(&map);
        let mut enc = Encoder::new(
            &builder.selection,
            &[],
            3,
            SdAlg::Sha256,
            SaltSource::new(expected),
            Scratch::default(),
            Vec::new(),
        );
        enc.root(&map, &Added::default(), &mut Vec::new()).unwrap();
        assert_eq!(enc.count, 2);
        assert_eq!(enc.salts.fills(), 1, "expected {expected}");
        // And the builder issues it.
        builder.sign(&key).await.unwrap();
    }

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
            Err(IssueError::Internal(_))
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
                .map(|i| DigestText::of(SdAlg::Sha256, &i.to_le_bytes()).unwrap())
                .collect();
            // Equal prefixes and equal digests too.
            if n > 3 {
                digests[1] = digests[0];
                digests[2] =
                    DigestText::from_text("AAAAAAAAzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz").unwrap();
                digests[3] =
                    DigestText::from_text("AAAAAAAAyzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz").unwrap();
            }
            let mut want: Vec<Vec<u8>> = digests
                .iter()
                .map(|d| d.as_bytes().unwrap().to_vec())
                .collect();
            want.sort();
            sort_digests(&mut digests, &mut order);
            let got: Vec<Vec<u8>> = order
                .iter()
                .map(|&(_, i)| digests[i].as_bytes().unwrap().to_vec())
                .collect();
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
        use eudi_trust::Algorithm;
        use eudi_trust::SoftwareKey;
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
        let text =
            String::from_utf8(eudi_trust::b64::decode(sd.payload_b64().unwrap()).unwrap()).unwrap();
        for name in ["\"vct\"", "\"iss\"", "\"iat\"", "\"cnf\""] {
            assert_eq!(text.matches(name).count(), 1, "{name} in {text}");
        }
        assert_eq!(sd.disclosure_count(), 1);
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
