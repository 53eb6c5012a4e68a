//! Service-level tests against a real SQLCipher file: the command path (guard → rules →
//! outbox → audit in one transaction), the permission guard for every role × command,
//! places and holds, accounts and lockout, audited reads.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use kitakontor_core::application::ApplicationOrigin;
use kitakontor_core::attendance::AttendanceKind;
use kitakontor_core::care::{CareHours, CareType};
use kitakontor_core::command::{self as c, Command};
use kitakontor_core::ids::*;
use kitakontor_core::permission::{Actor, Role};
use kitakontor_core::person::Address;
use kitakontor_core::DomainError;
use kitakontor_store::key::DbKey;
use kitakontor_store::{AuthError, Store, StoreError};
use proptest::prelude::*;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

const PW: &str = "sehr-geheimes-passwort";

struct World {
    _dir: tempfile::TempDir,
    store: Store,
    clock: Arc<Mutex<DateTime<Utc>>>,
    director: Actor,
    facility: FacilityId,
}

fn id() -> Uuid {
    Uuid::now_v7()
}

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

async fn world(nursery: u32) -> World {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(Mutex::new(DateTime::parse_from_rfc3339("2026-11-24T09:00:00Z").unwrap().with_timezone(&Utc)));
    let c2 = clock.clone();
    let store =
        Store::create(&dir.path().join("t.db"), &DbKey::generate()).await.unwrap().with_clock(Arc::new(move || *c2.lock().unwrap()));
    let facility = FacilityId(id());
    let uid = UserId(id());
    store
        .create_first_user(
            Some(c::UpsertFacility {
                facility_id: facility,
                provider_id: ProviderId(id()),
                provider_name: "Träger".into(),
                name: "Kita Test".into(),
                profile: String::new(),
                address: Address::default(),
                municipality: "Leipzig".into(),
                capacities: vec![(CareType::Nursery, nursery), (CareType::Kindergarten, 5)],
            }),
            c::CreateUser {
                user_id: uid,
                username: "leitung".into(),
                display_name: "Lea Leitung".into(),
                role: Role::Director,
                facility_id: Some(facility),
            },
            PW,
        )
        .await
        .unwrap();
    let director = store.actor(uid).await.unwrap();
    World { _dir: dir, store, clock, director, facility }
}

impl World {
    fn advance(&self, by: Duration) {
        *self.clock.lock().unwrap() += by;
    }

    async fn child(&self, first: &str, municipality: &str, measles: bool) -> ChildId {
        let child = ChildId(id());
        self.store
            .execute(
                &self.director,
                c::CreateChild {
                    child_id: child,
                    facility_id: self.facility,
                    group_id: None,
                    first_name: first.into(),
                    last_name: "Müller".into(),
                    birth_date: d(2025, 3, 1),
                    address: Address::default(),
                    municipality: municipality.into(),
                }
                .into(),
            )
            .await
            .unwrap();
        if measles {
            self.store
                .execute(
                    &self.director,
                    c::RecordHealth { child_id: child, measles_proof: Some(d(2026, 1, 10)), health_notes: "Allergie: Nüsse".into() }.into(),
                )
                .await
                .unwrap();
        }
        child
    }

    async fn apply(&self, child: ChildId, start: NaiveDate) -> ApplicationId {
        let app = ApplicationId(id());
        self.store
            .execute(
                &self.director,
                c::SubmitApplication {
                    application_id: app,
                    child_id: child,
                    choices: vec![self.facility],
                    wanted_start: start,
                    care_type: CareType::Nursery,
                    care_hours: CareHours::from_tenths(90).unwrap(),
                    origin: ApplicationOrigin::Office,
                }
                .into(),
            )
            .await
            .unwrap();
        app
    }

    async fn reserve(&self, app: ApplicationId, start: NaiveDate) -> Result<ReservationId, StoreError> {
        let r = ReservationId(id());
        self.store
            .execute(
                &self.director,
                c::ReservePlace { reservation_id: r, application_id: app, facility_id: self.facility, start_date: start }.into(),
            )
            .await
            .map(|_| r)
    }

    async fn count(&self, sql: &'static str) -> i64 {
        let (n,): (i64,) = sqlx::query_as(sql).fetch_one(self.store.pool()).await.unwrap();
        n
    }
}

