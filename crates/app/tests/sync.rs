//! Sync in the app layer: the status, the clarification inbox by role, resolving entries
//! (dismiss, retry) and enrolling the PC — each call's permission checked in Rust. The hub is
//! a small fake HTTP server here (the real one has its own tests); tokens go to memory.

use kitakontor_app::dto::*;
use kitakontor_app::App;
use kitakontor_core::protocol::Outcome;
use kitakontor_store::key::{DbKey, MemoryStore, SecretStore};
use kitakontor_store::sync::InboxAction;
use kitakontor_store::Store;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

mod common;
use common::{code, login};

/// The demo app with its hub tokens in memory.
async fn demo_app() -> (tempfile::TempDir, App, Arc<MemoryStore>) {
    let (dir, app) = common::demo_app().await;
    let secrets = Arc::new(MemoryStore::default());
    (dir, app.with_secrets(secrets.clone()), secrets)
}

fn open() -> InboxInput {
    InboxInput { include_resolved: false }
}

#[tokio::test]
async fn status_and_inbox_follow_the_role() {
    let (_d, app, _) = demo_app().await;
    assert_eq!(code(app.sync_status().await), "not_logged_in");
    assert_eq!(code(app.inbox(open()).await), "not_logged_in");

    // The director gives reservations and child changes: both demo entries are hers.
    login(&app, "leitung").await;
    let s = app.sync_status().await.unwrap();
    assert!(s.enrolment.is_none(), "the demo works offline");
    assert_eq!((s.pending, s.inbox_open), (0, 2));
    let items = app.inbox(open()).await.unwrap();
    let names: Vec<&str> = items.iter().map(|i| i.entry.name.as_str()).collect();
    assert_eq!(names, ["UpdateChild", "ReservePlace"], "newest first");
    let conflict = &items[0];
    assert_eq!(conflict.author.as_deref(), Some("Sabine Sonnenschein"));
    let Outcome::Conflict { fields, theirs_by, .. } = &conflict.entry.outcome else { panic!("a conflict: {:?}", conflict.entry.outcome) };
    assert_eq!(fields[0].field, "last_name");
    let theirs = fields[0].theirs.as_str().unwrap();
    assert_eq!(fields[0].ours.as_str().unwrap(), format!("{theirs}-Brandt"));
    assert!(conflict.child_name.as_deref().is_some_and(|n| n.ends_with(theirs)), "{:?}", conflict.child_name);
    assert!(theirs_by.as_deref().unwrap().starts_with("UpdateChild von Büro-PC 2"));
    let Outcome::Rejected { code: c, alternatives, message } = &items[1].entry.outcome else { panic!("a rejection") };
    assert_eq!(c, "no_place");
    assert!(message.contains("Kita Sonnenblume"), "{message}");
    assert_eq!(alternatives.len(), 1);
    assert_eq!(alternatives[0].facility_name, "Kita Auenwald");
    assert!(items[1].child_name.is_some(), "the application's child is named");

    // The provider admin may give both commands too.
    login(&app, "traeger").await;
    assert_eq!(app.inbox(open()).await.unwrap().len(), 2);
    // Educators, the office and technical admins may give neither: nothing to see, count 0.
    for user in ["erzieherin", "verwaltung", "technik"] {
        login(&app, user).await;
        assert!(app.inbox(open()).await.unwrap().is_empty(), "{user} sees no entry");
        assert_eq!(app.sync_status().await.unwrap().inbox_open, 0, "{user}'s badge");
    }
    // The background status (no activity, no unlocked session needed) counts for the role too.
    login(&app, "leitung").await;
    app.lock();
    assert_eq!(code(app.sync_status().await), "locked");
    assert_eq!(app.background_sync_status().await.unwrap().inbox_open, 2);
    app.logout();
    assert_eq!(app.background_sync_status().await.unwrap().inbox_open, 0);
}

