from django.db.models import Count, Q, Sum
from django.utils.translation import gettext_lazy as _

from users.models import User, Wallet
from users.roles import ROLES


def staff_by_role() -> list[dict]:
    counts = dict(
        User.objects.filter(is_active=True, groups__isnull=False)
        .values_list("groups__name")
        .annotate(n=Count("id"))
    )
    return [
        {"label": r.group_name, "value": counts.get(r.group_name, 0)} for r in ROLES
    ]


def buyer_figures(*, user) -> list[dict]:
    buyers = User.objects.filter(is_staff=False).aggregate(
        total=Count("id"), active=Count("id", filter=Q(is_active=True))
    )
    figures = [
        {"label": _("Buyers"), "value": buyers["total"]},
        {"label": _("Active buyers"), "value": buyers["active"]},
    ]
    if user.has_perm("users.view_wallet"):
        total = Wallet.objects.aggregate(total=Sum("balance"))["total"]
        figures.append(
            {"label": _("Wallet balances"), "value": total or 0, "money": True}
        )
    return figures