#[tokio::test]
async fn outbox_and_audit_rows_are_written_or_rolled_back_with_the_change() {
    let w = world(10).await;
    let outbox0 = w.count("SELECT count(*) FROM outbox").await;
    let audit0 = w.count("SELECT count(*) FROM audit_log").await;
    let good = c::CreateChild {
        child_id: ChildId(id()),
        facility_id: w.facility,
        group_id: None,
        first_name: "Ida".into(),
        last_name: "Groß".into(),
        birth_date: d(2024, 5, 5),
        address: Address::default(),
        municipality: "Leipzig".into(),
    };
    let mut bad = good.clone();
    bad.child_id = ChildId(id());
    bad.birth_date = d(2030, 1, 1); // in the future: rejected by the rules
    let err = w.store.execute_batch(&w.director, vec![(good.clone().into(), None), (bad.into(), None)]).await.unwrap_err();
    assert!(matches!(err, StoreError::Domain(DomainError::InvalidField { field: "birth_date", .. })), "{err:?}");
    assert_eq!(w.count("SELECT count(*) FROM children").await, 0, "first command rolled back too");
    assert_eq!(w.count("SELECT count(*) FROM outbox").await, outbox0);
    assert_eq!(w.count("SELECT count(*) FROM audit_log").await, audit0);

    let r = w.store.execute(&w.director, good.into()).await.unwrap();
    let row: (String, String, i64, String) =
        sqlx::query_as("SELECT command_id, name, schema_version, base_versions FROM outbox WHERE client_seq = ?")
            .bind(r.client_seq)
            .fetch_one(w.store.pool())
            .await
            .unwrap();
    assert_eq!(row.0, r.command_id.to_string());
    assert_eq!(row.1, "CreateChild");
    assert_eq!(row.2, 1);
    assert!(row.3.contains("child:"), "base versions name the new record: {}", row.3);
    assert_eq!(Uuid::parse_str(&row.0).unwrap().get_version_num(), 7, "command ids are UUIDv7");
    let audit: (String, String) =
        sqlx::query_as("SELECT action, records FROM audit_log WHERE command_id = ?").bind(row.0).fetch_one(w.store.pool()).await.unwrap();
    assert_eq!(audit.0, "CreateChild");
    assert!(!audit.1.contains("Ida") && !audit.1.contains("Groß"), "audit rows carry references, not values");
}

/// A random mix of valid and invalid commands, one transaction each.
#[derive(Debug, Clone)]
enum Step {
    NewChild { valid: bool },
    Health { child: usize, valid: bool },
    Attendance { child: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        any::<bool>().prop_map(|valid| Step::NewChild { valid }),
        (0usize..8, any::<bool>()).prop_map(|(child, valid)| Step::Health { child, valid }),
        (0usize..8).prop_map(|child| Step::Attendance { child }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn one_outbox_row_per_accepted_command_with_a_gapless_sequence(steps in proptest::collection::vec(step(), 1..30)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let w = world(10).await;
            let base = w.count("SELECT count(*) FROM outbox").await;
            let mut children: Vec<ChildId> = Vec::new();
            let mut accepted = 0i64;
            for s in steps {
                let cmd: Option<Command> = match s {
                    Step::NewChild { valid } => {
                        let child = ChildId(id());
                        Some(c::CreateChild {
                            child_id: child, facility_id: w.facility, group_id: None, first_name: if valid { "Mia".into() } else { " ".into() },
                            last_name: "Krüger".into(), birth_date: d(2024, 1, 1), address: Address::default(), municipality: "Leipzig".into(),
                        }.into()).inspect(|_| if valid { children.push(child) })
                    }
                    Step::Health { child, valid } => children.get(child % children.len().max(1)).map(|c| {
                        c::RecordHealth { child_id: *c, measles_proof: Some(if valid { d(2026, 1, 1) } else { d(2099, 1, 1) }), health_notes: String::new() }.into()
                    }),
                    Step::Attendance { child } => children.get(child % children.len().max(1)).map(|c| {
                        // Repeated check-ins of the same child are refused by the rules.
                        c::RecordAttendance { event_id: AttendanceEventId(id()), child_id: *c, date: d(2026, 11, 24), kind: AttendanceKind::CheckIn, at: Utc::now(), corrects: None }.into()
                    }),
                };
                let Some(cmd) = cmd else { continue };
                if w.store.execute(&w.director, cmd).await.is_ok() {
                    accepted += 1;
                }
            }
            let seqs: Vec<(i64,)> = sqlx::query_as("SELECT client_seq FROM outbox ORDER BY client_seq").fetch_all(w.store.pool()).await.unwrap();
            assert_eq!(seqs.len() as i64, base + accepted);
            for (i, (s,)) in seqs.iter().enumerate() {
                assert_eq!(*s, i as i64 + 1, "gapless");
            }
            let unmatched = w.count("SELECT count(*) FROM outbox o WHERE (SELECT count(*) FROM audit_log a WHERE a.command_id = o.command_id) <> 1").await;
            assert_eq!(unmatched, 0, "every outbox row has exactly one audit row");
            assert!(w.store.verify_audit().await.unwrap().first_broken.is_none());
        });
    }
}

