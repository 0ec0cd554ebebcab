"""Choose a working RPC endpoint from the configured list, refusing any on the wrong chain."""

from __future__ import annotations

import logging

import aiohttp

log = logging.getLogger("keeper.chain")


class ChainIdMismatchError(RuntimeError):
    """An endpoint serves a different chain than the config names: never trade through it."""


class NoEndpointAvailableError(RuntimeError):
    """No configured endpoint answered."""


async def json_rpc(session: aiohttp.ClientSession, url: str, method: str, params: list[object]) -> object:
    """One JSON-RPC call over HTTP. Not for sending transactions: callers of sends own their retries."""
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    async with session.post(url, json=body) as response:
        response.raise_for_status()
        reply = await response.json(content_type=None)
    if not isinstance(reply, dict):
        raise ValueError(f"{method}: malformed reply {reply!r:.200}")
    if "error" in reply:
        raise RuntimeError(f"{method}: {reply['error']}")
    return reply.get("result")


async def select_http_endpoint(session: aiohttp.ClientSession, urls: list[str], chain_id: int) -> str:
    """Return the first endpoint, in config order, that answers with `chain_id`.

    Raises:
        ChainIdMismatchError: an endpoint answered with another chain id (a misconfiguration to stop on).
        NoEndpointAvailableError: none answered.
    """
    failures: list[str] = []
    for url in urls:
        try:
            answer = await json_rpc(session, url, "eth_chainId", [])
        except (aiohttp.ClientError, TimeoutError, ValueError, RuntimeError) as exc:
            failures.append(f"{url}: {exc!r}")
            log.warning("rpc endpoint %s unavailable: %r", url, exc)
            continue
        seen = int(str(answer), 16)
        if seen != chain_id:
            raise ChainIdMismatchError(f"{url} serves chain id {seen}, config says {chain_id}")
        return url
    raise NoEndpointAvailableError("; ".join(failures) or "no endpoints configured")
