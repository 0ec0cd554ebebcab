"""Follow new block headers: WS `newHeads` subscription, falling back to polling over the RPC client.

Malformed pushes are counted and skipped; a dropped socket is reconnected with backoff, and while it
is down the watcher polls through the `JsonRpc` client (which fails over between endpoints) so that no
head is missed for long.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator

import websockets

from keeper.chain._heads_codec import (
    BlockHeader,
    MalformedMessageError,
    decode_block_result,
    decode_head_push,
)
from keeper.chain._rpc import JsonRpc, RpcError, RpcTransportError

log = logging.getLogger("keeper.chain.heads")


class HeadWatcher:
    """Yields each new canonical head once, in order of arrival (a re-orged number may repeat)."""

    def __init__(
        self,
        rpc: JsonRpc,
        ws_url: str | None,
        poll_interval_s: float = 1.0,
        max_backoff_s: float = 5.0,
    ) -> None:
        self._rpc = rpc
        self._ws_url = ws_url
        self._poll_interval_s = poll_interval_s
        self._max_backoff_s = max_backoff_s
        self._last_hash: str | None = None
        self.malformed = 0
        self.reconnects = 0

    async def heads(self) -> AsyncIterator[BlockHeader]:
        backoff = 0.25
        while True:
            if self._ws_url is not None:
                try:
                    async for head in self._subscribe(self._ws_url):
                        backoff = 0.25
                        yield head
                except (OSError, websockets.WebSocketException, TimeoutError) as exc:
                    self.reconnects += 1
                    log.warning("newHeads socket lost (%r); polling while reconnecting", exc)
            # Poll until the next reconnect attempt (or forever without a WS endpoint).
            deadline = asyncio.get_running_loop().time() + (backoff if self._ws_url else float("inf"))
            async for head in self._poll(deadline):
                yield head
            backoff = min(self._max_backoff_s, backoff * 2) * random.uniform(0.8, 1.2)

    async def _subscribe(self, url: str) -> AsyncIterator[BlockHeader]:
        async with websockets.connect(url, ping_interval=20, ping_timeout=20, max_size=2**22) as ws:
            await ws.send(
                json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]})
            )
            async with asyncio.timeout(10):
                ack = json.loads(await ws.recv())
            if "result" not in ack:
                raise OSError(f"eth_subscribe newHeads refused: {ack.get('error')}")
            async for message in ws:
                try:
                    _, head = decode_head_push(message)
                except MalformedMessageError as exc:
                    self.malformed += 1
                    log.warning("skipping malformed newHeads push (%d so far): %s", self.malformed, exc)
                    continue
                if self._is_new(head):
                    yield head

    async def _poll(self, deadline: float) -> AsyncIterator[BlockHeader]:
        loop = asyncio.get_running_loop()
        while loop.time() < deadline:
            try:
                result = await self._rpc.request("eth_getBlockByNumber", ["latest", False])
                head = decode_block_result(result)
            except ValueError as exc:  # MalformedMessageError, or a reply that was not even JSON
                self.malformed += 1
                log.warning("skipping malformed block reply (%d so far): %s", self.malformed, exc)
                head = None
            except (RpcTransportError, RpcError) as exc:  # no endpoint answered, or the node refused
                log.warning("polling latest block failed: %r", exc)
                head = None
            if head is not None and self._is_new(head):
                yield head
            await asyncio.sleep(min(self._poll_interval_s, max(0.0, deadline - loop.time())))

    def _is_new(self, head: BlockHeader) -> bool:
        if head.hash == self._last_hash:
            return False
        self._last_hash = head.hash
        return True
