//! `hedge._hedge`: the native half of the `hedge` Python package.
//!
//! Thin bindings over `hedge-math`, `hedge-estimate` and `hedge-data`; the public API,
//! its input coercion (lists, pandas Series, any array-like → contiguous `float64`) and its
//! documentation live in `python/hedge/__init__.py`. Every computation runs with the GIL
//! released. Errors are the Rust crates' own (the same messages the `hedge` CLI prints
//! after `hedge: `), raised as `ValueError` (`OSError`/`FileNotFoundError` for files).

use std::fmt::Display;

use hedge_data::{Calibration, DataError, Format, LoadOptions};
use hedge_estimate::{Budget, Checks, EstimateError, Estimator, Prepared, Select, TuneReport, TuneSpec};
use hedge_math::select::Selector;
use hedge_math::{Method, MethodKind};
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1};
use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

fn value_error(e: impl Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

fn data_error(e: DataError) -> PyErr {
    match &e {
        DataError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            PyFileNotFoundError::new_err(e.to_string())
        }
        DataError::Io { .. } => PyOSError::new_err(e.to_string()),
        _ => value_error(e),
    }
}

fn parse_method(name: &str) -> PyResult<MethodKind> {
    MethodKind::parse(name).ok_or_else(|| {
        PyValueError::new_err(format!(
            "unknown method {name:?} (possible values: bon, bop, tilt, sbon)"
        ))
    })
}

fn parse_estimator(name: &str) -> PyResult<Estimator> {
    Estimator::parse(name).ok_or_else(|| {
        PyValueError::new_err(format!(
            "unknown estimator {name:?} (possible values: plugin, unbiased, paper)"
        ))
    })
}

/// SBoN's number of candidates for curves and comparisons: only with `"sbon"`, and at least 1.
fn sbon_n(kind: MethodKind, n: Option<i64>) -> PyResult<Option<u64>> {
    if n.is_some() && kind != MethodKind::Sbon {
        return Err(PyValueError::new_err("n applies to method \"sbon\" only"));
    }
    if n.is_some_and(|k| k < 1) {
        return Err(value_error(EstimateError::MissingN));
    }
    Ok(n.map(|k| k as u64))
}

/// A number of candidates `n ≥ 1` (negative values get the engine's message).
fn candidates(n: Option<i64>) -> PyResult<Option<u64>> {
    match n {
        Some(n) if n < 1 => Err(value_error(hedge_math::Error::InvalidParameter {
            method: "sbon",
            name: "n",
            value: n as f64,
            reason: "must be an integer >= 1",
        })),
        n => Ok(n.map(|n| n as u64)),
    }
}

/// A seeded RNG on stream 1: the stream `hedge select` uses for its first input line.
fn rng(seed: Option<u64>) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed.unwrap_or_else(rand::random));
    rng.set_stream(1);
    rng
}

/// Prompt ids as text, one per row.
enum Ids {
    Int(Vec<i64>),
    Text(Vec<String>),
}

impl Ids {
    fn len(&self) -> usize {
        match self {
            Ids::Int(v) => v.len(),
            Ids::Text(v) => v.len(),
        }
    }
}

/// Read prompt ids: a contiguous int64 array (read directly), or any iterable of `str` and `int`.
fn extract_ids(ids: &Bound<'_, PyAny>) -> PyResult<Ids> {
    if let Ok(a) = ids.cast::<PyArray1<i64>>() {
        let a = a.readonly();
        if let Ok(s) = a.as_slice() {
            return Ok(Ids::Int(s.to_vec()));
        }
    }
    let mut out = Vec::with_capacity(ids.len().unwrap_or(0));
    for (i, item) in ids.try_iter()?.enumerate() {
        let item = item?;
        if let Ok(s) = item.cast::<PyString>() {
            out.push(s.to_cow()?.into_owned());
        } else if let Ok(k) = item.extract::<i128>() {
            out.push(k.to_string());
        } else {
            return Err(PyTypeError::new_err(format!(
                "prompt_ids[{i}] is a {}: prompt ids must be strings or integers",
                item.get_type().name()?
            )));
        }
    }
    Ok(Ids::Text(out))
}

