//! The failures every rule can have: broken field rules, reported together,
//! and internal errors, which only the log sees.

use std::fmt;
use std::str::FromStr;

use super::{CanonicalReference, RegisterCode, Validity};

/// The longest e-mail address (RFC 5321's path limit less its brackets).
pub const EMAIL_MAX_CHARS: usize = 254;

/// When a request refused as busy is told to come back (`Retry-After`,
/// whole seconds). Clients that honour it come back together then, so the
/// database counts as behind at least that long (`store`'s turns; README,
/// "Timeouts and limits").
pub const COME_BACK_AFTER: std::time::Duration = std::time::Duration::from_secs(1);
// `Retry-After` says it in whole seconds.
const _: () = assert!(COME_BACK_AFTER.as_secs() >= 1 && COME_BACK_AFTER.subsec_nanos() == 0);

/// A failure the store or the machine had, not the client. Its text goes to
/// the log only, never to a client.
#[derive(Debug)]
pub struct InternalError(Box<dyn std::error::Error + Send + Sync>);

impl InternalError {
    pub fn new(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self(error.into())
    }

    /// The request waited `waited` for its turn at the database, which was
    /// answering others, and gave up before it ran: nothing of it happened,
    /// and the client is told the service is busy (README, "Operations").
    pub fn busy(waited: std::time::Duration) -> Self {
        Self(Box::new(Busy { waited }))
    }

    /// Whether this is [`InternalError::busy`].
    pub fn is_busy(&self) -> bool {
        self.0.downcast_ref::<Busy>().is_some()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the database was busy: no turn after {} ms", waited.as_millis())]
struct Busy {
    waited: std::time::Duration,
}

impl fmt::Display for InternalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// One broken field rule of an `EntityValidationFault`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

/// The field rules a request broke, every one of them; each domain's error
/// turns it into its `EntityValidation` variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub Vec<FieldError>);

/// Whether a text may span lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lines {
    One,
    Many,
}

/// Collects the broken rules of one request. The checks return the value
/// they accept (trimmed, normalised) or `None` after recording why not.
#[derive(Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push(FieldError {
            field,
            message: message.into(),
        });
    }

    /// A one-line value that must be given and not blank; `None` when it
    /// is not.
    pub fn required(&mut self, field: &'static str, value: &str, max: usize) -> Option<String> {
        let value = value.trim();
        if value.is_empty() {
            self.add(field, format!("{field} is required."));
            return None;
        }
        self.limit(field, value, max);
        self.characters(field, value, Lines::One);
        Some(value.to_owned())
    }

    /// An optional one-line value, trimmed; blank counts as absent.
    pub fn optional(
        &mut self,
        field: &'static str,
        value: Option<&str>,
        max: usize,
    ) -> Option<String> {
        self.optional_text(field, value, max, Lines::One)
    }

    /// An optional value that may span lines (a comment), trimmed; blank
    /// counts as absent.
    pub fn optional_lines(
        &mut self,
        field: &'static str,
        value: Option<&str>,
        max: usize,
    ) -> Option<String> {
        self.optional_text(field, value, max, Lines::Many)
    }

    fn optional_text(
        &mut self,
        field: &'static str,
        value: Option<&str>,
        max: usize,
        lines: Lines,
    ) -> Option<String> {
        let value = value.map(str::trim).filter(|v| !v.is_empty())?;
        self.limit(field, value, max);
        self.characters(field, value, lines);
        Some(value.to_owned())
    }

    /// No control characters: none at all in a one-line value (a name, an
    /// address line), only line breaks and tabs in one that spans lines.
    fn characters(&mut self, field: &'static str, value: &str, lines: Lines) {
        let allowed = |c: char| lines == Lines::Many && matches!(c, '\n' | '\r' | '\t');
        if let Some(c) = value.chars().find(|c| c.is_control() && !allowed(*c)) {
            let what = match lines {
                Lines::One => "must be one line of text without control characters",
                Lines::Many => "must not hold control characters other than line breaks and tabs",
            };
            self.add(
                field,
                format!("{field} {what}; it holds U+{:04X}.", u32::from(c)),
            );
        }
    }

    /// At most `max` characters.
    pub fn limit(&mut self, field: &'static str, value: &str, max: usize) {
        let chars = value.chars().count();
        if chars > max {
            self.add(
                field,
                format!("{field} must be at most {max} characters; it has {chars}."),
            );
        }
    }

    pub fn code(&mut self, field: &'static str, raw: &str) -> Option<String> {
        match RegisterCode::parse(raw.trim()) {
            Ok(code) => Some(code.into_inner()),
            Err(e) => {
                self.add(field, format!("{field} {e}."));
                None
            }
        }
    }

    /// An enumeration value sent as text.
    pub fn enumeration<T: FromStr<Err = String>>(
        &mut self,
        field: &'static str,
        raw: &str,
    ) -> Option<T> {
        raw.trim().parse().map_err(|e| self.add(field, e)).ok()
    }

    /// A Validity that must be given.
    pub fn validity(&mut self, raw: &str) -> Option<Validity> {
        self.enumeration("Validity", raw)
    }

    /// An optional Validity: `Valid` when absent.
    pub fn validity_or_valid(&mut self, raw: Option<&str>) -> Option<Validity> {
        raw.map_or(Some(Validity::Valid), |raw| self.validity(raw))
    }

    /// An e-mail address, in its canonical (trimmed, lower-case) form.
    pub fn email(&mut self, field: &'static str, raw: &str) -> Option<String> {
        if raw.trim().chars().count() > EMAIL_MAX_CHARS {
            self.limit(field, raw.trim(), EMAIL_MAX_CHARS);
            return None;
        }
        match CanonicalReference::email(raw) {
            Some(email) => Some(email.as_stored()),
            None => {
                self.add(field, format!("'{}' is not an e-mail address.", raw.trim()));
                None
            }
        }
    }

    /// A number that must be above zero.
    pub fn positive(&mut self, field: &'static str, number: i32) {
        if number <= 0 {
            self.add(
                field,
                format!("{field} must be a positive number, not {number}."),
            );
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_vec(self) -> Vec<FieldError> {
        self.0
    }

    /// `Ok(value)` when no rule was broken.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, Invalid> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(Invalid(self.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_fields_refuse_control_characters() {
        let mut errors = FieldErrors::default();
        assert_eq!(errors.required("Name", " Bob ", 10).as_deref(), Some("Bob"));
        errors.required("Name", "Bob\nSmith", 20);
        errors.optional("City", Some("Os\tlo"), 20);
        errors.optional_lines("Comment", Some("first\nsecond\u{7}"), 50);
        assert!(
            errors
                .optional_lines("Comment", Some("a\r\nb\tc"), 50)
                .is_some()
        );
        let messages: Vec<_> = errors
            .into_vec()
            .into_iter()
            .map(|e| (e.field, e.message))
            .collect();
        assert_eq!(messages.len(), 3, "{messages:?}");
        assert_eq!(messages[0].0, "Name");
        assert!(messages[0].1.contains("one line") && messages[0].1.contains("U+000A"));
        assert!(messages[1].1.contains("U+0009"));
        assert!(messages[2].1.contains("U+0007"));
    }
}