/// A sample of every command, aimed at records that need not exist: the role check happens
/// before anything is read, so a forbidden role gets `Denied`, an allowed role gets past it.
fn samples(facility: FacilityId) -> Vec<Command> {
    let addr = Address::default();
    let h = CareHours::from_tenths(90).unwrap();
    let day = d(2027, 1, 1);
    vec![
        c::UpsertFacility {
            facility_id: facility,
            provider_id: ProviderId(id()),
            provider_name: "T".into(),
            name: "K".into(),
            profile: String::new(),
            address: addr.clone(),
            municipality: "Leipzig".into(),
            capacities: vec![],
        }
        .into(),
        c::CreateGroup { group_id: GroupId(id()), facility_id: facility, name: format!("G{}", id()), care_type: CareType::Nursery }.into(),
        c::AssignStaff { group_id: GroupId(id()), user_id: UserId(id()) }.into(),
        c::CreateUser {
            user_id: UserId(id()),
            username: format!("u{}", id().simple()),
            display_name: "X".into(),
            role: Role::Educator,
            facility_id: Some(facility),
        }
        .into(),
        c::SetUserRole { user_id: UserId(id()), role: Role::Office }.into(),
        c::DeactivateUser { user_id: UserId(id()) }.into(),
        c::ResetPassword { user_id: UserId(id()) }.into(),
        c::CreateChild {
            child_id: ChildId(id()),
            facility_id: facility,
            group_id: None,
            first_name: "A".into(),
            last_name: "B".into(),
            birth_date: d(2024, 1, 1),
            address: addr.clone(),
            municipality: "Leipzig".into(),
        }
        .into(),
        c::UpdateChild {
            child_id: ChildId(id()),
            first_name: None,
            last_name: None,
            birth_date: None,
            address: None,
            municipality: None,
            group_id: None,
        }
        .into(),
        c::DeleteChild { child_id: ChildId(id()) }.into(),
        c::RecordHealth { child_id: ChildId(id()), measles_proof: None, health_notes: String::new() }.into(),
        c::AddGuardian {
            guardian_id: GuardianId(id()),
            child_id: ChildId(id()),
            first_name: "A".into(),
            last_name: "B".into(),
            email: String::new(),
            phone: String::new(),
            address: addr,
            single_parent: false,
        }
        .into(),
        c::LinkGuardian { guardian_id: GuardianId(id()), child_id: ChildId(id()) }.into(),
        c::SetGuardianFinance { guardian_id: GuardianId(id()), income_cents: None, iban: None, account_holder: None }.into(),
        c::SetPickupPersons { child_id: ChildId(id()), persons: vec![] }.into(),
        c::RecordMandate { mandate_id: MandateId(id()), guardian_id: GuardianId(id()), reference: "KK-1".into(), signed_on: day }.into(),
        c::RevokeMandate { mandate_id: MandateId(id()), revoked_on: day }.into(),
        c::SetCreditor {
            provider_id: ProviderId(id()),
            address: Address::default(),
            creditor_id: String::new(),
            iban: String::new(),
            bic: None,
            youth_office: String::new(),
        }
        .into(),
        c::SubmitApplication {
            application_id: ApplicationId(id()),
            child_id: ChildId(id()),
            choices: vec![facility],
            wanted_start: day,
            care_type: CareType::Nursery,
            care_hours: h,
            origin: ApplicationOrigin::Office,
        }
        .into(),
        c::SetApplicationPriority { application_id: ApplicationId(id()), priority: 1 }.into(),
        c::RejectApplication { application_id: ApplicationId(id()), reason: String::new() }.into(),
        c::WithdrawApplication { application_id: ApplicationId(id()) }.into(),
        c::ReservePlace {
            reservation_id: ReservationId(id()),
            application_id: ApplicationId(id()),
            facility_id: facility,
            start_date: day,
        }
        .into(),
        c::CancelReservation { reservation_id: ReservationId(id()), reason: String::new() }.into(),
        c::ExpireReservation { reservation_id: ReservationId(id()) }.into(),
        c::ConcludeContract {
            contract_id: ContractId(id()),
            reservation_id: ReservationId(id()),
            start_date: day,
            care_hours: h,
            settling_in_weeks: 4,
        }
        .into(),
        c::AmendContract { contract_id: ContractId(id()), valid_from: day, care_hours: h, note: String::new() }.into(),
        c::TerminateContract { contract_id: ContractId(id()), end_date: day, reason: String::new() }.into(),
        c::RecordAttendance {
            event_id: AttendanceEventId(id()),
            child_id: ChildId(id()),
            date: d(2026, 11, 24),
            kind: AttendanceKind::CheckIn,
            at: Utc::now(),
            corrects: None,
        }
        .into(),
        c::RequestTicket { ticket_id: TicketId(id()), child_id: ChildId(id()), home_municipality: "Markkleeberg".into() }.into(),
        c::RecordTicketDecision { ticket_id: TicketId(id()), approved: true, reference: String::new() }.into(),
    ]
}

