#!/usr/bin/env bash
# Every check CI runs, in order: lint, types, contract, generated code, tests.
# Usage: scripts/check.sh [pytest args...]   (run by `make test`; expects .venv)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
BIN=$(dirname "$PY")

step() { printf '\n== %s\n' "$*"; }

step "ruff"
"$BIN/ruff" check .
"$BIN/ruff" format --check .

step "mypy --strict"
"$BIN/mypy" services aggregator clients/python/rtcconsole bench scripts tests

step "import contracts (layers, contexts, no grpc below the API)"
"$BIN/lint-imports"

step "buf lint"
"$BIN/buf" lint

step "buf breaking (against the previous commit that has protos)"
if base=$(git log -n 1 --skip 1 --format=%H -- protos 2>/dev/null) && [ -n "$base" ]; then
    "$BIN/buf" breaking --against ".git#ref=$base"
else
    echo "no earlier commit with protos: nothing to compare"
fi

# The Node client (clients/node): installed from its package-lock.json, generated code checked
# with the others, its tests run against a real server. A machine without Node skips it, unless
# RTC_REQUIRE_SERVICES=1: then a missing node or npm fails the check, as a missing Chromium does.
if command -v node >/dev/null && command -v npm >/dev/null; then
    NODE_CLIENT=1
    step "npm ci (clients/node, node $(node --version))"
    (cd clients/node && npm ci --no-audit --no-fund)
elif [ "${RTC_REQUIRE_SERVICES:-}" = 1 ]; then
    missing=$(for tool in node npm; do command -v "$tool" >/dev/null || printf ' %s' "$tool"; done)
    echo "clients/node and clients/web required (RTC_REQUIRE_SERVICES=1) but not on PATH:$missing (install Node 20 and npm)" >&2
    exit 1
else
    NODE_CLIENT=
    printf '\n== clients/node skipped: no node/npm on PATH (install Node 20 and npm to check and test it)\n'
fi

step "generated code is up to date"
if [ -n "$NODE_CLIENT" ]; then
    "$PY" scripts/generate.py --check
else
    "$PY" scripts/generate.py --check --skip-node
fi

if [ -n "$NODE_CLIENT" ]; then
    step "node tests (clients/node: node --test against rtc-console serve)"
    RTC_CONSOLE_BIN="$(cd "$BIN" && pwd)/rtc-console"
    export RTC_CONSOLE_BIN  # the server the tests start (default: .venv/bin/rtc-console)
    (cd clients/node && npm test)
fi

# The web console (clients/web): unit tests, the committed bundle rebuilt from source and
# compared (like the generated code), then the browser tests in Debian's headless Chromium
# (scripts/services.sh installs it) against a real server fed by the simulator.
if [ -n "$NODE_CLIENT" ]; then
    step "web console (clients/web: npm ci, unit tests, bundle up to date, browser tests)"
    (cd clients/web && npm ci --no-audit --no-fund && npm run -s test:unit && npm run -s check-bundle)
    if [ -x "${RTC_CHROMIUM:-/usr/bin/chromium}" ]; then
        (cd clients/web && npm run -s test:browser)
    elif [ "${RTC_REQUIRE_SERVICES:-}" = 1 ]; then
        echo "browser tests required (RTC_REQUIRE_SERVICES=1) but ${RTC_CHROMIUM:-/usr/bin/chromium} is missing" >&2
        exit 1
    else
        echo "browser tests skipped: no ${RTC_CHROMIUM:-/usr/bin/chromium} (scripts/services.sh installs it as root)"
    fi
else
    printf '\n== clients/web skipped: no node/npm on PATH (the committed bundle is served as is)\n'
fi

# Three workers (pytest-xdist; RTC_TEST_WORKERS to change, 0 for none): most tests wait on servers,
# processes and databases rather than compute, so more than one at a time pays even on two cores
# (docs/decisions/0038-parallel-tests.md). Every database, key prefix and port is per worker.
step "pytest (${RTC_TEST_WORKERS:-3} workers)"
"$PY" -m pytest -n "${RTC_TEST_WORKERS:-3}" --durations=15 "$@"
