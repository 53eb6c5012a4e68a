//! The Kitakontor desktop app: a thin Tauri shell. It opens the encrypted database (key from the
//! OS credential store), owns the window and the watched inbox folder, and maps each command to
//! one method of `kitakontor_app::App`. No business rule lives here.
//!
//! Sync: while someone is logged in and the PC is enrolled, one background task runs the sync
//! engine (`SyncEngine::run`, every 30 s or when woken) and sends the status to the window as
//! `sync-status` events; every successful change wakes it. Logout and closing stop it.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use kitakontor_app::dto::*;
use kitakontor_app::{App, AppError};
use kitakontor_store::auth::AccountSummary;
use kitakontor_store::key::{default_db_path, key_source, KeyringStore, SecretStore};
use kitakontor_store::queries::*;
use kitakontor_store::sync::{Enrolment, SyncStatus};
use kitakontor_store::{Receipt, Store, StoreError};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tauri::{AppHandle, Emitter, Manager, State};

/// The app, or why it could not start (shown by the UI instead of the login).
struct Shell(Result<App, AppError>);

impl Shell {
    fn app(&self) -> Result<&App, AppError> {
        self.0.as_ref().map_err(Clone::clone)
    }
}

type Res<T> = Result<T, AppError>;

/// Each command is one `App` method. `change` marks the commands that write (a new outbox
/// row): after they succeed the sync engine is woken, so the change goes out at once.
macro_rules! call {
    (change $name:ident($input:ty) -> $out:ty) => {
        #[tauri::command]
        async fn $name(shell: State<'_, Shell>, input: $input) -> Res<$out> {
            let app = shell.app()?;
            let out = app.$name(input).await?;
            app.wake_sync();
            Ok(out)
        }
    };
    ($name:ident() -> $out:ty) => {
        #[tauri::command]
        async fn $name(shell: State<'_, Shell>) -> Res<$out> {
            shell.app()?.$name().await
        }
    };
    ($name:ident($input:ty) -> $out:ty) => {
        #[tauri::command]
        async fn $name(shell: State<'_, Shell>, input: $input) -> Res<$out> {
            shell.app()?.$name(input).await
        }
    };
}

call!(start_info() -> StartInfo);
call!(unlock(UnlockInput) -> SessionInfo);
call!(touch() -> Option<SessionInfo>);
call!(session() -> Option<SessionInfo>);
call!(overview() -> Overview);
call!(search_children(SearchInput) -> Vec<ChildSummary>);
call!(child_detail(ChildRef) -> ChildDetail);
call!(child_health(ChildRef) -> kitakontor_core::person::HealthRecord);
call!(guardian_finance(GuardianRef) -> kitakontor_core::person::GuardianFinance);
call!(waiting_list() -> Vec<WaitingEntry>);
call!(change reserve(ReserveInput) -> Receipt);
call!(change reject_application(RejectInput) -> Receipt);
call!(change cancel_reservation(CancelReservationInput) -> Receipt);
call!(contracts() -> Vec<ContractRow>);
call!(change conclude_contract(ConcludeInput) -> Receipt);
call!(change amend_contract(AmendInput) -> Receipt);
call!(change terminate_contract(TerminateInput) -> Receipt);
call!(groups() -> Vec<GroupView>);
call!(attendance_today() -> Vec<AttendanceRow>);
call!(change record_attendance(AttendanceInput) -> Receipt);
call!(users() -> Vec<AccountSummary>);
call!(change create_user(CreateUserInput) -> Receipt);
call!(set_pin(PinInput) -> ());
call!(change set_user_role(SetRoleInput) -> Receipt);
call!(change deactivate_user(UserRef) -> Receipt);
call!(settings() -> Settings);
call!(set_idle_minutes(IdleInput) -> ());
call!(import_preview(ImportInput) -> kitakontor_core::import::ImportPreview);
call!(change import_commit(ImportInput) -> kitakontor_store::import::ImportSummary);
call!(contract_pdf(ContractRef) -> SavedDocument);
call!(child_fee(ChildMonthInput) -> kitakontor_store::fees::ChildFee);
call!(fee_notice_pdf(ChildMonthInput) -> SavedDocument);
call!(billing_runs() -> Vec<kitakontor_store::billing::BillingSummary>);
call!(claim_list(ClaimInput) -> Vec<String>);
call!(rule_sets() -> Vec<kitakontor_store::fees::RuleSetSummary>);
call!(mandates(GuardianRef) -> Vec<kitakontor_store::fees::MandateSummary>);
call!(change record_mandate(RecordMandateInput) -> Receipt);
call!(change revoke_mandate(RevokeMandateInput) -> Receipt);
call!(sync_status() -> SyncStatus);
call!(sync_now() -> SyncStatus);
call!(inbox(InboxInput) -> Vec<InboxItem>);
call!(change resolve_inbox(ResolveInboxInput) -> Option<Receipt>);
call!(city_overview() -> CityOverview);
// Not an outbox row, but a queued decision for the hub: wake the engine to send it.
call!(change decide_duplicate(DecideDuplicateInput) -> kitakontor_store::city::CityProposal);

