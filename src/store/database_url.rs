use std::borrow::Cow;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use percent_encoding::percent_decode_str;
use url::Url;

/// libpq's connection parameters that hold secrets; shown as `***`.
const SECRET_PARAMETERS: [&str; 2] = ["password", "sslpassword"];

/// Where the data lives. The scheme picks the backend; nothing is tried.
/// Shown (`Display`, `Debug`, errors) without any password.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `sqlite://relative/path.db`, `sqlite:///absolute/path.db` or `sqlite:path.db`.
    Sqlite(PathBuf),
    /// `postgres://…` or `postgresql://…`, as libpq reads it.
    Postgres(String),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DatabaseUrlError {
    #[error("'{0}' names no database file")]
    MissingPath(String),
    #[error(
        "'{0}': in-memory SQLite is not supported, every pooled connection would see another database"
    )]
    InMemory(String),
    #[error("unknown database URL scheme in '{0}'; use sqlite://PATH or postgres://USER@HOST/DB")]
    UnknownScheme(String),
}

impl FromStr for DatabaseUrl {
    type Err = DatabaseUrlError;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        let unknown = || DatabaseUrlError::UnknownScheme(redact(url));
        let (scheme, rest) = url.split_once(':').ok_or_else(unknown)?;
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => {
                let path = rest.strip_prefix("//").unwrap_or(rest);
                let path = path.split_once('?').map_or(path, |(p, _)| p);
                // Percent-escapes mean what they say: `my%20db.db` is `my db.db`.
                let path = percent_decode_str(path).decode_utf8_lossy();
                if path.is_empty() {
                    Err(DatabaseUrlError::MissingPath(url.to_owned()))
                } else if path == ":memory:" || path.starts_with("file::memory:") {
                    Err(DatabaseUrlError::InMemory(url.to_owned()))
                } else {
                    Ok(Self::Sqlite(PathBuf::from(path.as_ref())))
                }
            }
            "postgres" | "postgresql" if rest.starts_with("//") => {
                Ok(Self::Postgres(url.to_owned()))
            }
            _ => Err(unknown()),
        }
    }
}

