//! The rules a new password must pass (docs/passwords.md).
//!
//! [`check`] is pure and fast: length (in Unicode characters, after NIST SP 800-63B),
//! confirmation, not the temporary password, not the email's local part, not in the
//! shipped list of common and breached passwords ([`is_common`]), and a zxcvbn strength
//! score of at least [`MIN_STRENGTH_SCORE`]. The optional online check against Have I
//! Been Pwned is separate ([`crate::pwned`]): it needs the network and must never block a
//! sign-in.
//!
//! Every message a person can see is in [`MESSAGES`], one table ready for translation;
//! [`PolicyViolation::message`] fills in the numbers.

use std::sync::LazyLock;

use subtle::ConstantTimeEq;
use verity_domain::Email;

/// The lowest `[passwords] min_length` the configuration accepts (NIST SP 800-63B: at
/// least 8 characters). The shipped list holds no shorter entry, since none could be
/// chosen.
pub const MIN_LENGTH_FLOOR: usize = 8;

/// The default minimum length (`[passwords] min_length`).
pub const DEFAULT_MIN_LENGTH: usize = 12;

/// The longest password accepted, in characters (NIST SP 800-63B asks for at least 64).
pub const MAX_LENGTH: usize = 128;

/// The lowest zxcvbn score accepted: 3 means "safely unguessable: moderate protection
/// from an offline slow-hash scenario" (more than 10^8 guesses).
pub const MIN_STRENGTH_SCORE: u8 = 3;

/// A local part shorter than this (`ab@example.org`) is not looked for in the password:
/// it would refuse too many good passwords.
pub const MIN_LOCAL_PART: usize = 3;

/// What a new password is checked against besides itself.
#[derive(Clone, Copy)]
pub struct PolicyContext<'a> {
    /// The person's address: its local part must not appear in the password, and its
    /// parts are words zxcvbn guesses first.
    pub email: &'a Email,
    /// The temporary password the person signed in with, when they did: the new one must
    /// differ.
    pub temporary_password: Option<&'a str>,
    /// `[passwords] min_length`, kept within [`MIN_LENGTH_FLOOR`]..=[`MAX_LENGTH`].
    pub min_length: usize,
}

impl std::fmt::Debug for PolicyContext<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("PolicyContext")
            .field("email", self.email)
            .field(
                "temporary_password",
                &self.temporary_password.map(|_| "<redacted>"),
            )
            .field("min_length", &self.min_length)
            .finish()
    }
}

impl<'a> PolicyContext<'a> {
    /// The context of a person choosing a password, with the configured minimum length.
    pub fn new(email: &'a Email, min_length: usize) -> Self {
        Self {
            email,
            temporary_password: None,
            min_length,
        }
    }

    /// The same, for a person who signed in with `temporary_password`.
    pub fn with_temporary_password(self, temporary_password: &'a str) -> Self {
        Self {
            temporary_password: Some(temporary_password),
            ..self
        }
    }

    /// The minimum length actually applied: the configured one, kept within bounds.
    pub fn effective_min_length(&self) -> usize {
        self.min_length.clamp(MIN_LENGTH_FLOOR, MAX_LENGTH)
    }
}

/// Why a new password is refused. [`PolicyViolation::message`] says it to the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PolicyViolation {
    /// Fewer characters than the minimum.
    #[error("{}", self.message())]
    TooShort {
        /// The minimum that applies.
        min_length: usize,
    },
    /// More than [`MAX_LENGTH`] characters.
    #[error("{}", self.message())]
    TooLong,
    /// The confirmation differs.
    #[error("{}", self.message())]
    Mismatch,
    /// The temporary password again.
    #[error("{}", self.message())]
    SameAsTemporary,
    /// The current password again (a change while signed in).
    #[error("{}", self.message())]
    SameAsCurrent,
    /// Contains the local part of the person's email address.
    #[error("{}", self.message())]
    ContainsEmail,
    /// In the shipped list of common and breached passwords.
    #[error("{}", self.message())]
    Common,
    /// zxcvbn estimates it below [`MIN_STRENGTH_SCORE`].
    #[error("{}", self.message())]
    Guessable,
    /// Have I Been Pwned knows it from a breach (only with the online check on).
    #[error("{}", self.message())]
    Breached,
}

