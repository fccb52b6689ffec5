//! The SCIM filter syntax (RFC 7644 §3.4.2.2) read into the admin layer's
//! [`PeopleFilter`]: `eq`, `ne`, `co`, `sw`, `ew`, `pr`, `and`, `or`, `not ( )` and
//! parentheses, on `userName`, `emails` / `emails.value`, `externalId`, `displayName` and
//! `active` (attribute names and operators in any case, with or without the User
//! schema's URN). Anything else is an [`InvalidFilter`] that says what was wrong.

use verity_admin::people_filter::{Comparison, FilterAttribute, FilterValue, PeopleFilter};

/// Longest filter read.
const MAX_FILTER: usize = 2048;

/// Deepest nesting of parentheses and `not` read.
const MAX_DEPTH: usize = 32;

/// The User schema's URN, which may prefix an attribute.
const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:user:";

/// A filter that cannot be read, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidFilter(pub String);

fn invalid(message: impl Into<String>) -> InvalidFilter {
    InvalidFilter(message.into())
}

/// Reads `text` as a filter.
pub fn parse(text: &str) -> Result<PeopleFilter, InvalidFilter> {
    if text.len() > MAX_FILTER {
        return Err(invalid(format!(
            "the filter is longer than {MAX_FILTER} bytes"
        )));
    }
    let tokens = tokenize(text)?;
    let mut parser = Parser { tokens, next: 0 };
    let filter = parser.or(0)?;
    match parser.tokens.get(parser.next) {
        None => Ok(filter),
        Some(token) => Err(invalid(format!(
            "unexpected {} after the filter",
            token.describe()
        ))),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    Word(String),
    Text(String),
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Self::Open => "'('".to_owned(),
            Self::Close => "')'".to_owned(),
            Self::Word(word) => format!("{word:?}"),
            Self::Text(text) => format!("the string {text:?}"),
        }
    }

    fn is_word(&self, keyword: &str) -> bool {
        matches!(self, Self::Word(word) if word.eq_ignore_ascii_case(keyword))
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, InvalidFilter> {
    let mut tokens = Vec::new();
    let mut rest = text;
    while let Some(first) = rest.chars().next() {
        match first {
            // Every character a word ends at is skipped here, or the word would be empty
            // and the loop would not advance (a vertical tab did that: found by fuzzing).
            c if c.is_whitespace() => rest = rest.get(c.len_utf8()..).unwrap_or_default(),
            '(' => {
                tokens.push(Token::Open);
                rest = rest.get(1..).unwrap_or_default();
            }
            ')' => {
                tokens.push(Token::Close);
                rest = rest.get(1..).unwrap_or_default();
            }
            '[' | ']' => {
                return Err(invalid(
                    "value paths with [ ] are not supported: use emails.value",
                ));
            }
            '"' => {
                let (value, used) = json_string(rest)?;
                tokens.push(Token::Text(value));
                rest = rest.get(used..).unwrap_or_default();
            }
            _ => {
                let end = rest
                    .find(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | '"' | '[' | ']'))
                    .unwrap_or(rest.len());
                let (word, after) = rest.split_at_checked(end).unwrap_or((rest, ""));
                tokens.push(Token::Word(word.to_owned()));
                rest = after;
            }
        }
    }
    Ok(tokens)
}

/// The JSON string at the start of `text` and how many bytes it took.
fn json_string(text: &str) -> Result<(String, usize), InvalidFilter> {
    let mut escaped = false;
    for (index, c) in text.char_indices().skip(1) {
        match (escaped, c) {
            (true, _) => escaped = false,
            (false, '\\') => escaped = true,
            (false, '"') => {
                let used = index + 1;
                let value: String = serde_json::from_str(text.get(..used).unwrap_or_default())
                    .map_err(|error| invalid(format!("a string in the filter: {error}")))?;
                return Ok((value, used));
            }
            _ => {}
        }
    }
    Err(invalid("a string in the filter has no closing quote"))
}

