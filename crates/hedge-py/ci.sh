#!/usr/bin/env bash
# The Python bindings' CI: build the `hedge` wheel with maturin (from PyPI), install it into a
# fresh virtual environment under target/, and run the pytest suite against it and the `hedge`
# CLI (every function; tune/curve/kl/select equal to the CLI's JSON on ../shared/data; bad input).
# Needs python3 (>= 3.9, with venv) and PyPI; exits non-zero on any failure, including no tests.
#
#   HEDGE_PY_PROFILE=dev      build a debug wheel instead of the release wheel users get (the wheel's
#                             dependency graph has other features than `cargo test --workspace`'s, so
#                             neither profile reuses its artifacts; cold, release is the cheaper one)
#   PYTHON=python3.12         the interpreter to test with (default python3)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
out=$root/target/hedge-py
py=${PYTHON:-python3}
profile=${HEDGE_PY_PROFILE:-release}
pip_opts=(--quiet --disable-pip-version-check --no-input)
export PYTHONDONTWRITEBYTECODE=1 PIP_NO_PYTHON_VERSION_WARNING=1

command -v "$py" >/dev/null || { echo "hedge-py/ci.sh: $py is required" >&2; exit 1; }
"$py" -c 'import sys, venv; assert sys.version_info >= (3, 9), sys.version'

# 1. maturin, in its own virtual environment (kept between runs)
if ! "$out/build-venv/bin/maturin" --version >/dev/null 2>&1; then
    rm -rf "$out/build-venv"
    "$py" -m venv "$out/build-venv"
    "$out/build-venv/bin/pip" install "${pip_opts[@]}" "maturin>=1.9.4,<2"
fi
"$out/build-venv/bin/maturin" --version

# 2. the wheel (abi3: one wheel for CPython >= 3.9)
rm -rf "$out/wheels"
start=$SECONDS
"$out/build-venv/bin/maturin" build --locked --profile "$profile" --interpreter "$py" \
    -m crates/hedge-py/Cargo.toml -o "$out/wheels"
echo "hedge-py/ci.sh: $profile wheel built in $((SECONDS - start)) s"
shopt -s nullglob
wheels=("$out"/wheels/hedge-*-abi3-*.whl)
shopt -u nullglob
if [ "${#wheels[@]}" -ne 1 ]; then
    echo "hedge-py/ci.sh: expected one abi3 wheel in $out/wheels" >&2
    exit 1
fi

# 3. the CLI the tests compare against: the binary `cargo test --workspace --locked` (.ci/run) built,
#    so after it this builds nothing (`cargo build -p hedge-cli` would resolve other features and rebuild)
HEDGE_BIN=$(cargo test --workspace --locked --no-run --message-format=json | "$py" -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "hedge" and not m["profile"]["test"]:
        print(m["executable"])
')
[ -x "$HEDGE_BIN" ] || { echo "hedge-py/ci.sh: no hedge binary ($HEDGE_BIN)" >&2; exit 1; }
export HEDGE_BIN

# 4. a fresh virtual environment with nothing but the wheel (and numpy), pytest and pandas
rm -rf "$out/test-venv"
"$py" -m venv "$out/test-venv"
"$out/test-venv/bin/pip" install "${pip_opts[@]}" "${wheels[0]}" pytest pandas

# 5. the tests, from outside the source tree so that `import hedge` is the installed wheel
cd "$out"
rc=0
"$out/test-venv/bin/python" -m pytest "$root/crates/hedge-py/tests" -p no:cacheprovider -ra || rc=$?
if [ "$rc" -eq 5 ]; then
    echo "hedge-py/ci.sh: pytest collected no tests" >&2
    exit 1
fi
exit "$rc"
