//! Authorization codes: issued for an authenticated request (stored by digest, single
//! use), redeemed once by the client they were issued to with the same redirect URI and
//! the PKCE verifier; a second use revokes everything the first one issued.

use verity_domain::NewEntry;
use verity_domain::client::GrantType;
use verity_domain::grant::GrantRevocationReason;
use verity_projection::ClientView;

use super::error::{GrantError, invalid_grant};
use super::records::{CodeRecord, GrantRecord};
use super::revoke::revoke_grant;
use super::tokens::{self, NewRefresh, TokenResponse};
use crate::context::RequestContext;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::protocol::authorize::AuthorizationRequest;
use crate::protocol::pkce;
use crate::protocol::response::code_location;
use crate::protocol::tokens::{Authentication, token_digest};
use crate::random;
use crate::sessions;
use crate::state::{self, kind};

/// Issues a code for an authenticated request; returns where the browser goes: the
/// client's redirect URI with `code`, `state` and `iss`. Issuing it uses the session: its
/// activity (the idle timeout starting again) is written with the code, in one write.
pub async fn issue_code(
    engine: &Engine,
    context: &RequestContext,
    request: AuthorizationRequest,
    authentication: Authentication,
) -> Result<String, EngineError> {
    let code = random::token();
    let location = code_location(
        &request.redirect_uri,
        &code,
        request.state.as_deref(),
        &engine.settings.issuer,
    );
    let record = CodeRecord {
        request,
        authentication,
    };
    let (digest, stored) = (token_digest(&code), state::encode(&record)?);
    let activity = sessions::Activity::now(engine, context);
    let written = [
        NewEntry {
            kind: kind::CODE,
            key: &digest,
            value: &stored,
            expires_at: context.now + engine.settings.code_lifetime,
        },
        activity.entry(&record.authentication.sid),
    ];
    engine.expiring.put_many(&written).await?;
    Ok(location)
}

/// Redeems a code (grant type `authorization_code`) for tokens.
pub async fn redeem_code(
    engine: &Engine,
    context: &RequestContext,
    client: &ClientView,
    code: &str,
    redirect_uri: Option<&str>,
    code_verifier: Option<&str>,
) -> Result<TokenResponse, GrantError> {
    tokens::require_grant(client, GrantType::AuthorizationCode)?;
    let digest = token_digest(code);
    let now = context.now;
    let Some(bytes) = engine.expiring.take(kind::CODE, &digest, now).await? else {
        // A second use of a redeemed code revokes what the first use issued.
        if let Some(grant) = engine.expiring.get(kind::CODE_USED, &digest, now).await? {
            let grant_id = String::from_utf8_lossy(&grant).into_owned();
            revoke_grant(
                engine,
                context,
                &grant_id,
                GrantRevocationReason::CodeReused,
            )
            .await?;
        }
        return Err(invalid_grant(
            "the code is invalid, expired or already used",
        ));
    };
    let record: CodeRecord = state::decode(&bytes)?;
    let request = &record.request;
    if request.client_id != client.client_id {
        return Err(invalid_grant("the code was issued to another client"));
    }
    if redirect_uri != Some(request.redirect_uri.as_str()) {
        return Err(invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    match (&request.code_challenge, code_verifier) {
        (Some(challenge), Some(verifier)) if pkce::verify(verifier, challenge) => {}
        (Some(_), _) => return Err(invalid_grant("the PKCE code_verifier does not match")),
        (None, Some(_)) => {
            return Err(invalid_grant(
                "a code_verifier was sent but the request had no code_challenge",
            ));
        }
        (None, None) => {}
    }
    // The session the code came from may have ended since (logout, an admin's sign-out).
    if !sessions::alive(engine, context, &record.authentication).await? {
        return Err(invalid_grant("the session that issued the code has ended"));
    }
    let grant_id = random::uuid().to_string();
    let settings = &engine.settings;
    let grant = GrantRecord {
        client_id: client.client_id.clone(),
        scope: request.scope(),
        authentication: record.authentication.clone(),
    };
    // The grant outlives the access token only when refresh tokens extend it. Every token
    // carries its id, so revoking the grant (e.g. on code reuse) revokes them all.
    let refresh = client.allows_grant(GrantType::RefreshToken);
    let lifetime = if refresh {
        settings.refresh_token_lifetime
    } else {
        settings.access_token_lifetime
    };
    // The code's use (whose grant a second use revokes), the grant and its refresh
    // token, in one write.
    let stored_grant = state::encode(&grant)?;
    let refresh_token = refresh
        .then(|| NewRefresh::mint(engine, context, &grant_id))
        .transpose()?;
    let mut written = vec![
        NewEntry {
            kind: kind::CODE_USED,
            key: &digest,
            value: grant_id.as_bytes(),
            expires_at: now + settings.code_lifetime * 10,
        },
        NewEntry {
            kind: kind::GRANT,
            key: &grant_id,
            value: &stored_grant,
            expires_at: now + lifetime,
        },
    ];
    written.extend(refresh_token.as_ref().map(NewRefresh::entry));
    engine.expiring.put_many(&written).await?;
    let issued = tokens::Issue {
        grant: &grant,
        grant_id: &grant_id,
        refresh_token: refresh_token.map(|minted| minted.token),
        nonce: request.nonce.as_deref(),
        with_id_token: true,
    };
    Ok(tokens::for_person(engine, context, client, issued).await?)
}
