//! The personal fields of a payload found and replaced in its JSON text, without parsing
//! it into a value.
//!
//! A replay opens every payload that holds a sealed field; parsing each into a
//! `serde_json::Value` and writing it back cost more than the cipher did. This reader
//! walks the text once, following the fields' paths ([`Paths`]) as it goes, and then
//! writes it again with the string values found at them replaced. Nothing else of it
//! changes.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::LazyLock;

use foldhash::fast::FixedState;
use verity_domain::personal::{FIELDS, PersonalField};

/// How deep a payload may nest before it is refused (`serde_json`'s own limit).
const DEPTH_LIMIT: usize = 128;

/// Why a text was not read: it is not JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct NotJson;

/// The paths of an event type's personal fields as a tree: a member (or `*`, an item of
/// an array) leads from a node to the next, and a node may be where a field ends. A
/// reader compares a member's name with the few names of its node, not with every field.
pub(super) struct Paths<'fields> {
    fields: &'fields [PersonalField],
    nodes: Vec<Node>,
}

/// A node of [`Paths`], by index; the root is the first.
#[derive(Default)]
struct Node {
    members: Vec<(&'static str, usize)>,
    item: Option<usize>,
    /// The first field whose path ends here.
    field: Option<usize>,
}

impl<'fields> Paths<'fields> {
    /// The tree of `fields`' paths.
    pub(super) fn new(fields: &'fields [PersonalField]) -> Self {
        let mut nodes = vec![Node::default()];
        for (index, field) in fields.iter().enumerate() {
            let mut at = 0;
            for step in field.path {
                let next = nodes.len();
                let Some(node) = nodes.get_mut(at) else {
                    break;
                };
                let (child, fresh) = if *step == "*" {
                    match node.item {
                        Some(child) => (child, false),
                        None => {
                            node.item = Some(next);
                            (next, true)
                        }
                    }
                } else {
                    match node.members.iter().find(|(name, _)| name == step) {
                        Some(&(_, child)) => (child, false),
                        None => {
                            node.members.push((step, next));
                            (next, true)
                        }
                    }
                };
                if fresh {
                    nodes.push(Node::default());
                }
                at = child;
            }
            if let Some(node) = nodes.get_mut(at) {
                node.field = node.field.or(Some(index));
            }
        }
        Self { fields, nodes }
    }

    fn node(&self, at: Option<usize>) -> Option<&Node> {
        at.and_then(|at| self.nodes.get(at))
    }
}

/// The paths of `event_type`'s personal fields (`verity_domain::personal::fields`), made
/// once per process; `None` for a type without any.
pub(super) fn paths_of(event_type: &str) -> Option<&'static Paths<'static>> {
    // By type, hashed: a replay asks for every event of the log, most of types without
    // personal fields.
    static ALL: LazyLock<HashMap<&'static str, Paths<'static>, FixedState>> = LazyLock::new(|| {
        FIELDS
            .iter()
            .filter(|(_, fields)| !fields.is_empty())
            .map(|(name, fields)| (*name, Paths::new(fields)))
            .collect()
    });
    ALL.get(event_type)
}

/// Buffers a reader reuses from one payload to the next.
#[derive(Default)]
pub(super) struct Buffers {
    found: Vec<Found>,
    replacement: String,
    /// The text being written again.
    text: String,
}

/// The string values a reader found at the fields' paths, in the text's order: what
/// [`replace_fields`] shows each call of its `replace`, so that one value (a payload's
/// sealed values, opened at once) can depend on the others.
pub(super) struct Values<'found> {
    text: &'found str,
    fields: &'found [PersonalField],
    found: &'found [Found],
}

impl Values<'_> {
    /// How many values were found.
    pub(super) fn len(&self) -> usize {
        self.found.len()
    }

    /// The fields of the values, in the text's order.
    pub(super) fn fields(&self) -> impl Iterator<Item = &PersonalField> {
        (0..self.len()).filter_map(|index| self.field(index))
    }

    /// The field of the value at `index`.
    pub(super) fn field(&self, index: usize) -> Option<&PersonalField> {
        self.fields.get(self.found.get(index)?.field)
    }

    /// The value at `index` as it stands in the text, escapes and all (its quotes left
    /// out).
    pub(super) fn raw(&self, index: usize) -> Option<&str> {
        let found = self.found.get(index)?;
        self.text.get(found.start + 1..found.end - 1)
    }
}

