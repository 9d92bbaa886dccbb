"""hedge: hacking-aware inference-time alignment, on NumPy arrays.

Best-of-n sampling picks the candidate a reward model (the *proxy*) scores highest.
Pushed too far, the *true* reward first rises, then falls: reward hacking. ``hedge``
finds, from calibration data of (proxy, true) reward pairs, the parameter of
Best-of-n (``bon``, n), Best-of-Poisson (``bop``, mu), Soft Best-of-n (``sbon``, beta)
or the exponential tilt (``tilt``, lambda) that maximises the true reward, and applies
it at inference time. It is the Python face of the ``hedge`` command line: the same
Rust engine, the same numbers, the same JSON, the same error messages.

Calibration data is long format, one row per (prompt, response): three equally long
one-dimensional arrays ``prompt_ids`` (strings or integers; a prompt's rows need not
be contiguous), ``proxy`` and ``true``. Anything NumPy can turn into a float array
works (lists, pandas or polars Series, arrays of any numeric or boolean dtype);
contiguous ``float64`` arrays are used without a copy. :func:`tune`, :func:`curve`,
:func:`paired` and :func:`compare` also take the whole table instead: the
:class:`Dataset` that :func:`load` returns (``hedge.tune(d, method="bon")``), or a
pandas or polars DataFrame with column names, ``hedge.tune(df, method="bon",
prompt="prompt_id", proxy="proxy", true="true")`` (these names are the defaults, as
on the command line). Neither pandas nor polars is needed otherwise, nor imported.

>>> import numpy as np, hedge
>>> rng = np.random.default_rng(0)
>>> T, m = 300, 32                                     # 300 prompts x 32 responses
>>> true = rng.normal(size=(T, m))
>>> proxy = true + rng.standard_t(1.5, size=(T, m))   # heavy-tailed proxy errors: hackable
>>> ids = np.repeat(np.arange(T), m)
>>> r = hedge.tune(ids, proxy.ravel(), true.ravel(), "bon")
>>> r.regime, r.parameter
('hacking', 'n')
>>> 1 < r.theta < 32
True
>>> hedge.select([0.2, 1.7, 0.9], "bon", 2)           # best of the first n = 2 candidates
1

Errors in the data or the arguments raise ``ValueError`` with the command line's
message (``OSError``/``FileNotFoundError`` for unreadable files, ``TypeError`` for
prompt ids that are neither strings nor integers).
"""

from __future__ import annotations

import copy as _copy
import dataclasses as _dc
import json as _json
import operator as _operator
import os as _os
from typing import TYPE_CHECKING as _TYPE_CHECKING

import numpy as _np

from . import _hedge

if _TYPE_CHECKING:  # names for annotations only: `dir(hedge)` shows the public API and nothing else
    import os
    from typing import Any, Dict, Iterator, List, NoReturn, Optional, Sequence, Tuple, Union

    import numpy as np

    ArrayLike = Any
    """Anything :func:`numpy.asarray` accepts: a list, a NumPy array, a pandas or polars Series, ..."""
    Table = Any
    """A :class:`Dataset` or a pandas or polars ``DataFrame``."""

try:
    from importlib.metadata import version as _version

    __version__: str = _version("hedge")
except Exception:  # pragma: no cover - not installed as a distribution
    __version__ = "0+unknown"

__all__ = [
    "Comparison",
    "Curve",
    "Dataset",
    "Holdout",
    "SbonRow",
    "TuneResult",
    "compare",
    "curve",
    "draw_n",
    "kl",
    "load",
    "paired",
    "select",
    "tune",
]

del annotations  # the __future__ import's name: not part of the API

# The command line's default column names (`--prompt-col`, `--proxy-col`, `--true-col`).
_PROMPT_COL: str = _hedge.DEFAULT_PROMPT_COL
_PROXY_COL: str = _hedge.DEFAULT_PROXY_COL
_TRUE_COL: str = _hedge.DEFAULT_TRUE_COL
_DEFAULT_COLUMNS = (_PROMPT_COL, _PROXY_COL, _TRUE_COL)
_METHODS = ("bon", "bop", "tilt", "sbon")


# ----------------------------------------------------------------------------- inputs


def _floats(x: ArrayLike, name: str) -> np.ndarray:
    """A one-dimensional contiguous float64 array (no copy if ``x`` already is one)."""
    a = _np.asarray(x, dtype=_np.float64)
    if a.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {a.shape}")
    return _np.ascontiguousarray(a)


def _ids(x: ArrayLike) -> Any:
    """Prompt ids for the native layer: an int64 array, or a sequence of str/int."""
    if isinstance(x, (str, bytes)):
        raise TypeError("prompt_ids must be a sequence of strings or integers, one per row, not a single string")
    if isinstance(x, (list, tuple)):
        return x
    a = _np.asarray(x)
    if a.ndim != 1:
        raise ValueError(f"prompt_ids must be one-dimensional, got shape {a.shape}")
    if a.dtype.kind == "i" or (a.dtype.kind == "u" and a.dtype.itemsize < 8):
        return _np.ascontiguousarray(a, dtype=_np.int64)
    if a.dtype.kind == "u":
        return a.tolist()
    return a


