//! Devices and their credentials (ENGINEERING §E4).
//!
//! - Enrolment codes: 100 random bits as 4 groups of 5 Crockford base32 characters
//!   ("7K3QH-9ZD2M-XW4TB-R8N1C"), easy to type from a letter; valid for a set time, usable once,
//!   stored only as SHA-256.
//! - Tokens: random 256-bit access token (1 h) and refresh token (90 days), stored only as
//!   SHA-256. A refresh rotates both; the old refresh token stops working at once.
//! - A device's scope (facility, provider) is fixed at enrolment.

use crate::{DeviceAuth, Hub, HubError};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use kitakontor_core::ids::{DeviceId, FacilityId, ProviderId};
use kitakontor_core::protocol::{AuditHead, EnrolReply, EnrolRequest, RefreshRequest, Tokens};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;

pub const ACCESS_TOKEN_LIFETIME: Duration = Duration::hours(1);
pub const REFRESH_TOKEN_LIFETIME: Duration = Duration::days(90);

/// Crockford's base32 alphabet: no I, L, O, U.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const CODE_GROUPS: usize = 4;
const CODE_GROUP_LEN: usize = 5;

/// A device as the hub's administrator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceInfo {
    pub device_id: DeviceId,
    pub name: String,
    pub facility_id: FacilityId,
    pub facility_name: String,
    pub provider_id: ProviderId,
    pub enrolled_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_push_at: Option<DateTime<Utc>>,
    /// Highest `client_seq` with a result.
    pub acked_seq: i64,
    pub audit_head: Option<AuditHead>,
}

