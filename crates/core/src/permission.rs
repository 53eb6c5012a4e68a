//! Roles and the one permission guard every service call passes.
//!
//! The matrix lives in `Role::allows`; scoping (own facility, educators' own groups) in
//! `authorize`. The UI only mirrors this; hiding a button is not a permission.

use crate::ids::{FacilityId, GroupId, UserId};
use serde::{Deserialize, Serialize};
use std::fmt;
use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Role {
    /// Träger-Admin: runs all facilities of the provider.
    ProviderAdmin,
    /// Einrichtungsleitung.
    Director,
    /// Verwaltung / fee staff: the only role besides provider admins that sees income and bank data.
    Office,
    /// Erzieher/in: own groups only.
    Educator,
    /// Technical admin: devices and accounts, no child data at all.
    TechAdmin,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::ProviderAdmin, Role::Director, Role::Office, Role::Educator, Role::TechAdmin];

    pub fn code(self) -> &'static str {
        match self {
            Role::ProviderAdmin => "provider_admin",
            Role::Director => "director",
            Role::Office => "office",
            Role::Educator => "educator",
            Role::TechAdmin => "tech_admin",
        }
    }

    pub fn from_code(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.code() == s)
    }

    pub fn label_de(self) -> &'static str {
        match self {
            Role::ProviderAdmin => "Träger-Administration",
            Role::Director => "Einrichtungsleitung",
            Role::Office => "Verwaltung",
            Role::Educator => "Erzieher/in",
            Role::TechAdmin => "Technische Administration",
        }
    }

    /// The permission matrix, before scoping.
    pub fn allows(self, p: Permission) -> bool {
        use Permission as P;
        use Role as R;
        match p {
            P::ManageFacility => matches!(self, R::ProviderAdmin | R::Director),
            P::ManageUsers => matches!(self, R::ProviderAdmin | R::Director | R::TechAdmin),
            P::ReadChildren => matches!(self, R::ProviderAdmin | R::Director | R::Office | R::Educator),
            P::WriteChildren => matches!(self, R::ProviderAdmin | R::Director),
            P::ReadHealth => matches!(self, R::ProviderAdmin | R::Director | R::Educator),
            P::WriteHealth => matches!(self, R::ProviderAdmin | R::Director),
            P::ReadFinance | P::WriteFinance => matches!(self, R::ProviderAdmin | R::Office),
            P::ReadApplications | P::ManageApplications => matches!(self, R::ProviderAdmin | R::Director),
            P::ReadContracts => matches!(self, R::ProviderAdmin | R::Director | R::Office),
            P::ManageContracts => matches!(self, R::ProviderAdmin | R::Director),
            P::ReadAttendance | P::RecordAttendance => matches!(self, R::ProviderAdmin | R::Director | R::Educator),
            P::ManageTickets => matches!(self, R::ProviderAdmin | R::Director),
            P::ReadOccupancy => matches!(self, R::ProviderAdmin | R::Director | R::Office),
            P::VerifyAudit => matches!(self, R::ProviderAdmin | R::TechAdmin),
            P::ExportFamily => matches!(self, R::ProviderAdmin | R::Director),
            P::RunBilling => matches!(self, R::ProviderAdmin | R::Office),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Permission {
    ManageFacility,
    ManageUsers,
    ReadChildren,
    WriteChildren,
    ReadHealth,
    WriteHealth,
    ReadFinance,
    WriteFinance,
    ReadApplications,
    ManageApplications,
    ReadContracts,
    ManageContracts,
    ReadAttendance,
    RecordAttendance,
    ManageTickets,
    ReadOccupancy,
    VerifyAudit,
    ExportFamily,
    /// Fee rules, fee notices, billing runs, SEPA files and the youth-office claim.
    RunBilling,
}

impl Permission {
    pub const ALL: [Permission; 19] = [
        Permission::ManageFacility,
        Permission::ManageUsers,
        Permission::ReadChildren,
        Permission::WriteChildren,
        Permission::ReadHealth,
        Permission::WriteHealth,
        Permission::ReadFinance,
        Permission::WriteFinance,
        Permission::ReadApplications,
        Permission::ManageApplications,
        Permission::ReadContracts,
        Permission::ManageContracts,
        Permission::ReadAttendance,
        Permission::RecordAttendance,
        Permission::ManageTickets,
        Permission::ReadOccupancy,
        Permission::VerifyAudit,
        Permission::ExportFamily,
        Permission::RunBilling,
    ];
}

/// The logged-in person, as the guard sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user_id: UserId,
    pub role: Role,
    /// The facility the account belongs to; `None` for provider-wide accounts.
    pub facility_id: Option<FacilityId>,
    /// Groups an educator works in.
    pub groups: Vec<GroupId>,
}

/// What a call touches, as far as scoping cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Provider-wide or facility-independent (users, audit).
    Global,
    /// A facility's lists (the store filters educators' lists to their groups).
    Facility(FacilityId),
    /// One child's record, in its facility and group.
    Child { facility: FacilityId, group: Option<GroupId> },
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("role {role} may not {permission:?}{}", scope_note.map(|s| format!(" ({s})")).unwrap_or_default())]
pub struct PermissionDenied {
    pub role: Role,
    pub permission: Permission,
    pub scope_note: Option<&'static str>,
}

