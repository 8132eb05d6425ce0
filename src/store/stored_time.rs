//! Reading timestamps back from SQLite quickly. SQLite keeps them as text,
//! which diesel parses by trying chrono patterns in turn: about 2,600
//! instructions a value, a twentieth of a Get of 5 relations (README,
//! "Performance"). Text in the form diesel writes (`2026-01-31 12:00:00`
//! with an optional fraction of up to 9 digits) is read here digit by
//! digit; anything else still goes to diesel, so every form it reads is
//! read as before. PostgreSQL sends timestamps in binary and is left to
//! diesel.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::pg::Pg;
use diesel::sql_types::{Nullable, Timestamp};
use diesel::sqlite::{Sqlite, SqliteType, SqliteValue};

/// A `Timestamp` column (`#[diesel(deserialize_as = StoredTime)]`).
#[derive(FromSqlRow)]
pub(super) struct StoredTime(NaiveDateTime);

/// A `Nullable<Timestamp>` column.
#[derive(FromSqlRow)]
pub(super) struct OptionalStoredTime(Option<NaiveDateTime>);

impl From<StoredTime> for NaiveDateTime {
    fn from(at: StoredTime) -> Self {
        at.0
    }
}

impl From<OptionalStoredTime> for Option<NaiveDateTime> {
    fn from(at: OptionalStoredTime) -> Self {
        at.0
    }
}

/// `YYYY-MM-DD HH:MM:SS` with an optional `.` and 1 to 9 digits, as
/// diesel writes a `NaiveDateTime` to SQLite (and SQLite's own
/// `CURRENT_TIMESTAMP`); `None` for anything else.
fn parse(text: &str) -> Option<NaiveDateTime> {
    let bytes = text.as_bytes();
    if bytes.len() < 19 {
        return None;
    }
    let (Some(b'-'), Some(b'-'), Some(b' '), Some(b':'), Some(b':')) = (
        bytes.get(4),
        bytes.get(7),
        bytes.get(10),
        bytes.get(13),
        bytes.get(16),
    ) else {
        return None;
    };
    let number = |digits: &[u8]| {
        digits.iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let nanos = match &bytes[19..] {
        [] => 0,
        [b'.', fraction @ ..] if (1..=9).contains(&fraction.len()) => {
            number(fraction)? * 10u32.pow(9 - fraction.len() as u32)
        }
        _ => return None,
    };
    NaiveDate::from_ymd_opt(
        i32::try_from(number(&bytes[0..4])?).ok()?,
        number(&bytes[5..7])?,
        number(&bytes[8..10])?,
    )?
    .and_hms_nano_opt(
        number(&bytes[11..13])?,
        number(&bytes[14..16])?,
        number(&bytes[17..19])?,
        nanos,
    )
}

impl FromSql<Timestamp, Sqlite> for StoredTime {
    fn from_sql(mut value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        if value.value_type() == Some(SqliteType::Text)
            && let Some(at) = parse(value.read_text())
        {
            return Ok(Self(at));
        }
        <NaiveDateTime as FromSql<Timestamp, Sqlite>>::from_sql(value).map(Self)
    }
}

impl FromSql<Nullable<Timestamp>, Sqlite> for OptionalStoredTime {
    fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        <StoredTime as FromSql<Timestamp, Sqlite>>::from_sql(value).map(|at| Self(Some(at.0)))
    }

    fn from_nullable_sql(value: Option<SqliteValue<'_, '_, '_>>) -> deserialize::Result<Self> {
        value.map_or(
            Ok(Self(None)),
            <Self as FromSql<Nullable<Timestamp>, Sqlite>>::from_sql,
        )
    }
}

impl FromSql<Timestamp, Pg> for StoredTime {
    fn from_sql(value: diesel::pg::PgValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, Pg>>::from_sql(value).map(Self)
    }
}

impl FromSql<Nullable<Timestamp>, Pg> for OptionalStoredTime {
    fn from_sql(value: diesel::pg::PgValue<'_>) -> deserialize::Result<Self> {
        <StoredTime as FromSql<Timestamp, Pg>>::from_sql(value).map(|at| Self(Some(at.0)))
    }

    fn from_nullable_sql(value: Option<diesel::pg::PgValue<'_>>) -> deserialize::Result<Self> {
        value.map_or(
            Ok(Self(None)),
            <Self as FromSql<Nullable<Timestamp>, Pg>>::from_sql,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::parse;
    use chrono::NaiveDateTime;

    #[test]
    fn reads_what_diesel_writes_as_diesel_reads_it() {
        let written = [
            "2026-01-31 12:00:00",
            "2026-01-31 12:00:00.5",
            "2026-12-05 09:05:03.123456",
            "1999-02-28 23:59:59.999999999",
            "0001-01-01 00:00:00.000000001",
        ];
        for text in written {
            let expected = NaiveDateTime::parse_from_str(text, "%F %T%.f").unwrap();
            assert_eq!(parse(text), Some(expected), "{text}");
        }
        // What diesel writes, read back unchanged.
        let at = NaiveDateTime::parse_from_str("2026-12-05 09:05:03.123456", "%F %T%.f").unwrap();
        assert_eq!(parse(&at.format("%F %T%.f").to_string()), Some(at));
    }

    #[test]
    fn leaves_every_other_form_to_diesel() {
        let others = [
            "2026-01-31T12:00:00",
            "2026-01-31 12:00",
            "2026-01-31 12:00:",
            "2026-01-31 12:00:0",
            "2026-01-31 12:00:00Z",
            "2026-01-31 12:00:00+01:00",
            "2026-01-31 12:00:00.",
            "2026-01-31 12:00:00.1234567890",
            "2026-02-30 12:00:00",
            "2026-01-31 24:00:00",
            "2016-12-31 23:59:60",
            "2026-1-31 12:00:00",
            "+2026-01-31 12:00:00",
            "2460000.5",
            "",
            "2026-01-31 12:0a:00",
            "２０２６-01-31 12:00:00",
        ];
        for text in others {
            assert_eq!(parse(text), None, "{text}");
        }
    }
}
