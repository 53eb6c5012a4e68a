//! Care types, contracted hours and calendar months: the units every other rule counts in.

use crate::DomainError;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Krippe / Kindergarten / Hort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum CareType {
    /// Krippe, 0–3 years.
    Nursery,
    /// Kindergarten, 3 years to school.
    Kindergarten,
    /// Hort, after-school care.
    AfterSchool,
}

impl CareType {
    pub const ALL: [CareType; 3] = [CareType::Nursery, CareType::Kindergarten, CareType::AfterSchool];

    /// Stable code used in SQL, JSON and the CLI.
    pub fn code(self) -> &'static str {
        match self {
            CareType::Nursery => "nursery",
            CareType::Kindergarten => "kindergarten",
            CareType::AfterSchool => "after_school",
        }
    }

    /// German label for documents and the UI.
    pub fn label_de(self) -> &'static str {
        match self {
            CareType::Nursery => "Krippe",
            CareType::Kindergarten => "Kindergarten",
            CareType::AfterSchool => "Hort",
        }
    }
}

impl fmt::Display for CareType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for CareType {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_lowercase().as_str() {
            "nursery" | "krippe" => Ok(CareType::Nursery),
            "kindergarten" | "kiga" => Ok(CareType::Kindergarten),
            "after_school" | "afterschool" | "hort" => Ok(CareType::AfterSchool),
            other => Err(DomainError::InvalidField {
                field: "care_type",
                reason: format!("unknown care type '{other}' (nursery|kindergarten|after_school)"),
            }),
        }
    }
}

/// Betreuungsumfang: contracted hours per day, kept in tenths of an hour so that 4.5 h is
/// exact and sums never drift. Valid range 1.0–12.0 h.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(as = "f64"))]
pub struct CareHours(u16);

impl CareHours {
    pub const MIN_TENTHS: u16 = 10;
    pub const MAX_TENTHS: u16 = 120;

    pub fn from_tenths(tenths: u16) -> Result<Self, DomainError> {
        if !(Self::MIN_TENTHS..=Self::MAX_TENTHS).contains(&tenths) {
            return Err(DomainError::InvalidField {
                field: "care_hours",
                reason: format!("{} h is outside 1–12 h per day", tenths as f64 / 10.0),
            });
        }
        Ok(CareHours(tenths))
    }

    pub fn tenths(self) -> u16 {
        self.0
    }

    pub fn hours(self) -> f64 {
        self.0 as f64 / 10.0
    }
}

impl TryFrom<f64> for CareHours {
    type Error = DomainError;
    fn try_from(h: f64) -> Result<Self, DomainError> {
        if !h.is_finite() {
            return Err(DomainError::InvalidField { field: "care_hours", reason: "not a number".into() });
        }
        let tenths = (h * 10.0).round();
        if (tenths / 10.0 - h).abs() > 1e-9 {
            return Err(DomainError::InvalidField { field: "care_hours", reason: format!("{h} h: at most one decimal place") });
        }
        if !(0.0..=u16::MAX as f64).contains(&tenths) {
            return Err(DomainError::InvalidField { field: "care_hours", reason: format!("{h} h is out of range") });
        }
        CareHours::from_tenths(tenths as u16)
    }
}

impl From<CareHours> for f64 {
    fn from(h: CareHours) -> f64 {
        h.hours()
    }
}

impl FromStr for CareHours {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, DomainError> {
        let v: f64 = s
            .trim()
            .replace(',', ".")
            .parse()
            .map_err(|_| DomainError::InvalidField { field: "care_hours", reason: format!("'{s}' is not a number of hours") })?;
        CareHours::try_from(v)
    }
}

/// The first day of the month containing `d`.
pub fn month_start(d: NaiveDate) -> NaiveDate {
    d.with_day(1).expect("day 1 exists in every month")
}

/// The first day of the month `n` months after the month of `d`.
pub fn add_months(d: NaiveDate, n: u32) -> NaiveDate {
    let m0 = d.year() * 12 + d.month0() as i32 + n as i32;
    NaiveDate::from_ymd_opt(m0.div_euclid(12), m0.rem_euclid(12) as u32 + 1, 1).expect("valid month")
}

/// The last day of the month containing `d`.
pub fn month_end(d: NaiveDate) -> NaiveDate {
    add_months(d, 1).pred_opt().expect("not the first representable day")
}

/// A closed date range `[start, end]`; `end == None` means open-ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Period {
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
}

impl Period {
    pub fn new(start: NaiveDate, end: Option<NaiveDate>) -> Result<Self, DomainError> {
        if let Some(e) = end {
            if e < start {
                return Err(DomainError::DateTooEarly { date: e, earliest: start });
            }
        }
        Ok(Period { start, end })
    }

    pub fn overlaps(&self, other: &Period) -> bool {
        let a_before_b = matches!(self.end, Some(e) if e < other.start);
        let b_before_a = matches!(other.end, Some(e) if e < self.start);
        !(a_before_b || b_before_a)
    }

    pub fn contains(&self, d: NaiveDate) -> bool {
        d >= self.start && self.end.is_none_or(|e| d <= e)
    }

    /// Whether the period touches any day of the month starting at `month`.
    pub fn touches_month(&self, month: NaiveDate) -> bool {
        self.overlaps(&Period { start: month_start(month), end: Some(month_end(month)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_parse_german_and_reject_garbage() {
        assert_eq!("4,5".parse::<CareHours>().unwrap().tenths(), 45);
        assert_eq!("9".parse::<CareHours>().unwrap().tenths(), 90);
        assert!("4.55".parse::<CareHours>().is_err());
        assert!("0".parse::<CareHours>().is_err());
        assert!("13".parse::<CareHours>().is_err());
        assert!("neun".parse::<CareHours>().is_err());
    }

    #[test]
    fn months_roll_over_years() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        assert_eq!(add_months(d, 2), NaiveDate::from_ymd_opt(2027, 1, 1).unwrap());
        assert_eq!(month_end(NaiveDate::from_ymd_opt(2028, 2, 3).unwrap()), NaiveDate::from_ymd_opt(2028, 2, 29).unwrap());
    }

    #[test]
    fn period_overlap_is_inclusive() {
        let d = |m, day| NaiveDate::from_ymd_opt(2027, m, day).unwrap();
        let a = Period::new(d(1, 1), Some(d(1, 31))).unwrap();
        assert!(a.overlaps(&Period::new(d(1, 31), None).unwrap()));
        assert!(!a.overlaps(&Period::new(d(2, 1), None).unwrap()));
        assert!(Period::new(d(2, 1), Some(d(1, 1))).is_err());
    }
}
