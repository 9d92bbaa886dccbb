//! The true reward along the proxy's ranking, `r(u)`, pooled over prompts.

use crate::error::{EstimateError, Result};
use crate::prepared::Prepared;

/// One bin of [`quantile_profile`]: the mean true reward of the responses whose
/// within-prompt proxy quantile falls in `[lo, hi)` (the last bin includes 1).
/// Serialised (feature `serde`) in this field order.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ProfileBin {
    /// Low end of the quantile bin.
    pub lo: f64,
    /// High end of the quantile bin.
    pub hi: f64,
    /// Mean within-bin quantile `(k − 0.5)/m` of the responses in the bin.
    pub quantile: f64,
    /// Mean over the prompts with a response in the bin of that prompt's mean
    /// (tie-averaged) true reward in the bin.
    pub mean_true_reward: f64,
    /// Standard error of that mean across prompts (NaN with fewer than two prompts).
    pub stderr: f64,
    /// Prompts with at least one response in the bin.
    pub prompts: usize,
    /// Responses in the bin.
    pub responses: usize,
}

/// The true reward as a function of the proxy quantile, `r(u)`, pooled over prompts:
/// response `k` (1-based, ascending proxy) of a prompt with `m` responses sits at
/// quantile `u = (k − 0.5)/m` and goes into bin `⌊u · bins⌋`. Each prompt contributes
/// the mean of its tie-averaged true rewards ([`Prepared::ranked_truth`]) in the bin,
/// so every prompt weighs the same, as in the estimators; the bin's value is the mean
/// over prompts, with its standard error. Empty bins are left out.
///
/// If the true reward falls in the top bins, selecting harder by the proxy (larger
/// `n`, `μ`, `λ`, `β`) eventually lowers the true reward: that is reward hacking.
///
/// ```
/// use hedge_estimate::{quantile_profile, synth};
/// let d = synth::toy(200, 50, 1).unwrap().prepare().unwrap();
/// let p = quantile_profile(&d, 10).unwrap();
/// assert_eq!(p.len(), 10);
/// assert_eq!(p[0].prompts, 200);
/// ```
pub fn quantile_profile(data: &Prepared, bins: usize) -> Result<Vec<ProfileBin>> {
    if bins == 0 {
        return Err(EstimateError::InvalidArgument {
            name: "bins",
            value: 0.0,
            reason: "must be at least 1",
        });
    }
    // Per bin: sum over prompts of the prompt's bin mean, and of its square; counts.
    let mut sum = vec![0.0; bins];
    let mut sum_sq = vec![0.0; bins];
    let mut q_sum = vec![0.0; bins];
    let mut prompts = vec![0usize; bins];
    let mut responses = vec![0usize; bins];
    let mut acc = vec![(0.0f64, 0usize); bins];
    for t in 0..data.prompts() {
        let truth = data.ranked_truth(t);
        let m = truth.len() as f64;
        acc.iter_mut().for_each(|a| *a = (0.0, 0));
        for (k, &r) in truth.iter().enumerate() {
            let u = (k as f64 + 0.5) / m;
            let b = ((u * bins as f64) as usize).min(bins - 1);
            acc[b].0 += r;
            acc[b].1 += 1;
            q_sum[b] += u;
        }
        for (b, &(s, c)) in acc.iter().enumerate() {
            if c > 0 {
                let mean = s / c as f64;
                sum[b] += mean;
                sum_sq[b] += mean * mean;
                prompts[b] += 1;
                responses[b] += c;
            }
        }
    }
    Ok((0..bins)
        .filter(|&b| prompts[b] > 0)
        .map(|b| {
            let n = prompts[b] as f64;
            let mean = sum[b] / n;
            let stderr = if prompts[b] < 2 {
                f64::NAN
            } else {
                let var = ((sum_sq[b] - n * mean * mean) / (n - 1.0)).max(0.0);
                (var / n).sqrt()
            };
            ProfileBin {
                lo: b as f64 / bins as f64,
                hi: (b + 1) as f64 / bins as f64,
                quantile: q_sum[b] / responses[b] as f64,
                mean_true_reward: mean,
                stderr,
                prompts: prompts[b],
                responses: responses[b],
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_pool_prompts_with_equal_weight() {
        // prompt 0: m = 2, truths by rank [0, 1]; prompt 1: m = 4, truths [0, 0, 2, 4].
        let d = Prepared::new(
            &[0, 2, 6],
            &[1.0, 2.0, 1.0, 2.0, 3.0, 4.0],
            &[0.0, 1.0, 0.0, 0.0, 2.0, 4.0],
        )
        .unwrap();
        let p = quantile_profile(&d, 2).unwrap();
        assert_eq!(p.len(), 2);
        // low bin: prompt 0 → 0, prompt 1 → mean(0, 0) = 0
        assert_eq!((p[0].mean_true_reward, p[0].prompts, p[0].responses), (0.0, 2, 3));
        // high bin: prompt 0 → 1, prompt 1 → mean(2, 4) = 3; mean 2, sd √2, se 1
        assert_eq!((p[1].mean_true_reward, p[1].prompts, p[1].responses), (2.0, 2, 3));
        assert!((p[1].stderr - 1.0).abs() < 1e-12);
        assert!((p[1].quantile - (0.75 + 0.625 + 0.875) / 3.0).abs() < 1e-12);
        assert!(quantile_profile(&d, 0).is_err());
        // 8 bins: u = 1/4, 3/4 (m = 2) and 1/8, 3/8, 5/8, 7/8 (m = 4) fill 6; empty bins are left out
        let p = quantile_profile(&d, 8).unwrap();
        assert_eq!(
            p.iter().map(|b| (b.lo * 8.0) as usize).collect::<Vec<_>>(),
            vec![1, 2, 3, 5, 6, 7]
        );
    }
}
