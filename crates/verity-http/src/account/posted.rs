//! The forms posted to Verity's page: [`Posted`] reads the form, finds the person whose
//! session posted it, and checks the page's token.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::Response;
use subtle::ConstantTimeEq;
use verity_oidc::protocol::Params;

use super::page::{Notice, page};
use super::signed_in::{SignedIn, signed_in};
use crate::context::Caller;
use crate::form;
use crate::page_error::PageError;
use crate::pages::STRINGS;
use crate::state::AppState;

/// A form posted to Verity's page by the person whose session posted it with the page's
/// token.
pub(crate) struct Posted {
    form: Params,
    pub(crate) signed_in: SignedIn,
    pub(crate) caller: Caller,
}

impl FromRequest<AppState> for Posted {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, PageError> {
        let (mut parts, body) = request.into_parts();
        let Ok(caller) = Caller::from_request_parts(&mut parts, state).await;
        let body = Bytes::from_request(Request::from_parts(parts, body), state).await?;
        let form = form::parse(&caller.headers, &body).map_err(|error| match error {
            form::FormError::NotAForm => PageError::from(error),
            form::FormError::Malformed(_) => PageError::BadRequest(STRINGS.csrf_failed.to_owned()),
        })?;
        let Some(signed_in) = signed_in(state, &caller).await? else {
            return Err(PageError::Forbidden(STRINGS.not_signed_in));
        };
        let posted = form.get("csrf").unwrap_or_default();
        if !bool::from(posted.as_bytes().ct_eq(signed_in.csrf.as_bytes())) {
            return Err(PageError::Forbidden(STRINGS.csrf_failed));
        }
        Ok(Self {
            form,
            signed_in,
            caller,
        })
    }
}

impl Posted {
    /// A field of the form, or empty.
    pub(crate) fn field(&self, name: &str) -> &str {
        self.form.get(name).unwrap_or_default()
    }

    /// The page again, with why a form was refused.
    pub(crate) async fn again(
        &self,
        state: &AppState,
        notice: Notice<'_>,
    ) -> Result<Response, PageError> {
        page(state, &self.caller, &self.signed_in, notice).await
    }
}
