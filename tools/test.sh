#!/usr/bin/env bash
# The README's second command, and what CI runs: set up, then every test — Swift, C, Python.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh

echo "== Swift tests"
swift test

echo "== C tests"
bash Tests/c/run.sh

echo "== Python tests"
.venv/bin/python -m pytest -q bindings/python/tests
