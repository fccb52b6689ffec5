//! The personal fields of a payload found and replaced in its JSON text, without a tree.
//!
//! A replay opens every payload that holds a sealed field; parsing each into a
//! `serde_json::Value` and writing it back cost more than the cipher did. This reader
//! walks the text once, keeps the path of each string value (member names, and `*` for
//! an item of an array, as [`PersonalField::path`] writes them) and copies the text with
//! the values at the fields' paths replaced. Nothing else of the text changes.

use std::borrow::Cow;

use verity_domain::personal::PersonalField;

/// How deep a payload may nest before it is refused (`serde_json`'s own limit).
const DEPTH_LIMIT: usize = 128;

/// Why a text was not read: it is not JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct NotJson;

/// `text` with each string value at a path of `fields` replaced by what `replace` gives
/// for it (called with the field and the value, unescaped; `None` keeps it). `Ok(None)`
/// when nothing was replaced.
pub(super) fn replace_fields(
    text: &str,
    fields: &[PersonalField],
    mut replace: impl FnMut(&PersonalField, &str) -> Option<String>,
) -> Result<Option<String>, NotJson> {
    let mut reader = Reader {
        bytes: text.as_bytes(),
        at: 0,
        path: Vec::new(),
        fields,
        found: Vec::new(),
    };
    reader.value()?;
    reader.whitespace();
    if reader.at != reader.bytes.len() {
        return Err(NotJson);
    }
    let mut copied = 0;
    let mut out: Option<String> = None;
    for (field, start, end) in reader.found {
        let inside = text.get(start + 1..end - 1).ok_or(NotJson)?;
        let value = unescape(inside)?;
        let Some(replacement) = replace(field, &value) else {
            continue;
        };
        let out = out.get_or_insert_with(|| String::with_capacity(text.len() + 64));
        out.push_str(text.get(copied..start).ok_or(NotJson)?);
        out.push_str(&verity_domain::event::to_json(&replacement));
        copied = end;
    }
    Ok(out.map(|mut out| {
        out.push_str(text.get(copied..).unwrap_or_default());
        out
    }))
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

/// One step of a value's path from the payload's root.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step<'text> {
    /// A member of an object, by name.
    Member(Cow<'text, str>),
    /// An item of an array.
    Item,
}

impl Step<'_> {
    fn is(&self, written: &str) -> bool {
        match self {
            Self::Member(name) => written != "*" && name == written,
            Self::Item => written == "*",
        }
    }
}

struct Reader<'text, 'fields> {
    bytes: &'text [u8],
    at: usize,
    path: Vec<Step<'text>>,
    fields: &'fields [PersonalField],
    /// The string values at a field's path: the field, and the value's span in the text
    /// (its quotes included).
    found: Vec<(&'fields PersonalField, usize, usize)>,
}

impl<'text, 'fields> Reader<'text, 'fields> {
    fn whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

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

    /// The field whose path is the current one, if any.
    fn field_here(&self) -> Option<&'fields PersonalField> {
        self.fields.iter().find(|field| {
            field.path.len() == self.path.len()
                && self
                    .path
                    .iter()
                    .zip(field.path)
                    .all(|(step, written)| step.is(written))
        })
    }

    fn value(&mut self) -> Result<(), NotJson> {
        if self.path.len() > DEPTH_LIMIT {
            return Err(NotJson);
        }
        match self.peek().ok_or(NotJson)? {
            b'{' => self.object(),
            b'[' => self.array(),
            b'"' => {
                let (start, end) = self.string()?;
                if let Some(field) = self.field_here() {
                    self.found.push((field, start, end));
                }
                Ok(())
            }
            _ => self.scalar(),
        }
    }

    fn object(&mut self) -> Result<(), NotJson> {
        self.expect(b'{')?;
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(());
        }
        loop {
            if self.peek() != Some(b'"') {
                return Err(NotJson);
            }
            let (start, end) = self.string()?;
            let name = self.name(start, end)?;
            self.expect(b':')?;
            self.path.push(Step::Member(name));
            self.value()?;
            self.path.pop();
            if self.ends_at(b'}')? {
                return Ok(());
            }
        }
    }

    fn array(&mut self) -> Result<(), NotJson> {
        self.expect(b'[')?;
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(());
        }
        loop {
            self.path.push(Step::Item);
            self.value()?;
            self.path.pop();
            if self.ends_at(b']')? {
                return Ok(());
            }
        }
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

    /// A member's name from its span.
    fn name(&self, start: usize, end: usize) -> Result<Cow<'text, str>, NotJson> {
        let raw = self
            .bytes
            .get(start + 1..end - 1)
            .and_then(|raw| std::str::from_utf8(raw).ok())
            .ok_or(NotJson)?;
        unescape(raw)
    }

    /// Reads a string at the cursor; its span, quotes included. Jumps from quote or
    /// backslash to the next (SIMD): payloads carry long strings (hashes, sealed values).
    fn string(&mut self) -> Result<(usize, usize), NotJson> {
        let start = self.at;
        self.at += 1;
        loop {
            let rest = self.bytes.get(self.at..).ok_or(NotJson)?;
            let next = memchr::memchr2(b'"', b'\\', rest).ok_or(NotJson)?;
            // A control character is not allowed raw in a string.
            if rest
                .get(..next)
                .ok_or(NotJson)?
                .iter()
                .any(|byte| *byte < 0x20)
            {
                return Err(NotJson);
            }
            self.at += next;
            match self.bytes.get(self.at) {
                Some(b'"') => {
                    self.at += 1;
                    return Ok((start, self.at));
                }
                _ => self.at += 2,
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

    fn upper(text: &str, fields: &[PersonalField]) -> Option<String> {
        replace_fields(text, fields, |_, value| Some(value.to_uppercase())).unwrap()
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
            replace_fields(r#"{"email":"a"}"#, fields, |_, _| None),
            Ok(None)
        );
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
            deep.as_str(),
        ] {
            assert_eq!(
                replace_fields(text, fields, |_, _| Some(String::new())),
                Err(NotJson),
                "{text:?}"
            );
        }
    }
}
