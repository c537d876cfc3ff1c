"""gunicorn's settings for Kameng's web process. gunicorn reads ./gunicorn.conf.py by
itself, so the Dockerfile, docker-compose.yml and `bench checkout` all serve the
same way; WEB_CONCURRENCY, GUNICORN_THREADS and command-line flags override it.

Why these values (measured with `python manage.py bench checkout`, 32 buyers, on a
2-core machine that also runs Postgres):
- gthread workers: a browser's keep-alive connection waits in the worker's poller
  without holding a thread, and the next request skips a TCP handshake.
- Few threads per process, more processes: serving a page is CPU-bound Python, so
  extra threads in one process only queue for its GIL. 2 workers x 2 threads sold
  79 orders/s with p99 0.7 s; 4 x 8 sold 67 with p99 1.3 s.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
keepalive = 5  # seconds an idle browser connection is kept
accesslog = "-"
