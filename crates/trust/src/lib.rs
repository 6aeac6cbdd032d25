//! Trust primitives shared by every credential format in this workspace.
//!
//! * [`key`]: ECDSA signing behind the asynchronous [`key::Signer`] abstraction (software keys
//!   here, whose [`key::SignFuture`] is ready at once; HSM and remote keys later) and signature
//!   verification with [`key::VerifyingKey`]. ES256 (RFC 7518 §3.4) is the
//!   default and the only algorithm accepted unless a caller widens the [`key::AlgorithmPolicy`].
//!   RS256 keys can be parsed and verified with (never signed with), for OpenID providers such
//!   as MitID brokers that sign ID tokens with RSA; only a policy that names RS256 accepts them.
//! * [`code`]: [`ErrorCode`], the one error vocabulary every library maps its verification
//!   errors onto, exhaustively and inside its own crate ([`HasErrorCode`]).
//! * [`jwk`]: RFC 7517 JSON Web Keys for EC public keys (and RSA verification keys) and RFC 7638
//!   thumbprints; private keys are a separate type ([`jwk::PrivateJwk`]) that cannot be
//!   serialized, so publishing a [`Jwk`] can never leak `d`.
//! * [`jwe`]: compact JWE with ECDH-ES on P-256 and A128GCM/A256GCM (RFC 7516/7518), as HAIP
//!   1.0 requires for `direct_post.jwt` and credential response encryption.
//! * [`jws`]: the compact JWS form (RFC 7515 §7.1) used by SD-JWT, KB-JWT and status list tokens.
//! * [`clock`]: the [`clock::Clock`] trait every time check reads, with a settable
//!   `ManualClock` for tests (feature `mock`).
//! * [`loa`]: NSIS/eIDAS levels of assurance, parsed from every spelling brokers use.
//! * [`x509`]: X.509 certificate chains validated to configured trust anchors (RFC 5280 path
//!   validation restricted to what credential issuers use), with a cache of validated chains so a
//!   chain is verified once, not once per presentation.
//!
//! All cryptography is done by `aws-lc-rs`; see `docs/dependencies.md` for the measurement that
//! chose it.
#![forbid(unsafe_code)]

pub mod b64;
pub mod clock;
pub mod code;
pub mod jwe;
pub mod jwk;
pub mod jws;
pub mod key;
pub mod loa;
pub mod x509;

/// The digest type [`Signer::sign_digest`] and [`VerifyingKey::verify_digest`] take, so signer
/// implementations need not depend on aws-lc-rs themselves.
pub use aws_lc_rs::digest::Digest;
/// The digest type [`Signer::sign_digest`] and [`VerifyingKey::verify_digest`] take, so signer
/// implementations need not depend on aws-lc-rs themselves.
pub use aws_lc_rs::digest::{self};
pub use clock::Clock;
pub use clock::SystemClock;
pub use code::ErrorCode;
pub use code::HasErrorCode;
pub use jwk::Jwk;
pub use jwk::JwkRef;
pub use jwk::PrivateJwk;
pub use key::Algorithm;
pub use key::AlgorithmPolicy;
pub use key::KeyError;
pub use key::SignFuture;
pub use key::SignResult;
pub use key::Signer;
pub use key::SoftwareKey;
pub use key::VerifyingKey;
pub use loa::AssuranceLevel;
pub use x509::ChainValidator;
pub use x509::LeafProfile;
pub use x509::TrustAnchor;
pub use x509::TrustAnchors;
pub use x509::ValidatedChain;
pub use x509::X509Error;
