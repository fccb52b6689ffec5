//! Every string the console shows, by key (templates use them as `c.<key>`), ready for
//! translation. Labels the sign-in pages show too are taken from
//! [`verity_http::web::STRINGS`], so both say the same. `{name}`-style placeholders are
//! replaced by the handlers.

use serde::Serialize;
use verity_http::web::STRINGS;

/// The console's strings.
#[derive(Debug, Clone, Serialize)]
pub struct ConsoleStrings {
    /// What the console is called (titles, the navigation's name).
    pub console: &'static str,
    /// The link that skips the navigation.
    pub skip_to_content: &'static str,
    /// The navigation entry and heading of the people.
    pub users: &'static str,
    /// The navigation entry and heading of the clients.
    pub clients: &'static str,
    /// The navigation entry and heading of the organizations.
    pub organizations: &'static str,
    /// The navigation entry and heading of the auditor's section.
    pub audit: &'static str,
    /// The button in the bottom-left corner that ends the console and SSO sessions.
    pub log_out: &'static str,
    /// Before the signed-in admin's address.
    pub signed_in_as: &'static str,
    /// Label of the search box of the people.
    pub search_users: &'static str,
    /// The button that searches.
    pub search: &'static str,
    /// Label of the status filter, and the status column.
    pub status: &'static str,
    /// The status filter's choice of every status.
    pub any_status: &'static str,
    /// A person who may sign in.
    pub active: &'static str,
    /// A person who may not.
    pub disabled: &'static str,
    /// The status of an erased person (in the audit pages).
    pub erased: &'static str,
    /// Label and column of an organization.
    pub organization: &'static str,
    /// Label and column of a sign-in address.
    pub email: &'static str,
    /// Label and column of a name.
    pub name: &'static str,
    /// Column: whether an authenticator app is set up.
    pub authenticator: &'static str,
    /// An authenticator app is set up.
    pub authenticator_set_up: &'static str,
    /// None is.
    pub authenticator_missing: &'static str,
    /// Column: the last sign-in.
    pub last_sign_in: &'static str,
    /// No sign-in yet.
    pub never: &'static str,
    /// How many people match: `{count}` is replaced.
    pub people_found: &'static str,
    /// Nobody matches.
    pub no_people: &'static str,
    /// The link to the next page of a list.
    pub next_page: &'static str,
    /// The link back to the first page of a list.
    pub first_page: &'static str,
    /// The link and heading of the form that creates a person.
    pub create_user: &'static str,
    /// The button that creates.
    pub create: &'static str,
    /// The link that leaves a form or a confirmation unchanged.
    pub cancel: &'static str,
    /// What creating a person does.
    pub create_user_hint: &'static str,
    /// After a person was created: `{email}` is replaced.
    pub user_created: &'static str,
    /// The heading of the question before an action.
    pub are_you_sure: &'static str,
    /// The button that confirms an action.
    pub confirm: &'static str,
    /// Disables a person.
    pub disable: &'static str,
    /// Enables a person.
    pub enable: &'static str,
    /// Emails a person a new temporary password.
    pub reset_password: &'static str,
    /// Removes a person's authenticator app.
    pub reset_mfa: &'static str,
    /// Lifts a person's sign-in locks.
    pub unlock: &'static str,
    /// Ends every session of a person.
    pub sign_out_everywhere: &'static str,
    /// Erases a person's personal data for good.
    pub erase: &'static str,
    /// Ends one session.
    pub sign_out: &'static str,
    /// Forgets one trusted device.
    pub forget: &'static str,
    /// Forgets every trusted device.
    pub forget_all_devices: &'static str,
    /// The heading of a person's name and address.
    pub details: &'static str,
    /// The button that saves them.
    pub save: &'static str,
    /// The heading of a person's trusted devices.
    pub devices: &'static str,
    /// What trusted devices are.
    pub devices_intro: &'static str,
    /// No trusted device.
    pub no_devices: &'static str,
    /// A device's dates: `{since}` and `{until}` are replaced.
    pub device_dates: &'static str,
    /// The heading of a person's sessions.
    pub sessions: &'static str,
    /// The heading of the live ones.
    pub live_sessions: &'static str,
    /// No live session.
    pub no_live_sessions: &'static str,
    /// The heading of the ones that ended lately.
    pub ended_sessions: &'static str,
    /// A live session's times: `{started}` and `{active}` are replaced.
    pub session_times: &'static str,
    /// An ended session: `{started}`, `{ended}` and `{how}` are replaced.
    pub session_ended: &'static str,
    /// The heading of a person's history.
    pub history: &'static str,
    /// Column: what happened.
    pub what: &'static str,
    /// Column: when.
    pub when: &'static str,
    /// Column: who did it.
    pub who: &'static str,
    /// Column: from which address.
    pub from: &'static str,
    /// The link to older events.
    pub older_events: &'static str,
    /// Nothing recorded yet.
    pub no_history: &'static str,
    /// Before disabling: `{name}` is replaced.
    pub confirm_disable: &'static str,
    /// Before enabling.
    pub confirm_enable: &'static str,
    /// Before a new temporary password.
    pub confirm_reset_password: &'static str,
    /// Before removing the authenticator app.
    pub confirm_reset_mfa: &'static str,
    /// Before unlocking.
    pub confirm_unlock: &'static str,
    /// Before signing out everywhere.
    pub confirm_sign_out_everywhere: &'static str,
    /// Before forgetting one device: `{device}` too.
    pub confirm_forget_device: &'static str,
    /// Before forgetting every device.
    pub confirm_forget_all_devices: &'static str,
    /// Before ending one session: `{session}` too.
    pub confirm_end_session: &'static str,
    /// Before erasing a person: `{name}`.
    pub confirm_erase: &'static str,
    /// After a person was erased (their name is gone with them).
    pub done_erase: &'static str,
    /// After disabling: `{name}` is replaced.
    pub done_disable: &'static str,
    /// After enabling.
    pub done_enable: &'static str,
    /// After a new temporary password: `{email}` too.
    pub done_reset_password: &'static str,
    /// After removing the authenticator app.
    pub done_reset_mfa: &'static str,
    /// After unlocking, when something was locked or counted.
    pub done_unlock: &'static str,
    /// After unlocking, when nothing was.
    pub nothing_to_unlock: &'static str,
    /// After signing out everywhere: `{count}` too.
    pub done_sign_out_everywhere: &'static str,
    /// After forgetting devices: `{count}` too.
    pub done_forget_devices: &'static str,
    /// After ending one session.
    pub done_end_session: &'static str,
    /// After saving a name or address.
    pub done_details: &'static str,
    /// The link and heading of the form that registers a client.
    pub create_client: &'static str,
    /// Nothing registered yet.
    pub no_clients: &'static str,
    /// Column and label: a client's id.
    pub client_id: &'static str,
    /// Label: a client's type.
    pub client_type: &'static str,
    /// A client that keeps a secret.
    pub confidential: &'static str,
    /// What a confidential client is.
    pub confidential_hint: &'static str,
    /// A browser or native app.
    pub public: &'static str,
    /// What a public client is.
    pub public_hint: &'static str,
    /// Label: the redirect URIs.
    pub redirect_uris: &'static str,
    /// Label: the post-logout redirect URIs.
    pub post_logout_redirect_uris: &'static str,
    /// Below a list of URIs to type.
    pub one_per_line: &'static str,
    /// Label: the back-channel logout URI.
    pub backchannel_logout_uri: &'static str,
    /// Label of the grants.
    pub grants: &'static str,
    /// Label: the token endpoint's authentication method.
    pub auth_method: &'static str,
    /// The default method for the type.
    pub auth_method_default: &'static str,
    /// Label: the public keys of a client using `private_key_jwt`.
    pub jwks: &'static str,
    /// Below it.
    pub jwks_hint: &'static str,
    /// Label: a client's scopes.
    pub scopes: &'static str,
    /// A client of every organization.
    pub every_organization: &'static str,
    /// Above a secret shown once.
    pub secret_once: &'static str,
    /// Label of a secret.
    pub client_secret: &'static str,
    /// Replaces a client's secret.
    pub rotate_secret: &'static str,
    /// Deletes a client.
    pub delete: &'static str,
    /// Before replacing a secret: `{name}` is replaced.
    pub confirm_rotate_secret: &'static str,
    /// Before deleting a client.
    pub confirm_delete_client: &'static str,
    /// After deleting a client.
    pub done_delete_client: &'static str,
    /// A client without a secret.
    pub no_secret: &'static str,
    /// The console's own client, which Verity manages.
    pub managed_by_verity: &'static str,
    /// The form that creates an organization.
    pub create_organization: &'static str,
    /// Nothing to list.
    pub no_organizations: &'static str,
    /// The heading of an organization's roles.
    pub admins_and_auditors: &'static str,
    /// Nobody holds one.
    pub no_roles: &'static str,
    /// Label of a role.
    pub role: &'static str,
    /// `instance-admin`, as people read it.
    pub role_instance_admin: &'static str,
    /// `org-admin`.
    pub role_org_admin: &'static str,
    /// `auditor`.
    pub role_auditor: &'static str,
    /// Gives a role.
    pub grant: &'static str,
    /// Ends one.
    pub revoke: &'static str,
    /// Who may be given an organization's role.
    pub grant_hint: &'static str,
    /// After granting: `{role}` and `{email}` are replaced.
    pub done_grant: &'static str,
    /// After revoking.
    pub done_revoke: &'static str,
    /// The heading of the page of someone without a role.
    pub no_access_heading: &'static str,
    /// Its message.
    pub no_access: &'static str,
    /// The heading after "Log out".
    pub signed_out_heading: &'static str,
    /// Its message.
    pub signed_out: &'static str,
    /// The link that signs in to the console again.
    pub sign_in_again: &'static str,
    /// The sign-in took too long or its answer was replayed.
    pub sign_in_expired: &'static str,
    /// The sign-in did not complete: `{reason}` is replaced.
    pub sign_in_failed: &'static str,
    /// The console's client is not registered.
    pub console_unavailable: &'static str,
    /// The link back to the console from an error.
    pub back_to_console: &'static str,
    /// A form without a valid token, or posted without a console session.
    pub csrf_failed: &'static str,
    /// A form sent as something else.
    pub not_a_form: &'static str,
    /// Heading of an error page.
    pub error_heading: &'static str,
    /// Something failed on our side.
    pub server_error: &'static str,
    /// Too many passwords are being hashed: try again in a moment.
    pub busy: &'static str,
    /// A link to a page that does not exist.
    pub no_such_page: &'static str,
}

