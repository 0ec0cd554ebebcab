"""JSON-RPC over web3.py `AsyncWeb3` providers (HTTP and WebSocket) with ordered failover.

Reads fail over down the endpoint list on transport errors. Sends never do: a raw transaction whose
reply was lost may already be in a mempool, so `send_raw_transaction` makes exactly one attempt and
reports a lost reply as `SendOutcomeUnknownError` for the transaction manager to resolve. web3.py's own
retry layer is switched off for the same reason (it would replay requests behind our back).

Every way a request can fail without a node's JSON-RPC error (refused, reset, timed out, a closed or
failed WebSocket, an HTTP error status, a reply that is not JSON or not a JSON-RPC object) surfaces
as `RpcTransportError`, never as a library exception, so the loops above need to know only two
errors: `RpcTransportError` (no usable reply) and `RpcError` (the node refused). A WebSocket endpoint
whose socket failed is dropped and reopened on its next use. Each endpoint's outage is logged once when
it starts and once when it ends (URLs masked), not once per failed request.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Sequence
from typing import Any, Protocol

import aiohttp
import websockets
from web3 import AsyncHTTPProvider, AsyncWeb3, WebSocketProvider
from web3.exceptions import Web3RPCError

from keeper.chain._outage import Outage, RedactingFilter, describe
from keeper.core.redact import mask_url

log = logging.getLogger("keeper.chain.rpc")

# web3.py logs endpoint URLs at INFO ("Connecting to: wss://…/<api key>"): mask them at the source.
_REDACT = RedactingFilter()
for _name in (
    "web3.providers.WebSocketProvider",
    "web3.providers.PersistentConnectionProvider",
    "web3.providers.AsyncHTTPProvider",
    "web3._utils.http_session_manager.HTTPSessionManager",
):
    logging.getLogger(_name).addFilter(_REDACT)


class JsonRpc(Protocol):
    """What readers (heads, gas oracle, mempool, tx manager) need from an RPC connection."""

    async def request(self, method: str, params: Sequence[object]) -> Any: ...


class ChainIdMismatchError(RuntimeError):
    """An endpoint serves a different chain than the config names: never trade through it."""


class NoEndpointAvailableError(RuntimeError):
    """No configured endpoint answered."""


class RpcError(RuntimeError):
    """The node answered with a JSON-RPC error: it saw the request and refused it."""

    def __init__(self, method: str, code: int, message: str, data: object = None) -> None:
        super().__init__(f"{method}: {message} (code {code})")
        self.method = method
        self.code = code
        self.message = message
        self.data = data


class RpcTransportError(ConnectionError):
    """No usable reply from any endpoint (all down, timed out, or replied with garbage)."""


class SendOutcomeUnknownError(RuntimeError):
    """A raw transaction went out but no reply came back: it may or may not be in the mempool."""


class SendErrorKind(enum.Enum):
    """Why a node refused a raw transaction; decides what the transaction manager does next."""

    NONCE_TOO_LOW = "nonce_too_low"  # that nonce is already mined: resync the lane
    NONCE_TOO_HIGH = "nonce_too_high"  # the node will not queue a gap
    ALREADY_KNOWN = "already_known"  # the node has exactly this tx: it is pending
    REPLACEMENT_UNDERPRICED = "replacement_underpriced"  # another tx holds the nonce with higher fees
    FEE_TOO_LOW = "fee_too_low"  # max fee under the base fee or tip under the node's floor
    FEE_CAP_EXCEEDED = "fee_cap_exceeded"  # the node's own tx fee cap
    INSUFFICIENT_FUNDS = "insufficient_funds"
    GAS_LIMIT = "gas_limit"  # intrinsic gas too low or above the block gas limit
    OTHER = "other"


# Substrings of geth, reth, erigon, nethermind and anvil messages; the first match wins.
_SEND_ERROR_PATTERNS: tuple[tuple[str, SendErrorKind], ...] = (
    ("nonce too low", SendErrorKind.NONCE_TOO_LOW),
    ("nonce is too low", SendErrorKind.NONCE_TOO_LOW),
    ("oldnonce", SendErrorKind.NONCE_TOO_LOW),
    ("nonce too high", SendErrorKind.NONCE_TOO_HIGH),
    ("nonce gap", SendErrorKind.NONCE_TOO_HIGH),
    ("already known", SendErrorKind.ALREADY_KNOWN),
    ("already imported", SendErrorKind.ALREADY_KNOWN),
    ("known transaction", SendErrorKind.ALREADY_KNOWN),
    ("replacement transaction underpriced", SendErrorKind.REPLACEMENT_UNDERPRICED),
    ("replacement underpriced", SendErrorKind.REPLACEMENT_UNDERPRICED),
    ("insufficient funds", SendErrorKind.INSUFFICIENT_FUNDS),
    ("exceeds the configured cap", SendErrorKind.FEE_CAP_EXCEEDED),
    ("fee cap less than block base fee", SendErrorKind.FEE_TOO_LOW),
    ("max fee per gas less than block base fee", SendErrorKind.FEE_TOO_LOW),
    ("underpriced", SendErrorKind.FEE_TOO_LOW),
    ("intrinsic gas too low", SendErrorKind.GAS_LIMIT),
    ("exceeds block gas limit", SendErrorKind.GAS_LIMIT),
    ("gas limit reached", SendErrorKind.GAS_LIMIT),
)


def classify_send_error(message: str) -> SendErrorKind:
    """Map a node's refusal message to what it means for the sender."""
    lowered = message.lower()
    for needle, kind in _SEND_ERROR_PATTERNS:
        if needle in lowered:
            return kind
    return SendErrorKind.OTHER