def _n_list(n: Union[int, Sequence[int], None]) -> Optional[List[int]]:
    if n is None:
        return None
    if isinstance(n, (int, _np.integer)):
        return [_operator.index(n)]
    return [_operator.index(k) for k in n]


def _seed(seed: int) -> int:
    s = _operator.index(seed)
    if not 0 <= s < 2**64:
        raise ValueError(f"seed must be an integer in [0, 2**64), got {s}")
    return s


def _opt_index(x: Optional[int], name: str) -> Optional[int]:
    if x is None:
        return None
    k = _operator.index(x)
    if k < 0:
        raise ValueError(f"{name} must be >= 0, got {k}")
    return k


# ----------------------------------------------------------------------------- tables


def _frame_library(x: Any) -> Optional[str]:
    """``"pandas"`` or ``"polars"`` if ``x`` is a DataFrame of that library (or of a subclass).

    Told from the class's module name, so neither library is ever imported here.
    """
    for cls in type(x).__mro__:
        lib = cls.__module__.partition(".")[0]
        if cls.__name__ == "DataFrame" and lib in ("pandas", "polars"):
            return lib
    return None


def _column(frame: Any, lib: str, name: Any, role: str) -> np.ndarray:
    """One column of a DataFrame as a NumPy array; a missing one is a ``ValueError`` naming it."""
    columns = list(frame.columns)
    if not isinstance(name, str) and lib == "polars":
        raise TypeError(f"{role} must name a column of the DataFrame (a str), got {type(name).__name__}")
    if name not in columns:
        hint = f"; to pass the method, write method={name!r}" if role == "proxy" and str(name).lower() in _METHODS else ""
        raise ValueError(
            f"DataFrame: missing column {str(name)!r} (the {role} column: {role}={name!r}; "
            f"available columns: {', '.join(map(str, columns))}){hint}"
        )
    col = frame[name]
    if lib == "pandas" and role != "prompt" and hasattr(col, "to_numpy"):
        # Nullable dtypes (Float64, Int64, boolean) hold pd.NA: NaN, which the engine reports by row.
        try:
            return col.to_numpy(dtype="float64", na_value=_np.nan)
        except (TypeError, ValueError):
            pass  # e.g. text: let _floats say what could not be converted
    if lib == "polars" and hasattr(col, "to_numpy"):
        return col.to_numpy()
    return _np.asarray(col)


def _rows(
    fn: str, data: Any, proxy: Any, true: Any, prompt: Any, *, proxy_role: bool = True
) -> Tuple[Any, Any, Any]:
    """``(prompt_ids, proxy, true)`` of any accepted data form: three arrays, a :class:`Dataset`, or a
    pandas / polars DataFrame with the columns ``prompt``, ``proxy`` and ``true``."""
    if isinstance(data, Dataset):
        given = [("prompt", prompt, 0), ("proxy", proxy, 1), ("true", true, 2)]
        for role, value, i in given if proxy_role else given[::2]:
            if value is None or (isinstance(value, str) and value in (_DEFAULT_COLUMNS[i], data.columns[i])):
                continue  # the columns hedge.load read, by their default or their own names
            if role == "proxy" and isinstance(value, str) and value.lower() in _METHODS:
                hint = f": to pass the method, write {fn}(dataset, method={value!r})"
            else:
                hint = f"; a Dataset holds the {role} column hedge.load read ({data.columns[i]!r}): choose it there"
            raise TypeError(f"{fn}() got {role}={value!r} with a Dataset{hint}")
        return data.prompt_ids, data.proxy, data.true
    lib = _frame_library(data)
    if lib is not None:
        for role, value in (("prompt", prompt), ("proxy", proxy), ("true", true)):
            if role == "proxy" and not proxy_role:
                continue
            if not isinstance(value, (str, int)) or isinstance(value, bool):
                raise TypeError(
                    f"{fn}() with a DataFrame takes column names: {role} must name a column, "
                    f"got {type(value).__name__}"
                )
        ids = _column(data, lib, prompt, "prompt")
        p = _column(data, lib, proxy, "proxy") if proxy_role else None
        return ids, p, _column(data, lib, true, "true")
    if isinstance(prompt, str) and prompt != _PROMPT_COL:
        raise TypeError(f"{fn}(): prompt={prompt!r} names a column, but the data is not a Dataset or a DataFrame")
    for role, value in (("proxy", proxy), ("true", true)):
        if isinstance(value, str) and (role != "proxy" or proxy_role):
            raise TypeError(
                f"{fn}(): {role}={value!r} is a column name, but the first argument is not a Dataset or a "
                f"DataFrame ({type(data).__name__}); pass arrays: {_ARRAY_FORMS[fn]}"
            )
    return data, proxy, true


