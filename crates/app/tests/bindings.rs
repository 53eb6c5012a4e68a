//! The TypeScript types of the UI are generated from the Rust types that cross IPC.
//! This test regenerates them and fails if the committed files in `ui/src/lib/bindings` differ,
//! so Rust and TypeScript can never drift apart. `UPDATE_BINDINGS=1` writes them.
#![cfg(feature = "ts")]

use kitakontor_app::dto::*;
use kitakontor_app::AppError;
use std::path::{Path, PathBuf};
use ts_rs::{Config, TS};

fn export_all(dir: &Path) {
    let cfg = Config::new().with_out_dir(dir).with_large_int("number");
    macro_rules! export {
        ($($t:ty),* $(,)?) => { $( <$t as TS>::export_all(&cfg).unwrap_or_else(|e| panic!("{}: {e}", stringify!($t))); )* };
    }
    export!(
        AppError,
        StartInfo,
        SessionInfo,
        Overview,
        AttendanceSummary,
        Pending,
        ContractRow,
        GroupView,
        Settings,
        LoginInput,
        UnlockInput,
        SetupInput,
        SearchInput,
        ChildRef,
        GuardianRef,
        ReserveInput,
        RejectInput,
        CancelReservationInput,
        ConcludeInput,
        AmendInput,
        TerminateInput,
        AttendanceInput,
        AttendanceAction,
        CreateUserInput,
        PinInput,
        IdleInput,
        ImportInput,
        SetRoleInput,
        UserRef,
        kitakontor_store::queries::ChildSummary,
        kitakontor_store::queries::ChildDetail,
        kitakontor_store::queries::WaitingEntry,
        kitakontor_store::queries::AttendanceRow,
        kitakontor_store::Receipt,
        kitakontor_store::auth::AccountSummary,
        kitakontor_core::person::HealthRecord,
        kitakontor_core::person::GuardianFinance,
        kitakontor_core::import::ImportPreview,
        kitakontor_store::import::ImportSummary,
        ContractRef,
        ChildMonthInput,
        BillingInput,
        ClaimInput,
        PathInput,
        SavedDocument,
        kitakontor_store::fees::ChildFee,
        kitakontor_store::fees::RuleSetSummary,
        kitakontor_store::fees::MandateSummary,
        RecordMandateInput,
        RevokeMandateInput,
        kitakontor_store::billing::BillingSummary,
        kitakontor_store::billing::BillingProgress,
        InboxInput,
        ResolveInboxInput,
        EnrolInput,
        InboxItem,
        kitakontor_store::sync::SyncStatus,
        kitakontor_store::sync::Enrolment,
        kitakontor_store::sync::InboxEntry,
        kitakontor_store::sync::InboxAction,
        kitakontor_core::protocol::Outcome,
        kitakontor_core::protocol::FieldConflict,
        kitakontor_core::protocol::Alternative,
        CityOverview,
        DecideDuplicateInput,
        kitakontor_store::city::CityProposal,
        kitakontor_store::city::ProposalStatus,
        kitakontor_store::city::LocalDecision,
        kitakontor_store::city::CityRegistry,
        kitakontor_core::protocol::city::Decision,
        kitakontor_core::protocol::city::MatchStatus,
    );
}

fn files(dir: &Path) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| (e.file_name().to_string_lossy().to_string(), std::fs::read_to_string(e.path()).unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn typescript_bindings_match_the_rust_types() {
    let committed: PathBuf = [env!("CARGO_MANIFEST_DIR"), "..", "..", "ui", "src", "lib", "bindings"].iter().collect();
    if std::env::var("UPDATE_BINDINGS").is_ok() {
        let _ = std::fs::remove_dir_all(&committed);
        export_all(&committed);
        return;
    }
    let fresh = tempfile::tempdir().unwrap();
    export_all(fresh.path());
    let (a, b) = (files(fresh.path()), files(&committed));
    let names = |v: &[(String, String)]| v.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(&a),
        names(&b),
        "binding files differ: run `UPDATE_BINDINGS=1 cargo test -p kitakontor-app --features ts --test bindings`"
    );
    for ((n, x), (_, y)) in a.iter().zip(b.iter()) {
        assert_eq!(x, y, "{n} is stale: run `UPDATE_BINDINGS=1 cargo test -p kitakontor-app --features ts --test bindings`");
    }
}