class SendRejectedError(RpcError):
    """The node refused a raw transaction; `kind` says why."""

    def __init__(self, code: int, message: str, data: object = None) -> None:
        super().__init__("eth_sendRawTransaction", code, message, data)
        self.kind = classify_send_error(message)


def _is_ws(url: str) -> bool:
    return url.startswith(("ws://", "wss://"))


class _WebSocketProvider(WebSocketProvider):
    """web3.py's WS provider, but a dead socket ends its listener task instead of spinning on it.

    Listener exceptions are silenced: web3.py otherwise re-raises node errors it already handed back to
    the caller ("stray" errors), which kills the connection on the next read. But silenced, a closed
    socket makes the listener log the same error in a hot loop forever. Transport failures therefore
    end the listener (the next request sees the error and the client reopens the endpoint); node errors
    stay silenced.
    """

    def _error_log_listener_task_exception(self, e: Exception) -> None:
        if isinstance(e, (websockets.WebSocketException, OSError)):
            raise e
        log.debug("stray message on %s ignored: %s", mask_url(str(self.endpoint_uri)), describe(e))

    async def connect(self) -> None:
        await super().connect()
        task = self._message_listener_task
        if task is not None:  # its exception is read by the next request; retrieve it here if none comes
            task.add_done_callback(lambda t: None if t.cancelled() else t.exception())


def _provider_for(url: str, timeout_s: float) -> AsyncHTTPProvider | WebSocketProvider:
    if _is_ws(url):
        return _WebSocketProvider(
            url, request_timeout=timeout_s, max_connection_retries=1, silence_listener_task_exceptions=True
        )
    return AsyncHTTPProvider(url, request_kwargs={"timeout": timeout_s}, exception_retry_configuration=None)