_ARRAY_FORMS = {
    "tune": "tune(prompt_ids, proxy, true, method, ...)",
    "curve": "curve(prompt_ids, proxy, true, method, thetas, ...)",
    "paired": "paired(prompt_ids, proxy, true, method, theta_a, theta_b, ...)",
    "compare": "compare(prompt_ids, {name: proxy, ...}, true, ...)",
}


def _missing(fn: str, **values: Any) -> NoReturn:
    """The ``TypeError`` of the first argument left ``None`` (they are optional only after a table)."""
    name = next(name for name, value in values.items() if value is None)
    raise TypeError(f"{fn}() missing required argument: {name!r}")


# ----------------------------------------------------------------------------- results


def _pick(cls: type, d: Dict[str, Any]) -> Dict[str, Any]:
    names = {f.name for f in _dc.fields(cls)}
    return {k: v for k, v in d.items() if k in names}


@_dc.dataclass(frozen=True)
class SbonRow:
    """Soft Best-of-n: the tuned beta for one ``n`` (one row of ``TuneResult.per_n``)."""

    n: int
    beta: float
    regime: str
    expected_true_reward: float
    stderr: Optional[float]
    kl: Optional[float]
    expected_samples: float


@_dc.dataclass(frozen=True)
class Holdout:
    """Honest reporting: tuned on the calibration prompts, evaluated on held-out prompts.

    ``tuned_*`` is the parameter tuned on the calibration prompts, ``oracle_*`` the one
    tuned on the held-out prompts themselves (an upper bound), ``default_*`` the untuned
    largest parameter of the range ("always use the most samples"). Every reward is the
    estimated expected true reward on the held-out prompts. ``*_n`` are set for SBoN only.
    """

    fraction: float
    prompts: int
    calibration_prompts: int
    tuned_theta: float
    tuned_regime: str
    tuned_reward: float
    tuned_stderr: Optional[float]
    oracle_theta: float
    oracle_reward: float
    default_theta: float
    default_reward: float
    default_stderr: Optional[float]
    tuned_verdict: Optional[str] = None
    """The verdict on the calibration prompts (see ``TuneResult.verdict``)."""
    tuned_vs_default: Optional[Dict[str, Optional[float]]] = None
    """Held-out ``tuned - default`` on the same prompts: ``{"difference", "stderr", "z"}``."""
    tuned_n: Optional[int] = None
    oracle_n: Optional[int] = None
    default_n: Optional[int] = None


@_dc.dataclass(frozen=True, repr=False)
class TuneResult:
    """The result of :func:`tune`: the fields of ``hedge tune --json``.

    ``None`` stands where the command line prints ``null`` (a standard error with a
    single prompt, a KL that does not exist) and for keys it leaves out
    (``theta_continuous`` except for BoN, ``n``/``per_n`` except for SBoN,
    ``holdout``, ``interval`` and ``bootstrap`` unless requested).
    :meth:`to_dict` gives the command line's object itself.
    """

    method: str
    """``"bon"``, ``"bop"``, ``"tilt"`` or ``"sbon"``."""
    parameter: str
    """Name of the tuned parameter: ``"n"``, ``"mu"``, ``"lambda"`` or ``"beta"``."""
    theta: float
    """The tuned parameter (BoN: the integer n, as a float)."""
    regime: str
    """``"increasing"``, ``"hacking"``, ``"valley"`` or ``"decreasing"``: the shape of the
    *estimated* true-reward curve on the range. Use :attr:`verdict` to say "hacking"."""
    expected_true_reward: float
    stderr: Optional[float]
    kl: Optional[float]
    """KL divergence to the reference policy (nats)."""
    expected_samples: float
    prompts: int
    skipped_prompts: int
    """Prompts left out for having a single response."""
    estimator: str
    range: Tuple[float, float]
    slope_lo: Optional[float]
    slope_hi: Optional[float]
    seed: int
    theta_continuous: Optional[float] = None
    """BoN: the continuous root n† before rounding to an integer."""
    n: Optional[int] = None
    """SBoN: the chosen number of candidates."""
    per_n: Tuple[SbonRow, ...] = ()
    """SBoN: beta tuned for each n of the grid."""
    holdout: Optional[Holdout] = None
    interval: Optional[Tuple[float, float]] = None
    """95% bootstrap percentile interval of the tuned parameter."""
    bootstrap: Optional[Dict[str, Any]] = None
    """``{"resamples": B, "level": 0.95}`` when an interval was requested."""
    verdict: Optional[str] = None
    """What the data say once noise is accounted for: ``"hacking"`` (the decline after the
    peak is significant at ``confidence``, corrected for the peak having been chosen on the
    same data), ``"no_hacking_detected"``, ``"proxy_hurts"`` or ``"inconclusive"``."""
    evidence: Optional[Dict[str, Any]] = None
    """The tests behind the verdict: ``gain`` and ``loss_at_default`` (paired differences with
    ``stderr``, ``z``, ``critical``, ``significant``, ``interval``), ``hacking_significant``,
    ``level``, ``prompts_needed`` (see the README)."""
    selected: Optional[Dict[str, Any]] = None
    """The parameter to deploy under the ``select`` rule (``theta``, ``n``, its reward and the
    samples it saves); ``hedge serve --from-tune`` deploys it."""
    _raw: Dict[str, Any] = _dc.field(default_factory=dict, compare=False)

    @classmethod
    def _from_dict(cls, d: Dict[str, Any]) -> "TuneResult":
        kw = _pick(cls, d)
        kw["range"] = tuple(d["range"])
        kw["per_n"] = tuple(SbonRow(**_pick(SbonRow, r)) for r in d.get("per_n", ()))
        if "holdout" in d:
            kw["holdout"] = Holdout(**_pick(Holdout, d["holdout"]))
        if "interval" in d:
            kw["interval"] = tuple(d["interval"])
        if "bootstrap" in d:
            kw["bootstrap"] = dict(d["bootstrap"])
        return cls(**kw, _raw=d)

    def to_dict(self) -> Dict[str, Any]:
        """The object ``hedge tune --json`` prints, without its file keys ``data`` and ``columns``."""
        return _copy.deepcopy(self._raw)

    def to_json(self, indent: Optional[int] = 2) -> str:
        """:meth:`to_dict` as JSON text (e.g. for ``hedge serve --from-tune FILE``)."""
        return _json.dumps(self._raw, indent=indent)

    def __repr__(self) -> str:
        def g(x: Optional[float], digits: int = 6) -> str:
            return "None" if x is None else f"{x:.{digits}g}"

        theta = f"{self.parameter}={g(self.theta, 8)}"
        if self.n is not None:
            theta += f", n={self.n}"
        if self.theta_continuous is not None:
            theta += f" (continuous {g(self.theta_continuous, 8)})"
        parts = [
            f"method={self.method!r}",
            theta,
            f"regime={self.regime!r}",
            f"verdict={self.verdict!r}",
            f"expected_true_reward={g(self.expected_true_reward)} ± {g(self.stderr, 3)}",
            f"kl={g(self.kl, 4)}",
            f"expected_samples={g(self.expected_samples, 4)}",
            f"prompts={self.prompts}",
        ]
        if self.interval is not None:
            parts.append(f"interval=[{g(self.interval[0])}, {g(self.interval[1])}]")
        if self.holdout is not None:
            h = self.holdout
            parts.append(
                f"holdout(tuned={g(h.tuned_reward)}, oracle={g(h.oracle_reward)}, default={g(h.default_reward)})"
            )
        return f"TuneResult({', '.join(parts)})"


