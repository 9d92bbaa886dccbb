//! The paper's analytic example: the proxy is the quantile itself and the true
//! reward is `r(u) = u^12 (1 − u) / C`, `C = (12/13)^12 / 13` (so `max r = 1`).

/// The normalising constant `C = (12/13)^12 / 13`.
pub fn toy_c() -> f64 {
    (12.0f64 / 13.0).powi(12) / 13.0
}

/// The toy true-reward curve `r(u) = u^12 (1 − u) / C`.
pub fn toy_reward(u: f64) -> f64 {
    u.powi(12) * (1.0 - u) / toy_c()
}

/// Closed form of BoN's expected toy reward: `n / (C (n+12)(n+13))`.
pub fn toy_bon_exact(n: f64) -> f64 {
    n / (toy_c() * (n + 12.0) * (n + 13.0))
}
