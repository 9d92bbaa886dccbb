#!/usr/bin/env python3
"""NumPy/SciPy reference for `hedge tune --method bop` (plug-in estimator), in two styles.

  paper      : as the paper's scripts compute it: for every trial mu, the residual
               f'(mu) = (1/T) sum_t sum_k r_(k) [G(k/m) - G((k-1)/m)],  G(u) = dF/dmu = u(u-1)e^{mu(u-1)}
               is re-evaluated over all rows; the root by scipy.optimize.brentq.
  vectorised : the best vectorised NumPy we can write: the same algorithm as hedge (rank-aggregate
               R_{m,k} = (1/T) sum_{t: m_t = m} r_{t,(k)} once, then every evaluation costs O(sum of distinct m)).

Both read the same file hedge reads (Parquet or CSV; columns prompt_id, proxy, true), sort each prompt's
responses by proxy, replace tied true rewards by their group mean, and tune mu on [0, m_max - 1]
exactly as hedge does (regime from the end signs; Brent's root between a + and a - end).

Usage: numpy_ref.py FILE {paper|vectorised} [--json]
Prints the tuned mu, regime and expected true reward (and, with --json, one JSON object).
"""
import json
import sys
import time

import numpy as np
import pandas as pd
from scipy.optimize import brentq


def load(path):
    if path.endswith((".parquet", ".pq")):
        df = pd.read_parquet(path, columns=["prompt_id", "proxy", "true"])
    else:
        df = pd.read_csv(path, usecols=["prompt_id", "proxy", "true"])
    codes, _ = pd.factorize(df["prompt_id"], sort=False)
    proxy = df["proxy"].to_numpy(dtype=np.float64)
    truth = df["true"].astype(np.float64).to_numpy()
    order = np.lexsort((proxy, codes))
    codes, proxy, truth = codes[order], proxy[order], truth[order]
    n = len(codes)
    # tie groups: equal proxy within a prompt share their mean true reward
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = (codes[1:] != codes[:-1]) | (proxy[1:] != proxy[:-1])
    starts = np.flatnonzero(new_group)
    sums = np.add.reduceat(truth, starts)
    counts = np.diff(np.append(starts, n))
    truth = np.repeat(sums / counts, counts)
    # rank k (1-based) and m of every row
    prompt_start = np.ones(n, dtype=bool)
    prompt_start[1:] = codes[1:] != codes[:-1]
    pstarts = np.flatnonzero(prompt_start)
    m_per_prompt = np.diff(np.append(pstarts, n))
    keep = m_per_prompt >= 2
    m = np.repeat(m_per_prompt, m_per_prompt)
    k = np.arange(n) - np.repeat(pstarts, m_per_prompt) + 1
    row_keep = np.repeat(keep, m_per_prompt)
    return k[row_keep].astype(np.float64), m[row_keep].astype(np.float64), truth[row_keep], int(keep.sum())


def F(u, mu):
    return u * np.exp(mu * (u - 1.0))


def G(u, mu):
    return u * (u - 1.0) * np.exp(mu * (u - 1.0))


def tune(f, df, lo, hi):
    d_lo, d_hi = df(lo), df(hi)
    if d_lo > 0 and d_hi <= 0:
        theta = brentq(df, lo, hi, xtol=1e-13, rtol=4 * np.finfo(float).eps, maxiter=200)
        return theta, "hacking", f(theta)
    if d_lo > 0:
        return hi, "increasing", f(hi)
    if d_hi > 0:
        return (lo, "valley", f(lo)) if f(lo) >= f(hi) else (hi, "valley", f(hi))
    return lo, "decreasing", f(lo)


def paper_style(k, m, r, T):
    u_hi, u_lo = k / m, (k - 1.0) / m
    f = lambda mu: float(np.dot(r, F(u_hi, mu) - F(u_lo, mu)) / T)
    df = lambda mu: float(np.dot(r, G(u_hi, mu) - G(u_lo, mu)) / T)
    return tune(f, df, 0.0, float(m.max()) - 1.0)


def vectorised(k, m, r, T):
    tables = []
    for mv in np.unique(m):
        sel = m == mv
        R = np.bincount(k[sel].astype(np.int64) - 1, weights=r[sel], minlength=int(mv)) / T
        u = np.arange(int(mv) + 1) / mv
        tables.append((u, R))
    f = lambda mu: float(sum(np.dot(R, np.diff(F(u, mu))) for u, R in tables))
    df = lambda mu: float(sum(np.dot(R, np.diff(G(u, mu))) for u, R in tables))
    return tune(f, df, 0.0, float(m.max()) - 1.0)


def main():
    path, style = sys.argv[1], sys.argv[2]
    t0 = time.perf_counter()
    k, m, r, T = load(path)
    t1 = time.perf_counter()
    theta, regime, value = (paper_style if style == "paper" else vectorised)(k, m, r, T)
    t2 = time.perf_counter()
    out = {"style": style, "theta": theta, "regime": regime, "expected_true_reward": value,
           "prompts": T, "load_seconds": t1 - t0, "tune_seconds": t2 - t1}
    print(json.dumps(out) if "--json" in sys.argv else
          f"{style}: mu = {theta:.12g} ({regime}), f = {value:.12g}; load {t1 - t0:.2f} s, tune {t2 - t1:.2f} s")


if __name__ == "__main__":
    main()
