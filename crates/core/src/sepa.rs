//! SEPA rules: IBAN/BIC/creditor-ID checks, mandate references and the mandate life cycle
//! (first/recurring, lapse after 36 months unused).
//!
//! IBANs are checked by [`crate::person::normalise_iban`]; this module adds what a direct debit
//! needs on top. All functions are pure; dates come in as arguments.

use crate::DomainError;
use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

/// Maximum length of a mandate reference (MndtId, Max35Text).
pub const MANDATE_REFERENCE_MAX: usize = 35;
/// A mandate not used for this many months lapses (SEPA rulebook; BRIEF §5).
pub const MANDATE_LAPSE_MONTHS: u32 = 36;
/// A mandate is kept at least this many months after the last debit (BRIEF §5).
pub const MANDATE_RETENTION_MONTHS: u32 = 14;

fn invalid(field: &'static str, reason: impl Into<String>) -> DomainError {
    DomainError::InvalidField { field, reason: reason.into() }
}

/// Validates a BIC (ISO 9362): 4 letters bank code, 2 letters country code, 2 letters/digits
/// location, optionally 3 letters/digits branch. Surrounding and inner whitespace is dropped
/// and letters are uppercased; returns the normalised BIC (8 or 11 characters).
pub fn validate_bic(raw: &str) -> Result<String, DomainError> {
    let bic: String = raw.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
    let bad = |reason: &str| invalid("bic", reason);
    if bic.is_empty() {
        return Err(bad("is empty"));
    }
    if !bic.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(bad("may contain only letters and digits"));
    }
    if bic.len() != 8 && bic.len() != 11 {
        return Err(bad(&format!("must have 8 or 11 characters, has {}", bic.len())));
    }
    if !bic[..4].chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(bad("the bank code (characters 1–4) must be letters"));
    }
    if !bic[4..6].chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(bad("the country code (characters 5–6) must be letters"));
    }
    Ok(bic)
}

/// Numeric value of a string for ISO 7064 mod 97-10: digits as such, letters A=10 … Z=35.
fn mod97(s: &str) -> u32 {
    s.chars().fold(0u32, |rem, c| {
        let v = c.to_digit(36).expect("caller passes ASCII alphanumerics");
        if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        }
    })
}

/// Validates a SEPA creditor identifier (Gläubiger-Identifikationsnummer), e.g.
/// `DE98ZZZ09999999999`. Whitespace is dropped and letters are uppercased; returns the
/// normalised ID.
///
/// Structure: country code, 2 check digits, 3-character creditor business code (any letters or
/// digits, "ZZZ" by convention, not part of the checksum), national identifier. German IDs are
/// exactly 18 characters. Check digits: ISO 7064 mod 97-10 over national identifier + country
/// code + "00", check = 98 − remainder.
pub fn validate_creditor_id(raw: &str) -> Result<String, DomainError> {
    let id: String = raw.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
    let bad = |reason: &str| invalid("creditor_id", reason);
    if id.is_empty() {
        return Err(bad("is empty"));
    }
    if !id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(bad("may contain only letters and digits"));
    }
    if id.len() < 8 || id.len() > 35 {
        return Err(bad(&format!("must have 8 to 35 characters, has {}", id.len())));
    }
    if !id[..2].chars().all(|c| c.is_ascii_alphabetic()) || !id[2..4].chars().all(|c| c.is_ascii_digit()) {
        return Err(bad("must start with a country code and two check digits (e.g. DE98ZZZ…)"));
    }
    if id.starts_with("DE") && id.len() != 18 {
        return Err(bad(&format!("a German creditor ID has 18 characters, has {}", id.len())));
    }
    let national = &id[7..];
    let rem = mod97(&format!("{national}{}00", &id[..2]));
    let expected = 98 - rem;
    let given: u32 = id[2..4].parse().expect("two digits checked above");
    if given != expected {
        return Err(bad("checksum is wrong (typo?)"));
    }
    Ok(id)
}

/// Whether `c` is in the SEPA basic Latin character set:
/// a–z A–Z 0–9 / - ? : ( ) . , ' + and space.
pub fn is_sepa_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '?' | ':' | '(' | ')' | '.' | ',' | '\'' | '+' | ' ')
}

