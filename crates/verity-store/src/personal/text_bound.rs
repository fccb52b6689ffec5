//! A payload's personal values sealed together and bound to the payload's text
//! (`pd3:+`, since 2026-12-07; ADR 0010).
//!
//! Values sealed together are bound to the person and, before this form, to the paths of
//! their fields: a reader had to walk the payload's JSON to learn the paths, which cost a
//! replay more than the cipher did. Bound to the text instead — the associated data is
//! the person and the payload's whole text with the sealed text taken out — the values
//! are found by their prefix alone: the first holds them all (`pd3:+<base64url>`), each
//! other is its place (`pd3:1`…), in the text's order. A value moved, a member renamed,
//! anything of the payload changed, and nothing opens; the reader then falls back to the
//! walk, which reads such values as erased. Only a text in which no clear string starts
//! with `pd3:` is sealed so (else its values would not be told from the clear one); the
//! others are bound to their paths, as before.

use memchr::memmem;
use std::sync::LazyLock;
use uuid::Uuid;

use super::cipher::{FieldCipher, SEALED_IN_TEXT_PREFIX, SEALED_TOGETHER_PREFIX, Together};
use super::in_text;

/// What starts each value sealed together, its opening quote included.
static SLOT: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(b"\"pd3:"));

/// Separates the person from the text in the associated data (the person is 16 bytes).
const TEXT_BINDING: &[u8] = b"|text|";

/// Whether a payload's values may be sealed bound to `text`, its JSON with each value
/// replaced by a placeholder: no string of it starts with the prefix of values sealed
/// together.
pub(super) fn may_bind(text: &str) -> bool {
    SLOT.find(text.as_bytes()).is_none()
}

/// Whether `text` (a payload) starts its first value sealed together as one bound to its
/// text: the search a look at every sealed event makes.
pub(super) fn holds(text: &str) -> bool {
    SLOT.find(text.as_bytes()).is_some_and(|at| {
        text.get(at + 1..)
            .is_some_and(|rest| rest.starts_with(SEALED_IN_TEXT_PREFIX))
    })
}

/// Writes the associated data of values bound to `text` into `aad`: the person, then the
/// text with the sealed text (the first value's, after its prefix) taken out, `cut` its
/// span (none while sealing: the text holds the prefix alone).
pub(super) fn bind(aad: &mut Vec<u8>, subject: Uuid, text: &str, cut: Option<(usize, usize)>) {
    aad.clear();
    aad.extend_from_slice(subject.as_bytes());
    aad.extend_from_slice(TEXT_BINDING);
    match cut.and_then(|(start, end)| Some((text.get(..start)?, text.get(end..)?))) {
        Some((before, after)) => {
            aad.extend_from_slice(before.as_bytes());
            aad.extend_from_slice(after.as_bytes());
        }
        None => aad.extend_from_slice(text.as_bytes()),
    }
}

/// The place of the first value's sealed text in `text` while sealing (just after its
/// prefix), where the sealed text goes.
pub(super) fn sealed_text_at(text: &str) -> Option<usize> {
    let at = SLOT.find(text.as_bytes())?;
    text.get(at + 1..)?
        .starts_with(SEALED_IN_TEXT_PREFIX)
        .then_some(at + 1)
}

/// The values of one payload found in its text (each one's span, its quotes included),
/// and the buffer the text is written again into; a replay keeps one for every payload.
#[derive(Default)]
pub(super) struct Slots {
    spans: Vec<(usize, usize)>,
    out: String,
}

impl Slots {
    /// Finds the values in `text`: every string that starts with the prefix, the first
    /// holding them all, each other naming its place. `false` when the text holds none
    /// so, or holds them otherwise (bound to their paths, or altered).
    fn find(&mut self, text: &str) -> bool {
        self.spans.clear();
        let bytes = text.as_bytes();
        for at in SLOT.find_iter(bytes) {
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
}

/// Opens the values sealed together in `text` bound to it, and writes the text again with
/// each in its place (into the slots' buffer, handed back for the old text).
/// How many values the text held, when they opened: `together` then holds them, and the
/// client address after them when it was sealed with them. `None`, the text untouched,
/// when the payload holds no values so bound, or they do not open (another person's key,
/// an altered text).
pub(super) fn open(
    text: &mut String,
    subject: Uuid,
    cipher: &FieldCipher<'_>,
    slots: &mut Slots,
    aad: &mut Vec<u8>,
    together: &mut Together,
) -> Option<usize> {
    if !slots.find(text) {
        return None;
    }
    let &(first_start, first_end) = slots.spans.first()?;
    // The sealed text: after the prefix, before the closing quote.
    let sealed_from = first_start + 1 + SEALED_IN_TEXT_PREFIX.len();
    let sealed_to = first_end - 1;
    bind(aad, subject, text, Some((sealed_from, sealed_to)));
    let sealed = text.get(first_start + 1..sealed_to)?;
    let count = slots.spans.len();
    // The values, and the client address after them when it was sealed with them.
    if !cipher.open_values(SEALED_IN_TEXT_PREFIX, aad, sealed, together)
        || !(count..=count + 1).contains(&together.len())
    {
        together.clear();
        return None;
    }
    let Slots { spans, out } = slots;
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
