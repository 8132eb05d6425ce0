//! The credentials step of a SOAP request (README, "Security"): who is
//! calling, from a WS-Security UsernameToken, HTTP Basic or the
//! connection's client certificate, as the authenticator accepts them.

use actix_web::HttpRequest;
use actix_web::http::header;

use super::{AppState, Refusal, request_id};
use crate::auth::{Credentials, Refused};
use crate::operations::faults::{authentication_fault, server_fault};
use crate::operations::{Caller, Operation};
use crate::soap::{Envelope, read_security_header};
use crate::tls::ClientCertificate;
use crate::vocabulary::InternalError;

/// The challenge of a 401: HTTP Basic, in UTF-8.
pub(super) const BASIC_CHALLENGE: &str = r#"Basic realm="customer-relations", charset="UTF-8""#;

/// What the client is told when its credentials are not accepted, whatever
/// the reason: it never learns whether the name exists.
const NOT_ACCEPTED: &str = "The credentials were not accepted.";

/// Who is calling: the credentials of the request (a WS-Security
/// UsernameToken, HTTP Basic, or else the connection's client
/// certificate), checked by the authenticator. A refusal is in the
/// envelope's SOAP version.
pub(super) fn authenticate(
    request: &HttpRequest,
    envelope: &Envelope,
    operation: &'static Operation,
    state: &AppState,
) -> Result<Caller, Refusal> {
    let service = operation.service();
    let refuse = |message: &str| {
        Refusal::of(
            envelope.version,
            operation,
            authentication_fault(service, message),
        )
    };
    let id = request_id(request);
    let address = client_address(request, state.trust_forwarded_headers);
    // Written only when a failure is logged.
    let shown_address = || address.map_or_else(|| "-".to_owned(), |a| a.to_string());
    let credentials = match credentials(request, envelope) {
        Ok(Some(credentials)) => credentials,
        Ok(None) => {
            state.metrics.auth_failure("missing");
            return Err(Refusal {
                challenge: true,
                ..refuse(
                    "The request has no credentials: send a WS-Security UsernameToken, HTTP Basic, or a client certificate (see the README, \"Security\").",
                )
            });
        }
        Err((name, message)) => {
            state.metrics.auth_failure("malformed");
            log::warn!(
                "request_id={id} authentication failed: client={} address={} reason={message}",
                name.as_deref().unwrap_or("-"),
                shown_address()
            );
            return Err(refuse(&message));
        }
    };
    match state.authenticator.authenticate(&credentials, address) {
        Ok(caller) => Ok(caller),
        Err(Refused::Unavailable(why)) => {
            state.metrics.database_error();
            Err(Refusal::of(
                envelope.version,
                operation,
                server_fault(InternalError::new(why), &id),
            ))
        }
        Err(refused) => {
            state.metrics.auth_failure(match refused {
                Refused::Throttled => "throttled",
                _ => "refused",
            });
            log::warn!(
                "request_id={id} authentication failed: client={} address={} reason={}",
                credentials.name(),
                shown_address(),
                refused.reason()
            );
            Err(refuse(NOT_ACCEPTED))
        }
    }
}

/// The address failures are counted against: the peer's, or the one a
/// trusted proxy names.
fn client_address(request: &HttpRequest, trust_forwarded: bool) -> Option<std::net::IpAddr> {
    if trust_forwarded {
        let info = request.connection_info();
        let forwarded = info.realip_remote_addr().and_then(|a| {
            a.parse::<std::net::SocketAddr>()
                .map(|s| s.ip())
                .ok()
                .or_else(|| a.trim_matches(['[', ']']).parse().ok())
        });
        if forwarded.is_some() {
            return forwarded;
        }
    }
    request.peer_addr().map(|a| a.ip())
}

