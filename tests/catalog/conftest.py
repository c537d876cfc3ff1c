import pytest

from users.models import MemberLevel


@pytest.fixture
def gold(db):
    """A member level most pricing tests price for."""
    return MemberLevel.objects.create(code="gold", name="黄金", rank=20)
