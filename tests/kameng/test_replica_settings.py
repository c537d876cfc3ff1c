"""DATABASE_REPLICA_URL adds the "replica" database the router sends analytics
reads to (its test database mirrors the primary); without it there is none."""

import json

from tests.kameng.test_settings import FULL, KEYS, run

SHOW = (
    "import django, json; django.setup(); from django.conf import settings; "
    "replica = settings.DATABASES.get('replica'); print(json.dumps({"
    "'aliases': sorted(settings.DATABASES), 'routers': settings.DATABASE_ROUTERS, "
    "'replica': replica and {'NAME': replica['NAME'], 'HOST': replica['HOST'], "
    "'TEST': replica.get('TEST')}}))"
)


def settings_with(**env) -> dict:
    result = run(SHOW, **FULL, **KEYS, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_replica_url_adds_the_replica_database():
    found = settings_with(
        DATABASE_REPLICA_URL="postgres://reader@replica.example:5432/kameng"
    )
    assert found["aliases"] == ["default", "replica"]
    assert found["replica"]["HOST"] == "replica.example"
    assert found["replica"]["NAME"] == "kameng"
    assert found["replica"]["TEST"]["MIRROR"] == "default"
    assert found["routers"] == ["kameng.replica.ReplicaRouter"]


def test_without_it_every_read_stays_on_the_primary():
    found = settings_with()
    assert found["aliases"] == ["default"]
    assert found["replica"] is None
    assert found["routers"] == ["kameng.replica.ReplicaRouter"]
