"""Who sees a buyer's contact (phone, e-mail, a guest's contact) in full, where.

The one rule (issue 15):

- Lists (buyer list, order list, order workbench, queues, the blacklist) show
  every contact masked (kameng.masking), to every role: a list is where
  contacts would be harvested, and nobody's work needs a page of full contacts.
- The page of one order (the order's change page, the workbench's detail) and
  the page of one ticket show the contacts in full only to those who handle it
  (decided by orders: an unresolved ticket about it assigned to them,
  `orders.aftersales.handles_order`) and to holders of users.view_full_contact
  (finance, super admin); everyone else sees them masked with the reason
  (`HANDLERS_ONLY`). Every full view is an audit row "contact.view"
  (`contacts_for_page`); a masked view writes nothing.
- Exports of the order list carry full contacts only for holders of
  users.view_full_contact (finance, super admin); the export asked by anyone
  else has them masked. An export with full contacts is an audit row too.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from kameng import audit
from kameng.masking import mask_contact

FULL_CONTACT_PERMISSION = "users.view_full_contact"
# Why a page of one order shows its contacts masked.
HANDLERS_ONLY = _(
    "Only the agent handling this order sees the full contact (an unresolved "
    "ticket about it assigned to you)."
)


def masked(value: str | None) -> str:
    """A contact as every list shows it."""
    return mask_contact(value)


def exports_full_contacts(user) -> bool:
    """Whether an export asked by `user` carries full contacts."""
    return user.has_perm(FULL_CONTACT_PERMISSION)


def export_contact(value: str | None, *, full: bool) -> str:
    return (value or "") if full else mask_contact(value)


@dataclass(frozen=True)
class OrderContacts:
    """The contacts of one order, in full: the guest's contact given at checkout
    and, for a buyer's order, the buyer's phone and e-mail."""

    contact: str = ""
    phone: str = ""
    email: str = ""

    def __bool__(self) -> bool:
        return bool(self.contact or self.phone or self.email)


def order_contacts(order) -> OrderContacts:
    buyer = order.buyer if order.buyer_id else None
    return OrderContacts(
        contact=order.contact or "",
        phone=(buyer.phone if buyer else "") or "",
        email=(buyer.email if buyer else "") or "",
    )


def record_view(
    *, actor, obj, contacts: OrderContacts, ip: str | None = None, note: str = ""
) -> None:
    """One "contact.view" audit row: `actor` was shown `contacts` in full on
    the page of `obj` (nothing is written when there was nothing to show)."""
    if contacts:
        audit.record(
            actor=actor,
            action="contact.view",
            obj=obj,
            ip=ip,
            note=note,
            after={
                "fields": [
                    name
                    for name in ("contact", "phone", "email")
                    if getattr(contacts, name)
                ]
            },
        )


def sees_every_contact(user) -> bool:
    """Finance and the super admin see full contacts wherever one order is shown."""
    return user.has_perm(FULL_CONTACT_PERMISSION)


def masked_order_contacts(contacts: OrderContacts) -> OrderContacts:
    return OrderContacts(
        contact=mask_contact(contacts.contact),
        phone=mask_contact(contacts.phone),
        email=mask_contact(contacts.email),
    )


@dataclass(frozen=True)
class ShownContacts:
    """The contacts one page shows: in full (`full`) or masked with `reason`."""

    contacts: OrderContacts
    full: bool
    reason: str = ""


def buyer_contacts(buyer) -> OrderContacts:
    """A buyer's own phone and e-mail (a ticket opened without an order)."""
    if buyer is None:
        return OrderContacts()
    return OrderContacts(phone=buyer.phone or "", email=buyer.email or "")


def contacts_for_page(
    *,
    actor,
    contacts: OrderContacts,
    obj,
    handles: bool,
    ip: str | None = None,
    note: str = "",
) -> ShownContacts:
    """What the page of one order or ticket (`obj`) shows `actor` of its
    `contacts`: in full when `actor` handles it (`handles`, decided by orders)
    or sees every contact, with one "contact.view" audit row on `obj`;
    otherwise masked, with the reason, and no audit row (nothing was shown)."""
    if handles or sees_every_contact(actor):
        record_view(actor=actor, obj=obj, contacts=contacts, ip=ip, note=note)
        return ShownContacts(contacts=contacts, full=True)
    return ShownContacts(
        contacts=masked_order_contacts(contacts),
        full=False,
        reason=str(HANDLERS_ONLY),
    )


def record_full_export(*, actor, export, ip: str | None = None) -> None:
    """An export with full contacts was asked for: one audit row."""
    audit.record(actor=actor, action="contact.view", obj=export, ip=ip)
