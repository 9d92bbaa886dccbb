//! The one error type of `hedge-estimate`.

use hedge_math::MethodKind;

/// Which input column a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// The proxy score (what the method sees).
    Proxy,
    /// The true reward (what we care about).
    Truth,
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Field::Proxy => "proxy",
            Field::Truth => "truth",
        })
    }
}

/// Everything that can go wrong when estimating or tuning from calibration data.
///
/// Every variant is structured so that callers can match on it or render it
/// without parsing strings. Nothing in this crate panics on bad input: it returns
/// one of these instead.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum EstimateError {
    /// No prompt with at least two responses is left.
    #[error("no usable prompts: {prompts} given, {skipped} skipped for having fewer than 2 responses")]
    EmptyData {
        /// Prompts in the input (or in the requested subset).
        prompts: usize,
        /// How many of them had fewer than two responses.
        skipped: usize,
    },
    /// The CSR offsets are malformed.
    #[error("offsets are invalid at position {index}: {reason}")]
    InvalidOffsets {
        /// Position in `offsets` where the problem was found.
        index: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// `proxy` and `truth` do not have the same length.
    #[error("proxy has {proxy} values but truth has {truth}")]
    LengthMismatch {
        /// Length of the proxy array.
        proxy: usize,
        /// Length of the truth array.
        truth: usize,
    },
    /// A proxy score or true reward is NaN or infinite.
    #[error("{field} at row {row} (prompt {prompt}) is not finite: {value}")]
    NonFinite {
        /// Index of the prompt in the input.
        prompt: usize,
        /// Index of the row in the flat input arrays.
        row: usize,
        /// Which column.
        field: Field,
        /// The offending value.
        value: f64,
    },
    /// A prompt index passed to [`crate::Prepared::subset`] is out of range.
    #[error("prompt index {index} is out of range: there are {prompts} prompts")]
    PromptOutOfRange {
        /// The offending index.
        index: usize,
        /// Number of prompts.
        prompts: usize,
    },
    /// The unbiased estimator was asked for a non-integer `n`.
    #[error("the unbiased estimator needs an integer n >= 1, got {n}")]
    UnbiasedNeedsInteger {
        /// The offending parameter.
        n: f64,
    },
    /// `n` exceeds the responses of some prompt (the unbiased estimator samples without replacement).
    #[error(
        "n = {n} exceeds the {m} responses of the smallest prompt (the unbiased estimator samples without replacement)"
    )]
    NTooLarge {
        /// Requested number of candidates.
        n: u64,
        /// Responses of the smallest prompt.
        m: usize,
    },
    /// The estimator does not apply to this method.
    #[error("the {estimator} estimator is not available for {method}")]
    Unsupported {
        /// Estimator name.
        estimator: &'static str,
        /// The method.
        method: MethodKind,
    },
    /// A derivative was requested from an estimator that has none (the unbiased one is defined at integer n only).
    #[error("the {estimator} estimator has no derivative in the parameter")]
    NoDerivative {
        /// Estimator name.
        estimator: &'static str,
    },
    /// Soft Best-of-n needs its number of candidates.
    #[error("sbon needs the number of candidates n (>= 1)")]
    MissingN,
    /// A search or evaluation range is empty, reversed, not finite or outside the domain.
    #[error("invalid range [{lo}, {hi}] for {parameter}: {reason}")]
    InvalidRange {
        /// Parameter name (`"n"`, `"mu"`, `"lambda"`, `"beta"`).
        parameter: &'static str,
        /// Lower end.
        lo: f64,
        /// Upper end.
        hi: f64,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A user-facing setting (confidence, hold-out fraction) is outside its domain; the message
    /// reads as the CLI's and Python's own ("confidence must be a level in [0.5, 1), got 1").
    #[error("{name} must be {domain}, got {value}")]
    OutOfDomain {
        /// The setting's name.
        name: &'static str,
        /// Its value.
        value: f64,
        /// What it may be, in words.
        domain: &'static str,
    },
    /// Some other argument is outside its domain.
    #[error("invalid {name} = {value}: {reason}")]
    InvalidArgument {
        /// Argument name.
        name: &'static str,
        /// Its value.
        value: f64,
        /// The requirement.
        reason: &'static str,
    },
    /// An error from the mathematics engine.
    #[error(transparent)]
    Math(#[from] hedge_math::Error),
}

/// Shorthand for `Result<T, EstimateError>`.
pub type Result<T> = std::result::Result<T, EstimateError>;
