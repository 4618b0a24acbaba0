//! The trait a first-party integration implements.

use futures_util::future::BoxFuture;

use super::http::Call;
use crate::decision::Verdict;
use crate::event::PolicyEvent;
use crate::resilience::config::RateLimitConfig;
use crate::resilience::Attempt;

/// What a guard asks a service about one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// A cache key of the guard's choosing (`virustotal:file:<sha256>`), so the same
    /// question for two events is asked once. `None` keys results by `guard:eventId`.
    pub cache_key: Option<String>,
    /// What is asked, in the guard's own terms: hashes, URLs, package URLs.
    pub items: Vec<String>,
}

/// A guard that consults an external service. The engine runs it through the resilience
/// layer: the guard only says what to ask and how to read one answer.
pub trait ServiceGuard: Send + Sync + std::fmt::Debug {
    /// The guard's name in decisions and audit records.
    fn name(&self) -> &str;

    /// What to ask about `event`; `None` when the guard does not examine it (wrong kind of
    /// event, nothing worth sending, or only internal hosts). Computed without I/O.
    fn subject(&self, event: &PolicyEvent) -> Option<Subject>;

    /// One attempt: ask the service and judge its answer. Transport failures, 429 and
    /// 5xx are retryable ([`Call::send`] classifies them); an answer that cannot be read is
    /// [`Attempt::Fail`].
    fn ask<'a>(
        &'a self,
        subject: &'a Subject,
        event: &'a PolicyEvent,
        call: Call<'a>,
    ) -> BoxFuture<'a, Attempt<Verdict>>;

    /// The rate limit this service needs when the policy's `async:` block sets none
    /// (VirusTotal's free tier allows 4 requests a minute).
    fn default_rate_limit(&self) -> Option<RateLimitConfig> {
        None
    }
}