#[tokio::test]
async fn the_store_refuses_every_command_a_role_may_not_run() {
    let w = world(10).await;
    let samples = samples(w.facility);
    assert_eq!(samples.len(), Command::NAMES.len(), "one sample per command");
    for role in Role::ALL {
        let actor = Actor { user_id: UserId(id()), role, facility_id: Some(w.facility), groups: vec![] };
        for cmd in &samples {
            let allowed = role.allows(cmd.permission());
            let before = w.count("SELECT count(*) FROM outbox").await;
            let r = w.store.execute_secret(&actor, cmd.clone(), Some(PW)).await;
            let role_denied = matches!(&r, Err(StoreError::Denied(d)) if d.scope_note.is_none());
            assert_eq!(role_denied, !allowed, "{role} × {}: {r:?}", cmd.name());
            if !allowed {
                assert_eq!(w.count("SELECT count(*) FROM outbox").await, before, "a refused command leaves no trace in the outbox");
            }
        }
    }
}

#[tokio::test]
async fn reservations_hold_places_for_seven_days_and_never_twice() {
    let w = world(2).await;
    let start = d(2027, 2, 1);
    let a = w.child("Anna", "Leipzig", true).await;
    let b = w.child("Bruno", "Leipzig", false).await;
    let cc = w.child("Carla", "Leipzig", true).await;
    let (app_a, app_b, app_c) = (w.apply(a, start).await, w.apply(b, start).await, w.apply(cc, start).await);
    let free = |f: &kitakontor_core::occupancy::Forecast| f.get(start, CareType::Nursery).unwrap().free;
    let f0 = w.store.occupancy(&w.director, w.facility, start, 3).await.unwrap();
    assert_eq!(free(&f0), 2);

    let res_a = w.reserve(app_a, start).await.unwrap();
    let res_b = w.reserve(app_b, start).await.unwrap();
    assert_eq!(free(&w.store.occupancy(&w.director, w.facility, start, 3).await.unwrap()), 0);
    // Full: the third child gets a clear "no free place".
    let err = w.reserve(app_c, start).await.unwrap_err();
    assert!(matches!(err, StoreError::Domain(DomainError::NoFreePlace { capacity: 2, taken: 2, .. })), "{err:?}");
    // A second hold for the same application is an illegal transition.
    assert!(matches!(w.reserve(app_a, start).await.unwrap_err(), StoreError::Domain(DomainError::IllegalTransition { .. })));

    // No measles proof, no contract.
    let e = w
        .store
        .execute(
            &w.director,
            c::ConcludeContract {
                contract_id: ContractId(id()),
                reservation_id: res_b,
                start_date: start,
                care_hours: CareHours::from_tenths(90).unwrap(),
                settling_in_weeks: 4,
            }
            .into(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Domain(DomainError::MeaslesProofMissing)), "{e:?}");

    let contract = ContractId(id());
    w.store
        .execute(
            &w.director,
            c::ConcludeContract {
                contract_id: contract,
                reservation_id: res_a,
                start_date: start,
                care_hours: CareHours::from_tenths(90).unwrap(),
                settling_in_weeks: 4,
            }
            .into(),
        )
        .await
        .unwrap();
    let f = w.store.occupancy(&w.director, w.facility, start, 3).await.unwrap();
    let m = f.get(start, CareType::Nursery).unwrap();
    assert_eq!((m.contracted, m.reserved, m.free), (1, 1, 0), "converted hold counts once, as contract");

    // Bruno's hold lapses after 7 days; the place is free again and C can have it.
    assert!(w.store.execute(&w.director, c::ExpireReservation { reservation_id: res_b }.into()).await.is_err(), "not lapsed yet");
    w.advance(Duration::days(7));
    assert_eq!(free(&w.store.occupancy(&w.director, w.facility, start, 3).await.unwrap()), 1, "an expired hold holds nothing");
    w.store.execute(&w.director, c::ExpireReservation { reservation_id: res_b }.into()).await.unwrap();
    let wl = w.store.waiting_list(&w.director, w.facility).await.unwrap();
    assert!(
        wl.iter().any(|e| e.application_id == app_b && e.state == kitakontor_core::application::ApplicationState::Open),
        "back on the waiting list"
    );
    w.reserve(app_c, start).await.unwrap();

    // Signed versions are immutable, even for SQL that bypasses the services.
    let e = sqlx::query("UPDATE contract_versions SET care_tenths = 45 WHERE contract_id = ?")
        .bind(contract.to_string())
        .execute(w.store.pool())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("immutable"), "{e}");
}

