//! Children and guardians (Sorgeberechtigte). Health, income and bank fields are sensitive:
//! reading them is a separate permission and writes an audit row.

use crate::ids::{ChildId, FacilityId, GroupId, GuardianId};
use crate::DomainError;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Address {
    pub street: String,
    pub postal_code: String,
    pub city: String,
}

impl Address {
    pub fn validate(&self) -> Result<(), DomainError> {
        let five_digits = self.postal_code.len() == 5 && self.postal_code.chars().all(|c| c.is_ascii_digit());
        if !self.postal_code.is_empty() && !five_digits {
            return Err(DomainError::InvalidField {
                field: "postal_code",
                reason: format!("'{}' is not a 5-digit German postal code", self.postal_code),
            });
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Child {
    pub id: ChildId,
    pub facility_id: FacilityId,
    pub group_id: Option<GroupId>,
    pub first_name: String,
    pub last_name: String,
    pub birth_date: NaiveDate,
    pub address: Address,
    /// Municipality of residence (Wohnort-Gemeinde); decides whether a ticket is needed.
    pub municipality: String,
}

/// Sensitive: health data of a child.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HealthRecord {
    /// Date of the measles protection proof (Masernschutz), required since 1 March 2020.
    pub measles_proof: Option<NaiveDate>,
    pub health_notes: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Guardian {
    pub id: GuardianId,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: String,
    pub address: Address,
    pub single_parent: bool,
}

/// Sensitive: income and bank data of a guardian. Only office staff and provider admins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GuardianFinance {
    /// Yearly household income in cents, if declared.
    pub income_cents: Option<i64>,
    /// IBAN without spaces, checksum-validated.
    pub iban: Option<String>,
    pub account_holder: Option<String>,
}

/// A person's name part: non-empty, at most 100 characters, no control characters.
pub fn validate_name(field: &'static str, s: &str) -> Result<(), DomainError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(DomainError::InvalidField { field, reason: "must not be empty".into() });
    }
    if t.chars().count() > 100 || t.chars().any(char::is_control) {
        return Err(DomainError::InvalidField { field, reason: "at most 100 printable characters".into() });
    }
    Ok(())
}

/// A birth date must lie in the past and not more than 16 years back (Hort ends with school age).
pub fn validate_birth_date(birth: NaiveDate, today: NaiveDate) -> Result<(), DomainError> {
    if birth > today {
        return Err(DomainError::InvalidField { field: "birth_date", reason: format!("{birth} is in the future") });
    }
    if today.years_since(birth).unwrap_or(0) > 16 {
        return Err(DomainError::InvalidField { field: "birth_date", reason: format!("{birth}: older than 16 years") });
    }
    Ok(())
}

/// Normalises and validates an IBAN (ISO 13616 mod-97 checksum). Accepts spaces and
/// no-break spaces between groups, as people copy them from letters.
pub fn normalise_iban(raw: &str) -> Result<String, DomainError> {
    let iban: String = raw.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
    let bad = |reason: &str| DomainError::InvalidField { field: "iban", reason: reason.to_string() };
    if iban.len() < 15 || iban.len() > 34 || !iban.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(bad("must be 15–34 letters and digits"));
    }
    if !iban[..2].chars().all(|c| c.is_ascii_uppercase()) || !iban[2..4].chars().all(|c| c.is_ascii_digit()) {
        return Err(bad("must start with a country code and two check digits"));
    }
    if iban.starts_with("DE") && iban.len() != 22 {
        return Err(bad("a German IBAN has 22 characters"));
    }
    let rearranged = iban[4..].chars().chain(iban[..4].chars());
    let mut rem: u32 = 0;
    for c in rearranged {
        let v = c.to_digit(36).expect("alphanumeric checked above");
        rem = if v >= 10 { (rem * 100 + v) % 97 } else { (rem * 10 + v) % 97 };
    }
    if rem != 1 {
        return Err(bad("checksum is wrong (typo?)"));
    }
    Ok(iban)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iban_checksum() {
        // The standard example IBAN from the German banking association's documentation.
        assert_eq!(normalise_iban("DE89 3704 0044 0532 0130 00").unwrap(), "DE89370400440532013000");
        assert_eq!(normalise_iban("DE89\u{a0}3704\u{a0}0044\u{a0}0532\u{a0}0130\u{a0}00").unwrap(), "DE89370400440532013000");
        assert!(normalise_iban("DE88 3704 0044 0532 0130 00").is_err());
        assert!(normalise_iban("DE89").is_err());
    }

    #[test]
    fn names_and_birth_dates() {
        assert!(validate_name("first_name", "Zoë").is_ok());
        assert!(validate_name("first_name", "  ").is_err());
        assert!(validate_name("first_name", "a\u{0}b").is_err());
        let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        assert!(validate_birth_date(NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(), today).is_ok());
        assert!(validate_birth_date(NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(), today).is_err());
    }
}
