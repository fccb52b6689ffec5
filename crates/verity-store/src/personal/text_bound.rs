//! A payload's personal values sealed together and bound to where they stand in the
//! payload's text (`pd3:+`, since 2026-12-07; ADR 0010).
//!
//! Values sealed together are bound to the person and, before this form, to the paths of
//! their fields: a reader had to walk the payload's JSON to learn the paths, which cost a
//! replay more than the cipher did. Bound to the text instead, the values are found by
//! their prefix alone: the first holds them all (`pd3:+<base64url>`), each other is its
//! place (`pd3:1`…), in the text's order. The associated data is the person, the length
//! of the text (the sealed text taken out), and for each value where it stands in that
//! text and the name of the member it is the value of — not the whole text, which
//! AES-GCM would authenticate sixteen bytes at a time at about twice the cost of opening
//! the values (docs/performance.md). A value moved, swapped, dropped or added, a member
//! renamed, the text made longer or shorter, and nothing opens; the reader then falls
//! back to the walk, which reads such values as erased. Only a text in which no clear
//! string starts with `pd3:` is sealed so (else its values would not be told from the
//! clear one); the others are bound to their paths, as before.

use std::sync::LazyLock;

use memchr::memmem;
use uuid::Uuid;

use super::cipher::{FieldCipher, SEALED_IN_TEXT_PREFIX, SEALED_TOGETHER_PREFIX, Together};
use super::in_text;

/// What starts each value sealed together, its opening quote included.
static SLOT: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(b"\"pd3:"));

/// Separates the person from the rest in the associated data (the person is 16 bytes).
const TEXT_BINDING: &[u8] = b"|text|";

/// Whether a payload's values may be sealed bound to `text`, its JSON with each value
/// replaced by a placeholder: no string of it starts with the prefix of values sealed
/// together.
pub(super) fn may_bind(text: &str) -> bool {
    SLOT.find(text.as_bytes()).is_none()
}

/// Whether the sealed value at `at` in `text` (its opening quote; `cipher::first_sealed`)
/// is the first of values bound to the text.
pub(super) fn starts_at(text: &str, at: usize) -> bool {
    text.get(at + 1..)
        .is_some_and(|rest| rest.starts_with(SEALED_IN_TEXT_PREFIX))
}

/// The values of one payload found in its text (each one's span, its quotes included),
/// the buffer the text is written again into, and the associated data; a replay keeps
/// one for every payload.
#[derive(Default)]
pub(super) struct Slots {
    spans: Vec<(usize, usize)>,
    out: String,
    aad: Vec<u8>,
}

impl Slots {
    /// Finds the values in `text` from `from` (where the first stands): every string that
    /// starts with the prefix, the first holding them all, each other naming its place.
    /// `false` when the text holds none so, or holds them otherwise (bound to their
    /// paths, or altered).
    fn find(&mut self, text: &str, from: usize) -> bool {
        self.spans.clear();
        let bytes = text.as_bytes();
        let Some(rest) = bytes.get(from..) else {
            return false;
        };
        for at in SLOT.find_iter(rest).map(|at| from + at) {
            let Some(end) = bytes
                .get(at + 1..)
                .and_then(|rest| memchr::memchr(b'"', rest))
                .map(|inside| at + 1 + inside)
            else {
                return false;
            };
            let Some(value) = text.get(at + 1..end) else {
                return false;
            };
            let own = match self.spans.len() {
                0 => value.starts_with(SEALED_IN_TEXT_PREFIX),
                index => value
                    .strip_prefix(SEALED_TOGETHER_PREFIX)
                    .is_some_and(|place| place.parse() == Ok(index)),
            };
            if !own {
                return false;
            }
            self.spans.push((at, end + 1));
        }
        !self.spans.is_empty()
    }

    /// Writes the associated data of the values found in `text` into `self.aad`: the
    /// person, the text's length and each value's place and member, `sealed` (the
    /// length of the first value's sealed text) taken out of all.
    fn bind(&mut self, subject: Uuid, text: &str, sealed: usize) {
        let Self { spans, aad, .. } = self;
        bind(aad, subject, text, spans, sealed);
    }
}

