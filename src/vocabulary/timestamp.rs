//! Instants as text, written digit by digit: chrono's `format` parses its
//! pattern on every call, and even `format!` with padded numbers cost a
//! thousand instructions a value (README, "Performance"). Responses write
//! several per relation, and the request log one per line.

use chrono::{DateTime, Datelike, Timelike, Utc};

/// `YYYY-MM-DDTHH:MM:SS` and a fraction of the second, with `Z`.
pub struct UtcText {
    bytes: [u8; 27],
    len: usize,
}

impl UtcText {
    /// `at` with `fraction_digits` (at most 6) digits of its second,
    /// truncated; `None` for a year outside 0 to 9999, which four digits
    /// cannot hold.
    pub fn new(at: &DateTime<Utc>, fraction_digits: usize) -> Option<Self> {
        let year = u32::try_from(at.year()).ok().filter(|year| *year <= 9999)?;
        let digits = fraction_digits.min(6);
        // A leap second's nanoseconds run past a billion.
        let micros = at.timestamp_subsec_micros().min(999_999);
        let fraction = micros / 10u32.pow(6 - digits as u32);
        let mut bytes = *b"0000-00-00T00:00:00.000000Z";
        let fields = [
            (0, 4, year),
            (5, 2, at.month()),
            (8, 2, at.day()),
            (11, 2, at.hour()),
            (14, 2, at.minute()),
            (17, 2, at.second()),
            (20, digits, fraction),
        ];
        for (start, width, mut value) in fields {
            for place in bytes[start..start + width].iter_mut().rev() {
                *place = b'0' + (value % 10) as u8;
                value /= 10;
            }
        }
        let len = if digits == 0 {
            bytes[19] = b'Z';
            20
        } else {
            bytes[20 + digits] = b'Z';
            21 + digits
        };
        Some(Self { bytes, len })
    }

    pub fn as_str(&self) -> &str {
        // Digits and separators only: ASCII.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn instants_are_written_as_chronos_patterns_write_them() {
        let instants = [
            Utc.timestamp_opt(0, 0).unwrap(),
            Utc.timestamp_opt(1_796_000_123, 7_000_000).unwrap(),
            Utc.timestamp_opt(1_796_000_123, 123_456_789).unwrap(),
            Utc.with_ymd_and_hms(2026, 12, 4, 9, 5, 3).unwrap()
                + chrono::Duration::microseconds(999_999),
            Utc.with_ymd_and_hms(999, 1, 2, 3, 4, 5).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap()
                + chrono::Duration::nanoseconds(999_999_999),
        ];
        for at in instants {
            for (digits, pattern) in [
                (0, "%Y-%m-%dT%H:%M:%SZ"),
                (3, "%Y-%m-%dT%H:%M:%S%.3fZ"),
                (6, "%Y-%m-%dT%H:%M:%S%.6fZ"),
            ] {
                let written = UtcText::new(&at, digits).unwrap();
                assert_eq!(written.as_str(), at.format(pattern).to_string(), "{at:?}");
            }
        }
    }

    #[test]
    fn years_four_digits_cannot_hold_are_left_to_the_caller() {
        let late = Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).unwrap();
        let early = Utc.with_ymd_and_hms(-1, 1, 1, 0, 0, 0).unwrap();
        assert!(UtcText::new(&late, 3).is_none());
        assert!(UtcText::new(&early, 3).is_none());
    }
}
