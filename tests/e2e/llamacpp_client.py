"""Helper of tests/e2e/llamacpp.sh (Python standard library only).

  llamacpp_client.py prompts OUT.jsonl              write the 20 collect prompts (10 completion, 10 chat)
  llamacpp_client.py check-collect OUT.jsonl PROMPTS check a `hedge collect` output; print a JSON summary
  llamacpp_client.py compare A.jsonl B.jsonl         how many (prompt_id, response_id) have the same text
  llamacpp_client.py serve URL PROGRESS SUMMARY      drive `hedge serve`: 50 chat + 50 completion requests
  llamacpp_client.py after URL                       seeded repeat, over-long prompt; print a JSON summary

Every check failure is printed as `FAIL: ...` and makes the exit code 1.
"""
import http.client
import json
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

M64 = (1 << 64) - 1


def hash64(parts):
    """hedge_standin::hash64: FNV-1a over the parts (0xff between them), then a splitmix64 finaliser."""
    h = 0xCBF29CE484222325
    for p in parts:
        for b in p:
            h ^= b
            h = (h * 0x100000001B3) & M64
        h ^= 0xFF
        h = (h * 0x100000001B3) & M64
    h ^= h >> 30
    h = (h * 0xBF58476D1CE4E5B9) & M64
    h ^= h >> 27
    h = (h * 0x94D049BB133111EB) & M64
    return h ^ (h >> 31)


def unit(h):
    return (h >> 11) / float(1 << 53)


def proxy_score(text):
    """The stand-in's proxy reward of a text."""
    return 4.0 * unit(hash64([text.encode()])) - 2.0


def gold_score(text):
    """The stand-in's gold ("true") reward of a text."""
    u = unit(hash64([text.encode()]))
    noise = unit(hash64([b"noise", text.encode()])) - 0.5
    return u * (1.3 - u) + 0.05 * noise


def rendered(prompt, response):
    """What the stand-in scores: prompt + response, or the conversation as "role: content" blocks."""
    if isinstance(prompt, str):
        return prompt + response
    msgs = list(prompt) + [{"role": "assistant", "content": response}]
    return "\n\n".join(f"{m['role']}: {m['content']}" for m in msgs)


def close(a, b):
    return a is not None and b is not None and abs(a - b) <= 1e-12 * max(1.0, abs(b))


FAILS = []


def fail(msg):
    FAILS.append(msg)
    print(f"FAIL: {msg}", flush=True)


TOPICS = ["prime numbers", "the moon", "tea ☕", "Zürich", "東京", "rust 🦀", "music", "rivers", "chess", "bread"]


def prompts(out):
    with open(out, "w", encoding="utf-8") as f:
        for i in range(20):
            topic = TOPICS[i % 10]
            if i % 2 == 0:
                rec = {"id": f"c{i:02d}", "prompt": f"Q{i}: a short fact about {topic}? A:"}
            else:
                rec = {"id": f"m{i:02d}", "messages": [{"role": "user", "content": f"Tell me about {topic} ({i})."}]}
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")


def load_prompts(path):
    out = {}
    for line in open(path, encoding="utf-8"):
        r = json.loads(line)
        out[r["id"]] = r.get("prompt", r.get("messages"))
    return out


def check_collect(path, prompts_path, n=8):
    ps = load_prompts(prompts_path)
    raw = open(path, "rb").read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        fail(f"{path} is not valid UTF-8: {e}")
        text = raw.decode("utf-8", "replace")
    rows, bad_json = [], 0
    for i, line in enumerate(text.splitlines()):
        try:
            rows.append(json.loads(line))
        except ValueError:
            bad_json += 1
            fail(f"{path}:{i + 1}: not JSON")
    keys = [(r["prompt_id"], r["response_id"]) for r in rows]
    per_prompt = {}
    for r in rows:
        per_prompt.setdefault(r["prompt_id"], set()).add(r["response_id"])
    if len(rows) != len(ps) * n:
        fail(f"{len(rows)} rows, expected {len(ps)} prompts x {n} = {len(ps) * n}")
    if len(set(keys)) != len(keys):
        fail(f"{len(keys) - len(set(keys))} duplicate (prompt_id, response_id)")
    if set(per_prompt) != set(ps):
        fail(f"prompts missing from the output: {sorted(set(ps) - set(per_prompt))}")
    for pid, ids in per_prompt.items():
        if ids != set(range(n)):
            fail(f"prompt {pid}: response ids {sorted(ids)}")
    score_mismatch = 0
    for r in rows:
        if r.get("group_size") != n:
            fail(f"prompt {r['prompt_id']}: group_size {r.get('group_size')}")
        p = ps.get(r["prompt_id"])
        if p is None:
            continue
        t = rendered(p, r["response"])
        if not (close(r["proxy"], proxy_score(t)) and close(r["true"], gold_score(t))):
            score_mismatch += 1
    if score_mismatch:
        fail(f"{score_mismatch} rows whose proxy/true score is not the stand-ins' score of the stored text")
    responses = [r["response"] for r in rows]
    summary = {
        "rows": len(rows),
        "unique": len(set(keys)),
        "prompts": len(per_prompt),
        "bad_json": bad_json,
        "scores_match": len(rows) - score_mismatch,
        "with_replacement_char": sum("\ufffd" in t for t in responses),
        "with_control_char": sum(any(ord(c) < 32 and c not in "\n\t" for c in t) for t in responses),
        "distinct_texts": len(set(responses)),
    }
    print(json.dumps(summary))