/// Every message shown for a refused password. `{min}` and `{max}` are replaced by the
/// numbers that apply.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct PolicyMessages {
    /// [`PolicyViolation::TooShort`].
    pub too_short: &'static str,
    /// [`PolicyViolation::TooLong`].
    pub too_long: &'static str,
    /// [`PolicyViolation::Mismatch`].
    pub mismatch: &'static str,
    /// [`PolicyViolation::SameAsTemporary`].
    pub same_as_temporary: &'static str,
    /// [`PolicyViolation::SameAsCurrent`].
    pub same_as_current: &'static str,
    /// [`PolicyViolation::ContainsEmail`].
    pub contains_email: &'static str,
    /// [`PolicyViolation::Common`].
    pub common: &'static str,
    /// [`PolicyViolation::Guessable`].
    pub guessable: &'static str,
    /// [`PolicyViolation::Breached`].
    pub breached: &'static str,
    /// A hint shown beside the field before anything is refused.
    pub hint: &'static str,
}

/// The messages, in English.
pub const MESSAGES: PolicyMessages = PolicyMessages {
    too_short: "Use at least {min} characters. A few unrelated words make a long password that is easy to remember.",
    too_long: "Use at most {max} characters.",
    mismatch: "The two passwords are not the same. Type your new password again in both fields.",
    same_as_temporary: "Choose a password of your own: the new password cannot be the temporary password from the email.",
    same_as_current: "The new password is your current password. Choose a different one.",
    contains_email: "Your password must not contain your email address or its name part. Choose something that cannot be guessed from your address.",
    common: "This password is on a list of common and leaked passwords that attackers try first. Choose another one.",
    guessable: "This password would be easy to guess. Make it longer with a few unrelated words, and avoid names, dates, keyboard patterns and repeated characters.",
    breached: "This password has appeared in a data breach, so attackers may try it. Choose another one.",
    hint: "At least {min} characters. Not your email address and not a common password. A few unrelated words work well.",
};

impl PolicyViolation {
    /// A stable identifier of the rule (`too_short`, `common`, ...), e.g. for a template
    /// or a metric label; the field name of its message in [`PolicyMessages`].
    pub fn key(&self) -> &'static str {
        match self {
            Self::TooShort { .. } => "too_short",
            Self::TooLong => "too_long",
            Self::Mismatch => "mismatch",
            Self::SameAsTemporary => "same_as_temporary",
            Self::SameAsCurrent => "same_as_current",
            Self::ContainsEmail => "contains_email",
            Self::Common => "common",
            Self::Guessable => "guessable",
            Self::Breached => "breached",
        }
    }

    /// The message for the person, from [`MESSAGES`], with the numbers filled in.
    pub fn message(&self) -> String {
        let (template, min_length) = match self {
            Self::TooShort { min_length } => (MESSAGES.too_short, *min_length),
            Self::TooLong => (MESSAGES.too_long, 0),
            Self::Mismatch => (MESSAGES.mismatch, 0),
            Self::SameAsTemporary => (MESSAGES.same_as_temporary, 0),
            Self::SameAsCurrent => (MESSAGES.same_as_current, 0),
            Self::ContainsEmail => (MESSAGES.contains_email, 0),
            Self::Common => (MESSAGES.common, 0),
            Self::Guessable => (MESSAGES.guessable, 0),
            Self::Breached => (MESSAGES.breached, 0),
        };
        fill(template, min_length)
    }
}

/// The hint for the password field, with the minimum that applies.
pub fn hint(min_length: usize) -> String {
    fill(
        MESSAGES.hint,
        min_length.clamp(MIN_LENGTH_FLOOR, MAX_LENGTH),
    )
}

