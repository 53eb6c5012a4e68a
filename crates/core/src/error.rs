use crate::application::{ApplicationEvent, ApplicationState};
use crate::care::CareType;
use chrono::NaiveDate;
use thiserror::Error;

/// A domain rule was violated. Each variant carries what a person needs to act on it; the
/// German wording for the UI is produced from the variant, not parsed from this text.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DomainError {
    #[error("invalid value for {field}: {reason}")]
    InvalidField { field: &'static str, reason: String },
    #[error("an application may name 1 to 5 facilities, got {0}")]
    ChoiceCount(usize),
    #[error("the same facility is named twice in the ranked choices")]
    DuplicateChoice,
    #[error("application in state {from:?} does not allow {event:?}")]
    IllegalTransition { from: ApplicationState, event: ApplicationEvent },
    #[error("no free {care_type:?} place in {month} (capacity {capacity}, taken {taken})")]
    NoFreePlace { care_type: CareType, month: NaiveDate, capacity: u32, taken: u32 },
    #[error("facility does not offer {0:?}")]
    CareTypeNotOffered(CareType),
    #[error("the reservation expired on {0}")]
    ReservationExpired(chrono::DateTime<chrono::Utc>),
    #[error("the reservation is no longer active ({0})")]
    ReservationNotActive(&'static str),
    #[error("the child already has an active reservation or contract for an overlapping period")]
    AlreadyPlaced,
    #[error("measles protection proof is missing (required since 1 March 2020)")]
    MeaslesProofMissing,
    #[error("child lives in {municipality}; admission needs an approved out-of-town ticket")]
    TicketRequired { municipality: String },
    #[error("a signed contract version is immutable; make an amendment instead")]
    SignedVersionImmutable,
    #[error("the contract is already terminated")]
    ContractTerminated,
    #[error("date {date} is before {earliest}")]
    DateTooEarly { date: NaiveDate, earliest: NaiveDate },
    #[error("ticket was already decided")]
    TicketAlreadyDecided,
    #[error("child already checked in")]
    AlreadyCheckedIn,
    #[error("child is not checked in")]
    NotCheckedIn,
}
