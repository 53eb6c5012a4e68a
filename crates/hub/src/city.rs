//! The city's read models, kept from the commands the hub applies: facilities with their
//! capacities, children, applications with their ranked choices, tickets (bookings are in
//! `bookings`). Plus the city's own services: facilities from the administrator, the
//! youth office's ticket decisions, the free-place overview.
//!
//! The tables are plain (one row per child / application) so that the waiting-list
//! de-duplication and the registry matching can be built on them later.

use crate::apply::{self, Effect, Rejection};
use crate::policy::RecordScope;
use crate::{bookings, records, Hub, HubError};
use chrono::{DateTime, NaiveDate, Utc};
use kitakontor_core::application::{ApplicationEvent, ApplicationState};
use kitakontor_core::care::CareType;
use kitakontor_core::command::{self as cmd, Command};
use kitakontor_core::ids::{FacilityId, TicketId};
use kitakontor_core::protocol::FreePlaces;
use kitakontor_core::ticket::TicketState;
use sqlx::types::Json;
use sqlx::PgConnection;
use uuid::Uuid;

/// What a device command's read-model changes need to know besides the command.
pub(crate) struct Ctx {
    /// The device's facility scope (new children and applications are filed under it).
    pub scope: RecordScope,
    pub now: DateTime<Utc>,
}

impl Ctx {
    fn facility(&self) -> Uuid {
        self.scope.facility_id.expect("device scope has a facility").0
    }
}

/// Applies a device command to the read models. `Err(rejection)` when a city rule refuses it.
pub(crate) async fn apply(conn: &mut PgConnection, command: &Command, ctx: &Ctx) -> Result<Effect, HubError> {
    use Command as C;
    match command {
        C::UpsertFacility(c) => upsert_facility_rows(conn, c, ctx.now).await,
        C::CreateChild(c) => create_child(conn, c, ctx).await.map(Ok),
        C::UpdateChild(c) => update_child(conn, c, ctx).await.map(Ok),
        C::DeleteChild(c) => {
            // The child's file goes, with its applications and tickets (bookings stay: they
            // are the history of the places and carry no personal data but the id).
            sqlx::query(
                "WITH a AS (DELETE FROM applications WHERE child_id = $1), t AS (DELETE FROM tickets WHERE child_id = $1)
                 DELETE FROM children WHERE id = $1",
            )
            .bind(c.child_id.0)
            .execute(&mut *conn)
            .await?;
            records::forget_fields(conn, &format!("child:{}", c.child_id)).await?;
            Ok(Ok(()))
        }
        C::SubmitApplication(c) => submit_application(conn, c, ctx).await,
        C::SetApplicationPriority(c) => {
            sqlx::query("UPDATE applications SET priority = $2, updated_at = $3 WHERE id = $1")
                .bind(c.application_id.0)
                .bind(c.priority)
                .bind(ctx.now)
                .execute(&mut *conn)
                .await?;
            Ok(Ok(()))
        }
        C::RejectApplication(c) => close_application(conn, c.application_id.0, ApplicationEvent::Reject, ctx.now).await,
        C::WithdrawApplication(c) => close_application(conn, c.application_id.0, ApplicationEvent::Withdraw, ctx.now).await,
        C::ReservePlace(c) => bookings::reserve(conn, c, ctx.now).await,
        C::CancelReservation(c) => bookings::cancel(conn, c.reservation_id, ctx.now).await,
        C::ExpireReservation(c) => bookings::expire_by_device(conn, c.reservation_id, ctx.now).await,
        C::ConcludeContract(c) => bookings::conclude(conn, c, ctx.now).await,
        C::TerminateContract(c) => bookings::terminate(conn, c).await,
        C::RequestTicket(c) => {
            sqlx::query(
                "INSERT INTO tickets (id, child_id, facility_id, home_municipality, state, requested_at)
                 VALUES ($1, $2, $3, $4, 'requested', $5) ON CONFLICT (id) DO NOTHING",
            )
            .bind(c.ticket_id.0)
            .bind(c.child_id.0)
            .bind(ctx.facility())
            .bind(c.home_municipality.trim())
            .bind(ctx.now)
            .execute(&mut *conn)
            .await?;
            Ok(Ok(()))
        }
        C::RecordTicketDecision(c) => decide(conn, c.ticket_id, c.approved, &c.reference, ctx.now).await,
        // No read model on the hub (yet): groups, users, guardians, health, finance, mandates,
        // creditor data, contract amendments, attendance. They live in the log only.
        _ => Ok(Ok(())),
    }
}

