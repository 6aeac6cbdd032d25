//! The OAuth 2.0 pieces the PID issuer (OpenID4VCI), the verifier, the wallet and the MitID
//! client and test provider share. No web framework inside: a service turns an [`OAuthError`]
//! into its framework's response with [`OAuthError::status`] and [`OAuthError::to_json`].
//!
//! * [`dpop`]: DPoP proofs (RFC 9449), made by the client and checked by the server, and the
//!   `WWW-Authenticate: DPoP` challenge.
//! * [`client_attestation`]: OAuth 2.0 Attestation-Based Client Authentication
//!   (draft-ietf-oauth-attestation-based-client-auth): wallet attestations and their PoP JWTs,
//!   which HAIP 1.0 requires wallets to authenticate with.
//! * [`error`]: the error response of RFC 6749 §5.2 / §4.1.2.1 and RFC 6750 §3.1
//!   (`{"error","error_description"}`), its codes as an enum and the HTTP status of each.
//! * [`form`]: `application/x-www-form-urlencoded` parameters, a parameter given twice being an
//!   error (RFC 6749 §3.1).
//! * [`pkce`]: PKCE S256 (RFC 7636): verifier syntax, challenge, constant-time check.
//! * [`token`]: random tokens (`state`, `nonce`, codes, access tokens) and the storage key of a
//!   bearer secret.
//!
//! ```
//! use eudi_oauth::error::{ErrorCode, OAuthError};
//! use eudi_oauth::form::Form;
//! use eudi_oauth::pkce;
//!
//! let verifier = eudi_oauth::token::random_token()?;
//! let challenge = pkce::s256_challenge(&verifier);
//! let form = Form::parse(&format!("grant_type=authorization_code&code_verifier={verifier}"))?;
//! assert!(pkce::verify_s256(form.required("code_verifier")?, &challenge));
//!
//! let twice = Form::parse("code=a&code=b").unwrap_err();
//! let answer = OAuthError::from(twice);
//! assert_eq!(answer.code, ErrorCode::InvalidRequest);
//! assert_eq!(answer.status(), 400);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

pub mod client_attestation;
pub mod dpop;
pub mod error;
pub mod form;
pub mod pkce;
pub mod token;

pub use error::ErrorCode;
pub use error::OAuthError;
pub use form::Form;
pub use form::FormError;