#[tokio::test]
async fn out_of_town_children_need_an_approved_ticket() {
    let w = world(5).await;
    let start = d(2027, 3, 1);
    let child = w.child("Till", "Markkleeberg", true).await;
    let app = w.apply(child, start).await;
    let res = w.reserve(app, start).await.unwrap();
    let conclude = || c::ConcludeContract {
        contract_id: ContractId(id()),
        reservation_id: res,
        start_date: start,
        care_hours: CareHours::from_tenths(60).unwrap(),
        settling_in_weeks: 4,
    };
    let e = w.store.execute(&w.director, conclude().into()).await.unwrap_err();
    assert!(matches!(e, StoreError::Domain(DomainError::TicketRequired { .. })), "{e:?}");
    let ticket = TicketId(id());
    w.store
        .execute(&w.director, c::RequestTicket { ticket_id: ticket, child_id: child, home_municipality: "Markkleeberg".into() }.into())
        .await
        .unwrap();
    assert!(w.store.execute(&w.director, conclude().into()).await.is_err(), "requested is not approved");
    w.store
        .execute(&w.director, c::RecordTicketDecision { ticket_id: ticket, approved: true, reference: "JA-1".into() }.into())
        .await
        .unwrap();
    w.store.execute(&w.director, conclude().into()).await.unwrap();
}