@_dc.dataclass(frozen=True, repr=False)
class Dataset:
    """A calibration file read by :func:`load`: one entry per kept row.

    Pass it whole to :func:`tune`, :func:`curve`, :func:`paired` or :func:`compare`
    (``hedge.tune(d, method="bon")``). It also unpacks like the tuple
    ``(prompt_ids, proxy, true)``, so ``hedge.tune(*d, "bop")`` works too, and
    :meth:`to_frame` makes a pandas DataFrame of it.
    """

    prompt_ids: np.ndarray
    """Prompt id of each row (NumPy object array of ``str``); rows are grouped by prompt."""
    proxy: np.ndarray
    """Proxy reward of each row (float64)."""
    true: np.ndarray
    """True reward of each row (float64; ``true``/``false`` read as 1/0)."""
    source: str
    """The file name."""
    skipped_prompts: int
    """Prompts dropped for having a single response (their rows are not in the arrays)."""
    rows_read: int
    """Data rows in the file, including those of dropped prompts."""
    columns: Tuple[str, str, str] = (_PROMPT_COL, _PROXY_COL, _TRUE_COL)
    """The file's columns that were read: ``(prompt, proxy, true)``."""

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter((self.prompt_ids, self.proxy, self.true))

    @property
    def num_rows(self) -> int:
        """Number of kept rows."""
        return len(self.proxy)

    @property
    def num_prompts(self) -> int:
        """Number of kept prompts."""
        return len(set(self.prompt_ids.tolist()))

    def to_frame(self) -> Any:
        """The rows as a pandas DataFrame whose columns have the file's names (:attr:`columns`)
        (needs pandas)."""
        pd = _pandas("Dataset.to_frame()")
        return pd.DataFrame(dict(zip(self.columns, (self.prompt_ids, self.proxy, self.true))))

    def __repr__(self) -> str:
        return (
            f"Dataset(source={self.source!r}, rows={self.num_rows}, prompts={self.num_prompts}, "
            f"skipped_prompts={self.skipped_prompts}, columns={self.columns!r})"
        )


def _pandas(what: str) -> Any:
    try:
        import pandas as pd
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(f"{what} needs pandas: pip install pandas") from e
    return pd


class Curve(dict):
    """The result of :func:`curve`: a ``dict`` of float64 arrays, one entry per theta (``theta``,
    ``reward``, ``stderr``, ``kl``, ``expected_samples``), with :meth:`to_frame`.

    ``polars.DataFrame(dict(c))`` makes a polars frame of it.
    """

    def to_frame(self) -> Any:
        """The curve as a pandas DataFrame, one row per theta (needs pandas)."""
        return _pandas("Curve.to_frame()").DataFrame(dict(self))


