"""Request weights and the 1200-per-minute token bucket."""

from __future__ import annotations

import pytest

from keeper.localvenue import RateLimiter, exchange_request_weight, info_request_weight


@pytest.mark.parametrize(
    ("body", "response", "weight"),
    [
        ({"type": "l2Book", "coin": "ETH"}, None, 2),
        ({"type": "allMids"}, None, 2),
        ({"type": "clearinghouseState"}, None, 2),
        ({"type": "orderStatus"}, None, 2),
        ({"type": "userRole"}, None, 60),
        ({"type": "meta"}, None, 20),
        ({"type": "userFills"}, [{}] * 45, 22),  # 20 + one per 20 items
        ({"type": "openOrders"}, [{}] * 45, 20),  # not a per-item type
        ("garbage", None, 20),
    ],
)
def test_info_weight(body: object, response: object, weight: int) -> None:
    assert info_request_weight(body, response) == weight


def test_exchange_weight() -> None:
    assert exchange_request_weight({"action": {"type": "order", "orders": [{}] * 39}}) == 1
    assert exchange_request_weight({"action": {"type": "order", "orders": [{}] * 80}}) == 3
    assert exchange_request_weight({"action": {"type": "cancel", "cancels": [{}] * 40}}) == 2
    assert exchange_request_weight({"action": {"type": "noop"}}) == 1
    assert exchange_request_weight(None) == 1


def test_bucket_refills_one_weight_per_50_ms() -> None:
    limiter = RateLimiter()
    t = 1_000_000
    assert limiter.charge("1.2.3.4", 1200, t)
    assert not limiter.charge("1.2.3.4", 1, t)
    assert limiter.charge("5.6.7.8", 20, t)  # keys are independent
    assert not limiter.charge("1.2.3.4", 1, t + 49)
    assert limiter.charge("1.2.3.4", 1, t + 50)
    assert limiter.remaining("1.2.3.4", t + 50) == 0
    # A refused charge spends nothing: after 1 s exactly 20 weight is available.
    assert not limiter.charge("1.2.3.4", 21, t + 1_050)
    assert limiter.charge("1.2.3.4", 20, t + 1_050)
    assert limiter.remaining("1.2.3.4", t + 1_000_000) == 1200  # never above capacity
