#!/usr/bin/env bash
# `make serve`: the deployment's process file (deploy/Procfile: gunicorn, a worker on
# each queue, beat) run locally with honcho, against the PostgreSQL and Redis that
# DATABASE_URL and CELERY_BROKER_URL name. DEBUG is off, as in production; static
# files are collected first and served by WhiteNoise. Ctrl-C stops every process.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?set DATABASE_URL to a PostgreSQL database, e.g. postgres://postgres@127.0.0.1:5432/ecomsite}"
: "${CELERY_BROKER_URL:?set CELERY_BROKER_URL to Redis, e.g. redis://127.0.0.1:6379/0}"
export PATH="$PWD/.venv/bin:$PATH"
export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-ecomsite.settings.local}
export DEBUG=${DEBUG:-false}
export WEB_BIND=${WEB_BIND:-${HOST:-127.0.0.1}:${PORT:-8000}}
export WEB_CONCURRENCY=${WEB_CONCURRENCY:-2}
export DEFAULT_WORKER_CONCURRENCY=${DEFAULT_WORKER_CONCURRENCY:-1}

# SERVE_MIGRATE=0 leaves the schema alone (the smoke test's database is built by pytest).
if [ "${SERVE_MIGRATE:-1}" != 0 ]; then python manage.py migrate --noinput; fi
python manage.py collectstatic --noinput --verbosity 0
echo "Serving on http://$WEB_BIND/ (admin: /admin/); processes: deploy/Procfile"
exec honcho --procfile deploy/Procfile --app-root . start
