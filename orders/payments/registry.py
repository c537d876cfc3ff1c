"""Which gateways exist and which are switched on (settings.PAYMENT_CHANNELS)."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _

from orders.payments.base import Gateway, UnknownChannel
from orders.payments.epay import EpayGateway
from orders.payments.sandbox import SandboxGateway

GATEWAYS: dict[str, type[Gateway]] = {
    SandboxGateway.channel: SandboxGateway,
    EpayGateway.channel: EpayGateway,
}


def enabled_channels() -> list[str]:
    config = settings.PAYMENT_CHANNELS
    return [code for code in GATEWAYS if config.get(code, {}).get("enabled")]


def get_gateway(channel: str) -> Gateway:
    if channel not in enabled_channels():
        raise UnknownChannel(
            _("Payment channel %(channel)s is not available.") % {"channel": channel}
        )
    return GATEWAYS[channel](settings.PAYMENT_CHANNELS[channel])


def available_channels() -> list[tuple[str, str]]:
    """(code, label) of the gateways the shop offers, for the checkout form."""
    return [(code, str(GATEWAYS[code].label)) for code in enabled_channels()]
