//! Kitakontor's hub: the city's authoritative command log (ENGINEERING §E3).
//!
//! Desktops push their outbox (`push`), the hub applies each command in its own PostgreSQL
//! transaction under the conflict policy (`policy`), keeps the city's read models (facilities,
//! children, applications, tickets, bookings with an exclusion constraint) and files every
//! applied command in the log, which devices pull in commit order within their scope.
//!
//! The library is what the HTTP server (`server`) and the sync simulation call; the binary
//! `kitakontor-hub` adds the command line (`cli`).
//!
//! Modules, one job each:
//! - `config`: TOML file + environment.
//! - `auth`: enrolment codes, devices, access/refresh tokens.
//! - `push`: sequence checks, idempotency, one transaction per command.
//! - `apply`: one command: scope, policy, read models, versions, log entry.
//! - `policy`: pure rules (which records a command touches, merge vs. whole-record conflicts).
//! - `records`: record versions and per-field values in the database.
//! - `bookings`: holds and contracts on places (exclusion constraint), expiry by the hub clock.
//! - `city`: read models and city services (free places, ticket decisions, facilities).
//! - `log` / `pull`: the log table, cursors, pull and snapshot.
//! - `server`: axum routes, auth extractor, errors as `ErrorBody`, TLS, graceful shutdown.
//! - `cli`: the binary's subcommands.
//! - `duplicates` / `registry`: city rules (issue 5, part 4): duplicate proposals across all
//!   providers (Kölner Phonetik), the residents' registry extract and matching against it.
//! - `testing` (feature `testing`): a throwaway PostgreSQL cluster and a manual clock.

mod apply;
pub mod auth;
mod bookings;
mod city;
// City rules (issue 5, part 4).
pub mod cli;
pub mod config;
pub mod duplicates;
mod error;
mod log;
pub mod policy;
mod pull;
mod push;
mod records;
pub mod registry;
pub mod server;
#[cfg(feature = "testing")]
pub mod testing;

pub use auth::DeviceInfo;
pub use error::HubError;
pub use pull::SnapshotStream;

use chrono::{DateTime, Utc};
use kitakontor_core::ids::{DeviceId, FacilityId, ProviderId};
use sqlx::postgres::{PgPool, PgPoolOptions};
use std::sync::Arc;

/// The hub's clock. Holds expire and tokens run out by it; tests and the simulation move it.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The embedded migrations of the hub's database (`migrations/hub`).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/hub");

/// Who is calling: decided by the hub from the device's enrolment, never from request data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceAuth {
    pub device_id: DeviceId,
    pub facility_id: FacilityId,
    pub provider_id: ProviderId,
}

/// The hub: a connection pool and a clock. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    pool: PgPool,
    clock: Clock,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").field("pool", &self.pool).finish_non_exhaustive()
    }
}

impl Hub {
    /// Connects to PostgreSQL and brings the schema up to date.
    pub async fn connect(database_url: &str) -> Result<Hub, HubError> {
        let pool = PgPoolOptions::new().max_connections(20).connect(database_url).await?;
        MIGRATOR.run(&pool).await?;
        Ok(Hub::from_pool(pool))
    }

    /// A hub on an existing pool (migrations are the caller's business, see [`MIGRATOR`]).
    pub fn from_pool(pool: PgPool) -> Hub {
        Hub { pool, clock: Arc::new(Utc::now) }
    }

    /// Replaces the hub's clock.
    pub fn with_clock(self, clock: Clock) -> Hub {
        Hub { clock, ..self }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The hub's "now".
    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// Empties every table and restarts the log's sequence. Tests and the simulation only.
    pub async fn reset(&self) -> Result<(), HubError> {
        sqlx::query(
            "TRUNCATE log, results, device_tokens, devices, enrolment_codes, record_fields, records, bookings,
                      tickets, application_choices, applications, children, facility_capacities, facilities, providers
             RESTART IDENTITY CASCADE",
        )
        .execute(&self.pool)
        .await?;
        // City rules (0002_city.sql).
        sqlx::query("TRUNCATE duplicate_proposals, registry_matches, registry_residents, registry_imports").execute(&self.pool).await?;
        Ok(())
    }
}
