//! German working days and TARGET2 business days: fee due dates ("5. Werktag") and SEPA
//! collection dates.
//!
//! Working days are those of Saxony (SächsSFG §1): Monday to Friday except the statutory public
//! holidays. Saturdays do not count: a fee "due on the 5th Werktag" is read like rent due dates,
//! as a bank working day. Not covered: Fronleichnam, a holiday only in some Sorbian Catholic
//! communities of the Landkreis Bautzen, and one-off holidays.
//!
//! TARGET2 days are the settlement days of the Eurosystem's payment system, which decide when a
//! SEPA direct debit can be collected.

use chrono::{Datelike, Days, NaiveDate, Weekday};

/// Easter Sunday of the Gregorian calendar (anonymous Gregorian algorithm as given by Meeus,
/// "Astronomical Algorithms", which refines Gauss's Easter formula). Valid for every year
/// chrono can represent after 1582.
pub fn easter_sunday(year: i32) -> NaiveDate {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).expect("Easter is always in March or April")
}

/// Buß- und Bettag: the Wednesday before 23 November (so between 16 and 22 November).
pub fn buss_und_bettag(year: i32) -> NaiveDate {
    let nov22 = NaiveDate::from_ymd_opt(year, 11, 22).expect("valid date");
    // Days to go back from 22 Nov to the Wednesday on or before it.
    let back = (nov22.weekday().num_days_from_monday() + 7 - Weekday::Wed.num_days_from_monday()) % 7;
    nov22 - Days::new(u64::from(back))
}

