"""The account reads behind `HyperliquidVenue.snapshot`: open orders, clearinghouse state and fills by
time, read concurrently; a fill with a number that is not finite or absurd fails the whole read (the
caller retries), so reconciliation never books it."""

from __future__ import annotations

import logging

from keeper.adapters._tasks import gather_or_cancel
from keeper.adapters.hyperliquid._rest import HyperliquidRestClient
from keeper.codecs.hyperliquid import InfoDecodeError
from keeper.codecs.hyperliquid.info_types import ClearinghouseState, Fill, FrontendOpenOrder
from keeper.codecs.hyperliquid.venue_events import sane_fill

_log = logging.getLogger(__name__)

FILL_OVERLAP_MS = 60_000  # each snapshot re-reads this much before the previous one (late-stamped fills)
MAX_FILL_ROWS = 2_000  # the venue's cap on one userFillsByTime answer


async def read_account(
    rest: HyperliquidRestClient, master: str, since_ms: int
) -> tuple[list[FrontendOpenOrder], ClearinghouseState, list[Fill]]:
    """Open orders, clearinghouse state and fills since `since_ms` of `master`, read concurrently.

    Fills by time since the previous snapshot (the caller passes it minus `FILL_OVERLAP_MS`; the ledger
    de-duplicates), not the last 2,000: userFills costs one weight unit per 20 rows, which every few
    seconds would spend the REST budget on an active account."""
    orders, state, fills = await gather_or_cancel(
        rest.info("frontendOpenOrders", user=master),
        rest.info("clearinghouseState", user=master),
        rest.info("userFillsByTime", user=master, startTime=since_ms),
    )
    if len(fills) >= MAX_FILL_ROWS:
        _log.warning("%d fills since %d: more may be missing from this snapshot", len(fills), since_ms)
    if not all(sane_fill(f) for f in fills):
        raise InfoDecodeError("userFillsByTime: a fill with a price, size or fee not finite or absurd")
    return orders, state, fills
