//! The city's duplicate proposals and registry matches ("Stadtabgleich") for the UI, offline
//! first: everything shown comes from the local cache the sync engine fills
//! (`kitakontor_store::city`), so the office sees the last known state without a connection
//! and may decide while offline. A decision is queued and the engine woken to send it.
//!
//! Permissions are checked in the store: reading needs `ReadApplications`, deciding
//! `ManageApplications` (directors, provider admins); educators and the office are refused.

use crate::dto::{CityOverview, DecideDuplicateInput};
use crate::{App, Result};
use kitakontor_store::city::CityProposal;

impl App {
    /// The cached proposals and registry statuses of the session's facility, with when they
    /// were fetched and the last failure.
    pub async fn city_overview(&self) -> Result<CityOverview> {
        let actor = self.actor().await?;
        let proposals = self.store.city_proposals(&actor).await?;
        let registry = self.store.city_registry(&actor).await?;
        let fetch = self.store.city_fetch(&actor).await?;
        let enrolled = self.store.enrolment().await?.is_some();
        Ok(CityOverview {
            enrolled,
            fetched_at: fetch.fetched_at,
            last_error: fetch.last_error,
            last_error_at: fetch.last_error_at,
            proposals,
            registry,
        })
    }

    /// "Dasselbe Kind" / "Verschiedene Kinder": queued (audited), shown as "wird gesendet",
    /// and the sync engine is woken to send it now if the hub is reachable.
    pub async fn decide_duplicate(&self, i: DecideDuplicateInput) -> Result<CityProposal> {
        let actor = self.actor().await?;
        let proposal = self.store.queue_duplicate_decision(&actor, i.proposal_id, i.decision).await?;
        self.wake_sync();
        Ok(proposal)
    }
}
