//! `POST /devices/forget`: "Forget" a trusted device on Verity's page.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use verity_oidc::account_page::{self, DeviceForgetting};

use super::posted::Posted;
use crate::cookies;
use crate::page_error::PageError;
use crate::state::AppState;

/// `POST /devices/forget`: "Forget" on the home page. The engine forgets the device if
/// the signed-in person trusts it ([`verity_oidc::account_page::forget_trusted_device`]:
/// `user.device.forgotten`, reason `revoked`, the person as actor; another person's id
/// does nothing); the device cookie is cleared when it was this browser, and the page
/// shows again.
pub(crate) async fn forget_device(
    State(state): State<AppState>,
    posted: Posted,
) -> Result<Response, PageError> {
    let device_cookie = posted.caller.cookie(cookies::DEVICE);
    let forgetting = account_page::forget_trusted_device(
        &state.engine,
        &posted.caller.context,
        &posted.signed_in.person,
        posted.field("device"),
        device_cookie,
    )
    .await?;
    let mut response = Redirect::to("/").into_response();
    if forgetting == (DeviceForgetting::Forgotten { this_browser: true }) {
        let cookie = state.cookies.clear(cookies::DEVICE);
        cookies::set_on(&mut response, &cookie);
    }
    Ok(response)
}