/// The one sync task (while someone is logged in and the PC is enrolled).
#[derive(Default)]
struct SyncTask(Mutex<Option<tauri::async_runtime::JoinHandle<()>>>);

/// Starts the sync task unless it runs already or the PC is not enrolled.
async fn start_sync(handle: &AppHandle) {
    let shell = handle.state::<Shell>();
    let Ok(app) = shell.app() else { return };
    let engine = match app.sync_engine().await {
        Ok(Some(engine)) => engine,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, "sync not started");
            return;
        }
    };
    let slot = handle.state::<SyncTask>();
    let mut slot = slot.0.lock().expect("not poisoned");
    if slot.is_some() {
        return;
    }
    app.set_sync_waker(Some(engine.waker()));
    let events = handle.clone();
    *slot = Some(tauri::async_runtime::spawn(async move {
        // The engine's loop, and beside it a watcher that sends the status to the window
        // whenever it changed (after a round, a new pending change, an error). Reading the
        // status is no user activity, so the idle lock is unaffected.
        let watch = async {
            let mut last: Option<SyncStatus> = None;
            loop {
                if let Some(shell) = events.try_state::<Shell>() {
                    if let Ok(app) = shell.app() {
                        if let Ok(status) = app.background_sync_status().await {
                            if last.as_ref() != Some(&status) {
                                let _ = events.emit("sync-status", &status);
                                last = Some(status);
                            }
                        }
                    }
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        };
        tokio::select! {
            _ = engine.run(Duration::from_secs(30)) => {}
            _ = watch => {}
        }
    }));
    tracing::info!("sync started");
}

/// Stops the sync task (logout, closing the app). A round cut off here is rolled back and
/// repeated by the next one.
fn stop_sync(handle: &AppHandle) {
    if let Some(task) = handle.state::<SyncTask>().0.lock().expect("not poisoned").take() {
        task.abort();
        tracing::info!("sync stopped");
    }
    if let Ok(app) = handle.state::<Shell>().app() {
        app.set_sync_waker(None);
    }
}

#[tauri::command]
async fn setup(shell: State<'_, Shell>, handle: AppHandle, input: SetupInput) -> Res<SessionInfo> {
    let session = shell.app()?.setup(input).await?;
    start_sync(&handle).await;
    Ok(session)
}

#[tauri::command]
async fn login(shell: State<'_, Shell>, handle: AppHandle, input: LoginInput) -> Res<SessionInfo> {
    let session = shell.app()?.login(input).await?;
    start_sync(&handle).await;
    Ok(session)
}

/// Binds the PC to the hub (roles with `manage_users`) and starts syncing at once.
#[tauri::command]
async fn enrol(shell: State<'_, Shell>, handle: AppHandle, input: EnrolInput) -> Res<Enrolment> {
    let enrolment = shell.app()?.enrol(input).await?;
    start_sync(&handle).await;
    Ok(enrolment)
}

/// The billing run; its progress reaches the window as `billing-progress` events.
#[tauri::command]
async fn billing_run(
    shell: State<'_, Shell>,
    handle: tauri::AppHandle,
    input: BillingInput,
) -> Res<kitakontor_store::billing::BillingSummary> {
    let progress = std::sync::Arc::new(move |p: kitakontor_store::billing::BillingProgress| {
        let _ = handle.emit("billing-progress", p);
    });
    shell.app()?.billing_run(input, progress).await
}

/// Opens one of the app's own documents in the desktop's PDF viewer (for printing). Other
/// paths are refused, so the window cannot be used to start arbitrary files.
#[tauri::command]
fn open_document(shell: State<'_, Shell>, input: PathInput) -> Res<()> {
    let app = shell.app()?;
    let path = PathBuf::from(&input.path);
    if !app.is_own_document(&path) {
        return Err(AppError::new("not_allowed", "Nur von Kitakontor erstellte Dokumente können geöffnet werden."));
    }
    std::process::Command::new("xdg-open")
        .arg(&path)
        .spawn()
        .map(|mut child| {
            // Reap it when it ends, so no finished process lingers.
            std::thread::spawn(move || child.wait());
        })
        .map_err(|e| AppError::new("open_failed", format!("Kein Programm zum Öffnen von PDF-Dateien gefunden ({e}).")))
}

#[tauri::command]
fn lock(shell: State<'_, Shell>) -> Res<()> {
    shell.app()?.lock();
    Ok(())
}

#[tauri::command]
fn logout(shell: State<'_, Shell>, handle: AppHandle) -> Res<()> {
    stop_sync(&handle);
    shell.app()?.logout();
    Ok(())
}

/// The UI reports that the first screen (login) is on display. With
/// `KITAKONTOR_EXIT_WHEN_READY=1` the app prints the time since process start and exits:
/// that is how `scripts/measure-startup.sh` measures launch-to-login.
#[tauri::command]
fn ui_ready(handle: tauri::AppHandle) {
    if std::env::var_os("KITAKONTOR_EXIT_WHEN_READY").is_some() {
        let ms = START.get().map(|t| t.elapsed().as_secs_f64() * 1000.0).unwrap_or(f64::NAN);
        println!("ready {ms:.1} ms");
        handle.exit(0);
    }
}

static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

#[tauri::command]
fn inbox_files(shell: State<'_, Shell>) -> Res<Vec<String>> {
    Ok(shell.app()?.inbox_files().unwrap_or_default())
}

/// Command-line options of the desktop app (few on purpose; the rest is in the UI).
struct Options {
    demo: bool,
    db: PathBuf,
    key_file: Option<PathBuf>,
    /// Where the hub tokens live when not in the OS credential store.
    token_file: Option<PathBuf>,
    inbox: PathBuf,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).map(PathBuf::from);
    let demo = args.iter().any(|a| a == "--demo");
    let db = value("--db").or_else(|| std::env::var_os("KITAKONTOR_DB").map(PathBuf::from)).unwrap_or_else(|| {
        if demo {
            default_db_path().with_file_name("demo.db")
        } else {
            default_db_path()
        }
    });
    let key_file = value("--key-file")
        .or_else(|| std::env::var_os("KITAKONTOR_KEY_FILE").map(PathBuf::from))
        .or_else(|| demo.then(|| db.with_extension("key")));
    let inbox = value("--inbox")
        .or_else(|| std::env::var_os("KITAKONTOR_INBOX").map(PathBuf::from))
        .unwrap_or_else(|| db.with_file_name("Eingang"));
    // The demo keeps its secrets beside the database, like its key.
    let token_file = value("--token-file")
        .or_else(|| std::env::var_os("KITAKONTOR_TOKEN_FILE").map(PathBuf::from))
        .or_else(|| demo.then(|| db.with_extension("tokens")));
    Options { demo, db, key_file, token_file, inbox }
}

