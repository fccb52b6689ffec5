//! Temporary passwords (docs/email.md): creating a person and issuing a new password
//! both send the person an email with a fresh temporary password.
//!
//! The email goes first and the event after, so a failed delivery records nothing
//! ([`AdminError::DeliveryFailed`]); every rule is checked before the email goes out,
//! so only a concurrent write can still refuse the append after it, which is reported as
//! [`AdminError::SentButNotRecorded`] (the emailed password does not work). The password
//! is in clear only in the email and in the [`Invitation`], for a door that was asked to
//! show it.

use chrono::{DateTime, Utc};
use verity_domain::user::{self, Directory, User, UserCommand, UserCreated};
use verity_domain::{Aggregate, Email, ExecuteError, StoreError, load};
use verity_oidc::credentials::{generate_temporary_password, hash_password_in};
use verity_oidc::mail::{Delivered, MailTemplates, TemporaryPasswordMail, TemporaryPasswordReason};
use verity_oidc::random::crypto_rng;
use verity_projection::OrganizationView;

use crate::Secret;
use crate::actor::{Actor, Call};
use crate::admin::Admin;
use crate::authorization::{Permission, authorize};
use crate::error::AdminError;
use crate::organizations::{self, OrgRef};
use crate::people::{Person, PersonRef, taken};

/// A person to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPerson {
    /// Their organization.
    pub org: OrgRef,
    /// Their sign-in address, as given (checked here).
    pub email: String,
    /// Their display name.
    pub name: String,
}

/// A temporary password issued and delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// The person, as they are now.
    pub person: Person,
    /// Their organization.
    pub organization: OrganizationView,
    /// The temporary password, in clear: it is in the email; show it only if asked.
    pub temporary_password: Secret,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// Where the email went.
    pub delivered: Delivered,
}

/// A new account, checked and ready to record.
pub(crate) struct NewAccount {
    /// Its id.
    pub(crate) user_id: uuid::Uuid,
    /// Its address.
    email: Email,
    /// The name the email greets.
    name: String,
    /// Its organization.
    organization: OrganizationView,
    /// Its temporary password.
    issued: Issued,
    /// What records it.
    command: UserCommand,
}

/// A fresh temporary password and its hash.
struct Issued {
    password: Secret,
    hash: String,
    expires_at: DateTime<Utc>,
}

impl Admin {
    /// Creates a person with a temporary password and emails it to them.
    pub async fn create_person(
        &self,
        actor: &Actor,
        call: &Call,
        new: &NewPerson,
    ) -> Result<Invitation, AdminError> {
        let account = self
            .prepare_account(actor, call, new, &Directory::default())
            .await?;
        let delivered = self.send_invitation(&account).await?;
        self.record_account(actor, call, &account, true).await?;
        Ok(Invitation {
            person: self.person(actor, &PersonRef::Id(account.user_id))?,
            organization: account.organization,
            temporary_password: account.issued.password,
            expires_at: account.issued.expires_at,
            delivered,
        })
    }

    /// Everything a new account needs, checked (the address free in an organization whose
    /// people the actor manages, the domain's rules) before any email goes out.
    pub(crate) async fn prepare_account(
        &self,
        actor: &Actor,
        call: &Call,
        new: &NewPerson,
        directory: &Directory,
    ) -> Result<NewAccount, AdminError> {
        let email = Email::parse(&new.email)?;
        let organization = self.read(|models| {
            let org = organizations::visible(models, actor, &new.org)?;
            authorize(actor, Permission::ManagePeople, organizations::scope(org))?;
            if models.users.find_by_email(org.org_id, &email).is_some() {
                return Err(taken(&email, org));
            }
            Ok(org.clone())
        })?;
        let issued = self.issue(call).await?;
        let user_id = verity_oidc::random::person_id(call.now);
        let command = UserCommand::CreateProvisioned {
            account: UserCreated {
                user_id,
                org_id: organization.org_id,
                email: email.clone(),
                name: new.name.clone(),
                temporary_password_hash: issued.hash.clone(),
                temporary_password_expires_at: issued.expires_at,
            },
            directory: directory.clone(),
        };
        User::default()
            .decide(&command, &call.context(actor))
            .map_err(|rule| AdminError::Refused(rule.into()))?;
        Ok(NewAccount {
            user_id,
            email,
            name: new.name.trim().to_owned(),
            organization,
            issued,
            command,
        })
    }