#[tokio::test]
async fn passwords_lock_out_gradually_and_pins_lock_after_five_failures() {
    let w = world(5).await;
    assert_eq!(w.store.login("leitung", "falsch").await.unwrap_err().code(), "auth_failed");
    assert!(matches!(w.store.login("niemand", PW).await.unwrap_err(), StoreError::Auth(AuthError::BadCredentials)));
    w.store.login("leitung", "falsch").await.unwrap_err();
    w.store.login("leitung", "falsch").await.unwrap_err();
    // Third failure in a row: the next try must wait.
    assert!(matches!(w.store.login("leitung", PW).await.unwrap_err(), StoreError::Auth(AuthError::TooSoon { .. })));
    w.advance(Duration::seconds(2));
    let me = w.store.login("leitung", PW).await.unwrap();
    w.store.set_own_pin(&me, "4711").await.unwrap();
    assert!(w.store.set_own_pin(&me, "12ab").await.is_err());
    w.store.unlock_with_pin(me.user_id, "4711").await.unwrap();
    for i in 0..5 {
        w.advance(Duration::minutes(10));
        let e = w.store.unlock_with_pin(me.user_id, "0000").await.unwrap_err();
        if i < 4 {
            assert!(matches!(e, StoreError::Auth(AuthError::BadPin { .. })), "{e:?}");
        } else {
            assert!(matches!(e, StoreError::Auth(AuthError::PinLocked)), "{e:?}");
        }
    }
    w.advance(Duration::minutes(10));
    assert!(
        matches!(w.store.unlock_with_pin(me.user_id, "4711").await.unwrap_err(), StoreError::Auth(AuthError::PinLocked)),
        "even the right PIN"
    );
    w.store.login("leitung", PW).await.unwrap();
    w.store.unlock_with_pin(me.user_id, "4711").await.unwrap();
    let failures = w.count("SELECT count(*) FROM login_failures").await;
    assert_eq!(failures, 3 + 5, "every failure of an existing account is counted in the database");
}

#[tokio::test]
async fn income_and_bank_data_only_for_office_and_every_read_is_audited() {
    let w = world(5).await;
    let child = w.child("Lotta", "Leipzig", true).await;
    let guardian = GuardianId(id());
    w.store
        .execute(
            &w.director,
            c::AddGuardian {
                guardian_id: guardian,
                child_id: child,
                first_name: "Jürgen".into(),
                last_name: "Müller".into(),
                email: String::new(),
                phone: String::new(),
                address: Address::default(),
                single_parent: true,
            }
            .into(),
        )
        .await
        .unwrap();
    let office = Actor { user_id: UserId(id()), role: Role::Office, facility_id: Some(w.facility), groups: vec![] };
    let educator = Actor { user_id: UserId(id()), role: Role::Educator, facility_id: Some(w.facility), groups: vec![] };
    assert!(matches!(
        w.store
            .execute(
                &w.director,
                c::SetGuardianFinance { guardian_id: guardian, income_cents: Some(4_200_000), iban: None, account_holder: None }.into()
            )
            .await,
        Err(StoreError::Denied(_))
    ));
    let bad_iban = w
        .store
        .execute(
            &office,
            c::SetGuardianFinance {
                guardian_id: guardian,
                income_cents: None,
                iban: Some("DE89 3704 0044 0532 0130 01".into()),
                account_holder: None,
            }
            .into(),
        )
        .await;
    assert!(matches!(bad_iban, Err(StoreError::Domain(DomainError::InvalidField { field: "iban", .. }))));
    w.store
        .execute(
            &office,
            c::SetGuardianFinance {
                guardian_id: guardian,
                income_cents: Some(4_200_000),
                iban: Some("DE89 3704 0044 0532 0130 00".into()),
                account_holder: None,
            }
            .into(),
        )
        .await
        .unwrap();

    let reads_before = w.count("SELECT count(*) FROM audit_log WHERE action = 'read_finance'").await;
    let f = w.store.guardian_finance(&office, guardian).await.unwrap();
    assert_eq!(f.iban.as_deref(), Some("DE89370400440532013000"));
    assert_eq!(w.count("SELECT count(*) FROM audit_log WHERE action = 'read_finance'").await, reads_before + 1);
    for who in [&w.director, &educator] {
        assert!(matches!(w.store.guardian_finance(who, guardian).await, Err(StoreError::Denied(_))));
    }
    // An educator sees no child outside their groups, health included.
    assert!(matches!(w.store.child_health(&educator, child).await, Err(StoreError::Denied(_))));
    assert!(w.store.search_children(&educator, w.facility, "", 50).await.unwrap().is_empty());
    let h = w.store.child_health(&w.director, child).await.unwrap();
    assert_eq!(h.health_notes, "Allergie: Nüsse");
    assert_eq!(w.count("SELECT count(*) FROM audit_log WHERE action = 'read_health'").await, 1);
    // The director's family export withholds income and bank data.
    let export = w.store.export_family(&w.director, child).await.unwrap();
    assert!(!export.to_string().contains("DE89370400440532013000"));
    assert_eq!(export["children"][0]["first_name"], "Lotta");
}

