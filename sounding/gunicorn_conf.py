"""Gunicorn settings used by `sounding serve` and `sounding web`.

The address and the number of workers come from the `sounding` command line. Operators can
add any gunicorn flag through GUNICORN_CMD_ARGS, e.g. `--access-logfile -` for access logs.
"""

from __future__ import annotations

import os

wsgi_app = "sounding.wsgi:application"
worker_class = "sync"
# A request that takes longer than this is stuck; the worker is replaced.
timeout = 30
# On SIGTERM, requests in flight get this long to finish, so no submitted answer is cut off.
graceful_timeout = 10
keepalive = 5

# Load Django once in the master: workers fork ready to serve, and a broken configuration
# fails at start instead of in a loop of crashing workers.
preload_app = True

accesslog = None
errorlog = "-"
loglevel = os.environ.get("SOUNDING_LOG_LEVEL", "info").lower()

# The heartbeat file lives in memory: a slow or overlay /tmp (Docker) can stall workers.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# Gunicorn 24+ opens a control socket in ~/.gunicorn by default; several Sounding instances
# on one machine would fight over it, and nothing here uses it. Older versions ignore this.
control_socket_disable = True
