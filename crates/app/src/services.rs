//! One method per UI call. Each: `actor()` (session, lock, idle) → one store call → DTO.

use crate::dto::*;
use crate::{App, AppError, Result};
use kitakontor_core::application::ApplicationState;
use kitakontor_core::attendance::{AbsenceType, AttendanceKind, DayStatus};
use kitakontor_core::care::{CareHours, CareType};
use kitakontor_core::command as c;
use kitakontor_core::ids::*;
use kitakontor_core::permission::{Permission, Role};
use kitakontor_core::person::Address;
use kitakontor_core::staffing;
use kitakontor_store::auth::AccountSummary;
use kitakontor_store::queries::*;
use kitakontor_store::settings::IDLE_MAX_MINUTES;
use kitakontor_store::Receipt;
use uuid::Uuid;

fn new_id() -> Uuid {
    Uuid::now_v7()
}

fn hours(h: f64) -> Result<CareHours> {
    CareHours::try_from(h).map_err(|e| AppError::from(kitakontor_store::StoreError::from(e)))
}

impl App {
    /// What the window needs before anyone logs in.
    pub async fn start_info(&self) -> Result<StartInfo> {
        let accounts: Vec<AccountSummary> = self.store.list_accounts().await?.into_iter().filter(|a| a.active).collect();
        Ok(StartInfo { demo: self.demo, needs_setup: accounts.is_empty(), accounts, session: self.session_info().await? })
    }

    /// First-start wizard: the facility and its first director, then logged in.
    pub async fn setup(&self, i: SetupInput) -> Result<SessionInfo> {
        let fid = FacilityId(new_id());
        let capacities =
            [(CareType::Nursery, i.nursery), (CareType::Kindergarten, i.kindergarten), (CareType::AfterSchool, i.after_school)]
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .collect();
        let facility = c::UpsertFacility {
            facility_id: fid,
            provider_id: ProviderId(new_id()),
            provider_name: "Eigener Träger".into(),
            name: i.facility_name,
            profile: String::new(),
            address: Address::default(),
            municipality: i.municipality,
            capacities,
        };
        let user = c::CreateUser {
            user_id: UserId(new_id()),
            username: i.username.clone(),
            display_name: i.display_name,
            role: Role::Director,
            facility_id: Some(fid),
        };
        self.store.create_first_user(Some(facility), user, &i.password).await?;
        self.login(LoginInput { username: i.username, password: i.password }).await
    }

    pub async fn login(&self, i: LoginInput) -> Result<SessionInfo> {
        let actor = self.store.login(i.username.trim(), &i.password).await?;
        let account =
            self.store.list_accounts().await?.into_iter().find(|a| a.user_id == actor.user_id).ok_or_else(AppError::not_logged_in)?;
        self.begin_session(actor, account.username, account.display_name, account.has_pin);
        self.session_info().await?.ok_or_else(AppError::not_logged_in)
    }

    /// Unlocks the locked session of the same user (PIN or password).
    pub async fn unlock(&self, i: UnlockInput) -> Result<SessionInfo> {
        let (user_id, username) = {
            let guard = self.session.lock().expect("not poisoned");
            let s = guard.as_ref().ok_or_else(AppError::not_logged_in)?;
            (s.actor.user_id, s.username.clone())
        };
        let actor = match (i.pin, i.password) {
            (Some(pin), _) => self.store.unlock_with_pin(user_id, &pin).await?,
            (None, Some(pw)) => self.store.login(&username, &pw).await?,
            (None, None) => return Err(AppError::invalid("pin", "PIN oder Passwort eingeben")),
        };
        {
            let mut guard = self.session.lock().expect("not poisoned");
            if let Some(s) = guard.as_mut().filter(|s| s.actor.user_id == user_id) {
                s.actor = actor;
                s.locked = false;
                s.last_activity = std::time::Instant::now();
            }
        }
        self.session_info().await?.ok_or_else(AppError::not_logged_in)
    }

    /// Locks now (the window hides all child data).
    pub fn lock(&self) {
        if let Some(s) = self.session.lock().expect("not poisoned").as_mut() {
            s.locked = true;
        }
    }

    /// Switch user: ends the session entirely.
    pub fn logout(&self) {
        *self.session.lock().expect("not poisoned") = None;
    }

    /// Activity from the UI (keys, mouse). Returns the session state, locking it if idle ran out.
    pub async fn touch(&self) -> Result<Option<SessionInfo>> {
        let _ = self.actor().await;
        self.session_info().await
    }

