"""The official Python SDK (test-only client) trades against the local server unchanged."""

from __future__ import annotations

import asyncio
from typing import Any

from eth_account import Account
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info

from keeper.adapters.hyperliquid import LocalVenueServer
from tests.adapters.hyperliquid.conftest import KEY_A


async def test_sdk_exchange_places_an_order_and_info_sees_it(server: LocalVenueServer) -> None:
    wallet = Account.from_key(KEY_A)

    def trade() -> tuple[Any, Any]:
        # Blocking requests-based calls: run in a thread so the server's event loop keeps serving.
        exchange = Exchange(wallet, base_url=server.url)  # start-up fetches spotMeta and meta
        info = Info(server.url, skip_ws=True)
        try:
            result = exchange.order("ETH", True, 1.0, 1990.0, {"limit": {"tif": "Alo"}})
            return result, info.open_orders(wallet.address)
        finally:
            exchange.session.close()
            exchange.info.session.close()
            info.session.close()

    result, open_orders = await asyncio.to_thread(trade)
    assert result["status"] == "ok", result
    oid = result["response"]["data"]["statuses"][0]["resting"]["oid"]
    assert [(o["oid"], o["coin"], o["side"], o["limitPx"], o["sz"]) for o in open_orders] == [
        (oid, "ETH", "B", "1990.0", "1.0")
    ]
