"""Hyperliquid venue adapter: REST and WS clients, dead-man switch, agent keys, local server.

I/O around the sans-I/O codec (:mod:`keeper.codecs.hyperliquid`) and the local venue engine
(:mod:`keeper.localvenue`). Order outcomes follow the codec's policy: ``Rejected`` only on a
venue error string, ``Unknown`` for anything unproven (timeouts, transport errors, 5xx, 429).
Time is injected everywhere (``now_ms`` / ``sleep``, or a :class:`ManualClock` in tests).
"""

from keeper.adapters._clock import Clock, ManualClock, NowMs, Sleep, WallClock, wall_ms
from keeper.adapters.hyperliquid._agents import (
    SIGNATURE_CHAIN_ID,
    AgentRegistry,
    approve_agent,
    generate_agent_key,
)
from keeper.adapters.hyperliquid._deadman import MAX_TRIGGERS_PER_DAY, DeadManSwitch
from keeper.adapters.hyperliquid._errors import (
    AgentError,
    HyperliquidAdapterError,
    HyperliquidHttpError,
    HyperliquidTransportError,
    RateLimitedError,
    WsNotConnectedError,
)
from keeper.adapters.hyperliquid._rest import (
    MAINNET_URL,
    TESTNET_URL,
    ActionKind,
    HyperliquidRestClient,
    action_kind,
)
from keeper.adapters.hyperliquid._ws import MAX_PING_INTERVAL_S, HyperliquidWsClient, classify_post
from keeper.adapters.hyperliquid.local_server import LocalVenueServer, start_local_venue
from keeper.adapters.hyperliquid.venue import HyperliquidVenue

__all__ = [
    "MAINNET_URL",
    "MAX_PING_INTERVAL_S",
    "MAX_TRIGGERS_PER_DAY",
    "SIGNATURE_CHAIN_ID",
    "TESTNET_URL",
    "ActionKind",
    "AgentError",
    "AgentRegistry",
    "Clock",
    "DeadManSwitch",
    "HyperliquidAdapterError",
    "HyperliquidHttpError",
    "HyperliquidRestClient",
    "HyperliquidTransportError",
    "HyperliquidVenue",
    "HyperliquidWsClient",
    "LocalVenueServer",
    "ManualClock",
    "NowMs",
    "RateLimitedError",
    "Sleep",
    "WallClock",
    "WsNotConnectedError",
    "action_kind",
    "approve_agent",
    "classify_post",
    "generate_agent_key",
    "start_local_venue",
    "wall_ms",
]
