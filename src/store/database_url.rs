use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// Where the data lives. The scheme picks the backend; nothing is tried.
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
                if path.is_empty() {
                    Err(DatabaseUrlError::MissingPath(url.to_owned()))
                } else if path == ":memory:" || path.starts_with("file::memory:") {
                    Err(DatabaseUrlError::InMemory(url.to_owned()))
                } else {
                    Ok(Self::Sqlite(PathBuf::from(path)))
                }
            }
            "postgres" | "postgresql" if rest.starts_with("//") => {
                Ok(Self::Postgres(url.to_owned()))
            }
            _ => Err(unknown()),
        }
    }
}

/// The URL with any password replaced by `***`, for logs and messages.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
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
