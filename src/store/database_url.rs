use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// Where the data lives. The scheme picks the backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `sqlite://relative/path.db`, `sqlite:///absolute/path.db` or `sqlite:path.db`.
    Sqlite(PathBuf),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DatabaseUrlError {
    #[error("'{0}' names no database file")]
    MissingPath(String),
    #[error(
        "'{0}': in-memory SQLite is not supported, every pooled connection would see another database"
    )]
    InMemory(String),
    #[error("'{0}': PostgreSQL is not supported by this version yet; use sqlite://PATH")]
    Postgres(String),
    #[error("'{0}': unknown database URL scheme; use sqlite://PATH")]
    UnknownScheme(String),
}

impl FromStr for DatabaseUrl {
    type Err = DatabaseUrlError;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        let Some((scheme, rest)) = url.split_once(':') else {
            return Err(DatabaseUrlError::UnknownScheme(url.to_owned()));
        };
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
            "postgres" | "postgresql" => Err(DatabaseUrlError::Postgres(url.to_owned())),
            _ => Err(DatabaseUrlError::UnknownScheme(url.to_owned())),
        }
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_relative_and_absolute_files() {
        let sqlite = |s: &str| s.parse::<DatabaseUrl>();
        assert_eq!(
            sqlite("sqlite://data/customer-relations.db"),
            Ok(DatabaseUrl::Sqlite("data/customer-relations.db".into()))
        );
        assert_eq!(
            sqlite("sqlite:///var/lib/cr.db"),
            Ok(DatabaseUrl::Sqlite("/var/lib/cr.db".into()))
        );
        assert_eq!(
            sqlite("sqlite:cr.db"),
            Ok(DatabaseUrl::Sqlite("cr.db".into()))
        );
        assert!(matches!(
            sqlite("sqlite://"),
            Err(DatabaseUrlError::MissingPath(_))
        ));
        assert!(matches!(
            sqlite("sqlite::memory:"),
            Err(DatabaseUrlError::InMemory(_))
        ));
        assert!(matches!(
            sqlite("postgres://x/y"),
            Err(DatabaseUrlError::Postgres(_))
        ));
        assert!(matches!(
            sqlite("mysql://x"),
            Err(DatabaseUrlError::UnknownScheme(_))
        ));
        assert!(matches!(
            sqlite("data.db"),
            Err(DatabaseUrlError::UnknownScheme(_))
        ));
    }
}
