"""One code typed by several buyers at the same moment: one coupon, the others
are told the code is used (Postgres, real threads)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from marketing.models import Coupon, RedeemCode
from marketing.redeem_codes import RedeemRefused, create_redeem_batch, redeem_code
from tests.marketing.factories import buyer_with
from tests.marketing.issuing_helpers import make_template

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CALLERS = 6


def test_racing_buyers_redeem_one_code_once():
    batch = create_redeem_batch(
        template=make_template(),
        name="抢码",
        count=1,
        expires_at=timezone.now() + timedelta(days=1),
    )
    code = batch.codes.get().code
    buyers = [buyer_with() for _ in range(CALLERS)]
    start = threading.Barrier(CALLERS)
    won, refused, errors = [], [], []

    def run(buyer):
        try:
            start.wait()
            won.append(redeem_code(user=buyer, typed=code))
        except RedeemRefused as exc:
            refused.append(exc.extra.get("reason"))
        except Exception as exc:  # noqa: BLE001 - any other error fails the test
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(buyer,)) for buyer in buyers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(won) == 1
    assert refused == ["used"] * (CALLERS - 1)
    assert Coupon.objects.count() == 1
    assert RedeemCode.objects.get().redeemed_by_id == won[0].owner_id
