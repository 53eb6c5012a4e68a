//! Accounts on a shared PC: Argon2id password and PIN hashes (m = 19 MiB, t = 2, p = 1, as
//! OWASP recommends), failed attempts counted in the database (so restarting the app does not
//! reset them), a rising delay after repeated failures, at most 100 failures per hour per
//! account, and a PIN that locks after 5 failures until the password is used.

use crate::audit;
use crate::error::{AuthError, Result, StoreError};
use crate::time::{parse_ts, ts};
use crate::Store;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::{DateTime, Duration, Utc};
use kitakontor_core::ids::{FacilityId, GroupId, UserId};
use kitakontor_core::permission::{Actor, Role};
use rand::RngCore;
use serde::Serialize;
use sqlx::SqliteConnection;

pub const MIN_PASSWORD_LEN: usize = 10;
pub const PIN_MAX_FAILURES: i64 = 5;
pub const HOURLY_FAILURE_LIMIT: i64 = 100;

fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(19 * 1024, 2, 1, None).expect("valid params"))
}

pub fn hash_secret(secret: &str) -> String {
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).expect("16 bytes encode");
    argon2().hash_password(secret.as_bytes(), &salt).expect("argon2 hashing").to_string()
}

fn verify_secret(secret: &str, hash: &str) -> bool {
    PasswordHash::new(hash).map(|h| argon2().verify_password(secret.as_bytes(), &h).is_ok()).unwrap_or(false)
}

pub fn check_password_strength(pw: &str) -> Result<(), AuthError> {
    if pw.chars().count() < MIN_PASSWORD_LEN {
        return Err(AuthError::WeakPassword(MIN_PASSWORD_LEN));
    }
    Ok(())
}

pub fn check_pin_format(pin: &str) -> Result<(), AuthError> {
    if !(4..=8).contains(&pin.len()) || !pin.chars().all(|c| c.is_ascii_digit()) {
        return Err(AuthError::BadPinFormat);
    }
    Ok(())
}

/// Wait after `n` consecutive failures: none for the first two typos, then 1 s, 2 s, 4 s, …
/// capped at 5 minutes.
pub fn failure_delay(n: i64) -> Duration {
    if n < 3 {
        Duration::zero()
    } else {
        Duration::seconds((1i64 << (n - 3).min(9)).min(300))
    }
}

/// An account as the login screen lists it (no secrets, no child data).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AccountSummary {
    pub user_id: UserId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub has_pin: bool,
    pub active: bool,
}

struct UserRow {
    id: String,
    password_hash: String,
    pin_hash: Option<String>,
    active: bool,
    failed_passwords: i64,
    failed_pins: i64,
    pin_locked: bool,
    last_failure_at: Option<String>,
}

async fn load_user(conn: &mut SqliteConnection, by: &str, value: &str) -> Result<Option<UserRow>> {
    let sql = if by == "id" {
        "SELECT id, password_hash, pin_hash, active, failed_passwords, failed_pins, pin_locked, last_failure_at FROM users WHERE id = ?"
    } else {
        "SELECT id, password_hash, pin_hash, active, failed_passwords, failed_pins, pin_locked, last_failure_at FROM users WHERE username = ?"
    };
    let row: Option<(String, String, Option<String>, i64, i64, i64, i64, Option<String>)> =
        sqlx::query_as(sql).bind(value).fetch_optional(&mut *conn).await?;
    Ok(row.map(|r| UserRow {
        id: r.0,
        password_hash: r.1,
        pin_hash: r.2,
        active: r.3 != 0,
        failed_passwords: r.4,
        failed_pins: r.5,
        pin_locked: r.6 != 0,
        last_failure_at: r.7,
    }))
}

async fn failures_last_hour(conn: &mut SqliteConnection, user: &str, now: DateTime<Utc>) -> Result<i64> {
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM login_failures WHERE user_id = ? AND at > ?")
        .bind(user)
        .bind(ts(now - Duration::hours(1)))
        .fetch_one(&mut *conn)
        .await?;
    Ok(n)
}