/// Replaces in `text` each string value at a path of `paths`. `replace` is called for
/// each, in the text's order, with every value found, the value's place among them, its
/// field, the value unescaped, and a cleared buffer: it writes the replacement's text
/// there and answers `true`, or `false` to keep the value. Answers whether anything was
/// replaced; a text that is not JSON is left as it is.
pub(super) fn replace_fields(
    text: &mut String,
    paths: &Paths<'_>,
    buffers: &mut Buffers,
    replace: impl FnMut(&Values<'_>, usize, &PersonalField, &str, &mut String) -> bool,
) -> Result<bool, NotJson> {
    find(text, paths, &mut buffers.found)?;
    replace_found(text, paths, buffers, replace)
}

/// The second half of [`replace_fields`]: replaces the values found in `text` with the
/// same `paths` (by [`find`], or by [`first_string`], the first only).
pub(super) fn replace_found(
    text: &mut String,
    paths: &Paths<'_>,
    buffers: &mut Buffers,
    mut replace: impl FnMut(&Values<'_>, usize, &PersonalField, &str, &mut String) -> bool,
) -> Result<bool, NotJson> {
    // The text is written again into a buffer, each replaced value in its place, and
    // handed back for the old one (whose allocation the buffer keeps for the next text):
    // one copy of the text, where replacing each value in place moved the rest each time.
    let out = &mut buffers.text;
    out.clear();
    let (mut copied, mut replaced) = (0, false);
    let all = Values {
        text,
        fields: paths.fields,
        found: &buffers.found,
    };
    for (
        index,
        &Found {
            field,
            start,
            end,
            escaped,
        },
    ) in buffers.found.iter().enumerate()
    {
        let Some(field) = paths.fields.get(field) else {
            continue;
        };
        buffers.replacement.clear();
        let inside = text.get(start + 1..end - 1).ok_or(NotJson)?;
        let value = if escaped {
            unescape(inside)?
        } else {
            Cow::Borrowed(inside)
        };
        if !replace(&all, index, field, &value, &mut buffers.replacement) {
            continue;
        }
        out.push_str(text.get(copied..start).ok_or(NotJson)?);
        push_string(out, &buffers.replacement);
        (copied, replaced) = (end, true);
    }
    if !replaced {
        return Ok(false);
    }
    out.push_str(text.get(copied..).ok_or(NotJson)?);
    std::mem::swap(text, out);
    Ok(true)
}

/// The first string value at a path of `paths` (a member of the root, say), unescaped,
/// reading `text` only as far as it; `None` when the text up to there is not JSON or
/// holds none. [`replace_found`] may then replace it.
pub(super) fn first_string<'text>(
    text: &'text str,
    paths: &Paths<'_>,
    buffers: &mut Buffers,
) -> Option<Cow<'text, str>> {
    Reader::new(text, paths, &mut buffers.found, true)
        .value(0, Some(0))
        .ok()?;
    let &Found { start, end, .. } = buffers.found.first()?;
    unescape(text.get(start + 1..end - 1)?).ok()
}

/// Reads `text` through, putting in `found` each string value at a path of `paths`, in
/// the text's order.
fn find(text: &str, paths: &Paths<'_>, found: &mut Vec<Found>) -> Result<(), NotJson> {
    let mut reader = Reader::new(text, paths, found, false);
    reader.value(0, Some(0))?;
    reader.whitespace();
    if reader.at != reader.bytes.len() {
        return Err(NotJson);
    }
    Ok(())
}

/// `text` as a JSON string, quotes included, escaped as `serde_json` writes it.
pub(super) fn push_string(out: &mut String, text: &str) {
    out.push('"');
    // Most replacements (an address, a name) need no escape.
    if special(text.as_bytes()).is_none() {
        out.push_str(text);
        out.push('"');
        return;
    }
    let mut copied = 0;
    for (at, byte) in text.bytes().enumerate() {
        let short = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..0x20 => "",
            _ => continue,
        };
        // `at` is an ASCII byte's place, so a character boundary.
        out.push_str(text.get(copied..at).unwrap_or_default());
        if short.is_empty() {
            let _ = write!(out, "\\u{byte:04x}");
        } else {
            out.push_str(short);
        }
        copied = at + 1;
    }
    out.push_str(text.get(copied..).unwrap_or_default());
    out.push('"');
}

/// A string's contents as they read (escapes resolved), borrowed when it has none.
fn unescape(raw: &str) -> Result<Cow<'_, str>, NotJson> {
    if !raw.contains('\\') {
        return Ok(Cow::Borrowed(raw));
    }
    serde_json::from_str::<String>(&format!("\"{raw}\""))
        .map(Cow::Owned)
        .map_err(|_| NotJson)
}

