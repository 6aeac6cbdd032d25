//! Trust configuration: X.509 trust anchors kept apart by purpose (SD-JWT VC CAs, mdoc IACAs),
//! and issuer keys each bound to the issuer identifier they vouch for; every entry with an
//! optional ceiling on the level of assurance credentials under it can reach.

use eudi_trust::AssuranceLevel;
use eudi_trust::ChainValidator;
use eudi_trust::TrustAnchor;
use eudi_trust::TrustAnchors;
use eudi_trust::VerifyingKey;
use eudi_trust::X509Error;

/// `id-mdl-kp-mdlDS` (ISO/IEC 18013-5 Annex B.1.4): the extended key usage of an mdoc document
/// signer certificate.
const MDOC_DS_EKU: &str = "1.0.18013.5.1.2";

/// What an X.509 trust anchor may validate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AnchorPurpose {
    /// The CA of SD-JWT VC issuer certificates (`x5c`, SD-JWT VC "Issuer Verification Key
    /// Discovery and Validation").
    SdJwtVc,
    /// An mdoc IACA (ISO/IEC 18013-5 Annex B), or a document signer certificate pinned directly.
    Mdoc,
}

impl AnchorPurpose {
    /// The purpose of an anchor given without a label, from the ISO/IEC 18013-5 Annex B
    /// profiles: a certificate is an mdoc anchor when it is a document signer (extended key
    /// usage `id-mdl-kp-mdlDS`, B.1.4) or has the IACA shape (B.1.2: a CA whose
    /// `pathLenConstraint` is 0 and whose subject names a country); anything else is an SD-JWT
    /// VC CA. A CA that fits the IACA shape but serves SD-JWT VCs must be labelled.
    pub fn classify(anchor: &TrustAnchor) -> Self {
        let ca_path_len_zero = anchor.ca_path_len() == Some((true, Some(0)));
        if anchor.has_extended_key_usage(MDOC_DS_EKU)
            || (ca_path_len_zero && anchor.country().is_some())
        {
            Self::Mdoc
        } else {
            Self::SdJwtVc
        }
    }
}

/// A trusted issuer key given directly (not through a certificate).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TrustedKey {
    /// The key.
    pub key: VerifyingKey,
    /// Its `kid`, used to pick it when a JWT names one.
    pub kid: Option<String>,
    /// The issuer identifier the key is bound to: it vouches only for credentials whose `iss`
    /// is exactly this. An unbound key (`None`) vouches only for credentials without `iss`,
    /// since nothing shows that it belongs to any named issuer.
    pub issuer: Option<String>,
    /// Ceiling on the level of assurance.
    pub ceiling: Option<AssuranceLevel>,
    /// Where it came from (for messages).
    pub source: String,
}

impl TrustedKey {
    /// A key from `source`, with no `kid`, issuer or ceiling yet.
    pub fn new(key: VerifyingKey, source: impl Into<String>) -> Self {
        Self {
            key,
            kid: None,
            issuer: None,
            ceiling: None,
            source: source.into(),
        }
    }

    /// Picks the key by this `kid`.
    pub fn kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// Binds the key to this issuer identifier.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Caps the level of assurance of credentials under this key.
    pub fn ceiling(mut self, ceiling: Option<AssuranceLevel>) -> Self {
        self.ceiling = ceiling;
        self
    }
}

/// One set of anchors for one purpose, its validator (with its chain cache) and ceilings.
#[derive(Debug)]
struct AnchorSet {
    validator: ChainValidator,
    ceilings: Vec<Option<AssuranceLevel>>,
}

impl Default for AnchorSet {
    fn default() -> Self {
        Self {
            validator: ChainValidator::new(TrustAnchors::new()),
            ceilings: Vec::new(),
        }
    }
}

impl AnchorSet {
    fn push(&mut self, anchor: TrustAnchor, ceiling: Option<AssuranceLevel>) {
        let mut anchors = self.validator.anchors().clone();
        anchors.push(anchor);
        // Configuration time only: the new validator starts with an empty cache.
        self.validator = ChainValidator::new(anchors);
        self.ceilings.push(ceiling);
    }
}

/// Everything a verifier trusts.
#[derive(Debug, Default)]
pub struct TrustConfig {
    sd_jwt: AnchorSet,
    mdoc: AnchorSet,
    keys: Vec<TrustedKey>,
}

