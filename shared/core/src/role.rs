//! Organization roles. Viewers read; members and admins write; admins manage the organization.

use std::fmt;
use std::str::FromStr;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Member,
    Viewer,
}

impl Role {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Member => "member",
            Self::Viewer => "viewer",
        }
    }

    /// Whether this role may change anything at all (docs/api-decisions.md, "Everywhere": roles).
    pub const fn can_write(self) -> bool {
        !matches!(self, Self::Viewer)
    }

    pub const fn is_admin(self) -> bool {
        matches!(self, Self::Admin)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown role")]
pub struct UnknownRole;

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Self::Admin),
            "member" => Ok(Self::Member),
            "viewer" => Ok(Self::Viewer),
            _ => Err(UnknownRole),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_only_viewers_are_read_only() {
        for role in [Role::Admin, Role::Member, Role::Viewer] {
            assert_eq!(role.as_str().parse::<Role>().ok(), Some(role));
        }
        assert!("ADMIN".parse::<Role>().is_err());
        assert!(Role::Member.can_write() && Role::Admin.can_write() && !Role::Viewer.can_write());
    }
}