fn fill(template: &str, min_length: usize) -> String {
    template
        .replace("{min}", &min_length.to_string())
        .replace("{max}", &MAX_LENGTH.to_string())
}

/// Checks a new password and its confirmation. The first rule broken is returned, in
/// this order: too short, too long, mismatch, the temporary password, the email's local
/// part, the common list, the strength estimate.
pub fn check(new: &str, confirm: &str, context: &PolicyContext<'_>) -> Result<(), PolicyViolation> {
    let length = new.chars().count();
    let min_length = context.effective_min_length();
    if length < min_length {
        return Err(PolicyViolation::TooShort { min_length });
    }
    if length > MAX_LENGTH {
        return Err(PolicyViolation::TooLong);
    }
    if !bool::from(new.as_bytes().ct_eq(confirm.as_bytes())) {
        return Err(PolicyViolation::Mismatch);
    }
    if let Some(temporary) = context.temporary_password
        && bool::from(new.as_bytes().ct_eq(temporary.as_bytes()))
    {
        return Err(PolicyViolation::SameAsTemporary);
    }
    let local_part = local_part(context.email);
    if local_part.chars().count() >= MIN_LOCAL_PART && new.to_lowercase().contains(local_part) {
        return Err(PolicyViolation::ContainsEmail);
    }
    if is_common(new) {
        return Err(PolicyViolation::Common);
    }
    if strength_score(new, context.email) < MIN_STRENGTH_SCORE {
        return Err(PolicyViolation::Guessable);
    }
    Ok(())
}

/// The part of the (normalised, so lower-case) address before the last `@`.
fn local_part(email: &Email) -> &str {
    email
        .as_str()
        .rsplit_once('@')
        .map_or(email.as_str(), |(local, _)| local)
}

/// The words of the address zxcvbn should guess first: the address, its local part and
/// the pieces of both (`ada.lovelace@analytical.example` gives `ada`, `lovelace`,
/// `analytical`, ...).
fn user_inputs(email: &Email) -> Vec<&str> {
    let address = email.as_str();
    let mut inputs = vec![address, local_part(email)];
    inputs.extend(
        address
            .split(|c: char| !c.is_alphanumeric())
            .filter(|piece| piece.chars().count() >= MIN_LOCAL_PART),
    );
    inputs
}

/// zxcvbn's score (0 to 4) of `password`, with the address's words as user inputs.
pub fn strength_score(password: &str, email: &Email) -> u8 {
    u8::from(zxcvbn::zxcvbn(password, &user_inputs(email)).score())
}

/// The shipped list: sorted, normalised entries (see docs/password-list.md).
static COMMON_PASSWORDS: &[u8] = include_bytes!("../data/common-passwords.txt.gz");

/// The list, decompressed at first use and kept sorted for a binary search.
static COMMON: LazyLock<Vec<Box<str>>> = LazyLock::new(|| match decompress(COMMON_PASSWORDS) {
    Ok(list) => list,
    Err(error) => {
        // The list is compiled in and a unit test decompresses it, so this cannot happen
        // in a tested build; if it did, the other rules still apply.
        tracing::error!(error = %verity_domain::error_chain::ErrorChain(&error), "the shipped common-password list cannot be read");
        Vec::new()
    }
});

fn decompress(gzipped: &[u8]) -> std::io::Result<Vec<Box<str>>> {
    use std::io::Read;
    let mut text = String::new();
    flate2::read::GzDecoder::new(gzipped).read_to_string(&mut text)?;
    let mut entries: Vec<Box<str>> = text.lines().map(Box::from).collect();
    // Sorted already by the generator; sorting again costs little once and makes the
    // binary search independent of how the file was made.
    entries.sort_unstable();
    entries.dedup();
    Ok(entries)
}

/// How a password is compared with the list: surrounding whitespace trimmed, lower case.
pub fn normalise(password: &str) -> String {
    password.trim().to_lowercase()
}

