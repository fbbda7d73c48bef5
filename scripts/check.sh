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

step "generated code is up to date"
"$PY" scripts/generate.py --check

step "pytest"
"$PY" -m pytest "$@"
