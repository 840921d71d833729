"""gunicorn settings for Hotline Roster: `gunicorn -c deploy/gunicorn.conf.py config.wsgi`
(the systemd unit and compose.yaml use it). See docs/deployment.md."""

import multiprocessing
import os

# Loopback by default: the TLS proxy (deploy/nginx/) is what the world reaches.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Sync workers, gunicorn's own rule of 2 × cores + 1: a Twilio webhook is short, and a
# worker waiting on the database is covered by the others (bench/webhook.py).
workers = int(os.environ.get("GUNICORN_WORKERS", 2 * multiprocessing.cpu_count() + 1))
worker_class = "sync"
# Twilio gives up on a webhook after 15 s; nothing of ours should take half of that.
timeout = 30
graceful_timeout = 30
keepalive = 2
# A worker is replaced now and then (memory held by a large export, say), not all at once.
max_requests = 2000
max_requests_jitter = 200
# The proxy's X-Forwarded-* are believed only from the proxy itself (Django reads them when
# BEHIND_PROXY=1; this is gunicorn's own check, for its wsgi.url_scheme).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
# No access log here: calendar-feed URLs carry their secret in the path. The proxy's log
# redacts it (deploy/nginx/hotline.conf); Django's own log redacts it (config/logfilters.py).
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "warning")
