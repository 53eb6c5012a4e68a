//! `kitakontor sync …`: enrolment, one round, the endless loop, status and the inbox, and the
//! city's duplicate proposals and registry matches as last fetched (decisions are queued and
//! go out with the next round). The round itself is `kitakontor-sync`'s engine, the same one
//! the desktop app runs.

use crate::args::{Cli, ResolveArg, SyncCmd};
use crate::output::Out;
use crate::{login, open, CliError, Result};
use kitakontor_core::permission::{require_role, Permission};
use kitakontor_core::protocol::city::{Decision, MatchStatus};
use kitakontor_store::city::{CityProposal, ProposalStatus};
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
            let city = match (&r.city_error, r.city_sent + r.city_refused) {
                (Some(e), _) => format!("\nStadtabgleich fehlgeschlagen (der letzte Stand bleibt): {e}"),
                (None, 0) => String::new(),
                (None, _) => format!(
                    "\nStadtabgleich: {} Entscheidung(en) gesendet, {} vom Hub nicht übernommen (siehe `sync duplicates`)",
                    r.city_sent, r.city_refused
                ),
            };
            out.line(&format!(
                "Abgeglichen: {} gesendet ({} mit Klärungsbedarf), {} empfangen{}{city}",
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
        SyncCmd::Duplicates => {
            let actor = login(cli, &store).await?;
            let proposals = store.city_proposals(&actor).await?;
            let fetch = store.city_fetch(&actor).await?;
            let mut rows =
                vec![vec!["Nr.".to_string(), "Kind bei uns".into(), "Kind in anderer Einrichtung".into(), "Grund".into(), "Status".into()]];
            for p in &proposals {
                let (v, o) = (&p.view, &p.view.other);
                rows.push(vec![
                    v.id.to_string(),
                    format!("{} {}, {}", v.child.first_name, v.child.last_name, de(v.child.birth_date)),
                    format!("{} {}, {} – {}", o.first_name, o.last_name, de(o.birth_date), o.facility_name),
                    v.reason.clone(),
                    status_de(p),
                ]);
            }
            let body = if proposals.is_empty() { "Keine möglichen Doppelanmeldungen.".to_string() } else { table(&rows) };
            let json = serde_json::json!({ "fetched_at": fetch.fetched_at, "last_error": fetch.last_error, "proposals": proposals });
            out.value(&json, &format!("{}\n{body}", stand(&store, &fetch).await?));
        }
        SyncCmd::Decide { id, same, different } => {
            let actor = login(cli, &store).await?;
            let id: uuid::Uuid = id
                .parse()
                .map_err(|_| CliError::Usage(format!("„{id}“ ist keine Vorschlagsnummer (siehe `kitakontor sync duplicates`)")))?;
            let decision = if *same && !*different { Decision::Confirmed } else { Decision::Rejected };
            let p = store.queue_duplicate_decision(&actor, id, decision).await?;
            let what = match decision {
                Decision::Confirmed => {
                    "dasselbe Kind (der Stadt wird gemeldet, dass es doppelt angemeldet ist; zusammengeführt wird nichts)"
                }
                Decision::Rejected => "verschiedene Kinder (der Vorschlag kommt nicht wieder)",
            };
            out.value(&p, &format!("Entschieden: {what}. Wird beim nächsten Abgleich an den Hub gesendet (`kitakontor sync now`)."));
        }
        SyncCmd::Registry => {
            let actor = login(cli, &store).await?;
            let registry = store.city_registry(&actor).await?;
            let fetch = store.city_fetch(&actor).await?;
            let mut head = stand(&store, &fetch).await?;
            match &registry.extract {
                Some(e) => {
                    head.push_str(&format!("\nMelderegister-Auszug „{}“ vom {} ({} Einwohner)", e.file_name, local(e.imported_at), e.rows))
                }
                None if fetch.fetched_at.is_some() => head.push_str("\nDer Hub hat noch keinen Melderegister-Auszug."),
                None => {}
            }
            let mut rows = vec![vec!["Kind".to_string(), "Geburtsdatum".into(), "Ergebnis".into(), "geprüft am".into()]];
            for c in &registry.children {
                let result = match (c.status, &c.registry_name) {
                    (Some(MatchStatus::MatchedPhonetic), Some(name)) => {
                        format!("{} (im Melderegister: {name})", MatchStatus::MatchedPhonetic.label_de())
                    }
                    (Some(s), _) => s.label_de().to_string(),
                    (None, _) => "Noch nicht geprüft".to_string(),
                };
                rows.push(vec![
                    format!("{} {}", c.first_name, c.last_name),
                    de(c.birth_date),
                    result,
                    c.checked_at.map(local).unwrap_or_else(|| "–".into()),
                ]);
            }
            let body = if registry.children.is_empty() { "Keine Kinder im Abgleich.".to_string() } else { table(&rows) };
            let json = serde_json::json!({ "fetched_at": fetch.fetched_at, "last_error": fetch.last_error, "registry": registry });
            out.value(&json, &format!("{head}\n{body}"));
        }
    }
    Ok(())
}

fn de(d: chrono::NaiveDate) -> String {
    d.format("%d.%m.%Y").to_string()
}

/// An instant in the PC's local time, as the office reads it.
fn local(t: chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&chrono::Local).format("%d.%m.%Y %H:%M").to_string()
}

/// "Stand: …" of the cache, or why there is none; the last failure if there was one.
async fn stand(store: &Store, fetch: &kitakontor_store::city::CityFetch) -> Result<String> {
    let mut s = match fetch.fetched_at {
        Some(t) => format!("Stand: {} (letzter Abruf vom Hub)", local(t)),
        None if store.enrolment().await?.is_none() => {
            "Noch nichts vom Hub abgerufen: dieser PC ist nicht beim Hub angemeldet (Offline-Betrieb).".to_string()
        }
        None => "Noch nichts vom Hub abgerufen – der nächste Abgleich (`kitakontor sync now`) holt den Stand.".to_string(),
    };
    if let Some(e) = &fetch.last_error {
        s.push_str(&format!("\nLetzter Abruf fehlgeschlagen: {e}"));
    }
    Ok(s)
}

fn status_de(p: &CityProposal) -> String {
    let mut s = match p.status {
        ProposalStatus::Open => "offen".to_string(),
        ProposalStatus::Confirmed => "bestätigt (dasselbe Kind)".into(),
        ProposalStatus::Rejected => "abgelehnt (verschiedene Kinder)".into(),
        ProposalStatus::Sending => format!(
            "entschieden ({}), wird gesendet",
            if p.local.as_ref().is_some_and(|l| l.decision == Decision::Confirmed) { "dasselbe Kind" } else { "verschiedene Kinder" }
        ),
    };
    if let Some(e) = p.local.as_ref().and_then(|l| l.error.as_ref()) {
        s.push_str(&format!("; Entscheidung vom Hub nicht übernommen: {e}"));
    }
    s
}

/// Columns padded to their widest cell (in characters), two spaces apart.
fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let width: Vec<usize> = (0..cols).map(|i| rows.iter().filter_map(|r| r.get(i)).map(|c| c.chars().count()).max().unwrap_or(0)).collect();
    rows.iter()
        .map(|r| {
            let cells: Vec<String> =
                r.iter().enumerate().map(|(i, c)| if i + 1 == r.len() { c.clone() } else { format!("{c:<w$}", w = width[i]) }).collect();
            cells.join("  ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}
