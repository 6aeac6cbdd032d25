//! SD-JWT ([RFC 9901]) and SD-JWT VC ([draft-ietf-oauth-sd-jwt-vc]) for the EUDI wallet
//! ecosystem: issue, disclose, present with key binding, verify.
//!
//! * Issuing: [`SdJwtBuilder`] makes any claim, nested object member or array element
//!   selectively disclosable by [`ClaimPath`] (recursively, with decoys), binds a holder key and
//!   signs ([`DisclosurePlan`]: paths resolved once for many credentials); [`vc::builder`] starts an SD-JWT VC with every claim disclosable (PID rulebook PID_21).
//!   An issuer prepares its protected header once ([`vc::prepare_header`]) and signs each
//!   credential with [`SdJwtBuilder::sign_prepared`], from claims it lends the builder.
//! * Holding: [`holder::select`] keeps the disclosures for chosen claim paths (parents included),
//!   [`holder::add_key_binding`] appends the KB-JWT (`typ` `kb+jwt`, `sd_hash` over the
//!   presentation including the trailing `~`).
//! * Verifying: [`verifier::verify`] runs every check of RFC 9901 §7.1 and §7.3 and
//!   [`vc::verify`] the SD-JWT VC rules on top. Each failure is one [`SdJwtError`] variant,
//!   with its stable code ([`eudi_trust::HasErrorCode`]); the `Verified*` results have private
//!   fields, so only the verifier makes them.
//!
//! What the caller asks for wrongly when issuing or presenting (a path to no claim, a reserved
//! name) or a local failure (signing, randomness) is an [`IssueError`] instead: API misuse is
//! kept apart from what a peer sent.
//!
//! Both the compact and the JWS JSON serializations (§8) are read and written by [`SdJwt`].
//!
//! ```
//! use eudi_sdjwt::{holder, vc, verifier, ClaimPath, SdJwt};
//! use eudi_trust::{Algorithm, Signer as _, SoftwareKey};
//! use serde_json::json;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let issuer = SoftwareKey::generate(Algorithm::Es256).unwrap();
//! let wallet = SoftwareKey::generate(Algorithm::Es256).unwrap();
//! let claims = json!({"given_name": "Karen", "address": {"locality": "Aarhus", "postal_code": "8000"}});
//! // Once, when the issuer starts (here without an x5c chain).
//! let header = vc::prepare_header(&issuer, &[] as &[&[u8]]).unwrap();
//! // Per credential.
//! let issued = vc::builder("urn:eudi:pid:1", "https://issuer.example", 1_700_000_000, claims.as_object().unwrap())
//!     .holder_key(&wallet.verifying_key().to_jwk()).unwrap()
//!     .sign_prepared(&header, &issuer).await.unwrap()
//!     .into_compact().unwrap();
//!
//! // The holder discloses only the locality.
//! let sd = SdJwt::parse(&issued).unwrap();
//! let chosen = holder::select(&sd, &[ClaimPath::keys(["address", "locality"])]).unwrap();
//! let params = holder::KeyBindingParams { audience: "x509_hash:abc".into(), nonce: "n-1".into(), iat: 1_700_000_100 };
//! let presentation = holder::add_key_binding(chosen, &wallet, &params).await.unwrap().to_compact().unwrap();
//!
//! // The verifier checks everything, including the KB-JWT.
//! let mut options = verifier::VerifyOptions::new(1_700_000_120);
//! options.key_binding = verifier::KeyBindingPolicy::required("x509_hash:abc", "n-1");
//! let verified = vc::verify(&SdJwt::parse(&presentation).unwrap(),
//!     &mut |_, _| Ok(issuer.verifying_key().clone()), &options).unwrap();
//! assert_eq!(verified.user_claims()["address"], json!({"locality": "Aarhus"}));
//! assert!(verified.user_claims().get("given_name").is_none());
//! # }
//! ```
//!
//! [RFC 9901]: https://www.rfc-editor.org/rfc/rfc9901
//! [draft-ietf-oauth-sd-jwt-vc]: https://datatracker.ietf.org/doc/draft-ietf-oauth-sd-jwt-vc/
#![forbid(unsafe_code)]

pub mod disclosure;
mod error;
mod hash;
pub mod holder;
mod issuer;
pub mod path;
pub mod process;
mod serialization;
pub mod vc;
pub mod verifier;

pub use error::IssueError;
pub use error::SdJwtError;
pub use hash::SdAlg;
pub use issuer::DisclosurePlan;
pub use issuer::IntoClaims;
pub use issuer::SdJwtBuilder;
pub use path::ClaimPath;
pub use path::PathElement;
pub use serialization::Disclosures;
pub use serialization::Format;
pub use serialization::JwsSignature;
pub use serialization::MAX_DISCLOSURES;
pub use serialization::MAX_SD_JWT_LEN;
pub use serialization::SdJwt;
