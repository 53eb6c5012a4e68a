use kitakontor_core::import::ImportError;
use kitakontor_core::permission::PermissionDenied;
use kitakontor_core::DomainError;
use thiserror::Error;

/// Everything that can go wrong in a store call. `code()` is stable: the CLI maps it to exit
/// codes, the UI to German messages. Messages say what a person can do about it.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database file {0} not found; create it with `kitakontor init` (or `kitakontor demo`)")]
    DatabaseMissing(String),
    #[error("database file {0} already exists; refusing to overwrite it")]
    DatabaseExists(String),
    #[error("no database key found ({0}). Recovery: restore the key file, or re-enrol this PC and restore from the hub; a new empty database is never created over the old one")]
    KeyMissing(String),
    #[error("the database key does not match {0} (SQLite: file is not a database). Check KITAKONTOR_DB_KEY / the key file; the data itself is untouched")]
    WrongKey(String),
    #[error("credential store unavailable: {0}. Headless: set KITAKONTOR_DB_KEY or --key-file")]
    CredentialStore(String),
    #[error("invalid key: {0}")]
    InvalidKey(String),
    #[error("permission denied: {0}")]
    Denied(#[from] PermissionDenied),
    #[error("{0}")]
    Domain(#[from] DomainError),
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error("{0}")]
    Auth(#[from] AuthError),
    #[error("{0}")]
    Conflict(String),
    /// A waiting-list file that cannot be imported as a whole (its message is German).
    #[error("{0}")]
    Import(#[from] ImportError),
    /// A fee rule file that cannot be used (its message is German and names the field).
    #[error("{0}")]
    RuleSet(#[from] kitakontor_core::fee::RuleSetError),
    /// A fee that cannot be computed (no rule set for the municipality, care type missing).
    #[error("{0}")]
    Fee(#[from] kitakontor_core::fee::FeeError),
    /// The child has no contract in that month, so there is no fee to show or notify.
    #[error("no care contract in {}", month.format("%m/%Y"))]
    NoContract { month: chrono::NaiveDate },
    /// Writing a document or export file failed; the database is unchanged or complete.
    #[error("could not write {path}: {reason}")]
    File { path: String, reason: String },
    /// A decision on a city proposal that cannot be taken (its message is German).
    #[error("{0}")]
    City(#[from] crate::city::CityError),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("unknown user or wrong password")]
    BadCredentials,
    #[error("wrong PIN ({remaining} attempts left before the PIN locks)")]
    BadPin { remaining: u32 },
    #[error("the PIN is locked after 5 failed attempts; log in with the password")]
    PinLocked,
    #[error("no PIN set for this account")]
    NoPin,
    #[error("too many failed attempts; try again in {seconds} s")]
    TooSoon { seconds: i64 },
    #[error("more than 100 failed attempts in the last hour; the account is blocked for now")]
    HourlyLimit,
    #[error("account is deactivated")]
    Inactive,
    #[error("password must have at least {0} characters")]
    WeakPassword(usize),
    #[error("PIN must be 4 to 8 digits")]
    BadPinFormat,
}

impl StoreError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::DatabaseMissing(_) => "database_missing",
            StoreError::DatabaseExists(_) => "database_exists",
            StoreError::KeyMissing(_) => "key_missing",
            StoreError::WrongKey(_) => "wrong_key",
            StoreError::CredentialStore(_) => "credential_store",
            StoreError::InvalidKey(_) => "invalid_key",
            StoreError::Denied(_) => "permission_denied",
            StoreError::Domain(_) => "rule_violated",
            StoreError::NotFound { .. } => "not_found",
            StoreError::Auth(_) => "auth_failed",
            StoreError::Conflict(_) => "conflict",
            StoreError::Import(_) => "import_invalid",
            StoreError::RuleSet(_) => "rule_set_invalid",
            StoreError::Fee(_) => "fee_not_computable",
            StoreError::File { .. } => "file",
            StoreError::NoContract { .. } => "no_contract",
            StoreError::City(c) => c.code(),
            StoreError::Db(_) | StoreError::Migrate(_) => "database",
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