struct Parser {
    tokens: Vec<Token>,
    next: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next)
    }

    fn take(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.next).cloned();
        self.next += 1;
        token
    }

    fn or(&mut self, depth: usize) -> Result<PeopleFilter, InvalidFilter> {
        let mut filter = self.and(depth)?;
        while self.peek().is_some_and(|token| token.is_word("or")) {
            self.next += 1;
            filter = PeopleFilter::Or(Box::new(filter), Box::new(self.and(depth)?));
        }
        Ok(filter)
    }

    fn and(&mut self, depth: usize) -> Result<PeopleFilter, InvalidFilter> {
        let mut filter = self.unary(depth)?;
        while self.peek().is_some_and(|token| token.is_word("and")) {
            self.next += 1;
            filter = PeopleFilter::And(Box::new(filter), Box::new(self.unary(depth)?));
        }
        Ok(filter)
    }

    fn unary(&mut self, depth: usize) -> Result<PeopleFilter, InvalidFilter> {
        if depth >= MAX_DEPTH {
            return Err(invalid(format!(
                "the filter nests deeper than {MAX_DEPTH} levels"
            )));
        }
        match self.take() {
            Some(Token::Open) => self.group(depth),
            Some(token) if token.is_word("not") => match self.take() {
                Some(Token::Open) => Ok(PeopleFilter::Not(Box::new(self.group(depth)?))),
                _ => Err(invalid("not must be followed by '('")),
            },
            Some(Token::Word(path)) => self.comparison(&path),
            Some(token) => Err(invalid(format!(
                "expected an attribute, found {}",
                token.describe()
            ))),
            None => Err(invalid("the filter ends where an attribute was expected")),
        }
    }

    fn group(&mut self, depth: usize) -> Result<PeopleFilter, InvalidFilter> {
        let inner = self.or(depth + 1)?;
        match self.take() {
            Some(Token::Close) => Ok(inner),
            _ => Err(invalid("a '(' has no matching ')'")),
        }
    }

    fn comparison(&mut self, path: &str) -> Result<PeopleFilter, InvalidFilter> {
        let attribute = attribute(path)?;
        let operator = match self.take() {
            Some(Token::Word(operator)) => operator.to_ascii_lowercase(),
            _ => return Err(invalid(format!("{path} must be followed by an operator"))),
        };
        let comparison = match operator.as_str() {
            "pr" => return Ok(PeopleFilter::Present(attribute)),
            "eq" => Comparison::Equal,
            "ne" => Comparison::NotEqual,
            "co" => Comparison::Contains,
            "sw" => Comparison::StartsWith,
            "ew" => Comparison::EndsWith,
            "gt" | "ge" | "lt" | "le" => {
                return Err(invalid(format!("the operator {operator} is not supported")));
            }
            _ => return Err(invalid(format!("unknown operator {operator:?}"))),
        };
        let value = match self.take() {
            Some(Token::Text(text)) => FilterValue::Text(text),
            Some(Token::Word(word)) if word == "true" => FilterValue::Boolean(true),
            Some(Token::Word(word)) if word == "false" => FilterValue::Boolean(false),
            Some(token) => {
                return Err(invalid(format!(
                    "{path} {operator} needs a quoted string or true/false, not {}",
                    token.describe()
                )));
            }
            None => return Err(invalid(format!("{path} {operator} needs a value"))),
        };
        match (&value, attribute.is_boolean(), comparison) {
            (FilterValue::Boolean(_), true, Comparison::Equal | Comparison::NotEqual)
            | (FilterValue::Text(_), false, _) => Ok(PeopleFilter::Compare {
                attribute,
                comparison,
                value,
            }),
            (_, true, _) => Err(invalid(format!(
                "{path} is true or false: compare it with eq or ne and true or false"
            ))),
            (FilterValue::Boolean(_), false, _) => Err(invalid(format!(
                "{path} is text: compare it with a quoted string"
            ))),
        }
    }
}

