"""Smart support, offline: for a ticket's text, the three canned replies most
likely to answer it and up to three similar resolved tickets.

Both come from BM25 over jieba-segmented text (kameng.bm25):

- a canned reply scores by its own words (title, keywords, text) and by the
  resolved tickets like this one that were answered with it (each of the
  nearest tickets votes for the reply it used, weighted by its similarity);
- similar tickets are the nearest resolved tickets themselves.

The index is built once per process and rebuilt when canned replies change
(orders.signals bumps a version in the shared cache, so every process sees
it) or when it is older than SUPPORT_INDEX_MAX_AGE_SECONDS (newly resolved
tickets join then). It holds at most SUPPORT_INDEX_MAX_TICKETS recent tickets.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db.models import Prefetch

from kameng.bm25 import Bm25, tokenize
from orders.models import CannedReply, CannedReplyUse, Ticket, TicketMessage

VERSION_KEY = "orders:support-index-version"
REPLY_LIMIT = 3
TICKET_LIMIT = 3
NEIGHBOURS = 5  # resolved tickets that vote for their reply
# Votes against the reply's own words (both scaled to 0..1); 0.5 and 5 neighbours
# were best by leave-one-out over the demo tickets (bench support_suggest).
HISTORY_WEIGHT = 0.5
DONE = (Ticket.Status.RESOLVED, Ticket.Status.CLOSED)


@dataclass(frozen=True)
class Suggestion:
    id: int
    score: float


class SupportIndex:
    """Canned replies and resolved tickets, tokenised and indexed."""

    def __init__(
        self,
        *,
        replies: list[tuple[int, str]],
        tickets: list[tuple[int, str, tuple[int, ...]]],
        version=None,
    ):
        self.version = version
        self.built_at = time.monotonic()
        self.reply_ids = [pk for pk, _text in replies]
        self.replies = Bm25([tokenize(text) for _pk, text in replies])
        self.ticket_ids = [pk for pk, _text, _used in tickets]
        self.ticket_position = {pk: i for i, pk in enumerate(self.ticket_ids)}
        self.ticket_replies = [used for _pk, _text, used in tickets]
        self.tickets = Bm25([tokenize(text) for _pk, text, _used in tickets])

    def _neighbours(self, words, exclude: int | None, limit: int):
        skip = set()
        if exclude is not None and exclude in self.ticket_position:
            skip.add(self.ticket_position[exclude])
        return self.tickets.top(words, limit, skip=skip)

    def suggest(
        self, text: str, *, exclude_ticket: int | None = None
    ) -> tuple[list[Suggestion], list[Suggestion]]:
        """(replies, tickets): the best canned replies and the most similar
        resolved tickets for `text`, best first, never `exclude_ticket`."""
        words = tokenize(text)
        if not words:
            return [], []
        totals: dict[int, float] = defaultdict(float)
        direct = self.replies.scores(words)
        if direct:
            best = max(direct.values())
            for index, score in direct.items():
                totals[self.reply_ids[index]] += score / best
        neighbours = self._neighbours(words, exclude_ticket, NEIGHBOURS)
        if neighbours:
            best = neighbours[0][1]
            for index, score in neighbours:
                for reply_id in self.ticket_replies[index]:
                    totals[reply_id] += HISTORY_WEIGHT * score / best
        known = set(self.reply_ids)
        replies = sorted(
            (
                Suggestion(pk, round(score, 4))
                for pk, score in totals.items()
                if pk in known
            ),
            key=lambda s: (-s.score, s.id),
        )[:REPLY_LIMIT]
        tickets = [
            Suggestion(self.ticket_ids[index], round(score, 4))
            for index, score in neighbours[:TICKET_LIMIT]
        ]
        return replies, tickets


def ticket_text(ticket: Ticket, messages=None) -> str:
    """What a ticket asks: its type and the buyer's own messages (the first
    one above all), not staff answers or internal remarks."""
    if messages is None:
        messages = ticket.messages.filter(internal=False).order_by("id")
    asked = [
        m.body
        for m in messages
        if not m.internal and (m.author_id is None or m.author_id == ticket.buyer_id)
    ]
    return " ".join([ticket.get_kind_display(), *asked[:3]])


def reply_documents() -> list[tuple[int, str]]:
    """Each active canned reply's words: title, keywords and text."""
    return [
        (reply.pk, f"{reply.title} {reply.keywords} {reply.body}")
        for reply in CannedReply.objects.filter(is_active=True).order_by("id")
    ]


def ticket_documents(
    *, limit: int | None = None
) -> list[tuple[int, str, tuple[int, ...]]]:
    """The latest resolved tickets: what each asked and the canned replies its
    answers started from (three queries whatever their number)."""
    done = (
        Ticket.objects.filter(status__in=DONE)
        .order_by("-id")
        .prefetch_related(
            Prefetch(
                "messages",
                queryset=TicketMessage.objects.filter(internal=False).order_by("id"),
            ),
            Prefetch("canned_uses", queryset=CannedReplyUse.objects.order_by("id")),
        )[: limit or settings.SUPPORT_INDEX_MAX_TICKETS]
    )
    return [
        (
            ticket.pk,
            ticket_text(ticket, ticket.messages.all()),
            tuple(dict.fromkeys(use.reply_id for use in ticket.canned_uses.all())),
        )
        for ticket in done
    ]


def build_index(*, version=None) -> SupportIndex:
    """Read the active canned replies and the latest resolved tickets and index
    them."""
    return SupportIndex(
        replies=reply_documents(), tickets=ticket_documents(), version=version
    )


_lock = threading.Lock()
_current: dict[str, SupportIndex] = {}


def replies_changed() -> None:
    """Canned replies were added, edited or removed: every process rebuilds."""
    try:
        cache.incr(VERSION_KEY)
    except ValueError:
        cache.set(VERSION_KEY, 1, None)


def current_index() -> SupportIndex:
    """This process's index, rebuilt when stale (see the module's docstring)."""
    version = cache.get(VERSION_KEY, 0)
    index = _current.get("index")
    max_age = settings.SUPPORT_INDEX_MAX_AGE_SECONDS
    if (
        index is None
        or index.version != version
        or time.monotonic() - index.built_at > max_age
    ):
        with _lock:
            index = build_index(version=version)
            _current["index"] = index
    return index


@dataclass(frozen=True)
class TicketSuggestions:
    replies: list[CannedReply]
    tickets: list[Ticket]


def suggest_for_ticket(ticket: Ticket) -> TicketSuggestions:
    """The page's suggestions for `ticket` (never the ticket itself)."""
    replies, similar = current_index().suggest(
        ticket_text(ticket), exclude_ticket=ticket.pk
    )
    by_id = CannedReply.objects.filter(is_active=True).in_bulk([s.id for s in replies])
    tickets = Ticket.objects.select_related("order").in_bulk([s.id for s in similar])
    return TicketSuggestions(
        replies=[by_id[s.id] for s in replies if s.id in by_id],
        tickets=[tickets[s.id] for s in similar if s.id in tickets],
    )
