//! The city's duplicate proposals and registry matches on this PC (BRIEF §4), offline first.
//!
//! The hub decides what is a proposal and what the registry says (`kitakontor-hub`'s
//! `duplicates` and `registry`); each sync round stores what it sent for this PC's facility
//! ([`Store::store_city_snapshot`]), so the office sees the last known state without a
//! connection. A decision made here is queued ([`Store::queue_duplicate_decision`], audited)
//! and shows as "entschieden, wird gesendet" until the next round has sent it
//! ([`Store::pending_city_decisions`], [`Store::mark_city_decision_sent`]). When the hub refuses
//! it for good (the proposal is gone, or the other facility decided otherwise), the hub's state
//! stands and the refusal stays on the decision for the office to read.
//!
//! Nothing here changes a child: confirming a proposal only tells the city the child is
//! registered twice. The tables are local-only (no commands, no outbox, no undo images);
//! erasing a child removes its rows at once (trigger `city_forget_child`, migration 0004).
//!
//! Permissions: reading needs `ReadApplications`, deciding `ManageApplications` (directors
//! and provider admins); a facility's account sees only its facility's rows.

use crate::audit;
use crate::error::{Result, StoreError};
use crate::time::{parse_ts, ts};
use crate::Store;
use chrono::{DateTime, Utc};
use kitakontor_core::ids::FacilityId;
use kitakontor_core::permission::{require_role, Actor, Permission};
use kitakontor_core::protocol::city::{ChildRegistryStatus, Decision, DuplicateView, ProposalState, RegistryImport, RegistryStatus};
use serde::Serialize;
use sqlx::SqliteConnection;
use uuid::Uuid;

/// A decision that cannot be taken. Messages are German: the office reads them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CityError {
    #[error("Der Dublettenvorschlag {0} ist auf diesem PC nicht bekannt. Bitte mit dem Hub abgleichen und die Liste neu laden.")]
    UnknownProposal(Uuid),
    #[error("Über diesen Dublettenvorschlag wurde bereits entschieden: {0}.")]
    AlreadyDecided(&'static str),
    #[error("Über diesen Dublettenvorschlag wurde auf diesem PC bereits entschieden ({0}); die Entscheidung wird beim nächsten Abgleich gesendet.")]
    DecisionPending(&'static str),
}

impl CityError {
    pub fn code(&self) -> &'static str {
        match self {
            CityError::UnknownProposal(_) => "not_found",
            CityError::AlreadyDecided(_) | CityError::DecisionPending(_) => "conflict",
        }
    }
}

/// A proposal's status as this PC shows it: the hub's, or a decision waiting to be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ProposalStatus {
    Open,
    Confirmed,
    Rejected,
    /// Decided here, not yet sent ("entschieden, wird gesendet").
    Sending,
}

/// The latest decision made on this PC about a proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LocalDecision {
    pub decision: Decision,
    /// Display name of the account that decided (if it exists on this PC).
    pub decided_by: Option<String>,
    pub decided_at: DateTime<Utc>,
    /// When the hub took it; `None` while it waits (or when it was refused).
    pub sent_at: Option<DateTime<Utc>>,
    /// The hub's refusal (German): the hub's state stands.
    pub error: Option<String>,
}

/// One cached proposal: what the hub sent, with this PC's decision on top.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CityProposal {
    #[serde(flatten)]
    pub view: DuplicateView,
    pub status: ProposalStatus,
    pub local: Option<LocalDecision>,
    pub fetched_at: DateTime<Utc>,
}

/// The cached registry status of the facility's children.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CityRegistry {
    /// The extract the hub matched against; `None` when it had none (or nothing was fetched).
    pub extract: Option<RegistryImport>,
    pub children: Vec<ChildRegistryStatus>,
}

/// When the cache was filled, and why the last attempt failed (if it did).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CityFetch {
    /// The last good fetch; `None`: never fetched.
    pub fetched_at: Option<DateTime<Utc>>,
    /// German; cleared by the next good fetch.
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
}

