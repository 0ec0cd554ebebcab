"""`eth_subscribe` over a raw `websockets` connection: send the requests, collect the acks.

The pub-sub streams (heads, pending transactions) use `websockets` + msgspec directly: a decode path
much lighter than web3.py's subscription formatters.
"""

from __future__ import annotations

import asyncio
import json

import websockets

from keeper.chain._outage import describe


class SubscriptionRefusedError(ConnectionError):
    """The node answered `eth_subscribe` with something other than a subscription id."""


async def subscribe(
    ws: websockets.ClientConnection, requests: dict[int, list[object]], timeout_s: float = 10.0
) -> tuple[dict[int, str], list[str | bytes]]:
    """Send one `eth_subscribe` per request id; returns the subscription ids by request id and the
    messages that arrived before the last ack (pushes of the first subscriptions, or junk for the
    caller to count).

    Raises:
        SubscriptionRefusedError: the node refused one of them.
        TimeoutError: not every ack came within `timeout_s`.
    """
    for key, params in requests.items():
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": key, "method": "eth_subscribe", "params": params}))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    subscriptions: dict[int, str] = {}
    early: list[str | bytes] = []
    while len(subscriptions) < len(requests):
        async with asyncio.timeout_at(deadline):
            message = await ws.recv()
        try:
            reply = json.loads(message)
        except ValueError:
            early.append(message)
            continue
        request_id = reply.get("id") if isinstance(reply, dict) else None
        if not isinstance(request_id, int) or request_id not in requests:
            early.append(message)
            continue
        assert isinstance(reply, dict)
        if not isinstance(reply.get("result"), str):
            what = requests[request_id][0]
            raise SubscriptionRefusedError(
                f"eth_subscribe {what} refused: {describe(str(reply.get('error')))}"
            )
        subscriptions[request_id] = reply["result"]
    return subscriptions, early
