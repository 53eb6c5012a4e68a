//! Typed identifiers. A `ChildId` can never be passed where a `FacilityId` is expected.
//! IDs are UUIDv7 (time-ordered, so indexes stay append-friendly); the store creates them.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! id_type {
    ($($name:ident),* $(,)?) => {$(
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "string"))]
        pub struct $name(pub Uuid);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { self.0.fmt(f) }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> { Uuid::parse_str(s).map(Self) }
        }
    )*};
}

id_type!(
    ProviderId,
    FacilityId,
    GroupId,
    ChildId,
    GuardianId,
    ApplicationId,
    ReservationId,
    ContractId,
    AttendanceEventId,
    TicketId,
    UserId,
    CommandId,
    MandateId,
    InvoiceId,
    BillingRunId,
    DeviceId,
);
