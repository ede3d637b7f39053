#!/usr/bin/env bash
# Run copsite on the embedded default: web, Celery worker and beat.
# Ctrl-C stops all three within 10 s, a task in flight going back to the
# queue for the next start (tests/test_run_embedded.py).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
case "$HOST" in
  *:*) address="[$HOST]:$PORT" ;;  # an IPv6 address goes in brackets
  *) address="$HOST:$PORT" ;;
esac
# Every link the site mails (sign-up, password reset, digests) is built on
# SITE_URL; unset, it names the address this server binds, so PORT=8100 mails
# links to :8100, not settings' default :8000.
export SITE_URL=${SITE_URL:-http://$address}

pids=()
worker="" beat="" web=""
# Start "$@" in the background with SIGINT and SIGQUIT at their defaults, as
# an interactive shell would: bash starts a script's background jobs with both
# ignored, so runserver never saw Ctrl-C and a worker still starting up
# ignored Ctrl-C and SIGQUIT alike.
start() {
  (
    trap - INT QUIT
    exec "$@"
  ) &
  pids+=($!)
}

# Why Ctrl-C could leave the worker hanging. On the filesystem broker the
# worker runs Celery's blocking loop over billiard's plain process pool.
# 1. Ctrl-C's SIGINT reaches every process of the terminal's group, and starts
#    the worker's *warm* shutdown: it waits for every task in flight to finish,
#    bounded only by the task's time limit (45 s for a mail to a slow server,
#    300 s for others). During a warm shutdown Celery answers SIGTERM only by
#    printing "Warm shutdown" again, so `kill` did nothing and `wait` waited.
# 2. SIGQUIT, the cold shutdown, cancels a task by sending SIGTERM to its pool
#    process, where billiard raises SystemExit inside the task, and the task's
#    cleanup still runs: Django's SMTP backend says QUIT to the slow server and
#    waits for its answer. The worker waits for that inside its signal handler
#    (Pool.join), and a second SIGQUIT finds nothing left to cancel: it prints
#    "Waiting gracefully for cold shutdown to complete..." and nothing more.
# 3. Killing the worker (or Celery's hard shutdown, a third SIGQUIT) loses the
#    task: kombu's filesystem transport moves a message out of the queue folder
#    as it hands it over, so with acks_late the unacknowledged message lives in
#    the worker's memory only, until the worker closes its channel and writes it
#    back ("Restoring N unacknowledged message(s)").
# So the worker gets SIGQUIT: tasks get CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT
# (1 s) to finish, the rest are cancelled. 2 s after Ctrl-C its pool processes
# are killed, ending any cancelled task still in its cleanup; the worker then
# closes its channel, so their messages go back to the queue folder and run
# again on the next start. Ctrl-C to all gone: about 7 s.
stop() {
  trap - INT TERM EXIT
  echo
  echo "Stopping copsite…"
  [ -n "$web" ] && kill -TERM "$web" 2>/dev/null || true
  [ -n "$beat" ] && kill -TERM "$beat" 2>/dev/null || true
  [ -n "$worker" ] && kill -QUIT "$worker" 2>/dev/null || true
  local tick
  for tick in $(seq 90); do
    [ -z "$(jobs -pr)" ] && break
    if [ "$tick" = 20 ] && [ -n "$worker" ]; then
      pkill -KILL -P "$worker" 2>/dev/null || true
    fi
    sleep 0.1
  done
  # A last resort the tests never reach: past 9 s, kill what is left (and the
  # children it would orphan, such as runserver's server process).
  local left
  left=$(jobs -pr)
  if [ -n "$left" ]; then
    echo "Still running after 9 s, killing: $left"
    for pid in $left; do
      pkill -KILL -P "$pid" 2>/dev/null || true
      kill -KILL "$pid" 2>/dev/null || true
    done
  fi
  wait 2>/dev/null || true
}
# Die of the signal itself, so make (or any caller) knows the run was interrupted.
trap 'stop; kill -INT $$' INT
trap 'stop; kill -TERM $$' TERM
trap stop EXIT

start "$PY" -m celery -A copsite worker --loglevel=INFO --concurrency=2 --hostname "worker@%h"
worker=$!
start "$PY" -m celery -A copsite beat --loglevel=INFO
beat=$!
start "$PY" manage.py runserver "$address"
web=$!

sleep 2
echo
echo "copsite is running at http://$address/  (Ctrl-C stops web, worker and beat)"
echo "Links in the mail it sends point at $SITE_URL; mail is written to var/mail/."
$PY manage.py seed_demo | tail -n +2 | sed 's/^/  /' || true
wait -n "${pids[@]}"
