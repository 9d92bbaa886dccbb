//! The command line's error type: every failure a user can cause, with where it happened.

/// A failure of a `hedge` command. Displayed on stderr as `hedge: <message>`; the exit code says
/// whose it is ([`CliError::exit_code`]).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// An engine error (invalid parameter, range, ...).
    #[error(transparent)]
    Math(#[from] hedge_math::Error),
    /// A bad line of JSON-lines input.
    #[error("{source_name}:{line}: {message}")]
    Input {
        /// File name or `<stdin>`.
        source_name: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// A file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path involved (`<stdin>`/`<stdout>` for the standard streams).
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A calibration file could not be loaded or written.
    #[error(transparent)]
    Data(#[from] hedge_data::DataError),
    /// Estimation or tuning on calibration data failed.
    #[error(transparent)]
    Estimate(#[from] hedge_estimate::EstimateError),
    /// Flags that parse but do not fit together.
    #[error("{0}")]
    Usage(String),
    /// The data do not fit what the flags ask of them (no column with the given prefix; columns of one
    /// file that give different prompts): a data-dependent failure, exit 1.
    #[error("{0}")]
    Mismatch(String),
    /// The calibration store failed.
    #[error(transparent)]
    Store(#[from] hedge_store::StoreError),
    /// A plot could not be drawn.
    #[error(transparent)]
    Report(#[from] hedge_report::ReportError),
    /// A network client, the proxy or `collect` failed.
    #[cfg(feature = "net")]
    #[error(transparent)]
    Net(#[from] hedge_client::NetError),
    /// `collect` finished, but some prompts got no usable response.
    #[cfg(feature = "net")]
    #[error("{failed} prompt(s) got no usable response; rerun the same command to retry them")]
    Incomplete {
        /// Prompts without any row.
        failed: usize,
    },
}

/// Result alias for the CLI.
pub type Result<T> = std::result::Result<T, CliError>;

impl CliError {
    /// 2 for a usage error — flags that do not fit together, or a value given on the command line
    /// that is out of its domain (a parameter, a range, a URL) — and 1 for everything else (the data,
    /// the files, the servers). clap's own parse errors exit with 2 as well.
    ///
    /// A failure that only the data can cause is 1 even when the library reports it as an invalid
    /// argument: a hold-out split of a file with fewer than two prompts. A parameter the engine
    /// refuses is 2 whether it comes straight from `hedge-math` or through `hedge-estimate` (the
    /// commands check θ first with [`crate::cmd::values::theta_for`]; this is the backstop).
    pub fn exit_code(&self) -> u8 {
        use hedge_estimate::EstimateError as E;
        use hedge_math::Error as M;
        match self {
            CliError::Usage(_) | CliError::Math(_) => 2,
            CliError::Estimate(E::InvalidArgument { name: "prompts", .. }) => 1,
            CliError::Estimate(E::Math(
                M::InvalidParameter { .. } | M::InvalidRange { .. } | M::NotASampler { .. } | M::KlOutOfReach { .. },
            )) => 2,
            CliError::Estimate(
                E::InvalidRange { .. }
                | E::InvalidArgument { .. }
                | E::OutOfDomain { .. }
                | E::MissingN
                | E::NTooLarge { .. }
                | E::Unsupported { .. }
                | E::UnbiasedNeedsInteger { .. }
                | E::NoDerivative { .. },
            ) => 2,
            CliError::Store(hedge_store::StoreError::InvalidUrl { .. }) => 2,
            #[cfg(feature = "net")]
            CliError::Net(hedge_client::NetError::Config(_) | hedge_client::NetError::InvalidUrl { .. }) => 2,
            _ => 1,
        }
    }

    /// I/O error on a named path.
    pub fn io(path: impl Into<String>, source: std::io::Error) -> Self {
        CliError::Io {
            path: path.into(),
            source,
        }
    }
}
