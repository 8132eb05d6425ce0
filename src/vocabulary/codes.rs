use std::fmt;
use std::sync::LazyLock;

use regex::Regex;
use validator::ValidateEmail;

/// A reference in the form it is stored and compared in (README, "The API"):
/// customer numbers as plain decimals, e-mail addresses trimmed and
/// lower-cased, external ids exactly as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CanonicalReference {
    External(String),
    CustomerNumber(i32),
    Email(String),
}

impl CanonicalReference {
    /// `" 01001 "` → `1001`. Only ASCII digits are accepted; a number beyond
    /// `xs:int` cannot name a customer and is refused like any non-number.
    pub fn customer_number(raw: &str) -> Option<Self> {
        let digits = raw.trim();
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let significant = digits.trim_start_matches('0');
        if significant.is_empty() {
            return Some(Self::CustomerNumber(0));
        }
        significant.parse().ok().map(Self::CustomerNumber)
    }

    /// Trimmed and lower-cased, and only if it is an e-mail address.
    pub fn email(raw: &str) -> Option<Self> {
        let email = raw.trim().to_lowercase();
        email.validate_email().then_some(Self::Email(email))
    }

    pub fn as_stored(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for CanonicalReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::External(s) | Self::Email(s) => f.write_str(s),
            Self::CustomerNumber(n) => write!(f, "{n}"),
        }
    }
}

static CODE_PATTERN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new("^[A-Z0-9][A-Z0-9_-]{0,49}$").expect("valid pattern"));

/// A code of the register (relation type, title): upper-case letters, digits,
/// `_` and `-`, at most 50 characters, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterCode(String);

#[derive(Debug, thiserror::Error)]
#[error("'{0}' is not a valid code: use A-Z, 0-9, '_' and '-', at most 50 characters")]
pub struct CodeParseError(pub String);

impl RegisterCode {
    pub fn parse(raw: &str) -> Result<Self, CodeParseError> {
        if CODE_PATTERN.is_match(raw) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(CodeParseError(raw.to_owned()))
        }
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_numbers_are_canonical_decimals() {
        let n = |s| CanonicalReference::customer_number(s).map(|r| r.as_stored());
        assert_eq!(n(" 01001 ").as_deref(), Some("1001"));
        assert_eq!(n("1001").as_deref(), Some("1001"));
        assert_eq!(n("000").as_deref(), Some("0"));
        assert_eq!(n("abc"), None);
        assert_eq!(n("-5"), None);
        assert_eq!(n("+5"), None);
        assert_eq!(n("1 001"), None);
        assert_eq!(n("٣"), None, "non-ASCII digits are not customer numbers");
        assert_eq!(n("99999999999"), None, "beyond xs:int");
        assert_eq!(n(""), None);
    }

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        let e = |s| CanonicalReference::email(s).map(|r| r.as_stored());
        assert_eq!(e("OLA@Example.com ").as_deref(), Some("ola@example.com"));
        assert_eq!(e("not-an-email"), None);
        assert_eq!(e(""), None);
    }

    #[test]
    fn codes_follow_the_register_pattern() {
        assert!(RegisterCode::parse("SHARE-OPT").is_ok());
        assert!(RegisterCode::parse("A").is_ok());
        assert!(RegisterCode::parse(&"A".repeat(50)).is_ok());
        assert!(RegisterCode::parse(&"A".repeat(51)).is_err());
        assert!(RegisterCode::parse("-A").is_err());
        assert!(RegisterCode::parse("share").is_err());
        assert!(RegisterCode::parse("").is_err());
    }
}
