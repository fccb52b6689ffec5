//! What an admin command or query needs ([`Permission`]); [`crate::authorization`] says
//! which grant gives it.

use std::fmt;

/// What an admin command or query needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// See an organization (its name and id).
    ReadOrganizations,
    /// Create organizations.
    ManageOrganizations,
    /// See people, their devices and their status.
    ReadPeople,
    /// Create, disable, enable, reset and unlock people.
    ManagePeople,
    /// See clients and their settings (never a secret).
    ReadClients,
    /// Register, change and delete clients; issue their secrets.
    ManageClients,
    /// See who holds which role.
    ReadRoles,
    /// Grant and revoke roles (no more than the admin holds).
    ManageRoles,
    /// See the signing keys (public parts and dates).
    ReadKeys,
    /// Rotate the signing keys.
    ManageKeys,
    /// Lift the sign-in lock of a client network.
    ManageNetworks,
    /// Read the whole log: its chain's state and its export (every organization's
    /// events).
    ReadLog,
}

impl Permission {
    /// Whether the permission only reads.
    pub fn is_read_only(self) -> bool {
        matches!(
            self,
            Self::ReadOrganizations
                | Self::ReadPeople
                | Self::ReadClients
                | Self::ReadRoles
                | Self::ReadKeys
                | Self::ReadLog
        )
    }

    /// What it allows, for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReadOrganizations => "read organizations",
            Self::ManageOrganizations => "manage organizations",
            Self::ReadPeople => "read people",
            Self::ManagePeople => "manage people",
            Self::ReadClients => "read clients",
            Self::ManageClients => "manage clients",
            Self::ReadRoles => "read roles",
            Self::ManageRoles => "grant or revoke roles",
            Self::ReadKeys => "read signing keys",
            Self::ManageKeys => "manage signing keys",
            Self::ManageNetworks => "unlock client networks",
            Self::ReadLog => "read the whole log",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}
