"""After-sales: staff notes on orders, and tickets buyers open from their orders.

A ticket's status changes only through `transition_ticket`, which checks
TICKET_ALLOWED and stamps the SLA times (first staff answer, resolution). Buyers
see messages not marked internal; staff see everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, get_objects_for_user, remove_perm
from PIL import Image, UnidentifiedImageError

from marketing.selectors import has_priority_support
from orders.exceptions import AttachmentRefused, NoteRefused, TicketRefused
from orders.models import Order, OrderNote, Ticket, TicketMessage
from orders.risk import recount_buyer

T = Ticket.Status
TICKET_ALLOWED: dict[str, set[str]] = {
    T.OPEN: {T.IN_PROGRESS, T.PENDING, T.RESOLVED, T.CLOSED},
    T.IN_PROGRESS: {T.PENDING, T.RESOLVED, T.CLOSED},
    T.PENDING: {T.IN_PROGRESS, T.RESOLVED, T.CLOSED},
    T.RESOLVED: {T.IN_PROGRESS, T.CLOSED},
    T.CLOSED: set(),
}
DONE_STATES = (T.RESOLVED, T.CLOSED)
HANDLING_STATES = (T.OPEN, T.IN_PROGRESS, T.PENDING)  # someone is on it
# What a buyer may open from an order (abnormal-order tickets are the system's).
BUYER_KINDS = (
    Ticket.Kind.REFUND,
    Ticket.Kind.REISSUE,
    Ticket.Kind.COMPLAINT,
    Ticket.Kind.INQUIRY,
)
WORK_PERMISSION = "orders.change_ticket"
ALL_TICKETS_PERMISSION = "orders.work_all_tickets"
IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


# Notes -----------------------------------------------------------------------


def add_order_note(
    *, order: Order, author, body: str, visible_to_buyer: bool
) -> OrderNote:
    body = body.strip()
    if not body:
        raise NoteRefused(_("A note needs some text."))
    if len(body) > 2000:
        raise NoteRefused(_("A note is at most 2000 characters."))
    return OrderNote.objects.create(
        order=order, author=author, body=body, visible_to_buyer=visible_to_buyer
    )


def notes_for_buyer(order: Order):
    """Only the notes staff chose to show; internal notes never leave the office."""
    return order.notes.filter(visible_to_buyer=True).order_by("id")


# Attachments -----------------------------------------------------------------


def check_attachment(upload) -> None:
    """Refuse an upload that is too big or not a JPEG, PNG or WebP image (read by
    Pillow, not trusted from its name or the browser's content type)."""
    limit = settings.TICKET_ATTACHMENT_MAX_BYTES
    if upload.size > limit:
        raise AttachmentRefused(
            _("%(name)s is %(size)s; an image may be at most %(limit)s.")
            % {
                "name": upload.name,
                "size": filesizeformat(upload.size),
                "limit": filesizeformat(limit),
            }
        )
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            kind = image.format
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        kind = None
    finally:
        upload.seek(0)
    if kind not in IMAGE_FORMATS:
        raise AttachmentRefused(
            _("%(name)s is not a JPEG, PNG or WebP image.") % {"name": upload.name}
        )


def attachment_content_type(message: TicketMessage) -> str:
    """The content type to serve a stored attachment with (checked at upload)."""
    try:
        with message.attachment.open("rb") as handle, Image.open(handle) as image:
            return IMAGE_FORMATS.get(image.format, "application/octet-stream")
    except (UnidentifiedImageError, OSError):
        return "application/octet-stream"


# Tickets ---------------------------------------------------------------------


def transition_ticket(*, ticket: Ticket, to: str, actor=None) -> Ticket:
    """Move `ticket` to `to` or raise TicketRefused; stamps resolved_at."""
    if to == ticket.status:
        return ticket
    if to not in TICKET_ALLOWED[ticket.status]:
        raise TicketRefused(
            _("A ticket cannot go from %(src)s to %(dst)s.")
            % {"src": T(ticket.status).label, "dst": T(to).label}
        )
    ticket.status = to
    fields = ["status", "updated_at"]
    if to in DONE_STATES and ticket.resolved_at is None:
        ticket.resolved_at = timezone.now()
        fields.append("resolved_at")
    elif to not in DONE_STATES and ticket.resolved_at is not None:
        ticket.resolved_at = None  # reopened: the clock runs again
        fields.append("resolved_at")
    ticket.save(update_fields=fields)
    return ticket


def _message(*, ticket, author, body, attachment=None, internal=False):
    body = body.strip()
    if not body:
        raise TicketRefused(_("Write a message."))
    if len(body) > 5000:
        raise TicketRefused(_("A message is at most 5000 characters."))
    if attachment is not None:
        check_attachment(attachment)
    return TicketMessage.objects.create(
        ticket=ticket,
        author=author,
        body=body,
        internal=internal,
        attachment=attachment or "",
    )


# Levels with priority support sort above every level without it.
PRIORITY_SUPPORT_BONUS = 1000


def buyer_priority(buyer) -> int:
    """A ticket's sort weight: the buyer's member level rank, and above all
    ranks when the level gives priority support or a marketing strategy
    granted the buyer priority support (marketing.PrioritySupport)."""
    level = buyer.member_level
    rank = level.rank if level is not None else 0
    if level is not None and level.priority_support:
        return rank + PRIORITY_SUPPORT_BONUS
    if has_priority_support(user_id=buyer.pk):
        return rank + PRIORITY_SUPPORT_BONUS
    return rank


@transaction.atomic
def open_buyer_ticket(
    *, order: Order, buyer, kind: str, body: str, attachment=None
) -> Ticket:
    """A buyer asks for help with one of their own orders."""
    if order.buyer_id != buyer.pk:
        raise TicketRefused(_("You can only ask about your own orders."))
    if kind not in BUYER_KINDS:
        raise TicketRefused(_("Choose what you need help with."))
    ticket = Ticket.objects.create(
        kind=kind,
        order=order,
        buyer=buyer,
        priority=buyer_priority(buyer),
        subject=_("Order %(no)s: %(kind)s")
        % {"no": order.order_no, "kind": Ticket.Kind(kind).label},
    )
    _message(ticket=ticket, author=buyer, body=body, attachment=attachment)
    if kind == Ticket.Kind.REISSUE:
        recount_buyer(buyer_id=buyer.pk)  # risk: reissues count
    return ticket


@transaction.atomic
def buyer_reply(*, ticket: Ticket, buyer, body: str, attachment=None) -> TicketMessage:
    """The buyer answers on their ticket; a ticket waiting for them (or resolved)
    goes back to staff."""
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if ticket.buyer_id != buyer.pk:
        raise TicketRefused(_("You can only reply to your own tickets."))
    if ticket.status == T.CLOSED:
        raise TicketRefused(
            _("This ticket is closed. Open a new one if you need help.")
        )
    message = _message(ticket=ticket, author=buyer, body=body, attachment=attachment)
    if ticket.status in (T.PENDING, T.RESOLVED):
        transition_ticket(ticket=ticket, to=T.IN_PROGRESS, actor=buyer)
    return message


@transaction.atomic
def staff_reply(
    *,
    ticket: Ticket,
    actor,
    body: str,
    internal: bool = False,
    status: str | None = None,
) -> TicketMessage:
    """Staff answer (or leave an internal remark) and set where the ticket
    stands. The first answer the buyer can see stamps first_response_at; an
    open ticket moves to in progress unless another status is chosen."""
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if not can_work_ticket(actor, ticket):
        raise TicketRefused(_("This ticket is assigned to someone else."))
    if ticket.status == T.CLOSED:
        raise TicketRefused(_("This ticket is closed."))
    message = _message(ticket=ticket, author=actor, body=body, internal=internal)
    if not internal and ticket.first_response_at is None:
        ticket.first_response_at = message.created_at
        ticket.save(update_fields=["first_response_at", "updated_at"])
    if status is None and ticket.status == T.OPEN:
        status = T.IN_PROGRESS
    if status:
        transition_ticket(ticket=ticket, to=status, actor=actor)
    return message


def staff_message_added(*, ticket: Ticket, message: TicketMessage) -> None:
    """A staff message added another way (the admin form) counts as an answer."""
    if not message.internal and ticket.first_response_at is None:
        Ticket.objects.filter(pk=ticket.pk, first_response_at=None).update(
            first_response_at=message.created_at
        )


# Who works which ticket ------------------------------------------------------


def tickets_for_staff(user) -> QuerySet[Ticket]:
    """The tickets `user` sees in the back office. A lead (work_all_tickets), and
    staff who only read tickets (finance), see all; an agent sees the unassigned
    queue and the tickets they hold the object permission for."""
    tickets = Ticket.objects.all()
    if user.has_perm(ALL_TICKETS_PERMISSION) or not user.has_perm(WORK_PERMISSION):
        return tickets
    held = get_objects_for_user(
        user,
        WORK_PERMISSION,
        klass=Ticket,
        with_superuser=False,
        accept_global_perms=False,
    )
    return tickets.filter(Q(assignee=None) | Q(pk__in=held.values("pk")))


def can_work_ticket(user, ticket: Ticket) -> bool:
    """May `user` answer, move or reassign `ticket`?"""
    if not user.has_perm(WORK_PERMISSION):
        return False
    if user.has_perm(ALL_TICKETS_PERMISSION) or ticket.assignee_id is None:
        return True
    return user.has_perm(WORK_PERMISSION, ticket)  # guardian's object permission


def handles_ticket(user, ticket: Ticket) -> bool:
    """`user` handles `ticket` while it is assigned to them and not resolved or
    closed (taking an unassigned ticket, "分配给我", makes it theirs), or while
    they handle its order through another ticket."""
    if ticket.assignee_id == user.pk and ticket.status in HANDLING_STATES:
        return True
    return ticket.order_id is not None and handles_order(user, ticket.order_id)


def handles_order(user, order: Order | int) -> bool:
    """`user` handles `order` while an unresolved ticket about it is assigned to
    them: who may see its contacts in full (users.contacts). Leads and agents
    alike; finance and the super admin see them by permission instead."""
    return Ticket.objects.filter(
        order=order, assignee_id=user.pk, status__in=HANDLING_STATES
    ).exists()


@transaction.atomic
def assign_ticket(*, ticket: Ticket, assignee, actor) -> Ticket:
    """Give `ticket` to `assignee` (or nobody): the assignee alone among agents
    holds the object permission to work it."""
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if not can_work_ticket(actor, ticket):
        raise TicketRefused(_("This ticket is assigned to someone else."))
    if assignee is not None and not assignee.is_staff:
        raise TicketRefused(_("Tickets are assigned to staff."))
    if ticket.assignee_id is not None:
        remove_perm(WORK_PERMISSION, ticket.assignee, ticket)
    ticket.assignee = assignee
    ticket.save(update_fields=["assignee", "updated_at"])
    if assignee is not None:
        assign_perm(WORK_PERMISSION, assignee, ticket)
    return ticket


# SLA -------------------------------------------------------------------------


@dataclass(frozen=True)
class Sla:
    first_response_due: datetime
    resolve_due: datetime
    overdue: bool


def ticket_sla(ticket: Ticket, now=None) -> Sla:
    now = now or timezone.now()
    first_due = ticket.created_at + timedelta(
        hours=settings.TICKET_SLA_FIRST_RESPONSE_HOURS
    )
    resolve_due = ticket.created_at + timedelta(hours=settings.TICKET_SLA_RESOLVE_HOURS)
    answered = ticket.first_response_at or now
    resolved = ticket.resolved_at or now
    overdue = answered > first_due or resolved > resolve_due
    return Sla(first_response_due=first_due, resolve_due=resolve_due, overdue=overdue)


def buyer_tickets(buyer):
    return Ticket.objects.filter(buyer=buyer).select_related("order").order_by("-id")


def messages_for_buyer(ticket: Ticket):
    return ticket.messages.filter(internal=False).select_related("author")
