//! German formatting of amounts, dates, hours and IBANs, as printed on every document.
//!
//! Spaces that must not become line breaks (between amount and "€", inside an IBAN) are
//! U+00A0 NO-BREAK SPACE; the layout layer breaks lines only at U+0020.

use chrono::{Datelike, NaiveDate};

/// No-break space: joins what must stay on one line.
pub const NBSP: char = '\u{a0}';

/// Minus sign for negative amounts (U+2212, typographically correct and in the bundled font).
pub const MINUS: char = '\u{2212}';

const MONTHS: [&str; 12] =
    ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"];

/// An amount without currency: 123456 → "1.234,56", -1200 → "−12,00". The digits come from
/// `kitakontor_core::de` (one formatter for all German amounts); documents print the
/// typographic minus sign.
pub fn amount(cents: i64) -> String {
    let plain = kitakontor_core::de::amount(cents);
    match plain.strip_prefix('-') {
        Some(abs) => format!("{MINUS}{abs}"),
        None => plain,
    }
}

/// An amount in euros: 123456 → "1.234,56 €" (U+00A0 before "€"), -1200 → "−12,00 €".
pub fn euro(cents: i64) -> String {
    format!("{}{NBSP}€", amount(cents))
}

pub use kitakontor_core::de::{date, hours};

/// "November 2026".
pub fn month_year(d: NaiveDate) -> String {
    format!("{} {}", MONTHS[d.month0() as usize], d.year())
}

/// "11/2026", for narrow table columns.
pub fn month_short(d: NaiveDate) -> String {
    format!("{:02}/{:04}", d.month(), d.year())
}

/// Strips spaces (also U+00A0) and upper-cases: the normalised form of an IBAN.
fn normalise_iban(iban: &str) -> String {
    iban.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_uppercase).collect()
}

/// Groups of four joined with U+00A0: "DE89 3704 0044 0532 0130 00" (never broken across lines).
pub fn iban_grouped(iban: &str) -> String {
    let norm = normalise_iban(iban);
    let chars: Vec<char> = norm.chars().collect();
    chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join(&NBSP.to_string())
}

/// Masked for letters: country and check digits and the last four characters stay, every other
/// character becomes "•": "DE89 •••• •••• •••• ••30 00" keeps the grouping of the printed IBAN.
pub fn iban_masked(iban: &str) -> String {
    let norm = normalise_iban(iban);
    let n = norm.chars().count();
    let masked: String = norm.chars().enumerate().map(|(i, c)| if i < 4 || i + 4 >= n { c } else { '•' }).collect();
    iban_grouped(&masked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn euro_amounts() {
        assert_eq!(euro(123456), "1.234,56\u{a0}€");
        assert_eq!(euro(0), "0,00\u{a0}€");
        assert_eq!(euro(5), "0,05\u{a0}€");
        assert_eq!(euro(27632), "276,32\u{a0}€");
        assert_eq!(euro(-1200), "\u{2212}12,00\u{a0}€");
        assert_eq!(euro(100_000_000), "1.000.000,00\u{a0}€");
        assert_eq!(euro(-123_456_789), "\u{2212}1.234.567,89\u{a0}€");
        assert_eq!(euro(i64::MIN), "\u{2212}92.233.720.368.547.758,08\u{a0}€");
    }

    #[test]
    fn dates_and_months() {
        assert_eq!(date(d(2027, 8, 1)), "01.08.2027");
        assert_eq!(date(d(2026, 12, 31)), "31.12.2026");
        assert_eq!(month_year(d(2026, 11, 1)), "November 2026");
        assert_eq!(month_year(d(2027, 3, 15)), "März 2027");
        assert_eq!(month_short(d(2027, 3, 15)), "03/2027");
    }

    #[test]
    fn hours_from_tenths() {
        assert_eq!(hours(90), "9,0");
        assert_eq!(hours(75), "7,5");
        assert_eq!(hours(5), "0,5");
        assert_eq!(hours(100), "10,0");
    }

    #[test]
    fn iban_grouping_and_masking() {
        assert_eq!(iban_grouped("DE89370400440532013000"), "DE89\u{a0}3704\u{a0}0044\u{a0}0532\u{a0}0130\u{a0}00");
        assert_eq!(iban_grouped("de89 3704 0044 0532 0130 00"), "DE89\u{a0}3704\u{a0}0044\u{a0}0532\u{a0}0130\u{a0}00");
        assert_eq!(iban_masked("DE89370400440532013000"), "DE89\u{a0}••••\u{a0}••••\u{a0}••••\u{a0}••30\u{a0}00");
        assert!(!iban_masked("DE89370400440532013000").contains("3704"));
        assert_eq!(iban_grouped(""), "");
    }
}
