#!/usr/bin/env bash
# hedge against NumPy/SciPy and against the data-pass floor (issue: performance).
# Usage: bench/compare.sh            (T=10000 prompts x M=1000 responses, 5 repetitions)
#        T=2000 M=200 REPS=3 bench/compare.sh   (a quick run; SKIP_REPORT=1 leaves out `hedge report`)
# Prints every target with its measured median. Needs: cargo, python3 (a venv with numpy, scipy, pandas,
# pyarrow is created under target/bench-venv from PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."
T=${T:-10000}; M=${M:-1000}; REPS=${REPS:-5}
DIR=${BENCH_DIR:-target/bench-data}
mkdir -p "$DIR"

cargo build --release -q -p hedge-cli
H=target/release/hedge
VENV=target/bench-venv
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q numpy scipy pandas pyarrow
fi
PY="$VENV/bin/python"

P="$DIR/bench_${T}x${M}.parquet"; C="$DIR/bench_${T}x${M}.csv"; S="$DIR/sbon_1000x64.parquet"
[ -f "$P" ] || $H simulate gaussian --prompts "$T" --responses "$M" --seed 0 --out "$P"
[ -f "$C" ] || $H simulate gaussian --prompts "$T" --responses "$M" --seed 0 --out "$C"
[ -f "$S" ] || $H simulate gaussian --prompts 1000 --responses 64 --seed 0 --out "$S"

LOG="$DIR/timings.tsv"; : > "$LOG"
run() {  # name, command...: appends "name wall_s maxrss_kb" to the log
    local name=$1; shift
    /usr/bin/time -f "$name %e %M" -a -o "$LOG" "$@" > "$DIR/$name.out"
}
# Every timed run reads its input from a page cache warmed just before (on this VM the first command after
# the memory-hungry NumPy runs was up to 0.5 s slower, whatever it was).
warm() { cat "$@" > /dev/null; }
echo "machine: $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB; $(uname -srm)"
echo "data: $T prompts x $M responses ($P, $C); $REPS repetitions, alternating"
for rep in $(seq "$REPS"); do
    warm "$P"; run hedge_parquet   $H tune --data "$P" --method bop --json
    warm "$P"; run numpy_paper     "$PY" bench/numpy_ref.py "$P" paper --json
    warm "$P"; run numpy_vector    "$PY" bench/numpy_ref.py "$P" vectorised --json
    warm "$C"
    # The CSV pair runs back to back, in alternating order, so that both see the same machine state.
    # parse_csv is the single-thread parse floor (`info --parse-threads 1`); the tune parses on two threads.
    if [ $((rep % 2)) -eq 1 ]; then
        run hedge_csv   $H tune --data "$C" --method bop --json
        warm "$C"; run parse_csv   $H info --data "$C" --json --parse-threads 1
    else
        run parse_csv   $H info --data "$C" --json --parse-threads 1
        warm "$C"; run hedge_csv   $H tune --data "$C" --method bop --json
    fi
    warm "$C"; run parse_csv_2t    $H info --data "$C" --json
    # SBoN against BoP's tune of the same small file, back to back.
    warm "$S"; run sbon_tune       $H tune --data "$S" --method sbon --n 16 --json
    warm "$S"; run bop_small       $H tune --data "$S" --method bop --json
    warm "$S"; run sbon_tune_nm    $H tune --data "$S" --method sbon --json
    warm "$S"; run sbon_curve      $H curve --data "$S" --method sbon --n 16 --grid 0:1000:23 --json
    warm "$P"; run bootstrap_1000  $H tune --data "$P" --method bop --bootstrap 1000 --json
    # The report with BoN, BoP and the tilt (SBoN at n = m = 1,000 takes minutes on this file: RESULTS.md).
    if [ "${SKIP_REPORT:-0}" != 1 ]; then
        rm -rf "$DIR/report"; warm "$P"; run report_10m $H report --data "$P" --methods bon,bop,tilt --out "$DIR/report"
    fi
done

"$PY" - "$LOG" "$DIR" <<'PY'
import json, statistics, sys
log, d = sys.argv[1], sys.argv[2]
t, mem = {}, {}
for line in open(log):
    name, wall, rss = line.split()
    t.setdefault(name, []).append(float(wall)); mem.setdefault(name, []).append(int(rss))
med = {k: statistics.median(v) for k, v in t.items()}
peak = {k: max(v) / 1024 / 1024 for k, v in mem.items()}
h = json.load(open(f"{d}/hedge_parquet.out"))
rows = []
def row(name, value, target, ok):
    rows.append((name, value, target, "PASS" if ok else "FAIL"))
row("hedge tune bop, Parquet (wall)", f"{med['hedge_parquet']:.2f} s", "<= 1.5 s", med['hedge_parquet'] <= 1.5)
row("hedge tune bop, Parquet (peak RSS)", f"{peak['hedge_parquet']:.2f} GiB", "<= 1 GiB", peak['hedge_parquet'] <= 1.0)
# Each repetition's pair ran back to back: the median of the paired ratios.
r = statistics.median(a / b for a, b in zip(t['hedge_csv'], t['parse_csv']))
row("hedge tune bop, CSV / single-thread parse-only", f"{r:.2f}x (medians {med['hedge_csv']:.2f} s / {med['parse_csv']:.2f} s)", "< 1.0x", r < 1.0)
row("parse-only CSV on two threads (info)", f"{med['parse_csv_2t']:.2f} s", "-", True)
for style, goal in (("numpy_paper", 12), ("numpy_vector", 12)):
    r = med[style] / med['hedge_parquet']
    row(f"{style} / hedge (same Parquet file)", f"{r:.1f}x ({med[style]:.2f} s vs {med['hedge_parquet']:.2f} s)", f">= {goal}x", r >= goal)
    ref = json.load(open(f"{d}/{style}.out"))
    rel = abs(ref["theta"] - h["theta"]) / max(abs(h["theta"]), 1e-300)
    row(f"{style} mu agrees with hedge", f"rel diff {rel:.1e} ({ref['theta']:.12g} vs {h['theta']:.12g})", "<= 1e-9", rel <= 1e-9)
r = statistics.median(a / b for a, b in zip(t['sbon_tune'], t['bop_small']))
row("SBoN tune beta, n=16, 1000 x 64 / BoP tune of the same file", f"{r:.1f}x ({med['sbon_tune']:.2f} s vs {med['bop_small']:.2f} s)", "<= 4x", r <= 4)
row("SBoN tune, n = m = 64, 1000 x 64", f"{med['sbon_tune_nm']:.2f} s", "-", True)
row("SBoN curve, n=16, 23 points, 1000 x 64", f"{med['sbon_curve']:.2f} s", "-", True)
row("bootstrap 1000 resamples (total wall)", f"{med['bootstrap_1000']:.2f} s", "<= 4 s", med['bootstrap_1000'] <= 4)
if 'report_10m' in med:
    row("hedge report --methods bon,bop,tilt, 10 M rows", f"{med['report_10m']:.2f} s ({peak['report_10m']:.2f} GiB)", "-", True)
w = max(len(r[0]) for r in rows); w2 = max(len(r[1]) for r in rows)
for name, value, target, ok in rows:
    print(f"{name:<{w}}  {value:<{w2}}  target {target:<8}  {ok}")
PY