/// Whether `password` (normalised) is in the shipped list of common and breached
/// passwords. The first call decompresses the list (a few milliseconds); later calls
/// are a binary search.
pub fn is_common(password: &str) -> bool {
    let normalised = normalise(password);
    COMMON
        .binary_search_by(|entry| entry.as_ref().cmp(normalised.as_str()))
        .is_ok()
}

/// How many entries the shipped list holds (decompressing it if needed).
pub fn common_password_count() -> usize {
    COMMON.len()
}

/// Decompresses the list now, so the first person to choose a password does not wait
/// for it. `serve` calls this at start.
pub fn preload() {
    LazyLock::force(&COMMON);
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPORARY: &str = "Kq7mZt4hWx9cRb2nPs3v";
    const STRONG: &str = "violet tractor hums at dawn";

    /// Given a person (and how they signed in), when they choose a password, then it is
    /// accepted or refused for one reason.
    struct Given {
        email: Email,
        temporary_password: Option<&'static str>,
        min_length: usize,
    }

    fn person(address: &str) -> Given {
        Given {
            email: Email::parse(address).unwrap(),
            temporary_password: None,
            min_length: DEFAULT_MIN_LENGTH,
        }
    }

    impl Given {
        fn signed_in_with(mut self, temporary_password: &'static str) -> Self {
            self.temporary_password = Some(temporary_password);
            self
        }

        fn with_min_length(mut self, min_length: usize) -> Self {
            self.min_length = min_length;
            self
        }

        fn when_choosing(&self, new: &str) -> Result<(), PolicyViolation> {
            self.when_choosing_and_confirming(new, new)
        }

        fn when_choosing_and_confirming(
            &self,
            new: &str,
            confirm: &str,
        ) -> Result<(), PolicyViolation> {
            let mut context = PolicyContext::new(&self.email, self.min_length);
            if let Some(temporary) = self.temporary_password {
                context = context.with_temporary_password(temporary);
            }
            check(new, confirm, &context)
        }
    }

    #[test]
    fn a_long_unusual_password_is_accepted() {
        let outcome = person("ada@example.org")
            .signed_in_with(TEMPORARY)
            .when_choosing(STRONG);
        assert_eq!(outcome, Ok(()));
    }

    #[test]
    fn fewer_characters_than_the_minimum_are_refused() {
        assert_eq!(
            person("ada@example.org").when_choosing("v!0let-tr4c"),
            Err(PolicyViolation::TooShort { min_length: 12 })
        );
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        // Twelve characters, 24 bytes: long enough; eleven are not.
        let given = person("ada@example.org").with_min_length(12);
        assert_eq!(
            given.when_choosing("ÿéèàüöœßçñøå"),
            Ok(()),
            "twelve accented characters"
        );
        assert_eq!(
            given.when_choosing("ÿéèàüöœßçñø"),
            Err(PolicyViolation::TooShort { min_length: 12 })
        );
    }

    #[test]
    fn the_minimum_is_configurable_but_never_below_the_floor() {
        assert_eq!(
            person("ada@example.org")
                .with_min_length(20)
                .when_choosing(STRONG[..19].trim_end()),
            Err(PolicyViolation::TooShort { min_length: 20 })
        );
        assert_eq!(
            person("ada@example.org")
                .with_min_length(4)
                .when_choosing("x7#Qz"),
            Err(PolicyViolation::TooShort {
                min_length: MIN_LENGTH_FLOOR
            })
        );
    }

    #[test]
    fn more_than_128_characters_are_refused() {
        let long = "violet tractor ".repeat(9); // 135 characters
        assert_eq!(
            person("ada@example.org").when_choosing(&long),
            Err(PolicyViolation::TooLong)
        );
        assert_eq!(
            person("ada@example.org").when_choosing(&long[..MAX_LENGTH]),
            Ok(()),
            "exactly 128 is fine"
        );
    }

    #[test]
    fn a_confirmation_that_differs_is_refused() {
        assert_eq!(
            person("ada@example.org")
                .when_choosing_and_confirming(STRONG, "violet tractor hums at dusk"),
            Err(PolicyViolation::Mismatch)
        );
    }

    #[test]
    fn the_temporary_password_again_is_refused() {
        assert_eq!(
            person("ada@example.org")
                .signed_in_with(TEMPORARY)
                .when_choosing(TEMPORARY),
            Err(PolicyViolation::SameAsTemporary)
        );
    }

    #[test]
    fn the_local_part_of_the_email_is_refused_in_any_case() {
        assert_eq!(
            person("lovelace@example.org").when_choosing("Violet-LoveLace-Tractor"),
            Err(PolicyViolation::ContainsEmail)
        );
    }

    #[test]
    fn a_local_part_shorter_than_three_characters_is_not_looked_for() {
        assert_eq!(
            person("vi@example.org").when_choosing(STRONG),
            Ok(()),
            "'vi' is in 'violet' but too short to count"
        );
    }

    #[test]
    fn a_password_on_the_shipped_list_is_refused_in_any_case() {
        // Long enough, and in the list (from both sources).
        assert_eq!(
            person("ada@example.org").when_choosing("Password1234"),
            Err(PolicyViolation::Common)
        );
        assert_eq!(
            person("ada@example.org").when_choosing("ILOVEYOU1234"),
            Err(PolicyViolation::Common)
        );
    }

    #[test]
    fn a_password_zxcvbn_scores_below_three_is_refused() {
        // Not in the list, long enough, but a keyboard walk with a year.
        assert!(!is_common("qwertyuiop2024"));
        assert_eq!(
            person("ada@example.org").when_choosing("qwertyuiop2024"),
            Err(PolicyViolation::Guessable)
        );
    }

    #[test]
    fn the_words_of_the_address_count_against_strength() {
        // "analyticalengine" alone would pass as two dictionary-ish words; with the
        // address's domain as a user input, zxcvbn guesses it at once.
        let email = Email::parse("ada@analyticalengine.example").unwrap();
        assert!(strength_score("analyticalengine", &email) < MIN_STRENGTH_SCORE);
    }

    #[test]
    fn every_violation_has_a_message_with_its_numbers() {
        let violations = [
            PolicyViolation::TooShort { min_length: 12 },
            PolicyViolation::TooLong,
            PolicyViolation::Mismatch,
            PolicyViolation::SameAsTemporary,
            PolicyViolation::SameAsCurrent,
            PolicyViolation::ContainsEmail,
            PolicyViolation::Common,
            PolicyViolation::Guessable,
            PolicyViolation::Breached,
        ];
        let mut keys = std::collections::HashSet::new();
        for violation in violations {
            let message = violation.message();
            assert!(message.ends_with('.'), "{message}");
            assert!(!message.contains('{'), "{message}");
            assert_eq!(violation.to_string(), message);
            assert!(keys.insert(violation.key()));
        }
        assert!(
            PolicyViolation::TooShort { min_length: 12 }
                .message()
                .contains("at least 12 characters")
        );
        assert!(PolicyViolation::TooLong.message().contains("128"));
        assert!(hint(15).contains("15"));
    }

    #[test]
    fn the_shipped_list_is_readable_normalised_and_within_the_policy() {
        let list = decompress(COMMON_PASSWORDS).unwrap();
        assert!(list.len() > 20_000, "{} entries", list.len());
        assert_eq!(list.len(), common_password_count());
        for entry in &list {
            assert_eq!(
                normalise(entry),
                entry.as_ref(),
                "not normalised: {entry:?}"
            );
            let length = entry.chars().count();
            assert!(
                (MIN_LENGTH_FLOOR..=MAX_LENGTH).contains(&length),
                "{entry:?}"
            );
        }
        assert!(is_common(" PASSWORD1 "), "trimmed and lower-cased");
        assert!(!is_common(STRONG));
    }

    #[test]
    fn debug_output_does_not_show_the_temporary_password() {
        let email = Email::parse("ada@example.org").unwrap();
        let context = PolicyContext::new(&email, 12).with_temporary_password(TEMPORARY);
        assert!(!format!("{context:?}").contains(TEMPORARY));
    }
}
