"""Signatures of the supplier protocol: what is accepted and what is refused."""

import time

import pytest

from catalog.suppliers import signing

KEY = "k" * 32
BODY = b'{"order_no":"KM1","status":"success","trade_no":"T1"}'


def signed(body=BODY, key=KEY, path="/cb/", now=None):
    headers = signing.sign(
        key=key, merchant="m-1", method="POST", path=path, body=body, now=now
    )
    return signing.read_headers(headers)


def check(headers, body=BODY, keys=(KEY,), path="/cb/"):
    return signing.verify(
        keys=list(keys),
        signed=headers,
        method="POST",
        path=path,
        body=body,
        scope="test",
    )


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()


def test_good_signature_is_accepted():
    assert check(signed()) == KEY


def test_tampered_body_is_refused():
    with pytest.raises(signing.SignatureError) as exc:
        check(signed(), body=BODY.replace(b"success", b"failed"))
    assert exc.value.reason == "bad_signature"


def test_other_path_is_refused():
    with pytest.raises(signing.SignatureError):
        check(signed(path="/cb/"), path="/other/")


def test_wrong_key_is_refused():
    with pytest.raises(signing.SignatureError) as exc:
        check(signed(key="x" * 32))
    assert exc.value.reason == "bad_signature"


def test_any_of_several_keys_may_match():
    assert check(signed(key="b" * 32), keys=["a" * 32, "b" * 32]) == "b" * 32


@pytest.mark.parametrize("skew", [-301, 301, 3600])
def test_stale_timestamp_is_refused(skew):
    with pytest.raises(signing.SignatureError) as exc:
        check(signed(now=time.time() + skew))
    assert exc.value.reason == "stale_timestamp"


def test_small_clock_skew_is_tolerated():
    assert check(signed(now=time.time() - 200)) == KEY


def test_reused_nonce_is_refused():
    headers = signed()
    check(headers)
    with pytest.raises(signing.SignatureError) as exc:
        check(headers)
    assert exc.value.reason == "reused_nonce"


def test_forged_message_does_not_burn_the_nonce():
    headers = signed()
    with pytest.raises(signing.SignatureError):
        check(headers, body=b"{}")
    assert check(headers) == KEY


@pytest.mark.parametrize(
    "missing", ["X-Kameng-Merchant", "X-Kameng-Signature", "X-Kameng-Nonce"]
)
def test_missing_header_is_refused(missing):
    headers = signing.sign(key=KEY, merchant="m", method="POST", path="/", body=b"")
    del headers[missing]
    with pytest.raises(signing.SignatureError) as exc:
        signing.read_headers(headers)
    assert exc.value.reason == "missing_header"


def test_django_meta_headers_are_understood():
    headers = signing.sign(key=KEY, merchant="m", method="POST", path="/", body=b"")
    meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}
    assert signing.read_headers(meta).merchant == "m"


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [("timestamp", "yesterday", "bad_timestamp"), ("nonce", "a b", "bad_nonce")],
)
def test_malformed_timestamp_or_nonce_is_refused(field, value, reason):
    headers = signed()
    headers = signing.SignedHeaders(**{**headers.__dict__, field: value})
    with pytest.raises(signing.SignatureError) as exc:
        check(headers)
    assert exc.value.reason == reason
