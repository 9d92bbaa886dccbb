//! Options for loading.

use crate::Format;

/// Default name of the prompt id column.
pub const DEFAULT_PROMPT_COL: &str = "prompt_id";
/// Default name of the proxy (reward model) score column.
pub const DEFAULT_PROXY_COL: &str = "proxy";
/// Default name of the true reward column.
pub const DEFAULT_TRUE_COL: &str = "true";
/// Name of the response id column that is used automatically when present.
pub const DEFAULT_RESPONSE_COL: &str = "response_id";
/// Default bound on the absolute value of every proxy and true reward read ([`LoadOptions::max_abs_reward`]).
///
/// Rewards are summed over up to millions of rows, and weighted by factors up to n: a single value near
/// `f64::MAX` (an adversarial `1e308`) overflowed those sums to infinity and NaN. 10^6 is far above any reward
/// model's or metric's scale (the shared real data tops out at 1,102) and far below where the sums could
/// overflow (10^6 · 10^7 rows · 10^6 weight = 10^19, with 289 decimal orders to spare).
pub const DEFAULT_MAX_ABS_REWARD: f64 = 1e6;
/// Default cap on the length of one line of a CSV or JSON-lines input, in bytes ([`LoadOptions::max_line_bytes`]):
/// 16 MiB, far beyond any real row, so that a file with one endless line fails with little memory used.
pub const DEFAULT_MAX_LINE_BYTES: usize = 16 << 20;
/// Default size from which a CSV file is parsed on two threads ([`LoadOptions::parallel_min_bytes`]): 8 MiB,
/// below which starting a second thread saves nothing measurable.
pub const DEFAULT_PARALLEL_MIN_BYTES: u64 = 8 << 20;

/// Which column, if any, holds response ids (used only to reject duplicate responses within a prompt).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ResponseColumn {
    /// Use [`DEFAULT_RESPONSE_COL`] (`response_id`) if the file has that column, else check nothing.
    #[default]
    Auto,
    /// Use this column; it is an error if the file lacks it.
    Named(String),
    /// Do not check response ids even if a `response_id` column exists.
    Ignore,
}

/// How to load a calibration file: which columns to use and, optionally, which format to assume.
///
/// Build it with [`LoadOptions::new`] and the builder setters:
///
/// ```
/// use hedge_data::{Format, LoadOptions};
/// let opts = LoadOptions::new().proxy_col("proxy_internlm2").format(Format::Csv);
/// assert_eq!(opts.proxy_column(), "proxy_internlm2");
/// assert_eq!(opts.true_column(), "true");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    prompt_col: String,
    proxy_col: String,
    true_col: String,
    response_col: ResponseColumn,
    format: Option<Format>,
    sort_by_proxy: bool,
    max_abs_reward: Bound,
    max_line_bytes: usize,
    parallel_min_bytes: u64,
}

/// An `f64` option compared bit for bit, so that [`LoadOptions`] stays `Eq`.
#[derive(Debug, Clone, Copy)]
struct Bound(f64);

impl PartialEq for Bound {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl Eq for Bound {}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            prompt_col: DEFAULT_PROMPT_COL.to_string(),
            proxy_col: DEFAULT_PROXY_COL.to_string(),
            true_col: DEFAULT_TRUE_COL.to_string(),
            response_col: ResponseColumn::Auto,
            format: None,
            sort_by_proxy: false,
            max_abs_reward: Bound(DEFAULT_MAX_ABS_REWARD),
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            parallel_min_bytes: DEFAULT_PARALLEL_MIN_BYTES,
        }
    }
}

impl LoadOptions {
    /// Options with every default: columns `prompt_id`, `proxy`, `true`, response ids from `response_id`
    /// when that column exists, format detected from the extension (or sniffed for standard input), rewards
    /// bounded by [`DEFAULT_MAX_ABS_REWARD`] and lines by [`DEFAULT_MAX_LINE_BYTES`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the prompt id column. Default: `"prompt_id"`.
    pub fn prompt_col(mut self, name: impl Into<String>) -> Self {
        self.prompt_col = name.into();
        self
    }

    /// Sets the proxy reward (reward-model score) column. Default: `"proxy"`.
    pub fn proxy_col(mut self, name: impl Into<String>) -> Self {
        self.proxy_col = name.into();
        self
    }

    /// Sets the true reward column. Default: `"true"`. Besides numbers, this column accepts the words `true`
    /// and `false` (any case), read as 1 and 0.
    pub fn true_col(mut self, name: impl Into<String>) -> Self {
        self.true_col = name.into();
        self
    }

    /// Sets the response id column; the file must have it. Default: `"response_id"` if the file has that
    /// column, else no response-id check. Response ids are only used to reject a response that appears twice
    /// for the same prompt; empty or null ids are not checked.
    pub fn response_col(mut self, name: impl Into<String>) -> Self {
        self.response_col = ResponseColumn::Named(name.into());
        self
    }

    /// Turns off the response-id duplicate check even if a `response_id` column exists. Default: the check is
    /// on when the column exists (see [`LoadOptions::response_col`]).
    pub fn ignore_response_col(mut self) -> Self {
        self.response_col = ResponseColumn::Ignore;
        self
    }

