#!/usr/bin/env bash
# Soak check of continuous hedging (`hedge serve --store … --gold …`): a loop you can leave running.
# Not part of CI. Loopback only; every loop is bounded in count and time; it stops by itself.
#
#   bash bench/soak.sh                      # 10 minutes (DURATION=600 seconds of traffic)
#   DURATION=90 SKIP_BUILD=1 bash bench/soak.sh
#
# What runs: three `hedge-standin` stand-ins (generation; a proxy reward `--scorer noisy` whose noise starts
# Gaussian; a gold scorer `--scorer latent` that requires a bearer key) and `hedge serve` (BoN, θ = 16,
# n ≤ 32) with a SQLite store, gold scoring, re-tuning and a random bearer key of its own. `hedge-soak`
# (crates/hedge-standin/src/bin/hedge-soak.rs) keeps CLIENTS chat clients busy for DURATION seconds and
# posts one feedback label every FEEDBACK_EVERY_MS, cycling through poisoned ones (1e308, ±1e308, just
# above and just below --max-abs-reward on both signs, "NaN" as strings, one reward too many, an unknown
# id, malformed JSON, a 1e309 literal, a duplicate) and valid ones, on ids of answers it just got.
#
# The schedule of faults, in fractions of DURATION after the traffic starts (D = 90: seconds in brackets):
#   0.10  [ 9  ]  the gold scorer is stopped (SIGTERM) ...
#   0.20  [18  ]  ... and restarted on the same port (gold jobs retry meanwhile, --gold-retry-for)
#   0.30  [27  ]  kill -9 serve; restarted at once with the same flags on the same port (kill 1: on an
#                 intact store, so the last-batch loss and the resumed θ are measured on their own)
#   0.40  [36  ]  drift: the proxy's noise switches from Gaussian (0.5) to Cauchy (3) (POST /admin/proxy-noise)
#   0.45  [40.5]  rm store.db store.db-wal store.db-shm under the running serve (deletion 1)
#   0.65  [58.5]  kill -9 serve and restart (kill 2)
#   0.80  [72  ]  rm store.db* again (deletion 2)
#   1.00  [90  ]  traffic stops; the script waits for the writer and the gold jobs, then judges.
# Before each deletion and each kill the script reads the store (tunings, request ids) with python3's
# sqlite3, so that what the deleted files held is still counted, and after each restart it checks that serve
# resumed the θ of the store's latest adopted tuning. A monitor samples /metrics and /health every 0.5 s.
#
# What it prints at the end (FAIL lines make the exit status 1):
#   requests        sent, answered (any HTTP status), 200s, each non-2xx status, and transport failures
#                   (refused / reset / timeout / invalid answer). Transport failures are fine only around a
#                   kill -9 (from the kill until 2 s after serve is back), counted apart; anywhere else, and
#                   any hang (timeout) or invalid answer, is a FAIL.
#   records         ids answered 200 (each was queued for the log) against the ids found in the store files
#                   (the final file and the snapshots taken before each deletion). A missing id is
#                     - "kill -9, last batch": answered at most KILL_WINDOW_MS before a kill -9 (documented as
#                       losable: the writer's last batch);
#                     - "deleted by the script": answered before a deletion (from 1 s before the snapshot
#                       taken just before it), or after it but before serve noticed it (counted apart; noticed:
#                       hedge_store_replaced_total went up, as sampled every 0.5 s, or serve restarted); a
#                       deletion not noticed within NOTICE_LIMIT seconds is a FAIL;
#                     - otherwise "lost": a FAIL.
#                   hedge_store_dropped_total (queue full / store failed) is shown beside it.
#   feedback        per label kind: the statuses it got and what a correct server answers; a poisoned label
#                   accepted (2xx) or a valid one refused with a 5xx, or no answer outside a kill window, is
#                   a FAIL. A 404 for a real id whose file was deleted after it was answered is expected.
#   tunings         every tuning from every store file: file, round, θ before → θ tuned, adopted, verdict,
#                   difference, z, critical (from evidence.adoption, else evidence.versus_current). An adopted
#                   tuning whose difference ≤ 0 or z ≤ critical (or not finite) is a FAIL.
#   resume          after each restart: θ served vs the store's latest adopted θ (a mismatch is a FAIL).
#   metrics         per serve incarnation (counters restart with serve), the hedging counters and the new
#                   ones (hedge_tuning_failures_total, hedge_store_replaced_total,
#                   hedge_feedback_rejected_total{reason}, hedge_requests_abandoned_total, …) or "n/a".
#   panics          `panicked` lines in serve's stderr (must be 0).
#   secrets         occurrences of the serve key and the gold key in every log, the driver's output and
#                   the saved /v1/hedge/state and /metrics answers (must be 0).
#
# Environment: DURATION (600 s of traffic), CLIENTS (4), LATENCY_MS (10, each stand-in), FEEDBACK_EVERY_MS
# (500), GOLD_RATE (0.25), RETUNE_EVERY (100), WINDOW (400), MAX_ABS_REWARD (1e6; passed to serve only if
# it has --max-abs-reward), KILL_WINDOW_MS (1000), NOTICE_LIMIT (10 s), OUT (target/soak: logs, store,
# snapshots; emptied first, kept afterwards), BIN (target/release: where the binaries are), SKIP_BUILD=1.
set -uo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-600}
CLIENTS=${CLIENTS:-4}
LATENCY_MS=${LATENCY_MS:-10}
FEEDBACK_EVERY_MS=${FEEDBACK_EVERY_MS:-500}
GOLD_RATE=${GOLD_RATE:-0.25}
RETUNE_EVERY=${RETUNE_EVERY:-100}
WINDOW=${WINDOW:-400}
MAX_ABS_REWARD=${MAX_ABS_REWARD:-1e6}
KILL_WINDOW_MS=${KILL_WINDOW_MS:-1000}
NOTICE_LIMIT=${NOTICE_LIMIT:-10}
OUT=${OUT:-target/soak}
THETA0=16   # serve's --theta: what a restart serves when the store holds no adopted θ
BIN=${BIN:-target/release}

