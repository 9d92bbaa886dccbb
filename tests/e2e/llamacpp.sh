#!/usr/bin/env bash
# End-to-end run of hedge against a real llama.cpp server (issue #8). Opt-in: not part of .ci/run.
#
#   tests/e2e/llamacpp.sh [CACHE_DIR]          (CACHE_DIR default: $HOME/.cache/hedge-llama)
#
# 1. Builds llama.cpp's `llama-server` with ../shared/tools/build_llama_server.sh (about 15 minutes on 2
#    cores the first time; cached in CACHE_DIR), makes a tiny random-weight model with
#    ../shared/tools/tiny_gguf.py (in a venv under target/e2e-venv: pip install gguf numpy), starts the
#    server on a free loopback port (-c 1024 -np 4: 4 slots, so it takes n <= 4 per request), builds
#    `hedge` and `hedge-standin` in release and starts two stand-in reward servers (proxy and gold).
# 2. collect: 20 prompts (10 completion, 10 chat) x N = 8, proxy reward from the stand-in (openrlhf API),
#    true reward from the gold stand-in (vllm-pooling API). A first, uninterrupted run is the reference;
#    in the second run the llama server is killed with kill -9 mid-run and restarted on the same port.
#    Checks: exit 0, 160 rows, unique (prompt_id, response_id), every prompt 0..7, each stored text has
#    the score the stand-ins give it, retries in the log; a rerun resumes with nothing to do. Then
#    `hedge tune` on the result.
# 3. serve: `hedge serve --method bon --theta 4` in front of the same llama server answers 50 chat and 50
#    completion requests (every third streamed) from a stdlib-only Python client with 4 at a time; the
#    llama server is killed with kill -9 and restarted after 30 answers. Checks: every answer is HTTP 200
#    and valid OpenAI JSON (SSE chunks parse and end with [DONE]), chosen_index is the argmax of
#    hedge.scores and the returned text has the chosen score, answers are valid UTF-8 (the model's invalid
#    UTF-8 arrives as U+FFFD), a seeded request repeats exactly, a prompt longer than the context is
#    HTTP 400 (not 502).
# Prints counts, timings and the failures survived; exits 1 if any check failed.
# Everything it writes is under target/e2e-llamacpp (kept for inspection). Paths are relative to the
# repository root; ../shared must be beside the clone.
set -euo pipefail
cd "$(dirname "$0")/../.."

CACHE=${1:-$HOME/.cache/hedge-llama}
TOOLS=../shared/tools
WORK=target/e2e-llamacpp
VENV=target/e2e-venv
CLIENT=tests/e2e/llamacpp_client.py
N=8

[ -d "$TOOLS" ] || { echo "llamacpp.sh: $TOOLS not found (../shared must be beside the clone)" >&2; exit 1; }
for tool in curl python3 cargo; do
    command -v $tool >/dev/null || { echo "llamacpp.sh: $tool is required" >&2; exit 1; }
done

rm -rf "$WORK"
mkdir -p "$WORK"
FAILED=0
CHECKS=0
fail() { echo "FAIL: $*"; FAILED=$((FAILED + 1)); }
# expect MESSAGE COMMAND...: one check; MESSAGE is printed if COMMAND fails.
expect() {
    local msg=$1
    shift
    CHECKS=$((CHECKS + 1))
    if ! "$@"; then fail "$msg"; fi
}
now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$(now)"; }
lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
count() { grep -c "$1" "$2" || true; } # count PATTERN FILE

