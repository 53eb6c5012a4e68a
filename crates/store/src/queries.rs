//! Reads. Each passes the guard; reads of health, income and bank data write an audit row in
//! the same transaction as the read, so there is no way to see them without a trace.

use crate::audit;
use crate::commands::day_events;
use crate::error::{Result, StoreError};
use crate::rows::{self, care_type, hours, uuid};
use crate::time::{date, parse_date, ts};
use crate::Store;
use chrono::NaiveDate;
use kitakontor_core::application::{waiting_list_key, ApplicationState};
use kitakontor_core::attendance::{day_status, last_effective, DayStatus};
use kitakontor_core::care::{CareHours, CareType};
use kitakontor_core::contract::Contract;
use kitakontor_core::ids::*;
use kitakontor_core::occupancy::{self, Forecast};
use kitakontor_core::permission::{authorize, Actor, Permission, Role, Scope};
use kitakontor_core::person::{Address, Child, GuardianFinance, HealthRecord};
use kitakontor_core::ticket::TicketState;
use serde::Serialize;
use serde_json::json;
use sqlx::SqliteConnection;

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FacilitySummary {
    pub id: FacilityId,
    pub name: String,
    pub municipality: String,
    pub capacities: Vec<(CareType, u32)>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GroupSummary {
    pub id: GroupId,
    pub name: String,
    pub care_type: CareType,
    pub children: u32,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChildSummary {
    pub id: ChildId,
    pub first_name: String,
    pub last_name: String,
    pub birth_date: NaiveDate,
    pub group: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GuardianSummary {
    pub id: GuardianId,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: String,
    pub single_parent: bool,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChildDetail {
    #[serde(flatten)]
    pub child: Child,
    pub guardians: Vec<GuardianSummary>,
    pub contracts: Vec<Contract>,
    pub tickets: Vec<TicketSummary>,
    /// Days with records in the last 14 days, newest first (empty without the permission).
    pub attendance: Vec<AttendanceDay>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TicketSummary {
    pub id: TicketId,
    pub child_id: ChildId,
    pub home_municipality: String,
    pub state: TicketState,
    pub reference: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WaitingEntry {
    pub position: u32,
    pub application_id: ApplicationId,
    pub child_id: ChildId,
    pub child_name: String,
    pub birth_date: NaiveDate,
    pub wanted_start: NaiveDate,
    pub care_type: CareType,
    pub care_hours: CareHours,
    /// Rank of this facility in the parents' choices (1 = first choice).
    pub rank: u32,
    pub priority: i32,
    pub state: ApplicationState,
    pub reservation_id: Option<ReservationId>,
    pub hold_days_left: Option<i64>,
    pub out_of_town: bool,
    pub ticket: Option<TicketState>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AttendanceRow {
    pub child_id: ChildId,
    pub child_name: String,
    pub group: Option<String>,
    pub status: DayStatus,
    /// The event a correction of today would replace.
    pub last_event: Option<AttendanceEventId>,
}

/// One day of a child's attendance (the child's file shows the last two weeks).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AttendanceDay {
    pub date: NaiveDate,
    pub status: DayStatus,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OutboxStats {
    pub pending: i64,
    pub last_seq: i64,
}

fn guard(actor: &Actor, p: Permission, scope: Scope) -> Result<()> {
    authorize(actor, p, scope).map_err(StoreError::from)
}

/// Educators see the children of their groups only; everyone else the whole facility.
fn group_filter(actor: &Actor) -> Option<Vec<String>> {
    (actor.role == Role::Educator).then(|| actor.groups.iter().map(|g| g.to_string()).collect())
}

impl Store {
    pub async fn facilities(&self, actor: &Actor) -> Result<Vec<FacilitySummary>> {
        let rows: Vec<(String, String, String)> =
            sqlx::query_as("SELECT id, name, municipality FROM facilities ORDER BY name").fetch_all(&self.pool).await?;
        let mut out = Vec::new();
        for (id, name, municipality) in rows {
            let fid: FacilityId = uuid(&id);
            if actor.facility_id.is_some_and(|f| f != fid) {
                continue;
            }
            let caps: Vec<(String, i64)> =
                sqlx::query_as("SELECT care_type, capacity FROM facility_capacities WHERE facility_id = ? ORDER BY care_type")
                    .bind(&id)
                    .fetch_all(&self.pool)
                    .await?;
            out.push(FacilitySummary {
                id: fid,
                name,
                municipality,
                capacities: caps.into_iter().map(|(c, n)| (care_type(&c), n as u32)).collect(),
            });
        }
        Ok(out)
    }

    /// The facility to work in when none is named: the actor's own, else the first.
    pub async fn default_facility(&self, actor: &Actor) -> Result<FacilityId> {
        if let Some(f) = actor.facility_id {
            return Ok(f);
        }
        self.facilities(actor).await?.first().map(|f| f.id).ok_or(StoreError::NotFound { what: "facility", id: "(none set up)".into() })
    }

    pub async fn groups(&self, actor: &Actor, facility: FacilityId) -> Result<Vec<GroupSummary>> {
        guard(actor, Permission::ReadChildren, Scope::Facility(facility))
            .or_else(|_| guard(actor, Permission::ManageFacility, Scope::Facility(facility)))?;
        let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
            "SELECT g.id, g.name, g.care_type, (SELECT count(*) FROM children c WHERE c.group_id = g.id) FROM groups g WHERE g.facility_id = ? ORDER BY g.name",
        )
        .bind(facility.to_string())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|r| GroupSummary { id: uuid(&r.0), name: r.1, care_type: care_type(&r.2), children: r.3 as u32 }).collect())
    }

    /// Search as you type: every word must occur in "first last" (case-insensitive).
    pub async fn search_children(&self, actor: &Actor, facility: FacilityId, query: &str, limit: u32) -> Result<Vec<ChildSummary>> {
        guard(actor, Permission::ReadChildren, Scope::Facility(facility))?;
        let words: Vec<String> =
            query.to_lowercase().split_whitespace().take(4).map(|w| format!("%{}%", w.replace(['%', '_'], ""))).collect();
        let groups = group_filter(actor);
        let mut sql = String::from(
            "SELECT c.id, c.first_name, c.last_name, c.birth_date, g.name FROM children c LEFT JOIN groups g ON g.id = c.group_id WHERE c.facility_id = ?",
        );
        for _ in &words {
            sql.push_str(" AND c.search_name LIKE ?");
        }
        if let Some(gs) = &groups {
            sql.push_str(&format!(" AND c.group_id IN ({})", vec!["?"; gs.len().max(1)].join(",")));
        }
        sql.push_str(" ORDER BY c.last_name, c.first_name LIMIT ?");
        let mut q =
            sqlx::query_as::<_, (String, String, String, String, Option<String>)>(sqlx::AssertSqlSafe(sql)).bind(facility.to_string());
        for w in &words {
            q = q.bind(w);
        }
        if let Some(gs) = &groups {
            if gs.is_empty() {
                q = q.bind("-");
            }
            for g in gs {
                q = q.bind(g);
            }
        }
        let rows = q.bind(limit as i64).fetch_all(&self.pool).await?;
        Ok(rows
            .into_iter()
            .map(|r| ChildSummary { id: uuid(&r.0), first_name: r.1, last_name: r.2, birth_date: parse_date(&r.3), group: r.4 })
            .collect())
    }

    pub async fn child_detail(&self, actor: &Actor, child: ChildId) -> Result<ChildDetail> {
        let mut conn = self.pool.acquire().await?;
        let (facility, group) = rows::child_scope(&mut conn, child).await?;
        guard(actor, Permission::ReadChildren, Scope::Child { facility, group })?;
        let r: (String, String, String, String, String, String, String) =
            sqlx::query_as("SELECT first_name, last_name, birth_date, street, postal_code, city, municipality FROM children WHERE id = ?")
                .bind(child.to_string())
                .fetch_one(&mut *conn)
                .await?;
        let guardians: Vec<(String, String, String, String, String, i64)> = sqlx::query_as(
            "SELECT g.id, g.first_name, g.last_name, g.email, g.phone, g.single_parent FROM guardians g
             JOIN child_guardians cg ON cg.guardian_id = g.id WHERE cg.child_id = ? ORDER BY g.last_name, g.first_name",
        )
        .bind(child.to_string())
        .fetch_all(&mut *conn)
        .await?;
        let mut contracts = Vec::new();
        if actor.role.allows(Permission::ReadContracts) {
            let ids: Vec<(String,)> = sqlx::query_as("SELECT id FROM contracts WHERE child_id = ? ORDER BY start_date")
                .bind(child.to_string())
                .fetch_all(&mut *conn)
                .await?;
            for (id,) in ids {
                contracts.push(rows::contract(&mut conn, uuid(&id)).await?.0);
            }
        }
        let tickets = tickets_of(&mut conn, "child_id", &child.to_string()).await?;
        let mut attendance = Vec::new();
        if authorize(actor, Permission::ReadAttendance, Scope::Child { facility, group }).is_ok() {
            let since = self.now().date_naive() - chrono::Duration::days(14);
            let days: Vec<String> =
                sqlx::query_scalar("SELECT DISTINCT date FROM attendance_events WHERE child_id = ? AND date >= ? ORDER BY date DESC")
                    .bind(child.to_string())
                    .bind(date(since))
                    .fetch_all(&mut *conn)
                    .await?;
            for d in days {
                let day = parse_date(&d);
                attendance.push(AttendanceDay { date: day, status: day_status(&day_events(&mut conn, child, day).await?) });
            }
        }
        Ok(ChildDetail {
            child: Child {
                id: child,
                facility_id: facility,
                group_id: group,
                first_name: r.0,
                last_name: r.1,
                birth_date: parse_date(&r.2),
                address: Address { street: r.3, postal_code: r.4, city: r.5 },
                municipality: r.6,
            },
            guardians: guardians
                .into_iter()
                .map(|g| GuardianSummary {
                    id: uuid(&g.0),
                    first_name: g.1,
                    last_name: g.2,
                    email: g.3,
                    phone: g.4,
                    single_parent: g.5 != 0,
                })
                .collect(),
            contracts,
            tickets,
            attendance,
        })
    }

    /// Health data of a child. Audited read.
    pub async fn child_health(&self, actor: &Actor, child: ChildId) -> Result<HealthRecord> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let (facility, group) = rows::child_scope(&mut tx, child).await?;
        guard(actor, Permission::ReadHealth, Scope::Child { facility, group })?;
        let (proof, notes): (Option<String>, String) = sqlx::query_as("SELECT measles_proof, health_notes FROM children WHERE id = ?")
            .bind(child.to_string())
            .fetch_one(&mut *tx)
            .await?;
        audit::actor_action(&mut tx, self, actor, "read_health", &[format!("child:{child}")]).await?;
        tx.commit().await?;
        Ok(HealthRecord { measles_proof: proof.as_deref().map(parse_date), health_notes: notes })
    }

    /// Income and bank data of a guardian. Audited read; office and provider admin only.
    pub async fn guardian_finance(&self, actor: &Actor, guardian: GuardianId) -> Result<GuardianFinance> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for scope in rows::guardian_scopes(&mut tx, guardian).await? {
            guard(actor, Permission::ReadFinance, scope)?;
        }
        let row: Option<(Option<i64>, Option<String>, Option<String>)> =
            sqlx::query_as("SELECT income_cents, iban, account_holder FROM guardians WHERE id = ?")
                .bind(guardian.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        let (income_cents, iban, account_holder) = row.ok_or(StoreError::NotFound { what: "guardian", id: guardian.to_string() })?;
        audit::actor_action(&mut tx, self, actor, "read_finance", &[format!("guardian:{guardian}")]).await?;
        tx.commit().await?;
        Ok(GuardianFinance { income_cents, iban, account_holder })
    }

    /// The facility's waiting list, ranked (see `waiting_list_key`).
    pub async fn waiting_list(&self, actor: &Actor, facility: FacilityId) -> Result<Vec<WaitingEntry>> {
        guard(actor, Permission::ReadApplications, Scope::Facility(facility))?;
        let mut conn = self.pool.acquire().await?;
        let now = self.now();
        let (fac_municipality, _): (String, i64) = sqlx::query_as("SELECT municipality, version FROM facilities WHERE id = ?")
            .bind(facility.to_string())
            .fetch_one(&mut *conn)
            .await?;
        let ids: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT a.id, c.first_name || ' ' || c.last_name, c.birth_date, c.municipality FROM applications a
             JOIN application_choices ch ON ch.application_id = a.id AND ch.facility_id = ?
             JOIN children c ON c.id = a.child_id WHERE a.state IN ('open','reserved')",
        )
        .bind(facility.to_string())
        .fetch_all(&mut *conn)
        .await?;
        let mut entries = Vec::with_capacity(ids.len());
        for (id, name, birth, municipality) in ids {
            let (app, _) = rows::application(&mut conn, uuid(&id)).await?;
            let hold: Option<(String, String, String, String, String, String, String, String, String, i64)> = sqlx::query_as(
                "SELECT id, application_id, child_id, facility_id, care_type, start_date, created_at, expires_at, status, version FROM reservations
                 WHERE application_id = ? AND status IN ('provisional','confirmed') ORDER BY created_at DESC LIMIT 1",
            )
            .bind(&id)
            .fetch_optional(&mut *conn)
            .await?;
            let hold = hold.map(|h| rows::reservation_row(h).0);
            let out_of_town = municipality.trim().to_lowercase() != fac_municipality.trim().to_lowercase();
            let ticket = if out_of_town {
                tickets_of(&mut conn, "child_id", &app.child_id.to_string()).await?.last().map(|t| t.state)
            } else {
                None
            };
            entries.push((
                waiting_list_key(&app, facility),
                WaitingEntry {
                    position: 0,
                    application_id: app.id,
                    child_id: app.child_id,
                    child_name: name,
                    birth_date: parse_date(&birth),
                    wanted_start: app.wanted_start,
                    care_type: app.care_type,
                    care_hours: app.care_hours,
                    rank: app.choices.iter().position(|f| *f == facility).map(|p| p as u32 + 1).unwrap_or(0),
                    priority: app.priority,
                    state: app.state,
                    reservation_id: hold.as_ref().map(|h| h.id),
                    hold_days_left: hold.as_ref().and_then(|h| h.days_left(now)),
                    out_of_town,
                    ticket,
                },
            ));
        }
        entries.sort_by_key(|e| e.0);
        Ok(entries
            .into_iter()
            .enumerate()
            .map(|(i, (_, mut e))| {
                e.position = i as u32 + 1;
                e
            })
            .collect())
    }

    /// Occupancy and staffing forecast for `months` months from the month of `from`.
    pub async fn occupancy(&self, actor: &Actor, facility: FacilityId, from: NaiveDate, months: u32) -> Result<Forecast> {
        guard(actor, Permission::ReadOccupancy, Scope::Facility(facility))?;
        let mut conn = self.pool.acquire().await?;
        // The inputs are cached per facility and keyed by the audit chain's head: every change
        // of base tables writes an audit row in its own transaction (ARCHITECTURE, boundary 2),
        // so an unchanged head means unchanged inputs — even when another process wrote. The
        // stamp is read before the inputs, so a write in between only causes a reload later.
        let stamp: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM audit_log").fetch_one(&mut *conn).await?;
        let cached = self.occupancy_cache.lock().expect("not poisoned").get(&facility).filter(|(s, _)| *s == stamp).map(|(_, i)| i.clone());
        let inputs = match cached {
            Some(i) => i,
            None => {
                let i = std::sync::Arc::new(rows::occupancy_inputs(&mut conn, facility).await?);
                self.occupancy_cache.lock().expect("not poisoned").insert(facility, (stamp, i.clone()));
                i
            }
        };
        Ok(occupancy::forecast(&inputs.capacity, &inputs.spans, &inputs.holds_at(self.now()), from, months))
    }

    pub async fn contracts(&self, actor: &Actor, facility: FacilityId) -> Result<Vec<(String, Contract)>> {
        guard(actor, Permission::ReadContracts, Scope::Facility(facility))?;
        let mut conn = self.pool.acquire().await?;
        let ids: Vec<(String, String)> = sqlx::query_as(
            "SELECT k.id, c.first_name || ' ' || c.last_name FROM contracts k JOIN children c ON c.id = k.child_id WHERE k.facility_id = ? ORDER BY c.last_name, c.first_name",
        )
        .bind(facility.to_string())
        .fetch_all(&mut *conn)
        .await?;
        let mut out = Vec::with_capacity(ids.len());
        for (id, name) in ids {
            out.push((name, rows::contract(&mut conn, uuid(&id)).await?.0));
        }
        Ok(out)
    }

    /// Everyone's status on `day` (educators: their groups).
    pub async fn attendance_day(&self, actor: &Actor, facility: FacilityId, day: NaiveDate) -> Result<Vec<AttendanceRow>> {
        guard(actor, Permission::ReadAttendance, Scope::Facility(facility))?;
        let mut conn = self.pool.acquire().await?;
        let children: Vec<(String, String, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT c.id, c.first_name || ' ' || c.last_name, g.name, c.group_id FROM children c LEFT JOIN groups g ON g.id = c.group_id
             WHERE c.facility_id = ? AND EXISTS (SELECT 1 FROM contracts k WHERE k.child_id = c.id AND k.start_date <= ?2 AND (k.end_date IS NULL OR k.end_date >= ?2))
             ORDER BY g.name, c.last_name, c.first_name",
        )
        .bind(facility.to_string())
        .bind(date(day))
        .fetch_all(&mut *conn)
        .await?;
        let groups = group_filter(actor);
        let mut out = Vec::new();
        for (id, name, group, group_id) in children {
            if let Some(gs) = &groups {
                if !group_id.as_ref().is_some_and(|g| gs.contains(g)) {
                    continue;
                }
            }
            let child: ChildId = uuid(&id);
            let events = day_events(&mut conn, child, day).await?;
            out.push(AttendanceRow {
                child_id: child,
                child_name: name,
                group,
                status: day_status(&events),
                last_event: last_effective(&events),
            });
        }
        Ok(out)
    }

    pub async fn tickets(&self, actor: &Actor, facility: FacilityId) -> Result<Vec<TicketSummary>> {
        guard(actor, Permission::ManageTickets, Scope::Facility(facility))?;
        let mut conn = self.pool.acquire().await?;
        tickets_of(&mut conn, "facility", &facility.to_string()).await
    }

    /// Drops in-memory caches (benchmarks measure the cold path with it).
    pub fn clear_caches(&self) {
        self.occupancy_cache.lock().expect("not poisoned").clear();
    }

    pub async fn outbox_stats(&self) -> Result<OutboxStats> {
        let (pending, last): (i64, i64) =
            sqlx::query_as("SELECT count(*) FILTER (WHERE status = 'pending'), COALESCE(MAX(client_seq), 0) FROM outbox")
                .fetch_one(&self.pool)
                .await?;
        Ok(OutboxStats { pending, last_seq: last })
    }

    /// DSGVO Art. 20: everything stored about a child and its guardians (and their other
    /// children), as JSON. Income and bank data only for roles that may read them; the
    /// export itself is audited.
    pub async fn export_family(&self, actor: &Actor, child: ChildId) -> Result<serde_json::Value> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let (facility, group) = rows::child_scope(&mut tx, child).await?;
        guard(actor, Permission::ExportFamily, Scope::Child { facility, group })?;
        let with_finance = actor.role.allows(Permission::ReadFinance);
        // The family: the child, its guardians, and the guardians' other children.
        let kids: Vec<(String,)> = sqlx::query_as(
            "SELECT DISTINCT cg2.child_id FROM child_guardians cg1 JOIN child_guardians cg2 ON cg2.guardian_id = cg1.guardian_id WHERE cg1.child_id = ?1
             UNION SELECT ?1",
        )
        .bind(child.to_string())
        .fetch_all(&mut *tx)
        .await?;
        let mut children = Vec::new();
        let mut records = Vec::new();
        for (k,) in &kids {
            let row: (String, String, String, String, String, String, String, Option<String>, String) = sqlx::query_as(
                "SELECT first_name, last_name, birth_date, street, postal_code, city, municipality, measles_proof, health_notes FROM children WHERE id = ?",
            )
            .bind(k)
            .fetch_one(&mut *tx)
            .await?;
            let apps: Vec<(String, String, String, i64, String, String)> =
                sqlx::query_as("SELECT id, wanted_start, care_type, care_tenths, origin, state FROM applications WHERE child_id = ?")
                    .bind(k)
                    .fetch_all(&mut *tx)
                    .await?;
            let cids: Vec<(String,)> = sqlx::query_as("SELECT id FROM contracts WHERE child_id = ?").bind(k).fetch_all(&mut *tx).await?;
            let mut contracts = Vec::new();
            for (cid,) in cids {
                contracts.push(rows::contract(&mut tx, uuid(&cid)).await?.0);
            }
            let attendance: Vec<(String, String, Option<String>, String)> =
                sqlx::query_as("SELECT date, kind, absence_type, at FROM attendance_events WHERE child_id = ? ORDER BY seq")
                    .bind(k)
                    .fetch_all(&mut *tx)
                    .await?;
            let tickets = tickets_of(&mut tx, "child_id", k).await?;
            children.push(json!({
                "id": k, "first_name": row.0, "last_name": row.1, "birth_date": row.2,
                "address": {"street": row.3, "postal_code": row.4, "city": row.5}, "municipality": row.6,
                "health": {"measles_proof": row.7, "health_notes": row.8},
                "applications": apps.iter().map(|a| json!({"id": a.0, "wanted_start": a.1, "care_type": a.2, "care_hours": hours(a.3).hours(), "origin": a.4, "state": a.5})).collect::<Vec<_>>(),
                "contracts": contracts,
                "attendance": attendance.iter().map(|a| json!({"date": a.0, "kind": a.1, "absence_type": a.2, "at": a.3})).collect::<Vec<_>>(),
                "tickets": tickets,
            }));
            records.push(format!("child:{k}"));
        }
        let guardians: Vec<(String, String, String, String, String, String, String, String, i64, Option<i64>, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT DISTINCT g.id, g.first_name, g.last_name, g.email, g.phone, g.street, g.postal_code, g.city, g.single_parent, g.income_cents, g.iban, g.account_holder
             FROM guardians g JOIN child_guardians cg ON cg.guardian_id = g.id WHERE cg.child_id = ?",
        )
        .bind(child.to_string())
        .fetch_all(&mut *tx)
        .await?;
        let guardians: Vec<serde_json::Value> = guardians
            .into_iter()
            .map(|g| {
                records.push(format!("guardian:{}", g.0));
                let mut v = json!({
                    "id": g.0, "first_name": g.1, "last_name": g.2, "email": g.3, "phone": g.4,
                    "address": {"street": g.5, "postal_code": g.6, "city": g.7}, "single_parent": g.8 != 0,
                });
                v["finance"] = if with_finance {
                    json!({"income_cents": g.9, "iban": g.10, "account_holder": g.11})
                } else {
                    json!("withheld: income and bank data are exported by the office (Verwaltung)")
                };
                v
            })
            .collect();
        audit::actor_action(&mut tx, self, actor, "export_family", &records).await?;
        tx.commit().await?;
        Ok(json!({
            "format": "kitakontor-family-export/1",
            "exported_at": ts(self.now()),
            "legal_basis": "DSGVO Art. 20",
            "children": children,
            "guardians": guardians,
        }))
    }
}

async fn tickets_of(conn: &mut SqliteConnection, by: &str, id: &str) -> Result<Vec<TicketSummary>> {
    let sql = if by == "child_id" {
        "SELECT t.id, t.child_id, t.home_municipality, t.state, t.reference FROM tickets t WHERE t.child_id = ? ORDER BY t.requested_at"
    } else {
        "SELECT t.id, t.child_id, t.home_municipality, t.state, t.reference FROM tickets t JOIN children c ON c.id = t.child_id WHERE c.facility_id = ? ORDER BY t.requested_at"
    };
    let rows: Vec<(String, String, String, String, String)> = sqlx::query_as(sql).bind(id).fetch_all(&mut *conn).await?;
    Ok(rows
        .into_iter()
        .map(|r| TicketSummary {
            id: uuid(&r.0),
            child_id: uuid(&r.1),
            home_municipality: r.2,
            state: TicketState::from_code(&r.3).expect("CHECK"),
            reference: r.4,
        })
        .collect())
}

impl Store {
    /// The start date of a reservation (the default start of the contract made from it).
    pub async fn reservation_start(&self, id: ReservationId) -> Result<NaiveDate> {
        let mut conn = self.pool.acquire().await?;
        Ok(rows::reservation(&mut conn, id).await?.0.start_date)
    }
}

/// A group with its staff, for the Gruppen screen (required vs planned staff).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct GroupStaffing {
    pub group: GroupSummary,
    pub staff: Vec<String>,
    pub children: Vec<ChildSummary>,
    /// Sum of contracted hours per day of the group's children under contract today.
    pub contracted_hours: f64,
    /// Planned pedagogical FTE: each assigned educator, shared between their groups.
    pub planned_fte: f64,
}

