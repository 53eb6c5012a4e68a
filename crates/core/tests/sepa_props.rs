//! Properties of the SEPA rules: generated mandate references are always valid, creditor-ID
//! check digits catch every single-character change, the mandate life cycle is monotone.

use chrono::{Months, NaiveDate};
use kitakontor_core::sepa::{
    mandate_reference_for, mandate_status, validate_creditor_id, validate_mandate_reference, MandateStatus, MandateUse, Sequence,
};
use proptest::prelude::*;

/// Check digits for a creditor ID with the given country and national identifier.
fn check_digits(country: &str, national: &str) -> u32 {
    let s = format!("{national}{country}00");
    let rem = s.chars().fold(0u32, |rem, c| {
        let v = c.to_digit(36).unwrap();
        if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        }
    });
    98 - rem
}

fn date() -> impl Strategy<Value = NaiveDate> {
    (0i64..365 * 30).prop_map(|o| NaiveDate::from_ymd_opt(2010, 1, 1).unwrap() + chrono::Duration::days(o))
}

proptest! {
    #[test]
    fn generated_mandate_references_are_valid(code in "\\PC{0,50}", seq in any::<u32>()) {
        let r = mandate_reference_for(&code, seq);
        prop_assert!(r.len() <= 35);
        prop_assert_eq!(validate_mandate_reference(&r).unwrap(), r.clone());
        let suffix = format!("{seq:06}");
        prop_assert!(r.ends_with(&suffix));
    }

    #[test]
    fn german_creditor_ids_round_trip_and_catch_single_changes(
        national in "[0-9]{11}",
        business in "[A-Z0-9]{3}",
        pos in 0usize..11,
        delta in 1u32..10,
    ) {
        let id = format!("DE{:02}{business}{national}", check_digits("DE", &national));
        prop_assert_eq!(validate_creditor_id(&id).unwrap(), id.clone());
        // Change one digit of the national identifier: the checksum must notice.
        let mut chars: Vec<char> = national.chars().collect();
        chars[pos] = char::from_digit((chars[pos].to_digit(10).unwrap() + delta) % 10, 10).unwrap();
        let typo: String = chars.into_iter().collect();
        let bad = format!("DE{:02}{business}{typo}", check_digits("DE", &national));
        prop_assert!(validate_creditor_id(&bad).is_err());
    }

    #[test]
    fn mandate_status_is_monotone_in_the_collection_date(signed in date(), used_after in proptest::option::of(0u32..2000), a in date(), b in date()) {
        let last = used_after.map(|d| signed + chrono::Duration::days(i64::from(d)));
        let m = MandateUse { signed_on: signed, last_used_on: last };
        let (early, late) = if a <= b { (a, b) } else { (b, a) };
        let rank = |s: MandateStatus| match s {
            MandateStatus::NotYetSigned => 0,
            MandateStatus::Usable(_) => 1,
            MandateStatus::Lapsed { .. } => 2,
        };
        prop_assert!(rank(mandate_status(&m, early)) <= rank(mandate_status(&m, late)));
        // Usable exactly up to 36 months after the reference date.
        let reference = last.unwrap_or(signed);
        let limit = reference.checked_add_months(Months::new(36)).unwrap();
        let expected_seq = if last.is_some() { Sequence::Recurring } else { Sequence::First };
        prop_assert_eq!(mandate_status(&m, limit), MandateStatus::Usable(expected_seq));
        prop_assert_eq!(mandate_status(&m, limit.succ_opt().unwrap()), MandateStatus::Lapsed { unused_since: reference });
    }
}
