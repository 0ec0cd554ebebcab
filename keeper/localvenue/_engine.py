"""The local venue engine: ``/exchange`` and ``/info`` bodies in, venue replies and WS events out.

Pure and single-threaded: time is the ``now_ms`` argument of every call. Each call first catches
up the time-driven work (scheduled cancels, synthetic flow steps, 5 s premium samples, hourly
funding) on a fixed grid, in time order, so results do not depend on how often it is called.
Time never goes backwards: an earlier ``now_ms`` is treated as the engine's current time.

Request pipeline: shape check (else 422) -> vault refused -> signer recovery -> account or agent
lookup -> expiresAfter -> nonce (per signer) -> action. Signer checks come first so garbage
requests cannot create per-signer state.
"""

from __future__ import annotations

from decimal import Decimal

from keeper.codecs.hyperliquid import (
    L1Action,
    UsdSendAction,
    UserSignedAction,
    UserSignedActionBase,
    Withdraw3Action,
    keccak256,
)
from keeper.localvenue import _wire as w
from keeper.localvenue._actions import Actions
from keeper.localvenue._auth import AgentRegistry, NonceSet, SignedRequest, parse_request, recover
from keeper.localvenue._config import LocalVenueConfig
from keeper.localvenue._events import EventLog, WsEvent
from keeper.localvenue._flow import SyntheticFlow
from keeper.localvenue._funding import Funding
from keeper.localvenue._info import (
    InfoContext,
    InfoResponse,
    active_asset_ctx,
    handle_info,
    subscription_snapshot,
)
from keeper.localvenue._matching import HOUR_MS, Market
from keeper.localvenue._schedule import ScheduledCancels
from keeper.localvenue._wire import BadRequest, JsonDict

ExchangeResponse = JsonDict | BadRequest


