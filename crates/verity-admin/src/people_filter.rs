//! Which people a provisioning query wants ([`PeopleFilter`]): comparisons on a few
//! attributes joined by `and`, `or` and `not`. The SCIM door parses its filter syntax
//! into this tree; the admin layer evaluates it over the people the actor may read
//! ([`Admin::find_people`](crate::Admin::find_people)), so the door holds no rule of which
//! person matches.

/// An attribute a filter can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterAttribute {
    /// The sign-in address (case-insensitive).
    UserName,
    /// Any of the person's other addresses (case-insensitive).
    EmailValue,
    /// The provisioning system's own id for the person (case-sensitive).
    ExternalId,
    /// The person's display name (case-insensitive).
    DisplayName,
    /// Whether the person may sign in.
    Active,
}

impl FilterAttribute {
    /// Whether the attribute holds true or false rather than text.
    pub fn is_boolean(self) -> bool {
        matches!(self, Self::Active)
    }

    /// Whether text comparisons on it respect case.
    pub fn is_case_exact(self) -> bool {
        matches!(self, Self::ExternalId)
    }
}

/// How a value is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// Equal.
    Equal,
    /// Not equal (also true when the attribute has no value).
    NotEqual,
    /// Contains.
    Contains,
    /// Starts with.
    StartsWith,
    /// Ends with.
    EndsWith,
}

/// A value to compare with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterValue {
    /// Text.
    Text(String),
    /// True or false.
    Boolean(bool),
}

/// Which people a query wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeopleFilter {
    /// `attribute op value`.
    Compare {
        /// What is tested.
        attribute: FilterAttribute,
        /// How.
        comparison: Comparison,
        /// Against what.
        value: FilterValue,
    },
    /// `attribute pr`: it has a value.
    Present(FilterAttribute),
    /// Both.
    And(Box<PeopleFilter>, Box<PeopleFilter>),
    /// Either.
    Or(Box<PeopleFilter>, Box<PeopleFilter>),
    /// Not.
    Not(Box<PeopleFilter>),
}

/// What a filter tests about one person.
pub trait Filterable {
    /// The text values of `attribute` (none when unassigned; several for the other
    /// addresses).
    fn texts(&self, attribute: FilterAttribute) -> Vec<&str>;
    /// Whether the person may sign in.
    fn active(&self) -> bool;
}

impl PeopleFilter {
    /// Whether `person` is wanted.
    pub fn matches(&self, person: &impl Filterable) -> bool {
        match self {
            Self::And(left, right) => left.matches(person) && right.matches(person),
            Self::Or(left, right) => left.matches(person) || right.matches(person),
            Self::Not(inner) => !inner.matches(person),
            Self::Present(attribute) => {
                attribute.is_boolean() || person.texts(*attribute).iter().any(|t| !t.is_empty())
            }
            Self::Compare {
                attribute,
                comparison,
                value,
            } => match value {
                FilterValue::Boolean(wanted) => {
                    let equal = attribute.is_boolean() && person.active() == *wanted;
                    match comparison {
                        Comparison::NotEqual => !equal,
                        _ => equal,
                    }
                }
                FilterValue::Text(wanted) => {
                    let texts = person.texts(*attribute);
                    let any = |test: &dyn Fn(&str, &str) -> bool| {
                        texts.iter().any(|text| {
                            if attribute.is_case_exact() {
                                test(text, wanted)
                            } else {
                                test(&text.to_lowercase(), &wanted.to_lowercase())
                            }
                        })
                    };
                    match comparison {
                        Comparison::Equal => any(&|text, wanted| text == wanted),
                        Comparison::NotEqual => !any(&|text, wanted| text == wanted),
                        Comparison::Contains => any(&|text, wanted| text.contains(wanted)),
                        Comparison::StartsWith => any(&|text, wanted| text.starts_with(wanted)),
                        Comparison::EndsWith => any(&|text, wanted| text.ends_with(wanted)),
                    }
                }
            },
        }
    }

    /// The address the filter pins the sign-in address to, when it is exactly
    /// `userName eq "..."`: such a query is answered by the address index, not a scan.
    pub fn exact_user_name(&self) -> Option<&str> {
        match self {
            Self::Compare {
                attribute: FilterAttribute::UserName,
                comparison: Comparison::Equal,
                value: FilterValue::Text(address),
            } => Some(address),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Someone {
        user_name: &'static str,
        emails: Vec<&'static str>,
        external_id: Option<&'static str>,
        active: bool,
    }

    impl Filterable for Someone {
        fn texts(&self, attribute: FilterAttribute) -> Vec<&str> {
            match attribute {
                FilterAttribute::UserName => vec![self.user_name],
                FilterAttribute::EmailValue => self.emails.clone(),
                FilterAttribute::ExternalId => self.external_id.into_iter().collect(),
                FilterAttribute::DisplayName => vec!["Ada Lovelace"],
                FilterAttribute::Active => Vec::new(),
            }
        }
        fn active(&self) -> bool {
            self.active
        }
    }

    fn compare(attribute: FilterAttribute, comparison: Comparison, text: &str) -> PeopleFilter {
        PeopleFilter::Compare {
            attribute,
            comparison,
            value: FilterValue::Text(text.into()),
        }
    }

    #[test]
    fn comparisons_follow_each_attributes_case_rule() {
        let ada = Someone {
            user_name: "ada@example.org",
            emails: vec!["ada@home.example", "lovelace@work.example"],
            external_id: Some("00u1AbC"),
            active: true,
        };
        use Comparison::*;
        use FilterAttribute::*;
        assert!(compare(UserName, Equal, "ADA@example.org").matches(&ada));
        assert!(compare(EmailValue, EndsWith, "@WORK.example").matches(&ada));
        assert!(compare(ExternalId, Equal, "00u1AbC").matches(&ada));
        assert!(!compare(ExternalId, Equal, "00u1abc").matches(&ada));
        assert!(compare(DisplayName, Contains, "love").matches(&ada));
        assert!(compare(DisplayName, StartsWith, "ada").matches(&ada));
        assert!(compare(UserName, NotEqual, "bea@example.org").matches(&ada));
        let inactive = Someone {
            external_id: None,
            active: false,
            ..ada
        };
        assert!(!PeopleFilter::Present(ExternalId).matches(&inactive));
        assert!(compare(ExternalId, NotEqual, "x").matches(&inactive));
        let active_false = PeopleFilter::Compare {
            attribute: Active,
            comparison: Equal,
            value: FilterValue::Boolean(false),
        };
        assert!(active_false.matches(&inactive));
        let either = PeopleFilter::Or(
            Box::new(active_false.clone()),
            Box::new(compare(UserName, Equal, "nobody@example.org")),
        );
        assert!(either.matches(&inactive));
        let both = PeopleFilter::And(
            Box::new(active_false),
            Box::new(compare(UserName, Equal, "nobody@example.org")),
        );
        assert!(!both.matches(&inactive));
        assert!(PeopleFilter::Not(Box::new(both)).matches(&inactive));
    }

    #[test]
    fn only_a_bare_user_name_equality_uses_the_index() {
        let exact = compare(FilterAttribute::UserName, Comparison::Equal, "a@b.c");
        assert_eq!(exact.exact_user_name(), Some("a@b.c"));
        let within = PeopleFilter::And(Box::new(exact.clone()), Box::new(exact));
        assert_eq!(within.exact_user_name(), None);
    }
}
