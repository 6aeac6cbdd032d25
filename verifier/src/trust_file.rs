//! `--trust` specifications: `[mdoc:|sd-jwt:]FILE[=LEVEL][@ISSUER]`.
//!
//! - `FILE` holds PEM certificates (trust anchors), a JWK, a JWK Set, or JWT VC Issuer Metadata
//!   (`{"issuer": …, "jwks": {"keys": […]}}`, SD-JWT VC §5).
//! - `=LEVEL` caps the level of assurance of credentials under the entry.
//! - `@ISSUER` binds the file's keys to the issuer identifier (a URI) they vouch for; a JWK Set
//!   may name it itself in an `iss` member beside `keys`, and Issuer Metadata in `issuer`. A key
//!   bound to no issuer vouches only for credentials that have no `iss`: nothing shows it
//!   belongs to any named issuer, and accepting it for every `iss` is what let any trusted key
//!   vouch for any issuer.
//! - `mdoc:` or `sd-jwt:` says what PEM anchors validate: mdoc document signers (IACAs) or
//!   SD-JWT VC issuer chains, never both. Without it each certificate is classified by the
//!   ISO/IEC 18013-5 Annex B profiles (`eudi_verify::AnchorPurpose::classify`).
//!
//! A spec that names an existing file as a whole is that file, whatever characters it has.

use std::path::Path;

use anyhow::Context as _;
use anyhow::Result;
use anyhow::bail;
use eudi_trust::AssuranceLevel;
use eudi_trust::Jwk;
use eudi_trust::jwk::JwkSet;
use eudi_verify::AnchorPurpose;
use eudi_verify::TrustConfig;
use eudi_verify::TrustedKey;
use serde_json::Value;

/// One parsed `--trust` argument.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct TrustSpec<'a> {
    pub(crate) path: &'a str,
    pub(crate) purpose: Option<AnchorPurpose>,
    pub(crate) ceiling: Option<AssuranceLevel>,
    pub(crate) issuer: Option<&'a str>,
}

pub(crate) fn parse(spec: &str) -> Result<TrustSpec<'_>> {
    let whole = |path| TrustSpec {
        path,
        purpose: None,
        ceiling: None,
        issuer: None,
    };
    if Path::new(spec).exists() {
        return Ok(whole(spec));
    }
    let (purpose, rest) = if let Some(rest) = spec.strip_prefix("mdoc:") {
        (Some(AnchorPurpose::Mdoc), rest)
    } else if let Some(rest) = spec.strip_prefix("sd-jwt:") {
        (Some(AnchorPurpose::SdJwtVc), rest)
    } else {
        (None, spec)
    };
    // `@ISSUER`: the first `@` after which an absolute URI follows (issuer identifiers are
    // URIs; `@` in a file name before it stays part of the name).
    let (rest, issuer) = if Path::new(rest).exists() {
        (rest, None)
    } else {
        match rest
            .match_indices('@')
            .map(|(i, _)| i)
            .find(|i| url::Url::parse(&rest[i + 1..]).is_ok())
        {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        }
    };
    let (path, ceiling) = match rest.rsplit_once('=') {
        Some((path, level)) if !Path::new(rest).exists() => (
            path,
            Some(
                level
                    .parse::<AssuranceLevel>()
                    .with_context(|| format!("--trust {spec}"))?,
            ),
        ),
        _ => (rest, None),
    };
    Ok(TrustSpec {
        path,
        purpose,
        ceiling,
        issuer,
    })
}

/// Loads one `--trust` argument into `config`; returns how many anchors or keys it added.
pub(crate) fn load(config: &mut TrustConfig, spec: &str) -> Result<usize> {
    let TrustSpec {
        path,
        purpose,
        ceiling,
        issuer,
    } = parse(spec)?;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read trust file {path}"))?;
    if text.contains("-----BEGIN CERTIFICATE-----") {
        if issuer.is_some() {
            bail!(
                "trust file {path}: @ISSUER binds keys; a certificate names its issuer itself (its subject alternative names)"
            );
        }
        return config
            .add_anchor_pem(&text, purpose, ceiling)
            .with_context(|| format!("trust file {path} has an invalid certificate"));
    }
    if purpose.is_some() {
        bail!("trust file {path}: `mdoc:` and `sd-jwt:` label certificates, not keys");
    }
    let value: Value = serde_json::from_str(&text).with_context(|| {
        format!("trust file {path} holds neither PEM certificates nor a JWK or JWK Set")
    })?;
    let (jwks, named) = keys_of(value).with_context(|| format!("trust file {path}"))?;
    let issuer = match (issuer, named.as_deref()) {
        (Some(a), Some(b)) if a != b => {
            bail!("trust file {path} names issuer {b:?}, but the argument binds it to {a:?}")
        }
        (Some(a), _) => Some(a.to_owned()),
        (None, b) => b.map(str::to_owned),
    };
    let count = jwks.len();
    for jwk in jwks {
        let key = jwk
            .to_verifying_key()
            .with_context(|| format!("trust file {path}"))?;
        let mut trusted = TrustedKey::new(key, path).ceiling(ceiling);
        if let Some(kid) = &jwk.kid {
            trusted = trusted.kid(kid.clone());
        }
        if let Some(issuer) = &issuer {
            trusted = trusted.issuer(issuer.clone());
        }
        config.add_key(trusted);
    }
    Ok(count)
}

/// The keys of a JWK, a JWK Set (optionally with `iss`), or JWT VC Issuer Metadata, and the
/// issuer the file names.
fn keys_of(value: Value) -> Result<(Vec<Jwk>, Option<String>)> {
    let text_member = |v: &Value, name: &str| -> Result<Option<String>> {
        match v.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => bail!("`{name}` is not a string"),
        }
    };
    if let Some(jwks) = value.get("jwks") {
        let issuer = text_member(&value, "issuer")?;
        let set: JwkSet = serde_json::from_value(jwks.clone())?;
        return Ok((set.keys, issuer));
    }
    if value.get("keys").is_some() {
        let issuer = text_member(&value, "iss")?;
        let set: JwkSet = serde_json::from_value(value)?;
        return Ok((set.keys, issuer));
    }
    Ok((vec![serde_json::from_value(value)?], None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_syntax() {
        let p = parse("k.json=high@https://issuer.example").ok();
        assert_eq!(
            p,
            Some(TrustSpec {
                path: "k.json",
                purpose: None,
                ceiling: Some(AssuranceLevel::High),
                issuer: Some("https://issuer.example"),
            })
        );
        let p = parse("mdoc:iaca.pem=substantial").ok();
        assert_eq!(
            p.as_ref().map(|p| p.purpose),
            Some(Some(AnchorPurpose::Mdoc))
        );
        assert_eq!(p.as_ref().map(|p| p.path), Some("iaca.pem"));
        let p = parse("me@home/k.json@https://a.example/x=y").ok();
        assert_eq!(p.as_ref().map(|p| p.path), Some("me@home/k.json"));
        assert_eq!(p.and_then(|p| p.issuer), Some("https://a.example/x=y"));
        assert!(parse("k.json=medium").is_err());
    }
}
