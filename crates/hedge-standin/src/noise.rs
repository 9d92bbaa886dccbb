//! The proxy noise of the latent-quality model: [`ProxyNoise`], its two written forms (the admin route's JSON
//! and the `--noise` flag) and the draws made under it ([`proxy_noise_draw`], [`noisy_score`]).

use std::fmt;
use std::str::FromStr;

use serde_json::{Value, json};

use crate::hash::{candidate_key, key_normal, key_uniform, latent_quality};

/// The law of the proxy noise of [`Scorer::Noisy`](crate::Scorer::Noisy) (see the crate documentation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ProxyNoise {
    /// `scale · z`, `z ~ N(0, 1)`.
    Gaussian {
        /// Standard deviation (≥ 0).
        scale: f64,
    },
    /// `scale · tan(π(u − ½))`, `u` uniform on (0, 1).
    Cauchy {
        /// Half-width at half-maximum, also the median of the noise's absolute value (≥ 0).
        scale: f64,
    },
    /// `scale · T`, `T` Student-t with `df` degrees of freedom.
    StudentT {
        /// Degrees of freedom (> 0).
        df: f64,
        /// Scale (≥ 0).
        scale: f64,
    },
}

impl Default for ProxyNoise {
    /// `gaussian:0.7`.
    fn default() -> Self {
        ProxyNoise::Gaussian { scale: 0.7 }
    }
}

/// A proxy-noise setting that is out of range or cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidNoise(pub String);

impl fmt::Display for InvalidNoise {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidNoise {}

impl ProxyNoise {
    /// The name used by the admin route and the `--noise` flag: `gaussian`, `cauchy` or `student_t`.
    pub fn kind(&self) -> &'static str {
        match self {
            ProxyNoise::Gaussian { .. } => "gaussian",
            ProxyNoise::Cauchy { .. } => "cauchy",
            ProxyNoise::StudentT { .. } => "student_t",
        }
    }

    /// The scale.
    pub fn scale(&self) -> f64 {
        match *self {
            ProxyNoise::Gaussian { scale } | ProxyNoise::Cauchy { scale } | ProxyNoise::StudentT { scale, .. } => scale,
        }
    }

    /// The setting itself if its scale is finite and ≥ 0 and its degrees of freedom (Student-t) finite and > 0.
    pub fn validate(self) -> Result<ProxyNoise, InvalidNoise> {
        let scale = self.scale();
        if !(scale.is_finite() && scale >= 0.0) {
            return Err(InvalidNoise(format!(
                "the noise scale must be a finite number >= 0, got {scale}"
            )));
        }
        if let ProxyNoise::StudentT { df, .. } = self {
            if !(df.is_finite() && df > 0.0) {
                return Err(InvalidNoise(format!(
                    "the degrees of freedom must be a finite number > 0, got {df}"
                )));
            }
        }
        Ok(self)
    }

    /// The JSON form of the admin route: `{"kind": …, "scale": …}`, with `"df"` for Student-t.
    pub fn to_json(&self) -> Value {
        match *self {
            ProxyNoise::StudentT { df, scale } => json!({"kind": self.kind(), "scale": scale, "df": df}),
            _ => json!({"kind": self.kind(), "scale": self.scale()}),
        }
    }

    /// Reads the JSON form of the admin route (see [`ProxyNoise::to_json`]) and validates it. Fields other than
    /// `kind`, `scale` and `df` are refused; `df` is required for `student_t` and ignored otherwise.
    pub fn from_json(v: &Value) -> Result<ProxyNoise, InvalidNoise> {
        let Value::Object(m) = v else {
            return Err(InvalidNoise("the body must be a JSON object".into()));
        };
        if let Some(k) = m.keys().find(|k| !matches!(k.as_str(), "kind" | "scale" | "df")) {
            return Err(InvalidNoise(format!(
                "unknown field {k:?}; expected \"kind\", \"scale\" and (student_t) \"df\""
            )));
        }
        let number = |name: &str| -> Result<f64, InvalidNoise> {
            match m.get(name) {
                Some(Value::Number(x)) => x
                    .as_f64()
                    .ok_or_else(|| InvalidNoise(format!("\"{name}\" is not a number"))),
                Some(other) => Err(InvalidNoise(format!("\"{name}\" must be a number, got {other}"))),
                None => Err(InvalidNoise(format!("\"{name}\" is required"))),
            }
        };
        let noise = match m.get("kind").and_then(Value::as_str) {
            Some("gaussian") => ProxyNoise::Gaussian {
                scale: number("scale")?,
            },
            Some("cauchy") => ProxyNoise::Cauchy {
                scale: number("scale")?,
            },
            Some("student_t") => ProxyNoise::StudentT {
                df: number("df")?,
                scale: number("scale")?,
            },
            Some(other) => {
                return Err(InvalidNoise(format!(
                    "unknown noise kind {other:?}; expected \"gaussian\", \"cauchy\" or \"student_t\""
                )));
            }
            None => {
                return Err(InvalidNoise(
                    "\"kind\" is required: \"gaussian\", \"cauchy\" or \"student_t\"".into(),
                ));
            }
        };
        noise.validate()
    }
}

