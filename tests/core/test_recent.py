"""RecentKeys: bounded de-duplication."""

from __future__ import annotations

import pytest

from keeper.core.recent import RecentKeys


def test_duplicates_are_recognised_until_capacity_newer_keys_push_them_out() -> None:
    seen: RecentKeys[str] = RecentKeys(3)
    assert seen.add("t1")
    assert not seen.add("t1")
    for key in ("t2", "t3"):
        assert seen.add(key)
    assert "t1" in seen
    assert seen.add("t4")  # the fourth key forgets the oldest
    assert "t1" not in seen
    assert len(seen) == 3
    assert seen.add("t1")  # no longer recognised: size the memory above the duplicate window


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="capacity"):
        RecentKeys(0)
