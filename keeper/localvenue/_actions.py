"""Execution of authenticated actions; the engine has already resolved the acting account,
checked expiry and consumed the nonce.

Replies follow hyperliquid-api.md §3.2: order and batchModify give one status per order, cancels
``"success"`` or an error per cancel, the others ``{"type": "default"}``. Choices of this venue:
trigger orders are rejected per order; isolated margin, vaults, spot transfers and builder-fee
approvals answer a clear "not supported" error; usdSend and withdraw3 are plain balance moves.
"""

from __future__ import annotations

from decimal import Decimal

from keeper.codecs.hyperliquid import (
    ApproveAgentAction,
    BatchModifyAction,
    CancelAction,
    CancelByCloidAction,
    L1Action,
    ModifyAction,
    NoopAction,
    OrderAction,
    OrderWire,
    ScheduleCancelAction,
    UpdateIsolatedMarginAction,
    UpdateLeverageAction,
    UsdSendAction,
    UserSignedAction,
    Withdraw3Action,
)
from keeper.localvenue import _wire as w
from keeper.localvenue._accounts import Account, has_margin_for, summarize
from keeper.localvenue._auth import AgentRegistry, NonceSet
from keeper.localvenue._matching import Market, OrderRequest
from keeper.localvenue._schedule import ScheduledCancels
from keeper.localvenue._wire import ZERO, JsonDict


def order_request(wire: OrderWire) -> OrderRequest:
    """Engine order from the codec's wire Struct."""
    limit = wire.order_type.limit
    return OrderRequest(
        asset=wire.asset,
        is_buy=wire.is_buy,
        px=wire.price,
        sz=wire.size,
        reduce_only=wire.reduce_only,
        tif=None if limit is None else limit.tif,
        cloid=wire.cloid,
    )


def _statuses(kind: str, statuses: list[object]) -> JsonDict:
    return {"status": "ok", "response": {"type": kind, "data": {"statuses": statuses}}}


class Actions:
    """Runs actions against the market, the dead-man switches and the agent registry."""

    def __init__(
        self,
        market: Market,
        schedule: ScheduledCancels,
        agents: AgentRegistry,
        nonces: dict[str, NonceSet],
    ) -> None:
        self._market = market
        self._schedule = schedule
        self._agents = agents
        self._nonces = nonces

    def l1(self, user: str, action: L1Action, now_ms: int, tx_hash: str) -> JsonDict:
        """Execute an L1 action for ``user`` (the master account)."""
        market = self._market
        account = market.accounts[user]
        if isinstance(action, OrderAction):
            account.n_requests += len(action.orders)
            return _statuses(
                "order", [market.place(user, order_request(o), now_ms, tx_hash) for o in action.orders]
            )
        if isinstance(action, CancelAction):
            account.n_requests += len(action.cancels)
            return _statuses(
                "cancel",
                [
                    "success" if market.cancel(user, c.asset, c.oid, now_ms) else {"error": w.MISSING_ORDER}
                    for c in action.cancels
                ],
            )
        if isinstance(action, CancelByCloidAction):
            account.n_requests += len(action.cancels)
            statuses: list[object] = []
            for c in action.cancels:
                order = market.find_open(user, c.cloid)
                ok = order is not None and market.cancel(user, c.asset, order.oid, now_ms)
                statuses.append("success" if ok else {"error": w.MISSING_ORDER})
            return _statuses("cancel", statuses)
        if isinstance(action, ModifyAction):
            account.n_requests += 1
            status = self._modify(user, action.oid, action.order, now_ms, tx_hash)
            return w.err(status["error"]) if "error" in status else w.ok_default()
        if isinstance(action, BatchModifyAction):
            account.n_requests += len(action.modifies)
            return _statuses(
                "order", [self._modify(user, m.oid, m.order, now_ms, tx_hash) for m in action.modifies]
            )
        account.n_requests += 1
        if isinstance(action, ScheduleCancelAction):
            error = self._schedule.arm(user, action.time, now_ms)
            return w.ok_default() if error is None else w.err(error)
        if isinstance(action, UpdateLeverageAction):
            return self._update_leverage(account, action)
        if isinstance(action, UpdateIsolatedMarginAction):
            return w.err(w.ISOLATED_UNSUPPORTED)
        assert isinstance(action, NoopAction)
        return w.ok_default()

    def _modify(self, user: str, target: int | str, wire: OrderWire, now_ms: int, tx_hash: str) -> JsonDict:
        order = self._market.find_open(user, target)
        if order is None:
            return {"error": w.MODIFY_MISSING}
        return self._market.place(user, order_request(wire), now_ms, tx_hash, replacing=order)

    def _update_leverage(self, account: Account, action: UpdateLeverageAction) -> JsonDict:
        market = self._market
        if not 0 <= action.asset < len(market.assets):
            return w.err(w.unknown_asset(action.asset))
        if not action.is_cross:
            return w.err(w.ISOLATED_UNSUPPORTED)
        if not 1 <= action.leverage <= market.assets[action.asset].max_leverage:
            return w.err(w.INVALID_LEVERAGE)
        previous = account.leverage.get(action.asset)
        account.leverage[action.asset] = action.leverage
        orders = market.orders.of_user(account.address)
        if not has_margin_for(account, orders, market.assets, market.marks(), market.config.default_leverage):
            if previous is None:
                del account.leverage[action.asset]
            else:
                account.leverage[action.asset] = previous
            return w.err(w.LEVERAGE_MARGIN)
        return w.ok_default()

    def user_signed(self, signer: str, action: UserSignedAction, now_ms: int) -> JsonDict:
        """Execute a user-signed action; ``signer`` is a funded master account."""
        market = self._market
        if isinstance(action, ApproveAgentAction):
            agent = action.agent_address.lower()
            owner = self._agents.master_of(agent)
            if agent in market.accounts or (owner is not None and owner != signer):
                return w.err(w.AGENT_ADDRESS_TAKEN)
            for gone in self._agents.approve(signer, agent, action.agent_name, now_ms):
                self._nonces.pop(gone, None)  # a deregistered agent's nonce state is pruned
            return w.ok_default()
        if isinstance(action, UsdSendAction | Withdraw3Action):
            amount = w.parse_decimal(action.amount)
            account = market.accounts[signer]
            if amount is None or amount <= 0 or amount > self._withdrawable(account):
                return w.err(w.INSUFFICIENT_BALANCE)
            account.usdc -= amount
            if isinstance(action, UsdSendAction):
                market.open_account(action.destination.lower(), amount)
            return w.ok_default()
        return w.err(w.unsupported_action(str(action.__struct_config__.tag)))

    def _withdrawable(self, account: Account) -> Decimal:
        market = self._market
        summary = summarize(account, market.assets, market.marks(), market.config.default_leverage)
        return max(ZERO, summary.account_value - summary.margin_used)
