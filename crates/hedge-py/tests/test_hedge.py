"""Tests of the `hedge` Python package (the installed wheel) against the `hedge` CLI."""

from __future__ import annotations

import doctest
import json
import math
import re
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import hedge
from conftest import PROXY_COL, REALSUMM, REPO, read_csv, without_file_keys

REAL = ["--data", str(REALSUMM), "--proxy-col", PROXY_COL]


def small():
    """Two prompts whose top-scored response is bad: BoN peaks at n = 2 ((4/5)^n - (2/5)^n)."""
    ids = ["q1"] * 5 + ["q2"] * 5
    proxy = [0.1, 0.2, 0.3, 0.4, 0.5, 1, 2, 3, 4, 5]
    true = [0, 0, 1, 1, 0] * 2
    return ids, proxy, true


# ----------------------------------------------------------------------------- packaging


def test_installed_wheel_is_imported():
    # The tests run against the installed wheel, not the source tree.
    assert "site-packages" in hedge.__file__, hedge.__file__
    pkg = Path(hedge.__file__).parent
    assert (pkg / "py.typed").exists()
    assert (pkg / "_hedge.pyi").exists()
    assert hedge.__version__ == "0.1.0"
    assert set(hedge.__all__) >= {"tune", "curve", "kl", "select", "draw_n", "load", "TuneResult"}


def test_docstring_examples():
    res = doctest.testmod(hedge, optionflags=doctest.ELLIPSIS)
    assert res.attempted >= 20 and res.failed == 0, res


