//! The desktop app's service layer, between the Tauri shell and the store.
//!
//! It owns the session of the shared PC: who is logged in, whether the session is locked, and
//! when it locks by itself. Every call passes `App::actor()`, which refuses when nobody is
//! logged in, when the session is locked, or when the idle time has run out — so a forgotten
//! PC cannot be used through IPC even if the window still showed data. Permissions are then
//! checked by the store's guard; the `permissions` list in `SessionInfo` only lets the UI
//! mirror them. Nothing here knows about Tauri: the shell maps one command to one method.
//!
//! Sync with the hub (`sync`): the shell runs the sync engine in the background while someone
//! is logged in; the app hands it out (`sync_engine`) and wakes it after every change.

mod billing;
mod city;
pub mod dto;
pub mod error;
mod services;
mod sync;

use dto::SessionInfo;
pub use error::AppError;
use kitakontor_core::permission::{Actor, Permission};
use kitakontor_store::key::{KeyringStore, SecretStore};
use kitakontor_store::Store;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub type Result<T, E = AppError> = std::result::Result<T, E>;

struct Session {
    actor: Actor,
    username: String,
    display_name: String,
    has_pin: bool,
    last_activity: Instant,
    locked: bool,
}

pub struct App {
    store: Store,
    session: Mutex<Option<Session>>,
    demo: bool,
    /// Test-only override of the idle time (seconds), from `KITAKONTOR_IDLE_SECONDS`.
    idle_override: Option<Duration>,
    inbox: Option<PathBuf>,
    /// Where documents are saved; `None`: the user's documents folder (`files::default_documents_dir`).
    documents: Option<PathBuf>,
    /// Where the hub tokens live: the OS credential store, a file, or memory in tests.
    secrets: Arc<dyn SecretStore>,
    /// Wakes the running sync engine (set by the shell while its task runs).
    sync_waker: Mutex<Option<Arc<tokio::sync::Notify>>>,
}

impl App {
    pub fn new(store: Store, demo: bool) -> App {
        let idle_override = std::env::var("KITAKONTOR_IDLE_SECONDS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .map(|s| Duration::from_secs(s.clamp(1, 15 * 60)));
        App {
            store,
            session: Mutex::new(None),
            demo,
            idle_override,
            inbox: None,
            documents: None,
            secrets: Arc::new(KeyringStore),
            sync_waker: Mutex::new(None),
        }
    }

    /// Keeps the hub tokens in `secrets` instead of the OS credential store (a token file on
    /// headless PCs, memory in tests).
    pub fn with_secrets(mut self, secrets: Arc<dyn SecretStore>) -> App {
        self.secrets = secrets;
        self
    }

    /// Sets the idle time directly (tests; the product reads it from the settings).
    pub fn with_idle(mut self, idle: Duration) -> App {
        self.idle_override = Some(idle);
        self
    }

    /// The folder the office drops import files into (watched by the shell).
    pub fn with_inbox(mut self, dir: PathBuf) -> App {
        self.inbox = Some(dir);
        self
    }

    /// Saves documents under `dir` instead of the user's documents folder (tests).
    pub fn with_documents(mut self, dir: PathBuf) -> App {
        self.documents = Some(dir);
        self
    }

    /// The watched import folder ("Eingangsordner"; not the clarification inbox).
    pub fn inbox_dir(&self) -> Option<&PathBuf> {
        self.inbox.as_ref()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    async fn idle(&self) -> Result<Duration> {
        Ok(match self.idle_override {
            Some(d) => d,
            None => Duration::from_secs(self.store.idle_minutes().await? as u64 * 60),
        })
    }

    /// The logged-in, unlocked actor; also counts as activity.
    pub(crate) async fn actor(&self) -> Result<Actor> {
        let idle = self.idle().await?;
        let mut guard = self.session.lock().expect("not poisoned");
        let s = guard.as_mut().ok_or_else(AppError::not_logged_in)?;
        if !s.locked && s.last_activity.elapsed() >= idle {
            s.locked = true;
            tracing::info!(user = %s.actor.user_id, "session locked after idle time");
        }
        if s.locked {
            return Err(AppError::locked());
        }
        s.last_activity = Instant::now();
        Ok(s.actor.clone())
    }

    async fn session_info(&self) -> Result<Option<SessionInfo>> {
        let idle = self.idle().await?;
        let (actor, username, display_name, has_pin, locked) = {
            let mut guard = self.session.lock().expect("not poisoned");
            let Some(s) = guard.as_mut() else { return Ok(None) };
            if !s.locked && s.last_activity.elapsed() >= idle {
                s.locked = true;
            }
            (s.actor.clone(), s.username.clone(), s.display_name.clone(), s.has_pin, s.locked)
        };
        let facility_name = match actor.facility_id {
            Some(f) => self.store.facilities(&actor).await?.into_iter().find(|x| x.id == f).map(|x| x.name).unwrap_or_default(),
            None => "alle Einrichtungen des Trägers".to_string(),
        };
        Ok(Some(SessionInfo {
            user_id: actor.user_id,
            username,
            display_name,
            role: actor.role,
            role_label: actor.role.label_de().to_string(),
            facility_id: actor.facility_id,
            facility_name,
            locked,
            has_pin,
            idle_seconds: idle.as_secs() as u32,
            permissions: Permission::ALL.into_iter().filter(|p| actor.role.allows(*p)).collect(),
        }))
    }

    /// The session's actor without counting as activity and without the lock check: for
    /// background work that only needs the role (the sync status's inbox count).
    fn session_actor(&self) -> Option<Actor> {
        self.session.lock().expect("not poisoned").as_ref().map(|s| s.actor.clone())
    }

    fn begin_session(&self, actor: Actor, username: String, display_name: String, has_pin: bool) {
        // A new login replaces whatever session was there: the previous user's view is closed.
        *self.session.lock().expect("not poisoned") =
            Some(Session { actor, username, display_name, has_pin, last_activity: Instant::now(), locked: false });
    }
}
