"""The audit log's one door: `record()` writes who did what to which object, the
fields before and after, when and from where.

Call it in the transaction of the change it describes, so the row exists exactly
when the change does:

    audit.record(actor=actor, action="wallet.adjust", obj=wallet,
                 before={"balance": old}, after={"balance": new}, ip=ip_address)

Services take the address as `ip=` (their views pass client_ip(request)); views
and the admin may pass `request=` instead. Every action code has its Chinese
label in ACTIONS: a new kind of change adds one line there.

The rows are append-only and sealed into a hash chain (kameng.sealing); the
viewer for the super admin is kameng.audit_views.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _

from kameng.access import GUARDED_FIELDS
from kameng.client_address import client_ip
from kameng.models import AuditEntry

# Action code → what the viewer says. Append a line for a new kind of change.
ACTIONS = {
    "admin.add": _("Added in the back office"),
    "admin.change": _("Edited in the back office"),
    "admin.delete": _("Deleted in the back office"),
    "admin.action": _("List action in the back office"),
    "backoffice.page": _("Change on a back-office page"),
    "order.cancel": _("Order cancelled"),
    "order.manual_delivery": _("Order delivered by hand"),
    "order.resolve_topup": _("Stuck top-up resolved"),
    "order.reissue": _("Codes reissued"),
    "order.refund_request": _("Refund requested"),
    "order.refund_approve": _("Refund approved"),
    "order.refund_reject": _("Refund rejected"),
    "order.retry_fulfilment": _("Top-up retried by staff"),
    "order.switch_supplier": _("Top-up moved to another supplier"),
    "wallet.adjust": _("Wallet adjusted"),
    "price.change": _("Price changed"),
    "code.reveal": _("Card code revealed"),
    "contact.view": _("Contact viewed in full"),
    "category.managers": _("Category managers changed"),
    "module.switch": _("Optional module switched"),
    "referral.cleared": _("Referral cleared after review"),
    "referral.rejected": _("Referral rejected after review"),
    "voucher.generate": _("Voucher codes generated"),
    "voucher.export": _("Voucher codes exported"),
    "wallet.topup_refund": _("Wallet top-up refunded"),
    "points.adjust": _("Points adjusted"),
}

HIDDEN_VALUE = "***"
MAX_TEXT = 500


class UnknownAuditAction(ValueError):
    """An action code without a label in ACTIONS (a programming error)."""


@dataclass
class RequestScope:
    """What the audit knows of the request being served: the client's address
    (for rows whose service was given none) and how many rows it recorded."""

    ip: str | None
    recorded: int = 0


current_scope: ContextVar[RequestScope | None] = ContextVar(
    "kameng_audit_scope", default=None
)


@contextmanager
def request_scope(request) -> Iterator[RequestScope]:
    scope = RequestScope(ip=client_ip(request))
    token = current_scope.set(scope)
    try:
        yield scope
    finally:
        current_scope.reset(token)


def recorded_so_far() -> int:
    scope = current_scope.get()
    return scope.recorded if scope is not None else 0


def action_label(code: str) -> str:
    label = ACTIONS.get(code)
    return str(label) if label is not None else code


def is_secret_field(model, field_name: str) -> bool:
    """Secrets and hashes (hidden from everyone, kameng.access) and fields
    encrypted at rest (a field class with `audit_hidden = True`) never enter the
    log, not even for the super admin: the log says they changed, not to what."""
    label = model._meta.concrete_model._meta.label_lower
    if getattr(model._meta.get_field(field_name), "audit_hidden", False):
        return True
    return (label, field_name) in GUARDED_FIELDS and GUARDED_FIELDS[
        (label, field_name)
    ] is None


def plain(value):
    """A value as the log keeps it: JSON's own types, text for the rest."""
    if value is None or isinstance(value, bool | int | str):
        return value[:MAX_TEXT] if isinstance(value, str) else value
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return str(value)[:MAX_TEXT]
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(item) for item in value]
    return str(value)[:MAX_TEXT]


def snapshot(obj: models.Model, fields: Iterable[str] | None = None) -> dict:
    """An object's concrete fields (foreign keys as ids) for before/after, with
    secrets replaced by a mark."""
    wanted = set(fields) if fields is not None else None
    values = {}
    for field in obj._meta.concrete_fields:
        if wanted is not None and field.name not in wanted:
            continue
        if is_secret_field(type(obj), field.name):
            values[field.name] = HIDDEN_VALUE
        else:
            values[field.name] = plain(getattr(obj, field.attname))
    return values


def changed_fields(before: dict, after: dict) -> tuple[dict, dict]:
    """Only what differs: ({field: old}, {field: new}). A secret that changed
    stays as the mark on both sides, so the log still names it."""
    names = [name for name in after if before.get(name) != after.get(name)]
    names += [name for name in before if name not in after]
    old = {name: before.get(name) for name in names}
    new = {name: after.get(name) for name in names}
    return old, new


def record(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    before: dict | None = None,
    after: dict | None = None,
    ip: str | None = None,
    request=None,
    note: str = "",
    content_type: ContentType | None = None,
    object_id: str = "",
    object_repr: str = "",
) -> AuditEntry:
    """Write one audit row (in the caller's transaction) and return it.

    actor: the member of staff (None: the system). obj: what changed (or give
    content_type/object_id/object_repr, e.g. for an object already deleted).
    before/after: {field: value}; values are kept as JSON (Decimal and times as
    text). ip: the client's address; when None, taken from `request`, else from
    the request being served (AuditScopeMiddleware).
    """
    if action not in ACTIONS:
        raise UnknownAuditAction(action)
    scope = current_scope.get()
    if ip is None and request is not None:
        ip = client_ip(request)
    if ip is None and scope is not None:
        ip = scope.ip
    if scope is not None:
        scope.recorded += 1
    if obj is not None:
        content_type = ContentType.objects.get_for_model(obj, for_concrete_model=False)
        object_id = str(obj.pk) if obj.pk is not None else object_id
        object_repr = object_repr or str(obj)
    user = actor if getattr(actor, "pk", None) else None
    return AuditEntry.objects.create(
        actor=user,
        actor_name=user.get_username() if user is not None else "",
        action=action,
        content_type=content_type,
        object_id=str(object_id)[:64],
        object_repr=str(object_repr)[:200],
        before=plain(before) if before is not None else None,
        after=plain(after) if after is not None else None,
        ip_address=ip,
        note=str(note)[:500],
    )
