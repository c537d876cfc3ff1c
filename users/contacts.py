"""Who sees a buyer's contact (phone, e-mail, a guest's contact) in full, where.

The one rule (issue 15):

- Lists (buyer list, order list, order workbench, queues) show every contact
  masked (kameng.masking), to every role: a list is where contacts would be
  harvested, and nobody's work needs a page of full contacts.
- The page of one order (the order's change page) shows its contacts in full to
  whoever may open that order (support handling it, finance, super admin), and
  every such view is an audit row "contact.view" (`reveal_order_contacts`).
- Exports of the order list carry full contacts only for holders of
  users.view_full_contact (finance, super admin); the export asked by anyone
  else has them masked. An export with full contacts is an audit row too.
"""

from __future__ import annotations

from dataclasses import dataclass

from kameng import audit
from kameng.masking import mask_contact

FULL_CONTACT_PERMISSION = "users.view_full_contact"


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


def reveal_order_contacts(*, actor, order, ip: str | None = None) -> OrderContacts:
    """The full contacts of `order` for the member of staff opening its page;
    writes one "contact.view" audit row when there is anything to show."""
    contacts = order_contacts(order)
    if contacts:
        audit.record(
            actor=actor,
            action="contact.view",
            obj=order,
            ip=ip,
            after={
                "fields": [
                    name
                    for name in ("contact", "phone", "email")
                    if getattr(contacts, name)
                ]
            },
        )
    return contacts


def record_full_export(*, actor, export, ip: str | None = None) -> None:
    """An export with full contacts was asked for: one audit row."""
    audit.record(actor=actor, action="contact.view", obj=export, ip=ip)
