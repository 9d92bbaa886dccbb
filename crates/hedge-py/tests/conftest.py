"""Shared fixtures: the installed `hedge` package, the CLI binary and the shared real data."""

from __future__ import annotations

import csv
import json
import os
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

REPO = Path(__file__).resolve().parents[3]
SHARED = Path(os.environ.get("HEDGE_SHARED_DATA", REPO.parent / "shared" / "data"))
REALSUMM = SHARED / "realsumm" / "scores.csv"
PROXY_COL = "proxy_rouge_1_precision"


def _find_cli() -> Path:
    env = os.environ.get("HEDGE_BIN")
    if env:
        return Path(env)
    for profile in ("debug", "release"):
        p = REPO / "target" / profile / "hedge"
        if p.exists():
            return p
    raise RuntimeError("no hedge binary: set HEDGE_BIN or run `cargo build -p hedge-cli`")


class Cli:
    """Runs the `hedge` binary."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def run(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.path), *args], input=input, capture_output=True, text=True)

    def json(self, *args: str, input: str | None = None) -> Any:
        p = self.run(*args, input=input)
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout)

    def error(self, *args: str, code: int = 1) -> str:
        """The message of a failing command, without the `hedge: ` prefix; `code` is its exit status
        (2 for usage errors: bad flags and out-of-domain parameter values, 1 otherwise)."""
        p = self.run(*args)
        assert p.returncode == code, (p.returncode, p.stdout, p.stderr)
        line = p.stderr.strip()
        assert line.startswith("hedge: "), line
        return line[len("hedge: ") :]


@pytest.fixture(scope="session")
def cli() -> Cli:
    path = _find_cli()
    assert path.exists(), f"{path} does not exist"
    return Cli(path)


def read_csv(path: Path, proxy_col: str = "proxy") -> Tuple[List[str], List[float], List[float]]:
    """Rows of a calibration CSV with Python's own csv module (independent of hedge.load)."""
    ids, proxy, true = [], [], []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            ids.append(row["prompt_id"])
            proxy.append(float(row[proxy_col]))
            true.append(float(row["true"]))
    return ids, proxy, true


@pytest.fixture(scope="session")
def realsumm() -> Tuple[List[str], List[float], List[float]]:
    assert REALSUMM.exists(), f"{REALSUMM} not found (the shared data lives beside the clone)"
    return read_csv(REALSUMM, PROXY_COL)


def without_file_keys(d: Dict[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in d.items() if k not in ("data", "columns")}