def test_readme_example_runs(monkeypatch):
    text = (REPO / "crates" / "hedge-py" / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "no python block in the README"
    monkeypatch.chdir(REPO)  # the example reads ../shared/data relative to the repository root
    ns: dict = {}
    exec(compile(blocks[0], "README.md", "exec"), ns)
    assert ns["r"].regime == "hacking"
    assert 1 <= ns["best"] <= 25
    assert ns["n"] >= 1 and ns["k"] in (0, 1, 2)
    assert len(blocks) == 2, "the README's python blocks changed: check them here"
    pytest.importorskip("pandas")
    exec(compile(blocks[1], "README.md", "exec"), ns)  # the DataFrame example
    assert ns["r"].method == "bon" and ns["r"].regime == "hacking"
    assert len(ns["board"].leaderboard) == 4


def test_readme_python_section_is_the_crate_readme():
    crate = (REPO / "crates" / "hedge-py" / "README.md").read_text()
    root = (REPO / "README.md").read_text()
    section = root[root.index("## Python\n") :]
    section = section[: section.index("\n## ", 1) + 1]
    assert section.rstrip() == crate.rstrip()


# ----------------------------------------------------------------------------- tune = CLI

TUNE_CASES = [
    ("bon", {}, []),
    ("bop", {}, []),
    ("tilt", {}, []),
    ("sbon", {}, []),
    ("sbon", {"n": 8}, ["--n", "8"]),
    ("sbon", {"n": [4, 16], "range": (0, 50)}, ["--n-grid", "4,16", "--range", "0:50"]),
    ("bon", {"estimator": "unbiased"}, ["--estimator", "unbiased"]),
    ("bop", {"estimator": "paper"}, ["--estimator", "paper"]),
    ("bon", {"range": (2, 20)}, ["--range", "2:20"]),
    ("bop", {"holdout": 0.3, "bootstrap": 50, "seed": 4}, ["--holdout", "0.3", "--bootstrap", "50", "--seed", "4"]),
    ("bon", {"holdout": 0.25, "seed": 9}, ["--holdout", "0.25", "--seed", "9"]),
    ("sbon", {"n": [2, 8], "holdout": 0.3, "bootstrap": 10, "seed": 1},
     ["--n-grid", "2,8", "--holdout", "0.3", "--bootstrap", "10", "--seed", "1"]),
    ("bon", {"confidence": 0.9, "select": "one-se", "holdout": 0.3},
     ["--confidence", "0.9", "--select", "one-se", "--holdout", "0.3"]),
    ("bop", {"select": "one-se", "seed": 3}, ["--select", "one-se", "--seed", "3"]),
]


@pytest.mark.parametrize("method,kwargs,flags", TUNE_CASES, ids=lambda x: str(x))
def test_tune_equals_cli_json_on_real_data(cli, realsumm, method, kwargs, flags):
    expected = without_file_keys(cli.json("tune", *REAL, "--method", method, *flags, "--json"))
    r = hedge.tune(*realsumm, method, **kwargs)
    got = r.to_dict()
    assert got == expected
    assert list(got) == list(expected)  # same keys in the same order
    if "holdout" in expected:
        assert list(got["holdout"]) == list(expected["holdout"])
    assert json.loads(r.to_json()) == expected


def test_tune_attributes_mirror_the_dict(realsumm):
    for r in [
        hedge.tune(*realsumm, "bon", holdout=0.3, bootstrap=20, seed=2),
        hedge.tune(*realsumm, "sbon", n=[4, 8], holdout=0.3),
    ]:
        d = r.to_dict()
        for key, value in d.items():
            attr = getattr(r, key)
            if key in ("range", "interval"):
                assert attr == tuple(value)
            elif key == "per_n":
                assert [vars(row) for row in attr] == value
            elif key == "holdout":
                assert {k: v for k, v in vars(attr).items() if v is not None} == value
            else:
                assert attr == value, key
        assert "regime=" in repr(r) and r.method in repr(r)
        d["theta"] = -1.0  # to_dict returns a copy
        assert r.to_dict()["theta"] == r.theta
    assert r.n in (4, 8) and len(r.per_n) == 2 and r.per_n[0].n == 4
    assert hedge.tune(*realsumm, "sbon", n=np.int64(8)).to_dict() == hedge.tune(*realsumm, "sbon", n=[8]).to_dict()
    bon = hedge.tune(*realsumm, "bon")
    assert bon.theta_continuous is not None and bon.n is None and bon.holdout is None and bon.interval is None
    assert bon.regime == "hacking"


def test_verdict_and_evidence(realsumm):
    r = hedge.tune(*realsumm, "bon")
    assert r.regime == "hacking" and r.verdict == "inconclusive"
    loss = r.evidence["loss_at_default"]
    assert loss["theta"] == 25 and not loss["significant"]
    assert abs(loss["difference"] - 0.0117) < 5e-5 and abs(loss["stderr"] - 0.0088) < 5e-5
    assert r.evidence["gain"]["significant"] and r.evidence["prompts_needed"] > 100
    assert r.selected["rule"] == "peak" and r.selected["theta"] == r.theta
    assert "verdict='inconclusive'" in repr(r)
    one = hedge.tune(*realsumm, "bon", select="one-se")
    assert one.selected["theta"] < r.theta and one.selected["samples_saved"] > 0
    with pytest.raises(ValueError, match="confidence"):
        hedge.tune(*realsumm, "bon", confidence=1.0)
    with pytest.raises(ValueError, match="unknown select"):
        hedge.tune(*realsumm, "bon", select="median")


def test_paired_equals_cli_versus(cli, realsumm):
    v = cli.json("curve", *REAL, "--method", "bop", "--theta", "0,2,24", "--versus", "5.5", "--json")
    for p in v["versus"]["points"]:
        d = hedge.paired(*realsumm, "bop", p["theta"], 5.5)
        assert d["difference"] == p["difference"] and d["stderr"] == p["stderr"] and d["z"] == p["z"]
        assert d["prompts"] == 100
    same = hedge.paired(*realsumm, "bon", 5, 5)
    assert same["difference"] == 0 and same["stderr"] == 0 and math.isnan(same["z"])
    with pytest.raises(ValueError, match="sbon"):
        hedge.paired(*realsumm, "sbon", 1.0, 2.0)


def test_loaded_data_gives_the_cli_result(cli, realsumm):
    ds = hedge.load(REALSUMM, proxy_col=PROXY_COL)
    ids, proxy, true = ds
    assert ids.dtype == object and ids.tolist() == realsumm[0]
    assert proxy.dtype == np.float64 and proxy.tolist() == realsumm[1]
    assert true.tolist() == realsumm[2]
    assert (ds.source, ds.skipped_prompts, ds.rows_read, ds.num_rows, ds.num_prompts) == (str(REALSUMM), 0, 2500, 2500, 100)
    expected = without_file_keys(cli.json("tune", *REAL, "--method", "bop", "--json"))
    assert hedge.tune(*ds, "bop").to_dict() == expected
    assert "rows=2500" in repr(ds)


# ----------------------------------------------------------------------------- input types


def test_input_types_give_identical_results(realsumm):
    ids, proxy, true = realsumm
    ref = hedge.tune(ids, proxy, true, "bop").to_dict()
    p, t = np.array(proxy), np.array(true)
    int_ids = np.array([int(s[3:]) for s in ids])  # "doc017" -> 17
    variants = {
        "numpy": (np.array(ids), p, t),
        "object ids": (np.array(ids, dtype=object), p, t),
        "tuple": (tuple(ids), tuple(proxy), tuple(true)),
        "strided": (np.array(ids)[::1], np.stack([p, p])[0], np.stack([t, -t], axis=1)[:, 0]),
    }
    for name, args in variants.items():
        assert hedge.tune(*args, "bop").to_dict() == ref, name
    # contiguous float64 goes to the engine as is (no copy), read-only arrays included
    assert hedge._floats(p, "proxy") is p
    frozen = p.copy()
    frozen.setflags(write=False)
    assert hedge.tune(ids, frozen, t, "bop").to_dict() == ref
    t32 = t.astype(np.float32)  # converted to float64 on the way in
    assert hedge.tune(ids, p, t32, "bop").to_dict() == hedge.tune(ids, p, t32.astype(np.float64), "bop").to_dict()
    as_int = hedge.tune(int_ids, p, t, "bop").to_dict()
    for dtype in (np.int32, np.uint16, np.uint64, np.int8):
        cast = int_ids.astype(dtype) if dtype != np.int8 else (int_ids % 100).astype(np.int8)
        assert hedge.tune(cast, p, t, "bop").to_dict() == as_int, dtype
    assert hedge.tune(int_ids.tolist(), p, t, "bop").to_dict() == as_int
    # integers are prompt ids like their decimal text (as in files)
    assert hedge.tune([str(i) for i in int_ids], p, t, "bop").to_dict() == as_int


def test_array_likes_and_pandas():
    class ArrayLike:
        def __init__(self, values):
            self.values = values

        def __array__(self, dtype=None, copy=None):
            return np.asarray(self.values, dtype=dtype)

    ids, proxy, true = small()
    ref = hedge.tune(ids, proxy, true, "bon").to_dict()
    assert hedge.tune(ArrayLike(ids), ArrayLike(proxy), ArrayLike(true), "bon").to_dict() == ref
    assert hedge.tune(ids, proxy, np.array(true, dtype=bool), "bon").to_dict() == ref
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"prompt_id": ids, "proxy": proxy, "true": true})
    assert hedge.tune(df["prompt_id"], df["proxy"], df["true"], "bon").to_dict() == ref
    df["cat"] = df["prompt_id"].astype("category")
    assert hedge.tune(df["cat"], df["proxy"], df["true"], "bon").to_dict() == ref
    c = hedge.curve(df.prompt_id, df.proxy, df.true, "bon", pd.Series([1.0, 2.0]))
    assert c["reward"].round(12).tolist() == [0.4, 0.48]


