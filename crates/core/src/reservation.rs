//! Reservierung: a 7-day hold of one place for one child.
//!
//! The 7 days are measured by the hub's clock once sync exists; until the hub has accepted a
//! hold it is only `Provisional` ("unbestätigt") and the office must not promise it to parents.

use crate::care::CareType;
use crate::ids::{ApplicationId, ChildId, FacilityId, ReservationId};
use crate::DomainError;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

pub const HOLD_DAYS: i64 = 7;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum ReservationStatus {
    /// Made on this PC, not yet accepted by the hub.
    Provisional,
    /// Accepted by the hub.
    Confirmed,
    /// A contract was concluded from it.
    Converted,
    Cancelled,
    /// The 7 days passed without a contract.
    Lapsed,
}

impl ReservationStatus {
    pub const ALL: [ReservationStatus; 5] = [Self::Provisional, Self::Confirmed, Self::Converted, Self::Cancelled, Self::Lapsed];
    pub fn code(self) -> &'static str {
        match self {
            Self::Provisional => "provisional",
            Self::Confirmed => "confirmed",
            Self::Converted => "converted",
            Self::Cancelled => "cancelled",
            Self::Lapsed => "lapsed",
        }
    }
    pub fn from_code(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.code() == s)
    }
    pub fn label_de(self) -> &'static str {
        match self {
            Self::Provisional => "unbestätigt",
            Self::Confirmed => "bestätigt",
            Self::Converted => "Vertrag geschlossen",
            Self::Cancelled => "storniert",
            Self::Lapsed => "verfallen",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reservation {
    pub id: ReservationId,
    pub application_id: ApplicationId,
    pub child_id: ChildId,
    pub facility_id: FacilityId,
    pub care_type: CareType,
    pub start_date: NaiveDate,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub status: ReservationStatus,
}

pub fn expires_at(created_at: DateTime<Utc>) -> DateTime<Utc> {
    created_at + Duration::days(HOLD_DAYS)
}

impl Reservation {
    /// Holds a place right now: not converted, cancelled or lapsed, and not past its 7 days.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        matches!(self.status, ReservationStatus::Provisional | ReservationStatus::Confirmed) && now < self.expires_at
    }

    /// Whole days left of the hold (0 on the last day), `None` once it no longer holds.
    pub fn days_left(&self, now: DateTime<Utc>) -> Option<i64> {
        self.is_active(now).then(|| (self.expires_at - now).num_days())
    }

    /// Checks that a contract may still be concluded from this hold.
    pub fn ensure_convertible(&self, now: DateTime<Utc>) -> Result<(), DomainError> {
        match self.status {
            ReservationStatus::Provisional | ReservationStatus::Confirmed => {
                if now >= self.expires_at {
                    Err(DomainError::ReservationExpired(self.expires_at))
                } else {
                    Ok(())
                }
            }
            other => Err(DomainError::ReservationNotActive(other.label_de())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn hold(created: DateTime<Utc>) -> Reservation {
        Reservation {
            id: ReservationId(Uuid::nil()),
            application_id: ApplicationId(Uuid::nil()),
            child_id: ChildId(Uuid::nil()),
            facility_id: FacilityId(Uuid::nil()),
            care_type: CareType::Nursery,
            start_date: NaiveDate::from_ymd_opt(2027, 8, 1).unwrap(),
            created_at: created,
            expires_at: expires_at(created),
            status: ReservationStatus::Provisional,
        }
    }

    #[test]
    fn hold_lasts_exactly_seven_days() {
        let t0 = DateTime::parse_from_rfc3339("2026-11-24T10:00:00Z").unwrap().with_timezone(&Utc);
        let r = hold(t0);
        assert!(r.is_active(t0 + Duration::days(7) - Duration::seconds(1)));
        assert!(!r.is_active(t0 + Duration::days(7)));
        assert_eq!(r.days_left(t0), Some(7));
        assert!(matches!(r.ensure_convertible(t0 + Duration::days(8)), Err(DomainError::ReservationExpired(_))));
        let mut c = r.clone();
        c.status = ReservationStatus::Converted;
        assert!(!c.is_active(t0));
        assert!(c.ensure_convertible(t0).is_err());
    }
}