# ----------------------------------------------------------------------------- API


def tune(
    prompt_ids: Union[ArrayLike, Table],
    proxy: Union[ArrayLike, str] = _PROXY_COL,
    true: Union[ArrayLike, str] = _TRUE_COL,
    method: str = "bop",
    *,
    prompt: str = _PROMPT_COL,
    range: Optional[Tuple[float, float]] = None,
    n: Union[int, Sequence[int], None] = None,
    estimator: str = "plugin",
    holdout: Optional[float] = None,
    bootstrap: Optional[int] = None,
    seed: int = 0,
    confidence: float = 0.95,
    select: str = "peak",
    max_samples: Optional[float] = None,
    cost_per_sample: float = 0.0,
) -> TuneResult:
    """HedgeTune: the parameter of ``method`` that maximises the estimated true reward.

    The same computation as ``hedge tune`` on a file with these rows; ``result.to_dict()``
    equals its ``--json`` output without the ``data`` and ``columns`` keys. The data is three
    arrays, ``tune(prompt_ids, proxy, true, ...)``, or one table: ``tune(dataset, method="bon")``
    with a :class:`Dataset`, or ``tune(df, method="bon", prompt="prompt_id", proxy="proxy",
    true="true")`` with a pandas or polars DataFrame (the column names shown are the defaults,
    those of the command line).

    Args:
        prompt_ids: prompt of each row (strings or integers; rows of a prompt need not be
            contiguous; prompts with a single response are skipped and counted); or the
            whole table: a :class:`Dataset` or a DataFrame.
        proxy: proxy reward of each row (what the method sees); with a DataFrame, the name of
            its column.
        true: true reward of each row; with a DataFrame, the name of its column.
        method: ``"bon"`` (n), ``"bop"`` (mu), ``"tilt"`` (lambda) or ``"sbon"`` (beta).
        range: search range ``(lo, hi)`` of the parameter. Defaults: bon ``(1, m_max)``,
            bop ``(0, m_max - 1)``, tilt ``(0, 10 m_max)``, sbon ``(0, 1000)``, where
            ``m_max`` is the largest number of responses of a prompt.
        n: SBoN only: tune beta for this n, or for each n of a list and keep the best
            (default: powers of two up to ``m_max``).
        estimator: ``"plugin"`` (default), ``"unbiased"`` (BoN, integer n) or ``"paper"``.
        holdout: hold out this fraction of prompts: tune on the rest and report true
            rewards on the held-out prompts (``result.holdout``).
        bootstrap: number of prompt resamples for a 95% interval of the parameter
            (``result.interval``).
        seed: seed of the hold-out split and of the bootstraps (the verdict's and ``bootstrap``'s).
        confidence: level of the verdict's test and intervals (``result.verdict``,
            ``result.evidence``), in ``[0.5, 1)``.
        select: ``"peak"`` (default) or ``"one-se"``: deploy the smallest parameter whose true
            reward is within one paired standard error of the peak (``result.selected``).
        max_samples: only parameters with at most this many expected samples per request
            (BoN n, BoP 1 + mu, SBoN n); as ``hedge tune --max-samples``.
        cost_per_sample: maximise E[true reward] - cost_per_sample * E[samples] instead
            (``hedge tune --cost-per-sample``).
        prompt: with a DataFrame, the name of the prompt id column.

    Raises:
        ValueError: NaN or infinite values, arrays of different lengths, an unknown
            method or estimator, an invalid range or argument, no usable prompt, a
            column missing from the DataFrame (the message names it).
        TypeError: column names given with arrays, or arrays given with a DataFrame.

    >>> import hedge
    >>> ids = ["q1"] * 5 + ["q2"] * 5
    >>> proxy = [0.1, 0.2, 0.3, 0.4, 0.5, 1, 2, 3, 4, 5]
    >>> true = [0, 0, 1, 1, 0] * 2          # the top-scored response is bad: hackable
    >>> r = hedge.tune(ids, proxy, true, "bon")
    >>> r.parameter, r.theta, r.regime, round(r.expected_true_reward, 6)
    ('n', 2.0, 'hacking', 0.48)
    >>> r.to_dict()["theta"] == r.theta
    True
    """
    prompt_ids, proxy, true = _rows("tune", prompt_ids, proxy, true, prompt)
    if range is not None:
        try:
            lo, hi = range
        except (TypeError, ValueError):
            raise ValueError(f"range must be a pair (lo, hi), got {range!r}") from None
        range = (float(lo), float(hi))
    d = _hedge.tune(
        _ids(prompt_ids),
        _floats(proxy, "proxy"),
        _floats(true, "true"),
        method,
        range=range,
        n=_n_list(n),
        estimator=estimator,
        holdout=None if holdout is None else float(holdout),
        bootstrap=_opt_index(bootstrap, "bootstrap"),
        seed=_seed(seed),
        confidence=float(confidence),
        select=select,
        max_samples=None if max_samples is None else float(max_samples),
        cost_per_sample=float(cost_per_sample),
    )
    return TuneResult._from_dict(d)


