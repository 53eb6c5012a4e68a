//! Personalschlüssel after SächsKitaG §12, computed from contracted hours.
//!
//! The ratios refer to children in full care at the cost basis (9 h nursery/kindergarten,
//! 6 h after-school) and to full-time staff. A child contracted for fewer hours counts as the
//! fraction `hours / basis`: 5 nursery children at 9 h need 1.0 FTE, 10 at 4.5 h need 1.0 FTE too.
//! Leadership time comes on top: 1 FTE per 10 FTE of pedagogical staff.

use crate::care::{CareHours, CareType};

/// Hours of care per day that the ratio is defined for.
pub fn basis_hours(care_type: CareType) -> f64 {
    match care_type {
        CareType::Nursery | CareType::Kindergarten => 9.0,
        CareType::AfterSchool => 6.0,
    }
}

/// Children in full care per one full-time educator.
pub fn children_per_fte(care_type: CareType) -> f64 {
    match care_type {
        CareType::Nursery => 5.0,
        CareType::Kindergarten => 12.0,
        // 0.9 staff per 20 children.
        CareType::AfterSchool => 20.0 / 0.9,
    }
}

/// Full-time equivalents of pedagogical staff required for the given contracted hours.
pub fn required_fte(care_type: CareType, hours: impl IntoIterator<Item = CareHours>) -> f64 {
    let child_equivalents: f64 = hours.into_iter().map(|h| h.hours() / basis_hours(care_type)).sum();
    child_equivalents / children_per_fte(care_type)
}

/// The same from the sum of contracted hours per day of all children of one care type.
pub fn required_fte_for_total(care_type: CareType, total_hours: f64) -> f64 {
    total_hours / basis_hours(care_type) / children_per_fte(care_type)
}

/// Leadership time (Leitungszeit) for a facility with `pedagogical_fte` of staff.
pub fn leadership_fte(pedagogical_fte: f64) -> f64 {
    pedagogical_fte / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn h(t: u16) -> CareHours {
        CareHours::from_tenths(t).unwrap()
    }

    #[test]
    fn saxony_ratios() {
        assert!((required_fte(CareType::Nursery, vec![h(90); 5]) - 1.0).abs() < 1e-12);
        assert!((required_fte(CareType::Nursery, vec![h(45); 10]) - 1.0).abs() < 1e-12);
        assert!((required_fte(CareType::Kindergarten, vec![h(90); 12]) - 1.0).abs() < 1e-12);
        assert!((required_fte(CareType::AfterSchool, vec![h(60); 20]) - 0.9).abs() < 1e-12);
        assert!((leadership_fte(12.0) - 1.2).abs() < 1e-12);
        assert_eq!(required_fte(CareType::Kindergarten, Vec::new()), 0.0);
    }

    proptest! {
        #[test]
        fn more_hours_never_need_less_staff(ts in proptest::collection::vec(10u16..=120, 0..40), extra in 10u16..=120, ct in 0usize..3) {
            let ct = CareType::ALL[ct];
            let base: Vec<CareHours> = ts.iter().map(|t| h(*t)).collect();
            let mut more = base.clone();
            more.push(h(extra));
            prop_assert!(required_fte(ct, more) > required_fte(ct, base.clone()));
            prop_assert!(required_fte(ct, base) >= 0.0);
        }
    }
}
