"""Optional modules can be switched off and on from one page; off, a module
leaves the sidebar and its pages answer 404, and its rows are kept."""

import pytest
from django.urls import reverse

from kameng import modules
from kameng.models import AuditEntry, ModuleSwitch
from marketing.models import Segment

pytestmark = pytest.mark.django_db


@pytest.fixture
def segments_module():
    """A module owning the segment admin, as a real module owns its models."""
    module = modules.register_module(
        modules.Module(
            code="test_segments",
            title="分群测试模块",
            models=("marketing.segment",),
        )
    )
    yield module
    modules.MODULES.pop(module.code)


def switch(client, code, enabled, capture):
    with capture(execute=True):
        return client.post(
            reverse("module_switches"),
            {"module": code, "enabled": "1" if enabled else "0"},
            follow=True,
        )


def test_switching_off_hides_the_module_and_on_brings_it_back(
    client, role_user, segments_module, django_capture_on_commit_callbacks
):
    client.force_login(role_user("marketing"))
    changelist = reverse("admin:marketing_segment_changelist")
    rows_before = Segment.objects.count()
    assert client.get(changelist).status_code == 200

    page = switch(client, "test_segments", False, django_capture_on_commit_callbacks)
    assert "分群测试模块 已关闭，其数据已保留。" in page.content.decode()
    assert not modules.is_enabled("test_segments")
    assert client.get(changelist).status_code == 404
    assert changelist not in client.get(reverse("admin:index")).content.decode()
    assert Segment.objects.count() == rows_before

    switch(client, "test_segments", True, django_capture_on_commit_callbacks)
    assert modules.is_enabled("test_segments")
    assert client.get(changelist).status_code == 200


def test_a_switch_is_audited_with_who_and_what(
    client, role_user, segments_module, django_capture_on_commit_callbacks
):
    person = role_user("operations")
    client.force_login(person)
    switch(client, "test_segments", False, django_capture_on_commit_callbacks)
    row = ModuleSwitch.objects.get(code="test_segments")
    assert (row.enabled, row.changed_by) == (False, person)
    entry = AuditEntry.objects.filter(action="module.switch").latest("id")
    assert entry.actor == person


def test_support_may_not_switch_modules(client, role_user, segments_module):
    client.force_login(role_user("support"))
    answer = client.post(
        reverse("module_switches"), {"module": "test_segments", "enabled": "0"}
    )
    assert answer.status_code == 403
    assert modules.is_enabled("test_segments")


def test_an_unknown_module_is_refused_with_a_message(client, role_user):
    client.force_login(role_user("operations"))
    page = client.post(
        reverse("module_switches"), {"module": "nope", "enabled": "0"}, follow=True
    )
    assert "没有这个功能模块。" in page.content.decode()
    assert not ModuleSwitch.objects.exists()


def test_within_a_request_the_switches_are_read_once_and_a_switch_is_seen(
    segments_module, django_capture_on_commit_callbacks, django_assert_num_queries
):
    """Issue 12: one cache read per request; the request that switches a
    module sees the change, and the next request reads the switches again."""
    modules.forget_switches()
    with modules.request_scope():
        with django_assert_num_queries(1):  # the cache is cold: one read
            assert modules.is_enabled("test_segments")
            assert modules.is_enabled("test_segments")
        with django_capture_on_commit_callbacks(execute=True):
            modules.switch_module(code="test_segments", enabled=False, actor=None)
        assert not modules.is_enabled("test_segments")
    with modules.request_scope():
        assert not modules.is_enabled("test_segments")
    modules.switch_module(code="test_segments", enabled=True, actor=None)
    modules.forget_switches()  # as the commit would
    with modules.request_scope():
        assert modules.is_enabled("test_segments")