if [ "${SKIP_BUILD:-0}" != 1 ]; then
    cargo build --release -p hedge-cli -p hedge-standin --bins || exit 1
fi
for b in hedge hedge-standin hedge-soak; do
    [ -x "$BIN/$b" ] || { echo "soak: $BIN/$b is missing (build it, or drop SKIP_BUILD)" >&2; exit 1; }
done

rm -rf "$OUT" && mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
STORE="$OUT/store.db"
# The keys live outside $OUT (whose every file is searched for them) and are removed at the end.
secrets=$(mktemp -d)
chmod 700 "$secrets"
SERVE_KEY="soak-serve-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
GOLD_KEY="soak-gold-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
printf 'Authorization: Bearer %s\n' "$SERVE_KEY" >"$secrets/auth"

pids=()            # every process this script started (stopped by pid at the end)
serve_pid= gold_pid= monitor_pid= driver_pid=
cleanup() {
    for p in $driver_pid $monitor_pid $serve_pid $gold_pid "${pids[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$secrets"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { date +%s%3N; }
T0=$(now_ms)
# event KIND DETAIL: one line in events.tsv (ms since the epoch) and on the terminal (s since the start).
event() {
    local t; t=$(now_ms)
    printf '%s\t%s\t%s\n' "$t" "$1" "${2:-}" >>"$OUT/events.tsv"
    awk -v t="$t" -v t0="$T0" -v k="$1" -v d="${2:-}" 'BEGIN {printf "[%6.1f s] %s %s\n", (t - t0) / 1000, k, d}'
}
: >"$OUT/events.tsv"

# wait_url FILE: the first http://127.0.0.1:PORT printed in FILE after "listening on" appears (≤ 60 s).
wait_url() {
    for _ in $(seq 600); do
        if grep -q "listening on" "$1" 2>/dev/null; then
            grep -o 'http://127\.0\.0\.1:[0-9]*' "$1" | head -n1
            return 0
        fi
        sleep 0.1
    done
    echo "soak: $1 did not start:" >&2
    cat "$1" >&2
    return 1
}

# Stand-ins: generation, proxy reward (drifts), gold reward (stopped and restarted; requires a key).
"$BIN/hedge-standin" --listen 127.0.0.1:0 --latency-ms "$LATENCY_MS" >"$OUT/standin-llm.log" 2>&1 &
pids+=($!)
"$BIN/hedge-standin" --listen 127.0.0.1:0 --latency-ms "$LATENCY_MS" --scorer noisy --noise gaussian:0.5 \
    >"$OUT/standin-proxy.log" 2>&1 &
pids+=($!)
llm=$(wait_url "$OUT/standin-llm.log") || exit 1
proxy=$(wait_url "$OUT/standin-proxy.log") || exit 1
gold_n=0
start_gold() { # start_gold PORT (0: any); sets gold_pid and gold
    gold_n=$((gold_n + 1))
    HEDGE_GOLD_API_KEY="$GOLD_KEY" "$BIN/hedge-standin" --listen "127.0.0.1:$1" --latency-ms "$LATENCY_MS" \
        --scorer latent --require-key-env HEDGE_GOLD_API_KEY >"$OUT/standin-gold-$gold_n.log" 2>&1 &
    gold_pid=$!
    gold=$(wait_url "$OUT/standin-gold-$gold_n.log")
}
start_gold 0 || exit 1
gold_port=${gold##*:}

# hedge serve, restarted with the same flags on the same port.
extra=()
if "$BIN/hedge" serve --help 2>/dev/null | grep -q -- '--max-abs-reward'; then
    extra+=(--max-abs-reward "$MAX_ABS_REWARD")
    driver_limit=(--max-abs-reward "$MAX_ABS_REWARD")
    limit_note="--max-abs-reward $MAX_ABS_REWARD"
else
    driver_limit=()
    limit_note="serve has no --max-abs-reward: poisoned finite labels are reported, not judged"
fi
serve_n=0
port=0
start_serve() {
    serve_n=$((serve_n + 1))
    HEDGE_SERVE_API_KEY="$SERVE_KEY" HEDGE_GOLD_API_KEY="$GOLD_KEY" HEDGE_LOG=info \
        "$BIN/hedge" serve --upstream "$llm" --reward "$proxy" --reward-api tei \
        --method bon --theta "$THETA0" --max-n 32 --calibration-n 32 \
        --store "sqlite:$STORE" --gold "$gold" --gold-api tei --gold-rate "$GOLD_RATE" \
        --retune-every "$RETUNE_EVERY" --window "$WINDOW" --poll 0.5 --gold-retry-for 60 \
        --request-timeout 20 --listen "127.0.0.1:$port" "${extra[@]}" >"$OUT/serve-$serve_n.log" 2>&1 &
    serve_pid=$!
    echo "$serve_n $serve_pid" >"$OUT/serve.current"
    local url
    url=$(wait_url "$OUT/serve-$serve_n.log") || return 1
    port=${url##*:}
    event serve_started "incarnation=$serve_n pid=$serve_pid $url"
}
start_serve || exit 1
URL="http://127.0.0.1:$port"
event setup "serve $URL, generation $llm, proxy $proxy, gold $gold; $limit_note"

# store_read WHAT OUT: python3 reads the store file (read-only; absent file: nothing) — request ids, tunings
# as JSON lines, or the latest adopted θ.
store_read() {
    python3 - "$STORE" "$1" >"$2" <<'EOF'
import json, os, sqlite3, sys
path, what = sys.argv[1], sys.argv[2]
if not os.path.exists(path):
    sys.exit(0)
try:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    if what == "ids":
        for (i,) in db.execute("SELECT id FROM requests"):
            print(i)
    elif what == "tunings":
        for row in db.execute("SELECT round, at_ms, replica, method, theta_before, theta_tuned, n, "
                              "window_prompts, verdict, evidence, adopted, reason FROM tunings ORDER BY round"):
            keys = ["round", "at_ms", "replica", "method", "theta_before", "theta_tuned", "n",
                    "window_prompts", "verdict", "evidence", "adopted", "reason"]
            t = dict(zip(keys, row))
            try:
                t["evidence"] = json.loads(t["evidence"])
            except Exception:
                pass
            print(json.dumps(t))
    elif what == "adopted":
        r = db.execute("SELECT theta_tuned FROM tunings WHERE adopted = 1 ORDER BY round DESC LIMIT 1").fetchone()
        print("" if r is None else r[0])
except sqlite3.Error as e:
    print(f"soak: reading {path}: {e}", file=sys.stderr)
EOF
}
snap=0
snapshot() { # snapshot REASON: what the store file holds now
    snap=$((snap + 1))
    store_read ids "$OUT/snap-$snap.ids"
    store_read tunings "$OUT/snap-$snap.tunings"
    event snapshot "n=$snap before=$1 ids=$(wc -l <"$OUT/snap-$snap.ids") tunings=$(wc -l <"$OUT/snap-$snap.tunings")"
}

# The monitor: every 0.5 s, serve's incarnation, /health and the metrics the analysis needs (n/a if absent).
monitor() {
    local end=$(( $(date +%s) + DURATION + 180 ))
    while [ "$(date +%s)" -lt "$end" ]; do
        local m h inc
        inc=$(cut -d' ' -f1 "$OUT/serve.current" 2>/dev/null)
        m=$(curl -s -m 2 -H @"$secrets/auth" "$URL/metrics" 2>/dev/null) || m=""
        h=$(curl -s -m 2 "$URL/health" 2>/dev/null | tr -d '\n\t') || h=""
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(now_ms)" "$inc" "${h:-down}" \
            "$(echo "$m" | awk '$1 == "hedge_store_replaced_total" {print $2}' | grep . || echo n/a)" \
            "$(echo "$m" | awk '$1 == "hedge_store_committed_total" {print $2}' | grep . || echo n/a)" \
            "$(echo "$m" | awk '$1 == "hedge_store_queue_depth" {print $2}' | grep . || echo n/a)" \
            "$(echo "$m" | awk '$1 == "hedge_theta" {print $2}' | grep . || echo n/a)" >>"$OUT/monitor.tsv"
        sleep 0.5
    done
}
monitor &
monitor_pid=$!

# save_state TAG: /v1/hedge/state and /metrics as served now (kept: they are searched for the keys too).
save_state() {
    curl -s -m 10 -H @"$secrets/auth" "$URL/v1/hedge/state" >"$OUT/state-$1.json" 2>/dev/null || true
    curl -s -m 10 -H @"$secrets/auth" "$URL/metrics" >"$OUT/metrics-$1.txt" 2>/dev/null || true
}

# kill9_and_restart N: the store's adopted θ at the kill, then a restart that must serve it.
kill9_and_restart() {
    save_state "before-kill-$1"
    local sent; sent=$(now_ms)
    kill -9 "$serve_pid" 2>/dev/null
    wait "$serve_pid" 2>/dev/null
    # Stamped once it is dead (nothing answered later came from it); sent_ms: when the signal went.
    event kill9 "n=$1 pid=$serve_pid sent_ms=$sent"
    snapshot "kill-$1"
    local expected before
    before=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("theta"))' \
        "$OUT/state-before-kill-$1.json" 2>/dev/null) || before="?"
    store_read adopted "$OUT/adopted-at-kill-$1"
    expected=$(cat "$OUT/adopted-at-kill-$1")
    start_serve || { echo "soak: serve did not restart" >&2; return 1; }
    local got source
    save_state "after-restart-$1"
    got=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s.get("theta"), s.get("source"))' \
        "$OUT/state-after-restart-$1.json" 2>/dev/null) || got="? ?"
    event resume "n=$1 theta_before_kill=$before store_adopted=${expected:-none} served_theta=${got% *} source=${got#* }"
}

# Traffic and feedback, in the background for DURATION seconds.
HEDGE_SERVE_API_KEY="$SERVE_KEY" "$BIN/hedge-soak" --url "$URL" --clients "$CLIENTS" --duration-secs "$DURATION" \
    --timeout-secs 60 --feedback-every-ms "$FEEDBACK_EVERY_MS" "${driver_limit[@]}" \
    --requests-out "$OUT/requests.tsv" --feedback-out "$OUT/feedback.tsv" >"$OUT/driver.log" 2>&1 &
driver_pid=$!
TS=$(now_ms)
event traffic_started "clients=$CLIENTS duration=${DURATION}s"

# at FRACTION: sleep until that fraction of DURATION after the traffic started.
at() {
    local target now
    target=$(awk -v ts="$TS" -v f="$1" -v d="$DURATION" 'BEGIN {printf "%.0f", ts + f * d * 1000}')
    now=$(now_ms)
    if [ "$target" -gt "$now" ]; then
        sleep "$(awk -v a="$target" -v b="$now" 'BEGIN {printf "%.3f", (a - b) / 1000}')"
    fi
}
rm_store() {
    snapshot "rm-$1"
    event rm_store "n=$1" # stamped before: an id answered later was answered after the deletion
    rm -f "$STORE" "$STORE-wal" "$STORE-shm"
}

at 0.10; kill "$gold_pid"; wait "$gold_pid" 2>/dev/null; event gold_stopped "port=$gold_port"
at 0.20; start_gold "$gold_port" && event gold_started "port=$gold_port pid=$gold_pid"
at 0.30; kill9_and_restart 1
at 0.40; curl -s -m 5 -X POST "$proxy/admin/proxy-noise" -d '{"kind": "cauchy", "scale": 3}' >/dev/null
event drift "proxy noise $(curl -s -m 5 "$proxy/admin/proxy-noise")"
at 0.45; rm_store 1
at 0.65; kill9_and_restart 2
at 0.80; rm_store 2

# The end of the traffic (the driver stops by itself), then the writer's queue and the gold jobs.
for _ in $(seq $((DURATION + 120))); do kill -0 "$driver_pid" 2>/dev/null || break; sleep 1; done
kill "$driver_pid" 2>/dev/null; wait "$driver_pid" 2>/dev/null
event traffic_stopped
for _ in $(seq 60); do
    q=$(curl -s -m 2 -H @"$secrets/auth" "$URL/metrics" | awk '$1 == "hedge_store_queue_depth" {print $2}')
    [ "${q:-0}" = 0 ] && break
    sleep 1
done
sleep 3 # gold jobs finish after their answers; one more tuner poll
save_state final
kill "$monitor_pid" 2>/dev/null; wait "$monitor_pid" 2>/dev/null
snapshot final
kill "$serve_pid" 2>/dev/null; wait "$serve_pid" 2>/dev/null
event serve_stopped

# The keys, then the judgement.
leaks=0
for k in "$SERVE_KEY" "$GOLD_KEY"; do
    c=$(grep -rFc -- "$k" "$OUT" 2>/dev/null | awk -F: '{s += $NF} END {print s + 0}')
    leaks=$((leaks + c))
done
panics=$(cat "$OUT"/serve-*.log | grep -c panicked)

python3 - "$OUT" "$snap" "$KILL_WINDOW_MS" "$NOTICE_LIMIT" "$leaks" "$panics" "${#driver_limit[@]}" "$THETA0" <<'EOF'
import glob, json, math, os, sys
from collections import Counter, defaultdict

out, nsnap, kill_window, notice_limit, leaks, panics, has_limit, theta0 = sys.argv[1:9]
nsnap, kill_window, notice_limit = int(nsnap), int(kill_window), float(notice_limit) * 1000
leaks, panics, has_limit = int(leaks), int(panics), int(has_limit) > 0
fails = []

def rows(name):
    p = os.path.join(out, name)
    return [l.rstrip("\n").split("\t") for l in open(p)] if os.path.exists(p) else []

events = [(int(t), k, d) for t, k, d in rows("events.tsv")]
kills = [t for t, k, _ in events if k == "kill9"]  # serve dead
kills_sent = [int(d.split("sent_ms=")[1].split()[0]) if "sent_ms=" in d else t
              for t, k, d in events if k == "kill9"]  # SIGKILL sent
starts = [t for t, k, _ in events if k == "serve_started"]
rms = [t for t, k, _ in events if k == "rm_store"]
snaps = {}  # snapshot number -> time
for t, k, d in events:
    if k == "snapshot":
        snaps[int(d.split()[0][2:])] = t
t_ref = next((t for t, k, _ in events if k == "traffic_started"), events[0][0])
# Serve is "down" from a kill until 2 s after the next start.
def down(t0, t1=None):
    t1 = t0 if t1 is None else t1
    for ks, k in zip(kills_sent, kills):
        back = min([s for s in starts if s > k], default=10**15) + 2000
        if t1 >= ks and t0 <= back:
            return True
    return False

# --- requests ---
req = rows("requests.tsv")
status, outcome = Counter(), Counter()
around_kill, bad = Counter(), Counter()
ok = {}  # id -> done_ms
for sent, done, who, oc, st, i, n, cal in req:
    sent, done = int(sent), int(done)
    outcome[oc] += 1
    if oc in ("ok", "http", "invalid"):
        status[st] += 1
    if oc == "ok":
        ok[i] = done
    if oc in ("refused", "reset") and down(sent, done):
        around_kill[oc] += 1
    elif oc in ("refused", "reset", "timeout", "invalid"):
        bad[oc] += 1
answered = sum(status.values())
print("\n== requests")
print(f"sent {len(req)}, answered {answered} (HTTP 200: {status.get('200', 0)}); "
      f"non-2xx: {dict(sorted((s, c) for s, c in status.items() if not s.startswith('2'))) or 'none'}")
print(f"around kill -9 (serve down, counted apart): refused {around_kill['refused']}, reset {around_kill['reset']}")
print(f"transport failures elsewhere: {dict(bad) or 'none'}")
if bad:
    fails.append(f"{sum(bad.values())} requests not answered outside a kill window: {dict(bad)}")
if not ok:
    fails.append("no request was answered 200")

# --- records ---
seen = set()
for s in range(1, nsnap + 1):
    p = os.path.join(out, f"snap-{s}.ids")
    if os.path.exists(p):
        seen.update(l.strip() for l in open(p))
final_ids = set(l.strip() for l in open(os.path.join(out, f"snap-{nsnap}.ids"))) if nsnap else set()
monitor = rows("monitor.tsv")
# When serve noticed each deletion: hedge_store_replaced_total rose within the same incarnation, or a restart.
notices = []  # (deletion time, start of its window, when serve noticed it, how)
for r in rms:
    # The snapshot taken just before the deletion; an id answered from 1 s before it may not be in it yet.
    w0 = max([ts for ts in snaps.values() if ts <= r], default=r) - 1000
    before = [m for m in monitor if int(m[0]) < r and m[3] != "n/a"]
    base = (before[-1][1], before[-1][3]) if before else None
    t_notice = None
    for m in monitor:
        if int(m[0]) > r and base and m[1] == base[0] and m[3] != "n/a" and float(m[3]) > float(base[1]):
            t_notice = int(m[0]); how = "hedge_store_replaced_total"; break
    restart = min([s for s in starts if s > r], default=None)
    if restart is not None and (t_notice is None or restart < t_notice):
        t_notice, how = restart, "restart after kill -9"
    if t_notice is None:
        t_notice, how = 10**15, "never"
    notices.append((r, w0, t_notice, how))
lost = Counter(); ages = []
for i, t in ok.items():
    if i in seen:
        continue
    k = [k for k in kills if k - kill_window <= t <= k]
    d = [r for (r, w0, tn, _) in notices if w0 <= t < tn]
    if d and t < d[0]:
        lost["deleted by the script"] += 1
    elif d:
        lost["after a deletion, before serve noticed it"] += 1
    elif k:
        lost["kill -9, last batch"] += 1; ages.append(k[0] - t)
    else:
        lost["lost"] += 1
gone_by_rm = sum(1 for i in seen if i not in final_ids)
print("\n== records")
print(f"answered 200: {len(ok)}; in a store file: {len(set(ok) & seen)} (final file {len(set(ok) & final_ids)}, "
      f"in deleted files only {len((set(ok) & seen) - final_ids)})")
for r, w0, tn, how in notices:
    lag = "not noticed" if how == "never" else f"noticed after {(tn - r) / 1000:.1f} s ({how})"
    print(f"deletion at +{(r - t_ref) / 1000:.1f} s: {lag}")
    if how == "never" or (tn - r > notice_limit and how != "restart after kill -9"):
        fails.append(f"serve did not notice the store file's deletion within {notice_limit / 1000:.0f} s")
    elif how == "restart after kill -9" and tn - r > notice_limit:
        fails.append(f"serve noticed a deletion only when restarted {(tn - r) / 1000:.1f} s later: "
                     "records acknowledged meanwhile went to the deleted file")
print(f"missing: kill -9 last batch {lost['kill -9, last batch']}"
      + (f" (at most {max(ages)} ms before the kill)" if ages else "")
      + f", deleted by the script (answered before the rm) {lost['deleted by the script']}"
      + f", answered after the rm but before serve noticed it {lost['after a deletion, before serve noticed it']}"
      + f", lost {lost['lost']}")
if lost["lost"]:
    fails.append(f"{lost['lost']} acknowledged records lost")
m_final = open(os.path.join(out, "metrics-final.txt")).read() if os.path.exists(os.path.join(out, "metrics-final.txt")) else ""
def metric(name, text=None):
    text = m_final if text is None else text
    vals = [l.split()[-1] for l in text.splitlines() if l.startswith(name) and not l.startswith("#")
            and (l[len(name)] in " {")]
    lines = [l for l in text.splitlines() if l.startswith(name + "{")]
    if lines:
        return ", ".join(f"{l.split()[0][len(name):]} {l.split()[-1]}" for l in lines)
    return vals[0] if vals else "n/a"
dropped = [metric("hedge_store_dropped_total", open(p).read())
           for p in sorted(glob.glob(os.path.join(out, "metrics-before-kill-*.txt"))) + [os.path.join(out, "metrics-final.txt")]
           if os.path.exists(p)]
print(f"hedge_store_dropped_total per serve incarnation (before each kill, at the end): {' / '.join(dropped)}")

# --- feedback ---
fb = rows("feedback.tsv")
print("\n== feedback labels (kind: expected -> got)")
by = defaultdict(Counter)
for sent, done, kind, expect, oc, st, i, answered_ms, etype in fb:
    sent, done, answered_ms = int(sent), int(done), int(answered_ms)
    got = st if oc in ("ok", "http", "invalid") else oc
    deleted = any(answered_ms - 1000 <= r <= sent for r in rms) or any(answered_ms - kill_window <= k <= sent for k in kills)
    verdict = "ok"
    if oc in ("refused", "reset") and down(sent, done):
        verdict = "ok (serve down)"
    elif oc in ("refused", "reset", "timeout", "invalid"):
        verdict = "FAIL"
    elif expect == "any":
        verdict = "ok" if not st.startswith("5") else "FAIL"
    elif expect == "reject":
        verdict = "ok" if st.startswith("4") else "FAIL"
    elif st == expect:
        verdict = "ok"
    elif st == "404" and deleted and i != "-":
        verdict = "ok (its record was deleted or lost at a kill)"
    elif st.startswith("5"):
        verdict = "FAIL"
    else:
        verdict = "unexpected"
    by[(kind, expect)][(got, verdict)] += 1
for (kind, expect), c in sorted(by.items()):
    print(f"  {kind:16} expect {expect:6} -> " + ", ".join(f"{g} x{n}" + ("" if v == "ok" else f" [{v}]")
                                                          for (g, v), n in sorted(c.items())))
    for (g, v), n in c.items():
        if v == "FAIL":
            fails.append(f"feedback {kind}: expected {expect}, got {g} x{n}")
if not has_limit:
    print("  (serve has no --max-abs-reward: finite poisoned labels were not judged; see which got 200 above)")

# --- tunings ---
print("\n== tunings (file: snapshot that last saw it; round, θ before -> θ tuned, adopted, verdict, difference, z, critical)")
tun = {}
for s in range(1, nsnap + 1):
    p = os.path.join(out, f"snap-{s}.tunings")
    if not os.path.exists(p):
        continue
    # A store file lives from one deletion to the next: key by (file, round).
    file_no = 1 + sum(1 for r in rms if r < snaps.get(s, 0))
    for l in open(p):
        t = json.loads(l)
        tun[(file_no, t["round"])] = t
def num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")
bad_adopt = 0
warns = []
lines = []
for (f, r), t in sorted(tun.items()):
    ev = t.get("evidence") if isinstance(t.get("evidence"), dict) else {}
    a = ev.get("adoption") if isinstance(ev.get("adoption"), dict) else None
    src = "adoption" if a is not None else "versus_current"
    a = a if a is not None else (ev.get("versus_current") or {})
    d, z, crit = num(a.get("difference")), num(a.get("z")), num(a.get("critical"))
    adopted = bool(t["adopted"])
    # Round 0 "carried_over" is no decision: serve recorded the θ in force into a store file it re-created
    # after a deletion, so that a restart resumes it. It must repeat the θ in force, nothing else.
    carried = t["verdict"] == "carried_over"
    flag = ""
    if carried:
        src = "carried over"
        if not (r == 0 and t["theta_before"] == t["theta_tuned"]):
            bad_adopt += 1; flag = "  <-- a carry-over that changed θ"
    elif adopted and not (math.isfinite(d) and math.isfinite(z) and math.isfinite(crit) and d > 0 and z > crit):
        bad_adopt += 1; flag = "  <-- adopted without a significant gain"
    lines.append(f"  file {f} round {r:3}: {t['theta_before']} -> {t['theta_tuned']}  "
                 f"{'ADOPTED' if adopted else 'kept   '} {t['verdict']:12} d={d:.4g} z={z:.3g} crit={crit:.3g} ({src}){flag}")
if len(lines) > 60:
    keep = set(range(10)) | set(range(len(lines) - 10, len(lines))) | {i for i, l in enumerate(lines) if "ADOPTED" in l}
    shown = [l for i, l in enumerate(lines) if i in keep]
    print("\n".join(shown) + f"\n  ({len(lines) - len(shown)} more kept rounds not shown; all in {out}/snap-*.tunings)")
else:
    print("\n".join(lines) or "  none")
adoptions = sum(1 for t in tun.values() if t["adopted"] and t["verdict"] != "carried_over")
carried_over = sum(1 for t in tun.values() if t["verdict"] == "carried_over")
# What serve itself reported (its /v1/hedge/state history, from its own connection to the store): tunings
# written to a deleted file after the script's last look at it show up only there.
seen_at = {t["at_ms"] for t in tun.values()}
unseen = {}
for p in sorted(glob.glob(os.path.join(out, "state-*.json"))):
    try:
        st = json.load(open(p))
    except Exception:
        continue
    h = st.get("history") or []
    for x in h:
        if x.get("at_ms") not in seen_at:
            unseen[x.get("at_ms")] = x
    print(f"  {os.path.basename(p)}: serve reports {len(h)} tunings, {sum(1 for x in h if x.get('adopted'))} adopted, "
          f"θ {st.get('theta')}")
if unseen:
    xs = sorted(unseen.values(), key=lambda x: x.get("at_ms") or 0)
    print(f"  {len(xs)} tunings serve reported were in no store file the script could read (written to a deleted "
          f"file), {sum(1 for x in xs if x.get('adopted'))} adopted: "
          + "; ".join(f"round {x.get('round')} {x.get('theta_before')} -> {x.get('theta')}"
                      f"{' ADOPTED' if x.get('adopted') else ''}" for x in xs[:12]))
print(f"tunings {len(tun)}, adopted {adoptions}, carried over into a re-created file {carried_over}, "
      f"adopted without a significant gain {bad_adopt}")
if bad_adopt:
    fails.append(f"{bad_adopt} adopted tunings without a significant gain of their own")

# --- resume, metrics, panics, secrets ---
print("\n== resume after kill -9")
for t, k, d in events:
    if k == "resume":
        f = dict(x.split("=", 1) for x in d.split())
        exp, got = f.get("store_adopted", "none"), f.get("served_theta", "?")
        # The restarted serve may have tuned (and adopted) before the script asked: then the θ it resumed is
        # the θ before its first tuning.
        try:
            k = kills[int(f.get("n")) - 1]
            hist = json.load(open(os.path.join(out, f"state-after-restart-{f.get('n')}.json"))).get("history") or []
            first = [x for x in hist if (x.get("at_ms") or 0) > k]
            if first:
                got = str(first[0].get("theta_before"))
                f["source"] = "θ before its first tuning, at once after the start"
        except (OSError, ValueError, IndexError):
            pass
        okr = num(got) == num(theta0 if exp == "none" else exp)
        print(f"  kill {f.get('n')}: θ before the kill {f.get('theta_before_kill')}, store's adopted θ {exp}, "
              f"served θ after the restart {got} (source {f.get('source')})"
              + ("" if okr else "  <-- FAIL"))
        if not okr:
            fails.append(f"restart {f.get('n')} served θ {got}, the store's adopted θ is {exp}")
        elif num(got) != num(f.get("theta_before_kill")):
            warns.append(f"restart {f.get('n')}: θ {f.get('theta_before_kill')} before the kill, {got} after "
                         "(the store no longer held the adoption)")
# Counters restart with each serve: one value per incarnation (read just before each kill -9, and at the end).
pages = [open(p).read() for p in sorted(glob.glob(os.path.join(out, "metrics-before-kill-*.txt")))
         + [os.path.join(out, "metrics-final.txt")] if os.path.exists(p)]
print("\n== metrics per serve incarnation, before each kill -9 / at the end (n/a: this serve does not have it)")
for name in ["hedge_theta", "hedge_tunings_total", "hedge_adoptions_total", "hedge_tuning_failures_total",
             "hedge_store_committed_total", "hedge_store_dropped_total", "hedge_store_errors_total",
             "hedge_store_replaced_total", "hedge_store_degraded", "hedge_feedback_total",
             "hedge_feedback_rejected_total", "hedge_requests_abandoned_total", "hedge_gold_sent_total",
             "hedge_gold_failed_total", "hedge_gold_rejected_total", "hedge_gold_retries_total",
             "hedge_gold_dropped_total"]:
    print(f"  {name} " + " / ".join(metric(name, page) for page in pages))
failed_tunings = sum(open(p, errors="replace").read().count("tuning failed")
                     for p in glob.glob(os.path.join(out, "serve-*.log")))
print(f"  'tuning failed' lines in serve's stderr: {failed_tunings}")
if failed_tunings:
    warns.append(f"{failed_tunings} tunings failed (serve's log): the tuner did not re-tune on those rounds")
if unseen:
    warns.append(f"{len(unseen)} tunings ({sum(1 for x in unseen.values() if x.get('adopted'))} adopted) were "
                 "written to a deleted store file: their adoption evidence was not checked")
print(f"\n== panics in serve's stderr: {panics}")
print(f"== secrets found in logs, driver output, state and metrics: {leaks}")
if panics:
    fails.append(f"{panics} panics in serve's stderr")
if leaks:
    fails.append(f"a key appeared {leaks} times in the outputs")
print()
for w in warns:
    print("WARN:", w)
for f in fails:
    print("FAIL:", f)
print("soak: " + ("PASS" if not fails else f"{len(fails)} invariant(s) failed") + f"; logs and store in {out}")
sys.exit(1 if fails else 0)
EOF
