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
//!
//! The person's own client address, sealed with the values, goes last; when it is one of
//! the values already (a sign-in's address is its client's), it is not sealed twice: the
//! first value names its place (`pd3:+<place>:<base64url>`), bound with the rest, and the
//! metadata holds the same place.

use std::sync::LazyLock;

use memchr::memmem;
use uuid::Uuid;

use super::cipher::{FieldCipher, SEALED_IN_TEXT_PREFIX, SEALED_TOGETHER_PREFIX, Together};
use super::in_text;

/// What starts each value sealed together, its opening quote included.
static SLOT: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(b"\"pd3:"));

/// Separates the person from the rest in the associated data (the person is 16 bytes).
const TEXT_BINDING: &[u8] = b"|text|";

/// Ends the place of the value that is the client address, in the first value's text
/// (base64url never holds it).
const ADDRESS_NAMED: char = ':';

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
    /// The span of the first value's sealed text (after its prefix and the address's
    /// place, if it names one).
    sealed: (usize, usize),
    /// The place of the value that is the client address, when the first names one.
    address: Option<usize>,
    out: String,
    aad: Vec<u8>,
}

impl Slots {
    /// Finds the values in `text` from `from` (where the first stands): every string that
    /// starts with the prefix, the first holding them all, each other naming its place.
    /// `false` when the text holds none so, or holds them otherwise (bound to their
    /// paths, or altered).
    fn find(&mut self, text: &str, from: usize) -> bool {
        self.address = None;
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
                0 => match value.strip_prefix(SEALED_IN_TEXT_PREFIX) {
                    Some(sealed) => {
                        let (address, sealed) = address_named(sealed);
                        self.address = address;
                        self.sealed = (end - sealed.len(), end);
                        true
                    }
                    None => false,
                },
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
    /// length of the first value's sealed text) taken out of all, and the place of the
    /// value that is the client address, if one is.
    fn bind(&mut self, subject: Uuid, text: &str, sealed: usize) {
        let Self {
            spans,
            aad,
            address,
            ..
        } = self;
        bind(aad, subject, text, spans, sealed, *address);
    }
}

/// The place the first value's text names as the client address's (`<place>:` before
/// its sealed text), and the sealed text.
fn address_named(sealed: &str) -> (Option<usize>, &str) {
    match sealed.split_once(ADDRESS_NAMED) {
        Some((place, rest)) if !place.is_empty() && place.bytes().all(|b| b.is_ascii_digit()) => {
            (place.parse().ok(), rest)
        }
        _ => (None, sealed),
    }
}

/// Writes the associated data of values bound to `text` into `aad`: the person, the
/// length of the text without the first value's sealed text (`sealed` bytes long: none
/// while sealing), then for each value (`spans`) its place in that text and the name of
/// the member it is the value of (as the text has it, escapes and all; nothing for an
/// item of an array), each ended by a zero byte (which JSON text never holds); last, when
/// the client address is one of the values, `@` and its place.
fn bind(
    aad: &mut Vec<u8>,
    subject: Uuid,
    text: &str,
    spans: &[(usize, usize)],
    sealed: usize,
    address: Option<usize>,
) {
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
    if let Some(place) = address {
        aad.push(b'@');
        aad.extend_from_slice(&length(place));
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
/// (`"pd3:+"`) and each other its place: the sealed text goes after the first's prefix,
/// after the place of the value that is the client address (`address`), if one is.
/// `None` when the text does not hold them so.
pub(super) fn seal(
    text: &mut String,
    subject: Uuid,
    cipher: &FieldCipher<'_>,
    values: &[&str],
    address: Option<usize>,
) -> Option<Result<(), verity_domain::StoreError>> {
    let first = SLOT.find(text.as_bytes())?;
    let mut at = first + 1 + SEALED_IN_TEXT_PREFIX.len();
    if let Some(place) = address {
        let named = format!("{place}{ADDRESS_NAMED}");
        text.insert_str(at, &named);
        at += named.len();
    }
    let mut slots = Slots::default();
    if !slots.find(text, first) || slots.address != address {
        return None;
    }
    slots.bind(subject, text, 0);
    let sealed = match cipher.seal_values("", &slots.aad, values) {
        Ok(sealed) => sealed,
        Err(error) => return Some(Err(error)),
    };
    text.insert_str(at, &sealed);
    Some(Ok(()))
}

/// What [`open`] opened, beyond the values it put back in the text.
pub(super) struct Opened {
    /// Where the client address is among the values opened, when it is one of them
    /// (named by the first, or sealed last).
    pub(super) address_at: Option<usize>,
}

/// Opens the values sealed together in `text` bound to it, the first standing at `from`
/// (its opening quote), and writes the text again with each in its place (into the
/// slots' buffer, handed back for the old text). When they opened, `together` holds them
/// (and the client address after them when it was sealed with them, not named). `None`,
/// the text untouched, when the payload holds no values so bound, or they do not open
/// (another person's key, an altered text).
pub(super) fn open(
    text: &mut String,
    from: usize,
    subject: Uuid,
    cipher: &FieldCipher<'_>,
    slots: &mut Slots,
    together: &mut Together,
) -> Option<Opened> {
    if !slots.find(text, from) {
        return None;
    }
    let (sealed_from, sealed_to) = slots.sealed;
    slots.bind(subject, text, sealed_to - sealed_from);
    let sealed = text.get(sealed_from..sealed_to)?;
    let count = slots.spans.len();
    // The values, and the client address after them when it was sealed with them (it is
    // not when the first names it among them).
    let named = slots.address;
    let expected = if named.is_some() {
        count..=count
    } else {
        count..=count + 1
    };
    if !cipher.open_values("", &slots.aad, sealed, together)
        || !expected.contains(&together.len())
        || named.is_some_and(|place| place >= count)
    {
        together.clear();
        return None;
    }
    let address_at = named.or((together.len() > count).then_some(count));
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
    Some(Opened { address_at })
}
