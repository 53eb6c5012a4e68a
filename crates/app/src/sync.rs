//! Sync with the city's hub for the UI: the status bar's state, the clarification inbox
//! ("Klärungsbedarf") and the enrolment of this PC. The network round itself is
//! `kitakontor-sync`'s engine; the shell runs it in the background (`sync_engine`) and the app
//! wakes it after every change (`wake_sync`).
//!
//! Permissions are checked here in Rust on every call: the status for anyone logged in (it
//! holds no personal data), the inbox filtered by the role (the store lists only entries of
//! commands the role may give), enrolment only for roles that manage accounts.

use crate::dto::{EnrolInput, InboxInput, InboxItem, ResolveInboxInput};
use crate::{App, AppError, Result};
use kitakontor_core::ids::{ApplicationId, ChildId, ContractId, ReservationId};
use kitakontor_core::permission::{require_role, Actor, Permission};
use kitakontor_store::sync::{Enrolment, InboxAction, InboxEntry, SyncStatus};
use kitakontor_store::{Receipt, StoreError};
use kitakontor_sync::http::HttpTransport;
use kitakontor_sync::{SyncEngine, SyncError, TokenStore, TransportError};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Notify;

/// How the hub is addressed: `https://` always, plain `http://` only on this PC (tests, a hub
/// behind a local tunnel). Returns the address without a trailing slash.
pub fn check_hub_url(raw: &str) -> Result<String> {
    let bad = |why: &str| AppError::invalid("hub_url", why);
    let url = raw.trim().trim_end_matches('/');
    if url.is_empty() {
        return Err(bad("bitte angeben, z. B. https://hub.leipzig.de"));
    }
    let (scheme, rest) =
        url.split_once("://").ok_or_else(|| bad("bitte die vollständige Adresse angeben, z. B. https://hub.leipzig.de"))?;
    let scheme = scheme.to_ascii_lowercase();
    if rest.contains(['?', '#', ' ', '\\']) || rest.chars().any(char::is_control) {
        return Err(bad("die Adresse enthält unzulässige Zeichen"));
    }
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.contains('@') {
        return Err(bad("bitte ohne Benutzername oder Passwort angeben"));
    }
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (h, after) = v6.split_once(']').ok_or_else(|| bad("die Adresse ist unvollständig"))?;
            (format!("[{h}]"), after.strip_prefix(':'))
        }
        None => match authority.split_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.to_string(), None),
        },
    };
    let host = host.to_ascii_lowercase();
    let host_ok = !host.is_empty()
        && (host.starts_with('[') || host.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'))
        && !host.starts_with(['.', '-']);
    if !host_ok {
        return Err(bad("bitte einen gültigen Rechnernamen angeben, z. B. https://hub.leipzig.de"));
    }
    if let Some(p) = port {
        if p.is_empty() || p.len() > 5 || !p.chars().all(|c| c.is_ascii_digit()) || p.parse::<u32>().map_or(true, |n| n == 0 || n > 65535) {
            return Err(bad("die Portnummer ist ungültig"));
        }
    }
    let local = matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]");
    match scheme.as_str() {
        "https" => {}
        "http" if local => {}
        "http" => return Err(bad("der Hub muss mit https:// angesprochen werden (http:// nur für 127.0.0.1 oder localhost)")),
        _ => return Err(bad("die Adresse muss mit https:// beginnen")),
    }
    Ok(format!("{scheme}://{rest}"))
}

fn require(actor: &Actor, permission: Permission) -> Result<()> {
    Ok(require_role(actor, permission).map_err(StoreError::from)?)
}

impl App {
    /// The sync state for the status bar: enrolment, last sync, pending changes, the last
    /// error, and the open inbox entries this session's role gets to see.
    pub async fn sync_status(&self) -> Result<SyncStatus> {
        let actor = self.actor().await?;
        self.status_for(Some(&actor)).await
    }

    async fn status_for(&self, actor: Option<&Actor>) -> Result<SyncStatus> {
        let mut status = self.store.sync_status().await?;
        status.inbox_open = match actor {
            Some(a) => self.store.inbox(a, false).await?.len() as i64,
            None => 0,
        };
        Ok(status)
    }

