//! Which method the proxy applies: from `--method/--theta/--n` or from the JSON of `hedge tune --json`.

use hedge_math::MethodKind;
use hedge_math::select::Selector;
use serde_json::Value;

use crate::error::{NetError, Result};

/// A sampling method with its parameter, validated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MethodSpec {
    /// The method (never [`MethodKind::Tilt`]).
    pub kind: MethodKind,
    /// Its parameter: `n` (bon), `μ` (bop) or `β` (sbon).
    pub theta: f64,
    /// Candidates for sbon (`None` otherwise).
    pub n: Option<u64>,
    selector: Selector,
}

impl MethodSpec {
    /// Validates a method and parameter (`n` is required for sbon and ignored otherwise).
    pub fn new(kind: MethodKind, theta: f64, n: Option<u64>) -> Result<Self> {
        let n = if kind == MethodKind::Sbon { n } else { None };
        let selector = Selector::new(kind, theta, n)?;
        Ok(MethodSpec {
            kind,
            theta,
            n,
            selector,
        })
    }

    /// The selection rule.
    pub fn selector(&self) -> Selector {
        self.selector
    }

    /// Reads the JSON printed by `hedge tune --json`: an object with `method` (`"bon"`, `"bop"`, `"sbon"`),
    /// `theta`, and `n` for sbon. When it has a `selected` object (the θ chosen by `--select`, e.g. the
    /// one-standard-error rule), its `theta` and `n` are the ones deployed. `source` names the file in
    /// messages.
    pub fn from_tune_json(text: &str, source: &str) -> Result<Self> {
        let bad = |m: String| NetError::Config(format!("{source}: {m}"));
        let v: Value = serde_json::from_str(text).map_err(|e| bad(format!("invalid JSON: {e}")))?;
        let obj = v
            .as_object()
            .ok_or_else(|| bad("expected the JSON object printed by `hedge tune --json`".into()))?;
        let name = obj
            .get("method")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("missing string field \"method\"".into()))?;
        let kind = MethodKind::parse(name)
            .ok_or_else(|| bad(format!("unknown method {name:?}; expected bon, bop or sbon")))?;
        if !kind.is_sampler() {
            return Err(bad(format!(
                "method {name:?} is not a sampler: the tilt is a reference frontier, it cannot choose responses; \
                 tune bon, bop or sbon (hedge tune --method ...) to deploy"
            )));
        }
        // What `--select` chose, when the object says; else the tuned θ itself.
        let obj = match obj.get("selected") {
            Some(Value::Object(selected)) => selected,
            _ => obj,
        };
        let theta = obj
            .get("theta")
            .and_then(Value::as_f64)
            .ok_or_else(|| bad("missing numeric field \"theta\"".into()))?;
        let n = match obj.get("n") {
            None | Some(Value::Null) => None,
            Some(x) => Some(
                x.as_u64()
                    .ok_or_else(|| bad(format!("\"n\" must be a positive integer, found {x}")))?,
            ),
        };
        if kind == MethodKind::Sbon && n.is_none() {
            return Err(bad("sbon needs \"n\" (its number of candidates)".into()));
        }
        MethodSpec::new(kind, theta, n).map_err(|e| bad(e.to_string()))
    }

    /// The most candidates one request can ask for, `None` for BoP (a Poisson draw, unbounded).
    pub fn fixed_n(&self) -> Option<u64> {
        match self.selector {
            Selector::Bon { n } | Selector::Sbon { n, .. } => Some(n),
            Selector::Bop { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tune_json() {
        let m = MethodSpec::from_tune_json(r#"{"method": "bop", "theta": 3.5, "kl": 1.1}"#, "t.json").unwrap();
        assert_eq!((m.kind, m.theta, m.n), (MethodKind::Bop, 3.5, None));
        let m = MethodSpec::from_tune_json(r#"{"method": "sbon", "theta": 2.0, "n": 16}"#, "t.json").unwrap();
        assert_eq!(m.fixed_n(), Some(16));
        let m = MethodSpec::from_tune_json(r#"{"method": "bon", "theta": 8}"#, "t.json").unwrap();
        assert_eq!(m.fixed_n(), Some(8));
        // `--select one-se` chose a smaller n: that is what is deployed.
        let text = r#"{"method": "bon", "theta": 8, "selected": {"rule": "one-se", "theta": 5}}"#;
        assert_eq!(MethodSpec::from_tune_json(text, "t.json").unwrap().fixed_n(), Some(5));
        let text = r#"{"method": "sbon", "theta": 9.5, "n": 16, "selected": {"rule": "one-se", "theta": 7.0, "n": 8}}"#;
        let m = MethodSpec::from_tune_json(text, "t.json").unwrap();
        assert_eq!((m.theta, m.n), (7.0, Some(8)));
    }

    #[test]
    fn tune_json_errors() {
        for (text, needle) in [
            (r#"{"method": "tilt", "theta": 13.5}"#, "not a sampler"),
            (r#"{"method": "sbon", "theta": 2.0}"#, "needs \"n\""),
            (r#"{"theta": 2.0}"#, "\"method\""),
            (r#"{"method": "bon", "theta": 2.5}"#, "integer"),
            (r#"{"method": "xyz", "theta": 1}"#, "unknown method"),
            ("[1]", "expected the JSON object"),
        ] {
            let e = MethodSpec::from_tune_json(text, "t.json").unwrap_err().to_string();
            assert!(e.contains(needle) && e.contains("t.json"), "{e}");
        }
    }
}