def compare(a, b):
    def texts(p):
        return {(r["prompt_id"], r["response_id"]): r["response"] for r in map(json.loads, open(p, encoding="utf-8"))}

    ta, tb = texts(a), texts(b)
    print(json.dumps({"same": sum(ta[k] == tb.get(k) for k in ta), "of": len(ta)}))


# --- serve -------------------------------------------------------------------------------------------

def post(url, path, body, timeout=180):
    u = urllib.parse.urlparse(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        c.request("POST", path, body=json.dumps(body, ensure_ascii=False).encode(), headers={"Content-Type": "application/json"})
        r = c.getresponse()
        return r.status, r.getheader("Content-Type", ""), r.read()
    finally:
        c.close()


def argmax_ok(h, where):
    scores = h.get("scores")
    if h.get("method") != "bon" or h.get("n") != 4 or not isinstance(scores, list) or len(scores) != 4:
        fail(f"{where}: hedge object {h}")
        return False
    usable = [(s, i) for i, s in enumerate(scores) if s is not None]
    if not usable:
        fail(f"{where}: no scores")
        return False
    best = max(usable)[1]
    if h.get("chosen_index") != best:
        fail(f"{where}: chosen_index {h.get('chosen_index')} is not the argmax {best} of {scores}")
        return False
    return True


def check_usage(u, where):
    if not all(isinstance(u.get(k), int) for k in ("prompt_tokens", "completion_tokens", "total_tokens")):
        fail(f"{where}: usage {u}")
    elif u["prompt_tokens"] + u["completion_tokens"] != u["total_tokens"] or u["completion_tokens"] <= 0:
        fail(f"{where}: usage {u}")


def one(url, i):
    """Request i: even = chat, odd = completion; every third streamed; every other seeded."""
    chat = i % 2 == 0
    stream = i % 3 == 0
    topic = TOPICS[i % 10]
    body = {"model": "tiny", "max_tokens": 24, "temperature": 1.0}
    if chat:
        prompt = [{"role": "user", "content": f"Request {i}: say something about {topic}."}]
        body["messages"] = prompt
        path = "/v1/chat/completions"
    else:
        prompt = f"Request {i}: about {topic},"
        body["prompt"] = prompt
        path = "/v1/completions"
    if i % 2 == 1 or i % 4 == 0:
        body["seed"] = 1000 + i
    if stream:
        body["stream"] = True
        if i % 2 == 0:
            body["stream_options"] = {"include_usage": True}
    where = f"request {i} ({'chat' if chat else 'completion'}{', stream' if stream else ''})"
    t0 = time.time()
    try:
        status, ctype, raw = post(url, path, body)
    except Exception as e:  # noqa: BLE001
        fail(f"{where}: {e!r}")
        return None
    took = time.time() - t0
    res = {"chat": chat, "stream": stream, "status": status, "time": took, "text": None, "ok": False, "null_scores": 0}
    if status != 200:
        fail(f"{where}: HTTP {status}: {raw[:300]!r}")
        return res
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        fail(f"{where}: the answer is not valid UTF-8: {e}")
        return res
    if not stream:
        if not ctype.startswith("application/json"):
            fail(f"{where}: content type {ctype}")
        try:
            v = json.loads(text)
        except ValueError as e:
            fail(f"{where}: invalid JSON: {e}")
            return res
        obj = "chat.completion" if chat else "text_completion"
        ok = isinstance(v.get("id"), str) and v.get("object") == obj and isinstance(v.get("created"), int)
        ok = ok and isinstance(v.get("model"), str) and isinstance(v.get("choices"), list) and len(v["choices"]) == 1
        if not ok:
            fail(f"{where}: not an OpenAI {obj}: {text[:300]}")
            return res
        c = v["choices"][0]
        if c.get("index") != 0 or c.get("finish_reason") not in ("stop", "length"):
            fail(f"{where}: choice {c}")
        if chat:
            m = c.get("message") or {}
            if m.get("role") != "assistant" or not isinstance(m.get("content"), str):
                fail(f"{where}: message {m}")
                return res
            out = m["content"]
        else:
            if not isinstance(c.get("text"), str):
                fail(f"{where}: text {c}")
                return res
            out = c["text"]
        check_usage(v.get("usage") or {}, where)
        h = v.get("hedge") or {}
    else:
        if not ctype.startswith("text/event-stream"):
            fail(f"{where}: content type {ctype}")
        events = [e for e in text.split("\n\n") if e.strip()]
        if not events or events[-1].strip() != "data: [DONE]":
            fail(f"{where}: the stream does not end with data: [DONE]: {text[-200:]!r}")
            return res
        chunks = []
        for e in events[:-1]:
            if not e.startswith("data: "):
                fail(f"{where}: not an SSE data line: {e[:100]!r}")
                return res
            try:
                chunks.append(json.loads(e[len("data: "):]))
            except ValueError as err:
                fail(f"{where}: chunk is not JSON ({err}): {e[:200]!r}")
                return res
        obj = "chat.completion.chunk" if chat else "text_completion"
        if any(ch.get("object") != obj for ch in chunks) or len({ch.get("id") for ch in chunks}) != 1:
            fail(f"{where}: chunk objects/ids {[(ch.get('object'), ch.get('id')) for ch in chunks]}")
        out, finishes, h, usage = "", [], None, None
        for ch in chunks:
            for c in ch.get("choices", []):
                if chat:
                    d = c.get("delta", {})
                    out += d.get("content") or ""
                else:
                    out += c.get("text") or ""
                if c.get("finish_reason") is not None:
                    finishes.append(c["finish_reason"])
            if "hedge" in ch:
                h = ch["hedge"]
            if ch.get("usage"):
                usage = ch["usage"]
        if chat and chunks and chunks[0]["choices"][0].get("delta", {}).get("role") != "assistant":
            fail(f"{where}: the first chunk has no assistant role")
        if len(finishes) != 1 or h is None:
            fail(f"{where}: {len(finishes)} finish reasons, hedge {h}")
            return res
        if "stream_options" in body:
            if usage is None:
                fail(f"{where}: include_usage but no usage chunk")
            else:
                check_usage(usage, where)
    if not argmax_ok(h, where):
        return res
    chosen = h["scores"][h["chosen_index"]]
    if not close(chosen, proxy_score(rendered(prompt, out))):
        fail(f"{where}: the returned text does not have the chosen score {chosen}")
        return res
    res.update(ok=True, text=out, null_scores=sum(s is None for s in h["scores"]))
    return res


def serve(url, progress, summary_path, per_kind=50, concurrency=4):
    done = [0]
    lock = threading.Lock()

    def run(i):
        r = one(url, i)
        with lock:
            done[0] += 1
            with open(progress, "w") as f:
                f.write(str(done[0]))
        return r

    t0 = time.time()
    with ThreadPoolExecutor(concurrency) as ex:
        results = list(ex.map(run, range(2 * per_kind)))
    wall = time.time() - t0
    res = [r for r in results if r is not None]
    times = sorted(r["time"] for r in res)
    texts = [r["text"] for r in res if r["text"] is not None]
    summary = {
        "requests": len(results),
        "chat": sum(r["chat"] for r in res),
        "completions": sum(not r["chat"] for r in res),
        "streamed": sum(r["stream"] for r in res),
        "http_200": sum(r["status"] == 200 for r in res),
        "valid": sum(r["ok"] for r in res),
        "null_scores": sum(r["null_scores"] for r in res),
        "with_replacement_char": sum("\ufffd" in t for t in texts),
        "wall_s": round(wall, 2),
        "p50_s": round(times[len(times) // 2], 3) if times else None,
        "max_s": round(times[-1], 3) if times else None,
        "failures": len(FAILS),
    }
    json.dump(summary, open(summary_path, "w"))


def after(url):
    """Checks on an idle server: a seeded request twice, and a prompt longer than the context."""
    body = {"messages": [{"role": "user", "content": "Same again?"}], "seed": 42, "max_tokens": 16}
    a = post(url, "/v1/chat/completions", body)
    b = post(url, "/v1/chat/completions", body)
    same = a[0] == 200 and a[2] and json.loads(a[2])["choices"] == json.loads(b[2])["choices"] \
        and json.loads(a[2])["hedge"] == json.loads(b[2])["hedge"]
    if not same:
        fail(f"a seeded request twice gave different answers: {a[2][:200]!r} / {b[2][:200]!r}")
    status, ctype, raw = post(url, "/v1/completions", {"prompt": "the a is of " * 300, "max_tokens": 4})
    err = {}
    try:
        err = json.loads(raw).get("error", {})
    except ValueError:
        pass
    if status != 400 or err.get("type") != "invalid_request_error" or "context size" not in err.get("message", ""):
        fail(f"a prompt longer than the context: HTTP {status} {raw[:300]!r} (expected 400 invalid_request_error)")
    print(json.dumps({"seeded_repeat_identical": bool(same), "too_long_status": status,
                      "too_long_message": err.get("message", "").split("HTTP 400: ")[-1]}))


def main():
    cmd = sys.argv[1]
    if cmd == "prompts":
        prompts(sys.argv[2])
    elif cmd == "check-collect":
        check_collect(sys.argv[2], sys.argv[3])
    elif cmd == "compare":
        compare(sys.argv[2], sys.argv[3])
    elif cmd == "serve":
        serve(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "after":
        after(sys.argv[2])
    else:
        sys.exit(f"unknown command {cmd}")
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