    pub async fn session(&self) -> Result<Option<SessionInfo>> {
        self.session_info().await
    }

    pub async fn overview(&self) -> Result<Overview> {
        let actor = self.actor().await?;
        let fid = self.store.default_facility(&actor).await?;
        let today = self.store.now().date_naive();
        let months = if actor.role.allows(Permission::ReadOccupancy) {
            self.store.occupancy(&actor, fid, today, 12).await?.months
        } else {
            Vec::new()
        };
        let (expiring, open_applications) = if actor.role.allows(Permission::ReadApplications) {
            let wl = self.store.waiting_list(&actor, fid).await?;
            let open = wl.iter().filter(|e| e.state == ApplicationState::Open).count() as u32;
            (wl.into_iter().filter(|e| e.hold_days_left.is_some_and(|d| d <= 2)).collect(), open)
        } else {
            (Vec::new(), 0)
        };
        let attendance = if actor.role.allows(Permission::ReadAttendance) {
            let rows = self.store.attendance_day(&actor, fid, today).await?;
            let mut s = AttendanceSummary { expected: rows.len() as u32, ..Default::default() };
            for r in rows {
                match r.status {
                    DayStatus::NotRecorded => s.not_recorded += 1,
                    DayStatus::Present { .. } => s.present += 1,
                    DayStatus::Left { .. } => s.left += 1,
                    DayStatus::Absent(_) => s.absent += 1,
                }
            }
            Some(s)
        } else {
            None
        };
        let tickets_requested = if actor.role.allows(Permission::ManageTickets) {
            self.store.tickets(&actor, fid).await?.iter().filter(|t| t.state == kitakontor_core::ticket::TicketState::Requested).count()
                as u32
        } else {
            0
        };
        let files_in_inbox = self.inbox_files().map(|f| f.len() as u32).unwrap_or(0);
        Ok(Overview {
            months,
            expiring,
            attendance,
            pending: Pending { outbox: self.store.outbox_stats().await?.pending, open_applications, tickets_requested, files_in_inbox },
        })
    }

    pub async fn search_children(&self, i: SearchInput) -> Result<Vec<ChildSummary>> {
        let actor = self.actor().await?;
        let fid = self.store.default_facility(&actor).await?;
        Ok(self.store.search_children(&actor, fid, &i.query, 50).await?)
    }

    pub async fn child_detail(&self, i: ChildRef) -> Result<ChildDetail> {
        let actor = self.actor().await?;
        Ok(self.store.child_detail(&actor, i.child_id).await?)
    }

    /// Audited read.
    pub async fn child_health(&self, i: ChildRef) -> Result<kitakontor_core::person::HealthRecord> {
        let actor = self.actor().await?;
        Ok(self.store.child_health(&actor, i.child_id).await?)
    }

    /// Audited read; office and provider admin only.
    pub async fn guardian_finance(&self, i: GuardianRef) -> Result<kitakontor_core::person::GuardianFinance> {
        let actor = self.actor().await?;
        Ok(self.store.guardian_finance(&actor, i.guardian_id).await?)
    }

    pub async fn waiting_list(&self) -> Result<Vec<WaitingEntry>> {
        let actor = self.actor().await?;
        let fid = self.store.default_facility(&actor).await?;
        Ok(self.store.waiting_list(&actor, fid).await?)
    }

    pub async fn reserve(&self, i: ReserveInput) -> Result<Receipt> {
        let actor = self.actor().await?;
        let fid = self.store.default_facility(&actor).await?;
        let start = match i.start_date {
            Some(d) => d,
            None => self
                .store
                .waiting_list(&actor, fid)
                .await?
                .into_iter()
                .find(|e| e.application_id == i.application_id)
                .map(|e| e.wanted_start)
                .ok_or_else(|| AppError::new("not_found", "Die Anmeldung steht nicht auf der Warteliste."))?,
        };
        Ok(self
            .store
            .execute(
                &actor,
                c::ReservePlace {
                    reservation_id: ReservationId(new_id()),
                    application_id: i.application_id,
                    facility_id: fid,
                    start_date: start,
                }
                .into(),
            )
            .await?)
    }

    pub async fn reject_application(&self, i: RejectInput) -> Result<Receipt> {
        let actor = self.actor().await?;
        if i.reason.trim().is_empty() {
            return Err(AppError::invalid("Begründung", "bitte angeben"));
        }
        Ok(self.store.execute(&actor, c::RejectApplication { application_id: i.application_id, reason: i.reason }.into()).await?)
    }