    /// Forces the file format. Default: none, i.e. detected from the file extension by [`Format::from_path`],
    /// or sniffed from the content by [`Format::sniff`] for standard input (`"-"`).
    pub fn format(mut self, format: Format) -> Self {
        self.format = Some(format);
        self
    }

    /// Sets or clears the forced file format (see [`LoadOptions::format`]). Default: `None`.
    pub fn maybe_format(mut self, format: Option<Format>) -> Self {
        self.format = format;
        self
    }

    /// Orders the rows of each prompt by proxy score, ascending, and equal proxies by true reward, ascending,
    /// instead of file order: then each prompt's rows do not depend on the order in which the file lists them.
    /// (Prompts stay in the order of their first appearance.)
    /// Default: `false` (file order).
    ///
    /// The sort runs on a second thread while the file is still being read: each prompt is sorted as soon as
    /// its last row is read (for a non-grouped file, prompts that reappear are finished after the read). This
    /// is the order the estimators need, so `hedge_estimate::Prepared::new` then skips its own sort: on a
    /// machine with two cores the data pass hides behind parsing.
    ///
    /// ```
    /// use hedge_data::{Format, LoadOptions, load_reader};
    /// let csv = "prompt_id,proxy,true\nq,0.9,1\nq,0.1,0\nq,0.9,0\n";
    /// let opts = LoadOptions::new().sort_by_proxy(true);
    /// let cal = load_reader(csv.as_bytes(), "x.csv", Format::Csv, &opts)?;
    /// assert_eq!(cal.proxy, [0.1, 0.9, 0.9]);
    /// assert_eq!(cal.truth, [0.0, 0.0, 1.0]); // the two 0.9 ordered by true reward
    /// # Ok::<(), hedge_data::DataError>(())
    /// ```
    pub fn sort_by_proxy(mut self, yes: bool) -> Self {
        self.sort_by_proxy = yes;
        self
    }

    /// Sets the bound on the absolute value of every proxy and true reward read: a value `v` with
    /// `|v| > bound` is refused with [`DataError::RewardTooLarge`](crate::DataError::RewardTooLarge), naming the
    /// file, the line (CSV: and the field number; Parquet: the row), the column and the value. Default:
    /// [`DEFAULT_MAX_ABS_REWARD`] (10^6). A value exactly at the bound is accepted.
    ///
    /// The bound must be finite and greater than 0; it is checked when loading starts, where another value is a
    /// [`DataError::InvalidOption`](crate::DataError::InvalidOption). The check costs nothing measurable: it
    /// is the comparison `|v| <= bound` that also refuses infinite and NaN values.
    ///
    /// ```
    /// use hedge_data::{DataError, Format, LoadOptions, load_reader};
    /// let csv = "prompt_id,proxy,true\nq,0.5,1\nq,-2e6,0\n";
    /// let err = load_reader(csv.as_bytes(), "x.csv", Format::Csv, &LoadOptions::new()).unwrap_err();
    /// assert_eq!(err.to_string(), "x.csv:3:2: column \"proxy\": proxy reward -2e6 is beyond --max-abs-reward 1000000");
    /// let cal = load_reader(csv.as_bytes(), "x.csv", Format::Csv, &LoadOptions::new().max_abs_reward(2e6))?;
    /// assert_eq!(cal.proxy, [0.5, -2e6]);
    /// let bad = LoadOptions::new().max_abs_reward(f64::INFINITY);
    /// assert!(matches!(load_reader(csv.as_bytes(), "x.csv", Format::Csv, &bad), Err(DataError::InvalidOption { .. })));
    /// # Ok::<(), hedge_data::DataError>(())
    /// ```
    pub fn max_abs_reward(mut self, bound: f64) -> Self {
        self.max_abs_reward = Bound(bound);
        self
    }

    /// Sets the cap on the length of one line of a CSV or JSON-lines input (files and standard input), in bytes,
    /// not counting the line end (`\n` or `\r\n`). A longer line is refused with
    /// [`DataError::LineTooLong`](crate::DataError::LineTooLong), naming the file and the line, after reading at
    /// most about `bytes` of it: memory stays within a small multiple of the cap whatever the input. A CSV record
    /// whose quoted fields span several lines counts as one line, from the line where it starts. Parquet has no
    /// lines and is not affected. Default: [`DEFAULT_MAX_LINE_BYTES`] (16 MiB).
    ///
    /// The cap must be at least 1; it is checked when loading starts, where 0 is a
    /// [`DataError::InvalidOption`](crate::DataError::InvalidOption).
    ///
    /// ```
    /// use hedge_data::{Format, LoadOptions, load_reader};
    /// let jsonl = format!("{{\"prompt_id\":1,\"proxy\":0,\"true\":1}}\n{{\"prompt_id\":\"{}\"}}\n", "x".repeat(100));
    /// let opts = LoadOptions::new().max_line_bytes(64);
    /// let err = load_reader(jsonl.as_bytes(), "x.jsonl", Format::JsonLines, &opts).unwrap_err();
    /// assert_eq!(err.to_string(), "x.jsonl:2: line longer than 64 bytes (--max-line-bytes)");
    /// ```
    pub fn max_line_bytes(mut self, bytes: usize) -> Self {
        self.max_line_bytes = bytes;
        self
    }