fn sha256(s: &str) -> Vec<u8> {
    Sha256::digest(s.as_bytes()).to_vec()
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A new enrolment code: 20 characters of 5 random bits each (100 bits), grouped by dashes.
fn new_code() -> String {
    let mut bytes = [0u8; CODE_GROUPS * CODE_GROUP_LEN];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let chars: Vec<char> = bytes.iter().map(|b| CROCKFORD[(b & 31) as usize] as char).collect();
    chars.chunks(CODE_GROUP_LEN).map(|g| g.iter().collect::<String>()).collect::<Vec<_>>().join("-")
}

/// The canonical form of a typed code: upper case, no separators, Crockford's look-alikes
/// mapped (I, L → 1; O → 0). `None` when it cannot be a code.
pub fn normalise_code(typed: &str) -> Option<String> {
    let mut out = String::with_capacity(CODE_GROUPS * CODE_GROUP_LEN);
    for c in typed.chars() {
        let c = match c.to_ascii_uppercase() {
            '-' | ' ' | '\u{a0}' | '\t' => continue,
            'I' | 'L' => '1',
            'O' => '0',
            c => c,
        };
        if !c.is_ascii() || !CROCKFORD.contains(&(c as u8)) {
            return None;
        }
        out.push(c);
    }
    (out.len() == CODE_GROUPS * CODE_GROUP_LEN).then_some(out)
}

impl Hub {
    /// A one-time enrolment code for a facility, valid for `valid_for`. The code is shown once;
    /// the hub keeps only its hash.
    pub async fn create_enrolment_code(&self, facility_id: FacilityId, valid_for: Duration) -> Result<String, HubError> {
        if valid_for <= Duration::zero() {
            return Err(HubError::BadRequest("Die Gültigkeit des Anmeldecodes muss positiv sein".into()));
        }
        let exists: Option<(Uuid,)> =
            sqlx::query_as("SELECT id FROM facilities WHERE id = $1").bind(facility_id.0).fetch_optional(&self.pool).await?;
        if exists.is_none() {
            return Err(HubError::NotFound(format!("Einrichtung {facility_id}")));
        }
        let code = new_code();
        let now = self.now();
        sqlx::query("INSERT INTO enrolment_codes (code_hash, facility_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(sha256(&normalise_code(&code).expect("generated codes are canonical")))
            .bind(facility_id.0)
            .bind(now)
            .bind(now + valid_for)
            .execute(&self.pool)
            .await?;
        Ok(code)
    }

    /// Binds a PC to the code's facility: a new device with its first tokens. The code is used up.
    pub async fn enrol(&self, req: EnrolRequest) -> Result<EnrolReply, HubError> {
        let name = req.device_name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(HubError::BadRequest("Der Gerätename muss 1 bis 100 druckbare Zeichen haben".into()));
        }
        let code = normalise_code(&req.code).ok_or(HubError::InvalidCode)?;
        let now = self.now();
        let device_id = DeviceId(Uuid::now_v7());
        let mut tx = self.pool.begin().await?;
        // Used up atomically: of two PCs with the same code, one wins.
        let row: Option<(Uuid, Uuid)> = sqlx::query_as(
            "UPDATE enrolment_codes e SET used_at = $2, used_by = $3
             FROM facilities f
             WHERE e.code_hash = $1 AND e.used_at IS NULL AND e.expires_at > $2 AND f.id = e.facility_id
             RETURNING e.facility_id, f.provider_id",
        )
        .bind(sha256(&code))
        .bind(now)
        .bind(device_id.0)
        .fetch_optional(&mut *tx)
        .await?;
        let (facility, provider) = row.ok_or(HubError::InvalidCode)?;
        sqlx::query("INSERT INTO devices (id, name, facility_id, provider_id, enrolled_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(device_id.0)
            .bind(name)
            .bind(facility)
            .bind(provider)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let tokens = issue_tokens(&mut tx, device_id, now).await?;
        tx.commit().await?;
        tracing::info!(device_id = %device_id, facility_id = %facility, "device enrolled");
        Ok(EnrolReply { device_id, facility_id: FacilityId(facility), provider_id: ProviderId(provider), tokens })
    }

    /// The device behind an access token. `Unauthorized` when unknown or expired (by the hub's
    /// clock), `Revoked` when the administrator revoked the device.
    pub async fn authenticate(&self, access_token: &str) -> Result<DeviceAuth, HubError> {
        #[derive(sqlx::FromRow)]
        struct Owner {
            device_id: Uuid,
            facility_id: Uuid,
            provider_id: Uuid,
            revoked_at: Option<DateTime<Utc>>,
            expires_at: DateTime<Utc>,
        }
        let owner: Option<Owner> = sqlx::query_as(
            "SELECT d.id AS device_id, d.facility_id, d.provider_id, d.revoked_at, t.access_expires_at AS expires_at
             FROM device_tokens t JOIN devices d ON d.id = t.device_id WHERE t.access_hash = $1",
        )
        .bind(sha256(access_token))
        .fetch_optional(&self.pool)
        .await?;
        let Owner { device_id: device, facility_id: facility, provider_id: provider, revoked_at, expires_at } =
            owner.ok_or(HubError::Unauthorized)?;
        if revoked_at.is_some() {
            return Err(HubError::Revoked);
        }
        if expires_at <= self.now() {
            return Err(HubError::Unauthorized);
        }
        Ok(DeviceAuth { device_id: DeviceId(device), facility_id: FacilityId(facility), provider_id: ProviderId(provider) })
    }

    /// New access and refresh tokens for a valid refresh token; the old pair stops working.
    pub async fn refresh(&self, req: RefreshRequest) -> Result<Tokens, HubError> {
        let now = self.now();
        let mut tx = self.pool.begin().await?;
        let row: Option<(Option<DateTime<Utc>>, DateTime<Utc>)> = sqlx::query_as(
            "SELECT d.revoked_at, t.refresh_expires_at FROM device_tokens t JOIN devices d ON d.id = t.device_id
             WHERE t.device_id = $1 AND t.refresh_hash = $2 FOR UPDATE OF t",
        )
        .bind(req.device_id.0)
        .bind(sha256(&req.refresh_token))
        .fetch_optional(&mut *tx)
        .await?;
        let (revoked_at, expires_at) = row.ok_or(HubError::Unauthorized)?;
        if revoked_at.is_some() {
            return Err(HubError::Revoked);
        }
        if expires_at <= now {
            return Err(HubError::Unauthorized);
        }
        let tokens = issue_tokens(&mut tx, req.device_id, now).await?;
        tx.commit().await?;
        Ok(tokens)
    }

    /// Revokes a device: its tokens stop working at once; it must be enrolled anew.
    pub async fn revoke_device(&self, device_id: DeviceId) -> Result<(), HubError> {
        let n = sqlx::query("UPDATE devices SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1")
            .bind(device_id.0)
            .bind(self.now())
            .execute(&self.pool)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(HubError::NotFound(format!("Gerät {device_id}")));
        }
        tracing::info!(device_id = %device_id, "device revoked");
        Ok(())
    }

    /// All devices, newest first.
    pub async fn devices(&self) -> Result<Vec<DeviceInfo>, HubError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            id: Uuid,
            name: String,
            facility_id: Uuid,
            facility_name: String,
            provider_id: Uuid,
            enrolled_at: DateTime<Utc>,
            revoked_at: Option<DateTime<Utc>>,
            last_push_at: Option<DateTime<Utc>>,
            acked_seq: i64,
            audit_head_seq: Option<i64>,
            audit_head_hash: Option<String>,
        }
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT d.id, d.name, d.facility_id, f.name AS facility_name, d.provider_id, d.enrolled_at, d.revoked_at, d.last_push_at,
                    COALESCE((SELECT max(client_seq) FROM results r WHERE r.device_id = d.id), 0) AS acked_seq,
                    d.audit_head_seq, d.audit_head_hash
             FROM devices d JOIN facilities f ON f.id = d.facility_id
             ORDER BY d.enrolled_at DESC, d.id DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| DeviceInfo {
                device_id: DeviceId(r.id),
                name: r.name,
                facility_id: FacilityId(r.facility_id),
                facility_name: r.facility_name,
                provider_id: ProviderId(r.provider_id),
                enrolled_at: r.enrolled_at,
                revoked_at: r.revoked_at,
                last_push_at: r.last_push_at,
                acked_seq: r.acked_seq,
                audit_head: r.audit_head_seq.zip(r.audit_head_hash).map(|(seq, hash)| AuditHead { seq, hash }),
            })
            .collect())
    }
}

