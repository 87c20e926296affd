#!/usr/bin/env bash
# Install Counterflow with its test and Spark extras into ./.venv, check lint and types,
# and run the whole test suite (Spark tests included; they need Java 17).
# Extra arguments go to pytest, e.g. `scripts/test.sh -m "not slow and not spark"` for a
# quick subset.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev,spark,web
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
.venv/bin/mypy
exec .venv/bin/pytest "$@"
