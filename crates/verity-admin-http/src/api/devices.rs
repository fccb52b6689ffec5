//! A person's trusted devices ("Remember this device"): list them, forget one or all.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use verity_admin::devices;
use verity_projection::DeviceState;

use super::extract::{OnPerson, Segments};
use super::people::Person;
use super::problem::ApiError;
use super::sessions::named_in_path;
use crate::state::AdminState;

/// Where a trusted device stands now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum DeviceStatus {
    /// A sign-in from it skips the code.
    Active,
    /// Its trust ended.
    Expired,
    /// It was forgotten.
    Forgotten,
}

/// A device a person chose to trust.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct Device {
    /// The first hex digits of its id's hash (the whole hash is never shown).
    pub(crate) device: String,
    /// What the person's browser said it was ("Firefox on Linux").
    pub(crate) label: String,
    /// When it was trusted.
    pub(crate) trusted_at: DateTime<Utc>,
    /// When the trust ends.
    pub(crate) expires_at: DateTime<Utc>,
    /// When it was forgotten, if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) forgotten_at: Option<DateTime<Utc>>,
    /// Active, expired or forgotten.
    pub(crate) status: DeviceStatus,
}

impl From<devices::Device> for Device {
    fn from(device: devices::Device) -> Self {
        Self {
            device: device.device,
            label: device.label,
            trusted_at: device.trusted_at,
            expires_at: device.expires_at,
            forgotten_at: device.forgotten_at,
            status: match device.state {
                DeviceState::Active => DeviceStatus::Active,
                DeviceState::Expired => DeviceStatus::Expired,
                DeviceState::Forgotten => DeviceStatus::Forgotten,
            },
        }
    }
}

/// A person's trusted devices, oldest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct Devices {
    /// The person.
    pub(crate) person: Person,
    /// Every remembered device (a bounded history).
    pub(crate) devices: Vec<Device>,
}

/// What forgetting devices did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct DevicesForgotten {
    /// The person.
    pub(crate) person: Person,
    /// How many active trusts ended (0: there were none, and nothing was written).
    pub(crate) forgotten: usize,
}

/// The devices a person trusts or trusted.
#[utoipa::path(
    get,
    path = "/api/v1/people/{user_id}/devices",
    tag = "people",
    params(("user_id" = Uuid, Path, description = "The person's id")),
    responses((status = 200, description = "Their devices", body = Devices))
)]
pub(crate) async fn list_devices(
    State(state): State<AdminState>,
    on: OnPerson,
) -> Result<Json<Devices>, ApiError> {
    let found = state.admin.devices(&on.actor, &on.call, &on.person).await?;
    Ok(Json(Devices {
        person: found.person.into(),
        devices: found.devices.into_iter().map(Device::from).collect(),
    }))
}

/// Forgets every device the person trusts: their next sign-in asks for a code.
#[utoipa::path(
    delete,
    path = "/api/v1/people/{user_id}/devices",
    tag = "people",
    params(("user_id" = Uuid, Path, description = "The person's id")),
    responses((status = 200, description = "How many were forgotten", body = DevicesForgotten))
)]
pub(crate) async fn forget_devices(
    State(state): State<AdminState>,
    on: OnPerson,
) -> Result<Json<DevicesForgotten>, ApiError> {
    let forgotten = state
        .admin
        .forget_devices(&on.actor, &on.call, &on.person)
        .await?;
    Ok(Json(DevicesForgotten {
        person: forgotten.person.into(),
        forgotten: forgotten.forgotten,
    }))
}

/// Forgets one device the person trusts, named as the list shows it: the next sign-in in
/// that browser asks for a code.
#[utoipa::path(
    delete,
    path = "/api/v1/people/{user_id}/devices/{device}",
    tag = "people",
    params(
        ("user_id" = Uuid, Path, description = "The person's id"),
        ("device" = String, Path, description = "The device as the list shows it"),
    ),
    responses((status = 200, description = "Forgotten; the person as they are now", body = Person))
)]
pub(crate) async fn forget_device(
    State(state): State<AdminState>,
    on: OnPerson,
    Segments((_, device)): Segments<(String, String)>,
) -> Result<Json<Person>, ApiError> {
    let person = state
        .admin
        .forget_device(&on.actor, &on.call, &on.person, &device)
        .await
        .map_err(named_in_path)?;
    Ok(Json(person.into()))
}
