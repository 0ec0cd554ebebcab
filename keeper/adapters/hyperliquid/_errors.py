"""Errors of the Hyperliquid adapter.

Order placement never raises for venue outcomes: those come back as ``Resting``/``Filled``/
``Rejected``/``Unknown`` values. These exceptions cover reads and set-up steps::

    HyperliquidAdapterError
    +-- HyperliquidHttpError      /info answered a non-2xx status (e.g. 422 for a bad body)
    |   +-- RateLimitedError      still HTTP 429 after every retry
    +-- HyperliquidTransportError no response (timeout, connection refused or dropped)
    +-- WsNotConnectedError       WS post attempted while the socket is down
    +-- AgentError                agent approval refused, unknown, or an address reused
"""

from __future__ import annotations


class HyperliquidAdapterError(Exception):
    """Base of the adapter's exceptions."""


class HyperliquidHttpError(HyperliquidAdapterError):
    """A non-2xx HTTP reply to a read."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"HTTP {status}: {text[:200]}")
        self.status = status
        self.text = text


class RateLimitedError(HyperliquidHttpError):
    """HTTP 429 persisted through the retry budget."""


class HyperliquidTransportError(HyperliquidAdapterError):
    """No HTTP response: timeout or transport failure."""


class WsNotConnectedError(HyperliquidAdapterError):
    """The WebSocket is not connected (or dropped before the reply arrived)."""


class AgentError(HyperliquidAdapterError):
    """An agent wallet could not be approved, or its address was used before."""