/// The place of the first quote, backslash or control character in `bytes`: eight bytes
/// at a time, each tested without a branch (as `serde_json` skips through a string).
#[inline(always)]
fn special(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    const QUOTES: u64 = u64::from_ne_bytes([b'"'; 8]);
    const BACKSLASHES: u64 = u64::from_ne_bytes([b'\\'; 8]);
    const SPACES: u64 = u64::from_ne_bytes([0x20; 8]);
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in chunks.by_ref() {
        let Ok(chunk) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let chars = u64::from_le_bytes(chunk);
        // A byte's high bit is set where it is zero after the `xor` (or below the space
        // after the subtraction); a borrow can only mark bytes after the first such.
        let zero = |word: u64| word.wrapping_sub(ONES) & !word & HIGH;
        let found = zero(chars ^ QUOTES)
            | zero(chars ^ BACKSLASHES)
            | (chars.wrapping_sub(SPACES) & !chars & HIGH);
        if found != 0 {
            return usize::try_from(found.trailing_zeros() / 8)
                .ok()
                .map(|inside| at + inside);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|byte| matches!(byte, b'"' | b'\\' | 0..0x20))
        .map(|inside| at + inside)
}

/// A string value at a field's path: the field's index, the value's span in the text (its
/// quotes included), and whether it holds an escape.
#[derive(Clone, Copy)]
struct Found {
    field: usize,
    start: usize,
    end: usize,
    escaped: bool,
}

struct Reader<'text, 'paths, 'found> {
    text: &'text str,
    bytes: &'text [u8],
    at: usize,
    paths: &'paths Paths<'paths>,
    /// The string values at a field's path.
    found: &'found mut Vec<Found>,
    /// Whether it stops at the first value found (the rest is not read).
    first_only: bool,
}

impl<'text, 'paths, 'found> Reader<'text, 'paths, 'found> {
    /// A reader at the start of `text`, `found` emptied.
    fn new(
        text: &'text str,
        paths: &'paths Paths<'paths>,
        found: &'found mut Vec<Found>,
        first_only: bool,
    ) -> Self {
        found.clear();
        Self {
            text,
            bytes: text.as_bytes(),
            at: 0,
            paths,
            found,
            first_only,
        }
    }

    // The steps taken at every string and token are inlined (`#[inline(always)]`): their
    // calls cost about 2 % of a sealed replay of sign-ins (callgrind, 20,000 people).
    #[inline(always)]
    fn whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    #[inline(always)]
    fn peek(&mut self) -> Option<u8> {
        self.whitespace();
        self.bytes.get(self.at).copied()
    }

    fn expect(&mut self, byte: u8) -> Result<(), NotJson> {
        if self.peek() != Some(byte) {
            return Err(NotJson);
        }
        self.at += 1;
        Ok(())
    }

    /// Reads a value; `node` is where its path stands in the fields' paths (`None` once
    /// it left them).
    fn value(&mut self, depth: usize, node: Option<usize>) -> Result<(), NotJson> {
        if depth > DEPTH_LIMIT {
            return Err(NotJson);
        }
        match self.peek().ok_or(NotJson)? {
            b'{' => self.object(depth, node),
            b'[' => self.array(depth, node),
            b'"' => {
                let (start, end, escaped) = self.string()?;
                if let Some(field) = self.paths.node(node).and_then(|node| node.field) {
                    // Its escapes are checked now: the replacing must not fail midway.
                    if escaped {
                        self.text(start, end).and_then(unescape)?;
                    }
                    self.found.push(Found {
                        field,
                        start,
                        end,
                        escaped,
                    });
                }
                Ok(())
            }
            _ => self.scalar(),
        }
    }

