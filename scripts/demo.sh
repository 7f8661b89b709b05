#!/usr/bin/env bash
# `make demo`: migrate, write the demo store, then serve at once. A worker on the
# embedded broker trains every model and runs its inference in the background while
# the web server answers; the admin dashboard shows their live progress, each panel
# saying "training…" until its model serves. Ctrl-C stops the web server, the worker
# and the background runs.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
KINDS=${DEMO_KINDS:-}  # empty: every kind
mkdir -p var/log

$PY manage.py migrate --noinput
$PY manage.py ensure_superuser --username admin --password admin
$PY manage.py generate_demo_store ${DEMO_ARGS:---seed 7} --if-empty

PIDS=()
any_alive() { [ -n "$(jobs -pr)" ]; }  # a background job still running
stop() {  # each background job and its children; killed if still there after 10 s
  local pid _
  for pid in "${PIDS[@]}"; do
    pkill -TERM -P "$pid" 2>/dev/null || true
    kill "$pid" 2>/dev/null || true
  done
  for _ in $(seq 20); do any_alive || break; sleep 0.5; done
  for pid in "${PIDS[@]}"; do
    pkill -KILL -P "$pid" 2>/dev/null || true
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}
trap stop EXIT

# The web server comes first: the worker and the model runs start once it answers, so
# that they do not slow down its start on a small machine.
web_answers() { (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null; }
after_web() { until web_answers; do sleep 0.5; done; exec "$@"; }

echo "A Celery worker (queues gpu and default, with the beat scheduler) starts with the web server; log: var/log/worker.log"
after_web .venv/bin/celery -A ecomsite worker -Q gpu,default --concurrency 1 \
  --prefetch-multiplier 1 --max-tasks-per-child 1 -B --schedule var/celerybeat-schedule \
  -n demo@%h --loglevel INFO >var/log/worker.log 2>&1 &
PIDS+=($!)

# Every kind's training run is queued at once (so every panel says "training…"); the
# kinds are trained and run one after the other, the quick ones first.
echo "The models train and run in the background; log: var/log/models.log"
# shellcheck disable=SC2086 # one argument per kind
after_web $PY scripts/demo_models.py $KINDS >var/log/models.log 2>&1 &
PIDS+=($!)

cat <<MSG

  Admin:     http://$HOST:$PORT/admin/     login: admin / admin
             (the dashboard shows the models training; each panel fills in once its model serves)
  API docs:  http://$HOST:$PORT/api/docs/
  Shop:      http://$HOST:$PORT/     customer login: demo / demo-password

MSG
$PY manage.py runserver --noreload "$HOST:$PORT"