def test_rows_need_not_be_grouped(realsumm):
    ids, proxy, true = realsumm
    order = np.random.default_rng(3).permutation(len(ids))
    # Shuffling rows across prompts changes only the order prompts first appear in and
    # the order of rows within a prompt; first-appearance order is kept by the grouping.
    a = hedge.tune(ids, proxy, true, "bon").to_dict()
    by_prompt = sorted(range(len(ids)), key=lambda i: (ids[i], i))
    b = hedge.tune([ids[i] for i in by_prompt], [proxy[i] for i in by_prompt], [true[i] for i in by_prompt], "bon")
    assert b.to_dict() == a
    s = hedge.tune([ids[i] for i in order], [proxy[i] for i in order], [true[i] for i in order], "bon").to_dict()
    assert s["theta"] == a["theta"] and s["prompts"] == 100
    assert math.isclose(s["expected_true_reward"], a["expected_true_reward"], rel_tol=1e-12)


def test_single_response_prompts_are_skipped_like_the_cli(cli, tmp_path):
    ids, proxy, true = small()
    rows = list(zip(ids, proxy, true)) + [("lonely", 0.3, 1.0), ("q1", 0.45, 1.0), ("alone", 9.0, 0.0)]
    path = tmp_path / "cal.csv"
    path.write_text("prompt_id,proxy,true\n" + "".join(f"{a},{b},{c}\n" for a, b, c in rows))
    expected = without_file_keys(cli.json("tune", "--data", str(path), "--method", "bop", "--json"))
    r = hedge.tune(*zip(*rows), "bop")
    assert r.skipped_prompts == 2 == expected["skipped_prompts"]
    assert r.to_dict() == expected
    ds = hedge.load(path)
    assert (ds.skipped_prompts, ds.rows_read, ds.num_rows) == (2, 13, 11)
    assert ds.prompt_ids.tolist() == ["q1"] * 6 + ["q2"] * 5


