//! Parameter grids: where `f(θ)` is evaluated when a curve is scanned, drawn or resampled.
//!
//! One definition of each spacing, shared by HedgeTune's scan ([`crate::tune::hedge_tune`]),
//! the bootstrap, the curves of a report and `hedge curve --log`. Every grid starts at `lo`
//! and ends at `hi` exactly (callers find the range ends by index, never by comparing floats).
//!
//! - [`LogGrid`]: `k` points even in `z = ln(1 + θ − lo)`, so they are dense where the
//!   chosen-quantile distributions change fastest (small θ) and sparse far out;
//!   `θ_i = lo + expm1(z_i)` with `z_i = ln(1 + hi − lo) · i/(k − 1)` (computed as
//!   `(span · i)/(k − 1)`), `expm1`/`ln_1p` so that a range starting at 0 keeps full
//!   relative precision near 0.
//! - [`linear`]: `k` points evenly spaced in θ.
//! - [`integers`]: BoN's integer `n` from `⌈lo⌉` to `⌊hi⌋`: all of them, or at most `max` of them
//!   even in `ln n` when there are more.
//!
//! ```
//! use hedge_math::grid::{LogGrid, integers, linear};
//! let g = LogGrid::new(0.0, 24.0, 30).points();
//! assert_eq!((g[0], g[29]), (0.0, 24.0));
//! assert!(g.windows(2).all(|w| w[0] < w[1]));
//! assert_eq!(linear(1.0, 2.0, 3), vec![1.0, 1.5, 2.0]);
//! assert_eq!(integers(1.0, 5.0, 80), vec![1.0, 2.0, 3.0, 4.0, 5.0]);
//! assert!(integers(1.0, 1e6, 80).len() <= 80);
//! ```

/// `k` points from `lo` to `hi`, even in `z = ln(1 + θ − lo)`, ends exact.
///
/// With `k < 2` or `lo ≥ hi` the grid is the single point `lo`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogGrid {
    lo: f64,
    hi: f64,
    span: f64,
    k: usize,
}

impl LogGrid {
    /// The grid of `k` points on `[lo, hi]` (ends finite, `lo ≤ hi`; otherwise one point, `lo`).
    pub fn new(lo: f64, hi: f64, k: usize) -> Self {
        let k = if hi > lo && k >= 2 { k } else { 1 };
        Self {
            lo,
            hi,
            span: (hi - lo).ln_1p(),
            k,
        }
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.k
    }

    /// Whether the grid is empty (never: it has at least the point `lo`).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// `z_i = ln(1 + hi − lo) · i/(k − 1)`.
    pub fn z(&self, i: usize) -> f64 {
        if self.k < 2 {
            0.0
        } else {
            self.span * i as f64 / (self.k - 1) as f64
        }
    }

    /// `θ_i = lo + expm1(z_i)`, clamped to `hi`; the ends are `lo` and `hi` exactly.
    pub fn theta(&self, i: usize) -> f64 {
        if i == 0 {
            self.lo
        } else if i + 1 >= self.k {
            self.hi
        } else {
            (self.lo + self.z(i).exp_m1()).min(self.hi)
        }
    }

    /// All points, ascending (interior points that round onto an end are kept as that end).
    pub fn points(&self) -> Vec<f64> {
        (0..self.k).map(|i| self.theta(i)).collect()
    }
}

/// `k` points evenly spaced from `lo` to `hi`, ends exact (one point, `lo`, when `k < 2` or `lo ≥ hi`).
pub fn linear(lo: f64, hi: f64, k: usize) -> Vec<f64> {
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) || k < 2 {
        return vec![lo];
    }
    (0..k)
        .map(|i| {
            if i + 1 == k {
                hi
            } else {
                (lo + (hi - lo) * i as f64 / (k - 1) as f64).min(hi)
            }
        })
        .collect()
}

/// BoN's integers from `⌈lo⌉` to `⌊hi⌋` (at least 1): every one when there are at most
/// `max.max(2) + 40` of them, else `max` values even in `ln n`, rounded, ends exact, deduplicated
/// (so at most `max`: the small `n` round onto each other).
pub fn integers(lo: f64, hi: f64, max: usize) -> Vec<f64> {
    let a = lo.ceil().max(1.0);
    let b = hi.floor().max(a);
    let max = max.max(2);
    if b - a < (max + 40) as f64 {
        let (a, b) = (a as u64, b as u64);
        return (a..=b).map(|n| n as f64).collect();
    }
    let (la, lb) = (a.ln(), b.ln());
    let mut v: Vec<f64> = (0..max)
        .map(|i| match i {
            0 => a,
            i if i + 1 == max => b,
            i => (la + (lb - la) * i as f64 / (max - 1) as f64).exp().round().clamp(a, b),
        })
        .collect();
    v.dedup();
    v
}

/// Merge `extra` values inside `[lo, hi]` into a sorted grid (sorted, deduplicated).
pub fn with_extra(mut grid: Vec<f64>, lo: f64, hi: f64, extra: &[f64]) -> Vec<f64> {
    grid.extend(extra.iter().copied().filter(|t| t.is_finite() && *t >= lo && *t <= hi));
    grid.sort_by(f64::total_cmp);
    grid.dedup();
    grid
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_are_exact_and_points_increase() {
        for &(lo, hi, k) in &[
            (0.0, 24.0, 80),
            (0.0, 1000.0, 40),
            (1.0, 25.0, 26),
            (3.0, 3.0 + 1e-9, 97),
            (0.0, 9.0, 2),
        ] {
            let g = LogGrid::new(lo, hi, k);
            let p = g.points();
            assert_eq!(p.len(), k);
            assert_eq!((p[0], p[k - 1]), (lo, hi));
            assert!(p.windows(2).all(|w| w[0] <= w[1]), "{lo} {hi} {k}");
            assert_eq!(g.z(k - 1), (hi - lo).ln_1p());
        }
        assert_eq!(LogGrid::new(2.0, 2.0, 10).points(), vec![2.0]);
        assert_eq!(linear(0.0, 24.0, 7).last(), Some(&24.0));
        assert_eq!(linear(5.0, 5.0, 7), vec![5.0]);
    }

    #[test]
    fn integer_grids() {
        let g = integers(1.0, 10_000.0, 80);
        assert_eq!((g[0], *g.last().unwrap()), (1.0, 10_000.0));
        assert!((60..=80).contains(&g.len()), "{}", g.len());
        assert!(g.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(integers(1.5, 3.7, 80), vec![2.0, 3.0]);
        assert_eq!(integers(0.0, 0.5, 80), vec![1.0]);
        assert_eq!(
            with_extra(vec![1.0, 3.0], 1.0, 3.0, &[2.0, 9.0, f64::NAN, 3.0]),
            vec![1.0, 2.0, 3.0]
        );
    }
}