/// Whether `apply` can refuse this command after it has written something: then it runs under
/// a savepoint (`apply::device_command`), so that a refused command leaves nothing behind.
/// Every other command refuses, if at all, before its first write (or has no read model).
/// Keep in step with `apply` and the functions it calls.
pub(crate) fn may_refuse_after_writing(command: &Command) -> bool {
    use Command as C;
    // Each writes the booking first, then moves the application (`transition`), which can
    // refuse; ConcludeContract also turns a failed UPDATE (exclusion constraint) into a refusal.
    matches!(command, C::ReservePlace(_) | C::CancelReservation(_) | C::ExpireReservation(_) | C::ConcludeContract(_))
}

/// Creates or updates a facility. Refused when a smaller capacity would leave an active
/// booking outside the places (slot above the new capacity) from today on.
async fn upsert_facility_rows(conn: &mut PgConnection, c: &cmd::UpsertFacility, now: DateTime<Utc>) -> Result<Effect, HubError> {
    let types: Vec<&str> = c.capacities.iter().map(|(t, _)| t.code()).collect();
    let caps: Vec<i32> = c.capacities.iter().map(|(_, n)| i32::try_from(*n).unwrap_or(i32::MAX)).collect();
    let stranded: Option<(String, i64)> = sqlx::query_as(
        "SELECT b.care_type, count(*) FROM bookings b
         LEFT JOIN unnest($2::text[], $3::int4[]) AS n(care_type, capacity) ON n.care_type = b.care_type
         WHERE b.facility_id = $1 AND b.active AND b.slot > COALESCE(n.capacity, 0) AND b.period && daterange($4, NULL, '[)')
         GROUP BY b.care_type ORDER BY b.care_type LIMIT 1",
    )
    .bind(c.facility_id.0)
    .bind(&types)
    .bind(&caps)
    .bind(now.date_naive())
    .fetch_optional(&mut *conn)
    .await?;
    if let Some((care_type, n)) = stranded {
        let label = care_type.parse::<CareType>().map(|t| t.label_de()).unwrap_or("?");
        return Ok(Err(Rejection::new(
            "capacity_below_bookings",
            format!("Die Plätze ({label}) können nicht so weit verringert werden: {n} belegte(r) Platz/Plätze läge(n) darüber"),
        )));
    }
    sqlx::query("INSERT INTO providers (id, name) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name")
        .bind(c.provider_id.0)
        .bind(c.provider_name.trim())
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO facilities (id, provider_id, name, profile, address, municipality, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (id) DO UPDATE SET provider_id = EXCLUDED.provider_id, name = EXCLUDED.name, profile = EXCLUDED.profile,
             address = EXCLUDED.address, municipality = EXCLUDED.municipality, updated_at = EXCLUDED.updated_at",
    )
    .bind(c.facility_id.0)
    .bind(c.provider_id.0)
    .bind(c.name.trim())
    .bind(&c.profile)
    .bind(Json(&c.address))
    .bind(c.municipality.trim())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM facility_capacities WHERE facility_id = $1").bind(c.facility_id.0).execute(&mut *conn).await?;
    sqlx::query(
        "INSERT INTO facility_capacities (facility_id, care_type, capacity) SELECT $1, t, n FROM unnest($2::text[], $3::int4[]) AS u(t, n)
         ON CONFLICT (facility_id, care_type) DO UPDATE SET capacity = EXCLUDED.capacity",
    )
    .bind(c.facility_id.0)
    .bind(&types)
    .bind(&caps)
    .execute(&mut *conn)
    .await?;
    // The provider becomes a known record, so its creditor data (SetCreditor) can be changed.
    records::ensure(conn, &format!("provider:{}", c.provider_id), RecordScope::provider(c.provider_id)).await?;
    Ok(Ok(()))
}

async fn create_child(conn: &mut PgConnection, c: &cmd::CreateChild, ctx: &Ctx) -> Result<(), HubError> {
    sqlx::query(
        "INSERT INTO children (id, facility_id, first_name, last_name, birth_date, address, municipality, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
         ON CONFLICT (id) DO UPDATE SET first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name, birth_date = EXCLUDED.birth_date,
             address = EXCLUDED.address, municipality = EXCLUDED.municipality, updated_at = EXCLUDED.updated_at",
    )
    .bind(c.child_id.0)
    .bind(ctx.facility())
    .bind(c.first_name.trim())
    .bind(c.last_name.trim())
    .bind(c.birth_date)
    .bind(Json(&c.address))
    .bind(c.municipality.trim())
    .bind(ctx.now)
    .execute(conn)
    .await?;
    Ok(())
}