def _simulated_csv(cli, tmp_path):
    path = tmp_path / "ref.csv"
    p = cli.run("simulate", "gaussian", "--prompts", "40", "--responses", "12", "--seed", "5", "--out", str(path))
    assert p.returncode == 0, p.stderr
    return path


@pytest.mark.parametrize("ext", ["csv", "jsonl", "parquet"])
def test_load_every_format_like_the_cli(cli, tmp_path, ext):
    path = tmp_path / f"g.{ext}"
    p = cli.run("simulate", "gaussian", "--prompts", "40", "--responses", "12", "--seed", "5", "--out", str(path))
    assert p.returncode == 0, p.stderr
    ds = hedge.load(str(path))
    assert ds.num_rows == 480 and ds.num_prompts == 40 and ds.source == str(path)
    ids, proxy, true = read_csv(_simulated_csv(cli, tmp_path))
    assert ds.prompt_ids.tolist() == ids
    assert ds.proxy.tolist() == proxy and ds.true.tolist() == true
    expected = without_file_keys(cli.json("tune", "--data", str(path), "--method", "bon", "--json"))
    assert hedge.tune(*ds, "bon").to_dict() == expected
    # a forced format, and the columns by name
    forced = hedge.load(path, "prompt_id", "proxy", "true", format=ext)
    assert np.array_equal(forced.proxy, ds.proxy)


# ----------------------------------------------------------------------------- curve, kl, select, draw_n


