//! The one error type of `hedge-math`.

/// Everything that can go wrong in the pure-math layer.
///
/// Every variant is structured, so callers (the CLI, the Python bindings) can
/// render or match on it without parsing strings.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A method parameter is outside its domain (NaN, infinite, negative, ...).
    #[error("{method}: {name} = {value} is invalid: {reason}")]
    InvalidParameter {
        /// Method name (`"bon"`, `"bop"`, `"tilt"`, `"sbon"`).
        method: &'static str,
        /// Parameter name (`"n"`, `"mu"`, `"lambda"`, `"beta"`).
        name: &'static str,
        /// The offending value.
        value: f64,
        /// Human-readable requirement, e.g. `"must be a finite number >= 1"`.
        reason: &'static str,
    },
    /// A search range `[lo, hi]` is empty, reversed or not finite.
    #[error("invalid range [{lo}, {hi}]: {reason}")]
    InvalidRange {
        /// Lower end.
        lo: f64,
        /// Upper end.
        hi: f64,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// Selection was asked to choose among zero candidates.
    #[error("no candidate scores to choose from")]
    EmptyScores,
    /// A candidate score is NaN or infinite.
    #[error("candidate score at index {index} is not finite ({value})")]
    NonFiniteScore {
        /// Position of the candidate.
        index: usize,
        /// The offending score.
        value: f64,
    },
    /// The method cannot be used to pick a response at inference time.
    #[error("{method} is a reference frontier, not a sampler: use bon, bop or sbon to select")]
    NotASampler {
        /// Method name.
        method: &'static str,
    },
    /// A parameter with the requested KL does not exist for this method.
    #[error("{method} cannot reach KL = {kl} (its supremum is {sup})")]
    KlOutOfReach {
        /// Method name.
        method: &'static str,
        /// Requested KL.
        kl: f64,
        /// Largest KL the method can reach.
        sup: f64,
    },
    /// The objective returned a non-finite value at some parameter.
    #[error("objective is not finite at theta = {theta}")]
    NonFiniteObjective {
        /// Parameter where it happened.
        theta: f64,
    },
}

/// Shorthand for `Result<T, hedge_math::Error>`.
pub type Result<T> = std::result::Result<T, Error>;