/// Writes the associated data of values bound to `text` into `aad`: the person, the
/// length of the text without the first value's sealed text (`sealed` bytes long: none
/// while sealing), then for each value (`spans`) its place in that text and the name of
/// the member it is the value of (as the text has it, escapes and all; nothing for an
/// item of an array), each ended by a zero byte (which JSON text never holds).
fn bind(aad: &mut Vec<u8>, subject: Uuid, text: &str, spans: &[(usize, usize)], sealed: usize) {
    // Lengths and places fit in 32 bits: an event is far smaller.
    let length = |at: usize| u32::try_from(at).unwrap_or(u32::MAX).to_le_bytes();
    aad.clear();
    aad.extend_from_slice(subject.as_bytes());
    aad.extend_from_slice(TEXT_BINDING);
    aad.extend_from_slice(&length(text.len().saturating_sub(sealed)));
    for (index, &(start, _)) in spans.iter().enumerate() {
        let place = if index == 0 { start } else { start - sealed };
        aad.extend_from_slice(&length(place));
        aad.extend_from_slice(member_before(text, start).as_bytes());
        aad.push(0);
    }
}

/// The name of the member whose value starts at `at` in `text` (`"name":` before it), or
/// nothing when none does (an item of an array).
fn member_before(text: &str, at: usize) -> &str {
    let Some(before) = text.get(..at).and_then(|before| before.strip_suffix("\":")) else {
        return "";
    };
    let start = memchr::memrchr(b'"', before.as_bytes()).map_or(0, |quote| quote + 1);
    before.get(start..).unwrap_or_default()
}

/// Seals `values` into `text`, the payload's JSON whose first value is the prefix alone
/// (`"pd3:+"`) and each other its place: the sealed text goes after the first's prefix.
/// `None` when the text does not hold them so.
pub(super) fn seal(
    text: &mut String,
    subject: Uuid,
    cipher: &FieldCipher<'_>,
    values: &[&str],
) -> Option<Result<(), verity_domain::StoreError>> {
    let mut slots = Slots::default();
    let first = SLOT.find(text.as_bytes())?;
    if !slots.find(text, first) {
        return None;
    }
    slots.bind(subject, text, 0);
    let sealed = match cipher.seal_values(SEALED_IN_TEXT_PREFIX, &slots.aad, values) {
        Ok(sealed) => sealed,
        Err(error) => return Some(Err(error)),
    };
    let at = first + 1;
    text.replace_range(at..at + SEALED_IN_TEXT_PREFIX.len(), &sealed);
    Some(Ok(()))
}

/// Opens the values sealed together in `text` bound to it, the first standing at `from`
/// (its opening quote), and writes the text again with each in its place (into the
/// slots' buffer, handed back for the old text). How many values the text held, when
/// they opened: `together` then holds them, and the client address after them when it
/// was sealed with them. `None`, the text untouched, when the payload holds no values so
/// bound, or they do not open (another person's key, an altered text).
pub(super) fn open(
    text: &mut String,
    from: usize,
    subject: Uuid,
    cipher: &FieldCipher<'_>,
    slots: &mut Slots,
    together: &mut Together,
) -> Option<usize> {
    if !slots.find(text, from) {
        return None;
    }
    let &(first_start, first_end) = slots.spans.first()?;
    // The sealed text: after the prefix, before the closing quote.
    let sealed_to = first_end - 1;
    let sealed_len = sealed_to.checked_sub(first_start + 1 + SEALED_IN_TEXT_PREFIX.len())?;
    slots.bind(subject, text, sealed_len);
    let sealed = text.get(first_start + 1..sealed_to)?;
    let count = slots.spans.len();
    // The values, and the client address after them when it was sealed with them.
    if !cipher.open_values(SEALED_IN_TEXT_PREFIX, &slots.aad, sealed, together)
        || !(count..=count + 1).contains(&together.len())
    {
        together.clear();
        return None;
    }
    let Slots { spans, out, .. } = slots;
    out.clear();
    let mut copied = 0;
    for (index, &(start, end)) in spans.iter().enumerate() {
        let (Some(before), Some(value)) = (text.get(copied..start), together.value(index)) else {
            together.clear();
            return None;
        };
        out.push_str(before);
        in_text::push_string(out, value);
        copied = end;
    }
    out.push_str(text.get(copied..).unwrap_or_default());
    std::mem::swap(text, out);
    Some(count)
}