/// The role check alone, made before anything is read (the scope follows once the target is
/// loaded, with [`authorize`]).
pub fn require_role(actor: &Actor, permission: Permission) -> Result<(), PermissionDenied> {
    if actor.role.allows(permission) {
        Ok(())
    } else {
        Err(PermissionDenied { role: actor.role, permission, scope_note: None })
    }
}

/// The guard. Returns `Ok` only if the role allows the permission and the scope is the actor's.
pub fn authorize(actor: &Actor, permission: Permission, scope: Scope) -> Result<(), PermissionDenied> {
    require_role(actor, permission)?;
    let deny = |note| Err(PermissionDenied { role: actor.role, permission, scope_note: note });
    let facility = match scope {
        Scope::Global => None,
        Scope::Facility(f) => Some(f),
        Scope::Child { facility, .. } => Some(facility),
    };
    if let (Some(own), Some(f)) = (actor.facility_id, facility) {
        if own != f {
            return deny(Some("other facility"));
        }
    }
    if actor.role == Role::Educator {
        match scope {
            Scope::Child { group: Some(g), .. } if actor.groups.contains(&g) => {}
            Scope::Child { .. } => return deny(Some("child is not in one of your groups")),
            Scope::Facility(_) => {}
            Scope::Global => return deny(Some("educators work within their facility")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn educators_only_reach_their_groups() {
        let fac = FacilityId(Uuid::from_u128(1));
        let mine = GroupId(Uuid::from_u128(2));
        let other = GroupId(Uuid::from_u128(3));
        let a = Actor { user_id: UserId(Uuid::nil()), role: Role::Educator, facility_id: Some(fac), groups: vec![mine] };
        assert!(authorize(&a, Permission::RecordAttendance, Scope::Child { facility: fac, group: Some(mine) }).is_ok());
        assert!(authorize(&a, Permission::RecordAttendance, Scope::Child { facility: fac, group: Some(other) }).is_err());
        assert!(authorize(&a, Permission::RecordAttendance, Scope::Child { facility: fac, group: None }).is_err());
        assert!(authorize(&a, Permission::ReadFinance, Scope::Child { facility: fac, group: Some(mine) }).is_err());
    }

    #[test]
    fn facility_accounts_stay_in_their_facility() {
        let fac = FacilityId(Uuid::from_u128(1));
        let a = Actor { user_id: UserId(Uuid::nil()), role: Role::Director, facility_id: Some(fac), groups: vec![] };
        assert!(authorize(&a, Permission::ReadChildren, Scope::Facility(fac)).is_ok());
        assert!(authorize(&a, Permission::ReadChildren, Scope::Facility(FacilityId(Uuid::from_u128(9)))).is_err());
        let p = Actor { facility_id: None, role: Role::ProviderAdmin, ..a };
        assert!(authorize(&p, Permission::ReadChildren, Scope::Facility(FacilityId(Uuid::from_u128(9)))).is_ok());
    }
}