/// The attribute a path names.
fn attribute(path: &str) -> Result<FilterAttribute, InvalidFilter> {
    let lower = path.to_ascii_lowercase();
    let name = lower.strip_prefix(USER_URN).unwrap_or(&lower);
    match name {
        "username" => Ok(FilterAttribute::UserName),
        "emails" | "emails.value" => Ok(FilterAttribute::EmailValue),
        "externalid" => Ok(FilterAttribute::ExternalId),
        "displayname" => Ok(FilterAttribute::DisplayName),
        "active" => Ok(FilterAttribute::Active),
        _ => Err(invalid(format!(
            "filtering on {path:?} is not supported: userName, emails.value, externalId, displayName or active"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(attribute: FilterAttribute, comparison: Comparison, value: &str) -> PeopleFilter {
        PeopleFilter::Compare {
            attribute,
            comparison,
            value: FilterValue::Text(value.into()),
        }
    }

    #[test]
    fn the_forms_identity_systems_send_are_read() {
        assert_eq!(
            parse(r#"userName eq "ada@example.org""#),
            Ok(text(
                FilterAttribute::UserName,
                Comparison::Equal,
                "ada@example.org"
            ))
        );
        assert_eq!(
            parse(r#"urn:ietf:params:scim:schemas:core:2.0:User:USERNAME EQ "a\"b""#),
            Ok(text(FilterAttribute::UserName, Comparison::Equal, "a\"b"))
        );
        assert_eq!(
            parse("externalId pr"),
            Ok(PeopleFilter::Present(FilterAttribute::ExternalId))
        );
        assert_eq!(
            parse("active eq false"),
            Ok(PeopleFilter::Compare {
                attribute: FilterAttribute::Active,
                comparison: Comparison::Equal,
                value: FilterValue::Boolean(false),
            })
        );
    }

    #[test]
    fn and_binds_tighter_than_or_and_parentheses_and_not_group() {
        let a = || text(FilterAttribute::UserName, Comparison::StartsWith, "a");
        let b = || text(FilterAttribute::EmailValue, Comparison::Contains, "b");
        let c = || text(FilterAttribute::DisplayName, Comparison::EndsWith, "c");
        assert_eq!(
            parse(r#"userName sw "a" or emails.value co "b" and displayName ew "c""#),
            Ok(PeopleFilter::Or(
                Box::new(a()),
                Box::new(PeopleFilter::And(Box::new(b()), Box::new(c())))
            ))
        );
        assert_eq!(
            parse(r#"(userName sw "a" or emails co "b") and not (displayName ew "c")"#),
            Ok(PeopleFilter::And(
                Box::new(PeopleFilter::Or(Box::new(a()), Box::new(b()))),
                Box::new(PeopleFilter::Not(Box::new(c())))
            ))
        );
    }

    #[test]
    fn any_whitespace_separates_words_and_the_reading_ends() {
        // The fuzzer's input (a vertical tab after the parenthesis) read for ever.
        let found = parse("(\u{b}displayName eq \"x\")").unwrap();
        assert_eq!(found, parse("(displayName eq \"x\")").unwrap());
        assert!(parse("(\u{b}\0\0displayNJmrNam### eq \u{1}x").is_err());
        assert!(parse("userName\u{a0}eq\u{2003}\"a@b.example\"").is_ok());
    }

    #[test]
    fn malformed_or_unsupported_filters_say_what_is_wrong() {
        for (filter, says) in [
            ("", "ends where an attribute"),
            ("userName", "must be followed by an operator"),
            (r#"userName eq"#, "needs a value"),
            (r#"userName xx "a""#, "unknown operator"),
            (r#"userName gt "a""#, "not supported"),
            (r#"title eq "a""#, "not supported"),
            (r#"userName eq "a"#, "no closing quote"),
            (r#"(userName eq "a""#, "no matching"),
            (r#"userName eq "a" )"#, "unexpected"),
            (r#"userName eq ada"#, "quoted string"),
            (r#"active co "t""#, "true or false"),
            (r#"userName eq true"#, "is text"),
            (r#"emails[type eq "work"]"#, "value paths"),
            (r#"not userName eq "a""#, "not must be followed"),
        ] {
            let error = parse(filter).unwrap_err();
            assert!(error.0.contains(says), "{filter:?}: {error}");
        }
        let deep = format!("{}userName pr{}", "(".repeat(40), ")".repeat(40));
        assert!(parse(&deep).unwrap_err().0.contains("deeper"));
        assert!(parse(&"a".repeat(3000)).unwrap_err().0.contains("longer"));
    }
}
