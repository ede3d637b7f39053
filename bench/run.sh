#!/usr/bin/env bash
# copsite beside the peer forums in the shared side-by-side harness (shared/perf).
#
#   bash bench/run.sh            (or: make bench)
#
# 1. services: PostgreSQL + wrk through the harness's services.sh (role bench/bench),
#    Redis on 127.0.0.1:6379 (started if not answering; database 5 is emptied);
# 2. a fresh database bench_copsite, migrate, collectstatic (into $PERF_WORK),
#    `manage.py seed_bench` (the harness dataset) -> $PERF_WORK/targets/copsite.json;
# 3. bench/queries.py: every SQL query of the four pages (page cache off) ->
#    bench/last-queries.md;
# 4. the harness's run.sh with EXTRA_TARGETS=copsite.json (builds the peers the
#    first time); its report.md is copied to bench/last-report.md;
# 5. bench/member.py: the logged-in member on the big thread beside Spirit's
#    anonymous big thread, and on their home beside Spirit's anonymous index
#    -> bench/last-member.md;
# 6. bench/search.py: /search/?q= on 100,000 posts (seed_bench --copies 5 into
#    ${COPSITE_DB}_search) -> bench/last-search.md;
# 7. manage.py bench_digests: plan + build digests for 1,000 and 10,000 members
#    (database bench_digests) -> bench/last-digests.txt;
# 8. manage.py bench_health: the community health page of a 10,000-member community with
#    a year of activity (database bench_health), fails over 300 ms median -> bench/last-health.txt.
#
# Knobs (environment): PERF_WORK [/tmp/peers], PERF_DIR [<project>/../shared/perf],
# COPSITE_PORT [8104] (the peers take 8101-8103), COPSITE_DB [bench_copsite],
# COPSITE_SKIP_SEED [0] (1 = reuse the database and target file of the last run),
# COPSITE_GUNICORN_CONF [bench] (project = the project's gunicorn.conf.py),
# PAGE_CACHE_SECONDS [app default] (0 = measure without the whole-page cache),
# COPSITE_REPORT [last-report.md] (name of the report copy in bench/),
# COPSITE_MEMBER_REPORT [last-member.md], COPSITE_SKIP_SEARCH [0] (1 = no search benchmark),
# COPSITE_SKIP_DIGESTS [0] (1 = no digest benchmark), COPSITE_SKIP_HEALTH [0] (1 = no health page benchmark),
# COPSITE_PREPARE_ONLY [0] (1 = stop after steps 1-3: seed, SQL and CPU per page),
# SEARCH_REQUESTS [200] (timed requests per search query),
# and everything shared/perf/run.sh reads (SKIP_SETUP, PEERS, DURATION, CONNS,
# THREADS, ROUNDS, WARMUP, PIN, EXTRA_TARGETS).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
PROJ="$(dirname "$HERE")"
# seed_bench and bench_digests live in the bench app, installed only with this set.
export BENCH_TOOLS=1
PERF="$(cd "${PERF_DIR:-$PROJ/../shared/perf}" && pwd)"
WORK="${PERF_WORK:-/tmp/peers}"
PORT="${COPSITE_PORT:-8104}"
DB="${COPSITE_DB:-bench_copsite}"
PY="$PROJ/.venv/bin/python"
TARGET="$WORK/targets/copsite.json"
LOG="$WORK/copsite-seed.log"
mkdir -p "$WORK/targets" "$WORK/results"

if [ ! -x "$PY" ]; then
  make -C "$PROJ" install
fi

# --- 1. services -----------------------------------------------------------------------
bash "$PERF/services.sh"
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  if ! command -v redis-server >/dev/null; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server
  fi
  redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save '' --appendonly no
  for _ in $(seq 20); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.5; done
fi
redis-cli -h 127.0.0.1 -p 6379 -n 5 flushdb >/dev/null   # database 5 is the benchmark's own
echo "services: redis $(redis-cli -h 127.0.0.1 -p 6379 info server | tr -d '\r' | sed -n 's/^redis_version://p') online (db 5)"