class Comparison(dict):
    """The result of :func:`compare`: the ``hedge compare --json`` object (a ``dict``), with
    :meth:`to_frame` for a pandas DataFrame of the leaderboard and :attr:`leaderboard` for its rows."""

    @property
    def leaderboard(self) -> List[Dict[str, Any]]:
        """The rows, best held-out tuned reward first."""
        return self["leaderboard"]

    def to_frame(self) -> Any:
        """The leaderboard as a pandas DataFrame, one row per proxy x method (needs pandas).

        Columns: rank, proxy, ensemble, lambda, method, tuned_theta, expected_samples,
        reward, stderr, versus_leader, versus_leader_stderr, oracle_reward, default_reward,
        verdict, pareto.
        """
        pd = _pandas("Comparison.to_frame()")
        rows = []
        for e in self["leaderboard"]:
            h = e["holdout"]
            rows.append(
                {
                    "rank": e["rank"],
                    "proxy": e["proxy"],
                    "ensemble": e.get("ensemble"),
                    "lambda": e.get("lambda"),
                    "method": e["method"],
                    "tuned_theta": h["tuned_theta"],
                    "expected_samples": e["expected_samples"],
                    "reward": h["tuned_reward"],
                    "stderr": h["tuned_stderr"],
                    "versus_leader": e["versus_leader"]["difference"],
                    "versus_leader_stderr": e["versus_leader"]["stderr"],
                    "oracle_reward": h["oracle_reward"],
                    "default_reward": h["default_reward"],
                    "verdict": h["tuned_verdict"],
                    "pareto": e["pareto"],
                }
            )
        return pd.DataFrame(rows).set_index("rank")


def compare(
    prompt_ids: Union[ArrayLike, Table],
    proxies: Union[Dict[str, ArrayLike], Sequence[str], None] = None,
    true: Union[ArrayLike, str] = _TRUE_COL,
    *,
    prompt: str = _PROMPT_COL,
    proxy_prefix: str = "proxy_",
    methods: Sequence[str] = ("bon",),
    ensembles: Sequence[str] = (),
    holdout: float = 0.5,
    seed: int = 0,
    confidence: float = 0.95,
    max_samples: Optional[float] = None,
    cost_per_sample: float = 0.0,
) -> Comparison:
    """Which proxy (and ensemble) and which method: a leaderboard tuned on calibration
    prompts and judged on held-out ones, as ``hedge compare --json`` (same numbers, same JSON).

    The data is arrays, ``compare(prompt_ids, {name: scores, ...}, true)``, or one table: a
    DataFrame, ``compare(df, ["proxy_a", "proxy_b"])`` (by default every column whose name
    starts with ``proxy_prefix``, as ``hedge compare`` does without ``--proxy-cols``), or a
    :class:`Dataset`, whose one proxy column is compared across ``methods``.

    Args:
        prompt_ids: prompt of each row; or the whole table (a :class:`Dataset` or a DataFrame).
        proxies: ``{name: scores}``, one array per proxy column, row-aligned with ``true``;
            with a DataFrame, the names of its proxy columns.
        true: true reward of each row; with a DataFrame, the name of its column.
        prompt: with a DataFrame, the name of the prompt id column.
        proxy_prefix: with a DataFrame and no ``proxies``: compare every column whose name
            starts with this.
        methods: the methods to tune (``"bon"``, ``"bop"``, ``"tilt"``, ``"sbon"``).
        ensembles: ensembles of all the proxies to rank too: ``"mean-z"``, ``"min-z"``,
            ``"uwo"`` (lambda tuned on the calibration prompts), ``"rank-mean"``.
        holdout: fraction of prompts held out to judge on.
        seed: seed of the split (the same for every row) and of the verdicts' bootstrap.
        confidence: level of the verdicts.
        max_samples, cost_per_sample: the budget, as in :func:`tune`.

    >>> import hedge
    >>> ids = [i // 4 for i in range(40)]
    >>> true = [float(i % 4 == 2) for i in range(40)]
    >>> good = [float(i % 4 == 2) + 0.01 * (i % 4) for i in range(40)]
    >>> bad = [float(i % 4) for i in range(40)]
    >>> c = hedge.compare(ids, {"good": good, "bad": bad}, true)
    >>> [row["proxy"] for row in c.leaderboard]
    ['good', 'bad']
    """
    data = prompt_ids
    proxies = _proxy_columns(data, proxies, proxy_prefix)
    prompt_ids, _, true = _rows("compare", data, None, true, prompt, proxy_role=False)
    if not proxies:
        raise ValueError("compare needs at least one proxy column")
    names = [str(k) for k in proxies]
    d = _hedge.compare(
        _ids(prompt_ids),
        _floats(true, "true"),
        names,
        [_floats(v, k) for k, v in zip(names, proxies.values())],
        [str(m) for m in methods],
        [str(e) for e in ensembles],
        holdout=float(holdout),
        seed=_seed(seed),
        confidence=float(confidence),
        max_samples=None if max_samples is None else float(max_samples),
        cost_per_sample=float(cost_per_sample),
    )
    return Comparison(d)


