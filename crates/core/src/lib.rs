//! Kitakontor's domain: the types, rules and state machines of a Kita office.
//!
//! Pure on purpose: no I/O, no async, no SQL, no clock. Everything that needs "now" gets it
//! as an argument, so every rule here is deterministic and property-testable. The store and
//! the hub call into this crate; nothing in here knows they exist.

pub mod application;
pub mod attendance;
pub mod calendar;
pub mod care;
pub mod command;
pub mod contract;
pub mod de;
pub mod error;
pub mod fee;
pub mod ids;
pub mod import;
pub mod occupancy;
pub mod permission;
pub mod person;
pub mod protocol;
pub mod reservation;
pub mod sepa;
pub mod staffing;
pub mod ticket;

pub use error::DomainError;