    fn object(&mut self, depth: usize, node: Option<usize>) -> Result<(), NotJson> {
        self.expect(b'{')?;
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(());
        }
        let members = self
            .paths
            .node(node)
            .map(|node| node.members.as_slice())
            .filter(|members| !members.is_empty());
        loop {
            if self.peek() != Some(b'"') {
                return Err(NotJson);
            }
            let (start, end, escaped) = self.string()?;
            let inner = match members {
                None => None,
                Some(members) => {
                    let raw = self.text(start, end)?;
                    let name = if escaped {
                        unescape(raw)?
                    } else {
                        Cow::Borrowed(raw)
                    };
                    members
                        .iter()
                        .find(|(step, _)| *step == name)
                        .map(|&(_, child)| child)
                }
            };
            self.expect(b':')?;
            self.value(depth + 1, inner)?;
            if self.stopped() || self.ends_at(b'}')? {
                return Ok(());
            }
        }
    }

    fn array(&mut self, depth: usize, node: Option<usize>) -> Result<(), NotJson> {
        self.expect(b'[')?;
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(());
        }
        let inner = self.paths.node(node).and_then(|node| node.item);
        loop {
            self.value(depth + 1, inner)?;
            if self.stopped() || self.ends_at(b']')? {
                return Ok(());
            }
        }
    }

    /// Whether it read as far as it reads: to the first value found, when that is all
    /// it looks for.
    fn stopped(&self) -> bool {
        self.first_only && !self.found.is_empty()
    }

    /// After a member or an item: `true` at `close` (read), `false` at a comma (read).
    fn ends_at(&mut self, close: u8) -> Result<bool, NotJson> {
        match self.peek() {
            Some(b',') => {
                self.at += 1;
                Ok(false)
            }
            Some(byte) if byte == close => {
                self.at += 1;
                Ok(true)
            }
            _ => Err(NotJson),
        }
    }

    /// A string's text between its quotes, from its span.
    fn text(&self, start: usize, end: usize) -> Result<&'text str, NotJson> {
        self.text.get(start + 1..end - 1).ok_or(NotJson)
    }

    /// Reads a string at the cursor: its span, quotes included, and whether it holds an
    /// escape.
    #[inline(always)]
    fn string(&mut self) -> Result<(usize, usize, bool), NotJson> {
        let start = self.at;
        let mut escaped = false;
        self.at += 1;
        loop {
            let rest = self.bytes.get(self.at..).ok_or(NotJson)?;
            self.at += special(rest).ok_or(NotJson)?;
            match self.bytes.get(self.at) {
                Some(b'"') => {
                    self.at += 1;
                    return Ok((start, self.at, escaped));
                }
                Some(b'\\') => {
                    escaped = true;
                    self.at += 2;
                }
                // A control character is not allowed raw in a string.
                _ => return Err(NotJson),
            }
        }
    }

    /// A number, `true`, `false` or `null`: its characters, checked by the decoder that
    /// reads the payload afterwards.
    fn scalar(&mut self) -> Result<(), NotJson> {
        let start = self.at;
        while let Some(b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' | b'+' | b'-' | b'.') =
            self.bytes.get(self.at)
        {
            self.at += 1;
        }
        if self.at == start {
            return Err(NotJson);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use verity_domain::personal::{self, FieldKind};

    /// `text` with the values at `fields` upper case; `None` when none was replaced.
    fn upper(text: &str, fields: &[PersonalField]) -> Option<String> {
        let mut text = text.to_owned();
        let replaced = replace_fields(
            &mut text,
            &Paths::new(fields),
            &mut Buffers::default(),
            |_, _, _, value, out| {
                out.push_str(&value.to_uppercase());
                true
            },
        )
        .unwrap();
        replaced.then_some(text)
    }

    /// Replaces every value at `fields`; a text refused is left as it was.
    fn replace_all(text: &str, fields: &[PersonalField]) -> Result<bool, NotJson> {
        let mut replaced = text.to_owned();
        let answer = replace_fields(
            &mut replaced,
            &Paths::new(fields),
            &mut Buffers::default(),
            |_, _, _, _, _| true,
        );
        if answer.is_err() {
            assert_eq!(replaced, text);
        }
        answer
    }

    #[test]
    fn only_the_values_at_the_fields_paths_change() {
        let fields = personal::fields("user.created");
        let text = r#"{"user_id":"u","email":"ada@example.org","org_id":"o","name":"Ada \"L\"","directory":{"emails":[{"value":"a@b.c","primary":true},{"value":"d@e.f"}],"name":{"given_name":"Ada"}},"n":-1.5e3,"x":[null,false]}"#;
        let changed = upper(text, fields).unwrap();
        assert_eq!(
            changed,
            r#"{"user_id":"u","email":"ADA@EXAMPLE.ORG","org_id":"o","name":"ADA \"L\"","directory":{"emails":[{"value":"A@B.C","primary":true},{"value":"D@E.F"}],"name":{"given_name":"ADA"}},"n":-1.5e3,"x":[null,false]}"#
        );
        let value: serde_json::Value = serde_json::from_str(&changed).unwrap();
        assert_eq!(value["name"], "ADA \"L\"");
    }

    #[test]
    fn nothing_to_replace_gives_nothing() {
        let fields = personal::fields("user.created");
        assert_eq!(upper(r#"{"org_id":"o","email":null}"#, fields), None);
        assert_eq!(
            replace_fields(
                &mut r#"{"email":"a"}"#.to_owned(),
                &Paths::new(fields),
                &mut Buffers::default(),
                |_, _, _, _, _| false
            ),
            Ok(false)
        );
    }

    #[test]
    fn replacements_are_escaped_as_serde_json_escapes_them() {
        for text in [
            "",
            "plain",
            "a\"b\\c",
            "\u{0}\u{8}\t\n\u{b}\u{c}\r\u{1f} ",
            "é漢😀\u{7f}",
        ] {
            let mut out = String::new();
            push_string(&mut out, text);
            assert_eq!(out, serde_json::to_string(text).unwrap());
        }
    }

    #[test]
    fn the_first_quote_backslash_or_control_is_found_at_any_place() {
        // Bytes next to the ones sought (the space, `!`, DEL, bytes with the high bit
        // set): a borrow between bytes must not mark them.
        let filler = [b' ', b'!', 0x7f, 0x80, 0xff];
        for len in 0..40 {
            let plain: Vec<u8> = (0..len).map(|at| filler[at % filler.len()]).collect();
            assert_eq!(special(&plain), None, "{plain:?}");
            for sought in [b'"', b'\\', 0, 0x1f] {
                for place in 0..len {
                    let mut bytes = plain.clone();
                    bytes[place] = sought;
                    // A later one does not count.
                    bytes.push(b'"');
                    assert_eq!(special(&bytes), Some(place), "{bytes:?}");
                }
            }
        }
    }

    #[test]
    fn a_member_named_star_is_not_an_item() {
        let fields = [PersonalField {
            path: &["a", "*"],
            kind: FieldKind::Text,
        }];
        assert_eq!(upper(r#"{"a":{"*":"x"}}"#, &fields), None);
        assert_eq!(upper(r#"{"a":["x"]}"#, &fields).unwrap(), r#"{"a":["X"]}"#);
    }

    #[test]
    fn an_escaped_member_name_is_read_as_it_reads() {
        let fields = personal::fields("user.created");
        assert_eq!(
            upper(r#"{"em\u0061il":"a"}"#, fields).unwrap(),
            r#"{"em\u0061il":"A"}"#
        );
    }

    #[test]
    fn text_that_is_not_json_is_refused() {
        let fields = personal::fields("user.created");
        let deep = "[".repeat(200);
        for text in [
            "",
            "{",
            r#"{"email":"a""#,
            r#"{"email" "a"}"#,
            r#"{"email":"a",}"#,
            r#"{"email":"a"} x"#,
            "[1,]",
            "\"\u{1}\"",
            "{\"email\":\"a\u{1}\"}",
            r#"{"name":"x","email":"a\x"}"#,
            deep.as_str(),
        ] {
            assert_eq!(replace_all(text, fields), Err(NotJson), "{text:?}");
        }
    }

    #[test]
    fn first_string_reads_the_first_value_at_its_path_or_nothing() {
        const USER_ID: [PersonalField; 1] = [PersonalField {
            path: &["user_id"],
            kind: FieldKind::Text,
        }];
        let paths = Paths::new(&USER_ID);
        let buffers = &mut Buffers::default();
        let read = |text: &str, buffers: &mut Buffers| {
            first_string(text, &paths, buffers).map(|value| value.into_owned())
        };
        assert_eq!(
            read(r#"{"sid":"s","user_id":"u1"}"#, buffers).as_deref(),
            Some("u1")
        );
        assert_eq!(
            read(r#"{"user_id":"a\"b"}"#, buffers).as_deref(),
            Some("a\"b")
        );
        // The first: what follows it is not read.
        for text in [r#"{"user_id":"u1","user_id":"u2"}"#, r#"{"user_id":"u1","#] {
            assert_eq!(read(text, buffers).as_deref(), Some("u1"), "{text}");
        }
        assert_eq!(
            read(r#"{"actor":{"user_id":"u1"},"user_id":"u2"}"#, buffers).as_deref(),
            Some("u2")
        );
        // Not at the root, not a string, or after what is not JSON: nothing.
        for text in [
            r#"{"actor":{"user_id":"u1"}}"#,
            r#"{"user_id":null}"#,
            r#"{"user_id":7}"#,
            r#"{"sid":"s" "user_id":"u1"}"#,
            r#"["user_id","u1"]"#,
        ] {
            assert_eq!(read(text, buffers), None, "{text}");
        }
    }
}
