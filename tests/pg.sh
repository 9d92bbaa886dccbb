#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for hedge-store's tests (crates/hedge-store/tests/it/store.rs).
#
#   bash tests/pg.sh start [DIR]   create (first time) and start a cluster in DIR, listening on a free
#                                  loopback port; the last line printed is
#                                  export HEDGE_TEST_POSTGRES_URL=postgres://hedge:…@127.0.0.1:PORT/hedge_test
#                                  so `eval "$(bash tests/pg.sh start)"` sets it.
#   bash tests/pg.sh stop [DIR]    stop it and remove DIR.
#
# DIR defaults to ${TMPDIR:-/tmp}/hedge-pg. Both commands are idempotent: `start` on a running cluster
# only prints the line again; `stop` on nothing does nothing. Quiet unless something fails (then the
# server's log is shown on stderr).
#
# The role `hedge` (password in the URL, random per cluster) may create databases: each test makes
# its own. It uses Debian's server binaries, /usr/lib/postgresql/*/bin (the newest; PG_BIN=… overrides),
# from the package `postgresql`. initdb refuses to run as root, so as root the cluster belongs to the
# system user `hedge-pg` (created when missing); DIR and its parents must be reachable by that user,
# which a fresh `mktemp -d` or the default under /tmp are. The cluster is tuned for tests, not for
# data: fsync is off.
set -euo pipefail

cmd=${1:-}
dir=${2:-${TMPDIR:-/tmp}/hedge-pg}
case "$cmd" in start | stop) ;; *)
    echo "usage: bash tests/pg.sh start|stop [DIR]" >&2
    exit 2
    ;;
esac
dir=$(realpath -m -- "$dir")
data=$dir/data
marker=$dir/hedge-pg-cluster # says DIR is ours, so `stop` may remove it
os_user=hedge-pg

die() {
    echo "tests/pg.sh: $*" >&2
    exit 1
}

# Server binaries: PG_BIN, else the newest /usr/lib/postgresql/*/bin, else whatever is on PATH.
bin=${PG_BIN:-}
if [ -z "$bin" ]; then
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
fi
if [ -z "$bin" ] && command -v initdb >/dev/null; then
    bin=$(dirname "$(command -v initdb)")
fi

# Run a command as the cluster's owner (from /, so a server started here has a readable cwd).
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        (cd / && runuser -u "$os_user" -- "$@")
    else
        (cd / && "$@")
    fi
}

running() {
    [ -f "$data/PG_VERSION" ] && as_owner "$bin/pg_ctl" status -D "$data" >/dev/null 2>&1
}

show_log() {
    if [ -f "$dir/server.log" ]; then
        echo "--- $dir/server.log (last lines) ---" >&2
        tail -n 30 "$dir/server.log" >&2
    fi
}

if [ "$cmd" = stop ]; then
    [ -e "$dir" ] || exit 0
    if [ ! -f "$marker" ] && [ -d "$dir" ] && [ -z "$(ls -A -- "$dir")" ]; then
        rmdir -- "$dir" # made (e.g. by mktemp) but never started
        exit 0
    fi
    [ -f "$marker" ] || die "$dir is not a cluster made by tests/pg.sh (no $(basename "$marker")); not removing it"
    if [ -n "$bin" ] && running; then
        as_owner "$bin/pg_ctl" stop -D "$data" -m fast -w -s >/dev/null 2>&1 || die "could not stop the cluster in $dir"
    fi
    rm -rf -- "$dir"
    exit 0
fi

# --- start ---
[ -n "$bin" ] && [ -x "$bin/initdb" ] && [ -x "$bin/pg_ctl" ] && [ -x "$bin/psql" ] ||
    die "PostgreSQL server binaries not found (looked in /usr/lib/postgresql/*/bin and PATH); install them: apt-get install postgresql"

if [ "$(id -u)" = 0 ] && ! id -u "$os_user" >/dev/null 2>&1; then
    useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$os_user" ||
        die "could not create the system user $os_user"
fi

if [ -e "$dir" ] && [ ! -f "$marker" ] && [ -n "$(ls -A -- "$dir")" ]; then
    die "$dir exists and is not a cluster made by tests/pg.sh; choose an empty or new directory"
fi
mkdir -p -- "$dir"
if [ "$(id -u)" = 0 ]; then
    chown "$os_user:" "$dir"
fi
chmod 700 "$dir"
as_owner test -w "$dir" -a -x "$dir" ||
    die "$os_user cannot reach $dir (a parent directory is closed to it); use a directory under /tmp"

# A free loopback port: nothing accepts a connection on it (a race with another program is caught by
# the server failing to start, and the next port is tried).
port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

url() {
    echo "postgres://hedge:$(cat "$dir/password")@127.0.0.1:$(cat "$dir/port")/hedge_test"
}

if [ ! -f "$dir/ready" ]; then
    # First start (or a first start that failed half-way): begin again from an empty directory.
    running && as_owner "$bin/pg_ctl" stop -D "$data" -m immediate -w -s >/dev/null 2>&1
    find "$dir" -mindepth 1 -delete
    : >"$marker"
    # 24 random letters and digits.
    password=$(LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 24 || true)
    [ ${#password} = 24 ] || die "could not make a password"
    echo "$password" >"$dir/password"
    [ "$(id -u)" != 0 ] || chown "$os_user:" "$marker" "$dir/password"
    chmod 600 "$dir/password"
    # Local (Unix socket in DIR, mode 0700) connections trust the OS user; TCP needs the password.
    if ! as_owner "$bin/initdb" -D "$data" -U postgres -E UTF8 --locale=C --auth-local=trust \
        --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        die "initdb failed"
    fi
    cat >>"$data/postgresql.conf" <<EOF
# tests/pg.sh: a throw-away cluster for tests.
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
EOF
fi

if ! running; then
    started=
    for _ in $(seq 1 20); do
        port=$((20000 + RANDOM % 40000))
        port_in_use "$port" && continue
        echo "$port" >"$dir/port"
        if as_owner "$bin/pg_ctl" start -D "$data" -l "$dir/server.log" -o "-p $port" -w -t 60 -s >/dev/null 2>&1; then
            started=1
            break
        fi
        # The port may have been taken meanwhile; anything else fails again on the next port.
        running && as_owner "$bin/pg_ctl" stop -D "$data" -m immediate -w -s >/dev/null 2>&1
    done
    if [ -z "$started" ]; then
        show_log
        die "could not start PostgreSQL"
    fi
fi

if [ ! -f "$dir/ready" ]; then
    port=$(cat "$dir/port")
    psql() {
        as_owner "$bin/psql" -h "$dir" -p "$port" -U postgres -d postgres -X -q -v ON_ERROR_STOP=1 "$@"
    }
    if ! psql -c "CREATE ROLE hedge LOGIN CREATEDB PASSWORD '$(cat "$dir/password")'" >/dev/null 2>"$dir/setup.log" ||
        ! psql -c "CREATE DATABASE hedge_test OWNER hedge" >/dev/null 2>>"$dir/setup.log"; then
        cat "$dir/setup.log" >&2
        die "could not create the role and database"
    fi
    : >"$dir/ready"
fi

echo "export HEDGE_TEST_POSTGRES_URL=$(url)"
