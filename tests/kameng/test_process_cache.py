"""A stamped per-process value: kept while nobody changed it, read again by
every process once anyone did, never kept while an edit is uncommitted."""

import itertools

import pytest
from django.core.cache import cache
from django.db import transaction

from kameng import modules
from kameng.process_cache import PENDING, Stamped, scope

pytestmark = pytest.mark.django_db
_names = itertools.count()


class Source:
    """What `load` reads (the database, for a real value), and how often."""

    def __init__(self, value):
        self.value = value
        self.loads = 0

    def load(self):
        self.loads += 1
        return self.value


@pytest.fixture
def stamped():
    source = Source("old")
    value = Stamped(f"test:value-{next(_names)}", source.load)
    yield value, source
    value.forget()


def test_a_value_is_read_once_while_nobody_changes_it(stamped):
    value, source = stamped
    assert [value.get() for _ in range(3)] == ["old"] * 3
    assert source.loads == 1


def test_another_processs_change_is_seen_by_the_next_read(
    stamped, django_capture_on_commit_callbacks
):
    """This process keeps "old"; another one changes it and commits: the
    token it moved makes this process read the new value at once."""
    value, source = stamped
    assert value.get() == "old"
    kept = value._entry  # what this process holds
    source.value = "new"
    with django_capture_on_commit_callbacks(execute=True):
        value.changed()  # in "the other process"
    value._entry = kept  # this process never saw changed() run
    assert value.get() == "new"
    assert value.get() == "new"
    assert source.loads == 2


def test_an_uncommitted_change_is_read_each_time_and_kept_only_after_commit(
    stamped, django_capture_on_commit_callbacks
):
    value, source = stamped
    assert value.get() == "old"
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            source.value = "new"
            value.changed()
            assert cache.get(value.key).startswith(PENDING)
            assert value.get() == "new"  # the transaction sees its change
            assert value.get() == "new"
            assert source.loads == 3  # read each time, kept nowhere
    assert not cache.get(value.key).startswith(PENDING)
    assert value.get() == "new"
    assert value.get() == "new"
    assert source.loads == 4


def test_a_rolled_back_change_is_never_kept(stamped):
    value, source = stamped
    assert value.get() == "old"
    with pytest.raises(RuntimeError), transaction.atomic():
        source.value = "rolled back"
        value.changed()
        assert value.get() == "rolled back"
        raise RuntimeError
    source.value = "old"
    assert value.get() == "old"  # pending: read again, not the rolled-back one


def test_a_lost_token_starts_a_new_one(stamped):
    value, source = stamped
    assert value.get() == "old"
    cache.delete(value.key)  # evicted, or the cache restarted
    source.value = "new"
    assert value.get() == "new"
    assert value.get() == "new"
    assert source.loads == 2


def test_a_name_is_registered_once(stamped):
    value, _source = stamped
    with pytest.raises(ValueError):
        Stamped(value.name, lambda: None)


class Recording:
    """The cache as kameng.process_cache sees it, each call written down."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        def call(*args, **kwargs):
            self.calls.append(name)
            return getattr(cache, name)(*args, **kwargs)

        return call


def test_a_scope_reads_every_token_and_the_switches_in_one_round_trip(
    stamped, monkeypatch
):
    value, source = stamped
    assert value.get() == "old"
    assert modules.is_enabled("points")  # the switches are in the cache now
    recording = Recording()
    monkeypatch.setattr("kameng.process_cache.cache", recording)
    monkeypatch.setattr("kameng.modules.cache", recording)
    with scope():
        assert [value.get() for _ in range(3)] == ["old"] * 3
        assert [modules.is_enabled("points") for _ in range(3)] == [True] * 3
    assert recording.calls == ["get_many"]
    assert source.loads == 1


def test_a_scope_sees_its_own_change_and_the_next_scope_anothers(
    stamped, django_capture_on_commit_callbacks
):
    value, source = stamped
    with scope():
        assert value.get() == "old"
        source.value = "mine"
        with django_capture_on_commit_callbacks(execute=True):
            value.changed()
        assert value.get() == "mine"
    with scope():
        assert value.get() == "mine"
        kept = value._entry
        source.value = "another's"
        with django_capture_on_commit_callbacks(execute=True):
            value.changed()  # as if in another process, during this scope
        value._entry = kept
    with scope():
        assert value.get() == "another's"
