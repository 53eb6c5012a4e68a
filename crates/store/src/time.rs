//! Timestamps as text that sorts like time: RFC 3339, UTC, microseconds, `Z`.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub fn parse_ts(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

pub fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Parses the `YYYY-MM-DD` the store writes. Hand-rolled because it runs for every date of
/// every contract version when the occupancy forecast loads (chrono's format parser made up
/// most of the cold forecast's time); anything unusual falls back to chrono.
pub fn parse_date(s: &str) -> NaiveDate {
    let b = s.as_bytes();
    if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        let num = |r: std::ops::Range<usize>| b[r].iter().try_fold(0u32, |acc, c| c.is_ascii_digit().then(|| acc * 10 + (c - b'0') as u32));
        if let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) {
            if let Some(date) = NaiveDate::from_ymd_opt(y as i32, m, d) {
                return date;
            }
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or(NaiveDate::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        for d in ["2027-01-01", "2028-02-29", "1999-12-31"] {
            assert_eq!(date(parse_date(d)), d);
        }
        assert_eq!(parse_date("2027-02-30"), NaiveDate::MIN);
        assert_eq!(parse_date("gestern"), NaiveDate::MIN);
    }
}
