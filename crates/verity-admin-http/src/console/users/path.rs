//! The person a page's path names.

use uuid::Uuid;
use verity_admin::PersonRef;

use crate::console::error::ConsoleError;

/// The person a path names; a path that names no one is "not found".
pub(super) fn person_ref(user_id: &str) -> Result<PersonRef, ConsoleError> {
    Uuid::parse_str(user_id)
        .map(PersonRef::Id)
        .map_err(|_| ConsoleError::no_such_page())
}
