//! Exponential integrals, in the scaled and log forms the methods need.
//!
//! No general-purpose crate offers `e^{-x} Ei(x)` (needed to keep the BoP KL finite
//! for `μ > 700`), the entire function `Ein`, or `E1` of an argument given by its
//! logarithm (needed for Soft Best-of-n at `β` up to 1e4, where `e^{-β}` underflows),
//! so they live here, each with the series it uses and where it switches.

/// Euler–Mascheroni constant γ.
pub const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

/// `e^{-x} Ei(x)` for `x > 0`.
///
/// `Ei(x) = γ + ln x + Σ_{k≥1} x^k / (k·k!)` (all terms positive, no cancellation)
/// for `x ≤ 40`; above, the asymptotic series `e^{-x} Ei(x) ≈ (1/x) Σ_k k!/x^k`,
/// truncated at its smallest term (below 1e-16 relative for `x > 40`).
///
/// ```
/// use hedge_math::special::ei_scaled;
/// // Ei(1) = 1.8951178163559368
/// assert!((ei_scaled(1.0) * 1f64.exp() - 1.895_117_816_355_936_8).abs() < 1e-15);
/// ```
pub fn ei_scaled(x: f64) -> f64 {
    debug_assert!(x > 0.0);
    if x <= 40.0 {
        ei_series(x) * (-x).exp()
    } else {
        let inv = 1.0 / x;
        let mut term = 1.0;
        let mut sum = 1.0;
        let mut k = 1.0;
        loop {
            let next = term * k * inv;
            if next >= term || next < 1e-18 * sum {
                if next < term {
                    sum += next;
                }
                break;
            }
            term = next;
            sum += term;
            k += 1.0;
        }
        sum * inv
    }
}

/// `Ei(x)` for `0 < x ≤ 700` by its convergent series.
fn ei_series(x: f64) -> f64 {
    let mut term = 1.0;
    let mut sum = 0.0;
    let mut k = 1.0_f64;
    loop {
        term *= x / k;
        let add = term / k;
        sum += add;
        if add < 1e-17 * sum && k > x {
            break;
        }
        k += 1.0;
    }
    EULER_GAMMA + x.ln() + sum
}

/// The entire function `Ein(z) = ∫₀^z (1 − e^{−t})/t dt = Σ_{k≥1} (−1)^{k+1} z^k/(k·k!)`,
/// for `0 ≤ z ≤ 1` (accurate to a few ulps there; `Ein(z) ≈ z` for small z).
///
/// `E1(z) = −γ − ln z + Ein(z)`.
pub fn ein(z: f64) -> f64 {
    debug_assert!((0.0..=1.0 + 1e-12).contains(&z));
    let mut term = 1.0;
    let mut sum = 0.0;
    let mut k = 1.0_f64;
    // Terms decrease monotonically for z ≤ 1; stop when negligible.
    loop {
        term *= -z / k;
        let add = -term / k;
        sum += add;
        if add.abs() <= 1e-18 * sum.abs() || k > 40.0 {
            break;
        }
        k += 1.0;
    }
    sum
}

/// `e^{z} E1(z)` for `z ≥ 1`, by the continued fraction
/// `E1(z) = e^{−z} / (z + 1 − 1²/(z + 3 − 2²/(z + 5 − …)))` (modified Lentz).
pub fn e1_scaled(z: f64) -> f64 {
    debug_assert!(z >= 1.0);
    const TINY: f64 = 1e-300;
    let mut b = z + 1.0;
    let mut c = 1.0 / TINY;
    let mut d = 1.0 / b;
    let mut h = d;
    for i in 1..1000 {
        let an = -((i * i) as f64);
        b += 2.0;
        d = 1.0 / (an * d + b);
        c = b + an / c;
        let del = c * d;
        h *= del;
        if (del - 1.0).abs() < 1e-16 {
            break;
        }
    }
    h
}

/// `ln E1(z)` for `z = e^{ln_z} > 0`, given `ln z` so that arguments far below the
/// smallest double (`z = t e^{−β}` with `β = 1e4`) stay exact.
pub fn ln_e1_from_ln(ln_z: f64) -> f64 {
    if ln_z <= 0.0 {
        let z = ln_z.exp();
        // E1 = −γ − ln z + Ein(z) > 0 for all z ≤ 1 (E1(1) ≈ 0.2194).
        (-EULER_GAMMA - ln_z + ein(z)).ln()
    } else {
        let z = ln_z.exp();
        if z > 1e300 {
            return f64::NEG_INFINITY;
        }
        -z + e1_scaled(z).ln()
    }
}

/// `ln(e^a − e^b)` for `a ≥ b`, without overflow.
pub(crate) fn ln_sub_exp(a: f64, b: f64) -> f64 {
    if b == f64::NEG_INFINITY {
        return a;
    }
    a + (-(b - a).exp()).ln_1p()
}

/// `ln(e^z − 1)` for `z > 0`.
pub(crate) fn ln_expm1(z: f64) -> f64 {
    if z > 30.0 {
        z + (-(-z).exp()).ln_1p()
    } else {
        z.exp_m1().ln()
    }
}

/// `ln Σ exp(t_i)` over a slice, skipping `−∞` terms; `−∞` for an empty or all-`−∞` slice.
pub(crate) fn log_sum_exp(terms: &[f64]) -> f64 {
    let m = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY {
        return m;
    }
    let s: f64 = terms.iter().map(|&t| (t - m).exp()).sum();
    m + s.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        ((a - b) / b).abs()
    }

    #[test]
    #[allow(clippy::excessive_precision)] // reference values as published (40-digit arithmetic)
    fn ei_reference_values() {
        // Ei(x) from 40-digit arithmetic.
        let cases = [
            (1.0, 1.895_117_816_355_936_8),
            (2.0, 4.954_234_356_001_890),
            (10.0, 2_492.228_976_241_877_8),
            (39.0, 2.280_446_200_301_902_6e15),
            (50.0, 1.058_563_689_713_169_1e20),
        ];
        for (x, ei) in cases {
            let got = ei_scaled(x) * f64::exp(x);
            assert!(rel(got, ei) < 2e-15, "Ei({x}) = {got}, want {ei}");
        }
        // continuity at the switch
        assert!(rel(ei_scaled(40.0), ei_scaled(40.000_000_001)) < 1e-10);
    }

    #[test]
    fn e1_reference_values() {
        let cases = [
            (1e-300f64, 690.198_312_233_312_2),
            (1e-5, 10.935_719_800_043_695),
            (0.5, 0.559_773_594_776_160_8),
            (1.0, 0.219_383_934_395_520_27),
            (2.0, 0.048_900_510_708_061_12),
            (30.0, 3.021_552_010_688_812_5e-15),
        ];
        for (z, e1) in cases {
            let got = ln_e1_from_ln(z.ln()).exp();
            assert!(rel(got, e1) < 4e-15, "E1({z}) = {got}, want {e1}");
        }
        // far below the smallest double: E1(e^{-1e4}) = 1e4 − γ
        assert!(rel(ln_e1_from_ln(-1e4).exp(), 1e4 - EULER_GAMMA) < 1e-15);
    }
}
