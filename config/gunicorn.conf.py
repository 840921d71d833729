"""gunicorn settings for production: `gunicorn -c config/gunicorn.conf.py config.wsgi`.

Environment: GUNICORN_BIND (default 127.0.0.1:8000), GUNICORN_WORKERS (default 2 × cores
+ 1). Command-line options (`-w`, `-b`) override these. Everything else about the site is
read by config/settings.py.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", str(multiprocessing.cpu_count() * 2 + 1)))
# Twilio gives up on a webhook after 15 s: a worker stuck longer than that helps nobody.
timeout = 30

# Access log on stdout. The path (%(U)s) without the query string, no Referer, no User-Agent:
# the least a line needs. Calendar-feed tokens in the path are replaced by "[token]" by the
# logger class below, whatever this format says (docs/security-encryption.md).
accesslog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(L)ss'
logger_class = "config.logfilters.GunicornLogger"
