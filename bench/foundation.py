"""Foundation benchmarks: the cost of the pages every other issue builds on."""

import statistics
import time

from django.contrib.auth import get_user_model
from django.test import Client

from bench.registry import benchmark


@benchmark(
    "healthz",
    help="Server time of /healthz and of the dashboard for the demo admin.",
    arguments=[("--requests", {"type": int, "default": 200})],
)
def healthz_and_dashboard(*, requests: int, stdout) -> dict:
    client = Client()
    admin = get_user_model().objects.filter(is_superuser=True).first()
    figures = {"requests": requests}
    for label, path, login in (
        ("healthz", "/healthz", None),
        ("dashboard", "/admin/", admin),
    ):
        if login is not None:
            client.force_login(login)
        client.get(path)  # warm up
        timings = []
        for _ in range(requests):
            started = time.perf_counter()
            response = client.get(path)
            timings.append((time.perf_counter() - started) * 1000)
            # 503 is /healthz saying a component is down (no worker here), which
            # it answers as fast; anything else 5xx is a broken page.
            if response.status_code >= 500 and response.status_code != 503:
                raise RuntimeError(f"{path} answered {response.status_code}")
        timings.sort()
        figures[f"{label}_p50_ms"] = round(statistics.median(timings), 2)
        figures[f"{label}_p95_ms"] = round(timings[int(len(timings) * 0.95) - 1], 2)
    return figures
