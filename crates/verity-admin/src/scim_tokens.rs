//! SCIM provisioning tokens (docs/scim.md): creating one for an organization (shown
//! once, stored as a SHA-256 hash), listing and revoking them, and turning a presented
//! bearer token into the [`Actor`] the SCIM door acts as.
//!
//! A token reads `vscim.<token id>.<secret>`: the id finds the token without a search,
//! the secret (256 random bits) is compared with the stored hash in constant time. A
//! token acts as its organization's provisioning: an org admin of that organization and
//! of no other, so every admin-layer rule about people applies to it unchanged; the SCIM
//! door reaches people only.

use chrono::{DateTime, Utc};
use uuid::Uuid;
use verity_domain::scim_token::{self, Invitations, ScimToken, ScimTokenCommand, ScimTokenCreated};
use verity_oidc::client_secret::{
    generate_client_id, generate_client_secret, hash_client_secret, matches_secret_hash,
};
use verity_oidc::random::crypto_rng;
use verity_projection::{ReadModels, ScimTokenView};

use crate::Secret;
use crate::actor::{Actor, Call, Door, Grant, Principal, Scope};
use crate::admin::Admin;
use crate::authorization::{Permission, authorize};
use crate::error::{AdminError, Missing};
use crate::organizations::{self, OrgRef};

/// How every SCIM token begins.
pub const TOKEN_PREFIX: &str = "vscim";

/// A SCIM token as admins see it: never its secret or hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimTokenInfo {
    /// Its id.
    pub token_id: String,
    /// The organization it provisions.
    pub org_id: Uuid,
    /// That organization's name.
    pub organization: String,
    /// What admins call it.
    pub label: String,
    /// Whether people it creates get the temporary-password email.
    pub invitations: Invitations,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A token just created: the only time its secret is seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedScimToken {
    /// The token as lists show it.
    pub info: ScimTokenInfo,
    /// The bearer token to give the provisioning system.
    pub token: Secret,
}

/// The SCIM door's caller, once its token was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimCaller {
    /// Who acts: the token, as an org admin of its organization.
    pub actor: Actor,
    /// The token's organization.
    pub org_id: Uuid,
    /// Whether people it creates get the temporary-password email.
    pub invitations: Invitations,
}

impl Admin {
    /// Creates a SCIM token for an organization (for those who manage its people).
    pub async fn create_scim_token(
        &self,
        actor: &Actor,
        call: &Call,
        org: &OrgRef,
        label: &str,
        invitations: Invitations,
    ) -> Result<IssuedScimToken, AdminError> {
        let org_id = self.read(|models| {
            let org = organizations::visible(models, actor, org)?;
            authorize(actor, Permission::ManagePeople, organizations::scope(org))?;
            Ok::<_, AdminError>(org.org_id)
        })?;
        let (token_id, secret) = {
            let mut rng = crypto_rng();
            (
                generate_client_id(&mut rng),
                generate_client_secret(&mut rng),
            )
        };
        let command = ScimTokenCommand::Create(ScimTokenCreated {
            token_id: token_id.clone(),
            org_id,
            label: label.to_owned(),
            secret_hash: hash_client_secret(&secret),
            invitations,
        });
        let outcome = self
            .decide::<ScimToken>(actor, call, &scim_token::stream(&token_id), &command)
            .await?;
        self.wait_for(outcome.position).await?;
        let info = self.scim_token(actor, &token_id)?;
        Ok(IssuedScimToken {
            info,
            token: Secret(format!("{TOKEN_PREFIX}.{token_id}.{secret}")),
        })
    }

    /// Revokes a token: from the next request on, it opens nothing.
    pub async fn revoke_scim_token(
        &self,
        actor: &Actor,
        call: &Call,
        token_id: &str,
    ) -> Result<ScimTokenInfo, AdminError> {
        let found = self.scim_token(actor, token_id)?;
        authorize(
            actor,
            Permission::ManagePeople,
            Scope::Organization(found.org_id),
        )?;
        let outcome = self
            .decide::<ScimToken>(
                actor,
                call,
                &scim_token::stream(token_id),
                &ScimTokenCommand::Revoke,
            )
            .await?;
        self.wait_for(outcome.position).await?;
        self.scim_token(actor, token_id)
    }

    /// One token, if the actor may read its organization's people.
    pub fn scim_token(&self, actor: &Actor, token_id: &str) -> Result<ScimTokenInfo, AdminError> {
        self.read(|models| {
            models
                .scim_tokens
                .get(token_id)
                .filter(|view| readable(actor, view))
                .and_then(|view| info(models, view))
                .ok_or_else(|| AdminError::NotFound(Missing::ScimToken(token_id.to_owned())))
        })
    }

    /// The tokens the actor may see: of one organization with `org`, else of every
    /// organization whose people they read. Newest first.
    pub fn scim_tokens(
        &self,
        actor: &Actor,
        org: Option<&OrgRef>,
    ) -> Result<Vec<ScimTokenInfo>, AdminError> {
        self.read(|models| {
            let wanted = match org {
                Some(org) => {
                    let org = organizations::visible(models, actor, org)?;
                    authorize(actor, Permission::ReadPeople, organizations::scope(org))?;
                    Some(org.org_id)
                }
                None => None,
            };
            let mut tokens: Vec<ScimTokenInfo> = models
                .scim_tokens
                .all()
                .filter(|view| wanted.is_none_or(|org_id| view.org_id == org_id))
                .filter(|view| readable(actor, view))
                .filter_map(|view| info(models, view))
                .collect();
            tokens.sort_by_key(|token| std::cmp::Reverse(token.created_at));
            Ok(tokens)
        })
    }

    /// Who a presented SCIM bearer token is, if it is a live token of an organization
    /// that exists: `None` for anything else (malformed, unknown, wrong secret, revoked),
    /// all alike, so a caller learns nothing about which part was wrong.
    pub fn scim_caller(&self, presented: &str) -> Option<ScimCaller> {
        let mut parts = presented.splitn(3, '.');
        let (Some(TOKEN_PREFIX), Some(token_id), Some(secret)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        self.read(|models| {
            let view = models.scim_tokens.get(token_id)?;
            let matches = matches_secret_hash(&view.secret_hash, secret);
            if !matches || view.revoked_at.is_some() {
                return None;
            }
            models.organizations.get(view.org_id)?;
            let principal = Principal::ScimToken {
                token_id: view.token_id.clone(),
            };
            Some(ScimCaller {
                actor: Actor::new(
                    principal,
                    Door::Scim,
                    vec![Grant::OrgAdmin {
                        org_id: view.org_id,
                    }],
                ),
                org_id: view.org_id,
                invitations: view.invitations,
            })
        })
    }
}

/// Whether the actor may see the token: they read its organization's people.
fn readable(actor: &Actor, view: &ScimTokenView) -> bool {
    actor.may(Permission::ReadPeople, Scope::Organization(view.org_id))
}

/// The token as lists show it (`None` if its organization is unknown).
fn info(models: &ReadModels, view: &ScimTokenView) -> Option<ScimTokenInfo> {
    let organization = models.organizations.get(view.org_id)?;
    Some(ScimTokenInfo {
        token_id: view.token_id.clone(),
        org_id: view.org_id,
        organization: organization.name.clone(),
        label: view.label.clone(),
        invitations: view.invitations,
        created_at: view.created_at,
        revoked_at: view.revoked_at,
    })
}
