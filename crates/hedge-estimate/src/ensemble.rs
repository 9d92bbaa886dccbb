//! Ensembles of proxies: several reward models (or metrics) combined into one score per
//! response, so that a method selects by the combination (Coste et al. 2023, "Reward Model
//! Ensembles Help Mitigate Overoptimization"; Eisenstein et al. 2023).
//!
//! Members live on different scales, and best-of-n only ever compares the responses *of one
//! prompt*; so every rule first puts each member on a within-prompt scale. For prompt `t`
//! with responses `i = 1..m` and members `j = 1..J` with scores `s_ij`:
//!
//! - standard score `z_ij = (s_ij − s̄_j) / sd_j` over the prompt's responses (population
//!   standard deviation; `z_ij = 0` for every `i` when member `j` ties all responses);
//! - mid-rank `q_ij = (rank_ij − 1) / (m − 1)` in `[0, 1]`, ties sharing their mean rank.
//!
//! | rule | score of response `i` |
//! |---|---|
//! | [`EnsembleRule::MeanZ`] (`mean-z`) | `(1/J) Σ_j z_ij` |
//! | [`EnsembleRule::MinZ`] (`min-z`, worst case) | `min_j z_ij` |
//! | [`EnsembleRule::Uwo`] (`uwo`, uncertainty-weighted) | `(1/J) Σ_j z_ij − λ · (1/J) Σ_j (z_ij − z̄_i)²` |
//! | [`EnsembleRule::RankMean`] (`rank-mean`) | `(1/J) Σ_j q_ij` |
//!
//! `λ ≥ 0` of `uwo` is a parameter: [`tune_uwo`] picks it from [`UWO_LAMBDAS`] by the
//! tuned expected true reward on calibration prompts (never on the prompts it is judged on).
//!
//! ```
//! use hedge_estimate::ensemble::{combine_prompt, EnsembleRule};
//! // two members scoring three responses of one prompt
//! let a = [1.0, 2.0, 3.0];
//! let b = [30.0, 10.0, 20.0];
//! let s = combine_prompt(EnsembleRule::MeanZ, &[&a, &b], 0.0).unwrap();
//! // z of a: (−1.2247, 0, 1.2247); z of b: (1.2247, −1.2247, 0)
//! assert!((s[0] - 0.0).abs() < 1e-12 && (s[2] - 0.6123724356957945).abs() < 1e-12);
//! let r = combine_prompt(EnsembleRule::RankMean, &[&a, &b], 0.0).unwrap();
//! // mid-ranks of a: (0, 0.5, 1); of b: (1, 0, 0.5)
//! assert_eq!(r, vec![0.5, 0.25, 0.75]);
//! ```

use crate::error::{EstimateError, Result};
use crate::prepared::Prepared;
use crate::spec::TuneSpec;
use crate::tune::tune_shape;

/// How the members of an ensemble are combined (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EnsembleRule {
    /// Mean of the within-prompt standard scores.
    MeanZ,
    /// Minimum of the within-prompt standard scores (the worst-case member).
    MinZ,
    /// Mean minus `λ` times the variance across members of the standard scores.
    Uwo,
    /// Mean of the within-prompt mid-ranks.
    RankMean,
}

impl EnsembleRule {
    /// Every rule, in the order above.
    pub const ALL: [EnsembleRule; 4] = [
        EnsembleRule::MeanZ,
        EnsembleRule::MinZ,
        EnsembleRule::Uwo,
        EnsembleRule::RankMean,
    ];

    /// `"mean-z"`, `"min-z"`, `"uwo"` or `"rank-mean"`.
    pub fn name(self) -> &'static str {
        match self {
            EnsembleRule::MeanZ => "mean-z",
            EnsembleRule::MinZ => "min-z",
            EnsembleRule::Uwo => "uwo",
            EnsembleRule::RankMean => "rank-mean",
        }
    }

    /// The rule named `s` (see [`EnsembleRule::name`]).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == s)
    }

    /// Whether the rule has the parameter `λ`.
    pub fn has_lambda(self) -> bool {
        self == EnsembleRule::Uwo
    }
}