impl Store {
    pub async fn group_staffing(&self, actor: &Actor, facility: FacilityId) -> Result<Vec<GroupStaffing>> {
        let groups = self.groups(actor, facility).await?;
        let visible = group_filter(actor);
        let today = date(self.now().date_naive());
        let mut out = Vec::new();
        for g in groups {
            if visible.as_ref().is_some_and(|v| !v.contains(&g.id.to_string())) {
                continue;
            }
            // An educator working in n groups counts 1/n in each (staff hours are not recorded yet).
            let rows: Vec<(String, i64)> = sqlx::query_as(
                "SELECT u.display_name, (SELECT count(*) FROM group_staff o WHERE o.user_id = u.id)
                 FROM group_staff s JOIN users u ON u.id = s.user_id WHERE s.group_id = ? AND u.active = 1 ORDER BY u.display_name",
            )
            .bind(g.id.to_string())
            .fetch_all(&self.pool)
            .await?;
            let planned_fte = rows.iter().map(|(_, n)| 1.0 / (*n).max(1) as f64).sum();
            let staff: Vec<String> = rows.into_iter().map(|(name, _)| name).collect();
            let kids: Vec<(String, String, String, String)> = sqlx::query_as(
                "SELECT id, first_name, last_name, birth_date FROM children WHERE group_id = ? ORDER BY last_name, first_name",
            )
            .bind(g.id.to_string())
            .fetch_all(&self.pool)
            .await?;
            let tenths: i64 = sqlx::query_scalar(
                "SELECT COALESCE(SUM((SELECT v.care_tenths FROM contract_versions v WHERE v.contract_id = k.id AND v.valid_from <= ?2 ORDER BY v.version_no DESC LIMIT 1)), 0)
                 FROM contracts k JOIN children c ON c.id = k.child_id
                 WHERE c.group_id = ?1 AND k.start_date <= ?2 AND (k.end_date IS NULL OR k.end_date >= ?2)",
            )
            .bind(g.id.to_string())
            .bind(&today)
            .fetch_one(&self.pool)
            .await?;
            let name = g.name.clone();
            out.push(GroupStaffing {
                staff,
                children: kids
                    .into_iter()
                    .map(|k| ChildSummary {
                        id: uuid(&k.0),
                        first_name: k.1,
                        last_name: k.2,
                        birth_date: parse_date(&k.3),
                        group: Some(name.clone()),
                    })
                    .collect(),
                contracted_hours: tenths as f64 / 10.0,
                planned_fte,
                group: g,
            });
        }
        Ok(out)
    }
}
