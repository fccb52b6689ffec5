//! An error with every cause in its `source()` chain, for logs and messages: a failure
//! shown by its outermost message alone ("store unavailable", "error sending request")
//! hides why. Here, at the lowest floor, so every crate above shows errors one way: the
//! doors' `log_failure` walks the chain through [`causes`], the audit witness reports
//! why a post failed with it.

use std::error::Error;
use std::fmt;

/// Displays an error and its sources, one after the other: `error: cause: cause`.
/// Log it as a field: `tracing::warn!(error = %ErrorChain(&error), "...")`.
#[derive(Debug, Clone, Copy)]
pub struct ErrorChain<'a>(pub &'a (dyn Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.0)?;
        for cause in causes(self.0) {
            write!(formatter, ": {cause}")?;
        }
        Ok(())
    }
}

/// The causes of `error`, outermost first (not `error` itself).
pub fn causes<'a>(
    error: &'a (dyn Error + 'static),
) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(error.source(), |&cause| cause.source())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("the sweep failed")]
    struct Outer(#[source] Middle);

    #[derive(Debug, thiserror::Error)]
    #[error("store unavailable")]
    struct Middle(#[source] std::io::Error);

    fn failure() -> Outer {
        Outer(Middle(std::io::Error::other("connection refused")))
    }

    #[test]
    fn the_chain_shows_every_cause_outermost_first() {
        let error = failure();
        assert_eq!(
            ErrorChain(&error).to_string(),
            "the sweep failed: store unavailable: connection refused"
        );
        let causes: Vec<String> = causes(&error).map(ToString::to_string).collect();
        assert_eq!(causes, ["store unavailable", "connection refused"]);
    }

    #[test]
    fn an_error_without_a_source_is_its_message() {
        let error = std::io::Error::other("alone");
        assert_eq!(ErrorChain(&error).to_string(), "alone");
        assert_eq!(causes(&error).count(), 0);
    }
}
