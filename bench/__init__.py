"""Benchmark harness: what `python manage.py bench NAME` runs.

Not an app and not part of the shop: nothing under kameng/, users/, catalog/,
marketing/, orders/ or analytics/ imports it. It drives the shop from outside, as
a load generator would: the HTTP client (browser.py), starting and stopping
the web process and Celery (processes.py), the plain-SQL ceiling of a card sale
(ceiling.py, built from model metadata), and one module per benchmark.

- registry.py  `@benchmark`, REGISTRY
- suite.py     imports every benchmark module (what the command loads)
"""