def _proxy_columns(data: Any, proxies: Any, prefix: str) -> Dict[str, Any]:
    """:func:`compare`'s ``{name: scores}`` for each form of data."""
    if isinstance(data, Dataset):
        if proxies is not None and list(proxies) != [data.columns[1]]:
            raise TypeError(
                f"compare() got proxies={proxies!r} with a Dataset, which holds one proxy column "
                f"({data.columns[1]!r}); pass a DataFrame to compare several"
            )
        return {data.columns[1]: data.proxy}
    lib = _frame_library(data)
    if lib is None:
        if proxies is None:
            raise TypeError("compare() missing required argument: 'proxies' ({name: scores, ...})")
        if not hasattr(proxies, "values"):
            raise TypeError(
                f"compare(): proxies must be a dict {{name: scores}} with arrays, got {type(proxies).__name__}"
            )
        return dict(proxies)
    if proxies is None:
        names = [c for c in data.columns if isinstance(c, str) and c.startswith(prefix)]
        if not names:
            raise ValueError(
                f"DataFrame: no column starts with {prefix!r} (available columns: "
                f"{', '.join(map(str, data.columns))}); give proxies=[column, ...]"
            )
    elif isinstance(proxies, str):
        names = [proxies]
    elif hasattr(proxies, "values"):
        raise TypeError("compare() with a DataFrame takes the names of its proxy columns: proxies=[column, ...]")
    else:
        names = list(proxies)
    return {name: _column(data, lib, name, "proxy") for name in names}


def paired(
    prompt_ids: Union[ArrayLike, Table],
    proxy: Union[ArrayLike, str] = _PROXY_COL,
    true: Union[ArrayLike, str] = _TRUE_COL,
    method: Optional[str] = None,
    theta_a: Optional[float] = None,
    theta_b: Optional[float] = None,
    *,
    prompt: str = _PROMPT_COL,
    n: Optional[int] = None,
    estimator: str = "plugin",
) -> Dict[str, float]:
    """``f(theta_a) - f(theta_b)`` of one method, estimated on the same prompts.

    Returns ``{"difference", "stderr", "z", "prompts"}``: the difference of the estimated
    expected true rewards, its *paired* standard error (the standard deviation of the
    per-prompt differences over the square root of the number of prompts) and their ratio.
    The paired standard error is the right yardstick for "is theta_a better than theta_b?":
    the standard errors of the two levels include how much the prompts differ, which the
    comparison cancels. ``n`` is required for ``"sbon"``. The data is three arrays or one table,
    as in :func:`tune`: ``paired(dataset, method="bon", theta_a=25, theta_b=5)``.

    >>> import hedge
    >>> ids = ["q1"] * 5 + ["q2"] * 5 + ["q3"] * 5
    >>> proxy = [0.1, 0.2, 0.3, 0.4, 0.5] * 3
    >>> true = [0, 0, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1]
    >>> d = hedge.paired(ids, proxy, true, "bon", 2, 1)
    >>> round(d["difference"], 6), d["prompts"]
    (0.106667, 3)
    """
    prompt_ids, proxy, true = _rows("paired", prompt_ids, proxy, true, prompt)
    if method is None or theta_a is None or theta_b is None:
        _missing("paired", method=method, theta_a=theta_a, theta_b=theta_b)
    return _hedge.paired(
        _ids(prompt_ids),
        _floats(proxy, "proxy"),
        _floats(true, "true"),
        method,
        float(theta_a),
        float(theta_b),
        n=None if n is None else _operator.index(n),
        estimator=estimator,
    )