PIDS=()
LLAMA_PID=""
cleanup() {
    for p in "${PIDS[@]}" $LLAMA_PID; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

# --- 1. the server, the model, hedge ----------------------------------------------------------------
t0=$(now)
echo "== llama-server (cache $CACHE)"
LLAMA=$(bash "$TOOLS/build_llama_server.sh" "$CACHE" | tail -n1)
[ -x "$LLAMA" ] || { echo "llamacpp.sh: no llama-server at $LLAMA" >&2; exit 1; }
T_SERVER=$(since "$t0")

echo "== model"
t0=$(now)
if ! "$VENV/bin/python" -c "import gguf, numpy" 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q gguf numpy
fi
"$VENV/bin/python" "$TOOLS/tiny_gguf.py" "$WORK/tiny.gguf" 1 | tee "$WORK/model.txt"
T_MODEL=$(since "$t0")

echo "== build"
t0=$(now)
cargo build --release --locked -q -p hedge-cli -p hedge-standin --bins
HEDGE=target/release/hedge
STANDIN=target/release/hedge-standin
T_BUILD=$(since "$t0")

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
LLM=http://127.0.0.1:$PORT
RESTARTS=0

start_llama() {
    LD_LIBRARY_PATH=$(dirname "$LLAMA") "$LLAMA" -m "$WORK/tiny.gguf" --host 127.0.0.1 --port "$PORT" \
        -c 1024 -np 4 >>"$WORK/llama.log" 2>&1 &
    LLAMA_PID=$!
    for _ in $(seq 600); do
        if [ "$(curl -s -o /dev/null -w '%{http_code}' "$LLM/health")" = 200 ]; then return 0; fi
        kill -0 "$LLAMA_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "llamacpp.sh: llama-server did not come up on port $PORT:" >&2
    tail -n 20 "$WORK/llama.log" >&2
    exit 1
}

# kill -9 the llama server, wait a second, start it again on the same port; DOWN = seconds it was down.
kill_and_restart() {
    local t
    t=$(now)
    kill -9 "$LLAMA_PID"
    wait "$LLAMA_PID" 2>/dev/null || true
    echo "   kill -9 llama-server (pid $LLAMA_PID)"
    sleep 1
    start_llama
    RESTARTS=$((RESTARTS + 1))
    DOWN=$(since "$t")
    echo "   llama-server restarted on port $PORT (pid $LLAMA_PID) after $DOWN s"
}

# kill_llama_at N PID PROBE TRIES: poll PROBE (prints a count) every 0.05 s, at most TRIES times, while PID runs;
# once the count reaches N, kill -9 and restart the llama server. AT = the count seen (empty if never reached),
# DOWN = seconds the server was down (empty if it was not killed: PID had already finished).
kill_llama_at() {
    local n=$1 pid=$2 probe=$3 tries=$4 c
    AT=""
    DOWN=""
    for _ in $(seq "$tries"); do
        c=$($probe)
        if [ "${c:-0}" -ge "$n" ]; then AT=$c; break; fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    if [ -n "$AT" ] && kill -0 "$pid" 2>/dev/null; then
        kill_and_restart
    fi
}

# wait_url FILE: the first http://127.0.0.1:PORT printed in FILE.
wait_url() {
    for _ in $(seq 300); do
        if grep -q 'http://127\.0\.0\.1:[0-9]' "$1" 2>/dev/null; then
            grep -o 'http://127\.0\.0\.1:[0-9]*' "$1" | head -n1
            return 0
        fi
        sleep 0.05
    done
    echo "llamacpp.sh: $1 did not start:" >&2
    cat "$1" >&2
    exit 1
}

start_llama
"$STANDIN" --listen 127.0.0.1:0 --scorer proxy >"$WORK/rm.log" 2>&1 &
PIDS+=($!)
"$STANDIN" --listen 127.0.0.1:0 --scorer gold >"$WORK/gold.log" 2>&1 &
PIDS+=($!)
RM=$(wait_url "$WORK/rm.log")
GOLD=$(wait_url "$WORK/gold.log")
echo "llama-server $LLM (pid $LLAMA_PID), proxy reward stand-in $RM, gold reward stand-in $GOLD"

# --- 2. collect --------------------------------------------------------------------------------------
python3 "$CLIENT" prompts "$WORK/prompts.jsonl"
collect() { # collect OUT LOG
    HEDGE_LOG=hedge_client=debug "$HEDGE" collect --prompts "$WORK/prompts.jsonl" --llm "$LLM" --model tiny --n $N \
        --reward "$RM" --reward-api openrlhf --gold "$GOLD" --gold-api vllm-pooling --out "$1" \
        --max-tokens 32 --temperature 1.0 --seed 1 --concurrency 4 --max-attempts 12 --quiet 2>"$2"
}

echo "== collect: reference run (uninterrupted)"
t0=$(now)
ref_rc=0
collect "$WORK/reference.jsonl" "$WORK/collect-reference.log" >"$WORK/collect-reference.out" || ref_rc=$?
T_REF=$(since "$t0")
cat "$WORK/collect-reference.out"
expect "the reference collect exited with $ref_rc" test $ref_rc = 0

echo "== collect: kill -9 the llama server mid-run"
t0=$(now)
collect "$WORK/collect.jsonl" "$WORK/collect.log" >"$WORK/collect.out" &
COLLECT_PID=$!
PIDS+=($COLLECT_PID)
collected() { lines "$WORK/collect.jsonl"; }
kill_llama_at 24 $COLLECT_PID collected 2400
ROWS_AT_KILL=$AT
COLLECT_DOWN=$DOWN
collect_rc=0
wait $COLLECT_PID || collect_rc=$?
T_COLLECT=$(since "$t0")
cat "$WORK/collect.out"
expect "collect finished before the llama server could be killed" test -n "$COLLECT_DOWN"
expect "hedge collect exited with $collect_rc" test $collect_rc = 0
COLLECT_RETRIES=$(count retrying "$WORK/collect.log")
COLLECT_CONN=$(grep retrying "$WORK/collect.log" | grep -c 'cannot connect' || true)
COLLECT_503=$(grep retrying "$WORK/collect.log" | grep -c 'HTTP 503' || true)
N_REFUSALS=$(count "Field 'n': Value must be between" "$WORK/collect-reference.log")
expect "no retries in the collect log although the llama server was killed" test "$COLLECT_RETRIES" -gt 0
expect "collect output checks (see above)" python3 "$CLIENT" check-collect "$WORK/collect.jsonl" "$WORK/prompts.jsonl" \
    >"$WORK/collect-check.json"
cat "$WORK/collect-check.json" | grep -v '^{' || true
python3 "$CLIENT" compare "$WORK/reference.jsonl" "$WORK/collect.jsonl" >"$WORK/compare.json"

echo "== collect: rerun of the same command (resume)"
sum_before=$(sha256sum <"$WORK/collect.jsonl")
rerun_rc=0
collect "$WORK/collect.jsonl" "$WORK/collect-rerun.log" >"$WORK/collect-rerun.out" || rerun_rc=$?
head -n1 "$WORK/collect-rerun.out"
expect "the rerun of collect exited with $rerun_rc" test $rerun_rc = 0
expect "the rerun did not find every prompt done" grep -q "20 already done, 0 completed now" "$WORK/collect-rerun.out"
expect "the rerun changed the output" test "$sum_before" = "$(sha256sum <"$WORK/collect.jsonl")"

echo "== tune"
t0=$(now)
for m in bon bop; do
    tune_rc=0
    "$HEDGE" tune --data "$WORK/collect.jsonl" --method $m --json >"$WORK/tune-$m.json" 2>"$WORK/tune-$m.err" || tune_rc=$?
    expect "hedge tune --method $m exited with $tune_rc: $(head -c 300 "$WORK/tune-$m.err")" test $tune_rc = 0
done
T_TUNE=$(since "$t0")

# --- 3. serve ----------------------------------------------------------------------------------------
echo "== serve: 50 chat + 50 completion requests, kill -9 the llama server after 30 answers"
HEDGE_LOG=hedge_client=debug,hedge_serve=debug,info "$HEDGE" serve --upstream "$LLM" --reward "$RM" --reward-api vllm-pooling \
    --method bon --theta 4 --listen 127.0.0.1:0 --seed 1 --max-attempts 12 >"$WORK/serve.out" 2>"$WORK/serve.log" &
PIDS+=($!)
SERVE=$(wait_url "$WORK/serve.log")
t0=$(now)
python3 "$CLIENT" serve "$SERVE" "$WORK/progress" "$WORK/serve-summary.json" >"$WORK/serve-client.log" 2>&1 &
CLIENT_PID=$!
PIDS+=($CLIENT_PID)
answered() { cat "$WORK/progress" 2>/dev/null || echo 0; }
kill_llama_at 30 $CLIENT_PID answered 4800
ANSWERED_AT_KILL=$AT
SERVE_DOWN=$DOWN
client_rc=0
wait $CLIENT_PID || client_rc=$?
T_SERVE=$(since "$t0")
cat "$WORK/serve-client.log"
expect "the serve run finished before the llama server could be killed" test -n "$SERVE_DOWN"
expect "serve client checks (see above)" test $client_rc = 0
expect "seeded repeat / over-long prompt (see above)" python3 "$CLIENT" after "$SERVE" >"$WORK/serve-after.json"
grep -v '^{' "$WORK/serve-after.json" || true
curl -s "$SERVE/metrics" >"$WORK/metrics.txt"
SERVE_RETRIES=$(count retrying "$WORK/serve.log")
SERVE_CONN=$(grep retrying "$WORK/serve.log" | grep -c 'cannot connect' || true)
SERVE_503=$(grep retrying "$WORK/serve.log" | grep -c 'HTTP 503' || true)
expect "no retries in the serve log although the llama server was killed" test "$SERVE_RETRIES" -gt 0

# --- report ------------------------------------------------------------------------------------------
export WORK CACHE LLM N T_SERVER T_MODEL T_BUILD T_REF T_COLLECT T_TUNE T_SERVE ROWS_AT_KILL COLLECT_DOWN \
    ANSWERED_AT_KILL SERVE_DOWN COLLECT_RETRIES COLLECT_CONN COLLECT_503 SERVE_RETRIES SERVE_CONN SERVE_503 \
    N_REFUSALS RESTARTS
python3 - <<'EOF'
import json, os, re
e = os.environ
w = e["WORK"]
def load(name):
    try:
        return json.loads([l for l in open(f"{w}/{name}").read().splitlines() if l.startswith("{")][-1])
    except Exception:
        return {}
c, cmp, s, a = load("collect-check.json"), load("compare.json"), load("serve-summary.json"), load("serve-after.json")
m = open(f"{w}/metrics.txt").read()
def metric(name):
    return ", ".join(f"{lab.split('=')[-1].strip(chr(34)) if ',' not in lab else lab} {int(float(v))}"
                     for lab, v in re.findall(name + r"\{([^}]*)\} (\S+)", m))
tok = re.search(r"tokens\s+(.*)", open(f"{w}/collect.out").read())
model = open(f"{w}/model.txt").read().strip().split(": ", 1)[-1]
print()
print("================ hedge x llama.cpp: summary ================")
print(f"setup    llama-server from cache in {e['T_SERVER']} s ({e['CACHE']}); tiny model ({model}) in {e['T_MODEL']} s; release build {e['T_BUILD']} s")
print(f"         llama-server -c 1024 -np 4 at {e['LLM']} takes n <= 4: collect's n = {e['N']} was refused {e['N_REFUSALS']}x "
      f"(HTTP 400 \"Field 'n' ... <= 4\", once per prompt in flight), then sent as 2 requests of n = 4; serve's n = 4 as one request")
print(f"collect  reference run (uninterrupted): 20 prompts x {e['N']} in {e['T_REF']} s")
print(f"         killed run: {c.get('rows')} rows in {e['T_COLLECT']} s; kill -9 of llama-server at {e['ROWS_AT_KILL']} rows, "
      f"serving again after {e['COLLECT_DOWN']} s")
print(f"         failures survived: {e['COLLECT_RETRIES']} upstream requests retried ({e['COLLECT_CONN']} connection errors, "
      f"{e['COLLECT_503']} HTTP 503 while loading); exit 0, 0 candidates failed")
print(f"         rows {c.get('rows')} = 20 prompts x {e['N']}; unique (prompt_id, response_id) {c.get('unique')}; "
      f"proxy/true = the stand-ins' score of the stored text for {c.get('scores_match')}/{c.get('rows')}")
print(f"         invalid UTF-8 from the model carried as U+FFFD in {c.get('with_replacement_char')}/{c.get('rows')} responses "
      f"({c.get('with_control_char')} with control characters)")
print(f"         same texts as the reference run: {cmp.get('same')}/{cmp.get('of')}")
print(f"         tokens {tok.group(1) if tok else '?'} (as reported: llama.cpp's usage of an n > 1 answer counts its first choice only)")
print(f"         rerun: 20 already done, nothing added, file unchanged")
for meth in ("bon", "bop"):
    try:
        v = json.load(open(f"{w}/tune-{meth}.json"))
        r = v[0] if isinstance(v, list) else v
        keep = {k: r[k] for k in ("method", "parameter", "theta", "regime", "expected_true_reward", "kl") if k in r}
        print(f"tune     {json.dumps(keep) if keep else json.dumps(r)[:160]}")
    except Exception as err:
        print(f"tune     {meth}: {err}")
print(f"         ({e['T_TUNE']} s for both)")
print(f"serve    {s.get('requests')} requests ({s.get('chat')} chat, {s.get('completions')} completions, {s.get('streamed')} streamed), "
      f"4 at a time, in {e['T_SERVE']} s: {s.get('http_200')} HTTP 200, {s.get('valid')} valid; p50 {s.get('p50_s')} s, max {s.get('max_s')} s")
print(f"         kill -9 of llama-server after {e['ANSWERED_AT_KILL']} answers, serving again after {e['SERVE_DOWN']} s")
print(f"         failures survived: {e['SERVE_RETRIES']} upstream requests retried ({e['SERVE_CONN']} connection errors, "
      f"{e['SERVE_503']} HTTP 503); {s.get('null_scores')} candidates dropped; 0 requests failed")
print(f"         every answer: OpenAI JSON / SSE ending in [DONE], chosen_index = argmax(hedge.scores), returned text has the chosen score; "
      f"{s.get('with_replacement_char')} answers carry U+FFFD")
print(f"         seeded request repeated identically: {a.get('seeded_repeat_identical')}; prompt longer than the context: "
      f"HTTP {a.get('too_long_status')} \"{a.get('too_long_message')}\"")
print(f"         /metrics: requests {metric('hedge_requests_total')}; candidates {metric('hedge_candidates_total')}")
print(f"llama-server restarts {e['RESTARTS']}")
EOF
echo "checks   $CHECKS, failed $FAILED; files in $WORK"
if [ "$FAILED" -ne 0 ]; then
    echo "RESULT: FAILED"
    exit 1
fi
echo "RESULT: PASSED"