/// libpq's parameters that bound every wait on the network: connecting,
/// and a peer that stops answering (keepalives and the TCP user timeout),
/// given unless the URL sets them.
fn libpq_timeouts(silence: std::time::Duration) -> [(&'static str, String); 6] {
    let seconds = silence.as_secs().max(2);
    [
        ("connect_timeout", seconds.min(5).to_string()),
        ("keepalives", "1".to_owned()),
        ("keepalives_idle", (seconds / 2).max(1).to_string()),
        ("keepalives_interval", "1".to_owned()),
        ("keepalives_count", "2".to_owned()),
        ("tcp_user_timeout", (seconds * 1000).to_string()),
    ]
}

/// A PostgreSQL URL with libpq's timeouts added where it sets none, so that
/// a silent network ends in an error within about `silence`.
pub(super) fn with_libpq_timeouts(url: &str, silence: std::time::Duration) -> String {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let given: Vec<&str> = query
        .split('&')
        .filter_map(|pair| pair.split('=').next())
        .collect();
    let mut with = url.to_owned();
    for (key, value) in libpq_timeouts(silence) {
        if !given.contains(&key) {
            with.push(if with.contains('?') { '&' } else { '?' });
            with.push_str(&format!("{key}={value}"));
        }
    }
    with
}

/// The URL with every secret replaced by `***`, for logs and messages: the
/// password of the user information, and libpq's `password` and
/// `sslpassword` parameters.
pub fn redact(url: &str) -> String {
    match Url::parse(url) {
        Ok(parsed) => redact_parsed(parsed),
        Err(_) => redact_multi_host(url),
    }
}

fn redact_parsed(mut url: Url) -> String {
    if url.password().is_some() {
        // Only fails for URLs that cannot have one, which this one has.
        let _ = url.set_password(Some("***"));
    }
    if url
        .query_pairs()
        .any(|(key, _)| SECRET_PARAMETERS.contains(&key.as_ref()))
    {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(key, value)| {
                let value = if SECRET_PARAMETERS.contains(&key.as_ref()) {
                    Cow::Borrowed("***")
                } else {
                    value
                };
                (key.into_owned(), value.into_owned())
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

/// libpq's multi-host form (`postgres://u:p@h1:5432,h2:5432/db?…`), which is
/// no URL to the `url` crate: the user information and the hosts are taken
/// apart here, the rest is read as a URL on the first host.
fn redact_multi_host(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "***".to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (user, hosts) = match authority.rsplit_once('@') {
        Some((credentials, hosts)) => {
            let user = credentials.split_once(':').map_or(credentials, |(u, _)| u);
            let redacted = if credentials.contains(':') {
                format!("{user}:***@")
            } else {
                format!("{user}@")
            };
            (redacted, hosts)
        }
        None => (String::new(), authority),
    };
    match Url::parse(&format!("{scheme}://host{tail}")) {
        Ok(tail_url) => {
            let redacted = redact_parsed(tail_url);
            let tail = redacted
                .strip_prefix(&format!("{scheme}://host"))
                .unwrap_or_default();
            format!("{scheme}://{user}{hosts}{tail}")
        }
        Err(_) => format!("{scheme}://{user}{hosts}/***"),
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            Self::Postgres(url) => f.write_str(&redact(url)),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_picks_the_backend() {
        let parse = |s: &str| s.parse::<DatabaseUrl>();
        assert_eq!(
            parse("sqlite://data/customer-relations.db"),
            Ok(DatabaseUrl::Sqlite("data/customer-relations.db".into()))
        );
        assert_eq!(
            parse("sqlite:///var/lib/cr.db"),
            Ok(DatabaseUrl::Sqlite("/var/lib/cr.db".into()))
        );
        assert_eq!(
            parse("sqlite:cr.db"),
            Ok(DatabaseUrl::Sqlite("cr.db".into()))
        );
        assert_eq!(
            parse("postgres://cr@db.internal/relations"),
            Ok(DatabaseUrl::Postgres(
                "postgres://cr@db.internal/relations".into()
            ))
        );
        assert!(matches!(
            parse("postgresql://x/y"),
            Ok(DatabaseUrl::Postgres(_))
        ));
        assert!(matches!(
            parse("sqlite://"),
            Err(DatabaseUrlError::MissingPath(_))
        ));
        assert!(matches!(
            parse("sqlite::memory:"),
            Err(DatabaseUrlError::InMemory(_))
        ));
        assert!(matches!(
            parse("mysql://x"),
            Err(DatabaseUrlError::UnknownScheme(_))
        ));
        assert!(matches!(
            parse("postgres:x"),
            Err(DatabaseUrlError::UnknownScheme(_))
        ));
        assert!(matches!(
            parse("data.db"),
            Err(DatabaseUrlError::UnknownScheme(_))
        ));
    }

    #[test]
    fn libpq_timeouts_are_added_unless_given() {
        let with = with_libpq_timeouts(
            "postgres://cr@db/x?connect_timeout=9",
            std::time::Duration::from_secs(10),
        );
        assert!(
            with.starts_with("postgres://cr@db/x?connect_timeout=9&keepalives=1&"),
            "{with}"
        );
        assert_eq!(with.matches("connect_timeout").count(), 1, "{with}");
        assert!(with.contains("tcp_user_timeout=10000"), "{with}");
        let bare = with_libpq_timeouts("postgres://cr@db/x", std::time::Duration::from_secs(10));
        assert!(bare.contains("/x?connect_timeout=5&"), "{bare}");
    }

    #[test]
    fn sqlite_paths_are_percent_decoded() {
        assert_eq!(
            "sqlite://my%20db.db".parse::<DatabaseUrl>(),
            Ok(DatabaseUrl::Sqlite("my db.db".into()))
        );
        assert_eq!(
            "sqlite:///srv/%C3%A5se.db".parse::<DatabaseUrl>(),
            Ok(DatabaseUrl::Sqlite("/srv/åse.db".into()))
        );
    }

    #[test]
    fn libpq_secrets_never_show() {
        for (url, shown) in [
            (
                "postgres://postgres@127.0.0.1:1/x?password=hunter2",
                "postgres://postgres@127.0.0.1:1/x?password=***",
            ),
            (
                "postgresql://cr@db/x?sslmode=verify-full&sslpassword=hunter2&application_name=cr",
                "postgresql://cr@db/x?sslmode=verify-full&sslpassword=***&application_name=cr",
            ),
            (
                "postgres://cr:hunter2@h1:5432,h2:5433/x?target_session_attrs=read-write&password=hunter2",
                "postgres://cr:***@h1:5432,h2:5433/x?target_session_attrs=read-write&password=***",
            ),
            ("postgres://cr:hunter2@h1,h2/x", "postgres://cr:***@h1,h2/x"),
        ] {
            let parsed: DatabaseUrl = url.parse().unwrap();
            assert_eq!(parsed.to_string(), shown);
            assert!(!format!("{parsed:?}").contains("hunter2"));
        }
    }

    #[test]
    fn passwords_never_show() {
        let url: DatabaseUrl = "postgres://cr:s3cret@db:5432/relations?sslmode=require"
            .parse()
            .unwrap();
        assert_eq!(
            url.to_string(),
            "postgres://cr:***@db:5432/relations?sslmode=require"
        );
        assert!(!format!("{url:?}").contains("s3cret"));
        let error = "mysql://cr:s3cret@db/x".parse::<DatabaseUrl>().unwrap_err();
        assert!(!error.to_string().contains("s3cret"));
        assert_eq!(
            "postgres://cr@db/x"
                .parse::<DatabaseUrl>()
                .unwrap()
                .to_string(),
            "postgres://cr@db/x"
        );
    }
}
