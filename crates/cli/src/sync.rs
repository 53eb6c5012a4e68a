//! `kitakontor sync …`: enrolment, one round, the endless loop, status and the inbox. The
//! round itself is `kitakontor-sync`'s engine, the same one the desktop app runs.

use crate::args::{Cli, ResolveArg, SyncCmd};
use crate::output::Out;
use crate::{login, open, Result};
use kitakontor_core::permission::{require_role, Permission};
use kitakontor_store::key::{KeyringStore, SecretStore};
use kitakontor_store::sync::InboxAction;
use kitakontor_store::{Store, StoreError};
use kitakontor_sync::http::HttpTransport;
use kitakontor_sync::tokens::FileSecrets;
use kitakontor_sync::{SyncEngine, TokenStore};
use std::sync::Arc;
use std::time::Duration;

fn tokens(cli: &Cli) -> TokenStore {
    let secrets: Arc<dyn SecretStore> = match &cli.token_file {
        Some(p) => Arc::new(FileSecrets::new(p.clone())),
        None => Arc::new(KeyringStore),
    };
    TokenStore::new(secrets)
}

async fn engine(cli: &Cli, store: Store, hub: Option<&str>) -> Result<SyncEngine<HttpTransport>> {
    let url = match hub {
        Some(h) => h.to_string(),
        None => store.enrolment().await?.map(|e| e.hub_url).ok_or(kitakontor_sync::SyncError::NotEnrolled)?,
    };
    let transport = HttpTransport::new(&url).map_err(kitakontor_sync::SyncError::from)?;
    Ok(SyncEngine::new(store, transport, tokens(cli)))
}

pub async fn sync(cli: &Cli, out: &Out, cmd: &SyncCmd) -> Result<()> {
    let store = open(cli).await?;
    match cmd {
        SyncCmd::Enrol { hub, code, name } => {
            let actor = login(cli, &store).await?;
            require_role(&actor, Permission::ManageUsers).map_err(StoreError::from)?;
            let e = engine(cli, store, Some(hub)).await?.enrol(hub, code, name, Some(&actor)).await?;
            out.value(&e, &format!("Angemeldet beim Hub {} als Gerät {} (Einrichtung {})", e.hub_url, e.device_id, e.facility_id));
        }
        SyncCmd::Now => {
            let r = engine(cli, store, None).await?.sync_once().await?;
            out.line(&format!(
                "Abgeglichen: {} gesendet ({} mit Klärungsbedarf), {} empfangen{}",
                r.pushed,
                r.rejected,
                r.pulled,
                if r.token_refreshed { ", Anmeldung erneuert" } else { "" }
            ));
        }
        SyncCmd::Run { interval } => {
            engine(cli, store, None).await?.run(Duration::from_secs(*interval)).await;
        }
        SyncCmd::Status => {
            let s = store.sync_status().await?;
            let when = s.last_sync_at.map(|t| t.format("%d.%m.%Y %H:%M UTC").to_string()).unwrap_or_else(|| "noch nie".into());
            let hub = s.enrolment.as_ref().map(|e| e.hub_url.as_str()).unwrap_or("nicht angemeldet (Offline-Betrieb)");
            out.value(
                &s,
                &format!(
                    "Hub: {hub}\nLetzter Abgleich: {when}\nWartende Änderungen: {}\nKlärungsbedarf: {}{}",
                    s.pending,
                    s.inbox_open,
                    s.last_error.as_ref().map(|e| format!("\nLetzter Fehler: {e}")).unwrap_or_default()
                ),
            );
        }
        SyncCmd::Inbox { all } => {
            let actor = login(cli, &store).await?;
            let entries = store.inbox(&actor, *all).await?;
            let text = entries
                .iter()
                .map(|e| format!("{}\t{}\t{}", e.id, e.name, serde_json::to_string(&e.outcome).unwrap_or_default()))
                .collect::<Vec<_>>()
                .join("\n");
            out.value(&entries, if text.is_empty() { "Kein Klärungsbedarf." } else { &text });
        }
        SyncCmd::Resolve { id, action } => {
            let actor = login(cli, &store).await?;
            let action = match action {
                ResolveArg::Retry => InboxAction::Retry,
                ResolveArg::Dismiss => InboxAction::Dismiss,
            };
            let r = store.resolve_inbox(&actor, *id, action).await?;
            out.line(&match r {
                Some(r) => format!("Erneut gesendet als Befehl {} (Nr. {})", r.command_id, r.client_seq),
                None => "Verworfen; der Stand des Hubs gilt.".into(),
            });
        }
    }
    Ok(())
}