/// Group flat rows into a calibration set exactly like the CLI's loader does
/// (`Calibration::from_rows`: merge reappearing prompts, drop single-response ones, reject NaN),
/// then run the data pass.
fn prepare(ids: &Ids, proxy: &[f64], truth: &[f64]) -> Result<(Calibration, Prepared), PyErr> {
    if ids.len() != proxy.len() {
        return Err(PyValueError::new_err(format!(
            "prompt_ids has {} values but proxy has {}",
            ids.len(),
            proxy.len()
        )));
    }
    if proxy.len() != truth.len() {
        return Err(value_error(EstimateError::LengthMismatch {
            proxy: proxy.len(),
            truth: truth.len(),
        }));
    }
    let cal = match ids {
        Ids::Int(v) => Calibration::from_rows(
            v.iter()
                .zip(proxy.iter().zip(truth))
                .map(|(id, (&p, &t))| (id.to_string(), p, t)),
        ),
        Ids::Text(v) => Calibration::from_rows(
            v.iter()
                .zip(proxy.iter().zip(truth))
                .map(|(id, (&p, &t))| (id.as_str(), p, t)),
        ),
    }
    .map_err(data_error)?;
    let prepared = Prepared::new(&cal.offsets, &cal.proxy, &cal.truth).map_err(value_error)?;
    Ok((cal, prepared))
}

fn slice<'a>(a: &'a PyReadonlyArray1<'_, f64>, name: &str) -> PyResult<&'a [f64]> {
    a.as_slice()
        .map_err(|_| PyValueError::new_err(format!("{name} must be a contiguous one-dimensional array")))
}

/// A JSON value as Python objects (objects keep their key order).
fn to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(a) => {
            let list = PyList::empty(py);
            for x in a {
                list.append(to_py(py, x)?)?;
            }
            list.into_any()
        }
        Value::Object(o) => {
            let d = PyDict::new(py);
            for (k, x) in o {
                d.set_item(k, to_py(py, x)?)?;
            }
            d.into_any()
        }
    })
}

/// HedgeTune on flat rows; returns the `hedge tune --json` object (without "data" and "columns").
#[pyfunction]
#[pyo3(signature = (prompt_ids, proxy, truth, method, range=None, n=None, estimator="plugin", holdout=None, bootstrap=None, seed=0, confidence=0.95, select="peak", max_samples=None, cost_per_sample=0.0))]
#[allow(clippy::too_many_arguments)]
fn tune<'py>(
    py: Python<'py>,
    prompt_ids: &Bound<'py, PyAny>,
    proxy: PyReadonlyArray1<'py, f64>,
    truth: PyReadonlyArray1<'py, f64>,
    method: &str,
    range: Option<(f64, f64)>,
    n: Option<Vec<i64>>,
    estimator: &str,
    holdout: Option<f64>,
    bootstrap: Option<usize>,
    seed: u64,
    confidence: f64,
    select: &str,
    max_samples: Option<f64>,
    cost_per_sample: f64,
) -> PyResult<Bound<'py, PyAny>> {
    let kind = parse_method(method)?;
    hedge_estimate::check_confidence(confidence).map_err(value_error)?;
    let rule = Select::parse(select)
        .ok_or_else(|| PyValueError::new_err(format!("unknown select {select:?} (possible values: peak, one-se)")))?;
    let mut spec = budget_spec(
        TuneSpec::new(kind)
            .estimator(parse_estimator(estimator)?)
            .confidence(confidence)
            .select(rule)
            .seed(seed),
        max_samples,
        cost_per_sample,
    )?;
    if let Some((lo, hi)) = range {
        spec = spec.range(lo, hi);
    }
    if let Some(ns) = n {
        if kind != MethodKind::Sbon {
            return Err(PyValueError::new_err("n applies to method \"sbon\" only"));
        }
        if ns.iter().any(|&k| k < 1) {
            return Err(value_error(EstimateError::MissingN));
        }
        spec = spec.n_grid(ns.into_iter().map(|k| k as u64).collect::<Vec<_>>());
    }
    if let Some(f) = holdout {
        hedge_estimate::check_holdout(f).map_err(value_error)?;
    }
    if bootstrap == Some(0) {
        return Err(PyValueError::new_err("bootstrap needs at least 1 resample"));
    }
    let ids = extract_ids(prompt_ids)?;
    let (proxy, truth) = (slice(&proxy, "proxy")?, slice(&truth, "true")?);
    let report = py.detach(|| -> PyResult<TuneReport> {
        let (cal, data) = prepare(&ids, proxy, truth)?;
        let checks = Checks::new()
            .maybe_holdout(holdout)
            .maybe_bootstrap(bootstrap)
            .seed(seed);
        let mut report = TuneReport::compute(&data, &spec, &checks, |_| {}).map_err(value_error)?;
        report.skipped_prompts += cal.skipped_single;
        Ok(report)
    })?;
    let v = serde_json::to_value(&report).map_err(value_error)?;
    to_py(py, &v)
}

