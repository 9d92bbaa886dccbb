"""The table forms of `tune`, `curve`, `paired` and `compare` (a `Dataset`, a pandas or polars DataFrame
with column names), the public names of the package, and `to_frame()` on results."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

import hedge
from conftest import PROXY_COL, REALSUMM, read_csv, without_file_keys

REAL = ["--data", str(REALSUMM), "--proxy-col", PROXY_COL]
COMPARE_COLS = ["proxy_bert_recall_score", PROXY_COL, "proxy_js-2"]


def small():
    """Two prompts whose top-scored response is bad: BoN peaks at n = 2."""
    ids = ["q1"] * 5 + ["q2"] * 5
    proxy = [0.1, 0.2, 0.3, 0.4, 0.5, 1, 2, 3, 4, 5]
    true = [0, 0, 1, 1, 0] * 2
    return ids, proxy, true


@pytest.fixture(scope="module")
def dataset():
    return hedge.load(REALSUMM, proxy_col=PROXY_COL)


@pytest.fixture(scope="module")
def real_columns():
    """The realsumm rows read with Python's csv module: {column: values} (exact floats, unlike
    pandas.read_csv's default parser)."""
    ids, _, true = read_csv(REALSUMM, PROXY_COL)
    cols = {"prompt_id": ids, "true": true}
    for c in COMPARE_COLS:
        cols[c] = read_csv(REALSUMM, c)[1]
    return cols


# ----------------------------------------------------------------------------- the package's names


def test_dir_lists_the_public_names_only():
    public = [name for name in dir(hedge) if not name.startswith("_")]
    assert public == sorted(hedge.__all__)
    assert all(callable(getattr(hedge, name)) for name in hedge.__all__)
    for private in ("np", "os", "json", "copy", "operator", "dataclass", "field", "Any", "Dict", "Optional"):
        assert not hasattr(hedge, private), private
    assert {"Curve", "Dataset", "Comparison", "TuneResult"} <= set(hedge.__all__)