impl std::fmt::Display for EnsembleRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The `λ` values [`tune_uwo`] tries for [`EnsembleRule::Uwo`] (0 is `mean-z`).
pub const UWO_LAMBDAS: [f64; 9] = [0.0, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0];

/// Within-prompt standard scores of one member: `(s − mean) / sd` with the population
/// standard deviation, all zero when the scores tie (or there is one).
pub fn standard_scores(scores: &[f64]) -> Vec<f64> {
    let m = scores.len() as f64;
    if scores.len() < 2 {
        return vec![0.0; scores.len()];
    }
    let mean = scores.iter().sum::<f64>() / m;
    let var = scores.iter().map(|s| (s - mean) * (s - mean)).sum::<f64>() / m;
    let sd = var.sqrt();
    if sd.is_nan() || sd <= 0.0 || !sd.is_finite() {
        return vec![0.0; scores.len()];
    }
    scores.iter().map(|s| (s - mean) / sd).collect()
}

/// Within-prompt mid-ranks of one member scaled to `[0, 1]`: `(rank − 1) / (m − 1)`, ties
/// sharing their mean rank; `0.5` for a single response.
pub fn mid_ranks(scores: &[f64]) -> Vec<f64> {
    let m = scores.len();
    if m < 2 {
        return vec![0.5; m];
    }
    let mut idx: Vec<usize> = (0..m).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut out = vec![0.0; m];
    let mut i = 0;
    while i < m {
        let mut j = i + 1;
        while j < m && scores[idx[j]] == scores[idx[i]] {
            j += 1;
        }
        // ranks i..j (0-based) tie: their mean is (i + j − 1) / 2
        let q = (i + j - 1) as f64 / 2.0 / (m - 1) as f64;
        for &k in &idx[i..j] {
            out[k] = q;
        }
        i = j;
    }
    out
}

fn check_members(members: &[&[f64]], lambda: f64, rule: EnsembleRule) -> Result<usize> {
    let Some(first) = members.first() else {
        return Err(EstimateError::InvalidArgument {
            name: "members",
            value: 0.0,
            reason: "an ensemble needs at least one member",
        });
    };
    let rows = first.len();
    if let Some(bad) = members.iter().find(|m| m.len() != rows) {
        return Err(EstimateError::LengthMismatch {
            proxy: bad.len(),
            truth: rows,
        });
    }
    if rule.has_lambda() && !(lambda.is_finite() && lambda >= 0.0) {
        return Err(EstimateError::InvalidArgument {
            name: "lambda",
            value: lambda,
            reason: "must be finite and >= 0",
        });
    }
    for (j, m) in members.iter().enumerate() {
        if let Some(row) = m.iter().position(|v| !v.is_finite()) {
            return Err(EstimateError::NonFinite {
                prompt: j,
                row,
                field: crate::Field::Proxy,
                value: m[row],
            });
        }
    }
    Ok(rows)
}

/// The ensemble's scores of one prompt's responses: `members[j][i]` is member `j`'s score of
/// response `i`. `lambda` is used by [`EnsembleRule::Uwo`] only.
///
/// Errors: no member, members of different lengths, a non-finite score (reported with the
/// member's index as `prompt`), or a negative or non-finite `lambda` for `uwo`.
pub fn combine_prompt(rule: EnsembleRule, members: &[&[f64]], lambda: f64) -> Result<Vec<f64>> {
    let m = check_members(members, lambda, rule)?;
    Ok(combine_unchecked(rule, members, lambda, m))
}

fn combine_unchecked(rule: EnsembleRule, members: &[&[f64]], lambda: f64, m: usize) -> Vec<f64> {
    let k = members.len() as f64;
    let scaled: Vec<Vec<f64>> = members
        .iter()
        .map(|s| match rule {
            EnsembleRule::RankMean => mid_ranks(s),
            _ => standard_scores(s),
        })
        .collect();
    (0..m)
        .map(|i| {
            let col = scaled.iter().map(|z| z[i]);
            match rule {
                EnsembleRule::MinZ => col.fold(f64::INFINITY, f64::min),
                EnsembleRule::MeanZ | EnsembleRule::RankMean => col.sum::<f64>() / k,
                EnsembleRule::Uwo => {
                    let mean = col.clone().sum::<f64>() / k;
                    let var = col.map(|z| (z - mean) * (z - mean)).sum::<f64>() / k;
                    mean - lambda * var
                }
            }
        })
        .collect()
}