/// The credentials a request carries, if any. A refusal names the client
/// when it is known, and says what is wrong.
fn credentials(
    request: &HttpRequest,
    envelope: &Envelope,
) -> Result<Option<Credentials>, (Option<String>, String)> {
    let mut token = None;
    if let Some(block) = &envelope.security {
        let header = read_security_header(block).map_err(|e| (None, e.0))?;
        let name = header.username_token.as_ref().map(|t| t.username.clone());
        if let Some(timestamp) = &header.timestamp {
            timestamp
                .check(
                    chrono::Utc::now(),
                    chrono::Duration::seconds(TIMESTAMP_SKEW_SECS),
                )
                .map_err(|e| (name.clone(), e.0))?;
        }
        token = header.username_token.map(|t| Credentials::Password {
            name: t.username,
            secret: t.password,
        });
    }
    let basic = basic_credentials(request).map_err(|message| (None, message))?;
    match (token, basic) {
        (Some(token), Some(basic)) if token != basic => Err((
            Some(token.name().to_owned()),
            "The request carries a UsernameToken and HTTP Basic credentials that differ; send one of them.".to_owned(),
        )),
        (Some(credentials), _) | (None, Some(credentials)) => Ok(Some(credentials)),
        (None, None) => Ok(request
            .conn_data::<ClientCertificate>()
            .map(|certificate| Credentials::Certificate {
                name: certificate.common_name.clone(),
            })),
    }
}

/// How far in the future a WS-Security Timestamp may have been created
/// (clocks differ).
const TIMESTAMP_SKEW_SECS: i64 = 60;

/// HTTP Basic credentials from the Authorization header, if it is there
/// (RFC 7617: the scheme, in any case, and `client:secret` in base64).
/// Read here rather than with actix-web-httpauth, which copied the name
/// and the secret twice: a tenth of authentication's cost (README,
/// "Performance").
fn basic_credentials(request: &HttpRequest) -> Result<Option<Credentials>, String> {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    let Some(value) = request.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let not_basic = || {
        "The Authorization header is not HTTP Basic; send Basic credentials or a WS-Security UsernameToken.".to_owned()
    };
    let (scheme, encoded) = value
        .to_str()
        .ok()
        .and_then(|value| value.split_once(' '))
        .ok_or_else(not_basic)?;
    if !scheme.eq_ignore_ascii_case("Basic") {
        return Err(not_basic());
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| not_basic())?;
    let mut name = String::from_utf8(decoded).map_err(|_| not_basic())?;
    let colon = name.find(':').ok_or_else(not_basic)?;
    let secret = name[colon + 1..].to_owned();
    name.truncate(colon);
    Ok(Some(Credentials::Password { name, secret }))
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn basic_of(value: &str) -> Result<Option<Credentials>, String> {
        basic_credentials(
            &TestRequest::default()
                .insert_header((header::AUTHORIZATION, value))
                .to_http_request(),
        )
    }

    fn password(name: &str, secret: &str) -> Credentials {
        Credentials::Password {
            name: name.to_owned(),
            secret: secret.to_owned(),
        }
    }

    #[test]
    fn basic_credentials_are_read_as_rfc_7617_writes_them() {
        use base64::Engine;
        let encode = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
        let basic = |text: &str| format!("Basic {}", encode(text));
        assert_eq!(
            basic_of(&basic("demo-bus:demo-bus-secret")),
            Ok(Some(password("demo-bus", "demo-bus-secret")))
        );
        // The scheme in any case; the secret may hold colons, or be empty.
        assert_eq!(
            basic_of(&format!("bASIC {}", encode("a:b:c"))),
            Ok(Some(password("a", "b:c")))
        );
        assert_eq!(basic_of(&basic("a:")), Ok(Some(password("a", ""))));
        assert_eq!(basic_of(&basic(":s")), Ok(Some(password("", "s"))));
        for refused in [
            "Bearer abc".to_owned(),
            "Basic".to_owned(),
            "Basic not-base64!".to_owned(),
            basic("no colon"),
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode([0xff, b':', b'a'])
            ),
            format!("Basicx {}", encode("a:b")),
        ] {
            let refusal = basic_of(&refused).expect_err(&refused);
            assert!(refusal.contains("not HTTP Basic"), "{refused}: {refusal}");
        }
        let none = basic_credentials(&TestRequest::default().to_http_request());
        assert_eq!(none, Ok(None));
    }
}