/// A decision waiting to be sent (for the sync engine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingDecision {
    pub id: i64,
    pub proposal_id: Uuid,
    pub decision: Decision,
}

fn json<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Conflict(format!("{what} im Zwischenspeicher unlesbar: {e}")))
}

fn text<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("plain data serialises")
}

/// `facility_id = ?` for a facility's account, every row for provider-wide accounts.
const SCOPE: &str = "(?1 IS NULL OR facility_id = ?1)";

type DecisionRow = (String, String, Option<String>, String, Option<String>, Option<String>);

impl Store {
    /// The cached proposals of the actor's facility, open and waiting ones first.
    pub async fn city_proposals(&self, actor: &Actor) -> Result<Vec<CityProposal>> {
        require_role(actor, Permission::ReadApplications)?;
        let mut conn = self.pool.acquire().await?;
        proposals(&mut conn, actor.facility_id, None).await
    }

    /// The cached registry status of the actor's facility's children, in name order.
    pub async fn city_registry(&self, actor: &Actor) -> Result<CityRegistry> {
        require_role(actor, Permission::ReadApplications)?;
        let scope = actor.facility_id.map(|f| f.to_string());
        let rows: Vec<(String,)> =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT status FROM city_registry WHERE {SCOPE} ORDER BY child_id")))
                .bind(&scope)
                .fetch_all(&self.pool)
                .await?;
        let mut children = rows.iter().map(|(s,)| json::<ChildRegistryStatus>("Meldestatus", s)).collect::<Result<Vec<_>>>()?;
        children.sort_by(|a, b| (&a.last_name, &a.first_name, a.child_id).cmp(&(&b.last_name, &b.first_name, b.child_id)));
        let extract: Option<(Option<String>,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT extract FROM city_fetch WHERE {SCOPE} AND fetched_at IS NOT NULL ORDER BY fetched_at DESC LIMIT 1"
        )))
        .bind(&scope)
        .fetch_optional(&self.pool)
        .await?;
        let extract = match extract.and_then(|e| e.0) {
            Some(e) => Some(json::<RegistryImport>("Melderegister-Auszug", &e)?),
            None => None,
        };
        Ok(CityRegistry { extract, children })
    }

    /// When the actor's facility's cache was last filled, and the last failure.
    pub async fn city_fetch(&self, actor: &Actor) -> Result<CityFetch> {
        require_role(actor, Permission::ReadApplications)?;
        let row: Option<(Option<String>, Option<String>, Option<String>)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT max(fetched_at), (SELECT last_error FROM city_fetch WHERE {SCOPE} AND last_error IS NOT NULL ORDER BY last_error_at DESC LIMIT 1),
                    max(last_error_at)
             FROM city_fetch WHERE {SCOPE}"
        )))
        .bind(actor.facility_id.map(|f| f.to_string()))
        .fetch_optional(&self.pool)
        .await?;
        let (fetched_at, last_error, last_error_at) = row.unwrap_or_default();
        Ok(CityFetch {
            fetched_at: fetched_at.map(|t| parse_ts(&t)),
            last_error_at: last_error.as_ref().and(last_error_at.map(|t| parse_ts(&t))),
            last_error,
        })
    }

    /// Decides a cached proposal: queued for the next sync round (audited). Refused with
    /// nothing stored when the proposal is unknown here or outside the actor's facility, when
    /// the hub has it decided already, or when a decision made here still waits.
    pub async fn queue_duplicate_decision(&self, actor: &Actor, proposal_id: Uuid, decision: Decision) -> Result<CityProposal> {
        require_role(actor, Permission::ManageApplications)?;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let found = proposals(&mut tx, actor.facility_id, Some(proposal_id)).await?;
        let first = found.first().ok_or(CityError::UnknownProposal(proposal_id))?;
        if let Some(l) = first.local.as_ref().filter(|_| first.status == ProposalStatus::Sending) {
            return Err(CityError::DecisionPending(l.decision.label_de()).into());
        }
        if let Some(decided) = Decision::from_code(first.view.state.code()) {
            return Err(CityError::AlreadyDecided(decided.label_de()).into());
        }
        let now = self.now();
        sqlx::query("INSERT INTO city_decisions (proposal_id, decision, decided_by, decided_at) VALUES (?, ?, ?, ?)")
            .bind(proposal_id.to_string())
            .bind(decision.code())
            .bind(actor.user_id.to_string())
            .bind(ts(now))
            .execute(&mut *tx)
            .await?;
        let mut records = vec![format!("duplicate_proposal:{proposal_id}")];
        records.extend(found.iter().map(|p| format!("child:{}", p.view.child.child_id)));
        audit::actor_action(&mut tx, self, actor, "decide_duplicate", &records).await?;
        let after = proposals(&mut tx, actor.facility_id, Some(proposal_id)).await?;
        tx.commit().await?;
        Ok(after.into_iter().next().expect("the proposal was there a moment ago"))
    }

    /// Decisions waiting to be sent, oldest first (the sync engine; no person involved).
    pub async fn pending_city_decisions(&self) -> Result<Vec<PendingDecision>> {
        let rows: Vec<(i64, String, String)> =
            sqlx::query_as("SELECT id, proposal_id, decision FROM city_decisions WHERE sent_at IS NULL AND error IS NULL ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|(id, p, d)| {
                Ok(PendingDecision {
                    id,
                    proposal_id: p.parse().map_err(|_| StoreError::Conflict(format!("Vorschlagsnummer {p} unlesbar")))?,
                    decision: Decision::from_code(&d).ok_or_else(|| StoreError::Conflict(format!("Entscheidung {d} unlesbar")))?,
                })
            })
            .collect()
    }

    /// The hub's answer to a sent decision: `Ok(view)` — taken (idempotent on the hub), the
    /// cache shows the hub's state at once; `Err(message)` — refused for good, the message
    /// stays on the decision and the hub's state stands (the next fetch brings it).
    pub async fn mark_city_decision_sent(&self, id: i64, answer: std::result::Result<&DuplicateView, &str>) -> Result<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        match answer {
            Ok(view) => {
                sqlx::query("UPDATE city_decisions SET sent_at = ?, error = NULL WHERE id = ?")
                    .bind(ts(self.now()))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                let rows: Vec<(String, String)> = sqlx::query_as("SELECT child_id, view FROM city_proposals WHERE id = ?")
                    .bind(view.id.to_string())
                    .fetch_all(&mut *tx)
                    .await?;
                for (child, cached) in rows {
                    let mut v: DuplicateView = json("Dublettenvorschlag", &cached)?;
                    v.state = view.state;
                    v.decided_at = view.decided_at;
                    sqlx::query("UPDATE city_proposals SET view = ? WHERE id = ? AND child_id = ?")
                        .bind(text(&v))
                        .bind(view.id.to_string())
                        .bind(child)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            Err(message) => {
                sqlx::query("UPDATE city_decisions SET error = ? WHERE id = ?").bind(message).bind(id).execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Replaces the cache of `facility` with what the hub sent, in one transaction; clears the
    /// last error. Decisions already answered whose proposal is gone are dropped with it.
    pub async fn store_city_snapshot(
        &self,
        facility: FacilityId,
        proposals: &[DuplicateView],
        registry: &RegistryStatus,
        fetched_at: DateTime<Utc>,
    ) -> Result<()> {
        let f = facility.to_string();
        let at = ts(fetched_at);
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("DELETE FROM city_proposals WHERE facility_id = ?").bind(&f).execute(&mut *tx).await?;
        for p in proposals {
            sqlx::query(
                "INSERT INTO city_proposals (id, child_id, facility_id, view, fetched_at) VALUES (?, ?, ?, ?, ?)
                 ON CONFLICT (id, child_id) DO UPDATE SET facility_id = excluded.facility_id, view = excluded.view, fetched_at = excluded.fetched_at",
            )
            .bind(p.id.to_string())
            .bind(p.child.child_id.to_string())
            .bind(&f)
            .bind(text(p))
            .bind(&at)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("DELETE FROM city_registry WHERE facility_id = ?").bind(&f).execute(&mut *tx).await?;
        for c in &registry.children {
            sqlx::query(
                "INSERT INTO city_registry (child_id, facility_id, status, fetched_at) VALUES (?, ?, ?, ?)
                 ON CONFLICT (child_id) DO UPDATE SET facility_id = excluded.facility_id, status = excluded.status, fetched_at = excluded.fetched_at",
            )
            .bind(c.child_id.to_string())
            .bind(&f)
            .bind(text(c))
            .bind(&at)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO city_fetch (facility_id, fetched_at, extract, last_error, last_error_at) VALUES (?, ?, ?, NULL, NULL)
             ON CONFLICT (facility_id) DO UPDATE SET fetched_at = excluded.fetched_at, extract = excluded.extract, last_error = NULL, last_error_at = NULL",
        )
        .bind(&f)
        .bind(&at)
        .bind(registry.extract.as_ref().map(text))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM city_decisions WHERE (sent_at IS NOT NULL OR error IS NOT NULL)
               AND proposal_id NOT IN (SELECT id FROM city_proposals)",
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Notes a failed city step of a sync round (German, shown on the screen); the cache stays.
    pub async fn set_city_error(&self, facility: FacilityId, error: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO city_fetch (facility_id, last_error, last_error_at) VALUES (?, ?, ?)
             ON CONFLICT (facility_id) DO UPDATE SET last_error = excluded.last_error, last_error_at = excluded.last_error_at",
        )
        .bind(facility.to_string())
        .bind(error)
        .bind(ts(self.now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// Cached proposals in `facility`'s scope (all for `None`), optionally of one id, with the
/// latest decision made here; open and waiting first, then by score.
async fn proposals(conn: &mut SqliteConnection, facility: Option<FacilityId>, id: Option<Uuid>) -> Result<Vec<CityProposal>> {
    let rows: Vec<(String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT view, fetched_at FROM city_proposals WHERE {SCOPE} AND (?2 IS NULL OR id = ?2) ORDER BY id, child_id"
    )))
    .bind(facility.map(|f| f.to_string()))
    .bind(id.map(|i| i.to_string()))
    .fetch_all(&mut *conn)
    .await?;
    let decisions: Vec<DecisionRow> = sqlx::query_as(
        "SELECT d.proposal_id, d.decision, u.display_name, d.decided_at, d.sent_at, d.error
         FROM city_decisions d LEFT JOIN users u ON u.id = d.decided_by
         WHERE d.id IN (SELECT max(id) FROM city_decisions GROUP BY proposal_id) AND (?1 IS NULL OR d.proposal_id = ?1)",
    )
    .bind(id.map(|i| i.to_string()))
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (view, fetched_at) in rows {
        let view: DuplicateView = json("Dublettenvorschlag", &view)?;
        let pid = view.id.to_string();
        let local = match decisions.iter().find(|d| d.0 == pid) {
            Some((_, decision, by, at, sent, error)) => Some(LocalDecision {
                decision: Decision::from_code(decision).ok_or_else(|| StoreError::Conflict(format!("Entscheidung {decision} unlesbar")))?,
                decided_by: by.clone(),
                decided_at: parse_ts(at),
                sent_at: sent.as_deref().map(parse_ts),
                error: error.clone(),
            }),
            None => None,
        };
        let waiting = local.as_ref().is_some_and(|l| l.sent_at.is_none() && l.error.is_none());
        let status = match view.state {
            _ if waiting => ProposalStatus::Sending,
            ProposalState::Open => ProposalStatus::Open,
            ProposalState::Confirmed => ProposalStatus::Confirmed,
            ProposalState::Rejected => ProposalStatus::Rejected,
        };
        out.push(CityProposal { view, status, local, fetched_at: parse_ts(&fetched_at) });
    }
    let rank = |p: &CityProposal| match p.status {
        ProposalStatus::Open | ProposalStatus::Sending => 0,
        _ => 1,
    };
    out.sort_by(|a, b| rank(a).cmp(&rank(b)).then(b.view.score.cmp(&a.view.score)).then(a.view.id.cmp(&b.view.id)));
    Ok(out)
}