/// The ensemble's scores of CSR data: prompt `t` owns rows `offsets[t]..offsets[t+1]` of
/// every member. Same errors as [`combine_prompt`], plus malformed offsets.
pub fn combine(rule: EnsembleRule, offsets: &[usize], members: &[&[f64]], lambda: f64) -> Result<Vec<f64>> {
    let rows = check_members(members, lambda, rule)?;
    if offsets.first() != Some(&0) || offsets.last() != Some(&rows) || offsets.windows(2).any(|w| w[1] < w[0]) {
        return Err(EstimateError::InvalidOffsets {
            index: 0,
            reason: "offsets must start at 0, never decrease and end at the number of rows",
        });
    }
    let mut out = Vec::with_capacity(rows);
    let mut slices: Vec<&[f64]> = Vec::with_capacity(members.len());
    for w in offsets.windows(2) {
        slices.clear();
        slices.extend(members.iter().map(|s| &s[w[0]..w[1]]));
        out.extend(combine_unchecked(rule, &slices, lambda, w[1] - w[0]));
    }
    Ok(out)
}

/// The `λ` chosen by [`tune_uwo`] and what it gave.
#[derive(Debug, Clone, PartialEq)]
pub struct UwoChoice {
    /// The chosen `λ`.
    pub lambda: f64,
    /// `(λ, tuned expected true reward on the calibration prompts)` for every `λ` tried.
    pub tried: Vec<(f64, f64)>,
}

/// Picks `λ` of [`EnsembleRule::Uwo`] from `lambdas` (e.g. [`UWO_LAMBDAS`]): for each, the
/// ensemble is built and the method of `spec` tuned on the prompts `calibration` (indices
/// into the prompts of [`Prepared`], i.e. after prompts with one response are dropped, as
/// [`crate::holdout_split`] gives them; `None`: all), and the `λ` whose tuned expected true reward is largest wins (the smallest
/// `λ` on a tie).
pub fn tune_uwo(
    offsets: &[usize],
    members: &[&[f64]],
    truth: &[f64],
    spec: &TuneSpec,
    calibration: Option<&[usize]>,
    lambdas: &[f64],
) -> Result<UwoChoice> {
    if lambdas.is_empty() {
        return Err(EstimateError::InvalidArgument {
            name: "lambdas",
            value: 0.0,
            reason: "at least one lambda to try",
        });
    }
    let mut tried = Vec::with_capacity(lambdas.len());
    for &lambda in lambdas {
        let scores = combine(EnsembleRule::Uwo, offsets, members, lambda)?;
        let data = Prepared::new(offsets, &scores, truth)?;
        let data = match calibration {
            Some(prompts) => data.subset(prompts)?,
            None => data,
        };
        let o = tune_shape(&data, spec)?;
        tried.push((lambda, o.expected_true_reward));
    }
    let mut best = tried[0];
    for &(l, v) in &tried[1..] {
        if v > best.1 + 1e-12 * best.1.abs() {
            best = (l, v);
        }
    }
    Ok(UwoChoice { lambda: best.0, tried })
}

/// An ensemble's scores, ready to tune: the members combined by `rule`, with uwo's `λ` either
/// given or chosen by [`tune_uwo`] over [`UWO_LAMBDAS`].
#[derive(Debug, Clone, PartialEq)]
pub struct EnsembleScores {
    /// One score per row, aligned with the members.
    pub scores: Vec<f64>,
    /// uwo's `λ` (given or tuned); `None` for the rules without one.
    pub lambda: Option<f64>,
}

