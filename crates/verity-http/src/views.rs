//! Pages that more than one door shows: the recovery codes (at sign-in and on Verity's
//! own page) and how many are left.

use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;

use verity_oidc::second_factor::{CodeRefusal, CodeRefused};

use crate::pages::STRINGS;
use crate::state::AppState;

/// "Your recovery codes", shown once; `replaced` says that an older set stopped working.
/// Without a login transaction (`tx` empty: Verity's own page) it links back to the page.
pub(crate) fn recovery_codes(
    state: &AppState,
    tx: &str,
    csrf: &str,
    codes: &[String],
    replaced: bool,
) -> Response {
    let codes = codes.to_vec();
    state.pages.personal(
        StatusCode::OK,
        "recovery_codes.html",
        context! { tx, csrf, codes, replaced },
    )
}

/// "You have N unused recovery codes left." (one, none: their own sentences).
pub(crate) fn recovery_codes_left(remaining: usize) -> String {
    match remaining {
        0 => STRINGS.no_recovery_codes_left.to_owned(),
        1 => STRINGS.one_recovery_code_left.to_owned(),
        _ => STRINGS
            .recovery_codes_left
            .replace("{count}", &remaining.to_string()),
    }
}

/// Makes `page` (a form with the refusal message) a 429 with `Retry-After`: sign-in from
/// the caller's network is locked until `until`.
pub(crate) fn too_many_requests(
    mut page: Response,
    until: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> Response {
    *page.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    page.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from(retry_after(until, now)),
    );
    page
}

/// Whole seconds until `until`, rounded up, at least 1.
fn retry_after(until: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>) -> i64 {
    let milliseconds = (until - now).num_milliseconds();
    milliseconds
        .div_euclid(1000)
        .saturating_add(i64::from(milliseconds.rem_euclid(1000) > 0))
        .max(1)
}

/// What to tell a person whose code was refused.
pub(crate) fn code_refusal_message(refusal: &CodeRefusal) -> &'static str {
    match refusal.reason {
        CodeRefused::NetworkLocked { .. } => STRINGS.ip_locked,
        CodeRefused::StepLocked => STRINGS.mfa_locked,
        CodeRefused::WrongCode => STRINGS.wrong_code,
        CodeRefused::ReusedCode => STRINGS.code_reused,
        CodeRefused::WrongRecoveryCode => STRINGS.wrong_recovery_code,
    }
}

/// Counts a refused code in the metrics and answers `page` (the form with
/// [`code_refusal_message`]), a 429 when the network is locked.
pub(crate) fn refused_code(
    state: &AppState,
    refusal: &CodeRefusal,
    now: chrono::DateTime<chrono::Utc>,
    page: Response,
) -> Response {
    if let Some(failure) = refusal.failure {
        state.metrics.second_factor_failure(failure);
    }
    state.metrics.refused(refusal.refused_by, &refusal.lockouts);
    match refusal.reason {
        CodeRefused::NetworkLocked { until } => too_many_requests(page, until, now),
        _ => page,
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Duration, Utc};

    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        assert_eq!(retry_after(now + Duration::minutes(15), now), 900);
        assert_eq!(retry_after(now + Duration::milliseconds(1500), now), 2);
        assert_eq!(retry_after(now, now), 1);
        assert_eq!(retry_after(now - Duration::seconds(5), now), 1);
    }
}
