//! Tenant access, the one rule: what a caller's role in the organization that owns an object
//! lets them do. The data crate answers "which role, if any" with one membership query; the
//! HTTP edge (`meetin_http::access`) asks this rule and turns a denial into its
//! refusal. docs/api-decisions.md ("Everywhere"): outside the caller's organizations an object
//! does not exist (404); viewers are read-only (403).

use crate::Role;
use crate::refusal::Refusal;

/// What an action needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Any member, viewers included.
    Read,
    /// Members and admins: creating and changing the organization's content.
    Write,
    /// Admins: the organization itself and its memberships.
    Admin,
}

impl Access {
    pub const fn allows(self, role: Role) -> bool {
        match self {
            Self::Read => true,
            Self::Write => role.can_write(),
            Self::Admin => role.is_admin(),
        }
    }
}

/// Why access was denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// Not a member (or no such organization): the object does not exist for the caller.
    NotMember,
    /// A member whose role is too low.
    RoleTooLow(Role),
}

/// The rule: `role` is the caller's role in the owning organization, `None` if not a member.
pub fn authorize(role: Option<Role>, needed: Access) -> Result<Role, Denied> {
    match role {
        None => Err(Denied::NotMember),
        Some(role) if needed.allows(role) => Ok(role),
        Some(role) => Err(Denied::RoleTooLow(role)),
    }
}

impl Denied {
    /// The usual refusal: 404 `No {model} matches the given query.` for outsiders, 403
    /// `You do not have permission to perform this action.` for a role too low.
    pub fn refusal(self, model: &str) -> Refusal {
        match self {
            Self::NotMember => Refusal::no_match(model),
            Self::RoleTooLow(_) => Refusal::read_only_role(),
        }
    }

    /// For querysets limited to what the caller may act on (docs/api-decisions.md, "Organizations and members": an organization's
    /// detail exists only for its admins): 404 either way.
    pub fn hidden(self, model: &str) -> Refusal {
        Refusal::no_match(model)
    }

    /// 403 with the given text either way (docs/api-decisions.md, "Organizations and members": member add by a non-admin).
    pub fn forbidden(self, detail: &'static str) -> Refusal {
        Refusal::forbidden(detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    #[test]
    fn the_role_matrix() {
        let (a, m, v) = (Role::Admin, Role::Member, Role::Viewer);
        let (read, write, admin) = (Access::Read, Access::Write, Access::Admin);
        let cases = [
            (a, read, true),
            (a, write, true),
            (a, admin, true),
            (m, read, true),
            (m, write, true),
            (m, admin, false),
            (v, read, true),
            (v, write, false),
            (v, admin, false),
        ];
        for (role, needed, allowed) in cases {
            assert_eq!(
                authorize(Some(role), needed).is_ok(),
                allowed,
                "{role} {needed:?}"
            );
        }
        for needed in [read, write, admin] {
            assert_eq!(authorize(None, needed), Err(Denied::NotMember));
        }
    }

    #[test]
    fn denials_become_the_contracts_refusals() {
        let outsider = Denied::NotMember.refusal("Meeting");
        assert_eq!(outsider.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            outsider.body()["detail"],
            "No Meeting matches the given query."
        );
        let viewer = Denied::RoleTooLow(Role::Viewer).refusal("Meeting");
        assert_eq!(viewer.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            Denied::RoleTooLow(Role::Member)
                .hidden("Organization")
                .status(),
            StatusCode::NOT_FOUND
        );
    }
}