static KEYRING: KeyringStore = KeyringStore;

/// Opens the database; in demo mode a missing one is created with the demo data. A normal
/// start never creates a database silently: without one, the first-start wizard runs on a new
/// file only when there is no file at all.
async fn open(o: &Options) -> Result<App, StoreError> {
    let source = key_source(o.key_file.clone(), &KEYRING)?;
    let store = if o.db.exists() {
        Store::open(&o.db, &source.load(&o.db)?).await?
    } else {
        let store = Store::create(&o.db, &source.create(&o.db)?).await?;
        if o.demo {
            let summary = store.seed_demo(2026).await?;
            tracing::info!(children = summary.children, "demo data created");
        }
        store
    };
    std::fs::create_dir_all(&o.inbox).map_err(|e| StoreError::Conflict(format!("Eingangsordner {}: {e}", o.inbox.display())))?;
    let secrets: Arc<dyn SecretStore> = match &o.token_file {
        Some(p) => Arc::new(kitakontor_sync::tokens::FileSecrets::new(p.clone())),
        None => Arc::new(KeyringStore),
    };
    Ok(App::new(store, o.demo).with_inbox(o.inbox.clone()).with_secrets(secrets))
}

/// Watches the inbox folder and tells the window when CSV files appear or vanish.
fn watch_inbox(handle: tauri::AppHandle, dir: PathBuf) -> notify::Result<notify::RecommendedWatcher> {
    use notify::{RecursiveMode, Watcher};
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        // Only changes of the folder's content count. Reading the folder (below) causes
        // access events itself; reacting to those would loop forever.
        let Ok(event) = res else { return };
        if matches!(event.kind, notify::EventKind::Access(_) | notify::EventKind::Any | notify::EventKind::Other) {
            return;
        }
        tracing::debug!(?event, "inbox folder changed");
        {
            if let Some(shell) = handle.try_state::<Shell>() {
                if let Ok(app) = shell.app() {
                    let _ = handle.emit("inbox-changed", app.inbox_files().unwrap_or_default());
                }
            }
        }
    })?;
    watcher.watch(&dir, RecursiveMode::NonRecursive)?;
    Ok(watcher)
}

