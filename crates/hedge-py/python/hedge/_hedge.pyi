"""Type stubs of the native module ``hedge._hedge`` (use the ``hedge`` package instead).

Array arguments must already be one-dimensional contiguous float64 arrays; the
``hedge`` package converts lists, pandas Series and other array-likes before calling.
"""

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import numpy.typing as npt

_F64 = npt.NDArray[np.float64]

DEFAULT_PROMPT_COL: str
"""The command line's default prompt id column, ``"prompt_id"``."""
DEFAULT_PROXY_COL: str
"""The command line's default proxy column, ``"proxy"``."""
DEFAULT_TRUE_COL: str
"""The command line's default true reward column, ``"true"``."""

def tune(
    prompt_ids: Any,
    proxy: _F64,
    truth: _F64,
    method: str,
    range: Optional[Tuple[float, float]] = None,
    n: Optional[Sequence[int]] = None,
    estimator: str = "plugin",
    holdout: Optional[float] = None,
    bootstrap: Optional[int] = None,
    seed: int = 0,
    confidence: float = 0.95,
    select: str = "peak",
    max_samples: Optional[float] = None,
    cost_per_sample: float = 0.0,
) -> Dict[str, Any]: ...
def compare(
    prompt_ids: Any,
    truth: _F64,
    names: Sequence[str],
    columns: Sequence[_F64],
    methods: Sequence[str],
    ensembles: Sequence[str],
    holdout: float = 0.5,
    seed: int = 0,
    confidence: float = 0.95,
    max_samples: Optional[float] = None,
    cost_per_sample: float = 0.0,
) -> Dict[str, Any]: ...
def paired(
    prompt_ids: Any,
    proxy: _F64,
    truth: _F64,
    method: str,
    theta_a: float,
    theta_b: float,
    n: Optional[int] = None,
    estimator: str = "plugin",
) -> Dict[str, float]: ...
def curve(
    prompt_ids: Any,
    proxy: _F64,
    truth: _F64,
    method: str,
    thetas: _F64,
    n: Optional[int] = None,
    estimator: str = "plugin",
) -> Dict[str, _F64]: ...
def kl(method: str, theta: float, n: Optional[int] = None) -> Dict[str, float]: ...
def select(
    scores: _F64, method: str, theta: float, n: Optional[int] = None, seed: Optional[int] = None
) -> int: ...
def draw_n(method: str, theta: float, seed: Optional[int] = None, n: Optional[int] = None) -> int: ...
def load(
    path: str,
    prompt_col: str = "prompt_id",
    proxy_col: str = "proxy",
    true_col: str = "true",
    format: Optional[str] = None,
) -> Tuple[List[str], _F64, _F64, str, int, int]: ...
