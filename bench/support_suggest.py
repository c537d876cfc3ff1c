"""Benchmark: how often smart support suggests the reply that was actually used.

    python manage.py bench support_suggest [--repeat 5]

Leave-one-out over the resolved tickets answered with a canned reply (the demo's
after-sales tickets: run `seed_demo` first): each ticket's text is asked for
suggestions with the ticket itself left out of the history, and it is a hit when
the canned reply its answer started from is among the three suggested. Reported
for the index the ticket page uses (the replies' words plus the votes of similar
resolved tickets) and for the replies' own words only, so the history's share
shows. Time per suggestion over `repeat` passes, the index built beforehand.
"""

from __future__ import annotations

import statistics
import time

from django.core.management.base import CommandError

from bench.registry import benchmark, percentile
from kameng.bm25 import tokenize
from orders.suggest import (
    REPLY_LIMIT,
    SupportIndex,
    reply_documents,
    ticket_documents,
)


def _pass(index: SupportIndex, cases) -> tuple[int, list[float]]:
    """(hits, milliseconds per suggestion) over every case, leaving it out."""
    hits, times = 0, []
    for ticket_id, text, used in cases:
        started = time.perf_counter()
        replies, _similar = index.suggest(text, exclude_ticket=ticket_id)
        times.append((time.perf_counter() - started) * 1000)
        hits += bool(set(used) & {s.id for s in replies[:REPLY_LIMIT]})
    return hits, times


@benchmark(
    "support_suggest",
    help="Top-3 hit rate of suggested canned replies, leave-one-out over demo tickets",
    arguments=[("--repeat", {"type": int, "default": 5})],
)
def support_suggest(*, repeat: int, stdout) -> dict:
    tokenize("预热")  # jieba loads its dictionary once per process: not timed
    started = time.perf_counter()
    replies = reply_documents()
    tickets = ticket_documents()
    index = SupportIndex(replies=replies, tickets=tickets)
    build_ms = (time.perf_counter() - started) * 1000
    cases = [case for case in tickets if case[2]]
    if not cases:
        raise CommandError(
            "No resolved ticket was answered with a canned reply: run "
            "`python manage.py seed_demo` first."
        )
    words_only = SupportIndex(replies=replies, tickets=[])
    hits, times = _pass(index, cases)
    for _ in range(repeat - 1):
        times += _pass(index, cases)[1]
    words_hits, _ = _pass(words_only, cases)
    rate, words_rate = hits / len(cases), words_hits / len(cases)
    stdout.write(
        f"{len(cases)} answered tickets, {len(replies)} canned replies, "
        f"{len(tickets)} resolved tickets indexed in {build_ms:.0f} ms"
    )
    stdout.write(
        f"top-3 hit rate: {rate:.1%} ({hits}/{len(cases)}) with similar tickets' "
        f"votes; {words_rate:.1%} from the replies' own words only"
    )
    stdout.write(
        f"per suggestion: median {statistics.median(times):.2f} ms, "
        f"p95 {percentile(times, 0.95):.1f} ms over {len(times)} suggestions"
    )
    return {
        "tickets": len(cases),
        "canned_replies": len(replies),
        "top3_hit_rate": round(rate, 3),
        "top3_hit_rate_words_only": round(words_rate, 3),
        "suggest_ms_median": round(statistics.median(times), 3),
        "suggest_ms_p95": percentile(times, 0.95),
        "index_build_ms": round(build_ms, 1),
    }
