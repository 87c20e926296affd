#!/usr/bin/env bash
# Create ./.venv (Python 3.11+) and install Counterflow into it with the given extras.
# Usage: scripts/setup.sh [EXTRAS]   e.g. scripts/setup.sh dev,spark
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
python="${PYTHON:-}"
if [ -z "$python" ]; then
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      python="$candidate"; break
    fi
  done
fi
if [ -z "$python" ]; then
  echo "error: Counterflow needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2
  exit 2
fi
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
stamp=".venv/.installed-${extras:-core}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null
  spec="."
  [ -n "$extras" ] && spec=".[${extras}]"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$spec"
  touch "$stamp"
fi
# The Ethereum node (ganache) and Solidity compiler (solcjs) the RPC ingest tests run against;
# only a development install needs them.
case ",$extras," in *,dev,*) wants_node=1 ;; *) wants_node=0 ;; esac
if [ "$wants_node" = 1 ] && { [ ! -f .cache/node/node_modules/ganache/package.json ] ||
   ! grep -q '"version": "7.9.2"' .cache/node/node_modules/ganache/package.json; }; then
  if command -v npm >/dev/null 2>&1; then
    npm install --prefix .cache/node --no-audit --no-fund --loglevel=error ganache@7.9.2 solc@0.8.26
  else
    echo "warning: npm not found; the Ethereum node tests need ganache (see tests/ingest/ganache.py)" >&2
  fi
fi