#[tokio::test]
async fn dismiss_closes_an_entry_and_only_for_those_who_may_give_the_command() {
    let (_d, app, _) = demo_app().await;
    login(&app, "leitung").await;
    let items = app.inbox(open()).await.unwrap();
    let reserve = items.iter().find(|i| i.entry.name == "ReservePlace").unwrap().entry.id;

    login(&app, "erzieherin").await;
    assert_eq!(code(app.resolve_inbox(ResolveInboxInput { id: reserve, action: InboxAction::Dismiss }).await), "permission_denied");
    assert_eq!(code(app.resolve_inbox(ResolveInboxInput { id: reserve, action: InboxAction::Retry }).await), "permission_denied");

    login(&app, "leitung").await;
    let r = app.resolve_inbox(ResolveInboxInput { id: reserve, action: InboxAction::Dismiss }).await.unwrap();
    assert!(r.is_none(), "dismissing gives no new command");
    assert_eq!(app.sync_status().await.unwrap().inbox_open, 1);
    assert_eq!(app.sync_status().await.unwrap().pending, 0, "nothing to send");
    let open_now = app.inbox(open()).await.unwrap();
    assert_eq!(open_now.len(), 1);
    let all = app.inbox(InboxInput { include_resolved: true }).await.unwrap();
    assert_eq!(all.len(), 2);
    let done = all.iter().find(|i| i.entry.id == reserve).unwrap();
    assert_eq!(done.entry.resolution.as_deref(), Some("dismissed"));
    assert!(done.entry.resolved_at.is_some());
    assert_eq!(all.last().unwrap().entry.id, reserve, "resolved entries come last");
    assert_eq!(code(app.resolve_inbox(ResolveInboxInput { id: reserve, action: InboxAction::Dismiss }).await), "conflict");
    assert_eq!(code(app.resolve_inbox(ResolveInboxInput { id: 999_999, action: InboxAction::Dismiss }).await), "not_found");
}

#[tokio::test]
async fn retry_gives_the_command_again_as_a_new_pending_change() {
    let (_d, app, _) = demo_app().await;
    login(&app, "leitung").await;
    let items = app.inbox(open()).await.unwrap();
    let item = items.iter().find(|i| i.entry.name == "UpdateChild").unwrap();
    let child = item.entry.args["child_id"].as_str().unwrap().parse().unwrap();
    let ours = item.entry.args["last_name"].as_str().unwrap().to_string();
    let receipt = app.resolve_inbox(ResolveInboxInput { id: item.entry.id, action: InboxAction::Retry }).await.unwrap();
    let receipt = receipt.expect("a retry is a new command");
    assert_ne!(receipt.command_id, item.entry.command_id, "a new command id");
    assert_eq!(app.child_detail(ChildRef { child_id: child }).await.unwrap().child.last_name, ours, "our value again");
    let s = app.sync_status().await.unwrap();
    assert_eq!((s.pending, s.inbox_open), (1, 1), "waits for the hub; one entry left");
    let all = app.inbox(InboxInput { include_resolved: true }).await.unwrap();
    assert_eq!(all.iter().find(|i| i.entry.id == item.entry.id).unwrap().entry.resolution.as_deref(), Some("retried"));
    // sync_now works offline too (nothing runs): it answers with the status.
    assert_eq!(app.sync_now().await.unwrap().pending, 1);
}

