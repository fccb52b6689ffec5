//! Signing keys (docs/keys.md): reading them (public parts and dates, never private
//! material), rotating them, and making the first ones at a first start.
//!
//! Rotation generates a key (published first), activates it, and retires the previous
//! one with the configured grace period ([`verity_oidc::keys::plan_rotation`]). Only
//! these functions need the master key, which the door loads and passes in: managing
//! organizations and people works without it.

use chrono::{DateTime, Utc};
use verity_domain::ExecuteError;
use verity_domain::key::{SigningKey, SigningKeyCommand, SigningKeyError};
use verity_oidc::keys::{KeyError, MasterKey, SigningAlgorithm, generate, new_kid, plan_rotation};
use verity_projection::KeyState;

use crate::actor::{Actor, Call, Scope};
use crate::admin::Admin;
use crate::authorization::{Permission, authorize};
use crate::error::AdminError;

/// A signing key as admins see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyInfo {
    /// Its key id.
    pub kid: String,
    /// What it signs with.
    pub alg: SigningAlgorithm,
    /// Generated, active or retired, with dates.
    pub state: KeyState,
    /// When it was generated.
    pub generated_at: DateTime<Utc>,
    /// Whether it is in the JWKS at the call's time.
    pub published: bool,
}

/// What one rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// The algorithm rotated.
    pub alg: SigningAlgorithm,
    /// The new, active key.
    pub kid: String,
    /// The keys retired, with the end of their grace period.
    pub retired: Vec<(String, DateTime<Utc>)>,
}

impl Admin {
    /// Every signing key, by algorithm and age.
    pub fn signing_keys(
        &self,
        actor: &Actor,
        call: &Call,
    ) -> Result<Vec<SigningKeyInfo>, AdminError> {
        authorize(actor, Permission::ReadKeys, Scope::Instance)?;
        Ok(self.read(|models| {
            models
                .keys
                .list()
                .into_iter()
                .map(|key| SigningKeyInfo {
                    kid: key.kid.clone(),
                    alg: key.alg,
                    state: key.state,
                    generated_at: key.generated_at,
                    published: key.is_published_at(call.now),
                })
                .collect()
        }))
    }

    /// Rotates `alg`'s key; waits until the read models show the new one.
    pub async fn rotate_signing_key(
        &self,
        actor: &Actor,
        call: &Call,
        master: &MasterKey,
        alg: SigningAlgorithm,
    ) -> Result<Rotation, AdminError> {
        authorize(actor, Permission::ManageKeys, Scope::Instance)?;
        self.rotate(&call.context(actor), master, alg).await
    }

    /// First start: for each algorithm without an active key, generates and activates
    /// one, recorded as Verity's own act (no one asked for it). Returns the keys made.
    /// Several nodes starting at once may each make one; every node then signs with the
    /// one activated last.
    pub async fn ensure_signing_keys(
        &self,
        call: &Call,
        master: &MasterKey,
    ) -> Result<Vec<Rotation>, AdminError> {
        let context = call.context_recorded_as(verity_domain::Actor::System);
        let mut made = Vec::new();
        for alg in SigningAlgorithm::ALL {
            if self.read(|models| models.keys.active(alg).is_none()) {
                let rotation = self.rotate(&context, master, alg).await?;
                tracing::info!(%alg, kid = %rotation.kid, "generated and activated a signing key");
                made.push(rotation);
            }
        }
        Ok(made)
    }

    async fn rotate(
        &self,
        context: &verity_domain::Context,
        master: &MasterKey,
        alg: SigningAlgorithm,
    ) -> Result<Rotation, AdminError> {
        let kid = new_kid();
        let generated = {
            let (kid, master) = (kid.clone(), master.clone());
            // RSA key generation takes a while: keep it off the async workers.
            tokio::task::spawn_blocking(move || generate(alg, &kid, &master))
                .await
                .map_err(|error| KeyError::Generate {
                    alg,
                    reason: error.to_string(),
                })??
        };
        let keys = self.read(|models| models.keys.clone());
        let steps = plan_rotation(
            &keys,
            &generated,
            context.now,
            self.settings.retired_key_grace,
        );
        let mut position = 0;
        let mut retired = Vec::new();
        for step in &steps {
            let outcome = verity_domain::execute::<SigningKey>(
                self.ports.store.as_ref(),
                &step.stream(),
                &step.command,
                context,
            )
            .await;
            match (outcome, &step.command) {
                (Ok(outcome), command) => {
                    position = position.max(outcome.position);
                    if let SigningKeyCommand::Retire { keep_until } = command {
                        retired.push((step.kid.clone(), *keep_until));
                    }
                }
                // Another node retired it meanwhile: the outcome is the same.
                (
                    Err(ExecuteError::Rejected(SigningKeyError::Retired)),
                    SigningKeyCommand::Retire { .. },
                ) => {}
                (Err(error), _) => return Err(error.into()),
            }
        }
        self.wait_for(position).await?;
        Ok(Rotation { alg, kid, retired })
    }
}
