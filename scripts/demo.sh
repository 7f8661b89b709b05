#!/usr/bin/env bash
# `make demo`: migrate, demo store, a worker on the embedded broker, train and infer
# every model, then the web server. Ctrl-C stops the web server and the worker.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
mkdir -p var/log

$PY manage.py migrate --noinput
$PY manage.py ensure_superuser --username admin --password admin
$PY manage.py generate_demo_store ${DEMO_ARGS:---seed 7} --if-empty

echo "Starting a Celery worker (queues gpu and default, with the beat scheduler); log: var/log/worker.log"
.venv/bin/celery -A ecomsite worker -Q gpu,default --concurrency 1 --prefetch-multiplier 1 \
  --max-tasks-per-child 1 -B --schedule var/celerybeat-schedule -n demo@%h \
  --loglevel INFO >var/log/worker.log 2>&1 &
WORKER=$!
trap 'kill $WORKER 2>/dev/null; wait $WORKER 2>/dev/null || true' EXIT

$PY manage.py train all --wait
$PY manage.py infer all --wait
$PY manage.py model_report

cat <<MSG

  Admin:     http://$HOST:$PORT/admin/     login: admin / admin
  API docs:  http://$HOST:$PORT/api/docs/
  Shop:      http://$HOST:$PORT/     customer login: demo / demo-password

MSG
$PY manage.py runserver "$HOST:$PORT"