/// A hub that answers every request with one fixed HTTP response; returns its address and
/// the request bodies it got.
fn fake_hub(status: &'static str, body: String) -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut len = 0usize;
            let mut line = String::new();
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            loop {
                line.clear();
                reader.read_line(&mut line).unwrap();
                if line.trim().is_empty() {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
            }
            let mut buf = vec![0; len];
            reader.read_exact(&mut buf).unwrap();
            log.lock().unwrap().push(format!("{} {}", request_line.trim(), String::from_utf8_lossy(&buf)));
            let mut s = stream;
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (addr, seen)
}

fn enrol_input(hub: &str, code: &str) -> EnrolInput {
    EnrolInput { hub_url: hub.into(), code: code.into(), device_name: "Büro-PC 1".into() }
}

#[tokio::test]
async fn only_account_managers_enrol_and_the_input_is_checked() {
    let (_d, app, secrets) = demo_app().await;
    assert_eq!(code(app.enrol(enrol_input("https://hub.leipzig.de", "ABCDE")).await), "not_logged_in");
    for user in ["erzieherin", "verwaltung"] {
        login(&app, user).await;
        assert_eq!(code(app.enrol(enrol_input("https://hub.leipzig.de", "ABCDE")).await), "permission_denied", "{user}");
    }
    // Those who may: the input is checked before anything goes out (German messages).
    for user in ["leitung", "technik", "traeger"] {
        login(&app, user).await;
        let e = app.enrol(enrol_input("http://hub.leipzig.de", "ABCDE")).await.unwrap_err();
        assert_eq!(e.code, "invalid_input", "{user}");
        assert!(e.message.contains("https://"), "{}", e.message);
    }
    let e = app.enrol(enrol_input("https://hub.leipzig.de", "  ")).await.unwrap_err();
    assert_eq!((e.code.as_str(), e.message.starts_with("Anmeldecode")), ("invalid_input", true), "{}", e.message);
    let e = app.enrol(EnrolInput { device_name: " ".into(), ..enrol_input("https://hub.leipzig.de", "ABCDE") }).await.unwrap_err();
    assert!(e.message.starts_with("Name dieses PCs"), "{}", e.message);

    // Nobody listens there: the hub is unreachable, nothing is stored.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let e = app.enrol(enrol_input(&format!("http://127.0.0.1:{port}"), "ABCDE")).await.unwrap_err();
    assert_eq!(e.code, "hub_unreachable", "{e}");
    assert!(e.message.starts_with("Der Hub ist nicht erreichbar"), "{}", e.message);

    // A used or wrong code: the hub's German reason is passed on.
    let body =
        r#"{"code":"bad_request","message":"Der Anmeldecode ist ungültig, abgelaufen oder wurde schon benutzt","expected_seq":null}"#;
    let (hub, seen) = fake_hub("400 Bad Request", body.into());
    let e = app.enrol(enrol_input(&hub, "abcd-efgh")).await.unwrap_err();
    assert_eq!(e.code, "bad_code");
    assert!(e.message.contains("Der Anmeldecode ist ungültig"), "{}", e.message);
    assert!(seen.lock().unwrap()[0].starts_with("POST /enrol"), "{:?}", seen.lock().unwrap());
    assert!(seen.lock().unwrap()[0].contains(r#""code":"ABCD-EFGH""#), "the code goes out trimmed and upper-cased");
    assert!(app.sync_status().await.unwrap().enrolment.is_none());
    assert_eq!(secrets.get(kitakontor_sync::tokens::TOKENS_ENTRY).unwrap(), None, "no tokens kept");
}

#[tokio::test]
async fn enrolment_binds_the_pc_once_and_keeps_the_tokens_in_the_secret_store() {
    // A new PC (first-start wizard), so its data belongs to the code's facility.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(&dir.path().join("neu.db"), &DbKey::generate()).await.unwrap();
    let secrets = Arc::new(MemoryStore::default());
    let app = App::new(store, false).with_idle(Duration::from_secs(600)).with_secrets(secrets.clone());
    let s = app
        .setup(SetupInput {
            facility_name: "Kita Pusteblume".into(),
            municipality: "Leipzig".into(),
            nursery: 10,
            kindergarten: 20,
            after_school: 0,
            username: "leitung".into(),
            display_name: "Paula Pust".into(),
            password: "ein-langes-passwort".into(),
        })
        .await
        .unwrap();
    let facility = s.facility_id.unwrap();
    assert!(app.sync_engine().await.unwrap().is_none(), "no engine before enrolment");
    let device = uuid::Uuid::now_v7();
    let provider = uuid::Uuid::now_v7();
    let body = format!(
        r#"{{"device_id":"{device}","facility_id":"{facility}","provider_id":"{provider}","tokens":{{"access_token":"a1","access_expires_at":"2030-01-01T00:00:00Z","refresh_token":"r1"}}}}"#
    );
    let (hub, _) = fake_hub("200 OK", body);
    let e = app.enrol(enrol_input(&format!("{hub}/"), "ABCDE-FGHIJ")).await.unwrap();
    assert_eq!(e.hub_url, hub, "stored without the trailing slash");
    assert_eq!(e.device_id.to_string(), device.to_string());
    assert_eq!(e.facility_id, facility);
    let tokens = secrets.get(kitakontor_sync::tokens::TOKENS_ENTRY).unwrap().expect("tokens in the secret store");
    assert!(tokens.contains("r1"));
    let status = app.sync_status().await.unwrap();
    assert_eq!(status.enrolment, Some(e.clone()));
    assert!(status.last_sync_at.is_none());
    assert!(app.sync_engine().await.unwrap().is_some(), "the shell can start syncing now");
    // Once only.
    let again = app.enrol(enrol_input(&hub, "ABCDE-FGHIJ")).await.unwrap_err();
    assert_eq!(again.code, "already_enrolled");
    assert!(again.message.contains("bereits"), "{}", again.message);
}