async fn audit_login(conn: &mut SqliteConnection, now: DateTime<Utc>, user: &str, action: &str) -> Result<()> {
    audit::append(conn, audit::Entry { at: &ts(now), user_id: user, action, command_id: None, records: &[format!("user:{user}")] }).await?;
    Ok(())
}

impl Store {
    /// The accounts of this PC, for the login screen's list of names.
    pub async fn list_accounts(&self) -> Result<Vec<AccountSummary>> {
        let rows: Vec<(String, String, String, String, Option<String>, i64)> =
            sqlx::query_as("SELECT id, username, display_name, role, pin_hash, active FROM users ORDER BY display_name")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|r| AccountSummary {
                user_id: r.0.parse().expect("uuid in db"),
                username: r.1,
                display_name: r.2,
                role: Role::from_code(&r.3).expect("role constrained by CHECK"),
                has_pin: r.4.is_some(),
                active: r.5 != 0,
            })
            .collect())
    }

    /// The actor for a user id, with the educator's groups.
    pub async fn actor(&self, user_id: UserId) -> Result<Actor> {
        let mut conn = self.pool.acquire().await?;
        actor_in(&mut conn, user_id).await
    }

    /// Password login. Failures are counted and audited even though the call returns an error.
    pub async fn login(&self, username: &str, password: &str) -> Result<Actor> {
        let now = self.now();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let Some(u) = load_user(&mut tx, "username", username).await? else {
            // Same cost as a real check, so timing does not reveal which names exist.
            verify_secret(password, "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2Y8J8vH0x8b1m5z8Hn4v0qVh7yQm1cJmQ0m1fNn1vGQ");
            return Err(AuthError::BadCredentials.into());
        };
        if !u.active {
            return Err(AuthError::Inactive.into());
        }
        self.gate(&mut tx, &u, u.failed_passwords, now).await?;
        if !verify_secret(password, &u.password_hash) {
            sqlx::query("UPDATE users SET failed_passwords = failed_passwords + 1, last_failure_at = ? WHERE id = ?")
                .bind(ts(now))
                .bind(&u.id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO login_failures (user_id, at, kind) VALUES (?, ?, 'password')")
                .bind(&u.id)
                .bind(ts(now))
                .execute(&mut *tx)
                .await?;
            audit_login(&mut tx, now, &u.id, "login_failed").await?;
            tx.commit().await?;
            return Err(AuthError::BadCredentials.into());
        }
        // The password also lifts a PIN lock.
        sqlx::query("UPDATE users SET failed_passwords = 0, failed_pins = 0, pin_locked = 0 WHERE id = ?")
            .bind(&u.id)
            .execute(&mut *tx)
            .await?;
        audit_login(&mut tx, now, &u.id, "login").await?;
        let actor = actor_in(&mut tx, u.id.parse().expect("uuid")).await?;
        tx.commit().await?;
        Ok(actor)
    }

    /// Quick unlock of one's own locked session with the PIN.
    pub async fn unlock_with_pin(&self, user_id: UserId, pin: &str) -> Result<Actor> {
        let now = self.now();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let u =
            load_user(&mut tx, "id", &user_id.to_string()).await?.ok_or(StoreError::NotFound { what: "user", id: user_id.to_string() })?;
        if !u.active {
            return Err(AuthError::Inactive.into());
        }
        if u.pin_locked {
            return Err(AuthError::PinLocked.into());
        }
        let Some(pin_hash) = u.pin_hash.clone() else { return Err(AuthError::NoPin.into()) };
        self.gate(&mut tx, &u, u.failed_pins, now).await?;
        if !verify_secret(pin, &pin_hash) {
            let failed = u.failed_pins + 1;
            let locked = failed >= PIN_MAX_FAILURES;
            sqlx::query("UPDATE users SET failed_pins = ?, pin_locked = ?, last_failure_at = ? WHERE id = ?")
                .bind(failed)
                .bind(locked as i64)
                .bind(ts(now))
                .bind(&u.id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO login_failures (user_id, at, kind) VALUES (?, ?, 'pin')")
                .bind(&u.id)
                .bind(ts(now))
                .execute(&mut *tx)
                .await?;
            audit_login(&mut tx, now, &u.id, if locked { "pin_locked" } else { "pin_failed" }).await?;
            tx.commit().await?;
            return Err(
                if locked { AuthError::PinLocked } else { AuthError::BadPin { remaining: (PIN_MAX_FAILURES - failed) as u32 } }.into()
            );
        }
        sqlx::query("UPDATE users SET failed_pins = 0 WHERE id = ?").bind(&u.id).execute(&mut *tx).await?;
        audit_login(&mut tx, now, &u.id, "unlock_pin").await?;
        let actor = actor_in(&mut tx, user_id).await?;
        tx.commit().await?;
        Ok(actor)
    }

    /// Rate limits shared by password and PIN: the hourly cap and the rising delay.
    async fn gate(&self, conn: &mut SqliteConnection, u: &UserRow, consecutive: i64, now: DateTime<Utc>) -> Result<()> {
        if failures_last_hour(conn, &u.id, now).await? >= HOURLY_FAILURE_LIMIT {
            return Err(AuthError::HourlyLimit.into());
        }
        if let Some(last) = u.last_failure_at.as_deref().map(parse_ts) {
            let wait_until = last + failure_delay(consecutive);
            if now < wait_until {
                return Err(AuthError::TooSoon { seconds: (wait_until - now).num_seconds().max(1) }.into());
            }
        }
        Ok(())
    }

    /// Sets the caller's own PIN (after a password login). Audited, not a synced command:
    /// PINs belong to this PC.
    pub async fn set_own_pin(&self, actor: &Actor, pin: &str) -> Result<()> {
        check_pin_format(pin)?;
        let hash = hash_secret(pin);
        let now = self.now();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("UPDATE users SET pin_hash = ?, failed_pins = 0, pin_locked = 0, version = version + 1 WHERE id = ?")
            .bind(hash)
            .bind(actor.user_id.to_string())
            .execute(&mut *tx)
            .await?;
        audit_login(&mut tx, now, &actor.user_id.to_string(), "set_pin").await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether any account exists (the first-start wizard runs while there is none).
    pub async fn has_accounts(&self) -> Result<bool> {
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM users").fetch_one(&self.pool).await?;
        Ok(n > 0)
    }
}

pub(crate) async fn actor_in(conn: &mut SqliteConnection, user_id: UserId) -> Result<Actor> {
    let row: Option<(String, Option<String>, i64)> = sqlx::query_as("SELECT role, facility_id, active FROM users WHERE id = ?")
        .bind(user_id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    let (role, facility, active) = row.ok_or(StoreError::NotFound { what: "user", id: user_id.to_string() })?;
    if active == 0 {
        return Err(AuthError::Inactive.into());
    }
    let groups: Vec<(String,)> = sqlx::query_as("SELECT group_id FROM group_staff WHERE user_id = ? ORDER BY group_id")
        .bind(user_id.to_string())
        .fetch_all(&mut *conn)
        .await?;
    Ok(Actor {
        user_id,
        role: Role::from_code(&role).expect("role constrained by CHECK"),
        facility_id: facility.map(|f| f.parse::<FacilityId>().expect("uuid")),
        groups: groups.into_iter().map(|g| g.0.parse::<GroupId>().expect("uuid")).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_rise_and_cap() {
        assert_eq!(failure_delay(1), Duration::zero());
        assert_eq!(failure_delay(3), Duration::seconds(1));
        assert_eq!(failure_delay(6), Duration::seconds(8));
        assert_eq!(failure_delay(50), Duration::seconds(300));
        let mut last = Duration::zero();
        for n in 0..200 {
            assert!(failure_delay(n) >= last);
            last = failure_delay(n);
        }
    }

    #[test]
    fn hashes_are_argon2id_with_owasp_params() {
        let h = hash_secret("correct horse battery");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_secret("correct horse battery", &h));
        assert!(!verify_secret("correct horse batterY", &h));
        assert!(check_pin_format("12a4").is_err() && check_pin_format("1234").is_ok());
    }
}
