//! A person's second factor as admins manage it (docs/mfa.md): the devices they chose to
//! trust, forgetting them, and removing a lost authenticator app.

use chrono::{DateTime, Utc};
use verity_domain::ExecuteError;
use verity_domain::mfa::{ForgetReason, MfaCommand, MfaError};
use verity_domain::user::{self, User, UserCommand, UserError};
use verity_projection::{DeviceState, DeviceView};

use crate::actor::{Actor, Call};
use crate::admin::Admin;
use crate::error::AdminError;
use crate::people::{Person, PersonRef};

/// Hex digits of a device id's hash shown to tell entries apart; the whole hash is never
/// shown.
pub const HASH_PREFIX: usize = verity_domain::mfa::DEVICE_NAME_DIGITS;

/// A device a person chose to trust ("Remember this device").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// The first [`HASH_PREFIX`] hex digits of its id's hash.
    pub device: String,
    /// What the person's browser said it was ("Firefox on Linux").
    pub label: String,
    /// When it was trusted.
    pub trusted_at: DateTime<Utc>,
    /// When the trust ends.
    pub expires_at: DateTime<Utc>,
    /// When it was forgotten, if it was.
    pub forgotten_at: Option<DateTime<Utc>>,
    /// Active, expired or forgotten, at the call's time.
    pub state: DeviceState,
}

impl Device {
    /// The device as it stood at `now`.
    pub(crate) fn at(view: &DeviceView, now: DateTime<Utc>) -> Self {
        Self {
            device: verity_domain::mfa::device_name(&view.device_id_hash).to_owned(),
            label: view.label.clone(),
            trusted_at: view.trusted_at,
            expires_at: view.expires_at,
            forgotten_at: view.forgotten_at,
            state: view.state(now),
        }
    }
}

/// A person's trusted devices, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Devices {
    /// The person.
    pub person: Person,
    /// Every remembered device (a bounded history).
    pub devices: Vec<Device>,
}

/// What forgetting a person's devices did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevicesForgotten {
    /// The person.
    pub person: Person,
    /// How many active trusts ended (0: there were none, and nothing was written).
    pub forgotten: usize,
}

/// What removing a person's authenticator app did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatorReset {
    /// The person, without an app now.
    pub person: Person,
    /// How many active trusted devices were forgotten with it.
    pub devices_forgotten: usize,
}

impl Admin {
    /// The devices a person trusts or trusted, with their state at the call's time.
    pub async fn devices(
        &self,
        actor: &Actor,
        call: &Call,
        person: &PersonRef,
    ) -> Result<Devices, AdminError> {
        let view = self.find_person(actor, person)?;
        let record = self.record_of(&view).await?;
        Ok(Devices {
            person: Person::from(view),
            devices: record
                .mfa
                .trusted_devices
                .iter()
                .map(|device| Device::at(device, call.now))
                .collect(),
        })
    }

    /// Ends every active trust (`user.device.forgotten` each): the person's next sign-in
    /// asks for a code. With none active, nothing is written.
    pub async fn forget_devices(
        &self,
        actor: &Actor,
        call: &Call,
        person: &PersonRef,
    ) -> Result<DevicesForgotten, AdminError> {
        let view = self.person_to_manage(actor, person)?;
        let record = self.record_of(&view).await?;
        // The domain forgets exactly the devices active at the command's `now`.
        let active = record.mfa.active_devices(call.now).count();
        let command = UserCommand::Mfa(MfaCommand::ForgetAllDevices {
            reason: ForgetReason::Revoked,
        });
        let forgotten = match self
            .decide::<User>(actor, call, &user::stream(view.user_id), &command)
            .await
        {
            Ok(outcome) => {
                self.wait_for(outcome.position).await?;
                active
            }
            Err(ExecuteError::Rejected(UserError::Mfa(MfaError::NoTrustedDevice))) => 0,
            Err(error) => return Err(error.into()),
        };
        Ok(DevicesForgotten {
            person: self.person(actor, &PersonRef::Id(view.user_id))?,
            forgotten,
        })
    }

    /// Ends the trust of one active device, named as [`Device::device`] shows it
    /// (`user.device.forgotten`, reason `revoked`, the admin named): the next sign-in in
    /// that browser asks for a code. A device that is not one of theirs, or not active,
    /// is not found.
    pub async fn forget_device(
        &self,
        actor: &Actor,
        call: &Call,
        person: &PersonRef,
        device: &str,
    ) -> Result<Person, AdminError> {
        let view = self.person_to_manage(actor, person)?;
        let record = self.record_of(&view).await?;
        let missing =
            || AdminError::Invalid(format!("{} trusts no active device {device:?}", view.email));
        let found = (device.len() == HASH_PREFIX)
            .then(|| {
                record
                    .mfa
                    .active_devices(call.now)
                    .find(|trusted| trusted.device_id_hash.starts_with(device))
            })
            .flatten()
            .ok_or_else(missing)?;
        let command = UserCommand::Mfa(MfaCommand::ForgetDevice {
            device_id_hash: found.device_id_hash.clone(),
            reason: ForgetReason::Revoked,
        });
        match self
            .decide::<User>(actor, call, &user::stream(view.user_id), &command)
            .await
        {
            Ok(outcome) => self.wait_for(outcome.position).await?,
            Err(ExecuteError::Rejected(UserError::Mfa(_))) => return Err(missing()),
            Err(error) => return Err(error.into()),
        }
        self.person(actor, &PersonRef::Id(view.user_id))
    }

    /// Removes the person's authenticator app (`user.totp.reset`): its codes and every
    /// recovery code stop working, every active trusted device is forgotten in the same
    /// append, and the next sign-in sets up an app again. A person without an app is a
    /// conflict: there is nothing to reset, and nothing is written.
    pub async fn reset_authenticator(
        &self,
        actor: &Actor,
        call: &Call,
        person: &PersonRef,
    ) -> Result<AuthenticatorReset, AdminError> {
        let view = self.person_to_manage(actor, person)?;
        let not_enrolled =
            || AdminError::Conflict(format!("{} has no authenticator app to reset", view.email));
        let record = self.record_of(&view).await?;
        if !record.mfa.is_enrolled() {
            return Err(not_enrolled());
        }
        // The domain forgets exactly the devices active at the command's `now`.
        let devices_forgotten = record.mfa.active_devices(call.now).count();
        let command = UserCommand::Mfa(MfaCommand::ResetAuthenticator);
        let outcome = self
            .decide::<User>(actor, call, &user::stream(view.user_id), &command)
            .await
            .map_err(|error| match error {
                // Another admin reset it a moment ago.
                ExecuteError::Rejected(UserError::Mfa(MfaError::NotEnrolled)) => not_enrolled(),
                other => other.into(),
            })?;
        self.wait_for(outcome.position).await?;
        Ok(AuthenticatorReset {
            person: self.person(actor, &PersonRef::Id(view.user_id))?,
            devices_forgotten,
        })
    }
}
