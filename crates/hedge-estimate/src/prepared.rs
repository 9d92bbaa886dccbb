//! The one pass over the calibration data: sort, tie-average, pre-sum by prompt size.

use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::error::{EstimateError, Field, Result};

/// Rank-ordered mean true rewards of the prompts that have `m` responses:
/// `R̄_{m,k} = (1/T) Σ_{t: m_t = m} r_{t,(k)}`, `k = 1..m` (math.md §3).
///
/// `T` is the number of prompts of the whole [`Prepared`] set, so that for any method
/// whose weights depend only on `(k, m, θ)`,
/// `f(θ) = Σ_m Σ_k R̄_{m,k} w_{m,k}(θ)` is the average over all prompts.
#[derive(Debug, Clone, PartialEq)]
pub struct RankMeans {
    /// Responses per prompt.
    pub m: usize,
    /// Number of prompts with `m` responses.
    pub prompts: usize,
    /// `R̄_{m,k}` for `k = 1..m` (index `k − 1`).
    pub mean: Vec<f64>,
}

/// Calibration data prepared once for every later evaluation.
///
/// Per prompt `t` (in input order, prompts with fewer than two responses left out):
/// the proxies sorted ascending (stable), and the true rewards in that rank order with
/// every tie group (equal proxies) replaced by the group's mean — a method that sees
/// only the proxy picks uniformly inside a tie. Prompts are also grouped by their
/// number of responses `m` into [`RankMeans`], so that evaluating `f(θ)` or `f'(θ)`
/// for BoN, BoP and the tilt costs `O(Σ distinct m)`, independent of the number of rows.
///
/// ```
/// use hedge_estimate::Prepared;
/// // two prompts: 3 responses (two tied proxies) and 1 response (skipped)
/// let p = Prepared::new(&[0, 3, 4], &[0.5, 0.1, 0.5, 9.0], &[1.0, 0.0, 3.0, 7.0]).unwrap();
/// assert_eq!((p.prompts(), p.skipped_prompts()), (1, 1));
/// assert_eq!(p.sorted_proxy(0), &[0.1, 0.5, 0.5]);
/// assert_eq!(p.ranked_truth(0), &[0.0, 2.0, 2.0]);
/// ```
#[derive(Debug, Clone)]
pub struct Prepared {
    offsets: Vec<usize>,
    proxy: Vec<f64>,
    truth: Vec<f64>,
    source: Vec<usize>,
    input_prompts: usize,
    skipped: usize,
    by_m: Vec<RankMeans>,
}

/// Sort one prompt by [`row_order`], tie-average its truths, write both out.
fn sort_prompt(proxy: &[f64], truth: &[f64], out_p: &mut [f64], out_r: &mut [f64]) {
    out_p.copy_from_slice(proxy);
    out_r.copy_from_slice(truth);
    sort_prompt_in_place(out_p, out_r);
}

/// The row order of a prepared prompt: proxy ascending, ties by true reward ascending. A
/// total order on the rows, so that a prompt's tie means (summed in this order) are
/// bit-for-bit the same whatever order its rows came in. (Sums over prompts follow the prompt
/// order; listing the prompts in another order can change estimates in the last bits.)
fn row_order(a: (f64, f64), b: (f64, f64)) -> std::cmp::Ordering {
    a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1))
}

/// Sort one prompt's rows by [`row_order`] in place, then give ties the mean of their truths.
fn sort_prompt_in_place(proxy: &mut [f64], truth: &mut [f64]) {
    let sorted = (1..proxy.len()).all(|i| row_order((proxy[i - 1], truth[i - 1]), (proxy[i], truth[i])).is_le());
    if !sorted {
        // (Prompts loaded with `hedge_data::LoadOptions::sort_by_proxy` are already in order.)
        let mut pairs: Vec<(f64, f64)> = proxy.iter().copied().zip(truth.iter().copied()).collect();
        pairs.sort_unstable_by(|&a, &b| row_order(a, b));
        for (k, (p, r)) in pairs.into_iter().enumerate() {
            proxy[k] = p;
            truth[k] = r;
        }
    }
    let m = proxy.len();
    let mut i = 0;
    while i < m {
        let mut j = i + 1;
        while j < m && proxy[j] == proxy[i] {
            j += 1;
        }
        if j - i > 1 {
            let mean = truth[i..j].iter().sum::<f64>() / (j - i) as f64;
            truth[i..j].fill(mean);
        }
        i = j;
    }
}

