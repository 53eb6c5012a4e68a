//! One sync round and the loop around it.
//!
//! A round: push the outbox from the first unanswered command in batches of ≤ 500 (on 409 from
//! the sequence the hub expects), store the answers, then pull the log until the hub has
//! nothing newer (a snapshot the first time) and let the store rebase. Every step is durable
//! before the next: a crash anywhere leaves the outbox and cursor consistent, and the next round
//! repeats what is missing (the hub answers a repeated push with the stored result).
//!
//! After push and pull, the city step: the duplicate decisions made on this PC go out (the hub
//! takes the same decision twice without harm, so a lost answer is simply sent again; a
//! refusal for good is noted on the decision and the hub's state stands), then the proposals
//! and the registry status of this PC's facility are fetched into the local cache. A failure
//! there does not fail the round: it is logged and noted for the screen, and the next round
//! tries again. Transports without the city endpoints (the simulation) skip the step.

use crate::backoff::Backoff;
use crate::tokens::TokenStore;
use crate::transport::{Transport, TransportError};
use kitakontor_core::permission::Actor;
use kitakontor_core::protocol::{Cursor, EnrolRequest, PushRequest, RefreshRequest, SnapshotHeader, Tokens, MAX_PULL, MAX_PUSH};
use kitakontor_store::sync::{ApplyStats, Enrolment};
use kitakontor_store::{Store, StoreError};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("Dieser PC ist nicht beim Hub angemeldet.")]
    NotEnrolled,
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("Lokale Datenbank: {0}")]
    Store(#[from] StoreError),
    #[error("Anmeldedaten im Schlüsselbund: {0}")]
    Tokens(String),
}

impl SyncError {
    pub fn is_transient(&self) -> bool {
        matches!(self, SyncError::Transport(t) if t.is_transient())
    }
}

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub pushed: usize,
    pub pulled: usize,
    pub rejected: usize,
    /// Hub entries this PC could not replay (a bug or a rule that differs between PC and hub).
    pub not_replayable: usize,
    pub token_refreshed: bool,
    /// Time spent waiting for the hub's pull answers, and applying them here. A snapshot is
    /// received and applied at the same time; its whole time counts as `apply`.
    pub pull_wait: std::time::Duration,
    pub apply: std::time::Duration,
    /// City step: decisions the hub took, decisions it refused for good, proposals fetched.
    pub city_sent: usize,
    pub city_refused: usize,
    pub city_proposals: usize,
    /// Why the city step failed this round (German); the round itself still counts.
    pub city_error: Option<String>,
}

pub struct SyncEngine<T> {
    store: Store,
    transport: T,
    tokens: TokenStore,
    wake: Arc<Notify>,
}