@pytest.mark.parametrize(
    "method,extra,flags",
    [("bon", {}, []), ("bop", {}, []), ("tilt", {}, []), ("sbon", {"n": 8}, ["--n", "8"]),
     ("bon", {"estimator": "unbiased"}, ["--estimator", "unbiased"])],
)
def test_curve_equals_cli(cli, realsumm, method, extra, flags):
    thetas = [1.0, 2.0, 7.0, 20.0] if extra.get("estimator") == "unbiased" else [0.0, 1.0, 2.0, 3.5, 7.0, 20.0]
    if method == "bon":
        thetas = thetas[1:]
    v = cli.json("curve", *REAL, "--method", method, *flags, "--theta", ",".join(map(str, thetas)), "--json")
    c = hedge.curve(*realsumm, method, thetas, **extra)
    assert sorted(c) == ["expected_samples", "kl", "reward", "stderr", "theta"]
    for key in c:
        assert isinstance(c[key], np.ndarray) and c[key].dtype == np.float64 and c[key].shape == (len(thetas),)
    pts = v["points"]
    assert c["theta"].tolist() == [p["theta"] for p in pts]
    assert c["reward"].tolist() == [p["expected_true_reward"] for p in pts]
    nan = float("nan")
    for key in ("stderr", "kl", "expected_samples"):
        want = [nan if p[key] is None else p[key] for p in pts]
        np.testing.assert_array_equal(c[key], np.array(want), err_msg=key)


def test_curve_agrees_with_tune(realsumm):
    r = hedge.tune(*realsumm, "bop")
    c = hedge.curve(*realsumm, "bop", [0.0, r.theta, 24.0])
    assert c["reward"][1] == r.expected_true_reward
    assert c["reward"][1] > c["reward"][0] and c["reward"][1] > c["reward"][2]
    assert hedge.curve(*realsumm, "bop", 3.0)["theta"].tolist() == [3.0]  # a scalar is one theta


@pytest.mark.parametrize(
    "method,theta,n", [("bon", 8, None), ("bop", 12.4, None), ("tilt", 13.5, None), ("sbon", 5.0, 16), ("bon", 1, None)]
)
def test_kl_equals_cli(cli, method, theta, n):
    flags = ["--n", str(n)] if n else []
    v = cli.json("kl", "--method", method, "--theta", str(theta), *flags, "--json")
    d = hedge.kl(method, theta, n)
    assert d == {"kl": v["kl"], "mean_quantile": v["mean_quantile"], "expected_samples": v["expected_samples"]}


SELECT_CASES = [
    ("bon", 4, None, [1.0, 1.0, 1.0, 1.0]),  # ties broken at random
    ("bon", 2, None, [0.1, 0.9, 5.0]),  # only the first n count
    ("bop", 3.0, None, [2.0, 2.0, 1.0, 2.0, 0.5, 2.0, 2.0, 3.0]),
    ("sbon", 0.7, 6, [0.3, -1.0, 2.0, 2.5, 0.0, 1.0, 9.0]),
]


@pytest.mark.parametrize("method,theta,n,scores", SELECT_CASES)
def test_select_equals_cli_first_line(cli, method, theta, n, scores):
    flags = ["--n", str(n)] if n else []
    got, want = [], []
    for seed in range(12):
        line = json.dumps({"id": 0, "scores": scores})
        p = cli.run("select", "--method", method, "--theta", str(theta), *flags, "--seed", str(seed), input=line + "\n")
        assert p.returncode == 0, p.stderr
        want.append(json.loads(p.stdout)["index"])
        got.append(hedge.select(np.array(scores), method, theta, n=n, seed=seed))
    assert got == want
    if method != "bon" or scores[0] == scores[1]:
        assert len(set(got)) > 1  # the seed matters


def test_select_basics():
    assert hedge.select([0.2, 1.7, 0.9], "bon", 3) == 1
    assert hedge.select([0.2, 1.7, 0.9], "bon", 1) == 0
    assert hedge.select([3.0], "bop", 10.0) == 0
    picks = {hedge.select([1.0, 1.0, 1.0], "bon", 3) for _ in range(60)}  # no seed: random ties
    assert picks == {0, 1, 2}
    assert hedge.select([0.0, 1e300], "sbon", 1e6, n=2, seed=1) == 1  # overflow-safe softmax
    assert isinstance(hedge.select([1.0, 2.0], "sbon", 0.0, 2, 3), int)


