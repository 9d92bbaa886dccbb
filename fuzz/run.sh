#!/usr/bin/env bash
# Builds one fuzz target with cargo-afl and runs afl-fuzz on it for a given time.
#
#   fuzz/run.sh TARGET SECONDS        e.g. fuzz/run.sh csv_load 600
#
# TARGET: csv_load, jsonl_load, parquet_load, request_parse, reward_parse.
# Seeds: fuzz/corpus/TARGET/; dictionaries: fuzz/dict/TARGET.dict (and dict/json.dict for JSON targets); findings: fuzz/out/TARGET/
# (git-ignored; a second run resumes from it, RESTART=1 starts over). At the end the statistics are printed
# (fuzzer_stats: execs_done, corpus_count, saved_crashes, saved_hangs).
#
# Environment: NICE (default 10), AFL_FLAGS (extra afl-fuzz flags), NO_NET=1 to build without hedge-client and hedge-serve
# (the data targets then build even while those do not).
# Needs cargo-afl: `cargo install cargo-afl --locked` (builds AFL++ for the current toolchain).
set -euo pipefail
cd "$(dirname "$0")"

target=${1:?usage: run.sh TARGET SECONDS}
secs=${2:?usage: run.sh TARGET SECONDS}
[ -d "corpus/$target" ] || { echo "run.sh: unknown target $target (no corpus/$target)" >&2; exit 2; }

features=()
if [ "${NO_NET:-0}" = 1 ]; then
    features=(--no-default-features)
fi
cargo afl build --release "${features[@]}" --bin "$target"

out="out/$target"
input="corpus/$target"
if [ -d "$out/default/queue" ] && [ "${RESTART:-0}" != 1 ]; then
    input=-   # resume
else
    rm -rf "$out"
fi
mkdir -p "$out"

dict=()
[ -f "dict/$target.dict" ] && dict+=(-x "dict/$target.dict")
case $target in
    jsonl_load | request_parse | reward_parse) dict+=(-x dict/json.dict) ;;
esac

# -V: stop after SECONDS. No CPU frequency or core-dump checks: this may run in a container.
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1
# shellcheck disable=SC2086
nice -n "${NICE:-10}" cargo afl fuzz -i "$input" -o "$out" "${dict[@]}" -V "$secs" ${AFL_FLAGS:-} \
    "target/release/$target" > "$out/afl.log" 2>&1 || {
    echo "run.sh: afl-fuzz failed, see fuzz/$out/afl.log" >&2
    tail -20 "$out/afl.log" >&2
    exit 1
}

stats="$out/default/fuzzer_stats"
for key in run_time execs_done execs_per_sec corpus_count saved_crashes saved_hangs; do
    grep "^$key " "$stats" | tr -s ' '
done
echo "crashes: $out/default/crashes/  hangs: $out/default/hangs/"
