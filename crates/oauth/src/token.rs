//! Random bearer values and how they are compared and stored.

use aws_lc_rs::constant_time;
use aws_lc_rs::digest;
use aws_lc_rs::rand::SecureRandom as _;
use aws_lc_rs::rand::SystemRandom;
use eudi_trust::b64;

/// The system random generator failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the system random number generator failed")]
pub struct RandomError;

impl From<RandomError> for crate::OAuthError {
    /// A generic `server_error`: the peer learns nothing of this side's fault.
    fn from(_: RandomError) -> Self {
        Self::server_error()
    }
}

/// A fresh random value with 256 bits of entropy, as 43 base64url characters. Used for `state`,
/// `nonce`, PKCE verifiers, authorization codes and access tokens (RFC 6749 §10.10 asks for
/// values an attacker cannot guess; RFC 7636 §7.1 for 256 bits in a verifier).
pub fn random_token() -> Result<String, RandomError> {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| RandomError)?;
    Ok(b64::encode(bytes))
}

/// Compares two secrets without leaking where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

/// A storage key for a bearer secret (code, access token): its SHA-256, base64url. Stores never
/// hold the secret itself, so a leaked store cannot be replayed.
pub fn secret_key(secret: &str) -> String {
    b64::encode(digest::digest(&digest::SHA256, secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_tokens_are_fresh_and_valid_verifiers() {
        let a = random_token().unwrap();
        let b = random_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(crate::pkce::is_valid_verifier(&a));
    }

    #[test]
    fn comparison_and_storage_keys() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
        assert_ne!(secret_key("code"), "code");
        assert_eq!(secret_key("code"), secret_key("code"));
        assert_ne!(secret_key("code"), secret_key("cod"));
        assert_eq!(crate::OAuthError::from(RandomError).status(), 500);
    }
}
