"""Pure (sans-I/O) engine of a local Hyperliquid-compatible perp venue.

An HTTP/WS server wraps :class:`LocalVenue`: it passes ``/exchange`` and ``/info`` JSON bodies
with the current time and serves the replies (a :class:`BadRequest` is HTTP 422 plain text),
sends :meth:`LocalVenue.drain_events` to WS subscribers, calls :meth:`LocalVenue.advance` on a
timer, and charges request weight with :class:`RateLimiter` (a refused charge is HTTP 429).
No I/O, clock or global randomness here: time is an argument, the demo flow is seeded.
"""

from keeper.localvenue._config import (
    DEMO_MAKER,
    DEMO_TAKER,
    AssetConfig,
    FeeConfig,
    FlowConfig,
    FundingConfig,
    LocalVenueConfig,
)
from keeper.localvenue._engine import ExchangeResponse, LocalVenue
from keeper.localvenue._events import WsEvent, WsSubscription
from keeper.localvenue._info import InfoResponse
from keeper.localvenue._ratelimit import RateLimiter, exchange_request_weight, info_request_weight
from keeper.localvenue._wire import BadRequest

__all__ = [
    "DEMO_MAKER",
    "DEMO_TAKER",
    "AssetConfig",
    "BadRequest",
    "ExchangeResponse",
    "FeeConfig",
    "FlowConfig",
    "FundingConfig",
    "InfoResponse",
    "LocalVenue",
    "LocalVenueConfig",
    "RateLimiter",
    "WsEvent",
    "WsSubscription",
    "exchange_request_weight",
    "info_request_weight",
]