async fn update_child(conn: &mut PgConnection, c: &cmd::UpdateChild, ctx: &Ctx) -> Result<(), HubError> {
    sqlx::query(
        "UPDATE children SET first_name = COALESCE($2, first_name), last_name = COALESCE($3, last_name),
             birth_date = COALESCE($4, birth_date), address = COALESCE($5, address), municipality = COALESCE($6, municipality),
             updated_at = $7
         WHERE id = $1",
    )
    .bind(c.child_id.0)
    .bind(c.first_name.as_deref().map(str::trim))
    .bind(c.last_name.as_deref().map(str::trim))
    .bind(c.birth_date)
    .bind(c.address.as_ref().map(Json))
    .bind(c.municipality.as_deref().map(str::trim))
    .bind(ctx.now)
    .execute(conn)
    .await?;
    Ok(())
}

async fn submit_application(conn: &mut PgConnection, c: &cmd::SubmitApplication, ctx: &Ctx) -> Result<Effect, HubError> {
    if let Err(e) = kitakontor_core::application::validate_choices(&c.choices) {
        return Ok(Err(Rejection::new("invalid_choices", format!("Die Wunsch-Einrichtungen sind ungültig: 1 bis 5 verschiedene ({e})"))));
    }
    let inserted = sqlx::query(
        "INSERT INTO applications (id, child_id, facility_id, wanted_start, care_type, care_tenths, origin, state, submitted_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $8) ON CONFLICT (id) DO NOTHING",
    )
    .bind(c.application_id.0)
    .bind(c.child_id.0)
    .bind(ctx.facility())
    .bind(c.wanted_start)
    .bind(c.care_type.code())
    .bind(i32::from(c.care_hours.tenths()))
    .bind(c.origin.code())
    .bind(ctx.now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(Err(Rejection::new("duplicate", "Diese Bedarfsanmeldung ist dem Hub schon bekannt")));
    }
    let ranks: Vec<i32> = (1..=c.choices.len() as i32).collect();
    let facilities: Vec<Uuid> = c.choices.iter().map(|f| f.0).collect();
    sqlx::query(
        "INSERT INTO application_choices (application_id, rank, facility_id) SELECT $1, r, f FROM unnest($2::int4[], $3::uuid[]) AS u(r, f)",
    )
    .bind(c.application_id.0)
    .bind(&ranks)
    .bind(&facilities)
    .execute(&mut *conn)
    .await?;
    Ok(Ok(()))
}

/// The application's state on the hub, locked for the change. `None`: the hub does not know it.
pub(crate) async fn application_state(conn: &mut PgConnection, id: Uuid) -> Result<Option<ApplicationState>, HubError> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT state FROM applications WHERE id = $1 FOR UPDATE").bind(id).fetch_optional(conn).await?;
    Ok(row.and_then(|r| ApplicationState::from_code(&r.0)))
}

/// Moves an application through core's state machine; a refused transition is a rejection.
pub(crate) async fn transition(conn: &mut PgConnection, id: Uuid, event: ApplicationEvent, now: DateTime<Utc>) -> Result<Effect, HubError> {
    let Some(state) = application_state(conn, id).await? else {
        return Ok(Err(Rejection::new("application_unknown", "Die Bedarfsanmeldung ist dem Hub nicht bekannt")));
    };
    let next = match state.transition(event) {
        Ok(n) => n,
        Err(_) => {
            return Ok(Err(Rejection::new(
                "illegal_state",
                format!("Die Bedarfsanmeldung hat auf dem Hub den Stand „{}“; das ist damit nicht mehr möglich", state.label_de()),
            )))
        }
    };
    sqlx::query("UPDATE applications SET state = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(next.code())
        .bind(now)
        .execute(conn)
        .await?;
    Ok(Ok(()))
}

async fn close_application(conn: &mut PgConnection, id: Uuid, event: ApplicationEvent, now: DateTime<Utc>) -> Result<Effect, HubError> {
    if let Err(r) = transition(conn, id, event, now).await? {
        return Ok(Err(r));
    }
    // A rejected or withdrawn application frees its hold.
    bookings::release_holds_of(conn, id).await?;
    Ok(Ok(()))
}

async fn decide(
    conn: &mut PgConnection,
    ticket: TicketId,
    approved: bool,
    reference: &str,
    now: DateTime<Utc>,
) -> Result<Effect, HubError> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT state FROM tickets WHERE id = $1 FOR UPDATE").bind(ticket.0).fetch_optional(&mut *conn).await?;
    let Some(state) = row.and_then(|r| TicketState::from_code(&r.0)) else {
        return Ok(Err(Rejection::new("ticket_unknown", "Das Ticket ist dem Hub nicht bekannt")));
    };
    let next = match state.decide(approved) {
        Ok(n) => n,
        Err(_) => {
            return Ok(Err(Rejection::new(
                "ticket_already_decided",
                format!("Über das Ticket wurde bereits entschieden ({})", state.label_de()),
            )))
        }
    };
    sqlx::query("UPDATE tickets SET state = $2, reference = $3, decided_at = $4 WHERE id = $1")
        .bind(ticket.0)
        .bind(next.code())
        .bind(reference.trim())
        .bind(now)
        .execute(conn)
        .await?;
    Ok(Ok(()))
}