/// `f(θ)` with standard error, KL and expected samples at each θ.
#[pyfunction]
#[pyo3(signature = (prompt_ids, proxy, truth, method, thetas, n=None, estimator="plugin"))]
#[allow(clippy::too_many_arguments)]
fn curve<'py>(
    py: Python<'py>,
    prompt_ids: &Bound<'py, PyAny>,
    proxy: PyReadonlyArray1<'py, f64>,
    truth: PyReadonlyArray1<'py, f64>,
    method: &str,
    thetas: PyReadonlyArray1<'py, f64>,
    n: Option<i64>,
    estimator: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let kind = parse_method(method)?;
    let estimator = parse_estimator(estimator)?;
    let n = sbon_n(kind, n)?;
    let ids = extract_ids(prompt_ids)?;
    let (proxy, truth, thetas) = (
        slice(&proxy, "proxy")?,
        slice(&truth, "true")?,
        slice(&thetas, "thetas")?,
    );
    let points = py.detach(|| -> PyResult<_> {
        let (_, data) = prepare(&ids, proxy, truth)?;
        hedge_estimate::curve(&data, kind, thetas, n, estimator).map_err(value_error)
    })?;
    let d = PyDict::new(py);
    let column = |f: fn(&hedge_estimate::CurvePoint) -> f64| points.iter().map(f).collect::<Vec<f64>>();
    d.set_item("theta", PyArray1::from_vec(py, column(|p| p.theta)))?;
    d.set_item("reward", PyArray1::from_vec(py, column(|p| p.expected_true_reward)))?;
    d.set_item("stderr", PyArray1::from_vec(py, column(|p| p.stderr)))?;
    d.set_item("kl", PyArray1::from_vec(py, column(|p| p.kl)))?;
    d.set_item(
        "expected_samples",
        PyArray1::from_vec(py, column(|p| p.expected_samples)),
    )?;
    Ok(d)
}

/// `f(θ_a) − f(θ_b)` of one method on the same prompts, with its paired standard error.
#[pyfunction]
#[pyo3(signature = (prompt_ids, proxy, truth, method, theta_a, theta_b, n=None, estimator="plugin"))]
#[allow(clippy::too_many_arguments)]
fn paired<'py>(
    py: Python<'py>,
    prompt_ids: &Bound<'py, PyAny>,
    proxy: PyReadonlyArray1<'py, f64>,
    truth: PyReadonlyArray1<'py, f64>,
    method: &str,
    theta_a: f64,
    theta_b: f64,
    n: Option<i64>,
    estimator: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let kind = parse_method(method)?;
    let estimator = parse_estimator(estimator)?;
    let n = sbon_n(kind, n)?;
    let ids = extract_ids(prompt_ids)?;
    let (proxy, truth) = (slice(&proxy, "proxy")?, slice(&truth, "true")?);
    let (p, prompts) = py.detach(|| -> PyResult<_> {
        let (_, data) = prepare(&ids, proxy, truth)?;
        let obj = hedge_estimate::Objective::new(&data, kind, n, estimator).map_err(value_error)?;
        Ok((obj.paired(theta_a, theta_b).map_err(value_error)?, data.prompts()))
    })?;
    let d = PyDict::new(py);
    d.set_item("difference", p.difference)?;
    d.set_item("stderr", p.stderr)?;
    d.set_item("z", p.z)?;
    d.set_item("prompts", prompts)?;
    Ok(d)
}

/// KL to the reference, mean chosen quantile and expected samples of a method.
#[pyfunction]
#[pyo3(signature = (method, theta, n=None))]
fn kl<'py>(py: Python<'py>, method: &str, theta: f64, n: Option<i64>) -> PyResult<Bound<'py, PyDict>> {
    let kind = parse_method(method)?;
    let n = if kind == MethodKind::Sbon { candidates(n)? } else { None };
    let (kl, mean, samples) = py.detach(|| -> PyResult<_> {
        let m = Method::new(kind, theta, n).map_err(value_error)?;
        let d = m.as_dyn();
        Ok((d.kl(), d.mean_quantile(), d.expected_samples()))
    })?;
    let d = PyDict::new(py);
    d.set_item("kl", kl)?;
    d.set_item("mean_quantile", mean)?;
    d.set_item("expected_samples", samples)?;
    Ok(d)
}