    /// Sets the size from which a CSV file (not standard input nor another stream) is parsed on two threads:
    /// the reading thread parses the first half while a second thread parses the rest, from the first line
    /// start after the middle, and the loader checks that this start is where a record starts (not inside a
    /// quoted field spanning lines) before it uses the second half; otherwise, or on any error in the second
    /// half, it goes on reading sequentially. The result, and the error reported (the first in file order),
    /// are exactly those of the sequential read. Default: [`DEFAULT_PARALLEL_MIN_BYTES`] (8 MiB); `u64::MAX`
    /// always reads sequentially. Only used where the platform offers positioned reads (Unix) and the machine
    /// has at least two cores.
    ///
    /// ```
    /// use hedge_data::LoadOptions;
    /// let sequential = LoadOptions::new().parallel_min_bytes(u64::MAX);
    /// assert_eq!(sequential.parallel_threshold(), u64::MAX);
    /// ```
    pub fn parallel_min_bytes(mut self, bytes: u64) -> Self {
        self.parallel_min_bytes = bytes;
        self
    }

    /// The size from which a CSV file is parsed on two threads (see [`LoadOptions::parallel_min_bytes`]).
    pub fn parallel_threshold(&self) -> u64 {
        self.parallel_min_bytes
    }

    /// The bound on the absolute value of rewards (see [`LoadOptions::max_abs_reward`]).
    pub fn reward_bound(&self) -> f64 {
        self.max_abs_reward.0
    }

    /// The cap on the length of a line, in bytes (see [`LoadOptions::max_line_bytes`]).
    pub fn line_cap(&self) -> usize {
        self.max_line_bytes
    }

    /// Checks the options that cannot be checked by their setters: the reward bound (finite, > 0) and the line
    /// cap (≥ 1). `path` names the source in the error.
    pub(crate) fn check(&self, path: &str) -> Result<(), crate::DataError> {
        let bound = self.max_abs_reward.0;
        if !(bound.is_finite() && bound > 0.0) {
            return Err(crate::DataError::InvalidOption {
                path: path.to_string(),
                option: "max_abs_reward",
                value: bound.to_string(),
                reason: "must be a finite number greater than 0",
            });
        }
        if self.max_line_bytes == 0 {
            return Err(crate::DataError::InvalidOption {
                path: path.to_string(),
                option: "max_line_bytes",
                value: "0".to_string(),
                reason: "must be at least 1",
            });
        }
        Ok(())
    }

    /// Whether rows are ordered by proxy within each prompt (see [`LoadOptions::sort_by_proxy`]).
    pub fn sorts_by_proxy(&self) -> bool {
        self.sort_by_proxy
    }

    /// The prompt id column name.
    pub fn prompt_column(&self) -> &str {
        &self.prompt_col
    }

    /// The proxy column name.
    pub fn proxy_column(&self) -> &str {
        &self.proxy_col
    }

    /// The true reward column name.
    pub fn true_column(&self) -> &str {
        &self.true_col
    }

    /// The response id column setting.
    pub fn response_column(&self) -> &ResponseColumn {
        &self.response_col
    }

    /// The forced format, if any.
    pub fn format_override(&self) -> Option<Format> {
        self.format
    }

    /// Resolves the response column against the columns a file has: `Ok(Some(name))` to check, `Ok(None)` to
    /// not check, `Err(name)` if an explicitly named column is missing.
    pub(crate) fn resolve_response(&self, has: impl Fn(&str) -> bool) -> Result<Option<&str>, &str> {
        match &self.response_col {
            ResponseColumn::Auto => Ok(has(DEFAULT_RESPONSE_COL).then_some(DEFAULT_RESPONSE_COL)),
            ResponseColumn::Named(name) => {
                if has(name) {
                    Ok(Some(name))
                } else {
                    Err(name)
                }
            }
            ResponseColumn::Ignore => Ok(None),
        }
    }
}

/// Positions of the prompt, proxy, true and (optional) response columns in a header,
/// or [`crate::DataError::MissingColumn`] naming the file and listing what is there.
pub(crate) fn column_positions(
    names: &[String],
    path: &str,
    opts: &LoadOptions,
) -> Result<(usize, usize, usize, Option<usize>), crate::DataError> {
    let find = |col: &str| names.iter().position(|n| n == col);
    let column = |col: &str| {
        find(col).ok_or_else(|| crate::DataError::MissingColumn {
            path: path.to_string(),
            column: col.to_string(),
            available: names.to_vec(),
        })
    };
    let pi = column(opts.prompt_column())?;
    let xi = column(opts.proxy_column())?;
    let ti = column(opts.true_column())?;
    let ri = match opts.resolve_response(|c| find(c).is_some()) {
        Ok(Some(c)) => Some(column(c)?),
        Ok(None) => None,
        Err(c) => return Err(column(c).unwrap_err()),
    };
    Ok((pi, xi, ti, ri))
}
