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
KINDS=${DEMO_KINDS:-recommender segments demand price image}
mkdir -p var/log

$PY manage.py migrate --noinput
$PY manage.py ensure_superuser --username admin --password admin
$PY manage.py generate_demo_store ${DEMO_ARGS:---seed 7} --if-empty

PIDS=()
stop() {  # each background job and the command it is running
  for pid in "${PIDS[@]}"; do
    pkill -TERM -P "$pid" 2>/dev/null || true
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop EXIT

echo "Starting a Celery worker (queues gpu and default, with the beat scheduler); log: var/log/worker.log"
.venv/bin/celery -A ecomsite worker -Q gpu,default --concurrency 1 --prefetch-multiplier 1 \
  --max-tasks-per-child 1 -B --schedule var/celerybeat-schedule -n demo@%h \
  --loglevel INFO >var/log/worker.log 2>&1 &
PIDS+=($!)

# Every kind's training is queued now (so every panel says "training…" at once);
# each kind's inference is queued as soon as its own training has succeeded.
echo "Training and running the models in the background; logs: var/log/models-KIND.log"
for kind in $KINDS; do
  { $PY manage.py train "$kind" --wait && $PY manage.py infer "$kind" --wait; } \
    >"var/log/models-$kind.log" 2>&1 &
  PIDS+=($!)
done

cat <<MSG

  Admin:     http://$HOST:$PORT/admin/     login: admin / admin
             (the dashboard shows the models training; each panel fills in once its model serves)
  API docs:  http://$HOST:$PORT/api/docs/
  Shop:      http://$HOST:$PORT/     customer login: demo / demo-password

MSG
$PY manage.py runserver --noreload "$HOST:$PORT"
