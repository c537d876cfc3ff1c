"""`{% fixed_url "shop:orders" %}`: `{% url %}` for a URL that takes no
arguments, reversed once per process.

Such a URL depends only on the URLconf and the script prefix (Kameng has no
per-request URLconf and no language prefixes), so the shop's header, on every
shop page, need not resolve a dozen names per request: reversing them cost a
third of rendering shop/base.html (issue 12). The memo is keyed by the script
prefix and emptied when a test swaps the URLconf.
"""

from django import template
from django.core.cache import caches
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import get_script_prefix, reverse

register = template.Library()

_reversed: dict[tuple[str, str], str] = {}


@register.simple_tag
def fixed_url(name: str) -> str:
    key = (get_script_prefix(), name)
    try:
        return _reversed[key]
    except KeyError:
        url = _reversed[key] = reverse(name)
        return url


@register.simple_tag
def script_prefix() -> str:
    """`{% script_prefix as prefix %}`: what every fixed_url of this request
    starts with, for a fragment cached with such links to vary on."""
    return get_script_prefix()


@receiver(setting_changed)
def _forget(*, setting, **kwargs):
    if setting == "ROOT_URLCONF":
        _reversed.clear()
        caches["fragments"].clear()  # fragments cached with such links