/// Choose a candidate like `hedge select` does for one input line.
#[pyfunction]
#[pyo3(signature = (scores, method, theta, n=None, seed=None))]
fn select(
    py: Python<'_>,
    scores: PyReadonlyArray1<'_, f64>,
    method: &str,
    theta: f64,
    n: Option<i64>,
    seed: Option<u64>,
) -> PyResult<usize> {
    let selector = Selector::new(parse_method(method)?, theta, candidates(n)?).map_err(value_error)?;
    let s = slice(&scores, "scores")?;
    if s.is_empty() {
        return Err(PyValueError::new_err("scores is empty"));
    }
    if let Some((k, x)) = s.iter().enumerate().find(|(_, x)| !x.is_finite()) {
        return Err(PyValueError::new_err(format!(
            "scores[{k}] = {x} is not a finite number"
        )));
    }
    py.detach(|| {
        let mut rng = rng(seed);
        let drawn = selector.draw_n(&mut rng).map_err(value_error)?;
        let n_used = drawn.min(s.len() as u64) as usize;
        selector.choose(&s[..n_used], &mut rng).map_err(value_error)
    })
}

/// The number of candidates a selector draws for the next request.
#[pyfunction]
#[pyo3(signature = (method, theta, seed=None, n=None))]
fn draw_n(method: &str, theta: f64, seed: Option<u64>, n: Option<i64>) -> PyResult<u64> {
    let selector = Selector::new(parse_method(method)?, theta, candidates(n)?).map_err(value_error)?;
    selector.draw_n(&mut rng(seed)).map_err(value_error)
}

/// Read a calibration file like the CLI: (ids per row, proxy, true, source, skipped, rows read).
#[pyfunction]
#[pyo3(signature = (path, prompt_col="prompt_id", proxy_col="proxy", true_col="true", format=None))]
#[allow(clippy::type_complexity)]
fn load<'py>(
    py: Python<'py>,
    path: &str,
    prompt_col: &str,
    proxy_col: &str,
    true_col: &str,
    format: Option<&str>,
) -> PyResult<(
    Bound<'py, PyList>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    String,
    usize,
    usize,
)> {
    let format = format.map(|f| f.parse::<Format>()).transpose().map_err(value_error)?;
    let opts = LoadOptions::new()
        .prompt_col(prompt_col)
        .proxy_col(proxy_col)
        .true_col(true_col)
        .maybe_format(format);
    let cal = py.detach(|| hedge_data::load(path, &opts)).map_err(data_error)?;
    let ids = PyList::empty(py);
    for (t, id) in cal.prompt_ids.iter().enumerate() {
        let s = PyString::new(py, id);
        for _ in 0..cal.responses(t) {
            ids.append(&s)?;
        }
    }
    let Calibration {
        proxy,
        truth,
        source,
        skipped_single,
        rows_read,
        ..
    } = cal;
    Ok((
        ids,
        PyArray1::from_vec(py, proxy),
        PyArray1::from_vec(py, truth),
        source,
        skipped_single,
        rows_read,
    ))
}

/// The budget of `max_samples` / `cost_per_sample`, checked like the command line's flags.
fn budget(max_samples: Option<f64>, cost_per_sample: f64) -> PyResult<Budget> {
    if let Some(b) = max_samples
        && !(b.is_finite() && b >= 1.0)
    {
        return Err(PyValueError::new_err(format!(
            "max_samples must be a finite number >= 1, got {b}"
        )));
    }
    if !(cost_per_sample.is_finite() && cost_per_sample >= 0.0) {
        return Err(PyValueError::new_err(format!(
            "cost_per_sample must be a finite number >= 0, got {cost_per_sample}"
        )));
    }
    Ok(Budget {
        max_samples,
        cost_per_sample,
    })
}

fn budget_spec(spec: TuneSpec, max_samples: Option<f64>, cost_per_sample: f64) -> PyResult<TuneSpec> {
    let b = budget(max_samples, cost_per_sample)?;
    let spec = spec.maybe_max_samples(b.max_samples);
    Ok(if cost_per_sample != 0.0 {
        spec.cost_per_sample(cost_per_sample)
    } else {
        spec
    })
}