/// Validates a mandate reference (Mandatsreferenz, MndtId): 1–35 characters from the SEPA
/// character set, not starting with "/" and without "//". Surrounding whitespace is trimmed;
/// case is kept.
pub fn validate_mandate_reference(raw: &str) -> Result<String, DomainError> {
    let r = raw.trim();
    let bad = |reason: String| invalid("mandate_reference", reason);
    if r.is_empty() {
        return Err(bad("is empty".into()));
    }
    if let Some((i, c)) = r.chars().enumerate().find(|(_, c)| !is_sepa_char(*c)) {
        return Err(bad(format!(
            "character '{c}' at position {} is not allowed (only a–z, A–Z, 0–9, space and / - ? : ( ) . , ' +)",
            i + 1
        )));
    }
    // All characters are ASCII from here on.
    if r.len() > MANDATE_REFERENCE_MAX {
        return Err(bad(format!("is {} characters long, at most {MANDATE_REFERENCE_MAX} are allowed", r.len())));
    }
    if r.starts_with('/') {
        return Err(bad("must not start with '/'".into()));
    }
    if r.contains("//") {
        return Err(bad("must not contain '//'".into()));
    }
    Ok(r.to_string())
}

/// Mandate reference for a guardian's mandate: `KK-<facility>-<seq, 6+ digits>`, e.g.
/// `KK-LE01-000042`. The facility code is reduced to letters and digits (German umlauts and ß
/// spelt out, other characters dropped), uppercased, and shortened so the whole stays within
/// 35 characters. An empty facility code gives `KK-000042`.
pub fn mandate_reference_for(facility_code: &str, guardian_seq: u32) -> String {
    let seq = format!("{guardian_seq:06}");
    let mut code = String::new();
    for c in facility_code.chars() {
        match c {
            'ä' | 'Ä' => code.push_str("AE"),
            'ö' | 'Ö' => code.push_str("OE"),
            'ü' | 'Ü' => code.push_str("UE"),
            'ß' | 'ẞ' => code.push_str("SS"),
            c if c.is_ascii_alphanumeric() => code.push(c.to_ascii_uppercase()),
            _ => {}
        }
    }
    // "KK-" + code + "-" + seq ≤ 35.
    code.truncate(MANDATE_REFERENCE_MAX - 4 - seq.len());
    if code.is_empty() {
        format!("KK-{seq}")
    } else {
        format!("KK-{code}-{seq}")
    }
}

/// FRST for the first collection under a mandate, RCUR afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Sequence {
    First,
    Recurring,
}

impl Sequence {
    /// The ISO 20022 SeqTp code.
    pub fn code(self) -> &'static str {
        match self {
            Self::First => "FRST",
            Self::Recurring => "RCUR",
        }
    }
}

/// What the mandate life cycle needs to know about one mandate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MandateUse {
    pub signed_on: NaiveDate,
    /// Collection date of the last debit made under the mandate, if any.
    pub last_used_on: Option<NaiveDate>,
}

/// Whether a mandate may be used for a collection on a given date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum MandateStatus {
    /// Usable, with the sequence type the debit must carry.
    Usable(Sequence),
    /// The collection date is before the signature date.
    NotYetSigned,
    /// Not used for more than 36 months: a new mandate (and a FRST debit) is needed.
    Lapsed { unused_since: NaiveDate },
}

/// The status of mandate `m` for a collection on `collection_date`.
///
/// Lapse boundary: the mandate lapses when `collection_date` is *after* the last use (or the
/// signature date, if never used) plus 36 calendar months. A collection exactly 36 months later
/// is still allowed; one day more is not. Month arithmetic clamps to the month's end (last use
/// 29 Feb 2024 → still usable on 28 Feb 2027, lapsed on 1 Mar 2027).
pub fn mandate_status(m: &MandateUse, collection_date: NaiveDate) -> MandateStatus {
    if collection_date < m.signed_on {
        return MandateStatus::NotYetSigned;
    }
    let reference = m.last_used_on.unwrap_or(m.signed_on);
    let deadline = reference.checked_add_months(Months::new(MANDATE_LAPSE_MONTHS)).unwrap_or(NaiveDate::MAX);
    if collection_date > deadline {
        return MandateStatus::Lapsed { unused_since: reference };
    }
    MandateStatus::Usable(if m.last_used_on.is_some() { Sequence::Recurring } else { Sequence::First })
}