# --- 2. database, seed, target -------------------------------------------------------------
case "${COPSITE_GUNICORN_CONF:-bench}" in
  bench) GCONF="$HERE/gunicorn.bench.py" ;;
  project) GCONF="$PROJ/gunicorn.conf.py" ;;
  *) GCONF="$COPSITE_GUNICORN_CONF" ;;
esac

if [ "${COPSITE_SKIP_SEED:-0}" = 1 ] && [ -f "$TARGET" ]; then
  echo "copsite: COPSITE_SKIP_SEED=1, reusing $TARGET"
else
  export DJANGO_SETTINGS_MODULE=copsite.settings
  export DATABASE_URL="postgres://${BENCH_DB_USER:-bench}:${BENCH_DB_PASSWORD:-bench}@127.0.0.1:5432/$DB"
  export DEBUG=0
  SECRET_KEY="$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')"
  export SECRET_KEY
  export ALLOWED_HOSTS=127.0.0.1,localhost
  export SITE_URL="http://127.0.0.1:$PORT"
  # Plain HTTP on loopback: no TLS redirect, no secure-only cookies, no HSTS.
  export SECURE_SSL_REDIRECT=0 SESSION_COOKIE_SECURE=0 CSRF_COOKIE_SECURE=0 SECURE_HSTS_SECONDS=0
  export REDIS_URL=redis://127.0.0.1:6379/5
  export EMAIL_URL=console://
  # The harness compares 20 topics per list page and 20 posts per topic page.
  export POSTS_PER_PAGE=20 THREADS_PER_PAGE=20
  # Build output and scratch stay out of the checkout.
  export STATIC_ROOT="$WORK/copsite-static" COPSITE_VAR_DIR="$WORK/copsite-var"
  # PAGE_CACHE_SECONDS and LOG_LEVEL pass through when set; seed_bench copies them into the target.

  su postgres -c "dropdb --if-exists --force $DB" >/dev/null 2>&1
  su postgres -c "createdb -O ${BENCH_DB_USER:-bench} $DB"
  cd "$PROJ"
  "$PY" manage.py migrate --noinput -v0
  "$PY" manage.py collectstatic --noinput --clear -v0
  t0=$(date +%s.%N)
  "$PY" manage.py seed_bench --target "$TARGET" --port "$PORT" --gunicorn-config "$GCONF" | tee "$LOG"
  t1=$(date +%s.%N)
  echo "copsite seed process wall s: $(python3 -c "print(round($t1 - $t0, 2))")" | tee -a "$LOG"
fi

# --- 3. the SQL of each page (render path, page cache off) ----------------------------------
"$PY" "$HERE/queries.py" "$TARGET" --out "$HERE/last-queries.md" >/dev/null
echo "copsite: SQL per page in $HERE/last-queries.md"
# CPU ms and queries per request in process, anonymous and the logged-in bench member.
"$PY" "$HERE/cpu.py" "$TARGET" --member -n 50 | tee "$HERE/last-cpu.txt"
redis-cli -h 127.0.0.1 -p 6379 -n 5 flushdb >/dev/null
if [ "${COPSITE_PREPARE_ONLY:-0}" = 1 ]; then
  echo "copsite: COPSITE_PREPARE_ONLY=1, stopping before the harness"
  exit 0
fi

# --- 4. the harness ---------------------------------------------------------------------------
RUNLOG="$WORK/copsite-run.log"
EXTRA_TARGETS="$TARGET ${EXTRA_TARGETS:-}" bash "$PERF/run.sh" 2>&1 | tee "$RUNLOG"
OUT="$(sed -n 's/^results in //p' "$RUNLOG" | tail -1)"
if [ -n "$OUT" ] && [ -f "$OUT/report.md" ]; then
  cp "$OUT/report.md" "$HERE/${COPSITE_REPORT:-last-report.md}"
  [ -f "$LOG" ] && cp "$LOG" "$OUT/copsite-seed.log"
  cp "$HERE/last-queries.md" "$OUT/copsite-queries.md"
  echo "copsite: report copied to $HERE/${COPSITE_REPORT:-last-report.md} (results in $OUT)"