/// The leaderboard of several proxy columns (and ensembles) × methods, tuned on calibration prompts
/// and judged on held-out ones; returns the `hedge compare --json` object.
#[pyfunction]
#[pyo3(signature = (prompt_ids, truth, names, columns, methods, ensembles, holdout=0.5, seed=0, confidence=0.95, max_samples=None, cost_per_sample=0.0))]
#[allow(clippy::too_many_arguments)]
fn compare<'py>(
    py: Python<'py>,
    prompt_ids: &Bound<'py, PyAny>,
    truth: PyReadonlyArray1<'py, f64>,
    names: Vec<String>,
    columns: Vec<PyReadonlyArray1<'py, f64>>,
    methods: Vec<String>,
    ensembles: Vec<String>,
    holdout: f64,
    seed: u64,
    confidence: f64,
    max_samples: Option<f64>,
    cost_per_sample: f64,
) -> PyResult<Bound<'py, PyAny>> {
    use hedge_estimate::compare::{CompareSpec, ProxyColumn};
    use hedge_estimate::ensemble::EnsembleRule;
    if names.len() != columns.len() {
        return Err(PyValueError::new_err("names and columns differ in length"));
    }
    hedge_estimate::check_holdout(holdout).map_err(value_error)?;
    hedge_estimate::check_confidence(confidence).map_err(value_error)?;
    let kinds = methods.iter().map(|m| parse_method(m)).collect::<PyResult<Vec<_>>>()?;
    let rules = ensembles
        .iter()
        .map(|e| {
            EnsembleRule::parse(e).ok_or_else(|| {
                PyValueError::new_err(format!(
                    "unknown ensemble {e:?} (possible values: mean-z, min-z, uwo, rank-mean)"
                ))
            })
        })
        .collect::<PyResult<Vec<_>>>()?;
    let spec = CompareSpec::new()
        .methods(kinds)
        .ensembles(rules)
        .holdout(holdout)
        .seed(seed)
        .confidence(confidence)
        .budget(budget(max_samples, cost_per_sample)?);
    let ids = extract_ids(prompt_ids)?;
    let truth = slice(&truth, "true")?;
    let cols = columns
        .iter()
        .zip(&names)
        .map(|(c, n)| slice(c, n))
        .collect::<PyResult<Vec<&[f64]>>>()?;
    let c = py.detach(|| -> PyResult<hedge_estimate::compare::Comparison> {
        // Group each column the way the loader does; the grouping depends on the ids only, so the
        // offsets and true rewards agree across columns.
        let mut grouped: Vec<Vec<f64>> = Vec::with_capacity(cols.len());
        let mut base: Option<Calibration> = None;
        for col in &cols {
            let (cal, _) = prepare(&ids, col, truth)?;
            grouped.push(cal.proxy.clone());
            base.get_or_insert(cal);
        }
        let base = base.ok_or_else(|| PyValueError::new_err("compare needs at least one proxy column"))?;
        let proxies: Vec<ProxyColumn<'_>> = names
            .iter()
            .zip(&grouped)
            .map(|(n, g)| ProxyColumn::new(n, g))
            .collect();
        let mut c =
            hedge_estimate::compare::compare(&base.offsets, &base.truth, &proxies, &spec).map_err(value_error)?;
        c.skipped_prompts += base.skipped_single;
        Ok(c)
    })?;
    let v = serde_json::to_value(&c).map_err(value_error)?;
    to_py(py, &v)
}

/// The native module (`hedge._hedge`); use the `hedge` package instead.
#[pymodule]
fn _hedge(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(tune, m)?)?;
    m.add_function(wrap_pyfunction!(curve, m)?)?;
    m.add_function(wrap_pyfunction!(paired, m)?)?;
    m.add_function(wrap_pyfunction!(kl, m)?)?;
    m.add_function(wrap_pyfunction!(select, m)?)?;
    m.add_function(wrap_pyfunction!(draw_n, m)?)?;
    m.add_function(wrap_pyfunction!(load, m)?)?;
    m.add_function(wrap_pyfunction!(compare, m)?)?;
    // The command line's default column names: `load`'s defaults and the DataFrame column names of
    // `tune`, `curve`, `paired` and `compare` in `python/hedge/__init__.py`.
    m.add("DEFAULT_PROMPT_COL", hedge_data::DEFAULT_PROMPT_COL)?;
    m.add("DEFAULT_PROXY_COL", hedge_data::DEFAULT_PROXY_COL)?;
    m.add("DEFAULT_TRUE_COL", hedge_data::DEFAULT_TRUE_COL)?;
    Ok(())
}