def curve(
    prompt_ids: Union[ArrayLike, Table],
    proxy: Union[ArrayLike, str] = _PROXY_COL,
    true: Union[ArrayLike, str] = _TRUE_COL,
    method: Optional[str] = None,
    thetas: Optional[ArrayLike] = None,
    *,
    prompt: str = _PROMPT_COL,
    n: Optional[int] = None,
    estimator: str = "plugin",
) -> Curve:
    """The estimated true reward against the parameter, as ``hedge curve`` computes it.

    Returns a :class:`Curve`: a dict of float64 arrays, one entry per theta: ``theta``,
    ``reward`` (the estimated expected true reward), ``stderr`` (its standard error across
    prompts), ``kl`` (KL to the reference, nats) and ``expected_samples``; ``nan`` where the
    command line prints ``null``; ``.to_frame()`` makes a pandas DataFrame of it. ``n`` is
    required for ``"sbon"`` (and only allowed there). The data is three arrays or one table,
    as in :func:`tune`: ``curve(dataset, method="bon", thetas=range(1, 26))``.

    >>> import hedge
    >>> ids = ["q1"] * 5 + ["q2"] * 5
    >>> proxy = [0.1, 0.2, 0.3, 0.4, 0.5, 1, 2, 3, 4, 5]
    >>> true = [0, 0, 1, 1, 0] * 2
    >>> c = hedge.curve(ids, proxy, true, "bon", [1, 2, 4])
    >>> sorted(c)
    ['expected_samples', 'kl', 'reward', 'stderr', 'theta']
    >>> c["reward"].round(6).tolist()        # (4/5)^n - (2/5)^n
    [0.4, 0.48, 0.384]
    """
    prompt_ids, proxy, true = _rows("curve", prompt_ids, proxy, true, prompt)
    if method is None or thetas is None:
        _missing("curve", method=method, thetas=thetas)
    t = _np.atleast_1d(_np.asarray(thetas, dtype=_np.float64))
    if t.ndim != 1:
        raise ValueError(f"thetas must be one-dimensional, got shape {t.shape}")
    return Curve(_hedge.curve(
        _ids(prompt_ids),
        _floats(proxy, "proxy"),
        _floats(true, "true"),
        method,
        _np.ascontiguousarray(t),
        n=None if n is None else _operator.index(n),
        estimator=estimator,
    ))


def kl(method: str, theta: float, n: Optional[int] = None) -> Dict[str, float]:
    """KL to the reference policy, mean chosen quantile and expected samples (``hedge kl``).

    ``n`` (candidates) is required for ``"sbon"`` and ignored otherwise.

    >>> import hedge
    >>> d = hedge.kl("bon", 8)
    >>> round(d["kl"], 10), round(d["mean_quantile"], 10), d["expected_samples"]
    (1.2044415417, 0.8888888889, 8.0)
    """
    return _hedge.kl(method, float(theta), None if n is None else _operator.index(n))


def select(
    scores: ArrayLike,
    method: str,
    theta: float,
    n: Optional[int] = None,
    seed: Optional[int] = None,
) -> int:
    """Choose a candidate by its proxy scores; returns its index.

    BoN (n = theta): argmax of the first n scores, ties broken at random. BoP (mu = theta):
    draws n = 1 + Poisson(mu) first (see :func:`draw_n`), then argmax of the first n.
    SBoN (beta = theta, needs ``n``): softmax with inverse temperature beta over the first
    n scores. With a seed the choice is reproducible and equals that of the first line of
    ``hedge select --seed SEED``; without one it is random.

    >>> import hedge
    >>> hedge.select([0.2, 1.7, 0.9], "bon", 3)
    1
    >>> hedge.select([0.2, 1.7, 0.9, 3.0], "sbon", 0.5, n=4, seed=7) in range(4)
    True
    """
    return _hedge.select(
        _floats(scores, "scores"),
        method,
        float(theta),
        n=None if n is None else _operator.index(n),
        seed=None if seed is None else _seed(seed),
    )


def draw_n(method: str, theta: float, seed: Optional[int] = None, *, n: Optional[int] = None) -> int:
    """How many candidates to generate for the next request.

    BoP: a draw of 1 + Poisson(mu); BoN: n = theta; SBoN: ``n``. With the same seed,
    ``select(scores, "bop", mu, seed=s)`` looks at the first ``draw_n("bop", mu, s)`` scores.

    >>> import hedge
    >>> hedge.draw_n("bon", 8)
    8
    >>> hedge.draw_n("bop", 5.0, seed=1) >= 1
    True
    """
    return _hedge.draw_n(
        method, float(theta), seed=None if seed is None else _seed(seed), n=None if n is None else _operator.index(n)
    )


def load(
    path: Union[str, "os.PathLike[str]"],
    prompt_col: str = _PROMPT_COL,
    proxy_col: str = _PROXY_COL,
    true_col: str = _TRUE_COL,
    *,
    format: Optional[str] = None,
) -> Dataset:
    """Read a calibration file exactly as the command line's ``--data`` does.

    CSV (with a header row), JSON lines or Parquet, chosen by the extension (or
    ``format="csv" | "jsonl" | "parquet"``); ``"-"`` reads standard input. Prompts with a
    single response are dropped and counted in ``skipped_prompts`` (so ``tune`` on the
    result reports 0 skipped prompts where ``hedge tune`` on the file reports them). A
    ``response_id`` column, when present, is checked for duplicates. Bad values raise
    ``ValueError`` naming the file, line and column, e.g.
    ``scores.csv:17: column "proxy": "abc" is not a number``.

    Returns a :class:`Dataset`: pass it whole to :func:`tune`, :func:`curve`, :func:`paired`
    or :func:`compare` (``hedge.tune(d, method="bon")``); it also unpacks as
    ``prompt_ids, proxy, true``.
    """
    ids, proxy, true, source, skipped, rows_read = _hedge.load(
        _os.fspath(path), prompt_col, proxy_col, true_col, format=format
    )
    columns = (str(prompt_col), str(proxy_col), str(true_col))
    return Dataset(_np.array(ids, dtype=object), proxy, true, source, skipped, rows_read, columns)
