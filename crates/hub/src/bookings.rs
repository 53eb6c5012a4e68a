//! Places: holds (7-day reservations) and contracts as rows of `bookings`, one slot of a
//! facility's capacity each. The table's exclusion constraint (btree_gist) refuses two active
//! bookings of the same slot with overlapping periods, so no bug here can double-book a place;
//! the code only picks a slot and retries the next one when a concurrent transaction took it.
//!
//! Holds lapse by the hub's clock: `Hub::expire_holds` (every 60 s in the server) releases
//! them and logs an `ExpireReservation` as the hub's own command.

use crate::apply::{self, Effect, Rejection};
use crate::city::{self, facility_name};
use crate::error::{sqlstate, DEADLOCK, EXCLUSION_VIOLATION};
use crate::policy::RecordScope;
use crate::{records, Hub, HubError};
use chrono::{DateTime, NaiveDate, Utc};
use kitakontor_core::application::{ApplicationEvent, ApplicationState};
use kitakontor_core::care::CareType;
use kitakontor_core::command::{self as cmd, Command};
use kitakontor_core::ids::{FacilityId, ProviderId, ReservationId};
use kitakontor_core::protocol::Alternative;
use kitakontor_core::ticket::TicketState;
use kitakontor_core::{de, reservation};
use sqlx::PgConnection;
use uuid::Uuid;

/// At most this many alternatives with a refused reservation.
const MAX_ALTERNATIVES: i64 = 5;
/// Collisions with concurrent reservations before giving up (each one means another
/// transaction committed or lost a booking, so this is never reached in practice).
const MAX_SLOT_ATTEMPTS: u32 = 1000;

fn when(t: DateTime<Utc>) -> String {
    format!("{} {} UTC", de::date(t.date_naive()), t.format("%H:%M"))
}

/// `ReservePlace`: a free slot from `start_date` on, held for 7 days by the hub's clock.
pub(crate) async fn reserve(conn: &mut PgConnection, c: &cmd::ReservePlace, now: DateTime<Utc>) -> Result<Effect, HubError> {
    let app: Option<(String, String, Uuid)> =
        sqlx::query_as("SELECT state, care_type, child_id FROM applications WHERE id = $1 FOR UPDATE")
            .bind(c.application_id.0)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((state, care_type, child)) = app else {
        return Ok(Err(Rejection::new("application_not_open", "Die Bedarfsanmeldung ist dem Hub nicht bekannt")));
    };
    let state = ApplicationState::from_code(&state).unwrap_or(ApplicationState::Rejected);
    if state != ApplicationState::Open {
        return Ok(Err(Rejection::new(
            "application_not_open",
            format!("Die Bedarfsanmeldung steht auf dem Hub nicht mehr auf der Warteliste (Stand: {})", state.label_de()),
        )));
    }
    let care_type: CareType = care_type.parse().map_err(|_| HubError::BadRequest(format!("Unbekannte Betreuungsart {care_type}")))?;
    let (placed,): (bool,) =
        sqlx::query_as("SELECT EXISTS (SELECT 1 FROM bookings WHERE child_id = $1 AND active AND period && daterange($2, NULL, '[)'))")
            .bind(child)
            .bind(c.start_date)
            .fetch_one(&mut *conn)
            .await?;
    if placed {
        return Ok(Err(Rejection::new(
            "already_placed",
            "Für das Kind ist bereits ein Platz reserviert oder ein Vertrag geschlossen, der sich mit diesem Zeitraum überschneidet",
        )));
    }
    let capacity: i32 = sqlx::query_as::<_, (i32,)>("SELECT capacity FROM facility_capacities WHERE facility_id = $1 AND care_type = $2")
        .bind(c.facility_id.0)
        .bind(care_type.code())
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.0)
        .unwrap_or(0);

    let mut attempts = 0;
    let slot = loop {
        attempts += 1;
        if attempts > MAX_SLOT_ATTEMPTS {
            return Err(HubError::Db(sqlx::Error::Protocol("no slot after repeated collisions".into())));
        }
        // Any free slot, picked at random: concurrent reservations rarely pick the same one.
        let free: Option<(i32,)> = sqlx::query_as(
            "SELECT s FROM generate_series(1, $1::int4) AS s
             WHERE NOT EXISTS (SELECT 1 FROM bookings b WHERE b.active AND b.facility_id = $2 AND b.care_type = $3 AND b.slot = s
                               AND b.period && daterange($4, NULL, '[)'))
             ORDER BY random() LIMIT 1",
        )
        .bind(capacity)
        .bind(c.facility_id.0)
        .bind(care_type.code())
        .bind(c.start_date)
        .fetch_optional(&mut *conn)
        .await?;
        let Some((slot,)) = free else {
            let name = facility_name(conn, c.facility_id.0).await?;
            let mut r = Rejection::new(
                "no_place",
                format!("Kein freier Platz ({}) in {} ab {}", care_type.label_de(), name, de::date(c.start_date)),
            );
            r.alternatives = alternatives(conn, care_type, c.start_date, c.facility_id).await?;
            return Ok(Err(r));
        };
        // A concurrent transaction may have taken the slot since we looked: the constraint
        // refuses our row (SQLSTATE 23P01), the savepoint keeps our transaction alive, and the
        // next look (a new statement, a new snapshot) sees their booking. Two transactions that
        // insert the same slot at the same moment wait for each other inside the constraint
        // check; PostgreSQL resolves that as a deadlock (40P01) in one of them: same remedy.
        sqlx::query("SAVEPOINT slot").execute(&mut *conn).await?;
        let inserted = sqlx::query(
            "INSERT INTO bookings (id, facility_id, care_type, slot, period, kind, active, expires_at, application_id, child_id, created_at)
             VALUES ($1, $2, $3, $4, daterange($5, NULL, '[)'), 'hold', true, $6, $7, $8, $9)",
        )
        .bind(c.reservation_id.0)
        .bind(c.facility_id.0)
        .bind(care_type.code())
        .bind(slot)
        .bind(c.start_date)
        .bind(reservation::expires_at(now))
        .bind(c.application_id.0)
        .bind(child)
        .bind(now)
        .execute(&mut *conn)
        .await;
        match inserted {
            Ok(_) => {
                sqlx::query("RELEASE SAVEPOINT slot").execute(&mut *conn).await?;
                break slot;
            }
            Err(e) if matches!(sqlstate(&e).as_deref(), Some(EXCLUSION_VIOLATION | DEADLOCK)) => {
                sqlx::query("ROLLBACK TO SAVEPOINT slot").execute(&mut *conn).await?;
            }
            Err(e) => return Err(e.into()),
        }
    };
    tracing::debug!(slot, "hold placed");
    city::transition(conn, c.application_id.0, ApplicationEvent::Reserve, now).await
}