/// The date until which a mandate must be kept: 14 calendar months after the last debit
/// (clamped to the month's end, like [`mandate_status`]). It may be deleted after that day.
pub fn mandate_retention_until(last_used_on: NaiveDate) -> NaiveDate {
    last_used_on.checked_add_months(Months::new(MANDATE_RETENTION_MONTHS)).unwrap_or(NaiveDate::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn reason(e: DomainError) -> String {
        match e {
            DomainError::InvalidField { reason, .. } => reason,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn bic() {
        assert_eq!(validate_bic(" cobadeffxxx ").unwrap(), "COBADEFFXXX");
        assert_eq!(validate_bic("MARK DE F1 860").unwrap(), "MARKDEF1860");
        assert_eq!(validate_bic("WELADED1").unwrap(), "WELADED1");
        assert!(reason(validate_bic("COBADEFFXX").unwrap_err()).contains("8 or 11"));
        assert!(reason(validate_bic("COBADEFFXXXX").unwrap_err()).contains("8 or 11"));
        assert!(reason(validate_bic("C0BADEFF").unwrap_err()).contains("bank code"));
        assert!(reason(validate_bic("COBAD3FF").unwrap_err()).contains("country code"));
        assert!(reason(validate_bic("COBADEF-").unwrap_err()).contains("letters and digits"));
        assert!(reason(validate_bic("").unwrap_err()).contains("empty"));
        assert!(validate_bic("COBADEFFÄXX").is_err());
    }

    #[test]
    fn creditor_id() {
        // The Bundesbank's example creditor ID.
        assert_eq!(validate_creditor_id("DE98ZZZ09999999999").unwrap(), "DE98ZZZ09999999999");
        assert_eq!(validate_creditor_id(" de98 zzz 0999 9999 999 ").unwrap(), "DE98ZZZ09999999999");
        // The business code is not part of the checksum.
        assert_eq!(validate_creditor_id("DE98ABC09999999999").unwrap(), "DE98ABC09999999999");
        assert_eq!(validate_creditor_id("DE9800109999999999").unwrap(), "DE9800109999999999");
        assert!(reason(validate_creditor_id("DE97ZZZ09999999999").unwrap_err()).contains("checksum"));
        assert!(reason(validate_creditor_id("DE98ZZZ09999999998").unwrap_err()).contains("checksum"));
        assert!(reason(validate_creditor_id("DE98ZZZ0999999999").unwrap_err()).contains("18 characters"));
        assert!(reason(validate_creditor_id("DE98ZZZ099999999999").unwrap_err()).contains("18 characters"));
        assert!(reason(validate_creditor_id("D998ZZZ09999999999").unwrap_err()).contains("country code"));
        assert!(reason(validate_creditor_id("DEX8ZZZ09999999999").unwrap_err()).contains("check digits"));
        assert!(reason(validate_creditor_id("DE98ZZZ0999999999-").unwrap_err()).contains("letters and digits"));
        assert!(reason(validate_creditor_id("DE98").unwrap_err()).contains("8 to 35"));
        assert!(reason(validate_creditor_id("").unwrap_err()).contains("empty"));
    }

    #[test]
    fn creditor_id_other_countries() {
        // Compute a valid Austrian-style ID and check the round trip and the letter rule.
        let national = "0000000123";
        let check = 98 - mod97(&format!("{national}AT00"));
        let id = format!("AT{check:02}ZZZ{national}");
        assert_eq!(validate_creditor_id(&id).unwrap(), id);
        // Letters in the national identifier count as 10..35.
        let national = "ABC12345";
        let check = 98 - mod97(&format!("{national}NL00"));
        assert_eq!(mod97("A"), 10);
        let id = format!("NL{check:02}ZZZ{national}");
        assert_eq!(validate_creditor_id(&id).unwrap(), id);
    }

    #[test]
    fn mandate_reference() {
        assert_eq!(validate_mandate_reference(" KK-LE01-000042 ").unwrap(), "KK-LE01-000042");
        assert!(validate_mandate_reference("a-z A-Z 0-9 /-?:().,'+").is_ok());
        assert_eq!(validate_mandate_reference(&"A".repeat(35)).unwrap().len(), 35);
        assert!(reason(validate_mandate_reference(&"A".repeat(36)).unwrap_err()).contains("36 characters"));
        assert!(reason(validate_mandate_reference("").unwrap_err()).contains("empty"));
        assert!(reason(validate_mandate_reference("   ").unwrap_err()).contains("empty"));
        let r = reason(validate_mandate_reference("MÜLLER-1").unwrap_err());
        assert!(r.contains("'Ü'") && r.contains("position 2"), "{r}");
        assert!(reason(validate_mandate_reference("KK_1").unwrap_err()).contains("'_'"));
        assert!(reason(validate_mandate_reference("/KK-1").unwrap_err()).contains("start with '/'"));
        assert!(reason(validate_mandate_reference("KK//1").unwrap_err()).contains("'//'"));
    }

    #[test]
    fn mandate_reference_generation() {
        assert_eq!(mandate_reference_for("LE01", 42), "KK-LE01-000042");
        assert_eq!(mandate_reference_for("le 01/ä", 7), "KK-LE01AE-000007");
        assert_eq!(mandate_reference_for("", 1), "KK-000001");
        assert_eq!(mandate_reference_for("§%&", 1), "KK-000001");
        let long = mandate_reference_for(&"X".repeat(100), u32::MAX);
        assert_eq!(long.len(), 35);
        assert!(long.ends_with("-4294967295"));
        for (code, seq) in [("LE01", 0), ("Kita Sonnenschein Leipzig-Grünau", 123456), (&*"Ö".repeat(40), 99)] {
            let r = mandate_reference_for(code, seq);
            assert_eq!(validate_mandate_reference(&r).unwrap(), r);
        }
    }

    #[test]
    fn mandate_first_and_recurring() {
        let m = MandateUse { signed_on: d(2026, 8, 1), last_used_on: None };
        assert_eq!(mandate_status(&m, d(2026, 7, 31)), MandateStatus::NotYetSigned);
        assert_eq!(mandate_status(&m, d(2026, 8, 1)), MandateStatus::Usable(Sequence::First));
        assert_eq!(mandate_status(&m, d(2026, 9, 3)), MandateStatus::Usable(Sequence::First));
        let m = MandateUse { signed_on: d(2026, 8, 1), last_used_on: Some(d(2026, 9, 3)) };
        assert_eq!(mandate_status(&m, d(2026, 10, 5)), MandateStatus::Usable(Sequence::Recurring));
    }

    #[test]
    fn mandate_lapse_boundary() {
        // Used last on 5 Oct 2026: exactly 36 months later is still fine, one day more is not.
        let m = MandateUse { signed_on: d(2026, 8, 1), last_used_on: Some(d(2026, 10, 5)) };
        assert_eq!(mandate_status(&m, d(2029, 10, 5)), MandateStatus::Usable(Sequence::Recurring));
        assert_eq!(mandate_status(&m, d(2029, 10, 6)), MandateStatus::Lapsed { unused_since: d(2026, 10, 5) });
        // Never used: counted from the signature.
        let m = MandateUse { signed_on: d(2026, 8, 1), last_used_on: None };
        assert_eq!(mandate_status(&m, d(2029, 8, 1)), MandateStatus::Usable(Sequence::First));
        assert_eq!(mandate_status(&m, d(2029, 8, 2)), MandateStatus::Lapsed { unused_since: d(2026, 8, 1) });
        // Month-end clamping.
        let m = MandateUse { signed_on: d(2024, 1, 10), last_used_on: Some(d(2024, 2, 29)) };
        assert_eq!(mandate_status(&m, d(2027, 2, 28)), MandateStatus::Usable(Sequence::Recurring));
        assert_eq!(mandate_status(&m, d(2027, 3, 1)), MandateStatus::Lapsed { unused_since: d(2024, 2, 29) });
    }

    #[test]
    fn retention() {
        assert_eq!(mandate_retention_until(d(2026, 10, 5)), d(2027, 12, 5));
        assert_eq!(mandate_retention_until(d(2026, 12, 31)), d(2028, 2, 29));
    }

    #[test]
    fn serde_shapes() {
        assert_eq!(serde_json::to_string(&Sequence::First).unwrap(), "\"first\"");
        assert_eq!(
            serde_json::to_string(&MandateStatus::Usable(Sequence::Recurring)).unwrap(),
            r#"{"kind":"usable","detail":"recurring"}"#
        );
        assert_eq!(serde_json::to_string(&MandateStatus::NotYetSigned).unwrap(), r#"{"kind":"not_yet_signed"}"#);
        let lapsed = MandateStatus::Lapsed { unused_since: d(2026, 10, 5) };
        let json = serde_json::to_string(&lapsed).unwrap();
        assert_eq!(json, r#"{"kind":"lapsed","detail":{"unused_since":"2026-10-05"}}"#);
        assert_eq!(serde_json::from_str::<MandateStatus>(&json).unwrap(), lapsed);
        assert_eq!(Sequence::First.code(), "FRST");
        assert_eq!(Sequence::Recurring.code(), "RCUR");
    }
}