def test_draw_n(cli):
    assert hedge.draw_n("bon", 8) == 8
    assert hedge.draw_n("sbon", 0.5, n=6) == 6
    assert hedge.draw_n("bop", 0.0) == 1
    draws = [hedge.draw_n("bop", 5.0, seed=s) for s in range(200)]
    assert draws == [hedge.draw_n("bop", 5.0, s) for s in range(200)]  # seeded: reproducible
    assert min(draws) >= 1 and 5.0 < np.mean(draws) < 7.0  # 1 + Poisson(5)
    # select(..., "bop", mu, seed=s) looks at the first draw_n("bop", mu, s) candidates: as `hedge select` reports
    scores = json.dumps({"id": 0, "scores": list(range(100))})
    for seed in range(5):
        out = cli.json("select", "--method", "bop", "--theta", "5", "--seed", str(seed), input=scores + "\n")
        assert out["n_used"] == hedge.draw_n("bop", 5.0, seed=seed)
        assert hedge.select(list(range(100)), "bop", 5.0, seed=seed) == out["n_used"] - 1


# ----------------------------------------------------------------------------- errors


def test_nan_and_infinite_values_raise_the_loader_message():
    ids, proxy, true = small()
    proxy[2] = float("nan")
    with pytest.raises(ValueError, match=re.escape('<memory>: row 3: column "proxy": NaN is not a finite number')):
        hedge.tune(ids, proxy, true, "bon")
    ids, proxy, true = small()
    true = np.array(true, dtype=float)
    true[7] = np.inf
    with pytest.raises(ValueError, match=re.escape('row 8: column "true": inf is not a finite number')):
        hedge.curve(ids, proxy, true, "bon", [1, 2])
    with pytest.raises(ValueError, match='column "proxy": NaN is not a finite number'):
        hedge.tune(["a", "a"], [1.0, None], [0, 1], "bon")  # None becomes NaN


