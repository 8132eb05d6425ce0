//! The WS-Security header as this service reads it: a UsernameToken
//! (OASIS Username Token Profile 1.0/1.1) and a Timestamp (WSS SOAP Message
//! Security 1.0, section 10). Reading only; whether the name and password
//! are accepted is decided above this layer.

use chrono::{DateTime, NaiveDateTime, Utc};

use super::xml_tree::XmlElement;

pub const WSSE_NS: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
pub const WSU_NS: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
const PASSWORD_TEXT: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText";
const PASSWORD_DIGEST: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest";

/// What a `wsse:Security` header block holds that this service reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecurityHeader {
    pub username_token: Option<UsernameToken>,
    pub timestamp: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsernameToken {
    pub username: String,
    pub password: String,
}

/// `wsu:Timestamp`: when the message was created and when it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timestamp {
    pub created: Option<DateTime<Utc>>,
    pub expires: Option<DateTime<Utc>>,
}

/// Why a Security header cannot be used; the text is for the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SecurityHeaderError(pub String);

fn refused(reason: impl Into<String>) -> SecurityHeaderError {
    SecurityHeaderError(reason.into())
}

/// Reads a `wsse:Security` header block.
pub fn read_security_header(block: &XmlElement) -> Result<SecurityHeader, SecurityHeaderError> {
    let mut header = SecurityHeader::default();
    for child in &block.children {
        if child.is(WSSE_NS, "UsernameToken") {
            if header.username_token.is_some() {
                return Err(refused(
                    "The Security header holds more than one UsernameToken.",
                ));
            }
            header.username_token = Some(read_username_token(child)?);
        } else if child.is(WSU_NS, "Timestamp") {
            if header.timestamp.is_some() {
                return Err(refused(
                    "The Security header holds more than one Timestamp.",
                ));
            }
            header.timestamp = Some(read_timestamp(child)?);
        }
        // Other tokens (signatures, SAML assertions) are not read; a
        // request authenticates with a UsernameToken, HTTP Basic or a
        // client certificate.
    }
    Ok(header)
}

fn read_username_token(token: &XmlElement) -> Result<UsernameToken, SecurityHeaderError> {
    let child = |name| token.children.iter().find(|c| c.is(WSSE_NS, name));
    let username = child("Username")
        .map(|u| u.text.trim().to_owned())
        .ok_or_else(|| refused("The UsernameToken has no Username."))?;
    let password = child("Password").ok_or_else(|| {
        refused("The UsernameToken has no Password; send the client's secret as PasswordText.")
    })?;
    // The profile makes PasswordText the default type.
    match password.attribute(None, "Type").map(str::trim) {
        None | Some(PASSWORD_TEXT) => Ok(UsernameToken {
            username,
            password: password.text.clone(),
        }),
        Some(PASSWORD_DIGEST) => Err(refused(
            "PasswordDigest is not supported: checking it needs the secret itself, and this service keeps only a one-way digest of each secret, so that a stolen database gives no usable secrets. Send the secret as PasswordText, over TLS.",
        )),
        Some(other) => Err(refused(format!(
            "The Password Type '{other}' is not supported; send PasswordText."
        ))),
    }
}

fn read_timestamp(timestamp: &XmlElement) -> Result<Timestamp, SecurityHeaderError> {
    let instant = |name: &str| -> Result<Option<DateTime<Utc>>, SecurityHeaderError> {
        timestamp
            .children
            .iter()
            .find(|c| c.is(WSU_NS, name))
            .map(|c| {
                xs_date_time(c.text.trim()).ok_or_else(|| {
                    refused(format!(
                        "The Timestamp's {name} '{}' is not an xs:dateTime.",
                        c.text.trim()
                    ))
                })
            })
            .transpose()
    };
    Ok(Timestamp {
        created: instant("Created")?,
        expires: instant("Expires")?,
    })
}

/// An `xs:dateTime`; one without a time zone is taken as UTC, as the WSS
/// specification asks senders to use UTC.
fn xs_date_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc())
        })
}

impl Timestamp {
    /// Refuses an expired message, or one created more than `skew` in the
    /// future.
    pub fn check(
        &self,
        now: DateTime<Utc>,
        skew: chrono::Duration,
    ) -> Result<(), SecurityHeaderError> {
        if let Some(expires) = self.expires.filter(|expires| *expires <= now) {
            return Err(refused(format!(
                "The message's Timestamp expired at {}.",
                expires.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )));
        }
        if let Some(created) = self.created.filter(|created| *created > now + skew) {
            return Err(refused(format!(
                "The message's Timestamp was created at {}, more than {} s in the future; check the client's clock.",
                created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                skew.num_seconds()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soap::XmlLimits;
    use crate::soap::xml_tree::{SourceEncoding, parse_document};

    fn header(inner: &str) -> Result<SecurityHeader, SecurityHeaderError> {
        let xml = format!(
            r#"<wsse:Security xmlns:wsse="{WSSE_NS}" xmlns:wsu="{WSU_NS}">{inner}</wsse:Security>"#
        );
        let block = parse_document(&xml, SourceEncoding::Utf8, &XmlLimits::default()).unwrap();
        read_security_header(&block)
    }

    #[test]
    fn a_username_token_with_password_text_is_read() {
        let read = header(&format!(
            "<wsse:UsernameToken><wsse:Username> bus </wsse:Username><wsse:Password Type=\"{PASSWORD_TEXT}\">s3 cret</wsse:Password></wsse:UsernameToken>"
        ))
        .unwrap();
        assert_eq!(
            read.username_token,
            Some(UsernameToken {
                username: "bus".into(),
                password: "s3 cret".into()
            })
        );
        // No Type: PasswordText.
        let read = header("<wsse:UsernameToken><wsse:Username>a</wsse:Username><wsse:Password>b</wsse:Password></wsse:UsernameToken>").unwrap();
        assert_eq!(read.username_token.unwrap().password, "b");
    }

    #[test]
    fn password_digest_is_refused_with_the_reason() {
        let error = header(&format!(
            "<wsse:UsernameToken><wsse:Username>a</wsse:Username><wsse:Password Type=\"{PASSWORD_DIGEST}\">x</wsse:Password></wsse:UsernameToken>"
        ))
        .unwrap_err();
        assert!(
            error.0.contains("PasswordDigest is not supported"),
            "{error}"
        );
    }

    #[test]
    fn timestamps_are_checked_against_now() {
        let read = header(
            "<wsu:Timestamp><wsu:Created>2026-01-01T10:00:00Z</wsu:Created><wsu:Expires>2026-01-01T10:05:00.000Z</wsu:Expires></wsu:Timestamp>",
        )
        .unwrap();
        let stamp = read.timestamp.unwrap();
        let at = |t: &str| DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc);
        let skew = chrono::Duration::seconds(60);
        assert!(stamp.check(at("2026-01-01T10:01:00Z"), skew).is_ok());
        assert!(
            stamp
                .check(at("2026-01-01T10:05:00Z"), skew)
                .unwrap_err()
                .0
                .contains("expired")
        );
        assert!(
            stamp
                .check(at("2026-01-01T09:58:59Z"), skew)
                .unwrap_err()
                .0
                .contains("future")
        );
        assert!(stamp.check(at("2026-01-01T09:59:30Z"), skew).is_ok());
        assert!(
            header("<wsu:Timestamp><wsu:Created>yesterday</wsu:Created></wsu:Timestamp>").is_err()
        );
    }
}
