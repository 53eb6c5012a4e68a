//! Betreuungsvertrag: versioned. Version 1 is concluded (signed) from an active reservation;
//! every later change is a new version (an amendment or the termination). A signed version is
//! never edited — the store also enforces that with a trigger.

use crate::care::{CareHours, CareType, Period};
use crate::ids::{ChildId, ContractId, FacilityId};
use crate::DomainError;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum VersionKind {
    Initial,
    Amendment,
    Termination,
}

impl VersionKind {
    pub fn code(self) -> &'static str {
        match self {
            Self::Initial => "initial",
            Self::Amendment => "amendment",
            Self::Termination => "termination",
        }
    }
    pub fn from_code(s: &str) -> Option<Self> {
        [Self::Initial, Self::Amendment, Self::Termination].into_iter().find(|x| x.code() == s)
    }
    pub fn label_de(self) -> &'static str {
        match self {
            Self::Initial => "Vertrag",
            Self::Amendment => "Änderung",
            Self::Termination => "Kündigung",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ContractVersion {
    pub version_no: u32,
    pub kind: VersionKind,
    /// The day from which this version's terms apply.
    pub valid_from: NaiveDate,
    pub care_hours: CareHours,
    /// Last day of care; set by a termination.
    pub end_date: Option<NaiveDate>,
    pub signed_at: Option<DateTime<Utc>>,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Contract {
    pub id: ContractId,
    pub child_id: ChildId,
    pub facility_id: FacilityId,
    pub care_type: CareType,
    pub start_date: NaiveDate,
    pub settling_in_weeks: u8,
    /// Ordered by `version_no`, starting at 1.
    pub versions: Vec<ContractVersion>,
}

impl Contract {
    pub fn current(&self) -> &ContractVersion {
        self.versions.last().expect("a contract always has version 1")
    }

    pub fn end_date(&self) -> Option<NaiveDate> {
        self.versions.iter().rev().find_map(|v| v.end_date)
    }

    pub fn period(&self) -> Period {
        Period { start: self.start_date, end: self.end_date() }
    }

    /// The hours in force on `day` (the latest version valid from that day or earlier).
    pub fn hours_on(&self, day: NaiveDate) -> CareHours {
        self.versions.iter().rfind(|v| v.valid_from <= day).unwrap_or(&self.versions[0]).care_hours
    }

    /// The next version for a change of hours from `valid_from`.
    pub fn amend(
        &self,
        valid_from: NaiveDate,
        care_hours: CareHours,
        note: String,
        now: DateTime<Utc>,
    ) -> Result<ContractVersion, DomainError> {
        self.ensure_running()?;
        let earliest = self.current().valid_from.max(self.start_date);
        if valid_from < earliest {
            return Err(DomainError::DateTooEarly { date: valid_from, earliest });
        }
        Ok(ContractVersion {
            version_no: self.current().version_no + 1,
            kind: VersionKind::Amendment,
            valid_from,
            care_hours,
            end_date: None,
            signed_at: Some(now),
            note,
        })
    }

    /// The termination version: care ends on `end_date` (inclusive).
    pub fn terminate(&self, end_date: NaiveDate, note: String, now: DateTime<Utc>) -> Result<ContractVersion, DomainError> {
        self.ensure_running()?;
        if end_date < self.start_date {
            return Err(DomainError::DateTooEarly { date: end_date, earliest: self.start_date });
        }
        Ok(ContractVersion {
            version_no: self.current().version_no + 1,
            kind: VersionKind::Termination,
            valid_from: end_date,
            care_hours: self.current().care_hours,
            end_date: Some(end_date),
            signed_at: Some(now),
            note,
        })
    }

    fn ensure_running(&self) -> Result<(), DomainError> {
        if self.end_date().is_some() {
            Err(DomainError::ContractTerminated)
        } else {
            Ok(())
        }
    }
}

/// Refuses any edit of a signed version. Callers that would "fix" a signed version must
/// create an amendment instead.
pub fn ensure_editable(v: &ContractVersion) -> Result<(), DomainError> {
    if v.signed_at.is_some() {
        Err(DomainError::SignedVersionImmutable)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn contract() -> Contract {
        Contract {
            id: ContractId(Uuid::nil()),
            child_id: ChildId(Uuid::nil()),
            facility_id: FacilityId(Uuid::nil()),
            care_type: CareType::Kindergarten,
            start_date: d(2027, 8, 1),
            settling_in_weeks: 4,
            versions: vec![ContractVersion {
                version_no: 1,
                kind: VersionKind::Initial,
                valid_from: d(2027, 8, 1),
                care_hours: CareHours::from_tenths(90).unwrap(),
                end_date: None,
                signed_at: Some(Utc::now()),
                note: String::new(),
            }],
        }
    }

    #[test]
    fn amendments_append_and_terminations_close() {
        let mut c = contract();
        let now = Utc::now();
        assert!(ensure_editable(&c.versions[0]).is_err());
        let v2 = c.amend(d(2028, 1, 1), CareHours::from_tenths(60).unwrap(), "weniger Stunden".into(), now).unwrap();
        assert_eq!(v2.version_no, 2);
        c.versions.push(v2);
        assert_eq!(c.hours_on(d(2027, 12, 31)).tenths(), 90);
        assert_eq!(c.hours_on(d(2028, 1, 1)).tenths(), 60);
        assert!(c.amend(d(2027, 12, 1), CareHours::from_tenths(45).unwrap(), String::new(), now).is_err());
        let t = c.terminate(d(2028, 7, 31), "Schulbeginn".into(), now).unwrap();
        c.versions.push(t);
        assert_eq!(c.end_date(), Some(d(2028, 7, 31)));
        assert_eq!(c.terminate(d(2028, 8, 31), String::new(), now), Err(DomainError::ContractTerminated));
        assert_eq!(c.versions[0].care_hours.tenths(), 90, "version 1 untouched");
    }
}