def test_nan_message_matches_the_cli_file_message(cli, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("prompt_id,proxy,true\na,1,0\na,nan,1\n")
    msg = cli.error("tune", "--data", str(path), "--method", "bon")
    with pytest.raises(ValueError) as e:
        hedge.load(path)
    assert str(e.value) == msg
    assert msg.endswith('bad.csv:3: column "proxy": nan is not a finite number')
    path.write_text("prompt_id,proxy,true\na,1,0\na,abc,1\n")
    with pytest.raises(ValueError, match=re.escape('bad.csv:3: column "proxy": "abc" is not a number')):
        hedge.load(path)
    with pytest.raises(ValueError, match=re.escape('missing column "score"')):
        hedge.load(path, proxy_col="score")
    with pytest.raises(FileNotFoundError, match="nonexistent"):
        hedge.load(tmp_path / "nonexistent.csv")
    with pytest.raises(ValueError, match="cannot tell the data format"):
        hedge.load(tmp_path / "x.txt")
    with pytest.raises(ValueError, match='unknown data format "xls"'):
        hedge.load(path, format="xls")


def test_length_mismatch():
    ids, proxy, true = small()
    with pytest.raises(ValueError, match="^proxy has 10 values but truth has 9$"):
        hedge.tune(ids, proxy, true[:-1], "bon")
    with pytest.raises(ValueError, match="^prompt_ids has 9 values but proxy has 10$"):
        hedge.tune(ids[:-1], proxy, true, "bon")
    with pytest.raises(ValueError, match="proxy has 10 values but truth has 11"):
        hedge.curve(ids, proxy, true + [1], "bon", [1])


def test_unknown_method_and_estimator():
    ids, proxy, true = small()
    msg = re.escape('unknown method "foo" (possible values: bon, bop, tilt, sbon)')
    for call in [
        lambda: hedge.tune(ids, proxy, true, "foo"),
        lambda: hedge.curve(ids, proxy, true, "foo", [1]),
        lambda: hedge.kl("foo", 1.0),
        lambda: hedge.select([1.0], "foo", 1.0),
        lambda: hedge.draw_n("foo", 1.0),
    ]:
        with pytest.raises(ValueError, match=msg):
            call()
    with pytest.raises(ValueError, match=re.escape('unknown estimator "mle" (possible values: plugin, unbiased, paper)')):
        hedge.tune(ids, proxy, true, "bon", estimator="mle")
    assert hedge.tune(ids, proxy, true, "BoN").method == "bon"  # case-insensitive, like the engine


@pytest.mark.parametrize(
    "args,call",
    [
        (["kl", "--method", "bon", "--theta", "0.5"], lambda: hedge.kl("bon", 0.5)),
        (["kl", "--method", "bop", "--theta=-1"], lambda: hedge.kl("bop", -1)),
        (["kl", "--method", "sbon", "--theta", "1"], lambda: hedge.kl("sbon", 1.0)),
        (["kl", "--method", "sbon", "--theta", "1e9", "--n", "4"], lambda: hedge.kl("sbon", 1e9, 4)),
        (["select", "--method", "tilt", "--theta", "1"], lambda: hedge.select([1.0], "tilt", 1.0)),
        (["select", "--method", "bon", "--theta", "2.5"], lambda: hedge.select([1.0], "bon", 2.5)),
        (["select", "--method", "sbon", "--theta", "1"], lambda: hedge.draw_n("sbon", 1.0)),
        (["tune", *REAL, "--method", "bop", "--range", "0:1e400"], None),
    ],
)
def test_invalid_parameter_messages_equal_the_cli(cli, realsumm, args, call):
    if call is None:  # the CLI rejects an infinite range while parsing; the engine names it
        with pytest.raises(ValueError, match=re.escape("invalid range [0, inf] for mu: ends must be finite")):
            hedge.tune(*realsumm, "bop", range=(0, math.inf))
        return
    msg = cli.error(*args, code=2)  # out-of-domain parameters are usage errors
    with pytest.raises(ValueError) as e:
        call()
    assert str(e.value) == msg


def test_tune_argument_errors(realsumm):
    with pytest.raises(ValueError, match=re.escape("invalid range [9, 1] for n: low end above high end")):
        hedge.tune(*realsumm, "bon", range=(9, 1))
    with pytest.raises(ValueError, match="range must be a pair"):
        hedge.tune(*realsumm, "bon", range=5)
    with pytest.raises(ValueError, match='n applies to method "sbon" only'):
        hedge.tune(*realsumm, "bon", n=4)
    with pytest.raises(ValueError, match='n applies to method "sbon" only'):
        hedge.curve(*realsumm, "bop", [1.0], n=4)
    with pytest.raises(ValueError, match=re.escape("sbon needs the number of candidates n (>= 1)")):
        hedge.curve(*realsumm, "sbon", [1.0])
    with pytest.raises(ValueError, match=re.escape("sbon needs the number of candidates n (>= 1)")):
        hedge.tune(*realsumm, "sbon", n=[4, 0])
    with pytest.raises(ValueError, match="holdout must be a fraction strictly between 0 and 1, got 1.5"):
        hedge.tune(*realsumm, "bon", holdout=1.5)
    with pytest.raises(ValueError, match="bootstrap needs at least 1 resample"):
        hedge.tune(*realsumm, "bon", bootstrap=0)
    with pytest.raises(ValueError, match="the unbiased estimator is not available for bop"):
        hedge.tune(*realsumm, "bop", estimator="unbiased")
    with pytest.raises(TypeError):
        hedge.tune(*realsumm, "sbon", n=4.5)
    with pytest.raises(ValueError, match="seed must be"):
        hedge.tune(*realsumm, "bon", holdout=0.5, seed=-1)


def test_bad_shapes_and_ids():
    ids, proxy, true = small()
    with pytest.raises(ValueError, match=re.escape("proxy must be one-dimensional, got shape (2, 5)")):
        hedge.tune(ids, np.array(proxy).reshape(2, 5), true, "bon")
    with pytest.raises(ValueError, match="true must be one-dimensional"):
        hedge.tune(ids, proxy, 1.0, "bon")
    with pytest.raises(ValueError, match="could not convert string to float"):
        hedge.tune(ids, ["x"] * 10, true, "bon")
    with pytest.raises(TypeError, match=re.escape("prompt_ids[0] is a float: prompt ids must be strings or integers")):
        hedge.tune([1.5] * 10, proxy, true, "bon")
    with pytest.raises(TypeError, match="prompt_ids"):
        hedge.tune(np.linspace(0, 1, 10), proxy, true, "bon")
    with pytest.raises(TypeError, match="not a single string"):
        hedge.tune("q1", proxy, true, "bon")
    with pytest.raises(ValueError, match="missing value"):
        hedge.tune([""] * 10, proxy, true, "bon")
    with pytest.raises(ValueError, match="no prompt has two or more responses"):
        hedge.tune([str(i) for i in range(10)], proxy, true, "bon")
    with pytest.raises(ValueError, match="no data rows"):
        hedge.tune([], [], [], "bon")
    with pytest.raises(ValueError, match=re.escape("scores[1] = NaN is not a finite number")):
        hedge.select([1.0, math.nan], "bon", 2)
    with pytest.raises(ValueError, match="scores is empty"):
        hedge.select([], "bon", 2)


# ----------------------------------------------------------------------------- the GIL


def test_gil_is_released_during_computation(realsumm):
    ids, proxy, true = np.array(realsumm[0]), np.array(realsumm[1]), np.array(realsumm[2])
    done = threading.Event()
    result = {}

    def work():
        t0 = time.perf_counter()
        result["r"] = hedge.tune(ids, proxy, true, "sbon")  # ~0.5 s in the engine
        result["seconds"] = time.perf_counter() - t0
        done.set()

    ticks = 0
    th = threading.Thread(target=work)
    th.start()
    while not done.is_set():
        ticks += 1
        time.sleep(0.001)
    th.join()
    assert result["r"].method == "sbon"
    # With the GIL held for the whole call this thread could not run at all meanwhile.
    assert ticks > 0.1 * result["seconds"] / 0.001, (ticks, result["seconds"])


def test_compare_equals_cli_json_and_makes_a_frame(cli):
    cols = ["proxy_bert_recall_score", "proxy_rouge_1_precision", "proxy_js-2"]
    ids, _, true = read_csv(REALSUMM, cols[0])
    proxies = {c: read_csv(REALSUMM, c)[1] for c in cols}
    expected = cli.json(
        "compare", "--data", str(REALSUMM), "--proxy-cols", ",".join(cols),
        "--ensemble", "mean-z,uwo", "--methods", "bon,bop", "--seed", "3", "--max-samples", "16", "--json",
    )
    got = hedge.compare(ids, proxies, true, methods=("bon", "bop"), ensembles=("mean-z", "uwo"), seed=3, max_samples=16)
    assert isinstance(got, hedge.Comparison)
    assert dict(got) == expected
    frame = got.to_frame()
    assert list(frame["proxy"]) == [e["proxy"] for e in expected["leaderboard"]]
    assert frame["reward"].is_monotonic_decreasing
    assert (frame["expected_samples"] <= 16 + 1e-9).all()
    with pytest.raises(ValueError, match="unknown ensemble"):
        hedge.compare(ids, proxies, true, ensembles=("median",))
    with pytest.raises(ValueError, match="max_samples"):
        hedge.tune(ids, proxies[cols[0]], true, "bon", max_samples=0.5)
    r = hedge.tune(ids, proxies[cols[0]], true, "bon", max_samples=4)
    assert r.theta <= 4