/// A facility's name for messages (its id when the hub does not know it).
pub(crate) async fn facility_name(conn: &mut PgConnection, id: Uuid) -> Result<String, HubError> {
    let row: Option<(String,)> = sqlx::query_as("SELECT name FROM facilities WHERE id = $1").bind(id).fetch_optional(conn).await?;
    Ok(row.map(|r| r.0).unwrap_or_else(|| format!("Einrichtung {id}")))
}

impl Hub {
    /// City reference data from the administrator: creates or updates a facility, its provider
    /// and capacities, and logs it city-wide (everyone sees facilities) as the hub's own command.
    pub async fn upsert_facility(&self, c: cmd::UpsertFacility) -> Result<(), HubError> {
        for (name, value) in [("name", &c.name), ("provider_name", &c.provider_name), ("municipality", &c.municipality)] {
            kitakontor_core::person::validate_name(name, value).map_err(|e| HubError::BadRequest(format!("Ungültige Einrichtung: {e}")))?;
        }
        for (t, _) in &c.capacities {
            if c.capacities.iter().filter(|(x, _)| x == t).count() > 1 {
                return Err(HubError::BadRequest(format!("Die Betreuungsart {} ist doppelt angegeben", t.label_de())));
            }
        }
        let now = self.now();
        let record = format!("facility:{}", c.facility_id);
        let mut tx = self.pool.begin().await?;
        records::lock(&mut tx, None, [record.as_str()]).await?;
        if let Err(r) = upsert_facility_rows(&mut tx, &c, now).await? {
            return Err(HubError::BadRequest(r.message));
        }
        let scope = RecordScope { facility_id: Some(c.facility_id), provider_id: Some(c.provider_id) };
        let command = Command::UpsertFacility(c);
        apply::hub_command(&mut tx, &command, &[(record, scope)], RecordScope::CITY, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The youth office decides a ticket: logged as the hub's `RecordTicketDecision` in the
    /// child's facility scope.
    pub async fn decide_ticket(&self, ticket_id: TicketId, approved: bool, reference: &str) -> Result<(), HubError> {
        let now = self.now();
        let record = format!("ticket:{ticket_id}");
        let mut tx = self.pool.begin().await?;
        records::lock(&mut tx, None, [record.as_str()]).await?;
        let row: Option<(Uuid,)> =
            sqlx::query_as("SELECT facility_id FROM tickets WHERE id = $1").bind(ticket_id.0).fetch_optional(&mut *tx).await?;
        let Some((facility,)) = row else {
            return Err(HubError::NotFound(format!("Ticket {ticket_id}")));
        };
        if let Err(r) = decide(&mut tx, ticket_id, approved, reference, now).await? {
            return Err(HubError::BadRequest(r.message));
        }
        let known = records::load(&mut tx, std::slice::from_ref(&record)).await?;
        let provider = sqlx::query_as::<_, (Uuid,)>("SELECT provider_id FROM facilities WHERE id = $1")
            .bind(facility)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| kitakontor_core::ids::ProviderId(r.0));
        let scope =
            known.get(&record).map(|r| r.scope).unwrap_or(RecordScope { facility_id: Some(FacilityId(facility)), provider_id: provider });
        let command =
            Command::RecordTicketDecision(cmd::RecordTicketDecision { ticket_id, approved, reference: reference.trim().to_string() });
        apply::hub_command(&mut tx, &command, &[(record, scope)], scope, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Free places per facility and care type on a day: capacity, active holds and contracts
    /// covering the day, and what is left.
    pub async fn free_places(&self, on: NaiveDate) -> Result<Vec<FreePlaces>, HubError> {
        let rows: Vec<(Uuid, String, String, i32, i64)> = sqlx::query_as(
            "SELECT f.id, f.name, c.care_type, c.capacity,
                    (SELECT count(*) FROM bookings b
                      WHERE b.active AND b.facility_id = f.id AND b.care_type = c.care_type AND b.period @> $1::date)
             FROM facilities f JOIN facility_capacities c ON c.facility_id = f.id
             ORDER BY f.name, f.id, c.care_type",
        )
        .bind(on)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, name, care_type, capacity, booked)| {
                let care_type: CareType = care_type.parse().ok()?;
                let capacity = u32::try_from(capacity).unwrap_or(0);
                let booked = u32::try_from(booked).unwrap_or(u32::MAX);
                Some(FreePlaces {
                    facility_id: FacilityId(id),
                    facility_name: name,
                    care_type,
                    capacity,
                    booked,
                    free: capacity.saturating_sub(booked),
                })
            })
            .collect())
    }
}
