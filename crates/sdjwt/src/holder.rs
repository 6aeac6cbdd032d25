//! The holder's side (RFC 9901 §7.2): see what can be disclosed, choose by claim path, add a
//! Key Binding JWT.

use eudi_trust::Algorithm;
use eudi_trust::Signer;
use eudi_trust::jws::Header;
use eudi_trust::jws::{self};
use serde_json::Map;
use serde_json::Value;
use serde_json::json;

use crate::IssueError;
use crate::SdAlg;
use crate::SdJwtError;
use crate::path::ClaimPath;
use crate::process;
use crate::serialization::SdJwt;
use crate::verifier::KB_JWT_TYP;
use crate::verifier::unverified_payload;

/// One selectively disclosable claim as the holder sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct DisclosableClaim {
    /// Where the claim sits in the credential.
    pub path: ClaimPath,
    /// Its value with every nested disclosure resolved.
    pub value: Value,
    /// Index of the disclosure in [`SdJwt::disclosures`].
    pub disclosure: usize,
}

/// The fully disclosed claims and the list of selectively disclosable ones, for showing a holder
/// what a credential contains.
pub fn disclosable_claims(
    sd_jwt: &SdJwt,
) -> Result<(Map<String, Value>, Vec<DisclosableClaim>), SdJwtError> {
    let processed = process::process(unverified_payload(sd_jwt)?, sd_jwt.disclosures()?)?;
    let root = Value::Object(processed.claims);
    let mut list = Vec::with_capacity(processed.nodes.len());
    for (disclosure, node) in processed.nodes.into_iter().enumerate() {
        // Processing put every disclosed value where its node says.
        let value = node
            .path
            .select(&root)
            .first()
            .map(|v| (*v).clone())
            .ok_or(SdJwtError::Internal(
                "a disclosed claim is not where processing put it",
            ))?;
        list.push(DisclosableClaim {
            path: node.path,
            value,
            disclosure,
        });
    }
    let Value::Object(claims) = root else {
        return Err(SdJwtError::PayloadNotObject);
    };
    Ok((claims, list))
}

/// The SD-JWT with only the disclosures needed to reveal the claims at `paths` (wildcards
/// allowed). The disclosures of enclosing objects and arrays are included automatically, and
/// selecting an object or array reveals everything inside it.
pub fn select(sd_jwt: &SdJwt, paths: &[ClaimPath]) -> Result<SdJwt, IssueError> {
    let processed = process::process(unverified_payload(sd_jwt)?, sd_jwt.disclosures()?)?;
    let root = Value::Object(processed.claims);
    for p in paths {
        if p.select(&root).is_empty() {
            return Err(IssueError::UnknownClaimPath(p.to_string()));
        }
    }
    let keep: Vec<usize> = processed
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, node)| {
            paths
                .iter()
                .any(|p| node.path.is_prefix_of_pattern(p) || node.path.starts_with_pattern(p))
        })
        .map(|(index, _)| index)
        .collect();
    Ok(sd_jwt.with_disclosures(&keep)?)
}

/// What a KB-JWT binds the presentation to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyBindingParams {
    /// The verifier (`aud`).
    pub audience: String,
    /// The verifier's nonce.
    pub nonce: String,
    /// Creation time, seconds since the epoch.
    pub iat: i64,
}

/// Appends a Key Binding JWT signed by the holder key (RFC 9901 §4.3). `sd_hash` covers the
/// SD-JWT and exactly the disclosures it carries now.
pub async fn add_key_binding(
    mut presentation: SdJwt,
    holder: &dyn Signer,
    params: &KeyBindingParams,
) -> Result<SdJwt, IssueError> {
    let payload = unverified_payload(&presentation)?;
    let sd_alg = match payload.get("_sd_alg") {
        None => SdAlg::Sha256,
        Some(Value::String(name)) => SdAlg::from_name(name)?,
        Some(_) => {
            return Err(IssueError::Credential(SdJwtError::InvalidSdStructure {
                key: "_sd_alg",
                reason: "not a string",
            }));
        }
    };
    let sd_hash = sd_alg.digest_b64(presentation.sd_jwt_compact()?.as_bytes());
    let claims = json!({
        "iat": params.iat,
        "aud": params.audience,
        "nonce": params.nonce,
        "sd_hash": sd_hash,
    });
    let bytes = serde_json::to_vec(&claims).map_err(|e| IssueError::Encoding(e.to_string()))?;
    let header = Header::new(Algorithm::Es256, Some(KB_JWT_TYP));
    let kb = jws::sign_compact(&header, &bytes, holder)
        .await
        .map_err(IssueError::Signing)?;
    presentation.set_kb_jwt(&kb)?;
    Ok(presentation)
}
