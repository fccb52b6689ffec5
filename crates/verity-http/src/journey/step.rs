//! [`LoginStep`]: a posted step of the sign-in, loaded with its login transaction and
//! CSRF-checked before a handler runs, and the pages a step renders.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::{Value, context};
use subtle::ConstantTimeEq;
use verity_oidc::mfa::{self, TotpSecret};
use verity_oidc::password_policy;
use verity_oidc::protocol::Params;
use verity_oidc::signin::{self, OpenLogin};
use verity_projection::UserView;

use crate::context::Caller;
use crate::cookies;
use crate::form;
use crate::page_error::PageError;
use crate::pages::STRINGS;
use crate::state::AppState;
use crate::views;

/// A posted step of the sign-in: the form, its open login transaction (CSRF-checked),
/// and who posted it.
pub(crate) struct LoginStep {
    /// The transaction, as read.
    pub(crate) login: OpenLogin,
    /// The form's fields.
    pub(crate) form: Params,
    /// Who posted it, and when.
    pub(crate) caller: Caller,
}

impl FromRequest<AppState> for LoginStep {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, PageError> {
        let (mut parts, body) = request.into_parts();
        let Ok(caller) = Caller::from_request_parts(&mut parts, state).await;
        let body = Bytes::from_request(Request::from_parts(parts, body), state).await?;
        let form = form::parse(&caller.headers, &body).map_err(|error| match error {
            form::FormError::NotAForm => PageError::from(error),
            form::FormError::Malformed(_) => PageError::BadRequest(STRINGS.csrf_failed.to_owned()),
        })?;
        let (Some(tx), Some(posted_csrf)) = (form.get("tx"), form.get("csrf")) else {
            return Err(PageError::BadRequest(STRINGS.csrf_failed.to_owned()));
        };
        let Some(login) = signin::load(&state.engine, &caller.context, tx).await? else {
            return Err(PageError::LoginExpired);
        };
        // Any step's form may be the last one, which redirects to the client.
        caller
            .form_targets
            .allow(&login.transaction.request.redirect_uri);
        let cookie_csrf = caller.cookie(cookies::CSRF).unwrap_or_default();
        let expected = login.transaction.csrf.as_bytes();
        let form_matches: bool = posted_csrf.as_bytes().ct_eq(expected).into();
        let cookie_matches: bool = cookie_csrf.as_bytes().ct_eq(expected).into();
        if !(form_matches && cookie_matches) {
            return Err(PageError::Forbidden(STRINGS.csrf_failed));
        }
        Ok(Self {
            login,
            form,
            caller,
        })
    }
}

impl LoginStep {
    /// A field of the form, or empty.
    pub(crate) fn field(&self, name: &str) -> &str {
        self.form.get(name).unwrap_or_default()
    }

    /// Renders one of the journey's pages, with the transaction's `tx` and `csrf`.
    pub(crate) fn page(&self, state: &AppState, template: &str, values: Value) -> Response {
        let (tx, csrf) = (&self.login.tx, &self.login.transaction.csrf);
        state
            .pages
            .personal(StatusCode::OK, template, context! { tx, csrf, ..values })
    }

    /// "Choose a new password", with an error.
    pub(crate) fn password_page(&self, state: &AppState, error: Option<&str>) -> Response {
        let rules = password_policy::hint(state.engine.settings.password_min_length);
        self.page(state, "password.html", context! { error, rules })
    }

    /// "Set up your authenticator app": the QR code and the secret of `secret`.
    pub(crate) fn enrollment_page(
        &self,
        state: &AppState,
        person: &UserView,
        secret: &TotpSecret,
        app_name: &str,
        error: Option<&str>,
    ) -> Result<Response, PageError> {
        let instance = &state.engine.settings.instance_name;
        let uri = mfa::otpauth_uri(instance, person.email.as_str(), secret)
            .map_err(verity_oidc::EngineError::from)?;
        let qr_svg = mfa::qr_svg(&uri, STRINGS.qr_label).map_err(verity_oidc::EngineError::from)?;
        let secret = mfa::secret_base32_grouped(secret);
        Ok(self.page(
            state,
            "totp_setup.html",
            context! { qr_svg, secret, app_name, error },
        ))
    }

    /// "Enter the code from <app>", with an error.
    pub(crate) fn code_page(
        &self,
        state: &AppState,
        app_name: &str,
        may_remember: bool,
        error: Option<&str>,
    ) -> Response {
        let heading = STRINGS.mfa_heading.replace("{app}", app_name);
        self.page(state, "mfa.html", context! { heading, may_remember, error })
    }

    /// "Your recovery codes", shown once; `replaced` says that an older set stopped
    /// working.
    pub(crate) fn recovery_codes_page(
        &self,
        state: &AppState,
        codes: &[String],
        replaced: bool,
    ) -> Response {
        let (tx, csrf) = (&self.login.tx, &self.login.transaction.csrf);
        views::recovery_codes(state, tx, csrf, codes, replaced)
    }
}
