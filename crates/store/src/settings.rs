//! Settings of this PC (idle lock time, …). Changing one is audited and needs the permission to
//! manage users, because it changes how accounts on the shared PC are protected.

use crate::audit;
use crate::error::{Result, StoreError};
use crate::Store;
use kitakontor_core::permission::{authorize, Actor, Permission, Scope};

/// Idle lock of a shared PC: default 10 minutes, never longer than 15 (ENGINEERING §E4).
pub const IDLE_DEFAULT_MINUTES: u32 = 10;
pub const IDLE_MAX_MINUTES: u32 = 15;

impl Store {
    pub async fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT value FROM settings WHERE key = ?").bind(key).fetch_optional(&self.pool).await?)
    }

    pub async fn idle_minutes(&self) -> Result<u32> {
        Ok(self.setting("idle_minutes").await?.and_then(|v| v.parse().ok()).unwrap_or(IDLE_DEFAULT_MINUTES).clamp(1, IDLE_MAX_MINUTES))
    }

    pub async fn set_idle_minutes(&self, actor: &Actor, minutes: u32) -> Result<()> {
        authorize(actor, Permission::ManageUsers, Scope::Global).map_err(StoreError::from)?;
        if !(1..=IDLE_MAX_MINUTES).contains(&minutes) {
            return Err(kitakontor_core::DomainError::InvalidField {
                field: "idle_minutes",
                reason: format!("1 bis {IDLE_MAX_MINUTES} Minuten, nicht {minutes}"),
            }
            .into());
        }
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("INSERT INTO settings (key, value) VALUES ('idle_minutes', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
            .bind(minutes.to_string())
            .execute(&mut *tx)
            .await?;
        audit::actor_action(&mut tx, self, actor, "set_idle_minutes", &["setting:idle_minutes".to_string()]).await?;
        tx.commit().await?;
        Ok(())
    }
}