class RpcClient:
    """Ordered endpoints on one chain. `connect()` checks every endpoint's chain id first.

    The client sticks to the first healthy endpoint and moves down the list only when it stops
    answering, then returns to the preferred one on the next `connect()`.

    Counters: `failovers` (requests moved to the next endpoint), `reconnects` (WebSocket endpoints
    reopened after their socket failed), `outages` and `transport_errors` (over all endpoints).
    """

    def __init__(self, urls: Sequence[str], chain_id: int, timeout_s: float = 10.0) -> None:
        if not urls:
            raise ValueError("RpcClient needs at least one endpoint")
        self._urls = list(urls)
        self._chain_id = chain_id
        self._timeout_s = timeout_s
        self._w3: dict[str, AsyncWeb3[Any]] = {}
        self._health = {url: Outage(log, f"rpc endpoint {mask_url(url)}") for url in self._urls}
        self._healthy: list[str] = []
        self._current = 0
        self.failovers = 0
        self.reconnects = 0

    @property
    def url(self) -> str:
        """The endpoint requests go to now."""
        if not self._healthy:
            raise NoEndpointAvailableError("RpcClient is not connected")
        return self._healthy[self._current % len(self._healthy)]

    @property
    def http_url(self) -> str | None:
        """The first healthy HTTP endpoint, for tools that need plain HTTP (deployment scripts)."""
        return next((u for u in self._healthy if u.startswith(("http://", "https://"))), None)

    @property
    def chain_id(self) -> int:
        return self._chain_id

    @property
    def outages(self) -> int:
        return sum(h.outages for h in self._health.values())

    @property
    def transport_errors(self) -> int:
        return sum(h.failures for h in self._health.values())

    def endpoint_down(self, url: str) -> bool:
        """Whether the last request to `url` failed (an outage of that endpoint is under way)."""
        return self._health[url].down

    async def connect(self) -> None:
        """Open every endpoint and check its chain id.

        Raises:
            ChainIdMismatchError: an endpoint serves another chain (stop: the config is wrong).
            NoEndpointAvailableError: none answered.
        """
        failures: list[str] = []
        healthy: list[str] = []
        for url in self._urls:
            try:
                reply = await self._call(url, "eth_chainId", [])
                seen = int(str(self._result("eth_chainId", reply)), 16)
            except (RpcError, RpcTransportError, ValueError) as exc:
                failures.append(f"{mask_url(url)}: {describe(exc)}")
                log.warning("rpc endpoint %s unavailable: %s", mask_url(url), describe(exc))
                continue
            if seen != self._chain_id:
                await self.close()
                raise ChainIdMismatchError(
                    f"{mask_url(url)} serves chain id {seen}, config says {self._chain_id}"
                )
            healthy.append(url)
        if not healthy:
            await self.close()
            raise NoEndpointAvailableError("; ".join(failures))
        self._healthy = healthy
        self._current = 0

    async def _open(self, url: str) -> AsyncWeb3[Any]:
        provider = _provider_for(url, self._timeout_s)
        provider.logger.addFilter(_REDACT)  # whatever logger this web3 version uses (idempotent)
        w3: AsyncWeb3[Any]
        if isinstance(provider, WebSocketProvider):
            w3 = await AsyncWeb3(provider)  # persistent connection: connect now
        else:
            # web3.py's own sessions use force_close=True: a new TCP connection per request (~3x the
            # latency on loopback). Hand it a keep-alive session instead.
            session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=32, keepalive_timeout=30),
                timeout=aiohttp.ClientTimeout(total=self._timeout_s),
            )
            await provider.cache_async_session(session)
            w3 = AsyncWeb3(provider)
        self._w3[url] = w3
        return w3

    async def _drop(self, url: str) -> None:
        """Forget a WS endpoint whose socket failed; its next use opens a new one."""
        w3 = self._w3.pop(url, None)
        if w3 is not None:
            await _disconnect(w3)

    async def close(self) -> None:
        for w3 in self._w3.values():
            await _disconnect(w3)
        self._w3.clear()
        self._healthy = []

    async def __aenter__(self) -> RpcClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _call(self, url: str, method: str, params: list[object], batch: bool = False) -> Any:
        """One request (or batch) to `url`. Raises RpcTransportError for every failure without a reply."""
        try:
            # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation.
            async with asyncio.timeout(self._timeout_s):
                w3 = self._w3.get(url)
                if w3 is None:
                    w3 = await self._open(url)
                    if _is_ws(url) and self._healthy:  # a reopen after a failed socket
                        self.reconnects += 1
                if batch:
                    return await w3.provider.make_batch_request([(method, p) for p in params])
                return await w3.provider.make_request(method, params)
        except Web3RPCError as exc:
            # The persistent (WS) provider raises node errors instead of returning them; undo that.
            return exc.rpc_response or {"error": {"code": 0, "message": str(exc)}}
        except Exception as exc:
            # Every other failure is "no usable reply", whatever the library calls it: OSError, TimeoutError,
            # aiohttp.ClientError, websockets' ConnectionClosed / InvalidHandshake / InvalidURI,
            # ProviderConnectionError, TimeExhausted, a body that is not JSON (ValueError), or worse.
            if _is_ws(url):
                await self._drop(url)
            raise RpcTransportError(f"{method} on {mask_url(url)}: {describe(exc)}") from exc

    @staticmethod
    def _result(method: str, reply: Any) -> Any:
        if not isinstance(reply, dict) or not ("result" in reply or "error" in reply):
            raise RpcTransportError(f"{method}: malformed reply {describe(repr(reply)[:200])}")
        error = reply.get("error")
        if error is not None:
            if isinstance(error, dict):
                code = error.get("code")
                raise RpcError(
                    method, code if isinstance(code, int) else 0, str(error.get("message")), error.get("data")
                )
            raise RpcError(method, 0, str(error))
        return reply.get("result")

    async def request(self, method: str, params: Sequence[object]) -> Any:
        """A read-only call; fails over down the healthy endpoints on transport errors.

        Raises:
            RpcTransportError: no endpoint gave a usable reply.
            RpcError: the node answered with a JSON-RPC error.
        """
        if not self._healthy:
            raise RpcTransportError(f"{method}: RpcClient is not connected")
        last: BaseException | None = None
        for _ in range(len(self._healthy)):
            url = self.url
            try:
                reply = await self._call(url, method, list(params))
                result = self._result(method, reply)
            except RpcTransportError as exc:
                last = exc
                self._current += 1
                self.failovers += 1
                self._health[url].fail(exc, then="failing over")
                continue
            except RpcError:
                self._health[url].ok()  # it answered: the endpoint is up
                raise
            self._health[url].ok()
            return result
        raise RpcTransportError(f"{method}: no endpoint answered: {describe(last or 'no endpoint')}")

    async def send_raw_transaction(self, raw: bytes) -> str:
        """Broadcast one signed transaction, once, to the current endpoint.

        Raises:
            SendRejectedError: the node refused it (see `.kind`).
            SendOutcomeUnknownError: no reply; the tx may be pending. Never retried here.
        """
        url = self._send_url()
        method = "eth_sendRawTransaction"
        try:
            result = self._result(method, await self._call(url, method, ["0x" + raw.hex()]))
        except RpcTransportError as exc:
            # The next read fails over; this send's fate is for the caller to find out.
            self._send_failed(url, exc)
            raise SendOutcomeUnknownError(str(exc)) from exc
        except RpcError as exc:
            self._health[url].ok()
            raise SendRejectedError(exc.code, exc.message, exc.data) from None
        self._health[url].ok()
        return str(result)

    async def send_raw_transactions(self, raws: Sequence[bytes]) -> list[str | SendRejectedError]:
        """Broadcast several signed transactions in one JSON-RPC batch, in order, once.

        Returns a hash or a refusal per transaction, in input order.

        Raises:
            SendOutcomeUnknownError: no usable reply; any of them may be pending.
        """
        if len(raws) == 1:
            try:
                return [await self.send_raw_transaction(raws[0])]
            except SendRejectedError as exc:
                return [exc]
        url = self._send_url()
        method = "eth_sendRawTransaction"
        try:
            replies = await self._call(url, method, [["0x" + raw.hex()] for raw in raws], batch=True)
        except RpcTransportError as exc:
            self._send_failed(url, exc)
            raise SendOutcomeUnknownError(f"batch of {len(raws)} sends: {exc}") from exc
        if not isinstance(replies, list) or len(replies) != len(raws):
            shown = describe(repr(replies)[:200])
            raise SendOutcomeUnknownError(f"batch of {len(raws)} sends to {mask_url(url)}: bad reply {shown}")
        self._health[url].ok()
        results: list[str | SendRejectedError] = []
        for reply in replies:
            try:
                results.append(str(self._result(method, reply)))
            except RpcError as exc:
                results.append(SendRejectedError(exc.code, exc.message, exc.data))
            except RpcTransportError as exc:
                raise SendOutcomeUnknownError(str(exc)) from exc
        return results

    def _send_url(self) -> str:
        if not self._healthy:
            raise SendOutcomeUnknownError("eth_sendRawTransaction: RpcClient is not connected (nothing sent)")
        return self.url

    def _send_failed(self, url: str, exc: BaseException) -> None:
        self._current += 1
        self.failovers += 1
        self._health[url].fail(exc, then="failing over")


async def _disconnect(w3: AsyncWeb3[Any]) -> None:
    provider = w3.provider
    if isinstance(provider, (WebSocketProvider, AsyncHTTPProvider)):
        # A socket that already failed may fail again on close, or hang on a silent peer: give up fast.
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2.0):
                await provider.disconnect()
