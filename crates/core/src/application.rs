//! Bedarfsanmeldung: the parents' registration of demand, and its state machine.
//!
//! ```text
//!            reserve                admit
//!   Open ───────────────▶ Reserved ───────▶ Admitted (final)
//!    ▲  ◀─────────────────   │
//!    │   hold lapsed/cancelled│
//!    ├─ reject ──▶ Rejected (final) ◀── reject
//!    └─ withdraw ─▶ Withdrawn (final) ◀─ withdraw
//! ```
//! `transition` is the only way to change a state; it returns a typed error for every
//! pair not in the table above.

use crate::care::{CareHours, CareType};
use crate::ids::{ApplicationId, ChildId, FacilityId};
use crate::DomainError;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub const MAX_CHOICES: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum ApplicationState {
    /// On the waiting list.
    Open,
    /// A place is held for the child (reservation active).
    Reserved,
    /// A contract was concluded.
    Admitted,
    Rejected,
    Withdrawn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationEvent {
    Reserve,
    /// The hold lapsed after 7 days or was cancelled: back to the waiting list.
    ReleaseHold,
    Admit,
    Reject,
    Withdraw,
}

impl ApplicationState {
    pub const ALL: [ApplicationState; 5] = [
        ApplicationState::Open,
        ApplicationState::Reserved,
        ApplicationState::Admitted,
        ApplicationState::Rejected,
        ApplicationState::Withdrawn,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ApplicationState::Open => "open",
            ApplicationState::Reserved => "reserved",
            ApplicationState::Admitted => "admitted",
            ApplicationState::Rejected => "rejected",
            ApplicationState::Withdrawn => "withdrawn",
        }
    }

    pub fn from_code(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.code() == s)
    }

    pub fn label_de(self) -> &'static str {
        match self {
            ApplicationState::Open => "Warteliste",
            ApplicationState::Reserved => "Reserviert",
            ApplicationState::Admitted => "Aufgenommen",
            ApplicationState::Rejected => "Abgelehnt",
            ApplicationState::Withdrawn => "Zurückgezogen",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, ApplicationState::Admitted | ApplicationState::Rejected | ApplicationState::Withdrawn)
    }

    /// The state machine. Every (state, event) pair not listed is illegal.
    pub fn transition(self, event: ApplicationEvent) -> Result<ApplicationState, DomainError> {
        use ApplicationEvent as E;
        use ApplicationState as S;
        match (self, event) {
            (S::Open, E::Reserve) => Ok(S::Reserved),
            (S::Reserved, E::ReleaseHold) => Ok(S::Open),
            (S::Reserved, E::Admit) => Ok(S::Admitted),
            (S::Open | S::Reserved, E::Reject) => Ok(S::Rejected),
            (S::Open | S::Reserved, E::Withdraw) => Ok(S::Withdrawn),
            (from, event) => Err(DomainError::IllegalTransition { from, event }),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum ApplicationOrigin {
    Office,
    Portal,
    Paper,
}

impl ApplicationOrigin {
    pub fn code(self) -> &'static str {
        match self {
            ApplicationOrigin::Office => "office",
            ApplicationOrigin::Portal => "portal",
            ApplicationOrigin::Paper => "paper",
        }
    }
    pub fn from_code(s: &str) -> Option<Self> {
        [Self::Office, Self::Portal, Self::Paper].into_iter().find(|o| o.code() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Application {
    pub id: ApplicationId,
    pub child_id: ChildId,
    /// Ranked facility choices, most wanted first (1–5, no repeats).
    pub choices: Vec<FacilityId>,
    pub wanted_start: NaiveDate,
    pub care_type: CareType,
    pub care_hours: CareHours,
    pub origin: ApplicationOrigin,
    pub state: ApplicationState,
    /// Manual waiting-list priority set by the director; lower comes first.
    pub priority: i32,
}

/// Validates ranked choices: 1–5 facilities, none twice.
pub fn validate_choices(choices: &[FacilityId]) -> Result<(), DomainError> {
    if choices.is_empty() || choices.len() > MAX_CHOICES {
        return Err(DomainError::ChoiceCount(choices.len()));
    }
    for (i, c) in choices.iter().enumerate() {
        if choices[..i].contains(c) {
            return Err(DomainError::DuplicateChoice);
        }
    }
    Ok(())
}

/// Orders a facility's waiting list: manual priority, then the rank this facility has in
/// the parents' choices, then the wanted start, then submission order (id is UUIDv7, so
/// time-ordered). Deterministic, so every PC shows the same list.
pub fn waiting_list_key(app: &Application, facility: FacilityId) -> (i32, usize, NaiveDate, ApplicationId) {
    let rank = app.choices.iter().position(|f| *f == facility).unwrap_or(MAX_CHOICES);
    (app.priority, rank, app.wanted_start, app.id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use ApplicationEvent as E;
    use ApplicationState as S;

    /// The legal transitions, written out independently of `transition`.
    const LEGAL: &[(S, E, S)] = &[
        (S::Open, E::Reserve, S::Reserved),
        (S::Reserved, E::ReleaseHold, S::Open),
        (S::Reserved, E::Admit, S::Admitted),
        (S::Open, E::Reject, S::Rejected),
        (S::Reserved, E::Reject, S::Rejected),
        (S::Open, E::Withdraw, S::Withdrawn),
        (S::Reserved, E::Withdraw, S::Withdrawn),
    ];
    const EVENTS: [E; 5] = [E::Reserve, E::ReleaseHold, E::Admit, E::Reject, E::Withdraw];

    #[test]
    fn every_pair_matches_the_table() {
        for s in S::ALL {
            for e in EVENTS {
                let expected = LEGAL.iter().find(|(f, ev, _)| *f == s && *ev == e).map(|t| t.2);
                match (s.transition(e), expected) {
                    (Ok(to), Some(exp)) => assert_eq!(to, exp, "{s:?} --{e:?}-->"),
                    (Err(DomainError::IllegalTransition { from, event }), None) => {
                        assert_eq!((from, event), (s, e))
                    }
                    (got, exp) => panic!("{s:?} --{e:?}--> got {got:?}, table says {exp:?}"),
                }
            }
        }
    }

    proptest! {
        /// Random event sequences: every accepted step is in the table, final states never move.
        #[test]
        fn no_illegal_transition_is_accepted(events in proptest::collection::vec(0usize..5, 0..40)) {
            let mut state = S::Open;
            for i in events {
                let e = EVENTS[i];
                match state.transition(e) {
                    Ok(next) => {
                        prop_assert!(!state.is_final(), "final state {state:?} accepted {e:?}");
                        prop_assert!(LEGAL.contains(&(state, e, next)));
                        state = next;
                    }
                    Err(_) => prop_assert!(!LEGAL.iter().any(|(f, ev, _)| *f == state && *ev == e)),
                }
            }
        }

        #[test]
        fn choices_valid_iff_1_to_5_distinct(ids in proptest::collection::vec(0u8..8, 0..8)) {
            let facs: Vec<FacilityId> = ids.iter().map(|i| FacilityId(uuid::Uuid::from_u128(*i as u128))).collect();
            let mut dedup = ids.clone(); dedup.sort(); dedup.dedup();
            let ok = !ids.is_empty() && ids.len() <= 5 && dedup.len() == ids.len();
            prop_assert_eq!(validate_choices(&facs).is_ok(), ok);
        }
    }

    #[test]
    fn state_codes_round_trip() {
        for s in S::ALL {
            assert_eq!(S::from_code(s.code()), Some(s));
        }
    }
}