#[tokio::test]
async fn amendments_and_terminations_are_new_versions() {
    let w = world(5).await;
    let start = d(2027, 1, 1);
    let child = w.child("Emil", "Leipzig", true).await;
    let app = w.apply(child, start).await;
    let res = w.reserve(app, start).await.unwrap();
    let k = ContractId(id());
    w.store
        .execute(
            &w.director,
            c::ConcludeContract {
                contract_id: k,
                reservation_id: res,
                start_date: start,
                care_hours: CareHours::from_tenths(90).unwrap(),
                settling_in_weeks: 4,
            }
            .into(),
        )
        .await
        .unwrap();
    w.store
        .execute(
            &w.director,
            c::AmendContract {
                contract_id: k,
                valid_from: d(2027, 6, 1),
                care_hours: CareHours::from_tenths(60).unwrap(),
                note: "weniger".into(),
            }
            .into(),
        )
        .await
        .unwrap();
    w.store
        .execute(&w.director, c::TerminateContract { contract_id: k, end_date: d(2027, 12, 31), reason: "Umzug".into() }.into())
        .await
        .unwrap();
    assert!(w
        .store
        .execute(
            &w.director,
            c::AmendContract {
                contract_id: k,
                valid_from: d(2027, 7, 1),
                care_hours: CareHours::from_tenths(45).unwrap(),
                note: String::new()
            }
            .into()
        )
        .await
        .is_err());
    let detail = w.store.child_detail(&w.director, child).await.unwrap();
    let versions = &detail.contracts[0].versions;
    assert_eq!(versions.len(), 3);
    assert_eq!(versions[0].care_hours.tenths(), 90);
    let f = w.store.occupancy(&w.director, w.facility, start, 14).await.unwrap();
    assert!((f.get(d(2027, 6, 1), CareType::Nursery).unwrap().contracted_hours - 6.0).abs() < 1e-9);
    assert_eq!(f.get(d(2028, 1, 1), CareType::Nursery).unwrap().contracted, 0, "terminated");
}

#[tokio::test]
async fn attendance_corrections_replace_the_event_they_name() {
    let w = world(5).await;
    let child = w.child("Ida", "Leipzig", true).await;
    let today = d(2026, 11, 24);
    let record = |kind, corrects| c::RecordAttendance {
        event_id: AttendanceEventId(id()),
        child_id: child,
        date: today,
        kind,
        at: Utc::now(),
        corrects,
    };
    let first = record(AttendanceKind::CheckIn, None);
    let first_id = first.event_id;
    w.store.execute(&w.director, first.into()).await.unwrap();
    // A second check-in is refused as an original event …
    assert!(matches!(
        w.store.execute(&w.director, record(AttendanceKind::CheckIn, None).into()).await,
        Err(StoreError::Domain(DomainError::AlreadyCheckedIn))
    ));
    // … but the wrong check-in can be corrected: the child was sick.
    let sick = record(AttendanceKind::Absence(kitakontor_core::attendance::AbsenceType::Sick), Some(first_id));
    w.store.execute(&w.director, sick.into()).await.unwrap();
    let rows = w.store.attendance_day(&w.director, w.facility, today).await.unwrap();
    let row = rows.iter().find(|r| r.child_id == child);
    // The child has no contract, so it is not on the day's list; read the child's file instead.
    assert!(row.is_none());
    let detail = w.store.child_detail(&w.director, child).await.unwrap();
    assert_eq!(detail.attendance[0].status, kitakontor_core::attendance::DayStatus::Absent(kitakontor_core::attendance::AbsenceType::Sick));
    // Both events stay on record (append-only); a correction must name an event of that day.
    assert_eq!(w.count("SELECT count(*) FROM attendance_events").await, 2);
    let bogus = record(AttendanceKind::CheckIn, Some(AttendanceEventId(id())));
    assert!(matches!(w.store.execute(&w.director, bogus.into()).await, Err(StoreError::NotFound { .. })));
}
