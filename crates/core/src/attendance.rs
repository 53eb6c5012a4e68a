//! Anwesenheit: append-only events. A correction is a new event that names the one it
//! replaces, so two PCs recording the same day never overwrite each other.

use crate::ids::{AttendanceEventId, ChildId};
use crate::DomainError;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum AbsenceType {
    Sick,
    Holiday,
    Other,
}

impl AbsenceType {
    pub fn code(self) -> &'static str {
        match self {
            Self::Sick => "sick",
            Self::Holiday => "holiday",
            Self::Other => "other",
        }
    }
    pub fn from_code(s: &str) -> Option<Self> {
        [Self::Sick, Self::Holiday, Self::Other].into_iter().find(|x| x.code() == s)
    }
    pub fn label_de(self) -> &'static str {
        match self {
            Self::Sick => "krank",
            Self::Holiday => "Urlaub",
            Self::Other => "abwesend",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "absence_type")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum AttendanceKind {
    CheckIn,
    CheckOut,
    Absence(AbsenceType),
}

impl AttendanceKind {
    pub fn code(self) -> &'static str {
        match self {
            Self::CheckIn => "check_in",
            Self::CheckOut => "check_out",
            Self::Absence(_) => "absence",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttendanceEvent {
    pub id: AttendanceEventId,
    pub child_id: ChildId,
    pub date: NaiveDate,
    pub kind: AttendanceKind,
    pub at: DateTime<Utc>,
    /// The event this one corrects (replaces); `None` for an original record.
    pub corrects: Option<AttendanceEventId>,
}

/// What a day looks like after applying all events in order, corrections replacing their target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum DayStatus {
    NotRecorded,
    Present { since: DateTime<Utc> },
    Left { arrived: DateTime<Utc>, left: DateTime<Utc> },
    Absent(AbsenceType),
}

/// Folds a child's events of one day (in recording order) into the day's status.
pub fn day_status(events: &[AttendanceEvent]) -> DayStatus {
    let replaced: Vec<AttendanceEventId> = events.iter().filter_map(|e| e.corrects).collect();
    let mut status = DayStatus::NotRecorded;
    for e in events.iter().filter(|e| !replaced.contains(&e.id)) {
        status = match (e.kind, status) {
            (AttendanceKind::CheckIn, _) => DayStatus::Present { since: e.at },
            (AttendanceKind::CheckOut, DayStatus::Present { since }) => DayStatus::Left { arrived: since, left: e.at },
            (AttendanceKind::CheckOut, s) => s,
            (AttendanceKind::Absence(t), _) => DayStatus::Absent(t),
        };
    }
    status
}

/// The last event still in effect (not replaced by a correction): what a new correction of
/// the day replaces.
pub fn last_effective(events: &[AttendanceEvent]) -> Option<AttendanceEventId> {
    let replaced: Vec<AttendanceEventId> = events.iter().filter_map(|e| e.corrects).collect();
    events.iter().rev().find(|e| !replaced.contains(&e.id)).map(|e| e.id)
}

/// Rejects a new original event that makes no sense given the day so far. Corrections are
/// always allowed: they exist to repair the day.
pub fn ensure_recordable(current: DayStatus, kind: AttendanceKind) -> Result<(), DomainError> {
    match (kind, current) {
        (AttendanceKind::CheckIn, DayStatus::Present { .. }) => Err(DomainError::AlreadyCheckedIn),
        (AttendanceKind::CheckOut, DayStatus::Present { .. }) => Ok(()),
        (AttendanceKind::CheckOut, _) => Err(DomainError::NotCheckedIn),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn ev(n: u128, kind: AttendanceKind, hour: u32, corrects: Option<u128>) -> AttendanceEvent {
        let date = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        AttendanceEvent {
            id: AttendanceEventId(Uuid::from_u128(n)),
            child_id: ChildId(Uuid::nil()),
            date,
            kind,
            at: date.and_hms_opt(hour, 0, 0).unwrap().and_utc(),
            corrects: corrects.map(|c| AttendanceEventId(Uuid::from_u128(c))),
        }
    }

    #[test]
    fn corrections_replace_their_target() {
        let evs = vec![
            ev(1, AttendanceKind::CheckIn, 7, None),
            ev(2, AttendanceKind::CheckOut, 15, None),
            ev(3, AttendanceKind::Absence(AbsenceType::Sick), 16, Some(1)),
        ];
        // The check-in was wrong: the child was sick. The check-out alone doesn't change that.
        assert_eq!(day_status(&evs), DayStatus::Absent(AbsenceType::Sick));
        assert!(matches!(day_status(&evs[..2]), DayStatus::Left { .. }));
        assert_eq!(ensure_recordable(DayStatus::NotRecorded, AttendanceKind::CheckOut), Err(DomainError::NotCheckedIn));
        // The sick note replaced the check-in; the check-out (2) is replaced by nothing and is
        // the last event in effect after the correction (3).
        assert_eq!(last_effective(&evs), Some(AttendanceEventId(Uuid::from_u128(3))));
        assert_eq!(last_effective(&evs[..1]), Some(AttendanceEventId(Uuid::from_u128(1))));
        assert_eq!(last_effective(&[]), None);
    }
}