/// Checks `offsets` (non-empty, from 0, non-decreasing, ending at the data length), equal
/// lengths and finite values (the first offender is reported).
fn validate(offsets: &[usize], proxy: &[f64], truth: &[f64]) -> Result<()> {
    if proxy.len() != truth.len() {
        return Err(EstimateError::LengthMismatch {
            proxy: proxy.len(),
            truth: truth.len(),
        });
    }
    if offsets.is_empty() {
        return Err(EstimateError::InvalidOffsets {
            index: 0,
            reason: "offsets must have T + 1 >= 1 entries",
        });
    }
    if offsets[0] != 0 {
        return Err(EstimateError::InvalidOffsets {
            index: 0,
            reason: "offsets must start at 0",
        });
    }
    for (i, w) in offsets.windows(2).enumerate() {
        if w[1] < w[0] {
            return Err(EstimateError::InvalidOffsets {
                index: i + 1,
                reason: "offsets must not decrease",
            });
        }
    }
    let last = offsets.len() - 1;
    if offsets[last] != proxy.len() {
        return Err(EstimateError::InvalidOffsets {
            index: last,
            reason: "last offset must equal the number of rows",
        });
    }
    for t in 0..last {
        for row in offsets[t]..offsets[t + 1] {
            if !proxy[row].is_finite() {
                return Err(EstimateError::NonFinite {
                    prompt: t,
                    row,
                    field: Field::Proxy,
                    value: proxy[row],
                });
            }
            if !truth[row].is_finite() {
                return Err(EstimateError::NonFinite {
                    prompt: t,
                    row,
                    field: Field::Truth,
                    value: truth[row],
                });
            }
        }
    }
    Ok(())
}

/// Splits `proxy` and `truth` into the mutable rows of each prompt.
fn split_prompts<'a>(
    offsets: &[usize],
    proxy: &'a mut [f64],
    truth: &'a mut [f64],
) -> Vec<(&'a mut [f64], &'a mut [f64])> {
    let mut jobs = Vec::with_capacity(offsets.len().saturating_sub(1));
    let (mut rest_p, mut rest_r) = (proxy, truth);
    for w in offsets.windows(2) {
        let m = w[1] - w[0];
        let (a, b) = std::mem::take(&mut rest_p).split_at_mut(m);
        let (c, d) = std::mem::take(&mut rest_r).split_at_mut(m);
        rest_p = b;
        rest_r = d;
        jobs.push((a, c));
    }
    jobs
}

impl Prepared {
    /// Prepare CSR calibration data: prompt `t` owns rows `offsets[t]..offsets[t+1]`
    /// of `proxy` and `truth`.
    ///
    /// Checks, in this order: `offsets` is non-empty, starts at 0, never decreases and
    /// ends at the data length; `proxy` and `truth` have equal lengths; every value is
    /// finite (the first offender is reported). Prompts with `m < 2` responses are
    /// skipped and counted ([`Prepared::skipped_prompts`]); if none is left the result is
    /// [`EstimateError::EmptyData`].
    ///
    /// The sort runs in parallel over prompts (rayon); the result does not depend on
    /// the number of threads (every reduction runs in prompt order).
    pub fn new(offsets: &[usize], proxy: &[f64], truth: &[f64]) -> Result<Self> {
        validate(offsets, proxy, truth)?;
        let t_in = offsets.len() - 1;
        let source: Vec<usize> = (0..t_in).filter(|&t| offsets[t + 1] - offsets[t] >= 2).collect();
        let skipped = t_in - source.len();
        if source.is_empty() {
            return Err(EstimateError::EmptyData { prompts: t_in, skipped });
        }
        let mut out_offsets = Vec::with_capacity(source.len() + 1);
        out_offsets.push(0);
        for &t in &source {
            out_offsets.push(out_offsets.last().copied().unwrap_or(0) + offsets[t + 1] - offsets[t]);
        }
        let rows = *out_offsets.last().unwrap_or(&0);
        let mut out_p = vec![0.0; rows];
        let mut out_r = vec![0.0; rows];
        split_prompts(&out_offsets, &mut out_p, &mut out_r)
            .into_par_iter()
            .zip(source.par_iter())
            .with_min_len(16)
            .for_each(|((op, or), &t)| {
                let range = offsets[t]..offsets[t + 1];
                sort_prompt(&proxy[range.clone()], &truth[range], op, or);
            });
        Ok(Self::assemble(out_offsets, out_p, out_r, source, t_in, skipped))
    }

    /// Like [`Prepared::new`] (same checks, same result), but takes the arrays and, when no
    /// prompt is skipped, sorts them in place instead of copying: half the peak memory on
    /// large files.
    ///
    /// ```
    /// use hedge_estimate::Prepared;
    /// let a = Prepared::new(&[0, 3], &[0.3, 0.1, 0.3], &[1.0, 0.0, 2.0]).unwrap();
    /// let b = Prepared::from_vecs(vec![0, 3], vec![0.3, 0.1, 0.3], vec![1.0, 0.0, 2.0]).unwrap();
    /// assert_eq!(a.sorted_proxy(0), b.sorted_proxy(0));
    /// assert_eq!(b.ranked_truth(0), &[0.0, 1.5, 1.5]);
    /// ```
    pub fn from_vecs(offsets: Vec<usize>, mut proxy: Vec<f64>, mut truth: Vec<f64>) -> Result<Self> {
        // A prompt to skip (or malformed offsets, which `new` reports): the copying path.
        if offsets.len() < 2 || offsets.windows(2).any(|w| w[1].saturating_sub(w[0]) < 2) {
            return Self::new(&offsets, &proxy, &truth);
        }
        validate(&offsets, &proxy, &truth)?;
        let t_in = offsets.len() - 1;
        split_prompts(&offsets, &mut proxy, &mut truth)
            .into_par_iter()
            .with_min_len(16)
            .for_each(|(p, r)| sort_prompt_in_place(p, r));
        Ok(Self::assemble(offsets, proxy, truth, (0..t_in).collect(), t_in, 0))
    }

