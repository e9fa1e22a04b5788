"""Edits reach running simulations once per commit, and a rolled-back savepoint hides none."""

from __future__ import annotations

import pytest
from django.db import transaction

from flows import services
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def touched(monkeypatch) -> list[int]:
    calls: list[int] = []
    monkeypatch.setattr(
        services, "topology_touch", lambda *, topology_id: calls.append(topology_id)
    )
    return calls


def test_many_changes_in_one_transaction_touch_each_topology_once(touched) -> None:
    with transaction.atomic():
        a = f.topology("a")
        b = f.topology("b")
        for i in range(5):
            f.channel(a, f"q{i}")
        f.channel(b, "q")
        assert touched == []  # nothing before the commit
    assert sorted(touched) == sorted([a.pk, b.pk])


def test_a_rolled_back_savepoint_does_not_hide_a_later_change(touched) -> None:
    a = f.topology("a")
    touched.clear()
    with transaction.atomic():
        try:
            with transaction.atomic():
                f.channel(a, "gone")
                raise RuntimeError("roll this savepoint back")
        except RuntimeError:
            pass
        f.channel(a, "kept")
    assert touched == [a.pk]


def test_each_commit_touches_again(touched) -> None:
    a = f.topology("a")
    touched.clear()
    for i in range(3):
        with transaction.atomic():
            f.channel(a, f"q{i}")
    assert touched == [a.pk, a.pk, a.pk]
