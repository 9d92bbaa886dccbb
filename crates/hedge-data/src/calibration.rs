//! The in-memory calibration table and its rows: a leaf, which the loaders (through `accumulate`), the
//! in-memory constructors (`memory`) and the writer import.

/// Calibration data in columnar form, grouped by prompt (CSR layout).
///
/// The rows of prompt `i` are `offsets[i]..offsets[i + 1]` of `proxy` and `truth`. Prompts appear in order of
/// first appearance in the source; rows keep their source order within a prompt. Every kept prompt has at
/// least two responses, and every value is finite.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// One id per kept prompt.
    pub prompt_ids: Vec<String>,
    /// Row offsets: `prompt_ids.len() + 1` entries, starting at 0 and ending at `proxy.len()`.
    pub offsets: Vec<usize>,
    /// Proxy reward of each row.
    pub proxy: Vec<f64>,
    /// True reward of each row.
    pub truth: Vec<f64>,
    /// Number of prompts dropped because they had exactly one response.
    pub skipped_single: usize,
    /// Number of data rows read, including those of dropped prompts.
    pub rows_read: usize,
    /// Where the data came from: the file name, `"<stdin>"` or `"<memory>"`.
    pub source: String,
}

impl Calibration {
    /// Number of (kept) prompts.
    pub fn num_prompts(&self) -> usize {
        self.prompt_ids.len()
    }

    /// Number of (kept) rows.
    pub fn num_rows(&self) -> usize {
        self.proxy.len()
    }

    /// Prompt `i`: its id, proxy rewards and true rewards.
    ///
    /// # Panics
    /// If `i >= self.num_prompts()`.
    pub fn prompt(&self, i: usize) -> (&str, &[f64], &[f64]) {
        let (s, e) = (self.offsets[i], self.offsets[i + 1]);
        (&self.prompt_ids[i], &self.proxy[s..e], &self.truth[s..e])
    }

    /// Number of responses of prompt `i`.
    ///
    /// # Panics
    /// If `i >= self.num_prompts()`.
    pub fn responses(&self, i: usize) -> usize {
        self.offsets[i + 1] - self.offsets[i]
    }

    /// The largest number of responses of any prompt (0 if there is no prompt).
    pub fn max_responses(&self) -> usize {
        self.offsets.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0)
    }

    /// The smallest number of responses of any prompt (0 if there is no prompt).
    pub fn min_responses(&self) -> usize {
        self.offsets.windows(2).map(|w| w[1] - w[0]).min().unwrap_or(0)
    }

    /// Iterates over the prompts as `(id, proxy, truth)`, like [`Calibration::prompt`].
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &[f64], &[f64])> + '_ {
        (0..self.num_prompts()).map(move |i| self.prompt(i))
    }

    /// Iterates over all rows in grouped order, numbering responses 0, 1, … within each prompt (for
    /// writing, see [`write_calibration`](crate::write_calibration)).
    pub fn rows(&self) -> impl Iterator<Item = Row<'_>> + '_ {
        self.iter().flat_map(|(id, proxy, truth)| {
            proxy
                .iter()
                .zip(truth)
                .enumerate()
                .map(move |(j, (&proxy, &truth))| Row {
                    prompt_id: id,
                    response_id: Some(j as u64),
                    proxy,
                    truth,
                })
        })
    }
}

/// One (prompt, response) row to write.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row<'a> {
    /// Prompt id (must not be empty).
    pub prompt_id: &'a str,
    /// Response id within the prompt; `None` writes an empty CSV field, a JSON `null` or a Parquet null.
    pub response_id: Option<u64>,
    /// Proxy reward (must be finite).
    pub proxy: f64,
    /// True reward (must be finite).
    pub truth: f64,
}
