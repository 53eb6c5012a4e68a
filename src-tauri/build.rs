//! Registers the app's commands with Tauri's permission system and writes the one capability
//! of the main window from the same list, so a command can't be callable without being listed.

const COMMANDS: &[&str] = &[
    "start_info",
    "setup",
    "login",
    "unlock",
    "lock",
    "logout",
    "touch",
    "session",
    "overview",
    "search_children",
    "child_detail",
    "child_health",
    "guardian_finance",
    "waiting_list",
    "reserve",
    "reject_application",
    "cancel_reservation",
    "contracts",
    "conclude_contract",
    "amend_contract",
    "terminate_contract",
    "groups",
    "attendance_today",
    "record_attendance",
    "users",
    "create_user",
    "set_user_role",
    "deactivate_user",
    "set_pin",
    "settings",
    "set_idle_minutes",
    "inbox_files",
    "import_preview",
    "import_commit",
    "contract_pdf",
    "child_fee",
    "fee_notice_pdf",
    "billing_run",
    "billing_runs",
    "claim_list",
    "rule_sets",
    "mandates",
    "record_mandate",
    "revoke_mandate",
    "sync_status",
    "sync_now",
    "inbox",
    "resolve_inbox",
    "city_overview",
    "decide_duplicate",
    "enrol",
    "open_document",
    "ui_ready",
];

fn main() {
    let mut permissions: Vec<String> = vec!["core:event:allow-listen".into(), "core:event:allow-unlisten".into()];
    permissions.extend(COMMANDS.iter().map(|c| format!("allow-{}", c.replace('_', "-"))));
    let capability = serde_json::json!({
        "$schema": "../gen/schemas/desktop-schema.json",
        "identifier": "main",
        "description": "The main window: exactly the app's commands and event listening, nothing else.",
        "windows": ["main"],
        "permissions": permissions,
    });
    let text = serde_json::to_string_pretty(&capability).expect("json") + "\n";
    let path = std::path::Path::new("capabilities/main.json");
    if std::fs::read_to_string(path).ok().as_deref() != Some(text.as_str()) {
        std::fs::write(path, text).expect("write capability");
    }
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)))
        .expect("tauri build");
}
