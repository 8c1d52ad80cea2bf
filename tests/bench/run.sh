#!/usr/bin/env bash
# Benchmark: gunicorn (2 sync workers) on loopback with the demo data, wrk as the load.
# Each page is reported with its ratio to the trivial /healthz route measured in the same run.
# Usage: make bench   (needs Debian's wrk; DURATION=10s by default; loopback only, bounded in time)
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-10s}
PORT=${PORT:-8765}
WORK=$(mktemp -d)
export AGENCYAPP_ENV=development AGENCYAPP_SECRET_KEY=bench-only AGENCYAPP_DATABASE_URL="sqlite:///$WORK/bench.sqlite3"
.venv/bin/flask --app wsgi db upgrade >/dev/null 2>&1
.venv/bin/flask --app wsgi seed-demo >/dev/null
.venv/bin/gunicorn -w 2 -k sync -b "127.0.0.1:$PORT" wsgi:app >"$WORK/gunicorn.log" 2>&1 &
GUNICORN=$!
trap 'kill $GUNICORN 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done

cookie_for() {  # sign in as $1 and print the session cookie
  local jar="$WORK/$1.jar"
  local token
  token=$(curl -fs -c "$jar" "http://127.0.0.1:$PORT/login" | sed -n 's/.*name="csrf_token" type="hidden" value="\([^"]*\)".*/\1/p' | head -n 1)
  curl -fs -b "$jar" -c "$jar" -o /dev/null -d "csrf_token=$token&username=$1&password=demo-pass-2026" "http://127.0.0.1:$PORT/login"
  awk '$6 == "agencyapp_session" {print $7}' "$jar"
}

measure() {  # label, path, cookie
  local out
  out=$(wrk -t2 -c4 -d"$DURATION" --latency -H "Cookie: agencyapp_session=$3" "http://127.0.0.1:$PORT$2")
  local rps p50 p99
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  echo "$1|$2|$rps|$p50|$p99"
}

AGENCY=$(cookie_for demo-agency)
CENTER=$(cookie_for demo-center)
MINISTRY=$(cookie_for demo-ministry)
SUBMISSION=$(curl -fs -H "Cookie: agencyapp_session=$AGENCY" "http://127.0.0.1:$PORT/" | sed -n 's/.*href="\/submissions\/\([0-9]*\)".*/\1/p' | head -n 1)
printf "%-28s %-28s %10s %9s %9s %8s\n" page path "req/s" p50 p99 ratio
BASE=""
while IFS='|' read -r label path rps p50 p99; do
  BASE=${BASE:-$rps}
  printf "%-28s %-28s %10s %9s %9s %8s\n" "$label" "$path" "$rps" "$p50" "$p99" "$(awk -v a="$rps" -v b="$BASE" 'BEGIN {printf "%.3f", a / b}')"
done < <(
  measure "trivial route" /healthz ""
  measure "self-check page (agency)" "/submissions/$SUBMISSION" "$AGENCY"
  measure "agency home" / "$AGENCY"
  measure "review queue (center)" / "$CENTER"
  measure "oversight home (ministry)" / "$MINISTRY"
  measure "hearing candidates" /hearings/candidates "$CENTER"
)
