//! `POST /devices/forget`: "Forget" a trusted device on Verity's page.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use verity_domain::mfa::ForgetReason;
use verity_oidc::{account, mfa};

use super::posted::Posted;
use crate::cookies;
use crate::page_error::PageError;
use crate::state::AppState;

/// `POST /devices/forget`: "Forget" on the home page. Records `user.device.forgotten`
/// (reason `revoked`, the person as actor) for one of the signed-in person's trusted
/// devices, clears the device cookie when it is this browser, and shows the page again.
pub(crate) async fn forget_device(
    State(state): State<AppState>,
    posted: Posted,
) -> Result<Response, PageError> {
    let person = &posted.signed_in.person;
    let context = &posted.caller.context;
    // Only a device of this person, still trusted: another person's id does nothing.
    let Some(device) = person
        .mfa
        .trusted_device(posted.field("device"), context.now)
    else {
        return Ok(Redirect::to("/").into_response());
    };
    let device_id_hash = device.device_id_hash.clone();
    let this_browser = posted
        .caller
        .cookie(cookies::DEVICE)
        .map(mfa::device_id_hash)
        .is_some_and(|hash| hash == device_id_hash);
    let reason = ForgetReason::Revoked;
    account::forget_device(
        &state.engine,
        context,
        person.user_id,
        device_id_hash,
        reason,
    )
    .await?;
    let mut response = Redirect::to("/").into_response();
    if this_browser {
        let cookie = state.cookies.clear(cookies::DEVICE);
        cookies::set_on(&mut response, &cookie);
    }
    Ok(response)
}
