#!/usr/bin/env bash
# make bench: the main pages of every role, the sequential autosave and the exports under gunicorn
# (2 sync workers, loopback), measured with wrk as ratios to /healthz in the same run, with each
# request's SQL statement count. The driver is tests/bench/bench.py; docs/performance.md explains it.
# Usage: make bench [SCALE=2000x10] [DB=sqlite|postgres] [DURATION=5s] [FRESH=1] [STRICT=1]
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v wrk >/dev/null; then
  echo "bench: wrk is missing (Debian: apt-get install -y wrk)" >&2
  exit 2
fi
exec .venv/bin/python tests/bench/bench.py "$@"