impl TrustConfig {
    /// An empty configuration: nothing is trusted.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the PEM certificates in `pem` as anchors for `purpose` (`None`: each classified by
    /// [`AnchorPurpose::classify`]) with an optional ceiling. Returns how many were added.
    pub fn add_anchor_pem(
        &mut self,
        pem: &str,
        purpose: Option<AnchorPurpose>,
        ceiling: Option<AssuranceLevel>,
    ) -> Result<usize, X509Error> {
        let mut parsed = TrustAnchors::new();
        let added = parsed.add_pem(pem)?;
        for anchor in parsed.iter() {
            let purpose = match purpose {
                Some(p) => p,
                None => AnchorPurpose::classify(anchor),
            };
            self.add_anchor(anchor.clone(), purpose, ceiling);
        }
        Ok(added)
    }

    /// Adds one anchor for `purpose`.
    pub fn add_anchor(
        &mut self,
        anchor: TrustAnchor,
        purpose: AnchorPurpose,
        ceiling: Option<AssuranceLevel>,
    ) {
        match purpose {
            AnchorPurpose::SdJwtVc => self.sd_jwt.push(anchor, ceiling),
            AnchorPurpose::Mdoc => self.mdoc.push(anchor, ceiling),
        }
    }

    /// Adds a trusted issuer key.
    pub fn add_key(&mut self, key: TrustedKey) {
        self.keys.push(key);
    }

    /// The validator of SD-JWT VC issuer chains (`x5c`), over the SD-JWT VC CA anchors only.
    pub fn sd_jwt_chains(&self) -> &ChainValidator {
        &self.sd_jwt.validator
    }

    /// The validator of mdoc document signer chains (`x5chain`), over the IACA anchors only.
    pub fn mdoc_chains(&self) -> &ChainValidator {
        &self.mdoc.validator
    }

    /// The ceiling of anchor `index` of `purpose`.
    pub fn anchor_ceiling(&self, purpose: AnchorPurpose, index: usize) -> Option<AssuranceLevel> {
        let set = match purpose {
            AnchorPurpose::SdJwtVc => &self.sd_jwt,
            AnchorPurpose::Mdoc => &self.mdoc,
        };
        set.ceilings.get(index).copied().flatten()
    }

    /// The directly trusted keys.
    pub fn keys(&self) -> &[TrustedKey] {
        &self.keys
    }

    /// Whether nothing at all is trusted.
    pub fn is_empty(&self) -> bool {
        self.sd_jwt.ceilings.is_empty() && self.mdoc.ceilings.is_empty() && self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector(path: &str) -> String {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors");
        std::fs::read_to_string(dir.join(path)).unwrap_or_default()
    }

    #[test]
    fn document_signers_and_iacas_are_mdoc_anchors() {
        for path in [
            "mdoc/annex-d/ds_cert.pem",
            "mdoc/real-world/google/signing_certificate.pem",
            "mdoc/real-world/bdr/issuer_certificate.pem",
            // A real IACA (Annex B.1.2 shape: CA, pathLenConstraint 0, country NL).
            "mdoc/real-world/animo-mdoc-05/root_certificate.pem",
        ] {
            let pem = vector(path);
            assert!(!pem.is_empty(), "{path}");
            let mut anchors = TrustAnchors::new();
            assert_eq!(anchors.add_pem(&pem).ok(), Some(1));
            let anchor = anchors.get(0).unwrap();
            assert_eq!(AnchorPurpose::classify(anchor), AnchorPurpose::Mdoc);
        }
    }

    #[test]
    fn anchors_land_in_their_purpose_set() {
        let pem = vector("mdoc/annex-d/ds_cert.pem");
        let mut config = TrustConfig::new();
        assert_eq!(config.add_anchor_pem(&pem, None, None).ok(), Some(1));
        assert_eq!(config.mdoc_chains().anchors().len(), 1);
        assert!(config.sd_jwt_chains().anchors().is_empty());
        // A label overrides the classification.
        let mut config = TrustConfig::new();
        assert!(
            config
                .add_anchor_pem(&pem, Some(AnchorPurpose::SdJwtVc), None)
                .is_ok()
        );
        assert!(config.mdoc_chains().anchors().is_empty());
        assert_eq!(config.sd_jwt_chains().anchors().len(), 1);
    }
}
