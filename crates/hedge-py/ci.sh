#!/usr/bin/env bash
# The Python bindings' CI: build the `hedge` wheel with maturin (from PyPI) as a manylinux2014
# abi3 wheel (linked by zig, from PyPI's `ziglang`, against glibc 2.17: one wheel for CPython >= 3.9
# on any x86-64 Linux with glibc >= 2.17), check its tags, install it into a fresh virtual
# environment with no Rust toolchain on PATH, and run the pytest suite against it and the `hedge`
# CLI (every function and data form; tune/curve/kl/select/compare equal to the CLI's JSON on
# ../shared/data; bad input). Needs python3 (>= 3.9, with venv), cargo (for the build and the CLI)
# and PyPI; exits non-zero on any failure, including no tests.
#
#   HEDGE_PY_PROFILE=dev      build a debug wheel instead of the release wheel users get (the wheel's
#                             dependency graph has other features than `cargo test --workspace`'s, so
#                             neither profile reuses its artifacts; cold, release is the cheaper one)
#   PYTHON=python3.12         the interpreter to test with (default python3)
#   HEDGE_BIN=target/debug/hedge   the CLI to compare with (default: the one `cargo test --workspace` builds)
#   HEDGE_PY_CACHE=DIR        where maturin's environment (maturin, zig, auditwheel: 0.5 GB) is kept between
#                             runs (default ~/.cache/hedge-py, like cargo's registry: a tool, not a build output)
#   HEDGE_PY_KEEP_BUILD=1     keep the wheel's compiled dependencies in target/ (0.4 GB) for a faster next
#                             build; by default they are removed once the wheel is built (the wheel is the product)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
out=$root/target/hedge-py
cache=${HEDGE_PY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hedge-py}
# The test environment is throw-away: a temporary directory, removed on exit.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
py=${PYTHON:-python3}
profile=${HEDGE_PY_PROFILE:-release}
pip_opts=(--quiet --disable-pip-version-check --no-input)
export PYTHONDONTWRITEBYTECODE=1 PIP_NO_PYTHON_VERSION_WARNING=1

command -v "$py" >/dev/null || { echo "hedge-py/ci.sh: $py is required" >&2; exit 1; }
"$py" -c 'import sys, venv; assert sys.version_info >= (3, 9), sys.version'

# 1. maturin with zig (the linker for the manylinux target) and auditwheel (an independent check
#    of the tags), in their own virtual environment (kept between runs)
build_bin=$cache/build-venv/bin
if ! { "$build_bin/maturin" --version && "$build_bin/python" -m ziglang version && "$build_bin/auditwheel" --version; } >/dev/null 2>&1; then
    rm -rf "$cache/build-venv"
    mkdir -p "$cache"
    "$py" -m venv "$cache/build-venv"
    # ziglang bounded to the zig release this was tested with (0.17.1): a new zig may link differently
    "$build_bin/pip" install "${pip_opts[@]}" "maturin[zig]>=1.9.4,<2" "ziglang>=0.17,<0.18" auditwheel
fi
echo "hedge-py/ci.sh: $("$build_bin/maturin" --version), zig $("$build_bin/python" -m ziglang version)"

# 2. the wheel: one build, both the wheel users get and the one tested. maturin finds zig through
#    `python -m ziglang` of the first python on PATH: the build environment's.
rm -rf "$out/wheels"
start=$SECONDS
PATH="$build_bin:$PATH" "$build_bin/maturin" build --locked --profile "$profile" --zig \
    --compatibility manylinux2014 -m crates/hedge-py/Cargo.toml -o "$out/wheels"
echo "hedge-py/ci.sh: $profile wheel built in $((SECONDS - start)) s"
if [ "${HEDGE_PY_KEEP_BUILD:-0}" != 1 ]; then
    # maturin --zig builds for the explicit target triple: its artifacts are all under target/<triple>/.
    rm -rf "$root/target/x86_64-unknown-linux-gnu"
fi
shopt -s nullglob
wheels=("$out"/wheels/hedge-*-cp39-abi3-manylinux*.whl)
shopt -u nullglob
if [ "${#wheels[@]}" -ne 1 ]; then
    echo "hedge-py/ci.sh: expected one cp39-abi3-manylinux wheel in $out/wheels, found: $(ls "$out/wheels")" >&2
    exit 1
fi
wheel=${wheels[0]}
echo "hedge-py/ci.sh: $(basename "$wheel"), $(($(stat -c %s "$wheel") / 1024)) KiB"
case $(basename "$wheel") in
    *-cp39-abi3-manylinux2014_x86_64.manylinux_2_17_x86_64.whl) ;;
    *) echo "hedge-py/ci.sh: $(basename "$wheel") is not tagged manylinux2014 (glibc 2.17)" >&2; exit 1 ;;
esac
# auditwheel reads the symbol versions and libraries the extension needs, not the name maturin gave it
audit=$("$build_bin/auditwheel" show "$wheel" | tr -s ' \n' ' ')
if ! grep -q 'consistent with the following platform tag: "manylinux_2_17_x86_64"' <<<"$audit"; then
    echo "hedge-py/ci.sh: auditwheel does not find $(basename "$wheel") manylinux_2_17 compliant:" >&2
    echo "$audit" >&2
    exit 1
fi

# 3. the CLI the tests compare against: the binary `cargo test --workspace --locked` (.ci/run) built,
#    so after it this builds nothing (`cargo build -p hedge-cli` would resolve other features and rebuild)
if [ -z "${HEDGE_BIN:-}" ]; then
    HEDGE_BIN=$(cargo test --workspace --locked --no-run --message-format=json | "$py" -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "hedge" and not m["profile"]["test"]:
        print(m["executable"])
')
fi
[ -x "$HEDGE_BIN" ] || { echo "hedge-py/ci.sh: no hedge binary ($HEDGE_BIN)" >&2; exit 1; }
export HEDGE_BIN

# 4. a machine without Rust: PATH without any folder holding cargo, rustc or rustup, and no
#    toolchain variables; pip may install wheels only (nothing is compiled)
no_rust_path=
IFS=: read -r -a path_dirs <<<"$PATH"
for d in "${path_dirs[@]}"; do
    if [ -n "$d" ] && [ ! -e "$d/cargo" ] && [ ! -e "$d/rustc" ] && [ ! -e "$d/rustup" ]; then
        no_rust_path+=${no_rust_path:+:}$d
    fi
done
no_rust=(env -u CARGO_HOME -u RUSTUP_HOME -u RUSTUP_TOOLCHAIN -u CARGO -u RUSTC "PATH=$no_rust_path")
if "${no_rust[@]}" sh -c 'command -v cargo || command -v rustc || command -v rustup'; then
    echo "hedge-py/ci.sh: could not hide the Rust toolchain from PATH" >&2
    exit 1
fi

# 5. a fresh virtual environment with nothing but the wheel (and numpy), pytest and pandas
venv=$scratch/test-venv
"${no_rust[@]}" "$py" -m venv "$venv"
"${no_rust[@]}" "$venv/bin/pip" install "${pip_opts[@]}" --only-binary :all: "$wheel" pytest pandas

# 6. the tests, from outside the source tree so that `import hedge` is the installed wheel
cd "$out"
rc=0
"${no_rust[@]}" "$venv/bin/python" -m pytest "$root/crates/hedge-py/tests" -p no:cacheprovider -ra || rc=$?
if [ "$rc" -eq 5 ]; then
    echo "hedge-py/ci.sh: pytest collected no tests" >&2
    exit 1
fi
exit "$rc"
