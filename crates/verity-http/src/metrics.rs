//! What this node has served, for Prometheus (`GET /metrics`, OpenMetrics text), and the
//! request span every handler runs in (docs/operations.md).
//!
//! Counters are this process's own since it started: with several nodes, Prometheus
//! sums them. Labels are bounded sets — the route's template (never the path as sent,
//! which may carry codes or tokens in its query), the method, the status, a factor or a
//! reason from a closed enum — so a scan of random URLs cannot grow the registry.

use std::time::Duration;

use axum::http::StatusCode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use verity_oidc::limits::Lockout;

/// Request duration buckets, in seconds: from a cached discovery document (well under a
/// millisecond) to a sign-in queued behind a flood of password hashes (seconds).
const DURATION_BUCKETS: [f64; 13] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FactorLabels {
    second_factor: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    limit: String,
}

type Durations = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// The registry and the handles the handlers count with.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Durations,
    sign_ins: Family<FactorLabels, Counter>,
    sign_in_failures: Family<ReasonLabels, Counter>,
    code_failures: Family<ReasonLabels, Counter>,
    lockouts: Family<LimitLabels, Counter>,
    locked_refusals: Family<LimitLabels, Counter>,
    backchannel_attempts: Family<OutcomeLabels, Counter>,
    projection_position: Gauge,
    hashes_in_flight: Gauge,
    hashes_shed: Counter,
    hash_bound: Gauge,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: String,
}

impl verity_oidc::backchannel::Observer for Metrics {
    fn attempt(&self, outcome: &'static str) {
        self.backchannel_attempts
            .get_or_create(&OutcomeLabels {
                outcome: outcome.to_owned(),
            })
            .inc();
    }
}

