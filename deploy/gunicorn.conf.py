"""gunicorn settings of the web tier (`gunicorn ecomsite.wsgi -c deploy/gunicorn.conf.py`).

Everything host-specific comes from the environment: `WEB_BIND` (default
127.0.0.1:8000, behind the reverse proxy), `WEB_CONCURRENCY` (default two workers a
core, as `bench/bench_load.py --workers N` measured) and `WEB_TIMEOUT` (seconds).
"""

import multiprocessing
import os

bind = os.environ.get("WEB_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count()))
timeout = int(os.environ.get("WEB_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5  # the proxy keeps connections to gunicorn open
# Restart each worker after a while, with jitter, so that slow leaks stay bounded.
max_requests = 2000
max_requests_jitter = 200
# The app is loaded once, before forking: workers share its memory and a broken
# release fails at start rather than on the first request.
preload_app = True
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# No access log: its default format records client IP addresses (personal data).
# Errors go to stderr, which systemd's journal or honcho collects.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("WEB_LOG_LEVEL", "info")