    /// Build the by-`m` sums (sequentially, in prompt order: deterministic).
    fn assemble(
        offsets: Vec<usize>,
        proxy: Vec<f64>,
        truth: Vec<f64>,
        source: Vec<usize>,
        input_prompts: usize,
        skipped: usize,
    ) -> Self {
        let t_count = offsets.len() - 1;
        let mut sums: BTreeMap<usize, (usize, Vec<f64>)> = BTreeMap::new();
        for t in 0..t_count {
            let r = &truth[offsets[t]..offsets[t + 1]];
            let e = sums.entry(r.len()).or_insert_with(|| (0, vec![0.0; r.len()]));
            e.0 += 1;
            for (s, &x) in e.1.iter_mut().zip(r) {
                *s += x;
            }
        }
        let tf = t_count as f64;
        let by_m = sums
            .into_iter()
            .map(|(m, (prompts, s))| RankMeans {
                m,
                prompts,
                mean: s.into_iter().map(|x| x / tf).collect(),
            })
            .collect();
        Self {
            offsets,
            proxy,
            truth,
            source,
            input_prompts,
            skipped,
            by_m,
        }
    }

    /// The prompts at the given indices (into `0..self.prompts()`), in that order;
    /// an index may repeat (a bootstrap resample). The subset skips nothing, so its
    /// [`skipped_prompts`](Self::skipped_prompts) is 0.
    pub fn subset(&self, prompt_indices: &[usize]) -> Result<Prepared> {
        let t_count = self.prompts();
        if prompt_indices.is_empty() {
            return Err(EstimateError::EmptyData { prompts: 0, skipped: 0 });
        }
        if let Some(&index) = prompt_indices.iter().find(|&&i| i >= t_count) {
            return Err(EstimateError::PromptOutOfRange {
                index,
                prompts: t_count,
            });
        }
        let rows: usize = prompt_indices.iter().map(|&i| self.responses(i)).sum();
        let mut offsets = Vec::with_capacity(prompt_indices.len() + 1);
        offsets.push(0);
        let mut proxy = Vec::with_capacity(rows);
        let mut truth = Vec::with_capacity(rows);
        for &i in prompt_indices {
            proxy.extend_from_slice(self.sorted_proxy(i));
            truth.extend_from_slice(self.ranked_truth(i));
            offsets.push(proxy.len());
        }
        let source = prompt_indices.iter().map(|&i| self.source[i]).collect();
        Ok(Self::assemble(offsets, proxy, truth, source, prompt_indices.len(), 0))
    }

    /// Number of prompts kept (`T`, each with at least two responses).
    pub fn prompts(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Number of prompts skipped for having fewer than two responses.
    pub fn skipped_prompts(&self) -> usize {
        self.skipped
    }

    /// Number of prompts in the input (kept + skipped).
    pub fn input_prompts(&self) -> usize {
        self.input_prompts
    }

    /// Number of rows (responses) of the kept prompts.
    pub fn rows(&self) -> usize {
        self.proxy.len()
    }

    /// Responses `m_t` of prompt `t`. Panics if `t >= prompts()`.
    pub fn responses(&self, t: usize) -> usize {
        self.offsets[t + 1] - self.offsets[t]
    }

    /// Largest `m_t`.
    pub fn m_max(&self) -> usize {
        self.by_m.last().map_or(0, |r| r.m)
    }

    /// Smallest `m_t`.
    pub fn m_min(&self) -> usize {
        self.by_m.first().map_or(0, |r| r.m)
    }

    /// Prompt `t`'s proxy scores, ascending. Panics if `t >= prompts()`.
    pub fn sorted_proxy(&self, t: usize) -> &[f64] {
        &self.proxy[self.offsets[t]..self.offsets[t + 1]]
    }

    /// Prompt `t`'s true rewards in proxy-rank order, tie groups replaced by their mean.
    /// Panics if `t >= prompts()`.
    pub fn ranked_truth(&self, t: usize) -> &[f64] {
        &self.truth[self.offsets[t]..self.offsets[t + 1]]
    }

    /// Index, in the original input, of kept prompt `t`. Panics if `t >= prompts()`.
    pub fn source_prompt(&self, t: usize) -> usize {
        self.source[t]
    }

    /// The rank means `R̄_{m,k}`, one entry per distinct `m`, ascending in `m`.
    pub fn rank_means(&self) -> &[RankMeans] {
        &self.by_m
    }
}