    /// The status for the shell's background task: it neither counts as activity (so the idle
    /// lock still works) nor needs an unlocked session; the inbox count follows the role of
    /// whoever is logged in (0 when nobody is). Counts only, no personal data.
    pub async fn background_sync_status(&self) -> Result<SyncStatus> {
        let actor = self.session_actor();
        self.status_for(actor.as_ref()).await
    }

    /// "Jetzt synchronisieren": wakes the running engine. Offline (not enrolled) it changes
    /// nothing; the answer is the status either way.
    pub async fn sync_now(&self) -> Result<SyncStatus> {
        let actor = self.actor().await?;
        self.wake_sync();
        self.status_for(Some(&actor)).await
    }

    /// The clarification inbox, open entries first, with the names behind the ids.
    pub async fn inbox(&self, i: InboxInput) -> Result<Vec<InboxItem>> {
        let actor = self.actor().await?;
        let entries = self.store.inbox(&actor, i.include_resolved).await?;
        let authors: HashMap<_, _> = self.store.list_accounts().await?.into_iter().map(|a| (a.user_id, a.display_name)).collect();
        let mut names = ChildNames::default();
        let mut out = Vec::with_capacity(entries.len());
        for entry in entries {
            let child_name = names.of(self, &actor, &entry).await;
            let author = entry.user_id.and_then(|u| authors.get(&u).cloned());
            out.push(InboxItem { entry, author, child_name });
        }
        Ok(out)
    }

    /// Resolves an entry: `Dismiss` keeps the hub's state, `Retry` gives the command again as
    /// a new command under this session's guard (and wakes the sync to send it).
    pub async fn resolve_inbox(&self, i: ResolveInboxInput) -> Result<Option<Receipt>> {
        let actor = self.actor().await?;
        let receipt = self.store.resolve_inbox(&actor, i.id, i.action).await?;
        if i.action == InboxAction::Retry {
            self.wake_sync();
        }
        Ok(receipt)
    }