fn main() {
    START.get_or_init(std::time::Instant::now);
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("KITAKONTOR_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let o = options();
    let app = tauri::async_runtime::block_on(open(&o)).map_err(AppError::from);
    if let Err(e) = &app {
        tracing::error!(error = %e, "cannot open the database");
    }
    let inbox_dir = o.inbox.clone();
    tauri::Builder::default()
        .manage(Shell(app))
        .manage(SyncTask::default())
        .setup(move |tauri_app| {
            match watch_inbox(tauri_app.handle().clone(), inbox_dir) {
                // The watcher lives as long as the app.
                Ok(w) => {
                    tauri_app.manage(w);
                }
                Err(e) => tracing::warn!(error = %e, "inbox folder not watched"),
            }
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            start_info,
            setup,
            login,
            unlock,
            lock,
            logout,
            touch,
            session,
            overview,
            search_children,
            child_detail,
            child_health,
            guardian_finance,
            waiting_list,
            reserve,
            reject_application,
            cancel_reservation,
            contracts,
            conclude_contract,
            amend_contract,
            terminate_contract,
            groups,
            attendance_today,
            record_attendance,
            users,
            create_user,
            set_user_role,
            deactivate_user,
            set_pin,
            settings,
            set_idle_minutes,
            inbox_files,
            import_preview,
            import_commit,
            contract_pdf,
            child_fee,
            fee_notice_pdf,
            billing_run,
            billing_runs,
            claim_list,
            rule_sets,
            mandates,
            record_mandate,
            revoke_mandate,
            sync_status,
            sync_now,
            inbox,
            resolve_inbox,
            city_overview,
            decide_duplicate,
            enrol,
            open_document,
            ui_ready,
        ])
        .build(tauri::generate_context!())
        .expect("error while building the Kitakontor window")
        .run(|handle, event| {
            if let tauri::RunEvent::Exit = event {
                stop_sync(handle);
            }
        });
}