/// The console's strings, in English.
pub const CONSOLE: ConsoleStrings = ConsoleStrings {
    console: "Console",
    skip_to_content: "Skip to content",
    users: "Users",
    clients: "Clients",
    organizations: "Organizations",
    audit: "Audit",
    log_out: "Log out",
    signed_in_as: "Signed in as",
    search_users: "Search users",
    search: "Search",
    status: "Status",
    any_status: "Any status",
    active: "Active",
    disabled: "Disabled",
    erased: "Erased",
    organization: "Organization",
    email: STRINGS.email,
    name: "Name",
    authenticator: "Authenticator app",
    authenticator_set_up: "Set up",
    authenticator_missing: "Not set up",
    last_sign_in: "Last sign-in",
    never: "Never",
    people_found: "{count} found",
    no_people: "No one matches.",
    next_page: "Next page",
    first_page: "First page",
    create_user: "Create user",
    create: "Create",
    cancel: "Cancel",
    create_user_hint: "The person receives an email with a temporary password; at their first sign-in they choose their own and set up an authenticator app.",
    user_created: "Created. The email with the temporary password went to {email}.",
    are_you_sure: "Are you sure?",
    confirm: STRINGS.confirm,
    disable: "Disable",
    enable: "Enable",
    reset_password: "Reset password",
    reset_mfa: "Reset MFA",
    unlock: "Unlock",
    sign_out_everywhere: STRINGS.sign_out_everywhere,
    erase: "Erase",
    sign_out: STRINGS.sign_out,
    forget: STRINGS.forget,
    forget_all_devices: "Forget all devices",
    details: "Name and email",
    save: "Save",
    devices: "Devices",
    devices_intro: "Browsers this person chose to trust: signing in there asks for no code, unless they hold an admin role.",
    no_devices: "No trusted device.",
    device_dates: "Trusted since {since}, until {until}",
    sessions: STRINGS.sessions,
    live_sessions: "Active",
    no_live_sessions: "No active session.",
    ended_sessions: "Recently ended",
    session_times: "Signed in {started}, last active {active}",
    session_ended: "Signed in {started}, ended {ended}: {how}",
    history: "History",
    what: "What",
    when: "When",
    who: "Who",
    from: "From",
    older_events: "Older events",
    no_history: "Nothing recorded yet.",
    confirm_disable: "Disable {name}? They can no longer sign in, and every session and token of theirs ends now.",
    confirm_enable: "Enable {name}? They can sign in again.",
    confirm_reset_password: "Reset the password of {name}? Their password stops working now, and they receive an email with a temporary one.",
    confirm_reset_mfa: "Reset the MFA of {name}? Their authenticator app and recovery codes stop working, their trusted devices are forgotten, and they set up an app at their next sign-in.",
    confirm_unlock: "Unlock {name}? The failed passwords and codes counted so far are forgotten, and a lock ends now.",
    confirm_sign_out_everywhere: "Sign {name} out everywhere? Every session and token of theirs ends now; their trusted devices stay.",
    confirm_forget_device: "Forget the device {device} of {name}? Their next sign-in there asks for a code.",
    confirm_forget_all_devices: "Forget every trusted device of {name}? Their next sign-in anywhere asks for a code.",
    confirm_end_session: "Sign {name} out of the session {session}? Its tokens stop working now.",
    confirm_erase: "Erase {name} for good? Their address, their name and every other personal detail become unreadable everywhere, their history included, and every session and token of theirs ends now. This cannot be undone.",
    done_erase: "The person is erased: their personal details can no longer be read, and their history keeps its events with those details erased.",
    done_disable: "{name} is disabled: their sessions and tokens have ended.",
    done_enable: "{name} is enabled and can sign in again.",
    done_reset_password: "The password of {name} was reset; the email with a temporary one went to {email}.",
    done_reset_mfa: "The MFA of {name} was reset: they set up an authenticator app at their next sign-in.",
    done_unlock: "{name} is unlocked.",
    nothing_to_unlock: "Nothing was locked or counted for {name}.",
    done_sign_out_everywhere: "{name} is signed out everywhere ({count} sessions ended).",
    done_forget_devices: "{count} trusted devices of {name} forgotten.",
    done_end_session: "The session of {name} has ended.",
    done_details: "Saved.",
    create_client: "Create client",
    no_clients: "No client yet.",
    client_id: "Client ID",
    client_type: "Type",
    confidential: "Confidential",
    confidential_hint: "a server-side application that keeps a secret",
    public: "Public",
    public_hint: "a browser or native app; signs in with PKCE and no secret",
    redirect_uris: "Redirect URIs",
    post_logout_redirect_uris: "Post-logout redirect URIs",
    one_per_line: "One per line; https, or http on localhost only.",
    backchannel_logout_uri: "Back-channel logout URI",
    grants: "Grants",
    auth_method: "Authentication method",
    auth_method_default: "The type's default",
    jwks: "Public keys (JWK Set)",
    jwks_hint: "Only for private_key_jwt: the client's public keys as JSON.",
    scopes: "Scopes",
    every_organization: "Every organization",
    secret_once: "The client's secret, shown only now: copy it into the application's configuration. Verity keeps only its hash.",
    client_secret: "Client secret",
    rotate_secret: "Rotate secret",
    delete: "Delete",
    confirm_rotate_secret: "Replace the secret of {name}? The current secret stops working at once.",
    confirm_delete_client: "Delete the client {name}? Nobody can sign in through it any more, and its id is never used again.",
    done_delete_client: "The client {name} is deleted.",
    no_secret: "No secret",
    managed_by_verity: "The console's own client: Verity manages it.",
    create_organization: "Create organization",
    no_organizations: "No organization.",
    admins_and_auditors: "Admins and auditors",
    no_roles: "Nobody holds a role in this organization.",
    role: "Role",
    role_instance_admin: "Instance admin",
    role_org_admin: "Org admin",
    role_auditor: "Auditor",
    grant: "Grant",
    revoke: "Revoke",
    grant_hint: "An organization's roles go to its own people, named by their sign-in address.",
    done_grant: "{email} is now {role}.",
    done_revoke: "{email} is no longer {role}.",
    no_access_heading: "No access",
    no_access: "You have no access to the console. Ask an administrator of your organization if you need it.",
    signed_out_heading: STRINGS.signed_out_heading,
    signed_out: "You are signed out of the console and of Verity.",
    sign_in_again: "Sign in to the console",
    sign_in_expired: "Your sign-in to the console took too long or was already used. Start again.",
    sign_in_failed: "The sign-in to the console did not complete: {reason}",
    console_unavailable: "The console cannot sign anyone in: its client is not registered (see the server's log).",
    back_to_console: "Back to the console",
    csrf_failed: STRINGS.csrf_failed,
    not_a_form: STRINGS.not_a_form,
    error_heading: STRINGS.error_heading,
    server_error: STRINGS.server_error,
    busy: STRINGS.busy,
    no_such_page: "There is no such page in the console.",
};