    /// Enrols this PC with the hub: only roles that manage accounts. The tokens go to the
    /// credential store, the binding into the database; the shell then starts syncing.
    pub async fn enrol(&self, i: EnrolInput) -> Result<Enrolment> {
        let actor = self.actor().await?;
        require(&actor, Permission::ManageUsers)?;
        let url = check_hub_url(&i.hub_url)?;
        let code = i.code.trim();
        if code.is_empty() {
            return Err(AppError::invalid("code", "bitte den Anmeldecode vom Hub-Administrator eingeben"));
        }
        let name = i.device_name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(AppError::invalid("device_name", "bitte 1 bis 100 Zeichen angeben, z. B. „Büro-PC 1“"));
        }
        if let Some(e) = self.store.enrolment().await? {
            return Err(AppError::new(
                "already_enrolled",
                format!(
                    "Dieser PC ist bereits beim Hub {} angemeldet. Eine neue Anmeldung ist erst nach der Abmeldung möglich.",
                    e.hub_url
                ),
            ));
        }
        let engine = SyncEngine::new(self.store.clone(), HttpTransport::new(&url)?, TokenStore::new(self.secrets.clone()));
        match engine.enrol(&url, code, name, Some(&actor)).await {
            Ok(e) => {
                tracing::info!(hub = %e.hub_url, device = %e.device_id, "PC enrolled with the hub");
                Ok(e)
            }
            Err(SyncError::Transport(TransportError::Refused(m))) => {
                Err(AppError::new("bad_code", format!("Der Hub hat die Anmeldung abgelehnt: {m}. Bitte den Anmeldecode prüfen.")))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The engine the shell runs in the background; `None` while this PC is not enrolled.
    pub async fn sync_engine(&self) -> Result<Option<SyncEngine<HttpTransport>>> {
        let Some(e) = self.store.enrolment().await? else { return Ok(None) };
        let transport = HttpTransport::new(&e.hub_url)?;
        Ok(Some(SyncEngine::new(self.store.clone(), transport, TokenStore::new(self.secrets.clone()))))
    }

    /// The running engine's waker (`None` when the task stops).
    pub fn set_sync_waker(&self, waker: Option<Arc<Notify>>) {
        *self.sync_waker.lock().expect("not poisoned") = waker;
    }

    /// Asks the running engine for a round now (after a change, or "Jetzt synchronisieren").
    pub fn wake_sync(&self) {
        if let Some(w) = self.sync_waker.lock().expect("not poisoned").as_ref() {
            w.notify_one();
        }
    }
}

/// Finds the child an inbox entry is about, from the ids in its arguments, with the reads of
/// this session (so a role sees only names it may see). Lists are loaded once per call.
#[derive(Default)]
struct ChildNames {
    waiting: Option<Vec<kitakontor_store::queries::WaitingEntry>>,
    contracts: Option<Vec<(String, kitakontor_core::contract::Contract)>>,
}

impl ChildNames {
    async fn of(&mut self, app: &App, actor: &Actor, entry: &InboxEntry) -> Option<String> {
        let arg = |k: &str| entry.args.get(k).and_then(|v| v.as_str()).map(str::to_string);
        if let Some(child) = arg("child_id").and_then(|s| s.parse::<ChildId>().ok()) {
            let d = app.store.child_detail(actor, child).await.ok()?;
            return Some(format!("{} {}", d.child.first_name, d.child.last_name));
        }
        let application = arg("application_id").and_then(|s| s.parse::<ApplicationId>().ok());
        let reservation = arg("reservation_id").and_then(|s| s.parse::<ReservationId>().ok());
        if application.is_some() || reservation.is_some() {
            if self.waiting.is_none() && actor.role.allows(Permission::ReadApplications) {
                let fid = app.store.default_facility(actor).await.ok()?;
                self.waiting = Some(app.store.waiting_list(actor, fid).await.unwrap_or_default());
            }
            let hit =
                self.waiting.as_ref()?.iter().find(|w| {
                    application.is_some_and(|a| a == w.application_id) || (reservation.is_some() && w.reservation_id == reservation)
                });
            if let Some(w) = hit {
                return Some(w.child_name.clone());
            }
        }
        if let Some(contract) = arg("contract_id").and_then(|s| s.parse::<ContractId>().ok()) {
            if self.contracts.is_none() && actor.role.allows(Permission::ReadContracts) {
                let fid = app.store.default_facility(actor).await.ok()?;
                self.contracts = Some(app.store.contracts(actor, fid).await.unwrap_or_default());
            }
            return self.contracts.as_ref()?.iter().find(|(_, c)| c.id == contract).map(|(n, _)| n.clone());
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::check_hub_url;

    #[test]
    fn hub_addresses_need_https_except_on_this_pc() {
        assert_eq!(check_hub_url(" https://hub.leipzig.de/ ").unwrap(), "https://hub.leipzig.de");
        assert_eq!(check_hub_url("HTTPS://hub.leipzig.de:8443/kita").unwrap(), "https://hub.leipzig.de:8443/kita");
        assert_eq!(check_hub_url("http://127.0.0.1:8080").unwrap(), "http://127.0.0.1:8080");
        assert_eq!(check_hub_url("http://localhost:3000/").unwrap(), "http://localhost:3000");
        assert_eq!(check_hub_url("http://[::1]:3000").unwrap(), "http://[::1]:3000");
        for bad in [
            "",
            "hub.leipzig.de",
            "http://hub.leipzig.de",
            "http://127.0.0.1.evil.example",
            "ftp://hub.leipzig.de",
            "https://",
            "https://user:pw@hub.leipzig.de",
            "https://hub leipzig.de",
            "https://hub.leipzig.de:99999",
            "https://hub.leipzig.de/?x=1",
            "https://-hub.de",
        ] {
            let e = check_hub_url(bad).expect_err(bad);
            assert_eq!(e.code, "invalid_input", "{bad}");
            assert!(e.message.starts_with("Hub-Adresse: "), "{bad}: {}", e.message);
        }
    }
}