    pub async fn cancel_reservation(&self, i: CancelReservationInput) -> Result<Receipt> {
        let actor = self.actor().await?;
        Ok(self.store.execute(&actor, c::CancelReservation { reservation_id: i.reservation_id, reason: i.reason }.into()).await?)
    }

    pub async fn contracts(&self) -> Result<Vec<ContractRow>> {
        let actor = self.actor().await?;
        let fid = self.store.default_facility(&actor).await?;
        Ok(self
            .store
            .contracts(&actor, fid)
            .await?
            .into_iter()
            .map(|(child_name, contract)| ContractRow { child_name, contract })
            .collect())
    }

    /// Admission: the contract from an active reservation.
    pub async fn conclude_contract(&self, i: ConcludeInput) -> Result<Receipt> {
        let actor = self.actor().await?;
        let start = match i.start_date {
            Some(d) => d,
            None => self.store.reservation_start(i.reservation_id).await?,
        };
        Ok(self
            .store
            .execute(
                &actor,
                c::ConcludeContract {
                    contract_id: ContractId(new_id()),
                    reservation_id: i.reservation_id,
                    start_date: start,
                    care_hours: hours(i.care_hours)?,
                    settling_in_weeks: i.settling_in_weeks,
                }
                .into(),
            )
            .await?)
    }

    pub async fn amend_contract(&self, i: AmendInput) -> Result<Receipt> {
        let actor = self.actor().await?;
        Ok(self
            .store
            .execute(
                &actor,
                c::AmendContract { contract_id: i.contract_id, valid_from: i.valid_from, care_hours: hours(i.care_hours)?, note: i.note }
                    .into(),
            )
            .await?)
    }

    pub async fn terminate_contract(&self, i: TerminateInput) -> Result<Receipt> {
        let actor = self.actor().await?;
        Ok(self
            .store
            .execute(&actor, c::TerminateContract { contract_id: i.contract_id, end_date: i.end_date, reason: i.reason }.into())
            .await?)
    }

    pub async fn groups(&self) -> Result<Vec<GroupView>> {
        let actor = self.actor().await?;
        let fid = self.store.default_facility(&actor).await?;
        Ok(self
            .store
            .group_staffing(&actor, fid)
            .await?
            .into_iter()
            .map(|g| GroupView {
                required_fte: staffing::required_fte_for_total(g.group.care_type, g.contracted_hours),
                planned_fte: g.planned_fte,
                staffing: g,
            })
            .collect())
    }

    pub async fn attendance_today(&self) -> Result<Vec<AttendanceRow>> {
        let actor = self.actor().await?;
        let fid = self.store.default_facility(&actor).await?;
        Ok(self.store.attendance_day(&actor, fid, self.store.now().date_naive()).await?)
    }

    pub async fn record_attendance(&self, i: AttendanceInput) -> Result<Receipt> {
        let actor = self.actor().await?;
        let kind = match i.action {
            AttendanceAction::CheckIn => AttendanceKind::CheckIn,
            AttendanceAction::CheckOut => AttendanceKind::CheckOut,
            AttendanceAction::Sick => AttendanceKind::Absence(AbsenceType::Sick),
            AttendanceAction::Holiday => AttendanceKind::Absence(AbsenceType::Holiday),
            AttendanceAction::Other => AttendanceKind::Absence(AbsenceType::Other),
        };
        let now = self.store.now();
        Ok(self
            .store
            .execute(
                &actor,
                c::RecordAttendance {
                    event_id: AttendanceEventId(new_id()),
                    child_id: i.child_id,
                    date: now.date_naive(),
                    kind,
                    at: now,
                    corrects: i.corrects,
                }
                .into(),
            )
            .await?)
    }

    pub async fn users(&self) -> Result<Vec<AccountSummary>> {
        let actor = self.actor().await?;
        kitakontor_core::permission::require_role(&actor, Permission::ManageUsers).map_err(kitakontor_store::StoreError::from)?;
        Ok(self.store.list_accounts().await?)
    }

    pub async fn create_user(&self, i: CreateUserInput) -> Result<Receipt> {
        let actor = self.actor().await?;
        let uid = UserId(new_id());
        let facility = match i.role {
            Role::ProviderAdmin => None,
            _ => actor.facility_id.or(Some(self.store.default_facility(&actor).await?)),
        };
        let mut batch = vec![(
            c::CreateUser { user_id: uid, username: i.username, display_name: i.display_name, role: i.role, facility_id: facility }.into(),
            Some(i.password),
        )];
        for g in i.groups {
            batch.push((c::AssignStaff { group_id: g, user_id: uid }.into(), None));
        }
        let receipts = self.store.execute_batch(&actor, batch).await?;
        Ok(receipts.into_iter().next().expect("one receipt per command"))
    }

