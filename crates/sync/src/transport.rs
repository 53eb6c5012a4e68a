//! What the engine needs from the network. Every call may fail; the error says whether to
//! retry (network, 5xx), refresh the token (401), or stop pushing (426 upgrade required).

use kitakontor_core::protocol::city::{Decision, DuplicateView, RegistryStatus};
use kitakontor_core::protocol::{
    Cursor, EnrolReply, EnrolRequest, LogEntry, PullReply, PushReply, PushRequest, RefreshRequest, SnapshotHeader, Tokens,
};
use std::future::Future;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The hub is not reachable or did not answer in time: retry later.
    #[error("Hub nicht erreichbar: {0}")]
    Network(String),
    /// The hub answered with a server error: retry later.
    #[error("Hub-Fehler: {0}")]
    Server(String),
    /// The access token is unknown or expired: refresh it and try again.
    #[error("Anmeldung beim Hub abgelaufen")]
    Unauthorized,
    /// The hub's administrator revoked this PC: enrol it again.
    #[error("Dieser PC wurde beim Hub abgemeldet; bitte neu anmelden.")]
    Revoked,
    /// The hub speaks another protocol or schema version: install the update. The outbox stays.
    #[error("Der Hub verlangt eine neuere Version von Kitakontor: {0}")]
    UpgradeRequired(String),
    /// The hub expects another `client_seq` first.
    #[error("Der Hub erwartet Befehl Nr. {expected}")]
    Gap { expected: i64 },
    /// The request was malformed or refused for good (a bug, or a bad enrolment code).
    #[error("{0}")]
    Refused(String),
    /// This transport has no such endpoint (the simulation's network has no city rules).
    #[error("Diese Verbindung kennt den Abgleich mit der Stadt nicht.")]
    NotSupported,
}

impl TransportError {
    /// Worth trying again after a pause.
    pub fn is_transient(&self) -> bool {
        matches!(self, TransportError::Network(_) | TransportError::Server(_))
    }
}

pub type TResult<T> = Result<T, TransportError>;

/// The hub's sync endpoints. `token` is the current access token.
pub trait Transport: Send + Sync {
    fn enrol(&self, req: &EnrolRequest) -> impl Future<Output = TResult<EnrolReply>> + Send;
    fn refresh(&self, req: &RefreshRequest) -> impl Future<Output = TResult<Tokens>> + Send;
    fn push(&self, token: &str, req: &PushRequest) -> impl Future<Output = TResult<PushReply>> + Send;
    fn pull(&self, token: &str, cursor: &Cursor, limit: usize) -> impl Future<Output = TResult<PullReply>> + Send;
    fn snapshot(&self, token: &str) -> impl Future<Output = TResult<(SnapshotHeader, Vec<LogEntry>)>> + Send;
    /// The snapshot as it arrives: the header first, then the entries in batches, so the
    /// store can replay while the rest is on its way. A closed `entries` means the receiver
    /// gave up; the transfer then just stops. Transports without streaming send it in one go.
    fn snapshot_stream(
        &self,
        token: &str,
        header: oneshot::Sender<SnapshotHeader>,
        entries: mpsc::Sender<Vec<LogEntry>>,
    ) -> impl Future<Output = TResult<()>> + Send {
        async move {
            let (h, all) = self.snapshot(token).await?;
            if header.send(h).is_ok() {
                let _ = entries.send(all).await;
            }
            Ok(())
        }
    }
    /// A cheap "is the hub there?" while waiting out a back-off.
    fn health(&self) -> impl Future<Output = TResult<()>> + Send;

    // The city rules (`/city/…`), scoped by the hub to the device's facility. Transports
    // without them keep the defaults; the engine then skips its city step.

    /// `GET /city/duplicates`: the proposals involving this PC's facility.
    fn duplicates(&self, _token: &str) -> impl Future<Output = TResult<Vec<DuplicateView>>> + Send {
        async { Err(TransportError::NotSupported) }
    }
    /// `POST /city/duplicates/{id}`: idempotent on the hub (the same decision again is fine).
    fn decide_duplicate(&self, _token: &str, _id: Uuid, _decision: Decision) -> impl Future<Output = TResult<DuplicateView>> + Send {
        async { Err(TransportError::NotSupported) }
    }
    /// `GET /city/registry-status`: the registry matches of this PC's facility's children.
    fn registry_status(&self, _token: &str) -> impl Future<Output = TResult<RegistryStatus>> + Send {
        async { Err(TransportError::NotSupported) }
    }
}
