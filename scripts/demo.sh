#!/usr/bin/env bash
# Install Counterflow into ./.venv and run the demo on the embedded engine.
# Extra arguments go to `counterflow demo` (e.g. --json).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/counterflow demo "$@"
