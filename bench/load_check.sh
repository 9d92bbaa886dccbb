#!/usr/bin/env bash
# Load check of `hedge serve` (loopback only, bounded, stops by itself).
#
# Builds release binaries, starts stand-in generation and reward servers with 50 ms latency and 10 %
# injected candidate failures, runs `hedge serve` (BoN, n = 4) in front of them and drives 2,000 requests
# from 64 concurrent clients with `hedge-load`. Two upstream styles are checked:
#   vllm   – one request with n = 4; 10 % of the returned choices are left out by the stand-in;
#   llama  – the stand-in refuses n > 1 like llama.cpp, so the proxy sends 4 single requests; 10 % of
#            them fail with HTTP 500.
# The proxy runs with --max-attempts 1, so failed candidates are dropped rather than retried and the
# stand-ins' own latency per request stays 50 ms (generation) + 50 ms (scoring) = 100 ms nominal.
# `hedge-load` first sends the same requests directly to the stand-ins (what the proxy does upstream:
# generation, then one scoring request) to measure their real latency on this machine, then through the
# proxy; the latency the proxy adds is the proxy's percentile minus the direct one (the difference to the
# nominal 100 ms is printed too). The check fails if any request is lost, hangs or gets an invalid answer,
# or if the added p99 is not under 10 ms.
#
#   hedged – the vllm style with continuous hedging on: every request logged to a SQLite store, 2 % of
#            them drawing 8 candidates that a gold stand-in scores after the answer is sent, re-tuning every
#            20 labelled prompts (so re-tunings run during the measured requests). The added p99 must stay under 10 ms, and the store must drop no record.
#
# Before the measured requests, WARMUP (256) requests at the same concurrency open the connections and let
# the proxy learn that the llama-style upstream refuses n > 1; they are reported apart and must not fail.
#
# Environment: REQUESTS (2000), CONCURRENCY (64), LATENCY_MS (50), MAX_ADDED_P99_MS (10), WARMUP (256),
# STYLES ("vllm llama hedged"), SKIP_BUILD=1.
set -euo pipefail
cd "$(dirname "$0")/.."

REQUESTS=${REQUESTS:-2000}
CONCURRENCY=${CONCURRENCY:-64}
LATENCY_MS=${LATENCY_MS:-50}
MAX_ADDED_P99_MS=${MAX_ADDED_P99_MS:-10}
WARMUP=${WARMUP:-256}
STYLES=${STYLES:-vllm llama hedged}
BIN=target/release

if [ "${SKIP_BUILD:-0}" != 1 ]; then
    cargo build --release -p hedge-cli -p hedge-standin --bins
fi

tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

# wait_url FILE PATTERN: the first http://127.0.0.1:PORT printed in FILE after PATTERN appears.
wait_url() {
    for _ in $(seq 200); do
        if grep -q "$2" "$1" 2>/dev/null; then
            grep -o 'http://127\.0\.0\.1:[0-9]*' "$1" | head -n1
            return 0
        fi
        sleep 0.05
    done
    echo "load_check: $1 did not start:" >&2
    cat "$1" >&2
    return 1
}

status=0
for style in $STYLES; do
    hedge_flags=()
    case $style in
        vllm) gen_flags=(--drop-rate 0.1); direct=() ;;
        llama) gen_flags=(--refuse-n --fail-rate 0.1); direct=(--direct-fanout) ;;
        hedged)
            gen_flags=(--drop-rate 0.1); direct=()
            "$BIN/hedge-standin" --listen 127.0.0.1:0 --latency-ms "$LATENCY_MS" --scorer latent >"$tmp/gold.log" 2>&1 &
            pids+=($!)
            gold=$(wait_url "$tmp/gold.log" "listening on")
            hedge_flags=(--store "sqlite:$tmp/hedge.db" --gold "$gold" --gold-api vllm-pooling --gold-rate 0.02
                --calibration-n 8 --retune-every 20 --window 2000 --poll 0.5)
            ;;
    esac
    "$BIN/hedge-standin" --listen 127.0.0.1:0 --latency-ms "$LATENCY_MS" "${gen_flags[@]}" >"$tmp/gen-$style.log" 2>&1 &
    pids+=($!)
    "$BIN/hedge-standin" --listen 127.0.0.1:0 --latency-ms "$LATENCY_MS" --scorer proxy >"$tmp/rm-$style.log" 2>&1 &
    pids+=($!)
    gen=$(wait_url "$tmp/gen-$style.log" "listening on")
    rm=$(wait_url "$tmp/rm-$style.log" "listening on")
    HEDGE_LOG=error "$BIN/hedge" serve --upstream "$gen" --reward "$rm" --reward-api vllm-pooling \
        --method bon --theta 4 --listen 127.0.0.1:0 --max-attempts 1 --max-concurrent 512 "${hedge_flags[@]}" \
        >"$tmp/serve-$style.log" 2>&1 &
    pids+=($!)
    proxy=$(wait_url "$tmp/serve-$style.log" "listening on")
    echo "== $style-style upstream: hedge serve at $proxy, generation $gen, reward $rm (${LATENCY_MS} ms each, 10% candidate failures)"
    if ! "$BIN/hedge-load" --url "$proxy" --requests "$REQUESTS" --concurrency "$CONCURRENCY" \
        --warmup "$WARMUP" --direct-llm "$gen" --direct-reward "$rm" --direct-n 4 "${direct[@]}" --baseline-ms $((2 * LATENCY_MS)) --max-added-p99-ms "$MAX_ADDED_P99_MS" --timeout-secs 30; then
        status=1
    fi
    # Candidate accounting from the proxy's own metrics.
    if command -v curl >/dev/null; then
        curl -s "$proxy/metrics" | grep -E '^hedge_(candidates|failures|requests)_total' || true
        if [ "$style" = hedged ]; then
            sleep 1   # the writer commits within 20 ms; gold jobs finish after their answers
            m=$(curl -s "$proxy/metrics")
            echo "$m" | grep -E '^hedge_(store|gold|calibration|tunings)' || true
            dropped=$(echo "$m" | awk '/^hedge_store_dropped_total/ {print $2}')
            if [ "${dropped:-1}" != 0 ]; then
                echo "load_check: the store dropped $dropped records" >&2
                status=1
            fi
        fi
    fi
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    pids=()
done
exit $status