async fn issue_tokens(conn: &mut PgConnection, device: DeviceId, now: DateTime<Utc>) -> Result<Tokens, HubError> {
    let access = random_token();
    let refresh = random_token();
    let access_expires_at = now + ACCESS_TOKEN_LIFETIME;
    sqlx::query(
        "INSERT INTO device_tokens (device_id, access_hash, access_expires_at, refresh_hash, refresh_expires_at, issued_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (device_id) DO UPDATE SET access_hash = EXCLUDED.access_hash, access_expires_at = EXCLUDED.access_expires_at,
             refresh_hash = EXCLUDED.refresh_hash, refresh_expires_at = EXCLUDED.refresh_expires_at, issued_at = EXCLUDED.issued_at",
    )
    .bind(device.0)
    .bind(sha256(&access))
    .bind(access_expires_at)
    .bind(sha256(&refresh))
    .bind(now + REFRESH_TOKEN_LIFETIME)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(Tokens { access_token: access, access_expires_at, refresh_token: refresh })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_typable_and_normalise() {
        let c = new_code();
        assert_eq!(c.len(), 23);
        assert_eq!(c.matches('-').count(), 3);
        let n = normalise_code(&c).unwrap();
        assert_eq!(n.len(), 20);
        assert_eq!(normalise_code(&c.to_lowercase().replace('-', " ")), Some(n));
        assert_eq!(normalise_code("ABCDU-00000-00000-00000"), None); // U is not in the alphabet
        assert_eq!(normalise_code("abcde-fghij-k1mn0-pqrst").unwrap(), "ABCDEFGH1JK1MN0PQRST");
        assert_eq!(normalise_code("ilo00-00000-00000-00000").unwrap(), "11000000000000000000");
        assert_eq!(normalise_code("ABC"), None);
        assert_ne!(new_code(), new_code());
    }

    #[test]
    fn tokens_are_256_bit() {
        let t = random_token();
        assert_eq!(base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&t).unwrap().len(), 32);
    }
}