    pub async fn set_user_role(&self, i: SetRoleInput) -> Result<Receipt> {
        let actor = self.actor().await?;
        Ok(self.store.execute(&actor, c::SetUserRole { user_id: i.user_id, role: i.role }.into()).await?)
    }

    pub async fn deactivate_user(&self, i: UserRef) -> Result<Receipt> {
        let actor = self.actor().await?;
        Ok(self.store.execute(&actor, c::DeactivateUser { user_id: i.user_id }.into()).await?)
    }

    pub async fn set_pin(&self, i: PinInput) -> Result<()> {
        let actor = self.actor().await?;
        self.store.set_own_pin(&actor, &i.pin).await?;
        if let Some(s) = self.session.lock().expect("not poisoned").as_mut() {
            s.has_pin = true;
        }
        Ok(())
    }

    pub async fn settings(&self) -> Result<Settings> {
        let actor = self.actor().await?;
        let facility = match actor.facility_id {
            Some(f) => self.store.facilities(&actor).await?.into_iter().find(|x| x.id == f),
            None => self.store.facilities(&actor).await?.into_iter().next(),
        };
        Ok(Settings { idle_minutes: self.store.idle_minutes().await?, idle_max_minutes: IDLE_MAX_MINUTES, facility })
    }

    pub async fn set_idle_minutes(&self, i: IdleInput) -> Result<()> {
        let actor = self.actor().await?;
        Ok(self.store.set_idle_minutes(&actor, i.minutes).await?)
    }

    /// The bytes of one file of the inbox folder. Only plain names are accepted: the UI can
    /// never make the app read a file outside the folder.
    fn inbox_file(&self, name: &str) -> Result<(std::path::PathBuf, Vec<u8>)> {
        let dir = self.inbox.as_ref().ok_or_else(|| AppError::new("not_found", "Kein Eingangsordner eingerichtet."))?;
        let plain = !name.is_empty() && !name.contains(['/', '\\']) && name != "." && name != "..";
        if !plain {
            return Err(AppError::invalid("Datei", "nur ein Dateiname aus dem Eingangsordner"));
        }
        let path = dir.join(name);
        let meta = std::fs::metadata(&path)
            .map_err(|_| AppError::new("not_found", format!("Die Datei „{name}“ liegt nicht (mehr) im Eingangsordner.")))?;
        if !meta.is_file() || meta.len() > kitakontor_core::import::MAX_BYTES as u64 {
            return Err(AppError::invalid("Datei", "keine Datei oder größer als 10 MB"));
        }
        let bytes = std::fs::read(&path).map_err(|e| AppError::new("io", format!("„{name}“ kann nicht gelesen werden: {e}")))?;
        Ok((path, bytes))
    }

    /// Preview of a CSV waiting list from the inbox: rows accepted, rows rejected with reasons.
    pub async fn import_preview(&self, i: ImportInput) -> Result<kitakontor_core::import::ImportPreview> {
        let actor = self.actor().await?;
        let (_, bytes) = self.inbox_file(&i.file_name)?;
        Ok(self.store.preview_import(&actor, &bytes).await?)
    }

    /// Imports the accepted rows in one transaction, then moves the file to `importiert/` so
    /// it can't be imported twice by accident (it is kept, not deleted).
    pub async fn import_commit(&self, i: ImportInput) -> Result<kitakontor_store::import::ImportSummary> {
        let actor = self.actor().await?;
        let (path, bytes) = self.inbox_file(&i.file_name)?;
        let summary = self.store.commit_import(&actor, &bytes).await?;
        let done = path.with_file_name("importiert");
        let moved = std::fs::create_dir_all(&done).and_then(|_| std::fs::rename(&path, done.join(&i.file_name)));
        if let Err(e) = moved {
            tracing::warn!(error = %e, "imported file stays in the inbox");
        }
        Ok(summary)
    }

    /// Files waiting in the inbox folder (CSV exports of old waiting lists).
    pub fn inbox_files(&self) -> Option<Vec<String>> {
        let dir = self.inbox.as_ref()?;
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .ok()?
            .filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x.eq_ignore_ascii_case("csv")))
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        Some(names)
    }
}