/// The ensemble of `members` under `rule` (CSR rows by `offsets`), as `hedge tune/curve/report
/// --ensemble` select by. For [`EnsembleRule::Uwo`] without a `lambda`, `λ` is tuned with `spec` on
/// the calibration prompts: all of them, or, with `holdout = Some((frac, seed))`, those outside the
/// hold-out split [`crate::holdout_split`] makes of the prompts with at least two responses (the
/// same split `tune --holdout` judges on, so the held-out prompts never choose `λ`).
///
/// ```
/// use hedge_estimate::{MethodKind, TuneSpec};
/// use hedge_estimate::ensemble::{EnsembleRule, ensemble_scores};
/// let offsets = [0, 3, 6];
/// let a = [0.1, 0.9, 0.5, 0.3, 0.2, 0.8];
/// let b = [0.2, 0.7, 0.9, 0.1, 0.4, 0.6];
/// let truth = [0.0, 1.0, 0.5, 0.2, 0.1, 0.9];
/// let spec = TuneSpec::new(MethodKind::Bon);
/// let e = ensemble_scores(EnsembleRule::MeanZ, &offsets, &[&a, &b], &truth, &spec, None, None).unwrap();
/// assert_eq!((e.scores.len(), e.lambda), (6, None));
/// let u = ensemble_scores(EnsembleRule::Uwo, &offsets, &[&a, &b], &truth, &spec, None, None).unwrap();
/// assert!(u.lambda.is_some());
/// ```
pub fn ensemble_scores(
    rule: EnsembleRule,
    offsets: &[usize],
    members: &[&[f64]],
    truth: &[f64],
    spec: &TuneSpec,
    lambda: Option<f64>,
    holdout: Option<(f64, u64)>,
) -> Result<EnsembleScores> {
    let lambda = match (rule.has_lambda(), lambda) {
        (false, _) => None,
        (true, Some(l)) => Some(l),
        (true, None) => {
            // [`Prepared`] keeps the prompts with at least two responses: split those.
            let prompts = offsets.windows(2).filter(|w| w[1] - w[0] >= 2).count();
            let calibration = match holdout {
                Some((frac, seed)) => Some(crate::tune::holdout_split(prompts, frac, seed)?.1),
                None => None,
            };
            Some(tune_uwo(offsets, members, truth, spec, calibration.as_deref(), &UWO_LAMBDAS)?.lambda)
        }
    };
    let scores = combine(rule, offsets, members, lambda.unwrap_or(0.0))?;
    Ok(EnsembleScores { scores, lambda })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mid_ranks_share_ties() {
        assert_eq!(
            mid_ranks(&[3.0, 1.0, 3.0, 2.0]),
            vec![5.0 / 6.0, 0.0, 5.0 / 6.0, 1.0 / 3.0]
        );
        assert_eq!(mid_ranks(&[1.0, 1.0]), vec![0.5, 0.5]);
    }

    #[test]
    fn standard_scores_of_ties_are_zero() {
        assert_eq!(standard_scores(&[2.0, 2.0, 2.0]), vec![0.0; 3]);
        let z = standard_scores(&[1.0, 3.0]);
        assert_eq!(z, vec![-1.0, 1.0]);
    }

    #[test]
    fn uwo_with_zero_lambda_is_mean_z_and_one_member_keeps_the_order() {
        let a = [0.1, 0.5, -2.0, 7.0];
        let b = [1.0, 1.0, 3.0, -1.0];
        let mz = combine_prompt(EnsembleRule::MeanZ, &[&a, &b], 0.0).unwrap();
        let u0 = combine_prompt(EnsembleRule::Uwo, &[&a, &b], 0.0).unwrap();
        assert_eq!(mz, u0);
        let one = combine_prompt(EnsembleRule::MinZ, &[&a], 0.0).unwrap();
        let order = |v: &[f64]| {
            let mut i: Vec<usize> = (0..v.len()).collect();
            i.sort_by(|&x, &y| v[x].total_cmp(&v[y]));
            i
        };
        assert_eq!(order(&one), order(&a));
    }

    #[test]
    fn bad_members_are_typed_errors() {
        assert!(combine_prompt(EnsembleRule::MeanZ, &[], 0.0).is_err());
        assert!(combine_prompt(EnsembleRule::MeanZ, &[&[1.0, 2.0], &[1.0]], 0.0).is_err());
        assert!(combine_prompt(EnsembleRule::Uwo, &[&[1.0, 2.0]], -1.0).is_err());
        assert!(combine_prompt(EnsembleRule::Uwo, &[&[1.0, f64::NAN]], 1.0).is_err());
        assert!(combine(EnsembleRule::MeanZ, &[0, 3], &[&[1.0, 2.0]], 0.0).is_err());
    }
}
