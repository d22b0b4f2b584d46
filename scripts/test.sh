#!/usr/bin/env bash
# The project's test command.
#
# Uses the Postgres at DATABASE_URL and the Redis at REDIS_URL (defaults: 127.0.0.1:5432 and
# 127.0.0.1:6379) when they answer. Otherwise starts throwaway local servers (temporary
# directory, free ports, trust auth), installing the Debian packages first when the binaries
# are missing, and stops them on exit. Installs promtool (alert-rule tests) and headless
# Chromium with chromedriver (the HTML report and dashboard browser tests) when missing, best
# effort.
# Fetches the ONNX Runtime library when a setup script
# exists and the library is absent. Then runs `cargo nextest run --all-targets` (or
# `cargo test --all-targets`) with any extra arguments, and exits with its status.
set -euo pipefail

cd "$(dirname "$0")/.."

export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"

TMP=""
PG_BIN=""
PG_DATA=""
PG_USER_RUN=()
REDIS_PIDFILE=""

log() { printf 'test.sh: %s\n' "$*" >&2; }

cleanup() {
    if [[ -n "$REDIS_PIDFILE" && -f "$REDIS_PIDFILE" ]]; then
        kill "$(cat "$REDIS_PIDFILE")" 2>/dev/null || true
    fi
    if [[ -n "$PG_DATA" && -f "$PG_DATA/postmaster.pid" ]]; then
        "${PG_USER_RUN[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    if [[ -n "$TMP" ]]; then
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# host and port from a URL like scheme://user:pass@host:port/db
url_host() { local hp="${1#*://}"; hp="${hp##*@}"; hp="${hp%%/*}"; echo "${hp%%:*}"; }
url_port() {
    local hp="${1#*://}"; hp="${hp##*@}"; hp="${hp%%/*}"
    if [[ "$hp" == *:* ]]; then echo "${hp##*:}"; else echo "$2"; fi
}

# TCP reachability (the servers' own clients are not needed for this).
answers() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

pg_answers() {
    local host port
    host="$(url_host "$DATABASE_URL")"; port="$(url_port "$DATABASE_URL" 5432)"
    if command -v pg_isready >/dev/null; then
        pg_isready -q -d "$DATABASE_URL" -t 2
    else
        answers "$host" "$port"
    fi
}

redis_answers() {
    local host port
    host="$(url_host "$REDIS_URL")"; port="$(url_port "$REDIS_URL" 6379)"
    if command -v redis-cli >/dev/null; then
        [[ "$(timeout 3 redis-cli -u "$REDIS_URL" ping 2>/dev/null)" == "PONG" ]]
    else
        answers "$host" "$port"
    fi
}

free_port() {
    local p
    for _ in $(seq 1 200); do
        p=$((20000 + RANDOM % 40000))
        if ! answers 127.0.0.1 "$p"; then echo "$p"; return 0; fi
    done
    log "no free port found"; return 1
}

as_root() {
    if [[ $EUID -eq 0 ]]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        log "need root to run: $*"; return 1
    fi
}

APT_UPDATED=0
apt_install() {
    command -v apt-get >/dev/null || { log "apt-get not available; install $* yourself"; return 1; }
    if [[ $APT_UPDATED -eq 0 ]]; then as_root apt-get update -qq; APT_UPDATED=1; fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

find_pg_bin() {
    if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
        dirname "$(command -v initdb)"; return 0
    fi
    local d
    d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)"
    [[ -n "$d" && -x "$d/initdb" ]] && echo "$d"
}

ensure_tmp() { [[ -n "$TMP" ]] || TMP="$(mktemp -d -t usmca-test-XXXXXX)"; }

start_postgres() {
    PG_BIN="$(find_pg_bin || true)"
    if [[ -z "$PG_BIN" ]]; then
        log "installing postgresql"
        apt_install postgresql
        PG_BIN="$(find_pg_bin)"
    fi
    ensure_tmp
    PG_DATA="$TMP/pg"
    local port; port="$(free_port)"
    # initdb refuses to run as root: run the throwaway server as an unprivileged user.
    if [[ $EUID -eq 0 ]]; then
        local user=postgres
        id -u "$user" >/dev/null 2>&1 || user=nobody
        chmod 755 "$TMP"
        mkdir -p "$PG_DATA" && chown "$user" "$PG_DATA"
        PG_USER_RUN=(runuser -u "$user" --)
    else
        mkdir -p "$PG_DATA"
        PG_USER_RUN=()
    fi
    "${PG_USER_RUN[@]}" "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 >/dev/null
    "${PG_USER_RUN[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w \
        -o "-p $port -k $PG_DATA -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off" start >/dev/null
    export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
    log "started throwaway Postgres on 127.0.0.1:$port"
}

start_redis() {
    if ! command -v redis-server >/dev/null; then
        log "installing redis-server"
        apt_install redis-server
    fi
    ensure_tmp
    local port; port="$(free_port)"
    REDIS_PIDFILE="$TMP/redis.pid"
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
        --daemonize yes --pidfile "$REDIS_PIDFILE" --dir "$TMP" --logfile "$TMP/redis.log"
    for _ in $(seq 1 100); do answers 127.0.0.1 "$port" && break; sleep 0.1; done
    export REDIS_URL="redis://127.0.0.1:$port"
    log "started throwaway Redis on 127.0.0.1:$port"
}

if pg_answers; then log "using Postgres at $(url_host "$DATABASE_URL"):$(url_port "$DATABASE_URL" 5432)"; else start_postgres; fi
if redis_answers; then log "using Redis at $(url_host "$REDIS_URL"):$(url_port "$REDIS_URL" 6379)"; else start_redis; fi

# promtool (in Debian's prometheus package) runs the alert-rule unit tests in tests/ops.
if ! command -v promtool >/dev/null; then
    log "installing promtool for the alert-rule tests"
    apt_install --no-install-recommends prometheus \
        || log "promtool could not be installed: the alert-rule test skips and says so"
fi

# Headless Chromium (Debian's chromium and chromium-driver) draws the HTML scan report in
# tests/cli/scan.rs and drives the dashboard through chromedriver in tests/web/browser.rs;
# those tests skip and say so when it is missing.
if { ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; } \
    || ! command -v chromedriver >/dev/null; then
    log "installing chromium and chromedriver for the browser tests"
    apt_install --no-install-recommends chromium chromium-driver \
        || log "chromium could not be installed: the browser tests skip and say so"
fi

if [[ -x scripts/setup-onnxruntime.sh ]] && ! ls .onnxruntime/libonnxruntime.so* >/dev/null 2>&1; then
    log "fetching the ONNX Runtime library"
    scripts/setup-onnxruntime.sh
fi

status=0
if command -v cargo-nextest >/dev/null; then
    cargo nextest run --all-targets "$@" || status=$?
else
    cargo test --all-targets "$@" || status=$?
fi
exit "$status"