def test_pandas_and_polars_are_not_imported_for_arrays_or_datasets():
    code = (
        "import sys, hedge\n"
        f"d = hedge.load({str(REALSUMM)!r}, proxy_col={PROXY_COL!r})\n"
        "hedge.tune(d, method='bon'); hedge.tune(*d, 'bon'); hedge.curve(d, method='bon', thetas=[1, 2])\n"
        "hedge.compare(d); hedge.paired(d, method='bon', theta_a=2, theta_b=1)\n"
        "print(sorted(m for m in ('pandas', 'polars', 'pyarrow') if m in sys.modules))\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "[]"


def test_column_name_defaults_are_the_cli_defaults(cli):
    help_text = cli.run("tune", "--help").stdout
    for flag, default in (("--prompt-col", "prompt_id"), ("--proxy-col", "proxy"), ("--true-col", "true")):
        assert re.search(rf"{flag} <NAME>.*?\[default: {default}\]", help_text, flags=re.S), flag
    for fn in (hedge.tune, hedge.curve, hedge.paired):
        assert fn.__kwdefaults__["prompt"] == "prompt_id"
        assert fn.__defaults__[:2] == ("proxy", "true")
    assert hedge.compare.__kwdefaults__["prompt"] == "prompt_id" and hedge.compare.__defaults__[1] == "true"
    assert hedge.load.__defaults__ == ("prompt_id", "proxy", "true")


# ----------------------------------------------------------------------------- Dataset


def test_dataset_is_taken_whole(cli, dataset):
    expected = without_file_keys(cli.json("tune", *REAL, "--method", "bon", "--holdout", "0.3", "--json"))
    assert hedge.tune(dataset, method="bon", holdout=0.3).to_dict() == expected
    assert hedge.tune(dataset, method="bon", holdout=0.3, proxy=PROXY_COL).to_dict() == expected
    assert hedge.tune(*dataset, "bon", holdout=0.3).to_dict() == expected  # unpacking still works
    assert dataset.columns == ("prompt_id", PROXY_COL, "true")
    assert repr(dataset).endswith(f"columns=('prompt_id', {PROXY_COL!r}, 'true'))")

    c = hedge.curve(dataset, method="bop", thetas=[0, 2, 24])
    ref = hedge.curve(*dataset, "bop", [0, 2, 24])
    assert isinstance(c, hedge.Curve) and isinstance(c, dict)
    assert all(np.array_equal(c[k], ref[k], equal_nan=True) for k in ref)

    assert hedge.paired(dataset, method="bop", theta_a=2, theta_b=5.5) == hedge.paired(*dataset, "bop", 2, 5.5)

    expected = cli.json("compare", *REAL, "--proxy-cols", PROXY_COL, "--methods", "bon,bop", "--seed", "3", "--json")
    got = hedge.compare(dataset, methods=("bon", "bop"), seed=3)
    assert dict(got) == expected
    assert [e["proxy"] for e in got.leaderboard] == [PROXY_COL, PROXY_COL]


def test_dataset_misuse_says_what_to_write(dataset):
    with pytest.raises(TypeError, match=re.escape("tune(dataset, method='bon')")):
        hedge.tune(dataset, "bon")
    with pytest.raises(TypeError, match=re.escape("curve(dataset, method='bop')")):
        hedge.curve(dataset, "bop", [1.0])
    with pytest.raises(TypeError, match=re.escape(f"proxy='score' with a Dataset; a Dataset holds the proxy column hedge.load read ({PROXY_COL!r})")):
        hedge.tune(dataset, proxy="score")
    with pytest.raises(TypeError, match="missing required argument: 'thetas'"):
        hedge.curve(dataset, method="bon")
    with pytest.raises(TypeError, match="missing required argument: 'theta_b'"):
        hedge.paired(dataset, method="bon", theta_a=2)
    with pytest.raises(TypeError, match="holds one proxy column"):
        hedge.compare(dataset, ["a", "b"])


# ----------------------------------------------------------------------------- pandas


def test_pandas_dataframe_with_column_names(cli, realsumm, real_columns):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(real_columns)
    expected = without_file_keys(cli.json("tune", *REAL, "--method", "bop", "--json"))
    assert hedge.tune(df, method="bop", proxy=PROXY_COL).to_dict() == expected
    assert hedge.tune(df, method="bop", prompt="prompt_id", proxy=PROXY_COL, true="true").to_dict() == expected

    # other names, other column order, integer-like ids as text, unsorted rows
    renamed = df.rename(columns={"prompt_id": "pid", PROXY_COL: "score", "true": "gold"})[["gold", "score", "pid"]]
    got = hedge.tune(renamed, method="bop", prompt="pid", proxy="score", true="gold").to_dict()
    assert got == expected

    c = hedge.curve(df, proxy=PROXY_COL, method="bon", thetas=range(1, 26))
    ref = hedge.curve(*realsumm, "bon", range(1, 26))
    assert all(np.array_equal(c[k], ref[k], equal_nan=True) for k in ref)
    assert hedge.paired(df, proxy=PROXY_COL, method="bon", theta_a=25, theta_b=5) == hedge.paired(*realsumm, "bon", 25, 5)

    expected = cli.json(
        "compare", "--data", str(REALSUMM), "--proxy-cols", ",".join(COMPARE_COLS),
        "--ensemble", "mean-z", "--methods", "bon,bop", "--seed", "3", "--json",
    )
    got = hedge.compare(df, COMPARE_COLS, methods=("bon", "bop"), ensembles=("mean-z",), seed=3)
    assert dict(got) == expected
    # the default: every column starting with proxy_prefix, as `hedge compare` without --proxy-cols
    by_prefix = hedge.compare(df, methods=("bon", "bop"), ensembles=("mean-z",), seed=3)
    assert dict(by_prefix) == expected  # df's proxy_ columns are COMPARE_COLS, in that order


def test_pandas_dtypes_and_index():
    pd = pytest.importorskip("pandas")
    ids, proxy, true = small()
    ref = hedge.tune(ids, proxy, true, "bon").to_dict()
    df = pd.DataFrame({"prompt_id": ids, "proxy": proxy, "true": true}, index=range(100, 110))
    assert hedge.tune(df, method="bon").to_dict() == ref  # the index plays no part
    assert hedge.tune(df[::-1], method="bon").to_dict()["theta"] == ref["theta"]
    df["prompt_id"] = df["prompt_id"].astype("category")
    df["proxy"] = df["proxy"].astype("Float64")  # nullable dtypes
    df["true"] = df["true"].astype("Int64")
    assert hedge.tune(df, method="bon").to_dict() == ref
    df.loc[102, "proxy"] = pd.NA  # a missing value is NaN, reported by row as for arrays
    with pytest.raises(ValueError, match=re.escape('row 3: column "proxy": NaN is not a finite number')):
        hedge.tune(df, method="bon")
    class Frame(pd.DataFrame):  # a subclass (geopandas-style) is a DataFrame too
        pass
    assert hedge.tune(Frame({"prompt_id": ids, "proxy": proxy, "true": true}), method="bon").to_dict() == ref


def test_wrong_column_names_are_named():
    pd = pytest.importorskip("pandas")
    ids, proxy, true = small()
    df = pd.DataFrame({"pid": ids, "score": proxy, "true": true})
    cols = "available columns: pid, score, true"
    with pytest.raises(ValueError, match=re.escape(f"DataFrame: missing column 'prompt_id' (the prompt column: prompt='prompt_id'; {cols})")):
        hedge.tune(df, method="bon", proxy="score")
    with pytest.raises(ValueError, match=re.escape(f"DataFrame: missing column 'proxy' (the proxy column: proxy='proxy'; {cols})")):
        hedge.curve(df, prompt="pid", method="bon", thetas=[1])
    with pytest.raises(ValueError, match=re.escape(f"missing column 'gold' (the true column: true='gold'; {cols})")):
        hedge.paired(df, prompt="pid", proxy="score", true="gold", method="bon", theta_a=2, theta_b=1)
    with pytest.raises(ValueError, match=re.escape("missing column 'bon' (the proxy column: proxy='bon'") + ".*write method='bon'"):
        hedge.tune(df, "bon", prompt="pid")
    with pytest.raises(ValueError, match=re.escape("missing column 'other' (the proxy column")):
        hedge.compare(df, ["score", "other"], prompt="pid")
    with pytest.raises(ValueError, match=re.escape(f"DataFrame: no column starts with 'proxy_' ({cols}); give proxies=")):
        hedge.compare(df, prompt="pid")
    with pytest.raises(TypeError, match="with a DataFrame takes column names: proxy must name a column, got Series"):
        hedge.tune(df, df["score"], prompt="pid")


# ----------------------------------------------------------------------------- polars


def test_polars_dataframe_with_column_names(realsumm, real_columns):
    pl = pytest.importorskip("polars")
    df = pl.DataFrame(real_columns)
    ref = hedge.tune(*realsumm, "bop", holdout=0.3).to_dict()
    assert hedge.tune(df, method="bop", proxy=PROXY_COL, holdout=0.3).to_dict() == ref
    c = hedge.curve(df, proxy=PROXY_COL, method="bon", thetas=[1, 5, 25])
    assert c["reward"].tolist() == hedge.curve(*realsumm, "bon", [1, 5, 25])["reward"].tolist()
    assert hedge.paired(df, proxy=PROXY_COL, method="bon", theta_a=25, theta_b=5) == hedge.paired(*realsumm, "bon", 25, 5)
    got = hedge.compare(df, COMPARE_COLS, seed=3)
    ids, _, true = realsumm
    assert dict(got) == dict(hedge.compare(ids, {c: real_columns[c] for c in COMPARE_COLS}, true, seed=3))
    ints = pl.DataFrame({"prompt_id": [1] * 5 + [2] * 5, "proxy": small()[1], "true": small()[2]})
    assert hedge.tune(ints, method="bon").theta == 2.0
    with pytest.raises(ValueError, match=re.escape("missing column 'gold' (the true column: true='gold'")):
        hedge.tune(df, proxy=PROXY_COL, true="gold")


# ----------------------------------------------------------------------------- arrays, unchanged


def test_array_form_is_unchanged():
    ids, proxy, true = small()
    ref = hedge.tune(ids, proxy, true, "bon").to_dict()
    assert hedge.tune(prompt_ids=ids, proxy=proxy, true=true, method="bon").to_dict() == ref
    assert hedge.curve(ids, proxy, true, "bon", [1, 2, 4])["reward"].round(6).tolist() == [0.4, 0.48, 0.384]
    assert hedge.paired(ids, proxy, true, "bon", 2, 1)["prompts"] == 2
    assert hedge.compare(ids, {"p": proxy}, true).leaderboard[0]["proxy"] == "p"
    with pytest.raises(TypeError, match=re.escape("proxy='proxy' is a column name, but the first argument is not a Dataset or a DataFrame (list); pass arrays: tune(prompt_ids, proxy, true, method, ...)")):
        hedge.tune(ids)
    with pytest.raises(TypeError, match="prompt='pid' names a column"):
        hedge.tune(ids, proxy, true, prompt="pid")
    with pytest.raises(TypeError, match="missing required argument: 'method'"):
        hedge.curve(ids, proxy, true)
    with pytest.raises(TypeError, match="missing required argument: 'proxies'"):
        hedge.compare(ids)
    with pytest.raises(TypeError, match="proxies must be a dict"):
        hedge.compare(ids, [proxy], true)


# ----------------------------------------------------------------------------- to_frame


def test_to_frame(dataset):
    pd = pytest.importorskip("pandas")
    c = hedge.curve(dataset, method="bon", thetas=[1, 2, 4])
    f = c.to_frame()
    assert list(f.columns) == ["theta", "reward", "stderr", "kl", "expected_samples"]
    assert f["reward"].tolist() == c["reward"].tolist() and len(f) == 3
    d = dataset.to_frame()
    assert list(d.columns) == ["prompt_id", PROXY_COL, "true"] and len(d) == dataset.num_rows
    assert hedge.tune(d, method="bon", proxy=PROXY_COL).to_dict() == hedge.tune(dataset, method="bon").to_dict()
    assert isinstance(hedge.compare(dataset).to_frame(), pd.DataFrame)