def _next_multiple(now_ms: int, period_ms: int) -> int:
    return (now_ms // period_ms + 1) * period_ms


class LocalVenue:
    """A Hyperliquid-compatible perp exchange in memory."""

    def __init__(self, config: LocalVenueConfig, start_ms: int) -> None:
        self._config = config
        self._now = start_ms
        self._events = EventLog(config.max_events)
        self._market = Market(config, self._events)
        for address, balance in sorted(config.balances.items()):
            self._market.open_account(address, balance)
        self._funding = Funding(config.funding, self._market, self._events, config.max_history)
        self._schedule = ScheduledCancels()
        self._agents = AgentRegistry()
        self._nonces: dict[str, NonceSet] = {}
        self._actions = Actions(self._market, self._schedule, self._agents, self._nonces)
        self._flow: SyntheticFlow | None = None
        self._next_sample = _next_multiple(start_ms, config.funding.sample_ms)
        self._next_settle = _next_multiple(start_ms, config.funding.interval_ms)
        self._next_hour = _next_multiple(start_ms, HOUR_MS)
        self._next_flow = _next_multiple(start_ms, config.flow.step_ms)
        self._next_ctx = _next_multiple(start_ms, config.ctx_push_ms)
        if config.flow.enabled:
            asset = config.asset_id(config.flow.coin)
            assert asset is not None  # checked by the config
            self._flow = SyntheticFlow(config.flow, asset, self._market)
            self._flow.requote(start_ms)
        self._market.publish(start_ms)

    @property
    def now_ms(self) -> int:
        """Engine time: the latest time it has been advanced to."""
        return self._now

    @property
    def config(self) -> LocalVenueConfig:
        """The configuration the engine runs with."""
        return self._config

    # ---- time ----

    def advance(self, now_ms: int) -> None:
        """Run everything due up to ``now_ms``: scheduled cancels, flow, funding samples/settlement."""
        market, funding = self._market, self._funding
        while True:
            due = [self._next_sample, self._next_settle, self._next_hour, self._next_ctx]
            if self._flow is not None:
                due.append(self._next_flow)
            armed = self._schedule.next_time()
            if armed is not None:
                due.append(armed)
            t = min(due)
            if t > now_ms:
                break
            self._now = max(self._now, t)
            for _, user in self._schedule.pop_due(t):
                market.cancel_all(user, "scheduledCancel", t)
            if self._flow is not None and self._next_flow == t:
                self._flow.step(t)
                self._next_flow += self._config.flow.step_ms
            publish_ctx = self._next_ctx == t
            if publish_ctx:
                self._next_ctx += self._config.ctx_push_ms
            if self._next_sample == t:
                funding.sample()
                self._next_sample += self._config.funding.sample_ms
                publish_ctx = True  # the predicted rate moves with each premium sample
            if publish_ctx:
                self._publish_asset_ctxs(t)
            if self._next_settle == t:
                funding.settle(t)
                self._next_settle += self._config.funding.interval_ms
            if self._next_hour == t:
                market.record_hour(t)
                self._next_hour += HOUR_MS
            market.publish(t)
        self._now = max(self._now, now_ms)

    # ---- requests ----

    def handle_exchange(self, body: object, now_ms: int) -> ExchangeResponse:
        """Answer one ``/exchange`` body (a :class:`BadRequest` means HTTP 422)."""
        self.advance(now_ms)
        now = self._now
        request = parse_request(body)
        if isinstance(request, BadRequest):
            return request
        if request.vault is not None:
            return w.err(w.VAULT_UNSUPPORTED)
        recovered = recover(request, is_mainnet=self._config.mainnet)
        if not isinstance(recovered, tuple):
            return recovered
        signer, action = recovered
        if isinstance(action, UserSignedActionBase):
            reply = self._user_signed(signer, action, request, now)
        else:
            reply = self._l1(signer, action, request, now)
        self._market.publish(now)
        return reply

    def _use_nonce(self, signer: str, nonce: int, now_ms: int) -> str | None:
        nonces = self._nonces.get(signer)
        if nonces is None:
            nonces = self._nonces[signer] = NonceSet()
        error = nonces.check(nonce, now_ms)
        if error is None:
            nonces.record(nonce)
        return error

    def _tx_hash(self, signer: str, nonce: int) -> str:
        return "0x" + keccak256(f"{signer}:{nonce}".encode()).hex()

    def _l1(self, signer: str, action: L1Action, request: SignedRequest, now_ms: int) -> JsonDict:
        user = signer if signer in self._market.accounts else self._agents.master_of(signer)
        if user is None:
            return w.err(w.unknown_signer(signer))
        if request.expires_after is not None and request.expires_after < now_ms:
            return w.err(w.expired(request.expires_after, now_ms))
        error = self._use_nonce(signer, request.nonce, now_ms)
        if error is not None:
            return w.err(error)
        return self._actions.l1(user, action, now_ms, self._tx_hash(signer, request.nonce))

    def _user_signed(
        self, signer: str, action: UserSignedAction, request: SignedRequest, now_ms: int
    ) -> JsonDict:
        expected = "Mainnet" if self._config.mainnet else "Testnet"
        if action.hyperliquid_chain != expected:
            return w.err(w.wrong_chain(expected))
        if self._agents.master_of(signer) is not None:
            return w.err(w.AGENT_CANNOT_APPROVE)
        if signer not in self._market.accounts:
            return w.err(w.must_deposit(signer))
        action_nonce = action.time if isinstance(action, UsdSendAction | Withdraw3Action) else action.nonce
        if action_nonce != request.nonce:
            return w.err(
                f"Invalid nonce: action nonce {action_nonce} differs from request nonce {request.nonce}"
            )
        error = self._use_nonce(signer, request.nonce, now_ms)
        if error is not None:
            return w.err(error)
        return self._actions.user_signed(signer, action, now_ms)

    def handle_info(self, body: object, now_ms: int) -> InfoResponse:
        """Answer one ``/info`` body (a :class:`BadRequest` means HTTP 422)."""
        self.advance(now_ms)
        return handle_info(self._info_context(), body, self._now)

    def _publish_asset_ctxs(self, now_ms: int) -> None:
        context = self._info_context()
        for asset in range(len(self._config.assets)):
            self._events.append(active_asset_ctx(context, asset, now_ms))

    def _info_context(self) -> InfoContext:
        return InfoContext(self._config, self._market, self._funding, self._agents, self._next_settle)

    # ---- events and operator hooks ----

    def drain_events(self) -> list[WsEvent]:
        """WS events recorded since the last drain, oldest first."""
        return self._events.drain()

    def subscription_snapshot(self, subscription: object, now_ms: int) -> WsEvent | None:
        """The message to send right after a WS subscribe, if the venue sends one."""
        self.advance(now_ms)
        return subscription_snapshot(self._info_context(), subscription, self._now)

    def set_oracle_px(self, coin: str, px: Decimal, now_ms: int) -> bool:
        """Set a coin's oracle price (tests, operators); False for an unknown coin or bad price."""
        self.advance(now_ms)
        asset = self._config.asset_id(coin)
        if asset is None or not px.is_finite() or px <= 0:
            return False
        self._market.set_oracle(asset, px)
        self._market.publish(self._now)
        self._publish_asset_ctxs(self._now)
        return True

    def deposit(self, address: str, usdc: Decimal, now_ms: int) -> bool:
        """Credit USDC to an account, creating it (the local stand-in for a bridge deposit)."""
        self.advance(now_ms)
        account = w.parse_address(address)
        if account is None or not usdc.is_finite() or usdc <= 0:
            return False
        self._market.open_account(account, usdc)
        return True
