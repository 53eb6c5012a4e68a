//! German number and date formats for text the domain produces (fee explanations, labels):
//! 1.234,56 €, 01.08.2027, 9,0 h. Money is cents; a no-break space (U+00A0) keeps "€" with its
//! number when documents break lines.

use chrono::NaiveDate;

/// "1.234,56 €" (with U+00A0 before €); negative amounts get a leading minus.
pub fn euro(cents: i64) -> String {
    format!("{}\u{a0}€", amount(cents))
}

/// "1.234,56" without currency.
pub fn amount(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let euros = (abs / 100).to_string();
    let mut grouped = String::with_capacity(euros.len() + euros.len() / 3);
    for (i, c) in euros.chars().enumerate() {
        if i > 0 && (euros.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped},{:02}", abs % 100)
}

/// "01.08.2027".
pub fn date(d: NaiveDate) -> String {
    use chrono::Datelike;
    format!("{:02}.{:02}.{:04}", d.day(), d.month(), d.year())
}

/// "9,0" for 90 tenths.
pub fn hours(tenths: u16) -> String {
    format!("{},{}", tenths / 10, tenths % 10)
}

/// "19,89" for 1989 hundredths of a percent; "60" for 6000.
pub fn percent(hundredths: u32) -> String {
    if hundredths % 100 == 0 {
        (hundredths / 100).to_string()
    } else {
        format!("{},{:02}", hundredths / 100, hundredths % 100).trim_end_matches('0').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn german_formats() {
        assert_eq!(euro(123456), "1.234,56\u{a0}€");
        assert_eq!(euro(-1200), "-12,00\u{a0}€");
        assert_eq!(euro(5), "0,05\u{a0}€");
        assert_eq!(amount(100000000), "1.000.000,00");
        assert_eq!(date(NaiveDate::from_ymd_opt(2027, 8, 1).unwrap()), "01.08.2027");
        assert_eq!(hours(45), "4,5");
        assert_eq!(percent(1989), "19,89");
        assert_eq!(percent(2350), "23,5");
        assert_eq!(percent(6000), "60");
    }
}
