//! The hub's errors. Each maps to one HTTP status and an `ErrorBody` code (see `server`); the
//! messages are German because the desktop shows them to the office.

use kitakontor_core::protocol::ErrorBody;

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// The push would leave a hole in the device's sequence (HTTP 409).
    #[error("Lücke in der Befehlsfolge: der Hub erwartet als Nächstes Nummer {expected}")]
    Gap { expected: i64 },
    /// Unknown or expired token (HTTP 401).
    #[error("Nicht angemeldet oder Anmeldung abgelaufen")]
    Unauthorized,
    /// The device was revoked by the hub's administrator (HTTP 403).
    #[error("Dieses Gerät wurde vom Hub gesperrt; bitte neu einrichten")]
    Revoked,
    /// A protocol or schema version the hub does not know (HTTP 426).
    #[error("Der Hub kennt {what} {got} nicht; bitte Kitakontor bzw. den Hub aktualisieren")]
    UpgradeRequired { what: &'static str, got: String },
    /// An enrolment code that is unknown, expired or used (HTTP 400).
    #[error("Der Anmeldecode ist ungültig, abgelaufen oder wurde schon benutzt")]
    InvalidCode,
    #[error("{0}")]
    BadRequest(String),
    #[error("{0} wurde nicht gefunden")]
    NotFound(String),
    #[error("Datenbankfehler: {0}")]
    Db(#[from] sqlx::Error),
    #[error("Datenbank-Migration fehlgeschlagen: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl HubError {
    /// HTTP status code for the error.
    pub fn status(&self) -> u16 {
        match self {
            HubError::Gap { .. } => 409,
            HubError::Unauthorized => 401,
            HubError::Revoked => 403,
            HubError::UpgradeRequired { .. } => 426,
            HubError::InvalidCode | HubError::BadRequest(_) => 400,
            HubError::NotFound(_) => 404,
            HubError::Db(e) if is_unavailable(e) => 503,
            HubError::Db(_) | HubError::Migrate(_) => 500,
        }
    }

    /// The stable code for programs (`ErrorBody.code`).
    pub fn code(&self) -> &'static str {
        match self {
            HubError::Gap { .. } => "gap",
            HubError::Unauthorized => "unauthorized",
            HubError::Revoked => "revoked",
            HubError::UpgradeRequired { .. } => "upgrade_required",
            HubError::InvalidCode | HubError::BadRequest(_) => "bad_request",
            HubError::NotFound(_) => "not_found",
            HubError::Db(e) if is_unavailable(e) => "unavailable",
            HubError::Db(_) | HubError::Migrate(_) => "internal",
        }
    }

    /// The body of the HTTP answer. Database details stay in the server's log.
    pub fn body(&self) -> ErrorBody {
        let message = match self {
            HubError::Db(e) if is_unavailable(e) => "Der Hub ist gerade nicht erreichbar; bitte später erneut versuchen".to_string(),
            HubError::Db(_) | HubError::Migrate(_) => "Interner Fehler des Hubs".to_string(),
            other => other.to_string(),
        };
        let expected_seq = match self {
            HubError::Gap { expected } => Some(*expected),
            _ => None,
        };
        ErrorBody { code: self.code().to_string(), message, expected_seq }
    }
}

fn is_unavailable(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_))
}

/// The SQLSTATE of a database error, if it is one.
pub(crate) fn sqlstate(e: &sqlx::Error) -> Option<String> {
    match e {
        sqlx::Error::Database(d) => d.code().map(|c| c.into_owned()),
        _ => None,
    }
}

/// SQLSTATE 23P01: an exclusion constraint refused the row (a double booking).
pub(crate) const EXCLUSION_VIOLATION: &str = "23P01";
/// SQLSTATE 40P01: PostgreSQL broke a deadlock by failing this statement.
pub(crate) const DEADLOCK: &str = "40P01";
/// SQLSTATE 23505: a unique constraint refused the row.
pub(crate) const UNIQUE_VIOLATION: &str = "23505";
