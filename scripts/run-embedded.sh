#!/usr/bin/env bash
# Run copsite on the embedded default: web, Celery worker and beat.
# Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}

pids=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "Stopping copsite…"
  kill "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
trap stop INT TERM EXIT

$PY -m celery -A copsite worker --loglevel=INFO --concurrency=2 --hostname "worker@%h" &
pids+=($!)
$PY -m celery -A copsite beat --loglevel=INFO &
pids+=($!)
$PY manage.py runserver "$HOST:$PORT" &
pids+=($!)

sleep 2
echo
echo "copsite is running at http://$HOST:$PORT/  (Ctrl-C stops web, worker and beat)"
echo "Mail it sends is written to var/mail/."
$PY manage.py seed_demo | tail -n +2 | sed 's/^/  /' || true
wait -n "${pids[@]}"