else
  echo "copsite: no report found (see $RUNLOG)" >&2
  exit 1
fi

# --- 5. copsite-only rows: the logged-in member beside Spirit's anonymous pages ---------------
if [ -f "$WORK/targets/spirit.json" ]; then
  python3 "$HERE/member.py" "$TARGET" "$WORK/targets/spirit.json" --logdir "$OUT" \
    --out "$HERE/${COPSITE_MEMBER_REPORT:-last-member.md}"
  cp "$HERE/${COPSITE_MEMBER_REPORT:-last-member.md}" "$OUT/copsite-member.md"
else
  echo "copsite: no Spirit target, member row skipped" >&2
fi

# --- 6. search on 100,000 posts (the dataset five times, its own database) ------------------
if [ "${COPSITE_SKIP_SEARCH:-0}" != 1 ]; then
  SEARCH_TARGET="$WORK/targets/copsite-search.json"
  if [ "${COPSITE_SKIP_SEED:-0}" = 1 ] && [ ! -f "$SEARCH_TARGET" ]; then
    echo "copsite: COPSITE_SKIP_SEED=1 but no $SEARCH_TARGET yet: run once without it" >&2
    exit 1
  elif [ "${COPSITE_SKIP_SEED:-0}" != 1 ]; then
    SDB="${DB}_search"
    su postgres -c "dropdb --if-exists --force $SDB" >/dev/null 2>&1
    su postgres -c "createdb -O ${BENCH_DB_USER:-bench} $SDB"
    (
      cd "$PROJ"
      export DATABASE_URL="postgres://${BENCH_DB_USER:-bench}:${BENCH_DB_PASSWORD:-bench}@127.0.0.1:5432/$SDB"
      "$PY" manage.py migrate --noinput -v0
      "$PY" manage.py seed_bench --copies 5 --target "$SEARCH_TARGET" | tee "$WORK/copsite-search-seed.log"
    )
  fi
  "$PY" "$HERE/search.py" "$SEARCH_TARGET" -n "${SEARCH_REQUESTS:-200}" --out "$HERE/last-search.md"
  cp "$HERE/last-search.md" "$OUT/copsite-search.md"
fi

# --- 7. digests: plan + build for 1,000 and 10,000 members, time and queries -----------------
# (bench/management/commands/bench_digests.py; DEBUG=1 there only so it can count queries)
if [ "${COPSITE_SKIP_DIGESTS:-0}" != 1 ]; then
  su postgres -c "dropdb --if-exists --force bench_digests; createdb -O ${BENCH_DB_USER:-bench} bench_digests"
  DEBUG=1 DATABASE_URL="postgres://${BENCH_DB_USER:-bench}:${BENCH_DB_PASSWORD:-bench}@127.0.0.1:5432/bench_digests" \
    "$PY" "$PROJ/manage.py" bench_digests --migrate --yes-i-know --members 1000 --members 10000 | tee "$HERE/last-digests.txt"
fi

# --- 8. the community health page: 10,000 members, a year of activity, median under 300 ms ----------
# (bench/management/commands/bench_health.py; runnable alone, see its docstring)
if [ "${COPSITE_SKIP_HEALTH:-0}" != 1 ]; then
  su postgres -c "dropdb --if-exists --force bench_health; createdb -O ${BENCH_DB_USER:-bench} bench_health"
  DEBUG=1 DATABASE_URL="postgres://${BENCH_DB_USER:-bench}:${BENCH_DB_PASSWORD:-bench}@127.0.0.1:5432/bench_health" \
    "$PY" "$PROJ/manage.py" bench_health --migrate --yes-i-know | tee "$HERE/last-health.txt"
fi
