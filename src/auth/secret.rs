//! Client secrets: made from the operating system's random source, shown
//! once, kept only as a SHA-256 digest. A secret of 32 random bytes cannot
//! be guessed, so a fast digest is enough (a slow password hash would only
//! make every request slower); the digests are compared in constant time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::vocabulary::InternalError;

/// Bytes of randomness in a secret.
const SECRET_BYTES: usize = 32;

/// A new secret: 32 random bytes, in URL-safe base64 (43 characters).
pub fn new_secret() -> Result<String, InternalError> {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes)
        .map_err(|e| InternalError::new(format!("no randomness from the system: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The SHA-256 digest of a secret.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretDigest([u8; 32]);

impl std::fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretDigest(..)")
    }
}

impl SecretDigest {
    pub fn of(secret: &str) -> Self {
        Self(Sha256::digest(secret.as_bytes()).into())
    }

    /// As stored: 64 lower-case hex digits.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn from_hex(hex: &str) -> Option<Self> {
        if hex.len() != 64 || !hex.is_ascii() {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Self(bytes))
    }

    /// Whether `secret` has this digest, in time that does not depend on
    /// where the digests differ.
    pub fn matches(&self, secret: &str) -> bool {
        Self::of(secret).0.ct_eq(&self.0).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_random_and_distinct() {
        let (a, b) = (new_secret().unwrap(), new_secret().unwrap());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
    }

    #[test]
    fn a_digest_matches_its_secret_only_and_survives_hex() {
        let digest = SecretDigest::of("demo-admin-secret");
        assert!(digest.matches("demo-admin-secret"));
        assert!(!digest.matches("demo-admin-secreT"));
        assert!(!digest.matches(""));
        let hex = digest.to_hex();
        assert_eq!(hex.len(), 64);
        assert_eq!(SecretDigest::from_hex(&hex), Some(digest));
        assert_eq!(SecretDigest::from_hex("zz"), None);
        assert_eq!(SecretDigest::from_hex(&"g".repeat(64)), None);
    }
}
