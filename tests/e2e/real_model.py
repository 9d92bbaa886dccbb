#!/usr/bin/env python3
"""Helpers of tests/e2e/real_model.sh (standard library only).

  real_model.py throughput URL SECONDS_OUT      measure generated tokens/s of the server (8 concurrent chats)
  real_model.py summary COLLECT.jsonl            rows, prompts, accuracy at n = 1, per-proxy agreement (JSON)
  real_model.py serve-check URL UPSTREAM PROMPTS PROXY K COUNT
                                                 COUNT chat requests through `hedge serve`; checks (JSON)

The proxies are recomputed here, independently of hedge, from the log-probabilities llama.cpp returns
(`choices[].logprobs.content[] = {token, logprob, top_logprobs: [{token, logprob}]}`):
  logprob-mean   = mean of the sampled tokens' logprob
  self-certainty = mean over tokens of  logsumexp(top) - log k - mean(top)   (top-k renormalised; KL(U_k || p))
"""

import json
import math
import os
import sys
import threading
import time
import urllib.request

ZERO = -1e30


def post(url, body, timeout=600):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        raw = r.read()
        return r.status, raw


def token_entries(choice):
    lp = choice.get("logprobs")
    if not lp:
        return []
    return lp.get("content") or []


def kl_uniform(top):
    top = [x for x in top if x > ZERO]
    if len(top) < 2:
        return 0.0
    m = max(top)
    lse = m + math.log(sum(math.exp(x - m) for x in top))
    return lse - math.log(len(top)) - sum(top) / len(top)


def proxy_of(choice, proxy):
    toks = token_entries(choice)
    if proxy == "logprob-sum":
        return sum(t["logprob"] for t in toks)
    if not toks:
        return None
    if proxy == "logprob-mean":
        return sum(t["logprob"] for t in toks) / len(toks)
    if proxy == "self-certainty":
        return sum(kl_uniform([x["logprob"] for x in t.get("top_logprobs", [])]) for t in toks) / len(toks)
    raise SystemExit(f"unknown proxy {proxy}")


