//! The one error type of `hedge-client`.
//!
//! Every variant names the endpoint (URL without credentials) or file involved. No variant ever holds
//! an API key: keys live in [`crate::Secret`], which has no `Display`, and text copied from an upstream
//! answer is passed through [`crate::Secret::redact`] before it is stored.

use std::time::Duration;

/// A failure of a network client, the proxy, or `collect`.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A server URL given in the configuration is not usable.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given (credentials removed).
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Invalid configuration (bad method parameter, inconsistent options, ...).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The server could not be reached (connection refused, reset, DNS, ...), after every attempt.
    #[error("{endpoint}: cannot connect ({attempts} attempt{s}): {message}", s = if *attempts == 1 { "" } else { "s" })]
    Connect {
        /// The endpoint URL.
        endpoint: String,
        /// Attempts made.
        attempts: u32,
        /// The transport's description of the failure.
        message: String,
    },
    /// No complete answer within the per-request timeout, after every attempt.
    #[error("{endpoint}: no answer within {timeout:?} ({attempts} attempt{s})", s = if *attempts == 1 { "" } else { "s" })]
    Timeout {
        /// The endpoint URL.
        endpoint: String,
        /// The per-attempt timeout.
        timeout: Duration,
        /// Attempts made.
        attempts: u32,
    },
    /// The server answered with an HTTP error status (after every attempt, for retryable statuses).
    #[error("{endpoint}: HTTP {status}: {message}")]
    Status {
        /// The endpoint URL.
        endpoint: String,
        /// The HTTP status code.
        status: u16,
        /// The server's error message (shortened, secrets removed).
        message: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The server's answer is not the JSON shape its API documents.
    #[error("{endpoint}: unexpected answer: {message}")]
    Decode {
        /// The endpoint URL.
        endpoint: String,
        /// What was expected and what came.
        message: String,
    },
    /// A reward server returned a score that is NaN or infinite.
    #[error("{endpoint}: score {index} is not a finite number ({value})")]
    NonFiniteScore {
        /// The endpoint URL.
        endpoint: String,
        /// Position of the text in the request.
        index: usize,
        /// The value received.
        value: f64,
    },
    /// A generation server's answer lacks the token log-probabilities a built-in proxy
    /// ([`crate::logprob::LogprobProxy`]) is computed from.
    #[error("{endpoint}: candidate {index}: no log-probabilities for the {proxy} proxy: {what}")]
    MissingLogprobs {
        /// The generation endpoint URL.
        endpoint: String,
        /// The proxy (`logprob-mean`, `logprob-sum`, `self-certainty`).
        proxy: &'static str,
        /// The candidate's index.
        index: usize,
        /// What is missing or wrong.
        what: String,
    },
    /// Every candidate of a request failed to be generated or scored.
    #[error("all {requested} candidates failed; first failure: {first}")]
    NoCandidates {
        /// Candidates requested.
        requested: usize,
        /// The first failure, as text.
        first: String,
    },
    /// A bad line in a prompts file.
    #[error("{path}:{line}: {message}")]
    Prompts {
        /// The prompts file.
        path: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// A bad line in an existing `collect` output that cannot be repaired automatically.
    #[error("{path}:{line}: {message}")]
    Output {
        /// The output file.
        path: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The engine rejected a method parameter or a score vector.
    #[error(transparent)]
    Math(#[from] hedge_math::Error),
    /// The server's answer is larger than the client reads (`max_response_bytes`).
    #[error("{endpoint}: the answer exceeds {limit} bytes (the limit of what hedge reads from a server)")]
    TooLarge {
        /// The endpoint URL.
        endpoint: String,
        /// The limit, in bytes.
        limit: usize,
    },
    /// Calibration data could not be written or read back.
    #[error(transparent)]
    Data(#[from] hedge_data::DataError),
}

impl NetError {
    /// An I/O error on a path.
    pub fn io(path: impl Into<String>, source: std::io::Error) -> Self {
        NetError::Io {
            path: path.into(),
            source,
        }
    }

    /// Whether retrying the same request may succeed (connection failures, timeouts, 429 and 5xx).
    pub fn is_transient(&self) -> bool {
        match self {
            NetError::Connect { .. } | NetError::Timeout { .. } => true,
            NetError::Status { status, .. } => *status == 429 || (500..600).contains(status),
            _ => false,
        }
    }

    /// A short machine-readable name of the variant (used as a metrics label).
    pub fn kind(&self) -> &'static str {
        match self {
            NetError::InvalidUrl { .. } => "invalid_url",
            NetError::Config(_) => "config",
            NetError::Connect { .. } => "connect",
            NetError::Timeout { .. } => "timeout",
            NetError::Status { .. } => "status",
            NetError::Decode { .. } => "decode",
            NetError::NonFiniteScore { .. } => "non_finite_score",
            NetError::MissingLogprobs { .. } => "missing_logprobs",
            NetError::NoCandidates { .. } => "no_candidates",
            NetError::Prompts { .. } => "prompts",
            NetError::Output { .. } => "output",
            NetError::Io { .. } => "io",
            NetError::Math(_) => "math",
            NetError::TooLarge { .. } => "too_large",
            NetError::Data(_) => "data",
        }
    }
}

/// Result alias of `hedge-client`.
pub type Result<T, E = NetError> = std::result::Result<T, E>;