    /// Emails the new account's temporary password.
    pub(crate) async fn send_invitation(
        &self,
        account: &NewAccount,
    ) -> Result<Delivered, AdminError> {
        self.send(
            &account.email,
            &account.name,
            &account.issued,
            TemporaryPasswordReason::AccountCreated,
        )
        .await
    }

    /// Records the new account and waits until the read models show it. After an email
    /// went out (`sent`), a failure says the password in it does not work.
    pub(crate) async fn record_account(
        &self,
        actor: &Actor,
        call: &Call,
        account: &NewAccount,
        sent: bool,
    ) -> Result<(), AdminError> {
        let outcome = self
            .decide::<User>(
                actor,
                call,
                &user::stream(account.user_id),
                &account.command,
            )
            .await
            .map_err(|error| {
                let refused = match error {
                    ExecuteError::Store(StoreError::UniqueKeyTaken { .. }) => {
                        taken(&account.email, &account.organization)
                    }
                    other => other.into(),
                };
                if sent {
                    AdminError::SentButNotRecorded {
                        email: account.email.clone(),
                        reason: refused.to_string(),
                    }
                } else {
                    refused
                }
            })?;
        self.wait_for(outcome.position).await
    }

    /// Issues a new temporary password and emails it: the person's current password stops
    /// working, and they choose a new one at the next sign-in. A disabled person is
    /// refused before anything is sent.
    pub async fn reset_password(
        &self,
        actor: &Actor,
        call: &Call,
        person: &PersonRef,
    ) -> Result<Invitation, AdminError> {
        let view = self.person_to_manage(actor, person)?;
        let organization = self.organization(actor, &OrgRef::Id(view.org_id))?;
        let stream = user::stream(view.user_id);
        let issued = self.issue(call).await?;
        let command = UserCommand::IssueTemporaryPassword {
            temporary_password_hash: issued.hash.clone(),
            expires_at: issued.expires_at,
        };
        let (state, _) = load::<User>(self.ports.store.as_ref(), &stream).await?;
        state
            .decide(&command, &call.context(actor))
            .map_err(|rule| AdminError::Refused(rule.into()))?;
        let delivered = self
            .send(
                &view.email,
                &view.name,
                &issued,
                TemporaryPasswordReason::PasswordReset,
            )
            .await?;
        let outcome = self
            .decide::<User>(actor, call, &stream, &command)
            .await
            .map_err(|error| AdminError::SentButNotRecorded {
                email: view.email.clone(),
                reason: error.to_string(),
            })?;
        self.wait_for(outcome.position).await?;
        Ok(Invitation {
            person: self.person(actor, &PersonRef::Id(view.user_id))?,
            organization,
            temporary_password: issued.password,
            expires_at: issued.expires_at,
            delivered,
        })
    }

    /// A fresh temporary password, hashed within the hashing bound, and its expiry.
    async fn issue(&self, call: &Call) -> Result<Issued, AdminError> {
        let password = generate_temporary_password(&mut crypto_rng());
        let hash = {
            let password = password.clone();
            self.ports
                .hashing
                .run_waiting(move |memory| hash_password_in(&password, memory, &mut crypto_rng()))
                .await??
        };
        let days = self.settings.temporary_password_days;
        Ok(Issued {
            password: Secret(password),
            hash,
            expires_at: call.now + chrono::Duration::days(i64::from(days)),
        })
    }

    /// Renders and delivers the temporary-password email.
    async fn send(
        &self,
        email: &Email,
        name: &str,
        issued: &Issued,
        reason: TemporaryPasswordReason,
    ) -> Result<Delivered, AdminError> {
        let mail = MailTemplates::new()?.temporary_password(&TemporaryPasswordMail {
            instance: &self.settings.instance_name,
            email,
            name,
            temporary_password: issued.password.expose(),
            sign_in_url: &self.settings.sign_in_url,
            expires_at: issued.expires_at,
            valid_days: self.settings.temporary_password_days,
            reason,
        })?;
        self.ports
            .mailer
            .send(&mail)
            .await
            .map_err(|error| AdminError::DeliveryFailed { error, reason })
    }
}