fn offset(d: NaiveDate, days: i64) -> NaiveDate {
    d + chrono::Duration::days(days)
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// A statutory public holiday in Saxony: the nationwide ones (Neujahr, Karfreitag, Ostermontag,
/// Tag der Arbeit, Christi Himmelfahrt, Pfingstmontag, Tag der Deutschen Einheit, 1st and 2nd
/// Weihnachtstag) plus Reformationstag (31 October) and Buß- und Bettag. Easter and Whit Sunday
/// are Sundays and not listed in the SächsSFG; this returns false for them.
pub fn is_public_holiday_saxony(d: NaiveDate) -> bool {
    let fixed = matches!((d.month(), d.day()), (1, 1) | (5, 1) | (10, 3) | (10, 31) | (12, 25) | (12, 26));
    if fixed {
        return true;
    }
    let easter = easter_sunday(d.year());
    let movable = [-2, 1, 39, 50].iter().any(|&o| d == offset(easter, o));
    movable || d == buss_und_bettag(d.year())
}

/// Monday to Friday and not a public holiday in Saxony.
pub fn is_working_day(d: NaiveDate) -> bool {
    !is_weekend(d) && !is_public_holiday_saxony(d)
}

/// The n-th working day of the month that contains `month_first` ("5. Werktag des Monats");
/// `month_first` may be any day of the month, counting starts at the 1st. `n` is 1-based.
///
/// Every month has at least 18 working days in Saxony (May 2026 has exactly 18: 1 May,
/// Ascension and Whit Monday all fall on weekdays), so for n ≤ 18 the result always lies in the
/// month; a larger n may run into the next month, counting on.
///
/// # Panics
/// If `n` is 0 — there is no "0. Werktag"; that is a programming error, not user input.
pub fn nth_working_day(month_first: NaiveDate, n: u32) -> NaiveDate {
    assert!(n >= 1, "nth_working_day: n is 1-based, got 0");
    let mut d = month_first.with_day(1).expect("day 1 exists in every month");
    let mut seen = 0;
    loop {
        if is_working_day(d) {
            seen += 1;
            if seen == n {
                return d;
            }
        }
        d = d.succ_opt().expect("date within chrono's range");
    }
}

/// A TARGET2 business day: not Saturday or Sunday, not 1 January, Good Friday, Easter Monday,
/// 1 May, 25 or 26 December.
pub fn is_target2_day(d: NaiveDate) -> bool {
    if is_weekend(d) || matches!((d.month(), d.day()), (1, 1) | (5, 1) | (12, 25) | (12, 26)) {
        return false;
    }
    let easter = easter_sunday(d.year());
    d != offset(easter, -2) && d != offset(easter, 1)
}

/// `d` itself if it is a TARGET2 day, else the next one.
pub fn next_target2_day_on_or_after(d: NaiveDate) -> NaiveDate {
    let mut d = d;
    while !is_target2_day(d) {
        d = d.succ_opt().expect("date within chrono's range");
    }
    d
}

/// The earliest requested collection date (ReqdColltnDt) for a SEPA core direct debit whose file
/// is handed to the bank on `submitted_on`. Since November 2016 the core scheme needs the file
/// at the bank one TARGET2 day before the due date (D-1), for first and recurring debits alike.
///
/// A file handed in on a non-TARGET2 day (weekend, holiday) counts as received on the next
/// TARGET2 day, so the collection date is the TARGET2 day after that: submitted Thursday →
/// Friday; submitted Saturday → Tuesday. Banks' own cut-off times (a file after e.g. 15:00 counts
/// as next day) and extra lead days some banks ask for are not modelled; add them before calling.
pub fn earliest_collection_date(submitted_on: NaiveDate) -> NaiveDate {
    let received = next_target2_day_on_or_after(submitted_on);
    next_target2_day_on_or_after(received.succ_opt().expect("date within chrono's range"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn easter_known_years() {
        let known = [
            (1818, 3, 22), // earliest possible
            (1943, 4, 25), // latest possible
            (2000, 4, 23),
            (2008, 3, 23),
            (2011, 4, 24),
            (2019, 4, 21),
            (2024, 3, 31),
            (2025, 4, 20),
            (2026, 4, 5),
            (2027, 3, 28),
            (2028, 4, 16),
            (2038, 4, 25),
            (2285, 3, 22),
        ];
        for (y, m, day) in known {
            assert_eq!(easter_sunday(y), d(y, m, day), "Easter {y}");
            assert_eq!(easter_sunday(y).weekday(), Weekday::Sun);
        }
    }

    #[test]
    fn buss_und_bettag_known_years() {
        assert_eq!(buss_und_bettag(2023), d(2023, 11, 22));
        assert_eq!(buss_und_bettag(2024), d(2024, 11, 20));
        assert_eq!(buss_und_bettag(2025), d(2025, 11, 19));
        assert_eq!(buss_und_bettag(2026), d(2026, 11, 18));
        assert_eq!(buss_und_bettag(2027), d(2027, 11, 17));
        // 23 Nov 2022 was a Wednesday: the holiday is the one before, 16 Nov.
        assert_eq!(buss_und_bettag(2022), d(2022, 11, 16));
    }

    #[test]
    fn saxon_holidays_2026() {
        let holidays = [
            d(2026, 1, 1),
            d(2026, 4, 3),  // Karfreitag
            d(2026, 4, 6),  // Ostermontag
            d(2026, 5, 1),  // Tag der Arbeit
            d(2026, 5, 14), // Christi Himmelfahrt = Easter + 39
            d(2026, 5, 25), // Pfingstmontag = Easter + 50
            d(2026, 10, 3),
            d(2026, 10, 31),
            d(2026, 11, 18),
            d(2026, 12, 25),
            d(2026, 12, 26),
        ];
        for h in holidays {
            assert!(is_public_holiday_saxony(h), "{h} is a holiday");
        }
        let count = d(2026, 1, 1).iter_days().take_while(|x| x.year() == 2026).filter(|x| is_public_holiday_saxony(*x)).count();
        assert_eq!(count, holidays.len());
        // Not holidays in Saxony.
        for x in [d(2026, 1, 6), d(2026, 4, 5), d(2026, 6, 4), d(2026, 11, 1), d(2026, 12, 24), d(2026, 12, 31)] {
            assert!(!is_public_holiday_saxony(x), "{x} is no holiday");
        }
    }

    #[test]
    fn working_days() {
        assert!(is_working_day(d(2026, 12, 7))); // Monday
        assert!(!is_working_day(d(2026, 12, 5))); // Saturday
        assert!(!is_working_day(d(2026, 11, 18))); // Buß- und Bettag, a Wednesday
        assert!(is_working_day(d(2026, 12, 24))); // Heiligabend is a working day
    }

    #[test]
    fn nth_working_day_known() {
        // Dec 2026: 1 Dec is a Tuesday → 1, 2, 3, 4, 7.
        assert_eq!(nth_working_day(d(2026, 12, 1), 5), d(2026, 12, 7));
        // Jan 2027: 1 Jan (Friday) is Neujahr → 4, 5, 6, 7, 8.
        assert_eq!(nth_working_day(d(2027, 1, 1), 5), d(2027, 1, 8));
        assert_eq!(nth_working_day(d(2027, 1, 1), 1), d(2027, 1, 4));
        // Apr 2026: 1, 2, (3 Karfreitag, 6 Ostermontag) 7, 8, 9.
        assert_eq!(nth_working_day(d(2026, 4, 1), 5), d(2026, 4, 9));
        // May 2026: 1 May Friday → 4..8.
        assert_eq!(nth_working_day(d(2026, 5, 1), 5), d(2026, 5, 8));
        // Oct 2026: 1, 2, (3 Sat) 5, 6, 7.
        assert_eq!(nth_working_day(d(2026, 10, 1), 5), d(2026, 10, 7));
        // Nov 2026: 2..6, 9..13, 16, 17, (18 Buß- und Bettag) 19.
        assert_eq!(nth_working_day(d(2026, 11, 1), 13), d(2026, 11, 19));
        // Any day of the month works as the anchor.
        assert_eq!(nth_working_day(d(2026, 12, 20), 5), d(2026, 12, 7));
    }

    #[test]
    fn may_2026_has_only_18_working_days() {
        assert_eq!(nth_working_day(d(2026, 5, 1), 18), d(2026, 5, 29));
        // The 19th runs into June.
        assert_eq!(nth_working_day(d(2026, 5, 1), 19), d(2026, 6, 1));
    }

    #[test]
    #[should_panic(expected = "1-based")]
    fn nth_working_day_zero_panics() {
        nth_working_day(d(2026, 1, 1), 0);
    }

    #[test]
    fn target2_days() {
        assert!(!is_target2_day(d(2026, 1, 1)));
        assert!(!is_target2_day(d(2026, 4, 3)));
        assert!(!is_target2_day(d(2026, 4, 6)));
        assert!(!is_target2_day(d(2026, 5, 1)));
        assert!(!is_target2_day(d(2026, 12, 25)));
        assert!(!is_target2_day(d(2026, 12, 26)));
        assert!(!is_target2_day(d(2026, 4, 4))); // Saturday
                                                 // German-only holidays are TARGET2 days.
        assert!(is_target2_day(d(2026, 5, 14)));
        assert!(is_target2_day(d(2026, 5, 25)));
        assert!(is_target2_day(d(2026, 10, 30)));
        assert!(is_target2_day(d(2026, 11, 18)));
        assert!(is_target2_day(d(2026, 12, 24)));
        assert!(is_target2_day(d(2026, 12, 31)));
        assert_eq!(next_target2_day_on_or_after(d(2026, 4, 2)), d(2026, 4, 2));
        assert_eq!(next_target2_day_on_or_after(d(2026, 4, 3)), d(2026, 4, 7));
        assert_eq!(next_target2_day_on_or_after(d(2026, 12, 25)), d(2026, 12, 28));
    }

    #[test]
    fn earliest_collection() {
        // Monday → Tuesday.
        assert_eq!(earliest_collection_date(d(2026, 11, 2)), d(2026, 11, 3));
        // Friday → Monday.
        assert_eq!(earliest_collection_date(d(2026, 11, 6)), d(2026, 11, 9));
        // Thursday before Easter → Tuesday after (Good Friday, weekend, Easter Monday closed).
        assert_eq!(earliest_collection_date(d(2026, 4, 2)), d(2026, 4, 7));
        // Saturday: received Monday, collected Tuesday.
        assert_eq!(earliest_collection_date(d(2026, 11, 7)), d(2026, 11, 10));
        // Good Friday: received Tuesday 7 April, collected Wednesday.
        assert_eq!(earliest_collection_date(d(2026, 4, 3)), d(2026, 4, 8));
        // 23 Dec 2026 (Wednesday) → 24 Dec, a TARGET2 day.
        assert_eq!(earliest_collection_date(d(2026, 12, 23)), d(2026, 12, 24));
        // 24 Dec 2026 (Thursday) → 28 Dec (25, 26 closed, 27 Sunday).
        assert_eq!(earliest_collection_date(d(2026, 12, 24)), d(2026, 12, 28));
    }

    fn any_month() -> impl Strategy<Value = NaiveDate> {
        (1990i32..2100, 1u32..=12).prop_map(|(y, m)| NaiveDate::from_ymd_opt(y, m, 1).unwrap())
    }

    fn any_date() -> impl Strategy<Value = NaiveDate> {
        (0i64..(365 * 110)).prop_map(|o| NaiveDate::from_ymd_opt(1990, 1, 1).unwrap() + chrono::Duration::days(o))
    }

    proptest! {
        #[test]
        fn nth_working_day_is_working_in_month_and_increasing(month in any_month(), n in 1u32..=18) {
            let day = nth_working_day(month, n);
            prop_assert!(is_working_day(day));
            prop_assert_eq!((day.year(), day.month()), (month.year(), month.month()));
            if n > 1 {
                prop_assert!(nth_working_day(month, n - 1) < day);
            }
            // Exactly n - 1 working days before it in the month.
            let before = month.iter_days().take_while(|x| *x < day).filter(|x| is_working_day(*x)).count();
            prop_assert_eq!(before as u32, n - 1);
        }

        #[test]
        fn easter_is_a_sunday_in_range(year in 1583i32..4000) {
            let e = easter_sunday(year);
            prop_assert_eq!(e.weekday(), Weekday::Sun);
            prop_assert!(e >= NaiveDate::from_ymd_opt(year, 3, 22).unwrap());
            prop_assert!(e <= NaiveDate::from_ymd_opt(year, 4, 25).unwrap());
        }

        #[test]
        fn earliest_collection_is_a_later_target2_day(day in any_date()) {
            let c = earliest_collection_date(day);
            prop_assert!(is_target2_day(c));
            prop_assert!(c > day);
            // At least one TARGET2 day (the day of receipt) lies in [day, c).
            let received = next_target2_day_on_or_after(day);
            prop_assert!(received < c);
            // And none strictly between receipt and collection: it is the earliest.
            prop_assert!(received.succ_opt().unwrap().iter_days().take_while(|x| *x < c).all(|x| !is_target2_day(x)));
        }

        #[test]
        fn buss_und_bettag_is_a_wednesday_16_to_22_nov(year in 1583i32..4000) {
            let b = buss_und_bettag(year);
            prop_assert_eq!(b.weekday(), Weekday::Wed);
            prop_assert_eq!(b.month(), 11);
            prop_assert!((16..=22).contains(&b.day()));
        }
    }
}