def throughput(url, seconds_out):
    """8 concurrent chat requests of 64 tokens, twice (the first warms up); completion tokens / wall time."""
    prompts = [f"Tell me a short story about the number {i}." for i in range(8)]
    result = {}
    for rnd in range(2):
        tokens = [0] * len(prompts)

        def one(i):
            body = {"messages": [{"role": "user", "content": prompts[i]}], "max_tokens": 64, "temperature": 0.8,
                    "seed": 100 + i + 10 * rnd, "logprobs": True, "top_logprobs": 20}
            _, raw = post(url + "/v1/chat/completions", body)
            tokens[i] = json.loads(raw)["usage"]["completion_tokens"]

        t0 = time.time()
        threads = [threading.Thread(target=one, args=(i,)) for i in range(len(prompts))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.time() - t0
        result = {"completion_tokens": sum(tokens), "seconds": round(wall, 2),
                  "tokens_per_second": round(sum(tokens) / wall, 1), "concurrent": len(prompts)}
    with open(seconds_out, "w") as f:
        json.dump(result, f)
    print(json.dumps(result))


def summary(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    by_prompt = {}
    for r in rows:
        by_prompt.setdefault(r["prompt_id"], []).append(r)
    acc = sum(r["true"] for r in rows) / len(rows)
    # Accuracy of the best candidate by each proxy (best-of-all-n) and of the oracle (any correct).
    out = {"rows": len(rows), "prompts": len(by_prompt),
           "accuracy_n1": round(acc, 4),
           "oracle_any_correct": round(sum(max(r["true"] for r in g) for g in by_prompt.values()) / len(by_prompt), 4),
           "empty_responses": sum(1 for r in rows if not r["response"].strip())}
    for col in ["logprob_mean", "self_certainty", "logprob_sum"]:
        if col not in rows[0]:
            continue
        best = [max(g, key=lambda r: r[col])["true"] for g in by_prompt.values()]
        # Within-prompt correlation sign: mean over prompts of (proxy of correct - proxy of wrong), where both exist.
        gaps = []
        for g in by_prompt.values():
            c = [r[col] for r in g if r["true"] > 0.5]
            w = [r[col] for r in g if r["true"] <= 0.5]
            if c and w:
                gaps.append(sum(c) / len(c) - sum(w) / len(w))
        out[col] = {"best_of_all_accuracy": round(sum(best) / len(best), 4),
                    "mean_gap_correct_minus_wrong": round(sum(gaps) / len(gaps), 4) if gaps else None,
                    "prompts_with_both": len(gaps)}
    print(json.dumps(out, indent=1))


def serve_check(url, upstream, prompts_path, proxy, k, count):
    """COUNT chat requests through hedge serve (asking for logprobs, so the chosen candidate's can be
    rescored here); every answer must be HTTP 200 with text, and hedge.scores[chosen] must equal the
    proxy recomputed from the returned log-probabilities. Then each candidate is asked for directly from
    the upstream (seed s + i) and rescored: agreement is reported (llama.cpp's batching may change a
    sampled token, so it is not required)."""
    k = int(k)
    prompts = [json.loads(line) for line in open(prompts_path) if line.strip()][-int(count):]
    checks, failures, direct = 0, [], []
    texts = []
    correct = 0
    for i, p in enumerate(prompts):
        body = {"messages": p["messages"], "max_tokens": int(os.environ.get("MAX_TOKENS", 64)),
                "temperature": float(os.environ.get("TEMP", 0.8)), "seed": 5000 + i,
                "logprobs": True, "top_logprobs": k}
        status, raw = post(url + "/v1/chat/completions", body)
        checks += 1
        if status != 200:
            failures.append(f"{p['id']}: HTTP {status}")
            continue
        try:
            text_raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            failures.append(f"{p['id']}: the answer is not UTF-8")
            continue
        v = json.loads(text_raw)
        choice = v["choices"][0]
        content = choice["message"]["content"]
        hedge = v["hedge"]
        scores = hedge["scores"]
        chosen = hedge["chosen_index"]
        texts.append(content)
        if not isinstance(content, str):
            failures.append(f"{p['id']}: content is not text")
        mine = proxy_of(choice, proxy)
        if mine is None or scores[chosen] is None or abs(mine - scores[chosen]) > 1e-6 * max(1.0, abs(mine)):
            failures.append(f"{p['id']}: hedge.scores[{chosen}] = {scores[chosen]}, rescored {mine}")
        valid = [s for s in scores if s is not None]
        if hedge["method"] == "bon" and valid and scores[chosen] != max(valid):
            failures.append(f"{p['id']}: chosen {chosen} is not the argmax of {scores}")
        # The final number of the answer against the reference.
        nums = []
        cur = ""
        for ch in content + " ":
            if ch.isdigit():
                cur += ch
            else:
                if cur:
                    nums.append(cur)
                cur = ""
        if nums and int(nums[-1]) == int(p["reference"]):
            correct += 1
        # Direct scoring of every candidate: the same request to the upstream with seed s + j, all at once
        # (as hedge sent them: one batch on the server's slots).
        rescored = [None] * hedge["n"]

        def one(j):
            _, r = post(upstream + "/v1/chat/completions", dict(body, seed=5000 + i + j))
            rescored[j] = proxy_of(json.loads(r)["choices"][0], proxy)

        threads = [threading.Thread(target=one, args=(j,)) for j in range(hedge["n"])]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for j, d in enumerate(rescored):
            if scores[j] is not None and d is not None:
                direct.append(abs(d - scores[j]))
    words = sum(1 for t in texts if any(ch.isalpha() for ch in t))
    out = {"requests": checks, "failures": failures, "answers_with_words": words,
           "replacement_chars": sum(t.count("\ufffd") for t in texts),
           "served_accuracy": round(correct / max(1, len(texts)), 4),
           "direct_rescored": len(direct),
           "direct_equal_1e-6": sum(1 for d in direct if d <= 1e-6),
           "direct_max_abs_diff": max(direct) if direct else None,
           "example_answers": texts[:3]}
    print(json.dumps(out, indent=1, ensure_ascii=False))
    sys.exit(1 if failures or words < len(texts) // 2 else 0)


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "throughput":
        throughput(*sys.argv[2:4])
    elif cmd == "summary":
        summary(sys.argv[2])
    elif cmd == "serve-check":
        serve_check(*sys.argv[2:8])
    else:
        raise SystemExit(__doc__)