/// Other facilities with free places of a care type from `from` on, most free first.
pub(crate) async fn alternatives(
    conn: &mut PgConnection,
    care_type: CareType,
    from: NaiveDate,
    except: FacilityId,
) -> Result<Vec<Alternative>, HubError> {
    let rows: Vec<(Uuid, String, i64)> = sqlx::query_as(
        "SELECT id, name, free FROM (
             SELECT f.id, f.name, c.capacity - (SELECT count(DISTINCT b.slot) FROM bookings b
                  WHERE b.active AND b.facility_id = f.id AND b.care_type = c.care_type AND b.slot <= c.capacity
                    AND b.period && daterange($2, NULL, '[)')) AS free
             FROM facilities f JOIN facility_capacities c ON c.facility_id = f.id AND c.care_type = $1
             WHERE f.id <> $3) x
         WHERE free > 0 ORDER BY free DESC, name, id LIMIT $4",
    )
    .bind(care_type.code())
    .bind(from)
    .bind(except.0)
    .bind(MAX_ALTERNATIVES)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, free)| Alternative {
            facility_id: FacilityId(id),
            facility_name: name,
            free_places: u32::try_from(free).unwrap_or(0),
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct Hold {
    kind: String,
    active: bool,
    expires_at: Option<DateTime<Utc>>,
    application_id: Uuid,
    child_id: Uuid,
    facility_id: Uuid,
}

async fn hold(conn: &mut PgConnection, id: ReservationId) -> Result<Option<Hold>, HubError> {
    Ok(sqlx::query_as("SELECT kind, active, expires_at, application_id, child_id, facility_id FROM bookings WHERE id = $1 FOR UPDATE")
        .bind(id.0)
        .fetch_optional(conn)
        .await?)
}

fn not_active() -> Rejection {
    Rejection::new("hold_not_active", "Die Reservierung ist auf dem Hub nicht (mehr) aktiv")
}

/// `CancelReservation`: the hold ends, the application returns to the waiting list.
pub(crate) async fn cancel(conn: &mut PgConnection, id: ReservationId, now: DateTime<Utc>) -> Result<Effect, HubError> {
    match hold(conn, id).await? {
        Some(h) if h.active && h.kind == "hold" => release(conn, id, h.application_id, now).await,
        _ => Ok(Err(not_active())),
    }
}

/// A device's `ExpireReservation`: accepted only when the hold has lapsed by the hub's clock.
pub(crate) async fn expire_by_device(conn: &mut PgConnection, id: ReservationId, now: DateTime<Utc>) -> Result<Effect, HubError> {
    match hold(conn, id).await? {
        Some(h) if h.active && h.kind == "hold" => match h.expires_at {
            Some(at) if at > now => {
                Ok(Err(Rejection::new("hold_not_expired", format!("Die Reservierung läuft laut Uhr des Hubs noch bis {}", when(at)))))
            }
            _ => release(conn, id, h.application_id, now).await,
        },
        Some(_) => Ok(Err(Rejection::new("already_lapsed", "Die Reservierung ist auf dem Hub bereits verfallen oder beendet"))),
        None => Ok(Err(not_active())),
    }
}

async fn release(conn: &mut PgConnection, id: ReservationId, application: Uuid, now: DateTime<Utc>) -> Result<Effect, HubError> {
    sqlx::query("UPDATE bookings SET active = false WHERE id = $1").bind(id.0).execute(&mut *conn).await?;
    if city::application_state(conn, application).await? == Some(ApplicationState::Reserved) {
        return city::transition(conn, application, ApplicationEvent::ReleaseHold, now).await;
    }
    Ok(Ok(()))
}

/// Frees the active holds of an application that was rejected or withdrawn.
pub(crate) async fn release_holds_of(conn: &mut PgConnection, application: Uuid) -> Result<(), HubError> {
    sqlx::query("UPDATE bookings SET active = false WHERE application_id = $1 AND kind = 'hold' AND active")
        .bind(application)
        .execute(conn)
        .await?;
    Ok(())
}

/// `ConcludeContract`: an active, unexpired hold becomes a contract from `start_date` on.
pub(crate) async fn conclude(conn: &mut PgConnection, c: &cmd::ConcludeContract, now: DateTime<Utc>) -> Result<Effect, HubError> {
    let Some(h) = hold(conn, c.reservation_id).await? else {
        return Ok(Err(not_active()));
    };
    if !h.active || h.kind != "hold" {
        return Ok(Err(not_active()));
    }
    if let Some(at) = h.expires_at.filter(|at| *at <= now) {
        return Ok(Err(Rejection::new(
            "hold_expired",
            format!("Die Reservierung ist am {} verfallen (Uhr des Hubs); bitte neu reservieren", when(at)),
        )));
    }
    if let Some(r) = ticket_check(conn, h.child_id, h.facility_id).await? {
        return Ok(Err(r));
    }
    let updated = sqlx::query(
        "UPDATE bookings SET kind = 'contract', period = daterange($2, NULL, '[)'), expires_at = NULL, contract_id = $3 WHERE id = $1",
    )
    .bind(c.reservation_id.0)
    .bind(c.start_date)
    .bind(c.contract_id.0)
    .execute(&mut *conn)
    .await;
    match updated {
        Ok(_) => {}
        // An earlier start than the hold's can collide with another booking of the slot.
        Err(e) if sqlstate(&e).as_deref() == Some(EXCLUSION_VIOLATION) => {
            return Ok(Err(Rejection::new("no_place", format!("Der reservierte Platz ist ab {} nicht frei", de::date(c.start_date)))));
        }
        Err(e) => return Err(e.into()),
    }
    city::transition(conn, h.application_id, ApplicationEvent::Admit, now).await
}

/// Children from another municipality need an approved ticket (BRIEF §4). Checked when the
/// hub knows the child and the facility.
async fn ticket_check(conn: &mut PgConnection, child: Uuid, facility: Uuid) -> Result<Option<Rejection>, HubError> {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT c.municipality, f.municipality FROM children c, facilities f WHERE c.id = $1 AND f.id = $2")
            .bind(child)
            .bind(facility)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((child_municipality, facility_municipality)) = row else {
        return Ok(None);
    };
    let tickets: Vec<(String,)> = sqlx::query_as("SELECT state FROM tickets WHERE child_id = $1").bind(child).fetch_all(conn).await?;
    let tickets: Vec<TicketState> = tickets.iter().filter_map(|t| TicketState::from_code(&t.0)).collect();
    Ok(kitakontor_core::ticket::ensure_admissible(&child_municipality, &facility_municipality, &tickets).err().map(|_| {
        Rejection::new(
            "ticket_required",
            format!("Das Kind wohnt in {}; für die Aufnahme ist ein genehmigtes Ticket des Jugendamts nötig", child_municipality.trim()),
        )
    }))
}

/// `TerminateContract`: the place is free again from the day after `end_date`.
pub(crate) async fn terminate(conn: &mut PgConnection, c: &cmd::TerminateContract) -> Result<Effect, HubError> {
    let row: Option<(NaiveDate,)> =
        sqlx::query_as("SELECT lower(period) FROM bookings WHERE contract_id = $1 AND kind = 'contract' FOR UPDATE")
            .bind(c.contract_id.0)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((start,)) = row else {
        // A contract the hub has no place for (concluded before the hub knew the hold): nothing to free.
        return Ok(Ok(()));
    };
    if c.end_date < start {
        return Ok(Err(Rejection::new(
            "invalid_date",
            format!("Das Vertragsende {} liegt vor dem Vertragsbeginn {}", de::date(c.end_date), de::date(start)),
        )));
    }
    sqlx::query("UPDATE bookings SET period = daterange(lower(period), $2::date + 1, '[)') WHERE contract_id = $1")
        .bind(c.contract_id.0)
        .bind(c.end_date)
        .execute(conn)
        .await?;
    Ok(Ok(()))
}

impl Hub {
    /// Releases every hold whose 7 days are over by the hub's clock: the place is free again,
    /// the application returns to the waiting list, and the hub logs `ExpireReservation` in the
    /// child's facility scope. Each hold in its own transaction. Returns how many lapsed.
    pub async fn expire_holds(&self) -> Result<usize, HubError> {
        let now = self.now();
        let due: Vec<(Uuid, Uuid)> = sqlx::query_as(
            "SELECT id, application_id FROM bookings WHERE active AND kind = 'hold' AND expires_at <= $1 ORDER BY expires_at, id",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        let mut lapsed = 0;
        for (id, application) in due {
            if self.expire_one(ReservationId(id), application, now).await? {
                lapsed += 1;
            }
        }
        if lapsed > 0 {
            tracing::info!(lapsed, "holds lapsed by the hub clock");
        }
        Ok(lapsed)
    }

    async fn expire_one(&self, id: ReservationId, application: Uuid, now: DateTime<Utc>) -> Result<bool, HubError> {
        let reservation_ref = format!("reservation:{id}");
        let application_ref = format!("application:{application}");
        let mut tx = self.pool.begin().await?;
        records::lock(&mut tx, None, [reservation_ref.as_str(), application_ref.as_str()]).await?;
        // Checked again under the locks: a device may have concluded or cancelled it meanwhile.
        let Some(h) = hold(&mut tx, id).await? else { return Ok(false) };
        if !h.active || h.kind != "hold" || h.expires_at.is_none_or(|at| at > now) {
            return Ok(false);
        }
        if let Err(r) = release(&mut tx, id, h.application_id, now).await? {
            tracing::warn!(code = r.code, "lapsed hold: application not released");
        }
        let refs = [reservation_ref, application_ref];
        let known = records::load(&mut tx, &refs).await?;
        let child_scope: Option<(Uuid, Uuid)> =
            sqlx::query_as("SELECT c.facility_id, f.provider_id FROM children c JOIN facilities f ON f.id = c.facility_id WHERE c.id = $1")
                .bind(h.child_id)
                .fetch_optional(&mut *tx)
                .await?;
        let fallback = RecordScope { facility_id: Some(FacilityId(h.facility_id)), provider_id: None };
        let scope = match child_scope {
            Some((f, p)) => RecordScope { facility_id: Some(FacilityId(f)), provider_id: Some(ProviderId(p)) },
            None => known.get(&refs[0]).map(|r| r.scope).unwrap_or(fallback),
        };
        let items: Vec<(String, RecordScope)> = refs.iter().map(|r| (r.clone(), known.get(r).map(|k| k.scope).unwrap_or(scope))).collect();
        let command = Command::ExpireReservation(cmd::ExpireReservation { reservation_id: id });
        apply::hub_command(&mut tx, &command, &items, scope, now).await?;
        tx.commit().await?;
        Ok(true)
    }
}
