//! Instants in the Audit section: as people type them in its forms, and as its pages
//! show them (in UTC).

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use crate::console::audit_strings::AUDIT;
use crate::console::error::ConsoleError;

/// An instant as typed in a form: `2026-01-31 14:00` (or with a `T`, or with seconds),
/// a day (`2026-01-31`, its start), or RFC 3339; in UTC unless it says otherwise. Empty
/// is none.
pub(super) fn instant(text: Option<&str>) -> Result<Option<DateTime<Utc>>, ConsoleError> {
    let Some(text) = text.map(str::trim).filter(|text| !text.is_empty()) else {
        return Ok(None);
    };
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(Some(time.with_timezone(&Utc)));
    }
    for format in [
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
    ] {
        if let Ok(time) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(Some(time.and_utc()));
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .map(|time| Some(time.and_utc()))
        .ok_or_else(|| {
            ConsoleError::bad_request(format!("{text:?} is not a time: {}", AUDIT.time_hint))
        })
}

/// A time as the Audit section shows it: to the second, in UTC.
pub(super) fn second(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// The minute a form shows an instant at.
pub(super) fn typed(time: Option<DateTime<Utc>>) -> String {
    time.map(|time| time.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_read_as_people_type_them_in_utc() {
        let expected = "2026-01-31T14:00:00Z";
        for typed in [
            "2026-01-31 14:00",
            "2026-01-31T14:00",
            "2026-01-31 14:00:00",
            "2026-01-31T15:00:00+01:00",
            " 2026-01-31T14:00:00Z ",
        ] {
            let at = instant(Some(typed)).unwrap().unwrap();
            assert_eq!(
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                expected,
                "{typed}"
            );
        }
        assert_eq!(
            instant(Some("2026-01-31")).unwrap().unwrap().to_rfc3339(),
            "2026-01-31T00:00:00+00:00"
        );
        assert_eq!(instant(Some("")).unwrap(), None);
        assert_eq!(instant(None).unwrap(), None);
        assert!(matches!(
            instant(Some("yesterday")),
            Err(ConsoleError::Refused { .. })
        ));
    }
}