/// `template` with each `{key}` replaced by its value.
pub(crate) fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .fold(template.to_owned(), |text, (key, value)| {
            text.replace(&format!("{{{key}}}"), value)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_replaced_and_the_quoted_labels_are_exact() {
        assert_eq!(
            fill(
                CONSOLE.done_grant,
                &[("email", "a@b.c"), ("role", "Auditor")]
            ),
            "a@b.c is now Auditor."
        );
        let labels = [
            CONSOLE.users,
            CONSOLE.clients,
            CONSOLE.organizations,
            CONSOLE.audit,
            CONSOLE.log_out,
            CONSOLE.search_users,
            CONSOLE.create_user,
            CONSOLE.email,
            CONSOLE.name,
            CONSOLE.create,
            CONSOLE.active,
            CONSOLE.disabled,
            CONSOLE.disable,
            CONSOLE.enable,
            CONSOLE.reset_password,
            CONSOLE.reset_mfa,
            CONSOLE.unlock,
            CONSOLE.sign_out_everywhere,
            CONSOLE.confirm,
            CONSOLE.devices,
            CONSOLE.sessions,
            CONSOLE.history,
        ];
        assert_eq!(
            labels,
            [
                "Users",
                "Clients",
                "Organizations",
                "Audit",
                "Log out",
                "Search users",
                "Create user",
                "Email",
                "Name",
                "Create",
                "Active",
                "Disabled",
                "Disable",
                "Enable",
                "Reset password",
                "Reset MFA",
                "Unlock",
                "Sign out everywhere",
                "Confirm",
                "Devices",
                "Sessions",
                "History",
            ]
        );
    }
}
