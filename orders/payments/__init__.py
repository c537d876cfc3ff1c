"""Gateway payments for orders: the gateway interface (base), the sandbox gateway,
the 易支付 (epay) adapter, the settle service, notify endpoints and sweepers.

The storefront calls `available_channels()` and `start_gateway_payment()`.
"""


def available_channels() -> list[tuple[str, str]]:
    from orders.payments.registry import available_channels as channels

    return channels()


def start_gateway_payment(*, order, channel: str) -> str:
    from orders.payments.services import start_gateway_payment as start

    return start(order=order, channel=channel)
