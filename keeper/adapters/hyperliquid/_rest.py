"""REST client of the Hyperliquid API (``POST /info``, ``POST /exchange``) over aiohttp.

Reads are typed through :func:`~keeper.codecs.hyperliquid.decode_info` and retried on HTTP 429
with capped, fully jittered backoff. Actions are signed here (nonce from a per-signer
:class:`NonceAllocator`, optional ``expiresAfter`` and ``vaultAddress``) and **never retried**:
once a signed action may have reached the venue its outcome is unknown, so a timeout, transport
error, 5xx or 429 comes back as ``Unknown`` for the caller to reconcile (orderStatus, openOrders,
the orderUpdates stream). Only a venue error string is a ``Refused``. A client-side
:class:`WeightLimiter` waits before a request would exceed the per-IP budget.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Literal, NamedTuple, overload

import aiohttp
import msgspec

from keeper.adapters._clock import NowMs, Sleep, wall_ms
from keeper.adapters.hyperliquid._errors import (
    HyperliquidHttpError,
    HyperliquidTransportError,
    RateLimitedError,
)
from keeper.codecs.hyperliquid import (
    BackoffPolicy,
    BatchModifyAction,
    CancelAction,
    CancelByCloidAction,
    CancelOutcome,
    ClearinghouseState,
    DefaultOutcome,
    ExchangeRequest,
    Fill,
    FrontendOpenOrder,
    FundingHistoryEntry,
    HttpOutcome,
    L1Action,
    L2Book,
    Meta,
    MetaAndAssetCtxs,
    ModifyAction,
    NonceAllocator,
    NoopAction,
    OpenOrder,
    OrderAction,
    OrderOutcome,
    OrderStatusResponse,
    PredictedFundingAsset,
    PrivateKeySigner,
    ScheduleCancelAction,
    Unknown,
    UpdateIsolatedMarginAction,
    UpdateLeverageAction,
    UserFundingEntry,
    UserRateLimit,
    UserSignedAction,
    WeightLimiter,
    classify_http,
    decode_info,
    exchange_weight,
    info_extra_weight,
    info_weight,
    open_orders_request,
    order_status_request,
    sign_l1_action,
    sign_user_signed_action,
    user_fills_request,
)

_log = logging.getLogger(__name__)

MAINNET_URL = "https://api.hyperliquid.xyz"
TESTNET_URL = "https://api.hyperliquid-testnet.xyz"
_JSON_HEADERS = {"Content-Type": "application/json"}
InfoField = str | int | bool | None
Chain = Literal["Mainnet", "Testnet"]
ActionKind = Literal["order", "cancel", "default"]


class _HttpResult(NamedTuple):
    status: int | None  # None: no response
    body: bytes | None
    error: str  # why there is no response
    sent: bool  # False only when the connection was never made: nothing reached the venue


def action_kind(action: L1Action) -> tuple[ActionKind, int]:
    """Response kind and item count of an action (the count sizes the per-item outcomes)."""
    if isinstance(action, OrderAction):
        return "order", len(action.orders)
    if isinstance(action, BatchModifyAction):
        return "order", len(action.modifies)
    if isinstance(action, CancelAction | CancelByCloidAction):
        return "cancel", len(action.cancels)
    return "default", 1


class HyperliquidRestClient:
    """Typed reads and signed actions against one base URL.

    **Parameters:**

    * ``is_mainnet`` -- signing source "a"/"Mainnet"; default: whether ``base_url`` is mainnet.
    * ``now_ms`` / ``sleep`` -- clock for nonces, expiresAfter and the limiter; waiting.
    * ``timeout_s`` -- per HTTP request; an action that times out is ``Unknown``.
    * ``limiter`` -- shared client-side weight budget (default 1200/min).
    * ``backoff``, ``max_info_retries``, ``uniform`` -- 429 retry policy of reads (jitter source).
    * ``expires_after_ms`` -- when set, every action carries ``expiresAfter = now + this``.
    """

    def __init__(
        self,
        base_url: str,
        *,
        is_mainnet: bool | None = None,
        session: aiohttp.ClientSession | None = None,
        now_ms: NowMs = wall_ms,
        sleep: Sleep = asyncio.sleep,
        timeout_s: float = 10.0,
        limiter: WeightLimiter | None = None,
        backoff: BackoffPolicy | None = None,
        max_info_retries: int = 5,
        uniform: Callable[[], float] = random.random,
        nonces: NonceAllocator | None = None,
        expires_after_ms: int | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.is_mainnet = self.base_url == MAINNET_URL if is_mainnet is None else is_mainnet
        self._session = session
        self._owns_session = session is None
        self._now_ms = now_ms
        self._sleep = sleep
        self._timeout_s = timeout_s
        self.limiter = limiter if limiter is not None else WeightLimiter()
        self._backoff = backoff if backoff is not None else BackoffPolicy()
        self._max_info_retries = max_info_retries
        self._uniform = uniform
        self.nonces = nonces if nonces is not None else NonceAllocator()
        self._expires_after_ms = expires_after_ms

    async def close(self) -> None:
        """Close the HTTP session if this client created it."""
        if self._session is not None and self._owns_session:
            await self._session.close()
        self._session = None

    async def __aenter__(self) -> HyperliquidRestClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- plumbing ----

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:  # created lazily: a ClientSession must be built inside the loop
            self._session = aiohttp.ClientSession()
        return self._session

    async def _acquire(self, weight: int, *, read: bool = False) -> None:
        # Reads leave a fifth of the budget to actions: a reconciliation storm never delays a cancel.
        budget = self.limiter.budget
        reserve = max(0, min(budget // 5, budget - weight)) if read else 0
        while True:
            wait_s = self.limiter.try_acquire(weight, self._now_ms() / 1000, reserve)
            if wait_s <= 0:
                return
            _log.debug("REST weight budget exhausted; waiting %.3f s", wait_s)
            await self._sleep(wait_s)

    async def _post(self, path: str, body: bytes) -> _HttpResult:
        try:
            async with asyncio.timeout(self._timeout_s):
                response = await self._http().post(self.base_url + path, data=body, headers=_JSON_HEADERS)
                async with response:
                    return _HttpResult(response.status, await response.read(), "", True)
        except TimeoutError:
            return _HttpResult(None, None, f"no response within {self._timeout_s} s", True)
        except aiohttp.ClientConnectorError as exc:
            return _HttpResult(None, None, f"cannot connect: {exc}", False)
        except aiohttp.ClientError as exc:
            return _HttpResult(None, None, f"transport error: {exc!r}", True)

    # ---- nonces ----

    def next_nonce(self, signer_address: str) -> int:
        """Next nonce of a signer: ``max(now_ms, last + 1)``, unique per signer in this process."""
        return self.nonces.next_nonce(signer_address, self._now_ms())

    # ---- reads ----

    async def info_bytes(self, body: Mapping[str, Any]) -> bytes:
        """Raw JSON reply of an ``/info`` body; HTTP 429 is retried with jittered backoff.

        Raises :class:`RateLimitedError` once retries are spent, :class:`HyperliquidHttpError` on
        other non-2xx replies, :class:`HyperliquidTransportError` without a response.
        """
        type_name = str(body.get("type"))
        encoded = msgspec.json.encode(body)
        attempt = 0
        while True:
            await self._acquire(info_weight(type_name), read=True)
            result = await self._post("/info", encoded)
            if result.status is None or result.body is None:
                raise HyperliquidTransportError(f"/info {type_name}: {result.error}")
            text = result.body.decode("utf-8", "replace")
            if result.status == 429:
                if attempt >= self._max_info_retries:
                    raise RateLimitedError(429, text)
                delay = self._backoff.delay(attempt, self._uniform())
                _log.info("/info %s rate limited; retry %d in %.3f s", type_name, attempt + 1, delay)
                attempt += 1
                await self._sleep(delay)
                continue
            if not 200 <= result.status < 300:
                raise HyperliquidHttpError(result.status, text)
            return result.body

    def _charge_items(self, type_name: str, reply: object) -> None:
        if isinstance(reply, list):
            extra = info_extra_weight(type_name, len(reply))
            if extra:
                self.limiter.charge(extra, self._now_ms() / 1000)

    async def info_json(self, body: Mapping[str, Any]) -> Any:
        """Untyped ``/info`` (for types the codec does not model, e.g. extraAgents, spotMeta)."""
        reply = msgspec.json.decode(await self.info_bytes(body))
        self._charge_items(str(body.get("type")), reply)
        return reply

    @overload
    async def info(self, type_name: Literal["meta"], **fields: InfoField) -> Meta: ...
    @overload
    async def info(self, type_name: Literal["metaAndAssetCtxs"], **fields: InfoField) -> MetaAndAssetCtxs: ...
    @overload
    async def info(self, type_name: Literal["l2Book"], **fields: InfoField) -> L2Book | None: ...
    @overload
    async def info(
        self, type_name: Literal["clearinghouseState"], **fields: InfoField
    ) -> ClearinghouseState: ...
    @overload
    async def info(self, type_name: Literal["openOrders"], **fields: InfoField) -> list[OpenOrder]: ...
    @overload
    async def info(
        self, type_name: Literal["frontendOpenOrders"], **fields: InfoField
    ) -> list[FrontendOpenOrder]: ...
    @overload
    async def info(
        self, type_name: Literal["userFills", "userFillsByTime"], **fields: InfoField
    ) -> list[Fill]: ...
    @overload
    async def info(
        self, type_name: Literal["fundingHistory"], **fields: InfoField
    ) -> list[FundingHistoryEntry]: ...
    @overload
    async def info(
        self, type_name: Literal["userFunding"], **fields: InfoField
    ) -> list[UserFundingEntry]: ...
    @overload
    async def info(
        self, type_name: Literal["predictedFundings"], **fields: InfoField
    ) -> list[PredictedFundingAsset]: ...
    @overload
    async def info(self, type_name: Literal["orderStatus"], **fields: InfoField) -> OrderStatusResponse: ...
    @overload
    async def info(self, type_name: Literal["userRateLimit"], **fields: InfoField) -> UserRateLimit: ...
    @overload
    async def info(self, type_name: Literal["allMids"], **fields: InfoField) -> dict[str, Decimal]: ...
    async def info(self, type_name: str, **fields: InfoField) -> object:
        """Typed ``/info``: ``await client.info("userFills", user=master)``; None fields are omitted.

        Wire field names are camelCase (``startTime``, ``nSigFigs``). Query with the master
        address, never an agent's: the agent has no orders or fills of its own.
        """
        body: dict[str, InfoField] = {"type": type_name}
        body.update({key: value for key, value in fields.items() if value is not None})
        reply = decode_info(type_name, await self.info_bytes(body))
        self._charge_items(type_name, reply)
        return reply

    async def open_orders(self, user: str) -> list[OpenOrder]:
        """Open orders of the master account ``user``."""
        body = open_orders_request(user)
        return decode_info("openOrders", await self.info_bytes(body))

    async def user_fills(self, user: str) -> list[Fill]:
        """The 2000 most recent fills of ``user``, newest first."""
        reply = decode_info("userFills", await self.info_bytes(user_fills_request(user)))
        self._charge_items("userFills", reply)
        return reply

    async def order_status(self, user: str, oid: int | str) -> OrderStatusResponse:
        """Status of an order by oid or cloid."""
        return decode_info("orderStatus", await self.info_bytes(order_status_request(user, oid)))

    # ---- actions ----

    @overload
    async def exchange(
        self,
        action: OrderAction | BatchModifyAction,
        signer: PrivateKeySigner,
        *,
        vault_address: str | None = None,
        expires_after: int | None = None,
    ) -> HttpOutcome[OrderOutcome]: ...
    @overload
    async def exchange(
        self,
        action: CancelAction | CancelByCloidAction,
        signer: PrivateKeySigner,
        *,
        vault_address: str | None = None,
        expires_after: int | None = None,
    ) -> HttpOutcome[CancelOutcome]: ...
    @overload
    async def exchange(
        self,
        action: ModifyAction
        | ScheduleCancelAction
        | UpdateLeverageAction
        | UpdateIsolatedMarginAction
        | NoopAction,
        signer: PrivateKeySigner,
        *,
        vault_address: str | None = None,
        expires_after: int | None = None,
    ) -> HttpOutcome[DefaultOutcome]: ...
    async def exchange(
        self,
        action: L1Action,
        signer: PrivateKeySigner,
        *,
        vault_address: str | None = None,
        expires_after: int | None = None,
    ) -> HttpOutcome[Any]:
        """Sign ``action`` with ``signer`` (master or agent), post it, classify every item.

        ``expires_after`` (Unix ms) overrides the client default. Never retried: 429, 5xx,
        timeouts and transport errors are ``Unknown`` (``retryable`` when provably not processed).
        """
        kind, n_items = action_kind(action)
        await self._acquire(exchange_weight(n_items if kind != "default" else 0))
        request = self.sign(action, signer, vault_address=vault_address, expires_after=expires_after)
        return await self._send_action(kind, n_items, msgspec.json.encode(request))

    def sign(
        self,
        action: L1Action,
        signer: PrivateKeySigner,
        *,
        vault_address: str | None = None,
        expires_after: int | None = None,
    ) -> ExchangeRequest:
        """The signed ``/exchange`` body (allocates a nonce), e.g. to send as a WS post."""
        now = self._now_ms()
        nonce = self.nonces.next_nonce(signer.address, now)
        if expires_after is None and self._expires_after_ms is not None:
            expires_after = now + self._expires_after_ms
        vault = None if vault_address is None else vault_address.lower()
        signature = sign_l1_action(
            signer,
            action,
            nonce,
            vault_address=vault,
            expires_after=expires_after,
            is_mainnet=self.is_mainnet,
        )
        return ExchangeRequest(action, nonce, signature, vault, expires_after)

    async def exchange_user_signed(
        self, build: Callable[[int, Chain], UserSignedAction], signer: PrivateKeySigner
    ) -> HttpOutcome[DefaultOutcome]:
        """Post a user-signed action (approveAgent, usdSend...) signed by the master ``signer``.

        ``build(nonce, hyperliquid_chain)`` makes the action; its own nonce/time field must be
        ``nonce`` (the venue requires it to equal the request nonce).
        """
        await self._acquire(exchange_weight(0))
        nonce = self.nonces.next_nonce(signer.address, self._now_ms())
        chain: Chain = "Mainnet" if self.is_mainnet else "Testnet"
        action = build(nonce, chain)
        signature = sign_user_signed_action(signer, action)
        body = msgspec.json.encode(ExchangeRequest(action, nonce, signature))
        outcome: HttpOutcome[DefaultOutcome] = await self._send_action("default", 1, body)
        return outcome

    async def _send_action(self, kind: ActionKind, n_items: int, body: bytes) -> HttpOutcome[Any]:
        result = await self._post("/exchange", body)
        if result.status is None:
            # Connect failure: provably unsent. Anything later: the venue may have executed it.
            unknown = Unknown(result.error, retryable=not result.sent)
            return HttpOutcome((unknown,) * n_items, None)
        if result.status == 429:
            _log.warning("/exchange rate limited (429): outcome left Unknown, not retried")
        return classify_http(kind, result.status, result.body, n_items)