/// The `limit` label of `verity_lockouts_total`.
fn lockout_label(lockout: Lockout) -> &'static str {
    match lockout {
        Lockout::Password => "password",
        Lockout::SecondFactor => "second_factor",
        Lockout::Network => "network",
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every metric registered, all at zero.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("verity");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        let durations: Durations =
            Family::new_with_constructor(|| Histogram::new(DURATION_BUCKETS));
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's arrival to its response, by method and route template",
            durations.clone(),
        );
        let sign_ins = Family::<FactorLabels, Counter>::default();
        registry.register(
            "sign_ins",
            "Completed sign-ins (a session started), by what stood for the second factor",
            sign_ins.clone(),
        );
        let sign_in_failures = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "sign_in_failures",
            "Refused email-and-password submissions, by the reason user.signin.failed records",
            sign_in_failures.clone(),
        );
        let code_failures = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "second_factor_failures",
            "Refused codes at the second step: wrong_code, reused_code, wrong_recovery_code",
            code_failures.clone(),
        );
        let lockouts = Family::<LimitLabels, Counter>::default();
        registry.register(
            "lockouts",
            "Locks set by too many failures: password (an address), second_factor (a person), network (a client IP or IPv6 /64)",
            lockouts.clone(),
        );
        let locked_refusals = Family::<LimitLabels, Counter>::default();
        registry.register(
            "locked_refusals",
            "Sign-in attempts refused unchecked by a lock, by the limit (the log records each lock once, not its refusals)",
            locked_refusals.clone(),
        );
        let backchannel_attempts = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "backchannel_attempts",
            "Back-channel logout notices posted to clients, by outcome: delivered, refused (a 4xx), retried, given_up (after a day)",
            backchannel_attempts.clone(),
        );
        let projection_position = Gauge::default();
        registry.register(
            "projection_position",
            "The last event-log position folded into this node's read models",
            projection_position.clone(),
        );
        let hashes_in_flight = Gauge::default();
        registry.register(
            "password_hashes_in_flight",
            "Password checks running or waiting for a hashing thread now",
            hashes_in_flight.clone(),
        );
        let hashes_shed = Counter::default();
        registry.register(
            "password_hashes_shed",
            "Sign-ins answered 503 at once because too many password checks were waiting ([sign_in] hash_queue_limit)",
            hashes_shed.clone(),
        );
        let hash_bound = Gauge::default();
        registry.register(
            "password_hashes_bound",
            "Most password checks running and waiting before sign-ins are shed (-1: no bound)",
            hash_bound.clone(),
        );
        Self {
            registry,
            requests,
            durations,
            sign_ins,
            sign_in_failures,
            code_failures,
            lockouts,
            locked_refusals,
            backchannel_attempts,
            projection_position,
            hashes_in_flight,
            hashes_shed,
            hash_bound,
        }
    }

    pub(crate) fn request(&self, method: &str, route: &str, status: StatusCode, took: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status: status.as_u16(),
            })
            .inc();
        self.durations
            .get_or_create(&RouteLabels {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    /// Counts a completed sign-in; `second_factor` is the snake-case name recorded in
    /// `user.signin.succeeded`.
    pub(crate) fn sign_in(&self, second_factor: &str) {
        self.sign_ins
            .get_or_create(&FactorLabels {
                second_factor: second_factor.to_owned(),
            })
            .inc();
    }

    /// Counts a refused email and password, by the recorded reason.
    pub(crate) fn sign_in_failure(&self, reason: &str) {
        self.sign_in_failures
            .get_or_create(&ReasonLabels {
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// Counts a refused code at the second step.
    pub(crate) fn second_factor_failure(&self, reason: &'static str) {
        self.code_failures
            .get_or_create(&ReasonLabels {
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// Counts a lock a failure set.
    pub(crate) fn lockout(&self, limit: Lockout) {
        self.lockouts
            .get_or_create(&LimitLabels {
                limit: lockout_label(limit).to_owned(),
            })
            .inc();
    }

    /// Counts an attempt a lock refused before anything was checked.
    pub(crate) fn locked_refusal(&self, limit: Lockout) {
        self.locked_refusals
            .get_or_create(&LimitLabels {
                limit: lockout_label(limit).to_owned(),
            })
            .inc();
    }

    /// Counts a refusal: the lock that refused it unchecked, or each lock it set.
    pub(crate) fn refused(&self, refused_by: Option<Lockout>, lockouts: &[Lockout]) {
        if let Some(limit) = refused_by {
            self.locked_refusal(limit);
        }
        for lockout in lockouts {
            self.lockout(*lockout);
        }
    }

    /// The exposition: every metric in OpenMetrics text, `projection_position` and the
    /// password hashing's queue as of now.
    pub fn render(
        &self,
        projection_position: u64,
        hashing: &verity_oidc::credentials::Hashing,
    ) -> Result<String, std::fmt::Error> {
        let gauge = |value: usize| i64::try_from(value).unwrap_or(i64::MAX);
        self.projection_position
            .set(i64::try_from(projection_position).unwrap_or(i64::MAX));
        self.hashes_in_flight.set(gauge(hashing.in_flight()));
        self.hash_bound.set(hashing.bound().map_or(-1, gauge));
        // Only this path moves the counter: it follows the hashing's own count.
        let shed = hashing.shed();
        self.hashes_shed
            .inc_by(shed.saturating_sub(self.hashes_shed.get()));
        let mut text = String::new();
        encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// The snake-case name a closed enum serialises to, for a label (`""` if it is none).
pub(crate) fn label<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_names_every_metric_with_its_labels() {
        let metrics = Metrics::new();
        metrics.request("GET", "/jwks", StatusCode::OK, Duration::from_millis(3));
        metrics.request("GET", "/jwks", StatusCode::OK, Duration::from_millis(30));
        metrics.sign_in("totp");
        metrics.sign_in_failure("wrong_password");
        metrics.second_factor_failure("reused_code");
        metrics.lockout(Lockout::Network);
        metrics.refused(Some(Lockout::Password), &[]);
        metrics.refused(Some(Lockout::Password), &[]);
        let hashing = verity_oidc::credentials::Hashing::new(2).with_queue_limit(3);
        let text = metrics.render(42, &hashing).unwrap();
        for line in [
            r#"verity_http_requests_total{method="GET",route="/jwks",status="200"} 2"#,
            r#"verity_http_request_duration_seconds_count{method="GET",route="/jwks"} 2"#,
            r#"verity_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/jwks"} 1"#,
            r#"verity_sign_ins_total{second_factor="totp"} 1"#,
            r#"verity_sign_in_failures_total{reason="wrong_password"} 1"#,
            r#"verity_second_factor_failures_total{reason="reused_code"} 1"#,
            r#"verity_lockouts_total{limit="network"} 1"#,
            r#"verity_locked_refusals_total{limit="password"} 2"#,
            "verity_projection_position 42",
            "verity_password_hashes_in_flight 0",
            "verity_password_hashes_shed_total 0",
            "verity_password_hashes_bound 5",
            "# EOF",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
    }

    #[test]
    fn labels_are_the_recorded_snake_case_names() {
        assert_eq!(
            label(&verity_domain::signin::SignInFailure::TemporaryPasswordExpired),
            "temporary_password_expired"
        );
        assert_eq!(
            label(&verity_domain::signin::SecondFactor::TrustedDevice),
            "trusted_device"
        );
    }
}