impl<T: Transport> SyncEngine<T> {
    pub fn new(store: Store, transport: T, tokens: TokenStore) -> Self {
        SyncEngine { store, transport, tokens, wake: Arc::new(Notify::new()) }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// Notify it to sync at once (a new command, the user pressing "Jetzt synchronisieren").
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Enrols this PC with a one-time code from the hub's administrator; the tokens go to the
    /// credential store, the binding into the database.
    pub async fn enrol(&self, hub_url: &str, code: &str, device_name: &str, by: Option<&Actor>) -> Result<Enrolment, SyncError> {
        if self.store.enrolment().await?.is_some() {
            return Err(StoreError::Conflict("Dieser PC ist bereits beim Hub angemeldet.".into()).into());
        }
        let reply = self.transport.enrol(&EnrolRequest { code: code.trim().to_uppercase(), device_name: device_name.into() }).await?;
        let e = Enrolment {
            hub_url: hub_url.into(),
            device_id: reply.device_id,
            facility_id: reply.facility_id,
            provider_id: reply.provider_id,
        };
        self.tokens.set(&reply.tokens).map_err(SyncError::Tokens)?;
        self.store.set_enrolment(&e, by).await?;
        Ok(e)
    }

    /// One round: push everything, then pull everything.
    pub async fn sync_once(&self) -> Result<SyncReport, SyncError> {
        let result = self.round().await;
        let (error, upgrade) = match &result {
            Ok(_) => (None, false),
            Err(e) => (Some(e.to_string()), matches!(e, SyncError::Transport(TransportError::UpgradeRequired(_)))),
        };
        self.store.set_sync_error(error.as_deref(), upgrade).await?;
        result
    }

    async fn round(&self) -> Result<SyncReport, SyncError> {
        let enrolment = self.store.enrolment().await?.ok_or(SyncError::NotEnrolled)?;
        let mut report = SyncReport::default();
        self.push_all(&enrolment, &mut report).await?;
        self.pull_all(&mut report).await?;
        match self.city(&enrolment, &mut report).await {
            Ok(()) | Err(SyncError::Transport(TransportError::NotSupported)) => {}
            Err(e) => {
                tracing::warn!(error = %e, "city step failed; the cache stays, the next round tries again");
                self.store.set_city_error(enrolment.facility_id, &e.to_string()).await?;
                report.city_error = Some(e.to_string());
            }
        }
        Ok(report)
    }

    /// The city step: send the queued duplicate decisions, then fetch the facility's
    /// proposals and registry status into the cache.
    pub async fn city(&self, enrolment: &Enrolment, report: &mut SyncReport) -> Result<(), SyncError> {
        for d in self.store.pending_city_decisions().await? {
            let (id, decision) = (d.proposal_id, d.decision);
            let answer = self.authorised(report, |token| async move { self.transport.decide_duplicate(&token, id, decision).await }).await;
            match answer {
                Ok(view) => {
                    self.store.mark_city_decision_sent(d.id, Ok(&view)).await?;
                    report.city_sent += 1;
                }
                // Gone, or decided otherwise by the other facility: the hub's state stands.
                Err(SyncError::Transport(TransportError::Refused(message))) => {
                    tracing::info!(proposal = %id, "duplicate decision refused by the hub");
                    self.store.mark_city_decision_sent(d.id, Err(&message)).await?;
                    report.city_refused += 1;
                }
                Err(e) => return Err(e),
            }
        }
        let proposals = self.authorised(report, |token| async move { self.transport.duplicates(&token).await }).await?;
        let registry = self.authorised(report, |token| async move { self.transport.registry_status(&token).await }).await?;
        self.store.store_city_snapshot(enrolment.facility_id, &proposals, &registry, self.store.now()).await?;
        report.city_proposals = proposals.len();
        Ok(())
    }

    pub async fn push_all(&self, enrolment: &Enrolment, report: &mut SyncReport) -> Result<(), SyncError> {
        let audit_head = self.store.audit_head().await?;
        // Where the hub wants us to start when that is not our first unanswered command.
        let mut resend_from: Option<i64> = None;
        loop {
            let Some(first) = self.store.first_pending_seq().await? else { return Ok(()) };
            let from = resend_from.take().unwrap_or(first);
            let commands = self.store.push_batch(from, MAX_PUSH).await?;
            let req = PushRequest { device_id: enrolment.device_id, from_seq: from, commands, audit_head: audit_head.clone() };
            let req = &req;
            match self.authorised(report, |token| async move { self.transport.push(&token, req).await }).await {
                Ok(reply) => {
                    report.pushed += reply.results.len();
                    report.rejected += reply.results.iter().filter(|r| !r.outcome.is_applied()).count();
                    self.store.record_results(&reply.results).await?;
                    if !reply.results.iter().any(|r| r.client_seq == first) && from <= first {
                        return Err(TransportError::Server(format!("der Hub hat Befehl Nr. {first} nicht beantwortet")).into());
                    }
                }
                // The hub lost answers (restored from a backup) or we skipped some: resend from there.
                Err(SyncError::Transport(TransportError::Gap { expected })) if expected < from => resend_from = Some(expected),
                Err(e) => return Err(e),
            }
        }
    }

    pub async fn pull_all(&self, report: &mut SyncReport) -> Result<(), SyncError> {
        let mut cursor = self.store.sync_cursor().await?;
        if cursor == Cursor::default() {
            let t = Instant::now();
            let (header, stats) = self.authorised(report, |token| async move { self.snapshot(&token).await }).await?;
            // Receiving and replaying overlap: the time is reported as replay time.
            report.apply += t.elapsed();
            report.pulled += header.entries as usize;
            report.not_replayable += stats.failed;
            cursor = header.cursor;
        }
        loop {
            let c = cursor.clone();
            let t = Instant::now();
            let page = self
                .authorised(report, |token| {
                    let c = c.clone();
                    async move { self.transport.pull(&token, &c, MAX_PULL).await }
                })
                .await?;
            report.pull_wait += t.elapsed();
            report.pulled += page.entries.len();
            let t = Instant::now();
            report.not_replayable += self.store.apply_pull(&page).await?.failed;
            report.apply += t.elapsed();
            if !page.more {
                return Ok(());
            }
            cursor = page.next_cursor;
        }
    }

    /// The first sync: the snapshot streams in while the store replays what has arrived (one
    /// transaction; a broken transfer leaves nothing behind and the next round starts over).
    async fn snapshot(&self, token: &str) -> Result<(SnapshotHeader, ApplyStats), SyncError> {
        let (header_tx, header_rx) = tokio::sync::oneshot::channel();
        let (entries_tx, mut entries_rx) = tokio::sync::mpsc::channel(4);
        let receive = self.transport.snapshot_stream(token, header_tx, entries_tx);
        let replay = async {
            // No header: the transfer failed before it, and `receive` says why.
            let Ok(header) = header_rx.await else { return Ok(None) };
            let stats = self.store.apply_snapshot(header.entries, &mut entries_rx, &header.cursor).await?;
            Ok::<_, SyncError>(Some((header, stats)))
        };
        let (received, replayed) = tokio::join!(receive, replay);
        received?;
        replayed?.ok_or_else(|| TransportError::Network("Schnappschuss ohne Kopfzeile".into()).into())
    }

    /// Calls the hub with the current access token; on 401 refreshes the tokens once and
    /// calls again. A refresh that fails for good leaves everything queued.
    async fn authorised<R, E, F, Fut>(&self, report: &mut SyncReport, call: F) -> Result<R, SyncError>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<R, E>>,
        E: Into<SyncError>,
    {
        let tokens = self.tokens.get().map_err(SyncError::Tokens)?.ok_or(SyncError::NotEnrolled)?;
        match call(tokens.access_token.clone()).await.map_err(Into::into) {
            Err(SyncError::Transport(TransportError::Unauthorized)) => {
                let fresh = self.refresh(&tokens).await?;
                report.token_refreshed = true;
                call(fresh.access_token).await.map_err(Into::into)
            }
            other => other,
        }
    }

    async fn refresh(&self, tokens: &Tokens) -> Result<Tokens, SyncError> {
        let enrolment = self.store.enrolment().await?.ok_or(SyncError::NotEnrolled)?;
        let fresh =
            self.transport.refresh(&RefreshRequest { device_id: enrolment.device_id, refresh_token: tokens.refresh_token.clone() }).await?;
        self.tokens.set(&fresh).map_err(SyncError::Tokens)?;
        Ok(fresh)
    }

    /// Syncs forever: after a good round every `interval` (or at once when woken); after a
    /// failure with growing pauses, probing the hub every few seconds so that a returning
    /// network is used at once. Never gives up and never drops the outbox.
    pub async fn run(&self, interval: Duration) {
        let mut backoff = Backoff::new();
        loop {
            match self.sync_once().await {
                Ok(r) => {
                    backoff.reset();
                    if r.pushed + r.pulled > 0 {
                        tracing::info!(pushed = r.pushed, pulled = r.pulled, rejected = r.rejected, "synced");
                    }
                    let _ = tokio::time::timeout(interval, self.wake.notified()).await;
                }
                Err(SyncError::NotEnrolled) => self.wake.notified().await,
                Err(e) => {
                    let pause = backoff.next(rand::random::<f64>());
                    tracing::warn!(error = %e, attempt = backoff.attempts(), pause_s = pause.as_secs_f64(), "sync failed; retrying");
                    self.wait_for_hub(pause).await;
                }
            }
        }
    }

    /// Waits up to `pause`, returning early when woken or when the hub answers its health check.
    async fn wait_for_hub(&self, pause: Duration) {
        const PROBE: Duration = Duration::from_secs(5);
        let deadline = tokio::time::Instant::now() + pause;
        loop {
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return;
            }
            let step = PROBE.min(deadline - now);
            if tokio::time::timeout(step, self.wake.notified()).await.is_ok() {
                return;
            }
            if self.transport.health().await.is_ok() {
                return;
            }
        }
    }
}
