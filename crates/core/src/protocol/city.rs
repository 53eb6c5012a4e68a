//! The city rules a PC reads and decides over `/city/…` (BRIEF §4: one de-duplicated waiting
//! list, registry matching). The hub computes them (`kitakontor-hub`'s `duplicates` and
//! `registry`); a PC caches what it got (`kitakontor-store`'s `city`) so the office sees the
//! last known state offline, and queues its decisions until the next sync round sends them.
//!
//! What a PC gets of another facility's child is on purpose only its name, birth date and
//! facility name ([`OtherChild`]): no address, no guardians, no ids. The registry status names
//! only the PC's own children.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A facility's decision on a duplicate proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// "Dasselbe Kind": the child is registered twice. Nothing is merged automatically.
    Confirmed,
    /// "Verschiedene Kinder": not proposed again.
    Rejected,
}

impl Decision {
    pub fn code(self) -> &'static str {
        match self {
            Decision::Confirmed => "confirmed",
            Decision::Rejected => "rejected",
        }
    }

    pub fn from_code(s: &str) -> Option<Decision> {
        [Decision::Confirmed, Decision::Rejected].into_iter().find(|d| d.code() == s)
    }

    /// The German words for the office.
    pub fn label_de(self) -> &'static str {
        match self {
            Decision::Confirmed => "bestätigt (dasselbe Kind)",
            Decision::Rejected => "abgelehnt (verschiedene Kinder)",
        }
    }
}

/// Body of `POST /city/duplicates/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecideDuplicate {
    pub decision: Decision,
}

/// Where a proposal stands on the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ProposalState {
    Open,
    Confirmed,
    Rejected,
}

impl ProposalState {
    pub fn code(self) -> &'static str {
        match self {
            ProposalState::Open => "open",
            ProposalState::Confirmed => "confirmed",
            ProposalState::Rejected => "rejected",
        }
    }

    pub fn from_code(s: &str) -> Option<ProposalState> {
        [ProposalState::Open, ProposalState::Confirmed, ProposalState::Rejected].into_iter().find(|p| p.code() == s)
    }

    /// The state a decision leads to.
    pub fn decided(decision: Decision) -> ProposalState {
        match decision {
            Decision::Confirmed => ProposalState::Confirmed,
            Decision::Rejected => ProposalState::Rejected,
        }
    }
}

/// The state as its code: `view.state == "open"` reads like the JSON it travels as.
impl PartialEq<&str> for ProposalState {
    fn eq(&self, other: &&str) -> bool {
        self.code() == *other
    }
}

/// The device's own child in a proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OwnChild {
    pub child_id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub birth_date: NaiveDate,
}

/// The other child: name, birth date and its facility's name only (no guardians, no address).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OtherChild {
    pub first_name: String,
    pub last_name: String,
    pub birth_date: NaiveDate,
    pub facility_name: String,
}

/// One proposal as a device of an involved facility sees it (`GET /city/duplicates`, and the
/// answer of `POST /city/duplicates/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DuplicateView {
    pub id: Uuid,
    /// Why the hub thinks so (German): "gleiches Geburtsdatum, Nachname klingt gleich, …".
    pub reason: String,
    /// How sure, 0–100.
    pub score: i32,
    pub state: ProposalState,
    pub decided_at: Option<DateTime<Utc>>,
    pub child: OwnChild,
    pub other: OtherChild,
}

/// The residents' registry extract the hub matched against: when and from which file. No
/// resident data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RegistryImport {
    pub id: Uuid,
    pub imported_at: DateTime<Utc>,
    pub file_name: String,
    pub rows: i32,
    /// `UTF-8` or `Windows-1252`.
    pub encoding: String,
}

/// Match status of a child against the registry extract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum MatchStatus {
    /// Same name (spelling up to umlaut transcription and case), birth date and postal code.
    Matched,
    /// Names sound alike (Kölner Phonetik), same birth date and postal code: a proposal for
    /// the office to check, not a match.
    MatchedPhonetic,
    /// Nobody with this birth date, postal code and name in the extract: the child may live
    /// outside the city (an out-of-town ticket is needed) or the office's data differ.
    NotFound,
    /// More than one resident fits.
    Ambiguous,
}

impl MatchStatus {
    pub fn code(self) -> &'static str {
        match self {
            MatchStatus::Matched => "matched",
            MatchStatus::MatchedPhonetic => "matched_phonetic",
            MatchStatus::NotFound => "not_found",
            MatchStatus::Ambiguous => "ambiguous",
        }
    }

    pub fn from_code(s: &str) -> Option<MatchStatus> {
        [MatchStatus::Matched, MatchStatus::MatchedPhonetic, MatchStatus::NotFound, MatchStatus::Ambiguous]
            .into_iter()
            .find(|m| m.code() == s)
    }

    /// The German words for the office.
    pub fn label_de(self) -> &'static str {
        match self {
            MatchStatus::Matched => "Gefunden",
            MatchStatus::MatchedPhonetic => "Ähnlicher Name – bitte prüfen",
            MatchStatus::NotFound => "Nicht gefunden",
            MatchStatus::Ambiguous => "Mehrdeutig",
        }
    }
}

/// One child of the device's facility in `GET /city/registry-status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChildRegistryStatus {
    pub child_id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub birth_date: NaiveDate,
    /// `None`: not checked since the child was created or the extract was replaced.
    pub status: Option<MatchStatus>,
    /// The registry's spelling of the resident found (matched / matched_phonetic), to check.
    pub registry_name: Option<String>,
    pub checked_at: Option<DateTime<Utc>>,
}

/// `GET /city/registry-status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryStatus {
    /// The extract in use; `None` when none was imported yet.
    pub extract: Option<RegistryImport>,
    pub children: Vec<ChildRegistryStatus>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_match_the_json() {
        for d in [Decision::Confirmed, Decision::Rejected] {
            assert_eq!(Decision::from_code(d.code()), Some(d));
            assert_eq!(serde_json::to_value(d).unwrap(), d.code());
        }
        for s in [ProposalState::Open, ProposalState::Confirmed, ProposalState::Rejected] {
            assert_eq!(ProposalState::from_code(s.code()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.code());
        }
        for m in [MatchStatus::Matched, MatchStatus::MatchedPhonetic, MatchStatus::NotFound, MatchStatus::Ambiguous] {
            assert_eq!(MatchStatus::from_code(m.code()), Some(m));
            assert_eq!(serde_json::to_value(m).unwrap(), m.code());
        }
        assert_eq!(Decision::from_code("merged"), None);
        assert_eq!(ProposalState::decided(Decision::Rejected), ProposalState::Rejected);
        assert!(ProposalState::Open == "open");
    }

    #[test]
    fn a_decision_body_is_strict() {
        let d: DecideDuplicate = serde_json::from_str(r#"{"decision":"confirmed"}"#).unwrap();
        assert_eq!(d.decision, Decision::Confirmed);
        assert!(serde_json::from_str::<DecideDuplicate>(r#"{"decision":"merged"}"#).is_err());
        assert!(serde_json::from_str::<DecideDuplicate>(r#"{"decision":"confirmed","by":"x"}"#).is_err());
    }
}
