//! Out-of-town tickets: a child living in another municipality may be admitted (and billed)
//! only after the youth office approved it.

use crate::DomainError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum TicketState {
    Requested,
    Approved,
    Denied,
}

impl TicketState {
    pub fn code(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Approved => "approved",
            Self::Denied => "denied",
        }
    }
    pub fn from_code(s: &str) -> Option<Self> {
        [Self::Requested, Self::Approved, Self::Denied].into_iter().find(|x| x.code() == s)
    }
    pub fn label_de(self) -> &'static str {
        match self {
            Self::Requested => "beantragt",
            Self::Approved => "genehmigt",
            Self::Denied => "abgelehnt",
        }
    }

    /// Only a requested ticket can be decided; a decision is final (a new request follows a denial).
    pub fn decide(self, approved: bool) -> Result<TicketState, DomainError> {
        match self {
            Self::Requested => Ok(if approved { Self::Approved } else { Self::Denied }),
            _ => Err(DomainError::TicketAlreadyDecided),
        }
    }
}

/// Whether a child living in `child_municipality` may be admitted to a facility in
/// `facility_municipality`, given the states of the child's tickets.
pub fn ensure_admissible(child_municipality: &str, facility_municipality: &str, tickets: &[TicketState]) -> Result<(), DomainError> {
    let same = normalise(child_municipality) == normalise(facility_municipality);
    if same || tickets.contains(&TicketState::Approved) {
        Ok(())
    } else {
        Err(DomainError::TicketRequired { municipality: child_municipality.trim().to_string() })
    }
}

fn normalise(s: &str) -> String {
    s.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_town_needs_approval() {
        assert!(ensure_admissible("Leipzig", " leipzig", &[]).is_ok());
        assert!(ensure_admissible("Markkleeberg", "Leipzig", &[]).is_err());
        assert!(ensure_admissible("Markkleeberg", "Leipzig", &[TicketState::Requested, TicketState::Denied]).is_err());
        assert!(ensure_admissible("Markkleeberg", "Leipzig", &[TicketState::Approved]).is_ok());
    }

    #[test]
    fn decisions_are_final() {
        assert_eq!(TicketState::Requested.decide(true), Ok(TicketState::Approved));
        assert_eq!(TicketState::Approved.decide(false), Err(DomainError::TicketAlreadyDecided));
    }
}
