"""Optional modules: one place where they register and where they are switched.

Marketing's coupons, referral, group buy, points and flash sales (and later
modules such as resellers) each register a Module at import time, naming what
belongs to them:

    COUPONS = register_module(Module(
        code="coupons", title=_("Coupons"), description=_("..."),
        models=("marketing.coupontemplate", "marketing.coupon"),
        pages=("marketing:coupon_issue",),
    ))

and ask `is_enabled("coupons")` wherever they show themselves or act:

- the back-office sidebar hides a switched-off module's models and pages, and
  its admin and pages answer 404 (`kameng.admin_base.ModuleAdminMixin`,
  `module_page`);
- the shop hides it (`{% if modules.coupons %}` through the context processor
  `kameng.context_processors.modules`);
- its price step applies no layer and its checkout claim does nothing.

Switching a module off keeps every row: switched on again, it is all back.
A switch is a ModuleSwitch row (no row means on), changed by `switch_module`,
which writes an audit row; reads go through the cache, so a checkout asks the
database nothing.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from kameng import audit
from kameng.exceptions import DomainError
from kameng.models import ModuleSwitch

CACHE_KEY = "kameng:module-switches:v1"


class UnknownModule(DomainError):
    code = "kameng_unknown_module"


@dataclass(frozen=True)
class Module:
    code: str
    title: str  # lazy translatable
    description: str = ""  # lazy translatable: what switching it off hides
    # "app_label.modelname" (lower case) of the admin models that belong to it
    models: tuple[str, ...] = ()
    # URL names of its custom back-office pages (kameng.navigation hides them)
    pages: tuple[str, ...] = ()
    order: int = 100
    extra: dict = field(default_factory=dict, compare=False, hash=False)


MODULES: dict[str, Module] = {}


def register_module(module: Module) -> Module:
    MODULES[module.code] = module
    return module


def registered() -> list[Module]:
    return sorted(MODULES.values(), key=lambda module: (module.order, module.code))


# Within one request (kameng.middleware.RequestIdMiddleware opens the scope)
# the switches are read from the cache once: a page and a checkout ask
# is_enabled a dozen times. The next request reads them again, as before.
_request_switches: ContextVar[dict | None] = ContextVar(
    "kameng_request_switches", default=None
)


@contextmanager
def request_scope():
    token = _request_switches.set({})
    try:
        yield
    finally:
        _request_switches.reset(token)


def _switched_off() -> frozenset[str]:
    memo = _request_switches.get()
    if memo is not None and "off" in memo:
        return memo["off"]
    off = _loaded(cache.get(CACHE_KEY))
    if memo is not None:
        memo["off"] = off
    return off


def _loaded(cached: frozenset[str] | None) -> frozenset[str]:
    """The switched-off codes: the cache's value, or the database's (cached)."""
    if cached is not None:
        return cached
    off = frozenset(
        ModuleSwitch.objects.filter(enabled=False).values_list("code", flat=True)
    )
    cache.set(CACHE_KEY, off, None)
    return off


def prime_scope(cached: frozenset[str] | None) -> None:
    """Inside request_scope(): the switches as the caller read CACHE_KEY along
    with its own keys (kameng.process_cache.scope: one round trip for both)."""
    memo = _request_switches.get()
    if memo is not None and "off" not in memo:
        memo["off"] = _loaded(cached)


def is_enabled(code: str) -> bool:
    """True unless an operator switched the module off. Unknown codes are on
    (a module whose app is not installed simply never asks)."""
    return code not in _switched_off()


def states() -> dict[str, bool]:
    """{code: enabled} of every registered module (templates: `modules.coupons`)."""
    off = _switched_off()
    return {code: code not in off for code in MODULES}


def model_module(app_label: str, model_name: str) -> Module | None:
    key = f"{app_label}.{model_name}".lower()
    for module in MODULES.values():
        if key in module.models:
            return module
    return None


def page_module(url_name: str) -> Module | None:
    for module in MODULES.values():
        if url_name in module.pages:
            return module
    return None


def forget_switches() -> None:
    cache.delete(CACHE_KEY)
    memo = _request_switches.get()
    if memo is not None:
        memo.clear()  # the request that switched sees its change too


@transaction.atomic
def switch_module(*, code: str, enabled: bool, actor) -> bool:
    """Switch a module on or off; returns whether anything changed. The cache is
    cleared after commit, so every process reads the new state."""
    if code not in MODULES:
        raise UnknownModule(f"unknown module {code!r}", code=code)
    row, _created = ModuleSwitch.objects.select_for_update().get_or_create(code=code)
    if row.enabled == enabled and not _created:
        return False
    before = row.enabled
    row.enabled = enabled
    row.changed_at = timezone.now()
    row.changed_by = actor if getattr(actor, "pk", None) else None
    row.save()
    audit.record(
        actor=actor,
        action="module.switch",
        obj=row,
        before={"enabled": before},
        after={"enabled": enabled},
    )
    transaction.on_commit(forget_switches)
    return before != enabled