/// The `--noise` form: `gaussian:SCALE`, `cauchy:SCALE` or `student_t:DF:SCALE`.
impl fmt::Display for ProxyNoise {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ProxyNoise::StudentT { df, scale } => write!(f, "student_t:{df}:{scale}"),
            _ => write!(f, "{}:{}", self.kind(), self.scale()),
        }
    }
}

/// Reads the `--noise` form (see [`fmt::Display`]) and validates it.
impl FromStr for ProxyNoise {
    type Err = InvalidNoise;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split(':').collect();
        let num = |p: &str, what: &str| -> Result<f64, InvalidNoise> {
            p.trim()
                .parse::<f64>()
                .map_err(|_| InvalidNoise(format!("{what} {p:?} in {s:?} is not a number")))
        };
        let noise = match parts.as_slice() {
            ["gaussian", scale] => ProxyNoise::Gaussian {
                scale: num(scale, "the scale")?,
            },
            ["cauchy", scale] => ProxyNoise::Cauchy {
                scale: num(scale, "the scale")?,
            },
            ["student_t", df, scale] => ProxyNoise::StudentT {
                df: num(df, "the degrees of freedom")?,
                scale: num(scale, "the scale")?,
            },
            _ => {
                return Err(InvalidNoise(format!(
                    "invalid noise {s:?}; expected gaussian:SCALE, cauchy:SCALE or student_t:DF:SCALE"
                )));
            }
        };
        noise.validate()
    }
}

/// The proxy-noise draw of a candidate text under `noise` (see [`ProxyNoise`]); independent of
/// [`latent_quality`]. A deterministic function of the candidate's key ([`candidate_key`]), drawn from hashes
/// of its own for each law.
pub fn proxy_noise_draw(text: &str, noise: ProxyNoise) -> f64 {
    let key = candidate_key(text);
    match noise {
        ProxyNoise::Gaussian { scale } => scale * key_normal(b"hedge-standin gaussian noise", key),
        ProxyNoise::Cauchy { scale } => {
            let u = key_uniform(b"hedge-standin cauchy noise", key, 0);
            scale * (std::f64::consts::PI * (u - 0.5)).tan()
        }
        ProxyNoise::StudentT { df, scale } => scale * student_t(df, key),
    }
}

/// A Student-t number with `df` degrees of freedom from a key: Bailey's polar method (1994), with the
/// rejection loop drawing pairs of uniforms from the key's stream in order.
fn student_t(df: f64, key: &str) -> f64 {
    const TAG: &[u8] = b"hedge-standin student-t noise";
    // Each pair is accepted with probability π/4: 200 pairs all fail with probability < 1e-130.
    for k in 0..200u64 {
        let u = 2.0 * key_uniform(TAG, key, 2 * k) - 1.0;
        let v = 2.0 * key_uniform(TAG, key, 2 * k + 1) - 1.0;
        let w = u * u + v * v;
        if w > 0.0 && w <= 1.0 {
            return u * (df * (w.powf(-2.0 / df) - 1.0) / w).sqrt();
        }
    }
    0.0
}

/// The proxy score of [`Scorer::Noisy`](crate::Scorer::Noisy): `latent_quality(text) + proxy_noise_draw(text, noise)`.
pub fn noisy_score(text: &str, noise: ProxyNoise) -> f64 {
    latent_quality(text) + proxy_noise_draw(text, noise)
}
